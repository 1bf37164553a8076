//! Personal API tokens: `/api/v1/integrations/tokens` (iGUIDE, plenigo,
//! Circularo, Apinizer). Handlers parse, call the service, and map the result.

use axum::Json;
use axum::extract::State;
use axum::http::{StatusCode, Uri};
use keyward_core::model::{RenewalPolicy, TokenStatus};
use keyward_core::service::{
    CreateToken, IssuedToken, RenewToken, RenewalInput, TokenQuery, TokenView, UpdateToken,
};
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

use super::paging::{Paged, page_request};
use super::timefmt::{self, rfc3339};
use crate::error::{ApiResult, ErrorBody};
use crate::extract::{ApiJson, ApiQuery, Caller, IdPath, OptionalJson};
use crate::openapi::{InputErrors, ResourceErrors};
use crate::state::AppState;

const TAG: &str = "tokens";

/// An auto-renewal policy as sent.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct RenewalRequest {
    /// Renew every this many days (1–3650).
    pub every_days: i64,
    /// Where the `token.renewal_ready` callback is POSTed.
    #[schema(example = "https://example.com/keyward/renewal")]
    pub callback_url: String,
    /// Who is told by e-mail when a renewal completes.
    pub mail_recipient: Option<String>,
    /// In a `PATCH` of a token that has a policy: issue a new
    /// `callbackSecret` (returned once); the old one stops signing at once.
    /// Without it a changed policy keeps its secret.
    #[serde(default)]
    pub rotate_callback_secret: bool,
}

impl From<RenewalRequest> for RenewalInput {
    fn from(r: RenewalRequest) -> Self {
        RenewalInput {
            every_days: r.every_days,
            callback_url: r.callback_url,
            mail_recipient: r.mail_recipient,
            rotate_callback_secret: r.rotate_callback_secret,
        }
    }
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct CreateTokenRequest {
    /// 1–100 characters.
    #[schema(example = "Staging Deployment Token")]
    pub name: String,
    /// At most 1000 characters.
    pub description: Option<String>,
    /// Known scopes, within the caller's own effective scopes.
    #[schema(example = json!(["iguide.list", "iguide.ro"]))]
    pub scopes: Vec<String>,
    /// Configured applications the token is restricted to; empty for any.
    #[serde(default)]
    pub applications: Vec<String>,
    /// In the future, or `null`/absent for a token that never expires.
    #[serde(default, with = "rfc3339::option")]
    pub expires_at: Option<OffsetDateTime>,
    pub renewal: Option<RenewalRequest>,
}

#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct UpdateTokenRequest {
    pub name: Option<String>,
    /// `null` clears it.
    #[serde(default, deserialize_with = "timefmt::nullable")]
    #[schema(value_type = Option<String>)]
    pub description: Option<Option<String>>,
    /// May only move earlier.
    #[serde(default, deserialize_with = "timefmt::double_option")]
    #[schema(value_type = Option<String>, format = DateTime)]
    pub expires_at: Option<Option<OffsetDateTime>>,
    /// A new policy (a new callback secret is returned), or `null` to stop
    /// auto-renewal.
    #[serde(default, deserialize_with = "timefmt::nullable")]
    #[schema(value_type = Option<RenewalRequest>)]
    pub renewal: Option<Option<RenewalRequest>>,
}

