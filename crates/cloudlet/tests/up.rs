//! `cloudlet up`, the newcomer's first command: a node with every bundled example deployed and
//! answering at the URLs it prints.

mod common;

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use common::Http;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn up_deploys_the_examples_and_every_printed_url_answers() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut child = Command::new(env!("CARGO_BIN_EXE_cloudlet"))
        .args(["up", "--data-dir"])
        .arg(dir.path().join("data"))
        .args(["--gateway", "127.0.0.1:0", "--api", "127.0.0.1:0", "--kv", "127.0.0.1:0", "--cache", "127.0.0.1:0"])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("start cloudlet up");
    let stdout = child.stdout.take().expect("stdout");
    let (sender, receiver) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            let _ = sender.send(line);
        }
    });
    let mut printed = Vec::new();
    while let Ok(line) = receiver.recv_timeout(Duration::from_secs(180)) {
        let done = line.starts_with("Press Ctrl-C");
        printed.push(line);
        if done {
            break;
        }
    }
    let text = printed.join("\n");
    assert!(text.contains("Press Ctrl-C"), "up did not finish deploying:\n{text}");
    assert!(!text.contains("failed"), "{text}");
    let urls: Vec<&str> = printed
        .iter()
        .filter_map(|line| line.split_whitespace().find(|word| word.starts_with("http://") && word.contains(":")))
        .filter(|url| !url.ends_with(':'))
        .collect();
    assert!(urls.len() >= 3, "URLs to try:\n{text}");
    let http = Http::new();
    for url in &urls {
        let (status, _) = http.get(url).await.expect("request");
        assert_eq!(status, 200, "{url}");
    }
    let counter = urls.iter().find(|url| url.ends_with("/counter/visits")).expect("the counter example");
    let (_, first) = http.get(counter).await.expect("request");
    let (_, second) = http.get(counter).await.expect("request");
    let count = |body: &[u8]| -> u64 {
        String::from_utf8_lossy(body).split_whitespace().nth(1).and_then(|n| n.parse().ok()).expect("a count")
    };
    assert_eq!(count(&second), count(&first) + 1, "the counter keeps its state between requests");
    common::signal(child.id(), nix::sys::signal::Signal::SIGTERM);
    let status = child.wait().expect("wait");
    assert!(status.success(), "{status}");
}
