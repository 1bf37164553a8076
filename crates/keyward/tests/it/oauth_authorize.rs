//! RFC 6749 §3.1 and §4.1.1–4.1.2, the authorization endpoint, and the
//! RFC 9700 items about it: checklist items A1–A10, G1–G2, B1, B2, B4,
//! B8–B11 and B14.

use keyward_testkit::{PASSWORD, TestApp, send};
use reqwest::{Method, StatusCode};
use serde_json::json;

use crate::oauth_support::*;

/// The error codes RFC 6749 §4.1.2.1 allows in an authorization response.
const AUTHZ_ERRORS: [&str; 7] = [
    "invalid_request",
    "unauthorized_client",
    "access_denied",
    "unsupported_response_type",
    "invalid_scope",
    "server_error",
    "temporarily_unavailable",
];

/// Asserts an error page: 400 HTML and no `Location` (never a redirect).
fn assert_error_page(r: &Reply, what: &str) {
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "{what}: {}", r.text);
    assert!(
        r.location().is_none(),
        "{what}: redirected to {:?}",
        r.location()
    );
    assert!(
        r.header("content-type")
            .unwrap_or_default()
            .starts_with("text/html"),
        "{what}: an HTML page"
    );
}

/// Asserts a redirect to `prefix` carrying `error` and `state=xyz`.
fn assert_error_redirect(r: &Reply, prefix: &str, error: &str) {
    let location = r
        .location()
        .unwrap_or_else(|| panic!("no redirect ({}): {}", r.status, r.text));
    assert!(location.starts_with(prefix), "{location}");
    assert_eq!(
        query_param(&location, "error").as_deref(),
        Some(error),
        "{location}"
    );
    assert_eq!(
        query_param(&location, "state").as_deref(),
        Some("xyz"),
        "{location}"
    );
    assert!(query_param(&location, "code").is_none(), "{location}");
}

async fn two_uri_app(app: &TestApp, session: &str) -> Client {
    create_app(
        app,
        session,
        json!({
            "clientName": "Two URIs",
            "redirectUris": [REDIRECT, "https://client.example/other"],
            "scope": ["iguide.list"],
        }),
    )
    .await
}

#[tokio::test]
async fn a1_get_works_empty_parameters_are_absent_unknown_ones_ignored() {
    let (app, session, client) = app_with_client("a1").await;
    let authz = Authz::new(&client)
        .set("state", "")
        .set("scope", "")
        .set("redirect_uri", "")
        .add("prompt_me", "whatever")
        .add("flavour", "");
    // Empty scope means the default (the app's scope), not "no scope".
    let page = authorize_get(&app, Some(&session), &authz.query()).await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.text);
    assert!(page.text.contains("iguide.list") && page.text.contains("iguide.ro"));
    let r = consent(&app, &session, &authz, "allow").await;
    let location = r.location().expect("redirect");
    assert!(location.starts_with(REDIRECT), "{location}");
    assert!(query_param(&location, "code").is_some(), "{location}");
    assert!(
        query_param(&location, "state").is_none(),
        "empty state is absent: {location}"
    );
    // The empty redirect_uri was absent, so the token request need not repeat it.
    let code = query_param(&location, "code").unwrap();
    let tokens = redeem(&app, &client, &code).await;
    assert_eq!(tokens["scope"], "iguide.list iguide.ro");
    app.stop().await;
}

#[tokio::test]
async fn a2_a_repeated_parameter_is_invalid_request() {
    let (app, session, client) = app_with_client("a2").await;
    for (key, value) in [
        ("scope", "iguide.list"),
        ("response_type", "code"),
        ("code_challenge", CHALLENGE),
        ("redirect_uri", REDIRECT),
    ] {
        let authz = Authz::new(&client).set(key, value).add(key, value);
        let r = authorize_get(&app, Some(&session), &authz.query()).await;
        assert_error_redirect(&r, REDIRECT, "invalid_request");
        // The consent POST refuses it just the same and issues no code.
        let csrf = csrf_for(&app, &session, &Authz::new(&client)).await;
        let mut fields = authz.pairs();
        fields.push(("csrf_token", &csrf));
        fields.push(("decision", "allow"));
        let r = decide_raw(&app, Some(&session), &fields).await;
        assert_error_redirect(&r, REDIRECT, "invalid_request");
    }
    app.stop().await;
}

