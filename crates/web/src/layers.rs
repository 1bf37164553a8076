//! Cross-cutting layers: body limits, JSON answers for unknown paths (404)
//! and wrong methods (405), and the envelope every request passes through
//! once: its request id, its span, its metrics and the security headers.

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

pub fn wrap(router: Router, config: &WebConfig, metrics: Metrics) -> Router {
    router
        .method_not_allowed_fallback(method_not_allowed)
        .fallback(not_found)
        .layer(DefaultBodyLimit::max(config.max_body_bytes))
        .layer(Envelope {
            metrics,
            ids: RequestIds::new(),
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
        let answer = self.inner.call(request);
        let metrics = self.envelope.metrics.clone();
        Box::pin(
            async move {
                let mut response = answer.await?;
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
                headers.insert(REQUEST_ID, id);
                Ok(response)
            }
            .instrument(span),
        )
    }
}

/// Headers every response carries: no sniffing, no referrer; and unless the
/// handler chose otherwise (the HTML pages do), no framing, no active content
/// and no caching: credentials are never cacheable, responses that carry a
/// secret above all.
fn security_headers(headers: &mut HeaderMap) {
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    headers.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    for (name, value) in [
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
