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
