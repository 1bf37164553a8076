//! Client addresses behind proxies: `X-Forwarded-For` and `Forwarded` are
//! believed only from a trusted proxy, and then the right-most address that
//! is not a trusted proxy is the client — for `lastUsedIp` and throttles.

use std::net::{IpAddr, Ipv4Addr};

use keyward_testkit::{TestApp, send};
use reqwest::{Method, StatusCode};
use serde_json::json;

use crate::oauth_support::str_of;

fn from(ip: Ipv4Addr) -> reqwest::Client {
    reqwest::Client::builder()
        .local_address(IpAddr::V4(ip))
        .build()
        .unwrap()
}

async fn last_used_ip(app: &TestApp, session: &str, id: &str) -> serde_json::Value {
    app.keyward.flush_usage().await.unwrap();
    let (_, token) = send(app.bearer(
        Method::GET,
        &format!("/api/v1/integrations/tokens/{id}"),
        session,
    ))
    .await;
    token["lastUsedIp"].clone()
}

#[tokio::test]
async fn forwarded_addresses_count_only_from_trusted_proxies() {
    let app = TestApp::spawn_with(|c| c.server.trusted_proxies = vec!["127.0.0.1/32".into()]).await;
    let session = app.session("behind-proxy", &["member"]).await;
    let token = app
        .create_token(&session, json!({"name": "t", "scopes": ["iguide.ro"]}))
        .await;
    let (id, secret) = (str_of(&token, "id"), str_of(&token, "token"));
    let me = |client: &reqwest::Client, header: (&str, &str)| {
        client
            .get(app.url("/api/v1/me"))
            .bearer_auth(secret)
            .header(header.0, header.1)
    };

    // Through the trusted proxy: the right-most untrusted address.
    let proxy = from(Ipv4Addr::new(127, 0, 0, 1));
    let r = me(&proxy, ("x-forwarded-for", "6.6.6.6, 198.51.100.7"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(last_used_ip(&app, &session, id).await, "198.51.100.7");
    let r = me(&proxy, ("forwarded", "for=\"[2001:db8::5]:443\""))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(last_used_ip(&app, &session, id).await, "2001:db8::5");

    // From anywhere else the header is the client's own claim: ignored.
    app.advance(time::Duration::seconds(1));
    let direct = from(Ipv4Addr::new(127, 0, 0, 2));
    let r = me(&direct, ("x-forwarded-for", "198.51.100.99"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(last_used_ip(&app, &session, id).await, "127.0.0.2");

    // Throttles count the forwarded client, not the proxy: one client
    // locked out does not lock out the others behind the same proxy.
    for i in 0..6 {
        let (status, _) = send(
            proxy
                .post(app.url("/api/v1/login"))
                .header("x-forwarded-for", "203.0.113.1")
                .json(&json!({"username": "behind-proxy", "password": format!("wrong {i}")})),
        )
        .await;
        assert!(matches!(status.as_u16(), 401 | 429));
    }
    let login = |client: &str| {
        proxy
            .post(app.url("/api/v1/login"))
            .header("x-forwarded-for", client)
            .json(&json!({"username": "behind-proxy", "password": keyward_testkit::PASSWORD}))
    };
    assert_eq!(
        send(login("203.0.113.1")).await.0,
        StatusCode::TOO_MANY_REQUESTS
    );
    assert_eq!(send(login("203.0.113.2")).await.0, StatusCode::OK);
    app.stop().await;
}
