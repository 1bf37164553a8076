//! Settings → API Management → API Tokens: the list (with the age colours
//! and filters), the Create API Token form, a token's page with its action
//! bar (Rotate, Revoke previous, Renew Token, Edit, Deactivate, Delete) and
//! its audit trail. Each action is the API's service call.

use askama::Template;
use axum::Router;
use axum::extract::{Path, RawQuery, State};
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::get;
use keyward_core::Error;
use keyward_core::model::{AuditFilter, PageKey, PageRequest, TokenStatus};
use keyward_core::service::{
    CreateToken, RenewToken, RenewalInput, TokenQuery, TokenView, UpdateToken,
};
use uuid::Uuid;

use super::browser::{PortalUser, SignedForm};
use super::form::{Fields, FormErrors};
use super::pages::{Layout, see_other};
use super::secret::{self, OneTime};
use super::when::{When, date_input, parse_date_end};
use super::{back_with, failure, flash, outcome};
use crate::state::AppState;

const LIST: &str = "/settings/api/tokens";

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/settings/api", get(|| async { see_other(LIST) }))
        .route(LIST, get(list).post(create))
        .route("/settings/api/tokens/new", get(new_form))
        .route("/settings/api/tokens/{id}", get(detail))
        .route(
            "/settings/api/tokens/{id}/rotate",
            get(rotate_form).post(rotate),
        )
        .route(
            "/settings/api/tokens/{id}/revoke-previous",
            axum::routing::post(revoke_previous),
        )
        .route(
            "/settings/api/tokens/{id}/renew",
            get(renew_form).post(renew),
        )
        .route("/settings/api/tokens/{id}/edit", get(edit_form).post(edit))
        .route(
            "/settings/api/tokens/{id}/deactivate",
            get(deactivate_form).post(deactivate),
        )
        .route(
            "/settings/api/tokens/{id}/delete",
            get(delete_form).post(delete),
        )
}

/// `GET /`: the portal opens on the token list.
pub async fn home() -> Response {
    see_other(LIST)
}

fn token_path(id: Uuid) -> String {
    format!("{LIST}/{id}")
}

fn parse_id(id: &str) -> Result<Uuid, Error> {
    Uuid::parse_str(id).map_err(|_| Error::NotFound("token not found".into()))
}

/// A token as a row or page shows it.
pub struct TokenRow {
    pub id: Uuid,
    pub name: String,
    pub description: Option<String>,
    pub hint: String,
    pub scopes: String,
    pub applications: String,
    pub created: When,
    pub last_used: Option<When>,
    pub last_used_ip: Option<String>,
    pub expires: Option<When>,
    pub status: &'static str,
    pub age_days: i64,
    /// `fresh`, `aging` (orange), `old` (red), `expired` (red background).
    pub age: &'static str,
    pub previous_ends: Option<When>,
    pub previous_hint: Option<String>,
    pub renewal: Option<(u32, String, Option<String>)>,
    pub renewed_to: Option<Uuid>,
    pub usable: bool,
}

impl TokenRow {
    pub fn of(view: &TokenView) -> Self {
        let t = &view.token;
        Self {
            id: t.id,
            name: t.name.clone(),
            description: t.description.clone(),
            hint: t.hint.clone(),
            scopes: t.scopes.iter().cloned().collect::<Vec<_>>().join(", "),
            applications: t
                .applications
                .iter()
                .cloned()
                .collect::<Vec<_>>()
                .join(", "),
            created: When::of(t.created_at),
            last_used: When::opt(t.last_used_at),
            last_used_ip: t.last_used_ip.clone(),
            expires: When::opt(t.expires_at),
            status: view.status.as_str(),
            age_days: view.age_days,
            age: view.age_status.as_str(),
            previous_ends: view.previous.as_ref().map(|p| When::of(p.expires_at)),
            previous_hint: view.previous.as_ref().map(|p| p.hint.clone()),
            renewal: t.renewal.as_ref().map(|r| {
                (
                    r.every_days,
                    r.callback_url.clone(),
                    r.mail_recipient.clone(),
                )
            }),
            renewed_to: t.renewed_to,
            usable: view.status == TokenStatus::Active,
        }
    }
}

