//! A deployed function: the gateway's handler for its route.
//!
//! Each request waits for a slot in the function's [`Gate`], gets a fresh store (its own memory,
//! limits and deadline), runs in it, and is answered; a trap, a timeout or the memory limit ends
//! that request alone with a JSON error, and the node carries on.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use cloudlet_config::{FunctionSpec, OutboundHost};
use cloudlet_gateway::{HandlerFuture, RequestHandler, ResponseBody, error_response};
use http::{HeaderValue, Request, Response, StatusCode, header};
use hyper::body::Incoming;
use serde::Serialize;
use tokio::time::Instant;
use wasmtime::{Store, UpdateDeadline};
use wasmtime_wasi::{FsPerms, WasiCtxBuilder};
use wasmtime_wasi_config::WasiConfigVariables;

use crate::engine::FunctionEngine;
use crate::gate::{Gate, Refusal, Slot};
use crate::host::{MemoryLimit, MemoryLimitExceeded, TimedOut};
use crate::keyvalue::KeyValueAccess;
use crate::metrics::{FunctionHandles, FunctionMetrics};
use crate::output::{GuestOutput, LogSink, OutputStream};
use crate::prepare::{Code, Prepared};
use crate::{wagi, wasi_http};

/// What the node gives a function besides its code: where its output goes, and the `wasi:keyvalue`
/// buckets it may open (empty unless its manifest sets `keyvalue`).
#[derive(Clone)]
pub struct FunctionEnv {
    pub sink: LogSink,
    pub keyvalue: KeyValueAccess,
}

/// A function ready to serve.
pub struct Function {
    inner: Arc<Inner>,
}

pub(crate) struct Inner {
    pub(crate) spec: FunctionSpec,
    pub(crate) engine: Arc<FunctionEngine>,
    prepared: Prepared,
    gate: Gate,
    pub(crate) metrics: FunctionHandles,
    pub(crate) sink: LogSink,
    /// Read-only directories: host path, guest path.
    files: Vec<(PathBuf, String)>,
    pub(crate) config: Arc<WasiConfigVariables>,
    pub(crate) allowed: Arc<[OutboundHost]>,
    pub(crate) keyvalue: Arc<KeyValueAccess>,
    stats: Counters,
}

#[derive(Default)]
struct Counters {
    invocations: AtomicU64,
    server_errors: AtomicU64,
    traps: AtomicU64,
    timeouts: AtomicU64,
    memory: AtomicU64,
    busy: AtomicU64,
}

/// What `cloudlet status` shows of a function.
#[derive(Clone, Debug, Serialize)]
pub struct FunctionStats {
    pub name: String,
    pub kind: &'static str,
    pub executor: &'static str,
    pub source: String,
    pub invocations: u64,
    pub server_errors: u64,
    pub traps: u64,
    pub timeouts: u64,
    pub memory_exceeded: u64,
    pub busy: u64,
    pub instances_in_use: usize,
    pub waiting: usize,
    pub max_instances: u32,
}

impl Function {
    /// A function of `app`, reading its `files` under `app_dir`.
    pub fn new(
        app: &str,
        spec: FunctionSpec,
        engine: Arc<FunctionEngine>,
        prepared: Prepared,
        metrics: &FunctionMetrics,
        env: FunctionEnv,
        app_dir: &Path,
    ) -> Self {
        let files = spec.files.iter().map(|(guest, host)| (app_dir.join(host), guest.clone())).collect();
        let config = Arc::new(spec.vars.iter().map(|(key, value)| (key.clone(), value.clone())).collect());
        let allowed = Arc::from(spec.allowed_outbound_hosts.clone());
        let inner = Inner {
            gate: Gate::new(spec.limits.instances, spec.limits.queue),
            metrics: metrics.handles(app, &spec.name),
            spec,
            engine,
            prepared,
            sink: env.sink,
            files,
            config,
            allowed,
            keyvalue: Arc::new(env.keyvalue),
            stats: Counters::default(),
        };
        Self { inner: Arc::new(inner) }
    }

