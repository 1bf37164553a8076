//! Several instances on one PostgreSQL database behaving as one service
//! (SPEC §7): credentials made on one work on the other, and every kind of
//! revocation on one is refused by the other within a second even while the
//! other was serving the credential from its cache, and while sixteen clients
//! keep verifying it there. These tests always use PostgreSQL, whatever
//! `KW_TEST_STORE` says: that is what they are about.

use std::time::{Duration as StdDuration, Instant};

use keyward_testkit::{TestApp, send};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

/// The longest a revocation may take to reach the other instance.
const PROPAGATION: StdDuration = StdDuration::from_secs(1);

/// Two servers on one fresh PostgreSQL database.
pub async fn pair() -> (TestApp, TestApp) {
    let db = keyward_store_postgres::testing::fresh_database().await;
    let url = db.url.clone();
    let a = TestApp::spawn_on(Some(db), |_| {}).await;
    let b = TestApp::spawn_on(None, |c| {
        c.database.database_url = url;
        c.database.secret_key = Some(keyward_testkit::TEST_SERVER_KEY.into());
    })
    .await;
    (a, b)
}

/// Polls `secret` on `app` until it is refused; returns how long that took.
async fn time_until_refused(app: &TestApp, secret: &str) -> StdDuration {
    let start = Instant::now();
    loop {
        if app.me_status(secret).await == StatusCode::UNAUTHORIZED {
            return start.elapsed();
        }
        assert!(start.elapsed() < StdDuration::from_secs(5), "never refused");
        tokio::time::sleep(StdDuration::from_millis(10)).await;
    }
}

/// Makes `app` answer for `secret` from its cache.
async fn warm(app: &TestApp, secret: &str) {
    for _ in 0..3 {
        assert_eq!(app.me_status(secret).await, StatusCode::OK);
    }
    assert!(
        app.keyward.cache().counts().0 >= 2,
        "the cache served the secret"
    );
}

fn secret(v: &Value) -> &str {
    v["token"].as_str().unwrap()
}

#[tokio::test]
async fn a_token_made_on_one_instance_works_on_the_other() {
    let (a, b) = pair().await;
    let session = a.session("shared", &["member"]).await;
    let token = a
        .create_token(
            &session,
            json!({"name": "x", "scopes": ["iguide.list", "credentials.manage"]}),
        )
        .await;
    assert_eq!(b.me_status(secret(&token)).await, StatusCode::OK);
    assert_eq!(b.me_status(&session).await, StatusCode::OK, "sessions too");
    let (_, list) =
        send(b.bearer(Method::GET, "/api/v1/integrations/tokens", secret(&token))).await;
    assert_eq!(list.as_array().unwrap().len(), 1);
    b.stop().await;
    a.stop().await;
}

#[tokio::test]
async fn every_revocation_on_one_instance_is_refused_by_the_other_within_a_second() {
    let (a, b) = pair().await;
    let user = a.user("revoker", &["member"]).await;
    let session = a.login("revoker").await;
    let manager = a
        .create_token(
            &session,
            json!({"name": "m", "scopes": ["credentials.manage"]}),
        )
        .await;
    let manager = secret(&manager).to_owned();
    let new_token = |name: &'static str| {
        let a = &a;
        let manager = manager.clone();
        async move {
            a.create_token(
                &manager,
                json!({"name": name, "scopes": ["credentials.manage"]}),
            )
            .await
        }
    };
    let tokens = "/api/v1/integrations/tokens";
    let mut timings = Vec::new();

    let t = new_token("delete").await;
    warm(&b, secret(&t)).await;
    send(a.bearer(
        Method::DELETE,
        &format!("{tokens}/{}", t["id"].as_str().unwrap()),
        &manager,
    ))
    .await;
    timings.push(("delete", time_until_refused(&b, secret(&t)).await));

    let t = new_token("deactivate").await;
    warm(&b, secret(&t)).await;
    send(a.bearer(
        Method::POST,
        &format!("{tokens}/{}/deactivate", t["id"].as_str().unwrap()),
        &manager,
    ))
    .await;
    timings.push(("deactivate", time_until_refused(&b, secret(&t)).await));

    let t = new_token("rotate").await;
    warm(&b, secret(&t)).await;
    let (_, rotated) = send(
        a.bearer(
            Method::POST,
            &format!("{tokens}/{}/rotate", t["id"].as_str().unwrap()),
            &manager,
        )
        .json(&json!({"gracePeriodSeconds": 0})),
    )
    .await;
    timings.push((
        "rotate with zero grace",
        time_until_refused(&b, secret(&t)).await,
    ));
    assert_eq!(b.me_status(secret(&rotated)).await, StatusCode::OK);

    let id = rotated["id"].as_str().unwrap();
    let (_, again) = send(a.bearer(Method::POST, &format!("{tokens}/{id}/rotate"), &manager)).await;
    warm(&b, secret(&rotated)).await;
    send(a.bearer(
        Method::POST,
        &format!("{tokens}/{id}/revokePrevious"),
        &manager,
    ))
    .await;
    timings.push((
        "revokePrevious",
        time_until_refused(&b, secret(&rotated)).await,
    ));
    assert_eq!(b.me_status(secret(&again)).await, StatusCode::OK);

    warm(&b, &session).await;
    send(a.bearer(Method::POST, "/api/v1/logout", &session)).await;
    timings.push(("logout", time_until_refused(&b, &session).await));

    // A role change narrows what B answers.
    warm(&b, &manager).await;
    a.set_roles(user.id, &[]).await;
    let start = Instant::now();
    loop {
        let (_, me) = send(b.bearer(Method::GET, "/api/v1/me", &manager)).await;
        if me["scopes"] == json!([]) {
            break;
        }
        assert!(
            start.elapsed() < StdDuration::from_secs(5),
            "role change never seen"
        );
        tokio::time::sleep(StdDuration::from_millis(10)).await;
    }
    timings.push(("role change", start.elapsed()));

    a.set_status(user.id, keyward_core::model::UserStatus::Disabled)
        .await;
    timings.push(("user disabled", time_until_refused(&b, &manager).await));

    for (kind, took) in &timings {
        assert!(
            *took <= PROPAGATION,
            "{kind} took {took:?} to reach the other instance"
        );
    }
    b.stop().await;
    a.stop().await;
}