#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct RotateRequest {
    /// How long the old secret keeps working: 0 to 2592000 (30 days);
    /// default 604800 (7 days).
    pub grace_period_seconds: Option<i64>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct RenewRequest {
    pub name: String,
    pub description: Option<String>,
    /// When the current token stops working (now or later, not past its
    /// current expiry).
    #[serde(with = "rfc3339")]
    pub expire_current_at: OffsetDateTime,
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct PreviousTokenBody {
    pub hint: String,
    #[schema(example = "active")]
    pub status: &'static str,
    #[serde(with = "rfc3339")]
    pub expires_at: OffsetDateTime,
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct RenewalBody {
    pub every_days: u32,
    pub callback_url: String,
    pub mail_recipient: Option<String>,
    /// When the next renewal callback is due.
    #[serde(with = "rfc3339")]
    pub next_renewal_at: OffsetDateTime,
    /// When a renewal key was last redeemed.
    #[serde(with = "rfc3339::option")]
    pub last_renewed_at: Option<OffsetDateTime>,
    /// The callback signing secret (`kww_…`), only when the policy was just set.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub callback_secret: Option<String>,
}

/// An API token. `token` (the secret) appears only in the response that
/// creates it.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct TokenBody {
    pub id: Uuid,
    pub name: String,
    pub description: Option<String>,
    pub scopes: Vec<String>,
    pub applications: Vec<String>,
    /// The secret (`kwp_…`): shown once, here.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub token: Option<String>,
    #[schema(example = "...x7Qz")]
    pub token_hint: String,
    /// `active`, `deactivated` or `expired`.
    pub status: &'static str,
    #[serde(with = "rfc3339::option")]
    pub expires_at: Option<OffsetDateTime>,
    #[serde(with = "rfc3339")]
    pub created_at: OffsetDateTime,
    #[serde(with = "rfc3339")]
    pub updated_at: OffsetDateTime,
    #[serde(with = "rfc3339::option")]
    pub last_used_at: Option<OffsetDateTime>,
    pub last_used_ip: Option<String>,
    pub age_days: i64,
    /// `fresh`, `aging` (over 180 days), `old` (over 365 days) or `expired`.
    pub age_status: &'static str,
    pub previous_token: Option<PreviousTokenBody>,
    pub renewal: Option<RenewalBody>,
    /// The token that replaced this one by a renewal (`renew`); a renewed
    /// token cannot be renewed again, its successor can.
    pub renewed_to: Option<Uuid>,
}

fn renewal_body(policy: &RenewalPolicy, secret: Option<String>) -> RenewalBody {
    RenewalBody {
        every_days: policy.every_days,
        callback_url: policy.callback_url.clone(),
        mail_recipient: policy.mail_recipient.clone(),
        next_renewal_at: policy.next_renewal_at,
        last_renewed_at: policy.last_renewed_at,
        callback_secret: secret,
    }
}

impl From<TokenView> for TokenBody {
    fn from(view: TokenView) -> Self {
        let t = view.token;
        TokenBody {
            id: t.id,
            name: t.name,
            description: t.description,
            scopes: t.scopes.into_iter().collect(),
            applications: t.applications.into_iter().collect(),
            token: None,
            token_hint: t.hint,
            status: view.status.as_str(),
            expires_at: t.expires_at,
            created_at: t.created_at,
            updated_at: t.updated_at,
            last_used_at: t.last_used_at,
            last_used_ip: t.last_used_ip,
            age_days: view.age_days,
            age_status: view.age_status.as_str(),
            previous_token: view.previous.map(|p| PreviousTokenBody {
                hint: p.hint,
                status: "active",
                expires_at: p.expires_at,
            }),
            renewal: t.renewal.as_ref().map(|r| renewal_body(r, None)),
            renewed_to: t.renewed_to,
        }
    }
}

impl From<IssuedToken> for TokenBody {
    fn from(issued: IssuedToken) -> Self {
        let mut body = TokenBody::from(issued.view);
        body.token = Some(issued.secret.expose().to_owned());
        if let (Some(renewal), Some(secret)) = (body.renewal.as_mut(), issued.callback_secret) {
            renewal.callback_secret = Some(secret.expose().to_owned());
        }
        body
    }
}

/// `?userId=`: act on another user's tokens (needs `admin.users`).
#[derive(Debug, Default, Deserialize, IntoParams)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
#[into_params(parameter_in = Query)]
pub struct UserQuery {
    /// Another user's id (admin.users only).
    pub user_id: Option<Uuid>,
}

/// A token status, as a filter.
#[derive(Debug, Clone, Copy, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum StatusParam {
    Active,
    Deactivated,
    Expired,
}