#[derive(Template)]
#[template(path = "tokens/list.html")]
struct ListPage {
    l: Layout,
    tab: &'static str,
    tokens: Vec<TokenRow>,
    status: String,
    unused_days: String,
    next: Option<String>,
    aging_after: i64,
    old_after: i64,
    error: Option<String>,
}

/// `GET /settings/api/tokens`: the caller's tokens, filtered by status and
/// by "unused for N days".
pub async fn list(
    State(state): State<AppState>,
    user: PortalUser,
    RawQuery(query): RawQuery,
) -> Response {
    let q = Fields::parse(query.as_deref().unwrap_or_default().as_bytes());
    let status = q.optional("status").unwrap_or_default();
    let unused_days = q.optional("unused_days").unwrap_or_default();
    let settings = state.keyward.settings();
    let mut page = ListPage {
        l: user.layout("api"),
        tab: "tokens",
        tokens: Vec::new(),
        status: status.clone(),
        unused_days: unused_days.clone(),
        next: None,
        aging_after: settings.aging_after_days,
        old_after: settings.old_after_days,
        error: None,
    };
    let parsed = (|| -> keyward_core::Result<TokenQuery> {
        Ok(TokenQuery {
            status: match status.as_str() {
                "" => None,
                s => Some(
                    TokenStatus::parse(s)
                        .ok_or_else(|| Error::invalid("status", "unknown status"))?,
                ),
            },
            unused_for_days: match unused_days.as_str() {
                "" => None,
                d => Some(d.parse().map_err(|_| {
                    Error::invalid("unusedForDays", "must be a whole number of days")
                })?),
            },
            page: PageRequest::parse(Some(50), q.get("cursor"))?,
            ..TokenQuery::default()
        })
    })();
    let result = match parsed {
        Ok(query) => state.keyward.list_tokens(&user.actor, None, query).await,
        Err(err) => Err(err),
    };
    match result {
        Ok(tokens) => {
            page.next = tokens.next.as_ref().map(PageKey::encode).map(|cursor| {
                let mut next = form_urlencoded::Serializer::new(String::new());
                next.append_pair("status", &status)
                    .append_pair("unused_days", &unused_days)
                    .append_pair("cursor", &cursor);
                format!("{LIST}?{}", next.finish())
            });
            page.tokens = tokens.items.iter().map(TokenRow::of).collect();
            user.render(&state, StatusCode::OK, &page)
        }
        Err(err) => {
            page.error = Some(super::message_of(&err));
            user.render(&state, super::status_of(&err), &page)
        }
    }
}

/// A scope or application the user may give a new token.
struct Choice {
    name: String,
    description: String,
    checked: bool,
}

#[derive(Template)]
#[template(path = "tokens/new.html")]
struct NewPage {
    l: Layout,
    tab: &'static str,
    scopes: Vec<Choice>,
    applications: Vec<Choice>,
    f: Fields,
    errors: FormErrors,
    csrf_token: String,
}

fn new_page(state: &AppState, user: &PortalUser, f: Fields, errors: FormErrors) -> NewPage {
    let checked_scopes = f.all("scopes");
    let checked_apps = f.all("applications");
    let held = &user.principal().scopes;
    let scopes = state
        .keyward
        .policy()
        .scopes()
        .filter(|d| held.contains(&d.name))
        .map(|d| Choice {
            checked: checked_scopes.contains(&d.name),
            name: d.name.clone(),
            description: d.description.clone(),
        })
        .collect();
    let applications = state
        .keyward
        .application_names()
        .into_iter()
        .map(|name| Choice {
            checked: checked_apps.contains(&name),
            description: String::new(),
            name,
        })
        .collect();
    NewPage {
        l: user.layout("api"),
        tab: "tokens",
        scopes,
        applications,
        f,
        errors,
        csrf_token: user.csrf_token.clone(),
    }
}

