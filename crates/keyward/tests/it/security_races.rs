//! Attacks that race or forge (the security audit's items 4, 7 and 8):
//! throttles that hold when guesses arrive at once and cannot be turned
//! against a victim, no 500 when an app is deleted under load, and sign-in
//! forms that a cross-site page cannot post.

use std::net::{IpAddr, Ipv4Addr};

use keyward_testkit::{PASSWORD, TestApp, send};
use reqwest::header::{CONTENT_TYPE, COOKIE, ORIGIN};
use reqwest::{Method, StatusCode};
use serde_json::json;

use crate::oauth_support::{
    Client, SignInForm, create_app, encode, no_redirects, reply, urlencode,
};

/// A client whose connections come from `ip` (any address of 127.0.0.0/8
/// is this machine's loopback).
fn client_from(ip: Ipv4Addr) -> reqwest::Client {
    reqwest::Client::builder()
        .local_address(IpAddr::V4(ip))
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}

fn login(
    app: &TestApp,
    from: &reqwest::Client,
    username: &str,
    password: &str,
) -> reqwest::RequestBuilder {
    from.post(app.url("/api/v1/login"))
        .json(&json!({"username": username, "password": password}))
}

/// Forty wrong passwords for one user at once: at most the limit (5) are
/// checked, the rest refused with 429 before any hashing. Then the right
/// password from another address still works (no lock-out of the victim),
/// while the attacker's address stays locked.
#[tokio::test]
async fn parallel_guesses_cannot_outrun_the_login_limit_nor_lock_the_victim_out() {
    let app = TestApp::spawn().await;
    app.user("victim", &["member"]).await;
    let attacker = client_from(Ipv4Addr::new(127, 0, 0, 1));
    let mut guesses = tokio::task::JoinSet::new();
    for i in 0..40 {
        guesses.spawn(send(login(
            &app,
            &attacker,
            "victim",
            &format!("guess number {i}"),
        )));
    }
    let results = guesses.join_all().await;
    let checked = results
        .iter()
        .filter(|(s, _)| *s == StatusCode::UNAUTHORIZED)
        .count();
    let refused = results
        .iter()
        .filter(|(s, _)| *s == StatusCode::TOO_MANY_REQUESTS)
        .count();
    assert!(checked <= 5, "{checked} guesses were checked: {results:?}");
    assert_eq!(checked + refused, 40, "{results:?}");
    // Even the right password is refused from the guesser's address...
    let (status, _) = send(login(&app, &attacker, "victim", PASSWORD)).await;
    assert_eq!(status, StatusCode::TOO_MANY_REQUESTS);
    // ...but the victim, elsewhere, signs in.
    let victim = client_from(Ipv4Addr::new(127, 0, 0, 2));
    let (status, body) = send(login(&app, &victim, "victim", PASSWORD)).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    // A success does not count as a failure: the victim keeps signing in.
    for _ in 0..6 {
        let (status, _) = send(login(&app, &victim, "victim", PASSWORD)).await;
        assert_eq!(status, StatusCode::OK);
    }
    app.stop().await;
}

/// Guesses for one user from many addresses stop at the much higher
/// all-addresses limit.
#[tokio::test]
async fn guesses_from_many_addresses_stop_at_the_per_user_limit() {
    let app = TestApp::spawn_with(|c| c.limits.login_failures_per_user_all_ips = 12).await;
    app.user("spread", &["member"]).await;
    let mut checked = 0;
    for host in 10..30 {
        let from = client_from(Ipv4Addr::new(127, 0, 1, host));
        let (status, _) = send(login(&app, &from, "spread", "wrong password")).await;
        if status == StatusCode::UNAUTHORIZED {
            checked += 1;
        } else {
            assert_eq!(status, StatusCode::TOO_MANY_REQUESTS);
        }
    }
    assert_eq!(checked, 12, "across addresses, the user's budget holds");
    let newcomer = client_from(Ipv4Addr::new(127, 0, 2, 1));
    let (status, _) = send(login(&app, &newcomer, "spread", PASSWORD)).await;
    assert_eq!(status, StatusCode::TOO_MANY_REQUESTS);
    app.advance(time::Duration::minutes(15));
    let (status, _) = send(login(&app, &newcomer, "spread", PASSWORD)).await;
    assert_eq!(status, StatusCode::OK, "the window ended");
    app.stop().await;
}

