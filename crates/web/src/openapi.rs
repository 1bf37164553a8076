//! The OpenAPI 3.1 document, generated from the handlers' annotations. The
//! router and the document come from the same `routes!` calls, so they cannot
//! disagree about which paths exist.

use utoipa::openapi::security::{ApiKey, ApiKeyValue, HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::api::{admin, apps, audit, health, renewal, session, tokens, verify};
use crate::compat::{Profiles, apinizer, circularo};
use crate::oauth::{authorize, introspect, metadata, token};
use crate::state::AppState;

#[derive(OpenApi)]
#[openapi(
    info(
        title = "Keyward",
        description = "Self-hosted API credentials: personal API tokens, login sessions and their verification."
    ),
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
