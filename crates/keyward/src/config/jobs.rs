//! Background work and the outbox: how often due work is looked for, and
//! how deliveries are retried and claimed.

use anyhow::bail;
use keyward_core::config::Settings;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default)]
pub struct JobsConfig {
    /// How often due renewals, notices and deliveries are looked for, in
    /// seconds.
    pub jobs_poll_seconds: u64,
    /// When a failed delivery is first retried, in seconds; each next retry
    /// twice as late (±20 %, at most 6 hours apart).
    pub delivery_retry_base_seconds: i64,
    /// Attempts of one webhook or e-mail before it is marked failed.
    pub delivery_max_attempts: u32,
    /// How long an instance's claim on a message lasts, in seconds; past it
    /// another instance may take the message over.
    pub delivery_claim_seconds: i64,
}

impl Default for JobsConfig {
    fn default() -> Self {
        let s = Settings::default();
        Self {
            jobs_poll_seconds: 10,
            delivery_retry_base_seconds: s.delivery_retry_base.whole_seconds(),
            delivery_max_attempts: s.delivery_max_attempts,
            delivery_claim_seconds: s.delivery_claim.whole_seconds(),
        }
    }
}

impl JobsConfig {
    pub(super) fn validate(&self) -> anyhow::Result<()> {
        if !(1..=3600).contains(&self.jobs_poll_seconds) {
            bail!("jobs_poll_seconds must be between 1 and 3600");
        }
        if !(1..=100).contains(&self.delivery_max_attempts) {
            bail!("delivery_max_attempts must be between 1 and 100");
        }
        Ok(())
    }
}
