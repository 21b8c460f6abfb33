//! `X-Request-Id`: kept when the client sent a sane one, otherwise made up.

use std::sync::OnceLock;
use std::sync::atomic::{AtomicU64, Ordering};

use http::HeaderValue;

pub(crate) const HEADER: &str = "x-request-id";

/// The client's request id if it is short printable ASCII, else a new one.
pub(crate) fn for_request(headers: &http::HeaderMap) -> HeaderValue {
    if let Some(value) = headers.get(HEADER) {
        let bytes = value.as_bytes();
        if !bytes.is_empty() && bytes.len() <= 128 && bytes.iter().all(|b| b.is_ascii_graphic()) {
            return value.clone();
        }
    }
    generate()
}

/// 16 hex digits, unique within the process: a random base plus a counter, mixed so ids don't look sequential.
fn generate() -> HeaderValue {
    static BASE: OnceLock<u64> = OnceLock::new();
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let base = *BASE.get_or_init(|| {
        let mut bytes = [0u8; 8];
        // Without OS randomness ids are still unique in this process; only guessability suffers.
        let _ = getrandom::fill(&mut bytes);
        u64::from_le_bytes(bytes)
    });
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    // Multiplying by an odd constant is a bijection on u64, so distinct counters give distinct ids.
    let id = base ^ n.wrapping_mul(0x9E37_79B9_7F4A_7C15);
    let text = format!("{id:016x}");
    HeaderValue::from_str(&text).unwrap_or_else(|_| HeaderValue::from_static("0"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_a_sane_client_id_and_replaces_others() {
        let mut headers = http::HeaderMap::new();
        headers.insert(HEADER, HeaderValue::from_static("abc-123"));
        assert_eq!(for_request(&headers), "abc-123");
        headers.insert(HEADER, HeaderValue::from_static("has space"));
        assert_ne!(for_request(&headers), "has space");
    }

    #[test]
    fn generated_ids_are_distinct() {
        let ids: std::collections::HashSet<HeaderValue> = (0..1000).map(|_| generate()).collect();
        assert_eq!(ids.len(), 1000);
    }
}
