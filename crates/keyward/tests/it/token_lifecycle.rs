//! Rotation with grace, revoking the previous secret, renewal, deactivation
//! versus deletion, list filters and last-use recording.

use keyward_testkit::{TestApp, assert_error, at, send};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use time::Duration;

const TOKENS: &str = "/api/v1/integrations/tokens";

/// A user with a long-lived manager token (sessions idle out after 12 hours,
/// and these tests move the clock by days) and a token to work on.
async fn setup(app: &TestApp, user: &str) -> (String, Value) {
    let manager = manager(app, user).await;
    let token = app
        .create_token(
            &manager,
            json!({"name": "rotating", "scopes": ["iguide.list", "credentials.manage"]}),
        )
        .await;
    (manager, token)
}

async fn manager(app: &TestApp, user: &str) -> String {
    let session = app.session(user, &["member"]).await;
    let manager = app
        .create_token(&session, json!({"name": "manager", "scopes": ["iguide.list", "iguide.ro", "credentials.manage"]}))
        .await;
    secret(&manager).to_owned()
}

fn secret(body: &Value) -> &str {
    body["token"].as_str().expect("a secret")
}

#[tokio::test]
async fn rotation_keeps_the_old_secret_for_seven_days_by_default() {
    let app = TestApp::spawn().await;
    let (session, token) = setup(&app, "rot").await;
    let id = token["id"].as_str().unwrap();
    let response = app
        .bearer(Method::POST, &format!("{TOKENS}/{id}/rotate"), &session)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(response.headers()["cache-control"], "no-store");
    let rotated: Value = response.json().await.unwrap();
    assert_eq!(rotated["id"], token["id"], "rotation keeps the id");
    assert_ne!(secret(&rotated), secret(&token));
    assert_eq!(
        rotated["tokenHint"],
        format!("...{}", &secret(&rotated)[36..])
    );
    assert_eq!(
        rotated["previousToken"],
        json!({"hint": token["tokenHint"], "status": "active", "expiresAt": at(&app, Duration::days(7))})
    );
    // Both work during the grace period, through either header scheme.
    assert_eq!(app.me_status(secret(&token)).await, StatusCode::OK);
    assert_eq!(app.me_status(secret(&rotated)).await, StatusCode::OK);
    let (status, _) = send(
        app.request(Method::GET, "/api/v1/me")
            .header("X-App-Id", id)
            .header("X-App-Token", secret(&token)),
    )
    .await;
    assert_eq!(status, StatusCode::OK);

    app.advance(Duration::days(7) - Duration::seconds(1));
    assert_eq!(app.me_status(secret(&token)).await, StatusCode::OK);
    app.advance(Duration::seconds(1));
    assert_eq!(
        app.me_status(secret(&token)).await,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(app.me_status(secret(&rotated)).await, StatusCode::OK);
    let (_, shown) = send(app.bearer(Method::GET, &format!("{TOKENS}/{id}"), &session)).await;
    assert_eq!(
        shown["previousToken"],
        Value::Null,
        "an ended grace period is not shown"
    );
    app.stop().await;
}

#[tokio::test]
async fn a_second_rotation_revokes_the_older_previous_secret_at_once() {
    let app = TestApp::spawn().await;
    let (session, first) = setup(&app, "twice").await;
    let rotate = format!("{TOKENS}/{}/rotate", first["id"].as_str().unwrap());
    let (_, second) = send(app.bearer(Method::POST, &rotate, &session)).await;
    let (_, third) = send(
        app.bearer(Method::POST, &rotate, &session)
            .json(&json!({"gracePeriodSeconds": 3600})),
    )
    .await;
    assert_eq!(
        app.me_status(secret(&first)).await,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(app.me_status(secret(&second)).await, StatusCode::OK);
    assert_eq!(app.me_status(secret(&third)).await, StatusCode::OK);
    assert_eq!(third["previousToken"]["hint"], second["tokenHint"]);
    assert_eq!(
        third["previousToken"]["expiresAt"],
        at(&app, Duration::hours(1))
    );
    app.stop().await;
}

#[tokio::test]
async fn zero_grace_and_revoke_previous_end_the_old_secret_now() {
    let app = TestApp::spawn().await;
    let (session, token) = setup(&app, "now").await;
    let id = token["id"].as_str().unwrap();
    let (status, rotated) = send(
        app.bearer(Method::POST, &format!("{TOKENS}/{id}/rotate"), &session)
            .json(&json!({"gracePeriodSeconds": 0})),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(rotated["previousToken"], Value::Null);
    assert_eq!(
        app.me_status(secret(&token)).await,
        StatusCode::UNAUTHORIZED
    );

    let (_, again) =
        send(app.bearer(Method::POST, &format!("{TOKENS}/{id}/rotate"), &session)).await;
    assert_eq!(app.me_status(secret(&rotated)).await, StatusCode::OK);
    let (status, revoked) = send(app.bearer(
        Method::POST,
        &format!("{TOKENS}/{id}/revokePrevious"),
        &session,
    ))
    .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(revoked["previousToken"], Value::Null);
    assert!(revoked.get("token").is_none());
    assert_eq!(
        app.me_status(secret(&rotated)).await,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(app.me_status(secret(&again)).await, StatusCode::OK);
    app.stop().await;
}

#[tokio::test]
async fn grace_periods_are_bounded() {
    let app = TestApp::spawn().await;
    let (session, token) = setup(&app, "bounded").await;
    let rotate = format!("{TOKENS}/{}/rotate", token["id"].as_str().unwrap());
    for grace in [json!(-1), json!(30 * 86400 + 1), json!("soon"), json!(1.5)] {
        let (status, err) = send(
            app.bearer(Method::POST, &rotate, &session)
                .json(&json!({"gracePeriodSeconds": grace})),
        )
        .await;
        assert_error(
            status,
            &err,
            StatusCode::BAD_REQUEST,
            "invalid_argument",
            "gracePeriodSeconds",
        );
    }
    let (status, _) = send(
        app.bearer(Method::POST, &rotate, &session)
            .json(&json!({"gracePeriodSeconds": 30 * 86400})),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        app.me_status(secret(&token)).await,
        StatusCode::OK,
        "the old secret is in its grace"
    );
    app.stop().await;
}

#[tokio::test]
async fn renew_issues_a_new_token_and_sets_the_old_ones_expiry() {
    let app = TestApp::spawn().await;
    let session = manager(&app, "renew").await;
    let old = app
        .create_token(&session, json!({"name": "v1", "scopes": ["iguide.list", "iguide.ro"], "applications": ["shop"], "expiresAt": at(&app, Duration::days(90))}))
        .await;
    let id = old["id"].as_str().unwrap();
    app.advance(Duration::days(30));
    let (status, new) = send(
        app.bearer(Method::POST, &format!("{TOKENS}/{id}/renew"), &session)
            .json(&json!({"name": "v2", "description": "renewed", "expireCurrentAt": at(&app, Duration::days(1))})),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{new}");
    assert_ne!(new["id"], old["id"]);
    assert_ne!(secret(&new), secret(&old));
    assert_eq!(new["name"], "v2");
    assert_eq!(new["scopes"], old["scopes"]);
    assert_eq!(new["applications"], json!(["shop"]));
    assert_eq!(
        new["expiresAt"],
        at(&app, Duration::days(90)),
        "same lifetime as the original"
    );
    let (_, shown_old) = send(app.bearer(Method::GET, &format!("{TOKENS}/{id}"), &session)).await;
    assert_eq!(shown_old["expiresAt"], at(&app, Duration::days(1)));

    let old_secret = secret(&old);
    // The old token keeps working until its new expiry, then fails.
    let (status, _) = send(
        app.request(Method::GET, "/api/v1/me")
            .header("X-App-Id", id)
            .header("X-App-Token", old_secret),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    app.advance(Duration::days(1));
    assert_eq!(app.me_status(old_secret).await, StatusCode::UNAUTHORIZED);
    assert_eq!(app.me_status(secret(&new)).await, StatusCode::OK);
    let (_, expired) = send(app.bearer(Method::GET, &format!("{TOKENS}/{id}"), &session)).await;
    assert_eq!(expired["status"], "expired");
    assert_eq!(expired["ageStatus"], "expired");

    for (body, field) in [
        (
            json!({"name": "v3", "expireCurrentAt": at(&app, -Duration::days(1))}),
            "expireCurrentAt",
        ),
        (json!({"name": "v3"}), "expireCurrentAt"),
        (
            json!({"expireCurrentAt": at(&app, Duration::days(1))}),
            "name",
        ),
    ] {
        let path = format!("{TOKENS}/{}/renew", new["id"].as_str().unwrap());
        let (status, err) = send(app.bearer(Method::POST, &path, &session).json(&body)).await;
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
async fn deactivation_is_permanent_and_listed_while_deletion_removes() {
    let app = TestApp::spawn().await;
    let session = app.session("ender", &["member"]).await;
    let a = app
        .create_token(&session, json!({"name": "a", "scopes": ["iguide.list"]}))
        .await;
    let b = app
        .create_token(&session, json!({"name": "b", "scopes": ["iguide.list"]}))
        .await;
    let (a_id, b_id) = (a["id"].as_str().unwrap(), b["id"].as_str().unwrap());

    let (status, deactivated) = send(app.bearer(
        Method::POST,
        &format!("{TOKENS}/{a_id}/deactivate"),
        &session,
    ))
    .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(deactivated["status"], "deactivated");
    assert_eq!(app.me_status(secret(&a)).await, StatusCode::UNAUTHORIZED);
    let (status, err) =
        send(app.bearer(Method::POST, &format!("{TOKENS}/{a_id}/rotate"), &session)).await;
    assert_error(
        status,
        &err,
        StatusCode::CONFLICT,
        "failed_precondition",
        "deactivated",
    );
    let (status, _) = send(app.bearer(
        Method::POST,
        &format!("{TOKENS}/{a_id}/deactivate"),
        &session,
    ))
    .await;
    assert_eq!(status, StatusCode::OK, "deactivating twice is harmless");

    let (status, deleted) =
        send(app.bearer(Method::DELETE, &format!("{TOKENS}/{b_id}"), &session)).await;
    assert_eq!((status, deleted), (StatusCode::OK, json!({"ok": true})));
    assert_eq!(app.me_status(secret(&b)).await, StatusCode::UNAUTHORIZED);
    let (status, err) = send(app.bearer(Method::GET, &format!("{TOKENS}/{b_id}"), &session)).await;
    assert_error(status, &err, StatusCode::NOT_FOUND, "not_found", "token");
    let (status, _) = send(app.bearer(Method::DELETE, &format!("{TOKENS}/{b_id}"), &session)).await;
    assert_eq!(status, StatusCode::NOT_FOUND);

    let (_, list) = send(app.bearer(Method::GET, TOKENS, &session)).await;
    let names: Vec<&str> = list
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["name"].as_str().unwrap())
        .collect();
    assert_eq!(
        names,
        ["a"],
        "the deactivated token stays listed, the deleted one is gone"
    );
    assert_eq!(list[0]["status"], "deactivated");
    app.stop().await;
}

#[tokio::test]
async fn list_filters_by_status_and_by_disuse() {
    let app = TestApp::spawn().await;
    let session = manager(&app, "filters").await;
    let used = app
        .create_token(&session, json!({"name": "used", "scopes": ["iguide.list"]}))
        .await;
    let idle = app
        .create_token(&session, json!({"name": "idle", "scopes": ["iguide.list"]}))
        .await;
    app
        .create_token(&session, json!({"name": "short", "scopes": ["iguide.list"], "expiresAt": at(&app, Duration::days(2))}))
        .await;
    let gone = app
        .create_token(&session, json!({"name": "gone", "scopes": ["iguide.list"]}))
        .await;
    send(app.bearer(
        Method::POST,
        &format!("{TOKENS}/{}/deactivate", gone["id"].as_str().unwrap()),
        &session,
    ))
    .await;

    assert_eq!(app.me_status(secret(&used)).await, StatusCode::OK);
    app.keyward.flush_usage().await.unwrap();
    app.advance(Duration::days(3));
    assert_eq!(app.me_status(secret(&idle)).await, StatusCode::OK);
    app.keyward.flush_usage().await.unwrap();

    let names = |list: &Value| -> Vec<String> {
        let mut v: Vec<String> = list
            .as_array()
            .unwrap()
            .iter()
            .map(|t| t["name"].as_str().unwrap().to_owned())
            .collect();
        v.sort();
        v
    };
    let query = |q: &str| app.bearer(Method::GET, &format!("{TOKENS}?{q}"), &session);
    assert_eq!(
        names(&send(query("status=active")).await.1),
        ["idle", "manager", "used"]
    );
    assert_eq!(names(&send(query("status=expired")).await.1), ["short"]);
    assert_eq!(names(&send(query("status=deactivated")).await.1), ["gone"]);
    // "used" and "manager" were last used 3 days ago, "idle" just now, the
    // others never.
    assert_eq!(
        names(&send(query("unusedForDays=2")).await.1),
        ["gone", "manager", "short", "used"]
    );
    assert_eq!(
        names(&send(query("unusedForDays=4")).await.1),
        ["gone", "short"]
    );
    assert_eq!(
        names(&send(query("status=active&unusedForDays=2")).await.1),
        ["manager", "used"]
    );
    let (status, err) = send(query("status=revoked")).await;
    assert_error(
        status,
        &err,
        StatusCode::BAD_REQUEST,
        "invalid_argument",
        "status",
    );
    let (status, err) = send(query("unusedForDays=-1")).await;
    assert_error(
        status,
        &err,
        StatusCode::BAD_REQUEST,
        "invalid_argument",
        "unusedForDays",
    );
    app.stop().await;
}

#[tokio::test]
async fn last_use_is_written_behind_in_batches() {
    let app = TestApp::spawn().await;
    let (session, token) = setup(&app, "usage").await;
    let path = format!("{TOKENS}/{}", token["id"].as_str().unwrap());
    app.keyward.flush_usage().await.unwrap();
    for _ in 0..5 {
        assert_eq!(app.me_status(secret(&token)).await, StatusCode::OK);
    }
    assert_eq!(
        app.keyward.usage().depth(),
        1,
        "five uses of one token are one pending write"
    );
    let (_, before) = send(app.bearer(Method::GET, &path, &session)).await;
    assert_eq!(before["lastUsedAt"], Value::Null, "not written per request");
    // The token and the manager that just read it.
    assert_eq!(app.keyward.flush_usage().await.unwrap(), 2);
    let (_, after) = send(app.bearer(Method::GET, &path, &session)).await;
    assert_eq!(after["lastUsedAt"], at(&app, Duration::ZERO));
    assert_eq!(after["lastUsedIp"], "127.0.0.1");
    app.stop().await;
}

#[tokio::test]
async fn the_background_writer_makes_last_use_visible_within_its_interval() {
    let app = TestApp::spawn_with(|c| c.cache.usage_flush_seconds = 1).await;
    let (session, token) = setup(&app, "bg").await;
    let path = format!("{TOKENS}/{}", token["id"].as_str().unwrap());
    assert_eq!(app.me_status(secret(&token)).await, StatusCode::OK);
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    loop {
        let (_, shown) = send(app.bearer(Method::GET, &path, &session)).await;
        if shown["lastUsedAt"] != Value::Null {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "last use never written"
        );
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    app.stop().await;
}

#[tokio::test]
async fn age_status_follows_the_configured_thresholds() {
    let app = TestApp::spawn().await;
    let (session, token) = setup(&app, "ageing").await;
    let path = format!("{TOKENS}/{}", token["id"].as_str().unwrap());
    let status_after = |days: i64| {
        app.advance(Duration::days(days));
        app.bearer(Method::GET, &path, &session)
    };
    let (_, t) = send(status_after(180)).await;
    assert_eq!(
        (t["ageDays"].as_i64(), t["ageStatus"].as_str()),
        (Some(180), Some("fresh"))
    );
    let (_, t) = send(status_after(1)).await;
    assert_eq!(t["ageStatus"], "aging");
    let (_, t) = send(status_after(185)).await;
    assert_eq!(
        (t["ageDays"].as_i64(), t["ageStatus"].as_str()),
        (Some(366), Some("old"))
    );
    app.stop().await;
}
