//! The app manifest, `cloudlet.toml`: what an app is made of and how it is reached.
//!
//! [`Manifest::parse`] reads the text and validates it in one pass, returning either a [`Manifest`]
//! or *every* problem found, each with its line and a hint. The readers below fill in defaults and
//! report problems as they go; a manifest with any problem is never returned. Checks that need the rest
//! of the node (routes taken by other apps, files in the deployed bundle) belong to the control plane,
//! which reports them the same way using [`RouteSpec::location`].
//! `docs/manifest.md` is the user-facing reference for every field and default below.

use std::collections::{BTreeMap, HashMap};
use std::time::Duration;

use crate::problem::{Location, Problem};
use crate::reader::{Document, TableReader};

mod traffic;

pub use traffic::{Admission, Balance, DEFAULT_SLOW_START, HashKey, HealthCheck, Outlier, Protocol, Rate, Retries};

/// Largest replica count a workload may ask for on one node.
pub const MAX_REPLICAS: u32 = 1000;
/// Largest request body limit a route may set.
pub const MAX_BODY_LIMIT: u64 = 1 << 30;
/// Longest per-route timeout.
pub const MAX_TIMEOUT: Duration = Duration::from_secs(3600);
/// Environment variables Cloudlet sets itself and a manifest may not override.
pub const RESERVED_ENV: &[&str] = &["PORT", "CLOUDLET_APP", "CLOUDLET_WORKLOAD", "CLOUDLET_INSTANCE"];

/// A validated app manifest.
#[derive(Clone, Debug, PartialEq)]
pub struct Manifest {
    /// The app's name: a DNS label, unique on the node.
    pub name: String,
    /// WebAssembly functions (`[[function]]`), instantiated per request.
    pub functions: Vec<FunctionSpec>,
    /// Long-running processes (`[[service]]`).
    pub services: Vec<ServiceSpec>,
    /// Rate limits and circuit breaker of the app's routes (`[rate_limit]`, `[circuit_breaker]`).
    pub admission: Admission,
}

/// How a function's WebAssembly is run.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Executor {
    /// A component exporting `wasi:http/incoming-handler` (what `wasmtime serve` and Spin run).
    WasiHttp,
    /// A WASI preview 1 command module run CGI-style: request in environment and stdin, response on stdout.
    Wagi,
}

impl Executor {
    pub fn as_str(self) -> &'static str {
        match self {
            Executor::WasiHttp => "wasi-http",
            Executor::Wagi => "wagi",
        }
    }
}

/// The store a function's `wasi:keyvalue` buckets open by default (`keyvalue = ...`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum KeyValueStore {
    /// The durable, Raft-backed KV store (`keyvalue = true` or `"kv"`).
    Kv,
    /// The in-memory cache: fast, bounded, evicts (`keyvalue = "cache"`).
    Cache,
}

impl KeyValueStore {
    pub fn as_str(self) -> &'static str {
        match self {
            KeyValueStore::Kv => "kv",
            KeyValueStore::Cache => "cache",
        }
    }
}

/// A serverless function (`[[function]]`).
#[derive(Clone, Debug, PartialEq)]
pub struct FunctionSpec {
    pub name: String,
    /// Where the `[[function]]` table starts.
    pub location: Option<Location>,
    /// The `.wasm` file, relative to the app's files.
    pub source: String,
    pub executor: Executor,
    pub route: Option<RouteSpec>,
    pub limits: FunctionLimits,
    /// Outbound HTTP destinations the function may call (`scheme://host[:port]`, `*` wildcards); none by default.
    pub allowed_outbound_hosts: Vec<OutboundHost>,
    /// Directories of the app's files the function may read: guest path → bundle directory.
    pub files: BTreeMap<String, String>,
    /// Configuration exposed through `wasi:config` (and as environment variables to WAGI modules).
    pub vars: BTreeMap<String, String>,
    /// `wasi:keyvalue` access to the app's own namespace, and the store its default bucket is in;
    /// `None` (the default) links no `wasi:keyvalue` at all.
    pub keyvalue: Option<KeyValueStore>,
}