#[tokio::test]
async fn readiness_follows_the_database_and_recovers_by_itself() {
    let db = keyward_store_postgres::testing::fresh_database().await;
    let proxy = crate::proxy::Proxy::start("127.0.0.1:5432").await;
    let url = db.url.replace("127.0.0.1:5432", &proxy.addr());
    let app = TestApp::spawn_on(Some(db), |c| c.database.database_url = url).await;
    let ready = || async {
        app.request(Method::GET, "/readyz")
            .send()
            .await
            .unwrap()
            .status()
    };
    assert_eq!(ready().await, StatusCode::OK);

    proxy.cut();
    let start = Instant::now();
    let status = ready().await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
    assert!(
        start.elapsed() < StdDuration::from_secs(4),
        "readyz answers promptly"
    );

    proxy.restore();
    let start = Instant::now();
    while ready().await != StatusCode::OK {
        assert!(
            start.elapsed() < StdDuration::from_secs(15),
            "never recovered"
        );
        tokio::time::sleep(StdDuration::from_millis(100)).await;
    }
    // And it serves again.
    let session = app.session("back", &["member"]).await;
    assert_eq!(app.me_status(&session).await, StatusCode::OK);
    app.stop().await;
}

#[tokio::test]
async fn an_app_secret_rotated_on_one_instance_fails_on_the_other_within_a_second() {
    let (a, b) = pair().await;
    let session = a.session("approt", &["member"]).await;
    let (status, created) = send(a.bearer(Method::POST, "/api/v1/integrations/apps", &session).json(&json!({
        "clientName": "rotating", "redirectUris": ["https://c.example/cb"], "scope": ["iguide.list"]
    })))
    .await;
    assert_eq!(status, StatusCode::CREATED);
    let id = created["clientId"].as_str().unwrap().to_owned();
    let old = created["clientSecret"].as_str().unwrap().to_owned();
    let issue = |app: &TestApp, secret: &str| {
        app.request(Method::POST, "/oauth/token")
            .basic_auth(&id, Some(secret))
            .form(&[("grant_type", "client_credentials")])
    };
    // B authenticates the client a few times: from then on, from its cache.
    for _ in 0..3 {
        assert_eq!(send(issue(&b, &old)).await.0, StatusCode::OK);
    }
    let (status, rotated) = send(a.bearer(
        Method::POST,
        &format!("/api/v1/integrations/apps/{id}/rotate"),
        &session,
    ))
    .await;
    assert_eq!(status, StatusCode::OK);
    let start = Instant::now();
    while send(issue(&b, &old)).await.0 != StatusCode::UNAUTHORIZED {
        assert!(
            start.elapsed() < StdDuration::from_secs(5),
            "the old secret still works on B"
        );
        tokio::time::sleep(StdDuration::from_millis(10)).await;
    }
    assert!(start.elapsed() <= PROPAGATION, "took {:?}", start.elapsed());
    let new = rotated["clientSecret"].as_str().unwrap();
    assert_eq!(send(issue(&b, new)).await.0, StatusCode::OK);
    b.stop().await;
    a.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_revocation_reaches_an_instance_under_verify_load_within_a_second() {
    let (a, b) = pair().await;
    let session = a.session("busy", &["member"]).await;
    let verifier = a
        .create_token(&session, json!({"name": "rs", "scopes": ["tokens.verify"]}))
        .await;
    let verifier = secret(&verifier).to_owned();
    let target = a
        .create_token(&session, json!({"name": "t", "scopes": ["iguide.list"]}))
        .await;
    let target_secret = secret(&target).to_owned();

    // Sixteen clients verify the token on B back to back, each counting
    // the answers it got after the deletion, until told to stop.
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let deleting = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let load: Vec<_> = (0..16)
        .map(|_| {
            let request = b
                .bearer(Method::POST, "/api/v1/verify", &verifier)
                .json(&json!({"token": target_secret}));
            let (stop, deleting) = (stop.clone(), deleting.clone());
            tokio::spawn(async move {
                let mut answered = 0u32;
                while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                    let (status, _) = send(request.try_clone().unwrap()).await;
                    assert_eq!(status, StatusCode::OK);
                    if deleting.load(std::sync::atomic::Ordering::Relaxed) {
                        answered += 1;
                    }
                }
                answered
            })
        })
        .collect();
    // Until B has answered from its cache a while (slower on a busy machine).
    tokio::time::sleep(StdDuration::from_millis(300)).await;
    let warming = Instant::now();
    while b.keyward.cache().counts().0 <= 100 {
        assert!(
            warming.elapsed() < StdDuration::from_secs(10),
            "B serves the token from its cache under load"
        );
        tokio::time::sleep(StdDuration::from_millis(20)).await;
    }

    deleting.store(true, std::sync::atomic::Ordering::Relaxed);
    let (status, _) = send(a.bearer(
        Method::DELETE,
        &format!(
            "/api/v1/integrations/tokens/{}",
            target["id"].as_str().unwrap()
        ),
        &session,
    ))
    .await;
    assert_eq!(status, StatusCode::OK);
    let deleted = Instant::now();
    loop {
        let (_, verdict) = send(
            b.bearer(Method::POST, "/api/v1/verify", &verifier)
                .json(&json!({"token": target_secret})),
        )
        .await;
        if verdict["valid"] == false {
            assert_eq!(verdict["reason"], "not_found");
            break;
        }
        assert!(
            deleted.elapsed() < PROPAGATION,
            "B still verified the deleted token after {:?}",
            deleted.elapsed()
        );
        tokio::time::sleep(StdDuration::from_millis(10)).await;
    }
    let took = deleted.elapsed();
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    // Every client kept B busy while the deletion travelled (how many
    // answers that is depends on the machine, not on Keyward).
    for task in load {
        let answered = task.await.expect("a load client");
        assert!(answered > 0, "a load client stalled during the deletion");
    }
    assert!(took < PROPAGATION, "refused after {took:?}");
    b.stop().await;
    a.stop().await;
}

