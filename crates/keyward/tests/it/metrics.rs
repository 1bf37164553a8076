//! `GET /metrics` (Prometheus): requests by route template, latency
//! histograms, verification outcomes, cache and write-behind figures, and no
//! secret or raw path in any label.

use keyward_testkit::{PASSWORD, TestApp, assert_error, send};
use reqwest::{Method, StatusCode, header};
use serde_json::json;

use crate::verify::{verifier, verify};

/// The value of the sample `name` whose labels include every one of
/// `labels` (`key="value"` pairs), if there is one.
fn sample(text: &str, name: &str, labels: &[&str]) -> Option<f64> {
    text.lines()
        .filter(|line| !line.starts_with('#'))
        .filter(|line| {
            line.strip_prefix(name)
                .is_some_and(|rest| rest.starts_with('{') || rest.starts_with(' '))
        })
        .find(|line| labels.iter().all(|l| line.contains(l)))
        .and_then(|line| line.rsplit(' ').next()?.parse().ok())
}

/// A session of a new admin (who holds `metrics.read`), made through the
/// services so that the HTTP figures are only the test's own. (A session, as
/// its use is not written behind like a token's.)
async fn scraper(app: &TestApp) -> String {
    let name = format!("scraper-{}", uuid::Uuid::new_v4());
    app.user(&name, &["admin"]).await;
    let outcome = app
        .keyward
        .login(
            &keyward_core::service::Actor::system(),
            &name,
            PASSWORD.into(),
        )
        .await
        .expect("the scraper signs in");
    outcome.secret.expose().to_owned()
}

async fn scrape(app: &TestApp) -> String {
    let secret = scraper(app).await;
    let response = app
        .bearer(Method::GET, "/metrics", &secret)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let kind = response.headers()[header::CONTENT_TYPE].to_str().unwrap();
    assert!(kind.starts_with("text/plain"), "{kind}");
    response.text().await.unwrap()
}

