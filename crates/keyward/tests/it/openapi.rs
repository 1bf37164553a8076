//! The OpenAPI document: a snapshot that cannot drift silently, and a check
//! that every documented operation is routed (and nothing else is).

use keyward_testkit::{TestApp, send};
use reqwest::{Method, StatusCode};

const SNAPSHOT: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../docs/openapi.json");

#[tokio::test]
async fn the_document_matches_the_committed_snapshot() {
    let app = TestApp::spawn().await;
    let (status, served) = send(app.request(Method::GET, "/openapi.json")).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(served["openapi"], "3.1.0");
    let rendered = serde_json::to_string_pretty(&served).unwrap() + "\n";
    if std::env::var_os("KW_UPDATE_SNAPSHOTS").is_some() {
        std::fs::write(SNAPSHOT, &rendered).unwrap();
    }
    let committed = std::fs::read_to_string(SNAPSHOT).unwrap_or_default();
    assert!(
        committed == rendered,
        "docs/openapi.json is out of date: rerun with KW_UPDATE_SNAPSHOTS=1 and review the diff"
    );
    app.stop().await;
}

#[tokio::test]
async fn every_documented_operation_is_routed() {
    let app = TestApp::spawn().await;
    let doc = keyward_web::openapi::document(Default::default());
    let doc = serde_json::to_value(&doc).unwrap();
    let paths = doc["paths"].as_object().unwrap();
    assert!(paths.len() >= 10, "{paths:?}");
    for (path, item) in paths {
        let concrete = path.replace("{id}", &uuid::Uuid::nil().to_string());
        for method in item.as_object().unwrap().keys() {
            let method = Method::from_bytes(method.to_uppercase().as_bytes()).unwrap();
            // Not every answer is JSON (`/metrics` is text).
            let response = app.request(method.clone(), &concrete).send().await.unwrap();
            let status = response.status();
            let body: serde_json::Value = response.json().await.unwrap_or_default();
            assert_ne!(status, StatusCode::METHOD_NOT_ALLOWED, "{method} {path}");
            assert!(
                !(status == StatusCode::NOT_FOUND && body["message"] == "no such endpoint"),
                "{method} {path} is documented but not routed"
            );
            assert!(status.as_u16() < 500, "{method} {path}: {status}");
        }
    }
    // Operations that need a credential say so.
    let tokens = &doc["paths"]["/api/v1/integrations/tokens"]["post"];
    assert!(tokens["security"].is_array());
    let text = doc.to_string();
    for leak in [
        "digest",
        "passwordHash",
        "password_hash",
        "secretSeed",
        "secret_seed",
    ] {
        assert!(!text.contains(leak), "a schema exposes {leak}");
    }
    app.stop().await;
}
