//! Counting failures per key (a username from one address, an address, a
//! client) in a fixed window, to slow down guessing. It follows the injected
//! clock, so tests move time instead of waiting.
//!
//! An attempt is *reserved* before the credential is checked: the reservation
//! counts as a failure at once, atomically with the check against the limit,
//! and is given back if the attempt succeeds. So however many guesses arrive
//! at once, no more than the limit are ever checked; counting after the
//! (slow) check would let every guess in flight through.
//!
//! The counts live behind [`AttemptStore`]: in this process's memory
//! ([`MemoryAttempts`]) for a single instance, or in the shared database
//! when several instances must keep one budget.

use std::collections::HashMap;
use std::sync::Mutex;

use async_trait::async_trait;
use time::{Duration, OffsetDateTime};

use crate::error::Result;
use crate::store::{AttemptOutcome, AttemptStore, StoreResult};

/// Above this many keys, ended windows are swept on the next reservation.
const SWEEP_ABOVE: usize = 10_000;

/// Attempt counts in memory: one budget per process.
#[derive(Debug, Default)]
pub struct MemoryAttempts {
    /// Key → (window start, count).
    entries: Mutex<HashMap<String, (OffsetDateTime, u32)>>,
}

impl MemoryAttempts {
    /// When `key` has `limit` attempts counted in its current window: when
    /// that window ends. Counts nothing.
    pub fn peek_attempts(
        &self,
        key: &str,
        limit: u32,
        window: Duration,
        now: OffsetDateTime,
    ) -> Option<OffsetDateTime> {
        let entries = self.entries.lock().unwrap_or_else(|e| e.into_inner());
        entries
            .get(key)
            .filter(|(start, count)| *count >= limit && now < *start + window)
            .map(|(start, _)| *start + window)
    }
}

#[async_trait]
impl AttemptStore for MemoryAttempts {
    async fn reserve_attempt(
        &self,
        key: &str,
        limit: u32,
        window: Duration,
        now: OffsetDateTime,
    ) -> StoreResult<AttemptOutcome> {
        let mut entries = self.entries.lock().unwrap_or_else(|e| e.into_inner());
        if entries.len() > SWEEP_ABOVE {
            entries.retain(|_, (start, _)| now < *start + window);
        }
        let entry = entries.entry(key.to_owned()).or_insert((now, 0));
        if now >= entry.0 + window {
            *entry = (now, 0);
        }
        if entry.1 >= limit {
            return Ok(AttemptOutcome::Refused {
                retry_at: entry.0 + window,
            });
        }
        entry.1 += 1;
        Ok(AttemptOutcome::Reserved {
            window_start: entry.0,
        })
    }

    async fn release_attempt(&self, key: &str, window_start: OffsetDateTime) -> StoreResult<()> {
        let mut entries = self.entries.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(entry) = entries.get_mut(key)
            && entry.0 == window_start
        {
            entry.1 = entry.1.saturating_sub(1);
        }
        Ok(())
    }

    async fn reset_attempts(&self, key: &str) -> StoreResult<()> {
        self.entries
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .remove(key);
        Ok(())
    }

    async fn purge_attempts(&self, started_before: OffsetDateTime) -> StoreResult<u64> {
        let mut entries = self.entries.lock().unwrap_or_else(|e| e.into_inner());
        let before = entries.len();
        entries.retain(|_, (start, _)| *start > started_before);
        Ok((before - entries.len()) as u64)
    }
}

/// One budget to reserve an attempt from: a key and its limit.
pub type Budget = (String, u32);

/// Reserves one attempt on each budget at once: all or none. On `Err(wait)`
/// (the longest wait of the budgets that are used up) nothing stays
/// reserved. The outer `Result` is for the store failing.
pub async fn reserve_all<'a>(
    store: &'a dyn AttemptStore,
    budgets: impl IntoIterator<Item = Budget>,
    window: Duration,
    now: OffsetDateTime,
) -> Result<std::result::Result<Attempt<'a>, Duration>> {
    let mut taken = Vec::new();
    let mut retry_at = None::<OffsetDateTime>;
    for (key, limit) in budgets {
        match store.reserve_attempt(&key, limit, window, now).await? {
            AttemptOutcome::Reserved { window_start } => taken.push((key, window_start)),
            AttemptOutcome::Refused { retry_at: at } => {
                retry_at = Some(retry_at.map_or(at, |old| old.max(at)));
            }
        }
    }
    let attempt = Attempt { store, taken };
    match retry_at {
        Some(at) => {
            attempt.give_back().await?;
            Ok(Err((at - now).max(Duration::seconds(1))))
        }
        None => Ok(Ok(attempt)),
    }
}

