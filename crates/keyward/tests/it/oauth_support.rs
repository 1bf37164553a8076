//! Helpers for the OAuth checklist tests (`/work/shared/CHECKLIST.md`, RFC
//! sections): apps made over the apps API, PKCE pairs, authorizations run
//! through the real consent page (session cookie, CSRF token), and form
//! requests with client authentication by HTTP Basic or in the body. The
//! client used here never follows redirects, so every `Location` can be read.

use keyward_testkit::{TestApp, send};
use reqwest::header::{AUTHORIZATION, CONTENT_TYPE, COOKIE, HeaderMap, LOCATION};
use reqwest::{Method, RequestBuilder, StatusCode};
use serde_json::{Value, json};

pub const APPS: &str = "/api/v1/integrations/apps";
pub const REDIRECT: &str = "https://client.example/cb";
/// The code verifier and challenge of RFC 7636 Appendix B.
pub const VERIFIER: &str = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
pub const CHALLENGE: &str = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM";
/// The error codes of RFC 6749 §5.2.
pub const TOKEN_ERRORS: [&str; 6] = [
    "invalid_request",
    "invalid_client",
    "invalid_grant",
    "unauthorized_client",
    "unsupported_grant_type",
    "invalid_scope",
];

/// A registered client: its id and secret.
#[derive(Debug, Clone)]
pub struct Client {
    pub id: String,
    pub secret: String,
}

/// Registers an app with `body` (asserting 201).
pub async fn create_app(app: &TestApp, session: &str, body: Value) -> Client {
    let (status, created) = send(app.bearer(Method::POST, APPS, session).json(&body)).await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    Client {
        id: created["clientId"].as_str().expect("clientId").to_owned(),
        secret: created["clientSecret"]
            .as_str()
            .expect("clientSecret")
            .to_owned(),
    }
}

/// An app redirecting to [`REDIRECT`] with scopes `iguide.list iguide.ro`
/// and every grant type.
/// A fresh server, a member named `user` signed in (the session secret), and
/// a standard app of theirs: how most checklist tests begin.
pub async fn app_with_client(user: &str) -> (TestApp, String, Client) {
    let app = TestApp::spawn().await;
    let session = app.session(user, &["member"]).await;
    let client = standard_app(&app, &session).await;
    (app, session, client)
}

pub async fn standard_app(app: &TestApp, session: &str) -> Client {
    create_app(
        app,
        session,
        json!({
            "clientName": "Checklist Client",
            "redirectUris": [REDIRECT],
            "scope": ["iguide.list", "iguide.ro"],
        }),
    )
    .await
}

/// A fresh PKCE pair (verifier, S256 challenge).
pub fn pkce() -> (String, String) {
    let verifier = format!(
        "{}-{}",
        uuid::Uuid::new_v4().simple(),
        uuid::Uuid::new_v4().simple()
    );
    let challenge = keyward_core::service::oauth::s256_challenge(&verifier);
    (verifier, challenge)
}

/// A response, read completely.
#[derive(Debug)]
pub struct Reply {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub text: String,
}

impl Reply {
    pub fn json(&self) -> Value {
        serde_json::from_str(&self.text)
            .unwrap_or_else(|_| panic!("not JSON ({}): {}", self.status, self.text))
    }

    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    pub fn location(&self) -> Option<String> {
        self.headers
            .get(LOCATION)
            .map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned())
    }

    /// Asserts an RFC 6749 §5.2 error with `status` and `error`.
    pub fn assert_oauth_error(&self, status: StatusCode, error: &str) {
        assert_eq!(self.status, status, "{}", self.text);
        assert_eq!(self.json()["error"], error, "{}", self.text);
    }
}

/// A client that never follows redirects.
pub fn no_redirects() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("client")
}

pub async fn reply(request: RequestBuilder) -> Reply {
    let response = request.send().await.expect("request sent");
    Reply {
        status: response.status(),
        headers: response.headers().clone(),
        text: response.text().await.expect("body"),
    }
}

/// `application/x-www-form-urlencoded` of `pairs`.
pub fn encode(pairs: &[(&str, &str)]) -> String {
    url::form_urlencoded::Serializer::new(String::new())
        .extend_pairs(pairs)
        .finish()
}

/// One value form-urlencoded (as RFC 6749 §2.3.1 wants in Basic credentials).
pub fn urlencode(value: &str) -> String {
    url::form_urlencoded::byte_serialize(value.as_bytes()).collect()
}

