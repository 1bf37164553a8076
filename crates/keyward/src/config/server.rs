//! The HTTP side: where `serve` listens, the public URL and what the web
//! layer needs (header names, limits, proxies, compatibility profiles).

use std::net::SocketAddr;
use std::time::Duration;

use anyhow::{Context, bail};
use axum::http::HeaderName;
use keyward_web::WebConfig;
use keyward_web::compat::Profiles;
use serde::{Deserialize, Serialize};

use super::parse::list;

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default)]
pub struct ServerConfig {
    /// Address `serve` listens on.
    pub listen: String,
    /// The URL users reach Keyward at (links in e-mails, OAuth issuer).
    /// Must be https unless it is a loopback address or
    /// `allow_insecure_public_url` is set (TLS may end at a proxy).
    pub public_url: Option<String>,
    /// Allow an http public_url on a non-loopback host (development only).
    pub allow_insecure_public_url: bool,
    /// Header names of the header-pair scheme.
    pub app_id_header: String,
    pub app_token_header: String,
    /// Serve `/metrics` without a credential (otherwise a bearer with the
    /// `metrics.read` scope is needed).
    pub metrics_public: bool,
    /// Largest accepted request body.
    pub max_body_bytes: usize,
    /// The longest a request may take to be answered, in seconds (then 503).
    pub request_timeout_seconds: u64,
    /// `text` or `json`.
    pub log_format: String,
    /// Compatibility profiles to switch on: `circularo`, `apinizer`.
    #[serde(deserialize_with = "list")]
    pub compat_profiles: Vec<String>,
    /// Proxies (CIDR blocks or addresses) whose `Forwarded` /
    /// `X-Forwarded-For` headers name the client.
    #[serde(deserialize_with = "list")]
    pub trusted_proxies: Vec<String>,
}

impl Default for ServerConfig {
    fn default() -> Self {
        Self {
            listen: "127.0.0.1:8080".into(),
            public_url: None,
            allow_insecure_public_url: false,
            app_id_header: "X-App-Id".into(),
            app_token_header: "X-App-Token".into(),
            metrics_public: false,
            max_body_bytes: 64 * 1024,
            request_timeout_seconds: 30,
            log_format: "text".into(),
            compat_profiles: Vec::new(),
            trusted_proxies: Vec::new(),
        }
    }
}

impl ServerConfig {
    pub(super) fn validate(&self) -> anyhow::Result<()> {
        self.listen_addr()?;
        self.web_config()?;
        if self
            .app_id_header
            .eq_ignore_ascii_case(&self.app_token_header)
        {
            bail!("app_id_header and app_token_header must differ");
        }
        if !matches!(self.log_format.as_str(), "text" | "json") {
            bail!("log_format must be text or json");
        }
        if !(1..=3600).contains(&self.request_timeout_seconds) {
            bail!("request_timeout_seconds must be between 1 and 3600");
        }
        if self.max_body_bytes < 1024 {
            bail!("max_body_bytes must be at least 1024");
        }
        Ok(())
    }

    pub fn listen_addr(&self) -> anyhow::Result<SocketAddr> {
        self.listen.parse().with_context(|| {
            format!(
                "listen: {:?} is not an address like 127.0.0.1:8080",
                self.listen
            )
        })
    }

    /// The OAuth issuer: `public_url`, or the listen address over http.
    pub fn issuer(&self) -> anyhow::Result<String> {
        let Some(public) = &self.public_url else {
            return Ok(format!("http://{}", self.listen));
        };
        let url = url::Url::parse(public)
            .with_context(|| format!("public_url: {public:?} is not a URL"))?;
        if url.query().is_some()
            || url.fragment().is_some()
            || !matches!(url.scheme(), "http" | "https")
        {
            bail!("public_url must be an http(s) URL without query or fragment");
        }
        let loopback = match url.host() {
            Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
            Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
            Some(url::Host::Domain(d)) => d == "localhost",
            None => false,
        };
        if url.scheme() != "https" && !loopback && !self.allow_insecure_public_url {
            bail!(
                "public_url must use https (OAuth requires TLS; it may end at a proxy); \
                 set allow_insecure_public_url = true only for development"
            );
        }
        Ok(public.trim_end_matches('/').to_owned())
    }

    /// The trusted proxies' networks; a bad entry is an error naming it.
    pub fn trusted_proxies(&self) -> anyhow::Result<Vec<ipnet::IpNet>> {
        keyward_web::extract::client_ip::parse_cidrs(
            self.trusted_proxies.iter().map(String::as_str),
        )
        .map_err(|e| anyhow::anyhow!("trusted_proxies: {e}"))
    }

    /// The compatibility profiles switched on; an unknown name is an error.
    pub fn compat(&self) -> anyhow::Result<Profiles> {
        Profiles::parse(self.compat_profiles.iter().map(String::as_str))
            .map_err(|e| anyhow::anyhow!("compat_profiles: {e}"))
    }

    /// What the web layer is built with.
    pub fn web_config(&self) -> anyhow::Result<WebConfig> {
        let header = |key: &str, name: &str| {
            HeaderName::try_from(name)
                .with_context(|| format!("{key}: {name:?} is not a valid header name"))
        };
        Ok(WebConfig {
            app_id_header: header("app_id_header", &self.app_id_header)?,
            app_token_header: header("app_token_header", &self.app_token_header)?,
            max_body_bytes: self.max_body_bytes,
            issuer: self.issuer()?,
            metrics_public: self.metrics_public,
            compat: self.compat()?,
            trusted_proxies: self.trusted_proxies()?,
            request_timeout: Duration::from_secs(self.request_timeout_seconds),
        })
    }
}
