//! Configuration, layered: built-in defaults, then an optional TOML file
//! (`--config`), then `KEYWARD_*` environment variables. Unknown keys are an
//! error everywhere, so a typo never silently falls back to a default.
//! `keyward.example.toml` documents every key.
//!
//! The keys are flat (`listen`, `smtp_url`, …, and `KEYWARD_LISTEN`, …) and
//! grouped by concern into one section type per file; a section's fields
//! appear at the top level of the file and the environment.

mod cache;
mod credentials;
mod database;
mod jobs;
mod limits;
mod mail;
mod oauth;
mod parse;
mod renewal;
mod scopes;
mod server;
mod webhooks;

use std::collections::BTreeSet;
use std::path::Path;

use anyhow::bail;
use figment::Figment;
use figment::providers::{Env, Format, Serialized, Toml};
use keyward_core::config::Settings;
use serde::{Deserialize, Serialize};
use time::Duration;

pub use cache::CacheConfig;
pub use credentials::CredentialsConfig;
pub use database::{AccessTokenCommit, DEFAULT_DATABASE_URL, DatabaseConfig, SqliteLocking};
pub use jobs::JobsConfig;
pub use limits::LimitsConfig;
pub use mail::{MailConfig, StartTls};
pub use oauth::OAuthConfig;
pub use renewal::RenewalConfig;
pub use scopes::ScopesConfig;
pub use server::ServerConfig;
pub use webhooks::WebhooksConfig;

