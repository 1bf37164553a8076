//! Creating, listing, reading and editing API tokens: validation, limits,
//! least privilege and object-level access (SPEC §4 "API tokens").

use keyward_testkit::{TestApp, assert_error, at, send};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use time::Duration;

const TOKENS: &str = "/api/v1/integrations/tokens";

#[tokio::test]
async fn create_returns_the_secret_once_and_list_and_get_never_do() {
    let app = TestApp::spawn().await;
    let session = app.session("owner", &["member"]).await;
    let response = app
        .bearer(Method::POST, TOKENS, &session)
        .json(&json!({
            "name": "Staging Deployment Token",
            "description": "Token for staging environment deployments",
            "scopes": ["iguide.list", "iguide.ro", "iguide.tasks"],
            "applications": ["shop"],
            "expiresAt": at(&app, Duration::days(400)),
        }))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::CREATED);
    assert_eq!(response.headers()["cache-control"], "no-store");
    let created: Value = response.json().await.unwrap();
    let secret = created["token"].as_str().unwrap();
    assert!(secret.starts_with("kwp_") && secret.len() == 40);
    assert_eq!(created["tokenHint"], format!("...{}", &secret[36..]));
    assert_eq!(
        created["scopes"],
        json!(["iguide.list", "iguide.ro", "iguide.tasks"])
    );
    assert_eq!(created["applications"], json!(["shop"]));
    assert_eq!(created["status"], "active");
    assert_eq!(created["ageDays"], 0);
    assert_eq!(created["ageStatus"], "fresh");
    assert_eq!(created["previousToken"], Value::Null);
    assert_eq!(created["lastUsedAt"], Value::Null);
    for key in [
        "id",
        "createdAt",
        "updatedAt",
        "expiresAt",
        "description",
        "lastUsedIp",
        "renewal",
    ] {
        assert!(created.get(key).is_some(), "missing {key}");
    }

    let (status, list) = send(app.bearer(Method::GET, TOKENS, &session)).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(list.as_array().unwrap().len(), 1);
    let id = created["id"].as_str().unwrap();
    let (_, one) = send(app.bearer(Method::GET, &format!("{TOKENS}/{id}"), &session)).await;
    for shown in [&list[0], &one] {
        assert!(shown.get("token").is_none(), "secret shown again: {shown}");
        assert!(!shown.to_string().contains(&secret[4..]));
        assert_eq!(shown["tokenHint"], created["tokenHint"]);
        assert_eq!(shown["name"], "Staging Deployment Token");
    }
    app.stop().await;
}

#[tokio::test]
async fn bad_input_is_invalid_argument_naming_the_field() {
    let app = TestApp::spawn().await;
    let session = app.session("validator", &["member"]).await;
    let past = at(&app, -Duration::minutes(1));
    let cases: Vec<(Value, &str)> = vec![
        (json!({"scopes": ["iguide.list"]}), "name"),
        (json!({"name": "", "scopes": ["iguide.list"]}), "name"),
        (json!({"name": "   ", "scopes": ["iguide.list"]}), "name"),
        (
            json!({"name": "n".repeat(101), "scopes": ["iguide.list"]}),
            "name",
        ),
        (json!({"name": 5, "scopes": ["iguide.list"]}), "name"),
        (
            json!({"name": "x", "description": "d".repeat(1001), "scopes": ["iguide.list"]}),
            "description",
        ),
        (json!({"name": "x"}), "scopes"),
        (json!({"name": "x", "scopes": []}), "scopes"),
        (json!({"name": "x", "scopes": "iguide.list"}), "scopes"),
        (json!({"name": "x", "scopes": ["iguide.delete"]}), "scopes"),
        (
            json!({"name": "x", "scopes": ["iguide.list"], "applications": ["nowhere"]}),
            "applications",
        ),
        (
            json!({"name": "x", "scopes": ["iguide.list"], "expiresAt": past}),
            "expiresAt",
        ),
        (
            json!({"name": "x", "scopes": ["iguide.list"], "expiresAt": "next tuesday"}),
            "expiresAt",
        ),
        (
            json!({"name": "x", "scopes": ["iguide.list"], "ownerId": "someone"}),
            "ownerId",
        ),
        (
            json!({"name": "x", "scopes": ["iguide.list"], "isAdmin": true}),
            "isAdmin",
        ),
        (
            json!({"name": "x", "scopes": ["iguide.list"], "renewal": {"everyDays": 0, "callbackUrl": "https://x.example/cb"}}),
            "renewal.everyDays",
        ),
        (
            json!({"name": "x", "scopes": ["iguide.list"], "renewal": {"everyDays": 30, "callbackUrl": "not a url"}}),
            "renewal.callbackUrl",
        ),
        (
            json!({"name": "x", "scopes": ["iguide.list"], "renewal": {"everyDays": 30, "callbackUrl": "https://x.example/cb", "mailRecipient": "nope"}}),
            "renewal.mailRecipient",
        ),
    ];
    for (body, field) in cases {
        let (status, err) = send(app.bearer(Method::POST, TOKENS, &session).json(&body)).await;
        assert_error(
            status,
            &err,
            StatusCode::BAD_REQUEST,
            "invalid_argument",
            field,
        );
    }
    for raw in [
        "{",
        "[]",
        "null",
        "{\"name\": \"x\", \"scopes\": [\"iguide.list\"]} trailing",
        "",
    ] {
        let (status, err) = send(
            app.bearer(Method::POST, TOKENS, &session)
                .header("content-type", "application/json")
                .body(raw),
        )
        .await;
        assert_error(
            status,
            &err,
            StatusCode::BAD_REQUEST,
            "invalid_argument",
            "body",
        );
    }
    let (_, list) = send(app.bearer(Method::GET, TOKENS, &session)).await;
    assert_eq!(list, json!([]), "nothing was created by bad input");
    app.stop().await;
}

