//! `componentize ADAPTER INPUT.wasm OUTPUT.wasm` — ADAPTER is `proxy` (wasi:http handlers),
//! `reactor` or `command`.

use std::process::ExitCode;

use wasi_preview1_component_adapter_provider as adapters;

fn main() -> ExitCode {
    let arguments: Vec<String> = std::env::args().skip(1).collect();
    let [kind, input, output] = arguments.as_slice() else {
        eprintln!("usage: componentize proxy|reactor|command INPUT.wasm OUTPUT.wasm");
        return ExitCode::from(2);
    };
    let adapter = match kind.as_str() {
        "proxy" => adapters::WASI_SNAPSHOT_PREVIEW1_PROXY_ADAPTER,
        "reactor" => adapters::WASI_SNAPSHOT_PREVIEW1_REACTOR_ADAPTER,
        "command" => adapters::WASI_SNAPSHOT_PREVIEW1_COMMAND_ADAPTER,
        other => {
            eprintln!("unknown adapter {other}");
            return ExitCode::from(2);
        }
    };
    let result = std::fs::read(input).map_err(|error| error.to_string()).and_then(|module| {
        wit_component::ComponentEncoder::default()
            .module(&module)
            .and_then(|encoder| encoder.adapter(adapters::WASI_SNAPSHOT_PREVIEW1_ADAPTER_NAME, adapter))
            .and_then(|encoder| encoder.validate(true).encode())
            .map_err(|error| format!("{error:#}"))
    });
    match result.and_then(|component| std::fs::write(output, component).map_err(|error| error.to_string())) {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("componentize: {error}");
            ExitCode::FAILURE
        }
    }
}
