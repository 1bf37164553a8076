//! The metrics' upkeep: recorded latencies are folded into the histograms
//! every few seconds, also when nobody scrapes, so memory stays bounded.
//! The metrics live in the web layer; this job only runs their upkeep.

use std::time::Duration;

/// How often the upkeep runs.
pub const PERIOD: Duration = Duration::from_secs(5);

/// Runs the metrics' upkeep once; `false` once the metrics are gone.
pub type Upkeep = Box<dyn Fn() -> bool + Send + Sync + 'static>;

/// Runs `upkeep` every [`PERIOD`] until it says the metrics are gone (or
/// the task is aborted).
pub fn start(upkeep: Upkeep) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(PERIOD);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tick.tick().await;
            if !upkeep() {
                return;
            }
        }
    })
}
