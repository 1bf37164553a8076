//! Administration from outside, as an operator runs it: users over the API
//! (create, list with filters and pages, change, reset, disable, delete),
//! the last-admin rule, sessions dying on disable and reset (also on another
//! instance), every user's credentials listed page by page, and a user
//! changing their own password.

use std::collections::BTreeSet;

use keyward_testkit::{PASSWORD, TestApp, assert_error, send};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::oauth_support::{create_app, str_of};

const USERS: &str = "/api/v1/admin/users";

async fn admin(app: &TestApp, name: &str) -> String {
    app.session(name, &["admin"]).await
}

/// Follows `Link: rel="next"` from `path` to the end; every item once.
async fn walk(app: &TestApp, secret: &str, path: &str) -> Vec<Value> {
    let mut items = Vec::new();
    let mut next = Some(app.url(path));
    let mut pages = 0;
    while let Some(url) = next {
        let response = app
            .client
            .get(&url)
            .bearer_auth(secret)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::OK);
        next = response
            .headers()
            .get("link")
            .map(|l| l.to_str().unwrap().to_owned())
            .map(|l| {
                assert!(l.ends_with("; rel=\"next\""), "{l}");
                l.trim_start_matches('<')
                    .split('>')
                    .next()
                    .unwrap()
                    .to_owned()
            });
        let page: Value = response.json().await.unwrap();
        items.extend(page.as_array().expect("a plain array body").iter().cloned());
        pages += 1;
        assert!(pages < 1000, "the walk ends");
    }
    items
}

