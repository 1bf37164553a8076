//! The compatibility profiles: Circularo's JavaScript example run unchanged
//! (but for its URL and credentials, and the session on its delete call)
//! with Node.js, Apinizer's curl call as printed, and with the profiles off,
//! the same calls answered as Keyward answers unknown paths and clients.

use keyward_testkit::{PASSWORD, TestApp, send};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::oauth_support::{Auth, create_app, post_form, str_of};

fn both(config: &mut keyward::config::Config) {
    config.server.compat_profiles = vec!["circularo".into(), "apinizer".into()];
}

/// Makes a token and, when `used_days_ago` is set, uses it that many days
/// before the test clock's now (its `lastUsedAt` is then written).
async fn token_used(app: &TestApp, session: &str, name: &str, used_days_ago: Option<i64>) -> Value {
    let token = app
        .create_token(
            session,
            json!({"name": name, "description": format!("{name} job"), "scopes": ["iguide.ro"]}),
        )
        .await;
    if let Some(days) = used_days_ago {
        app.advance(time::Duration::days(-days));
        assert_eq!(app.me_status(str_of(&token, "token")).await, StatusCode::OK);
        app.keyward.flush_usage().await.unwrap();
        app.advance(time::Duration::days(days));
    }
    token
}

#[tokio::test]
async fn circularos_own_script_revokes_the_unused_tokens() {
    let app = TestApp::spawn_with(both).await;
    app.user("mary.griffin@circularo.com", &["member"]).await;
    let session = app.login("mary.griffin@circularo.com").await;
    let stale = token_used(&app, &session, "stale", Some(120)).await;
    let never = token_used(&app, &session, "never", None).await;
    let busy = token_used(&app, &session, "busy", Some(0)).await;

    let output = tokio::process::Command::new("node")
        .arg(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/tests/fixtures/circularo-example.mjs"
        ))
        .env("CIRCULARO_URL", &app.base)
        .env("CIRCULARO_NAME", "mary.griffin@circularo.com")
        .env("CIRCULARO_PASSWORD", PASSWORD)
        .output()
        .await
        .expect("node runs (scripts/test installs it)");
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        output.status.success() && stderr.is_empty(),
        "{stdout}\n{stderr}"
    );
    for gone in [&stale, &never] {
        let line = format!("Revoked unused API token: {}", str_of(gone, "id"));
        assert!(stdout.contains(&line), "missing {line:?} in:\n{stdout}");
        assert_eq!(
            app.me_status(str_of(gone, "token")).await,
            StatusCode::UNAUTHORIZED
        );
    }
    assert!(!stdout.contains(str_of(&busy, "id")), "{stdout}");
    assert_eq!(app.me_status(str_of(&busy, "token")).await, StatusCode::OK);
    // The script ended its own session only.
    assert_eq!(app.me_status(&session).await, StatusCode::OK);
    app.stop().await;
}

