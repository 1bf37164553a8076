//! A minimal browser for the OAuth pages: follows the sign-in and consent
//! forms by hand (cookies, hidden fields, the CSRF token) with a client that
//! never follows redirects, so every Location can be checked.

use reqwest::header::{COOKIE, LOCATION, SET_COOKIE};
use reqwest::{StatusCode, redirect};

use crate::harness::{PASSWORD, TestApp};

pub struct Browser {
    pub client: reqwest::Client,
    pub cookie: Option<String>,
}

impl Browser {
    pub fn new() -> Self {
        Self {
            client: reqwest::Client::builder()
                .redirect(redirect::Policy::none())
                .build()
                .unwrap(),
            cookie: None,
        }
    }

    pub async fn get(&self, url: &str) -> reqwest::Response {
        let mut request = self.client.get(url);
        if let Some(c) = &self.cookie {
            request = request.header(COOKIE, c);
        }
        request.send().await.unwrap()
    }

    pub async fn post_form(&self, url: &str, fields: &[(String, String)]) -> reqwest::Response {
        let mut request = self.client.post(url).form(fields);
        if let Some(c) = &self.cookie {
            request = request.header(COOKIE, c);
        }
        request.send().await.unwrap()
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
        let signed_in = self
            .post_form(
                &app.url("/oauth/login"),
                &[
                    ("username".into(), username.into()),
                    ("password".into(), PASSWORD.into()),
                    ("next".into(), next.clone()),
                ],
            )
            .await;
        assert_eq!(signed_in.status(), StatusCode::SEE_OTHER);
        assert_eq!(
            signed_in.headers()[LOCATION],
            next.as_str(),
            "back to the request"
        );
        let set_cookie = signed_in.headers()[SET_COOKIE].to_str().unwrap().to_owned();
        assert!(
            set_cookie.contains("HttpOnly") && set_cookie.contains("SameSite=Lax"),
            "{set_cookie}"
        );
        self.cookie = Some(set_cookie.split(';').next().unwrap().to_owned());
        let consent = self.get(&app.url(&next)).await;
        let status = consent.status();
        let html = consent.text().await.unwrap();
        assert_eq!(status, StatusCode::OK, "{next}: {html}");
        html
    }

    /// Submits the consent form with `decision`; returns the Location.
    pub async fn decide(&self, app: &TestApp, consent_html: &str, decision: &str) -> String {
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
