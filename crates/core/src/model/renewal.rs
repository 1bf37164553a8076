//! Renewal keys (`kwk_…`): one-time keys a token's callback receives and
//! redeems for the token's new secret. Only a keyed digest of a key is kept
//! for its look-up; the key itself is derived from the outbox message's seed
//! when the callback is sent.

use time::OffsetDateTime;
use uuid::Uuid;

use crate::secret::Digest;

#[derive(Debug, Clone)]
pub struct NewRenewalKey {
    pub id: Uuid,
    pub token_id: Uuid,
    pub digest: Digest,
    pub created_at: OffsetDateTime,
    pub expires_at: OffsetDateTime,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RenewalKey {
    pub id: Uuid,
    pub token_id: Uuid,
    pub created_at: OffsetDateTime,
    pub expires_at: OffsetDateTime,
    pub used_at: Option<OffsetDateTime>,
    pub cancelled_at: Option<OffsetDateTime>,
}

impl RenewalKey {
    /// Whether the key may still be redeemed at `now`.
    pub fn is_live(&self, now: OffsetDateTime) -> bool {
        self.used_at.is_none() && self.cancelled_at.is_none() && self.expires_at > now
    }
}

/// A renewal cycle to start: a new key and its callback, written together
/// with the token's next renewal time, if the token may still renew.
#[derive(Debug, Clone)]
pub struct RenewalStart {
    pub token_id: Uuid,
    pub key: NewRenewalKey,
    /// Start even if the token is not due yet (a triggered renewal).
    pub force: bool,
    /// The token's `next_renewal_at` afterwards: when a new callback follows
    /// if this key is not redeemed.
    pub retry_at: OffsetDateTime,
    pub now: OffsetDateTime,
}

/// A redemption: the key's token gets `secret` as its current secret, the
/// old one stays valid until `previous_until`, its expiry becomes
/// `expires_at`, and its next renewal is `next_renewal_at`.
#[derive(Debug, Clone)]
pub struct RenewalRedemption {
    pub key_id: Uuid,
    pub token_id: Uuid,
    pub secret: crate::model::NewTokenSecret,
    pub previous_until: OffsetDateTime,
    pub expires_at: Option<OffsetDateTime>,
    pub next_renewal_at: OffsetDateTime,
    pub now: OffsetDateTime,
}
