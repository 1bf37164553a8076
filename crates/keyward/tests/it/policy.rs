//! The credential policy: `max_token_lifetime_days` and
//! `require_token_expiry`, on create, PATCH, rotate and renew alike.

use keyward_testkit::{TestApp, assert_error, at, send};
use reqwest::{Method, StatusCode};
use serde_json::json;
use time::Duration;

use crate::oauth_support::str_of;

const TOKENS: &str = "/api/v1/integrations/tokens";

#[tokio::test]
async fn a_lifetime_cap_holds_everywhere() {
    let app = TestApp::spawn_with(|c| c.credentials.max_token_lifetime_days = 90).await;
    let session = app.session("capped", &["member"]).await;
    let create =
        |body: serde_json::Value| send(app.bearer(Method::POST, TOKENS, &session).json(&body));
    for body in [
        json!({"name": "forever", "scopes": ["iguide.ro"]}),
        json!({"name": "forever", "scopes": ["iguide.ro"], "expiresAt": null}),
        json!({"name": "long", "scopes": ["iguide.ro"], "expiresAt": at(&app, Duration::days(91))}),
    ] {
        let (status, err) = create(body).await;
        assert_error(
            status,
            &err,
            StatusCode::BAD_REQUEST,
            "invalid_argument",
            "expiresAt",
        );
    }
    let (status, token) = create(json!({"name": "ok", "scopes": ["iguide.ro"],
        "expiresAt": at(&app, Duration::days(90))}))
    .await;
    assert_eq!(status, StatusCode::CREATED, "{token}");
    let id = str_of(&token, "id").to_owned();

    // A renewal never takes the new token past the cap, counted from now.
    app.advance(Duration::days(30));
    let session = app.login("capped").await;
    let (status, renewed) = send(
        app.bearer(Method::POST, &format!("{TOKENS}/{id}/renew"), &session)
            .json(&json!({"name": "next", "expireCurrentAt": at(&app, Duration::days(1))})),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{renewed}");
    assert_eq!(renewed["expiresAt"], at(&app, Duration::days(90)));

    // Moving the expiry earlier is fine; it can only move earlier anyway.
    let (status, body) = send(
        app.bearer(Method::PATCH, &format!("{TOKENS}/{id}"), &session)
            .json(&json!({"expiresAt": at(&app, Duration::hours(2))})),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    app.stop().await;
}

#[tokio::test]
async fn rotation_caps_a_token_that_never_expires() {
    // The token is made while there is no cap; the server then restarts
    // with one, on the same database (a SQLite file kept across both).
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("keyward.db").display());
    let free = TestApp::spawn_on(None, |c| c.database.database_url = url.clone()).await;
    let session = free.session("legacy", &["member"]).await;
    let token = free
        .create_token(&session, json!({"name": "old", "scopes": ["iguide.ro"]}))
        .await;
    free.stop().await;

    let capped = TestApp::spawn_on(None, |c| {
        c.database.database_url = url.clone();
        c.credentials.max_token_lifetime_days = 30;
    })
    .await;
    let session = capped.login("legacy").await;
    let (_, found) = send(capped.bearer(
        Method::GET,
        &format!("{TOKENS}/{}", str_of(&token, "id")),
        &session,
    ))
    .await;
    assert_eq!(found["expiresAt"], serde_json::Value::Null);
    let (status, rotated) = send(capped.bearer(
        Method::POST,
        &format!("{TOKENS}/{}/rotate", str_of(&token, "id")),
        &session,
    ))
    .await;
    assert_eq!(status, StatusCode::OK, "{rotated}");
    assert_eq!(rotated["expiresAt"], at(&capped, Duration::days(30)));
    capped.stop().await;
}

#[tokio::test]
async fn required_expiry_refuses_never() {
    let app = TestApp::spawn_with(|c| c.credentials.require_token_expiry = true).await;
    let session = app.session("must-expire", &["member"]).await;
    let (status, err) = send(
        app.bearer(Method::POST, TOKENS, &session)
            .json(&json!({"name": "forever", "scopes": ["iguide.ro"]})),
    )
    .await;
    assert_error(
        status,
        &err,
        StatusCode::BAD_REQUEST,
        "invalid_argument",
        "expiresAt",
    );
    let (status, _) = send(app.bearer(Method::POST, TOKENS, &session).json(&json!({
        "name": "far", "scopes": ["iguide.ro"], "expiresAt": at(&app, Duration::days(3000))
    })))
    .await;
    assert_eq!(status, StatusCode::CREATED, "no cap: any expiry");
    app.stop().await;
}
