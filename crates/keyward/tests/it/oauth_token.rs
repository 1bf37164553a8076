//! RFC 6749 §4.4 (client credentials), §5 (token responses and errors), §6
//! (refresh) and §10.10 (secret entropy), and the RFC 9700 items about the
//! token endpoint: checklist items K1–K4, T1–T8, B5–B7, B12 and B13.
//!
//! K1: there are no public clients (every app has a secret), so "a public
//! client" is a request without client authentication, which gets
//! `invalid_client` (401); an app registered without the
//! `client_credentials` grant gets `unauthorized_client`.

use std::collections::BTreeSet;

use keyward_testkit::{TestApp, send};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::oauth_client_auth::{basic_header, basic_raw};
use crate::oauth_support::*;

fn assert_token_response(r: &Reply, what: &str) -> Value {
    assert_eq!(r.status, StatusCode::OK, "{what}: {}", r.text);
    assert!(
        r.header("cache-control")
            .unwrap_or_default()
            .contains("no-store"),
        "{what}"
    );
    assert_eq!(r.header("pragma"), Some("no-cache"), "{what}");
    assert!(
        r.header("content-type")
            .unwrap_or_default()
            .starts_with("application/json"),
        "{what}"
    );
    let body = r.json();
    assert!(str_of(&body, "access_token").starts_with("kwa_"), "{what}");
    assert!(
        str_of(&body, "token_type").eq_ignore_ascii_case("bearer"),
        "{what}"
    );
    assert_eq!(body["expires_in"], 3600, "{what}");
    body
}

#[tokio::test]
async fn k1_only_authenticated_clients_with_the_grant_may_use_client_credentials() {
    let (app, session, client) = app_with_client("k1").await;
    let r = post_form(
        &app,
        "/oauth/token",
        Auth::None,
        &[
            ("grant_type", "client_credentials"),
            ("client_id", &client.id),
        ],
    )
    .await;
    r.assert_oauth_error(StatusCode::UNAUTHORIZED, "invalid_client");
    let interactive = create_app(
        &app,
        &session,
        json!({"clientName": "web", "redirectUris": [REDIRECT], "scope": ["iguide.list"],
               "grantTypes": ["authorization_code", "refresh_token"]}),
    )
    .await;
    token(&app, &interactive, &[("grant_type", "client_credentials")])
        .await
        .assert_oauth_error(StatusCode::BAD_REQUEST, "unauthorized_client");
    app.stop().await;
}

#[tokio::test]
async fn k2_client_credentials_without_authentication_is_invalid_client() {
    let (app, session, client) = app_with_client("k2").await;
    let other = standard_app(&app, &session).await;
    let wrong = Client {
        id: client.id.clone(),
        secret: other.secret.clone(),
    };
    for r in [
        post_form(
            &app,
            "/oauth/token",
            Auth::None,
            &[("grant_type", "client_credentials")],
        )
        .await,
        token(&app, &wrong, &[("grant_type", "client_credentials")]).await,
        post_form(
            &app,
            "/oauth/token",
            Auth::Post(&wrong),
            &[("grant_type", "client_credentials")],
        )
        .await,
    ] {
        r.assert_oauth_error(StatusCode::UNAUTHORIZED, "invalid_client");
        assert!(r.json().get("access_token").is_none());
    }
    app.stop().await;
}

#[tokio::test]
async fn k3_client_credentials_issue_no_refresh_token() {
    let (app, _, client) = app_with_client("k3").await;
    for auth in [Auth::Basic(&client), Auth::Post(&client)] {
        let r = post_form(
            &app,
            "/oauth/token",
            auth,
            &[("grant_type", "client_credentials")],
        )
        .await;
        let body = assert_token_response(&r, "client_credentials");
        assert!(body.get("refresh_token").is_none(), "{body}");
    }
    app.stop().await;
}

