//! Configuration, layered: built-in defaults, then an optional TOML file
//! (`--config`), then `KEYWARD_*` environment variables. Unknown keys are an
//! error everywhere, so a typo never silently falls back to a default.
//! `keyward.example.toml` documents every key.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use anyhow::{Context, bail};
use figment::Figment;
use figment::providers::{Env, Format, Serialized, Toml};
use keyward_core::config::Settings;
use keyward_core::scope::{Policy, ScopeDef};
use keyward_core::service::CacheSettings;
use keyward_web::compat::Profiles;
use serde::{Deserialize, Deserializer, Serialize};
use time::Duration;

/// The default database: a SQLite file under `./keyward-data/`.
pub const DEFAULT_DATABASE_URL: &str = "sqlite://keyward-data/keyward.db";

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Config {
    /// Address `serve` listens on.
    pub listen: String,
    /// `sqlite://…` or `postgres://…`.
    pub database_url: String,
    /// Size of the database connection pool.
    pub database_max_connections: u32,
    /// The URL users reach Keyward at (links in e-mails, OAuth issuer).
    /// Must be https unless it is a loopback address or
    /// `allow_insecure_public_url` is set (TLS may end at a proxy).
    pub public_url: Option<String>,
    /// Allow an http public_url on a non-loopback host (development only).
    pub allow_insecure_public_url: bool,
    /// Extra scopes, comma-separated or a list.
    #[serde(deserialize_with = "list")]
    pub scopes: Vec<String>,
    /// Scope name → description, shown in forms and consent pages.
    pub scope_descriptions: BTreeMap<String, String>,
    /// Extra scopes that only `admin` gets by default.
    #[serde(deserialize_with = "list")]
    pub admin_only_scopes: Vec<String>,
    /// Named targets a token may be restricted to.
    #[serde(deserialize_with = "list")]
    pub applications: Vec<String>,
    /// Role name → allowed scopes (`admin` and `member` are built in).
    #[serde(deserialize_with = "role_map")]
    pub roles: BTreeMap<String, Vec<String>>,
    /// SMTP server for notices, e.g. `smtp://127.0.0.1:2525`.
    pub smtp_url: Option<String>,
    pub mail_from: Option<String>,
    /// The server key (hex or text of at least 32 bytes).
    #[serde(deserialize_with = "opt_string")]
    pub secret_key: Option<String>,
    /// A file holding the server key.
    pub secret_key_file: Option<PathBuf>,
    /// Header names of the header-pair scheme.
    pub app_id_header: String,
    pub app_token_header: String,
    pub max_tokens_per_user: u32,
    /// OAuth apps a user may own.
    pub max_apps_per_user: u32,
    /// Lifetimes of OAuth access tokens, refresh tokens and authorization
    /// codes, in seconds.
    pub access_token_ttl_seconds: i64,
    pub refresh_token_ttl_seconds: i64,
    pub authorization_code_ttl_seconds: i64,
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
    /// Serve `/metrics` without a credential (otherwise a bearer with the
    /// `metrics.read` scope is needed).
    pub metrics_public: bool,
    /// How often recorded token uses are written to the store.
    pub usage_flush_seconds: u64,
    /// Largest accepted request body.
    pub max_body_bytes: usize,
    /// The longest a request may take to be answered, in seconds (then 503).
    pub request_timeout_seconds: u64,
    /// Credential checks kept in memory (0 turns the cache off).
    pub cache_capacity: usize,
    /// Longest a cached answer is used, in seconds. Changes are pushed to
    /// every instance at once; this only bounds a missed notification.
    pub cache_ttl_seconds: i64,
    /// `text` or `json`.
    pub log_format: String,
    /// How long audit events are kept, in days.
    pub audit_retention_days: i64,
    /// Compatibility profiles to switch on: `circularo`, `apinizer`.
    #[serde(deserialize_with = "list")]
    pub compat_profiles: Vec<String>,
    /// Proxies (CIDR blocks or addresses) whose `Forwarded` /
    /// `X-Forwarded-For` headers name the client.
    #[serde(deserialize_with = "list")]
    pub trusted_proxies: Vec<String>,
}