fn token_request(app: &TestApp, id: &str, secret: &str) -> reqwest::RequestBuilder {
    no_redirects()
        .post(app.url("/oauth/token"))
        .header(CONTENT_TYPE, "application/x-www-form-urlencoded")
        .basic_auth(urlencode(id), Some(urlencode(secret)))
        .body(encode(&[("grant_type", "client_credentials")]))
}

/// Client secrets too: parallel wrong secrets are checked at most the limit
/// (10) times, and another spelling of the client id shares the budget.
#[tokio::test]
async fn client_secret_guesses_share_one_budget_per_client() {
    let app = TestApp::spawn().await;
    let session = app.session("client-owner", &["member"]).await;
    let client = create_app(
        &app,
        &session,
        json!({"clientName": "c", "redirectUris": ["https://c.example/cb"], "scope": ["iguide.ro"]}),
    )
    .await;
    let wrong = "kwc_000000000000000000000000000000000000";
    let mut guesses = tokio::task::JoinSet::new();
    for _ in 0..40 {
        guesses.spawn(reply(token_request(&app, &client.id, wrong)));
    }
    let results = guesses.join_all().await;
    let checked = results
        .iter()
        .filter(|r| r.status == StatusCode::UNAUTHORIZED)
        .count();
    assert!(checked <= 10, "{checked} secrets were checked");
    assert!(
        results
            .iter()
            .all(|r| matches!(r.status.as_u16(), 401 | 429))
    );

    let fresh = create_app(
        &app,
        &session,
        json!({"clientName": "d", "redirectUris": ["https://d.example/cb"], "scope": ["iguide.ro"]}),
    )
    .await;
    for _ in 0..10 {
        let r = reply(token_request(&app, &fresh.id, wrong)).await;
        assert_eq!(r.status, StatusCode::UNAUTHORIZED);
    }
    let upper = fresh.id.to_uppercase();
    let r = reply(token_request(&app, &upper, wrong)).await;
    assert_eq!(
        r.status,
        StatusCode::TOO_MANY_REQUESTS,
        "the same client, spelt otherwise"
    );
    let braced = format!("{{{}}}", fresh.id);
    let r = reply(token_request(&app, &braced, &fresh.secret)).await;
    assert_eq!(r.status, StatusCode::TOO_MANY_REQUESTS, "{}", r.text);
    // Its owner's client, from another address, still works.
    let r = client_from(Ipv4Addr::new(127, 0, 0, 3))
        .post(app.url("/oauth/token"))
        .header(CONTENT_TYPE, "application/x-www-form-urlencoded")
        .basic_auth(urlencode(&fresh.id), Some(urlencode(&fresh.secret)))
        .body(encode(&[("grant_type", "client_credentials")]));
    assert_eq!(reply(r).await.status, StatusCode::OK);
    app.stop().await;
}