#[tokio::test]
async fn k4_scope_is_reported_and_bounded_by_the_client() {
    let (app, _, client) = app_with_client("k4").await;
    // Nothing requested: the default is granted and named.
    let body = client_credentials(&app, &client).await;
    assert_eq!(body["scope"], "iguide.list iguide.ro");
    let r = token(
        &app,
        &client,
        &[("grant_type", "client_credentials"), ("scope", "iguide.ro")],
    )
    .await;
    assert_eq!(r.json()["scope"], "iguide.ro");
    for outside in [
        "iguide.rw",
        "iguide.list iguide.rw",
        "no.such.scope",
        "credentials.manage",
    ] {
        token(
            &app,
            &client,
            &[("grant_type", "client_credentials"), ("scope", outside)],
        )
        .await
        .assert_oauth_error(StatusCode::BAD_REQUEST, "invalid_scope");
    }
    app.stop().await;
}

#[tokio::test]
async fn k4_the_scope_reported_is_the_scope_actually_granted() {
    // The app's owner may no longer use iguide.ro: a token acts with the
    // app's scope ∩ the owner's allowed scopes (SPEC §4), so iguide.ro is
    // not granted and the response must say what was (RFC 6749 §3.3).
    let app = TestApp::spawn_with(|c| {
        c.scopes.roles.insert(
            "reader".into(),
            vec!["credentials.manage".into(), "iguide.list".into()],
        );
    })
    .await;
    let owner = app.user("k4owner", &["member"]).await;
    let session = app.login("k4owner").await;
    let client = standard_app(&app, &session).await;
    let consented = grant(&app, &session, &client).await;
    app.set_roles(owner.id, &["reader"]).await;

    let body = client_credentials(&app, &client).await;
    let seen = introspect(&app, &client, str_of(&body, "access_token")).await;
    assert_eq!(seen["scope"], "iguide.list", "{seen}");
    assert_eq!(
        body["scope"], seen["scope"],
        "client_credentials reports {body}"
    );
    // Asking only for what the owner lost grants nothing.
    token(
        &app,
        &client,
        &[("grant_type", "client_credentials"), ("scope", "iguide.ro")],
    )
    .await
    .assert_oauth_error(StatusCode::BAD_REQUEST, "invalid_scope");

    // The same for a refresh of the user's earlier consent.
    let r = refresh(&app, &client, str_of(&consented, "refresh_token")).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    let body = r.json();
    let seen = introspect(&app, &client, str_of(&body, "access_token")).await;
    assert_eq!(seen["scope"], "iguide.list", "{seen}");
    assert_eq!(body["scope"], seen["scope"], "refresh reports {body}");
    app.stop().await;
}

#[tokio::test]
async fn t1_token_responses_are_uncacheable_json_with_token_and_type() {
    let (app, session, client) = app_with_client("t1").await;
    let r = token(&app, &client, &[("grant_type", "client_credentials")]).await;
    assert_token_response(&r, "client_credentials");
    let code = code_for(&app, &session, &Authz::new(&client)).await;
    let r = token(
        &app,
        &client,
        &[
            ("grant_type", "authorization_code"),
            ("code", &code),
            ("code_verifier", VERIFIER),
        ],
    )
    .await;
    let body = assert_token_response(&r, "authorization_code");
    let r = refresh(&app, &client, str_of(&body, "refresh_token")).await;
    assert_token_response(&r, "refresh_token");
    // Errors are not cacheable either.
    let r = token(
        &app,
        &client,
        &[("grant_type", "authorization_code"), ("code", "kwo_x")],
    )
    .await;
    assert!(
        r.header("cache-control")
            .unwrap_or_default()
            .contains("no-store")
    );
    assert_eq!(r.header("pragma"), Some("no-cache"));
    app.stop().await;
}

