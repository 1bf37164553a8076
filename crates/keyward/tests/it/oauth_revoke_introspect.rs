//! RFC 7009 (revocation) and RFC 7662 (introspection): checklist items V1–V8
//! and I1–I7.

use keyward_testkit::{TestApp, send};
use reqwest::{Method, StatusCode};
use serde_json::json;

use crate::oauth_support::*;

async fn revoke(app: &TestApp, client: &Client, pairs: &[(&str, &str)]) -> Reply {
    post_form(app, "/oauth/revoke", Auth::Basic(client), pairs).await
}

#[tokio::test]
async fn v1_revoke_takes_a_form_with_token_and_an_optional_hint() {
    let (app, session, client) = app_with_client("v1").await;
    let tokens = grant(&app, &session, &client).await;
    revoke(&app, &client, &[])
        .await
        .assert_oauth_error(StatusCode::BAD_REQUEST, "invalid_request");
    revoke(&app, &client, &[("token_type_hint", "access_token")])
        .await
        .assert_oauth_error(StatusCode::BAD_REQUEST, "invalid_request");
    let access = str_of(&tokens, "access_token");
    let r = revoke(
        &app,
        &client,
        &[("token", access), ("token_type_hint", "access_token")],
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert!(!active(&app, &client, access).await);
    // Without a hint.
    let cc = client_credentials(&app, &client).await;
    let r = revoke(&app, &client, &[("token", str_of(&cc, "access_token"))]).await;
    assert_eq!(r.status, StatusCode::OK);
    assert!(!active(&app, &client, str_of(&cc, "access_token")).await);
    // The token belongs in the body, not the query.
    let cc = client_credentials(&app, &client).await;
    let path = format!(
        "/oauth/revoke?{}",
        encode(&[("token", str_of(&cc, "access_token"))])
    );
    let r = post_form(&app, &path, Auth::Basic(&client), &[]).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "{}", r.text);
    assert!(active(&app, &client, str_of(&cc, "access_token")).await);
    app.stop().await;
}

#[tokio::test]
async fn v2_access_and_refresh_tokens_are_revocable() {
    let (app, session, client) = app_with_client("v2").await;
    let tokens = grant(&app, &session, &client).await;
    let access = str_of(&tokens, "access_token");
    revoke(&app, &client, &[("token", access)]).await;
    assert!(!active(&app, &client, access).await);
    assert_eq!(app.me_status(access).await, StatusCode::UNAUTHORIZED);
    let refresh_token = str_of(&tokens, "refresh_token");
    assert!(
        active(&app, &client, refresh_token).await,
        "revoking the access token leaves the grant"
    );
    let r = revoke(&app, &client, &[("token", refresh_token)]).await;
    assert_eq!(r.status, StatusCode::OK);
    assert!(!active(&app, &client, refresh_token).await);
    refresh(&app, &client, refresh_token)
        .await
        .assert_oauth_error(StatusCode::BAD_REQUEST, "invalid_grant");
    app.stop().await;
}

#[tokio::test]
async fn v3_client_credentials_are_checked_first() {
    let (app, session, client) = app_with_client("v3").await;
    let other = standard_app(&app, &session).await;
    let wrong = Client {
        id: client.id.clone(),
        secret: other.secret.clone(),
    };
    let access = str_of(&client_credentials(&app, &client).await, "access_token").to_owned();
    for token in [access.as_str(), "unknown", ""] {
        for auth in [Auth::Basic(&wrong), Auth::Post(&wrong), Auth::None] {
            post_form(&app, "/oauth/revoke", auth, &[("token", token)])
                .await
                .assert_oauth_error(StatusCode::UNAUTHORIZED, "invalid_client");
        }
    }
    assert!(active(&app, &client, &access).await);
    app.stop().await;
}

#[tokio::test]
async fn v4_another_clients_token_is_not_revoked() {
    let (app, session, client) = app_with_client("v4").await;
    let other = standard_app(&app, &session).await;
    let tokens = grant(&app, &session, &client).await;
    for t in [
        str_of(&tokens, "access_token"),
        str_of(&tokens, "refresh_token"),
    ] {
        let r = revoke(&app, &other, &[("token", t)]).await;
        // The RFC names no code for this ([U]); it must be a refusal.
        assert!(r.status.is_client_error(), "{} {}", r.status, r.text);
        assert!(r.json()["error"].is_string(), "{}", r.text);
        assert!(active(&app, &client, t).await, "another client revoked {t}");
    }
    app.stop().await;
}

