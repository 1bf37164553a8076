//! Cross-cutting layers: body limits, JSON answers for unknown paths (404)
//! and wrong methods (405), and the envelope every request passes through
//! once: its request id, its span, its metrics, the security headers (HSTS
//! when Keyward is reached over https), a limit on the request headers
//! (431) and a timeout on the answer (503).

use std::convert::Infallible;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::task::{Context, Poll};
use std::time::Instant;

use axum::Router;
use axum::extract::{DefaultBodyLimit, MatchedPath, Request};
use axum::http::{HeaderMap, HeaderName, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use keyward_core::Error;
use tower::{Layer, Service};
use tracing::Instrument;

use crate::error::ApiError;
use crate::metrics::{Metrics, method_label};
use crate::state::WebConfig;

const REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

/// The most request header bytes (names and values) accepted: more is 431.
pub const MAX_HEADER_BYTES: usize = 16 * 1024;

/// HSTS for a deployment reached over https: a year, subdomains included.
const HSTS: &str = "max-age=31536000; includeSubDomains";

pub fn wrap(router: Router, config: &WebConfig, metrics: Metrics) -> Router {
    router
        .method_not_allowed_fallback(method_not_allowed)
        .fallback(not_found)
        .layer(DefaultBodyLimit::max(config.max_body_bytes))
        .layer(Envelope {
            metrics,
            ids: RequestIds::new(),
            timeout: config.request_timeout,
            hsts: config.issuer.starts_with("https://"),
        })
}

/// What every request passes through, in one service rather than a layer
/// per concern: its id (the caller's `X-Request-Id`, or a new one) on the
/// request and the response, a span, its count and latency by route
/// template, and the security headers on the answer.
#[derive(Clone)]
struct Envelope {
    metrics: Metrics,
    ids: RequestIds,
    /// The longest a request may take to be answered.
    timeout: std::time::Duration,
    /// Whether responses carry `Strict-Transport-Security`.
    hsts: bool,
}

impl<S> Layer<S> for Envelope {
    type Service = EnvelopeService<S>;

    fn layer(&self, inner: S) -> Self::Service {
        EnvelopeService {
            inner,
            envelope: self.clone(),
        }
    }
}

#[derive(Clone)]
struct EnvelopeService<S> {
    inner: S,
    envelope: Envelope,
}

impl<S> Service<Request> for EnvelopeService<S>
where
    S: Service<Request, Response = Response, Error = Infallible> + Send + 'static,
    S::Future: Send + 'static,
{
    type Response = Response;
    type Error = Infallible;
    type Future = Pin<Box<dyn Future<Output = Result<Response, Infallible>> + Send>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, mut request: Request) -> Self::Future {
        let started = Instant::now();
        let id = match request.headers().get(&REQUEST_ID) {
            Some(id) => id.clone(),
            None => {
                let id = self.envelope.ids.next();
                request.headers_mut().insert(REQUEST_ID, id.clone());
                id
            }
        };
        let method = method_label(request.method());
        let route = request.extensions().get::<MatchedPath>().cloned();
        let route_name = route.as_ref().map_or("<unmatched>", MatchedPath::as_str);
        // Only the method, route template and request id: never headers,
        // query strings or bodies, which may carry secrets.
        let span = tracing::info_span!(
            "request",
            method,
            route = route_name,
            request_id = id.to_str().unwrap_or("-")
        );
        let oversized = request
            .headers()
            .iter()
            .map(|(name, value)| name.as_str().len() + value.len())
            .sum::<usize>()
            > MAX_HEADER_BYTES;
        let answer = (!oversized).then(|| self.inner.call(request));
        let metrics = self.envelope.metrics.clone();
        let (timeout, hsts) = (self.envelope.timeout, self.envelope.hsts);
        Box::pin(
            async move {
                let mut response = match answer {
                    None => headers_too_large(),
                    Some(answer) => match tokio::time::timeout(timeout, answer).await {
                        Ok(response) => response?,
                        Err(_) => timed_out(),
                    },
                };
                let status = response.status();
                let took = started.elapsed();
                if status.is_server_error() {
                    tracing::error!(status = status.as_u16(), ?took, "request failed");
                } else {
                    tracing::debug!(status = status.as_u16(), ?took, "answered");
                }
                let route = route.as_ref().map_or("<unmatched>", MatchedPath::as_str);
                metrics.http_request(method, route, status.as_u16(), took);
                let headers = response.headers_mut();
                security_headers(headers);
                if hsts {
                    headers.insert(
                        header::STRICT_TRANSPORT_SECURITY,
                        HeaderValue::from_static(HSTS),
                    );
                }
                headers.insert(REQUEST_ID, id);
                Ok(response)
            }
            .instrument(span),
        )
    }
}

/// Headers every response carries: no sniffing; and unless the handler
/// chose otherwise (the HTML pages do), no referrer, no framing, no active
/// content and no caching: credentials are never cacheable, responses that carry a
/// secret above all.
fn security_headers(headers: &mut HeaderMap) {
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    for (name, value) in [
        // Pages choose `same-origin` (see `ui::pages`).
        (header::REFERRER_POLICY, "no-referrer"),
        (header::X_FRAME_OPTIONS, "DENY"),
        (
            header::CONTENT_SECURITY_POLICY,
            "default-src 'none'; frame-ancestors 'none'",
        ),
        (header::CACHE_CONTROL, "no-store"),
    ] {
        headers
            .entry(name)
            .or_insert(HeaderValue::from_static(value));
    }
}

/// Request ids shaped like UUIDs: a random per-process half and a counter,
/// unique without asking the operating system for randomness per request.
#[derive(Clone)]
struct RequestIds {
    prefix: u64,
    next: Arc<AtomicU64>,
}

impl RequestIds {
    fn new() -> Self {
        let mut bytes = [0u8; 8];
        keyward_core::random::Random::fill(&keyward_core::random::OsRandom, &mut bytes);
        Self {
            prefix: u64::from_be_bytes(bytes),
            next: Default::default(),
        }
    }

    fn next(&self) -> HeaderValue {
        let n = self.next.fetch_add(1, Ordering::Relaxed);
        let mut text = [0u8; uuid::fmt::Hyphenated::LENGTH];
        let text = uuid::Uuid::from_u64_pair(self.prefix, n)
            .hyphenated()
            .encode_lower(&mut text);
        HeaderValue::from_str(text).expect("a UUID is a valid header value")
    }
}

/// 431: the request's headers are over [`MAX_HEADER_BYTES`].
fn headers_too_large() -> Response {
    ApiError::with_status(
        Error::invalid(
            "headers",
            format!("the request headers exceed {MAX_HEADER_BYTES} bytes"),
        ),
        StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE,
    )
    .into_response()
}

/// 503: the answer took longer than the request timeout; the work was
/// abandoned (a change is one transaction: all or nothing of it is done).
fn timed_out() -> Response {
    let mut response = ApiError::with_status(
        Error::Internal("the request timed out".into()),
        StatusCode::SERVICE_UNAVAILABLE,
    )
    .into_response();
    response
        .headers_mut()
        .insert(header::RETRY_AFTER, HeaderValue::from_static("1"));
    response
}

async fn method_not_allowed() -> Response {
    ApiError::with_status(
        Error::invalid("method", "this method is not allowed on this path"),
        StatusCode::METHOD_NOT_ALLOWED,
    )
    .into_response()
}

async fn not_found() -> Response {
    ApiError::from(Error::NotFound("no such endpoint".into())).into_response()
}
