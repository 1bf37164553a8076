//! The `circularo` profile (seeds: "Managing and deleting API tokens"): its
//! login body and answer, a session passed as `?token=`, its key list and
//! delete, and `GET /logout`.
//!
//! The session is the same as Keyward's own login makes (same throttles,
//! same answer for an unknown user and a wrong password), and the key calls
//! are Keyward's token list and delete for that session's user. A session
//! in a query string ends up in proxies' and browsers' histories; it is
//! never written to Keyward's own log lines, metric labels or audit records,
//! which name the route template only.

use axum::Json;
use axum::extract::{FromRequestParts, State};
use axum::http::request::Parts;
use axum::response::{IntoResponse, Response};
use keyward_core::model::TokenStatus;
use keyward_core::service::{Actor, TokenQuery};
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

use crate::api::session::{LoginRequest, LoginResponse, UserBody};
use crate::api::timefmt::rfc3339;
use crate::error::{ApiError, ApiResult, ErrorBody};
use crate::extract::{Caller, IdPath, JsonBytes, RequestActor, parse_json, parse_query};
use crate::openapi::{InputErrors, ResourceErrors};
use crate::state::AppState;

const TAG: &str = "compat-circularo";

/// Circularo's login body.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct CircularoLoginRequest {
    /// The username (an e-mail address in Circularo).
    #[schema(example = "mary.griffin@circularo.com")]
    pub name: String,
    pub password: String,
    /// Accepted for compatibility; the session token is always returned.
    pub return_token: Option<bool>,
}

/// Circularo's login answer.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct CircularoLoginResponse {
    pub logged: bool,
    pub is_unlocked: bool,
    /// The session secret (`kws_…`), shown only here.
    pub token: String,
    #[schema(example = "default")]
    pub tenant: &'static str,
    pub user: UserBody,
    /// The session's effective scopes.
    pub rights: Vec<String>,
}

/// Either login body: Keyward's `{username, password}` or Circularo's
/// `{name, password, returnToken}` (for the OpenAPI document; the handler
/// tells them apart by the `name` field).
#[derive(Debug, Deserialize, ToSchema)]
#[serde(untagged)]
#[allow(dead_code)]
pub enum AnyLoginRequest {
    Keyward(LoginRequest),
    Circularo(CircularoLoginRequest),
}

/// The answer to either body, in the body's own shape.
#[derive(Debug, Serialize, ToSchema)]
#[serde(untagged)]
#[allow(dead_code)]
pub enum AnyLoginResponse {
    Keyward(LoginResponse),
    Circularo(CircularoLoginResponse),
}

/// Log in.
///
/// With Keyward's body (`username`) or Circularo's (`name`); the answer has
/// the shape of the body sent. Failed logins are throttled per username and
/// per address.
#[utoipa::path(post, path = "/api/v1/login", tag = "session",
    operation_id = "login",
    request_body = AnyLoginRequest,
    responses(
        (status = 200, description = "Logged in: the session token", body = AnyLoginResponse),
        (status = 400, description = "`invalid_argument`: a bad body; `message` names the field", body = ErrorBody),
        (status = 401, description = "`unauthenticated`: wrong username or password, or a disabled user", body = ErrorBody),
        (status = 429, description = "`resource_exhausted`: too many failed logins",
            headers(("retry-after" = String, description = "Seconds to wait before trying again")), body = ErrorBody)))]
pub async fn login(
    State(state): State<AppState>,
    RequestActor(actor): RequestActor,
    JsonBytes(bytes): JsonBytes,
) -> ApiResult<Response> {
    let is_circularo = serde_json::from_slice::<serde_json::Map<String, serde_json::Value>>(&bytes)
        .is_ok_and(|body| body.contains_key("name"));
    if !is_circularo {
        let body: LoginRequest = parse_json(&bytes)?;
        return crate::api::session::login_with(&state, &actor, body)
            .await
            .map(|answer| Json(answer).into_response());
    }
    let body: CircularoLoginRequest = parse_json(&bytes)?;
    let outcome = state
        .keyward
        .login(&actor, &body.name, body.password)
        .await?;
    let rights = state
        .keyward
        .allowed_scopes(&outcome.user)
        .into_iter()
        .collect();
    Ok(Json(CircularoLoginResponse {
        logged: true,
        is_unlocked: true,
        token: outcome.secret.expose().to_owned(),
        tenant: "default",
        user: outcome.user.into(),
        rights,
    })
    .into_response())
}