/// Limits of one function, enforced per request and per node.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct FunctionLimits {
    /// Linear memory one instance may grow to. Default 128 MiB, at most [`MAX_FUNCTION_MEMORY`].
    pub memory: u64,
    /// Wall-clock time for one request, from arrival to the end of the response. Default 30s.
    pub timeout: Duration,
    /// Largest request body. Default 10 MiB.
    pub body: u64,
    /// Instances running at once on this node. Default 64.
    pub instances: u32,
    /// Requests waiting for an instance beyond `instances`; more are refused with 503. Default 128.
    pub queue: u32,
}

impl Default for FunctionLimits {
    fn default() -> Self {
        Self { memory: 128 << 20, timeout: Duration::from_secs(30), body: 10 << 20, instances: 64, queue: 128 }
    }
}

/// Largest linear memory a function may ask for.
pub const MAX_FUNCTION_MEMORY: u64 = 4 << 30;

/// An allowed outbound destination: `scheme://host[:port]`, where each part may be `*`
/// and a host may start with `*.` for any subdomain.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OutboundHost {
    /// `http`, `https` or `*`.
    pub scheme: String,
    /// Lower-case host, `*`, or `*.example.com`.
    pub host: String,
    /// A port, or `None` for any port when written `*`, or the scheme's default when omitted.
    pub port: Option<u16>,
    pub any_port: bool,
}

impl OutboundHost {
    /// Parses `scheme://host[:port]`.
    pub fn parse(text: &str) -> Result<Self, String> {
        let (scheme, rest) =
            text.split_once("://").ok_or_else(|| format!("\"{text}\" needs a scheme, like https://{text}"))?;
        if !matches!(scheme, "http" | "https" | "*") {
            return Err(format!("\"{text}\": the scheme must be http, https or *"));
        }
        if rest.contains('/') || rest.contains('?') || rest.is_empty() {
            return Err(format!("\"{text}\": write only scheme://host[:port], without a path"));
        }
        let (host, port) = match rest.rsplit_once(':') {
            Some((host, port)) if !host.ends_with(']') || rest.starts_with('[') => (host, Some(port)),
            _ => (rest, None),
        };
        let (port, any_port) = match port {
            None => (None, false),
            Some("*") => (None, true),
            Some(number) => {
                (Some(number.parse::<u16>().map_err(|_| format!("\"{text}\": bad port \"{number}\""))?), false)
            }
        };
        let host = host.to_ascii_lowercase();
        let name = host.strip_prefix("*.").unwrap_or(&host);
        let valid = host == "*"
            || (!name.is_empty()
                && name.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '[' | ']' | ':')));
        if !valid {
            return Err(format!("\"{text}\": bad host \"{host}\""));
        }
        Ok(Self { scheme: scheme.to_string(), host, port, any_port })
    }

    /// True when a request to `scheme://host:port` is allowed by this entry.
    pub fn allows(&self, scheme: &str, host: &str, port: u16) -> bool {
        let scheme_ok = self.scheme == "*" || self.scheme.eq_ignore_ascii_case(scheme);
        let host = host.to_ascii_lowercase();
        let host_ok = match self.host.strip_prefix("*.") {
            _ if self.host == "*" => true,
            Some(domain) => {
                host.len() > domain.len() + 1
                    && host.ends_with(domain)
                    && host[..host.len() - domain.len()].ends_with('.')
            }
            None => self.host == host,
        };
        let default_port = if scheme.eq_ignore_ascii_case("https") { 443 } else { 80 };
        let port_ok = self.any_port || self.port.unwrap_or(default_port) == port;
        scheme_ok && host_ok && port_ok
    }
}