/// Attempts reserved by [`reserve_all`]: they stay counted (the attempt
/// failed, or was abandoned) unless [`Attempt::succeeded`] gives them back.
pub struct Attempt<'a> {
    store: &'a dyn AttemptStore,
    taken: Vec<(String, OffsetDateTime)>,
}

impl std::fmt::Debug for Attempt<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Attempt")
            .field("keys", &self.taken.len())
            .finish()
    }
}

impl Attempt<'_> {
    /// The attempt succeeded: its reservations are given back.
    pub async fn succeeded(self) -> Result<()> {
        self.give_back().await
    }

    async fn give_back(&self) -> Result<()> {
        for (key, window_start) in &self.taken {
            self.store.release_attempt(key, *window_start).await?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    const WINDOW: Duration = Duration::minutes(15);

    fn budget(key: &str, limit: u32) -> Budget {
        (key.to_owned(), limit)
    }

    #[tokio::test]
    async fn reserves_up_to_the_limit_until_the_window_ends() {
        let t = MemoryAttempts::default();
        let now = datetime!(2026-01-01 0:00 UTC);
        for _ in 0..3 {
            assert!(
                reserve_all(&t, [budget("alice", 3)], WINDOW, now)
                    .await
                    .unwrap()
                    .is_ok()
            );
        }
        let refused = reserve_all(&t, [budget("alice", 3)], WINDOW, now)
            .await
            .unwrap();
        assert_eq!(refused.unwrap_err(), WINDOW);
        assert!(
            reserve_all(&t, [budget("bob", 3)], WINDOW, now)
                .await
                .unwrap()
                .is_ok()
        );
        let later = now + WINDOW;
        assert!(
            reserve_all(&t, [budget("alice", 3)], WINDOW, later)
                .await
                .unwrap()
                .is_ok()
        );
        t.reset_attempts("alice").await.unwrap();
        assert!(
            reserve_all(&t, [budget("alice", 1)], WINDOW, later)
                .await
                .unwrap()
                .is_ok()
        );
    }

    #[tokio::test]
    async fn a_released_attempt_is_no_failure_but_only_in_its_window() {
        let t = MemoryAttempts::default();
        let now = datetime!(2026-01-01 0:00 UTC);
        for _ in 0..10 {
            let attempt = reserve_all(&t, [budget("alice", 2)], WINDOW, now)
                .await
                .unwrap()
                .expect("given back every time");
            attempt.succeeded().await.unwrap();
        }
        let old = reserve_all(&t, [budget("alice", 2)], WINDOW, now)
            .await
            .unwrap()
            .unwrap();
        let later = now + Duration::minutes(20);
        for _ in 0..2 {
            assert!(
                reserve_all(&t, [budget("alice", 2)], WINDOW, later)
                    .await
                    .unwrap()
                    .is_ok()
            );
        }
        old.succeeded().await.unwrap();
        assert!(
            reserve_all(&t, [budget("alice", 2)], WINDOW, later)
                .await
                .unwrap()
                .is_err(),
            "a release from an ended window gives back nothing"
        );
        assert_eq!(t.purge_attempts(later).await.unwrap(), 1);
    }

    #[tokio::test]
    async fn reserving_several_budgets_is_all_or_nothing() {
        let t = MemoryAttempts::default();
        let now = datetime!(2026-01-01 0:00 UTC);
        let both = || [budget("user:a", 5), budget("ip:1", 1)];
        let first = reserve_all(&t, both(), WINDOW, now).await.unwrap().unwrap();
        assert!(reserve_all(&t, both(), WINDOW, now).await.unwrap().is_err());
        // The refused attempt kept nothing of the user's budget: four left.
        for _ in 0..4 {
            assert!(
                reserve_all(&t, [budget("user:a", 5)], WINDOW, now)
                    .await
                    .unwrap()
                    .is_ok()
            );
        }
        assert!(
            reserve_all(&t, [budget("user:a", 5)], WINDOW, now)
                .await
                .unwrap()
                .is_err()
        );
        first.succeeded().await.unwrap();
        assert!(
            reserve_all(&t, [budget("ip:1", 1)], WINDOW, now)
                .await
                .unwrap()
                .is_ok()
        );
    }
}
