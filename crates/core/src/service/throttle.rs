//! Counting failures per key (a username, an IP) in a fixed window, to slow
//! down password guessing. It follows the injected clock, so tests move time
//! instead of waiting. Counts are per instance.

use std::collections::HashMap;
use std::sync::Mutex;

use time::{Duration, OffsetDateTime};

#[derive(Debug)]
pub struct FailureThrottle {
    limit: u32,
    window: Duration,
    entries: Mutex<HashMap<String, (OffsetDateTime, u32)>>,
}

/// Above this many keys, ended windows are swept on the next failure.
const SWEEP_ABOVE: usize = 10_000;

impl FailureThrottle {
    pub fn new(limit: u32, window: Duration) -> Self {
        Self {
            limit,
            window,
            entries: Mutex::new(HashMap::new()),
        }
    }

    /// `Err(wait)` when `key` has used up its failures in the current window.
    pub fn check(&self, key: &str, now: OffsetDateTime) -> Result<(), Duration> {
        let entries = self.entries.lock().unwrap_or_else(|e| e.into_inner());
        match entries.get(key) {
            Some(&(start, count)) if count >= self.limit && now < start + self.window => {
                Err(start + self.window - now)
            }
            _ => Ok(()),
        }
    }

    pub fn record_failure(&self, key: &str, now: OffsetDateTime) {
        let mut entries = self.entries.lock().unwrap_or_else(|e| e.into_inner());
        if entries.len() > SWEEP_ABOVE {
            let window = self.window;
            entries.retain(|_, (start, _)| now < *start + window);
        }
        let entry = entries.entry(key.to_owned()).or_insert((now, 0));
        if now >= entry.0 + self.window {
            *entry = (now, 0);
        }
        entry.1 += 1;
    }

    pub fn reset(&self, key: &str) {
        self.entries
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .remove(key);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    #[test]
    fn blocks_after_the_limit_until_the_window_ends() {
        let t = FailureThrottle::new(3, Duration::minutes(15));
        let now = datetime!(2026-01-01 0:00 UTC);
        for _ in 0..3 {
            assert!(t.check("alice", now).is_ok());
            t.record_failure("alice", now);
        }
        assert_eq!(t.check("alice", now), Err(Duration::minutes(15)));
        assert!(t.check("bob", now).is_ok());
        assert!(t.check("alice", now + Duration::minutes(15)).is_ok());
        t.reset("alice");
        assert!(t.check("alice", now).is_ok());
    }
}
