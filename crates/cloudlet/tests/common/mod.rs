//! Test harness: real `cloudlet serve` processes on port 0, apps written to temp dirs, and an HTTP
//! client for the gateway.

#![allow(dead_code)]

use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use cloudlet_client::Client;
use cloudlet_client::model::AppDetail;
use http_body_util::{BodyExt, Full};
use hyper_util::client::legacy::Client as HttpClient;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;

pub const TOKEN: &str = "test-admin-token";
pub const ECHO_APP: &str = include_str!("../fixtures/echo_app.py");

/// A running node.
pub struct TestNode {
    child: Option<Child>,
    pub gateway: SocketAddr,
    pub api: SocketAddr,
    pub kv: SocketAddr,
    pub cache: SocketAddr,
    pub data_dir: PathBuf,
    log: PathBuf,
}

impl TestNode {
    /// Starts a node with its data in `data_dir`.
    pub fn start(data_dir: &Path) -> Self {
        Self::start_with(data_dir, &[])
    }

    /// Starts a node with extra `serve` flags.
    pub fn start_with(data_dir: &Path, extra: &[&str]) -> Self {
        let log = data_dir.with_extension("log");
        let log_file = std::fs::File::options().create(true).append(true).open(&log).expect("node log file");
        let mut child = Command::new(env!("CARGO_BIN_EXE_cloudlet"))
            .args(["serve", "--data-dir"])
            .arg(data_dir)
            .args(["--gateway", "127.0.0.1:0", "--api", "127.0.0.1:0", "--kv", "127.0.0.1:0", "--cache", "127.0.0.1:0"])
            .args(["--token", TOKEN])
            .args(extra)
            .env("RUST_LOG", "info")
            .stdout(Stdio::piped())
            .stderr(log_file)
            .spawn()
            .expect("start cloudlet serve");
        let stdout = child.stdout.take().expect("stdout");
        let (sender, receiver) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                let _ = sender.send(line);
            }
        });
        let line = receiver.recv_timeout(Duration::from_secs(60)).unwrap_or_else(|_| {
            panic!("no ready line; node log:\n{}", std::fs::read_to_string(&log).unwrap_or_default())
        });
        assert!(line.starts_with("cloudlet ready "), "unexpected first line: {line}");
        let field = |name: &str| -> SocketAddr {
            let prefix = format!("{name}=");
            line.split(' ').find_map(|part| part.strip_prefix(&prefix)).expect("field").parse().expect("address")
        };
        TestNode {
            gateway: field("gateway"),
            api: field("api"),
            kv: field("kv"),
            cache: field("cache"),
            child: Some(child),
            data_dir: data_dir.to_path_buf(),
            log,
        }
    }

    pub fn client(&self) -> Client {
        Client::new(&format!("http://{}", self.api), Some(TOKEN.to_string())).expect("client")
    }

    pub fn api_url(&self) -> String {
        format!("http://{}", self.api)
    }

    pub fn gateway_url(&self, path: &str) -> String {
        format!("http://{}{path}", self.gateway)
    }

    pub fn pid(&self) -> u32 {
        self.child.as_ref().expect("running").id()
    }

    /// Sends SIGTERM and waits for the exit.
    pub fn terminate(&mut self) -> ExitStatus {
        let mut child = self.child.take().expect("running");
        signal(child.id(), nix::sys::signal::Signal::SIGTERM);
        wait_with_timeout(&mut child, Duration::from_secs(60))
    }

    /// Kills the node with SIGKILL.
    pub fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    pub fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }
}

impl Drop for TestNode {
    fn drop(&mut self) {
        if std::thread::panicking() {
            eprintln!("---- node log ----\n{}", self.log());
        }
        self.kill();
    }
}

pub fn signal(pid: u32, signal: nix::sys::signal::Signal) {
    let _ = nix::sys::signal::kill(nix::unistd::Pid::from_raw(pid as i32), signal);
}

