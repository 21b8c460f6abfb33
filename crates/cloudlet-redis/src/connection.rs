//! One client connection: read, parse every complete command (pipelining), answer, write.

use std::net::SocketAddr;

use bytes::{Bytes, BytesMut};
use cloudlet_resp::{Protocol, Reply, parse_command};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio_util::sync::CancellationToken;

use crate::backend::Backend;
use crate::dispatch;
use crate::server::RedisServer;

/// Output is written out once this much is buffered, even mid-pipeline.
const FLUSH_AT: usize = 1 << 20;

/// What the server remembers about one client.
pub(crate) struct Client {
    pub(crate) id: u64,
    pub(crate) peer: SocketAddr,
    pub(crate) protocol: Protocol,
    pub(crate) authenticated: bool,
    pub(crate) name: Option<Bytes>,
    pub(crate) library: Option<(Bytes, Bytes)>,
    /// Inside `MULTI`: the queued commands, their slot, and whether one was refused.
    pub(crate) transaction: Option<Transaction>,
    /// Set by `QUIT`: close after the reply.
    pub(crate) closing: bool,
    pub(crate) since: std::time::Instant,
}

#[derive(Default)]
pub(crate) struct Transaction {
    pub(crate) commands: Vec<Vec<Bytes>>,
    pub(crate) slot: Option<u16>,
    pub(crate) writes: bool,
    pub(crate) failed: bool,
}

pub(crate) async fn run<B: Backend>(
    server: &RedisServer<B>,
    mut stream: TcpStream,
    peer: SocketAddr,
    id: u64,
    shutdown: CancellationToken,
) -> std::io::Result<()> {
    let settings = &server.settings;
    let mut client = Client {
        id,
        peer,
        protocol: Protocol::Resp2,
        authenticated: settings.password.is_none(),
        name: None,
        library: None,
        transaction: None,
        closing: false,
        since: std::time::Instant::now(),
    };
    let mut input = BytesMut::with_capacity(16 * 1024);
    let mut output = BytesMut::with_capacity(16 * 1024);
    loop {
        loop {
            match parse_command(&mut input, &settings.limits) {
                Ok(Some(args)) if args.is_empty() => continue,
                Ok(Some(args)) => {
                    let reply = dispatch::handle(server, &mut client, args).await;
                    reply.encode(client.protocol, &mut output);
                    if client.closing {
                        stream.write_all(&output).await?;
                        return Ok(());
                    }
                    if output.len() >= FLUSH_AT {
                        stream.write_all(&output).await?;
                        output.clear();
                    }
                }
                Ok(None) => break,
                Err(error) => {
                    Reply::error(format!("ERR {error}")).encode(client.protocol, &mut output);
                    stream.write_all(&output).await?;
                    return Ok(());
                }
            }
        }
        if !output.is_empty() {
            stream.write_all(&output).await?;
            output.clear();
        }
        if input.len() > settings.max_request_bytes {
            let message = format!("ERR Protocol error: request larger than {} bytes", settings.max_request_bytes);
            Reply::error(message).encode(client.protocol, &mut output);
            stream.write_all(&output).await?;
            return Ok(());
        }
        input.reserve(16 * 1024);
        let read = tokio::select! {
            () = shutdown.cancelled() => return Ok(()),
            read = stream.read_buf(&mut input) => read?,
        };
        if read == 0 {
            return Ok(());
        }
    }
}