    /// Creates one fresh instance and drops it, returning how long that took. The control plane does
    /// this at deploy, so a component that traps while initialising is refused before it serves.
    pub async fn instantiate(&self) -> Result<std::time::Duration, String> {
        let inner = &self.inner;
        let deadline = Instant::now() + inner.spec.limits.timeout;
        let started = std::time::Instant::now();
        let result = match &inner.prepared.0 {
            Code::Http(pre) => {
                let mut store = inner.store(wasi_http::host(inner)?, |host| &mut host.limits, deadline);
                pre.instantiate_async(&mut store).await.map(drop)
            }
            Code::Wagi(pre) => {
                let mut builder = inner.wasi_builder()?;
                let host = crate::host::WagiHost { wasi: builder.build_p1(), limits: inner.memory_limit() };
                let mut store = inner.store(host, |host| &mut host.limits, deadline);
                pre.instantiate_async(&mut store).await.map(drop)
            }
        };
        let elapsed = started.elapsed();
        result.map(|()| elapsed).map_err(|error| format!("fails to instantiate: {error:#}"))
    }

    pub fn stats(&self) -> FunctionStats {
        let inner = &self.inner;
        let load = |counter: &AtomicU64| counter.load(Ordering::Relaxed);
        FunctionStats {
            name: inner.spec.name.clone(),
            kind: "function",
            executor: inner.spec.executor.as_str(),
            source: inner.spec.source.clone(),
            invocations: load(&inner.stats.invocations),
            server_errors: load(&inner.stats.server_errors),
            traps: load(&inner.stats.traps),
            timeouts: load(&inner.stats.timeouts),
            memory_exceeded: load(&inner.stats.memory),
            busy: load(&inner.stats.busy),
            instances_in_use: inner.gate.in_use(),
            waiting: inner.gate.waiting(),
            max_instances: inner.spec.limits.instances,
        }
    }
}

impl RequestHandler for Function {
    fn handle(&self, request: Request<Incoming>, client: SocketAddr) -> HandlerFuture {
        let inner = self.inner.clone();
        Box::pin(async move { inner.handle(request, client).await })
    }
}

/// A slot held for the length of one instance's work; counts it as in use.
pub(crate) struct Busy {
    _slot: Slot,
    inner: Arc<Inner>,
}

impl Drop for Busy {
    fn drop(&mut self) {
        self.inner.metrics.in_use.dec();
    }
}

/// How a request's run ended badly.
pub(crate) enum Failure {
    Timeout,
    /// Every instance slot of the node's pool is taken (by all functions together).
    PoolFull,
    Memory(String),
    Trap(String),
    Error(String),
}

impl Inner {
    async fn handle(self: Arc<Self>, request: Request<Incoming>, client: SocketAddr) -> Response<ResponseBody> {
        let deadline = Instant::now() + self.spec.limits.timeout;
        self.stats.invocations.fetch_add(1, Ordering::Relaxed);
        let response = match &self.prepared.0 {
            Code::Http(pre) => match self.enter(deadline).await {
                Ok(busy) => wasi_http::handle(self.clone(), pre.clone(), request, deadline, busy).await,
                Err(refused) => refused,
            },
            // A WAGI module gets its whole body on stdin: read it before taking an instance slot, so
            // slow uploads do not hold slots.
            Code::Wagi(pre) => match wagi::read_request(&self, request, deadline).await {
                Ok((parts, body)) => match self.enter(deadline).await {
                    Ok(busy) => wagi::run(&self, pre, parts, body, client, deadline, busy).await,
                    Err(refused) => refused,
                },
                Err(response) => response,
            },
        };
        let status = response.status();
        self.metrics.answered(status.as_u16());
        if status.is_server_error() {
            self.stats.server_errors.fetch_add(1, Ordering::Relaxed);
        }
        response
    }

    /// An instance slot, or the refusal to answer with.
    async fn enter(self: &Arc<Self>, deadline: Instant) -> Result<Busy, Response<ResponseBody>> {
        match self.gate.enter(deadline).await {
            Ok(slot) => {
                self.metrics.in_use.inc();
                Ok(Busy { _slot: slot, inner: self.clone() })
            }
            Err(refusal) => Err(self.refuse(refusal)),
        }
    }

