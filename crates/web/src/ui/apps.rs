//! Settings → API Management → OAuth Apps: the list, Create OAuth App (the
//! client secret shown once), an app's page, Edit, Rotate secret (the old
//! secret stops at once) and Delete. Each action is the API's service call.

use askama::Template;
use axum::Router;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::get;
use keyward_core::Error;
use keyward_core::model::{GrantType, OAuthApp, PageRequest};
use keyward_core::service::{CreateApp, UpdateApp};
use uuid::Uuid;

use super::browser::{PortalUser, SignedForm};
use super::form::{Fields, FormErrors};
use super::pages::Layout;
use super::secret::{self, OneTime};
use super::when::When;
use super::{back_with, failure, flash, outcome};
use crate::state::AppState;

const LIST: &str = "/settings/api/apps";

pub fn routes() -> Router<AppState> {
    Router::new()
        .route(LIST, get(list).post(create))
        .route("/settings/api/apps/new", get(new_form))
        .route("/settings/api/apps/{id}", get(detail))
        .route("/settings/api/apps/{id}/edit", get(edit_form).post(edit))
        .route(
            "/settings/api/apps/{id}/rotate",
            get(rotate_form).post(rotate),
        )
        .route(
            "/settings/api/apps/{id}/delete",
            get(delete_form).post(delete),
        )
}

fn app_path(id: Uuid) -> String {
    format!("{LIST}/{id}")
}

/// An app as a row or page shows it.
pub struct AppRow {
    pub id: Uuid,
    pub name: String,
    pub description: Option<String>,
    pub redirect_uris: Vec<String>,
    pub logo_uri: Option<String>,
    pub scopes: String,
    pub grant_types: String,
    pub hint: String,
    pub created: When,
}

impl AppRow {
    pub fn of(app: &OAuthApp) -> Self {
        Self {
            id: app.client_id,
            name: app.client_name.clone(),
            description: app.description.clone(),
            redirect_uris: app.redirect_uris.clone(),
            logo_uri: app.logo_uri.clone(),
            scopes: app.scopes.iter().cloned().collect::<Vec<_>>().join(", "),
            grant_types: app
                .grant_types
                .iter()
                .map(|g| g.as_str())
                .collect::<Vec<_>>()
                .join(", "),
            hint: app.secret_hint.clone(),
            created: When::of(app.created_at),
        }
    }
}

#[derive(Template)]
#[template(path = "apps/list.html")]
struct ListPage {
    l: Layout,
    tab: &'static str,
    apps: Vec<AppRow>,
}

/// `GET /settings/api/apps`.
pub async fn list(State(state): State<AppState>, user: PortalUser) -> Response {
    let page = PageRequest::parse(None, None).expect("the default page");
    match state.keyward.list_apps(&user.actor, page).await {
        Ok(apps) => {
            let page = ListPage {
                l: user.layout("api"),
                tab: "apps",
                apps: apps.items.iter().map(AppRow::of).collect(),
            };
            user.render(&state, StatusCode::OK, &page)
        }
        Err(err) => failure(&err),
    }
}

struct Choice {
    name: String,
    description: String,
    checked: bool,
}

#[derive(Template)]
#[template(path = "apps/form.html")]
struct FormPage {
    l: Layout,
    tab: &'static str,
    title: String,
    action: String,
    button: &'static str,
    cancel: String,
    scopes: Vec<Choice>,
    grant_types: Vec<Choice>,
    f: Fields,
    errors: FormErrors,
    csrf_token: String,
}

const APP_FIELDS: &[&str] = &[
    "clientName",
    "description",
    "redirectUris",
    "logoUri",
    "scope",
    "grantTypes",
];

/// The form of an app (new, or `editing`).
fn form_page(
    state: &AppState,
    user: &PortalUser,
    editing: Option<Uuid>,
    f: Fields,
    errors: FormErrors,
) -> FormPage {
    let scopes_on = f.all("scope");
    let grants_on = f.all("grantTypes");
    let held = &user.principal().scopes;
    FormPage {
        l: user.layout("api"),
        tab: "apps",
        title: if editing.is_some() {
            "Edit OAuth App".into()
        } else {
            "Create OAuth App".into()
        },
        action: editing.map_or_else(|| LIST.to_owned(), |id| format!("{}/edit", app_path(id))),
        button: if editing.is_some() {
            "Save"
        } else {
            "Create OAuth App"
        },
        cancel: editing.map_or_else(|| LIST.to_owned(), app_path),
        scopes: state
            .keyward
            .policy()
            .scopes()
            .filter(|d| held.contains(&d.name))
            .map(|d| Choice {
                checked: scopes_on.contains(&d.name),
                name: d.name.clone(),
                description: d.description.clone(),
            })
            .collect(),
        grant_types: GrantType::ALL
            .iter()
            .map(|g| Choice {
                name: g.as_str().to_owned(),
                description: match g {
                    GrantType::AuthorizationCode => "users sign in and consent".into(),
                    GrantType::RefreshToken => "the app may refresh its access".into(),
                    GrantType::ClientCredentials => "the app acts as you, without a browser".into(),
                },
                checked: grants_on.iter().any(|c| c == g.as_str()),
            })
            .collect(),
        f,
        errors,
        csrf_token: user.csrf_token.clone(),
    }
}

