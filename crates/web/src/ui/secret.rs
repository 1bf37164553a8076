//! The one-time secret page, reached after create, rotate and renew of a
//! token and create and rotate-secret of an app, by post-redirect-get: the
//! form's answer puts the secret in a short-lived sealed cookie scoped to
//! [`PATH`] and bound to the session, and sends the browser there; the page
//! reads the cookie, drops it, and shows the secret with `no-store`. Back
//! and reload then find no cookie: the secret is not shown again.

use askama::Template;
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use serde::{Deserialize, Serialize};

use super::browser::PortalUser;
use super::pages::{Layout, see_other};
use super::{cookies, flash};
use crate::state::AppState;

/// Where the page is, and the only path the cookie is sent to.
pub const PATH: &str = "/settings/api/secret";
const COOKIE: &str = "kw_secret";
/// Long enough for the redirect, short enough not to linger.
const AGE: time::Duration = time::Duration::minutes(2);

/// What the page shows.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct OneTime {
    /// "API token created", …
    pub title: String,
    /// "Token ID" or "Client ID".
    pub id_label: String,
    pub id: String,
    /// "Secret", "Client secret".
    pub secret_label: String,
    pub secret: String,
    /// The auto-renewal callback signing secret, when one was just set.
    pub callback_secret: Option<String>,
    /// Where "Done" goes.
    pub back: String,
}

fn purpose(user: &PortalUser) -> String {
    format!("one-time-secret:{}", user.session_id())
}

/// The answer to a form whose result is a secret: on to the page, with a
/// flash message for it.
pub fn show(state: &AppState, user: &PortalUser, secret: &OneTime, message: &str) -> Response {
    let json = serde_json::to_vec(secret).expect("plain strings serialize");
    let sealed = state.keyward.seal(&purpose(user), &json, AGE);
    let mut response = see_other(PATH);
    cookies::set_at(state, &mut response, COOKIE, sealed, Some(AGE), PATH);
    flash::set(state, &mut response, message);
    response
}

#[derive(Template)]
#[template(path = "secret.html")]
struct SecretPage {
    l: Layout,
    s: OneTime,
}

/// `GET /settings/api/secret`: the secret, this once.
pub async fn page(
    axum::extract::State(state): axum::extract::State<AppState>,
    user: PortalUser,
    headers: HeaderMap,
) -> Response {
    let opened = cookies::get(&headers, COOKIE)
        .and_then(|sealed| state.keyward.open_sealed(&purpose(&user), &sealed))
        .and_then(|json| serde_json::from_slice::<OneTime>(&json).ok());
    let mut response = match opened {
        Some(secret) => user.render(
            &state,
            StatusCode::OK,
            &SecretPage {
                l: user.layout("api"),
                s: secret,
            },
        ),
        None => {
            let mut response = see_other("/settings/api/tokens");
            flash::set(
                &state,
                &mut response,
                "A secret is shown only once. If it was not stored, rotate the credential for a new one.",
            );
            response
        }
    };
    cookies::clear(&state, &mut response, COOKIE, PATH);
    response
}
