//! The randomness port. Secrets and ids draw their bytes from a [`Random`];
//! production uses the operating system's CSPRNG.

/// A source of cryptographically secure random bytes.
pub trait Random: Send + Sync + 'static {
    fn fill(&self, buf: &mut [u8]);
}

/// The operating system's CSPRNG (`getrandom`).
#[derive(Debug, Default, Clone, Copy)]
pub struct OsRandom;

impl Random for OsRandom {
    fn fill(&self, buf: &mut [u8]) {
        // The OS CSPRNG failing is unrecoverable: issuing a weak secret would be worse.
        getrandom::fill(buf).expect("the operating system's random source failed");
    }
}

/// A time-ordered (v7) UUID: `at` to the millisecond, then bits drawn from
/// `random`. Rows written in great numbers (issued OAuth tokens) get these,
/// so that their primary-key index grows at its end instead of touching a
/// random page per row.
pub fn uuid_v7(random: &dyn Random, at: time::OffsetDateTime) -> uuid::Uuid {
    let mut bytes = [0u8; 10];
    random.fill(&mut bytes);
    let millis = u64::try_from(at.unix_timestamp_nanos() / 1_000_000).unwrap_or(0);
    uuid::Builder::from_unix_timestamp_millis(millis, &bytes).into_uuid()
}

/// A random v4 UUID drawn from `random`.
pub fn uuid(random: &dyn Random) -> uuid::Uuid {
    let mut bytes = [0u8; 16];
    random.fill(&mut bytes);
    uuid::Builder::from_random_bytes(bytes).into_uuid()
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    #[test]
    fn time_ordered_ids_sort_by_their_time_and_differ_within_it() {
        let at = datetime!(2026-11-22 12:00:00 UTC);
        let first = uuid_v7(&OsRandom, at);
        let same_ms = uuid_v7(&OsRandom, at);
        let later = uuid_v7(&OsRandom, at + time::Duration::milliseconds(1));
        assert_eq!(first.get_version_num(), 7);
        assert_ne!(
            first, same_ms,
            "the random part tells ids of one millisecond apart"
        );
        assert!(
            first < later && same_ms < later,
            "a later millisecond sorts after"
        );
        let (secs, _) = later.get_timestamp().expect("a v7 timestamp").to_unix();
        assert_eq!(secs, at.unix_timestamp() as u64);
    }
}
