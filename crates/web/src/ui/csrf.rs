//! CSRF protection of the forms: every state-changing form carries a token
//! the server checks (see `keyward_core::service` CSRF tokens), and a
//! browser's `Origin` / `Sec-Fetch-Site` headers, where it sends them, must
//! say the form came from Keyward's own pages.
//!
//! Sign-in forms are shown before there is a session: they are bound to a
//! nonce in the `kw_login_csrf` cookie, set when the form is shown.

use axum::http::{HeaderMap, header};
use axum::response::Response;
use keyward_core::service::Keyward;

use super::cookies;
use crate::state::AppState;

/// The cookie binding sign-in forms to their browser.
pub const LOGIN_COOKIE: &str = "kw_login_csrf";

/// How long a sign-in form's binding lasts.
const LOGIN_COOKIE_AGE: time::Duration = time::Duration::days(1);

/// The token a sign-in form carries, and the cookie to set for it when the
/// browser had none.
#[derive(Debug)]
pub struct LoginCsrf {
    pub token: String,
    new_nonce: Option<String>,
}

impl LoginCsrf {
    /// The token for the browser of `headers`: bound to its nonce, or to a
    /// new one that [`Self::set_cookie`] hands it.
    pub fn for_browser(state: &AppState, headers: &HeaderMap) -> Self {
        match cookies::get(headers, LOGIN_COOKIE).filter(|n| Keyward::is_csrf_nonce(n)) {
            Some(nonce) => Self {
                token: state.keyward.login_csrf_token(&nonce),
                new_nonce: None,
            },
            None => {
                let nonce = state.keyward.new_csrf_nonce();
                Self {
                    token: state.keyward.login_csrf_token(&nonce),
                    new_nonce: Some(nonce),
                }
            }
        }
    }

    /// Sets the nonce cookie on the page's response, if it is new.
    pub fn set_cookie(self, state: &AppState, response: &mut Response) {
        if let Some(nonce) = self.new_nonce {
            cookies::set(state, response, LOGIN_COOKIE, nonce, Some(LOGIN_COOKIE_AGE));
        }
    }
}

/// Whether a posted sign-in form is genuine: from Keyward's own pages, with
/// the token of the nonce its browser holds.
pub fn login_form_ok(state: &AppState, headers: &HeaderMap, token: Option<&str>) -> bool {
    let nonce = cookies::get(headers, LOGIN_COOKIE);
    same_origin(state, headers)
        && matches!((nonce, token), (Some(n), Some(t)) if state.keyward.check_login_csrf(&n, t))
}

/// Whether a form post came from Keyward's own pages, as far as the browser
/// says: an `Origin` header, when sent, is Keyward's origin, and
/// `Sec-Fetch-Site`, when sent, is `same-origin`. (Browsers send both on
/// form posts; a request without them is no browser's cross-site post, and
/// the CSRF token still guards it.)
pub fn same_origin(state: &AppState, headers: &HeaderMap) -> bool {
    let origin_ok = match headers.get(header::ORIGIN) {
        None => true,
        Some(origin) => origin.to_str().is_ok_and(|o| o == state.origin),
    };
    let site_ok = match headers.get("sec-fetch-site") {
        None => true,
        Some(site) => site.to_str().is_ok_and(|s| s == "same-origin"),
    };
    origin_ok && site_ok
}
