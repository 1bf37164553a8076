//! The outbox: every webhook and e-mail Keyward sends is first a row,
//! written in the same transaction as the change that causes it, then
//! claimed and delivered by a worker of some instance, with each attempt
//! recorded. A message keeps its id across retries (the `webhook-id`), so a
//! receiver can de-duplicate.
//!
//! No message holds a secret. A renewal callback must carry its one-time
//! key, so the message keeps only the random seed the key is derived from
//! under the server key ([`crate::secret::SecretHasher::derive`]); the key is
//! rebuilt at delivery and exists nowhere in the database.

use time::{Duration, OffsetDateTime};
use uuid::Uuid;

use crate::random::Random;

/// The event names, one vocabulary with the audit actions.
pub mod event {
    /// A renewal key is ready: the callback to the token's `callbackUrl`.
    pub const RENEWAL_READY: &str = "token.renewal_ready";
    /// A renewal completed: the mail to the policy's `mailRecipient`.
    pub const RENEWAL_COMPLETED: &str = "token.renewal_completed";
    /// A token expires soon: the mail to its owner.
    pub const EXPIRY_NOTICE: &str = "token.expiry_notice";
}

/// How a message travels.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Channel {
    Webhook,
    Email,
}

impl Channel {
    pub fn as_str(self) -> &'static str {
        match self {
            Channel::Webhook => "webhook",
            Channel::Email => "email",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "webhook" => Some(Channel::Webhook),
            "email" => Some(Channel::Email),
            _ => None,
        }
    }
}

/// Where a message stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DeliveryStatus {
    Pending,
    Delivered,
    Failed,
}

impl DeliveryStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            DeliveryStatus::Pending => "pending",
            DeliveryStatus::Delivered => "delivered",
            DeliveryStatus::Failed => "failed",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "pending" => Some(DeliveryStatus::Pending),
            "delivered" => Some(DeliveryStatus::Delivered),
            "failed" => Some(DeliveryStatus::Failed),
            _ => None,
        }
    }
}

/// A message to write with the change that causes it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewOutboxMessage {
    pub id: Uuid,
    /// The token it is about (its delivery log); deleting the token deletes
    /// its messages.
    pub token_id: Option<Uuid>,
    pub event: String,
    pub channel: Channel,
    /// The callback URL or the e-mail address.
    pub target: String,
    /// The JSON body without any secret.
    pub payload: String,
    /// For a renewal callback: the seed its key is derived from.
    pub key_seed: Option<Vec<u8>>,
    /// At most one message per key is ever written (an expiry notice per
    /// token, expiry and threshold); a second is silently skipped.
    pub dedupe_key: Option<String>,
    pub created_at: OffsetDateTime,
}

/// A stored message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutboxMessage {
    pub id: Uuid,
    pub token_id: Option<Uuid>,
    pub event: String,
    pub channel: Channel,
    pub target: String,
    pub payload: String,
    pub key_seed: Option<Vec<u8>>,
    pub status: DeliveryStatus,
    pub attempts: u32,
    /// When the next attempt is due (pending messages only).
    pub next_attempt_at: Option<OffsetDateTime>,
    pub last_attempt_at: Option<OffsetDateTime>,
    /// The last attempt's result: `HTTP 200`, an SMTP reply, or the error.
    pub last_result: Option<String>,
    pub created_at: OffsetDateTime,
}

/// One delivery attempt, as recorded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeliveryAttempt {
    pub message_id: Uuid,
    pub at: OffsetDateTime,
    /// `HTTP <status>` or the SMTP server's reply, when there was an answer.
    pub response: Option<String>,
    /// What went wrong, when something did.
    pub error: Option<String>,
    pub duration_ms: i64,
}

/// What becomes of a message after an attempt.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AttemptVerdict {
    Delivered,
    /// Try again then.
    Retry(OffsetDateTime),
    /// Give up (a refused target, or the last attempt failed).
    Failed,
}

/// The retry schedule: the first retry `base` after the first failure, each
/// next one twice as late, ±20 % jitter, never more than `cap` apart, and
/// after `max_attempts` attempts the message is failed.
#[derive(Debug, Clone, Copy)]
pub struct Backoff {
    pub base: Duration,
    pub cap: Duration,
    pub max_attempts: u32,
}

/// The longest wait between two attempts.
pub const BACKOFF_CAP: Duration = Duration::hours(6);

impl Backoff {
    /// The verdict for a failed attempt number `attempts` (1 for the first)
    /// at `now`: when to retry, or `Failed` when none is left.
    pub fn after_failure(
        &self,
        attempts: u32,
        now: OffsetDateTime,
        random: &dyn Random,
    ) -> AttemptVerdict {
        if attempts >= self.max_attempts {
            return AttemptVerdict::Failed;
        }
        let doublings = attempts.saturating_sub(1).min(30);
        let nominal = self
            .base
            .checked_mul(1i32 << doublings.min(30))
            .unwrap_or(self.cap)
            .min(self.cap);
        // ±20 %: a factor in [0.8, 1.2] from 16 random bits.
        let mut bits = [0u8; 2];
        random.fill(&mut bits);
        let unit = f64::from(u16::from_be_bytes(bits)) / f64::from(u16::MAX);
        let factor = 0.8 + 0.4 * unit;
        let seconds = (nominal.as_seconds_f64() * factor).round() as i64;
        let wait = Duration::seconds(seconds).min(self.cap);
        AttemptVerdict::Retry(now + wait.max(Duration::seconds(1)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Fixed(u8);
    impl Random for Fixed {
        fn fill(&self, buf: &mut [u8]) {
            buf.fill(self.0);
        }
    }

    fn wait(backoff: &Backoff, attempts: u32, random: &dyn Random) -> Option<Duration> {
        let now = OffsetDateTime::UNIX_EPOCH;
        match backoff.after_failure(attempts, now, random) {
            AttemptVerdict::Retry(at) => Some(at - now),
            _ => None,
        }
    }

    #[test]
    fn retries_double_with_jitter_up_to_the_cap_then_fail() {
        let b = Backoff {
            base: Duration::seconds(30),
            cap: BACKOFF_CAP,
            max_attempts: 12,
        };
        let low = Fixed(0);
        let high = Fixed(0xff);
        assert_eq!(wait(&b, 1, &low), Some(Duration::seconds(24)));
        assert_eq!(wait(&b, 1, &high), Some(Duration::seconds(36)));
        assert_eq!(wait(&b, 2, &low), Some(Duration::seconds(48)));
        assert_eq!(wait(&b, 3, &high), Some(Duration::seconds(144)));
        // 30 s · 2^10 is past six hours: capped, jitter included.
        assert_eq!(wait(&b, 11, &high), Some(BACKOFF_CAP));
        assert_eq!(wait(&b, 11, &low), Some(Duration::seconds(17_280)));
        assert_eq!(wait(&b, 12, &low), None, "the twelfth failure is the last");
    }
}