#[tokio::test]
async fn v5_unknown_or_already_invalid_tokens_give_200() {
    let (app, session, client) = app_with_client("v5").await;
    let tokens = grant(&app, &session, &client).await;
    let access = str_of(&tokens, "access_token");
    let r = revoke(&app, &client, &[("token", access)]).await;
    assert_eq!(r.status, StatusCode::OK);
    for t in [
        access,
        "garbage",
        "kwa_000000000000000000000000000000000000",
        "kwr_ABCDEFGHIJKLMNOPQRSTUVWXYZabcd123456",
    ] {
        let r = revoke(&app, &client, &[("token", t)]).await;
        assert_eq!(r.status, StatusCode::OK, "{t}: {}", r.text);
    }
    // Expired too.
    let cc = client_credentials(&app, &client).await;
    app.advance(time::Duration::hours(2));
    let r = revoke(&app, &client, &[("token", str_of(&cc, "access_token"))]).await;
    assert_eq!(r.status, StatusCode::OK);
    app.stop().await;
}

#[tokio::test]
async fn v6_a_wrong_hint_still_revokes() {
    let (app, session, client) = app_with_client("v6").await;
    for hint in ["refresh_token", "access_token", "nonsense"] {
        let tokens = grant(&app, &session, &client).await;
        let access = str_of(&tokens, "access_token");
        let refresh_token = str_of(&tokens, "refresh_token");
        let (token, wrong_hint) = if hint == "access_token" {
            (refresh_token, hint)
        } else {
            (access, hint)
        };
        let r = revoke(
            &app,
            &client,
            &[("token", token), ("token_type_hint", wrong_hint)],
        )
        .await;
        assert_eq!(r.status, StatusCode::OK, "{hint}: {}", r.text);
        assert!(!active(&app, &client, token).await, "hint {hint}");
    }
    app.stop().await;
}

#[tokio::test]
async fn v7_revoking_a_refresh_token_ends_its_access_tokens() {
    let (app, session, client) = app_with_client("v7").await;
    let first = grant(&app, &session, &client).await;
    let second = refresh(&app, &client, str_of(&first, "refresh_token"))
        .await
        .json();
    let unrelated = grant(&app, &session, &client).await;
    revoke(
        &app,
        &client,
        &[("token", str_of(&second, "refresh_token"))],
    )
    .await;
    for t in [
        str_of(&first, "access_token"),
        str_of(&second, "access_token"),
    ] {
        assert!(!active(&app, &client, t).await);
        assert_eq!(app.me_status(t).await, StatusCode::UNAUTHORIZED);
    }
    assert!(active(&app, &client, str_of(&unrelated, "access_token")).await);
    assert!(active(&app, &client, str_of(&unrelated, "refresh_token")).await);
    app.stop().await;
}

#[tokio::test]
async fn v8_an_unsupported_token_type_is_refused() {
    let (app, session, client) = app_with_client("v8").await;
    let code = code_for(&app, &session, &Authz::new(&client)).await;
    for t in [client.secret.as_str(), code.as_str()] {
        revoke(&app, &client, &[("token", t)])
            .await
            .assert_oauth_error(StatusCode::BAD_REQUEST, "unsupported_token_type");
    }
    // The client secret still works and the code was not consumed.
    client_credentials(&app, &client).await;
    redeem(&app, &client, &code).await;
    app.stop().await;
}

#[tokio::test]
async fn i1_introspection_needs_a_caller() {
    let (app, session, client) = app_with_client("i1").await;
    let other = standard_app(&app, &session).await;
    let access = str_of(&client_credentials(&app, &client).await, "access_token").to_owned();
    let wrong = Client {
        id: client.id.clone(),
        secret: other.secret.clone(),
    };
    for auth in [
        Auth::None,
        Auth::Basic(&wrong),
        Auth::Post(&wrong),
        Auth::Header("Bearer kwa_nonsense"),
    ] {
        let r = post_form(&app, "/oauth/introspect", auth, &[("token", &access)]).await;
        r.assert_oauth_error(StatusCode::UNAUTHORIZED, "invalid_client");
        assert!(r.json().get("active").is_none());
    }
    // A bearer without tokens.verify is not a resource server.
    let weak = app
        .create_token(&session, json!({"name": "weak", "scopes": ["iguide.list"]}))
        .await;
    let bearer = format!("Bearer {}", str_of(&weak, "token"));
    let r = post_form(
        &app,
        "/oauth/introspect",
        Auth::Header(&bearer),
        &[("token", &access)],
    )
    .await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED, "{}", r.text);
    assert!(r.json().get("active").is_none());
    app.stop().await;
}

