//! E-mail through the outbox, read from a real SMTP sink: the renewal
//! notice to the policy's `mailRecipient`, and the expiry notices to a
//! token's owner, each once per token and threshold; and over STARTTLS and
//! `smtps://` to a relay whose certificate only `smtp_ca_file` makes
//! trusted.

use std::time::Duration as StdDuration;

use keyward::config::StartTls;
use keyward_core::service::{Actor, CreateUser};
use keyward_testkit::{SinkTls, SmtpLogin, SmtpSink, WebhookReceiver};
use reqwest::{Method, StatusCode};
use serde_json::json;
use time::Duration;

use keyward_testkit::{PASSWORD, TestApp, at, send};

const WAIT: StdDuration = StdDuration::from_secs(15);

async fn mail_app(sink: &SmtpSink) -> TestApp {
    let url = sink.url();
    TestApp::spawn_with(move |c| {
        c.jobs.jobs_poll_seconds = 1;
        c.webhooks.webhook_allow_private_targets = true;
        c.mail.smtp_url = Some(url);
        c.mail.mail_from = Some("keyward@example.com".into());
    })
    .await
}

async fn owner_with_email(app: &TestApp, username: &str, email: &str) -> String {
    app.keyward
        .create_user(
            &Actor::system(),
            CreateUser {
                username: username.to_owned(),
                password: PASSWORD.into(),
                roles: vec!["member".into()],
                email: Some(email.to_owned()),
            },
        )
        .await
        .expect("user created");
    app.login(username).await
}

