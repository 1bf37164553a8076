//! The authorization endpoint's checks (RFC 6749 §3.1, §4.1.1; RFC 7636;
//! RFC 9700) and code issuance after consent.
//!
//! Order matters: until the client and its redirect URI are known to be
//! good, errors are shown as a page and never redirected (an open redirector
//! otherwise); after that they go back to the client as `error=…`.

use time::OffsetDateTime;
use uuid::Uuid;

use super::{OAuthError, parse_scope_param, pkce};
use crate::model::{
    AuditAction, AuditOutcome, AuthCode, GrantType, NewAuthCode, OAuthApp, TargetType, User,
};
use crate::random;
use crate::scope::ScopeSet;
use crate::secret::{PlainSecret, SecretKind};
use crate::service::{Actor, Keyward, Target};
use crate::validate;

/// The parameters of an authorization request, each already de-duplicated
/// (a repeated parameter is refused before this) and with empty values read
/// as absent.
#[derive(Debug, Default, Clone)]
pub struct AuthorizeRequest {
    pub client_id: Option<String>,
    pub redirect_uri: Option<String>,
    pub response_type: Option<String>,
    pub scope: Option<String>,
    pub state: Option<String>,
    pub code_challenge: Option<String>,
    pub code_challenge_method: Option<String>,
}

/// Why an authorization request fails.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AuthorizeError {
    /// Unknown client or bad redirect URI: show an error page, never
    /// redirect.
    Page(String),
    /// Send the client `error=…` at its (checked) redirect URI.
    Redirect {
        redirect_uri: String,
        error: &'static str,
        description: String,
        state: Option<String>,
    },
}

/// A request that passed every check, ready for the consent page.
#[derive(Debug, Clone)]
pub struct ValidAuthorization {
    pub app: OAuthApp,
    /// Where the answer goes.
    pub redirect_uri: String,
    /// Whether the request named the redirect URI (then the token request
    /// must repeat it).
    pub redirect_uri_given: bool,
    pub scopes: ScopeSet,
    pub state: Option<String>,
    pub code_challenge: String,
}

impl ValidAuthorization {
    fn error(&self, error: &'static str, description: &str) -> AuthorizeError {
        AuthorizeError::Redirect {
            redirect_uri: self.redirect_uri.clone(),
            error,
            description: description.to_owned(),
            state: self.state.clone(),
        }
    }
}

/// Whether a presented redirect URI matches a registered one: exactly, or
/// for a loopback IP literal with `http`, up to the port (RFC 8252 §7.3).
fn redirect_matches(registered: &str, presented: &str) -> bool {
    if registered == presented {
        return true;
    }
    let (Ok(r), Ok(p)) = (url::Url::parse(registered), url::Url::parse(presented)) else {
        return false;
    };
    let ip_literal = matches!(r.host(), Some(url::Host::Ipv4(_) | url::Host::Ipv6(_)));
    r.scheme() == "http"
        && ip_literal
        && validate::is_loopback(&r)
        && p.scheme() == r.scheme()
        && p.host() == r.host()
        && p.path() == r.path()
        && p.query() == r.query()
        && p.fragment().is_none()
        && p.username().is_empty()
        && p.password().is_none()
}

