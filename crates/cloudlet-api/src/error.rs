//! The API's error bodies: `{"error": {"code": "...", "message": "...", "problems": [...]}}`.

use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use cloudlet_config::Problem;
use cloudlet_control::{ControlError, ErrorCode};
use serde::Serialize;

/// An error answer.
#[derive(Debug)]
pub struct ApiError {
    status: StatusCode,
    body: ErrorBody,
}

#[derive(Debug, Serialize)]
struct ErrorBody {
    code: &'static str,
    message: String,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    problems: Vec<Problem>,
}

impl ApiError {
    pub fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        Self { status, body: ErrorBody { code, message: message.into(), problems: Vec::new() } }
    }
}

impl From<ControlError> for ApiError {
    fn from(error: ControlError) -> Self {
        let code = error.code();
        let status = match code {
            ErrorCode::InvalidManifest | ErrorCode::InvalidBundle | ErrorCode::InvalidScale => StatusCode::BAD_REQUEST,
            ErrorCode::AppNotFound | ErrorCode::WorkloadNotFound => StatusCode::NOT_FOUND,
            ErrorCode::Storage => StatusCode::INTERNAL_SERVER_ERROR,
        };
        if status == StatusCode::INTERNAL_SERVER_ERROR {
            tracing::error!(%error, "control operation failed");
        }
        let message = error.to_string();
        let problems = match error {
            ControlError::InvalidManifest(problems) => problems,
            _ => Vec::new(),
        };
        Self { status, body: ErrorBody { code: code.as_str(), message, problems } }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        #[derive(Serialize)]
        struct Envelope {
            error: ErrorBody,
        }
        (self.status, Json(Envelope { error: self.body })).into_response()
    }
}
