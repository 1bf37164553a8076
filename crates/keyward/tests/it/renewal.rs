//! Auto-renewal end to end, as a customer's system drives it: a token with a
//! renewal policy, a triggered cycle, the signed callback at a real
//! receiver, the redemption, old and new secrets across the overlap, a key
//! that lapses and the re-callback, and the attacks on each endpoint.

use std::time::Duration as StdDuration;

use keyward_testkit::{WebhookReceiver, verify_signature};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use time::Duration;

use keyward_testkit::{TestApp, assert_error, send};

const WAIT: StdDuration = StdDuration::from_secs(15);

/// A server whose jobs run every second and whose callbacks may reach the
/// test's receiver on 127.0.0.1.
pub async fn lifecycle_app() -> TestApp {
    TestApp::spawn_with(|c| {
        c.jobs.jobs_poll_seconds = 1;
        c.webhooks.webhook_allow_private_targets = true;
    })
    .await
}

/// A token of `session`'s with renewal every 30 days to `callback`.
pub async fn renewing_token(app: &TestApp, session: &str, callback: &str) -> Value {
    app.create_token(
        session,
        json!({"name": "renewing", "scopes": ["iguide.list"],
               "expiresAt": keyward_testkit::at(app, Duration::days(10)),
               "renewal": {"everyDays": 30, "callbackUrl": callback}}),
    )
    .await
}

async fn trigger(app: &TestApp, session: &str, id: &str) -> (StatusCode, Value) {
    send(app.bearer(
        Method::POST,
        &format!("/api/v1/integrations/tokens/{id}/triggerRenewal"),
        session,
    ))
    .await
}

async fn redeem(app: &TestApp, key: &str) -> (StatusCode, Value) {
    send(
        app.request(
            Method::POST,
            "/api/v1/integrations/tokens/requestRenewedToken",
        )
        .json(&json!({"key": key})),
    )
    .await
}

pub async fn deliveries(app: &TestApp, session: &str, id: &str) -> Vec<Value> {
    let (status, body) = send(app.bearer(
        Method::GET,
        &format!("/api/v1/integrations/tokens/{id}/deliveries"),
        session,
    ))
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    body.as_array().expect("a plain array").clone()
}

/// Waits until the delivery log's newest entry satisfies `done`.
pub async fn wait_delivery(
    app: &TestApp,
    session: &str,
    id: &str,
    done: impl Fn(&Value) -> bool,
) -> Vec<Value> {
    let deadline = tokio::time::Instant::now() + WAIT;
    loop {
        let log = deliveries(app, session, id).await;
        if log.first().is_some_and(&done) {
            return log;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "delivery log: {log:?}"
        );
        tokio::time::sleep(StdDuration::from_millis(100)).await;
    }
}

/// What the Standard Webhooks Python library says of `hook` under
/// `secret` (passed as raw bytes, as a customer would): `ok` or the error.
fn python_verifies(secret: &str, hook: &keyward_testkit::ReceivedHook) -> String {
    let dir = tempfile::tempdir().expect("tempdir");
    let input = dir.path().join("hook.json");
    let data = json!({"secret": secret, "body": hook.body, "id": hook.id,
                      "ts": hook.timestamp, "sig": hook.signature});
    std::fs::write(&input, data.to_string()).expect("write");
    let script = "import json, sys\n\
        from standardwebhooks import Webhook\n\
        d = json.load(open(sys.argv[1]))\n\
        try:\n    Webhook(d['secret'].encode()).verify(d['body'], {'webhook-id': d['id'], \
        'webhook-timestamp': d['ts'], 'webhook-signature': d['sig']})\n    print('ok')\n\
        except Exception as e:\n    print('refused', e)\n";
    let out = std::process::Command::new("python3")
        .arg("-c")
        .arg(script)
        .arg(&input)
        .output()
        .expect("python3 runs (scripts/test installs standardwebhooks)");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).trim().to_owned()
}

