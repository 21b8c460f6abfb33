//! Functions with state: `wasi:keyvalue` bound to the node's KV store and cache, one namespace per
//! app, through a real node and a component built from C (crates/cloudlet-functions/tests/fixtures).

mod common;

use std::path::Path;

use common::{Http, TestNode, cli};
use redis::Commands;

const KV_FIXTURE: &[u8] = include_bytes!("../../cloudlet-functions/tests/fixtures/kv_fixture.wasm");

/// Deploys app `name` running the key-value fixture at `/NAME`, with `keyvalue` as given (a TOML
/// value, or `None` for no key-value access).
fn deploy(node: &TestNode, root: &Path, name: &str, keyvalue: Option<&str>) -> (bool, String) {
    let dir = root.join(name);
    std::fs::create_dir_all(&dir).expect("dir");
    std::fs::write(dir.join("kv.wasm"), KV_FIXTURE).expect("fixture");
    let keyvalue = keyvalue.map(|value| format!("keyvalue = {value}\n")).unwrap_or_default();
    let manifest =
        format!("name = \"{name}\"\n[[function]]\nname = \"f\"\nsource = \"kv.wasm\"\nroute = \"/{name}\"\n{keyvalue}");
    std::fs::write(dir.join("cloudlet.toml"), manifest).expect("manifest");
    let manifest = dir.join("cloudlet.toml");
    let (ok, stdout, stderr) = cli(node, &["deploy", "-f", manifest.to_str().expect("path"), "--timeout", "60s"]);
    (ok, format!("{stdout}{stderr}"))
}

/// Calls the fixture: `GET /APP/OPERATION?QUERY`; the status and the body as text.
async fn call(http: &Http, node: &TestNode, app: &str, operation_and_query: &str) -> (u16, String) {
    let (status, body) = http.get(&node.gateway_url(&format!("/{app}/{operation_and_query}"))).await.expect("request");
    (status, String::from_utf8_lossy(&body).into_owned())
}