#[tokio::test]
async fn t2_errors_are_json_error_objects_400_by_default() {
    let (app, _, client) = app_with_client("t2").await;
    let cases: Vec<(Vec<(&str, &str)>, &str)> = vec![
        (vec![], "invalid_request"),
        (
            vec![("grant_type", "authorization_code")],
            "invalid_request",
        ),
        (
            vec![("grant_type", "authorization_code"), ("code", "kwo_nope")],
            "invalid_grant",
        ),
        (
            vec![
                ("grant_type", "refresh_token"),
                ("refresh_token", "kwr_nope"),
            ],
            "invalid_grant",
        ),
        (
            vec![("grant_type", "client_credentials"), ("scope", "iguide.rw")],
            "invalid_scope",
        ),
        (
            vec![("grant_type", "urn:ietf:params:oauth:grant-type:device_code")],
            "unsupported_grant_type",
        ),
        (
            vec![
                ("grant_type", "client_credentials"),
                ("grant_type", "client_credentials"),
            ],
            "invalid_request",
        ),
    ];
    for (pairs, error) in cases {
        let r = token(&app, &client, &pairs).await;
        r.assert_oauth_error(StatusCode::BAD_REQUEST, error);
        assert!(
            r.header("content-type")
                .unwrap_or_default()
                .starts_with("application/json")
        );
        let body = r.json();
        for (key, value) in body.as_object().unwrap() {
            assert!(
                ["error", "error_description", "error_uri"].contains(&key.as_str()),
                "unexpected member {key} in {body}"
            );
            assert!(value.is_string(), "{body}");
        }
    }
    app.stop().await;
}

#[tokio::test]
async fn t3_failed_header_authentication_is_401_with_www_authenticate_basic() {
    let (app, session, client) = app_with_client("t3").await;
    let other = standard_app(&app, &session).await;
    let wrong = basic_header(&client.id, &other.secret);
    let unknown = basic_header(&uuid::Uuid::new_v4().to_string(), &client.secret);
    let no_colon = basic_raw(&format!("{}{}", client.id, client.secret));
    for header in [
        wrong.as_str(),
        unknown.as_str(),
        "Basic !!!not-base64!!!",
        "Basic",
        no_colon.as_str(),
        "Digest username=\"x\"",
    ] {
        for path in ["/oauth/token", "/oauth/introspect", "/oauth/revoke"] {
            let r = post_form(
                &app,
                path,
                Auth::Header(header),
                &[("grant_type", "client_credentials"), ("token", "kwa_x")],
            )
            .await;
            r.assert_oauth_error(StatusCode::UNAUTHORIZED, "invalid_client");
            let challenge = r.header("www-authenticate").unwrap_or_default();
            assert!(
                challenge.starts_with("Basic"),
                "{header} at {path}: {challenge:?}"
            );
        }
    }
    app.stop().await;
}

