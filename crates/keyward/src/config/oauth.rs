//! The OAuth server's lifetimes.

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default)]
pub struct OAuthConfig {
    /// Lifetimes of OAuth access tokens, refresh tokens and authorization
    /// codes, in seconds.
    pub access_token_ttl_seconds: i64,
    pub refresh_token_ttl_seconds: i64,
    pub authorization_code_ttl_seconds: i64,
}

impl Default for OAuthConfig {
    fn default() -> Self {
        let s = keyward_core::config::Settings::default();
        Self {
            access_token_ttl_seconds: s.access_token_ttl.whole_seconds(),
            refresh_token_ttl_seconds: s.refresh_token_ttl.whole_seconds(),
            authorization_code_ttl_seconds: s.code_ttl.whole_seconds(),
        }
    }
}
