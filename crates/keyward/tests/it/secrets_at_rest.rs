//! No secret is ever stored: after issuing every kind this build has (token,
//! rotated token, session, callback secret), the database files hold none of
//! them.

use keyward_testkit::{TestApp, send};
use reqwest::Method;
use serde_json::json;

#[tokio::test]
async fn the_database_never_contains_an_issued_secret() {
    let app = TestApp::spawn().await;
    let session = app.session("keeper", &["member"]).await;
    let mut secrets = vec![session.clone()];
    let token = app
        .create_token(
            &session,
            json!({"name": "s", "scopes": ["credentials.manage"],
            "renewal": {"everyDays": 7, "callbackUrl": "https://hooks.example.com/r"}}),
        )
        .await;
    secrets.push(token["token"].as_str().unwrap().to_owned());
    secrets.push(
        token["renewal"]["callbackSecret"]
            .as_str()
            .unwrap()
            .to_owned(),
    );
    let (_, rotated) = send(app.bearer(
        Method::POST,
        &format!(
            "/api/v1/integrations/tokens/{}/rotate",
            token["id"].as_str().unwrap()
        ),
        &session,
    ))
    .await;
    secrets.push(rotated["token"].as_str().unwrap().to_owned());
    // Use them so that the usage write-behind also runs.
    for s in &secrets[..2] {
        app.me_status(s).await;
    }
    app.keyward.flush_usage().await.unwrap();

    let dumped = keyward_testkit::pg::dump(&app).await;
    assert!(
        dumped.len() > 1000,
        "the dump holds the data ({} bytes)",
        dumped.len()
    );
    assert!(
        dumped.windows(b"keeper".len()).any(|w| w == b"keeper"),
        "the dump is readable: the username is in it"
    );
    for secret in &secrets {
        // Neither the secret nor its random part may appear anywhere.
        for needle in [secret.as_str(), &secret[4..34]] {
            assert!(
                !dumped.windows(needle.len()).any(|w| w == needle.as_bytes()),
                "a secret is stored in plaintext"
            );
        }
    }
    app.stop().await;
}
