//! Two instances on one database sending the lifecycle's messages: every
//! renewal callback reaches a real receiver (signature checked) and every
//! e-mail a real SMTP sink exactly once, although both instances scan for
//! due renewals and notices and both deliver, every second.
//!
//! It runs on the store this run targets. On PostgreSQL, claims use `FOR
//! UPDATE SKIP LOCKED`. On SQLite the two instances share one file, which the
//! store supports for this: every claim and every start of a cycle is one
//! conditional write under SQLite's write lock (`BEGIN IMMEDIATE`), and that
//! lock spans connections and processes, so the second instance waits its
//! turn instead of claiming the same rows.

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration as StdDuration;

use keyward_core::service::{Actor, CreateUser};
use keyward_testkit::{ReceivedMail, SmtpSink, WebhookReceiver, verify_signature};
use reqwest::{Method, StatusCode};
use serde_json::json;
use time::Duration;

use keyward_testkit::{PASSWORD, TestApp, at, send};

const WAIT: StdDuration = StdDuration::from_secs(20);
/// Tokens with a triggered renewal (callback, redemption, mail) and an
/// expiry notice each.
const TRIGGERED: usize = 6;
/// Tokens whose renewal falls due while both instances scan.
const DUE: usize = 4;

/// Long enough for each instance to scan and deliver a few times more.
async fn settle() {
    tokio::time::sleep(StdDuration::from_secs(3)).await;
}

fn subject(mail: &ReceivedMail) -> &str {
    mail.data
        .lines()
        .find(|l| l.starts_with("Subject:"))
        .unwrap_or_default()
}

/// Each of `names` is in the subject of exactly one of `mails`, and
/// nothing else is there.
fn once_each(mails: &[&ReceivedMail], names: &[String]) {
    assert_eq!(mails.len(), names.len(), "{mails:#?}");
    for name in names {
        let quoted = format!("\"{name}\"");
        let n = mails
            .iter()
            .filter(|m| subject(m).contains(&quoted))
            .count();
        assert_eq!(n, 1, "mails about {name}: {mails:#?}");
    }
}

