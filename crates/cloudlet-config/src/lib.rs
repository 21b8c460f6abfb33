//! Configuration of a Cloudlet node and the app manifest (`cloudlet.toml`).
//!
//! Everything a user writes is read here, once, at the edge, and turned into plain typed values:
//! - [`manifest`]: the app manifest — its types, defaults and validation;
//! - [`node`]: the node configuration file (`cloudlet serve --config FILE`);
//! - [`problem`]: a validation problem with its location in the source and a hint;
//! - [`reader`]: the span-keeping TOML reader both of them use, which reports *every* problem
//!   (unknown fields with the nearest valid name, wrong types, bad values) instead of the first;
//! - [`units`]: byte sizes (`"64MiB"`) and durations (`"10s"`).
//!
//! This crate does no I/O beyond what its caller hands it and depends on no other Cloudlet crate.

pub mod manifest;
pub mod node;
pub mod problem;
pub mod reader;
pub mod units;

mod suggest;

pub use manifest::{
    Admission, Balance, Executor, FunctionLimits, FunctionSpec, HashKey, HealthCheck, KeyValueStore, Manifest,
    OutboundHost, Outlier, Protocol, Rate, Retries, RouteSpec, Scale, ServiceSpec, WorkloadLimits,
};
pub use node::{CacheConfig, KvConfig, NodeConfig, TlsFiles};
pub use problem::{Location, Problem};
