//! A real `keyward serve` process on the store this run targets: killed with
//! SIGKILL under write load, every change it acknowledged is there after a
//! restart, each with its audit event; stopped with SIGTERM, it finishes the requests in flight and
//! writes the pending `lastUsedAt` before it exits.

use std::time::Duration as StdDuration;

use keyward_testkit::PASSWORD;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::serve_process::{Data, create_user, login, signal};

#[tokio::test]
async fn every_acknowledged_change_survives_a_sigkill() {
    let data = Data::new().await;
    create_user(&data);
    let (mut server, base) = data.serve().await;
    let client = reqwest::Client::new();
    let session = login(&client, &base).await;

    let (acked, mut acks) = tokio::sync::mpsc::unbounded_channel::<Value>();
    let mut load = tokio::task::JoinSet::new();
    for worker in 0..8 {
        let (client, base, session, acked) =
            (client.clone(), base.clone(), session.clone(), acked.clone());
        load.spawn(async move {
            for n in 0.. {
                let response = client
                    .post(format!("{base}/api/v1/integrations/tokens"))
                    .bearer_auth(&session)
                    .json(&json!({"name": format!("w{worker}-{n}"), "scopes": ["iguide.ro"]}))
                    .send()
                    .await;
                let Ok(response) = response else { return };
                if response.status() != StatusCode::CREATED {
                    return;
                }
                let Ok(body) = response.json::<Value>().await else {
                    return;
                };
                let _ = acked.send(body);
            }
        });
    }
    drop(acked);
    // Let writes pile up, then kill it mid-stream.
    let mut confirmed = Vec::new();
    while confirmed.len() < 40 {
        confirmed.push(acks.recv().await.expect("the server writes"));
    }
    signal(&server, "KILL");
    server.wait().unwrap();
    while let Some(body) = acks.recv().await {
        confirmed.push(body);
    }
    load.join_all().await;

    let (mut again, base) = data.serve().await;
    let session = login(&client, &base).await;
    let mut listed = Vec::new();
    let mut next = Some(format!("{base}/api/v1/integrations/tokens"));
    while let Some(url) = next {
        let response = client.get(&url).bearer_auth(&session).send().await.unwrap();
        next = response
            .headers()
            .get("link")
            .and_then(|l| l.to_str().ok())
            .and_then(|l| Some(l.strip_prefix('<')?.split('>').next()?.to_owned()));
        let page: Vec<Value> = response.json().await.unwrap();
        listed.extend(page);
    }
    eprintln!("{} changes acknowledged before the kill", confirmed.len());
    for body in &confirmed {
        assert!(
            listed.iter().any(|t| t["id"] == body["id"]),
            "acknowledged token {} is gone after the restart",
            body["id"]
        );
        let status = client
            .get(format!("{base}/api/v1/me"))
            .bearer_auth(body["token"].as_str().unwrap())
            .send()
            .await
            .unwrap()
            .status();
        assert_eq!(status, StatusCode::OK, "its secret works");
    }
    // The audit log tells the same story: an event for every token that
    // exists, and no event of a token that does not.
    let mut created = std::collections::BTreeSet::new();
    let mut next = Some(format!("{base}/api/v1/audit?action=token.created"));
    while let Some(url) = next {
        let response = client.get(&url).bearer_auth(&session).send().await.unwrap();
        assert_eq!(response.status(), StatusCode::OK);
        next = response
            .headers()
            .get("link")
            .and_then(|l| l.to_str().ok())
            .and_then(|l| Some(l.strip_prefix('<')?.split('>').next()?.to_owned()));
        let page: Vec<Value> = response.json().await.unwrap();
        created.extend(
            page.iter()
                .map(|e| e["target"]["id"].as_str().unwrap().to_owned()),
        );
    }
    let existing: std::collections::BTreeSet<String> = listed
        .iter()
        .map(|t| t["id"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(
        created, existing,
        "one token.created event per token, no more"
    );
    signal(&again, "TERM");
    again.wait().unwrap();
    data.finish().await;
}

#[tokio::test]
async fn sigterm_finishes_requests_in_flight_and_writes_last_uses() {
    let data = Data::new().await;
    create_user(&data);
    let (mut server, base) = data.serve().await;
    let client = reqwest::Client::new();
    let session = login(&client, &base).await;
    let token: Value = client
        .post(format!("{base}/api/v1/integrations/tokens"))
        .bearer_auth(&session)
        .json(&json!({"name": "used", "scopes": ["iguide.ro"]}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let secret = token["token"].as_str().unwrap().to_owned();
    // A use waits in the write-behind (written every 10 s).
    let used = client
        .get(format!("{base}/api/v1/me"))
        .bearer_auth(&secret)
        .send()
        .await
        .unwrap();
    assert_eq!(used.status(), StatusCode::OK);
    // Sign-ins hash a password: slow enough to be in flight at the signal.
    let mut in_flight = tokio::task::JoinSet::new();
    for _ in 0..4 {
        let (client, base) = (client.clone(), base.clone());
        in_flight.spawn(async move {
            client
                .post(format!("{base}/api/v1/login"))
                .json(&json!({"username": "durable", "password": PASSWORD}))
                .send()
                .await
                .map(|r| r.status())
        });
    }
    tokio::time::sleep(StdDuration::from_millis(20)).await;
    signal(&server, "TERM");
    for answer in in_flight.join_all().await {
        assert_eq!(answer.expect("answered, not dropped"), StatusCode::OK);
    }
    let exit = server.wait().unwrap();
    assert!(exit.success(), "a clean exit: {exit}");

    let (mut again, base) = data.serve().await;
    let session = login(&client, &base).await;
    let shown: Value = client
        .request(
            Method::GET,
            format!(
                "{base}/api/v1/integrations/tokens/{}",
                token["id"].as_str().unwrap()
            ),
        )
        .bearer_auth(&session)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(
        shown["lastUsedAt"].is_string(),
        "the last use was written: {shown}"
    );
    assert_eq!(shown["lastUsedIp"], "127.0.0.1");
    signal(&again, "TERM");
    again.wait().unwrap();
    data.finish().await;
}
