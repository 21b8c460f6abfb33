//! The control API every node serves (`--api`, default `127.0.0.1:7070`).
//!
//! - `/healthz` (process is up), `/readyz` (apps restored, listeners up) and `/metrics`
//!   (Prometheus/OpenMetrics text) are open;
//! - everything under `/v1` needs `Authorization: Bearer <admin token>` ([`auth`]);
//! - [`apps`]: deploy, list, show, delete, scale; [`logs`]: recent and live instance output;
//! - [`error`]: every error is `{"error": {"code", "message", ...}}` with the matching status.
//!
//! Handlers are thin: they parse, call [`cloudlet_control::Control`] and render. docs/api.md lists
//! the endpoints.

pub mod apps;
pub mod auth;
pub mod error;
pub mod logs;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use axum::Router;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use cloudlet_control::Control;
use cloudlet_runtime::Runtime;
use prometheus_client::registry::Registry;
use tokio_util::sync::CancellationToken;

use crate::error::ApiError;

/// Where this node listens, for clients that print URLs.
#[derive(Clone, Debug, serde::Serialize)]
pub struct NodeInfo {
    pub version: &'static str,
    pub gateway: std::net::SocketAddr,
    pub api: std::net::SocketAddr,
    pub kv: std::net::SocketAddr,
    pub cache: std::net::SocketAddr,
}

/// What the handlers share.
pub struct ApiState {
    pub node: NodeInfo,
    pub control: Arc<Control>,
    pub runtime: Arc<Runtime>,
    pub registry: Arc<Registry>,
    pub token: String,
    /// Set once the node has restored its apps.
    pub ready: AtomicBool,
    /// Fires when the node shuts down; ends `logs -f` streams.
    pub shutdown: CancellationToken,
}

/// The API's routes.
pub fn router(state: Arc<ApiState>) -> Router {
    let v1 = Router::new()
        .route("/node", get(node))
        .route("/apps", post(apps::deploy).get(apps::list))
        .route("/apps/{app}", get(apps::show).delete(apps::delete))
        .route("/apps/{app}/workloads/{workload}/scale", post(apps::scale))
        .route("/apps/{app}/logs", get(logs::logs))
        .route_layer(axum::middleware::from_fn_with_state(state.clone(), auth::require_token));
    Router::new()
        .route("/healthz", get(|| async { "ok\n" }))
        .route("/readyz", get(readyz))
        .route("/metrics", get(metrics))
        .nest("/v1", v1)
        .fallback(|| async { ApiError::new(StatusCode::NOT_FOUND, "not_found", "no such endpoint") })
        .with_state(state)
}

async fn node(State(state): State<Arc<ApiState>>) -> Response {
    axum::Json(state.node.clone()).into_response()
}

async fn readyz(State(state): State<Arc<ApiState>>) -> Response {
    if state.ready.load(Ordering::SeqCst) {
        "ready\n".into_response()
    } else {
        ApiError::new(StatusCode::SERVICE_UNAVAILABLE, "not_ready", "the node is still starting").into_response()
    }
}

async fn metrics(State(state): State<Arc<ApiState>>) -> Response {
    state.runtime.refresh_metrics();
    let mut text = String::new();
    if prometheus_client::encoding::text::encode(&mut text, &state.registry).is_err() {
        return ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, "metrics", "could not encode metrics").into_response();
    }
    ([(header::CONTENT_TYPE, "application/openmetrics-text; version=1.0.0; charset=utf-8")], text).into_response()
}