    fn refuse(&self, refusal: Refusal) -> Response<ResponseBody> {
        self.stats.busy.fetch_add(1, Ordering::Relaxed);
        self.metrics.busy.inc();
        let message = match refusal {
            Refusal::QueueFull => format!(
                "function {} is at its limit of {} instances and {} waiting requests",
                self.spec.name, self.spec.limits.instances, self.spec.limits.queue
            ),
            Refusal::WaitedTooLong => {
                format!("function {} had no free instance before the request's timeout", self.spec.name)
            }
        };
        let mut response = error_response(StatusCode::SERVICE_UNAVAILABLE, "function_busy", &message);
        response.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from_static("1"));
        response
    }

    /// A store for one request: memory limit, and a deadline checked at every epoch tick, where the
    /// guest also yields so one busy function cannot starve other requests on its thread.
    pub(crate) fn store<T: Send + 'static>(
        &self,
        data: T,
        limits: fn(&mut T) -> &mut MemoryLimit,
        deadline: Instant,
    ) -> Store<T> {
        let mut store = Store::new(self.engine.engine(), data);
        store.limiter(move |data| limits(data) as &mut dyn wasmtime::ResourceLimiter);
        store.set_epoch_deadline(1);
        let deadline = deadline.into_std();
        store.epoch_deadline_callback(move |_| {
            if std::time::Instant::now() >= deadline {
                Err(wasmtime::Error::new(TimedOut))
            } else {
                // tokio's yield_now wakes the task only after the runtime has polled its I/O driver, so
                // requests waiting on sockets on this thread get their turn between ticks.
                Ok(UpdateDeadline::YieldCustom(1, Box::pin(tokio::task::yield_now())))
            }
        });
        store
    }

    /// WASI context common to both executors: output to the logs, the granted directories.
    pub(crate) fn wasi_builder(&self) -> Result<WasiCtxBuilder, String> {
        let mut builder = WasiCtxBuilder::new();
        builder
            .stdout(GuestOutput::new(self.sink.clone(), OutputStream::Stdout))
            .stderr(GuestOutput::new(self.sink.clone(), OutputStream::Stderr));
        for (host, guest) in &self.files {
            builder
                .preopened_dir(host, guest, FsPerms::ReadOnly)
                .map_err(|error| format!("cannot open {} for the function: {error}", host.display()))?;
        }
        Ok(builder)
    }

    pub(crate) fn memory_limit(&self) -> MemoryLimit {
        MemoryLimit::new(self.spec.limits.memory)
    }

    /// Classifies a failed run, counts it and logs it.
    pub(crate) fn failure(&self, error: &wasmtime::Error) -> Failure {
        let failure = if error.downcast_ref::<TimedOut>().is_some() {
            Failure::Timeout
        } else if error.downcast_ref::<wasmtime::PoolConcurrencyLimitError>().is_some() {
            Failure::PoolFull
        } else if let Some(exceeded) = error.downcast_ref::<MemoryLimitExceeded>() {
            Failure::Memory(exceeded.to_string())
        } else if let Some(trap) = error.downcast_ref::<wasmtime::Trap>() {
            Failure::Trap(trap.to_string())
        } else {
            Failure::Error(format!("{error:#}"))
        };
        self.failed(&failure);
        failure
    }

    pub(crate) fn failed(&self, failure: &Failure) {
        let (counter, metric, line) = match failure {
            Failure::Timeout => (
                &self.stats.timeouts,
                &self.metrics.timeouts,
                format!("request stopped after the {}ms timeout", self.spec.limits.timeout.as_millis()),
            ),
            Failure::PoolFull => (
                &self.stats.busy,
                &self.metrics.busy,
                "no free instance slot on the node (all functions together are at the pool's size)".to_string(),
            ),
            Failure::Memory(message) => (&self.stats.memory, &self.metrics.memory, message.clone()),
            Failure::Trap(message) => (&self.stats.traps, &self.metrics.traps, format!("trapped: {message}")),
            Failure::Error(message) => (&self.stats.traps, &self.metrics.traps, format!("failed: {message}")),
        };
        counter.fetch_add(1, Ordering::Relaxed);
        metric.inc();
        (self.sink)(OutputStream::System, &line);
    }

    pub(crate) fn failure_response(&self, failure: Failure) -> Response<ResponseBody> {
        let name = &self.spec.name;
        match failure {
            Failure::Timeout => error_response(
                StatusCode::GATEWAY_TIMEOUT,
                "function_timeout",
                &format!(
                    "function {name} did not finish within its {}ms timeout",
                    self.spec.limits.timeout.as_millis()
                ),
            ),
            Failure::PoolFull => {
                let mut response = error_response(
                    StatusCode::SERVICE_UNAVAILABLE,
                    "function_busy",
                    "the node runs as many function instances as it can; try again",
                );
                response.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from_static("1"));
                response
            }
            Failure::Memory(message) => {
                error_response(StatusCode::INTERNAL_SERVER_ERROR, "function_memory_limit", &message)
            }
            Failure::Trap(message) => error_response(
                StatusCode::INTERNAL_SERVER_ERROR,
                "function_trap",
                &format!("function {name} trapped: {message}"),
            ),
            Failure::Error(message) => error_response(
                StatusCode::INTERNAL_SERVER_ERROR,
                "function_error",
                &format!("function {name} failed: {message}"),
            ),
        }
    }
}