#[tokio::test]
async fn a3_missing_or_unknown_response_type_is_an_error() {
    let (app, session, client) = app_with_client("a3").await;
    let r = authorize_get(
        &app,
        Some(&session),
        &Authz::new(&client).remove("response_type").query(),
    )
    .await;
    assert_error_redirect(&r, REDIRECT, "invalid_request");
    for unknown in ["banana", "code id_token", "CODE"] {
        let authz = Authz::new(&client).set("response_type", unknown);
        let r = authorize_get(&app, Some(&session), &authz.query()).await;
        assert_error_redirect(&r, REDIRECT, "unsupported_response_type");
    }
    app.stop().await;
}

#[tokio::test]
async fn a4_registration_rejects_relative_uris_and_fragments() {
    let app = TestApp::spawn().await;
    let session = app.session("a4", &["member"]).await;
    for bad in [
        "/cb",
        "cb",
        "//client.example/cb",
        "https://client.example/cb#frag",
        "https://client.example/cb#",
    ] {
        let (status, body) = send(app.bearer(Method::POST, APPS, &session).json(&json!({
            "clientName": "x",
            "redirectUris": [bad],
            "scope": ["iguide.list"],
        })))
        .await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{bad}: {body}");
        assert_eq!(body["code"], "invalid_argument");
        assert!(
            body["message"].as_str().unwrap().contains("redirectUris"),
            "{body}"
        );
    }
    // PATCH applies the same rules.
    let client = standard_app(&app, &session).await;
    let (status, _) = send(
        app.bearer(Method::PATCH, &format!("{APPS}/{}", client.id), &session)
            .json(&json!({"redirectUris": ["https://client.example/cb#x"]})),
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    app.stop().await;
}

#[tokio::test]
async fn a5_a_registered_query_is_kept_and_parameters_appended() {
    let app = TestApp::spawn().await;
    let session = app.session("a5", &["member"]).await;
    let with_query = "https://client.example/cb?tenant=7&lang=de";
    let client = create_app(
        &app,
        &session,
        json!({"clientName": "q", "redirectUris": [with_query], "scope": ["iguide.list"]}),
    )
    .await;
    let r = consent(&app, &session, &Authz::new(&client), "allow").await;
    let location = r.location().expect("redirect");
    assert!(
        location.starts_with(&format!("{with_query}&")),
        "{location}"
    );
    assert_eq!(query_param(&location, "tenant").as_deref(), Some("7"));
    assert!(query_param(&location, "code").is_some());
    // Errors too.
    let r = consent(&app, &session, &Authz::new(&client), "deny").await;
    let location = r.location().expect("redirect");
    assert!(
        location.starts_with(&format!("{with_query}&")),
        "{location}"
    );
    assert_eq!(
        query_param(&location, "error").as_deref(),
        Some("access_denied")
    );
    app.stop().await;
}

#[tokio::test]
async fn a6_no_client_without_a_redirect_uri() {
    let app = TestApp::spawn().await;
    let session = app.session("a6", &["member"]).await;
    for body in [
        json!({"clientName": "x", "redirectUris": [], "scope": ["iguide.list"]}),
        json!({"clientName": "x", "scope": ["iguide.list"]}),
        json!({"clientName": "x", "redirectUris": [""], "scope": ["iguide.list"]}),
    ] {
        let (status, out) = send(app.bearer(Method::POST, APPS, &session).json(&body)).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{body}: {out}");
        assert!(
            out["message"].as_str().unwrap().contains("redirectUris"),
            "{out}"
        );
    }
    // Nor can PATCH take them all away.
    let client = standard_app(&app, &session).await;
    let (status, _) = send(
        app.bearer(Method::PATCH, &format!("{APPS}/{}", client.id), &session)
            .json(&json!({"redirectUris": []})),
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    let (_, list) = send(app.bearer(Method::GET, APPS, &session)).await;
    assert_eq!(
        list.as_array().unwrap().len(),
        1,
        "only the valid app exists"
    );
    app.stop().await;
}

#[tokio::test]
async fn a7_several_registered_uris_need_an_explicit_one() {
    let app = TestApp::spawn().await;
    let session = app.session("a7", &["member"]).await;
    let client = two_uri_app(&app, &session).await;
    let r = authorize_get(&app, Some(&session), &Authz::new(&client).query()).await;
    assert_error_page(&r, "no redirect_uri with two registered");
    let authz = Authz::new(&client).set("redirect_uri", "https://client.example/other");
    let r = consent(&app, &session, &authz, "allow").await;
    assert!(
        r.location()
            .unwrap()
            .starts_with("https://client.example/other?")
    );
    app.stop().await;
}

#[tokio::test]
async fn a8_redirect_uris_match_by_exact_string_except_the_loopback_port() {
    let (app, session, client) = app_with_client("a8").await;
    for bad in [
        "https://client.example/cb/",
        "https://CLIENT.example/cb",
        "https://client.example/CB",
        "https://client.example/cb?x=1",
        "https://client.example:8443/cb",
        "http://client.example/cb",
        "https://client.example/cb#",
    ] {
        let authz = Authz::new(&client).set("redirect_uri", bad);
        let r = authorize_get(&app, Some(&session), &authz.query()).await;
        assert_error_page(&r, bad);
    }
    // Native clients: a loopback IP literal over http may use any port.
    let native = create_app(
        &app,
        &session,
        json!({"clientName": "native", "redirectUris": ["http://127.0.0.1/cb", "http://[::1]:8000/cb"], "scope": ["iguide.list"]}),
    )
    .await;
    for good in [
        "http://127.0.0.1:51004/cb",
        "http://127.0.0.1/cb",
        "http://[::1]:9/cb",
    ] {
        let authz = Authz::new(&native).set("redirect_uri", good);
        let r = consent(&app, &session, &authz, "allow").await;
        let location = r.location().expect("redirect");
        assert!(location.starts_with(good), "{good}: {location}");
        // The token request repeats the URI exactly as sent.
        let code = query_param(&location, "code").unwrap();
        let t = token(
            &app,
            &native,
            &[
                ("grant_type", "authorization_code"),
                ("code", &code),
                ("code_verifier", VERIFIER),
                ("redirect_uri", good),
            ],
        )
        .await;
        assert_eq!(t.status, StatusCode::OK, "{good}: {}", t.text);
    }
    for bad in [
        "http://127.0.0.1:51004/cb/",
        "http://127.0.0.2:80/cb",
        "https://127.0.0.1:51004/cb",
    ] {
        let authz = Authz::new(&native).set("redirect_uri", bad);
        let r = authorize_get(&app, Some(&session), &authz.query()).await;
        assert_error_page(&r, bad);
    }
    app.stop().await;
}

#[tokio::test]
async fn a9_bad_redirect_uri_or_unknown_client_is_a_page_without_location() {
    let (app, session, client) = app_with_client("a9").await;
    let unknown = Client {
        id: uuid::Uuid::new_v4().to_string(),
        secret: String::new(),
    };
    let cases = [
        (
            "unregistered redirect",
            Authz::new(&client).set("redirect_uri", "https://evil.example/cb"),
        ),
        (
            "not a URL",
            Authz::new(&client).set("redirect_uri", "not a url"),
        ),
        (
            "unknown client",
            Authz::new(&unknown).set("redirect_uri", REDIRECT),
        ),
        (
            "malformed client",
            Authz::new(&client)
                .set("client_id", "abc")
                .set("redirect_uri", REDIRECT),
        ),
        ("no client", Authz::new(&client).remove("client_id")),
        // Even with a second error that would otherwise be redirected.
        (
            "unregistered and bad response_type",
            Authz::new(&client)
                .set("redirect_uri", "https://evil.example/cb")
                .set("response_type", "token"),
        ),
    ];
    for (what, authz) in &cases {
        for session in [None, Some(session.as_str())] {
            let r = authorize_get(&app, session, &authz.query()).await;
            assert_error_page(&r, what);
        }
    }
    // The consent POST behaves alike.
    let csrf = csrf_for(&app, &session, &Authz::new(&client)).await;
    for (what, authz) in &cases {
        let mut fields = authz.pairs();
        fields.push(("csrf_token", &csrf));
        fields.push(("decision", "allow"));
        let r = decide_raw(&app, Some(&session), &fields).await;
        assert_error_page(&r, what);
    }
    app.stop().await;
}

#[tokio::test]
async fn a10_the_consent_post_needs_the_sessions_csrf_token() {
    let app = TestApp::spawn().await;
    let session = app.session("a10", &["member"]).await;
    let other = app.session("a10-other", &["member"]).await;
    let client = standard_app(&app, &session).await;
    let authz = Authz::new(&client);
    let own = csrf_for(&app, &session, &authz).await;
    let foreign = csrf_for(&app, &other, &authz).await;
    assert_ne!(own, foreign, "tokens are bound to the session");
    let last = if own.ends_with('A') { 'B' } else { 'A' };
    let tampered = format!("{}{last}", &own[..own.len() - 1]);
    for csrf in [
        None,
        Some(""),
        Some(foreign.as_str()),
        Some(tampered.as_str()),
    ] {
        let mut fields = authz.pairs();
        if let Some(c) = csrf {
            fields.push(("csrf_token", c));
        }
        fields.push(("decision", "allow"));
        let r = decide_raw(&app, Some(&session), &fields).await;
        assert_eq!(r.status, StatusCode::FORBIDDEN, "{csrf:?}: {}", r.text);
        assert!(r.location().is_none(), "no code, no redirect");
        assert!(!r.text.contains("kwo_"));
    }
    // The right token from another user's session does not carry over.
    let mut fields = authz.pairs();
    fields.push(("csrf_token", &own));
    fields.push(("decision", "allow"));
    let r = decide_raw(&app, Some(&other), &fields).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    // Not signed in at all: refused too.
    let r = decide_raw(&app, None, &fields).await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);
    assert!(r.location().is_none());
    // With the right session and token it works.
    let r = decide_raw(&app, Some(&session), &fields).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.text);
    app.stop().await;
}

