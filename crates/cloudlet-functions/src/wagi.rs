//! The WAGI executor: a WASI preview 1 command module run like a CGI script. The request arrives in
//! the environment (`REQUEST_METHOD`, `PATH_INFO`, `QUERY_STRING`, `HTTP_*` …) and on stdin; the
//! response is read from stdout: CGI headers (`Status`, `Content-Type`, `Location`, others), a blank
//! line, the body.

use std::net::SocketAddr;
use std::sync::Arc;

use bytes::Bytes;
use cloudlet_gateway::{ResponseBody, error_response};
use http::{HeaderName, HeaderValue, Request, Response, StatusCode, header};
use http_body_util::{BodyExt, LengthLimitError, Limited};
use hyper::body::Incoming;
use tokio::time::Instant;
use wasmtime::InstancePre;
use wasmtime_wasi::I32Exit;
use wasmtime_wasi::p2::pipe::{MemoryInputPipe, MemoryOutputPipe};

use crate::function::{Busy, Failure, Inner};
use crate::host::{TimedOut, WagiHost};

/// Most output a WAGI module may write for one response.
pub const MAX_OUTPUT: usize = 16 << 20;

/// Reads the request and its whole body (the module's stdin), within the limits.
pub(crate) async fn read_request(
    inner: &Inner,
    request: Request<Incoming>,
    deadline: Instant,
) -> Result<(http::request::Parts, Bytes), Response<ResponseBody>> {
    let (parts, body) = request.into_parts();
    let max_body = inner.spec.limits.body;
    let limited = Limited::new(body, usize::try_from(max_body).unwrap_or(usize::MAX));
    match tokio::time::timeout_at(deadline, limited.collect()).await {
        Ok(Ok(collected)) => Ok((parts, collected.to_bytes())),
        Ok(Err(error)) if error.is::<LengthLimitError>() => Err(error_response(
            StatusCode::PAYLOAD_TOO_LARGE,
            "body_too_large",
            &format!("request body is larger than {max_body} bytes"),
        )),
        Ok(Err(error)) => {
            Err(error_response(StatusCode::BAD_REQUEST, "bad_request", &format!("could not read the body: {error}")))
        }
        Err(_) => Err(inner.failure_response(Failure::Timeout)),
    }
}

/// Runs the module for one request.
pub(crate) async fn run(
    inner: &Arc<Inner>,
    pre: &InstancePre<WagiHost>,
    parts: http::request::Parts,
    body: Bytes,
    client: SocketAddr,
    deadline: Instant,
    _busy: Busy,
) -> Response<ResponseBody> {
    let started = std::time::Instant::now();
    let route = inner.spec.route.as_ref().map_or("/", |route| route.path.as_str());
    let environment = cgi_environment(&parts, client, route, body.len(), &inner.spec.vars);
    let arguments = cgi_arguments(&parts, &inner.spec.source);
    let stdout = MemoryOutputPipe::new(MAX_OUTPUT);
    let mut builder = match inner.wasi_builder() {
        Ok(builder) => builder,
        Err(message) => return error_response(StatusCode::INTERNAL_SERVER_ERROR, "function_error", &message),
    };
    builder.args(&arguments).envs(&environment).stdin(MemoryInputPipe::new(body)).stdout(stdout.clone());
    let host = WagiHost { wasi: builder.build_p1(), limits: inner.memory_limit() };
    let mut store = inner.store(host, |host| &mut host.limits, deadline);
    let run = async {
        let instance = pre.instantiate_async(&mut store).await?;
        inner.metrics.instantiation.observe(started.elapsed().as_secs_f64());
        let start = instance.get_typed_func::<(), ()>(&mut store, "_start")?;
        start.call_async(&mut store, ()).await
    };
    let outcome = match tokio::time::timeout_at(deadline, run).await {
        Ok(outcome) => outcome,
        Err(_) => Err(wasmtime::Error::new(TimedOut)),
    };
    inner.metrics.duration.observe(started.elapsed().as_secs_f64());
    drop(store);
    if let Err(error) = outcome {
        match error.downcast_ref::<I32Exit>() {
            Some(I32Exit(0)) => {}
            Some(I32Exit(code)) => {
                let failure = Failure::Error(format!("exited with status {code}"));
                inner.failed(&failure);
                return inner.failure_response(failure);
            }
            None => {
                let failure = inner.failure(&error);
                return inner.failure_response(failure);
            }
        }
    }
    match parse_cgi(&stdout.contents()) {
        Ok(response) => response.map(ResponseBody::full),
        Err(message) => {
            (inner.sink)(crate::output::OutputStream::System, &format!("bad CGI output: {message}"));
            error_response(
                StatusCode::BAD_GATEWAY,
                "bad_cgi_output",
                &format!("function {} wrote a bad CGI response: {message}", inner.spec.name),
            )
        }
    }
}

