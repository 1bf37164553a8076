//! OAuth apps: `/api/v1/integrations/apps` (iGUIDE). The client secret is in
//! the responses that create or rotate it, and nowhere else.

use axum::Json;
use axum::extract::State;
use axum::http::{StatusCode, Uri};
use keyward_core::model::OAuthApp;
use keyward_core::service::{CreateApp, IssuedApp, UpdateApp};
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

use super::paging::{Paged, page_request};
use super::timefmt::{self, rfc3339};
use crate::error::{ApiError, ApiResult, ErrorBody};
use crate::extract::{ApiJson, ApiQuery, Caller, IdPath};
use crate::openapi::{InputErrors, ResourceErrors};
use crate::state::AppState;

const TAG: &str = "apps";

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct CreateAppRequest {
    #[schema(example = "My Web Application")]
    pub client_name: String,
    pub description: Option<String>,
    /// Absolute https URIs (http only on loopback), no fragments.
    #[schema(example = json!(["https://myapp.example/oauth/callback"]))]
    pub redirect_uris: Vec<String>,
    pub logo_uri: Option<String>,
    /// Scopes the app may ask for, within the caller's own.
    #[schema(example = json!(["iguide.list", "iguide.ro"]))]
    pub scope: Vec<String>,
    /// Subset of `authorization_code`, `refresh_token`, `client_credentials`;
    /// default all three.
    pub grant_types: Option<Vec<String>>,
}

/// Any field but the secret; `clientSecret` here is an error.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct UpdateAppRequest {
    pub client_name: Option<String>,
    #[serde(default, deserialize_with = "timefmt::nullable")]
    #[schema(value_type = Option<String>)]
    pub description: Option<Option<String>>,
    pub redirect_uris: Option<Vec<String>>,
    #[serde(default, deserialize_with = "timefmt::nullable")]
    #[schema(value_type = Option<String>)]
    pub logo_uri: Option<Option<String>>,
    pub scope: Option<Vec<String>>,
    pub grant_types: Option<Vec<String>>,
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct AppBody {
    pub client_id: Uuid,
    pub client_name: String,
    pub description: Option<String>,
    pub redirect_uris: Vec<String>,
    pub logo_uri: Option<String>,
    pub scope: Vec<String>,
    pub grant_types: Vec<&'static str>,
    /// The secret (`kwc_…`): only when the app is created or its secret rotated.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub client_secret: Option<String>,
    pub client_secret_hint: String,
    #[serde(with = "rfc3339")]
    pub client_id_issued_at: OffsetDateTime,
    #[serde(with = "rfc3339")]
    pub updated_at: OffsetDateTime,
}

impl From<OAuthApp> for AppBody {
    fn from(app: OAuthApp) -> Self {
        AppBody {
            client_id: app.client_id,
            client_name: app.client_name,
            description: app.description,
            redirect_uris: app.redirect_uris,
            logo_uri: app.logo_uri,
            scope: app.scopes.into_iter().collect(),
            grant_types: app.grant_types.into_iter().map(|g| g.as_str()).collect(),
            client_secret: None,
            client_secret_hint: app.secret_hint,
            client_id_issued_at: app.created_at,
            updated_at: app.updated_at,
        }
    }
}

impl From<IssuedApp> for AppBody {
    fn from(issued: IssuedApp) -> Self {
        let mut body = AppBody::from(issued.app);
        body.client_secret = Some(issued.secret.expose().to_owned());
        body
    }
}

/// Create an OAuth app.
///
/// Its `clientSecret` is shown only in this answer. Needs
/// `credentials.manage`; the app's scope must be within the caller's own.
#[utoipa::path(post, path = "/api/v1/integrations/apps", tag = TAG,
    operation_id = "createApp",
    request_body = CreateAppRequest,
    responses((status = 201, description = "The new app, its secret in `clientSecret`", body = AppBody),
        InputErrors),
    security(("bearer" = []), ("appId" = [], "appToken" = [])))]
pub async fn create(
    State(state): State<AppState>,
    Caller(caller): Caller,
    ApiJson(body): ApiJson<CreateAppRequest>,
) -> ApiResult<(StatusCode, Json<AppBody>)> {
    let input = CreateApp {
        client_name: body.client_name,
        description: body.description,
        redirect_uris: body.redirect_uris,
        logo_uri: body.logo_uri,
        scope: body.scope,
        grant_types: body.grant_types,
    };
    let issued = state.keyward.create_app(&caller, input).await?;
    Ok((StatusCode::CREATED, Json(issued.into())))
}

/// `?limit=&cursor=` of an app list.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
#[into_params(parameter_in = Query)]
pub struct AppListQuery {
    /// At `/admin/apps`: only this user's apps.
    pub user_id: Option<Uuid>,
    /// Page size, 1–100 (default 100).
    #[param(minimum = 1, maximum = 100)]
    pub limit: Option<u32>,
    /// Where the page starts: from the `Link` header of the previous one.
    pub cursor: Option<String>,
}

