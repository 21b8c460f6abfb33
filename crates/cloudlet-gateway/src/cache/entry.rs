//! A stored response: status, headers, body, when it was stored, how long it stays usable, and the
//! request header values its `Vary` names — in a small fixed binary layout.

use std::time::Duration;

use bytes::{Buf, BufMut, Bytes, BytesMut};
use http::StatusCode;
use http::header::{HeaderMap, HeaderName, HeaderValue};

use super::policy::Freshness;

#[derive(Clone, Debug, PartialEq)]
pub(crate) struct Entry {
    pub(crate) status: StatusCode,
    pub(crate) headers: Vec<(HeaderName, HeaderValue)>,
    pub(crate) body: Bytes,
    /// Milliseconds since the Unix epoch.
    pub(crate) stored_at_ms: u64,
    pub(crate) freshness: Freshness,
    /// Each header the response varies on, with the value the request had (or none).
    pub(crate) vary: Vec<(HeaderName, Option<HeaderValue>)>,
}

impl Entry {
    /// Whether `request` asks for the same variant as the one stored.
    pub(crate) fn matches(&self, request: &HeaderMap) -> bool {
        self.vary.iter().all(|(name, value)| request.get(name) == value.as_ref())
    }

    pub(crate) fn encode(&self) -> Bytes {
        let mut out = BytesMut::with_capacity(self.body.len() + 256);
        out.put_u16(self.status.as_u16());
        out.put_u64(self.stored_at_ms);
        out.put_u64(self.freshness.lifetime.as_millis() as u64);
        out.put_u64(self.freshness.stale_while_revalidate.as_millis() as u64);
        out.put_u32(self.headers.len() as u32);
        for (name, value) in &self.headers {
            put_bytes(&mut out, name.as_str().as_bytes());
            put_bytes(&mut out, value.as_bytes());
        }
        out.put_u32(self.vary.len() as u32);
        for (name, value) in &self.vary {
            put_bytes(&mut out, name.as_str().as_bytes());
            match value {
                Some(value) => {
                    out.put_u8(1);
                    put_bytes(&mut out, value.as_bytes());
                }
                None => out.put_u8(0),
            }
        }
        put_bytes(&mut out, &self.body);
        out.freeze()
    }

    /// The entry `encode` wrote; `None` for anything else (a foreign or damaged value).
    pub(crate) fn decode(mut input: Bytes) -> Option<Self> {
        let status = StatusCode::from_u16(get_u16(&mut input)?).ok()?;
        let stored_at_ms = get_u64(&mut input)?;
        let lifetime = Duration::from_millis(get_u64(&mut input)?);
        let stale_while_revalidate = Duration::from_millis(get_u64(&mut input)?);
        let mut headers = Vec::new();
        for _ in 0..get_u32(&mut input)? {
            let name = HeaderName::from_bytes(&get_bytes(&mut input)?).ok()?;
            let value = HeaderValue::from_maybe_shared(get_bytes(&mut input)?).ok()?;
            headers.push((name, value));
        }
        let mut vary = Vec::new();
        for _ in 0..get_u32(&mut input)? {
            let name = HeaderName::from_bytes(&get_bytes(&mut input)?).ok()?;
            let value = match get_u8(&mut input)? {
                0 => None,
                _ => Some(HeaderValue::from_maybe_shared(get_bytes(&mut input)?).ok()?),
            };
            vary.push((name, value));
        }
        let body = get_bytes(&mut input)?;
        input.is_empty().then_some(Self {
            status,
            headers,
            body,
            stored_at_ms,
            freshness: Freshness { lifetime, stale_while_revalidate },
            vary,
        })
    }
}

fn put_bytes(out: &mut BytesMut, bytes: &[u8]) {
    out.put_u32(bytes.len() as u32);
    out.put_slice(bytes);
}

fn get_u8(input: &mut Bytes) -> Option<u8> {
    (input.remaining() >= 1).then(|| input.get_u8())
}

fn get_u16(input: &mut Bytes) -> Option<u16> {
    (input.remaining() >= 2).then(|| input.get_u16())
}

fn get_u32(input: &mut Bytes) -> Option<u32> {
    (input.remaining() >= 4).then(|| input.get_u32())
}

fn get_u64(input: &mut Bytes) -> Option<u64> {
    (input.remaining() >= 8).then(|| input.get_u64())
}

fn get_bytes(input: &mut Bytes) -> Option<Bytes> {
    let length = get_u32(input)? as usize;
    (input.remaining() >= length).then(|| input.split_to(length))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry() -> Entry {
        Entry {
            status: StatusCode::OK,
            headers: vec![(HeaderName::from_static("content-type"), HeaderValue::from_static("text/plain"))],
            body: Bytes::from_static(b"hello"),
            stored_at_ms: 1_700_000_000_000,
            freshness: Freshness { lifetime: Duration::from_secs(60), stale_while_revalidate: Duration::from_secs(5) },
            vary: vec![
                (HeaderName::from_static("accept-encoding"), Some(HeaderValue::from_static("gzip"))),
                (HeaderName::from_static("accept-language"), None),
            ],
        }
    }

    #[test]
    fn entries_round_trip_and_damaged_ones_are_refused() {
        let bytes = entry().encode();
        assert_eq!(Entry::decode(bytes.clone()), Some(entry()));
        for cut in 0..bytes.len() {
            assert_eq!(Entry::decode(bytes.slice(..cut)), None, "cut at {cut}");
        }
        assert_eq!(Entry::decode(Bytes::from_static(b"someone else's value")), None);
    }

    #[test]
    fn only_the_stored_variant_matches() {
        let mut request = HeaderMap::new();
        request.insert("accept-encoding", HeaderValue::from_static("gzip"));
        assert!(entry().matches(&request));
        request.insert("accept-language", HeaderValue::from_static("fr"));
        assert!(!entry().matches(&request));
        assert!(!entry().matches(&HeaderMap::new()));
    }
}
