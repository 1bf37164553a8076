//! `kill -9` of the instance holding a claim loses nothing: a real `keyward
//! serve` process claims a renewal callback and is killed with SIGKILL while
//! the receiver holds its request open; once the claim has expired, the
//! message goes out again, with the same id and key, and is delivered once.
//! On PostgreSQL a second instance, started while the first still holds the
//! claim, takes it over; on SQLite, where one server runs per file, the
//! killed one is restarted and does.

use std::time::{Duration as StdDuration, Instant};

use keyward_testkit::{WebhookReceiver, verify_signature};
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::serve_process::{Data, create_user, login, signal};

/// The claim's length: long enough for the second instance to start while
/// the first still holds it.
const CLAIM_SECONDS: u64 = 5;
const WAIT: StdDuration = StdDuration::from_secs(30);

const SETTINGS: [(&str, &str); 3] = [
    ("KEYWARD_JOBS_POLL_SECONDS", "1"),
    ("KEYWARD_DELIVERY_CLAIM_SECONDS", "5"),
    ("KEYWARD_WEBHOOK_ALLOW_PRIVATE_TARGETS", "true"),
];

/// POSTs `body` (with `secret` as the bearer credential, if any).
async fn post(
    client: &reqwest::Client,
    url: String,
    secret: Option<&str>,
    body: Value,
) -> (u16, Value) {
    let mut request = client.post(url).json(&body);
    if let Some(secret) = secret {
        request = request.bearer_auth(secret);
    }
    let response = request.send().await.unwrap();
    let status = response.status().as_u16();
    (status, response.json().await.unwrap_or(Value::Null))
}

#[tokio::test]
async fn a_message_whose_sender_is_killed_mid_delivery_is_delivered_once_its_claim_expires() {
    let data = Data::new().await;
    create_user(&data);
    let receiver = WebhookReceiver::start().await;
    receiver.hold_next(1);
    let (mut first, base) = data.serve_with(&SETTINGS).await;
    let client = reqwest::Client::new();
    let session = login(&client, &base).await;
    let (status, token) = post(
        &client,
        format!("{base}/api/v1/integrations/tokens"),
        Some(&session),
        json!({"name": "renewing", "scopes": ["iguide.list"],
               "renewal": {"everyDays": 30, "callbackUrl": receiver.url("/cb")}}),
    )
    .await;
    assert_eq!(status, 201, "{token}");
    let id = token["id"].as_str().unwrap();
    let callback_secret = token["renewal"]["callbackSecret"].as_str().unwrap();

    let triggered_at = Instant::now();
    let (status, delivery) = post(
        &client,
        format!("{base}/api/v1/integrations/tokens/{id}/triggerRenewal"),
        Some(&session),
        Value::Null,
    )
    .await;
    assert_eq!(status, 202, "{delivery}");

    // The first instance is sending, and the receiver keeps it waiting.
    let held = receiver.wait_for(1, WAIT).await.remove(0);
    assert!(held.held);
    // The survivor: a second instance beside it (PostgreSQL), or the same
    // one restarted once it is dead (SQLite).
    let second = if keyward_testkit::pg::requested() {
        Some(data.serve_with(&SETTINGS).await)
    } else {
        None
    };
    signal(&first, "KILL");
    first.wait().unwrap();
    let (mut survivor, survivor_base) = match second {
        Some(second) => second,
        None => data.serve_with(&SETTINGS).await,
    };

    // After the claim, the message again: the same id and key, signed,
    // answered this time.
    let hooks = receiver.wait_for(2, WAIT).await;
    let again = &hooks[1];
    assert!(!again.held);
    assert_eq!(again.id, held.id, "one id across attempts");
    assert_eq!(
        again.id,
        format!("msg_{}", delivery["id"].as_str().unwrap().replace('-', ""))
    );
    assert!(verify_signature(callback_secret, &held));
    assert!(verify_signature(callback_secret, again));
    let key = again.json()["key"].as_str().unwrap().to_owned();
    assert_eq!(held.json()["key"], key.as_str(), "the same key");
    let waited = again.received_at - triggered_at;
    assert!(
        waited >= StdDuration::from_secs(CLAIM_SECONDS),
        "not taken over before the claim ended: {waited:?}"
    );

    // Delivered once: nothing more comes, and the log says so.
    tokio::time::sleep(StdDuration::from_millis(2500)).await;
    assert_eq!(receiver.received().len(), 2);
    let log: Value = client
        .get(format!(
            "{survivor_base}/api/v1/integrations/tokens/{id}/deliveries"
        ))
        .bearer_auth(&session)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let entry = &log[0];
    assert_eq!(log.as_array().unwrap().len(), 1, "{log}");
    assert_eq!(entry["id"], delivery["id"]);
    assert_eq!(entry["status"], "delivered", "{log}");
    assert_eq!(
        entry["attempts"], 1,
        "the killed attempt never finished: {log}"
    );
    assert_eq!(entry["lastResult"], "HTTP 200", "{log}");

    // And the key it carried works.
    let (status, renewed) = post(
        &client,
        format!("{survivor_base}/api/v1/integrations/tokens/requestRenewedToken"),
        None,
        json!({"key": key}),
    )
    .await;
    assert_eq!(status, StatusCode::OK.as_u16(), "{renewed}");
    assert_eq!(renewed["id"], id);

    signal(&survivor, "TERM");
    survivor.wait().unwrap();
    data.finish().await;
}
