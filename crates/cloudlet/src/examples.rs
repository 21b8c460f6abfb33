//! The example apps `cloudlet up` deploys, compiled into the binary so it works from anywhere.

use anyhow::Result;
use flate2::Compression;
use flate2::write::GzEncoder;

/// An example app: its files and what to try once it runs.
pub struct Example {
    pub name: &'static str,
    pub files: &'static [(&'static str, &'static [u8])],
    /// Programs it needs on PATH; skipped with a note when one is missing.
    pub requires: &'static [&'static str],
    /// Paths worth a curl, with what they show.
    pub try_urls: &'static [(&'static str, &'static str)],
}

pub const EXAMPLES: &[Example] = &[
    Example {
        name: "hello-function",
        files: &[
            ("cloudlet.toml", include_bytes!("../../../examples/hello-function/cloudlet.toml")),
            ("hello.wasm", include_bytes!("../../../examples/hello-function/hello.wasm")),
        ],
        requires: &[],
        try_urls: &[("/fn/hello", "a wasi:http component, a fresh instance per request")],
    },
    Example {
        name: "counter-function",
        files: &[
            ("cloudlet.toml", include_bytes!("../../../examples/counter-function/cloudlet.toml")),
            ("counter.wasm", include_bytes!("../../../examples/counter-function/counter.wasm")),
        ],
        requires: &[],
        try_urls: &[("/counter/visits", "a stateful function: a hit counter in the durable KV store")],
    },
    Example {
        name: "wagi-function",
        files: &[
            ("cloudlet.toml", include_bytes!("../../../examples/wagi-function/cloudlet.toml")),
            ("hello.wasm", include_bytes!("../../../examples/wagi-function/hello.wasm")),
        ],
        requires: &[],
        try_urls: &[("/wagi/any/path?x=1", "a WAGI module: CGI in WebAssembly")],
    },
    Example {
        name: "hello-service",
        files: &[
            ("cloudlet.toml", include_bytes!("../../../examples/hello-service/cloudlet.toml")),
            ("app.py", include_bytes!("../../../examples/hello-service/app.py")),
        ],
        requires: &["python3"],
        try_urls: &[("/hello", "a Python service, 2 to 4 replicas, autoscaled, balanced by latency")],
    },
];

impl Example {
    /// The example as a gzipped tar bundle.
    pub fn bundle(&self) -> Result<Vec<u8>> {
        let mut builder = tar::Builder::new(GzEncoder::new(Vec::new(), Compression::fast()));
        for (path, content) in self.files {
            let mut header = tar::Header::new_gnu();
            header.set_size(content.len() as u64);
            header.set_mode(0o644);
            header.set_cksum();
            builder.append_data(&mut header, path, *content)?;
        }
        Ok(builder.into_inner()?.finish()?)
    }
}
