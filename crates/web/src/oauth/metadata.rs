//! `GET /.well-known/oauth-authorization-server` (RFC 8414): exactly what
//! this server supports, with no empty arrays.

use axum::Json;
use axum::extract::{Path, State};
use serde::Serialize;
use utoipa::ToSchema;

use crate::state::AppState;

#[derive(Debug, Serialize, ToSchema)]
pub struct Metadata {
    pub issuer: String,
    pub authorization_endpoint: String,
    pub token_endpoint: String,
    pub introspection_endpoint: String,
    pub revocation_endpoint: String,
    pub response_types_supported: [&'static str; 1],
    pub grant_types_supported: [&'static str; 3],
    pub code_challenge_methods_supported: [&'static str; 1],
    pub token_endpoint_auth_methods_supported: [&'static str; 2],
    pub introspection_endpoint_auth_methods_supported: [&'static str; 2],
    pub revocation_endpoint_auth_methods_supported: [&'static str; 2],
    pub scopes_supported: Vec<String>,
    pub authorization_response_iss_parameter_supported: bool,
}

/// Authorization server metadata (RFC 8414).
///
/// The endpoints, grants and scopes of this authorization server. No
/// authentication.
#[utoipa::path(get, path = "/.well-known/oauth-authorization-server", tag = "oauth",
    operation_id = "oauthMetadata",
    responses((status = 200, description = "The metadata", body = Metadata)))]
pub async fn metadata(State(state): State<AppState>) -> Json<Metadata> {
    Json(document(&state))
}

/// Authorization server metadata for an issuer with a path.
///
/// `https://host/kw` → `/.well-known/oauth-authorization-server/kw`
/// (RFC 8414 §3.1); any other path is not found.
#[utoipa::path(get, path = "/.well-known/oauth-authorization-server/{path}", tag = "oauth",
    operation_id = "oauthMetadataForPath",
    params(("path" = String, Path, description = "The issuer's path")),
    responses((status = 200, description = "The metadata", body = Metadata),
        (status = 404, description = "`not_found`: not this issuer's path", body = crate::error::ErrorBody)))]
pub async fn metadata_for_path(
    State(state): State<AppState>,
    Path(path): Path<String>,
) -> crate::error::ApiResult<Json<Metadata>> {
    let issuer_path = url::Url::parse(&state.issuer)
        .map(|u| u.path().trim_matches('/').to_owned())
        .unwrap_or_default();
    if issuer_path.is_empty() || issuer_path != path.trim_matches('/') {
        return Err(keyward_core::Error::NotFound("no such issuer".into()).into());
    }
    Ok(Json(document(&state)))
}

fn document(state: &AppState) -> Metadata {
    let issuer = state.issuer.clone();
    let at = |path: &str| format!("{issuer}{path}");
    let auth = ["client_secret_basic", "client_secret_post"];
    Metadata {
        authorization_endpoint: at("/oauth/authorize"),
        token_endpoint: at("/oauth/token"),
        introspection_endpoint: at("/oauth/introspect"),
        revocation_endpoint: at("/oauth/revoke"),
        response_types_supported: ["code"],
        grant_types_supported: ["authorization_code", "client_credentials", "refresh_token"],
        code_challenge_methods_supported: ["S256"],
        token_endpoint_auth_methods_supported: auth,
        introspection_endpoint_auth_methods_supported: auth,
        revocation_endpoint_auth_methods_supported: auth,
        scopes_supported: state
            .keyward
            .policy()
            .scopes()
            .map(|s| s.name.clone())
            .collect(),
        authorization_response_iss_parameter_supported: true,
        issuer,
    }
}
