//! Errors of control-plane operations, each with a stable code that the API maps to an HTTP status
//! and the CLI prints.

use cloudlet_config::Problem;

use crate::bundle::BundleError;
use crate::store::StoreError;

/// Stable, machine-readable error codes (the `code` of an API error body).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ErrorCode {
    InvalidManifest,
    InvalidBundle,
    InvalidScale,
    AppNotFound,
    WorkloadNotFound,
    Storage,
}

impl ErrorCode {
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorCode::InvalidManifest => "invalid_manifest",
            ErrorCode::InvalidBundle => "invalid_bundle",
            ErrorCode::InvalidScale => "invalid_scale",
            ErrorCode::AppNotFound => "app_not_found",
            ErrorCode::WorkloadNotFound => "workload_not_found",
            ErrorCode::Storage => "storage_error",
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ControlError {
    #[error("the manifest has {} problem{}", .0.len(), if .0.len() == 1 { "" } else { "s" })]
    InvalidManifest(Vec<Problem>),
    #[error(transparent)]
    InvalidBundle(#[from] BundleError),
    #[error("{0}")]
    InvalidScale(String),
    #[error("no app named \"{0}\"")]
    AppNotFound(String),
    #[error("app \"{app}\" has no workload named \"{workload}\"")]
    WorkloadNotFound { app: String, workload: String },
    #[error(transparent)]
    Storage(#[from] StoreError),
}

impl ControlError {
    pub fn code(&self) -> ErrorCode {
        match self {
            ControlError::InvalidManifest(_) => ErrorCode::InvalidManifest,
            ControlError::InvalidBundle(BundleError::Io(_)) | ControlError::Storage(_) => ErrorCode::Storage,
            ControlError::InvalidBundle(_) => ErrorCode::InvalidBundle,
            ControlError::InvalidScale(_) => ErrorCode::InvalidScale,
            ControlError::AppNotFound(_) => ErrorCode::AppNotFound,
            ControlError::WorkloadNotFound { .. } => ErrorCode::WorkloadNotFound,
        }
    }
}