/// Error responses from every error path of the token, introspection,
/// revocation and authorization endpoints this test can reach, as
/// `(endpoint, error, error_description)`.
async fn error_corpus(app: &TestApp) -> Vec<(String, String, String)> {
    let session = app.session("corpus", &["member"]).await;
    let client = standard_app(app, &session).await;
    let other = standard_app(app, &session).await;
    let m2m = create_app(
        app,
        &session,
        json!({"clientName": "m2m", "redirectUris": [REDIRECT], "scope": ["iguide.list"], "grantTypes": ["client_credentials"]}),
    )
    .await;
    let wrong = Client {
        id: client.id.clone(),
        secret: other.secret.clone(),
    };
    let used_code = code_for(app, &session, &Authz::new(&client)).await;
    redeem(app, &client, &used_code).await;
    let other_code = code_for(
        app,
        &session,
        &Authz::new(&other).set("redirect_uri", REDIRECT),
    )
    .await;
    let tokens = grant(app, &session, &other).await;
    let nasty = "\"\\é\u{7f}\u{1}<script>";
    let mut out = Vec::new();
    let mut push = |endpoint: &str, r: Reply| {
        assert!(!r.status.is_success(), "{endpoint}: {}", r.text);
        let body = r.json();
        out.push((
            endpoint.to_owned(),
            body["error"]
                .as_str()
                .unwrap_or_else(|| panic!("{body}"))
                .to_owned(),
            body["error_description"]
                .as_str()
                .unwrap_or_default()
                .to_owned(),
        ));
    };
    let token_cases: Vec<(Auth, Vec<(&str, &str)>)> = vec![
        (Auth::Basic(&client), vec![]),
        (Auth::Basic(&client), vec![("grant_type", nasty)]),
        (
            Auth::Basic(&client),
            vec![
                ("grant_type", "password"),
                ("username", "u"),
                ("password", "p"),
            ],
        ),
        (
            Auth::Basic(&client),
            vec![
                (nasty, "1"),
                (nasty, "2"),
                ("grant_type", "client_credentials"),
            ],
        ),
        (
            Auth::Basic(&client),
            vec![("grant_type", "client_credentials"), ("scope", nasty)],
        ),
        (
            Auth::Basic(&client),
            vec![("grant_type", "authorization_code")],
        ),
        (
            Auth::Basic(&client),
            vec![("grant_type", "authorization_code"), ("code", nasty)],
        ),
        (
            Auth::Basic(&client),
            vec![
                ("grant_type", "authorization_code"),
                ("code", &used_code),
                ("code_verifier", VERIFIER),
            ],
        ),
        (
            Auth::Basic(&client),
            vec![
                ("grant_type", "authorization_code"),
                ("code", &other_code),
                ("code_verifier", VERIFIER),
            ],
        ),
        (
            Auth::Basic(&other),
            vec![
                ("grant_type", "authorization_code"),
                ("code", &other_code),
                ("code_verifier", nasty),
            ],
        ),
        (
            Auth::Basic(&other),
            vec![
                ("grant_type", "authorization_code"),
                ("code", &other_code),
                ("code_verifier", VERIFIER),
                ("redirect_uri", nasty),
            ],
        ),
        (Auth::Basic(&client), vec![("grant_type", "refresh_token")]),
        (
            Auth::Basic(&client),
            vec![("grant_type", "refresh_token"), ("refresh_token", nasty)],
        ),
        (
            Auth::Basic(&client),
            vec![
                ("grant_type", "refresh_token"),
                ("refresh_token", str_of(&tokens, "refresh_token")),
            ],
        ),
        (
            Auth::Basic(&other),
            vec![
                ("grant_type", "refresh_token"),
                ("refresh_token", str_of(&tokens, "refresh_token")),
                ("scope", "iguide.rw"),
            ],
        ),
        (
            Auth::Basic(&m2m),
            vec![("grant_type", "authorization_code"), ("code", "x")],
        ),
        (
            Auth::Basic(&wrong),
            vec![("grant_type", "client_credentials")],
        ),
        (
            Auth::Post(&wrong),
            vec![("grant_type", "client_credentials")],
        ),
        (
            Auth::None,
            vec![
                ("grant_type", "client_credentials"),
                ("client_secret", nasty),
            ],
        ),
        (Auth::None, vec![("grant_type", "client_credentials")]),
        (
            Auth::Header("Basic !!"),
            vec![("grant_type", "client_credentials")],
        ),
        (
            Auth::Header("Bearer kwa_x"),
            vec![("grant_type", "client_credentials")],
        ),
        (
            Auth::Basic(&client),
            vec![("grant_type", "client_credentials"), ("client_secret", "x")],
        ),
    ];
    for (auth, pairs) in &token_cases {
        push(
            "/oauth/token",
            post_form(app, "/oauth/token", *auth, pairs).await,
        );
    }
    let q = format!("/oauth/token?{}", encode(&[("client_secret", nasty)]));
    push(
        "/oauth/token",
        post_form(
            app,
            &q,
            Auth::Basic(&client),
            &[("grant_type", "client_credentials")],
        )
        .await,
    );
    for path in ["/oauth/introspect", "/oauth/revoke"] {
        for (auth, pairs) in [
            (Auth::None, vec![("token", "x")]),
            (Auth::Basic(&wrong), vec![("token", "x")]),
            (Auth::Basic(&client), vec![]),
            (Auth::Basic(&client), vec![("token", "a"), ("token", "b")]),
            (
                Auth::Basic(&client),
                vec![(nasty, "a"), (nasty, "b"), ("token", "c")],
            ),
            (Auth::Header("Bearer nonsense"), vec![("token", "x")]),
        ] {
            push(path, post_form(app, path, auth, &pairs).await);
        }
    }
    // Revocation only: another client's token, an unsupported type.
    push(
        "/oauth/revoke",
        post_form(
            app,
            "/oauth/revoke",
            Auth::Basic(&client),
            &[("token", str_of(&tokens, "access_token"))],
        )
        .await,
    );
    push(
        "/oauth/revoke",
        post_form(
            app,
            "/oauth/revoke",
            Auth::Basic(&client),
            &[("token", &client.secret)],
        )
        .await,
    );
    // Authorization errors sent back to the client.
    for authz in [
        Authz::new(&client).set("scope", nasty),
        Authz::new(&client).set("response_type", nasty),
        Authz::new(&client).set("code_challenge_method", nasty),
        Authz::new(&client).set("code_challenge", nasty),
        Authz::new(&client).remove("response_type"),
        Authz::new(&client).add(nasty, "1").add(nasty, "2"),
        Authz::new(&client)
            .set("state", nasty)
            .add("scope", "a")
            .add("scope", "b"),
        Authz::new(&m2m),
    ] {
        let r = authorize_get(app, Some(&session), &authz.query()).await;
        let location = r
            .location()
            .unwrap_or_else(|| panic!("no redirect: {}", r.text));
        out.push((
            "/oauth/authorize".into(),
            query_param(&location, "error").expect("error"),
            query_param(&location, "error_description").unwrap_or_default(),
        ));
    }
    let r = consent(app, &session, &Authz::new(&client), "deny").await;
    let location = r.location().unwrap();
    out.push((
        "/oauth/authorize".into(),
        query_param(&location, "error").unwrap(),
        query_param(&location, "error_description").unwrap_or_default(),
    ));
    out
}

