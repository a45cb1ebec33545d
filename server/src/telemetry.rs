//! Logs, request ids and metrics.
//!
//! Spans and events carry ids, routes and statuses — never names, phone numbers,
//! ID numbers, addresses, tokens or query strings.

use std::sync::OnceLock;
use std::time::Instant;

use actix_web::HttpMessage;
use actix_web::body::MessageBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::header::{HeaderName, HeaderValue};
use actix_web::middleware::Next;
use metrics_exporter_prometheus::{PrometheusBuilder, PrometheusHandle};
use tracing::Instrument;
use tracing_subscriber::EnvFilter;
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;

use crate::config::LogFormat;

pub const REQUEST_ID_HEADER: HeaderName = HeaderName::from_static("x-request-id");

/// Installs the global subscriber once; later calls (tests) are no-ops.
pub fn init(format: LogFormat) {
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| {
        EnvFilter::new("info,sqlx=warn,sea_orm=warn,sea_orm_migration=warn,actix_server=warn,tokio_cron_scheduler=warn")
    });
    let registry = tracing_subscriber::registry().with(filter);
    let result = match format {
        LogFormat::Json => registry
            .with(tracing_subscriber::fmt::layer().json().with_current_span(true).with_span_list(false))
            .try_init(),
        LogFormat::Pretty => registry.with(tracing_subscriber::fmt::layer().with_target(false)).try_init(),
    };
    // Already initialised (several apps in one test process): keep the first.
    drop(result);
}

/// The process-wide Prometheus recorder; built once, shared by every app in the process.
pub fn metrics_handle() -> PrometheusHandle {
    static HANDLE: OnceLock<PrometheusHandle> = OnceLock::new();
    HANDLE
        .get_or_init(|| {
            let recorder = PrometheusBuilder::new()
                .set_buckets(&[0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0])
                .unwrap_or_else(|_| PrometheusBuilder::new())
                .build_recorder();
            let handle = recorder.handle();
            // Fails only if another recorder was installed first; then metrics go there.
            drop(metrics::set_global_recorder(recorder));
            handle
        })
        .clone()
}

/// The id of the request being served, for audit rows and problem responses.
#[derive(Clone, Debug)]
pub struct RequestId(pub String);

/// Accept an incoming id only when it is short and plain; otherwise make one.
fn sane_request_id(value: &HeaderValue) -> Option<String> {
    let s = value.to_str().ok()?;
    let ok = !s.is_empty()
        && s.len() <= 64
        && s.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b':'));
    ok.then(|| s.to_owned())
}

/// Root span per request with its id, route template and status; request metrics.
pub async fn observe(
    req: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<impl MessageBody>, actix_web::Error> {
    let request_id = req
        .headers()
        .get(&REQUEST_ID_HEADER)
        .and_then(sane_request_id)
        .unwrap_or_else(|| uuid::Uuid::new_v4().to_string());
    req.extensions_mut().insert(RequestId(request_id.clone()));
    let route = match req.match_pattern() {
        Some(pattern) if pattern.is_empty() || pattern == "/" => "static".to_owned(),
        Some(pattern) => pattern,
        None => "unmatched".to_owned(),
    };
    let method = req.method().to_string();
    let span = tracing::info_span!(
        "request",
        request_id = %request_id,
        method = %method,
        route = %route,
        status = tracing::field::Empty,
    );
    let started = Instant::now();
    let outcome = next.call(req).instrument(span.clone()).await;
    let elapsed = started.elapsed();
    let mut res = outcome?;
    let status = res.status().as_u16();
    span.record("status", status);
    let _entered = span.enter();
    if status >= 500 {
        tracing::warn!(elapsed_ms = elapsed.as_millis() as u64, status, "request failed");
    } else {
        tracing::info!(elapsed_ms = elapsed.as_millis() as u64, status, "request");
    }
    let labels = [("route", route), ("method", method), ("status", status.to_string())];
    metrics::counter!("linli_http_requests_total", &labels).increment(1);
    metrics::histogram!("linli_http_request_duration_seconds", &labels[..2]).record(elapsed.as_secs_f64());
    if let Ok(value) = HeaderValue::from_str(&request_id) {
        res.headers_mut().insert(REQUEST_ID_HEADER, value);
    }
    Ok(res)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn request_ids_must_be_plain() {
        assert_eq!(sane_request_id(&HeaderValue::from_static("abc-123")).as_deref(), Some("abc-123"));
        assert!(sane_request_id(&HeaderValue::from_static("a b")).is_none());
        assert!(sane_request_id(&HeaderValue::from_static("")).is_none());
        let long = "x".repeat(65);
        assert!(sane_request_id(&HeaderValue::from_str(&long).unwrap()).is_none());
    }
}