#[tokio::test]
async fn circularo_calls_in_the_manuals_shapes() {
    let app = TestApp::spawn_with(both).await;
    app.user("mary", &["member"]).await;
    let (status, login) = send(
        app.request(Method::POST, "/api/v1/login")
            .json(&json!({"name": "mary", "password": PASSWORD, "returnToken": true})),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{login}");
    assert_eq!(login["logged"], true);
    assert_eq!(login["isUnlocked"], true);
    assert_eq!(login["tenant"], "default");
    assert_eq!(login["user"]["username"], "mary");
    assert!(
        login["rights"]
            .as_array()
            .unwrap()
            .contains(&json!("credentials.manage"))
    );
    let session = str_of(&login, "token").to_owned();
    assert!(session.starts_with("kws_"));
    // Keyward's own body still works at the same path.
    let keyward_login = app.login("mary").await;
    assert!(keyward_login.starts_with("kws_"));
    // The same answer for an unknown user and a wrong password.
    for (name, password) in [("mary", "wrong password"), ("nobody", PASSWORD)] {
        let (status, body) = send(
            app.request(Method::POST, "/api/v1/login")
                .json(&json!({"name": name, "password": password})),
        )
        .await;
        assert_eq!(status, StatusCode::UNAUTHORIZED);
        assert_eq!(body["code"], "unauthenticated");
    }
    let (status, body) = send(
        app.request(Method::POST, "/api/v1/login")
            .json(&json!({"name": "mary", "password": PASSWORD, "tenant": "x"})),
    )
    .await;
    assert_eq!(
        status,
        StatusCode::BAD_REQUEST,
        "unknown fields are named: {body}"
    );

    let active = app
        .create_token(&session, json!({"name": "active", "scopes": ["iguide.ro"]}))
        .await;
    let retired = app
        .create_token(
            &session,
            json!({"name": "retired", "description": "old job", "scopes": ["iguide.ro"]}),
        )
        .await;
    send(app.bearer(
        Method::POST,
        &format!(
            "/api/v1/integrations/tokens/{}/deactivate",
            str_of(&retired, "id")
        ),
        &session,
    ))
    .await;
    let (status, list) =
        send(app.request(Method::GET, &format!("/api/v1/api/key?token={session}"))).await;
    assert_eq!(status, StatusCode::OK, "{list}");
    let results = list["results"].as_array().unwrap();
    assert_eq!(results.len(), 2);
    assert_eq!(results[0]["id"], active["id"], "active first");
    assert_eq!(
        results[0]["description"], "active",
        "the name stands in for no description"
    );
    assert_eq!(results[1]["description"], "old job");
    for key in results {
        assert_eq!(key["apiKeyType"], "generic");
        assert!(
            key["created"].is_string() && key["lastUsed"].is_null(),
            "{key}"
        );
        assert_eq!(key.as_object().unwrap().len(), 5, "{key}");
    }
    // The session as a Bearer header works too.
    let (status, _) = send(app.bearer(Method::GET, "/api/v1/api/key", &session)).await;
    assert_eq!(status, StatusCode::OK);
    let (status, _) = send(app.request(Method::GET, "/api/v1/api/key?token=kws_wrong")).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);

    let (status, _) = send(app.request(
        Method::DELETE,
        &format!("/api/v1/api/key/{}?token={session}", str_of(&active, "id")),
    ))
    .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        app.me_status(str_of(&active, "token")).await,
        StatusCode::UNAUTHORIZED
    );
    let (status, _) =
        send(app.request(Method::GET, &format!("/api/v1/logout?token={session}"))).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        app.me_status(&session).await,
        StatusCode::UNAUTHORIZED,
        "the session ended"
    );
    app.stop().await;
}

