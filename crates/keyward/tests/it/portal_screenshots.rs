//! Pictures of the portal's main pages, taken in the real browser on a
//! deployment with tokens of every age. Every run checks that each page
//! renders to a PNG; `scripts/screenshots` runs this test with
//! `KW_SCREENSHOTS_DIR=docs/screenshots` to refresh the README's pictures.

use std::path::PathBuf;

use keyward_testkit::browser::Browser;
use keyward_testkit::{TestApp, at};
use serde_json::json;

use crate::oauth_support::{create_app, pkce};

fn out_dir() -> (PathBuf, Option<tempfile::TempDir>) {
    match std::env::var_os("KW_SCREENSHOTS_DIR") {
        Some(dir) => {
            let dir = PathBuf::from(dir);
            std::fs::create_dir_all(&dir).expect("screenshot dir");
            (dir, None)
        }
        None => {
            let tmp = tempfile::tempdir().expect("temp dir");
            (tmp.path().to_owned(), Some(tmp))
        }
    }
}

async fn shot(b: &Browser, dir: &std::path::Path, name: &str) {
    let path = dir.join(format!("{name}.png"));
    b.screenshot(&path).await;
    let png = std::fs::read(&path).expect("the picture");
    assert!(png.starts_with(b"\x89PNG\r\n\x1a\n"), "{name} is a PNG");
    assert!(
        png.len() > 5_000,
        "{name} shows something ({} bytes)",
        png.len()
    );
}

#[tokio::test]
async fn portal_screenshots_of_the_main_pages() {
    let _slot = keyward_testkit::browser::slot().await;
    let (dir, _keep) = out_dir();
    let app = TestApp::spawn().await;
    app.user("admin", &["admin"]).await;
    app.user("jane.doe@example.com", &["member"]).await;
    let session = app.login("jane.doe@example.com").await;
    app.create_token(
        &session,
        json!({"name": "legacy-importer", "description": "Nightly import from the old ERP",
               "scopes": ["iguide.list", "iguide.ro"]}),
    )
    .await;
    app.create_token(
        &session,
        json!({"name": "q1-report", "scopes": ["iguide.ro"], "expiresAt": at(&app, time::Duration::days(90))}),
    )
    .await;
    app.advance(time::Duration::days(180));
    let session = app.login("jane.doe@example.com").await;
    app.create_token(
        &session,
        json!({"name": "ci-deploy", "scopes": ["iguide.rw", "iguide.tasks"]}),
    )
    .await;
    app.advance(time::Duration::days(200));
    let session = app.login("jane.doe@example.com").await;
    app.create_token(
        &session,
        json!({"name": "dashboard", "description": "Team dashboard", "scopes": ["iguide.list"],
               "expiresAt": at(&app, time::Duration::days(180))}),
    )
    .await;
    let client = create_app(
        &app,
        &session,
        json!({"clientName": "Report builder", "description": "Builds weekly reports",
               "redirectUris": ["https://reports.example/callback"],
               "scope": ["iguide.list", "iguide.ro"]}),
    )
    .await;

    let b = Browser::start(&app).await;
    b.goto("/login").await;
    shot(&b, &dir, "login").await;
    b.sign_in("jane.doe@example.com").await;
    b.goto("/settings/api/tokens").await;
    shot(&b, &dir, "tokens").await;
    b.click("Create API Token").await;
    shot(&b, &dir, "create-token").await;
    b.fill("Name*", "release-bot").await;
    b.fill("Description", "Tags releases").await;
    b.tick("iguide.rw").await;
    b.set_date("Expires on", &at(&app, time::Duration::days(365))[..10])
        .await;
    b.click("Create API Token").await;
    b.press("Copy").await;
    b.wait_for_text("Copied").await;
    shot(&b, &dir, "secret").await;
    b.click("Done").await;
    b.goto("/settings/api/tokens").await;
    b.click("legacy-importer").await;
    shot(&b, &dir, "token-detail").await;
    b.click("OAuth Apps").await;
    shot(&b, &dir, "apps").await;
    b.click("My profile").await;
    shot(&b, &dir, "profile").await;

    let (_, challenge) = pkce();
    b.goto(&format!(
        "/oauth/authorize?response_type=code&client_id={}&scope=iguide.list%20iguide.ro\
         &code_challenge={challenge}&code_challenge_method=S256",
        client.id
    ))
    .await;
    b.assert_text("Authorize Report builder").await;
    shot(&b, &dir, "consent").await;

    // A phone-width screen.
    b.client.set_window_size(390, 844).await.expect("resize");
    b.goto("/settings/api/tokens").await;
    shot(&b, &dir, "tokens-phone").await;
    b.close().await;

    let a = Browser::start(&app).await;
    a.sign_in("admin").await;
    a.click("Administration").await;
    shot(&a, &dir, "admin-users").await;
    a.close().await;
    app.stop().await;
}