/// `?limit=&cursor=`: a page of one's own apps.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
#[into_params(parameter_in = Query)]
pub struct PageQuery {
    /// Page size, 1–100 (default 100).
    #[param(minimum = 1, maximum = 100)]
    pub limit: Option<u32>,
    /// Where the page starts: from the `Link` header of the previous one.
    pub cursor: Option<String>,
}

/// List OAuth apps.
///
/// The caller's own apps (never their secrets), oldest first, a page at a
/// time.
#[utoipa::path(get, path = "/api/v1/integrations/apps", tag = TAG,
    operation_id = "listApps",
    params(PageQuery),
    responses(
        (status = 200, description = "A page of apps", body = [AppBody],
            headers(("link" = String, description = "`<…>; rel=\"next\"` while more pages follow"))),
        InputErrors),
    security(("bearer" = []), ("appId" = [], "appToken" = [])))]
pub async fn list(
    State(state): State<AppState>,
    Caller(caller): Caller,
    uri: Uri,
    ApiQuery(params): ApiQuery<PageQuery>,
) -> ApiResult<Paged<AppBody>> {
    let page = page_request(params.limit, params.cursor.as_deref())?;
    let apps = state.keyward.list_apps(&caller, page).await?;
    Ok(Paged::new(&state, &uri, apps, Into::into))
}

/// Get one OAuth app.
///
/// Its settings, never its secret.
#[utoipa::path(get, path = "/api/v1/integrations/apps/{id}", tag = TAG,
    operation_id = "getApp",
    params(("id" = Uuid, Path, description = "The client id")),
    responses((status = 200, description = "The app", body = AppBody), ResourceErrors),
    security(("bearer" = []), ("appId" = [], "appToken" = [])))]
pub async fn get(
    State(state): State<AppState>,
    Caller(caller): Caller,
    IdPath(id): IdPath,
) -> ApiResult<Json<AppBody>> {
    Ok(Json(state.keyward.get_app(&caller, id).await?.into()))
}

/// Change an OAuth app.
///
/// Any field but the secret, which is rotated instead; a new scope must be
/// within the caller's own.
#[utoipa::path(patch, path = "/api/v1/integrations/apps/{id}", tag = TAG,
    operation_id = "updateApp",
    params(("id" = Uuid, Path, description = "The client id")), request_body = UpdateAppRequest,
    responses((status = 200, description = "The app as changed", body = AppBody), ResourceErrors,
        (status = 403, description = "`permission_denied`: the app holds rights the caller lacks", body = ErrorBody)),
    security(("bearer" = []), ("appId" = [], "appToken" = [])))]
pub async fn update(
    State(state): State<AppState>,
    Caller(caller): Caller,
    IdPath(id): IdPath,
    body: axum::body::Bytes,
) -> ApiResult<Json<AppBody>> {
    // A clear word for the one field users try: the secret is rotated, not set.
    if let Ok(serde_json::Value::Object(map)) = serde_json::from_slice::<serde_json::Value>(&body)
        && map.contains_key("clientSecret")
    {
        return Err(ApiError::invalid(
            "clientSecret",
            "the client secret cannot be set; rotate it with POST .../rotate",
        ));
    }
    let body: UpdateAppRequest = crate::extract::parse_json(&body)?;
    let input = UpdateApp {
        client_name: body.client_name,
        description: body.description,
        redirect_uris: body.redirect_uris,
        logo_uri: body.logo_uri,
        scope: body.scope,
        grant_types: body.grant_types,
    };
    Ok(Json(
        state.keyward.update_app(&caller, id, input).await?.into(),
    ))
}

/// Rotate an OAuth app's client secret.
///
/// The new secret is in `clientSecret`, shown only in this answer; the old
/// one fails at once.
#[utoipa::path(post, path = "/api/v1/integrations/apps/{id}/rotate", tag = TAG,
    operation_id = "rotateAppSecret",
    params(("id" = Uuid, Path, description = "The client id")),
    responses((status = 200, description = "The app, its new secret in `clientSecret`", body = AppBody), ResourceErrors,
        (status = 403, description = "`permission_denied`: the app holds rights the caller lacks", body = ErrorBody)),
    security(("bearer" = []), ("appId" = [], "appToken" = [])))]
pub async fn rotate(
    State(state): State<AppState>,
    Caller(caller): Caller,
    IdPath(id): IdPath,
) -> ApiResult<Json<AppBody>> {
    Ok(Json(
        state.keyward.rotate_app_secret(&caller, id).await?.into(),
    ))
}

/// Delete an OAuth app.
///
/// Every token issued to it stops working at once.
#[utoipa::path(delete, path = "/api/v1/integrations/apps/{id}", tag = TAG,
    operation_id = "deleteApp",
    params(("id" = Uuid, Path, description = "The client id")),
    responses((status = 200, description = "Deleted", body = super::Ok), ResourceErrors),
    security(("bearer" = []), ("appId" = [], "appToken" = [])))]
pub async fn delete(
    State(state): State<AppState>,
    Caller(caller): Caller,
    IdPath(id): IdPath,
) -> ApiResult<Json<super::Ok>> {
    state.keyward.delete_app(&caller, id).await?;
    Ok(Json(super::Ok::yes()))
}
