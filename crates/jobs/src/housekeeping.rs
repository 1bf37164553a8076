//! Housekeeping (ended grace periods, sessions, codes, attempts, old audit
//! events), done by the one instance that holds its lease.
//!
//! The lease makes one instance of those sharing a database do it. Its
//! holder extends it at every tick; if the holder stops, another instance
//! takes over once it expires, a little after one period.

use std::time::Duration;

use keyward_core::service::Keyward;

/// How often housekeeping runs.
pub const PERIOD: Duration = Duration::from_secs(60);

pub const HOUSEKEEPING_LEASE: &str = "housekeeping";
pub const HOUSEKEEPING_LEASE_TTL: time::Duration = time::Duration::seconds(90);

/// Runs the housekeeping if this instance holds (or can take, or extend) the
/// housekeeping lease; returns whether it ran.
pub async fn housekeeping(keyward: &Keyward, instance_id: &str) -> keyward_core::Result<bool> {
    let now = keyward.clock().now();
    let held = keyward
        .store()
        .try_acquire_lease(HOUSEKEEPING_LEASE, instance_id, now, HOUSEKEEPING_LEASE_TTL)
        .await?;
    if !held {
        tracing::debug!("another instance holds the housekeeping lease");
        return Ok(false);
    }
    keyward.purge().await?;
    Ok(true)
}
