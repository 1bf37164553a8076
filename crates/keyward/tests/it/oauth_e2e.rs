//! An independent OAuth client (the `oauth2` crate) against the real server:
//! client_credentials; authorization code with PKCE through the real sign-in
//! and consent pages; refresh; introspection; revocation. On SQLite and (with
//! `KW_TEST_STORE=postgres`) PostgreSQL.

use keyward_testkit::{TestApp, send};
use oauth2::basic::BasicClient;
use oauth2::{
    AuthUrl, AuthorizationCode, ClientId, ClientSecret, CsrfToken, IntrospectionUrl,
    PkceCodeChallenge, RedirectUrl, RevocationUrl, Scope, StandardRevocableToken,
    TokenIntrospectionResponse, TokenResponse, TokenUrl,
};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::browser::{Browser, query_param};

const REDIRECT: &str = "https://client.example/callback";

/// A user with an app; returns (session, app body).
async fn app_for(app: &TestApp, user: &str) -> (String, Value) {
    let session = app.session(user, &["member"]).await;
    let (status, body) = send(
        app.bearer(Method::POST, "/api/v1/integrations/apps", &session)
            .json(&json!({
                "clientName": "Demo OAuth App",
                "redirectUris": [REDIRECT],
                "logoUri": "https://client.example/logo.png",
                "scope": ["iguide.list", "iguide.ro", "credentials.manage"]
            })),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    (session, body)
}

fn http() -> oauth2::reqwest::Client {
    oauth2::reqwest::ClientBuilder::new()
        .redirect(oauth2::reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}

#[tokio::test]
async fn an_independent_client_runs_every_flow() {
    let app = TestApp::spawn().await;
    let (_, registered) = app_for(&app, "alice").await;
    let client = BasicClient::new(ClientId::new(
        registered["clientId"].as_str().unwrap().into(),
    ))
    .set_client_secret(ClientSecret::new(
        registered["clientSecret"].as_str().unwrap().into(),
    ))
    .set_auth_uri(AuthUrl::new(app.url("/oauth/authorize")).unwrap())
    .set_token_uri(TokenUrl::new(app.url("/oauth/token")).unwrap())
    .set_redirect_uri(RedirectUrl::new(REDIRECT.into()).unwrap())
    .set_introspection_url(IntrospectionUrl::new(app.url("/oauth/introspect")).unwrap())
    .set_revocation_url(RevocationUrl::new(app.url("/oauth/revoke")).unwrap());
    let http = http();

    // client_credentials: acts for the app's owner, within the app's scope.
    let cc = client
        .exchange_client_credentials()
        .add_scope(Scope::new("iguide.list".into()))
        .request_async(&http)
        .await
        .expect("client_credentials");
    assert!(cc.access_token().secret().starts_with("kwa_"));
    assert!(
        cc.refresh_token().is_none(),
        "no refresh token for client_credentials"
    );
    assert_eq!(cc.expires_in(), Some(std::time::Duration::from_secs(3600)));
    let (status, me) =
        send(app.bearer(Method::GET, "/api/v1/me", cc.access_token().secret())).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(me["user"]["username"], "alice");
    assert_eq!(me["credential"]["kind"], "access_token");
    assert_eq!(me["scopes"], json!(["iguide.list"]));

    // Authorization code + PKCE through the sign-in and consent pages.
    app.user("bob", &["member"]).await;
    let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
    let (url, csrf) = client
        .authorize_url(CsrfToken::new_random)
        .add_scope(Scope::new("iguide.list".into()))
        .add_scope(Scope::new("iguide.ro".into()))
        .set_pkce_challenge(challenge)
        .url();
    let mut browser = Browser::new();
    let consent = browser.consent_page(&app, url.as_str(), "bob").await;
    assert!(
        consent.contains("Demo OAuth App"),
        "the consent page names the app"
    );
    assert!(
        consent.contains("https://client.example/logo.png"),
        "and shows its logo"
    );
    assert!(
        consent.contains("iguide.list") && consent.contains("iguide.ro"),
        "and the scopes"
    );
    let location = browser.decide(&app, &consent, "allow").await;
    assert!(location.starts_with(REDIRECT), "{location}");
    assert_eq!(
        query_param(&location, "state").as_deref(),
        Some(csrf.secret().as_str())
    );
    assert_eq!(
        query_param(&location, "iss").as_deref(),
        Some(app.base.as_str())
    );
    let code = query_param(&location, "code").expect("a code");
    let tokens = client
        .exchange_code(AuthorizationCode::new(code.clone()))
        .set_pkce_verifier(verifier)
        .request_async(&http)
        .await
        .expect("code exchange");
    let access = tokens.access_token().clone();
    let refresh = tokens.refresh_token().expect("a refresh token").clone();
    let (_, me) = send(app.bearer(Method::GET, "/api/v1/me", access.secret())).await;
    assert_eq!(
        me["user"]["username"], "bob",
        "acts for the user who consented"
    );
    assert_eq!(me["scopes"], json!(["iguide.list", "iguide.ro"]));

    // Introspection by the client.
    let info = client
        .introspect(&access)
        .request_async(&http)
        .await
        .expect("introspect");
    assert!(info.active());
    assert_eq!(
        info.client_id().map(|c| c.as_str()),
        registered["clientId"].as_str()
    );
    assert_eq!(info.sub(), me["user"]["id"].as_str());
    let scopes: Vec<String> = info
        .scopes()
        .unwrap()
        .iter()
        .map(|s| s.to_string())
        .collect();
    assert_eq!(scopes, ["iguide.list", "iguide.ro"]);

    // Refresh rotates: a new refresh token; the old one no longer works.
    let refreshed = client
        .exchange_refresh_token(&refresh)
        .request_async(&http)
        .await
        .expect("refresh");
    let new_refresh = refreshed.refresh_token().expect("rotated").clone();
    assert_ne!(new_refresh.secret(), refresh.secret());
    assert!(
        client
            .exchange_refresh_token(&refresh)
            .request_async(&http)
            .await
            .is_err()
    );
    // ...and that replay revoked the whole family, the new tokens included.
    let info = client
        .introspect(refreshed.access_token())
        .request_async(&http)
        .await
        .unwrap();
    assert!(!info.active(), "reusing a refresh token revokes the chain");
    assert!(
        client
            .exchange_refresh_token(&new_refresh)
            .request_async(&http)
            .await
            .is_err()
    );

    // Revocation: a fresh authorization, then revoke its access token.
    let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
    let (url, _) = client
        .authorize_url(CsrfToken::new_random)
        .set_pkce_challenge(challenge)
        .url();
    let consent = browser.consent_page(&app, url.as_str(), "bob").await;
    let location = browser.decide(&app, &consent, "allow").await;
    let tokens = client
        .exchange_code(AuthorizationCode::new(
            query_param(&location, "code").unwrap(),
        ))
        .set_pkce_verifier(verifier)
        .request_async(&http)
        .await
        .unwrap();
    assert_eq!(
        app.me_status(tokens.access_token().secret()).await,
        StatusCode::OK
    );
    // The oauth2 crate revokes only over https; the test server speaks plain
    // http on loopback, so this one request is sent as RFC 7009 describes.
    assert!(matches!(
        client.revoke_token(StandardRevocableToken::AccessToken(
            tokens.access_token().clone()
        )),
        Err(oauth2::ConfigurationError::InsecureUrl(_))
    ));
    let revoked = app
        .request(Method::POST, "/oauth/revoke")
        .basic_auth(
            registered["clientId"].as_str().unwrap(),
            registered["clientSecret"].as_str(),
        )
        .form(&[
            ("token", tokens.access_token().secret().as_str()),
            ("token_type_hint", "access_token"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(revoked.status(), StatusCode::OK);
    assert_eq!(
        app.me_status(tokens.access_token().secret()).await,
        StatusCode::UNAUTHORIZED
    );
    let info = client
        .introspect(tokens.access_token())
        .request_async(&http)
        .await
        .unwrap();
    assert!(!info.active());

    // On record, as bob reads his own audit trail: both consents, the
    // replay that revoked a grant (a leaked refresh token), the revocation.
    let bob = app.login("bob").await;
    let (status, events) = send(app.bearer(Method::GET, "/api/v1/audit", &bob)).await;
    assert_eq!(status, StatusCode::OK, "{events}");
    let events = events.as_array().unwrap();
    let of =
        |action: &str| -> Vec<&Value> { events.iter().filter(|e| e["action"] == action).collect() };
    let granted = of("oauth.consent_granted");
    assert_eq!(granted.len(), 2, "{events:#?}");
    assert_eq!(granted[0]["target"]["id"], registered["clientId"]);
    assert_eq!(granted[0]["actor"]["userId"], me["user"]["id"]);
    let revoked = of("oauth.token_revoked");
    assert!(
        revoked
            .iter()
            .any(|e| e["details"]["reason"] == "refresh token reused"),
        "{revoked:#?}"
    );
    assert!(
        revoked
            .iter()
            .any(|e| e["details"]["kind"] == "access" && e["target"]["type"] == "oauth_token"),
        "{revoked:#?}"
    );
    let dump = events.iter().map(|e| e.to_string()).collect::<String>();
    assert!(!dump.contains(refresh.secret().as_str()) && !dump.contains(access.secret().as_str()));
    app.stop().await;
}

#[tokio::test]
async fn deny_sends_access_denied_and_the_api_curl_call_works() {
    let app = TestApp::spawn().await;
    let (_, registered) = app_for(&app, "carol").await;
    let client_id = registered["clientId"].as_str().unwrap();
    let verifier = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
    let url = app.url(&format!(
        "/oauth/authorize?response_type=code&client_id={client_id}&state=s%201&code_challenge={}&code_challenge_method=S256",
        oauth2::PkceCodeChallenge::from_code_verifier_sha256(&oauth2::PkceCodeVerifier::new(verifier.into())).as_str()
    ));
    let mut browser = Browser::new();
    let consent = browser.consent_page(&app, &url, "carol").await;
    let location = browser.decide(&app, &consent, "deny").await;
    assert!(location.starts_with(REDIRECT));
    assert_eq!(
        query_param(&location, "error").as_deref(),
        Some("access_denied")
    );
    assert_eq!(query_param(&location, "state").as_deref(), Some("s 1"));
    assert!(query_param(&location, "code").is_none());
    // The denial is on record as carol's, about this client; nothing granted.
    let carol = app.login("carol").await;
    let (status, events) = send(app.bearer(Method::GET, "/api/v1/audit", &carol)).await;
    assert_eq!(status, StatusCode::OK, "{events}");
    let events = events.as_array().unwrap();
    let denied: Vec<&Value> = events
        .iter()
        .filter(|e| e["action"] == "oauth.consent_denied")
        .collect();
    assert_eq!(denied.len(), 1, "{events:#?}");
    assert_eq!(denied[0]["target"]["id"], client_id);
    assert_eq!(denied[0]["actor"]["credentialKind"], "session");
    assert!(
        !events
            .iter()
            .any(|e| e["action"] == "oauth.consent_granted")
    );

    // The Apinizer manual's call: form body with client id and secret.
    let (status, body) = send(app.request(Method::POST, "/oauth/token").form(&[
        ("grant_type", "client_credentials"),
        ("client_id", client_id),
        (
            "client_secret",
            registered["clientSecret"].as_str().unwrap(),
        ),
    ]))
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["token_type"], "Bearer");
    assert_eq!(body["expires_in"], 3600);
    assert_eq!(body["scope"], "credentials.manage iguide.list iguide.ro");
    app.stop().await;
}
