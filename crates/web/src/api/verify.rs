//! Verification for the platform's resource servers: `POST /api/v1/verify`.
//! The caller needs `tokens.verify`; the answer is always 200 with `valid`
//! and, when not valid, the `reason`.

use axum::Json;
use axum::extract::State;
use keyward_core::scope::TOKENS_VERIFY;
use keyward_core::service::{Verdict, VerifyRequest as Request};
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use utoipa::ToSchema;
use uuid::Uuid;

use super::timefmt::rfc3339;
use crate::error::{ApiError, ApiResult, ErrorBody};
use crate::extract::{ApiJson, Caller};
use crate::openapi::InputErrors;
use crate::state::AppState;

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct VerifyRequest {
    /// The secret presented to the resource server (any kind: `kwp_…`,
    /// `kws_…`, …).
    pub token: String,
    /// Scopes the credential must carry now; known scopes.
    #[serde(default)]
    #[schema(example = json!(["iguide.ro"]))]
    pub required_scopes: Vec<String>,
    /// The configured application the resource server serves. A token
    /// restricted to applications verifies only when this names one of them.
    #[schema(example = "shop")]
    pub application: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct VerifyResponse {
    pub valid: bool,
    /// Why not valid: `not_found`, `expired`, `revoked`, `deactivated`,
    /// `insufficient_scope`, `wrong_application` or `owner_disabled`.
    /// Absent when valid.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(example = "insufficient_scope")]
    pub reason: Option<&'static str>,
    /// `api_token`, `session`, `access_token`, …; from the secret's prefix,
    /// `null` when it is not a well-formed Keyward secret.
    #[schema(example = "api_token", required = true)]
    pub kind: Option<&'static str>,
    /// The credential; `null` unless the credential is genuine and good
    /// (`valid`, `insufficient_scope`, `wrong_application`).
    #[schema(required = true)]
    pub credential_id: Option<Uuid>,
    /// The credential's owner; `null` as `credentialId`.
    #[schema(required = true)]
    pub user_id: Option<Uuid>,
    /// The OAuth client an access token was issued to; absent otherwise.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub client_id: Option<Uuid>,
    /// The credential's effective scopes now; empty when it is not good.
    pub scopes: Vec<String>,
    /// When the secret stops working; `null` for never (or when not good).
    #[serde(with = "rfc3339::option")]
    #[schema(required = true)]
    pub expires_at: Option<OffsetDateTime>,
}

impl From<Verdict> for VerifyResponse {
    fn from(v: Verdict) -> Self {
        Self {
            valid: v.is_valid(),
            reason: v.reason.map(|r| r.as_str()),
            kind: v.kind.map(|k| k.as_str()),
            credential_id: v.credential_id,
            user_id: v.user_id,
            client_id: v.client_id,
            scopes: v.scopes.iter().cloned().collect(),
            expires_at: v.expires_at,
        }
    }
}

/// Verify a credential.
///
/// For a resource server checking a secret presented to it; needs
/// `tokens.verify` and records the credential's use. Always 200 with `valid`
/// once the caller may verify.
#[utoipa::path(post, path = "/api/v1/verify", tag = "verify",
    operation_id = "verifyCredential",
    request_body = VerifyRequest,
    responses(
        (status = 200, description = "The verdict, valid or not", body = VerifyResponse),
        InputErrors,
        (status = 401, description = "`unauthenticated`: the caller's own credential is not good", body = ErrorBody),
        (status = 403, description = "`permission_denied`: the caller lacks tokens.verify", body = ErrorBody)),
    security(("bearer" = []), ("appId" = [], "appToken" = [])))]
pub async fn verify(
    State(state): State<AppState>,
    Caller(caller): Caller,
    body: Result<ApiJson<VerifyRequest>, ApiError>,
) -> ApiResult<Json<VerifyResponse>> {
    // A caller that may not verify learns nothing, not even what is wrong
    // with its body.
    caller.principal()?.require(TOKENS_VERIFY)?;
    let ApiJson(body) = body?;
    let request = Request {
        token: &body.token,
        required_scopes: &body.required_scopes,
        application: body.application.as_deref(),
    };
    let verdict = state.keyward.verify(&caller, request).await?;
    let outcome = verdict.reason.map_or("valid", |r| r.as_str());
    state.metrics.verify_outcome(outcome);
    Ok(Json(verdict.into()))
}