/// Narrowing an OAuth app's scope on one instance narrows, within a second,
/// what its already-issued access tokens do on the other, even while the
/// other was answering for them from its cache.
#[tokio::test]
async fn narrowing_an_app_reaches_the_other_instance_within_a_second() {
    use crate::oauth_support::{client_credentials, create_app, str_of};
    let (a, b) = pair().await;
    let session = a.session("narrow-everywhere", &["member"]).await;
    let client = create_app(
        &a,
        &session,
        json!({"clientName": "c", "redirectUris": ["https://c.example/cb"],
               "scope": ["iguide.list", "iguide.ro"], "grantTypes": ["client_credentials"]}),
    )
    .await;
    let access = str_of(&client_credentials(&a, &client).await, "access_token").to_owned();
    warm(&b, &access).await;
    let (status, _) = send(
        a.bearer(
            Method::PATCH,
            &format!("/api/v1/integrations/apps/{}", client.id),
            &session,
        )
        .json(&json!({"scope": ["iguide.list"]})),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    let start = Instant::now();
    loop {
        let (_, me) = send(b.bearer(Method::GET, "/api/v1/me", &access)).await;
        if me["scopes"] == json!(["iguide.list"]) {
            break;
        }
        assert!(
            start.elapsed() < StdDuration::from_secs(5),
            "never narrowed: {me}"
        );
        tokio::time::sleep(StdDuration::from_millis(10)).await;
    }
    assert!(start.elapsed() <= PROPAGATION, "took {:?}", start.elapsed());
    b.stop().await;
    a.stop().await;
}