/// The CGI/1.1 environment of a request (the variables WAGI and Spin set).
pub(crate) fn cgi_environment(
    parts: &http::request::Parts,
    client: SocketAddr,
    route: &str,
    content_length: usize,
    vars: &std::collections::BTreeMap<String, String>,
) -> Vec<(String, String)> {
    let path = parts.uri.path();
    let script_name = if route == "/" { "" } else { route };
    let raw_path_info = path.strip_prefix(script_name).unwrap_or(path);
    let host_header = parts.headers.get(header::HOST).and_then(|value| value.to_str().ok()).unwrap_or("");
    let (server_name, server_port) = match host_header.rsplit_once(':') {
        Some((name, port)) if port.chars().all(|c| c.is_ascii_digit()) => (name, port),
        _ => (host_header, "80"),
    };
    let mut environment: Vec<(String, String)> = vars.iter().map(|(key, value)| (key.clone(), value.clone())).collect();
    let mut set = |name: &str, value: String| environment.push((name.to_string(), value));
    set("REQUEST_METHOD", parts.method.to_string());
    set("SCRIPT_NAME", script_name.to_string());
    set("PATH_INFO", percent_decode(raw_path_info));
    set("X_RAW_PATH_INFO", raw_path_info.to_string());
    set("PATH_TRANSLATED", percent_decode(raw_path_info));
    set("QUERY_STRING", parts.uri.query().unwrap_or("").to_string());
    set("CONTENT_LENGTH", content_length.to_string());
    set(
        "CONTENT_TYPE",
        parts.headers.get(header::CONTENT_TYPE).and_then(|value| value.to_str().ok()).unwrap_or("").to_string(),
    );
    set("SERVER_NAME", server_name.to_string());
    set("SERVER_PORT", server_port.to_string());
    set("SERVER_PROTOCOL", format!("{:?}", parts.version));
    set("SERVER_SOFTWARE", format!("Cloudlet/{}", env!("CARGO_PKG_VERSION")));
    set("GATEWAY_INTERFACE", "CGI/1.1".to_string());
    set("REMOTE_ADDR", client.ip().to_string());
    set("REMOTE_HOST", client.ip().to_string());
    set("X_MATCHED_ROUTE", route.to_string());
    set("X_FULL_URL", format!("http://{host_header}{}", parts.uri.path_and_query().map_or("/", |p| p.as_str())));
    for (name, value) in &parts.headers {
        if name == header::AUTHORIZATION || name == header::CONNECTION {
            continue; // never handed to CGI scripts
        }
        if let Ok(value) = value.to_str() {
            let key = format!("HTTP_{}", name.as_str().to_ascii_uppercase().replace('-', "_"));
            environment.push((key, value.to_string()));
        }
    }
    environment
}

/// argv: the script, then the query's `&`-separated parts, decoded.
fn cgi_arguments(parts: &http::request::Parts, source: &str) -> Vec<String> {
    let mut arguments = vec![source.to_string()];
    if let Some(query) = parts.uri.query() {
        arguments.extend(
            query.split('&').filter(|part| !part.is_empty()).map(|part| percent_decode(&part.replace('+', " "))),
        );
    }
    arguments
}

/// Parses CGI output: headers, a blank line, the body.
pub(crate) fn parse_cgi(output: &[u8]) -> Result<Response<Bytes>, String> {
    let (head, body) = split_head(output).ok_or("no blank line after the headers")?;
    let head = std::str::from_utf8(head).map_err(|_| "the headers are not UTF-8 text")?;
    let mut response = Response::new(Bytes::copy_from_slice(body));
    let mut status = None;
    let mut has_type_or_location = false;
    for line in head.split('\n').map(|line| line.trim_end_matches('\r')).filter(|line| !line.is_empty()) {
        let (name, value) = line.split_once(':').ok_or_else(|| format!("bad header line \"{line}\""))?;
        let value = value.trim();
        if name.eq_ignore_ascii_case("status") {
            let code = value.split_whitespace().next().unwrap_or("");
            status = Some(code.parse::<StatusCode>().map_err(|_| format!("bad Status \"{value}\""))?);
            continue;
        }
        let name = HeaderName::from_bytes(name.trim().as_bytes()).map_err(|_| format!("bad header name \"{name}\""))?;
        let value = HeaderValue::from_str(value).map_err(|_| format!("bad value for {name}"))?;
        if name == header::CONTENT_TYPE || name == header::LOCATION {
            has_type_or_location = true;
        }
        if name == header::LOCATION && status.is_none() {
            *response.status_mut() = StatusCode::FOUND;
        }
        response.headers_mut().append(name, value);
    }
    if status.is_none() && !has_type_or_location {
        return Err("the headers name none of Content-Type, Location or Status".to_string());
    }
    if let Some(status) = status {
        *response.status_mut() = status;
    }
    response.headers_mut().remove(header::CONTENT_LENGTH);
    Ok(response)
}

fn split_head(output: &[u8]) -> Option<(&[u8], &[u8])> {
    let crlf = output.windows(4).position(|window| window == b"\r\n\r\n").map(|at| (at, 4));
    let lf = output.windows(2).position(|window| window == b"\n\n").map(|at| (at, 2));
    let (at, length) = match (crlf, lf) {
        (Some(a), Some(b)) => {
            if a.0 <= b.0 {
                a
            } else {
                b
            }
        }
        (Some(a), None) => a,
        (None, Some(b)) => b,
        (None, None) => return None,
    };
    Some((&output[..at], &output[at + length..]))
}

fn percent_decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut decoded = Vec::with_capacity(bytes.len());
    let mut index = 0;
    while index < bytes.len() {
        if let (b'%', Some(high), Some(low)) =
            (bytes[index], hex_value(bytes.get(index + 1)), hex_value(bytes.get(index + 2)))
        {
            decoded.push(high * 16 + low);
            index += 3;
            continue;
        }
        decoded.push(bytes[index]);
        index += 1;
    }
    String::from_utf8_lossy(&decoded).into_owned()
}

fn hex_value(byte: Option<&u8>) -> Option<u8> {
    let byte = *byte?;
    (byte as char).to_digit(16).map(|digit| digit as u8)
}

#[cfg(test)]
mod tests;
