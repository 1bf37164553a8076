//! `POST /oauth/introspect` (RFC 7662) and `POST /oauth/revoke` (RFC 7009),
//! for an authenticated client or a bearer credential.

use axum::Json;
use axum::body::Bytes;
use axum::extract::{RawQuery, State};
use axum::http::HeaderMap;
use keyward_core::service::Principal;
use keyward_core::service::oauth::{Caller, OAuthError, OAuthErrorCode, RevokeOutcome};
use serde::Serialize;
use utoipa::ToSchema;
use uuid::Uuid;

use super::client_auth::{self, Presented};
use super::error::{OAuthErrorBody, OAuthResult};
use super::form::Params;
use crate::extract::{ClientIp, RequestActor};
use crate::state::AppState;

/// An introspection answer. For any token that is not active, exactly
/// `{"active": false}`.
#[derive(Debug, Serialize)]
pub struct IntrospectionBody {
    pub active: bool,
    #[serde(flatten)]
    pub details: Option<ActiveDetails>,
}

/// The document's schema of [`IntrospectionBody`]: `active`, and the
/// details' fields, present only when active (a derived schema of the
/// flattened `Option` would demand them always).
impl utoipa::PartialSchema for IntrospectionBody {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        use utoipa::openapi::schema::{Object, ObjectBuilder, Schema, Type};
        let mut object = match ActiveDetails::schema() {
            utoipa::openapi::RefOr::T(Schema::Object(object)) => object,
            _ => Object::new(),
        };
        object.required = vec!["active".to_owned()];
        object.properties.insert(
            "active".to_owned(),
            ObjectBuilder::new()
                .schema_type(Type::Boolean)
                .description(Some(
                    "Whether the token is active; when not, no other field is present",
                ))
                .into(),
        );
        object.description = Some(
            "An introspection answer (RFC 7662 §2.2): for a token that is not active, \
             exactly `{\"active\": false}`; for an active one, every field but the optional \
             `client_id`, `exp` and `iat`."
                .to_owned(),
        );
        utoipa::openapi::RefOr::T(Schema::Object(object))
    }
}

impl ToSchema for IntrospectionBody {}

#[derive(Debug, Serialize, ToSchema)]
pub struct ActiveDetails {
    /// Effective scope, space-separated.
    pub scope: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub client_id: Option<Uuid>,
    /// `Bearer` (RFC 6749 §5.1), or `refresh_token`.
    pub token_type: &'static str,
    /// Keyward's kind of secret: `access_token`, `refresh_token`,
    /// `api_token` or `session`.
    pub kind: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub exp: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub iat: Option<i64>,
    /// The user the token acts for.
    pub sub: Uuid,
    pub username: String,
    pub iss: String,
}

/// Form fields of introspection and revocation (for the OpenAPI document).
#[derive(Debug, ToSchema)]
#[allow(dead_code)]
pub struct TokenParamForm {
    /// Any Keyward secret.
    token: String,
    /// Optional and only a hint: every kind is looked up anyway.
    token_type_hint: Option<String>,
    client_id: Option<String>,
    client_secret: Option<String>,
}

/// The caller of these endpoints, resolved.
enum Resolved {
    Client(std::sync::Arc<keyward_core::model::OAuthApp>),
    Bearer(Principal),
}

async fn resolve(
    state: &AppState,
    ip: Option<std::net::IpAddr>,
    headers: &HeaderMap,
    params: &mut Params,
    query: Option<&str>,
) -> Result<Resolved, OAuthError> {
    if let Some(name) = &params.repeated {
        return Err(OAuthError::invalid_request(&format!(
            "parameter {name} is repeated"
        )));
    }
    match client_auth::presented(headers, params, query)? {
        Presented::Bearer(secret) => state
            .keyward
            .authenticate(&secret, None, None)
            .await
            .map(Resolved::Bearer)
            .map_err(|_| OAuthError::invalid_client()),
        presented => client_auth::client(state, presented, ip)
            .await
            .map(|c| Resolved::Client(c.app)),
    }
}