#[tokio::test]
async fn g1_the_response_carries_code_and_the_exact_state() {
    let (app, session, client) = app_with_client("g1").await;
    for state in [
        "xyz",
        "a b+c/d=e&f?g#h",
        "%20%2B already-encoded",
        "äöü ✓ 🙂",
        "'\"<>\\",
        &"s".repeat(500),
    ] {
        let authz = Authz::new(&client).set("state", state);
        let r = consent(&app, &session, &authz, "allow").await;
        let location = r.location().expect("redirect");
        assert!(query_param(&location, "code").unwrap().starts_with("kwo_"));
        assert_eq!(
            query_param(&location, "state").as_deref(),
            Some(state),
            "{location}"
        );
    }
    // Without a state there is none in the answer.
    let r = consent(
        &app,
        &session,
        &Authz::new(&client).remove("state"),
        "allow",
    )
    .await;
    let location = r.location().unwrap();
    assert!(query_param(&location, "state").is_none());
    assert!(query_param(&location, "code").is_some());
    app.stop().await;
}

#[tokio::test]
async fn g2_errors_go_back_to_the_client_with_state() {
    let (app, session, client) = app_with_client("g2").await;
    let cc_only = create_app(
        &app,
        &session,
        json!({"clientName": "m2m", "redirectUris": [REDIRECT], "scope": ["iguide.list"], "grantTypes": ["client_credentials"]}),
    )
    .await;
    let cases = [
        (
            Authz::new(&client).set("scope", "iguide.rw"),
            "invalid_scope",
        ),
        (
            Authz::new(&client).set("scope", "no.such.scope"),
            "invalid_scope",
        ),
        (
            Authz::new(&client).set("response_type", "token"),
            "unsupported_response_type",
        ),
        (
            Authz::new(&client).remove("code_challenge"),
            "invalid_request",
        ),
        (Authz::new(&cc_only), "unauthorized_client"),
    ];
    for (authz, error) in &cases {
        let r = authorize_get(&app, Some(&session), &authz.query()).await;
        assert_error_redirect(&r, REDIRECT, error);
        assert!(AUTHZ_ERRORS.contains(error));
    }
    let r = consent(&app, &session, &Authz::new(&client), "deny").await;
    assert_error_redirect(&r, REDIRECT, "access_denied");
    // Any other decision than allow is a denial too.
    let authz = Authz::new(&client);
    let csrf = csrf_for(&app, &session, &authz).await;
    let mut fields = authz.pairs();
    fields.push(("csrf_token", &csrf));
    let r = decide_raw(&app, Some(&session), &fields).await;
    assert_error_redirect(&r, REDIRECT, "access_denied");
    app.stop().await;
}

