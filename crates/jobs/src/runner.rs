//! The one runner every periodic job runs under: a tick every period (a
//! missed tick is delayed, not bunched), a failure logged and retried at the
//! next tick. Queued work (the outbox) keeps its own retry schedule per
//! message (see `deliver`).

use std::future::Future;
use std::time::Duration;

/// Spawns `job` to run every `period` until the task is aborted.
pub fn every<F, Fut>(name: &'static str, period: Duration, job: F) -> tokio::task::JoinHandle<()>
where
    F: Fn() -> Fut + Send + 'static,
    Fut: Future<Output = keyward_core::Result<()>> + Send + 'static,
{
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(period);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tick.tick().await;
            if let Err(err) = job().await {
                tracing::warn!(job = name, error = %err, "background job failed; will retry");
            }
        }
    })
}
