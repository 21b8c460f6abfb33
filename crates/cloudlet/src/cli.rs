//! The command line: `cloudlet serve | up | deploy | apps | status | delete | scale | logs`.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

#[derive(Parser)]
#[command(name = "cloudlet", version, about = "A scalable self-hosted cloud in one binary")]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Subcommand)]
pub enum Command {
    /// Run a node: gateway, control API, KV and cache listeners, and every deployed app.
    Serve(ServeArgs),
    /// Quickstart: run a node with the bundled example apps deployed, and print URLs to try.
    Up(ServeArgs),
    /// Deploy the app in the current directory (or the one holding --file) and wait until it runs.
    Deploy(DeployArgs),
    /// List deployed apps.
    Apps(ClientArgs),
    /// Show an app's workloads and instances.
    Status {
        app: String,
        /// Print the API's JSON instead of a table.
        #[arg(long)]
        json: bool,
        #[command(flatten)]
        client: ClientArgs,
    },
    /// Stop an app's instances and remove it.
    Delete {
        app: String,
        #[command(flatten)]
        client: ClientArgs,
    },
    /// Set a workload's replica bounds (until the next deploy).
    Scale {
        app: String,
        workload: String,
        #[arg(long)]
        min: u32,
        #[arg(long)]
        max: u32,
        #[command(flatten)]
        client: ClientArgs,
    },
    /// Print an app's instance output.
    Logs {
        app: String,
        /// Keep printing new lines as they are written.
        #[arg(short, long)]
        follow: bool,
        /// Recent lines to print first.
        #[arg(long, default_value_t = 100)]
        tail: usize,
        /// Only this instance.
        #[arg(long)]
        instance: Option<String>,
        #[command(flatten)]
        client: ClientArgs,
    },
}

/// Flags of `serve` and `up`; each overrides the config file, which overrides the defaults.
#[derive(Args, Clone)]
pub struct ServeArgs {
    /// Node config file (TOML); see docs/operations.md.
    #[arg(long)]
    pub config: Option<PathBuf>,
    /// Where apps and state live [default: ./cloudlet-data].
    #[arg(long)]
    pub data_dir: Option<PathBuf>,
    /// Gateway address [default: 127.0.0.1:8080]; port 0 picks a free port.
    #[arg(long)]
    pub gateway: Option<String>,
    /// Control API address [default: 127.0.0.1:7070].
    #[arg(long)]
    pub api: Option<String>,
    /// RESP key-value store address [default: 127.0.0.1:6380].
    #[arg(long)]
    pub kv: Option<String>,
    /// RESP cache address [default: 127.0.0.1:6381].
    #[arg(long)]
    pub cache: Option<String>,
    /// Admin token for the API [default: generated into DATA_DIR/admin.token].
    #[arg(long, env = "CLOUDLET_TOKEN", hide_env_values = true)]
    pub token: Option<String>,
    /// Memory the cache may use, e.g. 512MiB [default: an eighth of the machine's memory].
    #[arg(long)]
    pub cache_max_memory: Option<String>,
    /// Password clients of the KV store must AUTH with.
    #[arg(long, env = "CLOUDLET_KV_PASSWORD", hide_env_values = true)]
    pub kv_password: Option<String>,
    /// Password clients of the cache must AUTH with.
    #[arg(long, env = "CLOUDLET_CACHE_PASSWORD", hide_env_values = true)]
    pub cache_password: Option<String>,
    /// Serve the gateway over HTTPS with this certificate chain (PEM); needs --tls-key.
    #[arg(long, requires = "tls_key")]
    pub tls_cert: Option<PathBuf>,
    /// The private key of --tls-cert (PEM).
    #[arg(long, requires = "tls_cert")]
    pub tls_key: Option<PathBuf>,
}

/// How client commands reach a node.
#[derive(Args, Clone)]
pub struct ClientArgs {
    /// The node's control API.
    #[arg(long = "api-url", env = "CLOUDLET_API", default_value = "http://127.0.0.1:7070")]
    pub api: String,
    /// Admin token [default: read from ./cloudlet-data/admin.token].
    #[arg(long, env = "CLOUDLET_TOKEN", hide_env_values = true)]
    pub token: Option<String>,
}

#[derive(Args)]
pub struct DeployArgs {
    /// The manifest; its directory is uploaded with it.
    #[arg(short, long, default_value = "cloudlet.toml")]
    pub file: PathBuf,
    /// Return once the node accepted the deploy, without waiting for instances.
    #[arg(long)]
    pub no_wait: bool,
    /// How long to wait for every instance to be healthy.
    #[arg(long, default_value = "120s")]
    pub timeout: String,
    #[command(flatten)]
    pub client: ClientArgs,
}
