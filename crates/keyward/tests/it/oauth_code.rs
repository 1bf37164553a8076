//! RFC 6749 §4.1.3, redeeming authorization codes, and RFC 7636 (PKCE):
//! checklist items G3–G8, P1–P9 and B3.
//!
//! Every Keyward app is a confidential client and PKCE (S256) is required of
//! every client, so the public-client items (G8, P3) are tested as what a
//! public client would send: no client authentication gives `invalid_client`
//! (401), and an authorization without a challenge gets no code.

use keyward_testkit::TestApp;
use reqwest::StatusCode;

use crate::oauth_support::*;

fn code_request<'a>(code: &'a str, verifier: &'a str) -> Vec<(&'a str, &'a str)> {
    vec![
        ("grant_type", "authorization_code"),
        ("code", code),
        ("code_verifier", verifier),
    ]
}

#[tokio::test]
async fn g3_an_expired_code_is_invalid_grant() {
    let (app, session, client) = app_with_client("g3").await;
    let code = code_for(&app, &session, &Authz::new(&client)).await;
    app.advance(time::Duration::seconds(61));
    token(&app, &client, &code_request(&code, VERIFIER))
        .await
        .assert_oauth_error(StatusCode::BAD_REQUEST, "invalid_grant");
    // Just inside the lifetime it works.
    let code = code_for(&app, &session, &Authz::new(&client)).await;
    app.advance(time::Duration::seconds(59));
    redeem(&app, &client, &code).await;
    app.stop().await;
}

#[tokio::test]
async fn g3_the_code_lifetime_is_capped_at_ten_minutes() {
    let app = TestApp::spawn_with(|c| c.oauth.authorization_code_ttl_seconds = 3600).await;
    let session = app.session("g3cap", &["member"]).await;
    let client = standard_app(&app, &session).await;
    let code = code_for(&app, &session, &Authz::new(&client)).await;
    app.advance(time::Duration::seconds(601));
    token(&app, &client, &code_request(&code, VERIFIER))
        .await
        .assert_oauth_error(StatusCode::BAD_REQUEST, "invalid_grant");
    app.stop().await;
}

#[tokio::test]
async fn g4_a_second_redemption_fails_and_revokes_the_first_tokens() {
    let (app, session, client) = app_with_client("g4").await;
    let code = code_for(&app, &session, &Authz::new(&client)).await;
    let first = redeem(&app, &client, &code).await;
    let access = str_of(&first, "access_token");
    let refresh = str_of(&first, "refresh_token");
    assert!(active(&app, &client, access).await);
    token(&app, &client, &code_request(&code, VERIFIER))
        .await
        .assert_oauth_error(StatusCode::BAD_REQUEST, "invalid_grant");
    assert!(!active(&app, &client, access).await, "access token revoked");
    assert!(
        !active(&app, &client, refresh).await,
        "refresh token revoked"
    );
    assert_eq!(app.me_status(access).await, StatusCode::UNAUTHORIZED);
    // A third try is refused just the same.
    token(&app, &client, &code_request(&code, VERIFIER))
        .await
        .assert_oauth_error(StatusCode::BAD_REQUEST, "invalid_grant");
    app.stop().await;
}

#[tokio::test]
async fn g5_a_code_is_bound_to_its_client() {
    let (app, session, client) = app_with_client("g5").await;
    let thief = standard_app(&app, &session).await;
    let code = code_for(&app, &session, &Authz::new(&client)).await;
    token(&app, &thief, &code_request(&code, VERIFIER))
        .await
        .assert_oauth_error(StatusCode::BAD_REQUEST, "invalid_grant");
    // The rightful client still can.
    redeem(&app, &client, &code).await;
    app.stop().await;
}

#[tokio::test]
async fn g6_a_redirect_uri_sent_must_be_repeated_identically() {
    let (app, session, client) = app_with_client("g6").await;
    let authz = Authz::new(&client).set("redirect_uri", REDIRECT);
    for wrong in [
        None,
        Some("https://client.example/cb/"),
        Some("https://client.example/other"),
    ] {
        let code = code_for(&app, &session, &authz).await;
        let mut pairs = code_request(&code, VERIFIER);
        if let Some(w) = wrong {
            pairs.push(("redirect_uri", w));
        }
        token(&app, &client, &pairs)
            .await
            .assert_oauth_error(StatusCode::BAD_REQUEST, "invalid_grant");
    }
    let code = code_for(&app, &session, &authz).await;
    let mut pairs = code_request(&code, VERIFIER);
    pairs.push(("redirect_uri", REDIRECT));
    let r = token(&app, &client, &pairs).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    app.stop().await;
}

