//! The control API and manifests: auth, validation, deploy/status/delete through the CLI.

mod common;

use common::{TOKEN, TestNode, cli, echo_manifest, write_app};

#[tokio::test]
async fn v1_calls_need_the_admin_token() {
    let dir = tempfile::tempdir().expect("tempdir");
    let node = TestNode::start(&dir.path().join("data"));
    let http = common::Http::new();
    let (status, body) = http.get(&format!("{}/v1/apps", node.api_url())).await.expect("request");
    assert_eq!(status, 401);
    let error: serde_json::Value = serde_json::from_slice(&body).expect("json error");
    assert_eq!(error["error"]["code"], "unauthorized");

    let wrong = http::Request::get(format!("{}/v1/apps", node.api_url()))
        .header("authorization", "Bearer nope")
        .body(Default::default())
        .expect("request");
    assert_eq!(http.send(wrong).await.expect("request").0, 401);

    let right = http::Request::get(format!("{}/v1/apps", node.api_url()))
        .header("authorization", format!("Bearer {TOKEN}"))
        .body(Default::default())
        .expect("request");
    assert_eq!(http.send(right).await.expect("request").0, 200);

    for open in ["/healthz", "/readyz", "/metrics"] {
        let (status, _) = http.get(&format!("{}{open}", node.api_url())).await.expect("request");
        assert_eq!(status, 200, "{open} is open");
    }
}

#[tokio::test]
async fn a_bad_manifest_is_rejected_with_every_problem_and_nothing_is_applied() {
    let dir = tempfile::tempdir().expect("tempdir");
    let node = TestNode::start(&dir.path().join("data"));
    let manifest = r#"name = "shop"

[[service]]
name = "api"
command = ["python3", "app.py"]
rout = "/api"
limits = { timeout = "10 parsecs", body = "huge" }
scale = { min = 5, max = 2 }

[[service]]
name = "api"
route = "/api"
"#;
    let path = write_app(dir.path(), "shop", manifest);
    let (ok, _, stderr) = cli(&node, &["deploy", "-f", path.to_str().expect("path")]);
    assert!(!ok, "deploy must fail");
    let expected = [
        ":6: unknown field \"rout\", expected \"route\"",
        ":7: bad duration for \"timeout\"",
        ":7: bad size for \"body\"",
        ":8: \"min\" (5) is greater than \"max\" (2)",
        ":10: missing required field \"command\"",
        ":11: duplicate workload name \"api\"",
    ];
    for line in expected {
        assert!(stderr.contains(line), "stderr lacks {line:?}:\n{stderr}");
    }
    assert!(stderr.contains("deploy rejected: the manifest has 6 problems"), "{stderr}");
    assert!(node.client().apps().await.expect("apps").is_empty(), "nothing of a rejected deploy is applied");
    assert!(std::fs::read_dir(node.data_dir.join("apps")).expect("apps dir").next().is_none(), "no files left behind");

    // The same through the API: 400 with every problem, each with a line.
    let error = node.client().deploy(manifest.as_bytes().to_vec(), "application/toml").await.expect_err("rejected");
    match error {
        cloudlet_client::ClientError::Api { status, code, problems, .. } => {
            assert_eq!(status, 400);
            assert_eq!(code, "invalid_manifest");
            assert_eq!(problems.len(), 6);
            assert!(problems.iter().all(|problem| problem.location.is_some()));
        }
        other => panic!("unexpected error {other:?}"),
    }
}

#[tokio::test]
async fn a_route_taken_by_another_app_is_a_conflict() {
    let dir = tempfile::tempdir().expect("tempdir");
    let node = TestNode::start(&dir.path().join("data"));
    common::deploy(&node, &write_app(dir.path(), "first", &echo_manifest("first", "/shared", 1, "1")));
    let second = write_app(dir.path(), "second", &echo_manifest("second", "/shared", 1, "1"));
    let (ok, _, stderr) = cli(&node, &["deploy", "-f", second.to_str().expect("path")]);
    assert!(!ok);
    assert!(stderr.contains(":5: route \"/shared\" is already served by app \"first\""), "{stderr}");
    let apps = node.client().apps().await.expect("apps");
    assert_eq!(apps.iter().map(|app| app.name.as_str()).collect::<Vec<_>>(), ["first"]);
}

