//! How the gateway spreads a service's traffic: the balancer (`balance`), slow start (`slow_start`)
//! and passive outlier ejection (`outlier = { … }`) of a `[[service]]`.

use std::time::Duration;

use crate::reader::TableReader;

/// The balancer of a service's route.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub enum Balance {
    /// Two random instances, the one with the lower peak-EWMA latency × load wins (the default).
    #[default]
    PeakEwma,
    RoundRobin,
    /// The fewest requests in flight.
    LeastRequest,
    /// At random, in proportion to weight (weights ramp during slow start).
    Weighted,
    /// Consistent hashing: requests with the same key go to the same instance.
    Hash(HashKey),
}

/// What a `hash:` balancer keys on.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum HashKey {
    /// A request header, lower-case.
    Header(String),
    Cookie(String),
    ClientIp,
}

impl Balance {
    /// Parses `peak-ewma`, `round-robin`, `least-request`, `weighted`, `hash:header:NAME`,
    /// `hash:cookie:NAME` or `hash:client-ip`.
    pub fn parse(text: &str) -> Result<Self, String> {
        let unknown_key = |rest: &str| {
            format!("unknown hash key \"{rest}\": use hash:header:NAME, hash:cookie:NAME or hash:client-ip")
        };
        match text {
            "peak-ewma" => Ok(Balance::PeakEwma),
            "round-robin" => Ok(Balance::RoundRobin),
            "least-request" => Ok(Balance::LeastRequest),
            "weighted" => Ok(Balance::Weighted),
            "hash:client-ip" => Ok(Balance::Hash(HashKey::ClientIp)),
            _ => match text.strip_prefix("hash:") {
                Some(rest) => match rest.split_once(':') {
                    Some(("header", name)) if is_token(name) => {
                        Ok(Balance::Hash(HashKey::Header(name.to_ascii_lowercase())))
                    }
                    Some(("cookie", name)) if is_token(name) => Ok(Balance::Hash(HashKey::Cookie(name.to_string()))),
                    _ => Err(unknown_key(rest)),
                },
                None => Err(format!(
                    "unknown balancer \"{text}\": use peak-ewma, round-robin, least-request, weighted or hash:…"
                )),
            },
        }
    }
}

/// An HTTP token (RFC 9110 §5.6.2): what header and cookie names are made of.
fn is_token(name: &str) -> bool {
    !name.is_empty() && name.bytes().all(|byte| byte.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&byte))
}

/// How the gateway talks to a service's instances (`protocol`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Protocol {
    /// HTTP/1.1 with keep-alive (the default).
    #[default]
    Http1,
    /// HTTP/2 without TLS, by prior knowledge: gRPC servers and other h2c apps.
    H2c,
}

pub(super) fn read_protocol(table: &mut TableReader<'_, '_>) -> Protocol {
    match table.string("protocol").as_deref() {
        None | Some("http1") => Protocol::Http1,
        Some("h2c") => Protocol::H2c,
        Some(other) => {
            table.report(
                "protocol",
                format!("unknown protocol \"{other}\""),
                Some("use \"http1\" (default) or \"h2c\" (HTTP/2, e.g. gRPC)".to_string()),
            );
            Protocol::Http1
        }
    }
}

/// Passive outlier ejection.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Outlier {
    /// 5xx answers or connection failures in a row that eject an instance; 0 disables. Default 5.
    pub consecutive: u32,
    /// First ejection; the n-th in a row lasts n times as long. Default 30s.
    pub base_ejection: Duration,
    /// Longest ejection. Default 5m.
    pub max_ejection: Duration,
    /// Most instances ejected at once, in percent (never the last one). Default 50.
    pub max_ejected_percent: u32,
}

impl Default for Outlier {
    fn default() -> Self {
        Self {
            consecutive: 5,
            base_ejection: Duration::from_secs(30),
            max_ejection: Duration::from_secs(300),
            max_ejected_percent: 50,
        }
    }
}

/// Active health checking of a running instance (HAProxy's model).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct HealthCheck {
    /// Time between checks of a running instance. Default 5s.
    pub interval: Duration,
    /// Time one check may take. Default 2s.
    pub timeout: Duration,
    /// Passing checks in a row that bring an instance back into rotation. Default 2.
    pub rise: u32,
    /// Failing checks in a row that take it out (and twice as many restart it). Default 3.
    pub fall: u32,
}

