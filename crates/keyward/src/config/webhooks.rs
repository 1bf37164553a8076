//! Outgoing webhooks (renewal callbacks): which targets they may reach.

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct WebhooksConfig {
    /// Let callbacks reach loopback, private and similar addresses (tests,
    /// closed networks).
    pub webhook_allow_private_targets: bool,
}
