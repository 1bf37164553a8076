//! Prometheus metrics, served on `GET /metrics`: HTTP requests by method,
//! route template and status with a latency histogram, verification outcomes
//! by reason, credential-cache hits and misses, and the depth of the
//! `lastUsedAt` write-behind queue.
//!
//! Each application owns its recorder (no process-wide one), so several
//! servers in one process (the tests) keep separate figures. Labels are only
//! ever a known method, a route template (never the raw path, which could
//! carry an id or be chosen by a caller), a status code or a fixed reason:
//! no secret, and no unbounded set of values.

use std::collections::HashMap;
use std::sync::{Arc, RwLock};
use std::time::Duration;

use axum::extract::{FromRequestParts, State};
use axum::http::request::Parts;
use axum::http::{HeaderValue, Method, header};
use axum::response::{IntoResponse, Response};
use keyward_core::scope;
use keyward_core::service::{Keyward, VerifyReason};
use metrics::{Counter, Gauge, Histogram, Key, KeyName, Label, Level, Metadata, Recorder, Unit};
use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusRecorder};

use crate::error::ApiError;
use crate::extract::Caller;
use crate::state::AppState;

const REQUESTS: &str = "keyward_http_requests_total";
const DURATION: &str = "keyward_http_request_duration_seconds";
const VERIFY: &str = "keyward_verify_total";
const CACHE_HITS: &str = "keyward_cache_hits_total";
const CACHE_MISSES: &str = "keyward_cache_misses_total";
const CACHE_ENTRIES: &str = "keyward_cache_entries";
const USAGE_PENDING: &str = "keyward_usage_pending";
const DELIVERIES: &str = "keyward_deliveries_total";
const OUTBOX_DEPTH: &str = "keyward_outbox_pending";

/// Latency buckets, in seconds: fine below 10 ms, where verification lives.
const BUCKETS: &[f64] = &[
    0.0002, 0.0005, 0.001, 0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5,
];

static METADATA: Metadata<'static> =
    Metadata::new(module_path!(), Level::INFO, Some(module_path!()));

/// The application's metrics. Cheap to clone (one shared registry).
#[derive(Clone)]
pub struct Metrics(Arc<Registry>);

/// What [`Metrics`] handles share: the recorder and the handles resolved
/// once.
pub struct Registry {
    recorder: Arc<PrometheusRecorder>,
    requests: RouteHandles,
    /// One counter per verification outcome, registered up front.
    verify: Box<[(&'static str, Counter)]>,
}

impl std::ops::Deref for Metrics {
    type Target = Registry;

    fn deref(&self) -> &Registry {
        &self.0
    }
}

/// The request counter and latency histogram of each (route, method,
/// status) seen, so that counting a request neither allocates nor searches
/// the registry once its kind has been seen. Routes and methods are bounded
/// sets and statuses nearly so; nothing here grows with traffic.
#[derive(Default)]
struct RouteHandles(RwLock<HashMap<Box<str>, Vec<RequestHandles>>>);

struct RequestHandles {
    method: &'static str,
    status: u16,
    count: Counter,
    latency: Histogram,
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}

impl Metrics {
    pub fn new() -> Self {
        let recorder = PrometheusBuilder::new()
            .set_buckets_for_metric(Matcher::Full(DURATION.into()), BUCKETS)
            .expect("the bucket list is not empty")
            .build_recorder();
        let recorder = Arc::new(recorder);
        describe(&recorder);
        let outcomes = std::iter::once("valid").chain(VerifyReason::ALL.map(VerifyReason::as_str));
        let verify = outcomes
            .map(|outcome| {
                let key = Key::from_parts(VERIFY, vec![Label::new("outcome", outcome)]);
                (outcome, recorder.register_counter(&key, &METADATA))
            })
            .collect();
        Self(Arc::new(Registry {
            recorder,
            requests: RouteHandles::default(),
            verify,
        }))
    }
}

impl Metrics {
    /// Folds recorded samples into the histograms, for as long as these
    /// metrics exist: the returned upkeep says `false` once they are gone.
    /// The jobs run it periodically (`keyward_jobs::metrics_upkeep`), so
    /// memory stays bounded when nobody scrapes.
    pub fn upkeep(&self) -> impl Fn() -> bool + Send + Sync + 'static {
        let recorder = Arc::downgrade(&self.recorder);
        move || match recorder.upgrade() {
            Some(recorder) => {
                recorder.handle().run_upkeep();
                true
            }
            None => false,
        }
    }
}

impl Registry {
    fn counter(&self, name: &'static str, labels: Vec<Label>) -> Counter {
        self.recorder
            .register_counter(&Key::from_parts(name, labels), &METADATA)
    }

    fn gauge(&self, name: &'static str) -> Gauge {
        self.recorder
            .register_gauge(&Key::from_static_name(name), &METADATA)
    }

    /// Counts a finished request and its latency.
    pub fn http_request(&self, method: &'static str, route: &str, status: u16, took: Duration) {
        let seconds = took.as_secs_f64();
        {
            let known = self.requests.0.read().unwrap_or_else(|e| e.into_inner());
            let found = known.get(route).and_then(|kinds| {
                kinds
                    .iter()
                    .find(|h| h.method == method && h.status == status)
            });
            if let Some(handles) = found {
                handles.count.increment(1);
                handles.latency.record(seconds);
                return;
            }
        }
        let handles = self.register_request(method, route, status);
        handles.count.increment(1);
        handles.latency.record(seconds);
        let mut known = self.requests.0.write().unwrap_or_else(|e| e.into_inner());
        let kinds = known.entry(route.into()).or_default();
        if !kinds
            .iter()
            .any(|h| h.method == method && h.status == status)
        {
            kinds.push(handles);
        }
    }

