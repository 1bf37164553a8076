//! The portal's OAuth Apps tab and the OAuth pages in a real browser:
//! Create OAuth App (its secret shown once), Rotate secret (the old one
//! stops at once), Delete; and a user signing in through an OAuth client's
//! authorize request and allowing it on the consent page.

use fantoccini::Locator;
use keyward_testkit::TestApp;
use keyward_testkit::browser::Browser;
use reqwest::StatusCode;

use crate::oauth_support::{Client, Reply, pkce, token};

/// A page that stands in for the client's redirect URI: answers every
/// request with 200, so the browser lands on it.
async fn redirect_target() -> (String, tokio::task::JoinHandle<()>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!(
        "http://127.0.0.1:{}/cb",
        listener.local_addr().unwrap().port()
    );
    let task = tokio::spawn(async move {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        while let Ok((mut socket, _)) = listener.accept().await {
            tokio::spawn(async move {
                let mut buf = [0u8; 4096];
                let _ = socket.read(&mut buf).await;
                let body = "<!doctype html><title>Client</title><p>Back at the client.</p>";
                let answer = format!(
                    "HTTP/1.1 200 OK\r\ncontent-type: text/html\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
                    body.len()
                );
                let _ = socket.write_all(answer.as_bytes()).await;
            });
        }
    });
    (url, task)
}

async fn credential_id(b: &Browser) -> String {
    b.client
        .find(Locator::Id("credential-id"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap()
}

#[tokio::test]
async fn portal_apps_create_rotate_delete_and_consent() {
    let _slot = keyward_testkit::browser::slot().await;
    let app = TestApp::spawn().await;
    app.user("dana", &["member"]).await;
    let (redirect_uri, receiver) = redirect_target().await;
    let b = Browser::start(&app).await;
    b.sign_in("dana").await;
    b.click("OAuth Apps").await;
    b.assert_text("No OAuth apps.").await;

    // Create: a bad redirect URI first, shown beside the field.
    b.click("Create OAuth App").await;
    b.fill("Name*", "Report builder").await;
    b.fill("Description", "Builds reports from iGUIDE").await;
    b.fill("Redirect URIs*", "not a uri").await;
    b.tick("iguide.list").await;
    b.click("Create OAuth App").await;
    assert!(
        b.client
            .find(Locator::Id("redirectUris-error"))
            .await
            .is_ok(),
        "{}",
        b.text().await
    );
    assert_eq!(
        b.value_of("clientName").await,
        "Report builder",
        "input kept"
    );
    b.fill("Redirect URIs*", &redirect_uri).await;
    b.click("Create OAuth App").await;
    b.assert_text("OAuth app created.").await;
    let client_id = credential_id(&b).await;
    let first_secret = b.value_of("secret").await;
    assert!(first_secret.starts_with("kwc_"), "{first_secret}");
    b.press("Copy").await;
    b.wait_for_text("Copied").await;
    b.click("Done").await;
    b.assert_text("Builds reports from iGUIDE").await;
    b.assert_text(&redirect_uri).await;

    // Rotate secret: the warning, then a new secret; the old one is dead.
    b.click("Rotate secret").await;
    b.assert_text("The old secret stops working at once").await;
    b.click("Rotate secret").await;
    b.assert_text("Client secret rotated.").await;
    let secret = b.value_of("secret").await;
    assert_ne!(secret, first_secret);
    let old = Client {
        id: client_id.clone(),
        secret: first_secret,
    };
    let client = Client {
        id: client_id.clone(),
        secret: secret.clone(),
    };
    let Reply { status, .. } = token(&app, &old, &[("grant_type", "client_credentials")]).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "the old secret stopped");

    // A user signs in through the client's authorize request and allows it.
    let (verifier, challenge) = pkce();
    let authorize = format!(
        "/oauth/authorize?response_type=code&client_id={client_id}&scope=iguide.list\
         &state=xyz&code_challenge={challenge}&code_challenge_method=S256"
    );
    let user = Browser::start(&app).await;
    user.goto(&authorize).await;
    user.assert_text("Sign in").await;
    user.fill("Username", "dana").await;
    user.fill("Password", keyward_testkit::PASSWORD).await;
    user.click("Sign in").await;
    user.assert_text("Authorize Report builder").await;
    user.assert_text("Builds reports from iGUIDE").await;
    user.assert_text("iguide.list").await;
    assert!(user.has_control("Deny").await);
    // The consent page has the portal's look: its stylesheet, no inline style.
    let sheet = user
        .client
        .find(Locator::Css("link[rel=stylesheet]"))
        .await
        .unwrap()
        .attr("href")
        .await
        .unwrap()
        .unwrap();
    assert!(sheet.starts_with("/static/portal."), "{sheet}");
    user.click("Allow").await;
    user.wait_for_text("Back at the client.").await;
    let landed = user.client.current_url().await.unwrap();
    assert!(landed.as_str().starts_with(&redirect_uri), "{landed}");
    let code = landed
        .query_pairs()
        .find(|(k, _)| k == "code")
        .map(|(_, v)| v.into_owned())
        .expect("a code");
    assert_eq!(
        landed
            .query_pairs()
            .find(|(k, _)| k == "state")
            .map(|(_, v)| v.into_owned()),
        Some("xyz".into())
    );
    let grant = crate::oauth_support::token(
        &app,
        &client,
        &[
            ("grant_type", "authorization_code"),
            ("code", &code),
            ("code_verifier", &verifier),
            ("redirect_uri", &redirect_uri),
        ],
    )
    .await;
    assert_eq!(grant.status, StatusCode::OK, "{}", grant.text);
    user.close().await;

    // Delete, after its confirmation.
    b.goto(&format!("/settings/api/apps/{client_id}")).await;
    b.click("Delete").await;
    b.assert_text("This cannot be undone.").await;
    b.click("Delete").await;
    b.assert_text("OAuth app deleted.").await;
    b.assert_text("No OAuth apps.").await;
    let Reply { status, .. } = token(&app, &client, &[("grant_type", "client_credentials")]).await;
    assert_eq!(
        status,
        StatusCode::UNAUTHORIZED,
        "a deleted app's secret fails"
    );

    b.close().await;
    receiver.abort();
    app.stop().await;
}
