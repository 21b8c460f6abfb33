//! Serverless functions through a real node: wasi:http components and WAGI modules built from C
//! (crates/cloudlet-functions/tests/fixtures, rebuilt by scripts/build-wasm.sh), their limits and
//! capabilities.

mod common;

use std::path::Path;
use std::time::Duration;

use bytes::Bytes;
use common::{Http, TestNode, cli};
use http_body_util::Full;

const HTTP_FIXTURE: &[u8] = include_bytes!("../../cloudlet-functions/tests/fixtures/http_fixture.wasm");
const WAGI_FIXTURE: &[u8] = include_bytes!("../../cloudlet-functions/tests/fixtures/wagi_fixture.wasm");
const HTTP_V0_2_0: &[u8] = include_bytes!("../../cloudlet-functions/tests/fixtures/http_v0_2_0.wasm");
const COMMAND_COMPONENT: &[u8] = include_bytes!("../../cloudlet-functions/tests/fixtures/command_component.wasm");

/// Writes an app dir with the fixtures and `manifest`, and deploys it.
fn deploy(node: &TestNode, root: &Path, name: &str, manifest: &str) -> (bool, String) {
    let dir = root.join(name);
    std::fs::create_dir_all(dir.join("static")).expect("dir");
    std::fs::write(dir.join("http.wasm"), HTTP_FIXTURE).expect("fixture");
    std::fs::write(dir.join("wagi.wasm"), WAGI_FIXTURE).expect("fixture");
    std::fs::write(dir.join("command.wasm"), COMMAND_COMPONENT).expect("fixture");
    std::fs::write(dir.join("old.wasm"), HTTP_V0_2_0).expect("fixture");
    std::fs::write(dir.join("static/hello.txt"), "a file for the guest\n").expect("file");
    std::fs::write(dir.join("cloudlet.toml"), manifest).expect("manifest");
    let manifest = dir.join("cloudlet.toml");
    let (ok, stdout, stderr) = cli(node, &["deploy", "-f", manifest.to_str().expect("path"), "--timeout", "60s"]);
    (ok, format!("{stdout}{stderr}"))
}