    fn register_request(&self, method: &'static str, route: &str, status: u16) -> RequestHandles {
        let route = Label::new("route", route.to_owned());
        let method_label = Label::new("method", method);
        let latency = self.recorder.register_histogram(
            &Key::from_parts(DURATION, vec![method_label.clone(), route.clone()]),
            &METADATA,
        );
        let status_label = Label::new("status", status.to_string());
        RequestHandles {
            method,
            status,
            count: self.counter(REQUESTS, vec![method_label, route, status_label]),
            latency,
        }
    }

    /// Counts a verification by outcome (`valid` or the reason).
    pub fn verify_outcome(&self, outcome: &'static str) {
        match self.verify.iter().find(|(name, _)| *name == outcome) {
            Some((_, counter)) => counter.increment(1),
            None => self
                .counter(VERIFY, vec![Label::new("outcome", outcome)])
                .increment(1),
        }
    }

    /// The exposition text, with the cache and queue figures read now.
    /// `outbox_depth` is read from the store by the caller (`None` if the
    /// store did not answer).
    pub fn render(&self, keyward: &Keyward, outbox_depth: Option<u64>) -> String {
        for (event, outcome, n) in keyward.delivery_counts().snapshot() {
            self.counter(
                DELIVERIES,
                vec![Label::new("event", event), Label::new("outcome", outcome)],
            )
            .absolute(n);
        }
        if let Some(depth) = outbox_depth {
            self.gauge(OUTBOX_DEPTH).set(depth as f64);
        }
        let (hits, misses) = keyward.cache().counts();
        self.counter(CACHE_HITS, Vec::new()).absolute(hits);
        self.counter(CACHE_MISSES, Vec::new()).absolute(misses);
        self.gauge(CACHE_ENTRIES).set(keyward.cache().len() as f64);
        self.gauge(USAGE_PENDING)
            .set(keyward.usage().depth() as f64);
        self.recorder.handle().render()
    }
}

fn describe(recorder: &PrometheusRecorder) {
    let counters = [
        (
            REQUESTS,
            "HTTP requests by method, route template and status",
        ),
        (VERIFY, "Verifications by outcome: valid, or the reason"),
        (CACHE_HITS, "Credential checks answered from the cache"),
        (CACHE_MISSES, "Credential checks that went to the store"),
        (
            DELIVERIES,
            "Webhook and e-mail delivery attempts by event and outcome (delivered, retry, failed), this instance's",
        ),
    ];
    for (name, help) in counters {
        recorder.describe_counter(
            KeyName::from_const_str(name),
            Some(Unit::Count),
            help.into(),
        );
    }
    recorder.describe_histogram(
        KeyName::from_const_str(DURATION),
        Some(Unit::Seconds),
        "HTTP request latency by method and route template".into(),
    );
    recorder.describe_gauge(
        KeyName::from_const_str(CACHE_ENTRIES),
        None,
        "Credential checks held in the cache".into(),
    );
    recorder.describe_gauge(
        KeyName::from_const_str(USAGE_PENDING),
        None,
        "Credentials whose last use waits to be written".into(),
    );
    recorder.describe_gauge(
        KeyName::from_const_str(OUTBOX_DEPTH),
        None,
        "Outbox messages (webhooks, e-mails) waiting to be delivered".into(),
    );
}

/// A caller may send any method; only the standard ones become labels.
pub(crate) fn method_label(method: &Method) -> &'static str {
    match method.as_str() {
        "GET" => "GET",
        "POST" => "POST",
        "PUT" => "PUT",
        "PATCH" => "PATCH",
        "DELETE" => "DELETE",
        "HEAD" => "HEAD",
        "OPTIONS" => "OPTIONS",
        _ => "other",
    }
}

/// Prometheus metrics.
///
/// In the text exposition format. Needs a bearer credential with the
/// admin-only `metrics.read` scope (Prometheus scrape configs carry one:
/// `authorization: {credentials: kwp_…}`), unless the deployment sets
/// `metrics_public = true`.
#[utoipa::path(get, path = "/metrics", tag = "health",
    operation_id = "getMetrics",
    responses((status = 200, description = "Prometheus text exposition format",
        content_type = "text/plain; version=0.0.4", body = String),
        crate::openapi::AuthErrors,
        (status = 403, description = "`permission_denied`: the credential lacks metrics.read", body = crate::error::ErrorBody)),
    security(("bearer" = [])))]
pub async fn metrics(State(state): State<AppState>, mut parts: Parts) -> Response {
    if !state.metrics_public {
        let allowed = match Caller::from_request_parts(&mut parts, &state).await {
            Ok(caller) => caller
                .principal()
                .require(scope::METRICS_READ)
                .map_err(ApiError::from),
            Err(err) => Err(err),
        };
        if let Err(err) = allowed {
            return err.into_response();
        }
    }
    let depth = state.keyward.store().outbox_depth().await.ok();
    let text = state.metrics.render(&state.keyward, depth);
    let mut response = text.into_response();
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/plain; version=0.0.4; charset=utf-8"),
    );
    response
}
