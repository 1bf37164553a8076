//! Auto-renewal endpoints: redeeming a renewal key for the token's new
//! secret (no other credential), starting a renewal now, and a token's
//! delivery log (callbacks and e-mails, with every attempt's result, but
//! never a key, secret or signature).

use axum::Json;
use axum::extract::State;
use axum::http::{StatusCode, Uri};
use keyward_core::model::OutboxMessage;
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

use super::paging::{Paged, page_request};
use super::timefmt::rfc3339;
use super::tokens::{TokenBody, UserQuery};
use crate::error::{ApiResult, ErrorBody};
use crate::extract::{ApiJson, ApiQuery, Caller, IdPath, RequestActor};
use crate::openapi::ResourceErrors;
use crate::state::AppState;

const TAG: &str = "tokens";

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct RedeemRequest {
    /// The one-time renewal key (`kwk_…`) from the `token.renewal_ready`
    /// callback.
    pub key: String,
}

/// One message of the delivery log: a callback or an e-mail.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct DeliveryBody {
    /// The message's id; a callback's `webhook-id` is `msg_` and this id
    /// without hyphens, the same on every retry.
    pub id: Uuid,
    #[schema(example = "token.renewal_ready")]
    pub event: String,
    /// The callback URL or the e-mail address.
    pub target: String,
    /// `pending`, `delivered` or `failed`.
    pub status: &'static str,
    pub attempts: u32,
    #[serde(with = "rfc3339::option")]
    pub last_attempt_at: Option<OffsetDateTime>,
    /// `HTTP <status>`, the SMTP server's reply, or what went wrong.
    pub last_result: Option<String>,
    /// When the next attempt is due (pending messages only).
    #[serde(with = "rfc3339::option")]
    pub next_attempt_at: Option<OffsetDateTime>,
    #[serde(with = "rfc3339")]
    pub created_at: OffsetDateTime,
}

impl From<OutboxMessage> for DeliveryBody {
    fn from(m: OutboxMessage) -> Self {
        DeliveryBody {
            id: m.id,
            event: m.event,
            target: m.target,
            status: m.status.as_str(),
            attempts: m.attempts,
            last_attempt_at: m.last_attempt_at,
            last_result: m.last_result,
            next_attempt_at: m.next_attempt_at,
            created_at: m.created_at,
        }
    }
}

/// A page of the delivery log.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
#[into_params(parameter_in = Query)]
pub struct DeliveryQuery {
    /// Another user's id (admin.users only).
    pub user_id: Option<Uuid>,
    /// Page size, 1–100 (default 100).
    #[param(minimum = 1, maximum = 100)]
    pub limit: Option<u32>,
    /// Where the page starts: from the `Link` header of the previous one.
    pub cursor: Option<String>,
}

/// Redeem a renewal key for the token's new secret.
///
/// Needs no other credential: the key is the credential, once. The old
/// secret keeps working for the overlap (as `previousToken`).
#[utoipa::path(post, path = "/api/v1/integrations/tokens/requestRenewedToken", tag = TAG,
    operation_id = "requestRenewedToken",
    request_body = RedeemRequest,
    responses(
        (status = 200, description = "The token with its new secret in `token`", body = TokenBody),
        (status = 400, description = "`invalid_argument`: the body is not `{key}`", body = ErrorBody),
        (status = 401, description = "`unauthenticated`: the key is unknown, used, expired or cancelled, or its token can no longer renew", body = ErrorBody),
        (status = 429, description = "`resource_exhausted`: too many failed redemptions from this address", body = ErrorBody)),
    security(()))]
pub async fn request_renewed_token(
    State(state): State<AppState>,
    RequestActor(actor): RequestActor,
    ApiJson(body): ApiJson<RedeemRequest>,
) -> ApiResult<Json<TokenBody>> {
    let issued = state.keyward.redeem_renewal_key(&actor, &body.key).await?;
    Ok(Json(issued.into()))
}

/// Start a renewal cycle now.
///
/// As when it falls due: a new renewal key and its signed callback, for
/// testing a receiver. Needs a credential at least as strong as the token.
#[utoipa::path(post, path = "/api/v1/integrations/tokens/{id}/triggerRenewal", tag = TAG,
    operation_id = "triggerRenewal",
    params(("id" = Uuid, Path, description = "The token id"), UserQuery),
    responses(
        (status = 202, description = "The callback is queued: its delivery", body = DeliveryBody),
        ResourceErrors,
        (status = 403, description = "`permission_denied`: the caller lacks credentials.manage, or the token holds rights the caller lacks", body = ErrorBody),
        (status = 409, description = "`failed_precondition`: the token has no renewal policy, or is deactivated, expired or renewed", body = ErrorBody)),
    security(("bearer" = []), ("appId" = [], "appToken" = [])))]
pub async fn trigger_renewal(
    State(state): State<AppState>,
    Caller(caller): Caller,
    IdPath(id): IdPath,
    ApiQuery(UserQuery { user_id }): ApiQuery<UserQuery>,
) -> ApiResult<(StatusCode, Json<DeliveryBody>)> {
    let delivery = state.keyward.trigger_renewal(&caller, user_id, id).await?;
    Ok((StatusCode::ACCEPTED, Json(delivery.into())))
}

/// List a token's deliveries.
///
/// The renewal callbacks and mails of the token, newest first, a page at a
/// time, with every attempt's outcome; never a key, secret or signature.
#[utoipa::path(get, path = "/api/v1/integrations/tokens/{id}/deliveries", tag = TAG,
    operation_id = "listDeliveries",
    params(("id" = Uuid, Path, description = "The token id"), DeliveryQuery),
    responses(
        (status = 200, description = "A page of deliveries", body = [DeliveryBody],
            headers(("link" = String, description = "`<…>; rel=\"next\"` while more pages follow"))),
        ResourceErrors),
    security(("bearer" = []), ("appId" = [], "appToken" = [])))]
pub async fn deliveries(
    State(state): State<AppState>,
    Caller(caller): Caller,
    IdPath(id): IdPath,
    uri: Uri,
    ApiQuery(params): ApiQuery<DeliveryQuery>,
) -> ApiResult<Paged<DeliveryBody>> {
    let page = page_request(params.limit, params.cursor.as_deref())?;
    let page = state
        .keyward
        .list_deliveries(&caller, params.user_id, id, page)
        .await?;
    Ok(Paged::new(&state, &uri, page, Into::into))
}
