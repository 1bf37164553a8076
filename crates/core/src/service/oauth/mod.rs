//! The OAuth 2.0 authorization server's use cases, written against the RFCs:
//! the token endpoint's grants (RFC 6749 §4.1, §4.4, §6; PKCE per RFC 7636
//! with S256 only), the authorization endpoint's checks and code issuance,
//! introspection (RFC 7662) and revocation (RFC 7009). The HTTP layer only
//! parses forms and maps [`OAuthError`] to RFC 6749 §5.2 responses.

mod authorize;
mod batch;
mod client;
mod introspect;
mod pkce;
mod token;
mod user_grant;

pub use authorize::{AuthorizeError, AuthorizeRequest, ValidAuthorization};
pub use batch::{PendingWrite, TokenQueue, TokenWriter};
pub use client::Client;
pub use introspect::{Caller, Introspection, RevokeOutcome};
pub use pkce::s256_challenge;
pub use token::{TokenRequest, TokenResponse};

use crate::scope::ScopeSet;

/// The error codes of RFC 6749 §5.2 and RFC 7009 §2.2.1.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OAuthErrorCode {
    InvalidRequest,
    InvalidClient,
    InvalidGrant,
    UnauthorizedClient,
    UnsupportedGrantType,
    InvalidScope,
    UnsupportedTokenType,
    /// The server failed (HTTP 500); never the client's fault.
    ServerError,
}

impl OAuthErrorCode {
    pub fn as_str(self) -> &'static str {
        match self {
            OAuthErrorCode::InvalidRequest => "invalid_request",
            OAuthErrorCode::InvalidClient => "invalid_client",
            OAuthErrorCode::InvalidGrant => "invalid_grant",
            OAuthErrorCode::UnauthorizedClient => "unauthorized_client",
            OAuthErrorCode::UnsupportedGrantType => "unsupported_grant_type",
            OAuthErrorCode::InvalidScope => "invalid_scope",
            OAuthErrorCode::UnsupportedTokenType => "unsupported_token_type",
            OAuthErrorCode::ServerError => "server_error",
        }
    }
}

/// An OAuth error: a code and a description made only of the characters
/// RFC 6749 §5.2 allows (printable ASCII without `"` and `\`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OAuthError {
    pub code: OAuthErrorCode,
    pub description: String,
    /// Too many failed client authentications: answer 429.
    pub throttled: Option<std::time::Duration>,
    /// The credentials presented were refused: answer 401 whatever the
    /// code (as `invalid_client` always is).
    pub unauthorized: bool,
}

impl OAuthError {
    pub fn new(code: OAuthErrorCode, description: &str) -> Self {
        Self {
            code,
            description: description
                .chars()
                .filter(|c| matches!(c, ' '..='~') && *c != '"' && *c != '\\')
                .collect(),
            throttled: None,
            unauthorized: false,
        }
    }

    pub fn invalid_request(description: &str) -> Self {
        Self::new(OAuthErrorCode::InvalidRequest, description)
    }

    pub fn invalid_grant(description: &str) -> Self {
        Self::new(OAuthErrorCode::InvalidGrant, description)
    }

    pub fn invalid_client() -> Self {
        Self::new(
            OAuthErrorCode::InvalidClient,
            "client authentication failed",
        )
    }

    pub fn invalid_scope(description: &str) -> Self {
        Self::new(OAuthErrorCode::InvalidScope, description)
    }
}

/// A store failure: logged here, answered as `server_error` (500).
impl From<crate::Error> for OAuthError {
    fn from(err: crate::Error) -> Self {
        tracing::error!(error = %err, "oauth request failed");
        OAuthError::new(
            OAuthErrorCode::ServerError,
            "the server could not complete the request",
        )
    }
}

impl From<crate::error::StoreError> for OAuthError {
    fn from(err: crate::error::StoreError) -> Self {
        crate::Error::from(err).into()
    }
}

/// Parses a space-separated `scope` parameter (RFC 6749 §3.3).
pub fn parse_scope_param(scope: &str) -> ScopeSet {
    scope
        .split(' ')
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
        .collect()
}

/// A scope set as a `scope` parameter.
pub fn scope_param(scopes: &ScopeSet) -> String {
    scopes
        .iter()
        .map(String::as_str)
        .collect::<Vec<_>>()
        .join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        /// A scope parameter of any text parses without panicking into
        /// non-empty, space-free names, and a set written as a parameter
        /// reads back as itself.
        #[test]
        fn scope_parameters_parse_and_round_trip(text in "[ -~]{0,80}", names in proptest::collection::btree_set("[a-z.]{1,8}", 0..5)) {
            for scope in parse_scope_param(&text) {
                prop_assert!(!scope.is_empty() && !scope.contains(' '));
            }
            let set: ScopeSet = names.into_iter().collect();
            prop_assert_eq!(parse_scope_param(&scope_param(&set)), set);
        }

        /// Error descriptions only ever hold the characters RFC 6749 §5.2
        /// allows, whatever they were made from.
        #[test]
        fn error_descriptions_keep_to_the_allowed_characters(text in "\\PC{0,60}") {
            let err = OAuthError::new(OAuthErrorCode::InvalidRequest, &text);
            prop_assert!(err.description.chars().all(|c| matches!(c, '\x20'..='\x21' | '\x23'..='\x5b' | '\x5d'..='\x7e')));
        }
    }
}