#[tokio::test]
async fn a_service_that_cannot_start_fails_the_deploy_with_its_last_output() {
    let dir = tempfile::tempdir().expect("tempdir");
    let node = TestNode::start(&dir.path().join("data"));
    let manifest =
        echo_manifest("broken", "/broken", 1, "1").replace("VERSION = \"1\"", "VERSION = \"1\", FAIL_ON_START = \"1\"");
    let path = write_app(dir.path(), "broken", &manifest);
    let (ok, _, stderr) = cli(&node, &["deploy", "-f", path.to_str().expect("path"), "--timeout", "60s"]);
    assert!(!ok, "deploy must fail");
    assert!(
        stderr.contains("broken failed to deploy: instance web-1 failed to start 3 times: exited with status 3"),
        "{stderr}"
    );
    assert!(stderr.contains("boom: refusing to start"), "the instance's output is shown:\n{stderr}");
}

#[tokio::test]
async fn status_scale_logs_and_delete_work_from_the_cli() {
    let dir = tempfile::tempdir().expect("tempdir");
    let node = TestNode::start(&dir.path().join("data"));
    let path = write_app(dir.path(), "demo", &echo_manifest("demo", "/demo", 1, "1"));
    let stdout = common::deploy(&node, &path);
    assert!(stdout.contains("demo version 1 is running (1 instance ready)"), "{stdout}");

    let (ok, stdout, _) = cli(&node, &["scale", "demo", "web", "--min", "2", "--max", "3"]);
    assert!(ok);
    assert!(stdout.contains("scale 2..3, 2 instance(s) desired"), "{stdout}");
    let client = node.client();
    common::wait_for_app(&client, "demo", std::time::Duration::from_secs(30), |app| {
        app.phase == "running" && app.workloads[0].ready == 2
    })
    .await;

    let (ok, stdout, _) = cli(&node, &["status", "demo"]);
    assert!(ok);
    assert!(stdout.contains("service web  2/2 ready  scale 2..3"), "{stdout}");
    let ready_instances =
        stdout.lines().filter(|line| line.trim_start().starts_with("web-") && line.contains(" ready ")).count();
    assert_eq!(ready_instances, 2, "{stdout}");

    let (ok, stdout, _) = cli(&node, &["logs", "demo", "--tail", "50"]);
    assert!(ok);
    assert!(stdout.contains("version 1 listening"), "{stdout}");

    // `logs -f` delivers lines written after it started.
    let mut follow = client.logs("demo", 0, true, None).await.expect("follow");
    common::Http::new().get_json(&node.gateway_url("/demo/slow?ms=1")).await;
    let line = tokio::time::timeout(std::time::Duration::from_secs(30), async {
        loop {
            let line = follow.next().await.expect("stream open").expect("line");
            if line.text.contains("slow request started") {
                return line;
            }
        }
    })
    .await
    .expect("the new line arrives");
    assert_eq!(line.stream, "stdout");
    assert!(line.instance.starts_with("web-"));

    let (ok, stdout, _) = cli(&node, &["apps"]);
    assert!(ok && stdout.contains("demo") && stdout.contains("2/2"), "{stdout}");

    let (ok, _, _) = cli(&node, &["delete", "demo"]);
    assert!(ok);
    assert!(client.apps().await.expect("apps").is_empty());
    let (status, _) = common::Http::new().get(&node.gateway_url("/demo")).await.expect("request");
    assert_eq!(status, 404, "the route is gone with the app");
    let (ok, _, stderr) = cli(&node, &["status", "demo"]);
    assert!(!ok && stderr.contains("no app named \"demo\""), "{stderr}");
}

#[tokio::test]
async fn metrics_count_requests_by_route_and_instances_by_state() {
    let dir = tempfile::tempdir().expect("tempdir");
    let node = TestNode::start(&dir.path().join("data"));
    common::deploy(&node, &write_app(dir.path(), "m", &echo_manifest("m", "/m", 1, "1")));
    let http = common::Http::new();
    for _ in 0..3 {
        http.get_json(&node.gateway_url("/m/x")).await;
    }
    let (_, body) = http.get(&format!("{}/metrics", node.api_url())).await.expect("metrics");
    let text = String::from_utf8_lossy(&body);
    assert!(
        text.contains("cloudlet_gateway_requests_total{app=\"m\",workload=\"web\",route=\"/m\",status=\"200\"} 3"),
        "{text}"
    );
    assert!(text.contains("cloudlet_runtime_instances{app=\"m\",workload=\"web\",state=\"ready\"} 1"), "{text}");
    assert!(text.contains("cloudlet_gateway_request_duration_seconds_bucket"), "{text}");
}
