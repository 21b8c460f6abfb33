//! `cloudlet delete` and `cloudlet scale`.

use anyhow::Result;
use cloudlet_client::Client;

pub async fn delete(client: &Client, app: &str) -> Result<()> {
    client.delete(app).await?;
    println!("deleted {app}");
    Ok(())
}

pub async fn scale(client: &Client, app: &str, workload: &str, min: u32, max: u32) -> Result<()> {
    let detail = client.scale(app, workload, min, max).await?;
    if let Some(workload) = detail.workloads.iter().find(|w| w.name == workload) {
        println!(
            "{app}/{}: scale {}..{}, {} instance(s) desired",
            workload.name, workload.min, workload.max, workload.desired
        );
    }
    Ok(())
}