#[tokio::test]
async fn b1_exact_redirect_matching_follows_the_current_registration() {
    let (app, session, client) = app_with_client("b1").await;
    for bad in [
        "https://client.example/c%62",
        "https://client.example/x/../cb",
        "https://client.example:443/cb",
        "https://user@client.example/cb",
        "https://client.example./cb",
        " https://client.example/cb",
    ] {
        let authz = Authz::new(&client).set("redirect_uri", bad);
        let r = authorize_get(&app, Some(&session), &authz.query()).await;
        assert_error_page(&r, bad);
    }
    // After the registration changes, the old URI no longer matches.
    let (status, _) = send(
        app.bearer(Method::PATCH, &format!("{APPS}/{}", client.id), &session)
            .json(&json!({"redirectUris": ["https://client.example/new"]})),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    let r = authorize_get(
        &app,
        Some(&session),
        &Authz::new(&client).set("redirect_uri", REDIRECT).query(),
    )
    .await;
    assert_error_page(&r, "the former URI");
    let r = consent(&app, &session, &Authz::new(&client), "allow").await;
    assert!(
        r.location()
            .unwrap()
            .starts_with("https://client.example/new?")
    );
    app.stop().await;
}

#[tokio::test]
async fn b2_no_open_redirector_login_next_only_local_paths() {
    let app = TestApp::spawn().await;
    app.user("b2", &["member"]).await;
    let form = SignInForm::load(&app).await;
    let login = |next: &str| {
        form.post(
            &app,
            &[("username", "b2"), ("password", PASSWORD), ("next", next)],
        )
    };
    for evil in [
        "https://evil.example/",
        "//evil.example/",
        "/\\evil.example",
        "\\\\evil.example",
        "/\t/evil.example",
        "/\n/evil.example",
        "/\r/evil.example",
        " //evil.example",
        "https:evil.example",
        "javascript:alert(1)",
        "evil.example",
    ] {
        let r = reply(login(evil)).await;
        assert_eq!(r.status, StatusCode::SEE_OTHER, "{evil:?}: {}", r.text);
        let location = r.location().unwrap_or_default();
        let target = url::Url::parse("https://keys.example.com/oauth/login")
            .unwrap()
            .join(&location)
            .expect("a resolvable Location");
        assert_eq!(
            target.host_str(),
            Some("keys.example.com"),
            "{evil:?} led to {location:?}"
        );
        // Browsers drop tabs and newlines from URLs before resolving them.
        let as_browser: String = location
            .chars()
            .filter(|c| !matches!(c, '\t' | '\n' | '\r'))
            .collect();
        assert!(
            !as_browser.starts_with("//") && !as_browser.starts_with("/\\"),
            "{evil:?} led to {location:?}"
        );
    }
    // A local path is kept.
    let r = reply(login("/oauth/authorize?client_id=x&state=1")).await;
    assert_eq!(
        r.location().as_deref(),
        Some("/oauth/authorize?client_id=x&state=1")
    );
    // The authorization endpoint never redirects to an unregistered URI.
    let session = app.login("b2").await;
    let client = standard_app(&app, &session).await;
    let r = authorize_get(
        &app,
        Some(&session),
        &Authz::new(&client)
            .set("redirect_uri", "https://evil.example/cb")
            .query(),
    )
    .await;
    assert!(r.location().is_none());
    app.stop().await;
}

#[tokio::test]
async fn b4_implicit_grant_is_unsupported() {
    let (app, session, client) = app_with_client("b4").await;
    for rt in ["token", "id_token token", "code token"] {
        let r = authorize_get(
            &app,
            Some(&session),
            &Authz::new(&client).set("response_type", rt).query(),
        )
        .await;
        assert_error_redirect(&r, REDIRECT, "unsupported_response_type");
        let location = r.location().unwrap();
        assert!(
            !location.contains("access_token") && !location.contains('#'),
            "{location}"
        );
    }
    app.stop().await;
}

#[tokio::test]
async fn b8_registration_rejects_http_except_loopback() {
    let app = TestApp::spawn().await;
    let session = app.session("b8", &["member"]).await;
    for bad in [
        "http://client.example/cb",
        "http://10.0.0.1/cb",
        "http://localhost.evil.example/cb",
        "http://127.0.0.1.nip.io/cb",
        "ftp://client.example/cb",
        "javascript:alert(1)",
        "com.example.app:/cb",
    ] {
        let (status, body) = send(app.bearer(Method::POST, APPS, &session).json(&json!({
            "clientName": "x", "redirectUris": [bad], "scope": ["iguide.list"],
        })))
        .await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{bad}: {body}");
    }
    for good in [
        "http://127.0.0.1:8000/cb",
        "http://[::1]/cb",
        "http://localhost:3000/cb",
    ] {
        create_app(
            &app,
            &session,
            json!({"clientName": "native", "redirectUris": [good], "scope": ["iguide.list"]}),
        )
        .await;
    }
    app.stop().await;
}

#[tokio::test]
async fn b9_redirects_after_a_post_are_303() {
    let app = TestApp::spawn().await;
    app.user("b9", &["member"]).await;
    let session = app.login("b9").await;
    let client = standard_app(&app, &session).await;
    let r = consent(&app, &session, &Authz::new(&client), "allow").await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    let r = consent(&app, &session, &Authz::new(&client), "deny").await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    // An error found at the POST is a 303 too.
    let csrf = csrf_for(&app, &session, &Authz::new(&client)).await;
    let bad = Authz::new(&client).set("scope", "iguide.rw");
    let mut fields = bad.pairs();
    fields.push(("csrf_token", &csrf));
    fields.push(("decision", "allow"));
    let r = decide_raw(&app, Some(&session), &fields).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.text);
    // Sign-in.
    let r = reply(SignInForm::load(&app).await.post(
        &app,
        &[
            ("username", "b9"),
            ("password", PASSWORD),
            ("next", "/oauth/authorize"),
        ],
    ))
    .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    assert!(r.header("set-cookie").unwrap().starts_with("kw_session="));
    app.stop().await;
}