impl Default for Config {
    fn default() -> Self {
        let s = Settings::default();
        Self {
            listen: "127.0.0.1:8080".into(),
            database_url: DEFAULT_DATABASE_URL.into(),
            database_max_connections: 8,
            public_url: None,
            allow_insecure_public_url: false,
            scopes: Vec::new(),
            scope_descriptions: BTreeMap::new(),
            admin_only_scopes: Vec::new(),
            applications: Vec::new(),
            roles: BTreeMap::new(),
            smtp_url: None,
            mail_from: None,
            secret_key: None,
            secret_key_file: None,
            app_id_header: "X-App-Id".into(),
            app_token_header: "X-App-Token".into(),
            max_tokens_per_user: s.max_tokens_per_user,
            max_apps_per_user: s.max_apps_per_user,
            access_token_ttl_seconds: s.access_token_ttl.whole_seconds(),
            refresh_token_ttl_seconds: s.refresh_token_ttl.whole_seconds(),
            authorization_code_ttl_seconds: s.code_ttl.whole_seconds(),
            default_grace_seconds: s.default_grace.whole_seconds(),
            max_grace_seconds: s.max_grace.whole_seconds(),
            max_token_lifetime_days: 0,
            require_token_expiry: false,
            aging_after_days: s.aging_after_days,
            old_after_days: s.old_after_days,
            session_idle_seconds: s.session_idle.whole_seconds(),
            session_absolute_seconds: s.session_absolute.whole_seconds(),
            login_failures_per_user: s.login_failures_per_user,
            login_failures_per_ip: s.login_failures_per_ip,
            login_failures_per_user_all_ips: s.login_failures_per_user_all_ips,
            auth_failures_per_ip: s.auth_failures_per_ip,
            login_window_seconds: s.login_window.whole_seconds(),
            client_auth_failures: s.client_failures,
            client_auth_failures_all_ips: s.client_failures_all_ips,
            metrics_public: false,
            usage_flush_seconds: 10,
            max_body_bytes: 64 * 1024,
            request_timeout_seconds: 30,
            cache_capacity: CacheSettings::default().capacity,
            cache_ttl_seconds: CacheSettings::default().ttl.whole_seconds(),
            log_format: "text".into(),
            audit_retention_days: 400,
            compat_profiles: Vec::new(),
            trusted_proxies: Vec::new(),
        }
    }
}

impl Config {
    /// Defaults, then `file` (if any), then the `KEYWARD_*` environment.
    pub fn load(file: Option<&Path>) -> anyhow::Result<Self> {
        let mut figment = Figment::from(Serialized::defaults(Config::default()));
        if let Some(file) = file {
            if !file.exists() {
                bail!("config file {} does not exist", file.display());
            }
            figment = figment.merge(Toml::file_exact(file));
        }
        figment = figment.merge(Env::prefixed("KEYWARD_").split("__"));
        let config: Config = figment.extract().map_err(|e| anyhow::anyhow!(flatten(e)))?;
        config.validate()?;
        Ok(config)
    }

