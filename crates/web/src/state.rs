//! The state every handler shares.

use std::ops::Deref;
use std::sync::Arc;

use axum::http::HeaderName;
use keyward_core::service::Keyward;

use crate::compat::Profiles;
use crate::metrics::Metrics;

/// Settings of the HTTP layer itself.
#[derive(Debug, Clone)]
pub struct WebConfig {
    /// Header carrying the credential id in the header-pair scheme.
    pub app_id_header: HeaderName,
    /// Header carrying the secret in the header-pair scheme.
    pub app_token_header: HeaderName,
    /// Largest accepted request body, in bytes.
    pub max_body_bytes: usize,
    /// The OAuth issuer: the URL users reach Keyward at, without a trailing
    /// slash.
    pub issuer: String,
    /// Serve `/metrics` to anyone, not only to `metrics.read` bearers.
    pub metrics_public: bool,
    /// The compatibility profiles switched on.
    pub compat: Profiles,
    /// Proxies whose `Forwarded` / `X-Forwarded-For` headers are believed.
    pub trusted_proxies: Vec<ipnet::IpNet>,
    /// The longest a request may take to be answered (then 503).
    pub request_timeout: std::time::Duration,
}

impl Default for WebConfig {
    fn default() -> Self {
        Self {
            app_id_header: HeaderName::from_static("x-app-id"),
            app_token_header: HeaderName::from_static("x-app-token"),
            max_body_bytes: 64 * 1024,
            issuer: "http://127.0.0.1:8080".into(),
            metrics_public: false,
            compat: Profiles::default(),
            trusted_proxies: Vec::new(),
            request_timeout: std::time::Duration::from_secs(30),
        }
    }
}

/// What every handler reaches through its `State` extractor. Cloned once
/// per request or more (each extractor that needs it takes a copy), so it is
/// one shared allocation: a clone is one reference count, not a copy of the
/// issuer string and the header names.
#[derive(Clone)]
pub struct AppState(Arc<Shared>);

/// The fields of [`AppState`].
pub struct Shared {
    pub keyward: Keyward,
    pub app_id_header: HeaderName,
    pub app_token_header: HeaderName,
    pub metrics: Metrics,
    pub issuer: String,
    /// Cookies get `Secure` when Keyward is reached over https.
    pub secure_cookies: bool,
    /// The issuer's origin (`scheme://host[:port]`): what a browser's
    /// `Origin` header says on a form posted from Keyward's own pages.
    pub origin: String,
    pub metrics_public: bool,
    pub compat: Profiles,
    pub trusted_proxies: Vec<ipnet::IpNet>,
}

impl AppState {
    pub fn new(keyward: Keyward, config: &WebConfig) -> Self {
        Self(Arc::new(Shared {
            keyward,
            app_id_header: config.app_id_header.clone(),
            app_token_header: config.app_token_header.clone(),
            metrics: Metrics::new(),
            issuer: config.issuer.clone(),
            secure_cookies: config.issuer.starts_with("https://"),
            origin: url::Url::parse(&config.issuer)
                .map(|u| u.origin().ascii_serialization())
                .unwrap_or_default(),
            metrics_public: config.metrics_public,
            compat: config.compat,
            trusted_proxies: config.trusted_proxies.clone(),
        }))
    }
}

impl Deref for AppState {
    type Target = Shared;

    fn deref(&self) -> &Shared {
        &self.0
    }
}