#[tokio::test]
async fn b10_pages_cannot_be_framed() {
    let app = TestApp::spawn().await;
    app.user("b10", &["member"]).await;
    let session = app.login("b10").await;
    let client = standard_app(&app, &session).await;
    let q = Authz::new(&client).query();
    let mut pages = vec![
        ("sign-in page", authorize_get(&app, None, &q).await),
        (
            "consent page",
            authorize_get(&app, Some(&session), &q).await,
        ),
        (
            "error page",
            authorize_get(
                &app,
                Some(&session),
                &Authz::new(&client)
                    .set("redirect_uri", "https://x.example/")
                    .query(),
            )
            .await,
        ),
        (
            "csrf refusal",
            decide_raw(&app, Some(&session), &Authz::new(&client).pairs()).await,
        ),
        (
            "not signed in",
            decide_raw(&app, None, &Authz::new(&client).pairs()).await,
        ),
    ];
    let form = SignInForm::load(&app).await;
    pages.push((
        "failed sign-in",
        reply(form.post(
            &app,
            &[("username", "b10"), ("password", "wrong"), ("next", "/")],
        ))
        .await,
    ));
    pages.push((
        "forged sign-in",
        post_form(
            &app,
            "/oauth/login",
            Auth::None,
            &[("username", "b10"), ("password", PASSWORD), ("next", "/")],
        )
        .await,
    ));
    for (what, r) in &pages {
        assert!(
            r.text.contains("<html")
                || r.text.contains("<!DOCTYPE")
                || r.text.contains("<!doctype"),
            "{what}: {}",
            r.text
        );
        assert_eq!(r.header("x-frame-options"), Some("DENY"), "{what}");
        let csp = r.header("content-security-policy").unwrap_or_default();
        assert!(csp.contains("frame-ancestors 'none'"), "{what}: {csp}");
    }
    app.stop().await;
}

