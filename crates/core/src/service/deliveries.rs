//! What the outbox worker asks of the services: the verdict of a failed
//! attempt (the retry schedule, with the services' randomness for the
//! jitter) and the counts of finished attempts by event and outcome, for
//! `/metrics`.

use std::collections::BTreeMap;
use std::sync::Mutex;

use super::Keyward;
use crate::model::AttemptVerdict;

/// Attempts by `(event, outcome)`; outcome is `delivered`, `retry` or
/// `failed`.
#[derive(Debug, Default)]
pub struct DeliveryCounts {
    counts: Mutex<BTreeMap<(String, &'static str), u64>>,
}

impl DeliveryCounts {
    pub fn record(&self, event: &str, verdict: AttemptVerdict) {
        let outcome = match verdict {
            AttemptVerdict::Delivered => "delivered",
            AttemptVerdict::Retry(_) => "retry",
            AttemptVerdict::Failed => "failed",
        };
        let mut counts = self.counts.lock().unwrap_or_else(|e| e.into_inner());
        *counts.entry((event.to_owned(), outcome)).or_default() += 1;
    }

    pub fn snapshot(&self) -> Vec<(String, &'static str, u64)> {
        let counts = self.counts.lock().unwrap_or_else(|e| e.into_inner());
        counts
            .iter()
            .map(|((event, outcome), n)| (event.clone(), *outcome, *n))
            .collect()
    }
}

impl Keyward {
    /// The verdict after attempt number `attempts` (1 for the first) failed.
    pub fn retry_verdict(&self, attempts: u32) -> AttemptVerdict {
        self.inner.settings.backoff().after_failure(
            attempts,
            self.inner.clock.now(),
            self.inner.random.as_ref(),
        )
    }

    pub fn delivery_counts(&self) -> &DeliveryCounts {
        &self.inner.deliveries
    }
}
