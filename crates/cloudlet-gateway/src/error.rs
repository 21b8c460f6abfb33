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
    /// Over the app's rate limit, or the client's; a request may succeed after `retry_after`.
    RateLimited { client: bool, retry_after: Duration },
    /// The app's circuit breaker: as many requests as allowed are being answered.
    Overloaded { limit: usize },
}

impl GatewayError {
    fn status(&self) -> StatusCode {
        match self {
            GatewayError::NoRoute => StatusCode::NOT_FOUND,
            GatewayError::NoHealthyInstance { .. }
            | GatewayError::ActivationTimeout { .. }
            | GatewayError::ActivationQueueFull { .. }
            | GatewayError::Overloaded { .. } => StatusCode::SERVICE_UNAVAILABLE,
            GatewayError::RateLimited { .. } => StatusCode::TOO_MANY_REQUESTS,
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
            GatewayError::RateLimited { .. } => "rate_limited",
            GatewayError::Overloaded { .. } => "overloaded",
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
            GatewayError::RateLimited { client: true, .. } => "too many requests from this client".to_string(),
            GatewayError::RateLimited { client: false, .. } => "too many requests to this app".to_string(),
            GatewayError::Overloaded { limit } => {
                format!("the app is answering its limit of {limit} requests at once; try again")
            }
        }
    }

    /// Why the gateway shed the request, for clients and proxies in front (`X-Cloudlet-Reason`).
    fn reason(&self) -> Option<&'static str> {
        match self {
            GatewayError::ActivationQueueFull { .. } => Some("max-pending"),
            GatewayError::Overloaded { .. } => Some("max-in-flight"),
            GatewayError::RateLimited { client: true, .. } => Some("client-rate-limit"),
            GatewayError::RateLimited { client: false, .. } => Some("app-rate-limit"),
            _ => None,
        }
    }

    pub(crate) fn into_response(self) -> Response<ResponseBody> {
        let mut response = error_response(self.status(), self.code(), &self.message());
        let retry_after = match &self {
            GatewayError::RateLimited { retry_after, .. } => Some(retry_after.as_secs_f64().ceil().max(1.0) as u64),
            GatewayError::NoHealthyInstance { .. }
            | GatewayError::ActivationTimeout { .. }
            | GatewayError::ActivationQueueFull { .. }
            | GatewayError::Overloaded { .. } => Some(1),
            _ => None,
        };
        if let Some(seconds) = retry_after {
            response.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from(seconds));
        }
        if let Some(reason) = self.reason() {
            response.headers_mut().insert("x-cloudlet-reason", HeaderValue::from_static(reason));
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
