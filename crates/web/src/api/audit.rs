//! `GET /api/v1/audit`: the audit log, a page at a time as JSON, or every
//! matching event streamed as JSON lines (`?format=ndjson`) for a SIEM.

use axum::body::Body;
use axum::extract::State;
use axum::http::{HeaderValue, Uri, header};
use axum::response::{IntoResponse, Response};
use keyward_core::model::{AuditAction, AuditEvent, AuditFilter, PageRequest};
use keyward_core::service::Actor;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use time::OffsetDateTime;
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

use super::paging::{Paged, page_request};
use super::timefmt::rfc3339;
use crate::error::{ApiError, ApiResult, ErrorBody};
use crate::extract::{ApiQuery, Caller};
use crate::openapi::InputErrors;
use crate::state::AppState;

/// Who acted.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct AuditActorBody {
    /// `null` for Keyward itself or an anonymous request.
    pub user_id: Option<Uuid>,
    /// `api_token`, `session`, `access_token`, …
    pub credential_kind: Option<&'static str>,
    pub credential_id: Option<Uuid>,
}

/// What it was done to.
#[derive(Debug, Serialize, ToSchema)]
pub struct AuditTargetBody {
    /// `token`, `app`, `session`, `user` or `oauth_token`.
    #[serde(rename = "type")]
    pub kind: &'static str,
    pub id: Option<Uuid>,
}

/// One audit event. Never a secret.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct AuditEventBody {
    pub id: Uuid,
    #[serde(with = "rfc3339")]
    pub time: OffsetDateTime,
    pub actor: AuditActorBody,
    /// `token.created`, `session.login_failed`, …
    #[schema(example = "token.rotated")]
    pub action: &'static str,
    pub target: AuditTargetBody,
    pub ip: Option<String>,
    pub user_agent: Option<String>,
    /// `success` or `failure`.
    pub outcome: &'static str,
    #[schema(value_type = Object)]
    pub details: Value,
}

impl From<AuditEvent> for AuditEventBody {
    fn from(e: AuditEvent) -> Self {
        Self {
            id: e.id,
            time: e.at,
            actor: AuditActorBody {
                user_id: e.actor_user_id,
                credential_kind: e.actor_credential_kind.map(|k| k.as_str()),
                credential_id: e.actor_credential_id,
            },
            action: e.action.as_str(),
            target: AuditTargetBody {
                kind: e.target_type.as_str(),
                id: e.target_id,
            },
            ip: e.ip,
            user_agent: e.user_agent,
            outcome: e.outcome.as_str(),
            details: e.details,
        }
    }
}

/// How the events are answered.
#[derive(Debug, Clone, Copy, Default, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum AuditFormat {
    /// A page of the JSON array, with a `Link` to the next.
    #[default]
    Json,
    /// Every matching event, one JSON object per line.
    Ndjson,
}

/// Filters and page of the audit log.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
#[into_params(parameter_in = Query)]
pub struct AuditQuery {
    /// One action, e.g. `token.rotated`.
    pub action: Option<String>,
    /// Events this user did.
    pub actor_id: Option<Uuid>,
    /// Events about this token, app, session or user.
    pub target_id: Option<Uuid>,
    /// At or after this time (RFC 3339).
    #[serde(default, with = "rfc3339::option")]
    #[param(value_type = Option<String>, format = DateTime)]
    pub since: Option<OffsetDateTime>,
    /// Before this time (RFC 3339).
    #[serde(default, with = "rfc3339::option")]
    #[param(value_type = Option<String>, format = DateTime)]
    pub until: Option<OffsetDateTime>,
    /// `json` (default) or `ndjson`.
    #[param(inline)]
    pub format: Option<AuditFormat>,
    /// Page size, 1–100 (default 100); for `ndjson`, the size of each read.
    #[param(minimum = 1, maximum = 100)]
    pub limit: Option<u32>,
    /// Where the page starts: from the `Link` header of the previous one.
    pub cursor: Option<String>,
}

/// Read the audit log.
///
/// Everything with `admin.users`; with `credentials.manage`, what the
/// caller's user did and what touched their credentials. Events are ordered
/// by time. `?format=ndjson` streams every matching event as JSON lines
/// (`application/x-ndjson`) for a SIEM.
#[utoipa::path(get, path = "/api/v1/audit", tag = "admin",
    operation_id = "listAuditEvents",
    params(AuditQuery),
    responses(
        (status = 200, description = "A page of events (or, for `ndjson`, all of them, one per line)",
            content(([AuditEventBody] = "application/json"), (AuditEventBody = "application/x-ndjson")),
            headers(("link" = String, description = "`<…>; rel=\"next\"` while more pages follow"))),
        InputErrors,
        (status = 403, description = "`permission_denied`: neither admin.users nor credentials.manage", body = ErrorBody)),
    security(("bearer" = []), ("appId" = [], "appToken" = [])))]
pub async fn list(
    State(state): State<AppState>,
    Caller(caller): Caller,
    uri: Uri,
    ApiQuery(params): ApiQuery<AuditQuery>,
) -> ApiResult<Response> {
    let filter = AuditFilter {
        action: params
            .action
            .as_deref()
            .map(|a| {
                AuditAction::parse(a)
                    .ok_or_else(|| ApiError::invalid("action", format!("unknown action {a:?}")))
            })
            .transpose()?,
        actor_id: params.actor_id,
        target_id: params.target_id,
        since: params.since,
        until: params.until,
        involving: None,
    };
    let page = page_request(params.limit, params.cursor.as_deref())?;
    if matches!(params.format, Some(AuditFormat::Ndjson)) {
        // Checked once up front, so a refusal is an ordinary error answer.
        state
            .keyward
            .list_audit(&caller, filter.clone(), PageRequest { limit: 1, ..page })
            .await?;
        return Ok(ndjson(state, caller, filter, page));
    }
    let events = state.keyward.list_audit(&caller, filter, page).await?;
    Ok(Paged::new(&state, &uri, events, AuditEventBody::from).into_response())
}

/// Every event matching `filter` from `page` on, read a page at a time and
/// written as JSON lines.
fn ndjson(state: AppState, actor: Actor, filter: AuditFilter, page: PageRequest) -> Response {
    let lines = futures::stream::unfold(Some(page), move |next| {
        let (state, actor, filter) = (state.clone(), actor.clone(), filter.clone());
        async move {
            let page = next?;
            match state.keyward.list_audit(&actor, filter, page).await {
                Ok(events) => {
                    let mut chunk = String::new();
                    for event in events.items {
                        if let Ok(line) = serde_json::to_string(&AuditEventBody::from(event)) {
                            chunk.push_str(&line);
                            chunk.push('\n');
                        }
                    }
                    let next = events.next.map(|after| PageRequest {
                        after: Some(after),
                        ..page
                    });
                    Some((Ok::<_, std::io::Error>(chunk), next))
                }
                Err(err) => {
                    tracing::error!(error = %err, "the audit stream stopped");
                    Some((Err(std::io::Error::other("the audit stream stopped")), None))
                }
            }
        }
    });
    let mut response = Body::from_stream(lines).into_response();
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/x-ndjson"),
    );
    response
}
