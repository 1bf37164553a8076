//! `POST /oauth/token` (RFC 6749 §3.2): authenticate the client, run the
//! grant, answer JSON that is never cached.

use axum::Json;
use axum::body::Bytes;
use axum::extract::{RawQuery, State};
use axum::http::{HeaderMap, HeaderValue, header};
use axum::response::{IntoResponse, Response};
use keyward_core::service::oauth::{OAuthError, TokenRequest, TokenResponse};
use serde::Serialize;
use utoipa::ToSchema;

use super::client_auth::{self, Presented};
use super::error::{OAuthErrorBody, OAuthResult};
use super::form::Params;
use crate::extract::RequestActor;
use crate::state::AppState;

/// A successful token response (RFC 6749 §5.1).
#[derive(Debug, Serialize, ToSchema)]
pub struct OAuthTokenBody {
    /// `kwa_…`, valid for `expires_in` seconds.
    pub access_token: String,
    #[schema(example = "Bearer")]
    pub token_type: &'static str,
    #[schema(example = 3600)]
    pub expires_in: i64,
    /// The granted scope, space-separated.
    pub scope: String,
    /// `kwr_…`: authorization_code and refresh_token grants only.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub refresh_token: Option<String>,
}

/// Form fields of a token request (for the OpenAPI document).
#[derive(Debug, ToSchema)]
#[allow(dead_code)]
pub struct TokenForm {
    /// `client_credentials`, `authorization_code` or `refresh_token`.
    grant_type: String,
    code: Option<String>,
    redirect_uri: Option<String>,
    code_verifier: Option<String>,
    refresh_token: Option<String>,
    scope: Option<String>,
    /// Client authentication in the body (or use HTTP Basic; not both).
    client_id: Option<String>,
    client_secret: Option<String>,
}

/// The token endpoint (RFC 6749 §3.2).
///
/// Runs the `authorization_code`, `refresh_token` or `client_credentials`
/// grant for a client authenticated by HTTP Basic or the form body.
#[utoipa::path(post, path = "/oauth/token", tag = "oauth",
    operation_id = "oauthToken",
    request_body(content = TokenForm, content_type = "application/x-www-form-urlencoded"),
    responses(
        (status = 200, description = "The issued tokens", body = OAuthTokenBody),
        (status = 400, description = "`invalid_request`, `invalid_grant`, `unsupported_grant_type`, `invalid_scope` or `unauthorized_client`", body = OAuthErrorBody),
        (status = 401, description = "`invalid_client`: client authentication failed",
            headers(("www-authenticate" = String, description = "`Basic`")), body = OAuthErrorBody),
        (status = 429, description = "Too many failed client authentications",
            headers(("retry-after" = String, description = "Seconds to wait before trying again")), body = OAuthErrorBody)),
    security((), ("clientBasic" = [])))]
pub async fn token(
    State(state): State<AppState>,
    RequestActor(actor): RequestActor,
    headers: HeaderMap,
    RawQuery(query): RawQuery,
    body: Bytes,
) -> OAuthResult<Response> {
    let mut params = Params::parse(&body);
    if let Some(name) = &params.repeated {
        return Err(OAuthError::invalid_request(&format!("parameter {name} is repeated")).into());
    }
    let presented = client_auth::presented(&headers, &mut params, query.as_deref())?;
    if matches!(presented, Presented::Bearer(_)) {
        return Err(OAuthError::invalid_client().into());
    }
    if let Some(answer) =
        crate::compat::apinizer::user_grant(&state, &actor, &presented, &params).await
    {
        return answer.map(respond).map_err(Into::into);
    }
    let client = client_auth::client(&state, presented, actor.ip).await?;
    let request = TokenRequest {
        grant_type: params.take("grant_type"),
        code: params.take("code"),
        redirect_uri: params.take("redirect_uri"),
        code_verifier: params.take("code_verifier"),
        refresh_token: params.take("refresh_token"),
        scope: params.take("scope"),
    };
    let issued = state.keyward.token(&actor, &client, request).await?;
    Ok(respond(issued))
}

/// A successful token response: JSON, never cached (§5.1).
fn respond(issued: TokenResponse) -> Response {
    let body = OAuthTokenBody {
        access_token: issued.access_token.expose().to_owned(),
        token_type: "Bearer",
        expires_in: issued.expires_in,
        scope: issued.scope,
        refresh_token: issued.refresh_token.map(|r| r.expose().to_owned()),
    };
    let mut response = Json(body).into_response();
    response
        .headers_mut()
        .insert(header::PRAGMA, HeaderValue::from_static("no-cache"));
    response
}
