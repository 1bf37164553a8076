//! The browser session every page shares: the `kw_session` cookie holding a
//! `kws_` login session, checked like any credential. [`PortalUser`] is the
//! signed-in user of a page (else the browser is sent to `/login`), and
//! [`SignedForm`] a form post that came from Keyward's own page in that
//! session — same origin and carrying the session's CSRF token — or is
//! refused before any handler runs.

use axum::body::Bytes;
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::request::Parts;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use keyward_core::scope;
use keyward_core::secret::SecretKind;
use keyward_core::service::{Actor, Principal};
use uuid::Uuid;

use super::form::Fields;
use super::pages::{Layout, NavUser, error_page, page, redirect};
use super::{cookies, csrf, flash};
use crate::extract::{ClientIp, RequestActor};
use crate::state::AppState;

/// The cookie holding the browser's session secret.
pub const SESSION_COOKIE: &str = "kw_session";

/// The signed-in user's session, from the cookie or (for an OAuth client
/// that signed its user in through the API) a Bearer session token.
pub async fn session(
    state: &AppState,
    headers: &HeaderMap,
    ip: Option<std::net::IpAddr>,
) -> Option<Principal> {
    let from_cookie = cookies::get(headers, SESSION_COOKIE);
    let from_header = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .map(str::to_owned);
    let secret = from_cookie.or(from_header)?;
    let principal = state.keyward.authenticate(&secret, None, ip).await.ok()?;
    (principal.credential.kind == SecretKind::Session).then_some(principal)
}

/// The signed-in user of a portal page.
#[derive(Debug, Clone)]
pub struct PortalUser {
    /// Who acts: the session's principal, address and user agent.
    pub actor: Actor,
    /// The session's CSRF token, for the page's forms.
    pub csrf_token: String,
    /// The message left by the last action, shown (and dropped) by this
    /// page.
    pub flash: Option<String>,
    flash_cookie: bool,
}

impl PortalUser {
    pub fn principal(&self) -> &Principal {
        self.actor
            .principal
            .as_ref()
            .expect("a PortalUser is signed in")
    }

    pub fn session_id(&self) -> Uuid {
        self.principal().credential.id
    }

    pub fn username(&self) -> &str {
        &self.principal().user.username
    }

    /// Whether the user may administer users (`admin.users`).
    pub fn is_admin(&self) -> bool {
        self.principal().has_scope(scope::ADMIN_USERS)
    }

    /// The layout of a page of this user's, in `section` of the navigation.
    pub fn layout(&self, section: &'static str) -> Layout {
        Layout {
            user: Some(NavUser {
                username: self.username().to_owned(),
                is_admin: self.is_admin(),
                csrf_token: self.csrf_token.clone(),
            }),
            flash: self.flash.clone(),
            section,
            ..Layout::anonymous()
        }
    }

    /// Renders one of this user's pages, dropping the flash it showed.
    pub fn render(
        &self,
        state: &AppState,
        status: StatusCode,
        template: &impl askama::Template,
    ) -> Response {
        let mut response = page(status, template);
        if self.flash_cookie {
            flash::clear(state, &mut response);
        }
        response
    }
}

/// Where a browser without a session goes: the sign-in page, then back.
fn to_sign_in(parts: &Parts) -> Response {
    let path = parts
        .uri
        .path_and_query()
        .map_or("/", |p| p.as_str())
        .to_owned();
    let next: String = form_urlencoded::byte_serialize(path.as_bytes()).collect();
    redirect(StatusCode::SEE_OTHER, &format!("/login?next={next}"))
}

impl FromRequestParts<AppState> for PortalUser {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Response> {
        let Ok(RequestActor(mut actor)) = RequestActor::from_request_parts(parts, state).await;
        let ClientIp(ip) = ClientIp::from_request_parts(parts, state)
            .await
            .unwrap_or_default();
        let Some(principal) = session(state, &parts.headers, ip).await else {
            return Err(to_sign_in(parts));
        };
        let csrf_token = state.keyward.csrf_token(principal.credential.id);
        actor.principal = Some(principal);
        Ok(PortalUser {
            actor,
            csrf_token,
            flash: flash::read(state, &parts.headers),
            flash_cookie: flash::present(&parts.headers),
        })
    }
}

/// A form posted from one of Keyward's pages by the signed-in user: the
/// browser says it came from this site, and it carries the session's CSRF
/// token. Anything else is refused with 403 before the handler runs.
#[derive(Debug)]
pub struct SignedForm {
    pub user: PortalUser,
    pub fields: Fields,
}

fn refused() -> Response {
    error_page(
        StatusCode::FORBIDDEN,
        "Request refused",
        "The form has expired or did not come from this site. Go back, reload the page and try again.",
    )
}

impl FromRequest<AppState> for SignedForm {
    type Rejection = Response;

    async fn from_request(request: Request, state: &AppState) -> Result<Self, Response> {
        if !csrf::same_origin(state, request.headers()) {
            return Err(refused());
        }
        let (mut parts, body) = request.into_parts();
        let user = PortalUser::from_request_parts(&mut parts, state).await?;
        let body = Bytes::from_request(Request::from_parts(parts, body), state)
            .await
            .map_err(IntoResponse::into_response)?;
        let fields = Fields::parse(&body);
        let token_ok = fields
            .get("csrf_token")
            .is_some_and(|t| state.keyward.check_csrf(user.session_id(), t));
        if !token_ok {
            return Err(refused());
        }
        Ok(SignedForm { user, fields })
    }
}