#[tokio::test]
async fn t4_token_errors_come_from_the_closed_set() {
    let app = TestApp::spawn().await;
    let corpus = error_corpus(&app).await;
    let mut seen = BTreeSet::new();
    for (endpoint, error, _) in &corpus {
        match endpoint.as_str() {
            "/oauth/token" | "/oauth/introspect" => {
                assert!(
                    TOKEN_ERRORS.contains(&error.as_str()),
                    "{endpoint}: {error}"
                )
            }
            // RFC 7009 §2.2.1 adds one code.
            "/oauth/revoke" => assert!(
                TOKEN_ERRORS.contains(&error.as_str()) || error == "unsupported_token_type",
                "{endpoint}: {error}"
            ),
            _ => {}
        }
        if endpoint == "/oauth/token" {
            seen.insert(error.clone());
        }
    }
    // The corpus reaches every code of the set.
    for code in TOKEN_ERRORS {
        assert!(seen.contains(code), "no token error path produced {code}");
    }
    app.stop().await;
}

#[tokio::test]
async fn t5_error_and_description_use_only_the_allowed_characters() {
    let app = TestApp::spawn().await;
    let corpus = error_corpus(&app).await;
    assert!(corpus.len() > 40, "{}", corpus.len());
    let allowed = |c: char| matches!(c, '\x20'..='\x21' | '\x23'..='\x5b' | '\x5d'..='\x7e');
    let mut bad = Vec::new();
    for (endpoint, error, description) in &corpus {
        assert!(!error.is_empty());
        for (what, text) in [("error", error), ("error_description", description)] {
            if !text.chars().all(allowed) {
                bad.push(format!("{endpoint} {what}: {text:?}"));
            }
        }
    }
    assert!(
        bad.is_empty(),
        "characters outside %x20-21/%x23-5B/%x5D-7E:\n{}",
        bad.join("\n")
    );
    app.stop().await;
}

