//! RFC 9111's rules for a shared cache, as pure functions of headers and time.
//!
//! Conservative by design: only GET and HEAD; only responses with an explicit freshness lifetime
//! (`s-maxage`, `max-age` or `Expires`), never heuristic freshness; nothing marked `no-store`,
//! `private` or `no-cache`; nothing with `Set-Cookie` or `Vary: *`; nothing answered to a request with
//! `Authorization` unless the response allows it (`public`, `s-maxage` or `must-revalidate`, §3.5).
//! `stale-while-revalidate` (RFC 5861) lets a stale response be served while it is refreshed, unless
//! the response demands revalidation (`must-revalidate`, `proxy-revalidate`, or `s-maxage`).

use std::time::{Duration, SystemTime};

use http::header::{self, HeaderMap};
use http::{Method, StatusCode};

/// `Cache-Control` directives, parsed.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct CacheControl {
    pub no_store: bool,
    pub no_cache: bool,
    pub private: bool,
    pub public: bool,
    pub must_revalidate: bool,
    pub proxy_revalidate: bool,
    pub max_age: Option<u64>,
    pub s_maxage: Option<u64>,
    pub stale_while_revalidate: Option<u64>,
}

impl CacheControl {
    pub fn parse(headers: &HeaderMap) -> Self {
        let mut parsed = Self::default();
        let directives = headers
            .get_all(header::CACHE_CONTROL)
            .iter()
            .filter_map(|value| value.to_str().ok())
            .flat_map(|value| value.split(','))
            .map(str::trim);
        for directive in directives {
            let (name, argument) = match directive.split_once('=') {
                Some((name, argument)) => (name.trim(), Some(argument.trim().trim_matches('"'))),
                None => (directive, None),
            };
            let seconds = || argument.and_then(|argument| argument.parse::<u64>().ok());
            match name.to_ascii_lowercase().as_str() {
                "no-store" => parsed.no_store = true,
                // `no-cache="field"` only restricts those fields; treated as plain no-cache (safer).
                "no-cache" => parsed.no_cache = true,
                "private" => parsed.private = true,
                "public" => parsed.public = true,
                "must-revalidate" => parsed.must_revalidate = true,
                "proxy-revalidate" => parsed.proxy_revalidate = true,
                "max-age" => parsed.max_age = seconds().or(Some(0)),
                "s-maxage" => parsed.s_maxage = seconds().or(Some(0)),
                "stale-while-revalidate" => parsed.stale_while_revalidate = seconds(),
                _ => {}
            }
        }
        parsed
    }
}

/// May a request be answered from the cache (or fill it)?
pub fn request_is_cacheable(method: &Method, headers: &HeaderMap) -> bool {
    if !matches!(*method, Method::GET | Method::HEAD) {
        return false;
    }
    let control = CacheControl::parse(headers);
    !control.no_store
}

/// Whether the client asked not to be served from the cache without validation (`no-cache`,
/// `max-age=0`): the gateway then fetches and may store the fresh answer.
pub fn request_wants_fresh(headers: &HeaderMap) -> bool {
    let control = CacheControl::parse(headers);
    control.no_cache || control.max_age == Some(0)
}

/// The longest a response is kept fresh or stale, whatever it says.
pub const MAX_LIFETIME: Duration = Duration::from_secs(365 * 24 * 3600);

/// How long a stored response is fresh, and how long after that it may still be served while it
/// is refreshed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Freshness {
    pub lifetime: Duration,
    pub stale_while_revalidate: Duration,
}

/// Statuses cacheable by default (RFC 9110 §15.1) that this cache stores.
fn status_is_cacheable(status: StatusCode) -> bool {
    matches!(status.as_u16(), 200 | 203 | 204 | 300 | 301 | 308 | 404 | 405 | 410 | 414 | 501)
}

