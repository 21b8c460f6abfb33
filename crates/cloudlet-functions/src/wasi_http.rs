//! The `wasi:http` executor: a fresh instance of the component per request, the request body
//! streamed into the guest, the response body streamed back while the guest still writes it.

use std::sync::Arc;

use cloudlet_gateway::{ResponseBody, error_response};
use http::{Request, Response, StatusCode};
use http_body_util::{BodyExt, LengthLimitError, Limited};
use hyper::body::Incoming;
use tokio::time::Instant;
use wasmtime::component::ResourceTable;
use wasmtime_wasi_http::p2::bindings::ProxyPre;
use wasmtime_wasi_http::p2::bindings::http::types::Scheme;
use wasmtime_wasi_http::{WasiHttpCtx, WasiHttpView};

use crate::function::{Busy, Failure, Inner};
use crate::host::{HttpHost, TimedOut};
use crate::outbound::Outbound;

/// The store data of one request.
pub(crate) fn host(inner: &Inner) -> Result<HttpHost, String> {
    Ok(HttpHost {
        table: ResourceTable::new(),
        wasi: inner.wasi_builder()?.build(),
        http: WasiHttpCtx::new(),
        outbound: Outbound { allowed: inner.allowed.clone(), sink: inner.sink.clone() },
        config: inner.config.clone(),
        keyvalue: inner.keyvalue.clone(),
        limits: inner.memory_limit(),
    })
}

pub(crate) async fn handle(
    inner: Arc<Inner>,
    pre: ProxyPre<HttpHost>,
    request: Request<Incoming>,
    deadline: Instant,
    busy: Busy,
) -> Response<ResponseBody> {
    let host = match host(&inner) {
        Ok(host) => host,
        Err(message) => return error_response(StatusCode::INTERNAL_SERVER_ERROR, "function_error", &message),
    };
    let mut store = inner.store(host, |host| &mut host.limits, deadline);
    let max_body = inner.spec.limits.body;
    let request = request.map(move |body| {
        Limited::new(body, usize::try_from(max_body).unwrap_or(usize::MAX)).map_err(move |error| {
            if error.is::<LengthLimitError>() {
                wasmtime_wasi_http::Error::HttpRequestBodySize(Some(max_body))
            } else {
                wasmtime_wasi_http::Error::InternalError(Some(error.to_string()))
            }
        })
    });
    let incoming = match store.data_mut().http().new_incoming_request(Scheme::Http, request) {
        Ok(incoming) => incoming,
        Err(error) => return error_response(StatusCode::BAD_REQUEST, "bad_request", &format!("{error:#}")),
    };
    let (sender, receiver) = tokio::sync::oneshot::channel();
    let outparam = match store.data_mut().http().new_response_outparam(sender) {
        Ok(outparam) => outparam,
        Err(error) => {
            return error_response(StatusCode::INTERNAL_SERVER_ERROR, "function_error", &format!("{error:#}"));
        }
    };

    // The guest runs in its own task: it may keep writing the body after the response head is sent.
    let task_inner = inner.clone();
    let task = tokio::spawn(async move {
        let _busy = busy;
        let started = std::time::Instant::now();
        let run = async {
            let proxy = pre.instantiate_async(&mut store).await?;
            task_inner.metrics.instantiation.observe(started.elapsed().as_secs_f64());
            proxy.wasi_http_incoming_handler().call_handle(&mut store, incoming, outparam).await
        };
        let result = match tokio::time::timeout_at(deadline, run).await {
            Ok(result) => result,
            Err(_) => Err(wasmtime::Error::new(TimedOut)),
        };
        task_inner.metrics.duration.observe(started.elapsed().as_secs_f64());
        result
    });

    match tokio::time::timeout_at(deadline, receiver).await {
        Ok(Ok(Ok(response))) => {
            // A failure after the head (while streaming the body) still counts and is logged.
            let watcher = inner.clone();
            tokio::spawn(async move {
                if let Ok(Err(error)) = task.await {
                    watcher.failure(&error);
                }
            });
            response.map(ResponseBody::streamed)
        }
        Ok(Ok(Err(code))) => error_response(
            StatusCode::INTERNAL_SERVER_ERROR,
            "function_error",
            &format!("function {} answered with an error: {code:?}", inner.spec.name),
        ),
        // The guest ended without setting a response: the task says why.
        Ok(Err(_)) => match task.await {
            Ok(Ok(())) => {
                let failure = Failure::Error("returned without setting a response".to_string());
                inner.failed(&failure);
                inner.failure_response(failure)
            }
            Ok(Err(error)) => {
                let failure = inner.failure(&error);
                inner.failure_response(failure)
            }
            Err(join) => {
                let failure = Failure::Error(format!("the function's task failed: {join}"));
                inner.failed(&failure);
                inner.failure_response(failure)
            }
        },
        Err(_) => {
            task.abort();
            inner.failed(&Failure::Timeout);
            inner.failure_response(Failure::Timeout)
        }
    }
}