/// `GET /settings/api/apps/new`: the Create OAuth App form, with the
/// authorization-code and refresh grants ticked.
pub async fn new_form(State(state): State<AppState>, user: PortalUser) -> Response {
    let f = Fields::parse(b"grantTypes=authorization_code&grantTypes=refresh_token");
    let page = form_page(&state, &user, None, f, FormErrors::default());
    user.render(&state, StatusCode::OK, &page)
}

fn redirect_uris(f: &Fields) -> Vec<String> {
    f.text("redirectUris")
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .map(str::to_owned)
        .collect()
}

/// `POST /settings/api/apps`.
pub async fn create(State(state): State<AppState>, form: SignedForm) -> Response {
    let SignedForm { user, fields } = form;
    let input = CreateApp {
        client_name: fields.text("clientName"),
        description: fields.optional("description"),
        redirect_uris: redirect_uris(&fields),
        logo_uri: fields.optional("logoUri"),
        scope: fields.all("scope"),
        grant_types: Some(fields.all("grantTypes")),
    };
    match state.keyward.create_app(&user.actor, input).await {
        Ok(issued) => {
            let id = issued.app.client_id;
            let shown = OneTime {
                title: format!("OAuth app “{}” created", issued.app.client_name),
                id_label: "Client ID".into(),
                id: id.to_string(),
                secret_label: "Client secret".into(),
                secret: issued.secret.expose().to_owned(),
                callback_secret: None,
                back: app_path(id),
            };
            secret::show(&state, &user, &shown, "OAuth app created.")
        }
        Err(err) => {
            let errors = FormErrors::from_error(&err, APP_FIELDS);
            let status = super::status_of(&err);
            let page = form_page(&state, &user, None, fields, errors);
            user.render(&state, status, &page)
        }
    }
}

async fn find(state: &AppState, user: &PortalUser, id: &str) -> Result<OAuthApp, Error> {
    let id = Uuid::parse_str(id).map_err(|_| Error::NotFound("app not found".into()))?;
    state.keyward.get_app(&user.actor, id).await
}

#[derive(Template)]
#[template(path = "apps/detail.html")]
struct DetailPage {
    l: Layout,
    tab: &'static str,
    a: AppRow,
}

/// `GET /settings/api/apps/{id}`.
pub async fn detail(
    State(state): State<AppState>,
    user: PortalUser,
    Path(id): Path<String>,
) -> Response {
    match find(&state, &user, &id).await {
        Ok(app) => {
            let page = DetailPage {
                l: user.layout("api"),
                tab: "apps",
                a: AppRow::of(&app),
            };
            user.render(&state, StatusCode::OK, &page)
        }
        Err(err) => failure(&err),
    }
}

/// `GET /settings/api/apps/{id}/edit`.
pub async fn edit_form(
    State(state): State<AppState>,
    user: PortalUser,
    Path(id): Path<String>,
) -> Response {
    let app = match find(&state, &user, &id).await {
        Ok(app) => app,
        Err(err) => return failure(&err),
    };
    let mut values = form_urlencoded::Serializer::new(String::new());
    values
        .append_pair("clientName", &app.client_name)
        .append_pair(
            "description",
            app.description.as_deref().unwrap_or_default(),
        )
        .append_pair("redirectUris", &app.redirect_uris.join("\n"))
        .append_pair("logoUri", app.logo_uri.as_deref().unwrap_or_default());
    for s in &app.scopes {
        values.append_pair("scope", s);
    }
    for g in &app.grant_types {
        values.append_pair("grantTypes", g.as_str());
    }
    let f = Fields::parse(values.finish().as_bytes());
    let page = form_page(&state, &user, Some(app.client_id), f, FormErrors::default());
    user.render(&state, StatusCode::OK, &page)
}