#[tokio::test]
async fn two_instances_send_each_callback_and_each_mail_once() {
    let sink = SmtpSink::start().await;
    let receiver = WebhookReceiver::start().await;
    let smtp_url = sink.url();
    let a = TestApp::spawn_with(move |c| {
        c.jobs.jobs_poll_seconds = 1;
        c.webhooks.webhook_allow_private_targets = true;
        c.mail.smtp_url = Some(smtp_url);
        c.mail.mail_from = Some("keyward@example.com".into());
        c.credentials.max_tokens_per_user = 100;
    })
    .await;
    let b = a.spawn_beside(|_| {}).await;
    let apps = [&a, &b];

    a.keyward
        .create_user(
            &Actor::system(),
            CreateUser {
                username: "twice".into(),
                password: PASSWORD.into(),
                roles: vec!["member".into()],
                email: Some("owner@example.com".into()),
            },
        )
        .await
        .expect("user created");
    let session = a.login("twice").await;
    // For after the clock moved past the session's idle time.
    let manager = a
        .create_token(
            &session,
            json!({"name": "manager", "scopes": ["credentials.manage", "iguide.list"]}),
        )
        .await["token"]
        .as_str()
        .unwrap()
        .to_owned();

    // Tokens made on either instance: some expiring in three days (a
    // notice each) with a renewal to trigger, some whose renewal falls due
    // tomorrow.
    let mut secrets = BTreeMap::new();
    let (mut triggered, mut triggered_names, mut due) = (Vec::new(), Vec::new(), Vec::new());
    for i in 0..TRIGGERED + DUE {
        let app = apps[i % 2];
        let body = if i < TRIGGERED {
            json!({"name": format!("triggered-{i}"), "scopes": ["iguide.list"],
                   "expiresAt": at(app, Duration::days(3)),
                   "renewal": {"everyDays": 30, "callbackUrl": receiver.url("/triggered"),
                               "mailRecipient": "ops@example.com"}})
        } else {
            json!({"name": format!("due-{i}"), "scopes": ["iguide.list"],
                   "renewal": {"everyDays": 1, "callbackUrl": receiver.url("/due")}})
        };
        let token = app.create_token(&session, body).await;
        let id = token["id"].as_str().unwrap().to_owned();
        let secret = token["renewal"]["callbackSecret"].as_str().unwrap();
        secrets.insert(id.clone(), secret.to_owned());
        if i < TRIGGERED {
            triggered_names.push(token["name"].as_str().unwrap().to_owned());
            triggered.push(id);
        } else {
            due.push(id);
        }
    }

    // Both instances scan for notices: each token gets its one.
    sink.wait_for(TRIGGERED, WAIT).await;

    // Renewals triggered on either instance, each key redeemed on either.
    for (i, id) in triggered.iter().enumerate() {
        let (status, body) = send(apps[i % 2].bearer(
            Method::POST,
            &format!("/api/v1/integrations/tokens/{id}/triggerRenewal"),
            &session,
        ))
        .await;
        assert_eq!(status, StatusCode::ACCEPTED, "{body}");
    }
    let hooks = receiver.wait_for(TRIGGERED, WAIT).await;
    for (i, hook) in hooks.iter().enumerate() {
        let body = hook.json();
        let id = body["tokenId"].as_str().unwrap();
        assert!(verify_signature(&secrets[id], hook), "{hook:?}");
        let (status, renewed) = send(
            apps[(i + 1) % 2]
                .request(
                    Method::POST,
                    "/api/v1/integrations/tokens/requestRenewedToken",
                )
                .json(&json!({"key": body["key"]})),
        )
        .await;
        assert_eq!(status, StatusCode::OK, "{renewed}");
    }
    sink.wait_for(2 * TRIGGERED, WAIT).await;

    // A day on, both instances find the same renewals due.
    a.advance(Duration::days(1) + Duration::minutes(1));
    receiver.wait_for(TRIGGERED + DUE, WAIT).await;
    settle().await;

    // Each callback once: one request per message id, one message per
    // cycle, each signed with its token's secret.
    let hooks = receiver.received();
    let mut by_id: BTreeMap<&str, usize> = BTreeMap::new();
    for hook in &hooks {
        *by_id.entry(hook.id.as_str()).or_default() += 1;
        let id = hook.json()["tokenId"].as_str().unwrap().to_owned();
        assert!(verify_signature(&secrets[&id], hook), "{hook:?}");
    }
    assert!(by_id.values().all(|n| *n == 1), "{by_id:?}");
    assert_eq!(hooks.len(), TRIGGERED + DUE, "{hooks:#?}");
    let called_back = |path: &str| -> BTreeSet<String> {
        hooks
            .iter()
            .filter(|h| h.path == path)
            .map(|h| h.json()["tokenId"].as_str().unwrap().to_owned())
            .collect()
    };
    assert_eq!(
        called_back("/triggered"),
        triggered.iter().cloned().collect()
    );
    assert_eq!(called_back("/due"), due.iter().cloned().collect());

    // Each mail once: a notice per expiring token to its owner, a renewal
    // notice per redemption to the policy's recipient, nothing more.
    let mails = sink.mails();
    let to = |address: &str| -> Vec<&ReceivedMail> {
        mails.iter().filter(|m| m.to == [address]).collect()
    };
    assert_eq!(mails.len(), 2 * TRIGGERED, "{mails:#?}");
    let notices = to("owner@example.com");
    assert!(notices.iter().all(|m| subject(m).contains("expires")));
    once_each(&notices, &triggered_names);
    let renewed = to("ops@example.com");
    assert!(renewed.iter().all(|m| subject(m).contains("was renewed")));
    once_each(&renewed, &triggered_names);

    // And the delivery logs agree: every message delivered at the first
    // attempt, whichever instance is asked.
    for (i, id) in triggered.iter().chain(&due).enumerate() {
        let log = crate::renewal::deliveries(apps[i % 2], &manager, id).await;
        let want = if i < TRIGGERED { 3 } else { 1 };
        assert_eq!(log.len(), want, "{log:#?}");
        for entry in &log {
            assert_eq!(entry["status"], "delivered", "{log:#?}");
            assert_eq!(entry["attempts"], 1, "{log:#?}");
        }
    }
    b.stop().await;
    a.stop().await;
}
