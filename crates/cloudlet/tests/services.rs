//! Process services behind the gateway: replicas, crash recovery and rolling updates, with clients
//! sending requests throughout.

mod common;

use std::collections::HashSet;
use std::time::Duration;

use common::{Load, TestNode, echo_manifest, wait_for_app, write_app};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn requests_through_the_gateway_reach_all_three_replicas() {
    let dir = tempfile::tempdir().expect("tempdir");
    let node = TestNode::start(&dir.path().join("data"));
    let manifest = format!("{}balance = \"round-robin\"\n", echo_manifest("trio", "/trio", 3, "1"));
    common::deploy(&node, &write_app(dir.path(), "trio", &manifest));
    let http = common::Http::new();
    let mut instances = HashSet::new();
    for _ in 0..9 {
        let answer = http.get_json(&node.gateway_url("/trio/anything?x=1")).await;
        assert_eq!(answer["path"], "/trio/anything?x=1");
        instances.insert(answer["instance"].as_str().expect("instance").to_string());
        let headers = &answer["headers"];
        assert_eq!(headers["x-forwarded-for"], "127.0.0.1");
        assert_eq!(headers["x-forwarded-proto"], "http");
        assert_eq!(headers["x-request-id"].as_str().map(str::len), Some(16));
    }
    assert_eq!(instances, HashSet::from(["web-1".to_string(), "web-2".to_string(), "web-3".to_string()]));

    // A client's request id is kept; errors are JSON.
    let request = http::Request::get(node.gateway_url("/trio/x"))
        .header("x-request-id", "mine-42")
        .body(Default::default())
        .expect("request");
    let (status, body) = http.send(request).await.expect("request");
    assert_eq!(status, 200);
    let answer: serde_json::Value = serde_json::from_slice(&body).expect("json");
    assert_eq!(answer["headers"]["x-request-id"], "mine-42");
    let (status, body) = http.get(&node.gateway_url("/elsewhere")).await.expect("request");
    assert_eq!(status, 404);
    assert!(String::from_utf8_lossy(&body).contains("\"code\":\"no_route\""));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_killed_replica_is_restarted_and_clients_see_no_failure() {
    let dir = tempfile::tempdir().expect("tempdir");
    let node = TestNode::start(&dir.path().join("data"));
    common::deploy(&node, &write_app(dir.path(), "tough", &echo_manifest("tough", "/tough", 3, "1")));
    let client = node.client();
    let before = client.app("tough").await.expect("app");
    let victim = before.workloads[0].instances.iter().find(|i| i.id == "web-2").expect("web-2").clone();

    let load = Load::start(node.gateway_url("/tough/x"), 4);
    load.wait_for(50).await;
    common::signal(victim.pid.expect("pid"), nix::sys::signal::Signal::SIGKILL);

    let after = wait_for_app(&client, "tough", Duration::from_secs(30), |app| {
        let web2 = app.workloads[0].instances.iter().find(|i| i.id == "web-2");
        web2.is_some_and(|i| i.restarts == 1 && i.state == "ready") && app.workloads[0].ready == 3
    })
    .await;
    let restarted = after.workloads[0].instances.iter().find(|i| i.id == "web-2").expect("web-2");
    assert_ne!(restarted.pid, victim.pid, "a new process serves web-2");
    // Keep the load on until the restarted instance has taken traffic too.
    load.wait_for(100).await;
    let report = load.finish().await;
    assert!(report.failures.is_empty(), "{} failures, e.g. {:?}", report.failures.len(), report.failures.first());
    let after_restart = &report.answers[report.answers.len() - 60..];
    assert!(after_restart.iter().any(|(instance, _)| instance == "web-2"), "the restarted web-2 serves again");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rolling_redeploy_fails_no_request() {
    let dir = tempfile::tempdir().expect("tempdir");
    let node = TestNode::start(&dir.path().join("data"));
    let path = write_app(dir.path(), "roll", &echo_manifest("roll", "/roll", 3, "1"));
    common::deploy(&node, &path);

    let load = Load::start(node.gateway_url("/roll/x"), 4);
    load.wait_for(50).await;
    std::fs::write(&path, echo_manifest("roll", "/roll", 3, "2")).expect("new manifest");
    let stdout = common::deploy(&node, &path);
    assert!(stdout.contains("roll version 2 is running (3 instances ready)"), "{stdout}");
    let detail = node.client().app("roll").await.expect("app");
    assert_eq!(detail.workloads[0].instances.len(), 3, "old instances are gone: {detail:#?}");
    assert!(
        detail.workloads[0].instances.iter().all(|i| i.state == "ready" && i.revision == detail.workloads[0].revision)
    );
    // Some more requests once the rollout is done: all of them reach the new version.
    load.wait_for(40).await;
    let report = load.finish().await;
    assert!(report.failures.is_empty(), "{} failures, e.g. {:?}", report.failures.len(), report.failures.first());
    let versions: Vec<&str> = report.answers.iter().map(|(_, version)| version.as_str()).collect();
    assert!(versions.contains(&"1"), "v1 served before the rollout");
    assert!(versions[versions.len() - 20..].iter().all(|v| *v == "2"), "only v2 serves after it");

    // Redeploying the same bundle changes nothing.
    let stdout = common::deploy(&node, &path);
    assert!(stdout.contains("roll is up to date (version 2)"), "{stdout}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn manifest_only_redeploys_keep_the_files_running_instances_use() {
    let dir = tempfile::tempdir().expect("tempdir");
    let node = TestNode::start(&dir.path().join("data"));
    let path = write_app(dir.path(), "keep", &echo_manifest("keep", "/keep", 1, "1"));
    common::deploy(&node, &path);
    let client = node.client();
    let first = client.app("keep").await.expect("app").workloads[0].instances[0].clone();
    // Three deploys that change only the manifest's scale: the instance keeps running, untouched.
    for max in [11, 12, 13] {
        std::fs::write(&path, echo_manifest("keep", "/keep", 1, "1").replace("max = 10", &format!("max = {max}")))
            .expect("manifest");
        common::deploy(&node, &path);
    }
    let detail = client.app("keep").await.expect("app");
    assert_eq!(detail.version, 4);
    assert_eq!(detail.workloads[0].instances[0].pid, first.pid, "no restart for a scale change");
    // It can still restart from its files after a crash.
    common::signal(first.pid.expect("pid"), nix::sys::signal::Signal::SIGKILL);
    wait_for_app(&client, "keep", Duration::from_secs(30), |app| {
        let instance = &app.workloads[0].instances[0];
        instance.restarts == 1 && instance.state == "ready"
    })
    .await;
    let answer = common::Http::new().get_json(&node.gateway_url("/keep/x")).await;
    assert_eq!(answer["version"], "1");
}