impl Keyward {
    /// Checks an authorization request.
    pub async fn check_authorization(
        &self,
        req: &AuthorizeRequest,
    ) -> Result<ValidAuthorization, AuthorizeError> {
        let page = |m: &str| AuthorizeError::Page(m.to_owned());
        let client_id = req
            .client_id
            .as_deref()
            .ok_or_else(|| page("The request names no client (client_id)."))?;
        let app = match Uuid::parse_str(client_id) {
            Ok(id) => self
                .inner
                .store
                .find_app(id)
                .await
                .map_err(|_| page("The server could not look up the client; try again."))?,
            Err(_) => None,
        }
        .ok_or_else(|| page("The client is unknown."))?;
        let redirect_uri = match req.redirect_uri.as_deref() {
            Some(uri) => {
                if !app.redirect_uris.iter().any(|r| redirect_matches(r, uri)) {
                    return Err(page("The redirect URI is not registered for this client."));
                }
                uri.to_owned()
            }
            None => match app.redirect_uris.as_slice() {
                [only] => only.clone(),
                _ => {
                    return Err(page(
                        "The client has several redirect URIs; the request must name one.",
                    ));
                }
            },
        };
        let mut valid = ValidAuthorization {
            redirect_uri_given: req.redirect_uri.is_some(),
            redirect_uri,
            scopes: ScopeSet::new(),
            state: req.state.clone(),
            code_challenge: String::new(),
            app,
        };
        match req.response_type.as_deref() {
            Some("code") => {}
            None => return Err(valid.error("invalid_request", "response_type is required")),
            Some(_) => {
                return Err(valid.error(
                    "unsupported_response_type",
                    "only response_type=code is supported",
                ));
            }
        }
        if !valid
            .app
            .grant_types
            .contains(&GrantType::AuthorizationCode)
        {
            return Err(valid.error(
                "unauthorized_client",
                "this client may not use the authorization code grant",
            ));
        }
        let challenge = req
            .code_challenge
            .as_deref()
            .ok_or_else(|| valid.error("invalid_request", "code_challenge is required (PKCE)"))?;
        match req.code_challenge_method.as_deref() {
            Some("S256") => {}
            None => {
                return Err(valid.error("invalid_request", "code_challenge_method must be S256"));
            }
            Some(_) => {
                return Err(valid.error(
                    "invalid_request",
                    "only the S256 code_challenge_method is supported",
                ));
            }
        }
        if !pkce::valid_challenge(challenge) {
            return Err(valid.error(
                "invalid_request",
                "code_challenge must be 43 base64url characters",
            ));
        }
        valid.code_challenge = challenge.to_owned();
        valid.scopes = match req.scope.as_deref() {
            None => valid.app.scopes.clone(),
            Some(s) => {
                let requested = parse_scope_param(s);
                if requested.is_empty() || !requested.is_subset(&valid.app.scopes) {
                    return Err(valid.error(
                        "invalid_scope",
                        "the requested scope is not within the client's scope",
                    ));
                }
                requested
            }
        };
        Ok(valid)
    }

    /// After `user` consented: a code for what they may grant. Scopes the
    /// user's roles do not allow are left out; if none remain, `invalid_scope`.
    pub async fn issue_code(
        &self,
        actor: &Actor,
        user: &User,
        valid: &ValidAuthorization,
    ) -> Result<PlainSecret, AuthorizeError> {
        let scopes = self.oauth_scopes(&valid.scopes, &valid.app.scopes, user);
        if scopes.is_empty() {
            return Err(valid.error(
                "invalid_scope",
                "the user may grant none of the requested scopes",
            ));
        }
        let now: OffsetDateTime = self.inner.clock.now();
        let secret = PlainSecret::generate(SecretKind::AuthCode, self.inner.random.as_ref());
        let code = NewAuthCode {
            digest: self.inner.hasher.digest(&secret),
            code: AuthCode {
                id: random::uuid_v7(self.inner.random.as_ref(), now),
                client_id: valid.app.client_id,
                user_id: user.id,
                redirect_uri: valid.redirect_uri_given.then(|| valid.redirect_uri.clone()),
                scopes,
                code_challenge: valid.code_challenge.clone(),
                family_id: random::uuid(self.inner.random.as_ref()),
                created_at: now,
                expires_at: now + self.inner.settings.code_ttl,
                used_at: None,
            },
        };
        let effects = self.change(
            actor,
            AuditAction::OAuthConsentGranted,
            Target {
                kind: TargetType::App,
                id: Some(valid.app.client_id),
                owner: Some(user.id),
            },
            serde_json::json!({
                "clientName": valid.app.client_name,
                "scopes": code.code.scopes.iter().collect::<Vec<_>>(),
            }),
        );
        self.inner
            .store
            .insert_code(&code, &effects)
            .await
            .map_err(|err| match err {
                // The app (or the user) was deleted while the page was open.
                crate::error::StoreError::Gone(_) => {
                    AuthorizeError::Page("The client is unknown.".into())
                }
                _ => valid.error("server_error", "the server could not issue a code"),
            })?;
        Ok(secret)
    }

