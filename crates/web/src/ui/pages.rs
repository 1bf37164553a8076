//! Rendering pages (askama, HTML-escaped by the engine alone) with the
//! layout every page shares and the headers that protect them: a CSP with
//! no inline script or style (`script-src 'self'`), no framing, no caching,
//! and `Referrer-Policy: same-origin` — a browser then sends the `Origin`
//! of Keyward's own form posts (under `no-referrer` it would send `null`),
//! which is what [`super::csrf::same_origin`] checks; nothing leaks to
//! other sites.

use askama::Template;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{Html, IntoResponse, Response};

use super::assets;

/// What the layout shows around every page.
#[derive(Debug, Clone)]
pub struct Layout {
    pub css: String,
    pub js: String,
    /// The signed-in user, for the navigation.
    pub user: Option<NavUser>,
    /// A message about the last action.
    pub flash: Option<String>,
    /// Which part of the navigation is current: `api`, `profile`, `admin`.
    pub section: &'static str,
}

/// The signed-in user as the navigation shows them.
#[derive(Debug, Clone)]
pub struct NavUser {
    pub username: String,
    pub is_admin: bool,
    /// For the Sign out form.
    pub csrf_token: String,
}

impl Layout {
    /// The layout of a page shown before sign-in.
    pub fn anonymous() -> Self {
        Self {
            css: assets::css_url(),
            js: assets::js_url(),
            user: None,
            flash: None,
            section: "",
        }
    }
}

#[derive(Template)]
#[template(path = "login.html")]
pub struct LoginPage {
    pub l: Layout,
    /// Where the form posts: `/login` or `/oauth/login`.
    pub action: &'static str,
    /// Where to go after signing in: a relative path on this server.
    pub next: String,
    pub error: Option<String>,
    /// Kept after a failed attempt.
    pub username: String,
    /// Binds the form to this browser (see `ui::csrf`).
    pub csrf_token: String,
}

#[derive(Template)]
#[template(path = "consent.html")]
pub struct ConsentPage {
    pub l: Layout,
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
    pub l: Layout,
    pub title: String,
    pub message: String,
}

/// The CSP of pages: scripts and styles from Keyward only, images (an
/// app's logo) from Keyward or https, forms posted to Keyward only, never
/// framed.
const PAGE_CSP: &str = "default-src 'none'; script-src 'self'; style-src 'self'; \
                        img-src 'self' https: data:; connect-src 'self'; form-action 'self'; \
                        base-uri 'none'; frame-ancestors 'none'";

/// The consent page's: as [`PAGE_CSP`] but for `form-action`, since its
/// form's answer redirects to the client's own redirect URI, which browsers
/// check against `form-action` too.
const CONSENT_CSP: &str = "default-src 'none'; script-src 'self'; style-src 'self'; \
                           img-src 'self' https: data:; connect-src 'self'; \
                           base-uri 'none'; frame-ancestors 'none'";

/// Renders a page with its status and protective headers.
pub fn page(status: StatusCode, template: &impl Template) -> Response {
    render(status, template, PAGE_CSP)
}

/// Renders the consent page (see [`CONSENT_CSP`]).
pub fn consent_page(status: StatusCode, template: &ConsentPage) -> Response {
    render(status, template, CONSENT_CSP)
}

fn render(status: StatusCode, template: &impl Template, csp: &'static str) -> Response {
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
        HeaderValue::from_static(csp),
    );
    headers.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    headers.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("same-origin"),
    );
    response
}

pub fn error_page(status: StatusCode, title: &str, message: &str) -> Response {
    page(
        status,
        &ErrorPage {
            l: Layout::anonymous(),
            title: title.to_owned(),
            message: message.to_owned(),
        },
    )
}

/// Sends the browser to `location` (a path on this server, or a client's
/// redirect URI): 303 after a form post.
pub fn redirect(status: StatusCode, location: &str) -> Response {
    let mut response = status.into_response();
    if let Ok(value) = HeaderValue::from_str(location) {
        response.headers_mut().insert(header::LOCATION, value);
    }
    response
        .headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

/// 303 to `location`: the answer to every portal form post.
pub fn see_other(location: &str) -> Response {
    redirect(StatusCode::SEE_OTHER, location)
}