impl From<StatusParam> for TokenStatus {
    fn from(s: StatusParam) -> Self {
        match s {
            StatusParam::Active => TokenStatus::Active,
            StatusParam::Deactivated => TokenStatus::Deactivated,
            StatusParam::Expired => TokenStatus::Expired,
        }
    }
}

/// Filters and page of a token list.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
#[into_params(parameter_in = Query)]
pub struct TokenListQuery {
    /// Only tokens in this state.
    #[param(inline)]
    pub status: Option<StatusParam>,
    /// Only tokens never used, or last used more than this many days ago.
    #[param(minimum = 0, maximum = 36500)]
    pub unused_for_days: Option<i64>,
    /// Only unexpired tokens that expire within this many days.
    #[param(minimum = 0, maximum = 36500)]
    pub expiring_within_days: Option<i64>,
    /// Only tokens that never expire.
    #[serde(default)]
    pub never_expires: bool,
    /// Another user's id: at `/integrations/tokens`, act on their tokens
    /// (admin.users only); at `/admin/tokens`, list only theirs.
    pub user_id: Option<Uuid>,
    /// Page size, 1–100 (default 100).
    #[param(minimum = 1, maximum = 100)]
    pub limit: Option<u32>,
    /// Where the page starts: from the `Link` header of the previous one.
    pub cursor: Option<String>,
}

impl TokenListQuery {
    pub fn query(&self) -> ApiResult<TokenQuery> {
        Ok(TokenQuery {
            status: self.status.map(Into::into),
            unused_for_days: self.unused_for_days,
            expiring_within_days: self.expiring_within_days,
            never_expires: self.never_expires,
            page: page_request(self.limit, self.cursor.as_deref())?,
        })
    }
}

/// Create an API token.
///
/// The secret is in `token`, shown only in this answer. Needs
/// `credentials.manage`; the token's scopes must be within the caller's own.
/// With `?userId=`, an `admin.users` caller creates it for another user.
#[utoipa::path(post, path = "/api/v1/integrations/tokens", tag = TAG,
    operation_id = "createToken",
    params(UserQuery), request_body = CreateTokenRequest,
    responses(
        (status = 201, description = "The new token, its secret in `token`", body = TokenBody),
        InputErrors,
        (status = 404, description = "`not_found`: no such user (`userId`)", body = ErrorBody)),
    security(("bearer" = []), ("appId" = [], "appToken" = [])))]
pub async fn create(
    State(state): State<AppState>,
    Caller(caller): Caller,
    ApiQuery(UserQuery { user_id }): ApiQuery<UserQuery>,
    ApiJson(body): ApiJson<CreateTokenRequest>,
) -> ApiResult<(StatusCode, Json<TokenBody>)> {
    let input = CreateToken {
        name: body.name,
        description: body.description,
        scopes: body.scopes,
        applications: body.applications,
        expires_at: body.expires_at,
        renewal: body.renewal.map(Into::into),
    };
    let issued = state.keyward.create_token(&caller, user_id, input).await?;
    Ok((StatusCode::CREATED, Json(issued.into())))
}

/// List API tokens.
///
/// The caller's own tokens (never their secrets), oldest first, a page at a
/// time; `?userId=` lists another user's (`admin.users`).
#[utoipa::path(get, path = "/api/v1/integrations/tokens", tag = TAG,
    operation_id = "listTokens",
    params(TokenListQuery),
    responses(
        (status = 200, description = "A page of tokens", body = [TokenBody],
            headers(("link" = String, description = "`<…>; rel=\"next\"` while more pages follow"))),
        InputErrors,
        (status = 404, description = "`not_found`: no such user (`userId`)", body = ErrorBody)),
    security(("bearer" = []), ("appId" = [], "appToken" = [])))]
