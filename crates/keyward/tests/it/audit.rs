//! The audit log, read from outside: every action of a scripted session is
//! on record with who did it, from which address (through a trusted proxy,
//! and not through an untrusted one), to what, and how it ended; a refused
//! or empty change leaves no event; users read only what involves them; no
//! event carries a secret.

use std::collections::BTreeSet;

use keyward_testkit::{PASSWORD, TestApp, at, send};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use time::Duration;

const AGENT: &str = "audit-test/1.0";
const CLIENT_IP: &str = "203.0.113.7";

/// A request from `CLIENT_IP` as a proxy reports it, with our user agent.
fn from_client(
    app: &TestApp,
    method: Method,
    path: &str,
    secret: Option<&str>,
) -> reqwest::RequestBuilder {
    let request = app
        .request(method, path)
        .header("user-agent", AGENT)
        .header("x-forwarded-for", CLIENT_IP);
    match secret {
        Some(s) => request.bearer_auth(s),
        None => request,
    }
}

async fn ok(request: reqwest::RequestBuilder) -> Value {
    let (status, body) = send(request).await;
    assert!(status.is_success(), "{status}: {body}");
    body
}

async fn login(app: &TestApp, username: &str, password: &str) -> String {
    let body = ok(from_client(app, Method::POST, "/api/v1/login", None)
        .json(&json!({"username": username, "password": password})))
    .await;
    body["token"].as_str().expect("session").to_owned()
}

/// Every event the admin can see, oldest first.
async fn all_events(app: &TestApp, admin: &str) -> Vec<Value> {
    let mut events = Vec::new();
    let mut next = Some("/api/v1/audit?limit=100".to_owned());
    while let Some(path) = next.take() {
        let response = app
            .bearer(Method::GET, &path, admin)
            .send()
            .await
            .expect("audit page");
        assert_eq!(response.status(), StatusCode::OK);
        next = response
            .headers()
            .get("link")
            .and_then(|l| l.to_str().ok())
            .and_then(|l| l.split(['<', '>']).nth(1))
            .map(|url| url.trim_start_matches(&app.url("")).to_owned());
        let page: Value = response.json().await.expect("json");
        events.extend(page.as_array().expect("a plain array").iter().cloned());
    }
    events
}

fn find<'a>(events: &'a [Value], action: &str, target: &str) -> Vec<&'a Value> {
    events
        .iter()
        .filter(|e| e["action"] == action && e["target"]["id"] == target)
        .collect()
}

