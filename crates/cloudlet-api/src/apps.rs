//! `/v1/apps`: deploy, list, show, delete, scale.

use std::sync::Arc;

use axum::Json;
use axum::body::Body;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use http_body_util::{BodyExt, Limited};
use serde::Deserialize;

use crate::ApiState;
use crate::error::ApiError;

/// `POST /v1/apps`: the body is a manifest, or a tar / tar.gz bundle with `cloudlet.toml` at its root.
/// 202 when something changed (instances roll out in the background), 200 when it was already deployed.
pub async fn deploy(State(state): State<Arc<ApiState>>, body: Body) -> Result<Response, ApiError> {
    let limit = state.control.max_bundle_bytes();
    let bytes = match Limited::new(body, usize::try_from(limit).unwrap_or(usize::MAX)).collect().await {
        Ok(collected) => collected.to_bytes(),
        Err(error) if error.is::<http_body_util::LengthLimitError>() => {
            return Err(ApiError::new(
                StatusCode::PAYLOAD_TOO_LARGE,
                "bundle_too_large",
                format!("the bundle is larger than {limit} bytes"),
            ));
        }
        Err(error) => {
            return Err(ApiError::new(
                StatusCode::BAD_REQUEST,
                "bad_body",
                format!("could not read the body: {error}"),
            ));
        }
    };
    // Run to completion even if the client goes away: a half-applied deploy helps no one.
    let control = state.control.clone();
    let outcome = tokio::spawn(async move { control.deploy(bytes.to_vec()).await }).await.map_err(internal)??;
    let status = if outcome.changed { StatusCode::ACCEPTED } else { StatusCode::OK };
    Ok((status, Json(outcome)).into_response())
}

/// `GET /v1/apps`
pub async fn list(State(state): State<Arc<ApiState>>) -> Response {
    Json(state.control.list().await).into_response()
}

/// `GET /v1/apps/{app}`
pub async fn show(State(state): State<Arc<ApiState>>, Path(app): Path<String>) -> Result<Response, ApiError> {
    Ok(Json(state.control.get(&app).await?).into_response())
}

/// `DELETE /v1/apps/{app}`: returns once every instance has stopped.
pub async fn delete(State(state): State<Arc<ApiState>>, Path(app): Path<String>) -> Result<Response, ApiError> {
    let control = state.control.clone();
    let name = app.clone();
    tokio::spawn(async move { control.delete(&name).await }).await.map_err(internal)??;
    Ok(Json(serde_json::json!({ "deleted": app })).into_response())
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ScaleRequest {
    pub min: u32,
    pub max: u32,
}

/// `POST /v1/apps/{app}/workloads/{workload}/scale` with `{"min": N, "max": M}`.
pub async fn scale(
    State(state): State<Arc<ApiState>>,
    Path((app, workload)): Path<(String, String)>,
    body: axum::body::Bytes,
) -> Result<Response, ApiError> {
    let request: ScaleRequest = serde_json::from_slice(&body).map_err(|error| {
        ApiError::new(StatusCode::BAD_REQUEST, "bad_request", format!("expected {{\"min\": N, \"max\": M}}: {error}"))
    })?;
    let control = state.control.clone();
    let scaled = tokio::spawn(async move { control.scale(&app, &workload, request.min, request.max).await });
    Ok(Json(scaled.await.map_err(internal)??).into_response())
}

fn internal(error: tokio::task::JoinError) -> ApiError {
    ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, "internal", format!("the operation failed: {error}"))
}
