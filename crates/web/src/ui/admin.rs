//! Administration, for users with `admin.users`: users (list, search,
//! create, disable and enable, roles, password reset), every user's tokens
//! and apps, and the audit log with filters. The service checks the right
//! on every call; the pages only leave out what the user cannot use.

use std::collections::HashMap;

use askama::Template;
use axum::Router;
use axum::extract::{Path, RawQuery, State};
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::{get, post};
use keyward_core::Error;
use keyward_core::model::{AuditAction, AuditFilter, PageRequest, User, UserFilter, UserStatus};
use keyward_core::service::{CreateUser, TokenQuery, UpdateUser};
use uuid::Uuid;

use super::apps::AppRow;
use super::browser::{PortalUser, SignedForm};
use super::form::{Fields, FormErrors};
use super::pages::{Layout, see_other};
use super::tokens::TokenRow;
use super::when::{When, parse_date_end};
use super::{back_with, failure, flash};
use crate::state::AppState;

const USERS: &str = "/admin/users";

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/admin", get(|| async { see_other(USERS) }))
        .route(USERS, get(users).post(create_user))
        .route("/admin/users/new", get(new_user))
        .route("/admin/users/{id}", get(user_page))
        .route("/admin/users/{id}/status", post(set_status))
        .route("/admin/users/{id}/roles", post(set_roles))
        .route("/admin/users/{id}/password", post(reset_password))
        .route("/admin/tokens", get(all_tokens))
        .route("/admin/apps", get(all_apps))
        .route("/admin/audit", get(audit))
}

fn user_path(id: Uuid) -> String {
    format!("{USERS}/{id}")
}

/// A user as the pages show them.
struct UserRow {
    id: Uuid,
    username: String,
    email: String,
    roles: String,
    status: &'static str,
    created: When,
}

impl UserRow {
    fn of(u: &User) -> Self {
        Self {
            id: u.id,
            username: u.username.clone(),
            email: u.email.clone().unwrap_or_default(),
            roles: u.roles.join(", "),
            status: u.status.as_str(),
            created: When::of(u.created_at),
        }
    }
}

#[derive(Template)]
#[template(path = "admin/users.html")]
struct UsersPage {
    l: Layout,
    atab: &'static str,
    users: Vec<UserRow>,
    q: String,
}

/// `GET /admin/users?q=`: users whose name or e-mail starts with `q`.
pub async fn users(
    State(state): State<AppState>,
    user: PortalUser,
    RawQuery(query): RawQuery,
) -> Response {
    let q = Fields::parse(query.as_deref().unwrap_or_default().as_bytes());
    let search = q.optional("q").unwrap_or_default();
    let filter = UserFilter {
        prefix: (!search.is_empty()).then(|| search.clone()),
        ..UserFilter::default()
    };
    let page = PageRequest::parse(None, None).expect("the default page");
    match state.keyward.list_users(&user.actor, &filter, page).await {
        Ok(found) => {
            let page = UsersPage {
                l: user.layout("admin"),
                atab: "users",
                users: found.items.iter().map(UserRow::of).collect(),
                q: search,
            };
            user.render(&state, StatusCode::OK, &page)
        }
        Err(err) => failure(&err),
    }
}

struct RoleChoice {
    name: String,
    checked: bool,
}

fn role_choices(state: &AppState, checked: &[String]) -> Vec<RoleChoice> {
    state
        .keyward
        .policy()
        .role_names()
        .map(|r| RoleChoice {
            name: r.to_owned(),
            checked: checked.iter().any(|c| c == r),
        })
        .collect()
}

#[derive(Template)]
#[template(path = "admin/new_user.html")]
struct NewUserPage {
    l: Layout,
    atab: &'static str,
    roles: Vec<RoleChoice>,
    f: Fields,
    errors: FormErrors,
    csrf_token: String,
}

/// `GET /admin/users/new`.
pub async fn new_user(State(state): State<AppState>, user: PortalUser) -> Response {
    if !user.is_admin() {
        return failure(&Error::PermissionDenied("this needs admin.users".into()));
    }
    let page = NewUserPage {
        l: user.layout("admin"),
        atab: "users",
        roles: role_choices(&state, &["member".to_owned()]),
        f: Fields::default(),
        errors: FormErrors::default(),
        csrf_token: user.csrf_token.clone(),
    };
    user.render(&state, StatusCode::OK, &page)
}