#[tokio::test]
async fn g7_redeeming_without_client_authentication_is_invalid_client() {
    let (app, session, client) = app_with_client("g7").await;
    let code = code_for(&app, &session, &Authz::new(&client)).await;
    // The id with another app's (well-formed) secret.
    let other = standard_app(&app, &session).await;
    let wrong = Client {
        id: client.id.clone(),
        secret: other.secret.clone(),
    };
    let mut with_id = code_request(&code, VERIFIER);
    with_id.push(("client_id", &client.id));
    for r in [
        post_form(
            &app,
            "/oauth/token",
            Auth::None,
            &code_request(&code, VERIFIER),
        )
        .await,
        post_form(&app, "/oauth/token", Auth::None, &with_id).await,
        post_form(
            &app,
            "/oauth/token",
            Auth::Post(&wrong),
            &code_request(&code, VERIFIER),
        )
        .await,
    ] {
        r.assert_oauth_error(StatusCode::UNAUTHORIZED, "invalid_client");
    }
    // None of that consumed the code.
    redeem(&app, &client, &code).await;
    app.stop().await;
}

#[tokio::test]
async fn g8_a_token_request_without_client_id_is_refused() {
    // No public clients exist: a token request naming no client at all is
    // unauthenticated, `invalid_client` (401), for every grant.
    let (app, session, client) = app_with_client("g8").await;
    let code = code_for(&app, &session, &Authz::new(&client)).await;
    for pairs in [
        code_request(&code, VERIFIER),
        vec![("grant_type", "refresh_token"), ("refresh_token", "kwr_x")],
        vec![("grant_type", "client_credentials")],
    ] {
        let r = post_form(&app, "/oauth/token", Auth::None, &pairs).await;
        r.assert_oauth_error(StatusCode::UNAUTHORIZED, "invalid_client");
    }
    app.stop().await;
}

#[tokio::test]
async fn p1_s256_works_end_to_end_with_the_appendix_b_vector() {
    assert_eq!(
        keyward_core::service::oauth::s256_challenge(VERIFIER),
        CHALLENGE
    );
    let (app, session, client) = app_with_client("p1").await;
    let code = code_for(&app, &session, &Authz::new(&client)).await;
    let tokens = redeem(&app, &client, &code).await;
    assert!(str_of(&tokens, "access_token").starts_with("kwa_"));
    assert_eq!(
        app.me_status(str_of(&tokens, "access_token")).await,
        StatusCode::OK
    );
    // And a random pair.
    let (verifier, challenge) = pkce();
    let code = code_for(
        &app,
        &session,
        &Authz::new(&client).set("code_challenge", &challenge),
    )
    .await;
    let r = token(&app, &client, &code_request(&code, &verifier)).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    app.stop().await;
}

#[tokio::test]
async fn p2_plain_and_a_missing_method_are_invalid_request() {
    let (app, session, client) = app_with_client("p2").await;
    for authz in [
        Authz::new(&client)
            .set("code_challenge_method", "plain")
            .set("code_challenge", VERIFIER),
        Authz::new(&client).set("code_challenge_method", "plain"),
        Authz::new(&client).remove("code_challenge_method"),
        Authz::new(&client)
            .remove("code_challenge_method")
            .set("code_challenge", VERIFIER),
    ] {
        let r = authorize_get(&app, Some(&session), &authz.query()).await;
        let location = r.location().expect("an error redirect");
        assert_eq!(
            query_param(&location, "error").as_deref(),
            Some("invalid_request"),
            "{location}"
        );
        assert!(query_param(&location, "code").is_none());
    }
    app.stop().await;
}

