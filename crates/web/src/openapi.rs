//! The OpenAPI 3.1 document, generated from the handlers' annotations. The
//! router and the document come from the same `routes!` calls, so they cannot
//! disagree about which paths exist.
//!
//! # Conventions for every `#[utoipa::path]`
//!
//! The document is linted (Spectral's `spectral:oas`) and the running server
//! is tested against it (schemathesis) by `scripts/check-openapi`; the unit
//! tests below hold the rules that need no server.
//!
//! - **`operation_id`** is given explicitly, lowerCamelCase, verb first, unique
//!   in the whole document: `createToken`, `listTokens`, `getToken`,
//!   `rotateAppSecret`; an admin-wide list is `listAll…`; an OAuth endpoint
//!   is `oauth…`; a compatibility profile's own call starts with the
//!   profile's name (`circularoListKeys`).
//! - **The doc comment** is a one-line summary, a blank line, and a
//!   paragraph of description (who may call it, what it changes). Both land
//!   in the document.
//! - **Every response has a `description`**, the success one included
//!   (`(status = 200, description = "The token", body = TokenBody)`).
//! - **Standard errors come from one line**: after the success response, name
//!   the set that fits: [`AuthErrors`] (401, 403, 429) for an operation that
//!   takes a credential and no input, [`InputErrors`] (those and 400) for one
//!   that takes a query string or body, [`ResourceErrors`] (those and 404) for
//!   a `/{id}` path, where a malformed id is a 400 naming `id`. Add 409 (and
//!   any status with a more telling description) as a tuple *after* the set:
//!   the later entry wins.
//! - **Schema names are unique**: two Rust types with the same name both
//!   deriving `ToSchema` would silently share one component; give one of them
//!   `#[schema(as = …)]`. Enums used in a query struct are `#[param(inline)]`.
//!
//! Answers that any request can get from the HTTP layer rather than the
//! operation (503 on the request timeout, 413 body too large, 431 headers too large,
//! 500) are described once, in `info.description`, not per operation.

use std::collections::BTreeMap;