#[tokio::test]
async fn a_completed_renewal_mails_the_recipient_without_the_secret() {
    let sink = SmtpSink::start().await;
    let app = mail_app(&sink).await;
    let receiver = WebhookReceiver::start().await;
    let session = app.session("mailer", &["member"]).await;
    let token = app
        .create_token(
            &session,
            json!({"name": "Billing export", "scopes": ["iguide.list"],
                   "renewal": {"everyDays": 30, "callbackUrl": receiver.url("/cb"),
                               "mailRecipient": "ops@example.com"}}),
        )
        .await;
    let id = token["id"].as_str().unwrap();
    let (status, _) = send(app.bearer(
        Method::POST,
        &format!("/api/v1/integrations/tokens/{id}/triggerRenewal"),
        &session,
    ))
    .await;
    assert_eq!(status, StatusCode::ACCEPTED);
    let key = receiver.wait_for(1, WAIT).await[0].json()["key"]
        .as_str()
        .unwrap()
        .to_owned();
    let (status, renewed) = send(
        app.request(
            Method::POST,
            "/api/v1/integrations/tokens/requestRenewedToken",
        )
        .json(&json!({"key": key})),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{renewed}");
    let mails = sink.wait_for(1, WAIT).await;
    let mail = &mails[0];
    assert_eq!(mail.to, ["ops@example.com"]);
    assert_eq!(mail.from, "keyward@example.com");
    assert!(mail.data.contains("Billing export"), "{}", mail.data);
    assert!(mail.data.contains("text/plain") && mail.data.contains("text/html"));
    assert!(mail.data.contains(&format!("/settings/api/tokens/{id}")));
    let new_secret = renewed["token"].as_str().unwrap();
    assert!(!mail.data.contains(new_secret) && !mail.data.contains(&key));
    assert!(
        mail.data
            .contains(&renewed["tokenHint"].as_str().unwrap()[3..])
    );
    // The delivery log shows the mail with the server's reply.
    // (Both messages carry the same second; within it the order is the ids'.)
    let deadline = tokio::time::Instant::now() + WAIT;
    let mail_entry = loop {
        let log = crate::renewal::deliveries(&app, &session, id).await;
        if let Some(entry) = log
            .iter()
            .find(|d| d["event"] == "token.renewal_completed" && d["status"] == "delivered")
        {
            break entry.clone();
        }
        assert!(tokio::time::Instant::now() < deadline, "{log:?}");
        tokio::time::sleep(StdDuration::from_millis(100)).await;
    };
    assert_eq!(mail_entry["target"], "ops@example.com");
    assert!(
        mail_entry["lastResult"]
            .as_str()
            .unwrap()
            .starts_with("SMTP 250")
    );
    app.stop().await;
}

#[tokio::test]
async fn expiry_notices_go_out_once_per_threshold_and_only_the_nearest_for_a_late_token() {
    let sink = SmtpSink::start().await;
    let app = mail_app(&sink).await;
    let session = owner_with_email(&app, "owner", "owner@example.com").await;
    app.create_token(
        &session,
        json!({"name": "in three days", "scopes": ["iguide.list"],
               "expiresAt": at(&app, Duration::days(3))}),
    )
    .await;
    app.create_token(
        &session,
        json!({"name": "in twelve hours", "scopes": ["iguide.list"],
               "expiresAt": at(&app, Duration::hours(12))}),
    )
    .await;
    app.create_token(
        &session,
        json!({"name": "in a month", "scopes": ["iguide.list"],
               "expiresAt": at(&app, Duration::days(30))}),
    )
    .await;
    app.drain_outbox().await;
    sink.wait_for(2, WAIT).await;
    assert_eq!(app.drain_outbox().await, 0, "nothing more is due");
    let mails = sink.mails();
    assert_eq!(mails.len(), 2, "one per token in a window: {mails:?}");
    let subjects: Vec<&str> = mails
        .iter()
        .map(|m| {
            m.data
                .lines()
                .find(|l| l.starts_with("Subject:"))
                .unwrap_or_default()
        })
        .collect();
    assert!(
        subjects
            .iter()
            .any(|s| s.contains("in three days") && s.contains("7 days"))
    );
    assert!(
        subjects
            .iter()
            .any(|s| s.contains("in twelve hours") && s.contains("within a day")),
        "{subjects:?}"
    );
    assert!(mails.iter().all(|m| m.to == ["owner@example.com"]));

    // Two days on, the three-day token enters the one-day window: its
    // second notice; nothing is repeated.
    app.advance(Duration::days(2) + Duration::hours(1));
    app.drain_outbox().await;
    let mails = sink.wait_for(3, WAIT).await;
    assert_eq!(app.drain_outbox().await, 0, "nothing more is due");
    assert_eq!(sink.mails().len(), 3, "{mails:?}");
    assert!(sink.mails()[2].data.contains("in three days"));
    app.stop().await;
}

#[tokio::test]
async fn without_smtp_no_mail_is_queued() {
    let app = TestApp::spawn_with(|c| c.jobs.jobs_poll_seconds = 1).await;
    let session = app.session("nomail", &["member"]).await;
    let token = app
        .create_token(
            &session,
            json!({"name": "soon", "scopes": ["iguide.list"],
                   "expiresAt": at(&app, Duration::hours(2))}),
        )
        .await;
    assert_eq!(app.drain_outbox().await, 0, "nothing is queued");
    let log = crate::renewal::deliveries(&app, &session, token["id"].as_str().unwrap()).await;
    assert!(log.is_empty(), "{log:?}");
    app.stop().await;
}

/// A server whose mail goes to `sink`, trusting `ca_file` for its
/// certificate.
async fn tls_mail_app(sink: &SmtpSink, ca_file: Option<std::path::PathBuf>) -> TestApp {
    relay_app(sink.url(), ca_file, None).await
}

/// A server whose mail goes to `smtp_url`.
async fn relay_app(
    smtp_url: String,
    ca_file: Option<std::path::PathBuf>,
    starttls: Option<StartTls>,
) -> TestApp {
    TestApp::spawn_with(move |c| {
        c.jobs.jobs_poll_seconds = 1;
        c.mail.smtp_url = Some(smtp_url);
        c.mail.smtp_ca_file = ca_file;
        c.mail.smtp_starttls = starttls;
        c.mail.mail_from = Some("keyward@example.com".into());
    })
    .await
}

/// `sink`'s CA in a file of `dir`.
fn ca_file_of(sink: &SmtpSink, dir: &tempfile::TempDir) -> std::path::PathBuf {
    let path = dir.path().join("relay-ca.pem");
    std::fs::write(&path, sink.ca_pem().expect("a TLS sink has a CA")).expect("CA file");
    path
}

/// Queues one expiry notice for a new owner.
async fn queue_one_notice(app: &TestApp) {
    let session = owner_with_email(app, "tlsowner", "tls-owner@example.com").await;
    app.create_token(
        &session,
        json!({"name": "soon", "scopes": ["iguide.list"],
               "expiresAt": at(app, Duration::days(3))}),
    )
    .await;
}

/// A relay with STARTTLS (`smtp://`) and one speaking TLS from the start
/// (`smtps://`), each with a certificate from a CA of its own, named in
/// `smtp_ca_file`: the notice arrives, encrypted.
#[tokio::test]
async fn mail_goes_encrypted_to_a_relay_whose_ca_is_in_smtp_ca_file() {
    for mode in [SinkTls::StartTls, SinkTls::Wrapper] {
        let sink = SmtpSink::start_tls(mode).await;
        let dir = tempfile::tempdir().expect("temp dir");
        let app = tls_mail_app(&sink, Some(ca_file_of(&sink, &dir))).await;
        queue_one_notice(&app).await;
        app.drain_outbox().await;
        let mails = sink.wait_for(1, WAIT).await;
        assert_eq!(mails.len(), 1, "{mode:?}: {mails:?}");
        assert!(mails[0].tls, "{mode:?}: the mail was sent over TLS");
        assert_eq!(mails[0].to, ["tls-owner@example.com"]);
        app.stop().await;
    }
}

/// Without the relay's CA its certificate is not trusted: nothing is sent,
/// neither over TLS nor in the clear after a failed handshake, and the
/// notice stays queued for a retry.
#[tokio::test]
async fn a_relay_with_an_untrusted_certificate_gets_nothing() {
    for mode in [SinkTls::StartTls, SinkTls::Wrapper] {
        let sink = SmtpSink::start_tls(mode).await;
        let app = tls_mail_app(&sink, None).await;
        queue_one_notice(&app).await;
        assert!(
            app.drain_outbox().await >= 1,
            "{mode:?}: a delivery was tried"
        );
        tokio::time::sleep(StdDuration::from_millis(300)).await;
        assert!(sink.mails().is_empty(), "{mode:?}: {:?}", sink.mails());
        // Still queued: after the backoff, it is tried again.
        app.advance(Duration::hours(1));
        assert!(app.drain_outbox().await >= 1, "{mode:?}: retried later");
        assert!(sink.mails().is_empty(), "{mode:?}: {:?}", sink.mails());
        app.stop().await;
    }
}

/// With credentials in `smtp_url`, STARTTLS is required unless set
/// otherwise: a relay that offers no STARTTLS (or whose offer an attacker
/// stripped) gets neither the password nor the mail; one that offers it
/// gets both, encrypted. `smtp_starttls = "required"` holds without
/// credentials too.
#[tokio::test]
async fn credentials_and_mail_go_only_over_tls_when_starttls_is_required() {
    let plain = SmtpSink::start().await;
    let with_password = |sink: &SmtpSink| {
        sink.url()
            .replacen("smtp://", "smtp://relay-user:relay%20pass@", 1)
    };
    let app = relay_app(with_password(&plain), None, None).await;
    queue_one_notice(&app).await;
    assert!(app.drain_outbox().await >= 1, "a delivery was tried");
    tokio::time::sleep(StdDuration::from_millis(300)).await;
    assert!(plain.logins().is_empty(), "{:?}", plain.logins());
    assert!(plain.mails().is_empty(), "{:?}", plain.mails());
    app.stop().await;

    let plain = SmtpSink::start().await;
    let app = relay_app(plain.url(), None, Some(StartTls::Required)).await;
    queue_one_notice(&app).await;
    assert!(app.drain_outbox().await >= 1, "a delivery was tried");
    tokio::time::sleep(StdDuration::from_millis(300)).await;
    assert!(plain.mails().is_empty(), "{:?}", plain.mails());
    app.stop().await;

    let relay = SmtpSink::start_tls(SinkTls::StartTls).await;
    let dir = tempfile::tempdir().expect("temp dir");
    let app = relay_app(with_password(&relay), Some(ca_file_of(&relay, &dir)), None).await;
    queue_one_notice(&app).await;
    app.drain_outbox().await;
    let mails = relay.wait_for(1, WAIT).await;
    assert!(mails[0].tls);
    assert_eq!(
        relay.logins(),
        [SmtpLogin {
            user: "relay-user".into(),
            password: "relay pass".into(),
            tls: true,
        }],
        "the password went only over TLS"
    );
    app.stop().await;
}