#[tokio::test]
async fn t6_unknown_grant_type_and_get_token() {
    let (app, _, client) = app_with_client("t6").await;
    for grant in [
        "implicit",
        "urn:ietf:params:oauth:grant-type:jwt-bearer",
        "CLIENT_CREDENTIALS",
        "client_credentials ",
    ] {
        token(&app, &client, &[("grant_type", grant)])
            .await
            .assert_oauth_error(StatusCode::BAD_REQUEST, "unsupported_grant_type");
    }
    let r = reply(
        raw(
            &app,
            Method::GET,
            "/oauth/token?grant_type=client_credentials",
        )
        .basic_auth(&client.id, Some(&client.secret)),
    )
    .await;
    assert_eq!(r.status, StatusCode::METHOD_NOT_ALLOWED, "{}", r.text);
    assert!(!r.text.contains("kwa_"));
    app.stop().await;
}

#[tokio::test]
async fn t7_refresh_needs_the_client_that_holds_it_and_no_new_scope() {
    let (app, session, client) = app_with_client("t7").await;
    let other = standard_app(&app, &session).await;
    let tokens = grant(&app, &session, &client).await;
    let refresh_token = str_of(&tokens, "refresh_token");
    let pairs = [
        ("grant_type", "refresh_token"),
        ("refresh_token", refresh_token),
    ];
    post_form(&app, "/oauth/token", Auth::None, &pairs)
        .await
        .assert_oauth_error(StatusCode::UNAUTHORIZED, "invalid_client");
    let mut with_id = pairs.to_vec();
    with_id.push(("client_id", &client.id));
    post_form(&app, "/oauth/token", Auth::None, &with_id)
        .await
        .assert_oauth_error(StatusCode::UNAUTHORIZED, "invalid_client");
    refresh(&app, &other, refresh_token)
        .await
        .assert_oauth_error(StatusCode::BAD_REQUEST, "invalid_grant");
    for scope in ["iguide.rw", "iguide.list iguide.rw", "credentials.manage"] {
        token(
            &app,
            &client,
            &[
                ("grant_type", "refresh_token"),
                ("refresh_token", refresh_token),
                ("scope", scope),
            ],
        )
        .await
        .assert_oauth_error(StatusCode::BAD_REQUEST, "invalid_scope");
    }
    // None of the refused attempts used the token up.
    let r = refresh(&app, &client, refresh_token).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    app.stop().await;
}

/// Checks a secret's shape and returns its random part: the 30 base62
/// characters before the checksum (after the 22-character row id that OAuth
/// access and refresh tokens carry first).
fn assert_strong<'s>(secret: &'s str, prefix: &str) -> &'s str {
    assert!(secret.starts_with(prefix), "{secret}");
    let located = matches!(prefix, "kwa_" | "kwr_");
    assert_eq!(secret.len(), if located { 62 } else { 40 }, "{secret}");
    assert!(
        secret[4..].bytes().all(|b| b.is_ascii_alphanumeric()),
        "{secret}"
    );
    // What is left after the prefix, the row id (if any) and the 6-character
    // checksum is random: 30 base62 characters, 30 · log2(62) ≈ 178.6 bits.
    let random = secret.len() - 4 - 6 - if located { 22 } else { 0 };
    assert!(random as f64 * 62f64.log2() >= 160.0, "{secret}");
    &secret[secret.len() - 6 - random..secret.len() - 6]
}