/// Deleting an app while client_credentials requests for it run: every
/// answer is a token or `invalid_client`, never a 500 (the batched insert of
/// issued tokens meets the deleted app's foreign key).
#[tokio::test]
async fn deleting_an_app_under_load_never_answers_500() {
    let app = TestApp::spawn().await;
    let session = app.session("deleter", &["member"]).await;
    let mut statuses = std::collections::BTreeMap::<u16, usize>::new();
    for round in 0..5 {
        let client: Client = create_app(
            &app,
            &session,
            json!({"clientName": format!("doomed {round}"), "redirectUris": ["https://x.example/cb"],
                   "scope": ["iguide.ro"], "grantTypes": ["client_credentials"]}),
        )
        .await;
        let deleted = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
        let issued = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let mut load = tokio::task::JoinSet::new();
        for _ in 0..16 {
            let request = token_request(&app, &client.id, &client.secret);
            let (deleted, issued) = (deleted.clone(), issued.clone());
            load.spawn(async move {
                let mut answers = Vec::new();
                // Until a little after the deletion.
                let mut after = 0;
                while after < 20 {
                    let answer = reply(request.try_clone().unwrap()).await;
                    if answer.status == StatusCode::OK {
                        issued.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                    }
                    answers.push(answer);
                    if deleted.load(std::sync::atomic::Ordering::Relaxed) {
                        after += 1;
                    }
                }
                answers
            });
        }
        // The deletion lands while issuance is in full swing.
        while issued.load(std::sync::atomic::Ordering::Relaxed) < 40 {
            tokio::time::sleep(std::time::Duration::from_millis(5)).await;
        }
        let (status, body) = send(app.bearer(
            Method::DELETE,
            &format!("/api/v1/integrations/apps/{}", client.id),
            &session,
        ))
        .await;
        deleted.store(true, std::sync::atomic::Ordering::Relaxed);
        assert_eq!(status, StatusCode::OK, "{body}");
        for r in load.join_all().await.into_iter().flatten() {
            *statuses.entry(r.status.as_u16()).or_default() += 1;
            match r.status {
                StatusCode::OK => {}
                // Gone, and then (failures piling up) throttled.
                StatusCode::UNAUTHORIZED | StatusCode::TOO_MANY_REQUESTS => {
                    assert_eq!(r.json()["error"], "invalid_client")
                }
                other => panic!("round {round}: {other}: {}", r.text),
            }
        }
    }
    assert!(
        statuses.get(&200).is_some_and(|n| *n >= 200),
        "{statuses:?}"
    );
    app.stop().await;
}

/// Login CSRF: a cross-site page posting the sign-in form (without the
/// browser's CSRF cookie and token, or from another origin) signs nobody in.
#[tokio::test]
async fn a_cross_site_post_cannot_sign_a_browser_in() {
    let app = TestApp::spawn().await;
    app.user("csrf-victim", &["member"]).await;
    let fields = [
        ("username", "csrf-victim"),
        ("password", PASSWORD),
        ("next", "/"),
    ];
    let signs_in = |r: &crate::oauth_support::Reply| {
        r.headers
            .get_all("set-cookie")
            .iter()
            .any(|c| c.to_str().unwrap().starts_with("kw_session="))
    };
    // No token, no cookie: what a cross-site form can send.
    let forged = reply(
        no_redirects()
            .post(app.url("/oauth/login"))
            .header(CONTENT_TYPE, "application/x-www-form-urlencoded")
            .header(ORIGIN, "https://evil.example")
            .body(encode(&fields)),
    )
    .await;
    assert_eq!(forged.status, StatusCode::FORBIDDEN, "{}", forged.text);
    assert!(!signs_in(&forged));
    // A token from another browser's page does not fit this browser's
    // cookie, nor a made-up cookie.
    let theirs = SignInForm::load(&app).await;
    let mine = SignInForm::load(&app).await;
    let mut pairs = fields.to_vec();
    pairs.push(("csrf_token", &theirs.csrf_token));
    for cookie in [
        mine.cookie.as_str(),
        "kw_login_csrf=AAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
    ] {
        let r = reply(
            no_redirects()
                .post(app.url("/oauth/login"))
                .header(CONTENT_TYPE, "application/x-www-form-urlencoded")
                .header(COOKIE, cookie)
                .body(encode(&pairs)),
        )
        .await;
        assert_eq!(r.status, StatusCode::FORBIDDEN, "{cookie}");
        assert!(!signs_in(&r));
    }
    // The right pair, but posted from another origin.
    let r = reply(
        mine.post(&app, &fields)
            .header(ORIGIN, "https://evil.example"),
    )
    .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    assert!(!signs_in(&r));
    let r = reply(
        mine.post(&app, &fields)
            .header("sec-fetch-site", "cross-site"),
    )
    .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    // From Keyward's own page, it works.
    let r = reply(mine.post(&app, &fields).header(ORIGIN, app.base.as_str())).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.text);
    assert!(signs_in(&r));
    app.stop().await;
}