#[tokio::test]
async fn users_are_managed_over_the_api() {
    let app = TestApp::spawn().await;
    let root = admin(&app, "root").await;
    let (status, mary) = send(app.bearer(Method::POST, USERS, &root).json(&json!({
        "username": "mary@example.com", "password": "a sturdy passphrase", "email": "Mary.G@example.com"
    })))
    .await;
    assert_eq!(status, StatusCode::CREATED, "{mary}");
    assert_eq!(mary["roles"], json!(["member"]));
    assert_eq!(mary["email"], "Mary.G@example.com");
    assert!(mary.get("password").is_none() && !mary.to_string().contains("argon2"));
    let id = str_of(&mary, "id").to_owned();

    // Bad input is named.
    for (body, field) in [
        (
            json!({"username": "weak", "password": "password1234"}),
            "password",
        ),
        (
            json!({"username": "short", "password": "short"}),
            "password",
        ),
        (
            json!({"username": "x y", "password": "a sturdy passphrase"}),
            "username",
        ),
        (
            json!({"username": "r", "password": "a sturdy passphrase", "roles": ["ghost"]}),
            "roles",
        ),
        (
            json!({"username": "e", "password": "a sturdy passphrase", "email": "nope"}),
            "email",
        ),
        (
            json!({"username": "e", "password": "a sturdy passphrase", "isAdmin": true}),
            "isAdmin",
        ),
    ] {
        let (status, err) = send(app.bearer(Method::POST, USERS, &root).json(&body)).await;
        assert_error(
            status,
            &err,
            StatusCode::BAD_REQUEST,
            "invalid_argument",
            field,
        );
    }
    let (status, err) = send(app.bearer(Method::POST, USERS, &root).json(&json!({
        "username": "MARY@example.com", "password": "a sturdy passphrase"
    })))
    .await;
    assert_error(
        status,
        &err,
        StatusCode::CONFLICT,
        "already_exists",
        "username",
    );

    let (status, got) = send(app.bearer(Method::GET, &format!("{USERS}/{id}"), &root)).await;
    assert_eq!((status, &got), (StatusCode::OK, &mary));
    let (status, found) = send(app.bearer(Method::GET, &format!("{USERS}?q=MARY.g"), &root)).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        found.as_array().unwrap().len(),
        1,
        "the e-mail prefix matches: {found}"
    );
    let (_, admins) = send(app.bearer(Method::GET, &format!("{USERS}?role=admin"), &root)).await;
    assert_eq!(admins.as_array().unwrap().len(), 1);
    let (status, err) = send(app.bearer(Method::GET, &format!("{USERS}?status=gone"), &root)).await;
    assert_error(
        status,
        &err,
        StatusCode::BAD_REQUEST,
        "invalid_argument",
        "status",
    );

    // Mary signs in, is made an admin, then disabled: her session dies.
    let (status, login) = send(app.request(Method::POST, "/api/v1/login").json(&json!({
        "username": "mary@example.com", "password": "a sturdy passphrase"
    })))
    .await;
    assert_eq!(status, StatusCode::OK);
    let session = str_of(&login, "token").to_owned();
    let (status, changed) = send(
        app.bearer(Method::PATCH, &format!("{USERS}/{id}"), &root)
            .json(&json!({"roles": ["admin"], "email": null})),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{changed}");
    assert_eq!(changed["email"], Value::Null);
    let (_, me) = send(app.bearer(Method::GET, "/api/v1/me", &session)).await;
    assert!(
        me["scopes"]
            .as_array()
            .unwrap()
            .contains(&json!("admin.users")),
        "at once: {me}"
    );
    let (status, _) = send(
        app.bearer(Method::PATCH, &format!("{USERS}/{id}"), &root)
            .json(&json!({"status": "disabled"})),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(app.me_status(&session).await, StatusCode::UNAUTHORIZED);
    let (status, _) = send(app.request(Method::POST, "/api/v1/login").json(&json!({
        "username": "mary@example.com", "password": "a sturdy passphrase"
    })))
    .await;
    assert_eq!(
        status,
        StatusCode::UNAUTHORIZED,
        "a disabled user cannot sign in"
    );

    // Deleting a user deletes every credential of theirs.
    let (status, _) = send(
        app.bearer(Method::PATCH, &format!("{USERS}/{id}"), &root)
            .json(&json!({"status": "active"})),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    let session = {
        let (_, login) = send(app.request(Method::POST, "/api/v1/login").json(&json!({
            "username": "mary@example.com", "password": "a sturdy passphrase"
        })))
        .await;
        str_of(&login, "token").to_owned()
    };
    let token = app
        .create_token(&session, json!({"name": "t", "scopes": ["iguide.ro"]}))
        .await;
    let (status, _) = send(app.bearer(Method::DELETE, &format!("{USERS}/{id}"), &root)).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        app.me_status(str_of(&token, "token")).await,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(app.me_status(&session).await, StatusCode::UNAUTHORIZED);
    let (status, _) = send(app.bearer(Method::GET, &format!("{USERS}/{id}"), &root)).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, err) = send(app.bearer(Method::GET, &format!("{USERS}/not-a-uuid"), &root)).await;
    assert_error(
        status,
        &err,
        StatusCode::BAD_REQUEST,
        "invalid_argument",
        "id",
    );
    app.stop().await;
}

#[tokio::test]
async fn only_admins_administer() {
    let app = TestApp::spawn().await;
    let member = app.session("plain-member", &["member"]).await;
    let root = admin(&app, "root-2").await;
    // An admin's token without admin.users, or restricted to applications.
    let narrow = app
        .create_token(
            &root,
            json!({"name": "n", "scopes": ["credentials.manage"]}),
        )
        .await;
    let restricted = app
        .create_token(
            &root,
            json!({"name": "r", "scopes": ["admin.users"], "applications": ["shop"]}),
        )
        .await;
    for secret in [
        member.as_str(),
        str_of(&narrow, "token"),
        str_of(&restricted, "token"),
    ] {
        for (method, path) in [
            (Method::GET, USERS.to_owned()),
            (Method::GET, "/api/v1/admin/tokens".to_owned()),
            (Method::GET, "/api/v1/admin/apps".to_owned()),
            (Method::DELETE, format!("{USERS}/{}", uuid::Uuid::new_v4())),
        ] {
            let (status, body) = send(app.bearer(method.clone(), &path, secret)).await;
            assert_eq!(status, StatusCode::FORBIDDEN, "{method} {path}: {body}");
            assert_eq!(body["code"], "permission_denied");
        }
    }
    app.stop().await;
}

#[tokio::test]
async fn the_last_active_admin_is_kept() {
    let app = TestApp::spawn().await;
    let root = admin(&app, "only-root").await;
    let me = app
        .keyward
        .find_user_by_username("only-root")
        .await
        .unwrap();
    let path = format!("{USERS}/{}", me.id);
    for body in [json!({"status": "disabled"}), json!({"roles": ["member"]})] {
        let (status, err) = send(app.bearer(Method::PATCH, &path, &root).json(&body)).await;
        assert_error(
            status,
            &err,
            StatusCode::CONFLICT,
            "failed_precondition",
            "last active admin",
        );
    }
    let (status, err) = send(app.bearer(Method::DELETE, &path, &root)).await;
    assert_error(
        status,
        &err,
        StatusCode::CONFLICT,
        "failed_precondition",
        "last active admin",
    );
    // With a second admin, either may go.
    app.user("second-root", &["admin"]).await;
    let (status, _) = send(
        app.bearer(Method::PATCH, &path, &root)
            .json(&json!({"roles": ["member"]})),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    app.stop().await;
}

#[tokio::test]
async fn a_password_reset_ends_the_sessions_on_every_instance() {
    let (a, b) = crate::instances::pair().await;
    let root = a.session("reset-root", &["admin"]).await;
    let user = a.user("reset-me", &["member"]).await;
    let session = b.login("reset-me").await;
    for _ in 0..3 {
        assert_eq!(b.me_status(&session).await, StatusCode::OK, "cached on B");
    }
    let (status, body) = send(
        a.bearer(Method::PATCH, &format!("{USERS}/{}", user.id), &root)
            .json(&json!({"password": "a brand new passphrase"})),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let start = std::time::Instant::now();
    while b.me_status(&session).await != StatusCode::UNAUTHORIZED {
        assert!(
            start.elapsed() < std::time::Duration::from_secs(1),
            "B still lets the session in"
        );
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
    let (status, _) = send(b.request(Method::POST, "/api/v1/login").json(&json!({
        "username": "reset-me", "password": "a brand new passphrase"
    })))
    .await;
    assert_eq!(status, StatusCode::OK, "the new password works");
    b.stop().await;
    a.stop().await;
}

#[tokio::test]
async fn users_change_their_own_password() {
    let app = TestApp::spawn().await;
    app.user("self-service", &["member"]).await;
    let here = app.login("self-service").await;
    let elsewhere = app.login("self-service").await;
    let change = |secret: &str, current: &str, new: &str| {
        app.bearer(Method::POST, "/api/v1/me/password", secret)
            .json(&json!({"current": current, "new": new}))
    };
    let (status, err) = send(change(&here, "not my password", "another sturdy phrase")).await;
    assert_error(
        status,
        &err,
        StatusCode::BAD_REQUEST,
        "invalid_argument",
        "current",
    );
    let (status, err) = send(change(&here, PASSWORD, "password1234")).await;
    assert_error(
        status,
        &err,
        StatusCode::BAD_REQUEST,
        "invalid_argument",
        "new",
    );
    // A token may not change its user's password.
    let token = app
        .create_token(
            &here,
            json!({"name": "t", "scopes": ["credentials.manage"]}),
        )
        .await;
    let (status, _) = send(change(
        str_of(&token, "token"),
        PASSWORD,
        "another sturdy phrase",
    ))
    .await;
    assert_eq!(status, StatusCode::FORBIDDEN);

    let (status, body) = send(change(&here, PASSWORD, "another sturdy phrase")).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(
        app.me_status(&here).await,
        StatusCode::OK,
        "this session goes on"
    );
    assert_eq!(
        app.me_status(&elsewhere).await,
        StatusCode::UNAUTHORIZED,
        "the others end"
    );
    let (status, _) = send(app.request(Method::POST, "/api/v1/login").json(&json!({
        "username": "self-service", "password": PASSWORD
    })))
    .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "the old password is gone");
    app.stop().await;
}

/// A few thousand tokens of several users, walked page by page through the
/// admin list and an owner's list: no duplicate, no gap, the filters hold.
#[tokio::test]
async fn every_credential_is_listed_page_by_page() {
    let app = TestApp::spawn_with(|c| c.credentials.max_tokens_per_user = 5000).await;
    let root = admin(&app, "lister-root").await;
    let mut ids = BTreeSet::new();
    let mut owners = Vec::new();
    for n in 0..3 {
        let name = format!("owner-{n}");
        let user = app.user(&name, &["member"]).await;
        owners.push(user.clone());
        for i in 0..800 {
            let expires = (i % 4 == 0).then(|| app.clock_in(time::Duration::days(3 + i % 20)));
            let input = keyward_core::service::CreateToken {
                name: format!("t{i}"),
                scopes: vec!["iguide.ro".into()],
                expires_at: expires,
                ..Default::default()
            };
            let issued = app
                .keyward
                .issue_token(&keyward_core::service::Actor::system(), &user, input)
                .await
                .unwrap();
            ids.insert(issued.view.token.id.to_string());
        }
    }
    let listed = walk(&app, &root, "/api/v1/admin/tokens?limit=100").await;
    let listed_ids: Vec<String> = listed.iter().map(|t| str_of(t, "id").to_owned()).collect();
    let unique: BTreeSet<String> = listed_ids.iter().cloned().collect();
    assert_eq!(unique.len(), listed_ids.len(), "no duplicate");
    assert!(ids.is_subset(&unique), "no gap");
    for t in &listed {
        assert!(t.get("token").is_none(), "never a secret");
    }
    let created: Vec<&str> = listed.iter().map(|t| str_of(t, "createdAt")).collect();
    assert!(created.windows(2).all(|w| w[0] <= w[1]), "oldest first");

    let theirs = walk(
        &app,
        &root,
        &format!("/api/v1/admin/tokens?userId={}&limit=37", owners[1].id),
    )
    .await;
    assert_eq!(theirs.len(), 800);
    let soon = walk(&app, &root, "/api/v1/admin/tokens?expiringWithinDays=7").await;
    // Expiring in 3..=7 days: i % 4 == 0 and i % 20 in 0..=4, for each owner.
    assert_eq!(
        soon.len(),
        3 * (0..800).filter(|i| i % 4 == 0 && i % 20 <= 4).count()
    );
    let never = walk(
        &app,
        &root,
        "/api/v1/admin/tokens?neverExpires=true&limit=100",
    )
    .await;
    assert_eq!(never.len(), 3 * 600, "tokens without expiry");

    // The owner's own list pages too, with its plain-array body.
    let session = app.login("owner-2").await;
    let own = walk(&app, &session, "/api/v1/integrations/tokens?limit=64").await;
    assert_eq!(own.len(), 800);
    for (query, field) in [
        ("limit=0", "limit"),
        ("limit=101", "limit"),
        ("cursor=forged", "cursor"),
        ("limit=x", "limit"),
        ("bogus=1", "bogus"),
    ] {
        let (status, err) = send(app.bearer(
            Method::GET,
            &format!("/api/v1/integrations/tokens?{query}"),
            &session,
        ))
        .await;
        assert_error(
            status,
            &err,
            StatusCode::BAD_REQUEST,
            "invalid_argument",
            field,
        );
    }
    // Apps, too.
    for n in 0..3 {
        create_app(
            &app,
            &session,
            json!({"clientName": format!("a{n}"), "redirectUris": ["https://a.example/cb"], "scope": ["iguide.ro"]}),
        )
        .await;
    }
    assert_eq!(
        walk(&app, &session, "/api/v1/integrations/apps?limit=2")
            .await
            .len(),
        3
    );
    assert_eq!(
        walk(&app, &root, "/api/v1/admin/apps?limit=1").await.len(),
        3
    );
    app.stop().await;
}