#[tokio::test]
async fn t8_every_issued_secret_has_at_least_160_bits() {
    let (app, session, client) = app_with_client("t8").await;
    // Random parts seen so far: none may repeat.
    let mut all = BTreeSet::new();
    assert!(all.insert(assert_strong(&client.secret, "kwc_").to_owned()));
    let (status, rotated) = send(app.bearer(
        Method::POST,
        &format!("{APPS}/{}/rotate", client.id),
        &session,
    ))
    .await;
    assert_eq!(status, StatusCode::OK);
    let client = Client {
        id: client.id.clone(),
        secret: str_of(&rotated, "clientSecret").to_owned(),
    };
    assert!(all.insert(assert_strong(&client.secret, "kwc_").to_owned()));
    for _ in 0..3 {
        let code = code_for(&app, &session, &Authz::new(&client)).await;
        let tokens = redeem(&app, &client, &code).await;
        let cc = client_credentials(&app, &client).await;
        for (secret, prefix) in [
            (code.as_str(), "kwo_"),
            (str_of(&tokens, "access_token"), "kwa_"),
            (str_of(&tokens, "refresh_token"), "kwr_"),
            (str_of(&cc, "access_token"), "kwa_"),
        ] {
            let random = assert_strong(secret, prefix);
            assert!(all.insert(random.to_owned()), "a random part repeated");
        }
    }
    app.stop().await;
}

#[tokio::test]
async fn b5_the_password_grant_is_unsupported() {
    let app = TestApp::spawn().await;
    app.user("b5", &["member"]).await;
    let session = app.login("b5").await;
    let client = standard_app(&app, &session).await;
    let r = token(
        &app,
        &client,
        &[
            ("grant_type", "password"),
            ("username", "b5"),
            ("password", keyward_testkit::PASSWORD),
        ],
    )
    .await;
    r.assert_oauth_error(StatusCode::BAD_REQUEST, "unsupported_grant_type");
    app.stop().await;
}

#[tokio::test]
async fn b6_refresh_tokens_rotate_and_replay_revokes_the_family() {
    let (app, session, client) = app_with_client("b6").await;
    let first = grant(&app, &session, &client).await;
    let r1 = str_of(&first, "refresh_token").to_owned();
    let second = refresh(&app, &client, &r1).await.json();
    let r2 = str_of(&second, "refresh_token").to_owned();
    let a2 = str_of(&second, "access_token").to_owned();
    assert_ne!(r1, r2, "a new refresh token every time");
    assert!(!active(&app, &client, &r1).await, "the old one is invalid");
    assert!(active(&app, &client, &r2).await && active(&app, &client, &a2).await);
    let third = refresh(&app, &client, &r2).await.json();
    let r3 = str_of(&third, "refresh_token").to_owned();
    let a3 = str_of(&third, "access_token").to_owned();
    // Replaying r1 (an attacker, or a confused client):
    refresh(&app, &client, &r1)
        .await
        .assert_oauth_error(StatusCode::BAD_REQUEST, "invalid_grant");
    for (name, t) in [("a2", &a2), ("a3", &a3), ("r3", &r3)] {
        assert!(
            !active(&app, &client, t).await,
            "{name} still active after the replay"
        );
    }
    assert_eq!(app.me_status(&a3).await, StatusCode::UNAUTHORIZED);
    refresh(&app, &client, &r3)
        .await
        .assert_oauth_error(StatusCode::BAD_REQUEST, "invalid_grant");
    // Another grant of the same user and client is untouched.
    let unrelated = grant(&app, &session, &client).await;
    assert!(active(&app, &client, str_of(&unrelated, "access_token")).await);
    app.stop().await;
}