fn ok(text: &str) -> (u16, String) {
    (200, text.to_string())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_function_keeps_state_in_the_kv_store_and_the_cache() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut node = TestNode::start(&dir.path().join("data"));
    let (deployed, output) = deploy(&node, dir.path(), "shop", Some("true"));
    assert!(deployed, "{output}");
    let http = Http::new();

    assert_eq!(call(&http, &node, "shop", "get?key=cart").await, (404, "missing".to_string()));
    assert_eq!(call(&http, &node, "shop", "set?key=cart&value=apples").await, ok("ok"));
    assert_eq!(call(&http, &node, "shop", "get?key=cart").await, ok("apples"));
    assert_eq!(call(&http, &node, "shop", "exists?key=cart").await, ok("true"));
    assert_eq!(call(&http, &node, "shop", "incr?key=visits").await, ok("1"));
    assert_eq!(call(&http, &node, "shop", "incr?key=visits&by=41").await, ok("42"));
    let (status, body) = call(&http, &node, "shop", "incr?key=cart").await;
    assert_eq!(status, 500, "incrementing a word is the store's error, not a trap");
    assert!(body.contains("not an integer"), "{body}");
    assert_eq!(call(&http, &node, "shop", "setmany?key=b&value=x").await, ok("ok"));
    assert_eq!(call(&http, &node, "shop", "getmany?key=b").await, ok("b1=x\nb2=x\nb3=x\nb4=x\nb5=x\n"));
    assert_eq!(call(&http, &node, "shop", "del?key=cart").await, ok("ok"));
    assert_eq!(call(&http, &node, "shop", "exists?key=cart").await, ok("false"));
    let (status, listed) = call(&http, &node, "shop", "list").await;
    let mut keys: Vec<&str> = listed.lines().collect();
    keys.sort_unstable();
    assert_eq!((status, keys), (200, vec!["b1", "b2", "b3", "b4", "b5", "visits"]));

    // The default store is the durable KV: the keys are there, under the app's prefix, for any
    // Redis client; the cache is a separate bucket.
    let mut kv = redis::Client::open(format!("redis://{}", node.kv)).expect("client").get_connection().expect("kv");
    let visits: String = kv.get("app:shop:visits").expect("GET");
    assert_eq!(visits, "42");
    assert_eq!(call(&http, &node, "shop", "get?store=cache&key=visits").await, (404, "missing".to_string()));
    assert_eq!(call(&http, &node, "shop", "set?store=cache&key=session&value=s1").await, ok("ok"));
    let mut cache =
        redis::Client::open(format!("redis://{}", node.cache)).expect("client").get_connection().expect("cache");
    let session: String = cache.get("app:shop:session").expect("GET");
    assert_eq!(session, "s1");
    assert_eq!(call(&http, &node, "shop", "open?store=kv").await, ok("ok"));
    assert_eq!(call(&http, &node, "shop", "open?store=postgres").await, (500, "error: no-such-store".to_string()));

    // Acknowledged writes to the KV survive a kill -9 of the node.
    node.kill();
    let node = TestNode::start(&dir.path().join("data"));
    assert_eq!(call(&http, &node, "shop", "incr?key=visits").await, ok("43"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_apps_function_cannot_see_another_apps_keys() {
    let dir = tempfile::tempdir().expect("tempdir");
    let node = TestNode::start(&dir.path().join("data"));
    for app in ["alpha", "beta"] {
        let (deployed, output) = deploy(&node, dir.path(), app, Some("true"));
        assert!(deployed, "{output}");
    }
    let (deployed, output) = deploy(&node, dir.path(), "gamma", Some("\"cache\""));
    assert!(deployed, "{output}");
    let http = Http::new();
    assert_eq!(call(&http, &node, "alpha", "set?key=secret&value=a").await, ok("ok"));
    assert_eq!(call(&http, &node, "alpha", "set?store=cache&key=secret&value=a").await, ok("ok"));
    for (app, store) in [("beta", ""), ("beta", "cache"), ("gamma", ""), ("gamma", "kv")] {
        let query = format!("key=secret&store={store}");
        assert_eq!(call(&http, &node, app, &format!("get?{query}")).await, (404, "missing".to_string()), "{app}");
        assert_eq!(call(&http, &node, app, &format!("exists?{query}")).await, ok("false"), "{app}");
        assert_eq!(call(&http, &node, app, &format!("list?store={store}")).await, ok(""), "{app}");
        // Keys that look like another app's are still the caller's own.
        assert_eq!(call(&http, &node, app, "get?key=app:alpha:secret").await, (404, "missing".to_string()));
    }
    assert_eq!(call(&http, &node, "beta", "set?key=secret&value=b").await, ok("ok"));
    assert_eq!(call(&http, &node, "beta", "del?key=secret").await, ok("ok"));
    assert_eq!(call(&http, &node, "alpha", "get?key=secret").await, ok("a"), "beta's delete left alpha's key");
    // gamma's default store is the cache.
    assert_eq!(call(&http, &node, "gamma", "set?key=g&value=1").await, ok("ok"));
    assert_eq!(call(&http, &node, "gamma", "get?store=cache&key=g").await, ok("1"));
    assert_eq!(call(&http, &node, "gamma", "get?store=kv&key=g").await, (404, "missing".to_string()));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_component_importing_keyvalue_needs_the_grant() {
    let dir = tempfile::tempdir().expect("tempdir");
    let node = TestNode::start(&dir.path().join("data"));
    let (deployed, output) = deploy(&node, dir.path(), "nokv", None);
    assert!(!deployed, "deployed without keyvalue: {output}");
    assert!(output.contains("imports wasi:keyvalue, which this function is not granted"), "{output}");
    assert!(output.contains("keyvalue = true"), "the message says how to grant it: {output}");
}