#[tokio::test]
async fn every_action_of_a_session_is_on_record_with_its_address() {
    let app = TestApp::spawn_with(|c| c.server.trusted_proxies = vec!["127.0.0.1/32".into()]).await;
    let root = app.user("root@example.com", &["admin"]).await;
    let admin = login(&app, "root@example.com", PASSWORD).await;
    let mut secrets = vec![admin.clone()];

    // An administrator creates a user; the user fails once, then signs in.
    let mary = ok(
        from_client(&app, Method::POST, "/api/v1/admin/users", Some(&admin)).json(
            &json!({"username": "mary@example.com", "password": PASSWORD, "roles": ["member"]}),
        ),
    )
    .await;
    let mary_id = mary["id"].as_str().unwrap().to_owned();
    let (status, _) = send(
        from_client(&app, Method::POST, "/api/v1/login", None)
            .json(&json!({"username": "mary@example.com", "password": "not her password at all"})),
    )
    .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let session = login(&app, "mary@example.com", PASSWORD).await;
    secrets.push(session.clone());

    // The whole life of a token.
    let tokens = "/api/v1/integrations/tokens";
    let created = ok(
        from_client(&app, Method::POST, tokens, Some(&session)).json(&json!({
            "name": "deploys", "scopes": ["iguide.ro"], "expiresAt": at(&app, Duration::days(90))
        })),
    )
    .await;
    let token_id = created["id"].as_str().unwrap().to_owned();
    secrets.push(created["token"].as_str().unwrap().to_owned());
    let one = |suffix: &str| format!("{tokens}/{token_id}{suffix}");
    ok(from_client(&app, Method::PATCH, &one(""), Some(&session))
        .json(&json!({"description": "CI"})))
    .await;
    let rotated = ok(from_client(
        &app,
        Method::POST,
        &one("/rotate"),
        Some(&session),
    ))
    .await;
    secrets.push(rotated["token"].as_str().unwrap().to_owned());
    ok(from_client(
        &app,
        Method::POST,
        &one("/revokePrevious"),
        Some(&session),
    ))
    .await;
    let renewed = ok(
        from_client(&app, Method::POST, &one("/renew"), Some(&session)).json(&json!({
            "name": "deploys v2", "expireCurrentAt": at(&app, Duration::days(1))
        })),
    )
    .await;
    secrets.push(renewed["token"].as_str().unwrap().to_owned());
    let renewed_id = renewed["id"].as_str().unwrap().to_owned();
    ok(from_client(
        &app,
        Method::POST,
        &one("/deactivate"),
        Some(&session),
    ))
    .await;
    ok(from_client(&app, Method::DELETE, &one(""), Some(&session))).await;

    // The whole life of an OAuth app.
    let apps = "/api/v1/integrations/apps";
    let created_app = ok(from_client(&app, Method::POST, apps, Some(&session)).json(&json!({
        "clientName": "Shop", "redirectUris": ["https://shop.example/cb"], "scope": ["iguide.ro"]
    })))
    .await;
    let client_id = created_app["clientId"].as_str().unwrap().to_owned();
    secrets.push(created_app["clientSecret"].as_str().unwrap().to_owned());
    let app_path = |suffix: &str| format!("{apps}/{client_id}{suffix}");
    ok(
        from_client(&app, Method::PATCH, &app_path(""), Some(&session))
            .json(&json!({"description": "the shop"})),
    )
    .await;
    let rotated_app = ok(from_client(
        &app,
        Method::POST,
        &app_path("/rotate"),
        Some(&session),
    ))
    .await;
    secrets.push(rotated_app["clientSecret"].as_str().unwrap().to_owned());
    ok(from_client(
        &app,
        Method::DELETE,
        &app_path(""),
        Some(&session),
    ))
    .await;

    // Her password, her logout; the administrator's changes to her.
    let new_password = "a much better passphrase 2027";
    ok(
        from_client(&app, Method::POST, "/api/v1/me/password", Some(&session))
            .json(&json!({"current": PASSWORD, "new": new_password})),
    )
    .await;
    ok(from_client(
        &app,
        Method::POST,
        "/api/v1/logout",
        Some(&session),
    ))
    .await;
    let user_path = format!("/api/v1/admin/users/{mary_id}");
    ok(from_client(&app, Method::PATCH, &user_path, Some(&admin))
        .json(&json!({"roles": ["member", "admin"]})))
    .await;
    ok(from_client(&app, Method::DELETE, &user_path, Some(&admin))).await;

    let events = all_events(&app, &admin).await;
    let expect = [
        ("user.created", mary_id.as_str(), root.id.to_string()),
        ("session.login_failed", mary_id.as_str(), String::new()),
        ("token.created", token_id.as_str(), mary_id.clone()),
        ("token.updated", token_id.as_str(), mary_id.clone()),
        ("token.rotated", token_id.as_str(), mary_id.clone()),
        ("token.previous_revoked", token_id.as_str(), mary_id.clone()),
        ("token.renewed", token_id.as_str(), mary_id.clone()),
        ("token.deactivated", token_id.as_str(), mary_id.clone()),
        ("token.deleted", token_id.as_str(), mary_id.clone()),
        ("app.created", client_id.as_str(), mary_id.clone()),
        ("app.updated", client_id.as_str(), mary_id.clone()),
        ("app.secret_rotated", client_id.as_str(), mary_id.clone()),
        ("app.deleted", client_id.as_str(), mary_id.clone()),
        ("user.password_changed", mary_id.as_str(), mary_id.clone()),
        ("user.updated", mary_id.as_str(), root.id.to_string()),
        ("user.deleted", mary_id.as_str(), root.id.to_string()),
    ];
    for (action, target, actor) in expect {
        let found = find(&events, action, target);
        assert_eq!(found.len(), 1, "one {action} of {target}: {events:#?}");
        let event = found[0];
        assert_eq!(event["ip"], CLIENT_IP, "{event}");
        assert_eq!(event["userAgent"], AGENT, "{event}");
        if !actor.is_empty() {
            assert_eq!(event["actor"]["userId"], actor.as_str(), "{event}");
        }
        let outcome = if action == "session.login_failed" {
            "failure"
        } else {
            "success"
        };
        assert_eq!(event["outcome"], outcome, "{event}");
    }
    // Her sign-in and logout name her session, acted by her.
    let signed_in: Vec<&Value> = events
        .iter()
        .filter(|e| e["action"] == "session.created" && e["actor"]["userId"] == mary_id.as_str())
        .collect();
    assert_eq!(signed_in.len(), 1, "{events:#?}");
    let session_id = signed_in[0]["target"]["id"].as_str().unwrap();
    assert_eq!(signed_in[0]["actor"]["credentialKind"], "session");
    let ended = find(&events, "session.ended", session_id);
    assert_eq!(ended.len(), 1, "the logout ends that session");
    // The renewal names its successor.
    let renewal = &find(&events, "token.renewed", &token_id)[0];
    assert_eq!(renewal["details"]["newTokenId"], renewed_id.as_str());

    // No secret anywhere in the log, JSON lines included.
    let dump = app
        .bearer(Method::GET, "/api/v1/audit?format=ndjson", &admin)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(dump.lines().count() >= events.len());
    for secret in &secrets {
        assert!(
            !dump.contains(secret.as_str()),
            "a secret is in the audit log"
        );
    }
    assert!(!dump.contains(new_password) && !dump.contains(PASSWORD));
    app.stop().await;
}