fn text(body: &Bytes) -> String {
    String::from_utf8_lossy(body).into_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_wasi_http_component_answers_and_echoes_a_1mib_body() {
    let dir = tempfile::tempdir().expect("tempdir");
    let node = TestNode::start(&dir.path().join("data"));
    let manifest = "name = \"fx\"\n[[function]]\nname = \"fx\"\nsource = \"http.wasm\"\nroute = \"/fx\"\n";
    let (ok, output) = deploy(&node, dir.path(), "fx", manifest);
    assert!(ok, "{output}");
    assert!(output.contains("fx version 1 is running (1 function)"), "{output}");
    let http = Http::new();
    let (status, body) = http.get(&node.gateway_url("/fx/hello")).await.expect("request");
    assert_eq!((status, text(&body).as_str()), (200, "hello from wasm"));

    let payload: Vec<u8> = (0..(1 << 20)).map(|i| (i % 251) as u8).collect();
    let request = http::Request::post(node.gateway_url("/fx/echo?a=1&b=two"))
        .header("x-test", "yes")
        .body(Full::new(Bytes::from(payload.clone())))
        .expect("request");
    let response = http_client().request(request).await.expect("echo");
    assert_eq!(response.status(), 200);
    let headers = response.headers().clone();
    assert_eq!(headers["x-path"], "/fx/echo?a=1&b=two");
    assert_eq!(headers["x-method"], "2", "POST");
    assert_eq!(headers["x-echo-x-test"], "yes");
    assert!(headers.contains_key("x-echo-x-request-id"), "the gateway's request id reaches the guest");
    let echoed = http_body_util::BodyExt::collect(response.into_body()).await.expect("body").to_bytes();
    assert_eq!(echoed.len(), payload.len());
    assert!(echoed == payload, "the body round-trips unchanged");

    // A component built against wasi:http 0.2.0 (proxy world only) runs on the 0.2.12 host.
    let old = "name = \"old\"\n[[function]]\nname = \"old\"\nsource = \"old.wasm\"\nroute = \"/old\"\n";
    let (ok, output) = deploy(&node, dir.path(), "old", old);
    assert!(ok, "{output}");
    let (status, body) = http.get(&node.gateway_url("/old")).await.expect("request");
    assert_eq!((status, text(&body).as_str()), (200, "hello from wasi:http 0.2.0"));

    // Big responses stream out.
    let (status, body) = http.get(&node.gateway_url("/fx/big?bytes=3000000")).await.expect("request");
    assert_eq!((status, body.len()), (200, 3_000_000));
}

fn http_client() -> hyper_util::client::legacy::Client<hyper_util::client::legacy::connect::HttpConnector, Full<Bytes>>
{
    hyper_util::client::legacy::Client::builder(hyper_util::rt::TokioExecutor::new()).build_http()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_wagi_module_gets_the_cgi_environment_and_stdin() {
    let dir = tempfile::tempdir().expect("tempdir");
    let node = TestNode::start(&dir.path().join("data"));
    let manifest = "name = \"cgi\"\n[[function]]\nname = \"cgi\"\nsource = \"wagi.wasm\"\nexecutor = \"wagi\"\nroute = \"/cgi\"\nvars = { GREETING = \"hi\" }\n";
    let (ok, output) = deploy(&node, dir.path(), "cgi", manifest);
    assert!(ok, "{output}");
    let http = Http::new();
    let request = http::Request::post(node.gateway_url("/cgi/some/path?x=1&y=2"))
        .header("x-custom", "value")
        .header("authorization", "Bearer secret")
        .body(Full::new(Bytes::from_static(b"the request body")))
        .expect("request");
    let response = http_client().request(request).await.expect("request");
    assert_eq!(response.status(), 201, "Status: from the CGI headers");
    assert_eq!(response.headers()["x-method"], "POST");
    assert_eq!(response.headers()["content-type"], "text/plain");
    let body = text(&http_body_util::BodyExt::collect(response.into_body()).await.expect("body").to_bytes());
    for line in [
        "REQUEST_METHOD=POST",
        "SCRIPT_NAME=/cgi",
        "PATH_INFO=/some/path",
        "QUERY_STRING=x=1&y=2",
        "CONTENT_LENGTH=16",
        "HTTP_X_CUSTOM=value",
        "GREETING=hi",
        "argv: wagi.wasm x=1 y=2",
        "--\nthe request body",
    ] {
        assert!(body.contains(line), "{line:?} missing from:\n{body}");
    }
    assert!(!body.contains("secret"), "the Authorization header never reaches a CGI script");

    let (status, body) = http.get(&node.gateway_url("/cgi/exit")).await.expect("request");
    assert_eq!(status, 500);
    assert!(text(&body).contains("exited with status 3"), "{}", text(&body));
    let (status, body) = http.get(&node.gateway_url("/cgi/nohead")).await.expect("request");
    assert_eq!(status, 502);
    assert!(text(&body).contains("bad_cgi_output"), "{}", text(&body));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn runaway_guests_are_stopped_without_harming_other_requests() {
    let dir = tempfile::tempdir().expect("tempdir");
    let node = TestNode::start(&dir.path().join("data"));
    let manifest = r#"name = "limits"
[[function]]
name = "capped"
source = "http.wasm"
route = "/capped"
limits = { timeout = "1s", memory = "8MiB" }
[[function]]
name = "free"
source = "http.wasm"
route = "/free"
[[function]]
name = "cgi"
source = "wagi.wasm"
executor = "wagi"
route = "/cgi"
limits = { timeout = "500ms" }
"#;
    let (ok, output) = deploy(&node, dir.path(), "limits", manifest);
    assert!(ok, "{output}");
    let http = Http::new();

    // An infinite loop runs into its timeout while another function keeps answering.
    let looping = {
        let url = node.gateway_url("/capped/loop");
        tokio::spawn(async move { Http::new().get(&url).await })
    };
    let started = std::time::Instant::now();
    let mut answered_meanwhile = 0;
    while !looping.is_finished() {
        let (status, body) = http.get(&node.gateway_url("/free/hello")).await.expect("request");
        assert_eq!((status, text(&body).as_str()), (200, "hello from wasm"));
        answered_meanwhile += 1;
        assert!(started.elapsed() < Duration::from_secs(30), "the loop was never stopped");
    }
    let (status, body) = looping.await.expect("task").expect("request");
    assert_eq!(status, 504, "{}", text(&body));
    assert!(text(&body).contains("function_timeout"));
    assert!(answered_meanwhile >= 3, "other requests were served during the loop ({answered_meanwhile})");

    let (status, body) = http.get(&node.gateway_url("/capped/hog")).await.expect("request");
    assert_eq!(status, 500, "{}", text(&body));
    assert!(text(&body).contains("function_memory_limit"), "{}", text(&body));
    assert!(text(&body).contains("8388608"), "the message names the limit: {}", text(&body));

    let (status, body) = http.get(&node.gateway_url("/free/trap")).await.expect("request");
    assert_eq!(status, 500);
    assert!(text(&body).contains("function_trap"), "{}", text(&body));

    let (status, body) = http.get(&node.gateway_url("/cgi/loop")).await.expect("request");
    assert_eq!(status, 504, "WAGI modules are cut off too: {}", text(&body));

    let (status, _) = http.get(&node.gateway_url("/free/hello")).await.expect("request");
    assert_eq!(status, 200, "the node is fine afterwards");
    let detail = node.client().app("limits").await.expect("app");
    let capped = detail.functions.iter().find(|f| f.name == "capped").expect("capped");
    assert_eq!((capped.timeouts, capped.memory_exceeded), (1, 1));
    let logs = collect_logs(&node, "limits").await;
    assert!(logs.iter().any(|line| line.contains("request stopped after the 1000ms timeout")), "{logs:#?}");
}

async fn collect_logs(node: &TestNode, app: &str) -> Vec<String> {
    let mut stream = node.client().logs(app, 500, false, None).await.expect("logs");
    let mut lines = Vec::new();
    while let Some(Ok(line)) = stream.next().await {
        lines.push(format!("{} {} {}", line.instance, line.stream, line.text));
    }
    lines
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn capabilities_are_denied_unless_granted() {
    let dir = tempfile::tempdir().expect("tempdir");
    let node = TestNode::start(&dir.path().join("data"));
    let gateway_port = node.gateway.port();
    let manifest = format!(
        r#"name = "caps"
[[function]]
name = "open"
source = "http.wasm"
route = "/open"
allowed_outbound_hosts = ["http://127.0.0.1:{gateway_port}"]
files = {{ "/static" = "static" }}
vars = {{ greeting = "hello from config" }}
[[function]]
name = "closed"
source = "http.wasm"
route = "/closed"
"#
    );
    let (ok, output) = deploy(&node, dir.path(), "caps", &manifest);
    assert!(ok, "{output}");
    let http = Http::new();
    let get = |path: String| {
        let http = &http;
        let url = node.gateway_url(&path);
        async move {
            let (status, body) = http.get(&url).await.expect("request");
            (status, text(&body))
        }
    };
    let target = format!("127.0.0.1:{gateway_port}/closed/hello");
    assert_eq!(
        get(format!("/open/fetch?url={target}")).await,
        (200, "status 200".to_string()),
        "an allowed host is reachable"
    );
    assert_eq!(get(format!("/closed/fetch?url={target}")).await, (502, "error: 15".to_string()), "HTTP-request-denied");
    let other = format!("127.0.0.1:{}/x", gateway_port.wrapping_add(1));
    assert_eq!(get(format!("/open/fetch?url={other}")).await.1, "error: 15", "another port of the same host is denied");

    assert_eq!(get("/open/file?path=/static/hello.txt".into()).await, (200, "a file for the guest\n".to_string()));
    assert_eq!(get("/closed/file?path=/static/hello.txt".into()).await.0, 404, "no files without a grant");
    assert_eq!(
        get("/open/file?path=/static/../cloudlet.toml".into()).await.0,
        404,
        "a grant does not reach outside its dir"
    );

    assert_eq!(get("/open/config?key=greeting".into()).await, (200, "hello from config".to_string()));
    assert_eq!(get("/closed/config?key=greeting".into()).await.0, 404);

    assert_eq!(get("/open/log".into()).await.0, 200);
    let logs = collect_logs(&node, "caps").await;
    assert!(logs.contains(&"open stdout line to stdout from the guest".to_string()), "{logs:#?}");
    assert!(logs.contains(&"open stderr line to stderr from the guest".to_string()), "{logs:#?}");
    assert!(logs.iter().any(|line| line.contains("denied: not in allowed_outbound_hosts")), "{logs:#?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn binaries_that_do_not_fit_their_executor_are_rejected_at_deploy() {
    let dir = tempfile::tempdir().expect("tempdir");
    let node = TestNode::start(&dir.path().join("data"));
    let cases = [
        (
            "core",
            "wagi.wasm",
            "wasi-http",
            "is a core WebAssembly module, not a component: run a WASI command module with executor = \"wagi\"",
        ),
        ("comp", "http.wasm", "wagi", "is a component: components run with executor = \"wasi-http\""),
        (
            "cli",
            "command.wasm",
            "wasi-http",
            "does not export wasi:http/incoming-handler@0.2.x; it exports wasi:cli/run@0.2.",
        ),
        ("text", "static/hello.txt", "wasi-http", "is not a WebAssembly binary"),
        ("none", "missing.wasm", "wasi-http", "has source \"missing.wasm\", which is not in the bundle"),
    ];
    for (name, source, executor, expected) in cases {
        let manifest = format!(
            "name = \"{name}\"\n[[function]]\nname = \"f\"\nsource = \"{source}\"\nexecutor = \"{executor}\"\nroute = \"/{name}\"\n"
        );
        let (ok, output) = deploy(&node, dir.path(), name, &manifest);
        assert!(!ok, "{name} must be rejected");
        assert!(output.contains(expected), "{name}: expected {expected:?} in:\n{output}");
        assert!(output.contains("cloudlet.toml:2:"), "{name}: the problem points at the function: {output}");
    }
    assert!(node.client().apps().await.expect("apps").is_empty(), "nothing was applied");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_busy_function_refuses_with_retry_after_and_compiled_code_survives_a_restart() {
    let dir = tempfile::tempdir().expect("tempdir");
    let data = dir.path().join("data");
    let mut node = TestNode::start(&data);
    let manifest = "name = \"one\"\n[[function]]\nname = \"one\"\nsource = \"http.wasm\"\nroute = \"/one\"\nlimits = { instances = 1, queue = 0, timeout = \"2s\" }\n";
    let (ok, output) = deploy(&node, dir.path(), "one", manifest);
    assert!(ok, "{output}");
    let busy = {
        let url = node.gateway_url("/one/loop");
        tokio::spawn(async move { Http::new().get(&url).await })
    };
    let client = node.client();
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    while client.app("one").await.expect("app").functions[0].instances_in_use == 0 {
        assert!(std::time::Instant::now() < deadline, "the looping request never started");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let request = http::Request::get(node.gateway_url("/one/hello")).body(Full::new(Bytes::new())).expect("request");
    let response = http_client().request(request).await.expect("request");
    assert_eq!(response.status(), 503);
    assert_eq!(response.headers()["retry-after"], "1");
    assert_eq!(busy.await.expect("task").expect("request").0, 504);

    assert!(node.terminate().success());
    assert!(node.log().contains("cache=Miss"), "first deploy compiles");
    let node = TestNode::start(&data);
    let (status, body) = Http::new().get(&node.gateway_url("/one/hello")).await.expect("request");
    assert_eq!((status, text(&body).as_str()), (200, "hello from wasm"));
    assert!(node.log().contains("cache=Hit"), "a restart loads the compiled code:\n{}", node.log());
}
