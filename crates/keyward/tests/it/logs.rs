//! No secret in any log line, even at `RUST_LOG=trace`: a real `keyward
//! serve` with every compatibility profile on runs the flows of the HTTP
//! suite (sign-in, tokens created, rotated, renewed and used, OAuth apps and
//! every grant, introspection, revocation, verification, a session in a
//! query string, a password as a client secret, failed attempts), and then
//! its whole output is searched for every secret and password it saw.

use std::process::{Command, Stdio};
use std::time::Duration as StdDuration;

use keyward_testkit::{PASSWORD, TEST_SERVER_KEY};
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::oauth_support::{CHALLENGE, VERIFIER, encode, hidden, query_param};

/// Collects every secret a response carries.
fn collect(found: &mut Vec<String>, body: &Value) {
    match body {
        Value::String(s) if s.starts_with("kw") && s.len() >= 40 => found.push(s.clone()),
        Value::Object(map) => map.values().for_each(|v| collect(found, v)),
        Value::Array(items) => items.iter().for_each(|v| collect(found, v)),
        _ => {}
    }
}

#[tokio::test]
async fn no_secret_reaches_a_log_line_at_trace_level() {
    let dir = tempfile::tempdir().unwrap();
    let db = keyward_testkit::pg::fresh_database_if_requested().await;
    let url = match &db {
        Some(db) => db.url.clone(),
        None => format!("sqlite://{}", dir.path().join("keyward.db").display()),
    };
    let log_path = dir.path().join("keyward.log");
    let log = std::fs::File::create(&log_path).unwrap();
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let base = format!("http://127.0.0.1:{port}");
    let env = |command: &mut Command| {
        command
            .current_dir(dir.path())
            .env_remove("KEYWARD_CONFIG")
            .env("KEYWARD_DATABASE_URL", &url)
            .env("KEYWARD_SECRET_KEY", TEST_SERVER_KEY)
            .env("KEYWARD_SCOPES", keyward_testkit::SCOPES)
            .env("KEYWARD_COMPAT_PROFILES", "circularo,apinizer")
            .env("KEYWARD_LISTEN", format!("127.0.0.1:{port}"))
            .env("KEYWARD_PUBLIC_URL", &base);
    };
    let mut create = Command::new(env!("CARGO_BIN_EXE_keyward"));
    env(&mut create);
    let mut create = create
        .args(["admin", "create-user", "traced", "--password-stdin"])
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    use std::io::Write;
    writeln!(create.stdin.take().unwrap(), "{PASSWORD}").unwrap();
    assert!(create.wait().unwrap().success());

    let mut serve = Command::new(env!("CARGO_BIN_EXE_keyward"));
    env(&mut serve);
    let mut server = serve
        .arg("serve")
        .env("RUST_LOG", "trace")
        .env("KEYWARD_LOG_FORMAT", "json")
        .stdout(log.try_clone().unwrap())
        .stderr(log)
        .spawn()
        .unwrap();
    let client = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    for _ in 0..200 {
        if client.get(format!("{base}/readyz")).send().await.is_ok() {
            break;
        }
        tokio::time::sleep(StdDuration::from_millis(50)).await;
    }

    let mut secrets = vec![PASSWORD.to_owned()];
    let post = |path: &str, bearer: Option<&str>, body: Value| {
        let mut request = client.post(format!("{base}{path}")).json(&body);
        if let Some(b) = bearer {
            request = request.bearer_auth(b);
        }
        request
    };
    let json_of = |r: reqwest::Response| async move { r.json::<Value>().await.unwrap() };

    // Sign-ins, good and bad, in both shapes.
    let login = json_of(
        post(
            "/api/v1/login",
            None,
            json!({"username": "traced", "password": PASSWORD}),
        )
        .send()
        .await
        .unwrap(),
    )
    .await;
    collect(&mut secrets, &login);
    let session = login["token"].as_str().unwrap().to_owned();
    post(
        "/api/v1/login",
        None,
        json!({"username": "traced", "password": "wrong but secret-ish"}),
    )
    .send()
    .await
    .unwrap();
    secrets.push("wrong but secret-ish".into());
    let circ = json_of(
        post(
            "/api/v1/login",
            None,
            json!({"name": "traced", "password": PASSWORD, "returnToken": true}),
        )
        .send()
        .await
        .unwrap(),
    )
    .await;
    collect(&mut secrets, &circ);

    // Tokens: created (with a renewal callback secret), used both ways,
    // rotated, renewed, verified, listed with the session in the query.
    let token = json_of(
        post(
            "/api/v1/integrations/tokens",
            Some(&session),
            json!({
                "name": "traced", "scopes": ["credentials.manage", "tokens.verify", "iguide.ro"],
                "renewal": {"everyDays": 30, "callbackUrl": "https://hooks.example/renew"}
            }),
        )
        .send()
        .await
        .unwrap(),
    )
    .await;
    collect(&mut secrets, &token);
    let id = token["id"].as_str().unwrap().to_owned();
    let secret = token["token"].as_str().unwrap().to_owned();
    client
        .get(format!("{base}/api/v1/me"))
        .header("X-App-Id", &id)
        .header("X-App-Token", &secret)
        .send()
        .await
        .unwrap();
    let rotated = json_of(
        post(
            &format!("/api/v1/integrations/tokens/{id}/rotate"),
            Some(&secret),
            json!({}),
        )
        .send()
        .await
        .unwrap(),
    )
    .await;
    collect(&mut secrets, &rotated);
    let renewed = json_of(
        post(
            &format!("/api/v1/integrations/tokens/{id}/renew"),
            Some(&session),
            json!({"name": "next", "expireCurrentAt": "2099-01-01T00:00:00Z"}),
        )
        .send()
        .await
        .unwrap(),
    )
    .await;
    collect(&mut secrets, &renewed);
    let verifier = rotated["token"].as_str().unwrap().to_owned();
    post(
        "/api/v1/verify",
        Some(&verifier),
        json!({"token": renewed["token"]}),
    )
    .send()
    .await
    .unwrap();
    post(
        "/api/v1/verify",
        Some(&verifier),
        json!({"token": "kwp_notarealsecretbutlongenoughtolooklikeone"}),
    )
    .send()
    .await
    .unwrap();
    client
        .get(format!("{base}/api/v1/api/key?token={session}"))
        .send()
        .await
        .unwrap();
    client
        .get(format!("{base}/api/v1/me"))
        .bearer_auth("kwp_000000000000000000000000000000000000")
        .send()
        .await
        .unwrap();

    // OAuth: an app, client credentials, the password grant, a code with
    // PKCE through the sign-in and consent pages, refresh, introspection,
    // revocation.
    let app = json_of(post("/api/v1/integrations/apps", Some(&session), json!({
        "clientName": "traced", "redirectUris": ["https://client.example/cb"], "scope": ["iguide.ro"]
    })).send().await.unwrap()).await;
    collect(&mut secrets, &app);
    let (client_id, client_secret) = (
        app["clientId"].as_str().unwrap().to_owned(),
        app["clientSecret"].as_str().unwrap().to_owned(),
    );
    let form = |path: &str, pairs: &[(&str, &str)]| {
        client
            .post(format!("{base}{path}"))
            .basic_auth(&client_id, Some(&client_secret))
            .header("content-type", "application/x-www-form-urlencoded")
            .body(encode(pairs))
    };
    let cc = json_of(
        form("/oauth/token", &[("grant_type", "client_credentials")])
            .send()
            .await
            .unwrap(),
    )
    .await;
    collect(&mut secrets, &cc);
    let user_grant = client
        .post(format!("{base}/apiops/auth/token"))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(encode(&[
            ("grant_type", "client_credentials"),
            ("client_id", "traced"),
            ("client_secret", PASSWORD),
        ]))
        .send()
        .await
        .unwrap();
    assert_eq!(user_grant.status(), StatusCode::OK);
    collect(&mut secrets, &json_of(user_grant).await);
    let authorize = format!(
        "{base}/oauth/authorize?response_type=code&client_id={client_id}&code_challenge={CHALLENGE}&code_challenge_method=S256&state=s"
    );
    let page = client
        .get(&authorize)
        .header("cookie", format!("kw_session={session}"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let csrf = hidden(&page, "csrf_token").expect("the consent page");
    let mut fields = vec![
        ("client_id", client_id.as_str()),
        ("response_type", "code"),
        ("scope", "iguide.ro"),
        ("code_challenge", CHALLENGE),
        ("code_challenge_method", "S256"),
        ("state", "s"),
        ("csrf_token", csrf.as_str()),
        ("decision", "allow"),
    ];
    let decided = client
        .post(format!("{base}/oauth/authorize"))
        .header("cookie", format!("kw_session={session}"))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(encode(&fields))
        .send()
        .await
        .unwrap();
    let location = decided.headers()["location"].to_str().unwrap().to_owned();
    let code = query_param(&location, "code").expect("a code");
    secrets.push(code.clone());
    fields.clear();
    let granted = json_of(
        form(
            "/oauth/token",
            &[
                ("grant_type", "authorization_code"),
                ("code", &code),
                ("code_verifier", VERIFIER),
            ],
        )
        .send()
        .await
        .unwrap(),
    )
    .await;
    collect(&mut secrets, &granted);
    let refreshed = json_of(
        form(
            "/oauth/token",
            &[
                ("grant_type", "refresh_token"),
                ("refresh_token", granted["refresh_token"].as_str().unwrap()),
            ],
        )
        .send()
        .await
        .unwrap(),
    )
    .await;
    collect(&mut secrets, &refreshed);
    form(
        "/oauth/introspect",
        &[("token", refreshed["access_token"].as_str().unwrap())],
    )
    .send()
    .await
    .unwrap();
    form(
        "/oauth/revoke",
        &[("token", refreshed["refresh_token"].as_str().unwrap())],
    )
    .send()
    .await
    .unwrap();
    client
        .post(format!("{base}/oauth/token"))
        .basic_auth(&client_id, Some("kwc_wrongsecretwrongsecretwrongsecret00"))
        .header("content-type", "application/x-www-form-urlencoded")
        .body("grant_type=client_credentials")
        .send()
        .await
        .unwrap();
    post(
        "/api/v1/me/password",
        Some(&session),
        json!({"current": PASSWORD, "new": "a new traced passphrase"}),
    )
    .send()
    .await
    .unwrap();
    secrets.push("a new traced passphrase".into());
    post("/api/v1/logout", Some(&session), json!({}))
        .send()
        .await
        .unwrap();

    // Stop it (flushing what it buffered), then read everything it wrote.
    let _ = Command::new("kill")
        .args(["-TERM", &server.id().to_string()])
        .status();
    let _ = server.wait();
    let text = std::fs::read_to_string(&log_path).unwrap();
    // Every statement and every request was logged: the most there is.
    assert!(
        text.contains("sqlx::query") && text.contains("db.statement"),
        "statements logged"
    );
    let requests = text.lines().filter(|l| l.contains("\"route\":")).count();
    assert!(requests >= 30, "every request logged ({requests} lines)");
    secrets.sort();
    secrets.dedup();
    assert!(
        secrets.len() >= 15,
        "the flows issued secrets: {}",
        secrets.len()
    );
    for secret in &secrets {
        // The whole secret, and (for Keyward's) its random body alone.
        let body = secret
            .get(4..secret.len().saturating_sub(6))
            .unwrap_or(secret);
        for needle in [secret.as_str(), body] {
            if let Some(line) = text.lines().find(|l| l.contains(needle)) {
                panic!("a secret is in the log: {line}");
            }
        }
    }
    if let Some(db) = db {
        db.drop_database().await.unwrap();
    }
}
