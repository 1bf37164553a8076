//! Server-rendered pages (askama, HTML-escaped): sign-in, consent and error
//! pages, each sent with headers that forbid framing and caching.

use askama::Template;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{Html, IntoResponse, Response};

#[derive(Template)]
#[template(path = "login.html")]
pub struct LoginPage {
    /// Where to go after signing in: a relative path on this server.
    pub next: String,
    pub error: Option<String>,
    /// Binds the form to this browser (see `ui::csrf`).
    pub csrf_token: String,
}

#[derive(Template)]
#[template(path = "consent.html")]
pub struct ConsentPage {
    pub client_name: String,
    pub description: Option<String>,
    pub logo_uri: Option<String>,
    pub username: String,
    pub redirect_uri: String,
    /// (scope, description).
    pub scopes: Vec<(String, String)>,
    /// Hidden fields carrying the authorization request.
    pub fields: Vec<(&'static str, String)>,
    pub csrf_token: String,
}

#[derive(Template)]
#[template(path = "error.html")]
pub struct ErrorPage {
    pub title: String,
    pub message: String,
}

/// The CSP of pages: no scripts at all, inline styles, images (an app's
/// logo) from https, never framed.
const PAGE_CSP: &str = "default-src 'none'; style-src 'unsafe-inline'; img-src https: data:; \
                        base-uri 'none'; frame-ancestors 'none'";

/// Renders a page with its status and protective headers.
pub fn page(status: StatusCode, template: &impl Template) -> Response {
    let body = match template.render() {
        Ok(body) => body,
        Err(err) => {
            tracing::error!(error = %err, "a page failed to render");
            return (StatusCode::INTERNAL_SERVER_ERROR, "internal error").into_response();
        }
    };
    let mut response = (status, Html(body)).into_response();
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(PAGE_CSP),
    );
    headers.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

pub fn error_page(status: StatusCode, title: &str, message: &str) -> Response {
    page(
        status,
        &ErrorPage {
            title: title.to_owned(),
            message: message.to_owned(),
        },
    )
}