    /// The error to send when the user denies consent.
    /// The user `actor` denied consent: on record, and the error to send.
    pub async fn deny_authorization(
        &self,
        actor: &Actor,
        valid: &ValidAuthorization,
    ) -> AuthorizeError {
        let event = self.audit_event(
            actor,
            AuditAction::OAuthConsentDenied,
            Target {
                kind: TargetType::App,
                id: Some(valid.app.client_id),
                owner: actor.principal.as_ref().map(|p| p.user.id),
            },
            AuditOutcome::Success,
            serde_json::json!({ "clientName": valid.app.client_name }),
        );
        self.record_audit(event).await;
        valid.error("access_denied", "the user denied the request")
    }
}

impl From<OAuthError> for AuthorizeError {
    fn from(err: OAuthError) -> Self {
        AuthorizeError::Page(err.description)
    }
}

#[cfg(test)]
mod tests {
    use super::redirect_matches;

    #[test]
    fn redirect_uris_match_exactly_except_the_loopback_port() {
        let r = "https://app.example/cb";
        assert!(redirect_matches(r, r));
        for bad in [
            "https://app.example/cb/",
            "https://APP.example/cb",
            "https://app.example/cb?x=1",
            "https://app.example:444/cb",
            "http://app.example/cb",
        ] {
            assert!(!redirect_matches(r, bad), "{bad}");
        }
        assert!(redirect_matches(
            "http://127.0.0.1/cb",
            "http://127.0.0.1:51004/cb"
        ));
        assert!(redirect_matches(
            "http://[::1]:80/cb",
            "http://[::1]:8080/cb"
        ));
        assert!(!redirect_matches(
            "http://127.0.0.1/cb",
            "http://127.0.0.1:51004/other"
        ));
        assert!(
            !redirect_matches("http://localhost/cb", "http://localhost:9/cb"),
            "names are not IP literals"
        );
    }

    mod props {
        use super::redirect_matches;
        use proptest::prelude::*;

        proptest! {
            /// A registered URI always matches itself; matching any pair of
            /// strings never panics; and anything that matches a non-loopback
            /// URI is that URI, to the byte.
            #[test]
            fn redirect_matching_is_exact(
                registered in "https://[a-z]{1,8}\\.example(:[0-9]{2,4})?/[a-z/]{0,8}(\\?[a-z=&]{0,6})?",
                presented in "[ -~]{0,40}",
            ) {
                prop_assert!(redirect_matches(&registered, &registered));
                if redirect_matches(&registered, &presented) {
                    prop_assert_eq!(&presented, &registered);
                }
            }

            /// Loopback IP literals may differ only in the port.
            #[test]
            fn loopback_matches_only_up_to_the_port(port in 1u16.., path in "/[a-z]{0,6}", other in "/[a-z]{0,6}") {
                let registered = format!("http://127.0.0.1{path}");
                let same = format!("http://127.0.0.1:{port}{path}");
                let elsewhere = format!("http://127.0.0.1:{port}{other}");
                let other_host = format!("http://127.0.0.2:{port}{path}");
                prop_assert!(redirect_matches(&registered, &same));
                if other != path {
                    prop_assert!(!redirect_matches(&registered, &elsewhere));
                }
                prop_assert!(!redirect_matches(&registered, &other_host));
            }
        }
    }
}