#[tokio::test]
async fn at_most_ten_active_tokens_per_user() {
    let app = TestApp::spawn().await;
    let session = app.session("hoarder", &["member"]).await;
    let mut ids = Vec::new();
    for i in 0..10 {
        let expires = if i == 0 {
            Some(at(&app, Duration::days(1)))
        } else {
            None
        };
        let t = app
            .create_token(
                &session,
                json!({"name": format!("t{i}"), "scopes": ["iguide.list"], "expiresAt": expires}),
            )
            .await;
        ids.push(t["id"].as_str().unwrap().to_owned());
    }
    let eleventh = json!({"name": "t10", "scopes": ["iguide.list"]});
    let (status, err) = send(app.bearer(Method::POST, TOKENS, &session).json(&eleventh)).await;
    assert_eq!(status, StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(
        err,
        json!({"code": "resource_exhausted", "message": "Maximum number of API tokens reached"})
    );

    // A deactivated token no longer counts...
    let (status, _) = send(app.bearer(
        Method::POST,
        &format!("{TOKENS}/{}/deactivate", ids[1]),
        &session,
    ))
    .await;
    assert_eq!(status, StatusCode::OK);
    app.create_token(&session, eleventh.clone()).await;
    let (status, _) = send(app.bearer(Method::POST, TOKENS, &session).json(&eleventh)).await;
    assert_eq!(status, StatusCode::TOO_MANY_REQUESTS);
    // ...nor does an expired one.
    app.advance(Duration::days(1));
    let session = app.login("hoarder").await;
    app.create_token(&session, eleventh.clone()).await;
    // Another user has their own allowance.
    let other = app.session("other", &["member"]).await;
    app.create_token(&other, eleventh).await;
    app.stop().await;
}

#[tokio::test]
async fn the_limit_is_configurable() {
    let app = TestApp::spawn_with(|c| c.credentials.max_tokens_per_user = 2).await;
    let session = app.session("few", &["member"]).await;
    let body = json!({"name": "t", "scopes": ["iguide.list"]});
    app.create_token(&session, body.clone()).await;
    app.create_token(&session, body.clone()).await;
    let (status, _) = send(app.bearer(Method::POST, TOKENS, &session).json(&body)).await;
    assert_eq!(status, StatusCode::TOO_MANY_REQUESTS);
    app.stop().await;
}

#[tokio::test]
async fn no_credential_can_mint_a_stronger_one() {
    let app = TestApp::spawn().await;
    let member = app.session("member", &["member"]).await;
    let (status, err) = send(
        app.bearer(Method::POST, TOKENS, &member)
            .json(&json!({"name": "x", "scopes": ["admin.users"]})),
    )
    .await;
    assert_error(
        status,
        &err,
        StatusCode::BAD_REQUEST,
        "invalid_argument",
        "scopes",
    );

    // A token limited to iguide.list + credentials.manage cannot create one with iguide.rw.
    let narrow = app
        .create_token(
            &member,
            json!({"name": "n", "scopes": ["iguide.list", "credentials.manage"]}),
        )
        .await;
    let narrow = narrow["token"].as_str().unwrap();
    let (status, err) = send(
        app.bearer(Method::POST, TOKENS, narrow)
            .json(&json!({"name": "x", "scopes": ["iguide.rw"]})),
    )
    .await;
    assert_error(
        status,
        &err,
        StatusCode::BAD_REQUEST,
        "invalid_argument",
        "iguide.rw",
    );
    app.create_token(narrow, json!({"name": "ok", "scopes": ["iguide.list"]}))
        .await;

    // Without credentials.manage a token cannot manage tokens at all.
    let reader = app
        .create_token(&member, json!({"name": "r", "scopes": ["iguide.list"]}))
        .await;
    let (status, err) =
        send(app.bearer(Method::GET, TOKENS, reader["token"].as_str().unwrap())).await;
    assert_error(
        status,
        &err,
        StatusCode::FORBIDDEN,
        "permission_denied",
        "credentials.manage",
    );
    app.stop().await;
}

#[tokio::test]
async fn effective_scopes_follow_the_owners_roles_at_use_time() {
    let app = TestApp::spawn_with(|c| {
        c.scopes.roles.insert(
            "viewer".into(),
            vec!["iguide.list".into(), "credentials.manage".into()],
        );
    })
    .await;
    let user = app.user("shifty", &["member"]).await;
    let session = app.login("shifty").await;
    let token = app
        .create_token(
            &session,
            json!({"name": "t", "scopes": ["iguide.list", "iguide.rw", "credentials.manage"]}),
        )
        .await;
    let secret = token["token"].as_str().unwrap();
    let scopes = |me: &Value| me["scopes"].clone();
    let (_, me) = send(app.bearer(Method::GET, "/api/v1/me", secret)).await;
    assert_eq!(
        scopes(&me),
        json!(["credentials.manage", "iguide.list", "iguide.rw"])
    );

    app.set_roles(user.id, &["viewer"]).await;
    let (_, me) = send(app.bearer(Method::GET, "/api/v1/me", secret)).await;
    assert_eq!(scopes(&me), json!(["credentials.manage", "iguide.list"]));
    // The stored token still lists what it was given.
    let (_, shown) = send(app.bearer(
        Method::GET,
        &format!("{TOKENS}/{}", token["id"].as_str().unwrap()),
        secret,
    ))
    .await;
    assert_eq!(
        shown["scopes"],
        json!(["credentials.manage", "iguide.list", "iguide.rw"])
    );

    app.set_status(user.id, keyward_core::model::UserStatus::Disabled)
        .await;
    assert_eq!(app.me_status(secret).await, StatusCode::UNAUTHORIZED);
    app.stop().await;
}

#[tokio::test]
async fn other_users_tokens_are_not_found_and_admins_may_name_a_user() {
    let app = TestApp::spawn().await;
    let alice = app.session("alice", &["member"]).await;
    let bob_user = app.user("bob", &["member"]).await;
    let bob = app.login("bob").await;
    let token = app
        .create_token(&alice, json!({"name": "a", "scopes": ["iguide.list"]}))
        .await;
    let id = token["id"].as_str().unwrap();
    let path = format!("{TOKENS}/{id}");
    for (method, path, body) in [
        (Method::GET, path.clone(), None),
        (
            Method::PATCH,
            path.clone(),
            Some(json!({"name": "mine now"})),
        ),
        (Method::DELETE, path.clone(), None),
        (Method::POST, format!("{path}/rotate"), None),
        (Method::POST, format!("{path}/revokePrevious"), None),
        (Method::POST, format!("{path}/deactivate"), None),
        (
            Method::POST,
            format!("{path}/renew"),
            Some(json!({"name": "n", "expireCurrentAt": at(&app, Duration::hours(1))})),
        ),
    ] {
        let mut request = app.bearer(method.clone(), &path, &bob);
        if let Some(body) = body {
            request = request.json(&body);
        }
        let (status, err) = send(request).await;
        assert_error(status, &err, StatusCode::NOT_FOUND, "not_found", "token");
    }
    let (status, _) = send(app.bearer(Method::GET, &path, &alice)).await;
    assert_eq!(status, StatusCode::OK, "alice's token is untouched");
    let (_, shown) = send(app.bearer(Method::GET, &path, &alice)).await;
    assert_eq!(shown["name"], "a");
    assert_eq!(shown["status"], "active");

    // A member may not name another user; an admin may.
    let (status, err) = send(app.bearer(
        Method::GET,
        &format!("{TOKENS}?userId={}", bob_user.id),
        &alice,
    ))
    .await;
    assert_error(
        status,
        &err,
        StatusCode::FORBIDDEN,
        "permission_denied",
        "admin.users",
    );
    let admin = app.session("root", &["admin"]).await;
    app.create_token(&bob, json!({"name": "b", "scopes": ["iguide.list"]}))
        .await;
    let (status, list) = send(app.bearer(
        Method::GET,
        &format!("{TOKENS}?userId={}", bob_user.id),
        &admin,
    ))
    .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(list.as_array().unwrap().len(), 1);
    assert_eq!(list[0]["name"], "b");
    let (status, err) =
        send(app.bearer(Method::GET, &format!("{TOKENS}?userId=not-a-uuid"), &admin)).await;
    assert_error(
        status,
        &err,
        StatusCode::BAD_REQUEST,
        "invalid_argument",
        "userId",
    );
    app.stop().await;
}

#[tokio::test]
async fn patch_changes_names_and_moves_expiry_only_earlier() {
    let app = TestApp::spawn().await;
    let session = app.session("patcher", &["member"]).await;
    let token = app
        .create_token(&session, json!({"name": "before", "description": "d", "scopes": ["iguide.list"], "expiresAt": at(&app, Duration::days(30))}))
        .await;
    let path = format!("{TOKENS}/{}", token["id"].as_str().unwrap());
    app.advance(Duration::seconds(5));
    let (status, patched) = send(app.bearer(Method::PATCH, &path, &session).json(
        &json!({"name": "after", "description": null, "expiresAt": at(&app, Duration::days(10))}),
    ))
    .await;
    assert_eq!(status, StatusCode::OK, "{patched}");
    assert_eq!(patched["name"], "after");
    assert_eq!(patched["description"], Value::Null);
    assert_eq!(patched["expiresAt"], at(&app, Duration::days(10)));
    assert_ne!(patched["updatedAt"], token["updatedAt"]);
    assert!(patched.get("token").is_none());

    for (body, field) in [
        (
            json!({"expiresAt": at(&app, Duration::days(11))}),
            "expiresAt",
        ),
        (json!({"expiresAt": null}), "expiresAt"),
        (
            json!({"expiresAt": at(&app, -Duration::days(1))}),
            "expiresAt",
        ),
        (json!({"scopes": ["iguide.rw"]}), "scopes"),
        (json!({"name": ""}), "name"),
        (json!({"token": "kwp_x"}), "token"),
    ] {
        let (status, err) = send(app.bearer(Method::PATCH, &path, &session).json(&body)).await;
        assert_error(
            status,
            &err,
            StatusCode::BAD_REQUEST,
            "invalid_argument",
            field,
        );
    }
    let (_, unchanged) = send(app.bearer(Method::GET, &path, &session)).await;
    assert_eq!(unchanged["expiresAt"], patched["expiresAt"]);
    assert_eq!(unchanged["scopes"], json!(["iguide.list"]));
    app.stop().await;
}

#[tokio::test]
async fn a_renewal_policy_returns_its_callback_secret_once() {
    let app = TestApp::spawn().await;
    let session = app.session("renewer", &["member"]).await;
    let token = app
        .create_token(&session, json!({"name": "auto", "scopes": ["iguide.list"],
            "renewal": {"everyDays": 30, "callbackUrl": "https://hooks.example.com/kw", "mailRecipient": "ops@example.com"}}))
        .await;
    let secret = token["renewal"]["callbackSecret"].as_str().unwrap();
    assert!(secret.starts_with("kww_") && secret.len() == 40);
    assert_eq!(token["renewal"]["everyDays"], 30);
    let path = format!("{TOKENS}/{}", token["id"].as_str().unwrap());
    let (_, shown) = send(app.bearer(Method::GET, &path, &session)).await;
    assert_eq!(
        shown["renewal"]["callbackUrl"],
        "https://hooks.example.com/kw"
    );
    assert!(shown["renewal"].get("callbackSecret").is_none());
    let (_, cleared) = send(
        app.bearer(Method::PATCH, &path, &session)
            .json(&json!({"renewal": null})),
    )
    .await;
    assert_eq!(cleared["renewal"], Value::Null);
    app.stop().await;
}