/// How a request authenticates its client.
#[derive(Debug, Clone, Copy)]
pub enum Auth<'a> {
    None,
    /// HTTP Basic, id and secret form-urlencoded.
    Basic(&'a Client),
    /// `client_id` and `client_secret` in the body.
    Post(&'a Client),
    /// A raw `Authorization` header value.
    Header(&'a str),
}

/// A form POST to `path` (a path with an optional query).
pub fn form_request(
    app: &TestApp,
    path: &str,
    auth: Auth<'_>,
    pairs: &[(&str, &str)],
) -> RequestBuilder {
    let mut pairs: Vec<(&str, &str)> = pairs.to_vec();
    if let Auth::Post(client) = auth {
        pairs.push(("client_id", &client.id));
        pairs.push(("client_secret", &client.secret));
    }
    let mut request = no_redirects()
        .post(app.url(path))
        .header(CONTENT_TYPE, "application/x-www-form-urlencoded")
        .body(encode(&pairs));
    match auth {
        Auth::Basic(client) => {
            request = request.basic_auth(urlencode(&client.id), Some(urlencode(&client.secret)));
        }
        Auth::Header(value) => request = request.header(AUTHORIZATION, value),
        Auth::None | Auth::Post(_) => {}
    }
    request
}

pub async fn post_form(app: &TestApp, path: &str, auth: Auth<'_>, pairs: &[(&str, &str)]) -> Reply {
    reply(form_request(app, path, auth, pairs)).await
}

/// `POST /oauth/token` with Basic authentication.
pub async fn token(app: &TestApp, client: &Client, pairs: &[(&str, &str)]) -> Reply {
    post_form(app, "/oauth/token", Auth::Basic(client), pairs).await
}

/// `POST /oauth/introspect` by `client` (Basic); asserts 200, returns the body.
pub async fn introspect(app: &TestApp, client: &Client, token: &str) -> Value {
    let r = post_form(
        app,
        "/oauth/introspect",
        Auth::Basic(client),
        &[("token", token)],
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    r.json()
}

/// Whether `token` is active according to its own client.
pub async fn active(app: &TestApp, client: &Client, token: &str) -> bool {
    introspect(app, client, token).await["active"]
        .as_bool()
        .expect("active is a boolean")
}

/// The parameters of an authorization request, in order.
#[derive(Debug, Clone)]
pub struct Authz {
    pub params: Vec<(String, String)>,
}

impl Authz {
    /// `response_type=code`, `client_id`, `state=xyz` and the Appendix B
    /// challenge with S256; no `redirect_uri` (the app has one).
    pub fn new(client: &Client) -> Self {
        Self {
            params: vec![
                ("response_type".into(), "code".into()),
                ("client_id".into(), client.id.clone()),
                ("state".into(), "xyz".into()),
                ("code_challenge".into(), CHALLENGE.into()),
                ("code_challenge_method".into(), "S256".into()),
            ],
        }
    }

    /// Sets `key` (replacing it if present).
    pub fn set(mut self, key: &str, value: &str) -> Self {
        match self.params.iter_mut().find(|(k, _)| k == key) {
            Some(p) => p.1 = value.to_owned(),
            None => self.params.push((key.to_owned(), value.to_owned())),
        }
        self
    }

    /// Adds `key` even if present (for repeated parameters).
    pub fn add(mut self, key: &str, value: &str) -> Self {
        self.params.push((key.to_owned(), value.to_owned()));
        self
    }

    pub fn remove(mut self, key: &str) -> Self {
        self.params.retain(|(k, _)| k != key);
        self
    }

    pub fn pairs(&self) -> Vec<(&str, &str)> {
        self.params
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect()
    }

    pub fn query(&self) -> String {
        encode(&self.pairs())
    }
}

/// `GET /oauth/authorize?<query>`, signed in with `session` (a cookie) if given.
pub async fn authorize_get(app: &TestApp, session: Option<&str>, query: &str) -> Reply {
    let mut request = no_redirects().get(app.url(&format!("/oauth/authorize?{query}")));
    if let Some(s) = session {
        request = request.header(COOKIE, format!("kw_session={s}"));
    }
    reply(request).await
}

/// The value of the hidden input `name` on a page.
pub fn hidden(html: &str, name: &str) -> Option<String> {
    let marker = format!("name=\"{name}\" value=\"");
    let start = html.find(&marker)? + marker.len();
    let len = html[start..].find('"')?;
    Some(
        html[start..start + len]
            .replace("&quot;", "\"")
            .replace("&#x27;", "'")
            .replace("&#39;", "'")
            .replace("&lt;", "<")
            .replace("&gt;", ">")
            .replace("&amp;", "&"),
    )
}

/// A browser's sign-in form: the `kw_login_csrf` cookie the page set and
/// the CSRF token its form carries.
pub struct SignInForm {
    pub cookie: String,
    pub csrf_token: String,
}

impl SignInForm {
    /// Loads `GET /oauth/login` as a new browser would.
    pub async fn load(app: &TestApp) -> Self {
        let page = reply(no_redirects().get(app.url("/oauth/login"))).await;
        assert_eq!(page.status, StatusCode::OK, "{}", page.text);
        let cookie = page
            .header("set-cookie")
            .and_then(|c| c.split(';').next())
            .expect("the sign-in page sets its CSRF cookie")
            .to_owned();
        assert!(cookie.starts_with("kw_login_csrf="), "{cookie}");
        Self {
            cookie,
            csrf_token: hidden(&page.text, "csrf_token").expect("the form carries a CSRF token"),
        }
    }

    /// The form posted with `fields` (and its CSRF token).
    pub fn post(&self, app: &TestApp, fields: &[(&str, &str)]) -> RequestBuilder {
        let mut pairs = fields.to_vec();
        pairs.push(("csrf_token", &self.csrf_token));
        no_redirects()
            .post(app.url("/oauth/login"))
            .header(CONTENT_TYPE, "application/x-www-form-urlencoded")
            .header(COOKIE, &self.cookie)
            .body(encode(&pairs))
    }
}

/// The CSRF token of the consent page for `authz`, as `session` sees it.
pub async fn csrf_for(app: &TestApp, session: &str, authz: &Authz) -> String {
    let page = authorize_get(app, Some(session), &authz.query()).await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.text);
    hidden(&page.text, "csrf_token").expect("the consent page carries a CSRF token")
}

/// `POST /oauth/authorize` with `fields`, signed in with `session`.
pub async fn decide_raw(app: &TestApp, session: Option<&str>, fields: &[(&str, &str)]) -> Reply {
    let mut request = no_redirects()
        .post(app.url("/oauth/authorize"))
        .header(CONTENT_TYPE, "application/x-www-form-urlencoded")
        .body(encode(fields));
    if let Some(s) = session {
        request = request.header(COOKIE, format!("kw_session={s}"));
    }
    reply(request).await
}

/// Opens the consent page for `authz` and answers it with `decision`.
pub async fn consent(app: &TestApp, session: &str, authz: &Authz, decision: &str) -> Reply {
    let csrf = csrf_for(app, session, authz).await;
    let mut fields = authz.pairs();
    fields.push(("csrf_token", &csrf));
    fields.push(("decision", decision));
    decide_raw(app, Some(session), &fields).await
}

/// A query parameter of a URL.
pub fn query_param(location: &str, name: &str) -> Option<String> {
    let url = url::Url::parse(location).expect("absolute Location");
    url.query_pairs()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.into_owned())
}

/// Runs `authz` to the end with `allow`; returns the code.
pub async fn code_for(app: &TestApp, session: &str, authz: &Authz) -> String {
    let r = consent(app, session, authz, "allow").await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.text);
    let location = r.location().expect("Location");
    query_param(&location, "code").unwrap_or_else(|| panic!("no code in {location}"))
}