/// A supervised process (`[[service]]`).
#[derive(Clone, Debug, PartialEq)]
pub struct ServiceSpec {
    pub name: String,
    /// Where the `[[service]]` table starts, for problems found after parsing.
    pub location: Option<Location>,
    /// argv; the program is looked up in `PATH` unless it contains a `/` (then relative to the app's files).
    pub command: Vec<String>,
    /// Extra environment, on top of `PORT`, `CLOUDLET_APP`, `CLOUDLET_WORKLOAD`, `CLOUDLET_INSTANCE`.
    pub env: BTreeMap<String, String>,
    /// Where the gateway sends traffic from; `None` for a service reachable only by other workloads.
    pub route: Option<RouteSpec>,
    /// HTTP path checked with GET (2xx/3xx = healthy); `None` means a TCP connect to `PORT` is the check.
    pub health: Option<String>,
    /// How often and how strictly a running instance is checked.
    pub health_check: HealthCheck,
    pub scale: Scale,
    pub limits: WorkloadLimits,
    /// How long an instance may take to become healthy before its start counts as failed. Default 60s.
    pub startup_timeout: Duration,
    /// Time between SIGTERM and SIGKILL when an instance is stopped. Default 10s.
    pub stop_timeout: Duration,
    /// How the gateway spreads requests over the instances. Default peak-EWMA.
    pub balance: Balance,
    /// A new or readmitted instance's share of traffic ramps up over this long. Default 5s.
    pub slow_start: Duration,
    /// Ejection of instances that keep failing.
    pub outlier: Outlier,
    /// The gateway stores cacheable responses (RFC 9111) in the cache service and serves them. Default false.
    pub response_cache: bool,
    /// Retries after failures and chosen statuses, within a budget.
    pub retries: Retries,
    /// How the gateway talks to the instances: HTTP/1.1 (default) or h2c.
    pub protocol: Protocol,
}

/// A route into a workload: a path prefix and, optionally, a host.
#[derive(Clone, Debug, PartialEq)]
pub struct RouteSpec {
    /// Normalised path prefix: starts with `/`, no trailing `/` (except the root route `/`).
    /// Matches the path itself and everything under it (`/api` matches `/api` and `/api/x`, not `/apix`).
    pub path: String,
    /// Lower-case host name the route is limited to; `None` matches any host.
    pub host: Option<String>,
    /// Where the route was written, for conflict reports.
    pub location: Option<Location>,
}

impl RouteSpec {
    /// What two routes must not share: host and path.
    pub fn key(&self) -> (Option<&str>, &str) {
        (self.host.as_deref(), &self.path)
    }

    /// The route as people write it: `example.com/api` or `/api`.
    pub fn display(&self) -> String {
        format!("{}{}", self.host.as_deref().unwrap_or(""), self.path)
    }
}

/// Replica bounds and the autoscaler's target.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Scale {
    /// Fewest instances. Default 1.
    pub min: u32,
    /// Most instances. Default: `min`, or 1 when `min` is 0. At most [`MAX_REPLICAS`].
    pub max: u32,
    /// Concurrent requests one instance should handle. Default 100.
    pub target_concurrency: u32,
    /// Idle time before scaling to zero. Default 30s.
    pub zero_after: Duration,
    /// The autoscaler's stable window: load is averaged over it (the panic window is a tenth of
    /// it). Default 60s, between 6s and 1h.
    pub window: Duration,
}

impl Default for Scale {
    fn default() -> Self {
        Self {
            min: 1,
            max: 1,
            target_concurrency: 100,
            zero_after: Duration::from_secs(30),
            window: Duration::from_secs(60),
        }
    }
}

/// Per-route limits the gateway enforces.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct WorkloadLimits {
    /// Time allowed until the response headers arrive. Default 60s.
    pub timeout: Duration,
    /// Largest request body accepted (413 beyond it). Default 10 MiB.
    pub body: u64,
}

impl Default for WorkloadLimits {
    fn default() -> Self {
        Self { timeout: Duration::from_secs(60), body: 10 << 20 }
    }
}

impl Manifest {
    /// Parses and validates a manifest, returning every problem found when it is not valid.
    pub fn parse(text: &str) -> Result<Manifest, Vec<Problem>> {
        let document = Document::parse(text)?;
        let manifest = {
            let mut root = document.root();
            let manifest = read_manifest(&mut root);
            root.finish();
            manifest
        };
        let problems = document.into_problems();
        if problems.is_empty() { Ok(manifest) } else { Err(problems) }
    }

    /// Every route of the app with the workload it leads to.
    pub fn routes(&self) -> impl Iterator<Item = (&str, &RouteSpec)> {
        let functions = self.functions.iter().filter_map(|f| f.route.as_ref().map(|route| (f.name.as_str(), route)));
        let services = self.services.iter().filter_map(|s| s.route.as_ref().map(|route| (s.name.as_str(), route)));
        functions.chain(services)
    }

    pub fn function(&self, name: &str) -> Option<&FunctionSpec> {
        self.functions.iter().find(|function| function.name == name)
    }

    pub fn service(&self, name: &str) -> Option<&ServiceSpec> {
        self.services.iter().find(|service| service.name == name)
    }
}

