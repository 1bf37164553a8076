//! The portal's API Tokens tab in a real browser: sign in, create a token
//! with rights and an expiry, read and copy its secret once, use it against
//! the API, rotate and revoke the previous secret, renew, edit, deactivate
//! and delete with their confirmations; and the age colours of old and
//! expired tokens made with the test clock.

use fantoccini::Locator;
use keyward_testkit::browser::Browser;
use keyward_testkit::{TestApp, at};
use reqwest::StatusCode;
use serde_json::json;

/// The date `days` from the test clock's now, as a date field takes it.
fn date_in(app: &TestApp, days: i64) -> String {
    at(app, time::Duration::days(days))[..10].to_owned()
}

#[tokio::test]
async fn portal_token_walkthrough() {
    let _slot = keyward_testkit::browser::slot().await;
    let app = TestApp::spawn().await;
    app.user("alice", &["member"]).await;
    let b = Browser::start(&app).await;

    // Not signed in: any page leads to the sign-in form, then back.
    b.goto("/settings/api/tokens").await;
    assert!(
        b.path().await.starts_with("/login?next="),
        "{}",
        b.path().await
    );
    b.fill("Username", "alice").await;
    b.fill("Password", "not the password").await;
    b.click("Sign in").await;
    b.assert_text("Wrong username or password.").await;
    assert_eq!(
        b.value_of("username").await,
        "alice",
        "the username is kept"
    );
    b.fill("Password", keyward_testkit::PASSWORD).await;
    b.click("Sign in").await;
    assert_eq!(b.path().await, "/settings/api/tokens");
    b.assert_text("Settings → API Management").await;
    b.assert_text("No API tokens").await;
    b.assert_text("An API token lets a script").await;

    // Create, with a validation error first: the input is kept.
    b.click("Create API Token").await;
    b.fill("Name*", "ci-deploy").await;
    b.fill("Description", "deploys from CI").await;
    b.tick("iguide.list").await;
    b.click("Create API Token").await;
    b.assert_text("choose a date, or tick Never expires").await;
    assert_eq!(b.value_of("name").await, "ci-deploy");
    assert_eq!(b.value_of("description").await, "deploys from CI");
    b.set_date("Expires on", &date_in(&app, 90)).await;
    b.click("Create API Token").await;

    // The one-time secret page.
    assert_eq!(b.path().await, "/settings/api/secret");
    b.assert_text("Token created.").await;
    b.assert_text("shown only this once").await;
    let token_id = b
        .client
        .find(Locator::Id("credential-id"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let secret = b.value_of("secret").await;
    assert!(secret.starts_with("kwp_"), "{secret}");
    assert_eq!(
        b.field("Token")
            .await
            .attr("readonly")
            .await
            .unwrap()
            .as_deref(),
        Some("true")
    );
    b.press("Copy").await;
    b.wait_for_text("Copied").await;
    assert_eq!(
        app.me_status(&secret).await,
        StatusCode::OK,
        "the secret works"
    );

    // Reload and Back do not show it again.
    b.client.refresh().await.unwrap();
    assert_eq!(b.path().await, "/settings/api/tokens");
    b.assert_text("A secret is shown only once").await;
    assert!(!b.text().await.contains(&secret));
    b.client.back().await.unwrap();
    assert!(!b.text().await.contains(&secret), "Back shows no secret");

    // The list shows it; its page has the action bar and the audit trail.
    b.goto("/settings/api/tokens").await;
    b.assert_text("ci-deploy").await;
    b.assert_text("iguide.list").await;
    b.assert_text("0 days").await;
    b.click("ci-deploy").await;
    assert_eq!(b.path().await, format!("/settings/api/tokens/{token_id}"));
    b.assert_text("deploys from CI").await;
    b.assert_text("token.created").await;

    // Rotate with the default grace: the old secret still works.
    b.click("Rotate").await;
    b.assert_text("Default: 7 days").await;
    b.click("Rotate").await;
    b.assert_text("Token rotated. The previous secret works until")
        .await;
    let rotated = b.value_of("secret").await;
    assert_ne!(rotated, secret);
    b.click("Done").await;
    b.assert_text("Previous secret").await;
    assert_eq!(app.me_status(&secret).await, StatusCode::OK, "in its grace");
    assert_eq!(app.me_status(&rotated).await, StatusCode::OK);

    // Revoke previous: the old secret stops.
    b.click("Revoke previous").await;
    b.assert_text("Previous secret revoked").await;
    b.assert_text("token.rotated").await;
    b.assert_text("token.previous_revoked").await;
    assert!(!b.has_control("Revoke previous").await);
    assert_eq!(app.me_status(&secret).await, StatusCode::UNAUTHORIZED);
    assert_eq!(app.me_status(&rotated).await, StatusCode::OK);

    // Edit: the description (plenigo's limited edit).
    b.click("Edit").await;
    b.fill("Description", "deploys from the new CI").await;
    b.click("Save").await;
    b.assert_text("Token updated.").await;
    b.assert_text("deploys from the new CI").await;

    // Renew: a new token; the old one ends on the chosen day.
    b.click("Renew Token").await;
    b.set_date("End date of the existing token*", &date_in(&app, 3))
        .await;
    b.fill("Name of the new token*", "ci-deploy-2").await;
    b.click("Renew Token").await;
    b.assert_text("Token renewed.").await;
    let renewed = b.value_of("secret").await;
    let renewed_id = b
        .client
        .find(Locator::Id("credential-id"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert_ne!(renewed_id, token_id);
    assert_eq!(app.me_status(&renewed).await, StatusCode::OK);
    b.click("Done").await;
    b.assert_text("ci-deploy-2").await;

    // Deactivate the old token, after a confirmation that says it is final.
    b.goto(&format!("/settings/api/tokens/{token_id}")).await;
    assert!(!b.has_control("Renew Token").await, "renewed once");
    b.click("Deactivate").await;
    b.assert_text("cannot be undone").await;
    b.click("Deactivate").await;
    b.assert_text("Token deactivated.").await;
    assert_eq!(
        b.client
            .find(Locator::Id("token-status"))
            .await
            .unwrap()
            .text()
            .await
            .unwrap(),
        "deactivated"
    );
    assert_eq!(app.me_status(&rotated).await, StatusCode::UNAUTHORIZED);
    b.assert_text("token.deactivated").await;

    // Delete it, after its confirmation.
    b.click("Delete").await;
    b.assert_text("This cannot be undone.").await;
    b.click("Delete").await;
    assert_eq!(b.path().await, "/settings/api/tokens");
    b.assert_text("Token deleted.").await;
    let list = b.text().await;
    assert!(
        list.contains("ci-deploy-2") && !list.contains("ci-deploy\n"),
        "{list}"
    );
    b.goto(&format!("/settings/api/tokens/{token_id}")).await;
    b.assert_text("Token not found").await;

    // Sign out ends the session.
    b.goto("/settings/api/tokens").await;
    b.click("Sign out").await;
    b.assert_text("Signed out.").await;
    b.goto("/settings/api/tokens").await;
    assert!(b.path().await.starts_with("/login"));

    b.close().await;
    app.stop().await;
}

#[tokio::test]
async fn portal_age_colours_follow_the_clock() {
    let _slot = keyward_testkit::browser::slot().await;
    let app = TestApp::spawn().await;
    let session = app.session("carol", &["member"]).await;
    // Made 400 days ago and never expiring; made 200 days ago; one that
    // expired; a fresh one.
    let old = app
        .create_token(
            &session,
            json!({"name": "ancient", "scopes": ["iguide.list"]}),
        )
        .await;
    app.create_token(
        &session,
        json!({"name": "lapsed", "scopes": ["iguide.list"], "expiresAt": at(&app, time::Duration::days(30))}),
    )
    .await;
    app.advance(time::Duration::days(200));
    let session = app.login("carol").await;
    let aging = app
        .create_token(
            &session,
            json!({"name": "middling", "scopes": ["iguide.list"]}),
        )
        .await;
    app.advance(time::Duration::days(200));
    let session = app.login("carol").await;
    let fresh = app
        .create_token(
            &session,
            json!({"name": "newborn", "scopes": ["iguide.list"]}),
        )
        .await;
    let _ = (old, aging, fresh);

    let b = Browser::start(&app).await;
    b.sign_in("carol").await;
    b.goto("/settings/api/tokens").await;
    let row = |name: &'static str| {
        let b = &b;
        async move {
            let xpath = format!("//tr[td/a[normalize-space()='{name}']]");
            let tr = b.client.find(Locator::XPath(&xpath)).await.unwrap();
            let age = tr.find(Locator::Css("td[data-age]")).await.unwrap();
            (
                age.text().await.unwrap(),
                age.css_value("color").await.unwrap(),
                tr.find(Locator::Css("td"))
                    .await
                    .unwrap()
                    .css_value("background-color")
                    .await
                    .unwrap(),
            )
        }
    };
    let (text, colour, background) = row("ancient").await;
    assert_eq!(text, "400 days");
    assert_eq!(colour, "rgba(179, 38, 30, 1)", "red past 365 days");
    assert_eq!(background, "rgba(0, 0, 0, 0)");
    let (text, colour, _) = row("middling").await;
    assert_eq!(text, "200 days");
    assert_eq!(colour, "rgba(180, 95, 6, 1)", "orange past 180 days");
    let (_, _, background) = row("lapsed").await;
    assert_eq!(
        background, "rgba(253, 226, 225, 1)",
        "an expired token's row is red"
    );
    let (text, colour, background) = row("newborn").await;
    assert_eq!(text, "0 days");
    assert_eq!(colour, "rgba(29, 35, 48, 1)", "a fresh token is plain");
    assert_eq!(background, "rgba(0, 0, 0, 0)");

    // The filters: expired only, and unused for 300 days.
    b.choose("Status", "Expired").await;
    b.click("Filter").await;
    let text = b.text().await;
    assert!(
        text.contains("lapsed") && !text.contains("ancient"),
        "{text}"
    );
    b.choose("Status", "Any").await;
    b.fill("Unused for days", "300").await;
    b.click("Filter").await;
    let text = b.text().await;
    assert!(
        text.contains("ancient") && text.contains("newborn"),
        "never used: {text}"
    );

    b.close().await;
    app.stop().await;
}

/// A token that renews itself: its page lists the renewal callback as it was
/// delivered (never the key), and Edit rotates the callback secret, shown
/// once.
#[tokio::test]
async fn portal_shows_the_renewal_delivery_log() {
    let _slot = keyward_testkit::browser::slot().await;
    let app = crate::renewal::lifecycle_app().await;
    let receiver = keyward_testkit::WebhookReceiver::start().await;
    let session = app.session("rita", &["member"]).await;
    let token = crate::renewal::renewing_token(&app, &session, &receiver.url("/keyward")).await;
    let id = token["id"].as_str().unwrap();
    let (status, _) = keyward_testkit::send(app.bearer(
        reqwest::Method::POST,
        &format!("/api/v1/integrations/tokens/{id}/triggerRenewal"),
        &session,
    ))
    .await;
    assert_eq!(status, StatusCode::ACCEPTED);
    let hooks = receiver
        .wait_for(1, std::time::Duration::from_secs(15))
        .await;
    let key = hooks[0].json()["key"].as_str().unwrap().to_owned();
    // Let the outbox record the delivery before the page is read.
    app.drain_outbox().await;

    let b = Browser::start(&app).await;
    b.sign_in("rita").await;
    b.goto(&format!("/settings/api/tokens/{id}")).await;
    b.assert_text("Renewal deliveries").await;
    let log = b
        .client
        .find(Locator::Id("deliveries"))
        .await
        .expect("the delivery log")
        .text()
        .await
        .unwrap();
    assert!(log.contains("token.renewal_ready"), "{log}");
    assert!(log.contains("delivered"), "{log}");
    assert!(log.contains(&receiver.url("/keyward")), "{log}");
    assert!(log.contains("HTTP 200"), "{log}");
    assert!(!b.text().await.contains(&key), "the key is never shown");

    b.click("Edit").await;
    b.tick("Rotate callback secret").await;
    b.click("Save").await;
    assert_eq!(b.path().await, "/settings/api/secret");
    b.assert_text("Callback signing secret").await;
    let secret = b.value_of("secret").await;
    assert!(secret.starts_with("kww_"), "{secret}");
    b.close().await;
    app.stop().await;
}
