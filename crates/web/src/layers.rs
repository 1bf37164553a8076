//! Cross-cutting layers: request ids and spans, body limits, security
//! headers, `no-store` on the API, and JSON answers for unknown paths (404)
//! and wrong methods (405).

use axum::Router;
use axum::extract::{DefaultBodyLimit, MatchedPath, Request};
use axum::http::{HeaderName, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use keyward_core::Error;
use tower::ServiceBuilder;
use tower_http::request_id::{
    MakeRequestId, PropagateRequestIdLayer, RequestId, SetRequestIdLayer,
};
use tower_http::trace::TraceLayer;

use crate::error::ApiError;
use crate::state::WebConfig;

const REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

pub fn wrap(router: Router, config: &WebConfig) -> Router {
    let trace = TraceLayer::new_for_http().make_span_with(|req: &Request| {
        let route = req
            .extensions()
            .get::<MatchedPath>()
            .map_or("<unmatched>", MatchedPath::as_str);
        let id = req
            .headers()
            .get(&REQUEST_ID)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("-");
        // Only the method, route template and request id: never headers,
        // query strings or bodies, which may carry secrets.
        tracing::info_span!("request", method = %req.method(), route, request_id = id)
    });
    router
        .method_not_allowed_fallback(method_not_allowed)
        .fallback(not_found)
        .layer(DefaultBodyLimit::max(config.max_body_bytes))
        .layer(axum::middleware::map_response(security_headers))
        .layer(
            ServiceBuilder::new()
                .layer(SetRequestIdLayer::new(REQUEST_ID, RequestIds::new()))
                .layer(trace)
                .layer(PropagateRequestIdLayer::new(REQUEST_ID)),
        )
}

/// Headers every response carries: no sniffing, no referrer; and unless the
/// handler chose otherwise (the HTML pages do), no framing, no active content
/// and no caching: credentials are never cacheable, responses that carry a
/// secret above all. One pass over the headers instead of a layer each.
async fn security_headers(mut response: Response) -> Response {
    let headers = response.headers_mut();
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
    response
}

/// Request ids shaped like UUIDs: a random per-process half and a counter,
/// unique without asking the operating system for randomness per request.
#[derive(Clone)]
struct RequestIds {
    prefix: u64,
    next: std::sync::Arc<std::sync::atomic::AtomicU64>,
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
}

impl MakeRequestId for RequestIds {
    fn make_request_id<B>(&mut self, _: &axum::http::Request<B>) -> Option<RequestId> {
        let n = self.next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let id = uuid::Uuid::from_u64_pair(self.prefix, n).to_string();
        HeaderValue::from_str(&id).ok().map(RequestId::new)
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
