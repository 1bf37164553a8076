//! Throttles on failed sign-ins, client authentications and credential
//! checks.

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default)]
pub struct LimitsConfig {
    /// Failed logins per username from one address within the window.
    pub login_failures_per_user: u32,
    /// Failed logins and client authentications per address.
    pub login_failures_per_ip: u32,
    /// Failed logins per username from all addresses together.
    pub login_failures_per_user_all_ips: u32,
    /// Failed credential checks (401s) per address, per instance.
    pub auth_failures_per_ip: u32,
    pub login_window_seconds: i64,
    /// Failed client authentications per OAuth client from one address.
    pub client_auth_failures: u32,
    /// Failed client authentications per OAuth client from all addresses.
    pub client_auth_failures_all_ips: u32,
}

impl Default for LimitsConfig {
    fn default() -> Self {
        let s = keyward_core::config::Settings::default();
        Self {
            login_failures_per_user: s.login_failures_per_user,
            login_failures_per_ip: s.login_failures_per_ip,
            login_failures_per_user_all_ips: s.login_failures_per_user_all_ips,
            auth_failures_per_ip: s.auth_failures_per_ip,
            login_window_seconds: s.login_window.whole_seconds(),
            client_auth_failures: s.client_failures,
            client_auth_failures_all_ips: s.client_failures_all_ips,
        }
    }
}
