//! Login, logout and `me` (SPEC §4 "Session").

use keyward_testkit::{PASSWORD, TestApp, assert_error, send};
use reqwest::{Method, StatusCode};
use serde_json::json;
use time::Duration;

#[tokio::test]
async fn login_returns_a_session_that_authenticates_and_me_describes_it() {
    let app = TestApp::spawn().await;
    let user = app.user("mary.griffin@example.com", &["member"]).await;
    let response = app
        .request(Method::POST, "/api/v1/login")
        .json(&json!({"username": "Mary.Griffin@example.com", "password": PASSWORD}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.headers()["cache-control"], "no-store");
    let body: serde_json::Value = response.json().await.unwrap();
    let token = body["token"].as_str().unwrap();
    assert!(token.starts_with("kws_") && token.len() == 40, "{token}");
    assert_eq!(body["user"]["id"], user.id.to_string());
    assert_eq!(body["user"]["roles"], json!(["member"]));
    assert!(body["expiresAt"].as_str().unwrap().ends_with('Z'));

    let (status, me) = send(app.bearer(Method::GET, "/api/v1/me", token)).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(me["user"]["username"], "mary.griffin@example.com");
    assert_eq!(me["credential"]["kind"], "session");
    let scopes: Vec<&str> = me["scopes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s.as_str().unwrap())
        .collect();
    assert!(scopes.contains(&"credentials.manage") && scopes.contains(&"iguide.rw"));
    assert!(
        !scopes.contains(&"admin.users"),
        "member sessions never get admin-only scopes"
    );
    app.stop().await;
}

#[tokio::test]
async fn unknown_user_and_wrong_password_get_the_same_answer() {
    let app = TestApp::spawn().await;
    app.user("alice", &["member"]).await;
    let (s1, b1) = send(
        app.request(Method::POST, "/api/v1/login")
            .json(&json!({"username": "alice", "password": "wrong password!"})),
    )
    .await;
    let (s2, b2) = send(
        app.request(Method::POST, "/api/v1/login")
            .json(&json!({"username": "nobody", "password": "wrong password!"})),
    )
    .await;
    assert_eq!(s1, StatusCode::UNAUTHORIZED);
    assert_eq!((s1, &b1), (s2, &b2));
    assert_eq!(b1["code"], "unauthenticated");
    app.stop().await;
}

#[tokio::test]
async fn repeated_failures_are_throttled_per_username_until_the_window_ends() {
    let app = TestApp::spawn().await;
    app.user("bob", &["member"]).await;
    let attempt = |password: &'static str| {
        app.request(Method::POST, "/api/v1/login")
            .json(&json!({"username": "bob", "password": password}))
    };
    for _ in 0..5 {
        let (status, _) = send(attempt("not the password")).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED);
    }
    let response = attempt(PASSWORD).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::TOO_MANY_REQUESTS);
    let retry: u64 = response.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!(retry > 0 && retry <= 900, "{retry}");
    let body: serde_json::Value = response.json().await.unwrap();
    assert_eq!(body["code"], "resource_exhausted");

    // Another username is not affected.
    app.user("carol", &["member"]).await;
    app.login("carol").await;

    app.advance(Duration::minutes(15));
    let (status, _) = send(attempt(PASSWORD)).await;
    assert_eq!(status, StatusCode::OK);
    app.stop().await;
}

#[tokio::test]
async fn repeated_failures_are_throttled_per_ip() {
    let app = TestApp::spawn_with(|c| c.limits.login_failures_per_ip = 3).await;
    for i in 0..3 {
        let (status, _) = send(
            app.request(Method::POST, "/api/v1/login")
                .json(&json!({"username": format!("ghost{i}"), "password": "x"})),
        )
        .await;
        assert_eq!(status, StatusCode::UNAUTHORIZED);
    }
    app.user("dave", &["member"]).await;
    let (status, body) = send(
        app.request(Method::POST, "/api/v1/login")
            .json(&json!({"username": "dave", "password": PASSWORD})),
    )
    .await;
    assert_eq!(status, StatusCode::TOO_MANY_REQUESTS, "{body}");
    app.stop().await;
}

#[tokio::test]
async fn logout_kills_the_session_and_only_sessions_log_out() {
    let app = TestApp::spawn().await;
    let session = app.session("erin", &["member"]).await;
    let token = app
        .create_token(
            &session,
            json!({"name": "t", "scopes": ["credentials.manage"]}),
        )
        .await;
    let (status, body) = send(app.bearer(
        Method::POST,
        "/api/v1/logout",
        token["token"].as_str().unwrap(),
    ))
    .await;
    assert_error(
        status,
        &body,
        StatusCode::CONFLICT,
        "failed_precondition",
        "session",
    );

    let (status, body) = send(app.bearer(Method::POST, "/api/v1/logout", &session)).await;
    assert_eq!((status, body), (StatusCode::OK, json!({"ok": true})));
    assert_eq!(app.me_status(&session).await, StatusCode::UNAUTHORIZED);
    // Tokens outlive the session that made them.
    assert_eq!(
        app.me_status(token["token"].as_str().unwrap()).await,
        StatusCode::OK
    );
    app.stop().await;
}

#[tokio::test]
async fn sessions_end_after_idle_time_and_absolute_lifetime() {
    let app = TestApp::spawn().await;
    let session = app.session("frank", &["member"]).await;
    // Used every 11 hours, it stays alive past 12 hours...
    for _ in 0..3 {
        app.advance(Duration::hours(11));
        assert_eq!(app.me_status(&session).await, StatusCode::OK);
    }
    // ...but an idle gap over 12 hours ends it.
    app.advance(Duration::hours(12) + Duration::seconds(1));
    assert_eq!(app.me_status(&session).await, StatusCode::UNAUTHORIZED);

    let session = app.login("frank").await;
    for _ in 0..15 {
        app.advance(Duration::hours(11));
        if app.me_status(&session).await == StatusCode::UNAUTHORIZED {
            // 7 days = 168 h: the 16th 11-hour step (176 h) is the first past it.
            panic!("the session ended before its absolute lifetime");
        }
    }
    app.advance(Duration::hours(11));
    assert_eq!(app.me_status(&session).await, StatusCode::UNAUTHORIZED);
    app.stop().await;
}

#[tokio::test]
async fn login_input_is_validated() {
    let app = TestApp::spawn().await;
    for (body, field) in [
        (json!({"username": "x"}), "password"),
        (json!({"password": "x"}), "username"),
        (json!({"username": 1, "password": "x"}), "username"),
        (
            json!({"username": "x", "password": "x", "returnToken": true}),
            "returnToken",
        ),
        (json!({"username": "", "password": "x"}), "username"),
        (
            json!({"username": "x", "password": "p".repeat(1025)}),
            "password",
        ),
    ] {
        let (status, err) = send(app.request(Method::POST, "/api/v1/login").json(&body)).await;
        assert_error(
            status,
            &err,
            StatusCode::BAD_REQUEST,
            "invalid_argument",
            field,
        );
    }
    app.stop().await;
}

#[tokio::test]
async fn a_disabled_user_cannot_log_in_and_their_sessions_fail() {
    let app = TestApp::spawn().await;
    let user = app.user("gina", &["member"]).await;
    let session = app.login("gina").await;
    app.set_status(user.id, keyward_core::model::UserStatus::Disabled)
        .await;
    assert_eq!(app.me_status(&session).await, StatusCode::UNAUTHORIZED);
    let (status, _) = send(
        app.request(Method::POST, "/api/v1/login")
            .json(&json!({"username": "gina", "password": PASSWORD})),
    )
    .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    app.stop().await;
}
