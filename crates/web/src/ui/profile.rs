//! My profile: the user's roles and scopes, a password change form, and
//! their active sessions (device, address, last seen) with a Sign out for
//! each. The same service calls as the API's `/me` and password change.

use askama::Template;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use keyward_core::Error;
use uuid::Uuid;

use super::browser::{PortalUser, SignedForm};
use super::form::FormErrors;
use super::pages::Layout;
use super::when::When;
use super::{back_with, failure, flash};
use crate::state::AppState;

const PROFILE: &str = "/profile";

struct Device {
    id: Uuid,
    user_agent: String,
    ip: String,
    signed_in: When,
    last_seen: When,
    current: bool,
}

#[derive(Template)]
#[template(path = "profile/show.html")]
struct ProfilePage {
    l: Layout,
    username: String,
    email: String,
    roles: String,
    scopes: String,
    devices: Vec<Device>,
    errors: FormErrors,
    csrf_token: String,
}

async fn profile_page(
    state: &AppState,
    user: &PortalUser,
    status: StatusCode,
    errors: FormErrors,
) -> Response {
    let devices = match state.keyward.list_own_sessions(&user.actor).await {
        Ok(devices) => devices,
        Err(err) => return failure(&err),
    };
    let p = user.principal();
    let page = ProfilePage {
        l: user.layout("profile"),
        username: p.user.username.clone(),
        email: p.user.email.clone().unwrap_or_default(),
        roles: p.user.roles.join(", "),
        scopes: p.scopes.iter().cloned().collect::<Vec<_>>().join(", "),
        devices: devices
            .into_iter()
            .map(|d| Device {
                id: d.session.id,
                current: d.session.id == user.session_id(),
                user_agent: d.user_agent.unwrap_or_else(|| "Unknown device".into()),
                ip: d.ip.unwrap_or_default(),
                signed_in: When::of(d.session.created_at),
                last_seen: When::of(d.session.last_seen_at),
            })
            .collect(),
        errors,
        csrf_token: user.csrf_token.clone(),
    };
    user.render(state, status, &page)
}

/// `GET /profile`.
pub async fn show(State(state): State<AppState>, user: PortalUser) -> Response {
    profile_page(&state, &user, StatusCode::OK, FormErrors::default()).await
}

/// `POST /profile/password`: the current password and the new one (twice).
/// The user's other sessions end.
pub async fn change_password(State(state): State<AppState>, form: SignedForm) -> Response {
    let SignedForm { user, fields } = form;
    let new = fields.text("new");
    if new != fields.text("confirm") {
        let errors = FormErrors::default().field("confirm", "does not match the new password");
        return profile_page(&state, &user, StatusCode::BAD_REQUEST, errors).await;
    }
    match state
        .keyward
        .change_own_password(&user.actor, fields.text("current"), new)
        .await
    {
        Ok(()) => flash::redirect(
            &state,
            PROFILE,
            "Password changed. Your other sessions have been signed out.",
        ),
        Err(err) => {
            let errors = FormErrors::from_error(&err, &["current", "new"]);
            let status = super::status_of(&err);
            profile_page(&state, &user, status, errors).await
        }
    }
}

/// `POST /profile/sessions/{id}/sign-out`: signs one device out.
pub async fn end_session(
    State(state): State<AppState>,
    Path(id): Path<String>,
    form: SignedForm,
) -> Response {
    let Ok(id) = Uuid::parse_str(&id) else {
        return failure(&Error::NotFound("session not found".into()));
    };
    if id == form.user.session_id() {
        // This browser's own session: the same as Sign out.
        return super::login::sign_out(State(state), form).await;
    }
    match state.keyward.end_own_session(&form.user.actor, id).await {
        Ok(()) => flash::redirect(&state, PROFILE, "That session was signed out."),
        Err(err) => back_with(&state, PROFILE, &err),
    }
}