fn wait_with_timeout(child: &mut Child, timeout: Duration) -> ExitStatus {
    let deadline = Instant::now() + timeout;
    loop {
        if let Some(status) = child.try_wait().expect("wait") {
            return status;
        }
        assert!(Instant::now() < deadline, "process did not exit within {timeout:?}");
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Writes an app directory with the echo fixture and `manifest`; returns the manifest's path.
pub fn write_app(root: &Path, name: &str, manifest: &str) -> PathBuf {
    let dir = root.join(name);
    std::fs::create_dir_all(&dir).expect("app dir");
    std::fs::write(dir.join("app.py"), ECHO_APP).expect("app.py");
    let path = dir.join("cloudlet.toml");
    std::fs::write(&path, manifest).expect("manifest");
    path
}

/// A manifest running the echo fixture.
pub fn echo_manifest(app: &str, route: &str, replicas: u32, version: &str) -> String {
    format!(
        r#"name = "{app}"
[[service]]
name = "web"
command = ["python3", "app.py"]
route = "{route}"
health = "{route}/healthz"
env = {{ VERSION = "{version}" }}
scale = {{ min = {replicas}, max = 10 }}
stop_timeout = "5s"
"#
    )
}

/// Runs the CLI against `node`; returns (success, stdout, stderr).
pub fn cli(node: &TestNode, args: &[&str]) -> (bool, String, String) {
    let output = Command::new(env!("CARGO_BIN_EXE_cloudlet"))
        .args(args)
        .env("CLOUDLET_API", node.api_url())
        .env("CLOUDLET_TOKEN", TOKEN)
        .output()
        .expect("run cli");
    (
        output.status.success(),
        String::from_utf8_lossy(&output.stdout).into_owned(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

/// Deploys with the CLI and asserts it succeeded.
pub fn deploy(node: &TestNode, manifest: &Path) -> String {
    let (ok, stdout, stderr) = cli(node, &["deploy", "-f", manifest.to_str().expect("path"), "--timeout", "60s"]);
    assert!(ok, "deploy failed:\nstdout: {stdout}\nstderr: {stderr}");
    stdout
}

/// Polls `check` on the app until it holds, or fails after `timeout`.
pub async fn wait_for_app(
    client: &Client,
    app: &str,
    timeout: Duration,
    check: impl Fn(&AppDetail) -> bool,
) -> AppDetail {
    let deadline = Instant::now() + timeout;
    loop {
        if let Ok(detail) = client.app(app).await {
            if check(&detail) {
                return detail;
            }
            assert!(Instant::now() < deadline, "condition not reached in {timeout:?}: {detail:#?}");
        }
        assert!(Instant::now() < deadline, "app {app} not found in {timeout:?}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// An HTTP client for the gateway (kept-alive connections, like a real client).
pub struct Http {
    client: HttpClient<HttpConnector, Full<Bytes>>,
}

impl Http {
    pub fn new() -> Self {
        Self { client: HttpClient::builder(TokioExecutor::new()).build(HttpConnector::new()) }
    }

    /// GET `url`; returns status and body, or the transport error as text.
    pub async fn get(&self, url: &str) -> Result<(u16, Bytes), String> {
        let request = http::Request::get(url).body(Full::new(Bytes::new())).map_err(|e| e.to_string())?;
        self.send(request).await
    }

    pub async fn send(&self, request: http::Request<Full<Bytes>>) -> Result<(u16, Bytes), String> {
        let response = self.client.request(request).await.map_err(|e| format!("{e:?}"))?;
        let status = response.status().as_u16();
        let body = response.into_body().collect().await.map_err(|e| e.to_string())?.to_bytes();
        Ok((status, body))
    }

    /// GET returning the JSON body of a 200.
    pub async fn get_json(&self, url: &str) -> serde_json::Value {
        let (status, body) = self.get(url).await.expect("request");
        assert_eq!(status, 200, "{}", String::from_utf8_lossy(&body));
        serde_json::from_slice(&body).expect("json")
    }
}

/// What a client sending requests in a loop saw.
#[derive(Debug, Default)]
pub struct LoadReport {
    pub ok: usize,
    pub failures: Vec<String>,
    /// `instance` and `version` fields of the answers, in the order they came back.
    pub answers: Vec<(String, String)>,
}

/// An answer's completion order, instance and version.
type SequencedAnswer = (usize, String, String);

/// Clients sending GETs in loops until stopped.
pub struct Load {
    stop: std::sync::Arc<std::sync::atomic::AtomicBool>,
    answered: std::sync::Arc<std::sync::atomic::AtomicUsize>,
    tasks: Vec<tokio::task::JoinHandle<(LoadReport, Vec<SequencedAnswer>)>>,
}

impl Load {
    /// Starts `clients` loops sending GETs to `url`.
    pub fn start(url: String, clients: usize) -> Self {
        use std::sync::atomic::Ordering;
        let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
        let answered = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let tasks = (0..clients)
            .map(|_| {
                let (url, stop, answered) = (url.clone(), stop.clone(), answered.clone());
                tokio::spawn(async move {
                    let http = Http::new();
                    let mut report = LoadReport::default();
                    let mut answers = Vec::new();
                    while !stop.load(Ordering::SeqCst) {
                        let outcome = http.get(&url).await;
                        let sequence = answered.fetch_add(1, Ordering::SeqCst);
                        match outcome {
                            Ok((200, body)) => {
                                report.ok += 1;
                                if let Ok(json) = serde_json::from_slice::<serde_json::Value>(&body) {
                                    let field = |name: &str| json[name].as_str().unwrap_or("").to_string();
                                    answers.push((sequence, field("instance"), field("version")));
                                }
                            }
                            Ok((status, body)) => {
                                report.failures.push(format!("{status}: {}", String::from_utf8_lossy(&body)))
                            }
                            Err(error) => report.failures.push(error),
                        }
                    }
                    (report, answers)
                })
            })
            .collect();
        Self { stop, answered, tasks }
    }

    /// Waits until `more` further requests have been answered (successfully or not).
    pub async fn wait_for(&self, more: usize) {
        use std::sync::atomic::Ordering;
        let target = self.answered.load(Ordering::SeqCst) + more;
        let deadline = Instant::now() + Duration::from_secs(60);
        while self.answered.load(Ordering::SeqCst) < target {
            assert!(Instant::now() < deadline, "the load made no progress");
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }

    /// Stops the clients and sums up what they saw.
    pub async fn finish(self) -> LoadReport {
        self.stop.store(true, std::sync::atomic::Ordering::SeqCst);
        let mut total = LoadReport::default();
        let mut answers = Vec::new();
        for task in self.tasks {
            let (report, task_answers) = task.await.expect("load task");
            total.ok += report.ok;
            total.failures.extend(report.failures);
            answers.extend(task_answers);
        }
        answers.sort_by_key(|(sequence, _, _)| *sequence);
        total.answers = answers.into_iter().map(|(_, instance, version)| (instance, version)).collect();
        total
    }
}
