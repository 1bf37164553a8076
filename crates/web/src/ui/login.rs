//! Signing in and out in a browser: `/login` (and the OAuth flow's
//! `/oauth/login`, the same form and the same checks), `/logout`. A sign-in
//! is [`keyward_core::service::Keyward::login`], with the API's throttles
//! and messages; its form is bound to the browser by the `kw_login_csrf`
//! cookie (see [`super::csrf`]) and must come from this site.

use axum::body::Bytes;
use axum::extract::{RawQuery, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;

use super::browser::{SESSION_COOKIE, SignedForm, session};
use super::csrf::{self, LoginCsrf};
use super::form::Fields;
use super::pages::{Layout, LoginPage, page, see_other};
use super::{cookies, flash};
use crate::extract::RequestActor;
use crate::state::AppState;

/// Only a path on this server may follow sign-in (no open redirector).
/// Browsers drop tabs and newlines from a URL before resolving it, so
/// `/\t/evil.example` would be `//evil.example`: no control characters or
/// whitespace at all.
pub fn safe_next(next: Option<&str>) -> String {
    match next {
        Some(n)
            if n.starts_with('/')
                && !n.starts_with("//")
                && !n.contains('\\')
                && !n.chars().any(|c| c.is_control() || c.is_whitespace()) =>
        {
            n.to_owned()
        }
        _ => "/".to_owned(),
    }
}

/// The sign-in page, its form bound to this browser (see [`LoginCsrf`]).
pub fn login_page(
    state: &AppState,
    headers: &HeaderMap,
    status: StatusCode,
    action: &'static str,
    next: String,
    error: Option<&str>,
    username: &str,
) -> Response {
    let csrf = LoginCsrf::for_browser(state, headers);
    let flash_message = flash::read(state, headers);
    let mut response = page(
        status,
        &LoginPage {
            l: Layout {
                flash: flash_message,
                ..Layout::anonymous()
            },
            action,
            next,
            error: error.map(str::to_owned),
            username: username.to_owned(),
            csrf_token: csrf.token.clone(),
        },
    );
    csrf.set_cookie(state, &mut response);
    if flash::present(headers) {
        flash::clear(state, &mut response);
    }
    response
}

/// `GET /login`: the sign-in page; a signed-in browser goes on to `next`.
pub async fn form(
    State(state): State<AppState>,
    headers: HeaderMap,
    RawQuery(query): RawQuery,
) -> Response {
    let fields = Fields::parse(query.as_deref().unwrap_or_default().as_bytes());
    let next = safe_next(fields.get("next"));
    if session(&state, &headers, None).await.is_some() {
        return see_other(&next);
    }
    login_page(&state, &headers, StatusCode::OK, "/login", next, None, "")
}

/// `POST /login`.
pub async fn sign_in(
    State(state): State<AppState>,
    RequestActor(actor): RequestActor,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    sign_in_from(&state, &actor, &headers, &body, "/login").await
}

/// Signs in from a sign-in form posted to `action`; sets the session cookie
/// and goes on to `next`, or shows the form again with what went wrong.
pub async fn sign_in_from(
    state: &AppState,
    actor: &keyward_core::service::Actor,
    headers: &HeaderMap,
    body: &[u8],
    action: &'static str,
) -> Response {
    let fields = Fields::parse(body);
    let next = safe_next(fields.get("next"));
    let username = fields.text("username");
    if !csrf::login_form_ok(state, headers, fields.get("csrf_token")) {
        return login_page(
            state,
            headers,
            StatusCode::FORBIDDEN,
            action,
            next,
            Some("The sign-in form expired or did not come from this site. Please sign in again."),
            &username,
        );
    }
    let password = fields.text("password");
    match state.keyward.login(actor, &username, password).await {
        Ok(outcome) => {
            let mut response = see_other(&next);
            cookies::set(
                state,
                &mut response,
                SESSION_COOKIE,
                outcome.secret.expose().to_owned(),
                None,
            );
            response
        }
        Err(err) => {
            let (status, message) = match err {
                keyward_core::Error::ResourceExhausted { .. } => (
                    StatusCode::TOO_MANY_REQUESTS,
                    "Too many failed sign-ins. Try again later.",
                ),
                _ => (StatusCode::UNAUTHORIZED, "Wrong username or password."),
            };
            login_page(
                state,
                headers,
                status,
                action,
                next,
                Some(message),
                &username,
            )
        }
    }
}

/// `POST /logout`: ends this browser's session.
pub async fn sign_out(State(state): State<AppState>, form: SignedForm) -> Response {
    // The session ends whatever else happens; a failure is logged.
    if let Err(err) = state.keyward.logout(&form.user.actor).await {
        tracing::warn!(error = %err, "signing out failed");
    }
    let mut response = see_other("/login");
    cookies::clear(&state, &mut response, SESSION_COOKIE, "/");
    flash::set(&state, &mut response, "Signed out.");
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_local_paths_follow_sign_in() {
        assert_eq!(
            safe_next(Some("/oauth/authorize?x=1")),
            "/oauth/authorize?x=1"
        );
        for bad in [
            "https://evil.example/",
            "//evil.example/",
            "/\\evil.example",
            "/\t/evil.example",
            "/\n/evil.example",
            "evil",
        ] {
            assert_eq!(safe_next(Some(bad)), "/", "{bad}");
        }
        assert_eq!(safe_next(None), "/");
    }
}
