//! The autoscaler through a real node: scale from zero on the first request and back to zero when
//! idle; a load step scales a service up and the new instances take traffic; scaling down under
//! steady traffic fails no request.

mod common;

use std::collections::HashSet;
use std::time::{Duration, Instant};

use common::{Http, Load, TestNode, wait_for_app, write_app};

/// Deploys an echo service `app` at `/APP` with the given `scale` table.
fn deploy_scaled(node: &TestNode, root: &std::path::Path, app: &str, scale: &str) {
    let manifest = format!(
        "name = \"{app}\"\n[[service]]\nname = \"web\"\ncommand = [\"python3\", \"app.py\"]\nroute = \"/{app}\"\n\
         health = \"/{app}/healthz\"\nstop_timeout = \"5s\"\nscale = {{ {scale} }}\n"
    );
    common::deploy(node, &write_app(root, app, &manifest));
}

fn instances(detail: &cloudlet_client::model::AppDetail) -> usize {
    detail.workloads[0].instances.len()
}

fn ready(detail: &cloudlet_client::model::AppDetail) -> u32 {
    detail.workloads[0].ready
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_service_at_min_zero_wakes_on_its_first_request_and_sleeps_when_idle() {
    let dir = tempfile::tempdir().expect("tempdir");
    let node = TestNode::start(&dir.path().join("data"));
    deploy_scaled(&node, dir.path(), "sleepy", "min = 0, max = 2, window = \"6s\", zero_after = \"2s\"");
    let client = node.client();
    // The deploy ran one instance; with no traffic the autoscaler takes it to zero.
    let detail = wait_for_app(&client, "sleepy", Duration::from_secs(60), |d| instances(d) == 0).await;
    let scaling = detail.workloads[0].scaling.as_ref().expect("autoscaled");
    assert_eq!((scaling.desired, scaling.reason.as_str()), (0, "idle"), "{scaling:?}");

    // The first request is held while an instance starts, and answered.
    let http = Http::new();
    let started = Instant::now();
    let answer = http.get_json(&node.gateway_url("/sleepy/hello")).await;
    assert_eq!(answer["instance"], "web-2", "a new instance, after web-1 was stopped");
    let woke_in = started.elapsed();
    let detail = client.app("sleepy").await.expect("status");
    assert_eq!(ready(&detail), 1);
    assert!(woke_in < Duration::from_secs(30), "{woke_in:?}");

    // Idle again: back to zero.
    wait_for_app(&client, "sleepy", Duration::from_secs(60), |d| instances(d) == 0).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_load_step_scales_up_the_new_instances_serve_and_scaling_down_fails_nothing() {
    let dir = tempfile::tempdir().expect("tempdir");
    let node = TestNode::start(&dir.path().join("data"));
    deploy_scaled(&node, dir.path(), "elastic", "min = 1, max = 4, target_concurrency = 2, window = \"6s\"");
    let client = node.client();

    // Eight clients keep slow requests in flight: 8 / (2 × 0.7) asks for the maximum of four.
    let heavy = Load::start(node.gateway_url("/elastic/slow?ms=200"), 8);
    let detail = wait_for_app(&client, "elastic", Duration::from_secs(60), |d| ready(d) >= 3).await;
    let scaling = detail.workloads[0].scaling.clone().expect("autoscaled");
    assert!(scaling.desired >= 3, "{scaling:?}");
    heavy.wait_for(100).await;
    let report = heavy.finish().await;
    assert!(report.failures.is_empty(), "{:?}", report.failures);
    let recent: HashSet<&str> = report.answers.iter().rev().take(60).map(|(instance, _)| instance.as_str()).collect();
    assert!(recent.len() >= 3, "the added instances take traffic: {recent:?}");

    // Light steady traffic: the autoscaler drains and stops the extra instances, and no request fails.
    let light = Load::start(node.gateway_url("/elastic/slow?ms=20"), 1);
    wait_for_app(&client, "elastic", Duration::from_secs(90), |d| instances(d) == 1 && ready(d) == 1).await;
    light.wait_for(20).await;
    let report = light.finish().await;
    assert!(report.failures.is_empty(), "scale-down failed requests: {:?}", report.failures);
}