fn hint(text: &str) -> Option<String> {
    Some(text.to_string())
}

fn read_manifest(root: &mut TableReader<'_, '_>) -> Manifest {
    let name = root.required_string("name", "add a line like name = \"my-app\" at the top").unwrap_or_default();
    check_dns_label(root, "name", &name);
    let function_tables = root.tables("function");
    let service_tables = root.tables("service");
    if function_tables.is_empty() && service_tables.is_empty() {
        root.report(
            "service",
            "the manifest declares no workloads",
            hint("add a [[function]] or a [[service]] section"),
        );
    }
    let mut names: Vec<String> = Vec::new();
    let mut routes: HashMap<(Option<String>, String), String> = HashMap::new();
    let mut check_unique = |table: &TableReader<'_, '_>, name: &str, route: Option<&RouteSpec>| {
        if names.iter().any(|other| other == name) {
            table.report(
                "name",
                format!("duplicate workload name \"{name}\""),
                hint("each workload needs its own name"),
            );
        }
        names.push(name.to_string());
        if let Some(route) = route
            && let Some(other) = routes.insert((route.host.clone(), route.path.clone()), name.to_string())
        {
            let message = format!("route \"{}\" is already used by workload \"{other}\"", route.display());
            table.report("route", message, hint("give each workload its own path or host"));
        }
    };
    let mut functions = Vec::with_capacity(function_tables.len());
    for mut table in function_tables {
        let function = read_function(&mut table);
        check_unique(&table, &function.name, function.route.as_ref());
        table.finish();
        functions.push(function);
    }
    let mut services: Vec<ServiceSpec> = Vec::with_capacity(service_tables.len());
    for mut table in service_tables {
        let service = read_service(&mut table);
        check_unique(&table, &service.name, service.route.as_ref());
        table.finish();
        services.push(service);
    }
    let admission = traffic::read_admission(root);
    Manifest { name, functions, services, admission }
}

fn read_function(table: &mut TableReader<'_, '_>) -> FunctionSpec {
    let name = table.required_string("name", "add name = \"hello\"").unwrap_or_default();
    check_dns_label(table, "name", &name);
    let source = table.required_string("source", "e.g. source = \"hello.wasm\"").unwrap_or_default();
    if !source.is_empty() && !is_bundle_path(&source) {
        table.report("source", format!("\"{source}\" must be a relative path inside the app's directory"), None);
    }
    let executor = match table.string("executor").as_deref() {
        None | Some("wasi-http") => Executor::WasiHttp,
        Some("wagi") => Executor::Wagi,
        Some(other) => {
            table.report(
                "executor",
                format!("unknown executor \"{other}\""),
                hint("use \"wasi-http\" (components) or \"wagi\" (WASI command modules)"),
            );
            Executor::WasiHttp
        }
    };
    let route = read_route(table);
    let limits = read_function_limits(table);
    let mut allowed_outbound_hosts = Vec::new();
    for entry in table.string_array("allowed_outbound_hosts").unwrap_or_default() {
        match OutboundHost::parse(&entry) {
            Ok(host) => allowed_outbound_hosts.push(host),
            Err(message) => table.report(
                "allowed_outbound_hosts",
                message,
                hint("e.g. [\"https://api.example.com\", \"http://127.0.0.1:*\"]"),
            ),
        }
    }
    let files = table.string_map("files").unwrap_or_default();
    for (guest, host) in &files {
        if !guest.starts_with('/') {
            table.report("files", format!("guest path \"{guest}\" must be absolute, like \"/static\""), None);
        }
        if !is_bundle_path(host) && host != "." {
            table.report("files", format!("\"{host}\" must be a relative directory inside the app's files"), None);
        }
    }
    let vars = table.string_map("vars").unwrap_or_default();
    let keyvalue = read_keyvalue(table, executor);
    FunctionSpec {
        name,
        location: table.location(),
        source,
        executor,
        route,
        limits,
        allowed_outbound_hosts,
        files,
        vars,
        keyvalue,
    }
}

