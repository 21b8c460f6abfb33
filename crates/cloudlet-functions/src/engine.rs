//! The wasmtime engine every function of the node shares.
//!
//! Instances come from the pooling allocator (memory and tables pre-reserved, so instantiation is a
//! few microseconds and never allocates from the OS on the request path). Time limits use epoch
//! interruption: one ticker thread advances the engine's epoch every [`EPOCH_TICK`], and each store
//! yields to the async runtime at every tick and traps at its deadline.

use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread::JoinHandle;
use std::time::Duration;

use wasmtime::{Config, Engine, InstanceAllocationStrategy, PoolingAllocationConfig};

use crate::cache::CompileCache;

/// How often the epoch advances: the granularity of time limits and of cooperative yields.
pub const EPOCH_TICK: Duration = Duration::from_millis(10);

/// Sizing of the engine.
#[derive(Clone, Copy, Debug)]
pub struct EngineSettings {
    /// Function instances alive at once on the node (pool slots). Default 256.
    pub max_instances: u32,
    /// Largest linear memory of one instance (pool slot size). Default 4 GiB.
    pub max_memory: u64,
}

impl Default for EngineSettings {
    fn default() -> Self {
        Self { max_instances: 256, max_memory: cloudlet_config::manifest::MAX_FUNCTION_MEMORY }
    }
}

/// The engine, its compile cache and its epoch ticker.
pub struct FunctionEngine {
    engine: Engine,
    cache: CompileCache,
    ticker: Option<JoinHandle<()>>,
    stop: Arc<AtomicBool>,
    pooled: bool,
}

impl FunctionEngine {
    /// Builds the engine with a compile cache in `cache_dir`. Falls back to on-demand allocation (and
    /// says so in the log) when the pooling allocator cannot reserve its address space.
    pub fn new(settings: EngineSettings, cache_dir: PathBuf) -> Result<Arc<Self>, String> {
        let (engine, pooled) = match Engine::new(&config(Some(settings))) {
            Ok(engine) => (engine, true),
            Err(error) => {
                tracing::warn!(%error, "pooling allocator unavailable; functions use on-demand allocation");
                (Engine::new(&config(None)).map_err(|error| format!("cannot start wasmtime: {error}"))?, false)
            }
        };
        let cache = CompileCache::open(cache_dir, &engine)?;
        let stop = Arc::new(AtomicBool::new(false));
        let ticker = {
            let engine = engine.clone();
            let stop = stop.clone();
            std::thread::Builder::new()
                .name("wasm-epoch".to_string())
                .spawn(move || {
                    while !stop.load(Ordering::Relaxed) {
                        std::thread::sleep(EPOCH_TICK);
                        engine.increment_epoch();
                    }
                })
                .map_err(|error| format!("cannot start the epoch thread: {error}"))?
        };
        Ok(Arc::new(Self { engine, cache, ticker: Some(ticker), stop, pooled }))
    }

    pub fn engine(&self) -> &Engine {
        &self.engine
    }

    pub fn cache(&self) -> &CompileCache {
        &self.cache
    }

    /// Whether instances come from the pooling allocator.
    pub fn pooled(&self) -> bool {
        self.pooled
    }
}

impl Drop for FunctionEngine {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(ticker) = self.ticker.take() {
            let _ = ticker.join();
        }
    }
}

fn config(pooling: Option<EngineSettings>) -> Config {
    let mut config = Config::new();
    config.wasm_component_model(true).epoch_interruption(true).parallel_compilation(true);
    if let Some(settings) = pooling {
        let slots = settings.max_instances.max(1);
        let mut pool = PoolingAllocationConfig::default();
        // A component (componentize-py's, say) holds several core instances, memories and tables.
        pool.total_component_instances(slots)
            .total_core_instances(slots * 8)
            .total_memories(slots * 2)
            .total_tables(slots * 8)
            .total_stacks(slots)
            .max_core_instances_per_component(64)
            .max_memories_per_component(8)
            .max_tables_per_component(64)
            .max_memory_size(usize::try_from(settings.max_memory).unwrap_or(usize::MAX));
        config.allocation_strategy(InstanceAllocationStrategy::Pooling(pool));
    }
    config
}
