//! One module per command; each turns API answers into lines for people.

mod deploy;
mod inspect;
mod logs;
mod manage;
mod serve;

use std::path::Path;

use anyhow::Result;
use cloudlet_client::Client;

use crate::cli::{ClientArgs, Command};

pub async fn run(command: Command) -> Result<()> {
    match command {
        Command::Serve(args) => serve::serve(args).await,
        Command::Up(args) => serve::up(args).await,
        Command::Deploy(args) => deploy::deploy(args).await,
        Command::Apps(client) => inspect::apps(&connect(&client)?).await,
        Command::Status { app, json, client } => inspect::status(&connect(&client)?, &app, json).await,
        Command::Delete { app, client } => manage::delete(&connect(&client)?, &app).await,
        Command::Scale { app, workload, min, max, client } => {
            manage::scale(&connect(&client)?, &app, &workload, min, max).await
        }
        Command::Logs { app, follow, tail, instance, client } => {
            logs::logs(&connect(&client)?, &app, tail, follow, instance.as_deref()).await
        }
    }
}

/// A client from the flags, falling back to the default data dir's token file.
fn connect(args: &ClientArgs) -> Result<Client> {
    let token = args.token.clone().or_else(|| {
        let file = cloudlet_node::data_dir::token_file(Path::new("./cloudlet-data"));
        std::fs::read_to_string(file).ok().map(|token| token.trim().to_string())
    });
    Ok(Client::new(&args.api, token)?)
}

/// "3s", "5m", "2h", "4d" ago.
fn age(since_ms: u64) -> String {
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_millis() as u64);
    let seconds = now.saturating_sub(since_ms) / 1000;
    match seconds {
        s if s < 120 => format!("{s}s"),
        s if s < 7200 => format!("{}m", s / 60),
        s if s < 172_800 => format!("{}h", s / 3600),
        s => format!("{}d", s / 86_400),
    }
}
