//! Authenticating to the API (SPEC §3): Bearer, the header pair and its
//! configurable names, and what never authenticates.

use keyward_testkit::{TestApp, assert_error, send};
use reqwest::{Method, StatusCode};
use serde_json::json;

#[tokio::test]
async fn the_header_pair_must_agree() {
    let app = TestApp::spawn().await;
    let session = app.session("pair", &["member"]).await;
    let a = app
        .create_token(
            &session,
            json!({"name": "a", "scopes": ["credentials.manage"]}),
        )
        .await;
    let b = app
        .create_token(
            &session,
            json!({"name": "b", "scopes": ["credentials.manage"]}),
        )
        .await;
    let me = |id: &str, secret: &str| {
        app.request(Method::GET, "/api/v1/me")
            .header("X-App-Id", id)
            .header("X-App-Token", secret)
    };
    let (status, body) = send(me(a["id"].as_str().unwrap(), a["token"].as_str().unwrap())).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        body["credential"],
        json!({"kind": "api_token", "id": a["id"]})
    );

    for (id, secret) in [
        (b["id"].as_str().unwrap(), a["token"].as_str().unwrap()),
        ("not-a-uuid", a["token"].as_str().unwrap()),
        (a["id"].as_str().unwrap(), "kwp_garbage"),
    ] {
        let (status, err) = send(me(id, secret)).await;
        assert_error(
            status,
            &err,
            StatusCode::UNAUTHORIZED,
            "unauthenticated",
            "",
        );
    }
    // One header without the other.
    let (status, _) = send(
        app.request(Method::GET, "/api/v1/me")
            .header("X-App-Token", a["token"].as_str().unwrap()),
    )
    .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let (status, _) = send(
        app.request(Method::GET, "/api/v1/me")
            .header("X-App-Id", a["id"].as_str().unwrap()),
    )
    .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    app.stop().await;
}

#[tokio::test]
async fn header_names_are_configurable() {
    let app = TestApp::spawn_with(|c| {
        c.server.app_id_header = "X-Plntr-App-Id".into();
        c.server.app_token_header = "X-Plntr-App-Token".into();
    })
    .await;
    let session = app.session("plntr", &["member"]).await;
    let t = app
        .create_token(
            &session,
            json!({"name": "p", "scopes": ["credentials.manage", "iguide.list"]}),
        )
        .await;
    let (status, list) = send(
        app.request(Method::GET, "/api/v1/integrations/tokens")
            .header("X-Plntr-App-Id", t["id"].as_str().unwrap())
            .header("X-Plntr-App-Token", t["token"].as_str().unwrap()),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(list[0]["name"], "p");
    // The default names are not read any more.
    let (status, _) = send(
        app.request(Method::GET, "/api/v1/me")
            .header("X-App-Id", t["id"].as_str().unwrap())
            .header("X-App-Token", t["token"].as_str().unwrap()),
    )
    .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    app.stop().await;
}

#[tokio::test]
async fn nothing_but_a_good_credential_in_a_header_authenticates() {
    let app = TestApp::spawn().await;
    let session = app.session("strict", &["member"]).await;
    let t = app
        .create_token(
            &session,
            json!({"name": "q", "scopes": ["credentials.manage"]}),
        )
        .await;
    let secret = t["token"].as_str().unwrap();
    let mut typo = secret.to_owned().into_bytes();
    typo[10] = if typo[10] == b'a' { b'b' } else { b'a' };
    let typo = String::from_utf8(typo).unwrap();
    let cases = [
        app.request(Method::GET, "/api/v1/me"),
        app.request(Method::GET, &format!("/api/v1/me?token={secret}")),
        app.request(Method::GET, &format!("/api/v1/me?access_token={secret}")),
        app.request(Method::GET, "/api/v1/me")
            .header("Authorization", format!("Basic {secret}")),
        app.request(Method::GET, "/api/v1/me")
            .header("Authorization", "Bearer "),
        app.bearer(Method::GET, "/api/v1/me", &typo),
        app.bearer(
            Method::GET,
            "/api/v1/me",
            "kwp_000000000000000000000000000000000000",
        ),
        app.bearer(
            Method::GET,
            "/api/v1/me",
            &secret.replacen("kwp_", "kws_", 1),
        ),
    ];
    for request in cases {
        let response = request.send().await.unwrap();
        assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
        assert_eq!(response.headers()["www-authenticate"], "Bearer");
        let body: serde_json::Value = response.json().await.unwrap();
        assert_eq!(body["code"], "unauthenticated");
    }
    assert_eq!(app.me_status(secret).await, StatusCode::OK);
    app.stop().await;
}

#[tokio::test]
async fn expired_tokens_are_refused() {
    let app = TestApp::spawn().await;
    let session = app.session("expiry", &["member"]).await;
    let t = app
        .create_token(&session, json!({"name": "e", "scopes": ["credentials.manage"], "expiresAt": keyward_testkit::at(&app, time::Duration::hours(1))}))
        .await;
    let secret = t["token"].as_str().unwrap();
    assert_eq!(app.me_status(secret).await, StatusCode::OK);
    app.advance(time::Duration::hours(1));
    assert_eq!(app.me_status(secret).await, StatusCode::UNAUTHORIZED);
    app.stop().await;
}
