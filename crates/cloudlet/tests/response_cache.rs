//! The gateway's response cache through a real node: cached responses are served without reaching
//! the instance, RFC 9111's rules decide what is stored, concurrent misses are coalesced, stale
//! responses are revalidated in the background, and unsafe requests invalidate.

mod common;

use std::time::{Duration, Instant};

use bytes::Bytes;
use common::{Http, TestNode, write_app};
use http_body_util::Full;

/// Deploys one echo instance at `/shop` with `response_cache = true`.
fn deploy_cached(node: &TestNode, root: &std::path::Path) {
    let manifest = "name = \"shop\"\n[[service]]\nname = \"web\"\ncommand = [\"python3\", \"app.py\"]\n\
                    route = \"/shop\"\nhealth = \"/shop/healthz\"\nresponse_cache = true\n";
    common::deploy(node, &write_app(root, "shop", manifest));
}

/// GET with headers; status, `X-Cache` and the JSON body.
async fn get(url: &str, headers: &[(&str, &str)]) -> (u16, String, serde_json::Value) {
    let mut request = http::Request::get(url);
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    let client = hyper_util::client::legacy::Client::builder(hyper_util::rt::TokioExecutor::new()).build_http();
    let response = client.request(request.body(Full::new(Bytes::new())).expect("request")).await.expect("response");
    let status = response.status().as_u16();
    let cache = response.headers().get("x-cache").and_then(|v| v.to_str().ok()).unwrap_or("").to_string();
    let body = http_body_util::BodyExt::collect(response.into_body()).await.expect("body").to_bytes();
    (status, cache, serde_json::from_slice(&body).unwrap_or_default())
}