use utoipa::IntoResponses;
use utoipa::openapi::header::HeaderBuilder;
use utoipa::openapi::response::{Response, ResponseBuilder};
use utoipa::openapi::security::{ApiKey, ApiKeyValue, HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::openapi::{ContentBuilder, Ref, RefOr};
use utoipa::{Modify, OpenApi};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::api::{admin, apps, audit, health, renewal, session, tokens, verify};
use crate::compat::{Profiles, apinizer, circularo};
use crate::error::ErrorBody;
use crate::oauth::error::OAuthErrorBody;
use crate::oauth::{authorize, introspect, metadata, token};
use crate::state::AppState;

/// 401, 403 and 429: what any operation that takes a credential can answer.
#[derive(Debug)]
pub struct AuthErrors;

/// [`AuthErrors`] and 400: for an operation that takes a query string or a
/// body.
#[derive(Debug)]
pub struct InputErrors;

/// [`InputErrors`] and 404: for an operation on `/{id}`.
#[derive(Debug)]
pub struct ResourceErrors;

/// An `ErrorBody` answer.
fn error_response(description: &str) -> ResponseBuilder {
    ResponseBuilder::new().description(description).content(
        "application/json",
        ContentBuilder::new()
            .schema(Some(Ref::from_schema_name("ErrorBody")))
            .build(),
    )
}

fn header(description: &str) -> utoipa::openapi::header::Header {
    HeaderBuilder::new()
        .schema(Some(
            utoipa::openapi::schema::ObjectBuilder::new()
                .schema_type(utoipa::openapi::schema::Type::String),
        ))
        .description(Some(description))
        .build()
}

impl IntoResponses for AuthErrors {
    fn responses() -> BTreeMap<String, RefOr<Response>> {
        let unauthenticated = error_response(
            "`unauthenticated`: no credential, or one that is unknown, expired, revoked or \
             whose owner is disabled",
        )
        .header("www-authenticate", header("`Bearer`"))
        .build();
        let denied = error_response(
            "`permission_denied`: the credential lacks the scope or role this needs",
        )
        .build();
        let exhausted = error_response(
            "`resource_exhausted`: too many failed credential checks from this address \
             (`auth_failures_per_ip`), or a per-user limit reached",
        )
        .header("retry-after", header("Seconds to wait before trying again"))
        .build();
        BTreeMap::from([
            ("401".to_owned(), unauthenticated.into()),
            ("403".to_owned(), denied.into()),
            ("429".to_owned(), exhausted.into()),
        ])
    }
}

impl IntoResponses for InputErrors {
    fn responses() -> BTreeMap<String, RefOr<Response>> {
        let mut responses = AuthErrors::responses();
        responses.insert(
            "400".to_owned(),
            error_response(
                "`invalid_argument`: a malformed, unknown or repeated parameter, or a bad \
                 body; `message` names the field",
            )
            .build()
            .into(),
        );
        responses
    }
}

impl IntoResponses for ResourceErrors {
    fn responses() -> BTreeMap<String, RefOr<Response>> {
        let mut responses = InputErrors::responses();
        responses.insert(
            "400".to_owned(),
            error_response(
                "`invalid_argument`: an `id` that is not a UUID, a malformed, unknown or \
                 repeated parameter, or a bad body; `message` names the field",
            )
            .build()
            .into(),
        );
        responses.insert(
            "404".to_owned(),
            error_response("`not_found`: no such resource the caller may see")
                .build()
                .into(),
        );
        responses
    }
}

#[derive(OpenApi)]
#[openapi(
    info(
        title = "Keyward",
        description = "Self-hosted API credentials: personal API tokens, OAuth 2.0 apps, login \
sessions and their verification.\n\nErrors of `/api/v1` are `{code, message}` (`ErrorBody`); \
those of `/oauth` follow RFC 6749 (`OAuthErrorBody`). Besides the answers listed per operation, \
any request may get 503 (no answer within the request timeout), 413 (a body over the size \
limit), 431 (request headers over 16 KiB) or 500.",
        contact(name = "The operators of this Keyward instance")
    ),
    servers((url = "/", description = "This Keyward instance")),
    components(schemas(ErrorBody, OAuthErrorBody)),
    modifiers(&SecuritySchemes),
    tags(
        (name = "session", description = "Log in and out; who am I"),
        (name = "tokens", description = "Personal API tokens"),
        (name = "apps", description = "OAuth 2.0 client apps"),
        (name = "admin", description = "Users and every user's credentials (admin.users)"),
        (name = "oauth", description = "The OAuth 2.0 authorization server"),
        (name = "verify", description = "Checking a credential, for the platform's resource servers"),
        (name = "health", description = "Liveness and readiness")
    )
)]
struct ApiDoc;

struct SecuritySchemes;

impl Modify for SecuritySchemes {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .description(Some(
                        "An API token (kwp_…), session token (kws_…) or OAuth access token",
                    ))
                    .build(),
            ),
        );
        components.add_security_scheme(
            "clientBasic",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Basic)
                    .description(Some(
                        "OAuth client id and secret (or client_id/client_secret in the form body)",
                    ))
                    .build(),
            ),
        );
        components.add_security_scheme(
            "appId",
            SecurityScheme::ApiKey(ApiKey::Header(ApiKeyValue::with_description(
                "X-App-Id",
                "The token id or OAuth client id; the header name is configurable (KEYWARD_APP_ID_HEADER)",
            ))),
        );
        components.add_security_scheme(
            "appToken",
            SecurityScheme::ApiKey(ApiKey::Header(ApiKeyValue::with_description(
                "X-App-Token",
                "The secret matching the app id; the header name is configurable (KEYWARD_APP_TOKEN_HEADER)",
            ))),
        );
    }
}