impl Default for HealthCheck {
    fn default() -> Self {
        Self { interval: Duration::from_secs(5), timeout: Duration::from_secs(2), rise: 2, fall: 3 }
    }
}

/// Reads `health`: a path (`"/healthz"`), or `{ path, interval, timeout, rise, fall }`; no path
/// means a TCP connect is the check.
pub(super) fn read_health(table: &mut TableReader<'_, '_>) -> (Option<String>, HealthCheck) {
    let defaults = HealthCheck::default();
    let (path, check) = match table.string_or_table("health") {
        None => return (None, defaults),
        Some(Ok(path)) => (Some(path), defaults),
        Some(Err(mut health)) => {
            let path = health.string("path");
            let check = HealthCheck {
                interval: health.duration("interval").unwrap_or(defaults.interval),
                timeout: health.duration("timeout").unwrap_or(defaults.timeout),
                rise: health.count("rise", 100).unwrap_or(defaults.rise),
                fall: health.count("fall", 100).unwrap_or(defaults.fall),
            };
            if check.interval.is_zero() || check.timeout.is_zero() {
                health.report("interval", "\"interval\" and \"timeout\" must be longer than zero", None);
            }
            if check.rise == 0 || check.fall == 0 {
                health.report("rise", "\"rise\" and \"fall\" must be at least 1", None);
            }
            health.finish();
            (path, check)
        }
    };
    if let Some(path) = &path
        && (!path.starts_with('/') || path.contains(char::is_whitespace))
    {
        table.report(
            "health",
            format!("health check path \"{path}\" must start with \"/\""),
            Some("e.g. health = \"/healthz\"".to_string()),
        );
    }
    (path, check)
}

/// Retries of a service's requests (`retries = { … }`).
#[derive(Clone, Debug, PartialEq)]
pub struct Retries {
    /// Tries in all, the first included (1–10). Default 2.
    pub attempts: u32,
    /// Statuses after which an idempotent request is tried on another instance. Default none.
    pub statuses: Vec<u16>,
    /// Share of requests retries may add (0–1). Default 0.2.
    pub budget: f64,
    /// Retries allowed a second whatever the traffic. Default 10.
    pub min_per_second: u32,
    /// Largest request body kept for a replay. Default 64KiB.
    pub buffer: u64,
}

impl Default for Retries {
    fn default() -> Self {
        Self { attempts: 2, statuses: Vec::new(), budget: 0.2, min_per_second: 10, buffer: 64 << 10 }
    }
}

pub(super) fn read_retries(table: &mut TableReader<'_, '_>) -> Retries {
    let defaults = Retries::default();
    let Some(mut retries) = table.table("retries") else { return defaults };
    let statuses = retries.count_array("statuses", 599).unwrap_or_default();
    if statuses.iter().any(|status| *status < 500) {
        retries.report("statuses", "only 5xx statuses can be retried", Some("e.g. statuses = [502, 503, 504]".into()));
    }
    let read = Retries {
        attempts: retries.count("attempts", 10).unwrap_or(defaults.attempts).max(1),
        statuses: statuses.into_iter().map(|status| status as u16).collect(),
        budget: retries.number("budget", 0.0, 1.0).unwrap_or(defaults.budget),
        min_per_second: retries.count("min_per_second", 100_000).unwrap_or(defaults.min_per_second),
        buffer: retries.size("buffer").unwrap_or(defaults.buffer),
    };
    if read.buffer > 16 << 20 {
        retries.report("buffer", "\"buffer\" may be at most 16MiB", None);
    }
    retries.finish();
    read
}

/// Requests a second, and how many may come at once above that rate.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Rate {
    pub per_second: f64,
    pub burst: u32,
}

/// An app's admission limits (`[rate_limit]` and `[circuit_breaker]`).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Admission {
    /// All requests to the app together.
    pub rate: Option<Rate>,
    /// Each client IP's requests.
    pub per_client: Option<Rate>,
    /// Requests the app's routes answer at once; more get 503. Default 10 000.
    pub max_in_flight: u32,
    /// Requests that may wait for a service at zero. Default 1000.
    pub max_pending: u32,
}