fn read_keyvalue(table: &mut TableReader<'_, '_>, executor: Executor) -> Option<KeyValueStore> {
    let store = match table.bool_or_string("keyvalue")? {
        Ok(false) => return None,
        Ok(true) => KeyValueStore::Kv,
        Err(name) if name == "kv" => KeyValueStore::Kv,
        Err(name) if name == "cache" => KeyValueStore::Cache,
        Err(other) => {
            table.report(
                "keyvalue",
                format!("unknown key-value store \"{other}\""),
                hint("use true or \"kv\" (durable) or \"cache\" (in memory, evicts)"),
            );
            return None;
        }
    };
    if executor == Executor::Wagi {
        table.report(
            "keyvalue",
            "wasi:keyvalue is for components; a WAGI module cannot import it",
            hint("use executor = \"wasi-http\" or remove keyvalue"),
        );
    }
    Some(store)
}

fn read_function_limits(table: &mut TableReader<'_, '_>) -> FunctionLimits {
    let defaults = FunctionLimits::default();
    let Some(mut limits) = table.table("limits") else { return defaults };
    let memory = limits.size("memory").unwrap_or(defaults.memory);
    let timeout = limits.duration("timeout").unwrap_or(defaults.timeout);
    let body = limits.size("body").unwrap_or(defaults.body);
    let instances = limits.count("instances", 10_000).unwrap_or(defaults.instances);
    let queue = limits.count("queue", 1_000_000).unwrap_or(defaults.queue);
    if !(64 << 10..=MAX_FUNCTION_MEMORY).contains(&memory) {
        limits.report("memory", "\"memory\" must be between 64KiB and 4GiB", None);
    }
    if timeout.is_zero() || timeout > MAX_TIMEOUT {
        limits.report("timeout", "\"timeout\" must be between 1ms and 1h", None);
    }
    if body > MAX_BODY_LIMIT {
        limits.report("body", "\"body\" may be at most 1GiB", None);
    }
    if instances == 0 {
        limits.report("instances", "\"instances\" must be at least 1", None);
    }
    limits.finish();
    FunctionLimits { memory, timeout, body, instances, queue }
}

/// A relative path that stays inside the bundle.
fn is_bundle_path(path: &str) -> bool {
    !path.is_empty() && !path.starts_with('/') && !path.split('/').any(|segment| segment == "..")
}

fn read_service(table: &mut TableReader<'_, '_>) -> ServiceSpec {
    let name = table.required_string("name", "add name = \"web\"").unwrap_or_default();
    check_dns_label(table, "name", &name);
    let command =
        table.required_string_array("command", "e.g. command = [\"python3\", \"app.py\"]").unwrap_or_default();
    if command.first().is_some_and(|program| program.trim().is_empty()) {
        table.report("command", "\"command\" must start with the program to run", None);
    }
    let env = table.string_map("env").unwrap_or_default();
    for key in env.keys() {
        check_env_name(table, key);
    }
    let route = read_route(table);
    let (health, health_check) = traffic::read_health(table);
    ServiceSpec {
        name,
        location: table.location(),
        command,
        env,
        route,
        health,
        health_check,
        scale: read_scale(table),
        limits: read_limits(table),
        startup_timeout: positive_duration(table, "startup_timeout", Duration::from_secs(60)),
        stop_timeout: positive_duration(table, "stop_timeout", Duration::from_secs(10)),
        balance: traffic::read_balance(table),
        slow_start: table.duration("slow_start").unwrap_or(DEFAULT_SLOW_START),
        outlier: traffic::read_outlier(table),
        response_cache: table.bool("response_cache").unwrap_or(false),
        retries: traffic::read_retries(table),
        protocol: traffic::read_protocol(table),
    }
}

fn read_route(table: &mut TableReader<'_, '_>) -> Option<RouteSpec> {
    let path = table.string("route");
    let host = table.string("host").map(|host| normalise_host(table, &host));
    let location = table.location_of("route");
    let Some(path) = path else {
        if host.is_some() {
            table.report("host", "\"host\" needs a \"route\"", hint("add route = \"/\" to serve the whole host"));
        }
        return None;
    };
    Some(RouteSpec { path: normalise_route(table, &path), host, location })
}

