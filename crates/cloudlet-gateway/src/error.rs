//! The gateway's own answers when it cannot forward: a status and a JSON body
//! `{"error": {"code": "...", "message": "..."}}`, the same shape the control API uses.

use std::time::Duration;

use http::{HeaderValue, Response, StatusCode, header};

use crate::body::ResponseBody;

/// Why a request was not forwarded, or why forwarding failed.
#[derive(Debug)]
pub(crate) enum GatewayError {
    /// No route matches the request's host and path.
    NoRoute,
    /// The route's workload has no instance ready to serve.
    NoHealthyInstance { upstream: String },
    /// The request body is larger than the route allows.
    BodyTooLarge { limit: u64 },
    /// The instance could not be reached (after one retry elsewhere).
    Connect { upstream: String },
    /// The instance failed while the request was in flight.
    Upstream { upstream: String },
    /// No response headers within the route's timeout.
    Timeout { limit: Duration },
    /// The workload is at zero and no instance became ready within the activation timeout.
    ActivationTimeout { upstream: String, limit: Duration },
    /// The workload is at zero and as many requests as may wait for it already do.
    ActivationQueueFull { upstream: String },
}

impl GatewayError {
    fn status(&self) -> StatusCode {
        match self {
            GatewayError::NoRoute => StatusCode::NOT_FOUND,
            GatewayError::NoHealthyInstance { .. }
            | GatewayError::ActivationTimeout { .. }
            | GatewayError::ActivationQueueFull { .. } => StatusCode::SERVICE_UNAVAILABLE,
            GatewayError::BodyTooLarge { .. } => StatusCode::PAYLOAD_TOO_LARGE,
            GatewayError::Connect { .. } | GatewayError::Upstream { .. } => StatusCode::BAD_GATEWAY,
            GatewayError::Timeout { .. } => StatusCode::GATEWAY_TIMEOUT,
        }
    }

    fn code(&self) -> &'static str {
        match self {
            GatewayError::NoRoute => "no_route",
            GatewayError::NoHealthyInstance { .. } => "no_healthy_instance",
            GatewayError::BodyTooLarge { .. } => "body_too_large",
            GatewayError::Connect { .. } => "upstream_unreachable",
            GatewayError::Upstream { .. } => "upstream_failed",
            GatewayError::Timeout { .. } => "upstream_timeout",
            GatewayError::ActivationTimeout { .. } => "activation_timeout",
            GatewayError::ActivationQueueFull { .. } => "activation_queue_full",
        }
    }

    fn message(&self) -> String {
        match self {
            GatewayError::NoRoute => "no route matches this host and path".to_string(),
            GatewayError::NoHealthyInstance { upstream } => format!("{upstream} has no healthy instance"),
            GatewayError::BodyTooLarge { limit } => {
                format!("request body is larger than the route's limit of {limit} bytes")
            }
            GatewayError::Connect { upstream } => format!("could not connect to an instance of {upstream}"),
            GatewayError::Upstream { upstream } => format!("an instance of {upstream} failed before responding"),
            GatewayError::Timeout { limit } => {
                format!("no response within the route's timeout of {}ms", limit.as_millis())
            }
            GatewayError::ActivationTimeout { upstream, limit } => {
                format!("{upstream} is scaled to zero and no instance was ready within {}ms", limit.as_millis())
            }
            GatewayError::ActivationQueueFull { upstream } => {
                format!("{upstream} is scaling from zero and too many requests are already waiting for it")
            }
        }
    }

    pub(crate) fn into_response(self) -> Response<ResponseBody> {
        let mut response = error_response(self.status(), self.code(), &self.message());
        if matches!(
            self,
            GatewayError::NoHealthyInstance { .. }
                | GatewayError::ActivationTimeout { .. }
                | GatewayError::ActivationQueueFull { .. }
        ) {
            response.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from_static("1"));
        }
        response
    }
}

/// A JSON error answer, `{"error": {"code": ..., "message": ...}}`, the shape every Cloudlet error has.
pub fn error_response(status: StatusCode, code: &str, message: &str) -> Response<ResponseBody> {
    let body = serde_json::json!({ "error": { "code": code, "message": message } });
    let mut response = Response::new(ResponseBody::full(body.to_string()));
    *response.status_mut() = status;
    response.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static("application/json"));
    response
}
