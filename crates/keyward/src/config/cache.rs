//! The verification cache and the write-behind of token uses.

use anyhow::bail;
use keyward_core::service::CacheSettings;
use serde::{Deserialize, Serialize};
use time::Duration;

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default)]
pub struct CacheConfig {
    /// How often recorded token uses are written to the store.
    pub usage_flush_seconds: u64,
    /// Credential checks kept in memory (0 turns the cache off).
    pub cache_capacity: usize,
    /// Longest a cached answer is used, in seconds. Changes are pushed to
    /// every instance at once; this only bounds a missed notification.
    pub cache_ttl_seconds: i64,
}

impl Default for CacheConfig {
    fn default() -> Self {
        Self {
            usage_flush_seconds: 10,
            cache_capacity: CacheSettings::default().capacity,
            cache_ttl_seconds: CacheSettings::default().ttl.whole_seconds(),
        }
    }
}

impl CacheConfig {
    pub(super) fn validate(&self) -> anyhow::Result<()> {
        if self.usage_flush_seconds == 0 || self.usage_flush_seconds > 60 {
            bail!("usage_flush_seconds must be between 1 and 60 (last use is visible within 60 s)");
        }
        if !(1..=3600).contains(&self.cache_ttl_seconds) {
            bail!("cache_ttl_seconds must be between 1 and 3600");
        }
        Ok(())
    }

    pub fn cache_settings(&self) -> CacheSettings {
        let ttl = Duration::seconds(self.cache_ttl_seconds);
        CacheSettings {
            capacity: self.cache_capacity,
            ttl,
            negative_ttl: ttl,
        }
    }
}