impl Resolved {
    fn caller(&self) -> Caller<'_> {
        match self {
            Resolved::Client(app) => Caller::Client(app),
            Resolved::Bearer(p) => Caller::Bearer(p),
        }
    }
}

/// Introspect a token (RFC 7662).
///
/// Any Keyward secret, for an authenticated client or a bearer credential;
/// a token that is not active is exactly `{"active": false}`.
#[utoipa::path(post, path = "/oauth/introspect", tag = "oauth",
    operation_id = "oauthIntrospect",
    request_body(content = TokenParamForm, content_type = "application/x-www-form-urlencoded"),
    responses(
        (status = 200, description = "The token's state", body = IntrospectionBody),
        (status = 400, description = "`invalid_request`: a bad form", body = OAuthErrorBody),
        (status = 401, description = "`invalid_client`: client authentication failed",
            headers(("www-authenticate" = String, description = "`Basic`")), body = OAuthErrorBody),
        (status = 429, description = "Too many failed client authentications",
            headers(("retry-after" = String, description = "Seconds to wait before trying again")), body = OAuthErrorBody)),
    security(("clientBasic" = []), ("bearer" = [])))]
pub async fn introspect(
    State(state): State<AppState>,
    ClientIp(ip): ClientIp,
    headers: HeaderMap,
    RawQuery(query): RawQuery,
    body: Bytes,
) -> OAuthResult<Json<IntrospectionBody>> {
    let mut params = Params::parse(&body);
    let caller = resolve(&state, ip, &headers, &mut params, query.as_deref()).await?;
    let token = params
        .take("token")
        .ok_or_else(|| OAuthError::invalid_request("token is required"))?;
    let found = state.keyward.introspect(caller.caller(), &token).await?;
    Ok(Json(IntrospectionBody {
        active: found.is_some(),
        details: found.map(|i| ActiveDetails {
            scope: i.scope,
            client_id: i.client_id,
            token_type: i.token_type,
            kind: i.kind,
            exp: i.exp.map(|t| t.unix_timestamp()),
            iat: i.iat.map(|t| t.unix_timestamp()),
            sub: i.sub,
            username: i.username,
            iss: i.iss,
        }),
    }))
}

/// Revoke a token (RFC 7009).
///
/// For an authenticated client (its own tokens) or a bearer credential.
/// Unknown and already invalid tokens answer 200 too.
#[utoipa::path(post, path = "/oauth/revoke", tag = "oauth",
    operation_id = "oauthRevoke",
    request_body(content = TokenParamForm, content_type = "application/x-www-form-urlencoded"),
    responses(
        (status = 200, description = "Revoked, or nothing to revoke"),
        (status = 400, description = "`invalid_request` or `unsupported_token_type`", body = OAuthErrorBody),
        (status = 401, description = "`invalid_client`: client authentication failed",
            headers(("www-authenticate" = String, description = "`Basic`")), body = OAuthErrorBody),
        (status = 429, description = "Too many failed client authentications",
            headers(("retry-after" = String, description = "Seconds to wait before trying again")), body = OAuthErrorBody)),
    security(("clientBasic" = []), ("bearer" = [])))]
pub async fn revoke(
    State(state): State<AppState>,
    RequestActor(actor): RequestActor,
    headers: HeaderMap,
    RawQuery(query): RawQuery,
    body: Bytes,
) -> OAuthResult<()> {
    let mut params = Params::parse(&body);
    let caller = resolve(&state, actor.ip, &headers, &mut params, query.as_deref()).await?;
    let token = params
        .take("token")
        .ok_or_else(|| OAuthError::invalid_request("token is required"))?;
    let actor = match &caller {
        Resolved::Bearer(p) => actor.with_principal(p.clone()),
        Resolved::Client(_) => actor,
    };
    match state
        .keyward
        .revoke(&actor, caller.caller(), &token)
        .await?
    {
        RevokeOutcome::Done => Ok(()),
        RevokeOutcome::NotAllowed => Err(OAuthError::new(
            OAuthErrorCode::UnauthorizedClient,
            "the token was not issued to this client",
        )
        .into()),
    }
}