fn normalise_route(table: &TableReader<'_, '_>, path: &str) -> String {
    const HINT: &str = "a route is a path prefix like \"/api\" or \"/\"";
    if !path.starts_with('/') {
        table.report("route", format!("route \"{path}\" must start with \"/\""), hint(HINT));
    } else if path.contains(|c: char| c.is_whitespace() || c.is_control() || c == '?' || c == '#') {
        table.report("route", format!("route \"{path}\" may not contain spaces, \"?\" or \"#\""), hint(HINT));
    } else if path.contains("//") || path.split('/').any(|segment| segment == ".." || segment == ".") {
        table.report("route", format!("route \"{path}\" has an empty, \".\" or \"..\" segment"), hint(HINT));
    }
    let trimmed = path.trim_end_matches('/');
    if trimmed.is_empty() { "/".to_string() } else { trimmed.to_string() }
}

fn normalise_host(table: &TableReader<'_, '_>, host: &str) -> String {
    let host = host.to_ascii_lowercase();
    let valid = !host.is_empty()
        && host.len() <= 253
        && host.split('.').all(|label| {
            !label.is_empty() && label.len() <= 63 && label.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
        });
    if !valid {
        table.report(
            "host",
            format!("\"{host}\" is not a host name"),
            hint("e.g. host = \"shop.example.com\" (no scheme, port or path)"),
        );
    }
    host
}

fn read_scale(table: &mut TableReader<'_, '_>) -> Scale {
    let Some(mut scale) = table.table("scale") else { return Scale::default() };
    let defaults = Scale::default();
    let min = scale.count("min", MAX_REPLICAS).unwrap_or(defaults.min);
    let max = scale.count("max", MAX_REPLICAS).unwrap_or(min.max(1));
    let target_concurrency = scale.count("target_concurrency", 1_000_000).unwrap_or(defaults.target_concurrency);
    let zero_after = scale.duration("zero_after").unwrap_or(defaults.zero_after);
    let window = scale.duration("window").unwrap_or(defaults.window);
    if !(Duration::from_secs(6)..=Duration::from_secs(3600)).contains(&window) {
        scale.report("window", "\"window\" must be between 6s and 1h", None);
    }
    if max == 0 {
        scale.report("max", "\"max\" must be at least 1", None);
    } else if min > max {
        scale.report("min", format!("\"min\" ({min}) is greater than \"max\" ({max})"), None);
    }
    if target_concurrency == 0 {
        scale.report("target_concurrency", "\"target_concurrency\" must be at least 1", None);
    }
    scale.finish();
    Scale { min, max, target_concurrency, zero_after, window }
}

fn read_limits(table: &mut TableReader<'_, '_>) -> WorkloadLimits {
    let defaults = WorkloadLimits::default();
    let Some(mut limits) = table.table("limits") else { return defaults };
    let timeout = limits.duration("timeout").unwrap_or(defaults.timeout);
    let body = limits.size("body").unwrap_or(defaults.body);
    if timeout.is_zero() || timeout > MAX_TIMEOUT {
        limits.report("timeout", "\"timeout\" must be between 1ms and 1h", None);
    }
    if body > MAX_BODY_LIMIT {
        limits.report("body", "\"body\" may be at most 1GiB", None);
    }
    limits.finish();
    WorkloadLimits { timeout, body }
}

fn positive_duration(table: &mut TableReader<'_, '_>, key: &'static str, default: Duration) -> Duration {
    let duration = table.duration(key).unwrap_or(default);
    if duration.is_zero() {
        table.report(key, format!("\"{key}\" must be longer than zero"), None);
    }
    duration
}

fn check_dns_label(table: &TableReader<'_, '_>, key: &str, name: &str) {
    if name.is_empty() {
        return; // reported as missing
    }
    let valid = name.len() <= 63
        && name.starts_with(|c: char| c.is_ascii_lowercase())
        && !name.ends_with('-')
        && name.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-');
    if !valid {
        let advice = "use lower-case letters, digits and \"-\", starting with a letter, at most 63 characters";
        table.report(key, format!("\"{name}\" is not a valid name"), hint(advice));
    }
}

fn check_env_name(table: &TableReader<'_, '_>, key: &str) {
    let valid = key.starts_with(|c: char| c.is_ascii_alphabetic() || c == '_')
        && key.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
    if !valid {
        table.report("env", format!("\"{key}\" is not a valid environment variable name"), None);
    } else if RESERVED_ENV.contains(&key) {
        table.report("env", format!("\"{key}\" is set by Cloudlet and cannot be overridden"), None);
    }
}

#[cfg(test)]
mod tests;
