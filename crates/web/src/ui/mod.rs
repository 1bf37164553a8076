//! The portal: server-rendered pages at `/` for everything a user does
//! with their credentials in a browser — sign-in and their profile,
//! Settings → API Management (API tokens and OAuth apps), administration,
//! and the OAuth sign-in and consent pages. Pages call the same
//! [`keyward_core::service::Keyward`] methods as the JSON API: no rule is
//! implemented twice. One file per resource; templates in
//! `templates/<resource>/`, the stylesheet and script in `static/`.

use axum::Router;
use axum::routing::{get, post};
use keyward_core::Error;

use crate::state::AppState;

pub mod admin;
pub mod apps;
pub mod assets;
pub mod browser;
pub mod cookies;
pub mod csrf;
pub mod flash;
pub mod form;
pub mod login;
pub mod pages;
pub mod profile;
pub mod secret;
pub mod tokens;
pub mod when;

/// The portal's routes.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/", get(tokens::home))
        .route("/static/{name}", get(assets::serve))
        .route("/login", get(login::form).post(login::sign_in))
        .route("/logout", post(login::sign_out))
        .route("/profile", get(profile::show))
        .route("/profile/password", post(profile::change_password))
        .route(
            "/profile/sessions/{id}/sign-out",
            post(profile::end_session),
        )
        .route(secret::PATH, get(secret::page))
        .merge(tokens::routes())
        .merge(apps::routes())
        .merge(admin::routes())
}

/// What a page says when the service refuses: its message, but never the
/// details of an internal failure.
pub fn message_of(err: &Error) -> String {
    match err {
        Error::Internal(_) => "Something went wrong on the server. Try again later.".to_owned(),
        Error::InvalidArgument { field, message } => format!("{field}: {message}"),
        other => {
            let text = other.to_string();
            let mut chars = text.chars();
            match chars.next() {
                Some(first) => first.to_uppercase().chain(chars).collect(),
                None => text,
            }
        }
    }
}

/// The status a refusal of the service is answered with.
pub fn status_of(err: &Error) -> axum::http::StatusCode {
    use axum::http::StatusCode;
    match err {
        Error::InvalidArgument { .. } => StatusCode::BAD_REQUEST,
        Error::Unauthenticated(_) => StatusCode::UNAUTHORIZED,
        Error::PermissionDenied(_) => StatusCode::FORBIDDEN,
        Error::NotFound(_) => StatusCode::NOT_FOUND,
        Error::AlreadyExists(_) | Error::FailedPrecondition(_) => StatusCode::CONFLICT,
        Error::ResourceExhausted { .. } => StatusCode::TOO_MANY_REQUESTS,
        Error::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
    }
}

/// A page for a refusal that no form can show beside a field.
pub fn failure(err: &Error) -> axum::response::Response {
    if let Error::Internal(detail) = err {
        tracing::error!(error = %detail, "a page's action failed");
    }
    pages::error_page(status_of(err), "That did not work", &message_of(err))
}

/// A refusal as a flash message on the page the user came from.
pub fn back_with(state: &AppState, location: &str, err: &Error) -> axum::response::Response {
    if let Error::Internal(detail) = err {
        tracing::error!(error = %detail, "a page's action failed");
    }
    flash::redirect(state, location, &message_of(err))
}

/// Where an action leads: on success to `done`, with `message` shown there;
/// on a refusal back to `from`, with the refusal shown there.
pub fn outcome<T>(
    state: &AppState,
    result: Result<T, Error>,
    done: &str,
    message: &str,
    from: &str,
) -> axum::response::Response {
    match result {
        Ok(_) => flash::redirect(state, done, message),
        Err(err) => back_with(state, from, &err),
    }
}
