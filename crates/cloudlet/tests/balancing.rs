//! The gateway's balancer through a real node: a slow replica gets little traffic under the
//! default balancer (peak-EWMA, two choices); a replica answering 5xx is ejected and readmitted.

mod common;

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use common::{Http, TestNode, write_app};

/// Writes and deploys an app of three echo replicas with `extra` manifest lines.
fn deploy_trio(node: &TestNode, root: &std::path::Path, app: &str, env: &str, extra: &str) {
    let manifest = format!(
        "name = \"{app}\"\n[[service]]\nname = \"web\"\ncommand = [\"python3\", \"app.py\"]\nroute = \"/{app}\"\n\
         health = \"/{app}/healthz\"\nscale = {{ min = 3, max = 3 }}\nstop_timeout = \"2s\"\nenv = {{ {env} }}\n{extra}"
    );
    common::deploy(node, &write_app(root, app, &manifest));
}

/// Which instance answered, and the status.
async fn ask(http: &Http, url: &str) -> (u16, String) {
    let (status, body) = http.get(url).await.expect("request");
    let answer: serde_json::Value = serde_json::from_slice(&body).unwrap_or_default();
    (status, answer["instance"].as_str().unwrap_or("?").to_string())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_slow_replica_gets_a_small_share_under_the_default_balancer() {
    let dir = tempfile::tempdir().expect("tempdir");
    let node = TestNode::start(&dir.path().join("data"));
    deploy_trio(&node, dir.path(), "lag", "SLOW_INSTANCE = \"web-2\", SLOW_MS = \"150\"", "");
    let url = Arc::new(node.gateway_url("/lag/x"));
    let http = Arc::new(Http::new());
    // Eight clients keep requests in flight, as real traffic does, for 600 requests in all.
    let workers: Vec<_> = (0..8)
        .map(|_| {
            let (http, url) = (http.clone(), url.clone());
            tokio::spawn(async move {
                let mut seen = Vec::new();
                for _ in 0..75 {
                    let (status, instance) = ask(&http, &url).await;
                    assert_eq!(status, 200);
                    seen.push(instance);
                }
                seen
            })
        })
        .collect();
    let mut counts: HashMap<String, usize> = HashMap::new();
    for worker in workers {
        for instance in worker.await.expect("worker") {
            *counts.entry(instance).or_default() += 1;
        }
    }
    let slow = counts.get("web-2").copied().unwrap_or(0);
    assert!(slow * 10 < 600, "the slow replica got {slow} of 600 requests (round-robin would give 200): {counts:?}");
    assert!(
        counts.get("web-1").copied().unwrap_or(0) > 150 && counts.get("web-3").copied().unwrap_or(0) > 150,
        "{counts:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_replica_answering_5xx_is_ejected_and_readmitted() {
    let dir = tempfile::tempdir().expect("tempdir");
    let node = TestNode::start(&dir.path().join("data"));
    let flag = dir.path().join("fail-now");
    std::fs::write(&flag, "").expect("flag");
    let env = format!("FAILING_INSTANCE = \"web-2\", FAIL_FLAG = \"{}\"", flag.display());
    let extra = "balance = \"round-robin\"\noutlier = { consecutive = 3, base_ejection = \"2s\" }\n";
    deploy_trio(&node, dir.path(), "flaky", &env, extra);
    let http = Http::new();
    let url = node.gateway_url("/flaky/x");

    let mut failures = 0;
    for _ in 0..60 {
        let (status, instance) = ask(&http, &url).await;
        if status == 500 {
            assert_eq!(instance, "web-2");
            failures += 1;
        }
    }
    assert_eq!(failures, 3, "three 500s in a row eject web-2; then round-robin skips it");

    // Healthy again: once its ejection ends it is readmitted and serves.
    std::fs::remove_file(&flag).expect("unflag");
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let (status, instance) = ask(&http, &url).await;
        assert_eq!(status, 200, "no 500s once web-2 is healthy");
        if instance == "web-2" {
            break;
        }
        assert!(Instant::now() < deadline, "web-2 was never readmitted");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn active_health_checks_take_an_instance_out_after_fall_and_back_after_rise() {
    let dir = tempfile::tempdir().expect("tempdir");
    let node = TestNode::start(&dir.path().join("data"));
    let sick = dir.path().join("sick-now");
    let env = format!("FAILING_INSTANCE = \"web-2\", SICK_FLAG = \"{}\"", sick.display());
    let manifest = "name = \"probed\"\n[[service]]\nname = \"web\"\ncommand = [\"python3\", \"app.py\"]\n\
                    route = \"/probed\"\nhealth = { path = \"/probed/healthz\", interval = \"100ms\", rise = 3, fall = 2 }\n\
                    scale = { min = 2, max = 2 }\nbalance = \"round-robin\"\nstop_timeout = \"2s\"\n";
    common::deploy(&node, &write_app(dir.path(), "probed", &format!("{manifest}env = {{ {env} }}\n")));
    let client = node.client();
    let state = |detail: &cloudlet_client::model::AppDetail, id: &str| {
        detail.workloads[0].instances.iter().find(|i| i.id == id).map(|i| i.state.clone()).unwrap_or_default()
    };

    std::fs::write(&sick, "").expect("flag");
    common::wait_for_app(&client, "probed", Duration::from_secs(20), |d| state(d, "web-2") == "unhealthy").await;
    let http = Http::new();
    let url = node.gateway_url("/probed/x");
    for _ in 0..10 {
        assert_eq!(ask(&http, &url).await, (200, "web-1".to_string()), "an unhealthy instance gets no traffic");
    }
    std::fs::remove_file(&sick).expect("unflag");
    common::wait_for_app(&client, "probed", Duration::from_secs(20), |d| state(d, "web-2") == "ready").await;
    let mut seen = std::collections::HashSet::new();
    for _ in 0..4 {
        seen.insert(ask(&http, &url).await.1);
    }
    assert!(seen.contains("web-2"), "back in rotation: {seen:?}");
}