/// Without a trusted proxy, the forwarded address is the client's claim
/// and is not believed: the peer's address is on record.
#[tokio::test]
async fn an_untrusted_forwarded_address_is_not_recorded() {
    let app = TestApp::spawn().await;
    app.user("root@example.com", &["admin"]).await;
    let admin = login(&app, "root@example.com", PASSWORD).await;
    let created = ok(from_client(
        &app,
        Method::POST,
        "/api/v1/integrations/tokens",
        Some(&admin),
    )
    .json(&json!({"name": "t", "scopes": ["iguide.ro"]})))
    .await;
    let events = all_events(&app, &admin).await;
    let event = find(&events, "token.created", created["id"].as_str().unwrap())[0];
    assert_eq!(event["ip"], "127.0.0.1", "{event}");
    app.stop().await;
}

/// A change that does not happen leaves no event: an unknown token's
/// deletion, a second deactivation, a creation refused at the limit.
#[tokio::test]
async fn a_change_that_does_not_happen_leaves_no_event() {
    let app = TestApp::spawn_with(|c| c.credentials.max_tokens_per_user = 1).await;
    app.user("root@example.com", &["admin"]).await;
    let admin = login(&app, "root@example.com", PASSWORD).await;
    let tokens = "/api/v1/integrations/tokens";
    let created = ok(app
        .bearer(Method::POST, tokens, &admin)
        .json(&json!({"name": "only", "scopes": ["iguide.ro"]})))
    .await;
    let id = created["id"].as_str().unwrap();
    let (status, _) = send(
        app.bearer(Method::POST, tokens, &admin)
            .json(&json!({"name": "one too many", "scopes": ["iguide.ro"]})),
    )
    .await;
    assert_eq!(status, StatusCode::TOO_MANY_REQUESTS);
    for _ in 0..2 {
        ok(app.bearer(Method::POST, &format!("{tokens}/{id}/deactivate"), &admin)).await;
    }
    let unknown = uuid::Uuid::new_v4();
    let (status, _) =
        send(app.bearer(Method::DELETE, &format!("{tokens}/{unknown}"), &admin)).await;
    assert_eq!(status, StatusCode::NOT_FOUND);

    let events = all_events(&app, &admin).await;
    let created: Vec<&Value> = events
        .iter()
        .filter(|e| e["action"] == "token.created")
        .collect();
    assert_eq!(created.len(), 1, "the refused creation is not on record");
    assert_eq!(
        find(&events, "token.deactivated", id).len(),
        1,
        "one deactivation"
    );
    assert!(find(&events, "token.deleted", &unknown.to_string()).is_empty());
    app.stop().await;
}

/// A user with `credentials.manage` reads what they did and what touched
/// their credentials, nothing of anyone else's; a token without it reads
/// nothing.
#[tokio::test]
async fn users_read_only_what_involves_them() {
    let app = TestApp::spawn().await;
    app.user("ann@example.com", &["member"]).await;
    app.user("bob@example.com", &["member"]).await;
    let ann = login(&app, "ann@example.com", PASSWORD).await;
    let bob = login(&app, "bob@example.com", PASSWORD).await;
    let tokens = "/api/v1/integrations/tokens";
    let ann_token = ok(app.bearer(Method::POST, tokens, &ann).json(&json!({
        "name": "ann's", "scopes": ["iguide.ro"]
    })))
    .await;
    ok(app
        .bearer(Method::POST, tokens, &bob)
        .json(&json!({"name": "bob's", "scopes": ["iguide.ro"]})))
    .await;

    let seen = all_events(&app, &ann).await;
    let ids: BTreeSet<&str> = seen
        .iter()
        .filter(|e| e["action"] == "token.created")
        .filter_map(|e| e["details"]["name"].as_str())
        .collect();
    assert_eq!(ids, BTreeSet::from(["ann's"]), "{seen:#?}");

    let weak = ann_token["token"].as_str().unwrap();
    let (status, body) = send(app.bearer(Method::GET, "/api/v1/audit", weak)).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
    app.stop().await;
}