/// Every documented route, with its OpenAPI description: Keyward's own, and
/// those of the compatibility profiles that are on.
pub fn api_router(compat: Profiles) -> OpenApiRouter<AppState> {
    let router = OpenApiRouter::with_openapi(ApiDoc::openapi())
        .routes(routes!(health::healthz))
        .routes(routes!(health::readyz))
        .routes(routes!(crate::metrics::metrics));
    // Circularo's login body is accepted beside Keyward's, at the same path.
    let mut router = if compat.circularo {
        router
            .routes(routes!(circularo::login))
            .routes(routes!(session::logout, circularo::logout))
            .routes(routes!(circularo::list_keys))
            .routes(routes!(circularo::delete_key))
    } else {
        router
            .routes(routes!(session::login))
            .routes(routes!(session::logout))
    };
    if compat.apinizer {
        router = router.routes(routes!(apinizer::token));
    }
    let tags = router.get_openapi_mut().tags.get_or_insert_with(Vec::new);
    for (on, name, description) in [
        (
            compat.circularo,
            "compat-circularo",
            "Circularo's calls (compatibility profile `circularo`)",
        ),
        (
            compat.apinizer,
            "compat-apinizer",
            "Apinizer's calls (compatibility profile `apinizer`)",
        ),
    ] {
        if on {
            tags.push(
                utoipa::openapi::tag::TagBuilder::new()
                    .name(name)
                    .description(Some(description))
                    .build(),
            );
        }
    }
    router
        .routes(routes!(session::me))
        .routes(routes!(session::change_password))
        .routes(routes!(admin::create_user, admin::list_users))
        .routes(routes!(
            admin::get_user,
            admin::update_user,
            admin::delete_user
        ))
        .routes(routes!(admin::list_tokens))
        .routes(routes!(admin::list_apps))
        .routes(routes!(audit::list))
        .routes(routes!(tokens::create, tokens::list))
        .routes(routes!(tokens::get, tokens::update, tokens::delete))
        .routes(routes!(tokens::rotate))
        .routes(routes!(tokens::revoke_previous))
        .routes(routes!(tokens::renew))
        .routes(routes!(tokens::deactivate))
        .routes(routes!(renewal::request_renewed_token))
        .routes(routes!(renewal::trigger_renewal))
        .routes(routes!(renewal::deliveries))
        .routes(routes!(apps::create, apps::list))
        .routes(routes!(apps::get, apps::update, apps::delete))
        .routes(routes!(apps::rotate))
        .routes(routes!(token::token))
        .routes(routes!(authorize::authorize, authorize::decide))
        .routes(routes!(authorize::login_form, authorize::login))
        .routes(routes!(introspect::introspect))
        .routes(routes!(introspect::revoke))
        .routes(routes!(metadata::metadata))
        .routes(routes!(metadata::metadata_for_path))
        .routes(routes!(verify::verify))
}

