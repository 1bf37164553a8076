//! Outgoing mail: the SMTP server and the sender address.

use anyhow::Context;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct MailConfig {
    /// SMTP server for notices, e.g. `smtp://127.0.0.1:2525`.
    pub smtp_url: Option<String>,
    pub mail_from: Option<String>,
}

impl MailConfig {
    pub(super) fn validate(&self) -> anyhow::Result<()> {
        if let Some(url) = &self.smtp_url {
            url::Url::parse(url).with_context(|| format!("smtp_url: {url:?} is not a URL"))?;
        }
        Ok(())
    }
}
