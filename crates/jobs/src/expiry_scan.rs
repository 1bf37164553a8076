//! Queueing the expiry notices that are due. Every instance scans; the
//! store writes each notice (token, expiry, threshold) once.

use keyward_core::service::Keyward;

pub async fn run(keyward: &Keyward) -> keyward_core::Result<()> {
    let queued = keyward.queue_expiry_notices().await?;
    if queued > 0 {
        tracing::info!(queued, "expiry notices queued");
    }
    Ok(())
}
