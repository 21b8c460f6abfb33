//! Resilience at the gateway through a real node: retries on configured statuses for idempotent
//! requests (bodies replayed from the buffer), within a budget; rate limits per app and per client;
//! the circuit breaker on requests in flight.

mod common;

use std::time::Duration;

use bytes::Bytes;
use common::{Http, TestNode, write_app};
use http_body_util::Full;

/// Deploys two echo replicas at `/APP`, web-2 failing with 500 while `flag` exists.
fn deploy(node: &TestNode, root: &std::path::Path, app: &str, flag: &std::path::Path, service: &str, top: &str) {
    let manifest = format!(
        "name = \"{app}\"\n{top}\n[[service]]\nname = \"web\"\ncommand = [\"python3\", \"app.py\"]\nroute = \"/{app}\"\n\
         health = \"/{app}/healthz\"\nscale = {{ min = 2, max = 2 }}\nbalance = \"round-robin\"\nstop_timeout = \"2s\"\n\
         outlier = {{ consecutive = 0 }}\nenv = {{ FAILING_INSTANCE = \"web-2\", FAIL_FLAG = \"{}\" }}\n{service}\n",
        flag.display()
    );
    common::deploy(node, &write_app(root, app, &manifest));
}

async fn send(http: &Http, method: &str, url: &str, body: &'static [u8]) -> (u16, Bytes) {
    let request =
        http::Request::builder().method(method).uri(url).body(Full::new(Bytes::from_static(body))).expect("request");
    http.send(request).await.expect("response")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn idempotent_requests_are_retried_on_configured_statuses_with_their_bodies() {
    let dir = tempfile::tempdir().expect("tempdir");
    let node = TestNode::start(&dir.path().join("data"));
    let flag = dir.path().join("fail");
    std::fs::write(&flag, "").expect("flag");
    deploy(&node, dir.path(), "retry", &flag, "retries = { statuses = [500], attempts = 2 }", "");
    let http = Http::new();
    let url = node.gateway_url("/retry/x");
    for _ in 0..10 {
        let (status, body) = send(&http, "GET", &url, b"").await;
        assert_eq!(status, 200, "a GET that met web-2's 500 went to web-1: {}", String::from_utf8_lossy(&body));
        let (status, body) = send(&http, "PUT", &url, b"the same body, replayed").await;
        assert_eq!((status, &body[..]), (200, &b"the same body, replayed"[..]), "PUT is idempotent: replayed");
    }
    // POST is not idempotent: web-2's 500 reaches the client.
    let statuses: Vec<u16> = {
        let mut statuses = Vec::new();
        for _ in 0..4 {
            statuses.push(send(&http, "POST", &url, b"once").await.0);
        }
        statuses
    };
    assert!(statuses.contains(&500) && statuses.contains(&200), "{statuses:?}");
    let metrics = http.get(&format!("http://{}/metrics", node.api)).await.expect("metrics").1;
    let metrics = String::from_utf8_lossy(&metrics);
    assert!(
        metrics.lines().any(|line| line.starts_with("cloudlet_gateway_retries_total{")
            && line.contains("reason=\"status\"")
            && !line.ends_with(" 0")),
        "{metrics}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_retry_budget_caps_retries() {
    let dir = tempfile::tempdir().expect("tempdir");
    let node = TestNode::start(&dir.path().join("data"));
    let flag = dir.path().join("fail");
    std::fs::write(&flag, "").expect("flag");
    // No share of traffic, one retry a second: ten retries in the 10 s window.
    let retries = "retries = { statuses = [500], budget = 0.0, min_per_second = 1 }";
    deploy(&node, dir.path(), "budget", &flag, retries, "");
    let http = Http::new();
    let url = node.gateway_url("/budget/x");
    let mut failures = 0;
    for _ in 0..40 {
        if send(&http, "GET", &url, b"").await.0 == 500 {
            failures += 1;
        }
    }
    assert!(failures >= 10, "once the budget is spent, web-2's 500s reach the client: {failures}");
    let metrics = http.get(&format!("http://{}/metrics", node.api)).await.expect("metrics").1;
    let metrics = String::from_utf8_lossy(&metrics);
    let retried = metrics
        .lines()
        .find(|line| {
            line.starts_with("cloudlet_gateway_retries_total{")
                && line.contains("app=\"budget\"")
                && line.contains("reason=\"status\"")
        })
        .and_then(|line| line.rsplit(' ').next())
        .and_then(|count| count.parse::<u64>().ok());
    assert_eq!(retried, Some(10), "one retry a second over the 10 s window:\n{metrics}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rate_limits_and_the_circuit_breaker_refuse_with_a_reason() {
    let dir = tempfile::tempdir().expect("tempdir");
    let node = TestNode::start(&dir.path().join("data"));
    let flag = dir.path().join("never");
    let top = "[rate_limit]\nrequests_per_second = 0.01\nburst = 6\nper_client_requests_per_second = 0.01\nper_client_burst = 4\n\
               [circuit_breaker]\nmax_in_flight = 2\n";
    deploy(&node, dir.path(), "guarded", &flag, "", top);
    let http = std::sync::Arc::new(Http::new());
    let url = node.gateway_url("/guarded/x");
    for _ in 0..4 {
        assert_eq!(send(&http, "GET", &url, b"").await.0, 200);
    }
    let request = http::Request::get(&url).body(Full::new(Bytes::new())).expect("request");
    let client = hyper_util::client::legacy::Client::builder(hyper_util::rt::TokioExecutor::new()).build_http();
    let refused = client.request(request).await.expect("response");
    assert_eq!(refused.status(), 429);
    assert_eq!(refused.headers()["x-cloudlet-reason"], "client-rate-limit");
    let retry_after: u64 = refused.headers()["retry-after"].to_str().expect("text").parse().expect("seconds");
    assert!(retry_after >= 1, "{retry_after}");

    // The breaker: another node's worth of clients is not at hand, so test it on a fresh app.
    let flag = dir.path().join("never2");
    deploy(&node, dir.path(), "narrow", &flag, "", "[circuit_breaker]\nmax_in_flight = 2\n");
    let slow = node.gateway_url("/narrow/slow?ms=1500");
    let holders: Vec<_> = (0..2)
        .map(|_| {
            let (http, slow) = (http.clone(), slow.clone());
            tokio::spawn(async move { send(&http, "GET", &slow, b"").await.0 })
        })
        .collect();
    // Wait until both slow requests are in flight at the instance, then a third is shed at once.
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    loop {
        let logs = common::cli(&node, &["logs", "narrow"]).1;
        if logs.matches("slow request started").count() >= 2 {
            break;
        }
        assert!(std::time::Instant::now() < deadline, "the slow requests never started: {logs}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let request = http::Request::get(node.gateway_url("/narrow/x")).body(Full::new(Bytes::new())).expect("request");
    let shed = client.request(request).await.expect("response");
    assert_eq!(shed.status(), 503);
    assert_eq!(shed.headers()["x-cloudlet-reason"], "max-in-flight");
    for holder in holders {
        assert_eq!(holder.await.expect("holder"), 200);
    }
    assert_eq!(send(&http, "GET", &node.gateway_url("/narrow/x"), b"").await.0, 200, "room again");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_nowhere_to_retry_the_instances_own_answer_stands() {
    let dir = tempfile::tempdir().expect("tempdir");
    let node = TestNode::start(&dir.path().join("data"));
    let flag = dir.path().join("fail");
    std::fs::write(&flag, "").expect("flag");
    let manifest = format!(
        "name = \"lonely\"\n[[service]]\nname = \"web\"\ncommand = [\"python3\", \"app.py\"]\nroute = \"/lonely\"\n\
         health = \"/lonely/healthz\"\noutlier = {{ consecutive = 0 }}\nretries = {{ statuses = [500] }}\n\
         env = {{ FAILING_INSTANCE = \"web-1\", FAIL_FLAG = \"{}\" }}\n",
        flag.display()
    );
    common::deploy(&node, &write_app(dir.path(), "lonely", &manifest));
    let http = Http::new();
    let (status, body) = send(&http, "GET", &node.gateway_url("/lonely/x"), b"").await;
    assert_eq!(status, 500, "the one instance's 500, not a 503: {}", String::from_utf8_lossy(&body));
    assert!(String::from_utf8_lossy(&body).contains("failing"));
}
