//! The message shown once after an action ("Token rotated. …"): carried
//! from the form post to the next page in a short-lived sealed cookie, read
//! and dropped by that page.

use axum::http::HeaderMap;
use axum::response::Response;

use super::cookies;
use crate::state::AppState;

const COOKIE: &str = "kw_flash";
const PURPOSE: &str = "flash";
const AGE: time::Duration = time::Duration::minutes(5);

/// Sets the message the next page shows.
pub fn set(state: &AppState, response: &mut Response, message: &str) {
    let sealed = state.keyward.seal(PURPOSE, message.as_bytes(), AGE);
    cookies::set(state, response, COOKIE, sealed, Some(AGE));
}

/// The message waiting for this browser, if any.
pub fn read(state: &AppState, headers: &HeaderMap) -> Option<String> {
    let sealed = cookies::get(headers, COOKIE)?;
    let plain = state.keyward.open_sealed(PURPOSE, &sealed)?;
    String::from_utf8(plain).ok()
}

/// Drops the message once shown.
pub fn clear(state: &AppState, response: &mut Response) {
    cookies::clear(state, response, COOKIE, "/");
}

/// Whether the request carries a message cookie at all (shown or not, it
/// is dropped).
pub fn present(headers: &HeaderMap) -> bool {
    cookies::get(headers, COOKIE).is_some()
}

/// A redirect to `location` that shows `message` there.
pub fn redirect(state: &AppState, location: &str, message: &str) -> Response {
    let mut response = super::pages::see_other(location);
    set(state, &mut response, message);
    response
}