/// How many requests for `path` reached the instance.
async fn origin_hits(http: &Http, node: &TestNode, path: &str) -> u64 {
    let url = node.gateway_url(&format!("/shop/hits?path={}", path.replace('&', "%26").replace('?', "%3F")));
    http.get_json(&url).await["hits"].as_u64().expect("hits")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cached_response_is_served_without_reaching_the_instance() {
    let dir = tempfile::tempdir().expect("tempdir");
    let node = TestNode::start(&dir.path().join("data"));
    deploy_cached(&node, dir.path());
    let http = Http::new();
    let path = "/shop/cached?cc=max-age=60";
    let url = node.gateway_url(path);
    let (status, cache, first) = get(&url, &[]).await;
    assert_eq!((status, cache.as_str(), first["hits"].as_u64()), (200, "MISS", Some(1)));
    for _ in 0..5 {
        let (status, cache, again) = get(&url, &[]).await;
        assert_eq!((status, cache.as_str()), (200, "HIT"));
        assert_eq!(again, first, "the stored answer, byte for byte");
    }
    assert_eq!(origin_hits(&http, &node, path).await, 1, "only the first request reached the instance");

    // A POST to the URL invalidates it; the next GET goes to the instance again.
    let post = http::Request::post(&url).body(Full::new(Bytes::from_static(b"x"))).expect("post");
    assert_eq!(http.send(post).await.expect("post").0, 200);
    let (_, cache, _) = get(&url, &[]).await;
    assert_eq!(cache, "MISS");
    assert_eq!(origin_hits(&http, &node, path).await, 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn what_may_not_be_stored_is_not_and_variants_are_kept_apart() {
    let dir = tempfile::tempdir().expect("tempdir");
    let node = TestNode::start(&dir.path().join("data"));
    deploy_cached(&node, dir.path());
    let http = Http::new();
    for (path, headers) in [
        ("/shop/cached?cc=no-store", &[][..]),
        ("/shop/cached?cc=private,max-age=60", &[]),
        ("/shop/cached?cc=no-cache", &[]),
        ("/shop/cached?cc=max-age=60&auth=1", &[("authorization", "Bearer secret")][..]),
    ] {
        for _ in 0..3 {
            let (status, cache, _) = get(&node.gateway_url(path), headers).await;
            assert_eq!((status, cache.as_str()), (200, "MISS"), "{path}");
        }
        assert_eq!(origin_hits(&http, &node, path).await, 3, "{path} must reach the instance every time");
    }
    // `public` lets an authorized request's answer be shared.
    let path = "/shop/cached?cc=public,max-age=60&auth=2";
    for _ in 0..3 {
        get(&node.gateway_url(path), &[("authorization", "Bearer secret")]).await;
    }
    assert_eq!(origin_hits(&http, &node, path).await, 1);

    // Vary: the answer for one language is not served for another.
    let path = "/shop/cached?cc=max-age=60&vary=Accept-Language";
    let url = node.gateway_url(path);
    let (_, _, french) = get(&url, &[("accept-language", "fr")]).await;
    let (_, cache, again) = get(&url, &[("accept-language", "fr")]).await;
    assert_eq!((cache.as_str(), again["lang"].as_str()), ("HIT", Some("fr")));
    assert_eq!(french["lang"], "fr");
    let (_, cache, german) = get(&url, &[("accept-language", "de")]).await;
    assert_eq!((cache.as_str(), german["lang"].as_str()), ("MISS", Some("de")));
    // A client asking for a fresh answer gets one.
    let (_, cache, _) = get(&url, &[("accept-language", "de"), ("cache-control", "no-cache")]).await;
    assert_eq!(cache, "MISS");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_misses_are_coalesced_and_stale_answers_revalidate_in_the_background() {
    let dir = tempfile::tempdir().expect("tempdir");
    let node = TestNode::start(&dir.path().join("data"));
    deploy_cached(&node, dir.path());
    let http = Http::new();

    // Twenty clients ask at once for an answer that takes 300 ms: one request reaches the instance.
    let path = "/shop/cached?cc=max-age=60&ms=300";
    let url = node.gateway_url(path);
    let tasks: Vec<_> = (0..20)
        .map(|_| {
            let url = url.clone();
            tokio::spawn(async move { get(&url, &[]).await })
        })
        .collect();
    for task in tasks {
        let (status, _, body) = task.await.expect("task");
        assert_eq!((status, body["hits"].as_u64()), (200, Some(1)));
    }
    assert_eq!(origin_hits(&http, &node, path).await, 1);

    // Fresh for 1 s, then usable for 30 s more while one background fetch refreshes it.
    let path = "/shop/cached?cc=max-age=1,stale-while-revalidate=30";
    let url = node.gateway_url(path);
    get(&url, &[]).await;
    let deadline = Instant::now() + Duration::from_secs(10);
    let stale = loop {
        let (_, cache, body) = get(&url, &[]).await;
        if cache == "STALE" {
            break body;
        }
        assert!(Instant::now() < deadline, "never stale");
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    assert_eq!(stale["hits"].as_u64(), Some(1), "the stale answer is the stored one");
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let (_, cache, body) = get(&url, &[]).await;
        if cache == "HIT" && body["hits"].as_u64() == Some(2) {
            break;
        }
        assert!(Instant::now() < deadline, "the background refresh never landed: {cache} {body}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stale_head_refreshes_the_get_answer_not_an_empty_one() {
    let dir = tempfile::tempdir().expect("tempdir");
    let node = TestNode::start(&dir.path().join("data"));
    deploy_cached(&node, dir.path());
    let url = node.gateway_url("/shop/cached?cc=max-age=1,stale-while-revalidate=30&h=1");
    let (_, cache, _) = get(&url, &[]).await;
    assert_eq!(cache, "MISS");
    let client = hyper_util::client::legacy::Client::builder(hyper_util::rt::TokioExecutor::new()).build_http();
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let head = http::Request::head(&url).body(Full::new(Bytes::new())).expect("head");
        let response = client.request(head).await.expect("response");
        if response.headers().get("x-cache").is_some_and(|value| value == "STALE") {
            break;
        }
        assert!(Instant::now() < deadline, "never stale");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    // The HEAD started a refresh; what it stores must be the GET answer, body and all.
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let (status, cache, body) = get(&url, &[]).await;
        assert_eq!(status, 200);
        assert!(body["hits"].is_u64(), "a whole JSON body ({cache}): {body}");
        if cache == "HIT" && body["hits"].as_u64() == Some(2) {
            break;
        }
        assert!(Instant::now() < deadline, "the refresh never landed");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}
