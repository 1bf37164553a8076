//! RFC 6749 §2.3, client authentication: checklist items C1–C7.
//!
//! Every Keyward app is a confidential client with a secret (`kwc_…`);
//! there are no public clients. Where an item speaks of a public client, the
//! test sends what a public client would (no secret, at most a `client_id`)
//! and expects `invalid_client` (401): such a request is never treated as
//! authenticated.

use std::process::{Command, Stdio};
use std::time::{Duration as StdDuration, Instant};

use reqwest::StatusCode;

use crate::oauth_support::*;

#[tokio::test]
async fn c1_basic_is_accepted_at_token_revocation_and_introspection() {
    let (app, _, client) = app_with_client("c1").await;
    let r = post_form(
        &app,
        "/oauth/token",
        Auth::Basic(&client),
        &[("grant_type", "client_credentials")],
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    let access = str_of(&r.json(), "access_token").to_owned();
    let r = post_form(
        &app,
        "/oauth/introspect",
        Auth::Basic(&client),
        &[("token", &access)],
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(r.json()["active"], true);
    let r = post_form(
        &app,
        "/oauth/revoke",
        Auth::Basic(&client),
        &[("token", &access)],
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert!(
        !active(&app, &client, &access).await,
        "the Basic revocation took effect"
    );
    app.stop().await;
}

#[tokio::test]
async fn c2_basic_credentials_are_form_urlencoded() {
    let (app, _, client) = app_with_client("c2").await;
    // Keyward secrets are base62, so none contains `:`, `+` or `%`; what can
    // be shown is that the server form-decodes both parts before comparing:
    // every byte percent-encoded still authenticates...
    let pct = |s: &str| s.bytes().map(|b| format!("%{b:02X}")).collect::<String>();
    let r = post_form(
        &app,
        "/oauth/token",
        Auth::Header(&basic_header(&pct(&client.id), &pct(&client.secret))),
        &[("grant_type", "client_credentials")],
    )
    .await;
    assert_eq!(
        r.status,
        StatusCode::OK,
        "percent-encoded Basic credentials: {}",
        r.text
    );
    // Form encoding leaves base62 and `-` alone, so the plain form is the
    // same credentials and works too.
    let r = post_form(
        &app,
        "/oauth/token",
        Auth::Header(&basic_header(&client.id, &client.secret)),
        &[("grant_type", "client_credentials")],
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    // Decoding happens once: a doubly encoded secret is not the secret.
    let r = post_form(
        &app,
        "/oauth/token",
        Auth::Header(&basic_header(&client.id, &urlencode(&pct(&client.secret)))),
        &[("grant_type", "client_credentials")],
    )
    .await;
    r.assert_oauth_error(StatusCode::UNAUTHORIZED, "invalid_client");
    app.stop().await;
}

#[tokio::test]
async fn c3_client_credentials_in_the_query_are_rejected() {
    let (app, _, client) = app_with_client("c3").await;
    let access = str_of(&client_credentials(&app, &client).await, "access_token").to_owned();
    let query = encode(&[("client_id", &client.id), ("client_secret", &client.secret)]);
    let secret_only = encode(&[("client_secret", &client.secret)]);
    for path in ["/oauth/token", "/oauth/introspect", "/oauth/revoke"] {
        for q in [&query, &secret_only] {
            let r = post_form(
                &app,
                &format!("{path}?{q}"),
                Auth::None,
                &[("grant_type", "client_credentials"), ("token", &access)],
            )
            .await;
            assert!(
                matches!(r.status, StatusCode::BAD_REQUEST | StatusCode::UNAUTHORIZED),
                "{path}?{q}: {} {}",
                r.status,
                r.text
            );
            let error = r.json()["error"].as_str().unwrap_or_default().to_owned();
            assert!(
                error == "invalid_request" || error == "invalid_client",
                "{path}: {}",
                r.text
            );
            assert!(r.json().get("access_token").is_none());
        }
        // Even alongside valid Basic credentials, a secret in the query is refused.
        let r = post_form(
            &app,
            &format!("{path}?{secret_only}"),
            Auth::Basic(&client),
            &[("grant_type", "client_credentials"), ("token", &access)],
        )
        .await;
        r.assert_oauth_error(StatusCode::BAD_REQUEST, "invalid_request");
    }
    assert!(
        active(&app, &client, &access).await,
        "the query revocation did nothing"
    );
    app.stop().await;
}

#[tokio::test]
async fn c4_basic_and_body_secret_together_are_invalid_request() {
    let (app, _, client) = app_with_client("c4").await;
    let access = str_of(&client_credentials(&app, &client).await, "access_token").to_owned();
    for path in ["/oauth/token", "/oauth/introspect", "/oauth/revoke"] {
        let r = post_form(
            &app,
            path,
            Auth::Basic(&client),
            &[
                ("grant_type", "client_credentials"),
                ("token", &access),
                ("client_id", &client.id),
                ("client_secret", &client.secret),
            ],
        )
        .await;
        r.assert_oauth_error(StatusCode::BAD_REQUEST, "invalid_request");
    }
    assert!(active(&app, &client, &access).await);
    app.stop().await;
}

#[tokio::test]
async fn c5_failed_client_authentication_is_throttled() {
    let (app, _, client) = app_with_client("c5").await;
    let wrong = Client {
        id: client.id.clone(),
        secret: format!("{}x", client.secret),
    };
    // The default limit is 10 failures per client within the login window.
    for i in 0..10 {
        let r = token(&app, &wrong, &[("grant_type", "client_credentials")]).await;
        assert_eq!(
            r.status,
            StatusCode::UNAUTHORIZED,
            "attempt {i}: {}",
            r.text
        );
    }
    let r = token(&app, &wrong, &[("grant_type", "client_credentials")]).await;
    assert_eq!(r.status, StatusCode::TOO_MANY_REQUESTS, "{}", r.text);
    assert!(r.header("retry-after").is_some(), "429 says when to retry");
    // While throttled even the right secret is refused (no oracle), at every
    // endpoint that takes client passwords.
    let r = token(&app, &client, &[("grant_type", "client_credentials")]).await;
    assert_eq!(r.status, StatusCode::TOO_MANY_REQUESTS, "{}", r.text);
    let r = post_form(
        &app,
        "/oauth/introspect",
        Auth::Post(&client),
        &[("token", "x")],
    )
    .await;
    assert_eq!(r.status, StatusCode::TOO_MANY_REQUESTS, "{}", r.text);
    // After the window the client works again.
    app.advance(time::Duration::minutes(16));
    let r = token(&app, &client, &[("grant_type", "client_credentials")]).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    app.stop().await;
}

#[tokio::test]
async fn c6_a_client_without_a_secret_is_never_authenticated() {
    // There are no public clients: a request that presents only a client_id
    // (what a public client would send) or nothing is `invalid_client`, so
    // client_credentials cannot be had without a secret.
    let (app, _, client) = app_with_client("c6").await;
    for pairs in [
        vec![
            ("grant_type", "client_credentials"),
            ("client_id", client.id.as_str()),
        ],
        vec![("grant_type", "client_credentials")],
        vec![
            ("grant_type", "client_credentials"),
            ("client_id", client.id.as_str()),
            ("client_secret", ""),
        ],
    ] {
        let r = post_form(&app, "/oauth/token", Auth::None, &pairs).await;
        r.assert_oauth_error(StatusCode::UNAUTHORIZED, "invalid_client");
    }
    // An empty password in Basic is no secret either.
    let r = post_form(
        &app,
        "/oauth/token",
        Auth::Header(&basic_header(&client.id, "")),
        &[("grant_type", "client_credentials")],
    )
    .await;
    r.assert_oauth_error(StatusCode::UNAUTHORIZED, "invalid_client");
    app.stop().await;
}

#[tokio::test]
async fn c7_an_http_issuer_is_refused_unless_explicitly_allowed() {
    let dir = tempfile::tempdir().unwrap();
    let check = |url: &str, allow: bool| {
        let mut command = keyward(dir.path());
        command
            .args(["config", "check"])
            .env("KEYWARD_PUBLIC_URL", url);
        if allow {
            command.env("KEYWARD_ALLOW_INSECURE_PUBLIC_URL", "true");
        }
        let out = command.output().expect("binary runs");
        (
            out.status.success(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    };
    let (ok, err) = check("http://keys.example.com", false);
    assert!(!ok, "an http public_url must be refused");
    assert!(err.contains("public_url") && err.contains("https"), "{err}");
    for (url, allow) in [
        ("https://keys.example.com", false),
        ("http://127.0.0.1:8080", false),
        ("http://keys.example.com", true),
    ] {
        let (ok, err) = check(url, allow);
        assert!(ok, "{url} (allow_insecure={allow}): {err}");
    }

    // `serve` refuses to start at all (and so never listens).
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let mut serve = keyward(dir.path());
    serve
        .arg("serve")
        .env("KEYWARD_PUBLIC_URL", "http://keys.example.com")
        .env("KEYWARD_LISTEN", format!("127.0.0.1:{port}"))
        .stdout(Stdio::null())
        .stderr(Stdio::piped());
    let mut child = serve.spawn().expect("binary starts");
    let start = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break Some(status);
        }
        if start.elapsed() > StdDuration::from_secs(20) {
            let _ = child.kill();
            let _ = child.wait();
            break None;
        }
        std::thread::sleep(StdDuration::from_millis(50));
    };
    let status = status.expect("serve with an http public_url must exit, not run");
    assert!(!status.success(), "serve must fail");
}

/// The binary, in `dir`, on a SQLite file there with a fixed key.
fn keyward(dir: &std::path::Path) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_keyward"));
    command
        .current_dir(dir)
        .env_remove("KEYWARD_CONFIG")
        .env_remove("KEYWARD_DATABASE_URL")
        .env_remove("KEYWARD_ALLOW_INSECURE_PUBLIC_URL")
        .env("KEYWARD_SECRET_KEY", "ef".repeat(32))
        .env("RUST_LOG", "warn");
    command
}

/// `Basic base64(id:secret)` with the parts exactly as given (no encoding).
pub fn basic_header(id: &str, secret: &str) -> String {
    basic_raw(&format!("{id}:{secret}"))
}

/// `Basic base64(raw)`.
pub fn basic_raw(raw: &str) -> String {
    format!("Basic {}", base64(raw.as_bytes()))
}

fn base64(bytes: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::new();
    for chunk in bytes.chunks(3) {
        let n = chunk
            .iter()
            .enumerate()
            .fold(0u32, |n, (i, b)| n | u32::from(*b) << (16 - 8 * i));
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(ALPHABET[(n >> (18 - 6 * i) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}
