//! Replies, encoded for the protocol the connection speaks.

use bytes::{BufMut, Bytes, BytesMut};

/// The protocol version a connection negotiated (`HELLO 2` / `HELLO 3`); RESP2 until told otherwise.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Protocol {
    #[default]
    Resp2,
    Resp3,
}

/// A reply to one command.
#[derive(Clone, Debug, PartialEq)]
pub enum Reply {
    /// `+OK`
    Ok,
    /// A status line, e.g. `+PONG`, `+QUEUED`.
    Status(String),
    /// An error line without the leading `-`, starting with its code: `ERR …`, `WRONGTYPE …`.
    Error(String),
    Integer(i64),
    Bulk(Bytes),
    /// A missing value: `$-1` in RESP2, `_` in RESP3.
    Null,
    /// A missing array: `*-1` in RESP2, `_` in RESP3.
    NullArray,
    Array(Vec<Reply>),
    /// Key-value pairs: a map in RESP3, a flat array in RESP2.
    Map(Vec<(Reply, Reply)>),
    /// Ordered pairs (member and score): an array of 2-element arrays in RESP3, a flat array in RESP2.
    Pairs(Vec<(Reply, Reply)>),
    /// A set in RESP3, an array in RESP2.
    Set(Vec<Reply>),
    /// A double in RESP3, a bulk string in RESP2.
    Double(f64),
    /// A boolean in RESP3, the integer 1 or 0 in RESP2.
    Boolean(bool),
}

impl Reply {
    pub fn error(message: impl Into<String>) -> Self {
        Reply::Error(message.into())
    }

    pub fn bulk(bytes: impl Into<Bytes>) -> Self {
        Reply::Bulk(bytes.into())
    }

    /// Writes the reply in `protocol` to `out`.
    pub fn encode(&self, protocol: Protocol, out: &mut BytesMut) {
        match self {
            Reply::Ok => out.put_slice(b"+OK\r\n"),
            Reply::Status(text) => line(out, b'+', text.as_bytes()),
            Reply::Error(text) => line(out, b'-', text.as_bytes()),
            Reply::Integer(value) => number(out, b':', *value),
            Reply::Bulk(bytes) => {
                number(out, b'$', bytes.len() as i64);
                out.put_slice(bytes);
                out.put_slice(b"\r\n");
            }
            Reply::Null => match protocol {
                Protocol::Resp2 => out.put_slice(b"$-1\r\n"),
                Protocol::Resp3 => out.put_slice(b"_\r\n"),
            },
            Reply::NullArray => match protocol {
                Protocol::Resp2 => out.put_slice(b"*-1\r\n"),
                Protocol::Resp3 => out.put_slice(b"_\r\n"),
            },
            Reply::Array(items) => {
                number(out, b'*', items.len() as i64);
                items.iter().for_each(|item| item.encode(protocol, out));
            }
            Reply::Set(items) => {
                let marker = if protocol == Protocol::Resp3 { b'~' } else { b'*' };
                number(out, marker, items.len() as i64);
                items.iter().for_each(|item| item.encode(protocol, out));
            }
            Reply::Map(pairs) => {
                match protocol {
                    Protocol::Resp3 => number(out, b'%', pairs.len() as i64),
                    Protocol::Resp2 => number(out, b'*', 2 * pairs.len() as i64),
                }
                for (key, value) in pairs {
                    key.encode(protocol, out);
                    value.encode(protocol, out);
                }
            }
            Reply::Pairs(pairs) => match protocol {
                Protocol::Resp3 => {
                    number(out, b'*', pairs.len() as i64);
                    for (first, second) in pairs {
                        out.put_slice(b"*2\r\n");
                        first.encode(protocol, out);
                        second.encode(protocol, out);
                    }
                }
                Protocol::Resp2 => {
                    number(out, b'*', 2 * pairs.len() as i64);
                    for (first, second) in pairs {
                        first.encode(protocol, out);
                        second.encode(protocol, out);
                    }
                }
            },
            Reply::Double(value) => {
                let text = format_double(*value);
                match protocol {
                    Protocol::Resp3 => line(out, b',', text.as_bytes()),
                    Protocol::Resp2 => Reply::Bulk(Bytes::from(text)).encode(protocol, out),
                }
            }
            Reply::Boolean(value) => match protocol {
                Protocol::Resp3 => out.put_slice(if *value { b"#t\r\n" } else { b"#f\r\n" }),
                Protocol::Resp2 => number(out, b':', i64::from(*value)),
            },
        }
    }
}