impl Default for Admission {
    fn default() -> Self {
        Self { rate: None, per_client: None, max_in_flight: 10_000, max_pending: 1000 }
    }
}

pub(super) fn read_admission(root: &mut TableReader<'_, '_>) -> Admission {
    let defaults = Admission::default();
    let (mut rate, mut per_client) = (None, None);
    if let Some(mut table) = root.table("rate_limit") {
        let read = |table: &mut TableReader<'_, '_>, rate_key: &'static str, burst_key: &'static str| {
            let per_second = table.number(rate_key, 0.001, 1e9);
            let burst = table.count(burst_key, 1_000_000_000);
            if burst == Some(0) {
                table.report(burst_key, format!("\"{burst_key}\" must be at least 1"), None);
            }
            if burst.is_some() && per_second.is_none() {
                table.report(burst_key, format!("\"{burst_key}\" needs \"{rate_key}\""), None);
            }
            let per_second = per_second?;
            Some(Rate { per_second, burst: burst.unwrap_or((per_second.ceil() as u32).max(1)) })
        };
        rate = read(&mut table, "requests_per_second", "burst");
        per_client = read(&mut table, "per_client_requests_per_second", "per_client_burst");
        table.finish();
    }
    let (mut max_in_flight, mut max_pending) = (defaults.max_in_flight, defaults.max_pending);
    if let Some(mut table) = root.table("circuit_breaker") {
        max_in_flight = table.count("max_in_flight", 10_000_000).unwrap_or(max_in_flight);
        max_pending = table.count("max_pending", 10_000_000).unwrap_or(max_pending);
        if max_in_flight == 0 {
            table.report("max_in_flight", "\"max_in_flight\" must be at least 1", None);
        }
        table.finish();
    }
    Admission { rate, per_client, max_in_flight, max_pending }
}

/// Default ramp of a new or readmitted instance's share of traffic.
pub const DEFAULT_SLOW_START: Duration = Duration::from_secs(5);

pub(super) fn read_balance(table: &mut TableReader<'_, '_>) -> Balance {
    let Some(text) = table.string("balance") else { return Balance::default() };
    Balance::parse(&text).unwrap_or_else(|message| {
        table.report("balance", message, Some("e.g. balance = \"least-request\" or \"hash:cookie:session\"".into()));
        Balance::default()
    })
}

pub(super) fn read_outlier(table: &mut TableReader<'_, '_>) -> Outlier {
    let defaults = Outlier::default();
    let Some(mut outlier) = table.table("outlier") else { return defaults };
    let read = Outlier {
        consecutive: outlier.count("consecutive", 1000).unwrap_or(defaults.consecutive),
        base_ejection: outlier.duration("base_ejection").unwrap_or(defaults.base_ejection),
        max_ejection: outlier.duration("max_ejection").unwrap_or(defaults.max_ejection),
        max_ejected_percent: outlier.count("max_ejected_percent", 100).unwrap_or(defaults.max_ejected_percent),
    };
    if read.base_ejection.is_zero() {
        outlier.report("base_ejection", "\"base_ejection\" must be longer than zero", None);
    }
    if read.max_ejection < read.base_ejection {
        outlier.report("max_ejection", "\"max_ejection\" must be at least \"base_ejection\"", None);
    }
    outlier.finish();
    read
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn balance_values_parse_or_say_what_is_valid() {
        assert_eq!(Balance::parse("least-request"), Ok(Balance::LeastRequest));
        assert_eq!(Balance::parse("hash:header:X-User"), Ok(Balance::Hash(HashKey::Header("x-user".into()))));
        assert_eq!(Balance::parse("hash:cookie:sid"), Ok(Balance::Hash(HashKey::Cookie("sid".into()))));
        assert_eq!(Balance::parse("hash:client-ip"), Ok(Balance::Hash(HashKey::ClientIp)));
        assert!(Balance::parse("fastest").expect_err("unknown").contains("round-robin"));
        assert!(Balance::parse("hash:query:x").expect_err("unknown").contains("hash:header:NAME"));
        assert!(Balance::parse("hash:header:bad name").is_err());
    }
}
