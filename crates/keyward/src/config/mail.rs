//! Outgoing mail: the SMTP server, the sender address, and when owners are
//! told that a token expires.

use std::path::PathBuf;

use anyhow::{Context, bail};
use keyward_core::config::Settings;
use serde::{Deserialize, Deserializer, Serialize};

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default)]
pub struct MailConfig {
    /// SMTP server for notices: `smtp://host:port` (STARTTLS: `smtp_starttls`)
    /// or `smtps://host:port`, with optional `user:password@`.
    pub smtp_url: Option<String>,
    /// A PEM file of CA certificates to trust for the SMTP server's
    /// certificate besides the system's (a relay with an internal CA).
    pub smtp_ca_file: Option<PathBuf>,
    /// STARTTLS on `smtp://`: `required` or `opportunistic`. Unset: required
    /// when the URL carries credentials (they are never sent in the clear),
    /// opportunistic otherwise.
    pub smtp_starttls: Option<StartTls>,
    pub mail_from: Option<String>,
    /// Days before expiry at which owners are mailed a notice.
    #[serde(deserialize_with = "day_list")]
    pub expiry_notice_days: Vec<u32>,
}

impl Default for MailConfig {
    fn default() -> Self {
        Self {
            smtp_url: None,
            smtp_ca_file: None,
            smtp_starttls: None,
            mail_from: None,
            expiry_notice_days: Settings::default().expiry_notice_days,
        }
    }
}

/// Whether `smtp://` must switch to TLS before anything is sent.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum StartTls {
    /// No mail (and no password) unless the server offers STARTTLS and
    /// the handshake succeeds.
    Required,
    /// STARTTLS when offered, plain SMTP otherwise.
    Opportunistic,
}

impl MailConfig {
    /// Whether `smtp://` requires STARTTLS: as set, or else when the URL
    /// carries credentials.
    pub fn requires_starttls(&self) -> bool {
        match self.smtp_starttls {
            Some(mode) => mode == StartTls::Required,
            None => self
                .smtp_url
                .as_deref()
                .and_then(|u| url::Url::parse(u).ok())
                .is_some_and(|u| !u.username().is_empty() || u.password().is_some()),
        }
    }

    pub(super) fn validate(&self) -> anyhow::Result<()> {
        if let Some(url) = &self.smtp_url {
            url::Url::parse(url).with_context(|| format!("smtp_url: {url:?} is not a URL"))?;
            if !(url.starts_with("smtp://") || url.starts_with("smtps://")) {
                bail!("smtp_url must start with smtp:// or smtps://");
            }
            if self.mail_from.is_none() {
                bail!("mail_from must be set when smtp_url is");
            }
        }
        if let Some(path) = &self.smtp_ca_file {
            let pem = std::fs::read_to_string(path)
                .with_context(|| format!("smtp_ca_file: cannot read {}", path.display()))?;
            if !pem.contains("-----BEGIN CERTIFICATE-----") {
                bail!("smtp_ca_file: {} holds no PEM certificate", path.display());
            }
        }
        if self
            .expiry_notice_days
            .iter()
            .any(|d| !(1..=365).contains(d))
        {
            bail!("expiry_notice_days must each be between 1 and 365");
        }
        Ok(())
    }

    /// Whether e-mail is configured (`smtp_url`).
    pub fn enabled(&self) -> bool {
        self.smtp_url.is_some()
    }
}

/// Day counts given as a TOML array or a comma-separated string.
fn day_list<'de, D: Deserializer<'de>>(de: D) -> Result<Vec<u32>, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Days {
        List(Vec<u32>),
        One(u32),
        Text(String),
    }
    match Days::deserialize(de)? {
        Days::List(days) => Ok(days),
        Days::One(day) => Ok(vec![day]),
        Days::Text(text) => text
            .split(',')
            .map(str::trim)
            .filter(|t| !t.is_empty())
            .map(|t| {
                t.parse()
                    .map_err(|_| serde::de::Error::custom(format!("{t:?} is not a day count")))
            })
            .collect(),
    }
}