/// A double the way Redis prints one: shortest round-trip form, `inf` / `-inf`, integers without `.0`.
pub fn format_double(value: f64) -> String {
    if value.is_infinite() {
        return if value > 0.0 { "inf".to_string() } else { "-inf".to_string() };
    }
    if value.is_nan() {
        return "nan".to_string();
    }
    let text = format!("{value}");
    text.strip_suffix(".0").map(str::to_string).unwrap_or(text)
}

fn line(out: &mut BytesMut, marker: u8, text: &[u8]) {
    out.reserve(text.len() + 3);
    out.put_u8(marker);
    // A line must not break the framing: CR and LF inside become spaces, as Redis does.
    out.extend(text.iter().map(|&byte| if byte == b'\r' || byte == b'\n' { b' ' } else { byte }));
    out.put_slice(b"\r\n");
}

fn number(out: &mut BytesMut, marker: u8, value: i64) {
    let mut digits = [0u8; 20];
    let text = format_integer(value, &mut digits);
    out.reserve(text.len() + 3);
    out.put_u8(marker);
    out.put_slice(text);
    out.put_slice(b"\r\n");
}

/// Formats an integer without allocating.
fn format_integer(value: i64, buffer: &mut [u8; 20]) -> &[u8] {
    let mut magnitude = value.unsigned_abs();
    let mut position = buffer.len();
    loop {
        position -= 1;
        buffer[position] = b'0' + (magnitude % 10) as u8;
        magnitude /= 10;
        if magnitude == 0 {
            break;
        }
    }
    if value < 0 {
        position -= 1;
        buffer[position] = b'-';
    }
    &buffer[position..]
}

#[cfg(test)]
mod tests {
    use super::*;

    fn encoded(reply: &Reply, protocol: Protocol) -> String {
        let mut out = BytesMut::new();
        reply.encode(protocol, &mut out);
        String::from_utf8_lossy(&out).into_owned()
    }

    #[test]
    fn simple_types_encode_alike_in_both_protocols() {
        for protocol in [Protocol::Resp2, Protocol::Resp3] {
            assert_eq!(encoded(&Reply::Ok, protocol), "+OK\r\n");
            assert_eq!(encoded(&Reply::error("ERR no"), protocol), "-ERR no\r\n");
            assert_eq!(encoded(&Reply::Integer(-42), protocol), ":-42\r\n");
            assert_eq!(encoded(&Reply::Integer(i64::MIN), protocol), ":-9223372036854775808\r\n");
            assert_eq!(encoded(&Reply::bulk("hey"), protocol), "$3\r\nhey\r\n");
        }
    }

    #[test]
    fn resp3_types_fold_into_resp2() {
        let map = Reply::Map(vec![(Reply::bulk("a"), Reply::Integer(1))]);
        assert_eq!(encoded(&map, Protocol::Resp3), "%1\r\n$1\r\na\r\n:1\r\n");
        assert_eq!(encoded(&map, Protocol::Resp2), "*2\r\n$1\r\na\r\n:1\r\n");
        assert_eq!(encoded(&Reply::Null, Protocol::Resp2), "$-1\r\n");
        assert_eq!(encoded(&Reply::Null, Protocol::Resp3), "_\r\n");
        assert_eq!(encoded(&Reply::NullArray, Protocol::Resp2), "*-1\r\n");
        assert_eq!(encoded(&Reply::Double(1.5), Protocol::Resp3), ",1.5\r\n");
        assert_eq!(encoded(&Reply::Double(1.5), Protocol::Resp2), "$3\r\n1.5\r\n");
        assert_eq!(encoded(&Reply::Boolean(true), Protocol::Resp2), ":1\r\n");
        assert_eq!(encoded(&Reply::Set(vec![Reply::bulk("x")]), Protocol::Resp3), "~1\r\n$1\r\nx\r\n");
    }

    #[test]
    fn doubles_print_like_redis() {
        assert_eq!(format_double(3.0), "3");
        assert_eq!(format_double(1.1), "1.1");
        assert_eq!(format_double(-0.5), "-0.5");
        assert_eq!(format_double(f64::INFINITY), "inf");
        assert_eq!(format_double(f64::NEG_INFINITY), "-inf");
    }

    #[test]
    fn status_and_error_lines_cannot_break_framing() {
        assert_eq!(encoded(&Reply::error("ERR a\r\nb"), Protocol::Resp2), "-ERR a  b\r\n");
    }
}