/// Whether the response to a request may be stored, and for how long; `now` is the receive time.
pub fn storable(request: &HeaderMap, status: StatusCode, response: &HeaderMap, now: SystemTime) -> Option<Freshness> {
    if !status_is_cacheable(status) || response.contains_key(header::SET_COOKIE) {
        return None;
    }
    if response
        .get_all(header::VARY)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .any(|v| v.split(',').any(|f| f.trim() == "*"))
    {
        return None;
    }
    let control = CacheControl::parse(response);
    if control.no_store || control.private || control.no_cache {
        return None;
    }
    if request.contains_key(header::AUTHORIZATION)
        && !(control.public || control.s_maxage.is_some() || control.must_revalidate)
    {
        return None;
    }
    let lifetime = match (control.s_maxage, control.max_age) {
        (Some(seconds), _) | (None, Some(seconds)) => Duration::from_secs(seconds),
        (None, None) => {
            let expires = http_date(response.get(header::EXPIRES)?)?;
            let date = response.get(header::DATE).and_then(http_date).unwrap_or(now);
            expires.duration_since(date).unwrap_or(Duration::ZERO)
        }
    };
    // Already-aged answers (from a cache upstream) have less left.
    let age = response.get(header::AGE).and_then(|v| v.to_str().ok()).and_then(|v| v.parse().ok()).unwrap_or(0);
    let lifetime = lifetime.saturating_sub(Duration::from_secs(age)).min(MAX_LIFETIME);
    let revalidate = control.must_revalidate || control.proxy_revalidate || control.s_maxage.is_some();
    let stale_while_revalidate = if revalidate {
        Duration::ZERO
    } else {
        Duration::from_secs(control.stale_while_revalidate.unwrap_or(0)).min(MAX_LIFETIME)
    };
    if lifetime.is_zero() && stale_while_revalidate.is_zero() {
        return None;
    }
    Some(Freshness { lifetime, stale_while_revalidate })
}

/// What a stored response is worth `age` after it was stored.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Servable {
    Fresh,
    /// Stale, but within its stale-while-revalidate allowance: serve it and refresh it.
    StaleRevalidate,
    Expired,
}

pub fn servable(freshness: Freshness, age: Duration) -> Servable {
    if age < freshness.lifetime {
        Servable::Fresh
    } else if age < freshness.lifetime.saturating_add(freshness.stale_while_revalidate) {
        Servable::StaleRevalidate
    } else {
        Servable::Expired
    }
}

/// An IMF-fixdate (`Sun, 06 Nov 1994 08:49:37 GMT`), the form RFC 9110 requires senders to use.
pub fn http_date(value: &http::HeaderValue) -> Option<SystemTime> {
    let text = value.to_str().ok()?;
    let mut parts = text.split_whitespace();
    let (_weekday, day, month, year, time, zone) =
        (parts.next()?, parts.next()?, parts.next()?, parts.next()?, parts.next()?, parts.next()?);
    if zone != "GMT" {
        return None;
    }
    let day: u64 = day.parse().ok()?;
    let month = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]
        .iter()
        .position(|name| *name == month)? as u64
        + 1;
    let year: i64 = year.parse().ok()?;
    let mut clock = time.split(':').map(|part| part.parse::<u64>().ok());
    let (hours, minutes, seconds) = (clock.next()??, clock.next()??, clock.next()??);
    if !(1..=31).contains(&day) || hours > 23 || minutes > 59 || seconds > 60 || !(1601..=9999).contains(&year) {
        return None;
    }
    // Days from the civil date (Howard Hinnant's algorithm).
    let (y, m) = if month <= 2 { (year - 1, month + 9) } else { (year, month - 3) };
    let era = y.div_euclid(400);
    let year_of_era = (y - era * 400) as u64;
    let day_of_year = (153 * m + 2) / 5 + day - 1;
    let day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
    let days = era * 146_097 + day_of_era as i64 - 719_468;
    let seconds = u64::try_from(days).ok()? * 86_400 + hours * 3600 + minutes * 60 + seconds;
    SystemTime::UNIX_EPOCH.checked_add(Duration::from_secs(seconds))
}

#[cfg(test)]
mod tests {
    use http::HeaderValue;

    use super::*;

    fn headers(pairs: &[(&'static str, &'static str)]) -> HeaderMap {
        pairs
            .iter()
            .map(|(name, value)| (header::HeaderName::from_static(name), HeaderValue::from_static(value)))
            .collect()
    }

    fn store(request: &[(&'static str, &'static str)], response: &[(&'static str, &'static str)]) -> Option<Freshness> {
        storable(&headers(request), StatusCode::OK, &headers(response), SystemTime::UNIX_EPOCH)
    }

