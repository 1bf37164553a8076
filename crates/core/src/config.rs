//! The domain's settings: limits and timings the services obey. The binary
//! fills them from layered configuration; tests build them directly.

use time::Duration;

use crate::model::Backoff;

#[derive(Debug, Clone)]
pub struct Settings {
    /// Most active (not deactivated, not expired) API tokens a user may hold.
    pub max_tokens_per_user: u32,
    /// Grace period of a rotation when the request names none.
    pub default_grace: Duration,
    /// Longest grace period a rotation may ask for.
    pub max_grace: Duration,
    /// Longest a token may live (from now, at creation, renewal, rotation
    /// or a change of expiry); `None`: no cap. With a cap, "never expires"
    /// is refused.
    pub max_token_lifetime: Option<Duration>,
    /// Whether every token must have an expiry.
    pub require_token_expiry: bool,
    /// A token older than this many days is `aging`.
    pub aging_after_days: i64,
    /// A token older than this many days is `old`.
    pub old_after_days: i64,
    /// A session unused this long dies.
    pub session_idle: Duration,
    /// A session dies this long after login, used or not.
    pub session_absolute: Duration,
    /// Failed logins allowed per username from one client IP within
    /// `login_window`: a guesser is stopped, while the user can still sign
    /// in from anywhere else.
    pub login_failures_per_user: u32,
    /// Failed logins (and client authentications) allowed per client IP
    /// within `login_window`, whatever the username.
    pub login_failures_per_ip: u32,
    /// Failed logins allowed per username from all addresses together
    /// within `login_window`: much higher than the per-address limit, so that
    /// nobody can lock a user out cheaply, yet a guesser with many addresses
    /// is stopped too.
    pub login_failures_per_user_all_ips: u32,
    /// Failed credential checks (401s) allowed per client IP within
    /// `login_window`, counted per instance.
    pub auth_failures_per_ip: u32,
    pub login_window: Duration,
    /// Most OAuth apps a user may own.
    pub max_apps_per_user: u32,
    /// Lifetime of an OAuth access token.
    pub access_token_ttl: Duration,
    /// Lifetime of an OAuth refresh token (each use issues a new one).
    pub refresh_token_ttl: Duration,
    /// Lifetime of an authorization code.
    pub code_ttl: Duration,
    /// Failed client authentications allowed per client id from one client
    /// IP within `login_window` before the token endpoint answers 429.
    pub client_failures: u32,
    /// Failed client authentications allowed per client id from all
    /// addresses together within `login_window`.
    pub client_failures_all_ips: u32,
    /// The issuer URL (RFC 8414), without a trailing slash.
    pub issuer: String,
    /// How long audit events are kept.
    pub audit_retention: Duration,
    /// How long a renewal key may be redeemed.
    pub renewal_key_ttl: Duration,
    /// How long after a callback whose key was not redeemed a new one
    /// (with a new key) follows.
    pub renewal_retry_after: Duration,
    /// How long the old secret keeps working after a redemption.
    pub renewal_overlap: Duration,
    /// When a failed delivery is first retried (each next retry twice as
    /// late).
    pub delivery_retry_base: Duration,
    /// Attempts of one message before it is failed.
    pub delivery_max_attempts: u32,
    /// How long a worker's claim on a message lasts.
    pub delivery_claim: Duration,
    /// Days before expiry at which owners get a notice, nearest last.
    pub expiry_notice_days: Vec<u32>,
    /// Whether e-mail is configured; without it no mail is queued.
    pub mail_enabled: bool,
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            max_tokens_per_user: 10,
            default_grace: Duration::days(7),
            max_grace: Duration::days(30),
            max_token_lifetime: None,
            require_token_expiry: false,
            aging_after_days: 180,
            old_after_days: 365,
            session_idle: Duration::hours(12),
            session_absolute: Duration::days(7),
            login_failures_per_user: 5,
            login_failures_per_ip: 50,
            login_failures_per_user_all_ips: 100,
            auth_failures_per_ip: 100,
            login_window: Duration::minutes(15),
            max_apps_per_user: 10,
            access_token_ttl: Duration::hours(1),
            refresh_token_ttl: Duration::days(30),
            code_ttl: Duration::seconds(60),
            client_failures: 10,
            client_failures_all_ips: 100,
            issuer: "http://127.0.0.1:8080".into(),
            audit_retention: Duration::days(400),
            renewal_key_ttl: Duration::hours(2),
            renewal_retry_after: Duration::hours(24),
            renewal_overlap: Duration::hours(24),
            delivery_retry_base: Duration::seconds(30),
            delivery_max_attempts: 12,
            delivery_claim: Duration::seconds(60),
            expiry_notice_days: vec![7, 1],
            mail_enabled: false,
        }
    }
}

impl Settings {
    /// The retry schedule of deliveries.
    pub fn backoff(&self) -> Backoff {
        Backoff {
            base: self.delivery_retry_base,
            cap: crate::model::outbox::BACKOFF_CAP,
            max_attempts: self.delivery_max_attempts,
        }
    }
}
