//! No credential obtains a stronger one (SPEC §3; the security audit's items
//! 1, 2, 3, 5 and 6): every operation that returns a secret or decides where
//! one is sent needs the caller to cover the target's scopes and
//! applications; application-restricted tokens manage nothing; narrowing an
//! app reaches what it already issued; a token is renewed once; and a bearer
//! revokes only what is its to revoke.

use std::collections::BTreeSet;

use keyward_testkit::{TestApp, assert_error, at, send};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::oauth_support::{
    APPS, Auth, client_credentials, create_app, form_request, grant, refresh, reply, str_of,
};

const TOKENS: &str = "/api/v1/integrations/tokens";
const MANAGE: &str = "credentials.manage";

/// Every string in `body` shaped like a Keyward secret that only a
/// management answer hands out (token, client or callback secret).
fn secrets_in(body: &Value) -> Vec<String> {
    let text = body.to_string();
    let mut found = Vec::new();
    for prefix in ["kwp_", "kwc_", "kww_"] {
        for (i, _) in text.match_indices(prefix) {
            found.push(text[i..(i + 40).min(text.len())].to_owned());
        }
    }
    found
}

/// What of a user's tokens an operation could have changed: their secrets
/// (hints), expiry, renewal policy and successor (not `lastUsedAt`, which
/// the write-behind may move at any time).
async fn fingerprint(app: &TestApp, session: &str) -> Vec<Value> {
    let (status, list) = send(app.bearer(Method::GET, TOKENS, session)).await;
    assert_eq!(status, StatusCode::OK);
    list.as_array()
        .unwrap()
        .iter()
        .map(|t| {
            json!([
                t["id"],
                t["tokenHint"],
                t["expiresAt"],
                t["renewal"],
                t["renewedTo"],
                t["previousToken"]
            ])
        })
        .collect()
}

/// A token kind in the walk: its scopes and applications.
#[derive(Debug, Clone)]
struct Shape {
    scopes: BTreeSet<&'static str>,
    applications: BTreeSet<&'static str>,
}

impl Shape {
    fn new(scopes: &[&'static str], applications: &[&'static str]) -> Self {
        Self {
            scopes: scopes.iter().copied().collect(),
            applications: applications.iter().copied().collect(),
        }
    }

    /// The rule under test: may a credential of this shape act on `target`?
    fn covers(&self, target: &Shape) -> bool {
        self.applications.is_empty()
            && self.scopes.contains(MANAGE)
            && target.scopes.is_subset(&self.scopes)
    }

    fn body(&self, name: &str) -> Value {
        json!({"name": name, "scopes": self.scopes, "applications": self.applications})
    }
}

/// Creates a token of `shape` with the session; returns (id, secret).
async fn make(app: &TestApp, session: &str, shape: &Shape) -> (String, String) {
    let token = app.create_token(session, shape.body("walk")).await;
    (
        str_of(&token, "id").to_owned(),
        str_of(&token, "token").to_owned(),
    )
}