/// The consent form, too, refuses a post from another origin.
#[tokio::test]
async fn a_cross_site_consent_post_is_refused() {
    let app = TestApp::spawn().await;
    let session = app.session("consenter", &["member"]).await;
    let client = crate::oauth_support::standard_app(&app, &session).await;
    let authz = crate::oauth_support::Authz::new(&client);
    let csrf = crate::oauth_support::csrf_for(&app, &session, &authz).await;
    let mut fields = authz.pairs();
    fields.push(("csrf_token", &csrf));
    fields.push(("decision", "allow"));
    let r = reply(
        no_redirects()
            .post(app.url("/oauth/authorize"))
            .header(CONTENT_TYPE, "application/x-www-form-urlencoded")
            .header(COOKIE, format!("kw_session={session}"))
            .header(ORIGIN, "https://evil.example")
            .body(encode(&fields)),
    )
    .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "{}", r.text);
    assert!(r.location().is_none(), "no code is sent anywhere");
    app.stop().await;
}

/// On PostgreSQL the sign-in budget is one for the whole service: guesses
/// spread over two instances at once still get through at most the limit.
#[tokio::test]
async fn the_login_budget_holds_across_instances() {
    let (a, b) = crate::instances::pair().await;
    a.user("shared-victim", &["member"]).await;
    let mut guesses = tokio::task::JoinSet::new();
    for i in 0..30 {
        let app = if i % 2 == 0 { &a } else { &b };
        guesses.spawn(send(app.request(Method::POST, "/api/v1/login").json(
            &json!({"username": "shared-victim", "password": format!("guess {i}")}),
        )));
    }
    let results = guesses.join_all().await;
    let checked = results
        .iter()
        .filter(|(s, _)| *s == StatusCode::UNAUTHORIZED)
        .count();
    assert!(
        checked <= 5,
        "{checked} guesses checked across two instances"
    );
    let (status, _) = send(
        b.request(Method::POST, "/api/v1/login")
            .json(&json!({"username": "shared-victim", "password": PASSWORD})),
    )
    .await;
    assert_eq!(status, StatusCode::TOO_MANY_REQUESTS, "B knows A's count");
    b.stop().await;
    a.stop().await;
}

/// Failed credential checks from one address: after `auth_failures_per_ip`
/// of them, 429 with Retry-After before any lookup; a secret already known
/// good still passes, and the window's end lets the address in again.
#[tokio::test]
async fn a_flood_of_bad_secrets_is_cut_off_per_address() {
    let app = TestApp::spawn_with(|c| c.limits.auth_failures_per_ip = 5).await;
    let session = app.session("flooded", &["member"]).await;
    let known = app
        .create_token(&session, json!({"name": "known", "scopes": ["iguide.ro"]}))
        .await;
    let known = known["token"].as_str().unwrap().to_owned();
    let unseen = app
        .create_token(&session, json!({"name": "unseen", "scopes": ["iguide.ro"]}))
        .await;
    let unseen = unseen["token"].as_str().unwrap().to_owned();
    assert_eq!(app.me_status(&known).await, StatusCode::OK);
    // Well-formed secrets (valid checksum) nobody issued.
    let random = || {
        keyward_core::secret::PlainSecret::generate(
            keyward_core::secret::SecretKind::ApiToken,
            &keyward_core::random::OsRandom,
        )
        .expose()
        .to_owned()
    };
    for _ in 0..5 {
        assert_eq!(app.me_status(&random()).await, StatusCode::UNAUTHORIZED);
    }
    let response = app
        .bearer(Method::GET, "/api/v1/me", &random())
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::TOO_MANY_REQUESTS);
    assert!(response.headers().contains_key("retry-after"));
    assert_eq!(
        app.me_status(&known).await,
        StatusCode::OK,
        "known good passes"
    );
    assert_eq!(
        app.me_status(&unseen).await,
        StatusCode::TOO_MANY_REQUESTS,
        "an unchecked secret waits like any other"
    );
    app.advance(time::Duration::minutes(15));
    assert_eq!(app.me_status(&unseen).await, StatusCode::OK);
    app.stop().await;
}