#[tokio::test]
async fn a_triggered_renewal_calls_back_signed_and_its_key_renews_the_token_once() {
    let app = lifecycle_app().await;
    let receiver = WebhookReceiver::start().await;
    let session = app.session("renewer", &["member"]).await;
    let token = renewing_token(&app, &session, &receiver.url("/hooks/keyward")).await;
    let id = token["id"].as_str().unwrap();
    let old_secret = token["token"].as_str().unwrap().to_owned();
    let callback_secret = token["renewal"]["callbackSecret"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(callback_secret.starts_with("kww_"));
    assert!(token["renewal"]["nextRenewalAt"].is_string());

    let (status, delivery) = trigger(&app, &session, id).await;
    assert_eq!(status, StatusCode::ACCEPTED, "{delivery}");
    assert_eq!(delivery["event"], "token.renewal_ready");
    assert_eq!(delivery["status"], "pending");
    assert_eq!(delivery["target"], receiver.url("/hooks/keyward"));

    let hooks = receiver.wait_for(1, WAIT).await;
    let hook = &hooks[0];
    assert!(
        verify_signature(&callback_secret, hook),
        "signature of {hook:?}"
    );
    assert!(!verify_signature("kww_not-the-secret", hook));
    assert_eq!(
        python_verifies(&callback_secret, hook),
        "ok",
        "the Python library agrees"
    );
    assert_ne!(python_verifies("kww_someone-else", hook), "ok");
    assert_eq!(hook.content_type, "application/json");
    assert!(
        hook.user_agent.starts_with("Keyward/"),
        "{}",
        hook.user_agent
    );
    assert_eq!(
        hook.id,
        format!("msg_{}", delivery["id"].as_str().unwrap().replace('-', ""))
    );
    let body = hook.json();
    assert_eq!(body["type"], "token.renewal_ready");
    assert_eq!(body["tokenId"], id);
    let key = body["key"].as_str().unwrap().to_owned();
    assert!(key.starts_with("kwk_"), "{key}");
    assert!(body["keyExpiresAt"].is_string());

    // The log says delivered, and holds neither key nor secret.
    let log = wait_delivery(&app, &session, id, |d| d["status"] == "delivered").await;
    assert_eq!(log[0]["attempts"], 1);
    assert_eq!(log[0]["lastResult"], "HTTP 200");
    let text = serde_json::to_string(&log).unwrap();
    assert!(!text.contains(&key) && !text.contains(&callback_secret));

    // Redeem: the new secret, the old one as previousToken for the overlap.
    let (status, renewed) = redeem(&app, &key).await;
    assert_eq!(status, StatusCode::OK, "{renewed}");
    assert_eq!(renewed["id"], id, "the same token, a new secret");
    let new_secret = renewed["token"].as_str().unwrap().to_owned();
    assert_ne!(new_secret, old_secret);
    assert!(renewed["previousToken"].is_object(), "{renewed}");
    assert!(renewed["renewal"]["lastRenewedAt"].is_string());
    // The expiry moved to at least now + everyDays.
    let expires = time::OffsetDateTime::parse(
        renewed["expiresAt"].as_str().unwrap(),
        &time::format_description::well_known::Rfc3339,
    )
    .unwrap();
    assert!(expires >= app.clock_in(Duration::days(30) - Duration::seconds(1)));

    let verify = |secret: String| {
        let app = &app;
        async move { app.me_status(&secret).await == StatusCode::OK }
    };
    assert!(verify(new_secret.clone()).await, "the new secret works");
    assert!(
        verify(old_secret.clone()).await,
        "the old one, within the overlap"
    );

    // The key is one-time.
    let (status, body) = redeem(&app, &key).await;
    assert_error(
        status,
        &body,
        StatusCode::UNAUTHORIZED,
        "unauthenticated",
        "renewal key",
    );

    // Past the overlap the old secret is dead; the new one lives.
    app.advance(Duration::days(1) + Duration::seconds(1));
    assert!(
        !verify(old_secret).await,
        "the old secret after the overlap"
    );
    assert!(verify(new_secret).await);
    app.stop().await;
}

#[tokio::test]
async fn an_unredeemed_key_lapses_and_a_new_callback_follows() {
    let app = TestApp::spawn_with(|c| {
        c.jobs.jobs_poll_seconds = 1;
        c.webhooks.webhook_allow_private_targets = true;
        c.renewal.renewal_key_ttl_seconds = 60;
        c.renewal.renewal_retry_after_seconds = 300;
    })
    .await;
    let receiver = WebhookReceiver::start().await;
    let session = app.session("lapser", &["member"]).await;
    let token = renewing_token(&app, &session, &receiver.url("/cb")).await;
    let id = token["id"].as_str().unwrap();
    assert_eq!(trigger(&app, &session, id).await.0, StatusCode::ACCEPTED);
    let first = receiver.wait_for(1, WAIT).await[0].json();
    let first_key = first["key"].as_str().unwrap().to_owned();

    app.advance(Duration::seconds(61));
    let (status, _) = redeem(&app, &first_key).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "a lapsed key");
    // Nothing more before the re-callback is due…
    assert_eq!(app.drain_outbox().await, 0, "nothing is due");
    assert_eq!(receiver.received().len(), 1);
    // …then a new callback with a new key.
    app.advance(Duration::seconds(300));
    app.drain_outbox().await;
    let hooks = receiver.wait_for(2, WAIT).await;
    let second_key = hooks[1].json()["key"].as_str().unwrap().to_owned();
    assert_ne!(second_key, first_key);
    assert_ne!(hooks[1].id, hooks[0].id, "a new message");
    let (status, body) = redeem(&app, &second_key).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    app.stop().await;
}