/// The walk the audit asks for: every ordered pair of token shapes of one
/// user, weaker and stronger, through every operation that returns a secret
/// or decides where one goes. Each is allowed exactly when the caller covers
/// the target; a refusal is 403, hands out no secret, and changes nothing.
#[tokio::test]
async fn no_operation_hands_a_weaker_token_a_stronger_ones_secret() {
    let app = TestApp::spawn_with(|c| c.credentials.max_tokens_per_user = 1000).await;
    let session = app.session("walker", &["member"]).await;
    let shapes = [
        Shape::new(&[MANAGE], &[]),
        Shape::new(&[MANAGE, "iguide.ro"], &[]),
        Shape::new(&[MANAGE, "iguide.rw"], &[]),
        Shape::new(&[MANAGE, "iguide.ro", "iguide.rw"], &[]),
        Shape::new(&[MANAGE, "iguide.ro"], &["shop"]),
        Shape::new(&["iguide.ro"], &["shop"]),
    ];
    let renewal = json!({"everyDays": 30, "callbackUrl": "https://hooks.example/renew"});
    let mut checked = 0;
    for caller in &shapes {
        for target in &shapes {
            let allowed = caller.covers(target);
            let (_, caller_secret) = make(&app, &session, caller).await;
            let (target_id, target_secret) = make(&app, &session, target).await;
            let operations = [
                (
                    Method::POST,
                    format!("{TOKENS}/{target_id}/rotate"),
                    json!({}),
                ),
                (
                    Method::POST,
                    format!("{TOKENS}/{target_id}/renew"),
                    json!({"name": "next", "expireCurrentAt": at(&app, time::Duration::hours(1))}),
                ),
                (
                    Method::PATCH,
                    format!("{TOKENS}/{target_id}"),
                    json!({"renewal": renewal}),
                ),
            ];
            for (method, path, body) in operations {
                let before = fingerprint(&app, &session).await;
                let (status, answer) = send(
                    app.bearer(method.clone(), &path, &caller_secret)
                        .json(&body),
                )
                .await;
                let what = format!("{caller:?} {method} {path} on {target:?}");
                if allowed {
                    assert!(status.is_success(), "{what}: {status} {answer}");
                    assert!(
                        !secrets_in(&answer).is_empty(),
                        "{what}: a secret is returned"
                    );
                    continue;
                }
                assert_eq!(status, StatusCode::FORBIDDEN, "{what}: {answer}");
                assert_eq!(answer["code"], "permission_denied", "{what}");
                assert!(secrets_in(&answer).is_empty(), "{what}: {answer}");
                let after = fingerprint(&app, &session).await;
                assert_eq!(before, after, "{what}: a refusal changes nothing");
                checked += 1;
            }
            // A refused target still has its own secret; an allowed rotation
            // kept the old one for the grace period.
            assert_eq!(app.me_status(&target_secret).await, StatusCode::OK);
        }
    }
    assert!(checked >= 40, "refusals walked: {checked}");
    // The session holds the user's full rights: it may act on any of them.
    for shape in &shapes {
        let (id, _) = make(&app, &session, shape).await;
        let (status, body) =
            send(app.bearer(Method::POST, &format!("{TOKENS}/{id}/rotate"), &session)).await;
        assert_eq!(status, StatusCode::OK, "{shape:?}: {body}");
    }
    app.stop().await;
}

/// Creating a token: scopes within the caller's (400 naming `scopes`), and
/// the application restriction inherited (restricted tokens manage nothing).
#[tokio::test]
async fn a_new_token_is_never_stronger_than_its_maker() {
    let app = TestApp::spawn().await;
    let session = app.session("maker", &["member"]).await;
    let (_, weak) = make(&app, &session, &Shape::new(&[MANAGE, "iguide.ro"], &[])).await;
    let (status, body) = send(
        app.bearer(Method::POST, TOKENS, &weak)
            .json(&json!({"name": "x", "scopes": ["iguide.rw"]})),
    )
    .await;
    assert_error(
        status,
        &body,
        StatusCode::BAD_REQUEST,
        "invalid_argument",
        "scopes",
    );
    let (status, body) = send(
        app.bearer(Method::POST, TOKENS, &weak)
            .json(&json!({"name": "x", "scopes": ["iguide.ro"], "applications": ["shop"]})),
    )
    .await;
    assert_eq!(
        status,
        StatusCode::CREATED,
        "restricting further is fine: {body}"
    );

    // A token restricted to an application is for that application, not
    // for Keyward's management API: it cannot mint an unrestricted token,
    // nor a restricted one, nor list or rotate anything.
    let (shop_id, shop) = make(
        &app,
        &session,
        &Shape::new(&[MANAGE, "iguide.ro"], &["shop"]),
    )
    .await;
    let app_client = create_app(
        &app,
        &session,
        json!({"clientName": "c", "redirectUris": ["https://c.example/cb"], "scope": ["iguide.ro"]}),
    )
    .await;
    for (method, path, body) in [
        (
            Method::POST,
            TOKENS.to_owned(),
            json!({"name": "x", "scopes": ["iguide.ro"]}),
        ),
        (
            Method::POST,
            TOKENS.to_owned(),
            json!({"name": "x", "scopes": ["iguide.ro"], "applications": ["shop"]}),
        ),
        (Method::GET, TOKENS.to_owned(), Value::Null),
        (
            Method::POST,
            format!("{TOKENS}/{shop_id}/rotate"),
            json!({}),
        ),
        (
            Method::POST,
            APPS.to_owned(),
            json!({"clientName": "x", "redirectUris": ["https://c.example/cb"], "scope": ["iguide.ro"]}),
        ),
        (
            Method::POST,
            format!("{APPS}/{}/rotate", app_client.id),
            Value::Null,
        ),
    ] {
        let mut request = app.bearer(method.clone(), &path, &shop);
        if !body.is_null() {
            request = request.json(&body);
        }
        let (status, answer) = send(request).await;
        assert_error(
            status,
            &answer,
            StatusCode::FORBIDDEN,
            "permission_denied",
            "restricted",
        );
        assert!(secrets_in(&answer).is_empty(), "{method} {path}: {answer}");
    }
    // It still verifies for its application, which is what it is for.
    assert_eq!(app.me_status(&shop).await, StatusCode::OK);
    app.stop().await;
}

