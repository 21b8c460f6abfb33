//! `cloudlet deploy`: pack the app's directory, upload it, and follow the rollout until every
//! instance is healthy — or show why one is not.

use std::time::{Duration, Instant};

use anyhow::{Result, anyhow};
use cloudlet_client::model::AppDetail;
use cloudlet_client::{Client, ClientError};
use indicatif::{ProgressBar, ProgressStyle};

use crate::cli::DeployArgs;
use crate::pack;

/// How long to follow a rollout and whether to draw progress.
pub struct WaitOptions {
    pub timeout: Duration,
    pub progress: bool,
}

pub async fn deploy(args: DeployArgs) -> Result<()> {
    let timeout =
        cloudlet_config::units::parse_duration(&args.timeout).map_err(|error| anyhow!("--timeout: {error}"))?;
    let client = super::connect(&args.client)?;
    let bundle = pack::pack(&args.file)?;
    eprintln!("Uploading {} ({} files, {})", args.file.display(), bundle.files, human_bytes(bundle.bytes.len()));
    let label = args.file.display().to_string();
    if args.no_wait {
        let outcome = client.deploy(bundle.bytes, "application/gzip").await.map_err(|error| rejected(error, &label))?;
        println!("{} version {} accepted", outcome.app.name, outcome.app.version);
        return Ok(());
    }
    let options = WaitOptions { timeout, progress: true };
    deploy_bundle(&client, bundle.bytes, "application/gzip", &label, &options).await?;
    Ok(())
}

/// Deploys a bundle and waits until the app runs; `label` names the manifest in problems.
pub async fn deploy_bundle(
    client: &Client,
    bundle: Vec<u8>,
    content_type: &str,
    label: &str,
    options: &WaitOptions,
) -> Result<AppDetail> {
    let outcome = client.deploy(bundle, content_type).await.map_err(|error| rejected(error, label))?;
    let app = outcome.app;
    if !outcome.changed {
        println!("{} is up to date (version {})", app.name, app.version);
        return Ok(app);
    }
    let detail = wait_until_running(client, &app.name, options).await?;
    let ready: u32 = detail.workloads.iter().map(|workload| workload.ready).sum();
    let mut parts = Vec::new();
    if !detail.functions.is_empty() {
        let count = detail.functions.len() as u32;
        parts.push(format!("{count} function{}", plural(count)));
    }
    if !detail.workloads.is_empty() {
        parts.push(format!("{ready} instance{} ready", plural(ready)));
    }
    println!("{} version {} is running ({})", detail.name, detail.version, parts.join(", "));
    Ok(detail)
}

/// Polls the app until it runs, fails, or the timeout passes.
pub async fn wait_until_running(client: &Client, app: &str, options: &WaitOptions) -> Result<AppDetail> {
    let bar = if options.progress { ProgressBar::new_spinner() } else { ProgressBar::hidden() };
    bar.set_style(ProgressStyle::with_template("{spinner} {msg}").unwrap_or_else(|_| ProgressStyle::default_spinner()));
    bar.enable_steady_tick(Duration::from_millis(120));
    let started = Instant::now();
    let result = loop {
        let detail = client.app(app).await?;
        bar.set_message(progress_line(&detail));
        match detail.phase.as_str() {
            "running" => break Ok(detail),
            "failed" => break Err(failure(client, &detail).await),
            _ => {}
        }
        if started.elapsed() >= options.timeout {
            break Err(anyhow!(
                "{app} is not running after {}s: {}",
                options.timeout.as_secs(),
                progress_line(&detail)
            ));
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    bar.finish_and_clear();
    result
}

fn progress_line(detail: &AppDetail) -> String {
    let parts: Vec<String> = detail
        .workloads
        .iter()
        .map(|workload| format!("{}: {}/{} ready", workload.name, workload.ready, workload.desired))
        .collect();
    format!("{} v{} rolling out — {}", detail.name, detail.version, parts.join(", "))
}

/// The failure message with the failing instance's last output.
async fn failure(client: &Client, detail: &AppDetail) -> anyhow::Error {
    let Some(workload) = detail.workloads.iter().find(|workload| workload.phase == "failed") else {
        return anyhow!("{} failed to deploy", detail.name);
    };
    let message = workload.message.clone().unwrap_or_else(|| "failed".to_string());
    let mut lines = vec![format!("{} failed to deploy: {message}", detail.name)];
    if let Some(instance) = &workload.failing_instance {
        lines.push(format!("last output of {instance}:"));
        if let Ok(mut stream) = client.logs(&detail.name, 20, false, Some(instance)).await {
            while let Some(Ok(line)) = stream.next().await {
                lines.push(format!("  {} | {}", line.stream, line.text));
            }
        }
        lines.push(format!("see more with: cloudlet logs {} --instance {instance}", detail.name));
    }
    anyhow!(lines.join("\n"))
}

/// A rejected deploy: every manifest problem on its own line, prefixed with the manifest's name.
fn rejected(error: ClientError, label: &str) -> anyhow::Error {
    match error {
        ClientError::Api { problems, message, .. } if !problems.is_empty() => {
            let mut lines: Vec<String> = problems.iter().map(|problem| problem.render(label)).collect();
            lines.push(format!("deploy rejected: {message}"));
            anyhow!(lines.join("\n"))
        }
        ClientError::Api { message, .. } => anyhow!("deploy rejected: {message}"),
        other => other.into(),
    }
}

fn plural(count: u32) -> &'static str {
    if count == 1 { "" } else { "s" }
}

pub fn human_bytes(bytes: usize) -> String {
    match bytes {
        b if b < 1024 => format!("{b} B"),
        b if b < 1 << 20 => format!("{:.1} KiB", b as f64 / 1024.0),
        b => format!("{:.1} MiB", b as f64 / (1 << 20) as f64),
    }
}
