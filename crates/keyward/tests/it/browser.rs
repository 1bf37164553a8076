//! A minimal browser for the OAuth pages: follows the sign-in and consent
//! forms by hand (cookies, hidden fields, the CSRF token) with a client that
//! never follows redirects, so every Location can be checked.

use std::collections::BTreeMap;

use keyward_testkit::{PASSWORD, TestApp};
use reqwest::header::{COOKIE, LOCATION, SET_COOKIE};
use reqwest::{StatusCode, redirect};

pub struct Browser {
    pub client: reqwest::Client,
    /// The cookies the server set, by name.
    pub cookies: BTreeMap<String, String>,
}

impl Browser {
    pub fn new() -> Self {
        Self {
            client: reqwest::Client::builder()
                .redirect(redirect::Policy::none())
                .build()
                .unwrap(),
            cookies: BTreeMap::new(),
        }
    }

    fn with_cookies(&self, mut request: reqwest::RequestBuilder) -> reqwest::RequestBuilder {
        if !self.cookies.is_empty() {
            let header: Vec<String> = self
                .cookies
                .iter()
                .map(|(k, v)| format!("{k}={v}"))
                .collect();
            request = request.header(COOKIE, header.join("; "));
        }
        request
    }

    /// Keeps the cookies a response sets.
    fn remember(&mut self, response: &reqwest::Response) {
        for value in response.headers().get_all(SET_COOKIE) {
            let pair = value.to_str().unwrap().split(';').next().unwrap();
            if let Some((name, value)) = pair.split_once('=') {
                self.cookies.insert(name.to_owned(), value.to_owned());
            }
        }
    }

    pub async fn get(&mut self, url: &str) -> reqwest::Response {
        let response = self
            .with_cookies(self.client.get(url))
            .send()
            .await
            .unwrap();
        self.remember(&response);
        response
    }

    pub async fn post_form(&mut self, url: &str, fields: &[(String, String)]) -> reqwest::Response {
        let request = self.with_cookies(self.client.post(url).form(fields));
        let response = request.send().await.unwrap();
        self.remember(&response);
        response
    }

    /// Fills in the sign-in form of `html` (a page this browser loaded) as
    /// `username` and posts it, as a person would; returns the answer.
    pub async fn sign_in(
        &mut self,
        app: &TestApp,
        html: &str,
        username: &str,
        password: &str,
    ) -> reqwest::Response {
        let mut fields = hidden_fields(html);
        assert!(
            fields.iter().any(|(k, _)| k == "csrf_token"),
            "the sign-in form carries a CSRF token"
        );
        fields.push(("username".into(), username.into()));
        fields.push(("password".into(), password.into()));
        self.post_form(&app.url("/oauth/login"), &fields).await
    }

    /// Opens an authorization URL, signs in as `username` on the page if
    /// asked, and returns the consent page's HTML.
    pub async fn consent_page(
        &mut self,
        app: &TestApp,
        authorize_url: &str,
        username: &str,
    ) -> String {
        let page = self.get(authorize_url).await;
        assert_eq!(page.status(), StatusCode::OK);
        let html = page.text().await.unwrap();
        if !html.contains("name=\"password\"") {
            return html;
        }
        let next = hidden_fields(&html)
            .into_iter()
            .find(|(k, _)| k == "next")
            .map(|(_, v)| v)
            .expect("the sign-in form carries next");
        let signed_in = self.sign_in(app, &html, username, PASSWORD).await;
        assert_eq!(signed_in.status(), StatusCode::SEE_OTHER);
        assert_eq!(
            signed_in.headers()[LOCATION],
            next.as_str(),
            "back to the request"
        );
        let set_cookie = signed_in
            .headers()
            .get_all(SET_COOKIE)
            .iter()
            .map(|v| v.to_str().unwrap().to_owned())
            .find(|c| c.starts_with("kw_session="))
            .expect("the session cookie is set");
        assert!(
            set_cookie.contains("HttpOnly") && set_cookie.contains("SameSite=Lax"),
            "{set_cookie}"
        );
        let consent = self.get(&app.url(&next)).await;
        let status = consent.status();
        let html = consent.text().await.unwrap();
        assert_eq!(status, StatusCode::OK, "{next}: {html}");
        html
    }

    /// Submits the consent form with `decision`; returns the Location.
    pub async fn decide(&mut self, app: &TestApp, consent_html: &str, decision: &str) -> String {
        let mut fields = hidden_fields(consent_html);
        fields.push(("decision".into(), decision.into()));
        let answer = self.post_form(&app.url("/oauth/authorize"), &fields).await;
        assert_eq!(
            answer.status(),
            StatusCode::SEE_OTHER,
            "{}",
            answer.text().await.unwrap_or_default()
        );
        answer.headers()[LOCATION].to_str().unwrap().to_owned()
    }
}

/// The hidden inputs of a page, unescaped.
pub fn hidden_fields(html: &str) -> Vec<(String, String)> {
    html.split("<input")
        .skip(1)
        .filter(|tag| tag.contains("type=\"hidden\""))
        .filter_map(|tag| Some((attribute(tag, "name")?, attribute(tag, "value")?)))
        .collect()
}

fn attribute(tag: &str, name: &str) -> Option<String> {
    let start = tag.find(&format!(" {name}=\""))? + name.len() + 3;
    let len = tag[start..].find('"')?;
    Some(unescape(&tag[start..start + len]))
}

/// Decodes the HTML entities a template escaper writes: named ones for
/// `"<>&` and numeric ones (`&#38;`, `&#x27;`).
fn unescape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut rest = s;
    while let Some(i) = rest.find('&') {
        out.push_str(&rest[..i]);
        rest = &rest[i..];
        let Some(end) = rest.find(';') else { break };
        let entity = &rest[1..end];
        let decoded = match entity {
            "amp" => Some('&'),
            "lt" => Some('<'),
            "gt" => Some('>'),
            "quot" => Some('"'),
            "apos" => Some('\''),
            _ => entity
                .strip_prefix("#x")
                .map(|h| u32::from_str_radix(h, 16))
                .or_else(|| entity.strip_prefix('#').map(str::parse::<u32>))
                .and_then(Result::ok)
                .and_then(char::from_u32),
        };
        match decoded {
            Some(c) => {
                out.push(c);
                rest = &rest[end + 1..];
            }
            None => {
                out.push('&');
                rest = &rest[1..];
            }
        }
    }
    out.push_str(rest);
    out
}

/// A query parameter of a URL.
pub fn query_param(url: &str, name: &str) -> Option<String> {
    url::Url::parse(url)
        .ok()?
        .query_pairs()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.into_owned())
}