#[tokio::test]
async fn a_failing_receiver_is_retried_with_backoff_and_the_log_shows_it() {
    let app = lifecycle_app().await;
    let receiver = WebhookReceiver::start().await;
    receiver.answer_with(&[500, 503]);
    let session = app.session("retrier", &["member"]).await;
    let token = renewing_token(&app, &session, &receiver.url("/cb")).await;
    let id = token["id"].as_str().unwrap();
    assert_eq!(trigger(&app, &session, id).await.0, StatusCode::ACCEPTED);

    let log = wait_delivery(&app, &session, id, |d| d["attempts"] == 1).await;
    assert_eq!(log[0]["status"], "pending");
    assert!(
        log[0]["lastResult"].as_str().unwrap().contains("500"),
        "{log:?}"
    );
    assert!(log[0]["nextAttemptAt"].is_string());
    // Not before the first retry (30 s ± 20 %)…
    app.advance(Duration::seconds(23));
    assert_eq!(app.drain_outbox().await, 0, "not yet");
    assert_eq!(receiver.received().len(), 1);
    // …then at it, and at the second (60 s ± 20 %), delivered.
    app.advance(Duration::seconds(14));
    app.drain_outbox().await;
    wait_delivery(&app, &session, id, |d| d["attempts"] == 2).await;
    app.advance(Duration::seconds(73));
    app.drain_outbox().await;
    let log = wait_delivery(&app, &session, id, |d| d["status"] == "delivered").await;
    assert_eq!(log[0]["attempts"], 3);
    let hooks = receiver.received();
    assert_eq!(hooks.len(), 3);
    assert!(
        hooks.iter().all(|h| h.id == hooks[0].id),
        "one id across retries"
    );
    app.stop().await;
}

#[tokio::test]
async fn private_callback_targets_are_refused_at_delivery_and_bad_urls_on_input() {
    let app = TestApp::spawn_with(|c| c.jobs.jobs_poll_seconds = 1).await;
    let receiver = WebhookReceiver::start().await;
    let session = app.session("ssrf", &["member"]).await;
    for url in ["http://example.com/cb", "ftp://example.com/cb", "not a url"] {
        let (status, body) = send(
            app.bearer(Method::POST, "/api/v1/integrations/tokens", &session)
                .json(&json!({"name": "x", "scopes": ["iguide.list"],
                              "renewal": {"everyDays": 30, "callbackUrl": url}})),
        )
        .await;
        assert_error(
            status,
            &body,
            StatusCode::BAD_REQUEST,
            "invalid_argument",
            "renewal.callbackUrl",
        );
    }
    // http on loopback passes the input check, but delivery refuses it:
    // failed at once, not retried, and the receiver never hears of it.
    for url in [
        receiver.url("/cb"),
        format!("http://localhost:{}/cb", receiver.addr.port()),
    ] {
        let token = renewing_token(&app, &session, &url).await;
        let id = token["id"].as_str().unwrap();
        assert_eq!(trigger(&app, &session, id).await.0, StatusCode::ACCEPTED);
        let log = wait_delivery(&app, &session, id, |d| d["status"] == "failed").await;
        assert_eq!(log[0]["attempts"], 1);
        assert!(
            log[0]["lastResult"].as_str().unwrap().contains("refused"),
            "{log:?}"
        );
        assert!(log[0]["nextAttemptAt"].is_null());
    }
    assert!(receiver.received().is_empty());
    app.stop().await;
}

