//! `/healthz` (the process answers) and `/readyz` (the store answers).

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use serde::Serialize;
use utoipa::ToSchema;

use crate::state::AppState;

/// A store that takes longer than this to answer is not ready.
const PING_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(2);

#[derive(Debug, Serialize, ToSchema)]
pub struct Health {
    #[schema(example = "ok")]
    pub status: &'static str,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct Readiness {
    #[schema(example = "ok")]
    pub status: &'static str,
    #[schema(example = "sqlite")]
    pub store: &'static str,
}

/// Liveness.
///
/// Answers while the process runs. No authentication.
#[utoipa::path(get, path = "/healthz", tag = "health",
    operation_id = "checkHealth",
    responses((status = 200, description = "The process is up", body = Health)))]
pub async fn healthz() -> Json<Health> {
    Json(Health { status: "ok" })
}

/// Readiness.
///
/// Answers 200 only while the store is reachable. No authentication.
#[utoipa::path(get, path = "/readyz", tag = "health",
    operation_id = "checkReadiness",
    responses(
        (status = 200, description = "The store is reachable", body = Readiness),
        (status = 503, description = "The store is unreachable", body = Readiness)))]
pub async fn readyz(State(state): State<AppState>) -> (StatusCode, Json<Readiness>) {
    let store = state.keyward.store();
    let ready = match tokio::time::timeout(PING_TIMEOUT, store.ping()).await {
        Ok(Ok(())) => true,
        Ok(Err(err)) => {
            tracing::warn!(error = %err, "store not ready");
            false
        }
        Err(_) => {
            tracing::warn!("store not ready: no answer within {PING_TIMEOUT:?}");
            false
        }
    };
    let (status, word) = if ready {
        (StatusCode::OK, "ok")
    } else {
        (StatusCode::SERVICE_UNAVAILABLE, "unavailable")
    };
    (
        status,
        Json(Readiness {
            status: word,
            store: store.backend(),
        }),
    )
}