/// The document alone, e.g. for `keyward openapi` and the snapshot test.
pub fn document(compat: Profiles) -> utoipa::openapi::OpenApi {
    api_router(compat).into_openapi()
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    use serde_json::Value;

    use super::*;

    const METHODS: [&str; 8] = [
        "get", "put", "post", "delete", "options", "head", "patch", "trace",
    ];

    /// The document with every compatibility profile on, as JSON.
    fn full() -> Value {
        let all = Profiles {
            circularo: true,
            apinizer: true,
        };
        serde_json::to_value(document(all)).unwrap()
    }

    fn operations(doc: &Value) -> Vec<(String, String, &Value)> {
        let mut out = Vec::new();
        for (path, item) in doc["paths"].as_object().unwrap() {
            for (method, op) in item.as_object().unwrap() {
                if METHODS.contains(&method.as_str()) {
                    out.push((method.clone(), path.clone(), op));
                }
            }
        }
        out
    }

    #[test]
    fn every_operation_follows_the_conventions() {
        for doc in [
            full(),
            serde_json::to_value(document(Profiles::default())).unwrap(),
        ] {
            let mut ids = BTreeSet::new();
            for (method, path, op) in operations(&doc) {
                let at = format!("{method} {path}");
                let id = op["operationId"].as_str().unwrap_or_default();
                assert!(
                    id.len() > 2
                        && id.starts_with(|c: char| c.is_ascii_lowercase())
                        && id.chars().all(|c| c.is_ascii_alphanumeric()),
                    "{at}: operationId {id:?} is not lowerCamelCase"
                );
                assert!(ids.insert(id.to_owned()), "{at}: operationId {id} is taken");
                for field in ["summary", "description"] {
                    let text = op[field].as_str().unwrap_or_default();
                    assert!(!text.trim().is_empty(), "{at}: no {field}");
                }
                let responses = op["responses"].as_object().unwrap();
                for (status, response) in responses {
                    let text = response["description"].as_str().unwrap_or_default();
                    assert!(!text.trim().is_empty(), "{at} {status}: no description");
                }
                let has = |status: &str| responses.contains_key(status);
                // `security: [{}]` says "no credential needed".
                let takes_credential = op["security"].as_array().is_some_and(|all| {
                    all.iter()
                        .any(|r| r.as_object().is_some_and(|r| !r.is_empty()))
                });
                if path.starts_with("/api/") && takes_credential {
                    for status in ["401", "403", "429"] {
                        assert!(has(status), "{at}: takes a credential but no {status}");
                    }
                }
                if path.contains("{id}") {
                    assert!(
                        has("400") && has("404"),
                        "{at}: an id path without 400 and 404"
                    );
                }
                let has_query = op["parameters"]
                    .as_array()
                    .is_some_and(|ps| ps.iter().any(|p| p["in"] == "query"));
                if path.starts_with("/api/") && (has_query || op.get("requestBody").is_some()) {
                    assert!(has("400"), "{at}: takes input but has no 400");
                }
            }
        }
    }

    /// Every `$ref` names a component, and every schema is used.
    #[test]
    fn references_resolve_and_no_schema_is_unused() {
        let doc = full();
        let text = doc.to_string();
        let schemas = doc["components"]["schemas"].as_object().unwrap();
        let mut refs = BTreeSet::new();
        let mut rest = text.as_str();
        while let Some(at) = rest.find("\"$ref\":\"") {
            rest = &rest[at + 8..];
            refs.insert(rest[..rest.find('"').unwrap()].to_owned());
        }
        for r in &refs {
            let name = r
                .strip_prefix("#/components/schemas/")
                .unwrap_or_else(|| panic!("unexpected reference {r}"));
            assert!(schemas.contains_key(name), "{r} does not resolve");
        }
        for name in schemas.keys() {
            assert!(
                refs.contains(&format!("#/components/schemas/{name}")),
                "schema {name} is unused"
            );
        }
    }

    /// The standard sets: the later tuple overrides, the rest stays.
    #[test]
    fn the_standard_error_sets_nest() {
        let auth = AuthErrors::responses();
        let input = InputErrors::responses();
        let resource = ResourceErrors::responses();
        assert_eq!(auth.keys().collect::<Vec<_>>(), ["401", "403", "429"]);
        assert_eq!(
            input.keys().collect::<Vec<_>>(),
            ["400", "401", "403", "429"]
        );
        assert_eq!(
            resource.keys().collect::<Vec<_>>(),
            ["400", "401", "403", "404", "429"]
        );
        let doc = full();
        let rotate = &doc["paths"]["/api/v1/integrations/tokens/{id}/rotate"]["post"]["responses"];
        assert!(
            rotate["403"]["description"]
                .as_str()
                .unwrap()
                .contains("rights the caller lacks")
        );
        assert!(rotate["401"]["headers"]["www-authenticate"].is_object());
        assert!(rotate["429"]["headers"]["retry-after"].is_object());
    }
}
