//! The KV listener until the Raft-backed store lands: it binds (so the node's contract and ports are
//! stable) and answers every connection with one RESP error, then closes it.

use tokio::io::AsyncWriteExt;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

pub(crate) async fn serve(listener: TcpListener, what: &'static str, shutdown: CancellationToken) {
    let reply = format!("-ERR not yet available: {what} is not part of this release\r\n");
    loop {
        let accepted = tokio::select! {
            () = shutdown.cancelled() => return,
            accepted = listener.accept() => accepted,
        };
        if let Ok((mut stream, _)) = accepted {
            let reply = reply.clone();
            tokio::spawn(async move {
                let _ = stream.write_all(reply.as_bytes()).await;
                let _ = stream.shutdown().await;
            });
        }
    }
}
