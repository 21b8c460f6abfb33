//! Serverless functions: WebAssembly run per request, in this process, on wasmtime.
//!
//! - [`engine`]: the node's one wasmtime [`Engine`](wasmtime::Engine) — pooling allocator, epoch ticker
//!   (one thread for all functions), and the on-disk compile cache ([`cache`]);
//! - [`prepare`]: deploy-time work on a blocking thread: recognise the binary, check it fits its
//!   executor, compile (or load from the cache), link, pre-instantiate;
//! - [`function`]: a deployed [`Function`], the gateway's [`RequestHandler`](cloudlet_gateway::RequestHandler)
//!   for its route, with the per-node concurrency [`gate`] and its metrics;
//! - `wasi_http`: the `wasi:http/incoming-handler` executor (a fresh store per request, bodies
//!   streaming both ways);
//! - `wagi`: the WAGI executor (CGI environment, body on stdin, response parsed from stdout);
//! - [`keyvalue`]: `wasi:keyvalue` for components, over [`Bucket`]s the node provides per app;
//! - `host`: what a store holds — WASI contexts, memory limiter, the outbound-HTTP policy (`outbound`);
//! - `output`: guest stdout/stderr into the app's logs.
//!
//! It depends on `cloudlet-config` for the function spec and on `cloudlet-gateway` for the handler
//! interface; it knows nothing of processes, storage or the API.

pub mod cache;
pub mod engine;
pub mod function;
pub mod gate;
mod host;
pub mod keyvalue;
pub mod metrics;
mod outbound;
mod output;
pub mod prepare;
mod wagi;
mod wasi_http;

pub use engine::{EngineSettings, FunctionEngine};
pub use function::{Function, FunctionEnv, FunctionStats};
pub use keyvalue::{Bucket, Buckets, KeyValueAccess, KeyValueFuture};
pub use metrics::FunctionMetrics;
pub use output::{LogSink, OutputStream};
pub use prepare::{PrepareReport, Prepared, prepare};
