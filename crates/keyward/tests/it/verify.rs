//! `POST /api/v1/verify` (SPEC §4 "Verification"): the verdict for every
//! reason, what an invalid secret does not reveal, the caller's own
//! `tokens.verify`, both header schemes, and the recorded last use.

use keyward_core::model::UserStatus;
use keyward_core::random::OsRandom;
use keyward_core::secret::{PlainSecret, SecretKind};
use keyward_testkit::{TestApp, assert_error, at, send};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use time::Duration;

const VERIFY: &str = "/api/v1/verify";
const TOKENS: &str = "/api/v1/integrations/tokens";

/// A resource server's credential: a token carrying only `tokens.verify`,
/// of its own user, never expiring (the tests move the clock by days).
pub async fn verifier(app: &TestApp) -> Value {
    let session = app.session("resource-server", &["member"]).await;
    app.create_token(
        &session,
        json!({"name": "verifier", "scopes": ["tokens.verify"]}),
    )
    .await
}

/// A token owner's long-lived manager token.
async fn owner(app: &TestApp, name: &str) -> String {
    let session = app.session(name, &["member"]).await;
    let manager = app
        .create_token(
            &session,
            json!({"name": "manager", "scopes": ["credentials.manage", "iguide.ro", "iguide.list", "iguide.rw"]}),
        )
        .await;
    secret(&manager).to_owned()
}

fn secret(body: &Value) -> &str {
    body["token"].as_str().expect("a secret")
}

pub async fn verify(app: &TestApp, caller: &Value, body: Value) -> (StatusCode, Value) {
    send(app.bearer(Method::POST, VERIFY, secret(caller)).json(&body)).await
}

/// Asserts a verdict that reveals nothing about the credential.
fn assert_invalid(body: &Value, reason: &str, kind: Value) {
    assert_eq!(
        body,
        &json!({"valid": false, "reason": reason, "kind": kind, "credentialId": null,
                "userId": null, "scopes": [], "expiresAt": null}),
    );
}