    #[test]
    fn freshness_comes_from_s_maxage_then_max_age_then_expires() {
        let lifetime = |response| store(&[], response).map(|freshness| freshness.lifetime.as_secs());
        assert_eq!(lifetime(&[("cache-control", "max-age=60, s-maxage=30")]), Some(30));
        assert_eq!(lifetime(&[("cache-control", "public, max-age=60")]), Some(60));
        assert_eq!(
            lifetime(&[("date", "Sun, 06 Nov 1994 08:49:37 GMT"), ("expires", "Sun, 06 Nov 1994 08:50:37 GMT")]),
            Some(60)
        );
        assert_eq!(lifetime(&[("cache-control", "max-age=60"), ("age", "45")]), Some(15));
        assert_eq!(lifetime(&[]), None, "no heuristic freshness");
    }

    #[test]
    fn what_must_not_be_stored_is_not() {
        for response in [
            &[("cache-control", "no-store, max-age=60")][..],
            &[("cache-control", "private, max-age=60")],
            &[("cache-control", "no-cache, max-age=60")],
            &[("cache-control", "max-age=60"), ("set-cookie", "a=b")],
            &[("cache-control", "max-age=60"), ("vary", "Accept, *")],
            &[("cache-control", "max-age=0")],
        ] {
            assert_eq!(store(&[], response), None, "{response:?}");
        }
        assert!(
            storable(
                &HeaderMap::new(),
                StatusCode::INTERNAL_SERVER_ERROR,
                &headers(&[("cache-control", "max-age=60")]),
                SystemTime::UNIX_EPOCH
            )
            .is_none()
        );
    }

    #[test]
    fn answers_to_authorized_requests_need_explicit_permission() {
        let authorized = [("authorization", "Bearer x")];
        assert_eq!(store(&authorized, &[("cache-control", "max-age=60")]), None);
        assert!(store(&authorized, &[("cache-control", "public, max-age=60")]).is_some());
        assert!(store(&authorized, &[("cache-control", "s-maxage=60")]).is_some());
    }

    #[test]
    fn stale_while_revalidate_extends_use_unless_revalidation_is_demanded() {
        let freshness = store(&[], &[("cache-control", "max-age=10, stale-while-revalidate=30")]).expect("stored");
        assert_eq!(servable(freshness, Duration::from_secs(5)), Servable::Fresh);
        assert_eq!(servable(freshness, Duration::from_secs(20)), Servable::StaleRevalidate);
        assert_eq!(servable(freshness, Duration::from_secs(41)), Servable::Expired);
        let strict = store(&[], &[("cache-control", "max-age=10, must-revalidate, stale-while-revalidate=30")]);
        assert_eq!(strict.map(|f| f.stale_while_revalidate), Some(Duration::ZERO));
    }

    #[test]
    fn requests_decide_whether_the_cache_is_used() {
        assert!(request_is_cacheable(&Method::GET, &HeaderMap::new()));
        assert!(request_is_cacheable(&Method::HEAD, &HeaderMap::new()));
        assert!(!request_is_cacheable(&Method::POST, &HeaderMap::new()));
        assert!(!request_is_cacheable(&Method::GET, &headers(&[("cache-control", "no-store")])));
        assert!(request_wants_fresh(&headers(&[("cache-control", "no-cache")])));
        assert!(request_wants_fresh(&headers(&[("cache-control", "max-age=0")])));
    }

    #[test]
    fn http_dates_parse_and_absurd_ones_are_refused_not_panicked_on() {
        let date = http_date(&HeaderValue::from_static("Sun, 06 Nov 1994 08:49:37 GMT")).expect("date");
        assert_eq!(date.duration_since(SystemTime::UNIX_EPOCH).expect("after").as_secs(), 784_111_777);
        assert!(http_date(&HeaderValue::from_static("yesterday")).is_none());
        assert!(http_date(&HeaderValue::from_static("Sun, 06 Nov 300000000000 08:49:37 GMT")).is_none());
        assert!(http_date(&HeaderValue::from_static("Sun, 06 Nov 1994 99999999999999:49:37 GMT")).is_none());
        let huge = store(&[], &[("cache-control", "max-age=18446744073709551615, stale-while-revalidate=1")]);
        assert_eq!(huge.map(|f| f.lifetime), Some(MAX_LIFETIME));
        assert_eq!(servable(huge.expect("stored"), Duration::from_secs(5)), Servable::Fresh);
    }
}
