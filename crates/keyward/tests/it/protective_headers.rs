//! Protective headers on every answer (issue 14 item 6), not only on a happy
//! `/healthz`: JSON and HTML, successes and every kind of refusal the HTTP
//! layer or a handler produces, each with nosniff, a referrer policy that
//! sends nothing to other sites (`no-referrer`; pages `same-origin`), no framing,
//! a CSP (a strict one on the HTML pages) and, for an https deployment, HSTS.

use keyward_testkit::TestApp;
use reqwest::{Method, StatusCode};

#[tokio::test]
async fn every_kind_of_answer_carries_the_protective_headers() {
    let app =
        TestApp::spawn_with(|c| c.server.public_url = Some("https://keys.example.com".into()))
            .await;
    let session = app.session("headers", &["member"]).await;
    let nil = uuid::Uuid::nil();
    let cases: Vec<(&str, reqwest::RequestBuilder, StatusCode)> = vec![
        (
            "health",
            app.request(Method::GET, "/healthz"),
            StatusCode::OK,
        ),
        (
            "document",
            app.request(Method::GET, "/openapi.json"),
            StatusCode::OK,
        ),
        (
            "metadata",
            app.request(Method::GET, "/.well-known/oauth-authorization-server"),
            StatusCode::OK,
        ),
        (
            "me",
            app.bearer(Method::GET, "/api/v1/me", &session),
            StatusCode::OK,
        ),
        (
            "no credential",
            app.request(Method::GET, "/api/v1/me"),
            StatusCode::UNAUTHORIZED,
        ),
        (
            "lacking a scope",
            app.bearer(Method::GET, "/metrics", &session),
            StatusCode::FORBIDDEN,
        ),
        (
            "malformed id",
            app.bearer(Method::GET, "/api/v1/integrations/tokens/x", &session),
            StatusCode::BAD_REQUEST,
        ),
        (
            "no such token",
            app.bearer(
                Method::GET,
                &format!("/api/v1/integrations/tokens/{nil}"),
                &session,
            ),
            StatusCode::NOT_FOUND,
        ),
        (
            "no such endpoint",
            app.request(Method::GET, "/nothing-here"),
            StatusCode::NOT_FOUND,
        ),
        (
            "wrong method",
            app.request(Method::PUT, "/healthz"),
            StatusCode::METHOD_NOT_ALLOWED,
        ),
        (
            "oversized body",
            app.request(Method::POST, "/api/v1/login")
                .header("content-type", "application/json")
                .body("x".repeat(app.config.server.max_body_bytes + 1)),
            StatusCode::PAYLOAD_TOO_LARGE,
        ),
        (
            "oversized headers",
            app.request(Method::GET, "/healthz")
                .header("x-padding", "a".repeat(17 * 1024)),
            StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE,
        ),
        (
            "oauth error (no client)",
            app.request(Method::POST, "/oauth/token")
                .header("content-type", "application/x-www-form-urlencoded")
                .body("grant_type=password"),
            StatusCode::UNAUTHORIZED,
        ),
        (
            "sign-in page",
            app.request(Method::GET, "/oauth/login"),
            StatusCode::OK,
        ),
        (
            "error page",
            app.request(
                Method::GET,
                &format!("/oauth/authorize?response_type=code&client_id={nil}"),
            ),
            StatusCode::BAD_REQUEST,
        ),
    ];
    for (what, request, want) in cases {
        let response = request.send().await.unwrap();
        assert_eq!(response.status(), want, "{what}");
        let h = response.headers().clone();
        let header = |name: &str| {
            h.get(name)
                .and_then(|v| v.to_str().ok())
                .unwrap_or_else(|| panic!("{what}: no {name}"))
                .to_owned()
        };
        assert_eq!(header("x-content-type-options"), "nosniff", "{what}");
        // Pages send `same-origin` (nothing to other sites): under
        // `no-referrer` browsers send `Origin: null` on a form post, and the
        // portal's origin check could not tell its own forms from others'.
        let html = header("content-type").starts_with("text/html");
        let policy = if html { "same-origin" } else { "no-referrer" };
        assert_eq!(header("referrer-policy"), policy, "{what}");
        assert_eq!(header("x-frame-options"), "DENY", "{what}");
        assert_eq!(
            header("strict-transport-security"),
            "max-age=31536000; includeSubDomains",
            "{what}"
        );
        let csp = header("content-security-policy");
        let directives: Vec<&str> = csp.split(';').map(str::trim).collect();
        assert!(
            directives.contains(&"frame-ancestors 'none'"),
            "{what}: {csp}"
        );
        assert!(directives.contains(&"default-src 'none'"), "{what}: {csp}");
        if header("content-type").starts_with("text/html") {
            // A strict page policy: only this server's own script files
            // may run (no inline script or style, no eval), nothing is loaded
            // from elsewhere but images, and the base URL cannot be moved.
            assert!(directives.contains(&"base-uri 'none'"), "{what}: {csp}");
            for kind in ["script-src", "style-src"] {
                assert!(
                    directives
                        .iter()
                        .filter(|d| d.starts_with(kind))
                        .all(|d| *d == format!("{kind} 'self'")),
                    "{what}: {csp} lets other {kind} run"
                );
            }
            assert!(!csp.contains("unsafe-"), "{what}: {csp}");
            assert!(!csp.split([' ', ';']).any(|w| w == "*"), "{what}: {csp}");
            assert!(
                h.get("cache-control")
                    .is_some_and(|v| v.to_str().unwrap().contains("no-store")),
                "{what}"
            );
        } else {
            assert_eq!(csp, "default-src 'none'; frame-ancestors 'none'", "{what}");
        }
    }
    app.stop().await;
}