#[tokio::test]
async fn apinizers_curl_call_gets_a_personal_access_token() {
    let app = TestApp::spawn_with(both).await;
    app.user("your_username", &["member"]).await;
    let curl = |path: &str, password: &str| {
        let body = format!(
            "grant_type=client_credentials&client_id=your_username&client_secret={password}"
        );
        let url = app.url(path);
        async move {
            let output = tokio::process::Command::new("curl")
                .args(["-s", "-X", "POST", &url])
                .args(["-H", "Content-Type: application/x-www-form-urlencoded"])
                .args(["-H", "Accept: application/json"])
                .args(["-d", &body, "-w", "\n%{http_code}"])
                .output()
                .await
                .expect("curl runs");
            let text = String::from_utf8_lossy(&output.stdout).into_owned();
            let (json, status) = text.rsplit_once('\n').unwrap();
            (
                status.parse::<u16>().unwrap(),
                serde_json::from_str::<Value>(json).unwrap(),
            )
        }
    };
    let password = url::form_urlencoded::byte_serialize(PASSWORD.as_bytes()).collect::<String>();
    for path in ["/apiops/auth/token", "/oauth/token"] {
        let (status, token) = curl(path, &password).await;
        assert_eq!(status, 200, "{token}");
        assert_eq!(token["token_type"], "Bearer");
        assert_eq!(token["expires_in"], 3600);
        assert!(token.get("refresh_token").is_none());
        let access = str_of(&token, "access_token");
        let (status, me) = send(app.bearer(Method::GET, "/api/v1/me", access)).await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(me["user"]["username"], "your_username");
        assert_eq!(me["credential"]["kind"], "access_token");
        assert!(
            me["scopes"]
                .as_array()
                .unwrap()
                .contains(&json!("credentials.manage"))
        );
    }
    let (status, bad) = curl("/apiops/auth/token", "wrong").await;
    assert_eq!(status, 401);
    assert_eq!(
        bad,
        json!({"error": "unauthorized_client", "error_description": "Bad credentials"})
    );

    // Narrowed by scope; never beyond the user's own rights.
    let r = post_form(
        &app,
        "/oauth/token",
        Auth::None,
        &[
            ("grant_type", "client_credentials"),
            ("client_id", "your_username"),
            ("client_secret", PASSWORD),
            ("scope", "iguide.ro"),
        ],
    )
    .await;
    assert_eq!(r.json()["scope"], "iguide.ro");
    let (_, me) =
        send(app.bearer(Method::GET, "/api/v1/me", str_of(&r.json(), "access_token"))).await;
    assert_eq!(me["scopes"], json!(["iguide.ro"]));
    let r = post_form(
        &app,
        "/oauth/token",
        Auth::None,
        &[
            ("grant_type", "client_credentials"),
            ("client_id", "your_username"),
            ("client_secret", PASSWORD),
            ("scope", "admin.users"),
        ],
    )
    .await;
    r.assert_oauth_error(StatusCode::BAD_REQUEST, "invalid_scope");

    // A registered app's id keeps its usual meaning.
    let session = app.login("your_username").await;
    let client = create_app(
        &app,
        &session,
        json!({"clientName": "c", "redirectUris": ["https://c.example/cb"], "scope": ["iguide.ro"]}),
    )
    .await;
    let r = post_form(
        &app,
        "/oauth/token",
        Auth::Basic(&client),
        &[("grant_type", "client_credentials")],
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    app.stop().await;
}

/// Throttled like a sign-in: parallel wrong passwords get through at most
/// the per-user limit.
#[tokio::test]
async fn apinizer_password_guesses_are_throttled_like_logins() {
    let app = TestApp::spawn_with(both).await;
    app.user("guessed", &["member"]).await;
    let mut guesses = tokio::task::JoinSet::new();
    for i in 0..20 {
        let request = crate::oauth_support::form_request(
            &app,
            "/apiops/auth/token",
            Auth::None,
            &[
                ("grant_type", "client_credentials"),
                ("client_id", "guessed"),
                ("client_secret", &format!("guess {i}")),
            ],
        );
        guesses.spawn(crate::oauth_support::reply(request));
    }
    let results = guesses.join_all().await;
    let checked = results
        .iter()
        .filter(|r| r.status == StatusCode::UNAUTHORIZED)
        .count();
    assert!(checked <= 5, "{checked}");
    assert!(
        results
            .iter()
            .all(|r| matches!(r.status.as_u16(), 401 | 429))
    );
    // The sign-in API shares the budget.
    let (status, _) = send(
        app.request(Method::POST, "/api/v1/login")
            .json(&json!({"username": "guessed", "password": PASSWORD})),
    )
    .await;
    assert_eq!(status, StatusCode::TOO_MANY_REQUESTS);
    app.stop().await;
}

/// With no profile on, none of it exists.
#[tokio::test]
async fn with_the_profiles_off_the_calls_are_unknown() {
    let app = TestApp::spawn().await;
    app.user("plain", &["member"]).await;
    let session = app.login("plain").await;
    for (method, path) in [
        (Method::GET, format!("/api/v1/api/key?token={session}")),
        (
            Method::DELETE,
            format!("/api/v1/api/key/{}?token={session}", uuid::Uuid::new_v4()),
        ),
        (Method::POST, "/apiops/auth/token".to_owned()),
    ] {
        let (status, body) = send(app.request(method.clone(), &path)).await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{method} {path}: {body}");
    }
    let (status, _) =
        send(app.request(Method::GET, &format!("/api/v1/logout?token={session}"))).await;
    assert_eq!(
        status,
        StatusCode::METHOD_NOT_ALLOWED,
        "only Keyward's POST /logout"
    );
    assert_eq!(app.me_status(&session).await, StatusCode::OK);
    let (status, body) = send(
        app.request(Method::POST, "/api/v1/login")
            .json(&json!({"name": "plain", "password": PASSWORD, "returnToken": true})),
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    let r = post_form(
        &app,
        "/oauth/token",
        Auth::None,
        &[
            ("grant_type", "client_credentials"),
            ("client_id", "plain"),
            ("client_secret", PASSWORD),
        ],
    )
    .await;
    r.assert_oauth_error(StatusCode::UNAUTHORIZED, "invalid_client");
    // And the document does not mention them.
    let (_, doc) = send(app.request(Method::GET, "/openapi.json")).await;
    let paths = doc["paths"].as_object().unwrap();
    assert!(!paths.contains_key("/api/v1/api/key") && !paths.contains_key("/apiops/auth/token"));
    app.stop().await;

    let on = TestApp::spawn_with(both).await;
    let (_, doc) = send(on.request(Method::GET, "/openapi.json")).await;
    let paths = doc["paths"].as_object().unwrap();
    for path in [
        "/api/v1/api/key",
        "/api/v1/api/key/{id}",
        "/apiops/auth/token",
    ] {
        assert!(
            paths.contains_key(path),
            "{path} is documented when enabled"
        );
    }
    assert!(doc["paths"]["/api/v1/logout"]["get"].is_object());
    on.stop().await;
}