/// `POST /admin/users`.
pub async fn create_user(State(state): State<AppState>, form: SignedForm) -> Response {
    let SignedForm { user, fields } = form;
    let input = CreateUser {
        username: fields.text("username"),
        password: fields.text("password"),
        roles: fields.all("roles"),
        email: fields.optional("email"),
    };
    match state.keyward.create_user(&user.actor, input).await {
        Ok(created) => flash::redirect(
            &state,
            &user_path(created.id),
            &format!("User {} created.", created.username),
        ),
        Err(err) => {
            let errors = FormErrors::from_error(&err, &["username", "password", "roles", "email"]);
            let status = super::status_of(&err);
            let page = NewUserPage {
                l: user.layout("admin"),
                atab: "users",
                roles: role_choices(&state, &fields.all("roles")),
                f: fields,
                errors,
                csrf_token: user.csrf_token.clone(),
            };
            user.render(&state, status, &page)
        }
    }
}

#[derive(Template)]
#[template(path = "admin/user.html")]
struct UserPage {
    l: Layout,
    atab: &'static str,
    u: UserRow,
    active: bool,
    roles: Vec<RoleChoice>,
    tokens: Vec<TokenRow>,
    csrf_token: String,
}

/// `GET /admin/users/{id}`: the user, their tokens, and the forms to change
/// them.
pub async fn user_page(
    State(state): State<AppState>,
    user: PortalUser,
    Path(id): Path<String>,
) -> Response {
    let Ok(id) = Uuid::parse_str(&id) else {
        return failure(&Error::NotFound("user not found".into()));
    };
    let shown = match state.keyward.get_user_as(&user.actor, id).await {
        Ok(shown) => shown,
        Err(err) => return failure(&err),
    };
    let tokens = match state
        .keyward
        .list_all_tokens(&user.actor, Some(id), TokenQuery::default())
        .await
    {
        Ok(page) => page.items.iter().map(TokenRow::of).collect(),
        Err(err) => return failure(&err),
    };
    let page = UserPage {
        l: user.layout("admin"),
        atab: "users",
        active: shown.status == UserStatus::Active,
        roles: role_choices(&state, &shown.roles),
        u: UserRow::of(&shown),
        tokens,
        csrf_token: user.csrf_token.clone(),
    };
    user.render(&state, StatusCode::OK, &page)
}

async fn update(
    state: &AppState,
    form: SignedForm,
    id: &str,
    input: UpdateUser,
    done: &str,
) -> Response {
    let Ok(id) = Uuid::parse_str(id) else {
        return failure(&Error::NotFound("user not found".into()));
    };
    match state.keyward.update_user(&form.user.actor, id, input).await {
        Ok(changed) => {
            let mut response = see_other(&user_path(id));
            flash::set(
                state,
                &mut response,
                &format!("{} {done}", changed.username),
            );
            response
        }
        Err(err) => back_with(state, &user_path(id), &err),
    }
}

/// `POST /admin/users/{id}/status`: Disable or Enable.
pub async fn set_status(
    State(state): State<AppState>,
    Path(id): Path<String>,
    form: SignedForm,
) -> Response {
    let status = match form.fields.get("status").and_then(UserStatus::parse) {
        Some(status) => status,
        None => return failure(&Error::invalid("status", "must be active or disabled")),
    };
    let done = match status {
        UserStatus::Disabled => "is disabled; their sessions have ended.",
        UserStatus::Active => "is enabled.",
    };
    let input = UpdateUser {
        status: Some(status),
        ..UpdateUser::default()
    };
    update(&state, form, &id, input, done).await
}

/// `POST /admin/users/{id}/roles`.
pub async fn set_roles(
    State(state): State<AppState>,
    Path(id): Path<String>,
    form: SignedForm,
) -> Response {
    let input = UpdateUser {
        roles: Some(form.fields.all("roles")),
        ..UpdateUser::default()
    };
    update(&state, form, &id, input, "has new roles.").await
}

/// `POST /admin/users/{id}/password`: a reset; the user's sessions end.
pub async fn reset_password(
    State(state): State<AppState>,
    Path(id): Path<String>,
    form: SignedForm,
) -> Response {
    let input = UpdateUser {
        password: Some(form.fields.text("password")),
        ..UpdateUser::default()
    };
    update(
        &state,
        form,
        &id,
        input,
        "has a new password; their sessions have ended.",
    )
    .await
}

/// Usernames by id, for lists of every user's credentials.
async fn usernames(state: &AppState, user: &PortalUser) -> HashMap<Uuid, String> {
    let page = PageRequest::parse(None, None).expect("the default page");
    state
        .keyward
        .list_users(&user.actor, &UserFilter::default(), page)
        .await
        .map(|p| p.items.into_iter().map(|u| (u.id, u.username)).collect())
        .unwrap_or_default()
}

#[derive(Template)]
#[template(path = "admin/tokens.html")]
struct TokensPage {
    l: Layout,
    atab: &'static str,
    /// (owner, token).
    tokens: Vec<(String, TokenRow)>,
}

