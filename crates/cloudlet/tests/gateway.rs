//! The gateway's routing, limits and error answers, against real instances.

mod common;

use bytes::Bytes;
use common::{Http, TestNode, write_app};
use http_body_util::{BodyExt, Full};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn host_and_longest_prefix_choose_the_workload() {
    let dir = tempfile::tempdir().expect("tempdir");
    let node = TestNode::start(&dir.path().join("data"));
    let shop = r#"name = "shop"
[[service]]
name = "web"
command = ["python3", "app.py"]
route = "/g"
[[service]]
name = "api"
command = ["python3", "app.py"]
route = "/g/api"
"#;
    common::deploy(&node, &write_app(dir.path(), "shop", shop));
    let other = r#"name = "other"
[[service]]
name = "site"
command = ["python3", "app.py"]
route = "/g"
host = "b.example"
"#;
    common::deploy(&node, &write_app(dir.path(), "other", other));
    let http = Http::new();
    let instance_for = |host: Option<&'static str>, path: &'static str| {
        let http = &http;
        let url = node.gateway_url(path);
        async move {
            let mut request = http::Request::get(url);
            if let Some(host) = host {
                request = request.header("host", host);
            }
            let (status, body) =
                http.send(request.body(Full::new(Bytes::new())).expect("request")).await.expect("send");
            assert_eq!(status, 200, "{path}: {}", String::from_utf8_lossy(&body));
            let json: serde_json::Value = serde_json::from_slice(&body).expect("json");
            json["instance"].as_str().expect("instance").to_string()
        }
    };
    assert_eq!(instance_for(None, "/g/x").await, "web-1");
    assert_eq!(instance_for(None, "/g/api/users").await, "api-1");
    assert_eq!(instance_for(None, "/g/apix").await, "web-1", "prefixes match whole segments");
    assert_eq!(instance_for(Some("b.example"), "/g/x").await, "site-1", "a host route beats an any-host route");
    assert_eq!(instance_for(Some("B.Example:8080"), "/g").await, "site-1", "hosts compare without case and port");
    assert_eq!(instance_for(Some("b.example"), "/g/api/x").await, "api-1", "a longer prefix still wins");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn limits_and_failures_get_json_errors() {
    let dir = tempfile::tempdir().expect("tempdir");
    let node = TestNode::start(&dir.path().join("data"));
    let limited = r#"name = "limited"
[[service]]
name = "web"
command = ["python3", "app.py"]
route = "/lim"
limits = { timeout = "300ms", body = "1KiB" }
"#;
    common::deploy(&node, &write_app(dir.path(), "limited", limited));
    let http = Http::new();

    let post = |size: usize| {
        http::Request::post(node.gateway_url("/lim/echo"))
            .body(Full::new(Bytes::from(vec![b'x'; size])))
            .expect("request")
    };
    let (status, body) = http.send(post(512)).await.expect("send");
    assert_eq!((status, body.len()), (200, 512), "a body under the limit is forwarded");
    let (status, body) = http.send(post(4096)).await.expect("send");
    assert_eq!(status, 413);
    assert!(String::from_utf8_lossy(&body).contains("\"code\":\"body_too_large\""));

    let (status, body) = http.get(&node.gateway_url("/lim/slow?ms=3000")).await.expect("send");
    assert_eq!(status, 504);
    assert!(String::from_utf8_lossy(&body).contains("\"code\":\"upstream_timeout\""));

    // A workload without a healthy instance answers 503 right away.
    let broken = r#"name = "broken"
[[service]]
name = "web"
command = ["python3", "app.py"]
route = "/broken"
env = { FAIL_ON_START = "1" }
"#;
    let path = write_app(dir.path(), "broken", broken);
    let (ok, _, stderr) = common::cli(&node, &["deploy", "--no-wait", "-f", path.to_str().expect("path")]);
    assert!(ok, "{stderr}");
    let (status, body) = http.get(&node.gateway_url("/broken")).await.expect("send");
    assert_eq!(status, 503);
    assert!(String::from_utf8_lossy(&body).contains("\"code\":\"no_healthy_instance\""));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn h2c_requests_are_forwarded_to_http1_instances() {
    let dir = tempfile::tempdir().expect("tempdir");
    let node = TestNode::start(&dir.path().join("data"));
    common::deploy(&node, &write_app(dir.path(), "h2", &common::echo_manifest("h2", "/h2", 1, "1")));
    let client = hyper_util::client::legacy::Client::builder(hyper_util::rt::TokioExecutor::new())
        .http2_only(true)
        .build_http::<Full<Bytes>>();
    let request = http::Request::get(node.gateway_url("/h2/over-h2")).body(Full::new(Bytes::new())).expect("request");
    let response = client.request(request).await.expect("h2c request");
    assert_eq!(response.version(), http::Version::HTTP_2);
    assert_eq!(response.status(), 200);
    assert!(response.headers().contains_key("x-request-id"));
    let body = response.into_body().collect().await.expect("body").to_bytes();
    let json: serde_json::Value = serde_json::from_slice(&body).expect("json");
    assert_eq!(json["path"], "/h2/over-h2");
    assert!(json["headers"]["host"].as_str().is_some_and(|host| host.starts_with("127.0.0.1:")), "{json}");
}