    /// Checks what serde cannot: addresses, ranges, names, the policy.
    pub fn validate(&self) -> anyhow::Result<()> {
        self.listen_addr()?;
        self.policy()?;
        self.settings()?;
        for (key, name) in [
            ("app_id_header", &self.app_id_header),
            ("app_token_header", &self.app_token_header),
        ] {
            axum_header(name)
                .with_context(|| format!("{key}: {name:?} is not a valid header name"))?;
        }
        if self
            .app_id_header
            .eq_ignore_ascii_case(&self.app_token_header)
        {
            bail!("app_id_header and app_token_header must differ");
        }
        self.issuer()?;
        if let Some(url) = &self.smtp_url {
            url::Url::parse(url).with_context(|| format!("smtp_url: {url:?} is not a URL"))?;
        }
        self.compat()?;
        self.trusted_proxies()?;
        if !matches!(self.log_format.as_str(), "text" | "json") {
            bail!("log_format must be text or json");
        }
        if self.database_max_connections == 0 {
            bail!("database_max_connections must be at least 1");
        }
        if self.usage_flush_seconds == 0 || self.usage_flush_seconds > 60 {
            bail!("usage_flush_seconds must be between 1 and 60 (last use is visible within 60 s)");
        }
        if !(1..=3600).contains(&self.cache_ttl_seconds) {
            bail!("cache_ttl_seconds must be between 1 and 3600");
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

    pub fn policy(&self) -> anyhow::Result<Policy> {
        for name in self
            .scope_descriptions
            .keys()
            .chain(&self.admin_only_scopes)
        {
            if !self.scopes.contains(name) {
                bail!("scope {name:?} is described or marked admin-only but not listed in scopes");
            }
        }
        let extra = self
            .scopes
            .iter()
            .map(|name| ScopeDef {
                name: name.clone(),
                description: self
                    .scope_descriptions
                    .get(name)
                    .cloned()
                    .unwrap_or_default(),
                admin_only: self.admin_only_scopes.contains(name),
            })
            .collect();
        Policy::new(extra, self.roles.clone(), self.applications.clone())
            .map_err(|e| anyhow::anyhow!(e))
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

    pub fn cache_settings(&self) -> CacheSettings {
        let ttl = Duration::seconds(self.cache_ttl_seconds);
        CacheSettings {
            capacity: self.cache_capacity,
            ttl,
            negative_ttl: ttl,
        }
    }

    pub fn settings(&self) -> anyhow::Result<Settings> {
        let positive = |key: &str, v: i64| {
            if v > 0 {
                Ok(v)
            } else {
                bail!("{key} must be positive")
            }
        };
        if self.max_tokens_per_user == 0 {
            bail!("max_tokens_per_user must be at least 1");
        }
        if self.default_grace_seconds < 0 || self.default_grace_seconds > self.max_grace_seconds {
            bail!("default_grace_seconds must be between 0 and max_grace_seconds");
        }
        if self.aging_after_days >= self.old_after_days {
            bail!("aging_after_days must be less than old_after_days");
        }
        Ok(Settings {
            max_tokens_per_user: self.max_tokens_per_user,
            default_grace: Duration::seconds(self.default_grace_seconds),
            max_grace: Duration::seconds(positive("max_grace_seconds", self.max_grace_seconds)?),
            max_token_lifetime: match self.max_token_lifetime_days {
                0 => None,
                days if (1..=36_500).contains(&days) => Some(Duration::days(days)),
                _ => bail!("max_token_lifetime_days must be between 0 (no cap) and 36500"),
            },
            require_token_expiry: self.require_token_expiry,
            aging_after_days: positive("aging_after_days", self.aging_after_days)?,
            old_after_days: positive("old_after_days", self.old_after_days)?,
            session_idle: Duration::seconds(positive(
                "session_idle_seconds",
                self.session_idle_seconds,
            )?),
            session_absolute: Duration::seconds(positive(
                "session_absolute_seconds",
                self.session_absolute_seconds,
            )?),
            login_failures_per_user: self.login_failures_per_user.max(1),
            login_failures_per_ip: self.login_failures_per_ip.max(1),
            login_failures_per_user_all_ips: self.login_failures_per_user_all_ips.max(1),
            auth_failures_per_ip: self.auth_failures_per_ip.max(1),
            login_window: Duration::seconds(positive(
                "login_window_seconds",
                self.login_window_seconds,
            )?),
            max_apps_per_user: self.max_apps_per_user.max(1),
            access_token_ttl: Duration::seconds(positive(
                "access_token_ttl_seconds",
                self.access_token_ttl_seconds,
            )?),
            refresh_token_ttl: Duration::seconds(positive(
                "refresh_token_ttl_seconds",
                self.refresh_token_ttl_seconds,
            )?),
            // RFC 6749 §4.1.2: at most 10 minutes.
            code_ttl: Duration::seconds(
                positive(
                    "authorization_code_ttl_seconds",
                    self.authorization_code_ttl_seconds,
                )?
                .min(600),
            ),
            client_failures: self.client_auth_failures.max(1),
            client_failures_all_ips: self.client_auth_failures_all_ips.max(1),
            issuer: self.issuer()?,
            audit_retention: Duration::days(positive(
                "audit_retention_days",
                self.audit_retention_days,
            )?),
        })
    }
}

fn axum_header(name: &str) -> anyhow::Result<axum::http::HeaderName> {
    Ok(axum::http::HeaderName::try_from(name)?)
}

fn flatten(err: figment::Error) -> String {
    err.into_iter()
        .map(|e| e.to_string())
        .collect::<Vec<_>>()
        .join("; ")
}

/// A list given as a TOML array or a comma-separated string (environment).
fn list<'de, D: Deserializer<'de>>(de: D) -> Result<Vec<String>, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Raw {
        Text(String),
        List(Vec<String>),
    }
    Ok(match Raw::deserialize(de)? {
        Raw::Text(text) => split_list(&text),
        Raw::List(items) => items
            .into_iter()
            .map(|s| s.trim().to_owned())
            .filter(|s| !s.is_empty())
            .collect(),
    })
}

fn split_list(text: &str) -> Vec<String> {
    text.split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
        .collect()
}

fn role_map<'de, D: Deserializer<'de>>(de: D) -> Result<BTreeMap<String, Vec<String>>, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Raw {
        Text(String),
        List(Vec<String>),
    }
    let raw = BTreeMap::<String, Raw>::deserialize(de)?;
    Ok(raw
        .into_iter()
        .map(|(role, scopes)| {
            let scopes = match scopes {
                Raw::Text(t) => split_list(&t),
                Raw::List(l) => l,
            };
            (role, scopes)
        })
        .collect())
}

/// A string that the environment layer may have read as a number.
fn opt_string<'de, D: Deserializer<'de>>(de: D) -> Result<Option<String>, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Raw {
        Text(String),
        Int(i128),
        Float(f64),
    }
    Ok(Option::<Raw>::deserialize(de)?.map(|r| match r {
        Raw::Text(t) => t,
        Raw::Int(i) => i.to_string(),
        Raw::Float(f) => f.to_string(),
    }))
}