#[tokio::test]
async fn i2_the_answer_is_json_with_a_boolean_active() {
    let (app, _, client) = app_with_client("i2").await;
    let access = str_of(&client_credentials(&app, &client).await, "access_token").to_owned();
    for (token, want) in [(access.as_str(), true), ("nope", false)] {
        let r = post_form(
            &app,
            "/oauth/introspect",
            Auth::Basic(&client),
            &[("token", token)],
        )
        .await;
        assert_eq!(r.status, StatusCode::OK);
        assert!(
            r.header("content-type")
                .unwrap_or_default()
                .starts_with("application/json")
        );
        assert!(
            r.header("cache-control")
                .unwrap_or_default()
                .contains("no-store")
        );
        assert_eq!(r.json()["active"], json!(want));
    }
    app.stop().await;
}

#[tokio::test]
async fn i3_inactive_tokens_give_exactly_active_false() {
    let (app, session, client) = app_with_client("i3").await;
    let other = standard_app(&app, &session).await;
    let exactly =
        |v: serde_json::Value, what: &str| assert_eq!(v, json!({"active": false}), "{what}");

    // Not allowed for this caller: another client's live tokens.
    let tokens = grant(&app, &session, &client).await;
    exactly(
        introspect(&app, &other, str_of(&tokens, "access_token")).await,
        "other client, access",
    );
    exactly(
        introspect(&app, &other, str_of(&tokens, "refresh_token")).await,
        "other client, refresh",
    );
    // A session or API token is nobody's client token.
    exactly(
        introspect(&app, &client, &session).await,
        "session via client",
    );
    // Unknown and malformed.
    exactly(
        introspect(&app, &client, "kwa_000000000000000000000000000000000000").await,
        "unknown",
    );
    exactly(introspect(&app, &client, "kwa_garbage").await, "malformed");
    exactly(
        introspect(&app, &client, &client.secret).await,
        "a client secret",
    );
    // Revoked.
    let cc = client_credentials(&app, &client).await;
    revoke_ok(&app, &client, str_of(&cc, "access_token")).await;
    exactly(
        introspect(&app, &client, str_of(&cc, "access_token")).await,
        "revoked",
    );
    // Used (rotated) refresh token.
    let rotated = refresh(&app, &client, str_of(&tokens, "refresh_token"))
        .await
        .json();
    exactly(
        introspect(&app, &client, str_of(&tokens, "refresh_token")).await,
        "rotated refresh",
    );
    // Expired.
    app.advance(time::Duration::seconds(3601));
    exactly(
        introspect(&app, &client, str_of(&rotated, "access_token")).await,
        "expired access",
    );
    app.advance(time::Duration::days(31));
    exactly(
        introspect(&app, &client, str_of(&rotated, "refresh_token")).await,
        "expired refresh",
    );
    // "Not yet valid": Keyward issues no token with a future start (no nbf).
    app.stop().await;
}

async fn revoke_ok(app: &TestApp, client: &Client, token: &str) {
    let r = revoke(app, client, &[("token", token)]).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
}

#[tokio::test]
async fn i4_revoke_then_introspect_is_inactive_at_once() {
    let (app, session, client) = app_with_client("i4").await;
    for _ in 0..5 {
        let tokens = grant(&app, &session, &client).await;
        let access = str_of(&tokens, "access_token");
        // Warm whatever caches there are.
        for _ in 0..3 {
            assert!(active(&app, &client, access).await);
            assert_eq!(app.me_status(access).await, StatusCode::OK);
        }
        revoke_ok(&app, &client, access).await;
        assert!(!active(&app, &client, access).await);
    }
    app.stop().await;
}

