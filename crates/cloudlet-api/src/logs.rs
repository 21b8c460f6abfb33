//! `GET /v1/apps/{app}/logs?tail=N&follow=true&instance=ID`: newline-delimited JSON log lines,
//! the recent ones first, then (with `follow`) new ones as they are written.

use std::sync::Arc;

use axum::body::{Body, Bytes};
use axum::extract::{Path, Query, State};
use axum::http::header;
use axum::response::{IntoResponse, Response};
use cloudlet_runtime::logs::{LogLine, Stream};
use futures_util::stream::{self, StreamExt};
use serde::Deserialize;
use tokio::sync::broadcast::error::RecvError;

use crate::ApiState;
use crate::error::ApiError;

#[derive(Deserialize)]
pub struct LogQuery {
    /// Recent lines to send first. Default 100.
    tail: Option<usize>,
    #[serde(default)]
    follow: bool,
    instance: Option<String>,
}

pub async fn logs(
    State(state): State<Arc<ApiState>>,
    Path(app): Path<String>,
    Query(query): Query<LogQuery>,
) -> Result<Response, ApiError> {
    let logs = state.control.logs(&app).await?;
    let tail = query.tail.unwrap_or(100).min(10_000);
    let live = query.follow.then(|| logs.follow());
    let recent = match &query.instance {
        Some(instance) => logs.instance_tail(instance, tail),
        None => logs.tail(tail),
    };
    let last_seq = recent.last().map(|line| line.seq);
    let recent = stream::iter(recent.into_iter().map(|line| Ok::<Bytes, std::convert::Infallible>(encode(&line))));
    let Some(receiver) = live else {
        return Ok(ndjson(Body::from_stream(recent)));
    };
    let instance = query.instance;
    let shutdown = state.shutdown.clone();
    let follow = stream::unfold((receiver, shutdown), move |(mut receiver, shutdown)| {
        let instance = instance.clone();
        async move {
            loop {
                let received = tokio::select! {
                    () = shutdown.cancelled() => return None,
                    received = receiver.recv() => received,
                };
                let line = match received {
                    Ok(line) if last_seq.is_some_and(|seq| line.seq <= seq) => continue,
                    Ok(line) if instance.as_deref().is_some_and(|wanted| wanted != &*line.instance) => continue,
                    Ok(line) => line,
                    Err(RecvError::Lagged(skipped)) => skipped_notice(skipped),
                    Err(RecvError::Closed) => return None,
                };
                return Some((Ok(encode(&line)), (receiver, shutdown)));
            }
        }
    });
    Ok(ndjson(Body::from_stream(recent.chain(follow))))
}

fn ndjson(body: Body) -> Response {
    ([(header::CONTENT_TYPE, "application/x-ndjson")], body).into_response()
}

fn encode(line: &LogLine) -> Bytes {
    let mut bytes = serde_json::to_vec(line).unwrap_or_default();
    bytes.push(b'\n');
    Bytes::from(bytes)
}

fn skipped_notice(skipped: u64) -> LogLine {
    LogLine {
        seq: 0,
        time_ms: 0,
        instance: Arc::from("cloudlet"),
        stream: Stream::System,
        text: format!("{skipped} lines skipped: this reader fell behind"),
    }
}
