//! OAuth apps over the API (SPEC §4 "OAuth apps", iGUIDE): the secret shown
//! once, validation naming the field, PATCH without the secret, rotation
//! with no grace, deletion killing every token, limits, ownership; and the
//! iGUIDE manual's complete script, run unchanged.

use keyward_testkit::{TestApp, assert_error, send};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

const APPS: &str = "/api/v1/integrations/apps";

fn new_app() -> Value {
    json!({
        "clientName": "My Web Application",
        "description": "OAuth app for web application",
        "redirectUris": ["https://myapp.example/oauth/callback"],
        "logoUri": "https://myapp.example/logo.png",
        "scope": ["iguide.list", "iguide.ro"]
    })
}

async fn create(app: &TestApp, secret: &str, body: Value) -> Value {
    let (status, created) = send(app.bearer(Method::POST, APPS, secret).json(&body)).await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    created
}

async fn client_credentials(app: &TestApp, id: &str, secret: &str) -> (StatusCode, Value) {
    send(
        app.request(Method::POST, "/oauth/token")
            .basic_auth(id, Some(secret))
            .form(&[("grant_type", "client_credentials")]),
    )
    .await
}

#[tokio::test]
async fn create_shows_the_secret_once_and_reads_never_do() {
    let app = TestApp::spawn().await;
    let session = app.session("appowner", &["member"]).await;
    let response = app
        .bearer(Method::POST, APPS, &session)
        .json(&new_app())
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::CREATED);
    assert_eq!(response.headers()["cache-control"], "no-store");
    let created: Value = response.json().await.unwrap();
    let secret = created["clientSecret"].as_str().unwrap();
    assert!(secret.starts_with("kwc_") && secret.len() == 40);
    assert_eq!(created["clientSecretHint"], format!("...{}", &secret[36..]));
    assert_eq!(created["scope"], json!(["iguide.list", "iguide.ro"]));
    assert_eq!(
        created["grantTypes"],
        json!(["authorization_code", "refresh_token", "client_credentials"])
    );
    for key in [
        "clientId",
        "clientName",
        "description",
        "redirectUris",
        "logoUri",
        "clientIdIssuedAt",
        "updatedAt",
    ] {
        assert!(created.get(key).is_some(), "missing {key}");
    }
    let id = created["clientId"].as_str().unwrap();
    let (_, list) = send(app.bearer(Method::GET, APPS, &session)).await;
    let (_, one) = send(app.bearer(Method::GET, &format!("{APPS}/{id}"), &session)).await;
    for shown in [&list[0], &one] {
        assert!(shown.get("clientSecret").is_none(), "{shown}");
        assert!(!shown.to_string().contains(&secret[4..]));
        assert_eq!(shown["clientSecretHint"], created["clientSecretHint"]);
    }
    app.stop().await;
}

#[tokio::test]
async fn bad_apps_are_invalid_arguments_naming_the_field() {
    let app = TestApp::spawn().await;
    let session = app.session("strictapps", &["member"]).await;
    let with = |key: &str, value: Value| {
        let mut body = new_app();
        body[key] = value;
        body
    };
    let cases = [
        (with("clientName", json!("")), "clientName"),
        (with("clientName", json!("n".repeat(101))), "clientName"),
        (with("redirectUris", json!([])), "redirectUris"),
        (
            with("redirectUris", json!(["http://myapp.example/cb"])),
            "redirectUris[0]",
        ),
        (
            with("redirectUris", json!(["https://myapp.example/cb#x"])),
            "redirectUris[0]",
        ),
        (
            with("redirectUris", json!(["/relative"])),
            "redirectUris[0]",
        ),
        (with("logoUri", json!("not a url")), "logoUri"),
        (with("scope", json!(["iguide.nope"])), "scope"),
        (with("scope", json!(["admin.users"])), "scope"),
        (with("scope", json!("iguide.list")), "scope"),
        (with("grantTypes", json!(["password"])), "grantTypes"),
        (with("grantTypes", json!(["implicit"])), "grantTypes"),
        (with("clientId", json!("chosen-by-me")), "clientId"),
    ];
    for (body, field) in cases {
        let (status, err) = send(app.bearer(Method::POST, APPS, &session).json(&body)).await;
        assert_error(
            status,
            &err,
            StatusCode::BAD_REQUEST,
            "invalid_argument",
            field,
        );
    }
    // Loopback http is fine for native apps.
    create(
        &app,
        &session,
        with("redirectUris", json!(["http://127.0.0.1:8765/cb"])),
    )
    .await;
    app.stop().await;
}

