//! Login sessions (Circularo style): `POST /api/v1/login`, `POST
//! /api/v1/logout`, and `GET /api/v1/me` for any credential.

use axum::Json;
use axum::extract::State;
use keyward_core::model::User;
use keyward_core::service::Actor;
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use utoipa::ToSchema;
use uuid::Uuid;

use super::timefmt::rfc3339;
use crate::error::{ApiResult, ErrorBody};
use crate::extract::{ApiJson, Caller, RequestActor};
use crate::openapi::{AuthErrors, InputErrors};
use crate::state::AppState;

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LoginRequest {
    #[schema(example = "mary.griffin@example.com")]
    pub username: String,
    pub password: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct UserBody {
    pub id: Uuid,
    pub username: String,
    pub roles: Vec<String>,
    /// `active` or `disabled`.
    #[schema(example = "active")]
    pub status: &'static str,
}

impl From<User> for UserBody {
    fn from(user: User) -> Self {
        Self {
            id: user.id,
            username: user.username,
            roles: user.roles,
            status: user.status.as_str(),
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct LoginResponse {
    /// The session secret (`kws_…`), shown only here.
    pub token: String,
    /// When the session ends unless used again (it also ends 7 days after login).
    #[serde(with = "rfc3339")]
    pub expires_at: OffsetDateTime,
    pub user: UserBody,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct CredentialBody {
    /// `api_token`, `session`, `access_token`.
    #[schema(example = "api_token")]
    pub kind: &'static str,
    pub id: Uuid,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct MeResponse {
    pub user: UserBody,
    pub credential: CredentialBody,
    /// The credential's effective scopes: its own ∩ what the owner may do now.
    pub scopes: Vec<String>,
}

/// Log in.
///
/// With a username and password; answers a session token (`kws_…`), shown
/// only here. Failed logins are throttled per username and per address.
#[utoipa::path(post, path = "/api/v1/login", tag = "session",
    operation_id = "login",
    request_body = LoginRequest,
    responses(
        (status = 200, description = "Logged in: the session token", body = LoginResponse),
        (status = 400, description = "`invalid_argument`: a bad body; `message` names the field", body = ErrorBody),
        (status = 401, description = "`unauthenticated`: wrong username or password, or a disabled user", body = ErrorBody),
        (status = 429, description = "`resource_exhausted`: too many failed logins",
            headers(("retry-after" = String, description = "Seconds to wait before trying again")), body = ErrorBody)))]
pub async fn login(
    State(state): State<AppState>,
    RequestActor(actor): RequestActor,
    ApiJson(body): ApiJson<LoginRequest>,
) -> ApiResult<Json<LoginResponse>> {
    login_with(&state, &actor, body).await.map(Json)
}

/// Signs in with a login body: the one path of every login endpoint.
pub async fn login_with(
    state: &AppState,
    actor: &Actor,
    body: LoginRequest,
) -> ApiResult<LoginResponse> {
    let outcome = state
        .keyward
        .login(actor, &body.username, body.password)
        .await?;
    Ok(LoginResponse {
        token: outcome.secret.expose().to_owned(),
        expires_at: outcome.expires_at,
        user: outcome.user.into(),
    })
}

/// Log out.
///
/// Ends the session whose token is used to call this endpoint.
#[utoipa::path(post, path = "/api/v1/logout", tag = "session",
    operation_id = "logout",
    responses(
        (status = 200, description = "The session has ended", body = super::Ok),
        AuthErrors,
        (status = 409, description = "`failed_precondition`: the credential is not a session", body = ErrorBody)),
    security(("bearer" = []), ("appId" = [], "appToken" = [])))]
pub async fn logout(
    State(state): State<AppState>,
    Caller(caller): Caller,
) -> ApiResult<Json<super::Ok>> {
    state.keyward.logout(&caller).await?;
    Ok(Json(super::Ok::yes()))
}

/// Who am I.
///
/// The caller's user, the credential used and its effective scopes, for any
/// kind of credential.
#[utoipa::path(get, path = "/api/v1/me", tag = "session",
    operation_id = "getMe",
    responses((status = 200, description = "The caller", body = MeResponse), AuthErrors),
    security(("bearer" = []), ("appId" = [], "appToken" = [])))]
pub async fn me(caller: Caller) -> Json<MeResponse> {
    let caller = caller.principal().clone();
    Json(MeResponse {
        credential: CredentialBody {
            kind: caller.credential.kind.as_str(),
            id: caller.credential.id,
        },
        scopes: caller.scopes.iter().cloned().collect(),
        user: std::sync::Arc::unwrap_or_clone(caller.user).into(),
    })
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ChangePasswordRequest {
    /// The password now.
    pub current: String,
    /// 12–1024 characters, not a commonly used password.
    pub new: String,
}

/// Change one's own password.
///
/// From a login session only, with the current password; one's other
/// sessions end.
#[utoipa::path(post, path = "/api/v1/me/password", tag = "session",
    operation_id = "changePassword",
    request_body = ChangePasswordRequest,
    responses(
        (status = 200, description = "Changed", body = super::Ok),
        InputErrors,
        (status = 400, description = "`invalid_argument`: a bad body or new password, or `current` is wrong", body = ErrorBody),
        (status = 403, description = "`permission_denied`: not a login session", body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn change_password(
    State(state): State<AppState>,
    Caller(caller): Caller,
    ApiJson(body): ApiJson<ChangePasswordRequest>,
) -> ApiResult<Json<super::Ok>> {
    state
        .keyward
        .change_own_password(&caller, body.current, body.new)
        .await?;
    Ok(Json(super::Ok::yes()))
}
