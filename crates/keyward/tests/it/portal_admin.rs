//! Administration and My profile in a real browser: an admin finds a user
//! and disables them (their session ends at once), enables them again and
//! reads the audit log; a user sees their roles and devices, signs another
//! device out, and changes their password.

use fantoccini::Locator;
use keyward_testkit::browser::Browser;
use keyward_testkit::{PASSWORD, TestApp};
use reqwest::StatusCode;

#[tokio::test]
async fn portal_admin_disables_a_user() {
    let _slot = keyward_testkit::browser::slot().await;
    let app = TestApp::spawn().await;
    app.user("root", &["admin"]).await;
    app.user("erin", &["member"]).await;
    let erin_session = app.login("erin").await;
    assert_eq!(app.me_status(&erin_session).await, StatusCode::OK);

    let b = Browser::start(&app).await;
    // A failed sign-in, for the audit log.
    b.goto("/login").await;
    b.fill("Username", "erin").await;
    b.fill("Password", "not erin's password").await;
    b.click("Sign in").await;
    b.sign_in("root").await;
    b.click("Administration").await;
    b.fill("Search users", "er").await;
    b.click("Search").await;
    let rows = b
        .client
        .find_all(Locator::Css("main tbody tr"))
        .await
        .unwrap();
    assert_eq!(rows.len(), 1, "{}", b.text().await);
    assert!(rows[0].text().await.unwrap().contains("erin"));
    b.click("erin").await;
    b.click("Disable").await;
    b.assert_text("erin is disabled; their sessions have ended.")
        .await;
    assert_eq!(
        b.client
            .find(Locator::Id("user-status"))
            .await
            .unwrap()
            .text()
            .await
            .unwrap(),
        "disabled"
    );
    assert_eq!(
        app.me_status(&erin_session).await,
        StatusCode::UNAUTHORIZED,
        "the disabled user's session ended"
    );
    b.click("Enable").await;
    b.assert_text("erin is enabled.").await;

    // The audit log, filtered by action.
    b.click("Audit log").await;
    b.choose("Action", "session.login_failed").await;
    b.click("Filter").await;
    let log = b
        .client
        .find(Locator::Id("audit-log"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        log.contains("session.login_failed") && log.contains("127.0.0.1"),
        "{log}"
    );
    b.choose("Action", "user.deleted").await;
    b.click("Filter").await;
    b.assert_text("No events match.").await;

    // A member sees no Administration, and its pages refuse them.
    let m = Browser::start(&app).await;
    m.sign_in("erin").await;
    assert!(!m.has_control("Administration").await);
    m.goto("/admin/users").await;
    m.assert_text("admin.users").await;
    m.close().await;

    b.close().await;
    app.stop().await;
}

#[tokio::test]
async fn portal_profile_devices_and_password() {
    let _slot = keyward_testkit::browser::slot().await;
    let app = TestApp::spawn().await;
    app.user("fay", &["member"]).await;
    let elsewhere = app.login("fay").await;

    let b = Browser::start(&app).await;
    b.sign_in("fay").await;
    b.click("My profile").await;
    assert_eq!(
        b.client
            .find(Locator::Id("roles"))
            .await
            .unwrap()
            .text()
            .await
            .unwrap(),
        "member"
    );
    let sessions = b.client.find(Locator::Id("sessions")).await.unwrap();
    let rows = sessions.find_all(Locator::Css("tbody tr")).await.unwrap();
    assert_eq!(rows.len(), 2, "this browser and the API login");
    let text = sessions.text().await.unwrap();
    assert!(
        text.contains("(this browser)") && text.contains("HeadlessChrome"),
        "{text}"
    );
    assert!(text.contains("127.0.0.1"), "{text}");

    // Sign the other device out.
    let other = b
        .client
        .find(Locator::XPath(
            "//table[@id='sessions']//tr[not(contains(., 'this browser'))]//button[normalize-space()='Sign out']",
        ))
        .await
        .unwrap();
    other.click().await.unwrap();
    b.wait_for_text("That session was signed out.").await;
    assert_eq!(app.me_status(&elsewhere).await, StatusCode::UNAUTHORIZED);

    // Change the password: a mismatch first, then a wrong current one.
    b.fill("Current password", PASSWORD).await;
    b.fill("New password", "a much longer new passphrase").await;
    b.fill("Repeat the new password", "something else entirely")
        .await;
    b.click("Change password").await;
    b.assert_text("does not match the new password").await;
    b.fill("Current password", "wrong wrong wrong").await;
    b.fill("New password", "a much longer new passphrase").await;
    b.fill("Repeat the new password", "a much longer new passphrase")
        .await;
    b.click("Change password").await;
    b.assert_text("is not the current password").await;
    b.fill("Current password", PASSWORD).await;
    b.fill("New password", "a much longer new passphrase").await;
    b.fill("Repeat the new password", "a much longer new passphrase")
        .await;
    b.click("Change password").await;
    b.assert_text("Password changed.").await;

    b.close().await;
    app.stop().await;
}
