//! Deploy-time work on a function's binary: recognise it, check it fits its executor, compile it (or
//! load it from the cache), link it against what the executor provides, and pre-instantiate it.
//! Runs on a blocking thread; errors are messages for the person who deployed.

use std::sync::Arc;
use std::time::{Duration, Instant};

use cloudlet_config::Executor;
use wasmtime::component::{Component, Linker};
use wasmtime::{InstancePre, Module};
use wasmtime_wasi_config::WasiConfig;
use wasmtime_wasi_http::p2::bindings::ProxyPre;

use crate::cache::CacheOutcome;
use crate::engine::FunctionEngine;
use crate::host::{HttpHost, WagiHost};

/// A function's code, ready to instantiate per request.
#[derive(Clone)]
pub struct Prepared(pub(crate) Code);

#[derive(Clone)]
pub(crate) enum Code {
    Http(ProxyPre<HttpHost>),
    Wagi(InstancePre<WagiHost>),
}

/// What preparing cost.
#[derive(Clone, Copy, Debug)]
pub struct PrepareReport {
    pub cache: CacheOutcome,
    pub elapsed: Duration,
}

/// The kind of binary, from its header.
#[derive(Debug, PartialEq, Eq)]
enum Kind {
    Component,
    Module,
    NotWasm,
}

fn kind(bytes: &[u8]) -> Kind {
    match bytes.get(..8) {
        Some([0, b'a', b's', b'm', 1, 0, 0, 0]) => Kind::Module,
        Some([0, b'a', b's', b'm', _, _, 1, 0]) => Kind::Component,
        _ => Kind::NotWasm,
    }
}

/// Prepares `bytes` (named `source` in messages) for `executor`, on a blocking thread; `keyvalue`
/// links `wasi:keyvalue` (components only).
pub async fn prepare(
    engine: Arc<FunctionEngine>,
    executor: Executor,
    keyvalue: bool,
    source: String,
    bytes: Vec<u8>,
) -> Result<(Prepared, PrepareReport), String> {
    tokio::task::spawn_blocking(move || prepare_now(&engine, executor, keyvalue, &source, &bytes))
        .await
        .map_err(|error| format!("compiling {error}"))?
}

fn prepare_now(
    engine: &FunctionEngine,
    executor: Executor,
    keyvalue: bool,
    source: &str,
    bytes: &[u8],
) -> Result<(Prepared, PrepareReport), String> {
    let started = Instant::now();
    match (executor, kind(bytes)) {
        (_, Kind::NotWasm) => Err(format!("\"{source}\" is not a WebAssembly binary")),
        (Executor::WasiHttp, Kind::Module) => Err(format!(
            "\"{source}\" is a core WebAssembly module, not a component: run a WASI command module with \
             executor = \"wagi\", or build a wasi:http component (componentize-py, jco componentize, \
             wasm-tools component new)"
        )),
        (Executor::Wagi, Kind::Component) => Err(format!(
            "\"{source}\" is a component: components run with executor = \"wasi-http\"; WAGI runs WASI \
             preview 1 command modules"
        )),
        (Executor::WasiHttp, Kind::Component) => {
            let (component, cache) = engine
                .cache()
                .component(engine.engine(), bytes)
                .map_err(|error| format!("\"{source}\" does not compile: {error:#}"))?;
            check_http_export(engine, &component, source)?;
            let mut linker = Linker::<HttpHost>::new(engine.engine());
            wasmtime_wasi::p2::add_to_linker_async(&mut linker).map_err(link_error)?;
            wasmtime_wasi_http::p2::add_only_http_to_linker_async(&mut linker).map_err(link_error)?;
            wasmtime_wasi_config::add_to_linker(&mut linker, |host| WasiConfig::from(&*host.config))
                .map_err(link_error)?;
            if keyvalue {
                crate::keyvalue::add_to_linker(&mut linker).map_err(link_error)?;
            }
            let pre = linker.instantiate_pre(&component).map_err(|error| {
                let imports_keyvalue = component
                    .component_type()
                    .imports(engine.engine())
                    .any(|(name, _)| name.starts_with("wasi:keyvalue/"));
                if imports_keyvalue && !keyvalue {
                    format!(
                        "\"{source}\" imports wasi:keyvalue, which this function is not granted: set \
                         keyvalue = true (durable KV store) or keyvalue = \"cache\" in its [[function]]"
                    )
                } else {
                    format!("\"{source}\" needs imports Cloudlet does not provide: {error:#}")
                }
            })?;
            let pre =
                ProxyPre::new(pre).map_err(|error| format!("\"{source}\" is not a wasi:http handler: {error:#}"))?;
            Ok((Prepared(Code::Http(pre)), PrepareReport { cache, elapsed: started.elapsed() }))
        }
        (Executor::Wagi, Kind::Module) => {
            let (module, cache) = engine
                .cache()
                .module(engine.engine(), bytes)
                .map_err(|error| format!("\"{source}\" does not compile: {error:#}"))?;
            check_start_export(&module, source)?;
            let mut linker = wasmtime::Linker::<WagiHost>::new(engine.engine());
            wasmtime_wasi::p1::add_to_linker_async(&mut linker, |host| &mut host.wasi).map_err(link_error)?;
            let pre = linker
                .instantiate_pre(&module)
                .map_err(|error| format!("\"{source}\" needs imports Cloudlet does not provide: {error:#}"))?;
            Ok((Prepared(Code::Wagi(pre)), PrepareReport { cache, elapsed: started.elapsed() }))
        }
    }
}

fn link_error(error: wasmtime::Error) -> String {
    format!("internal error setting up the function's imports: {error:#}")
}

fn check_http_export(engine: &FunctionEngine, component: &Component, source: &str) -> Result<(), String> {
    let exports: Vec<String> =
        component.component_type().exports(engine.engine()).map(|(name, _)| name.to_string()).collect();
    if exports.iter().any(|name| name.starts_with("wasi:http/incoming-handler@0.2.")) {
        return Ok(());
    }
    let found = if exports.is_empty() { "nothing".to_string() } else { exports.join(", ") };
    Err(format!("\"{source}\" does not export wasi:http/incoming-handler@0.2.x; it exports {found}"))
}

fn check_start_export(module: &Module, source: &str) -> Result<(), String> {
    if module.get_export("_start").is_some_and(|export| export.func().is_some()) {
        return Ok(());
    }
    Err(format!(
        "\"{source}\" has no _start function: WAGI runs WASI command modules (built as executables, not libraries)"
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn binaries_are_told_apart_by_their_header() {
        assert_eq!(kind(b"\0asm\x01\0\0\0rest"), Kind::Module);
        assert_eq!(kind(b"\0asm\x0d\0\x01\0rest"), Kind::Component);
        assert_eq!(kind(b"#!/bin/sh"), Kind::NotWasm);
        assert_eq!(kind(b""), Kind::NotWasm);
    }
}
