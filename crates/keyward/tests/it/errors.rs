//! The error contract (SPEC §4): `{code, message}`, 404 and 405 as JSON, bad
//! ids and oversized bodies, security headers, never a 500.

use keyward_testkit::{TestApp, assert_error, send};
use reqwest::{Method, StatusCode};
use serde_json::json;

#[tokio::test]
async fn unknown_paths_and_wrong_methods_answer_in_json() {
    let app = TestApp::spawn().await;
    let session = app.session("errs", &["member"]).await;
    let (status, err) = send(app.bearer(Method::GET, "/api/v1/nothing-here", &session)).await;
    assert_error(status, &err, StatusCode::NOT_FOUND, "not_found", "endpoint");
    let t = app
        .create_token(&session, json!({"name": "m", "scopes": ["iguide.list"]}))
        .await;
    let path = format!("/api/v1/integrations/tokens/{}", t["id"].as_str().unwrap());
    for (method, path) in [
        (Method::PUT, path.clone()),
        (Method::POST, path.clone()),
        (Method::GET, format!("{path}/rotate")),
        (Method::DELETE, "/api/v1/login".to_owned()),
        (Method::GET, "/api/v1/logout".to_owned()),
        (Method::PUT, "/api/v1/integrations/tokens".to_owned()),
    ] {
        let (status, err) = send(
            app.bearer(method, &path, &session)
                .json(&json!({"name": "x"})),
        )
        .await;
        assert_error(
            status,
            &err,
            StatusCode::METHOD_NOT_ALLOWED,
            "invalid_argument",
            "method",
        );
    }
    let (_, unchanged) = send(app.bearer(Method::GET, &path, &session)).await;
    assert_eq!(unchanged["name"], "m", "a PUT changed nothing");
    app.stop().await;
}

#[tokio::test]
async fn malformed_ids_are_invalid_arguments() {
    let app = TestApp::spawn().await;
    let session = app.session("ids", &["member"]).await;
    for path in [
        "/api/v1/integrations/tokens/not-a-uuid",
        "/api/v1/integrations/tokens/123/rotate",
        "/api/v1/integrations/tokens/%00/deactivate",
    ] {
        let method = if path.ends_with("tokens/not-a-uuid") {
            Method::GET
        } else {
            Method::POST
        };
        let (status, err) = send(app.bearer(method, path, &session)).await;
        assert_error(
            status,
            &err,
            StatusCode::BAD_REQUEST,
            "invalid_argument",
            "id",
        );
    }
    let (status, err) = send(app.bearer(
        Method::GET,
        &format!("/api/v1/integrations/tokens/{}", uuid::Uuid::nil()),
        &session,
    ))
    .await;
    assert_error(status, &err, StatusCode::NOT_FOUND, "not_found", "token");
    app.stop().await;
}

#[tokio::test]
async fn oversized_bodies_are_refused_before_parsing() {
    let app = TestApp::spawn().await;
    let session = app.session("big", &["member"]).await;
    let body = json!({"name": "x", "scopes": ["iguide.list"], "description": "d".repeat(100_000)});
    let (status, err) = send(
        app.bearer(Method::POST, "/api/v1/integrations/tokens", &session)
            .json(&body),
    )
    .await;
    assert_error(
        status,
        &err,
        StatusCode::PAYLOAD_TOO_LARGE,
        "invalid_argument",
        "body",
    );
    app.stop().await;
}

#[tokio::test]
async fn responses_carry_security_headers_and_a_request_id() {
    let app = TestApp::spawn().await;
    let response = app.request(Method::GET, "/healthz").send().await.unwrap();
    let h = response.headers();
    assert_eq!(h["x-content-type-options"], "nosniff");
    assert_eq!(h["x-frame-options"], "DENY");
    assert!(
        h["content-security-policy"]
            .to_str()
            .unwrap()
            .contains("frame-ancestors 'none'")
    );
    assert_eq!(h["referrer-policy"], "no-referrer");
    assert_eq!(h["x-request-id"].len(), 36);
    assert!(h.get("access-control-allow-origin").is_none());
    let echoed = app
        .request(Method::GET, "/healthz")
        .header("x-request-id", "abc-123")
        .send()
        .await
        .unwrap();
    assert_eq!(echoed.headers()["x-request-id"], "abc-123");
    app.stop().await;
}

#[tokio::test]
async fn health_and_readiness() {
    let app = TestApp::spawn().await;
    assert_eq!(
        send(app.request(Method::GET, "/healthz")).await,
        (StatusCode::OK, json!({"status": "ok"}))
    );
    let (status, ready) = send(app.request(Method::GET, "/readyz")).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(ready["status"], "ok");
    assert!(ready["store"] == "sqlite" || ready["store"] == "postgres");
    app.stop().await;
}

/// More than 16 KiB of request headers is 431, before any handler runs.
#[tokio::test]
async fn oversized_headers_are_refused() {
    let app = TestApp::spawn().await;
    let (status, body) = send(
        app.request(Method::GET, "/api/v1/me")
            .header("x-padding", "a".repeat(17 * 1024)),
    )
    .await;
    assert_eq!(
        status,
        StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE,
        "{body}"
    );
    assert_eq!(body["code"], "invalid_argument");
    let (status, _) = send(
        app.request(Method::GET, "/healthz")
            .header("x-padding", "a".repeat(8 * 1024)),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "8 KiB is fine");
    app.stop().await;
}

/// A request not answered within `request_timeout_seconds` (here: a body
/// that never finishes arriving) is 503 with Retry-After, not held forever.
#[tokio::test]
async fn slow_requests_time_out() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let app = TestApp::spawn_with(|c| c.server.request_timeout_seconds = 1).await;
    let addr = app.base.trim_start_matches("http://").to_owned();
    let mut stream = tokio::net::TcpStream::connect(&addr).await.unwrap();
    stream
        .write_all(
            b"POST /api/v1/login HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n\
              Content-Length: 100\r\n\r\n{\"username\":",
        )
        .await
        .unwrap();
    let started = std::time::Instant::now();
    let mut answer = vec![0u8; 4096];
    let n = tokio::time::timeout(std::time::Duration::from_secs(5), stream.read(&mut answer))
        .await
        .expect("answered within the timeout and a margin")
        .unwrap();
    let text = String::from_utf8_lossy(&answer[..n]);
    assert!(text.starts_with("HTTP/1.1 503"), "{text}");
    let lower = text.to_lowercase();
    assert!(lower.contains("retry-after: 1"), "{text}");
    // The protective headers are on this answer too.
    for header in [
        "x-content-type-options: nosniff",
        "referrer-policy: no-referrer",
        "x-frame-options: deny",
    ] {
        assert!(lower.contains(header), "{header}: {text}");
    }
    assert!(started.elapsed() >= std::time::Duration::from_millis(900));
    app.stop().await;
}

/// Reached over https (behind a TLS-terminating proxy), every answer asks
/// browsers to stay on https.
#[tokio::test]
async fn hsts_when_the_public_url_is_https() {
    let app =
        TestApp::spawn_with(|c| c.server.public_url = Some("https://keys.example.com".into()))
            .await;
    let response = app.request(Method::GET, "/healthz").send().await.unwrap();
    assert_eq!(
        response.headers()["strict-transport-security"],
        "max-age=31536000; includeSubDomains"
    );
    app.stop().await;
    let plain = TestApp::spawn().await;
    let response = plain.request(Method::GET, "/healthz").send().await.unwrap();
    assert!(
        response
            .headers()
            .get("strict-transport-security")
            .is_none()
    );
    plain.stop().await;
}