#[tokio::test]
async fn a_good_token_verifies_with_ids_effective_scopes_and_expiry() {
    let app = TestApp::spawn().await;
    let caller = verifier(&app).await;
    let manager = owner(&app, "ann").await;
    let token = app
        .create_token(
            &manager,
            json!({"name": "t", "scopes": ["iguide.ro", "iguide.list"], "expiresAt": at(&app, Duration::days(30))}),
        )
        .await;
    let (status, me) = send(app.bearer(Method::GET, "/api/v1/me", &manager)).await;
    assert_eq!(status, StatusCode::OK);
    let response = app
        .bearer(Method::POST, VERIFY, secret(&caller))
        .json(&json!({"token": secret(&token), "requiredScopes": ["iguide.ro"]}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(response.headers()["cache-control"], "no-store");
    let body: Value = response.json().await.unwrap();
    assert_eq!(
        body,
        json!({"valid": true, "kind": "api_token", "credentialId": token["id"],
               "userId": me["user"]["id"], "scopes": ["iguide.list", "iguide.ro"],
               "expiresAt": at(&app, Duration::days(30))}),
    );
    // A second answer comes from the cache and is the same.
    let (_, again) = verify(&app, &caller, json!({"token": secret(&token)})).await;
    assert_eq!(again, body);

    // A session verifies too, with its owner's allowed scopes.
    let session = app.login("ann").await;
    let (status, body) = verify(&app, &caller, json!({"token": session})).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body["valid"], true, "{body}");
    assert_eq!(body["kind"], "session");
    assert_eq!(body["userId"], me["user"]["id"]);
    assert!(
        body["scopes"]
            .as_array()
            .unwrap()
            .contains(&json!("tokens.verify"))
    );
    app.stop().await;
}

#[tokio::test]
async fn an_oauth_access_token_names_its_client() {
    let app = TestApp::spawn().await;
    let caller = verifier(&app).await;
    let session = app.session("kim", &["member"]).await;
    let (status, registered) = send(
        app.bearer(Method::POST, "/api/v1/integrations/apps", &session)
            .json(
                &json!({"clientName": "worker", "redirectUris": ["https://client.example/cb"],
                          "scope": ["iguide.ro", "iguide.list"]}),
            ),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{registered}");
    let client_id = registered["clientId"].as_str().unwrap();
    let (status, issued) = send(app.request(Method::POST, "/oauth/token").form(&[
        ("grant_type", "client_credentials"),
        ("client_id", client_id),
        (
            "client_secret",
            registered["clientSecret"].as_str().unwrap(),
        ),
    ]))
    .await;
    assert_eq!(status, StatusCode::OK, "{issued}");
    let access = issued["access_token"].as_str().unwrap();
    let (status, body) = verify(
        &app,
        &caller,
        json!({"token": access, "requiredScopes": ["iguide.ro"]}),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body["valid"], true, "{body}");
    assert_eq!(body["kind"], "access_token");
    assert_eq!(body["clientId"], client_id);
    assert_eq!(body["scopes"], json!(["iguide.list", "iguide.ro"]));
    let user = app.keyward.find_user_by_username("kim").await.unwrap();
    assert_eq!(body["userId"], user.id.to_string());
    // The client's own secret is not a credential for resource servers.
    let (_, body) = verify(&app, &caller, json!({"token": registered["clientSecret"]})).await;
    assert_eq!(body["valid"], false, "{body}");
    // The token's row id is not secret: a well-formed secret that carries
    // it with another random part finds the row and is still not it.
    let genuine = PlainSecret::parse(access).expect("an issued token parses");
    let forged = PlainSecret::generate_located(
        SecretKind::AccessToken,
        genuine.locator().expect("access tokens carry their id"),
        &OsRandom,
    );
    let (_, body) = verify(&app, &caller, json!({"token": forged.expose()})).await;
    assert_eq!(body["valid"], false, "{body}");
    assert_eq!(body["reason"], "not_found", "{body}");
    assert_eq!(body["credentialId"], Value::Null, "{body}");
    app.stop().await;
}

#[tokio::test]
async fn unknown_malformed_and_deleted_secrets_are_not_found() {
    let app = TestApp::spawn().await;
    let caller = verifier(&app).await;
    let manager = owner(&app, "bob").await;
    let token = app
        .create_token(&manager, json!({"name": "t", "scopes": ["iguide.ro"]}))
        .await;
    // Garbage and a typo (checksum) never reach the store, and have no kind.
    let mut typo = secret(&token).to_owned();
    typo.replace_range(10..11, if &typo[10..11] == "a" { "b" } else { "a" });
    for garbage in ["hello", "kwp_short", "Bearer x", typo.as_str()] {
        let (status, body) = verify(&app, &caller, json!({"token": garbage})).await;
        assert_eq!(status, StatusCode::OK);
        assert_invalid(&body, "not_found", Value::Null);
    }
    let (_, good) = verify(&app, &caller, json!({"token": secret(&token)})).await;
    assert_eq!(good["valid"], true);
    let (status, _) = send(app.bearer(
        Method::DELETE,
        &format!("{TOKENS}/{}", token["id"].as_str().unwrap()),
        &manager,
    ))
    .await;
    assert_eq!(status, StatusCode::OK);
    let (_, body) = verify(&app, &caller, json!({"token": secret(&token)})).await;
    assert_invalid(&body, "not_found", json!("api_token"));
    app.stop().await;
}

#[tokio::test]
async fn expired_deactivated_and_ended_grace_say_so_without_ids() {
    let app = TestApp::spawn().await;
    let caller = verifier(&app).await;
    let manager = owner(&app, "cy").await;
    let short = app
        .create_token(
            &manager,
            json!({"name": "short", "scopes": ["iguide.ro"], "expiresAt": at(&app, Duration::hours(1))}),
        )
        .await;
    let doomed = app
        .create_token(&manager, json!({"name": "doomed", "scopes": ["iguide.ro"]}))
        .await;
    let rotating = app
        .create_token(&manager, json!({"name": "rot", "scopes": ["iguide.ro"]}))
        .await;
    for t in [&short, &doomed, &rotating] {
        let (_, body) = verify(&app, &caller, json!({"token": secret(t)})).await;
        assert_eq!(body["valid"], true, "{body}");
    }

    // Deactivation is seen at once, though the answer was cached.
    let (status, _) = send(app.bearer(
        Method::POST,
        &format!("{TOKENS}/{}/deactivate", doomed["id"].as_str().unwrap()),
        &manager,
    ))
    .await;
    assert_eq!(status, StatusCode::OK);
    let (_, body) = verify(&app, &caller, json!({"token": secret(&doomed)})).await;
    assert_invalid(&body, "deactivated", json!("api_token"));

    let (status, _) = send(
        app.bearer(
            Method::POST,
            &format!("{TOKENS}/{}/rotate", rotating["id"].as_str().unwrap()),
            &manager,
        )
        .json(&json!({"gracePeriodSeconds": 60})),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    let (_, body) = verify(&app, &caller, json!({"token": secret(&rotating)})).await;
    assert_eq!(body["valid"], true, "in its grace period: {body}");
    assert_eq!(body["expiresAt"], at(&app, Duration::seconds(60)));

    app.advance(Duration::hours(2));
    let (_, body) = verify(&app, &caller, json!({"token": secret(&short)})).await;
    assert_invalid(&body, "expired", json!("api_token"));
    let (_, body) = verify(&app, &caller, json!({"token": secret(&rotating)})).await;
    assert_invalid(&body, "expired", json!("api_token"));
    app.stop().await;
}

#[tokio::test]
async fn a_disabled_owner_fails_every_credential() {
    let app = TestApp::spawn().await;
    let caller = verifier(&app).await;
    let manager = owner(&app, "dora").await;
    let session = app.login("dora").await;
    let (_, before) = verify(&app, &caller, json!({"token": manager})).await;
    assert_eq!(before["valid"], true);
    let user = app.keyward.find_user_by_username("dora").await.unwrap();
    app.set_status(user.id, UserStatus::Disabled).await;
    let (_, body) = verify(&app, &caller, json!({"token": manager})).await;
    assert_invalid(&body, "owner_disabled", json!("api_token"));
    // Disabling a user ends their sessions outright.
    let (_, body) = verify(&app, &caller, json!({"token": session})).await;
    assert_invalid(&body, "not_found", json!("session"));
    app.stop().await;
}

#[tokio::test]
async fn required_scopes_must_be_among_the_effective_ones() {
    let app = TestApp::spawn().await;
    let caller = verifier(&app).await;
    let manager = owner(&app, "eve").await;
    let token = app
        .create_token(
            &manager,
            json!({"name": "t", "scopes": ["iguide.ro", "iguide.rw"]}),
        )
        .await;
    let check = |required: Value| {
        let (app, caller) = (&app, &caller);
        let body = json!({"token": secret(&token), "requiredScopes": required});
        async move { verify(app, caller, body).await.1 }
    };
    assert_eq!(check(json!([])).await["valid"], true);
    assert_eq!(
        check(json!(["iguide.ro", "iguide.rw"])).await["valid"],
        true
    );
    let body = check(json!(["iguide.ro", "iguide.tasks"])).await;
    // A genuine credential that does not fit is described.
    assert_eq!(body["valid"], false);
    assert_eq!(body["reason"], "insufficient_scope");
    assert_eq!(body["credentialId"], token["id"]);
    assert_eq!(body["scopes"], json!(["iguide.ro", "iguide.rw"]));
    app.stop().await;
}

#[tokio::test]
async fn a_token_restricted_to_applications_needs_one_of_them() {
    let app = TestApp::spawn().await;
    let caller = verifier(&app).await;
    let manager = owner(&app, "fay").await;
    let shop = app
        .create_token(
            &manager,
            json!({"name": "shop", "scopes": ["iguide.ro"], "applications": ["shop"]}),
        )
        .await;
    let any = app
        .create_token(&manager, json!({"name": "any", "scopes": ["iguide.ro"]}))
        .await;
    for (token, application, want) in [
        (&shop, Some("shop"), None),
        (&shop, Some("portal"), Some("wrong_application")),
        (&shop, None, Some("wrong_application")),
        (&any, Some("portal"), None),
        (&any, None, None),
    ] {
        let mut body = json!({"token": secret(token), "requiredScopes": ["iguide.ro"]});
        if let Some(app_name) = application {
            body["application"] = json!(app_name);
        }
        let (status, verdict) = verify(&app, &caller, body).await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(
            verdict["valid"],
            want.is_none(),
            "{application:?}: {verdict}"
        );
        assert_eq!(
            verdict.get("reason").and_then(Value::as_str),
            want,
            "{verdict}"
        );
        assert_eq!(verdict["credentialId"], token["id"]);
    }
    // The application check comes before the scope check.
    let (_, verdict) = verify(
        &app,
        &caller,
        json!({"token": secret(&shop), "requiredScopes": ["iguide.rw"], "application": "portal"}),
    )
    .await;
    assert_eq!(verdict["reason"], "wrong_application");
    app.stop().await;
}

#[tokio::test]
async fn the_caller_needs_tokens_verify() {
    let app = TestApp::spawn().await;
    let manager = owner(&app, "gil").await;
    let token = app
        .create_token(&manager, json!({"name": "t", "scopes": ["iguide.ro"]}))
        .await;
    // A credential without tokens.verify, even with a bad body: 403 first.
    for body in [
        json!({"token": secret(&token)}),
        json!({"token": secret(&token), "extra": 1}),
    ] {
        let (status, err) = send(app.bearer(Method::POST, VERIFY, &manager).json(&body)).await;
        assert_error(
            status,
            &err,
            StatusCode::FORBIDDEN,
            "permission_denied",
            "tokens.verify",
        );
    }
    // No credential, or a bad one.
    let (status, _) = send(
        app.request(Method::POST, VERIFY)
            .json(&json!({"token": secret(&token)})),
    )
    .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let (status, _) = send(
        app.bearer(Method::POST, VERIFY, "kwp_nope")
            .json(&json!({"token": secret(&token)})),
    )
    .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    app.stop().await;
}

#[tokio::test]
async fn the_caller_may_use_the_header_pair() {
    let app = TestApp::spawn().await;
    let caller = verifier(&app).await;
    let manager = owner(&app, "hal").await;
    let pair = |id: &str, secret: &str| {
        app.request(Method::POST, VERIFY)
            .header("X-App-Id", id)
            .header("X-App-Token", secret)
            .json(&json!({"token": manager}))
    };
    let (status, body) = send(pair(caller["id"].as_str().unwrap(), secret(&caller))).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body["valid"], true, "{body}");
    let other = uuid::Uuid::new_v4().to_string();
    let (status, _) = send(pair(&other, secret(&caller))).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "the pair must agree");
    app.stop().await;
}

#[tokio::test]
async fn a_bad_request_names_the_field() {
    let app = TestApp::spawn().await;
    let caller = verifier(&app).await;
    let long = "x".repeat(2000);
    for (body, field) in [
        (json!({}), "token"),
        (json!({"token": 5}), "token"),
        (json!({"token": ""}), "token"),
        (json!({"token": long}), "token"),
        (json!({"token": "kwp_x", "scopes": []}), "scopes"),
        (
            json!({"token": "kwp_x", "requiredScopes": ["iguide.ro", "nope"]}),
            "requiredScopes[1]",
        ),
        (
            json!({"token": "kwp_x", "requiredScopes": "iguide.ro"}),
            "requiredScopes",
        ),
        (
            json!({"token": "kwp_x", "application": "nowhere"}),
            "application",
        ),
    ] {
        let (status, err) = verify(&app, &caller, body.clone()).await;
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
async fn verification_records_the_last_use() {
    let app = TestApp::spawn().await;
    let caller = verifier(&app).await;
    let manager = owner(&app, "ivy").await;
    let token = app
        .create_token(&manager, json!({"name": "t", "scopes": ["iguide.ro"]}))
        .await;
    let path = format!("{TOKENS}/{}", token["id"].as_str().unwrap());
    app.keyward.flush_usage().await.unwrap();
    app.advance(Duration::minutes(5));
    for _ in 0..3 {
        let (_, body) = verify(&app, &caller, json!({"token": secret(&token)})).await;
        assert_eq!(body["valid"], true);
    }
    // The verified token and the caller's own: two pending writes.
    assert_eq!(app.keyward.usage().depth(), 2);
    app.keyward.flush_usage().await.unwrap();
    let (_, shown) = send(app.bearer(Method::GET, &path, &manager)).await;
    assert_eq!(shown["lastUsedAt"], at(&app, Duration::ZERO), "{shown}");
    assert_eq!(shown["lastUsedIp"], "127.0.0.1");
    app.stop().await;
}