#[tokio::test]
async fn b7_refresh_tokens_are_per_client_scope_bound_and_expire_when_unused() {
    let app = TestApp::spawn().await;
    let session = app.session("b7", &["member"]).await;
    // Per client: an app without the refresh_token grant gets none.
    let no_refresh = create_app(
        &app,
        &session,
        json!({"clientName": "no refresh", "redirectUris": [REDIRECT], "scope": ["iguide.list"],
               "grantTypes": ["authorization_code"]}),
    )
    .await;
    let tokens = grant(&app, &session, &no_refresh).await;
    assert!(tokens.get("refresh_token").is_none(), "{tokens}");

    // Bound to the consented scope: narrowing one access token does not
    // narrow the grant; widening it is refused.
    let client = standard_app(&app, &session).await;
    let tokens = grant(&app, &session, &client).await;
    let r = token(
        &app,
        &client,
        &[
            ("grant_type", "refresh_token"),
            ("refresh_token", str_of(&tokens, "refresh_token")),
            ("scope", "iguide.list"),
        ],
    )
    .await;
    let narrow = r.json();
    assert_eq!(narrow["scope"], "iguide.list", "{narrow}");
    let r = token(
        &app,
        &client,
        &[
            ("grant_type", "refresh_token"),
            ("refresh_token", str_of(&narrow, "refresh_token")),
            ("scope", "iguide.list iguide.ro"),
        ],
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    let wide = r.json();
    assert_eq!(wide["scope"], "iguide.list iguide.ro");
    token(
        &app,
        &client,
        &[
            ("grant_type", "refresh_token"),
            ("refresh_token", str_of(&wide, "refresh_token")),
            ("scope", "iguide.rw"),
        ],
    )
    .await
    .assert_oauth_error(StatusCode::BAD_REQUEST, "invalid_scope");

    // Expiry after inactivity (30 days by default): used every 29 days it
    // lives on; left alone for 31 it dies.
    let mut current = str_of(&wide, "refresh_token").to_owned();
    for _ in 0..2 {
        app.advance(time::Duration::days(29));
        let r = refresh(&app, &client, &current).await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.text);
        current = str_of(&r.json(), "refresh_token").to_owned();
    }
    app.advance(time::Duration::days(31));
    assert!(!active(&app, &client, &current).await);
    refresh(&app, &client, &current)
        .await
        .assert_oauth_error(StatusCode::BAD_REQUEST, "invalid_grant");
    app.stop().await;
}

#[tokio::test]
async fn b12_clients_cannot_choose_their_client_id() {
    let app = TestApp::spawn().await;
    let session = app.session("b12", &["member"]).await;
    let chosen = uuid::Uuid::new_v4().to_string();
    for field in ["clientId", "client_id"] {
        let (status, body) = send(app.bearer(Method::POST, APPS, &session).json(&json!({
            "clientName": "x", "redirectUris": [REDIRECT], "scope": ["iguide.list"], field: chosen,
        })))
        .await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
        assert!(body["message"].as_str().unwrap().contains(field), "{body}");
    }
    let a = standard_app(&app, &session).await;
    let b = standard_app(&app, &session).await;
    // Nor change it later.
    let (status, _) = send(
        app.bearer(Method::PATCH, &format!("{APPS}/{}", a.id), &session)
            .json(&json!({"clientId": chosen})),
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    for id in [&a.id, &b.id] {
        let parsed = uuid::Uuid::parse_str(id).expect("a UUID");
        assert_eq!(parsed.get_version_num(), 4, "random: {id}");
        assert_ne!(id, &chosen);
    }
    assert_ne!(a.id, b.id);
    app.stop().await;
}

#[tokio::test]
async fn b13_access_tokens_are_limited_to_their_scopes() {
    let (app, session, client) = app_with_client("b13").await;
    let code = code_for(
        &app,
        &session,
        &Authz::new(&client).set("scope", "iguide.list"),
    )
    .await;
    let from_code = redeem(&app, &client, &code).await;
    let cc = client_credentials(&app, &client).await;
    for tokens in [&from_code, &cc] {
        let access = str_of(tokens, "access_token");
        let (status, me) = send(app.bearer(Method::GET, "/api/v1/me", access)).await;
        assert_eq!(status, StatusCode::OK);
        assert!(
            !me["scopes"]
                .as_array()
                .unwrap()
                .contains(&json!("credentials.manage"))
        );
        // The owner could; the token cannot.
        let (status, body) = send(app.bearer(Method::GET, APPS, access)).await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
        assert_eq!(body["code"], "permission_denied");
        let (status, _) = send(
            app.bearer(Method::POST, "/api/v1/verify", access)
                .json(&json!({"token": access})),
        )
        .await;
        assert_eq!(status, StatusCode::FORBIDDEN);
    }
    let (status, _) = send(app.bearer(Method::GET, APPS, &session)).await;
    assert_eq!(status, StatusCode::OK);
    app.stop().await;
}