#[tokio::test]
async fn b11_authorize_has_no_cors() {
    let (app, session, client) = app_with_client("b11").await;
    let path = format!("/oauth/authorize?{}", Authz::new(&client).query());
    let preflight = reply(
        raw(&app, Method::OPTIONS, &path)
            .header("origin", "https://evil.example")
            .header("access-control-request-method", "POST")
            .header("access-control-request-headers", "content-type"),
    )
    .await;
    assert!(
        !preflight.status.is_success(),
        "no preflight answer: {}",
        preflight.status
    );
    for (what, r) in [
        ("preflight", preflight),
        (
            "GET",
            reply(
                raw(&app, Method::GET, &path)
                    .header("origin", "https://evil.example")
                    .header("cookie", format!("kw_session={session}")),
            )
            .await,
        ),
        (
            "POST",
            reply(
                raw(&app, Method::POST, "/oauth/authorize")
                    .header("origin", "https://evil.example")
                    .header("content-type", "application/x-www-form-urlencoded")
                    .header("cookie", format!("kw_session={session}"))
                    .body(Authz::new(&client).query()),
            )
            .await,
        ),
    ] {
        for h in r.headers.keys() {
            assert!(!h.as_str().starts_with("access-control-"), "{what}: {h}");
        }
    }
    app.stop().await;
}

#[tokio::test]
async fn b14_the_authorization_response_names_the_issuer() {
    let app =
        TestApp::spawn_with(|c| c.server.public_url = Some("https://keys.example.com".into()))
            .await;
    let session = app.session("b14", &["member"]).await;
    let client = standard_app(&app, &session).await;
    let (_, meta) = send(app.request(Method::GET, "/.well-known/oauth-authorization-server")).await;
    assert_eq!(meta["authorization_response_iss_parameter_supported"], true);
    assert_eq!(meta["issuer"], "https://keys.example.com");
    let ok = consent(&app, &session, &Authz::new(&client), "allow").await;
    let denied = consent(&app, &session, &Authz::new(&client), "deny").await;
    let error = authorize_get(
        &app,
        Some(&session),
        &Authz::new(&client).set("scope", "iguide.rw").query(),
    )
    .await;
    for r in [ok, denied, error] {
        let location = r.location().expect("redirect");
        assert_eq!(
            query_param(&location, "iss").as_deref(),
            meta["issuer"].as_str(),
            "{location}"
        );
    }
    app.stop().await;
}
