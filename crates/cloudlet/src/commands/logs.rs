//! `cloudlet logs APP [-f]`.

use std::io::Write;

use anyhow::Result;
use cloudlet_client::Client;

pub async fn logs(client: &Client, app: &str, tail: usize, follow: bool, instance: Option<&str>) -> Result<()> {
    let mut stream = client.logs(app, tail, follow, instance).await?;
    let mut stdout = std::io::stdout();
    while let Some(line) = stream.next().await {
        let line = line?;
        let marker = match line.stream.as_str() {
            "stderr" => "!",
            "system" => "*",
            _ => "|",
        };
        writeln!(stdout, "{} {} {marker} {}", clock(line.time_ms), line.instance, line.text)?;
        stdout.flush()?;
    }
    Ok(())
}

/// `HH:MM:SS.mmm` in UTC.
fn clock(time_ms: u64) -> String {
    let seconds_of_day = (time_ms / 1000) % 86_400;
    format!(
        "{:02}:{:02}:{:02}.{:03}",
        seconds_of_day / 3600,
        (seconds_of_day / 60) % 60,
        seconds_of_day % 60,
        time_ms % 1000
    )
}
