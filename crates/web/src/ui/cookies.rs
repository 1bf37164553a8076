//! Reading and setting the browser's cookies: `HttpOnly`, `SameSite=Lax`,
//! path `/` unless said otherwise, and `Secure` whenever Keyward is reached
//! over https.

use axum::http::{HeaderMap, HeaderValue, header};
use axum::response::Response;

use crate::state::AppState;

/// The value of cookie `name`, if the request carries it.
pub fn get(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|c| cookie::Cookie::parse(c.trim().to_owned()).ok())
        .find(|c| c.name() == name)
        .map(|c| c.value().to_owned())
}

/// Adds `Set-Cookie` for `name=value`, a session cookie unless `max_age`.
pub fn set(
    state: &AppState,
    response: &mut Response,
    name: &'static str,
    value: String,
    max_age: Option<time::Duration>,
) {
    set_at(state, response, name, value, max_age, "/");
}

/// As [`set`], for the paths under `path` alone.
pub fn set_at(
    state: &AppState,
    response: &mut Response,
    name: &'static str,
    value: String,
    max_age: Option<time::Duration>,
    path: &'static str,
) {
    let mut cookie = cookie::Cookie::new(name, value);
    cookie.set_http_only(true);
    cookie.set_same_site(cookie::SameSite::Lax);
    cookie.set_path(path);
    cookie.set_secure(state.secure_cookies);
    if let Some(age) = max_age {
        cookie.set_max_age(age);
    }
    if let Ok(value) = HeaderValue::from_str(&cookie.to_string()) {
        response.headers_mut().append(header::SET_COOKIE, value);
    }
}

/// Tells the browser to drop cookie `name` (of `path`).
pub fn clear(state: &AppState, response: &mut Response, name: &'static str, path: &'static str) {
    set_at(
        state,
        response,
        name,
        String::new(),
        Some(time::Duration::ZERO),
        path,
    );
}