/// `GET /settings/api/tokens/new`: the Create API Token form.
pub async fn new_form(State(state): State<AppState>, user: PortalUser) -> Response {
    let page = new_page(&state, &user, Fields::default(), FormErrors::default());
    user.render(&state, StatusCode::OK, &page)
}

const CREATE_FIELDS: &[&str] = &[
    "name",
    "description",
    "scopes",
    "applications",
    "expiresAt",
    "renewal.everyDays",
    "renewal.callbackUrl",
    "renewal.mailRecipient",
];

/// The auto-renewal fields of a form: none when both are empty.
fn renewal_of(f: &Fields) -> Result<Option<RenewalInput>, FormErrors> {
    let days = f.optional("renewalEveryDays");
    let url = f.optional("renewalCallbackUrl");
    match (days, url) {
        (None, None) => Ok(None),
        (None, Some(_)) => Err(FormErrors::default().field(
            "renewal.everyDays",
            "give the number of days, or clear the callback URL",
        )),
        (Some(days), url) => {
            let every_days = days.parse().map_err(|_| {
                FormErrors::default().field("renewal.everyDays", "must be a whole number of days")
            })?;
            let Some(callback_url) = url else {
                return Err(FormErrors::default()
                    .field("renewal.callbackUrl", "is required for auto renewal"));
            };
            Ok(Some(RenewalInput {
                every_days,
                callback_url,
                mail_recipient: f.optional("renewalMailRecipient"),
                rotate_callback_secret: f.checked("rotateCallbackSecret"),
            }))
        }
    }
}

fn create_input(f: &Fields) -> Result<CreateToken, FormErrors> {
    let expires_at = if f.checked("neverExpires") {
        None
    } else {
        match f.optional("expiresAt") {
            None => {
                return Err(FormErrors::default()
                    .field("expiresAt", "choose a date, or tick Never expires"));
            }
            Some(day) => Some(parse_date_end(&day).ok_or_else(|| {
                FormErrors::default().field("expiresAt", "must be a date (YYYY-MM-DD)")
            })?),
        }
    };
    Ok(CreateToken {
        name: f.text("name"),
        description: f.optional("description"),
        scopes: f.all("scopes"),
        applications: f.all("applications"),
        expires_at,
        renewal: renewal_of(f)?,
    })
}

/// `POST /settings/api/tokens`: creates the token and shows its secret once.
pub async fn create(State(state): State<AppState>, form: SignedForm) -> Response {
    let SignedForm { user, fields } = form;
    let input = match create_input(&fields) {
        Ok(input) => input,
        Err(errors) => {
            let page = new_page(&state, &user, fields, errors);
            return user.render(&state, StatusCode::BAD_REQUEST, &page);
        }
    };
    match state.keyward.create_token(&user.actor, None, input).await {
        Ok(issued) => {
            let id = issued.view.token.id;
            let shown = OneTime {
                title: format!("API token “{}” created", issued.view.token.name),
                id_label: "Token ID".into(),
                id: id.to_string(),
                secret_label: "Token".into(),
                secret: issued.secret.expose().to_owned(),
                callback_secret: issued.callback_secret.map(|s| s.expose().to_owned()),
                back: token_path(id),
            };
            secret::show(&state, &user, &shown, "Token created.")
        }
        Err(err) => {
            let errors = FormErrors::from_error(&err, CREATE_FIELDS);
            let status = super::status_of(&err);
            let page = new_page(&state, &user, fields, errors);
            user.render(&state, status, &page)
        }
    }
}

/// One audit event as the token page lists it.
struct EventRow {
    at: When,
    action: &'static str,
    outcome: &'static str,
    ip: String,
    user_agent: String,
}

/// One callback or mail of the token's renewals, as its log shows it.
struct DeliveryRow {
    created: When,
    event: String,
    target: String,
    status: &'static str,
    attempts: u32,
    last_result: String,
    next_attempt: Option<When>,
}

#[derive(Template)]
#[template(path = "tokens/detail.html")]
struct DetailPage {
    l: Layout,
    tab: &'static str,
    t: TokenRow,
    deliveries: Vec<DeliveryRow>,
    events: Vec<EventRow>,
    csrf_token: String,
}