#[cfg(test)]
// figment's test jail returns its own (large) error type.
#[allow(clippy::result_large_err)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_valid() {
        Config::default().validate().unwrap();
    }

    #[test]
    fn unknown_keys_are_errors() {
        figment::Jail::expect_with(|jail| {
            jail.create_file("k.toml", "listen = \"127.0.0.1:1\"\nlisten_port = 3\n")?;
            let err = Config::load(Some(Path::new("k.toml")))
                .unwrap_err()
                .to_string();
            assert!(err.contains("listen_port"), "{err}");
            Ok(())
        });
        figment::Jail::expect_with(|jail| {
            jail.set_env("KEYWARD_NO_SUCH_KEY", "1");
            assert!(Config::load(None).is_err());
            Ok(())
        });
    }

    #[test]
    fn environment_overrides_file_and_lists_split_on_commas() {
        figment::Jail::expect_with(|jail| {
            jail.create_file(
                "k.toml",
                "scopes = [\"a.read\"]\nmax_tokens_per_user = 3\n[roles]\nreader = [\"a.read\"]\n",
            )?;
            jail.set_env("KEYWARD_SCOPES", "a.read, a.write");
            jail.set_env("KEYWARD_APP_ID_HEADER", "X-Plntr-App-Id");
            jail.set_env(
                "KEYWARD_SECRET_KEY",
                "1234567890123456789012345678901234567890",
            );
            let c = Config::load(Some(Path::new("k.toml"))).unwrap();
            assert_eq!(c.scopes, ["a.read", "a.write"]);
            assert_eq!(c.max_tokens_per_user, 3);
            assert_eq!(c.app_id_header, "X-Plntr-App-Id");
            assert_eq!(c.roles["reader"], ["a.read"]);
            assert_eq!(
                c.secret_key.as_deref(),
                Some("1234567890123456789012345678901234567890")
            );
            Ok(())
        });
    }

    #[test]
    fn the_issuer_must_be_https_unless_loopback_or_allowed() {
        let with = |url: &str, allow: bool| Config {
            public_url: Some(url.into()),
            allow_insecure_public_url: allow,
            ..Config::default()
        };
        assert_eq!(
            with("https://keys.example.com/", false).issuer().unwrap(),
            "https://keys.example.com"
        );
        assert!(with("http://keys.example.com", false).validate().is_err());
        assert!(with("http://keys.example.com", true).validate().is_ok());
        assert!(with("http://127.0.0.1:8080", false).validate().is_ok());
        assert!(
            with("https://keys.example.com/?x=1", false)
                .validate()
                .is_err()
        );
        assert_eq!(Config::default().issuer().unwrap(), "http://127.0.0.1:8080");
    }

    #[test]
    fn bad_values_are_refused_with_the_key_named() {
        let c = Config {
            listen: "nowhere".into(),
            ..Config::default()
        };
        assert!(c.validate().unwrap_err().to_string().contains("listen"));
        let c = Config {
            roles: BTreeMap::from([("r".into(), vec!["ghost".into()])]),
            ..Config::default()
        };
        assert!(c.validate().unwrap_err().to_string().contains("ghost"));
    }
}