#[tokio::test]
async fn p3_a_missing_code_challenge_is_an_invalid_request_redirect() {
    // PKCE is required of every client here (all are confidential; the
    // RFC's MUST for public clients applies to all of them).
    let (app, session, client) = app_with_client("p3").await;
    let authz = Authz::new(&client).remove("code_challenge");
    let r = authorize_get(&app, Some(&session), &authz.query()).await;
    assert_eq!(r.status, StatusCode::FOUND, "{}", r.text);
    let location = r.location().unwrap();
    assert!(location.starts_with(REDIRECT));
    assert_eq!(
        query_param(&location, "error").as_deref(),
        Some("invalid_request")
    );
    assert_eq!(query_param(&location, "state").as_deref(), Some("xyz"));
    // The consent POST cannot skip it either.
    let csrf = csrf_for(&app, &session, &Authz::new(&client)).await;
    let mut fields = authz.pairs();
    fields.push(("csrf_token", &csrf));
    fields.push(("decision", "allow"));
    let r = decide_raw(&app, Some(&session), &fields).await;
    let location = r.location().unwrap();
    assert_eq!(
        query_param(&location, "error").as_deref(),
        Some("invalid_request")
    );
    assert!(query_param(&location, "code").is_none());
    // A public client's unauthenticated token request does not exist: 401.
    let code = code_for(&app, &session, &Authz::new(&client)).await;
    post_form(
        &app,
        "/oauth/token",
        Auth::None,
        &code_request(&code, VERIFIER),
    )
    .await
    .assert_oauth_error(StatusCode::UNAUTHORIZED, "invalid_client");
    app.stop().await;
}

#[tokio::test]
async fn p4_an_unsupported_method_is_invalid_request() {
    let (app, session, client) = app_with_client("p4").await;
    for method in ["S512", "s256", "S256 ", "RS256"] {
        let authz = Authz::new(&client).set("code_challenge_method", method);
        let r = authorize_get(&app, Some(&session), &authz.query()).await;
        let location = r.location().expect("an error redirect");
        assert_eq!(
            query_param(&location, "error").as_deref(),
            Some("invalid_request"),
            "{method}"
        );
    }
    // A challenge that cannot be an S256 value is refused too.
    for challenge in [
        "short",
        &format!("{CHALLENGE}A"),
        &CHALLENGE.replace('-', "+"),
    ] {
        let authz = Authz::new(&client).set("code_challenge", challenge);
        let r = authorize_get(&app, Some(&session), &authz.query()).await;
        let location = r.location().expect("an error redirect");
        assert_eq!(
            query_param(&location, "error").as_deref(),
            Some("invalid_request"),
            "{challenge}"
        );
    }
    app.stop().await;
}

#[tokio::test]
async fn p5_the_challenge_is_stored_not_encoded_in_the_code() {
    let (app, session, client) = app_with_client("p5").await;
    let a = code_for(&app, &session, &Authz::new(&client)).await;
    let b = code_for(&app, &session, &Authz::new(&client)).await;
    for code in [&a, &b] {
        assert_eq!(code.len(), 40, "{code}");
        assert!(
            code.starts_with("kwo_") && code[4..].bytes().all(|c| c.is_ascii_alphanumeric()),
            "{code}"
        );
        for window in CHALLENGE.as_bytes().windows(6) {
            assert!(
                !code.contains(std::str::from_utf8(window).unwrap()),
                "{code} leaks the challenge"
            );
        }
    }
    assert_ne!(a, b, "same request, different opaque codes");
    // The binding lives on the server: the code works only with its verifier.
    token(&app, &client, &code_request(&a, &pkce().0))
        .await
        .assert_oauth_error(StatusCode::BAD_REQUEST, "invalid_grant");
    redeem(&app, &client, &b).await;
    app.stop().await;
}

#[tokio::test]
async fn p6_a_wrong_verifier_is_invalid_grant() {
    let (app, session, client) = app_with_client("p6").await;
    let code = code_for(&app, &session, &Authz::new(&client)).await;
    let mut near = VERIFIER.to_owned();
    near.replace_range(42.., "l");
    token(&app, &client, &code_request(&code, &near))
        .await
        .assert_oauth_error(StatusCode::BAD_REQUEST, "invalid_grant");
    // The challenge itself is not the verifier.
    let code = code_for(&app, &session, &Authz::new(&client)).await;
    token(&app, &client, &code_request(&code, CHALLENGE))
        .await
        .assert_oauth_error(StatusCode::BAD_REQUEST, "invalid_grant");
    app.stop().await;
}