async fn view(state: &AppState, user: &PortalUser, id: &str) -> Result<TokenView, Error> {
    let id = parse_id(id)?;
    state.keyward.get_token(&user.actor, None, id).await
}

/// `GET /settings/api/tokens/{id}`: the token, its action bar and its audit
/// trail.
pub async fn detail(
    State(state): State<AppState>,
    user: PortalUser,
    Path(id): Path<String>,
) -> Response {
    let view = match view(&state, &user, &id).await {
        Ok(view) => view,
        Err(err) => return failure(&err),
    };
    let filter = AuditFilter {
        target_id: Some(view.token.id),
        ..AuditFilter::default()
    };
    let events = match state
        .keyward
        .list_audit(
            &user.actor,
            filter,
            PageRequest::parse(Some(50), None).expect("in range"),
        )
        .await
    {
        Ok(page) => page
            .items
            .iter()
            .map(|e| EventRow {
                at: When::of(e.at),
                action: e.action.as_str(),
                outcome: e.outcome.as_str(),
                ip: e.ip.clone().unwrap_or_default(),
                user_agent: e.user_agent.clone().unwrap_or_default(),
            })
            .collect(),
        Err(err) => return failure(&err),
    };
    let deliveries = match state
        .keyward
        .list_deliveries(
            &user.actor,
            None,
            view.token.id,
            PageRequest::parse(Some(20), None).expect("in range"),
        )
        .await
    {
        Ok(page) => page
            .items
            .iter()
            .map(|m| DeliveryRow {
                created: When::of(m.created_at),
                event: m.event.clone(),
                target: m.target.clone(),
                status: m.status.as_str(),
                attempts: m.attempts,
                last_result: m.last_result.clone().unwrap_or_default(),
                next_attempt: m.next_attempt_at.map(When::of),
            })
            .collect(),
        Err(err) => return failure(&err),
    };
    let page = DetailPage {
        l: user.layout("api"),
        tab: "tokens",
        t: TokenRow::of(&view),
        deliveries,
        events,
        csrf_token: user.csrf_token.clone(),
    };
    user.render(&state, StatusCode::OK, &page)
}