/// `?token=`: Circularo passes its session in the query string.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct SessionQuery {
    /// The session (or any credential) secret; it may come as a Bearer
    /// header instead.
    pub token: Option<String>,
}

/// The caller of a Circularo call: `?token=`, else the usual headers.
pub struct QueryCaller(pub Actor);

impl FromRequestParts<AppState> for QueryCaller {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let query: SessionQuery = parse_query(parts.uri.query().unwrap_or_default())?;
        match query.token {
            Some(secret) => {
                let RequestActor(mut actor) = RequestActor::from_request_parts(parts, state)
                    .await
                    .unwrap_or_else(|never| match never {});
                let principal = state.keyward.authenticate(&secret, None, actor.ip).await?;
                actor.principal = Some(principal);
                Ok(QueryCaller(actor))
            }
            None => Caller::from_request_parts(parts, state)
                .await
                .map(|Caller(actor)| QueryCaller(actor)),
        }
    }
}

/// One API key as Circularo lists it.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ApiKeyBody {
    pub id: Uuid,
    /// The token's description, or its name when it has none.
    pub description: String,
    #[serde(with = "rfc3339")]
    pub created: OffsetDateTime,
    /// `null` if never used.
    #[serde(with = "rfc3339::option")]
    pub last_used: Option<OffsetDateTime>,
    #[schema(example = "generic")]
    pub api_key_type: &'static str,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ApiKeyList {
    pub results: Vec<ApiKeyBody>,
}

/// List the user's API tokens (Circularo's `/api/key`).
///
/// Active ones first; the session may come as `?token=`.
#[utoipa::path(get, path = "/api/v1/api/key", tag = TAG,
    operation_id = "circularoListKeys",
    params(SessionQuery),
    responses((status = 200, description = "The user's tokens", body = ApiKeyList), InputErrors),
    security(("bearer" = []), ("appId" = [], "appToken" = [])))]
pub async fn list_keys(
    State(state): State<AppState>,
    QueryCaller(caller): QueryCaller,
) -> ApiResult<Json<ApiKeyList>> {
    // Every token of the user, page by page.
    let mut tokens = Vec::new();
    let mut query = TokenQuery::default();
    loop {
        let page = state
            .keyward
            .list_tokens(&caller, None, query.clone())
            .await?;
        tokens.extend(page.items);
        match page.next {
            Some(next) => query.page.after = Some(next),
            None => break,
        }
    }
    tokens.sort_by_key(|t| t.status != TokenStatus::Active);
    let results = tokens
        .into_iter()
        .map(|view| {
            let t = view.token;
            ApiKeyBody {
                id: t.id,
                description: t.description.unwrap_or(t.name),
                created: t.created_at,
                last_used: t.last_used_at,
                api_key_type: "generic",
            }
        })
        .collect();
    Ok(Json(ApiKeyList { results }))
}

/// Delete an API token (Circularo's `/api/key/{id}`).
///
/// It stops working at once, on every instance; the session may come as
/// `?token=`.
#[utoipa::path(delete, path = "/api/v1/api/key/{id}", tag = TAG,
    operation_id = "circularoDeleteKey",
    params(("id" = Uuid, Path, description = "The token id"), SessionQuery),
    responses((status = 200, description = "Deleted", body = crate::api::Ok), ResourceErrors),
    security(("bearer" = []), ("appId" = [], "appToken" = [])))]
pub async fn delete_key(
    State(state): State<AppState>,
    IdPath(id): IdPath,
    QueryCaller(caller): QueryCaller,
) -> ApiResult<Json<crate::api::Ok>> {
    state.keyward.delete_token(&caller, None, id).await?;
    Ok(Json(crate::api::Ok::yes()))
}

/// Log out (Circularo's `GET /logout`).
///
/// Ends the session, which may come as `?token=`.
#[utoipa::path(get, path = "/api/v1/logout", tag = TAG,
    operation_id = "circularoLogout",
    params(SessionQuery),
    responses((status = 200, description = "The session has ended", body = crate::api::Ok), InputErrors,
        (status = 409, description = "`failed_precondition`: the credential is not a session", body = ErrorBody)),
    security(("bearer" = []), ("appId" = [], "appToken" = [])))]
pub async fn logout(
    State(state): State<AppState>,
    QueryCaller(caller): QueryCaller,
) -> ApiResult<Json<crate::api::Ok>> {
    state.keyward.logout(&caller).await?;
    Ok(Json(crate::api::Ok::yes()))
}
