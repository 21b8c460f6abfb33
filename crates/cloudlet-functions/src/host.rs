//! What one request's store holds, for each executor, and the limits it runs under.

use std::sync::Arc;

use wasmtime::ResourceLimiter;
use wasmtime::component::ResourceTable;
use wasmtime_wasi::p1::WasiP1Ctx;
use wasmtime_wasi::{WasiCtx, WasiCtxView, WasiView};
use wasmtime_wasi_config::WasiConfigVariables;
use wasmtime_wasi_http::{WasiHttpCtx, WasiHttpCtxView, WasiHttpView};

use crate::keyvalue::KeyValueAccess;
use crate::outbound::Outbound;

/// Store data of a `wasi:http` request.
pub(crate) struct HttpHost {
    pub(crate) table: ResourceTable,
    pub(crate) wasi: WasiCtx,
    pub(crate) http: WasiHttpCtx,
    pub(crate) outbound: Outbound,
    pub(crate) config: Arc<WasiConfigVariables>,
    /// The `wasi:keyvalue` buckets the function may open (none without `keyvalue` in its manifest).
    pub(crate) keyvalue: Arc<KeyValueAccess>,
    pub(crate) limits: MemoryLimit,
}

impl WasiView for HttpHost {
    fn ctx(&mut self) -> WasiCtxView<'_> {
        WasiCtxView { ctx: &mut self.wasi, table: &mut self.table }
    }
}

impl WasiHttpView for HttpHost {
    fn http(&mut self) -> WasiHttpCtxView<'_> {
        WasiHttpCtxView { ctx: &mut self.http, table: &mut self.table, hooks: &mut self.outbound }
    }
}

/// Store data of a WAGI request.
pub(crate) struct WagiHost {
    pub(crate) wasi: WasiP1Ctx,
    pub(crate) limits: MemoryLimit,
}

/// A guest tried to grow its memory past the function's limit.
#[derive(Debug, thiserror::Error)]
#[error("the function exceeded its memory limit of {limit} bytes (it asked for {desired})")]
pub(crate) struct MemoryLimitExceeded {
    pub(crate) limit: usize,
    pub(crate) desired: usize,
}

/// The request ran out of time.
#[derive(Debug, thiserror::Error)]
#[error("the function ran longer than its timeout")]
pub(crate) struct TimedOut;

/// Most table elements one store may hold (tables are host memory too: 8–16 bytes an element).
const MAX_TABLE_ELEMENTS: usize = 1 << 20;

/// Caps the linear memory of a store — all its memories together, so a component with several core
/// instances cannot multiply its share. Exceeding it traps the guest (instead of failing
/// `memory.grow` quietly) so the request ends with a clear error.
pub(crate) struct MemoryLimit {
    limit: usize,
    total: usize,
    table_elements: usize,
}

impl MemoryLimit {
    pub(crate) fn new(limit: u64) -> Self {
        Self { limit: usize::try_from(limit).unwrap_or(usize::MAX), total: 0, table_elements: 0 }
    }
}

impl ResourceLimiter for MemoryLimit {
    fn memory_growing(&mut self, current: usize, desired: usize, _maximum: Option<usize>) -> wasmtime::Result<bool> {
        let total = self.total.saturating_add(desired.saturating_sub(current));
        if total > self.limit {
            return Err(wasmtime::Error::new(MemoryLimitExceeded { limit: self.limit, desired: total }));
        }
        self.total = total;
        Ok(true)
    }

    fn table_growing(&mut self, current: usize, desired: usize, _maximum: Option<usize>) -> wasmtime::Result<bool> {
        let total = self.table_elements.saturating_add(desired.saturating_sub(current));
        if total > MAX_TABLE_ELEMENTS {
            return Ok(false);
        }
        self.table_elements = total;
        Ok(true)
    }
}
