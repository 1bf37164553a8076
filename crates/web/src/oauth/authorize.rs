//! The authorization endpoint (RFC 6749 §3.1, §4.1): `GET /oauth/authorize`
//! checks the request and shows the sign-in or consent page, `POST
//! /oauth/authorize` takes the user's decision (CSRF-checked) and sends them
//! back to the client with a code or `error=access_denied`, and `POST
//! /oauth/login` signs in from the page. Until the client and redirect URI
//! are known to be good, errors are pages, never redirects.

use axum::body::Bytes;
use axum::extract::{RawQuery, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use keyward_core::service::Principal;
use keyward_core::service::oauth::{
    AuthorizeError, AuthorizeRequest, OAuthError, ValidAuthorization,
};

use super::form::Params;
use crate::extract::RequestActor;
use crate::state::AppState;
use crate::ui::browser::session;
use crate::ui::csrf;
use crate::ui::login::{login_page, safe_next, sign_in_from};
use crate::ui::pages::{ConsentPage, Layout, consent_page as render_consent, error_page, redirect};

pub use crate::ui::browser::SESSION_COOKIE;

fn request_from(params: &Params) -> AuthorizeRequest {
    let get = |k: &str| params.get(k).map(str::to_owned);
    AuthorizeRequest {
        client_id: get("client_id"),
        redirect_uri: get("redirect_uri"),
        response_type: get("response_type"),
        scope: get("scope"),
        state: get("state"),
        code_challenge: get("code_challenge"),
        code_challenge_method: get("code_challenge_method"),
    }
}

/// The client's redirect URI with `params` appended to its own query.
fn back_to_client(redirect_uri: &str, params: &[(&str, &str)]) -> String {
    match url::Url::parse(redirect_uri) {
        Ok(mut url) => {
            {
                let mut query = url.query_pairs_mut();
                for (k, v) in params {
                    query.append_pair(k, v);
                }
            }
            url.to_string()
        }
        Err(_) => redirect_uri.to_owned(),
    }
}

fn answer(state: &AppState, status: StatusCode, error: AuthorizeError) -> Response {
    match error {
        AuthorizeError::Page(message) => error_page(
            StatusCode::BAD_REQUEST,
            "This request cannot be authorized",
            &message,
        ),
        AuthorizeError::Redirect {
            redirect_uri,
            error,
            description,
            state: client_state,
        } => {
            let mut params = vec![
                ("error", error),
                ("error_description", description.as_str()),
            ];
            if let Some(s) = &client_state {
                params.push(("state", s));
            }
            params.push(("iss", &state.issuer));
            redirect(status, &back_to_client(&redirect_uri, &params))
        }
    }
}

/// Checks the request; a repeated parameter is refused once the client and
/// redirect URI are known to be good.
async fn check(state: &AppState, params: &Params) -> Result<ValidAuthorization, AuthorizeError> {
    let valid = state
        .keyward
        .check_authorization(&request_from(params))
        .await?;
    if let Some(name) = &params.repeated {
        // Only RFC 6749 §4.1.2.1's characters, whatever the name was.
        let description = OAuthError::invalid_request(&format!("parameter {name} is repeated"));
        return Err(AuthorizeError::Redirect {
            redirect_uri: valid.redirect_uri,
            error: "invalid_request",
            description: description.description,
            state: valid.state,
        });
    }
    Ok(valid)
}

fn consent_page(state: &AppState, valid: &ValidAuthorization, session: &Principal) -> Response {
    let policy = state.keyward.policy();
    let describe = |name: &str| {
        policy
            .scopes()
            .find(|d| d.name == name)
            .map(|d| d.description.clone())
            .unwrap_or_default()
    };
    let mut fields = vec![
        ("client_id", valid.app.client_id.to_string()),
        ("response_type", "code".to_owned()),
        (
            "scope",
            valid.scopes.iter().cloned().collect::<Vec<_>>().join(" "),
        ),
        ("code_challenge", valid.code_challenge.clone()),
        ("code_challenge_method", "S256".to_owned()),
    ];
    if valid.redirect_uri_given {
        fields.push(("redirect_uri", valid.redirect_uri.clone()));
    }
    if let Some(s) = &valid.state {
        fields.push(("state", s.clone()));
    }
    render_consent(
        StatusCode::OK,
        &ConsentPage {
            l: Layout::anonymous(),
            client_name: valid.app.client_name.clone(),
            description: valid.app.description.clone(),
            logo_uri: valid.app.logo_uri.clone(),
            username: session.user.username.clone(),
            redirect_uri: valid.redirect_uri.clone(),
            scopes: valid
                .scopes
                .iter()
                .map(|s| (s.clone(), describe(s)))
                .collect(),
            fields,
            csrf_token: state.keyward.csrf_token(session.credential.id),
        },
    )
}

/// Start an authorization (RFC 6749 §4.1, PKCE required).
///
/// Shows the sign-in page, then the consent page; errors about the client
/// or redirect URI are shown here, others are sent back to the client.
#[utoipa::path(get, path = "/oauth/authorize", tag = "oauth",
    operation_id = "oauthAuthorize",
    params(
        ("response_type" = String, Query, description = "`code`"),
        ("client_id" = String, Query),
        ("redirect_uri" = Option<String>, Query, description = "Required when the client has several"),
        ("scope" = Option<String>, Query, description = "Space-separated; default the client's scope"),
        ("state" = Option<String>, Query),
        ("code_challenge" = String, Query, description = "PKCE S256 challenge"),
        ("code_challenge_method" = String, Query, description = "`S256`")),
    responses(
        (status = 200, description = "The sign-in or consent page", content_type = "text/html"),
        (status = 302, description = "An error sent back to the client"),
        (status = 400, description = "Unknown client or redirect URI: an error page", content_type = "text/html")))]