/// An admin acting for another user (`?userId=`) cannot give that user a
/// token with scopes the user's roles do not allow.
#[tokio::test]
async fn an_admin_cannot_give_a_user_scopes_beyond_their_roles() {
    let app = TestApp::spawn().await;
    let admin = app.session("root", &["admin"]).await;
    let member = app.user("member-of-root", &["member"]).await;
    let path = format!("{TOKENS}?userId={}", member.id);
    for scope in ["admin.users", "metrics.read"] {
        let (status, body) = send(
            app.bearer(Method::POST, &path, &admin)
                .json(&json!({"name": "x", "scopes": [scope]})),
        )
        .await;
        assert_error(
            status,
            &body,
            StatusCode::BAD_REQUEST,
            "invalid_argument",
            "scopes",
        );
    }
    let (status, body) = send(
        app.bearer(Method::POST, &path, &admin)
            .json(&json!({"name": "x", "scopes": ["iguide.ro"]})),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    app.stop().await;
}

/// App-secret rotation and app changes: only a credential covering the
/// app's scope (as its owner may grant it) may rotate or repoint it.
#[tokio::test]
async fn a_weaker_token_cannot_rotate_or_repoint_a_stronger_app() {
    let app = TestApp::spawn().await;
    let session = app.session("apper", &["member"]).await;
    let strong = create_app(
        &app,
        &session,
        json!({"clientName": "strong", "redirectUris": ["https://s.example/cb"], "scope": ["iguide.rw", "iguide.ro"]}),
    )
    .await;
    let (_, weak) = make(&app, &session, &Shape::new(&[MANAGE, "iguide.ro"], &[])).await;
    let (status, body) =
        send(app.bearer(Method::POST, &format!("{APPS}/{}/rotate", strong.id), &weak)).await;
    assert_error(
        status,
        &body,
        StatusCode::FORBIDDEN,
        "permission_denied",
        "iguide.rw",
    );
    assert!(secrets_in(&body).is_empty(), "{body}");
    let (status, body) = send(
        app.bearer(Method::PATCH, &format!("{APPS}/{}", strong.id), &weak)
            .json(&json!({"redirectUris": ["https://evil.example/cb"]})),
    )
    .await;
    assert_error(
        status,
        &body,
        StatusCode::FORBIDDEN,
        "permission_denied",
        "iguide.rw",
    );
    // The old secret still works: nothing was rotated.
    client_credentials(&app, &strong).await;
    let (_, full) = make(
        &app,
        &session,
        &Shape::new(&[MANAGE, "iguide.ro", "iguide.rw"], &[]),
    )
    .await;
    let (status, body) =
        send(app.bearer(Method::POST, &format!("{APPS}/{}/rotate", strong.id), &full)).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert!(str_of(&body, "clientSecret").starts_with("kwc_"));
    app.stop().await;
}

/// Narrowing an app's scope reaches the access and refresh tokens it has
/// already issued: they act with their scopes ∩ the app's ∩ the owner's,
/// at use and at refresh.
#[tokio::test]
async fn narrowing_an_app_narrows_what_it_already_issued() {
    let app = TestApp::spawn().await;
    let session = app.session("narrower", &["member"]).await;
    let client = create_app(
        &app,
        &session,
        json!({"clientName": "wide", "redirectUris": ["https://w.example/cb"],
               "scope": ["iguide.list", "iguide.ro", "credentials.manage"]}),
    )
    .await;
    let cc = client_credentials(&app, &client).await;
    let access = str_of(&cc, "access_token").to_owned();
    let granted = grant(&app, &session, &client).await;
    let code_access = str_of(&granted, "access_token").to_owned();
    let refresh_token = str_of(&granted, "refresh_token").to_owned();
    let scopes_of = |body: &Value| -> Vec<String> {
        body["scopes"]
            .as_array()
            .unwrap()
            .iter()
            .map(|s| s.as_str().unwrap().to_owned())
            .collect()
    };
    let (_, me) = send(app.bearer(Method::GET, "/api/v1/me", &access)).await;
    assert_eq!(
        scopes_of(&me),
        ["credentials.manage", "iguide.list", "iguide.ro"]
    );

    let (status, body) = send(
        app.bearer(Method::PATCH, &format!("{APPS}/{}", client.id), &session)
            .json(&json!({"scope": ["iguide.list"]})),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    for token in [&access, &code_access] {
        let (_, me) = send(app.bearer(Method::GET, "/api/v1/me", token)).await;
        assert_eq!(
            scopes_of(&me),
            ["iguide.list"],
            "at once, from the cache too"
        );
        // No longer a manager: the token cannot mint anything.
        let (status, _) = send(
            app.bearer(Method::POST, TOKENS, token)
                .json(&json!({"name": "x", "scopes": ["iguide.list"]})),
        )
        .await;
        assert_eq!(status, StatusCode::FORBIDDEN);
    }
    let refreshed = refresh(&app, &client, &refresh_token).await;
    assert_eq!(refreshed.status, StatusCode::OK, "{}", refreshed.text);
    let refreshed = refreshed.json();
    assert_eq!(
        refreshed["scope"], "iguide.list",
        "a refresh returns only what the app has"
    );
    // Widening the app again does not bring the lost scopes back to the
    // refreshed grant.
    let (status, _) = send(
        app.bearer(Method::PATCH, &format!("{APPS}/{}", client.id), &session)
            .json(&json!({"scope": ["iguide.list", "iguide.ro", "credentials.manage"]})),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    let again = refresh(&app, &client, str_of(&refreshed, "refresh_token")).await;
    assert_eq!(again.status, StatusCode::OK, "{}", again.text);
    assert_eq!(again.json()["scope"], "iguide.list");
    app.stop().await;
}

/// A token is renewed once (409 after that; its successor can be), and at
/// the token limit the current token may stay valid at most the longest
/// grace period after a renewal.
#[tokio::test]
async fn renew_respects_the_token_limit() {
    let app = TestApp::spawn_with(|c| c.credentials.max_tokens_per_user = 2).await;
    let session = app.session("renewer", &["member"]).await;
    let first = app
        .create_token(&session, json!({"name": "a", "scopes": ["iguide.ro"]}))
        .await;
    let renew = |id: &str, hours: i64| {
        app.bearer(Method::POST, &format!("{TOKENS}/{id}/renew"), &session)
            .json(
                &json!({"name": "next", "expireCurrentAt": at(&app, time::Duration::hours(hours))}),
            )
    };
    let (status, successor) = send(renew(str_of(&first, "id"), 1)).await;
    assert_eq!(status, StatusCode::CREATED, "{successor}");
    let (status, body) = send(renew(str_of(&first, "id"), 1)).await;
    assert_error(
        status,
        &body,
        StatusCode::CONFLICT,
        "failed_precondition",
        "renewed",
    );
    let (_, old) = send(app.bearer(
        Method::GET,
        &format!("{TOKENS}/{}", str_of(&first, "id")),
        &session,
    ))
    .await;
    assert_eq!(old["renewedTo"], successor["id"]);

    // Two active tokens now, the limit: the successor's renewal may keep it
    // alive at most 30 days (max_grace_seconds), not longer.
    let (status, body) = send(renew(str_of(&successor, "id"), 24 * 31)).await;
    assert_error(
        status,
        &body,
        StatusCode::BAD_REQUEST,
        "invalid_argument",
        "expireCurrentAt",
    );
    let (status, body) = send(renew(str_of(&successor, "id"), 24 * 30)).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");

    // Twenty renewals of one token at once: one wins.
    let third = str_of(&body, "id").to_owned();
    app.advance(time::Duration::hours(2)); // the first token has expired
    let mut attempts = tokio::task::JoinSet::new();
    for _ in 0..20 {
        attempts.spawn(send(renew(&third, 1)));
    }
    let results: Vec<_> = attempts.join_all().await;
    let created = results
        .iter()
        .filter(|(s, _)| *s == StatusCode::CREATED)
        .count();
    assert_eq!(created, 1, "{results:?}");
    assert!(
        results
            .iter()
            .all(|(s, _)| *s == StatusCode::CREATED || *s == StatusCode::CONFLICT),
        "{results:?}"
    );
    app.stop().await;
}

/// `POST /oauth/revoke` with a bearer: it needs `credentials.manage` or
/// `tokens.verify`, and an OAuth access token revokes only the OAuth tokens
/// of its own grant, never its user's sessions or API tokens.
#[tokio::test]
async fn a_bearer_revokes_only_what_is_its_to_revoke() {
    let app = TestApp::spawn().await;
    let session = app.session("revoker-bearer", &["member"]).await;
    let api = app
        .create_token(&session, json!({"name": "api", "scopes": ["iguide.ro"]}))
        .await;
    let api = str_of(&api, "token").to_owned();
    let revoke = |bearer: &str, token: &str| {
        let header = format!("Bearer {bearer}");
        let request = form_request(
            &app,
            "/oauth/revoke",
            Auth::Header(&header),
            &[("token", token)],
        );
        reply(request)
    };
    // A plain token (no manage, no verify scope) may not revoke at all.
    let r = revoke(&api, &api).await;
    r.assert_oauth_error(StatusCode::UNAUTHORIZED, "invalid_client");
    assert_eq!(app.me_status(&api).await, StatusCode::OK);

    let client = create_app(
        &app,
        &session,
        json!({"clientName": "c", "redirectUris": ["https://c.example/cb"],
               "scope": ["iguide.ro", "credentials.manage"]}),
    )
    .await;
    let mine = grant(&app, &session, &client).await;
    let other = grant(&app, &session, &client).await;
    let access = str_of(&mine, "access_token");
    // Not the user's session or API tokens, nor another grant's tokens.
    for victim in [
        session.as_str(),
        api.as_str(),
        str_of(&other, "access_token"),
        str_of(&other, "refresh_token"),
    ] {
        let r = revoke(access, victim).await;
        assert_eq!(r.status, StatusCode::BAD_REQUEST, "{}", r.text);
        assert_eq!(r.json()["error"], "unauthorized_client");
    }
    for survivor in [
        session.as_str(),
        api.as_str(),
        str_of(&other, "access_token"),
    ] {
        assert_eq!(app.me_status(survivor).await, StatusCode::OK);
    }
    let other_refresh = refresh(&app, &client, str_of(&other, "refresh_token")).await;
    assert_eq!(
        other_refresh.status,
        StatusCode::OK,
        "{}",
        other_refresh.text
    );
    // Its own grant's refresh token, yes.
    let r = revoke(access, str_of(&mine, "refresh_token")).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(
        app.me_status(access).await,
        StatusCode::UNAUTHORIZED,
        "the grant ended"
    );
    app.stop().await;
}
