//! Starting the renewal cycles that are due: a key and its callback each.
//! Every instance scans; the store starts a due token once.

use keyward_core::service::Keyward;

pub async fn run(keyward: &Keyward) -> keyward_core::Result<()> {
    let started = keyward.start_due_renewals().await?;
    if started > 0 {
        tracing::info!(started, "renewal cycles started");
    }
    Ok(())
}