pub async fn authorize(
    State(state): State<AppState>,
    headers: HeaderMap,
    RawQuery(query): RawQuery,
) -> Response {
    let params = Params::parse(query.as_deref().unwrap_or_default().as_bytes());
    let valid = match check(&state, &params).await {
        Ok(valid) => valid,
        Err(error) => return answer(&state, StatusCode::FOUND, error),
    };
    match session(&state, &headers, None).await {
        Some(session) => consent_page(&state, &valid, &session),
        None => login_page(
            &state,
            &headers,
            StatusCode::OK,
            "/oauth/login",
            format!("/oauth/authorize?{}", query.unwrap_or_default()),
            None,
            "",
        ),
    }
}

/// Decide on an authorization.
///
/// The user's answer on the consent page, from a signed-in browser with the
/// page's CSRF token.
#[utoipa::path(post, path = "/oauth/authorize", tag = "oauth",
    operation_id = "oauthDecide",
    request_body(content_type = "application/x-www-form-urlencoded", description = "The authorization request's parameters, `csrf_token` and `decision` (`allow` or `deny`)"),
    responses(
        (status = 303, description = "Back to the client with `code` or `error=access_denied`"),
        (status = 400, description = "A bad request: an error page", content_type = "text/html"),
        (status = 401, description = "Not signed in", content_type = "text/html"),
        (status = 403, description = "Missing or wrong CSRF token", content_type = "text/html")))]
pub async fn decide(
    State(state): State<AppState>,
    RequestActor(actor): RequestActor,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let params = Params::parse(&body);
    if !csrf::same_origin(&state, &headers) {
        return error_page(
            StatusCode::FORBIDDEN,
            "Request refused",
            "The form did not come from this site. Start again.",
        );
    }
    let Some(session) = session(&state, &headers, None).await else {
        return error_page(
            StatusCode::UNAUTHORIZED,
            "Not signed in",
            "Sign in and start again.",
        );
    };
    let csrf_ok = params
        .get("csrf_token")
        .is_some_and(|t| state.keyward.check_csrf(session.credential.id, t));
    if !csrf_ok {
        return error_page(
            StatusCode::FORBIDDEN,
            "Request refused",
            "The form has expired or did not come from this site. Start again.",
        );
    }
    let valid = match check(&state, &params).await {
        Ok(valid) => valid,
        Err(error) => return answer(&state, StatusCode::SEE_OTHER, error),
    };
    let user = session.user.clone();
    let actor = actor.with_principal(session);
    if params.get("decision") != Some("allow") {
        return answer(
            &state,
            StatusCode::SEE_OTHER,
            state.keyward.deny_authorization(&actor, &valid).await,
        );
    }
    match state.keyward.issue_code(&actor, &user, &valid).await {
        Ok(code) => {
            let mut out = vec![("code", code.expose())];
            if let Some(s) = &valid.state {
                out.push(("state", s));
            }
            out.push(("iss", &state.issuer));
            redirect(
                StatusCode::SEE_OTHER,
                &back_to_client(&valid.redirect_uri, &out),
            )
        }
        Err(error) => answer(&state, StatusCode::SEE_OTHER, error),
    }
}

/// The sign-in page.
///
/// On its own, e.g. after signing out; `next` is where to go once signed in
/// (a path on this server).
#[utoipa::path(get, path = "/oauth/login", tag = "oauth",
    operation_id = "oauthLoginForm",
    params(("next" = Option<String>, Query, description = "A path on this server to go to after signing in")),
    responses((status = 200, description = "The sign-in page", content_type = "text/html")))]
pub async fn login_form(
    State(state): State<AppState>,
    headers: HeaderMap,
    RawQuery(query): RawQuery,
) -> Response {
    let params = Params::parse(query.as_deref().unwrap_or_default().as_bytes());
    let next = safe_next(params.get("next"));
    login_page(
        &state,
        &headers,
        StatusCode::OK,
        "/oauth/login",
        next,
        None,
        "",
    )
}

/// Sign in from the page.
///
/// Sets the session cookie and goes on to `next`. The form must carry the
/// CSRF token of the page it came from, bound to the `kw_login_csrf` cookie,
/// and come from this site.
#[utoipa::path(post, path = "/oauth/login", tag = "oauth",
    operation_id = "oauthLogin",
    request_body(content_type = "application/x-www-form-urlencoded", description = "`username`, `password`, `next` (a path on this server) and `csrf_token`"),
    responses(
        (status = 303, description = "Signed in; on to `next`"),
        (status = 401, description = "Wrong username or password: the page again", content_type = "text/html"),
        (status = 403, description = "Missing or wrong CSRF token, or a cross-site post: the page again", content_type = "text/html"),
        (status = 429, description = "Too many failed sign-ins", content_type = "text/html")))]
pub async fn login(
    State(state): State<AppState>,
    RequestActor(actor): RequestActor,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    sign_in_from(&state, &actor, &headers, &body, "/oauth/login").await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn response_parameters_keep_the_registered_query() {
        let uri = back_to_client(
            "https://app.example/cb?tenant=7",
            &[("code", "abc"), ("state", "x y")],
        );
        assert_eq!(uri, "https://app.example/cb?tenant=7&code=abc&state=x+y");
    }
}
