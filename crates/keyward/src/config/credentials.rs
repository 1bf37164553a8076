//! Personal API tokens, sessions and OAuth apps: how many, how long they
//! live, the grace of a rotation and the credential policy.

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default)]
pub struct CredentialsConfig {
    pub max_tokens_per_user: u32,
    /// OAuth apps a user may own.
    pub max_apps_per_user: u32,
    pub default_grace_seconds: i64,
    pub max_grace_seconds: i64,
    /// Longest a token may live, in days; 0: no cap.
    pub max_token_lifetime_days: i64,
    /// Refuse tokens that never expire.
    pub require_token_expiry: bool,
    pub aging_after_days: i64,
    pub old_after_days: i64,
    pub session_idle_seconds: i64,
    pub session_absolute_seconds: i64,
}

impl Default for CredentialsConfig {
    fn default() -> Self {
        let s = keyward_core::config::Settings::default();
        Self {
            max_tokens_per_user: s.max_tokens_per_user,
            max_apps_per_user: s.max_apps_per_user,
            default_grace_seconds: s.default_grace.whole_seconds(),
            max_grace_seconds: s.max_grace.whole_seconds(),
            max_token_lifetime_days: 0,
            require_token_expiry: false,
            aging_after_days: s.aging_after_days,
            old_after_days: s.old_after_days,
            session_idle_seconds: s.session_idle.whole_seconds(),
            session_absolute_seconds: s.session_absolute.whole_seconds(),
        }
    }
}
