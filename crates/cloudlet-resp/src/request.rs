//! Parsing commands out of a connection's read buffer.
//!
//! [`parse_command`] takes one complete command off the front of the buffer, or returns `Ok(None)`
//! when more bytes are needed. A frame that breaks a [`Limits`] bound or the protocol is an error
//! the server answers with `-ERR Protocol error: …` before closing the connection; the length
//! prefixes are checked before anything is allocated for them.

use std::fmt;

use bytes::{Buf, Bytes, BytesMut};

/// Hard bounds on what a client may send.
#[derive(Clone, Copy, Debug)]
pub struct Limits {
    /// Largest bulk string (an argument). Redis: 512 MB.
    pub max_bulk: usize,
    /// Most elements in one command.
    pub max_arguments: usize,
    /// Longest inline command line.
    pub max_inline: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Self { max_bulk: 512 << 20, max_arguments: 1 << 20, max_inline: 64 << 10 }
    }
}

/// A client broke the protocol or a limit; the connection must be closed after the error reply.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ProtocolError(pub String);

impl fmt::Display for ProtocolError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Protocol error: {}", self.0)
    }
}

impl std::error::Error for ProtocolError {}

fn error(message: impl Into<String>) -> ProtocolError {
    ProtocolError(message.into())
}

/// Takes one command (its arguments) off the front of `buffer`; `Ok(None)` when it is incomplete.
pub fn parse_command(buffer: &mut BytesMut, limits: &Limits) -> Result<Option<Vec<Bytes>>, ProtocolError> {
    loop {
        match buffer.first() {
            None => return Ok(None),
            Some(b'*') => return parse_multibulk(buffer, limits),
            // Redis skips empty inline lines between commands.
            Some(b'\r' | b'\n') => buffer.advance(1),
            Some(_) => return parse_inline(buffer, limits),
        }
    }
}

/// `*<n>\r\n` then n times `$<len>\r\n<bytes>\r\n`. Nothing is consumed until the whole command is there.
fn parse_multibulk(buffer: &mut BytesMut, limits: &Limits) -> Result<Option<Vec<Bytes>>, ProtocolError> {
    let mut cursor = 0;
    let Some(count) = read_number(buffer, &mut cursor, 1 + 20)? else { return Ok(None) };
    if count < 0 {
        buffer.advance(cursor);
        return Ok(Some(Vec::new())); // a null array: Redis ignores it
    }
    let count = usize::try_from(count).unwrap_or(usize::MAX);
    if count > limits.max_arguments {
        return Err(error(format!("invalid multibulk length {count} (at most {})", limits.max_arguments)));
    }
    let mut spans = Vec::with_capacity(count.min(1024));
    for _ in 0..count {
        match buffer.get(cursor) {
            None => return Ok(None),
            Some(b'$') => {}
            Some(&other) => return Err(error(format!("expected '$', got '{}'", char::from(other)))),
        }
        let Some(length) = read_number(buffer, &mut cursor, 1 + 20)? else { return Ok(None) };
        let length = usize::try_from(length).map_err(|_| error("invalid bulk length"))?;
        if length > limits.max_bulk {
            return Err(error(format!("invalid bulk length {length} (at most {})", limits.max_bulk)));
        }
        if buffer.len() < cursor + length + 2 {
            return Ok(None);
        }
        if &buffer[cursor + length..cursor + length + 2] != b"\r\n" {
            return Err(error("bulk string not terminated by CRLF"));
        }
        spans.push((cursor, length));
        cursor += length + 2;
    }
    // Each argument gets its own allocation rather than a slice of the read buffer: a key or value the
    // store keeps must not pin the connection's whole buffer (that would make memory grow by the
    // buffer's size per stored value, and make memory accounting lie), and the buffer is reused.
    let args =
        spans.into_iter().map(|(start, length)| Bytes::copy_from_slice(&buffer[start..start + length])).collect();
    buffer.advance(cursor);
    Ok(Some(args))
}

/// Reads `<type><digits>\r\n` at `cursor` (the type byte is skipped), moving `cursor` past it.
fn read_number(buffer: &[u8], cursor: &mut usize, max_digits: usize) -> Result<Option<i64>, ProtocolError> {
    let start = *cursor + 1;
    let window = &buffer[start.min(buffer.len())..];
    let Some(end) = window.iter().take(max_digits + 2).position(|&byte| byte == b'\r') else {
        if window.len() > max_digits + 1 {
            return Err(error("length prefix too long"));
        }
        return Ok(None);
    };
    if window.len() < end + 2 {
        return Ok(None);
    }
    if window[end + 1] != b'\n' {
        return Err(error("expected LF after CR"));
    }
    let digits = std::str::from_utf8(&window[..end]).map_err(|_| error("invalid length"))?;
    let number: i64 = digits.parse().map_err(|_| error(format!("invalid length '{digits}'")))?;
    *cursor = start + end + 2;
    Ok(Some(number))
}

/// A line of whitespace-separated words, with Redis's quoting ("a b", 'c', \x escapes in double quotes).
fn parse_inline(buffer: &mut BytesMut, limits: &Limits) -> Result<Option<Vec<Bytes>>, ProtocolError> {
    let Some(newline) = buffer.iter().take(limits.max_inline + 1).position(|&byte| byte == b'\n') else {
        if buffer.len() > limits.max_inline {
            return Err(error(format!("too big inline request (at most {} bytes)", limits.max_inline)));
        }
        return Ok(None);
    };
    let line = buffer.split_to(newline + 1);
    let line = line.strip_suffix(b"\n").unwrap_or(&line);
    let line = line.strip_suffix(b"\r").unwrap_or(line);
    split_inline(line).map(Some)
}

fn split_inline(line: &[u8]) -> Result<Vec<Bytes>, ProtocolError> {
    let mut words = Vec::new();
    let mut index = 0;
    while index < line.len() {
        while index < line.len() && line[index].is_ascii_whitespace() {
            index += 1;
        }
        if index >= line.len() {
            break;
        }
        let mut word = Vec::new();
        match line[index] {
            quote @ (b'"' | b'\'') => {
                index += 1;
                loop {
                    let Some(&byte) = line.get(index) else { return Err(error("unbalanced quotes in request")) };
                    index += 1;
                    if byte == quote {
                        break;
                    }
                    if byte == b'\\' && quote == b'"' {
                        let Some(&escaped) = line.get(index) else { return Err(error("unbalanced quotes in request")) };
                        index += 1;
                        word.push(match escaped {
                            b'n' => b'\n',
                            b'r' => b'\r',
                            b't' => b'\t',
                            b'x' => match hex_byte(line.get(index..index + 2)) {
                                Some(value) => {
                                    index += 2;
                                    value
                                }
                                None => b'x',
                            },
                            other => other,
                        });
                    } else {
                        word.push(byte);
                    }
                }
                if line.get(index).is_some_and(|byte| !byte.is_ascii_whitespace()) {
                    return Err(error("unbalanced quotes in request"));
                }
            }
            _ => {
                while index < line.len() && !line[index].is_ascii_whitespace() {
                    word.push(line[index]);
                    index += 1;
                }
            }
        }
        words.push(Bytes::from(word));
    }
    Ok(words)
}

fn hex_byte(digits: Option<&[u8]>) -> Option<u8> {
    u8::from_str_radix(std::str::from_utf8(digits?).ok()?, 16).ok()
}

#[cfg(test)]
mod tests;
