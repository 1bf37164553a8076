//! Administration (`admin.users`): users (`/api/v1/admin/users`) and every
//! user's credentials (`/api/v1/admin/tokens`, `/api/v1/admin/apps`), so an
//! operator can run Keyward without a database shell.

use axum::Json;
use axum::extract::State;
use axum::http::{StatusCode, Uri};
use keyward_core::model::{User, UserFilter, UserStatus};
use keyward_core::service::{CreateUser, UpdateUser};
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

use super::apps::{AppBody, AppListQuery};
use super::paging::{Paged, page_request};
use super::timefmt::{self, rfc3339};
use super::tokens::{TokenBody, TokenListQuery};
use crate::error::{ApiResult, ErrorBody};
use crate::extract::{ApiJson, ApiQuery, Caller, IdPath};
use crate::openapi::{InputErrors, ResourceErrors};
use crate::state::AppState;

const TAG: &str = "admin";

/// A user status.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum StatusValue {
    Active,
    Disabled,
}

impl From<StatusValue> for UserStatus {
    fn from(s: StatusValue) -> Self {
        match s {
            StatusValue::Active => UserStatus::Active,
            StatusValue::Disabled => UserStatus::Disabled,
        }
    }
}

/// A user, as administrators see them.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct AdminUserBody {
    pub id: Uuid,
    pub username: String,
    pub roles: Vec<String>,
    /// `active` or `disabled`.
    #[schema(example = "active")]
    pub status: &'static str,
    pub email: Option<String>,
    #[serde(with = "rfc3339")]
    pub created_at: OffsetDateTime,
    #[serde(with = "rfc3339")]
    pub updated_at: OffsetDateTime,
}

impl From<User> for AdminUserBody {
    fn from(u: User) -> Self {
        Self {
            id: u.id,
            username: u.username,
            roles: u.roles,
            status: u.status.as_str(),
            email: u.email,
            created_at: u.created_at,
            updated_at: u.updated_at,
        }
    }
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct CreateUserRequest {
    /// 1–254 characters, no spaces (an e-mail address is fine); unique up
    /// to case.
    #[schema(example = "mary.griffin@example.com")]
    pub username: String,
    /// 12–1024 characters, not a commonly used password.
    pub password: String,
    /// Default `["member"]`.
    #[serde(default)]
    pub roles: Vec<String>,
    pub email: Option<String>,
}

#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct UpdateUserRequest {
    pub roles: Option<Vec<String>>,
    /// `disabled` ends the user's sessions and makes every credential of
    /// theirs fail at once.
    pub status: Option<StatusValue>,
    /// `null` clears it.
    #[serde(default, deserialize_with = "timefmt::nullable")]
    #[schema(value_type = Option<String>)]
    pub email: Option<Option<String>>,
    /// A new password (a reset): ends the user's sessions.
    pub password: Option<String>,
}

/// Filters and page of the users list.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
#[into_params(parameter_in = Query)]
pub struct UserListQuery {
    /// Only users in this state.
    #[param(inline)]
    pub status: Option<StatusValue>,
    /// Users holding this role.
    pub role: Option<String>,
    /// Users whose username or e-mail address starts with this
    /// (case-insensitive).
    pub q: Option<String>,
    /// Page size, 1–100 (default 100).
    #[param(minimum = 1, maximum = 100)]
    pub limit: Option<u32>,
    /// Where the page starts: from the `Link` header of the previous one.
    pub cursor: Option<String>,
}

/// Create a user.
///
/// Needs `admin.users`. The password is checked for length and against a
/// list of common passwords; roles default to `member`.
#[utoipa::path(post, path = "/api/v1/admin/users", tag = TAG,
    operation_id = "createUser",
    request_body = CreateUserRequest,
    responses(
        (status = 201, description = "The new user", body = AdminUserBody),
        InputErrors,
        (status = 409, description = "`already_exists`: the username is taken", body = ErrorBody)),
    security(("bearer" = []), ("appId" = [], "appToken" = [])))]
pub async fn create_user(
    State(state): State<AppState>,
    Caller(caller): Caller,
    ApiJson(body): ApiJson<CreateUserRequest>,
) -> ApiResult<(StatusCode, Json<AdminUserBody>)> {
    let input = CreateUser {
        username: body.username,
        password: body.password,
        roles: body.roles,
        email: body.email,
    };
    let user = state.keyward.create_user(&caller, input).await?;
    Ok((StatusCode::CREATED, Json(user.into())))
}

/// List users.
///
/// Needs `admin.users`. Oldest first, a page at a time, filtered by status,
/// role or a username/e-mail prefix.
#[utoipa::path(get, path = "/api/v1/admin/users", tag = TAG,
    operation_id = "listUsers",
    params(UserListQuery),
    responses(
        (status = 200, description = "A page of users", body = [AdminUserBody],
            headers(("link" = String, description = "`<…>; rel=\"next\"` while more pages follow"))),
        InputErrors),
    security(("bearer" = []), ("appId" = [], "appToken" = [])))]