/// Redeems `code` with the Appendix B verifier (Basic); asserts 200.
pub async fn redeem(app: &TestApp, client: &Client, code: &str) -> Value {
    let r = token(
        app,
        client,
        &[
            ("grant_type", "authorization_code"),
            ("code", code),
            ("code_verifier", VERIFIER),
        ],
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    r.json()
}

/// A full authorization for `client` by `session`: the token response.
pub async fn grant(app: &TestApp, session: &str, client: &Client) -> Value {
    let code = code_for(app, session, &Authz::new(client)).await;
    redeem(app, client, &code).await
}

/// `client_credentials` for `client` (Basic); asserts 200.
pub async fn client_credentials(app: &TestApp, client: &Client) -> Value {
    let r = token(app, client, &[("grant_type", "client_credentials")]).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    r.json()
}

/// A refresh with `refresh_token` (Basic).
pub async fn refresh(app: &TestApp, client: &Client, refresh_token: &str) -> Reply {
    token(
        app,
        client,
        &[
            ("grant_type", "refresh_token"),
            ("refresh_token", refresh_token),
        ],
    )
    .await
}

pub fn str_of<'a>(v: &'a Value, key: &str) -> &'a str {
    v[key]
        .as_str()
        .unwrap_or_else(|| panic!("{key} missing in {v}"))
}

/// A plain (non-redirecting) request with a method, for 405 and CORS checks.
pub fn raw(app: &TestApp, method: Method, path: &str) -> RequestBuilder {
    no_redirects().request(method, app.url(path))
}
