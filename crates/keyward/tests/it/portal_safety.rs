//! The portal's safety, in a real browser and over plain HTTP: a
//! cross-site form post fails (the browser's own cross-site page, and
//! forged requests with a stolen cookie but a foreign origin or no CSRF
//! token); pages carry a CSP without inline script or style, `no-store`
//! and `same-origin` referrers; cookies are `HttpOnly; SameSite=Lax`, and
//! `Secure` behind https; static files have hashed names and long caching;
//! a sealed one-time secret cookie cannot be forged.

use keyward_testkit::browser::Browser;
use keyward_testkit::{TestApp, send};
use reqwest::StatusCode;
use reqwest::header::{
    CACHE_CONTROL, CONTENT_SECURITY_POLICY, COOKIE, REFERRER_POLICY, SET_COOKIE,
};

use crate::oauth_support::{hidden, no_redirects};

/// A page on another origin whose form posts to Keyward's create-token
/// endpoint and submits itself, as an attacker's site would.
async fn attacker_site(target: String) -> (String, tokio::task::JoinHandle<()>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    // Another origin: `localhost` is not `127.0.0.1`, and the port differs.
    let url = format!(
        "http://localhost:{}/",
        listener.local_addr().unwrap().port()
    );
    let task = tokio::spawn(async move {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        while let Ok((mut socket, _)) = listener.accept().await {
            let target = target.clone();
            tokio::spawn(async move {
                let mut buf = [0u8; 4096];
                let _ = socket.read(&mut buf).await;
                let body = format!(
                    "<!doctype html><title>Win a prize</title>\
                     <form id=f method=post action=\"{target}/settings/api/tokens\">\
                     <input name=name value=stolen><input name=scopes value=iguide.list>\
                     <input name=neverExpires value=1><input name=csrf_token value=guess>\
                     <button>Claim</button></form>"
                );
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

async fn token_count(app: &TestApp, session: &str) -> usize {
    let (status, body) =
        send(app.bearer(reqwest::Method::GET, "/api/v1/integrations/tokens", session)).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    body.as_array().expect("a list").len()
}

#[tokio::test]
async fn portal_cross_site_form_post_fails() {
    let _slot = keyward_testkit::browser::slot().await;
    let app = TestApp::spawn().await;
    app.user("gil", &["member"]).await;
    let api_session = app.login("gil").await;
    let (attacker, site) = attacker_site(app.base.clone()).await;

    let b = Browser::start(&app).await;
    b.sign_in("gil").await;
    b.goto("/settings/api/tokens").await;
    b.client.goto(&attacker).await.unwrap();
    b.click("Claim").await;
    let text = b.text().await;
    assert!(
        text.contains("Request refused") || text.contains("Sign in"),
        "the cross-site post is refused: {text}"
    );
    assert_eq!(
        token_count(&app, &api_session).await,
        0,
        "no token was made"
    );
    b.goto("/settings/api/tokens").await;
    b.assert_text("No API tokens").await;
    b.close().await;
    site.abort();

    // Forged by hand with the victim's cookie: a foreign Origin, or a
    // same-site request without the session's CSRF token, is refused.
    let cookie = format!("kw_session={api_session}");
    let page = no_redirects()
        .get(app.url("/settings/api/tokens/new"))
        .header(COOKIE, &cookie)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let csrf = hidden(&page, "csrf_token").expect("the form carries a CSRF token");
    let form = |origin: Option<&str>, csrf: &str| {
        let mut request = no_redirects()
            .post(app.url("/settings/api/tokens"))
            .header(COOKIE, &cookie)
            .form(&[
                ("name", "forged"),
                ("scopes", "iguide.list"),
                ("neverExpires", "1"),
                ("csrf_token", csrf),
            ]);
        if let Some(origin) = origin {
            request = request.header("origin", origin);
        }
        request
    };
    let foreign = form(Some("http://evil.example"), &csrf)
        .send()
        .await
        .unwrap();
    assert_eq!(foreign.status(), StatusCode::FORBIDDEN);
    let cross = form(None, &csrf)
        .header("sec-fetch-site", "cross-site")
        .send()
        .await
        .unwrap();
    assert_eq!(cross.status(), StatusCode::FORBIDDEN);
    let tokenless = form(Some(&app.base), "").send().await.unwrap();
    assert_eq!(tokenless.status(), StatusCode::FORBIDDEN);
    let other_session = app.login("gil").await;
    let wrong = no_redirects()
        .get(app.url("/settings/api/tokens/new"))
        .header(COOKIE, format!("kw_session={other_session}"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let other_csrf = hidden(&wrong, "csrf_token").unwrap();
    let mismatched = form(Some(&app.base), &other_csrf).send().await.unwrap();
    assert_eq!(
        mismatched.status(),
        StatusCode::FORBIDDEN,
        "another session's token"
    );
    assert_eq!(token_count(&app, &api_session).await, 0);
    // The genuine post works.
    let genuine = form(Some(&app.base), &csrf).send().await.unwrap();
    assert_eq!(genuine.status(), StatusCode::SEE_OTHER);
    assert_eq!(token_count(&app, &api_session).await, 1);
    app.stop().await;
}

#[tokio::test]
async fn portal_headers_cookies_and_assets() {
    let app = TestApp::spawn().await;
    app.user("hal", &["member"]).await;

    // The sign-in page: its headers, its cookie, no inline script or style.
    let page = no_redirects().get(app.url("/login")).send().await.unwrap();
    assert_eq!(page.status(), StatusCode::OK);
    let headers = page.headers().clone();
    let csp = headers[CONTENT_SECURITY_POLICY]
        .to_str()
        .unwrap()
        .to_owned();
    assert!(
        csp.contains("script-src 'self'") && csp.contains("style-src 'self'"),
        "{csp}"
    );
    assert!(!csp.contains("unsafe-inline"), "{csp}");
    assert_eq!(headers[CACHE_CONTROL], "no-store");
    assert_eq!(headers[REFERRER_POLICY], "same-origin");
    let cookie = headers[SET_COOKIE].to_str().unwrap().to_owned();
    assert!(
        cookie.contains("HttpOnly") && cookie.contains("SameSite=Lax"),
        "{cookie}"
    );
    assert!(!cookie.contains("Secure"), "plain http: {cookie}");
    let html = page.text().await.unwrap();
    assert!(
        !html.contains("<style") && !html.contains(" style="),
        "no inline style"
    );
    assert!(!html.contains("<script>"), "no inline script");
    // The API keeps its own referrer policy.
    let api = app
        .request(reqwest::Method::GET, "/healthz")
        .send()
        .await
        .unwrap();
    assert_eq!(api.headers()[REFERRER_POLICY], "no-referrer");

    // Static files: hashed names, a year of caching, unknown names 404.
    let css = html
        .split("href=\"")
        .nth(1)
        .and_then(|rest| rest.split('"').next())
        .unwrap()
        .to_owned();
    assert!(
        css.starts_with("/static/portal.") && css.ends_with(".css"),
        "{css}"
    );
    let asset = no_redirects().get(app.url(&css)).send().await.unwrap();
    assert_eq!(asset.status(), StatusCode::OK);
    assert_eq!(
        asset.headers()[CACHE_CONTROL],
        "public, max-age=31536000, immutable"
    );
    assert!(
        asset.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/css")
    );
    let missing = no_redirects()
        .get(app.url("/static/portal.css"))
        .send()
        .await
        .unwrap();
    assert_eq!(missing.status(), StatusCode::NOT_FOUND);

    // The one-time secret page: a forged or replayed cookie shows nothing.
    let session = app.login("hal").await;
    let forged = no_redirects()
        .get(app.url("/settings/api/secret"))
        .header(
            COOKIE,
            format!("kw_session={session}; kw_secret=AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(
        forged.status(),
        StatusCode::SEE_OTHER,
        "no secret page without a genuine cookie"
    );
    app.stop().await;

    // Behind https, cookies are Secure.
    let app =
        TestApp::spawn_with(|c| c.server.public_url = Some("https://keyward.example".into())).await;
    let page = no_redirects().get(app.url("/login")).send().await.unwrap();
    let cookie = page.headers()[SET_COOKIE].to_str().unwrap().to_owned();
    assert!(cookie.contains("Secure"), "{cookie}");
    app.stop().await;
}
