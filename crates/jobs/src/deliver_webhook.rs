//! Sending one renewal callback per Standard Webhooks: `webhook-id` (the
//! message's, the same on every retry), `webhook-timestamp` (the attempt's
//! Unix seconds), `webhook-signature: v1,<base64 HMAC-SHA256 of
//! "id.timestamp.body">` keyed with the bytes of the whole `kww_…` secret;
//! a JSON body, `User-Agent: Keyward/<version>`. A 2xx answer is success;
//! any other, a redirect (never followed) or a timeout (connect 5 s, whole
//! request 15 s) is a failed attempt; a refused target fails the message.

use std::time::Duration;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use hmac::{KeyInit, Mac};
use keyward_core::service::WebhookRequest;
use sha2::Sha256;

use crate::ssrf::{self, GuardedResolver};

pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(15);

/// The `webhook-signature` value of `body` sent as message `id` at
/// `timestamp`, keyed with `secret`'s bytes.
pub fn sign(secret: &[u8], id: &str, timestamp: i64, body: &str) -> String {
    let mut mac =
        hmac::Hmac::<Sha256>::new_from_slice(secret).expect("HMAC accepts any key length");
    mac.update(id.as_bytes());
    mac.update(b".");
    mac.update(timestamp.to_string().as_bytes());
    mac.update(b".");
    mac.update(body.as_bytes());
    format!("v1,{}", STANDARD.encode(mac.finalize().into_bytes()))
}

/// How an attempt ended.
#[derive(Debug)]
pub enum Sent {
    /// A 2xx answer.
    Delivered { response: String },
    /// Worth retrying: another status, a redirect, a timeout, no connection.
    Failed {
        response: Option<String>,
        error: String,
    },
    /// Never to be retried: the target is refused.
    Refused { error: String },
}

/// The callback client: no redirects, the timeouts above, and the SSRF
/// guard in its resolver.
#[derive(Debug, Clone)]
pub struct WebhookClient {
    client: reqwest::Client,
    allow_private: bool,
}

impl WebhookClient {
    pub fn new(allow_private: bool) -> anyhow::Result<Self> {
        let client = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .connect_timeout(CONNECT_TIMEOUT)
            .timeout(REQUEST_TIMEOUT)
            .user_agent(concat!("Keyward/", env!("CARGO_PKG_VERSION")))
            .dns_resolver(std::sync::Arc::new(GuardedResolver { allow_private }))
            .no_proxy()
            .build()?;
        Ok(Self {
            client,
            allow_private,
        })
    }

    /// Sends `request` at `timestamp` (Unix seconds).
    pub async fn send(&self, request: &WebhookRequest, timestamp: i64) -> Sent {
        let url = match url::Url::parse(&request.url) {
            Ok(url) => url,
            Err(e) => {
                return Sent::Refused {
                    error: format!("not a URL: {e}"),
                };
            }
        };
        // An address literal needs no resolver: check it here.
        let literal = match url.host() {
            Some(url::Host::Ipv4(ip)) => Some(std::net::IpAddr::V4(ip)),
            Some(url::Host::Ipv6(ip)) => Some(std::net::IpAddr::V6(ip)),
            _ => None,
        };
        if let Some(ip) = literal
            && !self.allow_private
            && ssrf::is_forbidden(ip)
        {
            return Sent::Refused {
                error: format!("target refused: {ip} is a private or reserved address"),
            };
        }
        let signature = sign(
            request.secret.expose().as_bytes(),
            &request.id,
            timestamp,
            &request.body,
        );
        let sent = self
            .client
            .post(url)
            .header("content-type", "application/json")
            .header("webhook-id", &request.id)
            .header("webhook-timestamp", timestamp.to_string())
            .header("webhook-signature", signature)
            .body(request.body.clone())
            .send()
            .await;
        match sent {
            Ok(response) => {
                let status = response.status();
                let text = format!("HTTP {}", status.as_u16());
                if status.is_success() {
                    Sent::Delivered { response: text }
                } else if status.is_redirection() {
                    Sent::Failed {
                        response: Some(text),
                        error: "redirects are not followed".into(),
                    }
                } else {
                    Sent::Failed {
                        error: format!("the receiver answered {}", status.as_u16()),
                        response: Some(text),
                    }
                }
            }
            Err(err) => match ssrf::refusal(&err) {
                Some(refused) => Sent::Refused {
                    error: refused.to_string(),
                },
                None if err.is_timeout() => Sent::Failed {
                    response: None,
                    error: "timed out".into(),
                },
                None => Sent::Failed {
                    response: None,
                    error: error_chain(&err),
                },
            },
        }
    }
}

fn error_chain(err: &(dyn std::error::Error + 'static)) -> String {
    let mut text = err.to_string();
    let mut cur = err.source();
    while let Some(e) = cur {
        text.push_str(": ");
        text.push_str(&e.to_string());
        cur = e.source();
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The Standard Webhooks test vector (its secret is base64 after
    /// `whsec_`; Keyward's are used as raw bytes, so the vector's key bytes
    /// are decoded first).
    #[test]
    fn signatures_match_the_standard_webhooks_vector() {
        let key = STANDARD.decode("C2FVsBQIhrscChlQIMV+b5sSYspob7oD").unwrap();
        assert_eq!(
            sign(
                &key,
                "msg_27UH4WbU6Z5A5EzD8u03UvzRbpk",
                1_649_367_553,
                r#"{"email":"test@example.com","username":"test_user"}"#
            ),
            "v1,tZ1I4/hDygAJgO5TYxiSd6Sd0kDW6hPenDe+bTa3Kkw="
        );
    }
}
