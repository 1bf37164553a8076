//! Who is calling the token, introspection and revocation endpoints: a client
//! by HTTP Basic (id and secret each form-urlencoded, RFC 6749 §2.3.1) or by
//! `client_id`/`client_secret` in the body, never both and never in the
//! query; or (introspection and revocation) a bearer credential.

use axum::http::{HeaderMap, header};
use base64::Engine as _;
use keyward_core::service::oauth::{Client, OAuthError};

use super::form::Params;
use crate::state::AppState;

/// Credentials a request presents.
#[derive(Debug)]
pub enum Presented {
    Client { id: String, secret: String },
    Bearer(String),
    Nothing,
}

/// Reads the caller's credentials, refusing the ambiguous and the forbidden.
pub fn presented(
    headers: &HeaderMap,
    body: &mut Params,
    query: Option<&str>,
) -> Result<Presented, OAuthError> {
    if let Some(query) = query {
        let q = Params::parse(query.as_bytes());
        if q.contains("client_secret") || q.contains("client_id") {
            return Err(OAuthError::invalid_request(
                "client credentials must not be sent in the query",
            ));
        }
    }
    let body_secret = body.take("client_secret");
    let body_id = body.take("client_id");
    let Some(auth) = headers.get(header::AUTHORIZATION) else {
        return Ok(match (body_id, body_secret) {
            (Some(id), Some(secret)) => Presented::Client { id, secret },
            (None, Some(_)) => {
                return Err(OAuthError::invalid_request(
                    "client_secret without client_id",
                ));
            }
            _ => Presented::Nothing,
        });
    };
    let auth = auth.to_str().map_err(|_| OAuthError::invalid_client())?;
    let (scheme, rest) = auth.trim().split_once(' ').unwrap_or((auth, ""));
    if scheme.eq_ignore_ascii_case("bearer") {
        if body_secret.is_some() {
            return Err(OAuthError::invalid_request("use one way of authenticating"));
        }
        return Ok(Presented::Bearer(rest.trim().to_owned()));
    }
    if !scheme.eq_ignore_ascii_case("basic") {
        return Err(OAuthError::invalid_client());
    }
    if body_secret.is_some() {
        return Err(OAuthError::invalid_request(
            "client credentials sent both in the header and in the body",
        ));
    }
    let decoded = base64::engine::general_purpose::STANDARD
        .decode(rest.trim())
        .ok()
        .and_then(|b| String::from_utf8(b).ok())
        .ok_or_else(OAuthError::invalid_client)?;
    let (id, secret) = decoded
        .split_once(':')
        .ok_or_else(OAuthError::invalid_client)?;
    let decode = |s: &str| -> String {
        form_urlencoded::parse(format!("v={s}").as_bytes())
            .next()
            .map(|(_, v)| v.into_owned())
            .unwrap_or_default()
    };
    let (id, secret) = (decode(id), decode(secret));
    if body_id.as_deref().is_some_and(|b| b != id) {
        return Err(OAuthError::invalid_request(
            "client_id in the body differs from the authenticated client",
        ));
    }
    Ok(Presented::Client { id, secret })
}

/// Authenticates a client, or fails with `invalid_client`.
pub async fn client(
    state: &AppState,
    presented: Presented,
    ip: Option<std::net::IpAddr>,
) -> Result<Client, OAuthError> {
    match presented {
        Presented::Client { id, secret } => {
            state.keyward.authenticate_client(&id, &secret, ip).await
        }
        _ => Err(OAuthError::invalid_client()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    fn basic(id: &str, secret: &str) -> HeaderMap {
        let mut h = HeaderMap::new();
        let enc = base64::engine::general_purpose::STANDARD.encode(format!("{id}:{secret}"));
        h.insert(
            header::AUTHORIZATION,
            HeaderValue::from_str(&format!("Basic {enc}")).unwrap(),
        );
        h
    }

    #[test]
    fn basic_credentials_are_form_decoded() {
        let mut body = Params::default();
        match presented(&basic("a%3Ab", "x%2By%25z"), &mut body, None).unwrap() {
            Presented::Client { id, secret } => {
                assert_eq!((id.as_str(), secret.as_str()), ("a:b", "x+y%z"))
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn two_methods_or_the_query_are_refused() {
        let mut body = Params::parse(b"client_secret=s");
        assert!(presented(&basic("a", "b"), &mut body, None).is_err());
        let mut body = Params::default();
        assert!(
            presented(
                &HeaderMap::new(),
                &mut body,
                Some("client_id=a&client_secret=b")
            )
            .is_err()
        );
    }

    mod props {
        use super::*;
        use proptest::prelude::*;

        fn urlencoded(value: &str) -> String {
            form_urlencoded::byte_serialize(value.as_bytes()).collect()
        }

        proptest! {
            /// Any Authorization header and body parse without panicking.
            #[test]
            fn any_header_is_safe(value in "[ -~]{0,120}", body in "[ -~]{0,60}") {
                let mut headers = HeaderMap::new();
                if let Ok(v) = HeaderValue::from_str(&value) {
                    headers.insert(header::AUTHORIZATION, v);
                }
                let mut params = Params::parse(body.as_bytes());
                let _ = presented(&headers, &mut params, Some(&body));
            }

            /// Basic credentials round-trip whatever the id and secret hold,
            /// once each is form-urlencoded as RFC 6749 §2.3.1 asks.
            #[test]
            fn basic_credentials_round_trip(id in "\\PC{1,20}", secret in "\\PC{1,40}") {
                let mut body = Params::default();
                match presented(&basic(&urlencoded(&id), &urlencoded(&secret)), &mut body, None) {
                    Ok(Presented::Client { id: got_id, secret: got_secret }) => {
                        prop_assert_eq!(got_id, id);
                        prop_assert_eq!(got_secret, secret);
                    }
                    other => prop_assert!(false, "{:?}", other),
                }
            }
        }
    }
}
