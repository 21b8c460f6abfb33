//! The node's own life: restart with the same data dir, and a graceful SIGTERM.

mod common;

use std::time::Duration;

use common::{TestNode, echo_manifest, wait_for_app, write_app};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_restarted_node_brings_its_apps_back_without_a_redeploy() {
    let dir = tempfile::tempdir().expect("tempdir");
    let data = dir.path().join("data");
    let mut node = TestNode::start(&data);
    common::deploy(&node, &write_app(dir.path(), "keep", &echo_manifest("keep", "/keep", 2, "7")));
    let (ok, _, _) = common::cli(&node, &["scale", "keep", "web", "--min", "3", "--max", "3"]);
    assert!(ok);
    wait_for_app(&node.client(), "keep", Duration::from_secs(30), |app| {
        app.phase == "running" && app.workloads[0].ready == 3
    })
    .await;
    assert!(node.terminate().success());

    let node = TestNode::start(&data);
    let client = node.client();
    let app = wait_for_app(&client, "keep", Duration::from_secs(30), |app| app.phase == "running").await;
    assert_eq!(app.version, 1);
    assert_eq!(app.workloads[0].ready, 3, "the scale set at run time survives the restart");
    let answer = common::Http::new().get_json(&node.gateway_url("/keep/x")).await;
    assert_eq!(answer["version"], "7");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_completes_requests_in_flight_and_exits_zero() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut node = TestNode::start(&dir.path().join("data"));
    common::deploy(&node, &write_app(dir.path(), "slow", &echo_manifest("slow", "/slow", 1, "1")));
    let client = node.client();
    let url = node.gateway_url("/slow/slow?ms=1500");
    let request = tokio::spawn(async move { common::Http::new().get(&url).await });

    // Wait until the instance says the request reached it, then ask the node to stop.
    let mut logs_seen = false;
    for _ in 0..200 {
        let mut stream = client.logs("slow", 50, false, None).await.expect("logs");
        while let Some(Ok(line)) = stream.next().await {
            logs_seen |= line.text.contains("slow request started");
        }
        if logs_seen {
            break;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    assert!(logs_seen, "the slow request reached the instance");
    let pid = node.pid();
    let status = tokio::task::spawn_blocking(move || node.terminate()).await.expect("terminate");
    let (code, body) = request.await.expect("request task").expect("the in-flight request completed");
    assert_eq!(code, 200, "{}", String::from_utf8_lossy(&body));
    assert!(status.success(), "node {pid} exited with {status:?}");
}
