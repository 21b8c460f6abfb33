//! `cloudlet serve` and `cloudlet up`.

use std::path::Path;

use anyhow::{Context, Result, anyhow};
use cloudlet_client::Client;
use cloudlet_config::NodeConfig;
use cloudlet_config::node::parse_listen_address;
use tokio::sync::oneshot;
use tokio_util::sync::CancellationToken;

use crate::cli::ServeArgs;
use crate::commands::deploy::{WaitOptions, deploy_bundle};
use crate::examples;

pub async fn serve(args: ServeArgs) -> Result<()> {
    init_tracing();
    let config = node_config(&args)?;
    let (node, ready) = start(config);
    let ready = ready.await;
    match ready {
        Ok(ready) => println!("{}", ready.line()),
        Err(_) => return node.await.context("node task failed")?.map_err(Into::into),
    }
    node.await.context("node task failed")?.map_err(Into::into)
}

pub async fn up(args: ServeArgs) -> Result<()> {
    init_tracing();
    let config = node_config(&args)?;
    let scheme = if config.tls.is_some() { "https" } else { "http" };
    let (node, ready) = start(config);
    let ready = match ready.await {
        Ok(ready) => ready,
        Err(_) => return node.await.context("node task failed")?.map_err(Into::into),
    };
    println!("{}", ready.line());
    let client = Client::new(&format!("http://{}", ready.api), Some(ready.token.clone()))?;
    let options = WaitOptions { timeout: std::time::Duration::from_secs(120), progress: true };
    println!();
    println!("Deploying the bundled examples…");
    for example in examples::EXAMPLES {
        if let Some(missing) = example.requires.iter().find(|program| !on_path(program)) {
            println!("  skipped {}: it needs `{missing}`, which is not installed", example.name);
            continue;
        }
        match deploy_bundle(&client, example.bundle()?, "application/gzip", example.name, &options).await {
            Ok(_) => {
                for (path, what) in example.try_urls {
                    println!("  {:<16} {scheme}://{}{path}   ({what})", example.name, ready.gateway);
                }
            }
            Err(error) => println!("  {} failed: {error:#}", example.name),
        }
    }
    println!();
    println!("Try: curl {scheme}://{}{}", ready.gateway, examples::EXAMPLES[0].try_urls[0].0);
    println!(
        "Manage with: cloudlet apps | cloudlet status APP | cloudlet logs APP -f   (API {}, token in {})",
        ready.api,
        ready.data_dir.join("admin.token").display()
    );
    println!("Press Ctrl-C to stop.");
    node.await.context("node task failed")?.map_err(Into::into)
}

type NodeTask = tokio::task::JoinHandle<Result<(), cloudlet_node::NodeError>>;

/// Starts the node and a signal watcher that shuts it down on SIGTERM or SIGINT.
fn start(config: NodeConfig) -> (NodeTask, oneshot::Receiver<cloudlet_node::Ready>) {
    let shutdown = CancellationToken::new();
    let (ready_sender, ready) = oneshot::channel();
    tokio::spawn(wait_for_signal(shutdown.clone()));
    (tokio::spawn(cloudlet_node::run(config, shutdown, ready_sender)), ready)
}

async fn wait_for_signal(shutdown: CancellationToken) {
    use tokio::signal::unix::{SignalKind, signal};
    let (Ok(mut terminate), Ok(mut interrupt)) = (signal(SignalKind::terminate()), signal(SignalKind::interrupt()))
    else {
        tracing::error!("cannot install signal handlers; stop the node with SIGKILL");
        return;
    };
    tokio::select! {
        _ = terminate.recv() => tracing::info!("SIGTERM received"),
        _ = interrupt.recv() => tracing::info!("SIGINT received"),
    }
    shutdown.cancel();
}

/// Defaults, then the config file, then the flags.
fn node_config(args: &ServeArgs) -> Result<NodeConfig> {
    let mut config = match &args.config {
        Some(path) => {
            let text = std::fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))?;
            NodeConfig::from_toml(&text).map_err(|problems| {
                let name = path.display().to_string();
                let lines: Vec<String> = problems.iter().map(|problem| problem.render(&name)).collect();
                anyhow!("{}\ninvalid node config", lines.join("\n"))
            })?
        }
        None => NodeConfig::default(),
    };
    if let Some(dir) = &args.data_dir {
        config.data_dir = dir.clone();
    }
    for (flag, value, slot) in [
        ("--gateway", &args.gateway, &mut config.listen.gateway),
        ("--api", &args.api, &mut config.listen.api),
        ("--kv", &args.kv, &mut config.listen.kv),
        ("--cache", &args.cache, &mut config.listen.cache),
    ] {
        if let Some(text) = value {
            *slot = parse_listen_address(text).map_err(|message| anyhow!("{flag}: {message}"))?;
        }
    }
    if args.token.is_some() {
        config.token = args.token.clone();
    }
    if let Some(size) = &args.cache_max_memory {
        let bytes =
            cloudlet_config::units::parse_size(size).map_err(|message| anyhow!("--cache-max-memory: {message}"))?;
        if bytes == 0 {
            return Err(anyhow!("--cache-max-memory must be more than 0"));
        }
        config.cache.max_memory = Some(bytes);
    }
    if args.kv_password.is_some() {
        config.kv.password = args.kv_password.clone();
    }
    if let (Some(cert), Some(key)) = (&args.tls_cert, &args.tls_key) {
        config.tls = Some(cloudlet_config::TlsFiles { cert: cert.clone(), key: key.clone() });
    }
    if args.cache_password.is_some() {
        config.cache.password = args.cache_password.clone();
    }
    Ok(config)
}

fn init_tracing() {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info,hyper=warn"));
    let ansi = std::io::IsTerminal::is_terminal(&std::io::stderr());
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(ansi)
        .with_target(false)
        .try_init();
}

fn on_path(program: &str) -> bool {
    std::env::var_os("PATH")
        .is_some_and(|paths| std::env::split_paths(&paths).any(|dir| Path::new(&dir).join(program).is_file()))
}
