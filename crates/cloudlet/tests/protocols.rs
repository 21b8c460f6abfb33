//! Protocols through the gateway: WebSocket upgrades tunnelled to an instance.

mod common;

use std::time::Duration;

use common::{TestNode, echo_manifest, write_app};
use futures_util::{SinkExt, StreamExt};
use tokio_tungstenite::tungstenite::Message;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_websocket_echoes_through_the_gateway() {
    let dir = tempfile::tempdir().expect("tempdir");
    let node = TestNode::start(&dir.path().join("data"));
    common::deploy(&node, &write_app(dir.path(), "chat", &echo_manifest("chat", "/chat", 1, "1")));

    let url = format!("ws://{}/chat/socket", node.gateway);
    let (mut socket, response) = tokio_tungstenite::connect_async(url).await.expect("websocket handshake");
    assert_eq!(response.status(), 101);
    for text in ["hello", "a longer message that still fits one frame", &"x".repeat(70_000)] {
        socket.send(Message::text(text)).await.expect("send");
        let answer = tokio::time::timeout(Duration::from_secs(10), socket.next())
            .await
            .expect("an answer in time")
            .expect("a frame")
            .expect("no error");
        assert_eq!(answer.into_text().expect("text").as_str(), format!("web-1: {text}"));
    }
    socket.send(Message::binary(vec![0u8, 1, 2, 255])).await.expect("send");
    let answer = socket.next().await.expect("frame").expect("no error");
    assert_eq!(answer.into_data().as_ref(), [b"web-1: ".as_slice(), &[0u8, 1, 2, 255]].concat());
    socket.close(None).await.expect("close");

    // Plain requests on the same route still work, and the closed tunnel left nothing in flight.
    let http = common::Http::new();
    let answer = http.get_json(&node.gateway_url("/chat/plain")).await;
    assert_eq!(answer["instance"], "web-1");
}

/// A self-signed certificate for 127.0.0.1 and localhost: (certificate PEM, key PEM, DER for clients).
fn certificate() -> (String, String, rustls_pki_types::CertificateDer<'static>) {
    let certified = rcgen::generate_simple_self_signed(vec!["localhost".to_string(), "127.0.0.1".to_string()])
        .expect("certificate");
    let der = certified.cert.der().clone();
    (certified.cert.pem(), certified.signing_key.serialize_pem(), der)
}

