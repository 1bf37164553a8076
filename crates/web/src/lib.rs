//! Keyward's HTTP surface: the JSON API under `/api/v1`, the health endpoints,
//! Prometheus metrics, the OpenAPI document and the portal's pages (see
//! [`ui`]), as one axum [`Router`] built by [`router`].
//!
//! Handlers are thin: extract (every rejection is a `{code, message}` error),
//! call a [`keyward_core::service::Keyward`] use case, map the result to a
//! response body.

pub mod api;
pub mod compat;
pub mod error;
pub mod extract;
mod layers;
pub mod metrics;
pub mod oauth;
pub mod openapi;
pub mod state;
pub mod ui;

use axum::Router;

pub use state::{AppState, WebConfig};

/// The whole application router.
pub fn router(state: AppState, config: &WebConfig) -> Router {
    let (api, doc) = openapi::api_router(config.compat).split_for_parts();
    let doc = std::sync::Arc::new(doc);
    let api = api.route(
        "/openapi.json",
        axum::routing::get(move || {
            let doc = doc.clone();
            async move { axum::Json(doc.as_ref().clone()) }
        }),
    );
    let api = api.merge(ui::router());
    let metrics = state.metrics.clone();
    layers::wrap(api.with_state(state), config, metrics)
}