/// `GET /admin/tokens`: every user's tokens.
pub async fn all_tokens(State(state): State<AppState>, user: PortalUser) -> Response {
    let found = match state
        .keyward
        .list_all_tokens(&user.actor, None, TokenQuery::default())
        .await
    {
        Ok(found) => found,
        Err(err) => return failure(&err),
    };
    let names = usernames(&state, &user).await;
    let page = TokensPage {
        l: user.layout("admin"),
        atab: "tokens",
        tokens: found
            .items
            .iter()
            .map(|t| {
                (
                    names.get(&t.token.user_id).cloned().unwrap_or_default(),
                    TokenRow::of(t),
                )
            })
            .collect(),
    };
    user.render(&state, StatusCode::OK, &page)
}

#[derive(Template)]
#[template(path = "admin/apps.html")]
struct AppsPage {
    l: Layout,
    atab: &'static str,
    apps: Vec<(String, AppRow)>,
}

/// `GET /admin/apps`: every user's OAuth apps.
pub async fn all_apps(State(state): State<AppState>, user: PortalUser) -> Response {
    let page = PageRequest::parse(None, None).expect("the default page");
    let found = match state.keyward.list_all_apps(&user.actor, None, page).await {
        Ok(found) => found,
        Err(err) => return failure(&err),
    };
    let names = usernames(&state, &user).await;
    let page = AppsPage {
        l: user.layout("admin"),
        atab: "apps",
        apps: found
            .items
            .iter()
            .map(|a| {
                (
                    names.get(&a.user_id).cloned().unwrap_or_default(),
                    AppRow::of(a),
                )
            })
            .collect(),
    };
    user.render(&state, StatusCode::OK, &page)
}

struct EventRow {
    at: When,
    actor: String,
    action: &'static str,
    target: String,
    outcome: &'static str,
    ip: String,
}

#[derive(Template)]
#[template(path = "admin/audit.html")]
struct AuditPage {
    l: Layout,
    atab: &'static str,
    events: Vec<EventRow>,
    actions: Vec<String>,
    action: String,
    since: String,
    until: String,
    error: Option<String>,
}

/// `GET /admin/audit?action=&since=&until=`: the audit log, newest first.
pub async fn audit(
    State(state): State<AppState>,
    user: PortalUser,
    RawQuery(query): RawQuery,
) -> Response {
    let q = Fields::parse(query.as_deref().unwrap_or_default().as_bytes());
    let action = q.optional("action").unwrap_or_default();
    let since = q.optional("since").unwrap_or_default();
    let until = q.optional("until").unwrap_or_default();
    let mut page = AuditPage {
        l: user.layout("admin"),
        atab: "audit",
        events: Vec::new(),
        actions: AuditAction::ALL
            .iter()
            .map(|a| a.as_str().to_owned())
            .collect(),
        action: action.clone(),
        since: since.clone(),
        until: until.clone(),
        error: None,
    };
    let day = |field: &str, value: &str, start: bool| -> keyward_core::Result<_> {
        if value.is_empty() {
            return Ok(None);
        }
        let end = parse_date_end(value)
            .ok_or_else(|| Error::invalid(field, "must be a date (YYYY-MM-DD)"))?;
        // `since` is the day's start, `until` the next day's start.
        Ok(Some(if start {
            end - time::Duration::seconds(86_399)
        } else {
            end + time::Duration::seconds(1)
        }))
    };
    let filter = (|| -> keyward_core::Result<AuditFilter> {
        Ok(AuditFilter {
            action: match action.as_str() {
                "" => None,
                a => Some(
                    AuditAction::parse(a)
                        .ok_or_else(|| Error::invalid("action", "unknown action"))?,
                ),
            },
            since: day("since", &since, true)?,
            until: day("until", &until, false)?,
            ..AuditFilter::default()
        })
    })();
    let request = PageRequest::parse(None, None).expect("the default page");
    let result = match filter {
        Ok(filter) => state.keyward.list_audit(&user.actor, filter, request).await,
        Err(err) => Err(err),
    };
    match result {
        Ok(events) => {
            let names = usernames(&state, &user).await;
            page.events = events
                .items
                .iter()
                .map(|e| EventRow {
                    at: When::of(e.at),
                    actor: e
                        .actor_user_id
                        .map(|id| names.get(&id).cloned().unwrap_or_else(|| id.to_string()))
                        .unwrap_or_else(|| "—".into()),
                    action: e.action.as_str(),
                    target: e.target_id.map(|id| id.to_string()).unwrap_or_default(),
                    outcome: e.outcome.as_str(),
                    ip: e.ip.clone().unwrap_or_default(),
                })
                .collect();
            user.render(&state, StatusCode::OK, &page)
        }
        Err(err @ Error::InvalidArgument { .. }) => {
            page.error = Some(super::message_of(&err));
            user.render(&state, StatusCode::BAD_REQUEST, &page)
        }
        Err(err) => failure(&err),
    }
}
