//! RFC 8414, authorization server metadata: checklist items M1–M7; and
//! RFC 9700 B15, which is out of scope.
//!
//! B15 (sender-constrained tokens, DPoP or mTLS): not implemented in v1.
//! Access tokens are bearer tokens; there is deliberately no test for it.

use keyward_testkit::{TestApp, send};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::oauth_support::*;

const WELL_KNOWN: &str = "/.well-known/oauth-authorization-server";

async fn metadata(app: &TestApp, path: &str) -> (StatusCode, Value, Option<String>) {
    let r = reply(raw(app, Method::GET, path)).await;
    let content_type = r.header("content-type").map(str::to_owned);
    let body = if r.status.is_success() {
        r.json()
    } else {
        Value::Null
    };
    (r.status, body, content_type)
}

async fn https_app() -> TestApp {
    TestApp::spawn_with(|c| c.server.public_url = Some("https://keys.example.com".into())).await
}

#[tokio::test]
async fn m1_metadata_is_served_as_json() {
    let app = https_app().await;
    let (status, body, content_type) = metadata(&app, WELL_KNOWN).await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        content_type
            .unwrap_or_default()
            .starts_with("application/json")
    );
    assert!(body.is_object());
    app.stop().await;
}

#[tokio::test]
async fn m1_an_issuer_with_a_path_has_the_well_known_between_host_and_path() {
    let app =
        TestApp::spawn_with(|c| c.server.public_url = Some("https://keys.example.com/kw".into()))
            .await;
    let (status, body, _) = metadata(&app, &format!("{WELL_KNOWN}/kw")).await;
    assert_eq!(
        status,
        StatusCode::OK,
        "RFC 8414 §3.1: GET {WELL_KNOWN}/kw for issuer https://keys.example.com/kw"
    );
    assert_eq!(body["issuer"], "https://keys.example.com/kw");
    app.stop().await;
}

#[tokio::test]
async fn m2_the_issuer_is_https_without_query_or_fragment_and_as_configured() {
    for configured in ["https://keys.example.com", "https://keys.example.com/"] {
        let app = TestApp::spawn_with(|c| c.server.public_url = Some(configured.into())).await;
        let (_, body, _) = metadata(&app, WELL_KNOWN).await;
        let issuer = str_of(&body, "issuer");
        let url = url::Url::parse(issuer).expect("a URL");
        assert_eq!(url.scheme(), "https");
        assert!(
            url.query().is_none() && url.fragment().is_none(),
            "{issuer}"
        );
        // The metadata URL is built from the issuer by appending the
        // well-known path; the issuer must be exactly the one that yields it.
        assert_eq!(
            issuer, "https://keys.example.com",
            "configured {configured}"
        );
        assert_eq!(
            format!("{issuer}{WELL_KNOWN}"),
            format!("https://keys.example.com{WELL_KNOWN}")
        );
        app.stop().await;
    }
}

#[tokio::test]
async fn m3_required_members_are_present() {
    let app = https_app().await;
    let (_, body, _) = metadata(&app, WELL_KNOWN).await;
    assert_eq!(
        body["authorization_endpoint"],
        "https://keys.example.com/oauth/authorize"
    );
    assert_eq!(
        body["token_endpoint"],
        "https://keys.example.com/oauth/token"
    );
    assert_eq!(body["response_types_supported"], json!(["code"]));
    // The endpoints named are the ones that answer (relative to the server).
    let r = authorize_get(&app, None, "client_id=x").await;
    assert_eq!(
        r.status,
        StatusCode::BAD_REQUEST,
        "the authorize endpoint exists"
    );
    let r = post_form(
        &app,
        "/oauth/token",
        Auth::None,
        &[("grant_type", "client_credentials")],
    )
    .await;
    assert_eq!(
        r.status,
        StatusCode::UNAUTHORIZED,
        "the token endpoint exists"
    );
    app.stop().await;
}

#[tokio::test]
async fn m4_grant_types_are_listed_explicitly() {
    let app = https_app().await;
    let (_, body, _) = metadata(&app, WELL_KNOWN).await;
    let mut grants: Vec<&str> = body["grant_types_supported"]
        .as_array()
        .expect("grant_types_supported is present")
        .iter()
        .map(|v| v.as_str().unwrap())
        .collect();
    grants.sort_unstable();
    assert_eq!(
        grants,
        ["authorization_code", "client_credentials", "refresh_token"]
    );
    assert!(!grants.contains(&"implicit") && !grants.contains(&"password"));
    app.stop().await;
}

#[tokio::test]
async fn m5_s256_is_the_only_pkce_method_published() {
    let app = https_app().await;
    let (_, body, _) = metadata(&app, WELL_KNOWN).await;
    assert_eq!(body["code_challenge_methods_supported"], json!(["S256"]));
    app.stop().await;
}

#[tokio::test]
async fn m6_optional_members_describe_what_the_server_does() {
    let app = https_app().await;
    let (_, body, _) = metadata(&app, WELL_KNOWN).await;
    assert_eq!(
        body["revocation_endpoint"],
        "https://keys.example.com/oauth/revoke"
    );
    assert_eq!(
        body["introspection_endpoint"],
        "https://keys.example.com/oauth/introspect"
    );
    for key in [
        "token_endpoint_auth_methods_supported",
        "revocation_endpoint_auth_methods_supported",
        "introspection_endpoint_auth_methods_supported",
    ] {
        let mut methods: Vec<&str> = body[key]
            .as_array()
            .unwrap_or_else(|| panic!("{key} missing"))
            .iter()
            .map(|v| v.as_str().unwrap())
            .collect();
        methods.sort_unstable();
        assert_eq!(
            methods,
            ["client_secret_basic", "client_secret_post"],
            "{key}"
        );
        assert!(!methods.contains(&"none"), "no public clients");
    }
    let scopes: Vec<&str> = body["scopes_supported"]
        .as_array()
        .expect("scopes_supported")
        .iter()
        .map(|v| v.as_str().unwrap())
        .collect();
    for s in keyward_testkit::SCOPES.split(',') {
        assert!(scopes.contains(&s), "{s} in {scopes:?}");
    }
    // Both advertised methods really work at the token endpoint.
    let session = app.session("m6", &["member"]).await;
    let client = standard_app(&app, &session).await;
    for auth in [Auth::Basic(&client), Auth::Post(&client)] {
        let r = post_form(
            &app,
            "/oauth/token",
            auth,
            &[("grant_type", "client_credentials")],
        )
        .await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    }
    app.stop().await;
}

fn empty_arrays(v: &Value, path: &str, out: &mut Vec<String>) {
    match v {
        Value::Array(items) if items.is_empty() => out.push(path.to_owned()),
        Value::Array(items) => {
            for (i, item) in items.iter().enumerate() {
                empty_arrays(item, &format!("{path}[{i}]"), out);
            }
        }
        Value::Object(map) => {
            for (k, item) in map {
                empty_arrays(item, &format!("{path}.{k}"), out);
            }
        }
        _ => {}
    }
}

#[tokio::test]
async fn m7_no_member_is_an_empty_array_or_null() {
    let app = https_app().await;
    let (_, body, _) = metadata(&app, WELL_KNOWN).await;
    let mut empty = Vec::new();
    empty_arrays(&body, "$", &mut empty);
    assert!(empty.is_empty(), "empty arrays: {empty:?}");
    for (k, v) in body.as_object().unwrap() {
        assert!(!v.is_null(), "{k} is null");
    }
    let (_, again) = send(app.request(Method::GET, WELL_KNOWN)).await;
    assert_eq!(body, again);
    app.stop().await;
}