pub async fn list(
    State(state): State<AppState>,
    Caller(caller): Caller,
    uri: Uri,
    ApiQuery(params): ApiQuery<TokenListQuery>,
) -> ApiResult<Paged<TokenBody>> {
    let page = state
        .keyward
        .list_tokens(&caller, params.user_id, params.query()?)
        .await?;
    Ok(Paged::new(&state, &uri, page, Into::into))
}

/// Get one API token.
///
/// Its metadata, never its secret: the caller's own token, or with
/// `?userId=` another user's (`admin.users`).
#[utoipa::path(get, path = "/api/v1/integrations/tokens/{id}", tag = TAG,
    operation_id = "getToken",
    params(("id" = Uuid, Path, description = "The token id"), UserQuery),
    responses((status = 200, description = "The token", body = TokenBody), ResourceErrors),
    security(("bearer" = []), ("appId" = [], "appToken" = [])))]
pub async fn get(
    State(state): State<AppState>,
    Caller(caller): Caller,
    IdPath(id): IdPath,
    ApiQuery(UserQuery { user_id }): ApiQuery<UserQuery>,
) -> ApiResult<Json<TokenBody>> {
    let view = state.keyward.get_token(&caller, user_id, id).await?;
    Ok(Json(view.into()))
}

/// Change a token's name, description, expiry or renewal policy.
///
/// The expiry may only move earlier. A new renewal policy returns its new
/// callback secret, once.
#[utoipa::path(patch, path = "/api/v1/integrations/tokens/{id}", tag = TAG,
    operation_id = "updateToken",
    params(("id" = Uuid, Path, description = "The token id"), UserQuery), request_body = UpdateTokenRequest,
    responses((status = 200, description = "The token as changed", body = TokenBody), ResourceErrors,
        (status = 409, description = "`failed_precondition`: the token is deactivated (only its name and description may change)", body = ErrorBody)),
    security(("bearer" = []), ("appId" = [], "appToken" = [])))]
pub async fn update(
    State(state): State<AppState>,
    Caller(caller): Caller,
    IdPath(id): IdPath,
    ApiQuery(UserQuery { user_id }): ApiQuery<UserQuery>,
    ApiJson(body): ApiJson<UpdateTokenRequest>,
) -> ApiResult<Json<TokenBody>> {
    let input = UpdateToken {
        name: body.name,
        description: body.description,
        expires_at: body.expires_at,
        renewal: body.renewal.map(|r| r.map(Into::into)),
    };
    let (view, callback_secret) = state
        .keyward
        .update_token(&caller, user_id, id, input)
        .await?;
    let mut body = TokenBody::from(view);
    if let (Some(renewal), Some(secret)) = (body.renewal.as_mut(), callback_secret) {
        renewal.callback_secret = Some(secret.expose().to_owned());
    }
    Ok(Json(body))
}

/// Give a token a new secret.
///
/// The new secret is in `token`, shown only in this answer; the old one keeps
/// working until the grace period ends (`previousToken`).
#[utoipa::path(post, path = "/api/v1/integrations/tokens/{id}/rotate", tag = TAG,
    operation_id = "rotateToken",
    params(("id" = Uuid, Path, description = "The token id"), UserQuery), request_body(content = Option<RotateRequest>),
    responses((status = 200, description = "The token, its new secret in `token`", body = TokenBody), ResourceErrors,
        (status = 403, description = "`permission_denied`: the token holds rights the caller lacks", body = ErrorBody),
        (status = 409, description = "`failed_precondition`: the token is deactivated or expired", body = ErrorBody)),
    security(("bearer" = []), ("appId" = [], "appToken" = [])))]
pub async fn rotate(
    State(state): State<AppState>,
    Caller(caller): Caller,
    IdPath(id): IdPath,
    ApiQuery(UserQuery { user_id }): ApiQuery<UserQuery>,
    OptionalJson(body): OptionalJson<RotateRequest>,
) -> ApiResult<Json<TokenBody>> {
    let issued = state
        .keyward
        .rotate_token(&caller, user_id, id, body.grace_period_seconds)
        .await?;
    Ok(Json(issued.into()))
}