#[derive(Template)]
#[template(path = "tokens/rotate.html")]
struct RotatePage {
    l: Layout,
    tab: &'static str,
    t: TokenRow,
    csrf_token: String,
    /// (seconds, label, selected).
    graces: Vec<(i64, &'static str, bool)>,
    default_days: i64,
}

/// The grace periods offered, in seconds; the configured default is
/// selected.
fn graces(default: i64, max: i64) -> Vec<(i64, &'static str, bool)> {
    [
        (0, "None: the previous secret stops at once"),
        (3600, "1 hour"),
        (86_400, "1 day"),
        (7 * 86_400, "7 days"),
        (14 * 86_400, "14 days"),
        (30 * 86_400, "30 days"),
    ]
    .into_iter()
    .filter(|(s, _)| *s <= max)
    .map(|(s, label)| (s, label, s == default))
    .collect()
}

/// `GET /settings/api/tokens/{id}/rotate`: the grace period choice.
pub async fn rotate_form(
    State(state): State<AppState>,
    user: PortalUser,
    Path(id): Path<String>,
) -> Response {
    let view = match view(&state, &user, &id).await {
        Ok(view) => view,
        Err(err) => return failure(&err),
    };
    let settings = state.keyward.settings();
    let page = RotatePage {
        l: user.layout("api"),
        tab: "tokens",
        t: TokenRow::of(&view),
        csrf_token: user.csrf_token.clone(),
        graces: graces(
            settings.default_grace.whole_seconds(),
            settings.max_grace.whole_seconds(),
        ),
        default_days: settings.default_grace.whole_days(),
    };
    user.render(&state, StatusCode::OK, &page)
}

/// `POST /settings/api/tokens/{id}/rotate`: a new secret, shown once.
pub async fn rotate(
    State(state): State<AppState>,
    Path(id): Path<String>,
    form: SignedForm,
) -> Response {
    let SignedForm { user, fields } = form;
    let id = match parse_id(&id) {
        Ok(id) => id,
        Err(err) => return failure(&err),
    };
    let grace = match fields.optional("grace").map(|g| g.parse::<i64>()) {
        None => None,
        Some(Ok(g)) => Some(g),
        Some(Err(_)) => {
            return back_with(
                &state,
                &format!("{}/rotate", token_path(id)),
                &Error::invalid("gracePeriodSeconds", "must be a number of seconds"),
            );
        }
    };
    match state
        .keyward
        .rotate_token(&user.actor, None, id, grace)
        .await
    {
        Ok(issued) => {
            let message = match &issued.view.previous {
                Some(previous) => format!(
                    "Token rotated. The previous secret works until {}.",
                    When::of(previous.expires_at).text
                ),
                None => "Token rotated. The previous secret no longer works.".to_owned(),
            };
            let shown = OneTime {
                title: format!("New secret of “{}”", issued.view.token.name),
                id_label: "Token ID".into(),
                id: id.to_string(),
                secret_label: "Token".into(),
                secret: issued.secret.expose().to_owned(),
                callback_secret: None,
                back: token_path(id),
            };
            secret::show(&state, &user, &shown, &message)
        }
        Err(err) => back_with(&state, &token_path(id), &err),
    }
}

/// `POST /settings/api/tokens/{id}/revoke-previous`: the previous secret
/// stops now.
pub async fn revoke_previous(
    State(state): State<AppState>,
    Path(id): Path<String>,
    form: SignedForm,
) -> Response {
    let id = match parse_id(&id) {
        Ok(id) => id,
        Err(err) => return failure(&err),
    };
    let result = state
        .keyward
        .revoke_previous(&form.user.actor, None, id)
        .await;
    let here = token_path(id);
    let message = "Previous secret revoked. Only the current secret works now.";
    outcome(&state, result, &here, message, &here)
}

#[derive(Template)]
#[template(path = "tokens/renew.html")]
struct RenewPage {
    l: Layout,
    tab: &'static str,
    t: TokenRow,
    csrf_token: String,
    f: Fields,
    end_default: String,
    errors: FormErrors,
}

fn renew_page(
    user: &PortalUser,
    state: &AppState,
    view: &TokenView,
    f: Fields,
    errors: FormErrors,
) -> RenewPage {
    let now = state.keyward.clock().now();
    let mut end = now + time::Duration::days(7);
    if let Some(at) = view.token.expires_at {
        end = end.min(at);
    }
    RenewPage {
        l: user.layout("api"),
        tab: "tokens",
        t: TokenRow::of(view),
        csrf_token: user.csrf_token.clone(),
        f,
        end_default: date_input(end),
        errors,
    }
}

/// `GET /settings/api/tokens/{id}/renew`: the Renew Token form.
pub async fn renew_form(
    State(state): State<AppState>,
    user: PortalUser,
    Path(id): Path<String>,
) -> Response {
    let view = match view(&state, &user, &id).await {
        Ok(view) => view,
        Err(err) => return failure(&err),
    };
    let mut f = Fields::default();
    if view.token.renewed_to.is_none() {
        f = Fields::parse(
            form_urlencoded::Serializer::new(String::new())
                .append_pair("name", &view.token.name)
                .finish()
                .as_bytes(),
        );
    }
    let page = renew_page(&user, &state, &view, f, FormErrors::default());
    user.render(&state, StatusCode::OK, &page)
}

/// `POST /settings/api/tokens/{id}/renew`: a new token replaces this one,
/// which ends on the chosen day; the new secret is shown once.
pub async fn renew(
    State(state): State<AppState>,
    Path(id): Path<String>,
    form: SignedForm,
) -> Response {
    let SignedForm { user, fields } = form;
    let view = match view(&state, &user, &id).await {
        Ok(view) => view,
        Err(err) => return failure(&err),
    };
    let end = match fields
        .optional("expireCurrentAt")
        .map(|d| parse_date_end(&d))
    {
        Some(Some(end)) => end,
        _ => {
            let errors =
                FormErrors::default().field("expireCurrentAt", "must be a date (YYYY-MM-DD)");
            let page = renew_page(&user, &state, &view, fields, errors);
            return user.render(&state, StatusCode::BAD_REQUEST, &page);
        }
    };
    // A day's end past the token's own expiry means "when it expires".
    let end = view.token.expires_at.map_or(end, |at| end.min(at));
    let now = state.keyward.clock().now();
    // Today means now, not tonight, if today's end has already come.
    let end = end.max(now);
    let input = RenewToken {
        name: fields.text("name"),
        description: fields.optional("description"),
        expire_current_at: end,
    };
    match state
        .keyward
        .renew_token(&user.actor, None, view.token.id, input)
        .await
    {
        Ok(issued) => {
            let new_id = issued.view.token.id;
            let message = format!(
                "Token renewed. “{}” works until {}; use the new token from now on.",
                view.token.name,
                When::of(end).text
            );
            let shown = OneTime {
                title: format!("API token “{}” created by renewal", issued.view.token.name),
                id_label: "Token ID".into(),
                id: new_id.to_string(),
                secret_label: "Token".into(),
                secret: issued.secret.expose().to_owned(),
                callback_secret: None,
                back: token_path(new_id),
            };
            secret::show(&state, &user, &shown, &message)
        }
        Err(err) => {
            let errors = FormErrors::from_error(&err, &["name", "description", "expireCurrentAt"]);
            let status = super::status_of(&err);
            let page = renew_page(&user, &state, &view, fields, errors);
            user.render(&state, status, &page)
        }
    }
}

#[derive(Template)]
#[template(path = "tokens/edit.html")]
struct EditPage {
    l: Layout,
    tab: &'static str,
    t: TokenRow,
    csrf_token: String,
    f: Fields,
    errors: FormErrors,
}

/// `GET /settings/api/tokens/{id}/edit`: plenigo's limited edit —
/// description, auto renewal and its mail recipient.
pub async fn edit_form(
    State(state): State<AppState>,
    user: PortalUser,
    Path(id): Path<String>,
) -> Response {
    let view = match view(&state, &user, &id).await {
        Ok(view) => view,
        Err(err) => return failure(&err),
    };
    let mut values = form_urlencoded::Serializer::new(String::new());
    values.append_pair(
        "description",
        view.token.description.as_deref().unwrap_or_default(),
    );
    if let Some(r) = &view.token.renewal {
        values
            .append_pair("renewalEveryDays", &r.every_days.to_string())
            .append_pair("renewalCallbackUrl", &r.callback_url)
            .append_pair(
                "renewalMailRecipient",
                r.mail_recipient.as_deref().unwrap_or_default(),
            );
    }
    let page = EditPage {
        l: user.layout("api"),
        tab: "tokens",
        t: TokenRow::of(&view),
        csrf_token: user.csrf_token.clone(),
        f: Fields::parse(values.finish().as_bytes()),
        errors: FormErrors::default(),
    };
    user.render(&state, StatusCode::OK, &page)
}

/// `POST /settings/api/tokens/{id}/edit`. The renewal policy is changed
/// only when its fields changed (a new policy has a new callback secret).
pub async fn edit(
    State(state): State<AppState>,
    Path(id): Path<String>,
    form: SignedForm,
) -> Response {
    let SignedForm { user, fields } = form;
    let view = match view(&state, &user, &id).await {
        Ok(view) => view,
        Err(err) => return failure(&err),
    };
    let show_errors = |fields: Fields, errors: FormErrors, status: StatusCode| {
        let page = EditPage {
            l: user.layout("api"),
            tab: "tokens",
            t: TokenRow::of(&view),
            csrf_token: user.csrf_token.clone(),
            f: fields,
            errors,
        };
        user.render(&state, status, &page)
    };
    let renewal = match renewal_of(&fields) {
        Ok(renewal) => renewal,
        Err(errors) => return show_errors(fields, errors, StatusCode::BAD_REQUEST),
    };
    let current = view.token.renewal.as_ref().map(|r| {
        (
            i64::from(r.every_days),
            r.callback_url.as_str(),
            r.mail_recipient.as_deref(),
        )
    });
    let wanted = renewal.as_ref().map(|r| {
        (
            r.every_days,
            r.callback_url.as_str(),
            r.mail_recipient.as_deref(),
        )
    });
    let rotate = renewal.as_ref().is_some_and(|r| r.rotate_callback_secret);
    let renewal_change = (current != wanted || rotate).then_some(renewal.clone());
    let input = UpdateToken {
        description: Some(fields.optional("description")),
        renewal: renewal_change,
        ..UpdateToken::default()
    };
    match state
        .keyward
        .update_token(&user.actor, None, view.token.id, input)
        .await
    {
        Ok((updated, Some(callback))) => {
            let shown = OneTime {
                title: format!("Auto renewal of “{}” set", updated.token.name),
                id_label: "Token ID".into(),
                id: updated.token.id.to_string(),
                secret_label: "Callback signing secret".into(),
                secret: callback.expose().to_owned(),
                callback_secret: None,
                back: token_path(updated.token.id),
            };
            secret::show(&state, &user, &shown, "Token updated.")
        }
        Ok((updated, None)) => {
            flash::redirect(&state, &token_path(updated.token.id), "Token updated.")
        }
        Err(err) => {
            let errors = FormErrors::from_error(&err, CREATE_FIELDS);
            let status = super::status_of(&err);
            show_errors(fields, errors, status)
        }
    }
}

#[derive(Template)]
#[template(path = "tokens/confirm.html")]
struct ConfirmPage {
    l: Layout,
    tab: &'static str,
    t: TokenRow,
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
    let view = match view(state, user, id).await {
        Ok(view) => view,
        Err(err) => return failure(&err),
    };
    let page = ConfirmPage {
        l: user.layout("api"),
        tab: "tokens",
        action: format!("{}/{what}", token_path(view.token.id)),
        t: TokenRow::of(&view),
        csrf_token: user.csrf_token.clone(),
        title,
        text,
        button,
    };
    user.render(state, StatusCode::OK, &page)
}

/// `GET /settings/api/tokens/{id}/deactivate`: the confirmation.
pub async fn deactivate_form(
    State(state): State<AppState>,
    user: PortalUser,
    Path(id): Path<String>,
) -> Response {
    confirm(
        &state,
        &user,
        &id,
        "deactivate",
        "Deactivate this token?",
        "Deactivating a token cannot be undone. Every program using it stops working at once; \
         the token stays in the list, deactivated, for the record.",
        "Deactivate",
    )
    .await
}

/// `POST /settings/api/tokens/{id}/deactivate`.
pub async fn deactivate(
    State(state): State<AppState>,
    Path(id): Path<String>,
    form: SignedForm,
) -> Response {
    let id = match parse_id(&id) {
        Ok(id) => id,
        Err(err) => return failure(&err),
    };
    let result = state
        .keyward
        .deactivate_token(&form.user.actor, None, id)
        .await;
    let here = token_path(id);
    outcome(
        &state,
        result,
        &here,
        "Token deactivated. It no longer works.",
        &here,
    )
}

/// `GET /settings/api/tokens/{id}/delete`: the confirmation.
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
        "Delete this token?",
        "The token is removed from the list and its secrets stop working at once. \
         This cannot be undone.",
        "Delete",
    )
    .await
}

/// `POST /settings/api/tokens/{id}/delete`.
pub async fn delete(
    State(state): State<AppState>,
    Path(id): Path<String>,
    form: SignedForm,
) -> Response {
    let id = match parse_id(&id) {
        Ok(id) => id,
        Err(err) => return failure(&err),
    };
    let result = state.keyward.delete_token(&form.user.actor, None, id).await;
    outcome(&state, result, LIST, "Token deleted.", &token_path(id))
}