/// Connects over TLS offering `alpn`; returns the stream and the protocol the server chose.
async fn tls_connect(
    address: std::net::SocketAddr,
    root: rustls_pki_types::CertificateDer<'static>,
    alpn: &[&[u8]],
) -> (tokio_rustls::client::TlsStream<tokio::net::TcpStream>, Option<Vec<u8>>) {
    let mut roots = rustls::RootCertStore::empty();
    roots.add(root).expect("root");
    let provider = std::sync::Arc::new(rustls::crypto::ring::default_provider());
    let mut config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .expect("versions")
        .with_root_certificates(roots)
        .with_no_client_auth();
    config.alpn_protocols = alpn.iter().map(|protocol| protocol.to_vec()).collect();
    let connector = tokio_rustls::TlsConnector::from(std::sync::Arc::new(config));
    let tcp = tokio::net::TcpStream::connect(address).await.expect("connect");
    let name = rustls_pki_types::ServerName::try_from("localhost").expect("name");
    let stream = connector.connect(name, tcp).await.expect("TLS handshake");
    let protocol = stream.get_ref().1.alpn_protocol().map(<[u8]>::to_vec);
    (stream, protocol)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn https_with_alpn_serves_http2_and_http1_and_tells_the_app() {
    use http_body_util::{BodyExt, Empty};
    use hyper_util::rt::{TokioExecutor, TokioIo};

    let dir = tempfile::tempdir().expect("tempdir");
    let (cert, key, der) = certificate();
    std::fs::write(dir.path().join("cert.pem"), cert).expect("cert");
    std::fs::write(dir.path().join("key.pem"), key).expect("key");
    let cert_path = dir.path().join("cert.pem");
    let key_path = dir.path().join("key.pem");
    let node = TestNode::start_with(
        &dir.path().join("data"),
        &["--tls-cert", cert_path.to_str().expect("path"), "--tls-key", key_path.to_str().expect("path")],
    );
    common::deploy(&node, &write_app(dir.path(), "secure", &echo_manifest("secure", "/secure", 1, "1")));

    // HTTP/2, chosen by ALPN.
    let (stream, protocol) = tls_connect(node.gateway, der.clone(), &[b"h2", b"http/1.1"]).await;
    assert_eq!(protocol.as_deref(), Some(&b"h2"[..]));
    let (mut sender, connection) =
        hyper::client::conn::http2::handshake(TokioExecutor::new(), TokioIo::new(stream)).await.expect("h2");
    tokio::spawn(connection);
    let request =
        http::Request::get("https://localhost/secure/over-h2").body(Empty::<bytes::Bytes>::new()).expect("request");
    let response = sender.send_request(request).await.expect("response");
    assert_eq!((response.status(), response.version()), (http::StatusCode::OK, http::Version::HTTP_2));
    let body = response.into_body().collect().await.expect("body").to_bytes();
    let answer: serde_json::Value = serde_json::from_slice(&body).expect("json");
    assert_eq!(answer["path"], "/secure/over-h2");
    assert_eq!(answer["headers"]["x-forwarded-proto"], "https");

    // HTTP/1.1 over TLS for clients that only speak that.
    let (stream, protocol) = tls_connect(node.gateway, der, &[b"http/1.1"]).await;
    assert_eq!(protocol.as_deref(), Some(&b"http/1.1"[..]));
    let (mut sender, connection) = hyper::client::conn::http1::handshake(TokioIo::new(stream)).await.expect("h1");
    tokio::spawn(connection);
    let request = http::Request::get("/secure/over-h1")
        .header("host", "localhost")
        .body(Empty::<bytes::Bytes>::new())
        .expect("request");
    let response = sender.send_request(request).await.expect("response");
    assert_eq!(response.status(), 200);
    let body = response.into_body().collect().await.expect("body").to_bytes();
    let answer: serde_json::Value = serde_json::from_slice(&body).expect("json");
    assert_eq!(answer["headers"]["x-forwarded-proto"], "https");
}

/// One gRPC call over h2c through the gateway: the answer's message, and `grpc-status` (from the
/// trailers, or the headers of a trailers-only answer).
async fn grpc_call(gateway: std::net::SocketAddr, message: &[u8]) -> (Vec<u8>, String) {
    use http_body_util::{BodyExt, Full};
    use hyper_util::rt::{TokioExecutor, TokioIo};

    let tcp = tokio::net::TcpStream::connect(gateway).await.expect("connect");
    let (mut sender, connection) =
        hyper::client::conn::http2::handshake(TokioExecutor::new(), TokioIo::new(tcp)).await.expect("h2c");
    tokio::spawn(connection);
    let mut frame = vec![0u8];
    frame.extend_from_slice(&(message.len() as u32).to_be_bytes());
    frame.extend_from_slice(message);
    let request = http::Request::post(format!("http://{gateway}/echo.Echo/Say"))
        .header("content-type", "application/grpc")
        .header("te", "trailers")
        .body(Full::new(bytes::Bytes::from(frame)))
        .expect("request");
    let response = sender.send_request(request).await.expect("response");
    assert_eq!(response.status(), 200);
    let header_status = response.headers().get("grpc-status").map(|v| v.to_str().expect("text").to_string());
    let collected = response.into_body().collect().await.expect("body");
    let trailer_status =
        collected.trailers().and_then(|t| t.get("grpc-status")).map(|v| v.to_str().expect("text").to_string());
    let body = collected.to_bytes();
    let message = if body.len() >= 5 { body[5..].to_vec() } else { Vec::new() };
    (message, trailer_status.or(header_status).expect("a grpc-status"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn grpc_works_over_http2_end_to_end() {
    let dir = tempfile::tempdir().expect("tempdir");
    let node = TestNode::start(&dir.path().join("data"));
    let app = dir.path().join("grpc");
    std::fs::create_dir_all(&app).expect("dir");
    std::fs::write(app.join("server.py"), include_str!("fixtures/grpc_echo.py")).expect("server");
    std::fs::write(
        app.join("cloudlet.toml"),
        "name = \"grpc\"\n[[service]]\nname = \"echo\"\ncommand = [\"python3\", \"server.py\"]\nroute = \"/echo.Echo\"\n\
         protocol = \"h2c\"\nstop_timeout = \"2s\"\n",
    )
    .expect("manifest");
    common::deploy(&node, &app.join("cloudlet.toml"));

    let (message, status) = grpc_call(node.gateway, b"hello").await;
    assert_eq!((message.as_slice(), status.as_str()), (&b"echo: hello"[..], "0"));
    let (_, status) = grpc_call(node.gateway, b"fail").await;
    assert_eq!(status, "5", "NOT_FOUND comes through in the trailers");
    // Concurrent calls are multiplexed on the gateway's HTTP/2 connection to the instance.
    let gateway = node.gateway;
    let calls: Vec<_> = (0..20)
        .map(|index| tokio::spawn(async move { (index, grpc_call(gateway, format!("n{index}").as_bytes()).await) }))
        .collect();
    for call in calls {
        let (index, (message, status)) = call.await.expect("call");
        assert_eq!(
            (String::from_utf8_lossy(&message).to_string(), status),
            (format!("echo: n{index}"), "0".to_string())
        );
    }
}
