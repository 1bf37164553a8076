//! Counting failures per key (a username from one address, an address, a
//! client) in a fixed window, to slow down guessing. It follows the injected
//! clock, so tests move time instead of waiting. Counts are per instance.
//!
//! An attempt is *reserved* before the credential is checked: the reservation
//! counts as a failure at once, atomically with the check against the limit,
//! and is given back if the attempt succeeds. So however many guesses arrive
//! at once, no more than the limit are ever checked; counting after the
//! (slow) check would let every guess in flight through.

use std::collections::HashMap;
use std::sync::Mutex;

use time::{Duration, OffsetDateTime};

#[derive(Debug)]
pub struct FailureThrottle {
    limit: u32,
    window: Duration,
    entries: Mutex<HashMap<String, (OffsetDateTime, u32)>>,
}

/// Above this many keys, ended windows are swept on the next reservation.
const SWEEP_ABOVE: usize = 10_000;

/// One reserved attempt of a key: counted until [`FailureThrottle::release`]
/// gives it back.
#[derive(Debug, Clone)]
pub struct Reserved {
    key: String,
    /// The window it was counted in; a release after the window ended
    /// changes nothing.
    window_start: OffsetDateTime,
}

impl FailureThrottle {
    pub fn new(limit: u32, window: Duration) -> Self {
        Self {
            limit,
            window,
            entries: Mutex::new(HashMap::new()),
        }
    }

    /// Reserves an attempt for `key`, counting it as a failure now; `Err(wait)`
    /// when `key` has used up its attempts in the current window (nothing is
    /// counted then).
    pub fn reserve(&self, key: &str, now: OffsetDateTime) -> Result<Reserved, Duration> {
        let mut entries = self.entries.lock().unwrap_or_else(|e| e.into_inner());
        if entries.len() > SWEEP_ABOVE {
            let window = self.window;
            entries.retain(|_, (start, _)| now < *start + window);
        }
        let entry = entries.entry(key.to_owned()).or_insert((now, 0));
        if now >= entry.0 + self.window {
            *entry = (now, 0);
        }
        if entry.1 >= self.limit {
            return Err(entry.0 + self.window - now);
        }
        entry.1 += 1;
        Ok(Reserved {
            key: key.to_owned(),
            window_start: entry.0,
        })
    }

    /// Gives a reserved attempt back: it succeeded, so it is no failure.
    pub fn release(&self, reserved: &Reserved) {
        let mut entries = self.entries.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(entry) = entries.get_mut(&reserved.key)
            && entry.0 == reserved.window_start
        {
            entry.1 = entry.1.saturating_sub(1);
        }
    }

    /// Forgets every failure of `key`.
    pub fn reset(&self, key: &str) {
        self.entries
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .remove(key);
    }
}

/// Reserves one attempt on each of several throttles at once: all or none.
/// On `Err(wait)` (the longest wait of the keys that are used up) nothing
/// stays reserved.
pub fn reserve_all<'a>(
    keys: impl IntoIterator<Item = (&'a FailureThrottle, String)>,
    now: OffsetDateTime,
) -> Result<Attempt<'a>, Duration> {
    let mut taken = Vec::new();
    let mut wait = None::<Duration>;
    for (throttle, key) in keys {
        match throttle.reserve(&key, now) {
            Ok(reserved) => taken.push((throttle, reserved)),
            Err(w) => wait = Some(wait.map_or(w, |old| old.max(w))),
        }
    }
    match wait {
        Some(wait) => {
            for (throttle, reserved) in &taken {
                throttle.release(reserved);
            }
            Err(wait)
        }
        None => Ok(Attempt { taken }),
    }
}

/// Attempts reserved by [`reserve_all`]: they stay counted (the attempt
/// failed, or was abandoned) unless [`Attempt::succeeded`] gives them back.
#[derive(Debug)]
pub struct Attempt<'a> {
    taken: Vec<(&'a FailureThrottle, Reserved)>,
}

impl Attempt<'_> {
    /// The attempt succeeded: its reservations are given back.
    pub fn succeeded(self) {
        for (throttle, reserved) in &self.taken {
            throttle.release(reserved);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    #[test]
    fn reserves_up_to_the_limit_until_the_window_ends() {
        let t = FailureThrottle::new(3, Duration::minutes(15));
        let now = datetime!(2026-01-01 0:00 UTC);
        for _ in 0..3 {
            assert!(t.reserve("alice", now).is_ok());
        }
        assert_eq!(t.reserve("alice", now).unwrap_err(), Duration::minutes(15));
        assert!(t.reserve("bob", now).is_ok());
        assert!(t.reserve("alice", now + Duration::minutes(15)).is_ok());
        t.reset("alice");
        assert!(t.reserve("alice", now).is_ok());
    }

    #[test]
    fn a_released_attempt_is_no_failure_but_only_in_its_window() {
        let t = FailureThrottle::new(2, Duration::minutes(15));
        let now = datetime!(2026-01-01 0:00 UTC);
        for _ in 0..10 {
            let r = t.reserve("alice", now).expect("released every time");
            t.release(&r);
        }
        let old = t.reserve("alice", now).unwrap();
        let later = now + Duration::minutes(20);
        t.reserve("alice", later).unwrap();
        t.reserve("alice", later).unwrap();
        t.release(&old);
        assert!(
            t.reserve("alice", later).is_err(),
            "a release from an ended window gives back nothing"
        );
    }

    #[test]
    fn reserving_several_keys_is_all_or_nothing() {
        let user = FailureThrottle::new(5, Duration::minutes(15));
        let ip = FailureThrottle::new(1, Duration::minutes(15));
        let now = datetime!(2026-01-01 0:00 UTC);
        let first = reserve_all([(&user, "a".into()), (&ip, "1".into())], now).unwrap();
        assert!(reserve_all([(&user, "a".into()), (&ip, "1".into())], now).is_err());
        // The refused attempt kept nothing of the user's budget: four left.
        for _ in 0..4 {
            user.reserve("a", now).unwrap();
        }
        assert!(user.reserve("a", now).is_err());
        first.succeeded();
        assert!(ip.reserve("1", now).is_ok(), "given back on success");
    }
}
