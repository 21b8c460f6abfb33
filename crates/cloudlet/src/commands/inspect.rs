//! `cloudlet apps` and `cloudlet status APP`.

use anyhow::Result;
use cloudlet_client::Client;

use super::age;

pub async fn apps(client: &Client) -> Result<()> {
    let apps = client.apps().await?;
    if apps.is_empty() {
        println!("no apps deployed; try `cloudlet deploy` in a directory with a cloudlet.toml");
        return Ok(());
    }
    println!("{:<24} {:>7} {:<12} {:>7} {:>6}  ROUTES", "NAME", "VERSION", "PHASE", "READY", "AGE");
    for app in apps {
        println!(
            "{:<24} {:>7} {:<12} {:>7} {:>6}  {}",
            app.name,
            app.version,
            app.phase,
            format!("{}/{}", app.instances_ready, app.instances_desired),
            age(app.deployed_at_ms),
            app.routes.join(" ")
        );
    }
    Ok(())
}

pub async fn status(client: &Client, name: &str, json: bool) -> Result<()> {
    if json {
        println!("{}", serde_json::to_string_pretty(&client.app_json(name).await?)?);
        return Ok(());
    }
    let app = client.app(name).await?;
    println!("app {}  version {}  {}  deployed {} ago", app.name, app.version, app.phase, age(app.deployed_at_ms));
    for route in &app.routes {
        println!("  route {} -> {}", route.route, route.workload);
    }
    for function in &app.functions {
        println!();
        println!(
            "function {}  {}  {}  in use {}/{}  waiting {}",
            function.name,
            function.executor,
            function.source,
            function.instances_in_use,
            function.max_instances,
            function.waiting
        );
        println!(
            "  invocations {}  5xx {}  traps {}  timeouts {}  over memory {}  refused busy {}",
            function.invocations,
            function.server_errors,
            function.traps,
            function.timeouts,
            function.memory_exceeded,
            function.busy
        );
    }
    for workload in &app.workloads {
        println!();
        let message = workload.message.as_deref().map(|m| format!("  ({m})")).unwrap_or_default();
        println!(
            "{} {}  {}/{} ready  scale {}..{}  revision {}  {}{message}",
            workload.kind,
            workload.name,
            workload.ready,
            workload.desired,
            workload.min,
            workload.max,
            workload.revision,
            workload.phase
        );
        if let Some(scaling) = &workload.scaling {
            println!(
                "  autoscaler: {} desired ({}{}), concurrency {:.1} stable / {:.1} panic window, target {} per instance, {} in flight, {} waiting",
                scaling.desired,
                scaling.reason.replace('_', " "),
                if scaling.panicking { ", panicking" } else { "" },
                scaling.stable_concurrency,
                scaling.panic_concurrency,
                scaling.target_concurrency,
                scaling.in_flight,
                scaling.waiting
            );
        }
        println!(
            "  {:<16} {:<10} {:>8} {:>6} {:>8} {:<8} {:>6}  LAST ERROR",
            "INSTANCE", "STATE", "PID", "PORT", "RESTARTS", "HEALTH", "AGE"
        );
        for instance in &workload.instances {
            println!(
                "  {:<16} {:<10} {:>8} {:>6} {:>8} {:<8} {:>6}  {}",
                instance.id,
                instance.state,
                instance.pid.map_or("-".to_string(), |pid| pid.to_string()),
                instance.port.map_or("-".to_string(), |port| port.to_string()),
                instance.restarts,
                instance.health,
                instance.started_at_ms.map_or("-".to_string(), age),
                instance.last_error.as_deref().unwrap_or("")
            );
        }
    }
    Ok(())
}
