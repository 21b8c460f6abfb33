//! Outbound HTTP from `wasi:http` guests: denied unless the function's `allowed_outbound_hosts`
//! names the destination; allowed requests go out over plain HTTP/1.1 (HTTPS is not available to
//! guests yet and is refused with a TLS error).

use std::time::Duration;

use cloudlet_config::OutboundHost;
use http_body_util::BodyExt;
use hyper_util::rt::TokioIo;
use tokio::net::TcpStream;
use wasmtime_wasi_http::{Error, RequestOptions, WasiBody, WasiHttpHooks};

/// Default time to connect when the guest sets none.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

/// The outbound policy of one request's store.
pub(crate) struct Outbound {
    pub(crate) allowed: std::sync::Arc<[OutboundHost]>,
    pub(crate) sink: crate::output::LogSink,
}

type SendFuture = Box<
    dyn std::future::Future<
            Output = Result<
                (http::Response<WasiBody>, Box<dyn std::future::Future<Output = Result<(), Error>> + Send>),
                Error,
            >,
        > + Send,
>;

impl WasiHttpHooks for Outbound {
    fn send_request(
        &mut self,
        request: http::Request<WasiBody>,
        options: Option<RequestOptions>,
        _response_errors: Box<dyn std::future::Future<Output = Result<(), Error>> + Send>,
    ) -> SendFuture {
        let uri = request.uri().clone();
        let scheme = uri.scheme_str().unwrap_or("http").to_ascii_lowercase();
        let host = uri.host().unwrap_or("").to_string();
        let port = uri.port_u16().unwrap_or(if scheme == "https" { 443 } else { 80 });
        if !self.allowed.iter().any(|entry| entry.allows(&scheme, &host, port)) {
            let message = format!("outbound request to {scheme}://{host}:{port} denied: not in allowed_outbound_hosts");
            (self.sink)(crate::output::OutputStream::System, &message);
            return Box::new(async { Err(Error::HttpRequestDenied) });
        }
        if scheme != "http" {
            return Box::new(async { Err(Error::TlsProtocolError) });
        }
        let connect_timeout = options.and_then(|options| options.connect_timeout).unwrap_or(CONNECT_TIMEOUT);
        Box::new(async move {
            let stream = match tokio::time::timeout(connect_timeout, TcpStream::connect((host.as_str(), port))).await {
                Ok(Ok(stream)) => stream,
                Ok(Err(error)) if error.kind() == std::io::ErrorKind::ConnectionRefused => {
                    return Err(Error::ConnectionRefused);
                }
                Ok(Err(error)) => return Err(Error::Connect(error)),
                Err(_) => return Err(Error::ConnectionTimeout),
            };
            let _ = stream.set_nodelay(true);
            let (mut sender, connection) = hyper::client::conn::http1::handshake(TokioIo::new(stream)).await?;
            let (mut parts, body) = request.into_parts();
            parts.uri = parts.uri.path_and_query().map_or("/", |path| path.as_str()).parse().unwrap_or_default();
            let response = async move { sender.send_request(http::Request::from_parts(parts, body)).await };
            let io: Box<dyn std::future::Future<Output = Result<(), Error>> + Send> =
                Box::new(async move { connection.await.map_err(Error::from) });
            let (response, io) = drive(response, io).await?;
            Ok((response.map(|body| body.map_err(Error::from).boxed_unsync()), io))
        })
    }
}

/// Runs the connection until the response head arrives; the caller keeps driving it for the body.
async fn drive(
    response: impl std::future::Future<Output = Result<http::Response<hyper::body::Incoming>, hyper::Error>>,
    io: Box<dyn std::future::Future<Output = Result<(), Error>> + Send>,
) -> Result<
    (http::Response<hyper::body::Incoming>, Box<dyn std::future::Future<Output = Result<(), Error>> + Send>),
    Error,
> {
    let mut io = Box::into_pin(io);
    tokio::pin!(response);
    tokio::select! {
        result = &mut response => Ok((result?, Box::new(io) as Box<_>)),
        ended = &mut io => {
            ended?;
            Err(Error::ConnectionTerminated)
        }
    }
}
