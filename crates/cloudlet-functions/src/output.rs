//! Guest stdout and stderr, line by line, into the app's logs.

use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use tokio::io::AsyncWrite;
use wasmtime_wasi::cli::{IsTerminal, StdoutStream};

/// Longest line kept; longer output is split.
const MAX_LINE: usize = 16 * 1024;

/// Which stream a line came from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum OutputStream {
    Stdout,
    Stderr,
    /// Written by Cloudlet about the function (traps, timeouts).
    System,
}

/// Where a function's output lines go (the control plane points it at the app's logs).
pub type LogSink = Arc<dyn Fn(OutputStream, &str) + Send + Sync>;

/// A WASI output stream that writes lines to a [`LogSink`].
#[derive(Clone)]
pub(crate) struct GuestOutput {
    sink: LogSink,
    stream: OutputStream,
}

impl GuestOutput {
    pub(crate) fn new(sink: LogSink, stream: OutputStream) -> Self {
        Self { sink, stream }
    }
}

impl IsTerminal for GuestOutput {
    fn is_terminal(&self) -> bool {
        false
    }
}

impl StdoutStream for GuestOutput {
    fn async_stream(&self) -> Box<dyn AsyncWrite + Send + Sync> {
        Box::new(LineWriter { sink: self.sink.clone(), stream: self.stream, line: Vec::new() })
    }
}

struct LineWriter {
    sink: LogSink,
    stream: OutputStream,
    line: Vec<u8>,
}

impl LineWriter {
    fn emit(&mut self) {
        let text = String::from_utf8_lossy(&self.line);
        (self.sink)(self.stream, text.trim_end_matches('\r'));
        self.line.clear();
    }
}

impl AsyncWrite for LineWriter {
    fn poll_write(self: Pin<&mut Self>, _: &mut Context<'_>, bytes: &[u8]) -> Poll<std::io::Result<usize>> {
        let this = self.get_mut();
        for &byte in bytes {
            if byte == b'\n' {
                this.emit();
            } else {
                this.line.push(byte);
                if this.line.len() >= MAX_LINE {
                    this.emit();
                }
            }
        }
        Poll::Ready(Ok(bytes.len()))
    }

    fn poll_flush(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Poll::Ready(Ok(()))
    }

    fn poll_shutdown(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        let this = self.get_mut();
        if !this.line.is_empty() {
            this.emit();
        }
        Poll::Ready(Ok(()))
    }
}

impl Drop for LineWriter {
    fn drop(&mut self) {
        if !self.line.is_empty() {
            self.emit();
        }
    }
}