#[tokio::test]
async fn patch_changes_anything_but_the_secret_and_put_is_not_allowed() {
    let app = TestApp::spawn().await;
    let session = app.session("patchapps", &["member"]).await;
    let created = create(&app, &session, new_app()).await;
    let path = format!("{APPS}/{}", created["clientId"].as_str().unwrap());
    let (status, patched) = send(
        app.bearer(Method::PATCH, &path, &session)
            .json(&json!({"clientName": "My Updated Application", "scope": ["iguide.list", "iguide.ro", "iguide.rw"], "logoUri": null})),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{patched}");
    assert_eq!(patched["clientName"], "My Updated Application");
    assert_eq!(
        patched["scope"],
        json!(["iguide.list", "iguide.ro", "iguide.rw"])
    );
    assert_eq!(patched["logoUri"], Value::Null);
    assert_eq!(patched["description"], "OAuth app for web application");
    assert_eq!(patched["clientSecretHint"], created["clientSecretHint"]);
    assert!(patched.get("clientSecret").is_none());

    let (status, err) = send(
        app.bearer(Method::PATCH, &path, &session)
            .json(&json!({"clientSecret": "kwc_mine"})),
    )
    .await;
    assert_error(
        status,
        &err,
        StatusCode::BAD_REQUEST,
        "invalid_argument",
        "clientSecret",
    );
    let (status, err) = send(app.bearer(Method::PUT, &path, &session).json(&new_app())).await;
    assert_error(
        status,
        &err,
        StatusCode::METHOD_NOT_ALLOWED,
        "invalid_argument",
        "method",
    );
    let (status, err) = send(
        app.bearer(Method::PATCH, &path, &session)
            .json(&json!({"redirectUris": ["ftp://x.example/"]})),
    )
    .await;
    assert_error(
        status,
        &err,
        StatusCode::BAD_REQUEST,
        "invalid_argument",
        "redirectUris[0]",
    );
    // The secret still works after all that.
    let (status, _) = client_credentials(
        &app,
        created["clientId"].as_str().unwrap(),
        created["clientSecret"].as_str().unwrap(),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    app.stop().await;
}

#[tokio::test]
async fn rotation_ends_the_old_secret_at_once() {
    let app = TestApp::spawn().await;
    let session = app.session("rotapps", &["member"]).await;
    let created = create(&app, &session, new_app()).await;
    let id = created["clientId"].as_str().unwrap();
    let (status, rotated) =
        send(app.bearer(Method::POST, &format!("{APPS}/{id}/rotate"), &session)).await;
    assert_eq!(status, StatusCode::OK);
    let new_secret = rotated["clientSecret"].as_str().unwrap();
    assert_ne!(new_secret, created["clientSecret"].as_str().unwrap());
    assert_eq!(
        rotated["clientSecretHint"],
        format!("...{}", &new_secret[36..])
    );
    let (status, err) =
        client_credentials(&app, id, created["clientSecret"].as_str().unwrap()).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(err["error"], "invalid_client");
    let (status, _) = client_credentials(&app, id, new_secret).await;
    assert_eq!(status, StatusCode::OK);
    app.stop().await;
}

#[tokio::test]
async fn deleting_an_app_kills_every_token_it_was_issued() {
    let app = TestApp::spawn().await;
    let session = app.session("delapps", &["member"]).await;
    let created = create(&app, &session, new_app()).await;
    let id = created["clientId"].as_str().unwrap();
    let (_, issued) = client_credentials(&app, id, created["clientSecret"].as_str().unwrap()).await;
    let access = issued["access_token"].as_str().unwrap();
    // Served from the cache before the deletion...
    assert_eq!(app.me_status(access).await, StatusCode::OK);
    assert_eq!(app.me_status(access).await, StatusCode::OK);
    let (status, ok) = send(app.bearer(Method::DELETE, &format!("{APPS}/{id}"), &session)).await;
    assert_eq!((status, ok), (StatusCode::OK, json!({"ok": true})));
    // ...and refused at once after it.
    assert_eq!(app.me_status(access).await, StatusCode::UNAUTHORIZED);
    let (status, _) = send(app.bearer(Method::GET, &format!("{APPS}/{id}"), &session)).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, _) = client_credentials(&app, id, created["clientSecret"].as_str().unwrap()).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    app.stop().await;
}

#[tokio::test]
async fn apps_are_private_to_their_owner_and_limited() {
    let app = TestApp::spawn_with(|c| c.credentials.max_apps_per_user = 2).await;
    let alice = app.session("appalice", &["member"]).await;
    let bob = app.session("appbob", &["member"]).await;
    let created = create(&app, &alice, new_app()).await;
    let path = format!("{APPS}/{}", created["clientId"].as_str().unwrap());
    for (method, path) in [
        (Method::GET, path.clone()),
        (Method::PATCH, path.clone()),
        (Method::DELETE, path.clone()),
        (Method::POST, format!("{path}/rotate")),
    ] {
        let (status, err) = send(
            app.bearer(method, &path, &bob)
                .json(&json!({"clientName": "mine"})),
        )
        .await;
        assert_error(status, &err, StatusCode::NOT_FOUND, "not_found", "app");
    }
    let (_, list) = send(app.bearer(Method::GET, APPS, &bob)).await;
    assert_eq!(list, json!([]));
    create(&app, &alice, new_app()).await;
    let (status, err) = send(app.bearer(Method::POST, APPS, &alice).json(&new_app())).await;
    assert_eq!(status, StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(err["code"], "resource_exhausted");
    app.stop().await;
}

#[tokio::test]
async fn the_iguide_complete_script_runs_unchanged() {
    let app = TestApp::spawn_with(|c| {
        c.server.app_id_header = "X-Plntr-App-Id".into();
        c.server.app_token_header = "X-Plntr-App-Token".into();
    })
    .await;
    let session = app.session("iguide", &["member"]).await;
    let bootstrap = app
        .create_token(&session, json!({"name": "bootstrap", "scopes": ["credentials.manage", "iguide.list", "iguide.ro"]}))
        .await;
    let script = include_str!("../fixtures/iguide-complete-script.sh")
        .replace(
            "APP_ID=\"your-app-id\"",
            &format!("APP_ID=\"{}\"", bootstrap["id"].as_str().unwrap()),
        )
        .replace(
            "APP_TOKEN=\"your-token\"",
            &format!("APP_TOKEN=\"{}\"", bootstrap["token"].as_str().unwrap()),
        )
        .replace(
            "BASE_URL=\"https://manage.youriguide.com/api/v1\"",
            &format!("BASE_URL=\"{}/api/v1\"", app.base),
        );
    let output = tokio::process::Command::new("bash")
        .arg("-c")
        .arg(&script)
        .output()
        .await
        .expect("bash runs");
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    for line in [
        "✓ Token created: ",
        "Demo Token: ...",
        "✓ Token rotated",
        "✓ OAuth app created: ",
        "Demo OAuth App: ...",
        "Updated Demo App",
        "✓ OAuth app secret rotated",
        "=== Demo complete ===",
    ] {
        assert!(stdout.contains(line), "missing {line:?} in:\n{stdout}");
    }
    assert!(
        !stdout.contains("null"),
        "every value the script reads exists:\n{stdout}"
    );
    app.stop().await;
}
