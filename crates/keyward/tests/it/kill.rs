//! Killing an instance mid-way leaves no half-done change: instance A is a
//! real `keyward serve` process, killed with SIGKILL while it rotates and
//! creates tokens; instance B then sees every change A confirmed, and every
//! token in a whole state (one current secret that works, at most one
//! previous, the limit kept).

use std::process::{Command, Stdio};
use std::time::Duration as StdDuration;

use keyward_testkit::{TEST_SERVER_KEY, TestApp, send};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

/// Requests sent to A; far more than it completes before it is killed.
const ROUNDS: usize = 150;

#[tokio::test]
async fn killing_an_instance_mid_way_leaves_no_half_done_change() {
    let db = keyward_store_postgres::testing::fresh_database().await;
    let url = db.url.clone();
    let b = TestApp::spawn_on(Some(db), |_| {}).await;
    let session = b.session("survivor", &["member"]).await;
    let manager = b
        .create_token(
            &session,
            json!({"name": "m", "scopes": ["credentials.manage", "iguide.list"]}),
        )
        .await;
    let manager = manager["token"].as_str().unwrap().to_owned();
    let mut ids = Vec::new();
    for i in 0..4 {
        let t = b
            .create_token(
                &manager,
                json!({"name": format!("t{i}"), "scopes": ["iguide.list"]}),
            )
            .await;
        ids.push(t["id"].as_str().unwrap().to_owned());
    }

    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let mut a = Command::new(env!("CARGO_BIN_EXE_keyward"))
        .arg("serve")
        .env("KEYWARD_LISTEN", format!("127.0.0.1:{port}"))
        .env("KEYWARD_DATABASE_URL", &url)
        .env("KEYWARD_SECRET_KEY", TEST_SERVER_KEY)
        .env("KEYWARD_SCOPES", keyward_testkit::SCOPES)
        .env("RUST_LOG", "error")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let base = format!("http://127.0.0.1:{port}");
    let client = reqwest::Client::new();
    for _ in 0..200 {
        if client.get(format!("{base}/readyz")).send().await.is_ok() {
            break;
        }
        tokio::time::sleep(StdDuration::from_millis(50)).await;
    }

    // Rotations and creations in flight on A...
    let (first_done, mut first) = tokio::sync::mpsc::channel::<()>(ROUNDS);
    let mut work = tokio::task::JoinSet::new();
    for round in 0..ROUNDS {
        let client = client.clone();
        let manager = manager.clone();
        let base = base.clone();
        let id = ids[round % ids.len()].clone();
        let first_done = first_done.clone();
        work.spawn(async move {
            let request = if round % 5 == 4 {
                client
                    .post(format!("{base}/api/v1/integrations/tokens"))
                    .json(&json!({"name": format!("new{round}"), "scopes": ["iguide.list"]}))
            } else {
                client.post(format!("{base}/api/v1/integrations/tokens/{id}/rotate"))
            };
            let response = request.bearer_auth(&manager).send().await.ok()?;
            if !response.status().is_success() {
                return None;
            }
            let body = response.json::<Value>().await.ok()?;
            let _ = first_done.try_send(());
            Some(body)
        });
    }
    // ...and A dies as soon as it has confirmed its first change, with the
    // rest still in flight.
    tokio::time::timeout(StdDuration::from_secs(30), first.recv())
        .await
        .expect("A confirmed something");
    a.kill().unwrap();
    a.wait().unwrap();
    let mut confirmed = Vec::new();
    while let Some(result) = work.join_next().await {
        if let Some(body) = result.unwrap() {
            confirmed.push(body);
        }
    }

    eprintln!(
        "A confirmed {} of {ROUNDS} changes before it was killed",
        confirmed.len()
    );
    assert!(
        !confirmed.is_empty() && confirmed.len() < ROUNDS,
        "the kill must land mid-way ({} of {ROUNDS} confirmed)",
        confirmed.len()
    );
    // B sees every change A confirmed whose secret is still current...
    let (_, list) = send(b.bearer(Method::GET, "/api/v1/integrations/tokens", &manager)).await;
    let list = list.as_array().unwrap().clone();
    for body in &confirmed {
        let shown = list
            .iter()
            .find(|t| t["id"] == body["id"])
            .expect("a confirmed token exists on B");
        if shown["tokenHint"] == body["tokenHint"] {
            assert_eq!(
                b.me_status(body["token"].as_str().unwrap()).await,
                StatusCode::OK
            );
        }
    }
    // ...and every token in a whole state: its current secret is one that a
    // completed request issued (or the original), with at most one previous.
    assert!(list.len() <= 10, "the token limit held: {}", list.len());
    for token in &list {
        assert_eq!(token["status"], "active");
        assert!(token["previousToken"].is_null() || token["previousToken"]["hint"].is_string());
    }
    let rotated_on_b = list.iter().find(|t| t["name"] == "t0").unwrap();
    let (status, rotated) = send(b.bearer(
        Method::POST,
        &format!(
            "/api/v1/integrations/tokens/{}/rotate",
            rotated_on_b["id"].as_str().unwrap()
        ),
        &manager,
    ))
    .await;
    assert_eq!(
        status,
        StatusCode::OK,
        "B can go on working with what A left: {rotated}"
    );
    b.stop().await;
}