#[tokio::test]
async fn a_weak_credential_cannot_trigger_or_rotate_the_renewal_of_a_stronger_token() {
    let app = lifecycle_app().await;
    let receiver = WebhookReceiver::start().await;
    let session = app.session("victim", &["member"]).await;
    let strong = app
        .create_token(
            &session,
            json!({"name": "strong", "scopes": ["credentials.manage", "iguide.rw"],
                   "renewal": {"everyDays": 30, "callbackUrl": receiver.url("/cb")}}),
        )
        .await;
    let strong_id = strong["id"].as_str().unwrap();
    let weak = app
        .create_token(
            &session,
            json!({"name": "weak", "scopes": ["credentials.manage"]}),
        )
        .await;
    let weak_secret = weak["token"].as_str().unwrap();

    let (status, body) = trigger(&app, weak_secret, strong_id).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
    let (status, body) = send(
        app.bearer(
            Method::PATCH,
            &format!("/api/v1/integrations/tokens/{strong_id}"),
            weak_secret,
        )
        .json(
            &json!({"renewal": {"everyDays": 30, "callbackUrl": receiver.url("/cb"),
                                  "rotateCallbackSecret": true}}),
        ),
    )
    .await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
    // The owner's session may: a new secret, once.
    let (status, body) = send(
        app.bearer(
            Method::PATCH,
            &format!("/api/v1/integrations/tokens/{strong_id}"),
            &session,
        )
        .json(
            &json!({"renewal": {"everyDays": 30, "callbackUrl": receiver.url("/cb"),
                                  "rotateCallbackSecret": true}}),
        ),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let rotated = body["renewal"]["callbackSecret"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_ne!(
        rotated,
        strong["renewal"]["callbackSecret"].as_str().unwrap()
    );
    // Without rotateCallbackSecret a changed policy keeps its secret.
    let (_, body) = send(
        app.bearer(
            Method::PATCH,
            &format!("/api/v1/integrations/tokens/{strong_id}"),
            &session,
        )
        .json(&json!({"renewal": {"everyDays": 20, "callbackUrl": receiver.url("/cb2")}})),
    )
    .await;
    assert!(body["renewal"].get("callbackSecret").is_none(), "{body}");
    assert_eq!(
        trigger(&app, &session, strong_id).await.0,
        StatusCode::ACCEPTED
    );
    let hook = receiver.wait_for(1, WAIT).await.remove(0);
    assert_eq!(hook.path, "/cb2");
    assert!(
        verify_signature(&rotated, &hook),
        "signed with the rotated secret"
    );
    // Someone else's token is not found.
    let other = app.session("other", &["member"]).await;
    assert_eq!(
        trigger(&app, &other, strong_id).await.0,
        StatusCode::NOT_FOUND
    );
    app.stop().await;
}

#[tokio::test]
async fn of_concurrent_redemptions_of_one_key_exactly_one_wins() {
    let app = lifecycle_app().await;
    let receiver = WebhookReceiver::start().await;
    let session = app.session("racer", &["member"]).await;
    let token = renewing_token(&app, &session, &receiver.url("/cb")).await;
    let id = token["id"].as_str().unwrap();
    assert_eq!(trigger(&app, &session, id).await.0, StatusCode::ACCEPTED);
    let key = receiver.wait_for(1, WAIT).await[0].json()["key"]
        .as_str()
        .unwrap()
        .to_owned();
    let mut attempts = tokio::task::JoinSet::new();
    for _ in 0..12 {
        attempts.spawn(send(
            app.request(
                Method::POST,
                "/api/v1/integrations/tokens/requestRenewedToken",
            )
            .json(&json!({"key": key})),
        ));
    }
    let outcomes = attempts.join_all().await;
    let won = outcomes
        .iter()
        .filter(|(s, _)| *s == StatusCode::OK)
        .count();
    let lost = outcomes
        .iter()
        .filter(|(s, _)| *s == StatusCode::UNAUTHORIZED)
        .count();
    assert_eq!((won, lost), (1, 11), "{outcomes:?}");
    app.stop().await;
}

#[tokio::test]
async fn removing_the_policy_cancels_the_pending_key_and_a_deactivated_token_never_renews() {
    let app = lifecycle_app().await;
    let receiver = WebhookReceiver::start().await;
    let session = app.session("canceller", &["member"]).await;
    let token = renewing_token(&app, &session, &receiver.url("/cb")).await;
    let id = token["id"].as_str().unwrap();
    assert_eq!(trigger(&app, &session, id).await.0, StatusCode::ACCEPTED);
    let key = receiver.wait_for(1, WAIT).await[0].json()["key"]
        .as_str()
        .unwrap()
        .to_owned();
    let (status, _) = send(
        app.bearer(
            Method::PATCH,
            &format!("/api/v1/integrations/tokens/{id}"),
            &session,
        )
        .json(&json!({"renewal": null})),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(redeem(&app, &key).await.0, StatusCode::UNAUTHORIZED);
    assert_eq!(trigger(&app, &session, id).await.0, StatusCode::CONFLICT);

    let other = renewing_token(&app, &session, &receiver.url("/cb")).await;
    let other_id = other["id"].as_str().unwrap();
    let (status, _) = send(app.bearer(
        Method::POST,
        &format!("/api/v1/integrations/tokens/{other_id}/deactivate"),
        &session,
    ))
    .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        trigger(&app, &session, other_id).await.0,
        StatusCode::CONFLICT
    );
    // Past its period nothing is sent for it either.
    app.advance(Duration::days(31));
    assert_eq!(app.drain_outbox().await, 0, "nothing is due");
    assert_eq!(receiver.received().len(), 1);
    app.stop().await;
}
