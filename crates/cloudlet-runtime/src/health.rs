//! Health probes: an HTTP GET on the service's `health` path (2xx and 3xx pass), or a TCP connect to
//! its port when it has none.

use std::net::{Ipv4Addr, SocketAddr};
use std::time::Duration;

use bytes::Bytes;
use http_body_util::Empty;
use hyper::client::conn::http1;
use hyper_util::rt::TokioIo;
use tokio::net::TcpStream;

/// How one probe is made.
#[derive(Clone, Debug)]
pub(crate) enum Probe {
    Http { path: String },
    Tcp,
}

impl Probe {
    pub(crate) fn new(path: Option<&str>) -> Self {
        match path {
            Some(path) => Probe::Http { path: path.to_string() },
            None => Probe::Tcp,
        }
    }

    /// Probes the instance listening on `port`, within `timeout`; the error says why it failed.
    pub(crate) async fn check(&self, port: u16, timeout: Duration) -> Result<(), String> {
        match tokio::time::timeout(timeout, self.check_once(port)).await {
            Ok(result) => result,
            Err(_) => Err(format!("no answer within {}ms", timeout.as_millis())),
        }
    }

    async fn check_once(&self, port: u16) -> Result<(), String> {
        let address = SocketAddr::from((Ipv4Addr::LOCALHOST, port));
        let stream = TcpStream::connect(address).await.map_err(|error| format!("connect to port {port}: {error}"))?;
        let Probe::Http { path } = self else { return Ok(()) };
        let (mut sender, connection) =
            http1::handshake(TokioIo::new(stream)).await.map_err(|error| format!("HTTP handshake: {error}"))?;
        tokio::spawn(connection);
        let request = http::Request::get(path.as_str())
            .header(http::header::HOST, format!("127.0.0.1:{port}"))
            .header(http::header::USER_AGENT, "cloudlet-health")
            .body(Empty::<Bytes>::new())
            .map_err(|error| format!("bad health path: {error}"))?;
        let response = sender.send_request(request).await.map_err(|error| format!("GET {path}: {error}"))?;
        let status = response.status();
        if status.is_success() || status.is_redirection() {
            Ok(())
        } else {
            Err(format!("GET {path} answered {status}"))
        }
    }
}
