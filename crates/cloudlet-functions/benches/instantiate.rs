//! Per-request cost of a fresh instance: a new store (WASI context, limits, deadline) and the
//! instantiation of a pre-linked component or module on the pooling allocator — what every request
//! pays before the guest's code runs. Goal: < 50 µs.
//!
//! `cargo bench -p cloudlet-functions --bench instantiate`

use std::path::Path;
use std::sync::Arc;

use cloudlet_config::{Executor, Manifest};
use cloudlet_functions::{EngineSettings, Function, FunctionEngine, FunctionEnv, FunctionMetrics, prepare};
use criterion::{Criterion, criterion_group, criterion_main};
use prometheus_client::registry::Registry;

fn function(
    runtime: &tokio::runtime::Runtime,
    engine: &Arc<FunctionEngine>,
    executor: Executor,
    bytes: &[u8],
) -> Function {
    let manifest = format!(
        "name = \"bench\"\n[[function]]\nname = \"f\"\nsource = \"f.wasm\"\nexecutor = \"{}\"\n",
        executor.as_str()
    );
    let spec = Manifest::parse(&manifest).expect("manifest").functions.remove(0);
    let (prepared, _) = runtime
        .block_on(prepare(engine.clone(), executor, false, "f.wasm".to_string(), bytes.to_vec()))
        .expect("prepare");
    let metrics = FunctionMetrics::new(&mut Registry::default());
    let env = FunctionEnv { sink: Arc::new(|_, _| {}), keyvalue: Default::default() };
    Function::new("bench", spec, engine.clone(), prepared, &metrics, env, Path::new("."))
}

fn instantiate(c: &mut Criterion) {
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("runtime");
    let cache = tempfile::tempdir().expect("cache dir");
    let engine = FunctionEngine::new(EngineSettings::default(), cache.path().to_path_buf()).expect("engine");
    let cases = [
        (
            "wasi:http hello example (64 KB component)",
            Executor::WasiHttp,
            &include_bytes!("../../../examples/hello-function/hello.wasm")[..],
        ),
        (
            "wasi:http test fixture (90 KB component)",
            Executor::WasiHttp,
            &include_bytes!("../tests/fixtures/http_fixture.wasm")[..],
        ),
        (
            "WAGI example (29 KB core module)",
            Executor::Wagi,
            &include_bytes!("../../../examples/wagi-function/hello.wasm")[..],
        ),
    ];
    let mut group = c.benchmark_group("instantiate");
    for (name, executor, bytes) in cases {
        let function = function(&runtime, &engine, executor, bytes);
        group.bench_function(name, |bench| {
            bench.to_async(&runtime).iter(|| async { function.instantiate().await.expect("instantiate") })
        });
    }
    group.finish();
}

criterion_group!(benches, instantiate);
criterion_main!(benches);