pub async fn list_users(
    State(state): State<AppState>,
    Caller(caller): Caller,
    uri: Uri,
    ApiQuery(params): ApiQuery<UserListQuery>,
) -> ApiResult<Paged<AdminUserBody>> {
    let page = page_request(params.limit, params.cursor.as_deref())?;
    let filter = UserFilter {
        status: params.status.map(Into::into),
        role: params.role,
        prefix: params.q.filter(|q| !q.is_empty()),
    };
    let users = state.keyward.list_users(&caller, &filter, page).await?;
    Ok(Paged::new(&state, &uri, users, Into::into))
}

/// Get one user.
///
/// Needs `admin.users`.
#[utoipa::path(get, path = "/api/v1/admin/users/{id}", tag = TAG,
    operation_id = "getUser",
    params(("id" = Uuid, Path, description = "The user id")),
    responses((status = 200, description = "The user", body = AdminUserBody), ResourceErrors),
    security(("bearer" = []), ("appId" = [], "appToken" = [])))]
pub async fn get_user(
    State(state): State<AppState>,
    Caller(caller): Caller,
    IdPath(id): IdPath,
) -> ApiResult<Json<AdminUserBody>> {
    Ok(Json(state.keyward.get_user_as(&caller, id).await?.into()))
}

/// Change a user.
///
/// Needs `admin.users`: roles, status, e-mail address or password. A disable
/// or a password reset ends their sessions at once, on every instance. The
/// last active admin cannot be disabled or demoted.
#[utoipa::path(patch, path = "/api/v1/admin/users/{id}", tag = TAG,
    operation_id = "updateUser",
    params(("id" = Uuid, Path, description = "The user id")), request_body = UpdateUserRequest,
    responses((status = 200, description = "The user as changed", body = AdminUserBody), ResourceErrors,
        (status = 409, description = "`failed_precondition`: the last active admin", body = ErrorBody)),
    security(("bearer" = []), ("appId" = [], "appToken" = [])))]
pub async fn update_user(
    State(state): State<AppState>,
    Caller(caller): Caller,
    IdPath(id): IdPath,
    ApiJson(body): ApiJson<UpdateUserRequest>,
) -> ApiResult<Json<AdminUserBody>> {
    let input = UpdateUser {
        roles: body.roles,
        status: body.status.map(Into::into),
        email: body.email,
        password: body.password,
    };
    Ok(Json(
        state.keyward.update_user(&caller, id, input).await?.into(),
    ))
}

/// Delete a user.
///
/// Needs `admin.users`. Every credential of theirs goes too. The last active
/// admin cannot be deleted.
#[utoipa::path(delete, path = "/api/v1/admin/users/{id}", tag = TAG,
    operation_id = "deleteUser",
    params(("id" = Uuid, Path, description = "The user id")),
    responses((status = 200, description = "Deleted", body = super::Ok), ResourceErrors,
        (status = 409, description = "`failed_precondition`: the last active admin", body = ErrorBody)),
    security(("bearer" = []), ("appId" = [], "appToken" = [])))]
pub async fn delete_user(
    State(state): State<AppState>,
    Caller(caller): Caller,
    IdPath(id): IdPath,
) -> ApiResult<Json<super::Ok>> {
    state.keyward.delete_user(&caller, id).await?;
    Ok(Json(super::Ok::yes()))
}

/// List every user's API tokens.
///
/// Needs `admin.users`. Never their secrets, oldest first, a page at a time;
/// `?expiringWithinDays=` and `?neverExpires=true` find those to look at.
#[utoipa::path(get, path = "/api/v1/admin/tokens", tag = TAG,
    operation_id = "listAllTokens",
    params(TokenListQuery),
    responses(
        (status = 200, description = "A page of tokens", body = [TokenBody],
            headers(("link" = String, description = "`<…>; rel=\"next\"` while more pages follow"))),
        InputErrors),
    security(("bearer" = []), ("appId" = [], "appToken" = [])))]
pub async fn list_tokens(
    State(state): State<AppState>,
    Caller(caller): Caller,
    uri: Uri,
    ApiQuery(params): ApiQuery<TokenListQuery>,
) -> ApiResult<Paged<TokenBody>> {
    let page = state
        .keyward
        .list_all_tokens(&caller, params.user_id, params.query()?)
        .await?;
    Ok(Paged::new(&state, &uri, page, Into::into))
}

/// List every user's OAuth apps.
///
/// Needs `admin.users`. Never their secrets, oldest first, a page at a time.
#[utoipa::path(get, path = "/api/v1/admin/apps", tag = TAG,
    operation_id = "listAllApps",
    params(AppListQuery),
    responses(
        (status = 200, description = "A page of apps", body = [AppBody],
            headers(("link" = String, description = "`<…>; rel=\"next\"` while more pages follow"))),
        InputErrors),
    security(("bearer" = []), ("appId" = [], "appToken" = [])))]
pub async fn list_apps(
    State(state): State<AppState>,
    Caller(caller): Caller,
    uri: Uri,
    ApiQuery(params): ApiQuery<AppListQuery>,
) -> ApiResult<Paged<AppBody>> {
    let page = page_request(params.limit, params.cursor.as_deref())?;
    let apps = state
        .keyward
        .list_all_apps(&caller, params.user_id, page)
        .await?;
    Ok(Paged::new(&state, &uri, apps, Into::into))
}
