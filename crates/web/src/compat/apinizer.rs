//! The `apinizer` profile (seeds: "Authentication", Method 2): a personal
//! access token from the token endpoint, posting the *username and
//! password* as `client_id` and `client_secret` with
//! `grant_type=client_credentials`; also at Apinizer's own path,
//! `/apiops/auth/token`.
//!
//! A `client_id` that is a UUID is a registered app's and keeps the token
//! endpoint's usual meaning; only other ids are taken as usernames (so a
//! Keyward username shaped like a UUID cannot use this profile). The grant
//! itself is [`keyward_core::service::Keyward::grant_user_credentials`]: the
//! sign-in's password check and throttles, and the usual token issuance.

use axum::body::Bytes;
use axum::extract::{RawQuery, State};
use axum::http::HeaderMap;
use axum::response::Response;
use keyward_core::service::Actor;
use keyward_core::service::oauth::{OAuthError, TokenResponse};

use crate::extract::RequestActor;
use crate::oauth::client_auth::Presented;
use crate::oauth::error::{OAuthErrorBody, OAuthResult};
use crate::oauth::form::Params;
use crate::oauth::token::{OAuthTokenBody, TokenForm};
use crate::state::AppState;

/// When the profile is on and `presented` names a user rather than an app:
/// the user grant's answer. `None`: not this profile's request.
pub async fn user_grant(
    state: &AppState,
    actor: &Actor,
    presented: &Presented,
    params: &Params,
) -> Option<Result<TokenResponse, OAuthError>> {
    let Presented::Client { id, secret } = presented else {
        return None;
    };
    if !state.compat.apinizer
        || params.get("grant_type") != Some("client_credentials")
        || uuid::Uuid::parse_str(id.trim()).is_ok()
    {
        return None;
    }
    Some(
        state
            .keyward
            .grant_user_credentials(actor, id, secret.clone(), params.get("scope"))
            .await,
    )
}

/// Apinizer's token endpoint.
///
/// The same as `/oauth/token`, where a username and password may stand for
/// the client id and secret.
#[utoipa::path(post, path = "/apiops/auth/token", tag = "compat-apinizer",
    operation_id = "apinizerToken",
    request_body(content = TokenForm, content_type = "application/x-www-form-urlencoded"),
    responses(
        (status = 200, description = "The issued access token", body = OAuthTokenBody),
        (status = 400, description = "A bad token request", body = OAuthErrorBody),
        (status = 401, description = "Bad credentials (`unauthorized_client`) or client authentication failed", body = OAuthErrorBody),
        (status = 429, description = "Too many failed attempts",
            headers(("retry-after" = String, description = "Seconds to wait before trying again")), body = OAuthErrorBody)),
    security((), ("clientBasic" = [])))]
pub async fn token(
    state: State<AppState>,
    actor: RequestActor,
    headers: HeaderMap,
    query: RawQuery,
    body: Bytes,
) -> OAuthResult<Response> {
    crate::oauth::token::token(state, actor, headers, query, body).await
}
