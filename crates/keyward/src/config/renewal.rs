//! Auto-renewal's timings, in seconds (the spec's 2 and 24 hours by
//! default; tests set seconds).

use keyward_core::config::Settings;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default)]
pub struct RenewalConfig {
    /// How long a renewal key may be redeemed.
    pub renewal_key_ttl_seconds: i64,
    /// How long after a callback whose key was not redeemed the next one
    /// (with a new key) follows.
    pub renewal_retry_after_seconds: i64,
    /// How long the old secret keeps working after a redemption.
    pub renewal_overlap_seconds: i64,
}

impl Default for RenewalConfig {
    fn default() -> Self {
        let s = Settings::default();
        Self {
            renewal_key_ttl_seconds: s.renewal_key_ttl.whole_seconds(),
            renewal_retry_after_seconds: s.renewal_retry_after.whole_seconds(),
            renewal_overlap_seconds: s.renewal_overlap.whole_seconds(),
        }
    }
}