/// Every setting, by concern.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Config {
    #[serde(flatten)]
    pub server: ServerConfig,
    #[serde(flatten)]
    pub database: DatabaseConfig,
    #[serde(flatten)]
    pub scopes: ScopesConfig,
    #[serde(flatten)]
    pub credentials: CredentialsConfig,
    #[serde(flatten)]
    pub oauth: OAuthConfig,
    #[serde(flatten)]
    pub limits: LimitsConfig,
    #[serde(flatten)]
    pub cache: CacheConfig,
    #[serde(flatten)]
    pub mail: MailConfig,
    #[serde(flatten)]
    pub jobs: JobsConfig,
    #[serde(flatten)]
    pub renewal: RenewalConfig,
    #[serde(flatten)]
    pub webhooks: WebhooksConfig,
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
        let given: figment::value::Dict =
            figment.extract().map_err(|e| anyhow::anyhow!(flatten(e)))?;
        let known = Self::keys();
        let unknown: Vec<&str> = given
            .keys()
            .map(String::as_str)
            .filter(|key| !known.contains(*key))
            .collect();
        if !unknown.is_empty() {
            bail!("unknown configuration key(s): {}", unknown.join(", "));
        }
        // Section by section: through `#[serde(flatten)]` a bad value's
        // error would lose the key it came from.
        let section = |e| anyhow::anyhow!(flatten(e));
        let config = Config {
            server: figment.extract().map_err(section)?,
            database: figment.extract().map_err(section)?,
            scopes: figment.extract().map_err(section)?,
            credentials: figment.extract().map_err(section)?,
            oauth: figment.extract().map_err(section)?,
            limits: figment.extract().map_err(section)?,
            cache: figment.extract().map_err(section)?,
            mail: figment.extract().map_err(section)?,
            jobs: figment.extract().map_err(section)?,
            renewal: figment.extract().map_err(section)?,
            webhooks: figment.extract().map_err(section)?,
        };
        config.validate()?;
        Ok(config)
    }

    /// Every key a file or the environment may set. (Sections are
    /// flattened, which serde cannot combine with `deny_unknown_fields`;
    /// this is the same check, made on the merged layers.)
    pub fn keys() -> BTreeSet<String> {
        match serde_json::to_value(Config::default()) {
            Ok(serde_json::Value::Object(map)) => map.keys().cloned().collect(),
            _ => BTreeSet::new(),
        }
    }

    /// Checks what serde cannot: addresses, ranges, names, the policy.
    pub fn validate(&self) -> anyhow::Result<()> {
        self.server.validate()?;
        self.database.validate()?;
        self.scopes.policy()?;
        self.cache.validate()?;
        self.mail.validate()?;
        self.jobs.validate()?;
        self.settings()?;
        Ok(())
    }

    /// The service's settings, from the credential, OAuth and limit
    /// sections.
    pub fn settings(&self) -> anyhow::Result<Settings> {
        let positive = |key: &str, v: i64| {
            if v > 0 {
                Ok(v)
            } else {
                bail!("{key} must be positive")
            }
        };
        let c = &self.credentials;
        let o = &self.oauth;
        let l = &self.limits;
        if c.max_tokens_per_user == 0 {
            bail!("max_tokens_per_user must be at least 1");
        }
        if c.default_grace_seconds < 0 || c.default_grace_seconds > c.max_grace_seconds {
            bail!("default_grace_seconds must be between 0 and max_grace_seconds");
        }
        if c.aging_after_days >= c.old_after_days {
            bail!("aging_after_days must be less than old_after_days");
        }
        Ok(Settings {
            max_tokens_per_user: c.max_tokens_per_user,
            default_grace: Duration::seconds(c.default_grace_seconds),
            max_grace: Duration::seconds(positive("max_grace_seconds", c.max_grace_seconds)?),
            max_token_lifetime: match c.max_token_lifetime_days {
                0 => None,
                days if (1..=36_500).contains(&days) => Some(Duration::days(days)),
                _ => bail!("max_token_lifetime_days must be between 0 (no cap) and 36500"),
            },
            require_token_expiry: c.require_token_expiry,
            aging_after_days: positive("aging_after_days", c.aging_after_days)?,
            old_after_days: positive("old_after_days", c.old_after_days)?,
            session_idle: Duration::seconds(positive(
                "session_idle_seconds",
                c.session_idle_seconds,
            )?),
            session_absolute: Duration::seconds(positive(
                "session_absolute_seconds",
                c.session_absolute_seconds,
            )?),
            login_failures_per_user: l.login_failures_per_user.max(1),
            login_failures_per_ip: l.login_failures_per_ip.max(1),
            login_failures_per_user_all_ips: l.login_failures_per_user_all_ips.max(1),
            auth_failures_per_ip: l.auth_failures_per_ip.max(1),
            login_window: Duration::seconds(positive(
                "login_window_seconds",
                l.login_window_seconds,
            )?),
            max_apps_per_user: c.max_apps_per_user.max(1),
            access_token_ttl: Duration::seconds(positive(
                "access_token_ttl_seconds",
                o.access_token_ttl_seconds,
            )?),
            refresh_token_ttl: Duration::seconds(positive(
                "refresh_token_ttl_seconds",
                o.refresh_token_ttl_seconds,
            )?),
            // RFC 6749 §4.1.2: at most 10 minutes.
            code_ttl: Duration::seconds(
                positive(
                    "authorization_code_ttl_seconds",
                    o.authorization_code_ttl_seconds,
                )?
                .min(600),
            ),
            client_failures: l.client_auth_failures.max(1),
            client_failures_all_ips: l.client_auth_failures_all_ips.max(1),
            issuer: self.server.issuer()?,
            audit_retention: Duration::days(positive(
                "audit_retention_days",
                self.database.audit_retention_days,
            )?),
            renewal_key_ttl: Duration::seconds(positive(
                "renewal_key_ttl_seconds",
                self.renewal.renewal_key_ttl_seconds,
            )?),
            renewal_retry_after: Duration::seconds(positive(
                "renewal_retry_after_seconds",
                self.renewal.renewal_retry_after_seconds,
            )?),
            renewal_overlap: Duration::seconds(positive(
                "renewal_overlap_seconds",
                self.renewal.renewal_overlap_seconds,
            )?),
            delivery_retry_base: Duration::seconds(positive(
                "delivery_retry_base_seconds",
                self.jobs.delivery_retry_base_seconds,
            )?),
            delivery_max_attempts: self.jobs.delivery_max_attempts.max(1),
            delivery_claim: Duration::seconds(positive(
                "delivery_claim_seconds",
                self.jobs.delivery_claim_seconds,
            )?),
            expiry_notice_days: self.mail.expiry_notice_days.clone(),
            mail_enabled: self.mail.enabled(),
        })
    }
}

fn flatten(err: figment::Error) -> String {
    err.into_iter()
        .map(|e| e.to_string())
        .collect::<Vec<_>>()
        .join("; ")
}