/// `POST /settings/api/apps/{id}/edit`: only what changed is sent to the
/// service (a change of redirect URIs or scope needs the stronger check).
pub async fn edit(
    State(state): State<AppState>,
    Path(id): Path<String>,
    form: SignedForm,
) -> Response {
    let SignedForm { user, fields } = form;
    let app = match find(&state, &user, &id).await {
        Ok(app) => app,
        Err(err) => return failure(&err),
    };
    let uris = redirect_uris(&fields);
    let scopes = fields.all("scope");
    let grants = fields.all("grantTypes");
    let current_scopes: Vec<String> = app.scopes.iter().cloned().collect();
    let current_grants: Vec<String> = app
        .grant_types
        .iter()
        .map(|g| g.as_str().to_owned())
        .collect();
    let changed = |new: &Vec<String>, old: &Vec<String>| {
        let mut a = new.clone();
        let mut b = old.clone();
        a.sort();
        b.sort();
        a != b
    };
    let input = UpdateApp {
        client_name: Some(fields.text("clientName")),
        description: Some(fields.optional("description")),
        redirect_uris: (uris != app.redirect_uris).then_some(uris),
        logo_uri: (fields.optional("logoUri") != app.logo_uri).then(|| fields.optional("logoUri")),
        scope: changed(&scopes, &current_scopes).then_some(scopes),
        grant_types: changed(&grants, &current_grants).then_some(grants),
    };
    match state
        .keyward
        .update_app(&user.actor, app.client_id, input)
        .await
    {
        Ok(app) => flash::redirect(&state, &app_path(app.client_id), "OAuth app updated."),
        Err(err) => {
            let errors = FormErrors::from_error(&err, APP_FIELDS);
            let status = super::status_of(&err);
            let page = form_page(&state, &user, Some(app.client_id), fields, errors);
            user.render(&state, status, &page)
        }
    }
}

#[derive(Template)]
#[template(path = "apps/confirm.html")]
struct ConfirmPage {
    l: Layout,
    tab: &'static str,
    a: AppRow,
    csrf_token: String,
    title: &'static str,
    text: &'static str,
    action: String,
    button: &'static str,
}

async fn confirm(
    state: &AppState,
    user: &PortalUser,
    id: &str,
    what: &'static str,
    title: &'static str,
    text: &'static str,
    button: &'static str,
) -> Response {
    let app = match find(state, user, id).await {
        Ok(app) => app,
        Err(err) => return failure(&err),
    };
    let page = ConfirmPage {
        l: user.layout("api"),
        tab: "apps",
        action: format!("{}/{what}", app_path(app.client_id)),
        a: AppRow::of(&app),
        csrf_token: user.csrf_token.clone(),
        title,
        text,
        button,
    };
    user.render(state, StatusCode::OK, &page)
}

/// `GET /settings/api/apps/{id}/rotate`: the warning.
pub async fn rotate_form(
    State(state): State<AppState>,
    user: PortalUser,
    Path(id): Path<String>,
) -> Response {
    confirm(
        &state,
        &user,
        &id,
        "rotate",
        "Rotate the client secret?",
        "The app gets a new client secret, shown once. The old secret stops working at once: \
         update the app's configuration right after.",
        "Rotate secret",
    )
    .await
}

/// `POST /settings/api/apps/{id}/rotate`.
pub async fn rotate(
    State(state): State<AppState>,
    Path(id): Path<String>,
    form: SignedForm,
) -> Response {
    let user = form.user;
    let app = match find(&state, &user, &id).await {
        Ok(app) => app,
        Err(err) => return failure(&err),
    };
    match state
        .keyward
        .rotate_app_secret(&user.actor, app.client_id)
        .await
    {
        Ok(issued) => {
            let shown = OneTime {
                title: format!("New client secret of “{}”", issued.app.client_name),
                id_label: "Client ID".into(),
                id: issued.app.client_id.to_string(),
                secret_label: "Client secret".into(),
                secret: issued.secret.expose().to_owned(),
                callback_secret: None,
                back: app_path(issued.app.client_id),
            };
            secret::show(
                &state,
                &user,
                &shown,
                "Client secret rotated. The old secret no longer works.",
            )
        }
        Err(err) => back_with(&state, &app_path(app.client_id), &err),
    }
}

/// `GET /settings/api/apps/{id}/delete`: the confirmation.
pub async fn delete_form(
    State(state): State<AppState>,
    user: PortalUser,
    Path(id): Path<String>,
) -> Response {
    confirm(
        &state,
        &user,
        &id,
        "delete",
        "Delete this OAuth app?",
        "The app is removed, and every code and token it was issued stops working at once. \
         This cannot be undone.",
        "Delete",
    )
    .await
}

/// `POST /settings/api/apps/{id}/delete`.
pub async fn delete(
    State(state): State<AppState>,
    Path(id): Path<String>,
    form: SignedForm,
) -> Response {
    let user = form.user;
    let app = match find(&state, &user, &id).await {
        Ok(app) => app,
        Err(err) => return failure(&err),
    };
    let result = state.keyward.delete_app(&user.actor, app.client_id).await;
    outcome(
        &state,
        result,
        LIST,
        "OAuth app deleted.",
        &app_path(app.client_id),
    )
}