#[tokio::test]
async fn requests_verifications_and_the_cache_are_counted() {
    let app = TestApp::spawn().await;
    let caller = verifier(&app).await;
    let session = app.login("resource-server").await;
    for _ in 0..3 {
        let (_, body) = verify(&app, &caller, json!({"token": session})).await;
        assert_eq!(body["valid"], true);
    }
    let (_, body) = verify(&app, &caller, json!({"token": "kwp_nothing"})).await;
    assert_eq!(body["reason"], "not_found");
    let id = uuid::Uuid::new_v4().to_string();
    let (status, _) = send(app.bearer(
        Method::GET,
        &format!("/api/v1/integrations/tokens/{id}"),
        &session,
    ))
    .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, _) = send(app.request(Method::GET, "/no/such/kwp_path")).await;
    assert_eq!(status, StatusCode::NOT_FOUND);

    let text = scrape(&app).await;
    let post_verify = [r#"method="POST""#, r#"route="/api/v1/verify""#];
    assert_eq!(
        sample(
            &text,
            "keyward_http_requests_total",
            &[post_verify[0], post_verify[1], r#"status="200""#]
        ),
        Some(4.0),
        "{text}"
    );
    assert_eq!(
        sample(
            &text,
            "keyward_http_request_duration_seconds_count",
            &post_verify
        ),
        Some(4.0),
        "{text}"
    );
    assert!(
        sample(
            &text,
            "keyward_http_request_duration_seconds_bucket",
            &[post_verify[1], r#"le="+Inf""#]
        )
        .is_some(),
        "a histogram, not a summary: {text}"
    );
    // The route template, never the raw path.
    assert_eq!(
        sample(
            &text,
            "keyward_http_requests_total",
            &[
                r#"route="/api/v1/integrations/tokens/{id}""#,
                r#"status="404""#
            ]
        ),
        Some(1.0),
        "{text}"
    );
    assert_eq!(
        sample(
            &text,
            "keyward_http_requests_total",
            &[r#"route="<unmatched>""#, r#"status="404""#]
        ),
        Some(1.0),
        "{text}"
    );
    for leak in [id.as_str(), "/no/such", "kwp_", "kws_", session.as_str()] {
        assert!(!text.contains(leak), "{leak} in the metrics:\n{text}");
    }

    assert_eq!(
        sample(&text, "keyward_verify_total", &[r#"outcome="valid""#]),
        Some(3.0)
    );
    assert_eq!(
        sample(&text, "keyward_verify_total", &[r#"outcome="not_found""#]),
        Some(1.0)
    );
    // The session's answer was cached after the first check.
    let hits = sample(&text, "keyward_cache_hits_total", &[]).unwrap();
    let misses = sample(&text, "keyward_cache_misses_total", &[]).unwrap();
    assert!(hits >= 2.0 && misses >= 1.0, "{hits} hits, {misses} misses");
    assert!(sample(&text, "keyward_cache_entries", &[]).unwrap() >= 1.0);
    // The verifier's own token, used and not yet written.
    assert!(sample(&text, "keyward_usage_pending", &[]).unwrap() >= 1.0);
    app.keyward.flush_usage().await.unwrap();
    let text = scrape(&app).await;
    assert_eq!(sample(&text, "keyward_usage_pending", &[]), Some(0.0));
    app.stop().await;
}

#[tokio::test]
async fn each_server_keeps_its_own_figures() {
    let a = TestApp::spawn().await;
    let b = TestApp::spawn().await;
    for _ in 0..2 {
        send(a.request(Method::GET, "/healthz")).await;
    }
    let healthz = [r#"route="/healthz""#, r#"status="200""#];
    let text = scrape(&a).await;
    assert_eq!(
        sample(&text, "keyward_http_requests_total", &healthz),
        Some(2.0)
    );
    let text = scrape(&b).await;
    assert_eq!(sample(&text, "keyward_http_requests_total", &healthz), None);
    a.stop().await;
    b.stop().await;
}

/// Item 9 of the security audit: the figures are not public. A Prometheus
/// scrape carries a bearer credential with the admin-only `metrics.read`
/// scope; anything less is refused, unless the deployment opens them.
#[tokio::test]
async fn metrics_need_the_metrics_read_scope_unless_public() {
    let app = TestApp::spawn().await;
    let (status, body) = send(app.request(Method::GET, "/metrics")).await;
    assert_error(
        status,
        &body,
        StatusCode::UNAUTHORIZED,
        "unauthenticated",
        "",
    );
    let member = app.session("metrics-member", &["member"]).await;
    let (status, body) = send(app.bearer(Method::GET, "/metrics", &member)).await;
    assert_error(
        status,
        &body,
        StatusCode::FORBIDDEN,
        "permission_denied",
        "metrics.read",
    );
    // A member may not hold the scope at all.
    let (status, body) = send(
        app.bearer(Method::POST, "/api/v1/integrations/tokens", &member)
            .json(&json!({"name": "prometheus", "scopes": ["metrics.read"]})),
    )
    .await;
    assert_error(
        status,
        &body,
        StatusCode::BAD_REQUEST,
        "invalid_argument",
        "scopes",
    );
    // An admin's token with only metrics.read scrapes.
    let admin = app.session("metrics-admin", &["admin"]).await;
    let token = app
        .create_token(
            &admin,
            json!({"name": "prometheus", "scopes": ["metrics.read"]}),
        )
        .await;
    let response = app
        .bearer(Method::GET, "/metrics", token["token"].as_str().unwrap())
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert!(
        response
            .text()
            .await
            .unwrap()
            .contains("keyward_http_requests_total")
    );
    app.stop().await;

    let open = TestApp::spawn_with(|c| c.server.metrics_public = true).await;
    let response = open.request(Method::GET, "/metrics").send().await.unwrap();
    assert_eq!(
        response.status(),
        StatusCode::OK,
        "metrics_public serves anyone"
    );
    open.stop().await;
}