#[cfg(test)]
// figment's test jail returns its own (large) error type.
#[allow(clippy::result_large_err)]
mod tests {
    use std::collections::BTreeMap;

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
            assert_eq!(c.scopes.scopes, ["a.read", "a.write"]);
            assert_eq!(c.credentials.max_tokens_per_user, 3);
            assert_eq!(c.server.app_id_header, "X-Plntr-App-Id");
            assert_eq!(c.scopes.roles["reader"], ["a.read"]);
            assert_eq!(
                c.database.secret_key.as_deref(),
                Some("1234567890123456789012345678901234567890")
            );
            Ok(())
        });
    }

    #[test]
    fn the_issuer_must_be_https_unless_loopback_or_allowed() {
        let with = |url: &str, allow: bool| {
            let mut c = Config::default();
            c.server.public_url = Some(url.into());
            c.server.allow_insecure_public_url = allow;
            c
        };
        assert_eq!(
            with("https://keys.example.com/", false)
                .server
                .issuer()
                .unwrap(),
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
        assert_eq!(
            Config::default().server.issuer().unwrap(),
            "http://127.0.0.1:8080"
        );
    }

    #[test]
    fn every_section_key_is_known() {
        let keys = Config::keys();
        for key in [
            "listen",
            "database_url",
            "scopes",
            "max_grace_seconds",
            "smtp_url",
            "login_window_seconds",
            "cache_ttl_seconds",
            "access_token_ttl_seconds",
            "public_url",
            "secret_key",
            "trusted_proxies",
            "jobs_poll_seconds",
            "delivery_claim_seconds",
            "renewal_overlap_seconds",
            "webhook_allow_private_targets",
            "expiry_notice_days",
            "access_token_commit",
            "sqlite_locking",
        ] {
            assert!(keys.contains(key), "{key}");
        }
    }

    #[test]
    fn bad_values_are_refused_with_the_key_named() {
        let mut c = Config::default();
        c.server.listen = "nowhere".into();
        assert!(c.validate().unwrap_err().to_string().contains("listen"));
        let mut c = Config::default();
        c.scopes.roles = BTreeMap::from([("r".into(), vec!["ghost".into()])]);
        assert!(c.validate().unwrap_err().to_string().contains("ghost"));
    }

    #[test]
    fn access_token_commit_is_async_unless_set_durable() {
        assert_eq!(
            Config::default().database.access_token_commit,
            AccessTokenCommit::Async
        );
        figment::Jail::expect_with(|jail| {
            jail.set_env("KEYWARD_ACCESS_TOKEN_COMMIT", "durable");
            let c = Config::load(None).unwrap();
            assert_eq!(c.database.access_token_commit, AccessTokenCommit::Durable);
            jail.set_env("KEYWARD_ACCESS_TOKEN_COMMIT", "sometimes");
            let err = Config::load(None).unwrap_err().to_string();
            assert!(err.contains("ACCESS_TOKEN_COMMIT"), "{err}");
            Ok(())
        });
        figment::Jail::expect_with(|jail| {
            jail.create_file("k.toml", "access_token_commit = \"sometimes\"\n")?;
            let err = Config::load(Some(Path::new("k.toml")))
                .unwrap_err()
                .to_string();
            assert!(err.contains("access_token_commit"), "{err}");
            assert!(err.contains("k.toml"), "{err}");
            Ok(())
        });
    }

    #[test]
    fn sqlite_locking_is_shared_unless_set_exclusive() {
        assert_eq!(
            Config::default().database.sqlite_locking,
            SqliteLocking::Shared
        );
        figment::Jail::expect_with(|jail| {
            jail.set_env("KEYWARD_SQLITE_LOCKING", "exclusive");
            let c = Config::load(None).unwrap();
            assert_eq!(c.database.sqlite_locking, SqliteLocking::Exclusive);
            jail.set_env("KEYWARD_SQLITE_LOCKING", "private");
            let err = Config::load(None).unwrap_err().to_string();
            assert!(err.contains("SQLITE_LOCKING"), "{err}");
            Ok(())
        });
    }

    #[test]
    fn starttls_is_required_with_credentials_unless_set_otherwise() {
        let mail = |url: &str, starttls| MailConfig {
            smtp_url: Some(url.into()),
            smtp_starttls: starttls,
            ..MailConfig::default()
        };
        assert!(mail("smtp://u:p@relay:587", None).requires_starttls());
        assert!(mail("smtp://u@relay:587", None).requires_starttls());
        assert!(!mail("smtp://relay:25", None).requires_starttls());
        assert!(mail("smtp://relay:25", Some(StartTls::Required)).requires_starttls());
        assert!(!mail("smtp://u:p@relay:587", Some(StartTls::Opportunistic)).requires_starttls());
    }

    #[test]
    fn the_smtp_ca_file_must_hold_a_certificate() {
        figment::Jail::expect_with(|jail| {
            jail.create_file("not-a-cert.pem", "hello")?;
            let mut c = Config::default();
            c.mail.smtp_ca_file = Some("missing.pem".into());
            let err = c.validate().unwrap_err().to_string();
            assert!(err.contains("smtp_ca_file"), "{err}");
            c.mail.smtp_ca_file = Some("not-a-cert.pem".into());
            let err = c.validate().unwrap_err().to_string();
            assert!(
                err.contains("smtp_ca_file") && err.contains("no PEM"),
                "{err}"
            );
            jail.create_file(
                "relay-ca.pem",
                "-----BEGIN CERTIFICATE-----\nMA==\n-----END CERTIFICATE-----\n",
            )?;
            jail.set_env("KEYWARD_SMTP_CA_FILE", "relay-ca.pem");
            let c = Config::load(None).map_err(|e| e.to_string())?;
            assert_eq!(c.mail.smtp_ca_file, Some("relay-ca.pem".into()));
            c.validate().map_err(|e| e.to_string())?;
            Ok(())
        });
    }
}
