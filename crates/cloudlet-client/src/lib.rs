//! A typed client of the Cloudlet control API.
//!
//! [`Client`] speaks the JSON API documented in `docs/api.md`; [`model`] holds the shapes it returns.
//! It depends only on `cloudlet-config` (for [`Problem`](cloudlet_config::Problem)), never on the
//! server's crates: it sees the node the way any other program would.

pub mod model;

use std::time::Duration;

use bytes::Bytes;
use http::{Method, Request, StatusCode, Uri, header};
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper_util::client::legacy::Client as HttpClient;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use serde::de::DeserializeOwned;

use crate::model::{AppDetail, AppSummary, DeployOutcome, LogLine, NodeInfo};

/// Time to connect to the API.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);

/// Why a call failed.
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    #[error("cannot reach the Cloudlet API at {url}: {message} (is `cloudlet serve` running? set CLOUDLET_API)")]
    Connect { url: String, message: String },
    #[error("{message}")]
    Api { status: u16, code: String, message: String, problems: Vec<cloudlet_config::Problem> },
    #[error("unexpected answer from the API: {0}")]
    Decode(String),
    #[error("bad API address \"{0}\": expected e.g. http://127.0.0.1:7070")]
    BadUrl(String),
}

impl ClientError {
    /// The API's error code, when the API answered with an error.
    pub fn code(&self) -> Option<&str> {
        match self {
            ClientError::Api { code, .. } => Some(code),
            _ => None,
        }
    }
}

/// A client of one node's API.
#[derive(Clone)]
pub struct Client {
    base: String,
    token: Option<String>,
    http: HttpClient<HttpConnector, Full<Bytes>>,
}

impl Client {
    /// A client of the API at `base_url` (e.g. `http://127.0.0.1:7070`) using `token` for `/v1`.
    pub fn new(base_url: &str, token: Option<String>) -> Result<Self, ClientError> {
        let base = base_url.trim_end_matches('/').to_string();
        let uri: Uri = base.parse().map_err(|_| ClientError::BadUrl(base_url.to_string()))?;
        if uri.scheme_str() != Some("http") || uri.host().is_none() {
            return Err(ClientError::BadUrl(base_url.to_string()));
        }
        let mut connector = HttpConnector::new();
        connector.set_connect_timeout(Some(CONNECT_TIMEOUT));
        connector.set_nodelay(true);
        let http = HttpClient::builder(TokioExecutor::new()).build(connector);
        Ok(Self { base, token, http })
    }

    pub fn base_url(&self) -> &str {
        &self.base
    }

    /// `GET /v1/node`
    pub async fn node(&self) -> Result<NodeInfo, ClientError> {
        self.json(Method::GET, "/v1/node", None, None).await
    }

    /// Deploys a bundle (a manifest, or a tar.gz with `cloudlet.toml` at its root).
    pub async fn deploy(&self, bundle: Vec<u8>, content_type: &str) -> Result<DeployOutcome, ClientError> {
        self.json(Method::POST, "/v1/apps", Some(bundle.into()), Some(content_type)).await
    }

    pub async fn apps(&self) -> Result<Vec<AppSummary>, ClientError> {
        self.json(Method::GET, "/v1/apps", None, None).await
    }

    pub async fn app(&self, name: &str) -> Result<AppDetail, ClientError> {
        self.json(Method::GET, &format!("/v1/apps/{name}"), None, None).await
    }

    /// An app exactly as the API returns it.
    pub async fn app_json(&self, name: &str) -> Result<serde_json::Value, ClientError> {
        self.json(Method::GET, &format!("/v1/apps/{name}"), None, None).await
    }

    pub async fn delete(&self, name: &str) -> Result<(), ClientError> {
        let _: serde_json::Value = self.json(Method::DELETE, &format!("/v1/apps/{name}"), None, None).await?;
        Ok(())
    }

    pub async fn scale(&self, app: &str, workload: &str, min: u32, max: u32) -> Result<AppDetail, ClientError> {
        let body = serde_json::json!({ "min": min, "max": max }).to_string();
        let path = format!("/v1/apps/{app}/workloads/{workload}/scale");
        self.json(Method::POST, &path, Some(Bytes::from(body)), Some("application/json")).await
    }