/// End a rotated token's grace period.
///
/// The previous secret fails from now on; the current one is unchanged.
#[utoipa::path(post, path = "/api/v1/integrations/tokens/{id}/revokePrevious", tag = TAG,
    operation_id = "revokePreviousToken",
    params(("id" = Uuid, Path, description = "The token id"), UserQuery),
    responses((status = 200, description = "The token", body = TokenBody), ResourceErrors),
    security(("bearer" = []), ("appId" = [], "appToken" = [])))]
pub async fn revoke_previous(
    State(state): State<AppState>,
    Caller(caller): Caller,
    IdPath(id): IdPath,
    ApiQuery(UserQuery { user_id }): ApiQuery<UserQuery>,
) -> ApiResult<Json<TokenBody>> {
    let view = state.keyward.revoke_previous(&caller, user_id, id).await?;
    Ok(Json(view.into()))
}

/// Renew a token.
///
/// Issues a new token like this one and sets this one to expire. A token is
/// renewed once; renew its successor (`renewedTo`) after that.
#[utoipa::path(post, path = "/api/v1/integrations/tokens/{id}/renew", tag = TAG,
    operation_id = "renewToken",
    params(("id" = Uuid, Path, description = "The token id"), UserQuery), request_body = RenewRequest,
    responses((status = 201, description = "The new token, its secret in `token`", body = TokenBody), ResourceErrors,
        (status = 403, description = "`permission_denied`: the token holds rights the caller lacks", body = ErrorBody),
        (status = 409, description = "`failed_precondition`: deactivated, expired or already renewed", body = ErrorBody)),
    security(("bearer" = []), ("appId" = [], "appToken" = [])))]
pub async fn renew(
    State(state): State<AppState>,
    Caller(caller): Caller,
    IdPath(id): IdPath,
    ApiQuery(UserQuery { user_id }): ApiQuery<UserQuery>,
    ApiJson(body): ApiJson<RenewRequest>,
) -> ApiResult<(StatusCode, Json<TokenBody>)> {
    let input = RenewToken {
        name: body.name,
        description: body.description,
        expire_current_at: body.expire_current_at,
    };
    let issued = state
        .keyward
        .renew_token(&caller, user_id, id, input)
        .await?;
    Ok((StatusCode::CREATED, Json(issued.into())))
}

/// Deactivate a token.
///
/// For good: it fails from now on and stays listed for audit.
#[utoipa::path(post, path = "/api/v1/integrations/tokens/{id}/deactivate", tag = TAG,
    operation_id = "deactivateToken",
    params(("id" = Uuid, Path, description = "The token id"), UserQuery),
    responses((status = 200, description = "The deactivated token", body = TokenBody), ResourceErrors),
    security(("bearer" = []), ("appId" = [], "appToken" = [])))]
pub async fn deactivate(
    State(state): State<AppState>,
    Caller(caller): Caller,
    IdPath(id): IdPath,
    ApiQuery(UserQuery { user_id }): ApiQuery<UserQuery>,
) -> ApiResult<Json<TokenBody>> {
    let view = state.keyward.deactivate_token(&caller, user_id, id).await?;
    Ok(Json(view.into()))
}

/// Delete a token.
///
/// It stops working at once, on every instance.
#[utoipa::path(delete, path = "/api/v1/integrations/tokens/{id}", tag = TAG,
    operation_id = "deleteToken",
    params(("id" = Uuid, Path, description = "The token id"), UserQuery),
    responses((status = 200, description = "Deleted", body = super::Ok), ResourceErrors),
    security(("bearer" = []), ("appId" = [], "appToken" = [])))]
pub async fn delete(
    State(state): State<AppState>,
    Caller(caller): Caller,
    IdPath(id): IdPath,
    ApiQuery(UserQuery { user_id }): ApiQuery<UserQuery>,
) -> ApiResult<Json<super::Ok>> {
    state.keyward.delete_token(&caller, user_id, id).await?;
    Ok(Json(super::Ok::yes()))
}