#[tokio::test]
async fn p7_a_verifier_of_the_wrong_shape_is_invalid_grant() {
    let (app, session, client) = app_with_client("p7").await;
    // Each challenge is the S256 of its malformed verifier, so the shape is
    // the only thing wrong.
    let bad = [
        "a".repeat(42),
        "a".repeat(129),
        format!("{}+", "a".repeat(43)),
        format!("{}/", "a".repeat(43)),
        format!("{} ", "a".repeat(43)),
        format!("{}é", "a".repeat(43)),
    ];
    for verifier in &bad {
        let challenge = keyward_core::service::oauth::s256_challenge(verifier);
        let code = code_for(
            &app,
            &session,
            &Authz::new(&client).set("code_challenge", &challenge),
        )
        .await;
        token(&app, &client, &code_request(&code, verifier))
            .await
            .assert_oauth_error(StatusCode::BAD_REQUEST, "invalid_grant");
    }
    for verifier in ["a".repeat(43), "Az09-._~".repeat(16)] {
        let challenge = keyward_core::service::oauth::s256_challenge(&verifier);
        let code = code_for(
            &app,
            &session,
            &Authz::new(&client).set("code_challenge", &challenge),
        )
        .await;
        let r = token(&app, &client, &code_request(&code, &verifier)).await;
        assert_eq!(
            r.status,
            StatusCode::OK,
            "{} chars: {}",
            verifier.len(),
            r.text
        );
    }
    app.stop().await;
}

#[tokio::test]
async fn p8_no_code_without_a_challenge_so_no_downgrade() {
    // The server refuses every authorization without a challenge, so no code
    // exists whose authorization had none; a verifier can never be paired
    // with such a code. What is checked: no code is issued without one, by
    // either the GET or the consent POST.
    let (app, session, client) = app_with_client("p8").await;
    let authz = Authz::new(&client)
        .remove("code_challenge")
        .remove("code_challenge_method");
    let r = authorize_get(&app, Some(&session), &authz.query()).await;
    assert!(query_param(&r.location().unwrap(), "code").is_none());
    let csrf = csrf_for(&app, &session, &Authz::new(&client)).await;
    let mut fields = authz.pairs();
    fields.push(("csrf_token", &csrf));
    fields.push(("decision", "allow"));
    let r = decide_raw(&app, Some(&session), &fields).await;
    let location = r.location().unwrap();
    assert_eq!(
        query_param(&location, "error").as_deref(),
        Some("invalid_request")
    );
    assert!(query_param(&location, "code").is_none());
    app.stop().await;
}

#[tokio::test]
async fn p9_a_challenged_code_without_verifier_is_invalid_grant() {
    let (app, session, client) = app_with_client("p9").await;
    let code = code_for(&app, &session, &Authz::new(&client)).await;
    token(
        &app,
        &client,
        &[("grant_type", "authorization_code"), ("code", &code)],
    )
    .await
    .assert_oauth_error(StatusCode::BAD_REQUEST, "invalid_grant");
    // An empty verifier is absent.
    token(&app, &client, &code_request(&code, ""))
        .await
        .assert_oauth_error(StatusCode::BAD_REQUEST, "invalid_grant");
    app.stop().await;
}

#[tokio::test]
async fn b3_pkce_is_supported_enforced_downgrade_proof_and_published() {
    let (app, session, client) = app_with_client("b3").await;
    // Published (M5).
    let r = reply(raw(
        &app,
        reqwest::Method::GET,
        "/.well-known/oauth-authorization-server",
    ))
    .await;
    assert_eq!(
        r.json()["code_challenge_methods_supported"],
        serde_json::json!(["S256"])
    );
    // Enforced: a challenged code needs its verifier (P6, P9)...
    let code = code_for(&app, &session, &Authz::new(&client)).await;
    token(
        &app,
        &client,
        &[("grant_type", "authorization_code"), ("code", &code)],
    )
    .await
    .assert_oauth_error(StatusCode::BAD_REQUEST, "invalid_grant");
    // ...and no authorization gets a code without a challenge (P8).
    let r = consent(&app, &session, &Authz::new(&client), "allow").await;
    assert!(query_param(&r.location().unwrap(), "code").is_some());
    let authz = Authz::new(&client).remove("code_challenge");
    let r = authorize_get(&app, Some(&session), &authz.query()).await;
    assert!(query_param(&r.location().unwrap(), "code").is_none());
    // Supported end to end (P1): the verifier redeems the code.
    redeem(&app, &client, &code).await;
    app.stop().await;
}