    /// Recent log lines and, with `follow`, new ones as they come.
    pub async fn logs(
        &self,
        app: &str,
        tail: usize,
        follow: bool,
        instance: Option<&str>,
    ) -> Result<LogStream, ClientError> {
        let mut path = format!("/v1/apps/{app}/logs?tail={tail}&follow={follow}");
        if let Some(instance) = instance {
            path.push_str(&format!("&instance={instance}"));
        }
        let response = self.send(Method::GET, &path, None, None).await?;
        if !response.status().is_success() {
            return Err(error_from(response).await);
        }
        Ok(LogStream { body: response.into_body(), pending: Vec::new() })
    }

    async fn json<T: DeserializeOwned>(
        &self,
        method: Method,
        path: &str,
        body: Option<Bytes>,
        content_type: Option<&str>,
    ) -> Result<T, ClientError> {
        let response = self.send(method, path, body, content_type).await?;
        if !response.status().is_success() {
            return Err(error_from(response).await);
        }
        let bytes = collect(response).await?;
        serde_json::from_slice(&bytes).map_err(|error| ClientError::Decode(error.to_string()))
    }

    async fn send(
        &self,
        method: Method,
        path: &str,
        body: Option<Bytes>,
        content_type: Option<&str>,
    ) -> Result<hyper::Response<Incoming>, ClientError> {
        let url = format!("{}{path}", self.base);
        let mut request = Request::builder().method(method).uri(&url);
        if let Some(token) = &self.token {
            request = request.header(header::AUTHORIZATION, format!("Bearer {token}"));
        }
        if let Some(content_type) = content_type {
            request = request.header(header::CONTENT_TYPE, content_type);
        }
        let request = request
            .body(Full::new(body.unwrap_or_default()))
            .map_err(|error| ClientError::BadUrl(format!("{url}: {error}")))?;
        self.http
            .request(request)
            .await
            .map_err(|error| ClientError::Connect { url: self.base.clone(), message: root_cause(&error) })
    }
}

/// Newline-delimited log lines from the API.
pub struct LogStream {
    body: Incoming,
    pending: Vec<u8>,
}

impl LogStream {
    /// The next line, or `None` when the stream ended.
    pub async fn next(&mut self) -> Option<Result<LogLine, ClientError>> {
        loop {
            if let Some(end) = self.pending.iter().position(|&byte| byte == b'\n') {
                let line: Vec<u8> = self.pending.drain(..=end).collect();
                return Some(serde_json::from_slice(&line).map_err(|error| ClientError::Decode(error.to_string())));
            }
            match self.body.frame().await? {
                Ok(frame) => {
                    if let Ok(data) = frame.into_data() {
                        self.pending.extend_from_slice(&data);
                    }
                }
                Err(error) => return Some(Err(ClientError::Decode(error.to_string()))),
            }
        }
    }
}

async fn collect(response: hyper::Response<Incoming>) -> Result<Bytes, ClientError> {
    response
        .into_body()
        .collect()
        .await
        .map(|collected| collected.to_bytes())
        .map_err(|error| ClientError::Decode(error.to_string()))
}

async fn error_from(response: hyper::Response<Incoming>) -> ClientError {
    let status = response.status();
    let bytes = match collect(response).await {
        Ok(bytes) => bytes,
        Err(error) => return error,
    };
    #[derive(serde::Deserialize)]
    struct Envelope {
        error: Body,
    }
    #[derive(serde::Deserialize)]
    struct Body {
        code: String,
        message: String,
        #[serde(default)]
        problems: Vec<cloudlet_config::Problem>,
    }
    match serde_json::from_slice::<Envelope>(&bytes) {
        Ok(envelope) => ClientError::Api {
            status: status.as_u16(),
            code: envelope.error.code,
            message: envelope.error.message,
            problems: envelope.error.problems,
        },
        Err(_) => ClientError::Api {
            status: status.as_u16(),
            code: status_code_name(status),
            message: format!("the API answered {status}: {}", String::from_utf8_lossy(&bytes).trim()),
            problems: Vec::new(),
        },
    }
}

fn status_code_name(status: StatusCode) -> String {
    status.canonical_reason().unwrap_or("error").to_ascii_lowercase().replace(' ', "_")
}

fn root_cause(error: &dyn std::error::Error) -> String {
    let mut cause = error;
    while let Some(source) = cause.source() {
        cause = source;
    }
    cause.to_string()
}