#[tokio::test]
async fn i4_revoke_on_one_instance_introspect_on_another() {
    // Always on PostgreSQL: two instances need a shared database. The race
    // against the other instance's cache is short, so it is run many times.
    let (a, b) = crate::instances::pair().await;
    let session = a.session("i4pair", &["member"]).await;
    let client = standard_app(&a, &session).await;
    let mut stale = Vec::new();
    for round in 0..20 {
        let tokens = grant(&a, &session, &client).await;
        let access = str_of(&tokens, "access_token");
        for _ in 0..3 {
            assert!(active(&b, &client, access).await, "b sees the token");
        }
        revoke_ok(&a, &client, access).await;
        if active(&b, &client, access).await {
            stale.push(format!("access token, round {round}"));
        }
    }
    // Every kind of secret introspection understands, revoked by its owner
    // (a bearer with tokens.verify) on one instance.
    let bearer = format!("Bearer {session}");
    for round in 0..5 {
        let api = a
            .create_token(
                &session,
                json!({"name": format!("t{round}"), "scopes": ["iguide.list"]}),
            )
            .await;
        let second = a.login("i4pair").await;
        for secret in [str_of(&api, "token"), second.as_str()] {
            for _ in 0..3 {
                let r = post_form(
                    &b,
                    "/oauth/introspect",
                    Auth::Header(&bearer),
                    &[("token", secret)],
                )
                .await;
                assert_eq!(r.json()["active"], true, "{}", r.text);
            }
            let r = post_form(
                &a,
                "/oauth/revoke",
                Auth::Header(&bearer),
                &[("token", secret)],
            )
            .await;
            assert_eq!(r.status, StatusCode::OK, "{}", r.text);
            let r = post_form(
                &b,
                "/oauth/introspect",
                Auth::Header(&bearer),
                &[("token", secret)],
            )
            .await;
            if r.json()["active"] != false {
                stale.push(format!("{}, round {round}", &secret[..3]));
            }
        }
    }
    assert!(
        stale.is_empty(),
        "b answered active:true right after a revocation on a: {stale:?}"
    );
    b.stop().await;
    a.stop().await;
}

#[tokio::test]
async fn i5_a_wrong_hint_still_resolves_the_token() {
    let (app, session, client) = app_with_client("i5").await;
    let tokens = grant(&app, &session, &client).await;
    for (token, hint) in [
        (str_of(&tokens, "access_token"), "refresh_token"),
        (str_of(&tokens, "refresh_token"), "access_token"),
        (str_of(&tokens, "access_token"), "banana"),
    ] {
        let r = post_form(
            &app,
            "/oauth/introspect",
            Auth::Basic(&client),
            &[("token", token), ("token_type_hint", hint)],
        )
        .await;
        assert_eq!(r.status, StatusCode::OK);
        assert_eq!(r.json()["active"], true, "{hint}: {}", r.text);
    }
    app.stop().await;
}

#[tokio::test]
async fn i6_an_active_answer_describes_the_token() {
    let app =
        TestApp::spawn_with(|c| c.server.public_url = Some("https://keys.example.com".into()))
            .await;
    let user = app.user("i6", &["member"]).await;
    let session = app.login("i6").await;
    let client = standard_app(&app, &session).await;
    let tokens = grant(&app, &session, &client).await;
    let (_, meta) = send(app.request(Method::GET, "/.well-known/oauth-authorization-server")).await;
    for (token, token_type) in [
        (str_of(&tokens, "access_token"), Some("Bearer")),
        (str_of(&tokens, "refresh_token"), None),
    ] {
        let v = introspect(&app, &client, token).await;
        assert_eq!(v["active"], true);
        assert_eq!(v["scope"], "iguide.list iguide.ro", "{v}");
        assert_eq!(v["client_id"], client.id.as_str());
        assert_eq!(v["sub"], user.id.to_string());
        assert_eq!(v["iss"], meta["issuer"]);
        assert_eq!(v["iss"], "https://keys.example.com");
        assert!(v["token_type"].is_string(), "{v}");
        // RFC 7662 §2.2: token_type as RFC 6749 §5.1 defines it.
        if let Some(t) = token_type {
            assert_eq!(v["token_type"], t, "{v}");
        }
        let (iat, exp) = (
            v["iat"].as_i64().expect("iat"),
            v["exp"].as_i64().expect("exp"),
        );
        assert!(iat < exp, "{v}");
    }
    let v = introspect(&app, &client, str_of(&tokens, "access_token")).await;
    assert_eq!(
        v["exp"].as_i64().unwrap() - v["iat"].as_i64().unwrap(),
        3600
    );
    app.stop().await;
}

#[tokio::test]
async fn i7_get_introspect_is_405() {
    let (app, _, client) = app_with_client("i7").await;
    let access = str_of(&client_credentials(&app, &client).await, "access_token").to_owned();
    for path in ["/oauth/introspect", "/oauth/revoke"] {
        let r = reply(
            raw(
                &app,
                Method::GET,
                &format!("{path}?{}", encode(&[("token", &access)])),
            )
            .basic_auth(&client.id, Some(&client.secret)),
        )
        .await;
        assert_eq!(
            r.status,
            StatusCode::METHOD_NOT_ALLOWED,
            "{path}: {}",
            r.text
        );
        assert!(!r.text.contains("\"active\""));
    }
    assert!(active(&app, &client, &access).await);
    app.stop().await;
}
