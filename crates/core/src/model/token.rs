//! Personal API tokens: long-lived credentials (`kwp_…`) owned by a user, with
//! at most one current and one previous secret (the latter in its grace period
//! after a rotation).

use std::collections::BTreeSet;

use time::{Duration, OffsetDateTime};
use uuid::Uuid;

use crate::config::Settings;
use crate::scope::ScopeSet;
use crate::secret::Digest;

/// The stored state. `expired` is not stored: it follows from `expires_at`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TokenState {
    Active,
    Deactivated,
}

impl TokenState {
    pub fn as_str(self) -> &'static str {
        match self {
            TokenState::Active => "active",
            TokenState::Deactivated => "deactivated",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "active" => Some(TokenState::Active),
            "deactivated" => Some(TokenState::Deactivated),
            _ => None,
        }
    }
}

/// The status shown to users and used by the `status` filter.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TokenStatus {
    Active,
    Deactivated,
    Expired,
}

impl TokenStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            TokenStatus::Active => "active",
            TokenStatus::Deactivated => "deactivated",
            TokenStatus::Expired => "expired",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "active" => Some(TokenStatus::Active),
            "deactivated" => Some(TokenStatus::Deactivated),
            "expired" => Some(TokenStatus::Expired),
            _ => None,
        }
    }
}

/// How old a token is, for the colour in the list (plenigo).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AgeStatus {
    Fresh,
    Aging,
    Old,
    Expired,
}

impl AgeStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            AgeStatus::Fresh => "fresh",
            AgeStatus::Aging => "aging",
            AgeStatus::Old => "old",
            AgeStatus::Expired => "expired",
        }
    }
}

/// The previous secret of a rotated token, valid until `expires_at`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PreviousSecret {
    pub hint: String,
    pub expires_at: OffsetDateTime,
}

/// An auto-renewal policy (plenigo). The callback signing secret is not
/// stored: it is derived from `secret_seed` under the server key whenever it
/// is needed, so a database leak alone does not reveal it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RenewalPolicy {
    pub every_days: u32,
    pub callback_url: String,
    pub mail_recipient: Option<String>,
    pub secret_seed: Vec<u8>,
    /// When the next renewal cycle starts (a callback with a new key); after
    /// a callback whose key is not redeemed, when the next callback is due.
    pub next_renewal_at: OffsetDateTime,
    /// When a renewal key was last redeemed.
    pub last_renewed_at: Option<OffsetDateTime>,
}

impl RenewalPolicy {
    pub fn period(&self) -> Duration {
        Duration::days(i64::from(self.every_days))
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiToken {
    pub id: Uuid,
    pub user_id: Uuid,
    pub name: String,
    pub description: Option<String>,
    pub scopes: ScopeSet,
    pub applications: BTreeSet<String>,
    pub state: TokenState,
    pub expires_at: Option<OffsetDateTime>,
    pub created_at: OffsetDateTime,
    pub updated_at: OffsetDateTime,
    pub last_used_at: Option<OffsetDateTime>,
    pub last_used_ip: Option<String>,
    /// Hint of the current secret.
    pub hint: String,
    pub previous: Option<PreviousSecret>,
    pub renewal: Option<RenewalPolicy>,
    /// The token that replaced this one by a renewal; a renewed token cannot
    /// be renewed again (its successor can).
    pub renewed_to: Option<Uuid>,
}

impl ApiToken {
    pub fn is_expired(&self, now: OffsetDateTime) -> bool {
        self.expires_at.is_some_and(|at| at <= now)
    }

    pub fn status(&self, now: OffsetDateTime) -> TokenStatus {
        match self.state {
            TokenState::Deactivated => TokenStatus::Deactivated,
            TokenState::Active if self.is_expired(now) => TokenStatus::Expired,
            TokenState::Active => TokenStatus::Active,
        }
    }

    /// Whole days since creation.
    pub fn age_days(&self, now: OffsetDateTime) -> i64 {
        (now - self.created_at).whole_days().max(0)
    }

    pub fn age_status(&self, now: OffsetDateTime, settings: &Settings) -> AgeStatus {
        let age = self.age_days(now);
        if self.is_expired(now) {
            AgeStatus::Expired
        } else if age > settings.old_after_days {
            AgeStatus::Old
        } else if age > settings.aging_after_days {
            AgeStatus::Aging
        } else {
            AgeStatus::Fresh
        }
    }

    /// The previous secret if its grace period has not ended.
    pub fn live_previous(&self, now: OffsetDateTime) -> Option<&PreviousSecret> {
        self.previous.as_ref().filter(|p| p.expires_at > now)
    }
}

/// What checking an API token's secret reads of the token: the verification
/// path's lookup (`TokenStore::find_token_credential`) reads only this, not
/// the whole [`ApiToken`], so that a cache miss costs the database less.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenCredential {
    pub id: Uuid,
    pub user_id: Uuid,
    pub scopes: ScopeSet,
    pub applications: BTreeSet<String>,
    pub state: TokenState,
    pub expires_at: Option<OffsetDateTime>,
    pub created_at: OffsetDateTime,
    /// Which of the token's secrets was presented.
    pub slot: SecretSlot,
    /// For the previous secret, the end of its grace period (`None` for the
    /// current one).
    pub grace_ends_at: Option<OffsetDateTime>,
}

impl TokenCredential {
    /// The credential of `token` when the secret in `slot` is presented: what
    /// `find_token_credential` answers where `find_token_by_secret` answers
    /// `(token, slot)`.
    pub fn of(token: &ApiToken, slot: SecretSlot) -> Self {
        Self {
            id: token.id,
            user_id: token.user_id,
            scopes: token.scopes.clone(),
            applications: token.applications.clone(),
            state: token.state,
            expires_at: token.expires_at,
            created_at: token.created_at,
            slot,
            grace_ends_at: match slot {
                SecretSlot::Current => None,
                SecretSlot::Previous => token.previous.as_ref().map(|p| p.expires_at),
            },
        }
    }

    pub fn is_expired(&self, now: OffsetDateTime) -> bool {
        self.expires_at.is_some_and(|at| at <= now)
    }

    /// For the previous secret, the end of its grace if it has not passed
    /// at `now` (the rule of [`ApiToken::live_previous`]).
    pub fn live_grace_end(&self, now: OffsetDateTime) -> Option<OffsetDateTime> {
        self.grace_ends_at.filter(|end| *end > now)
    }
}

/// The hashed form of a new secret, as the store keeps it.
#[derive(Debug, Clone)]
pub struct NewTokenSecret {
    pub digest: Digest,
    pub hint: String,
}

#[derive(Debug, Clone)]
pub struct NewApiToken {
    pub id: Uuid,
    pub user_id: Uuid,
    pub name: String,
    pub description: Option<String>,
    pub scopes: ScopeSet,
    pub applications: BTreeSet<String>,
    pub expires_at: Option<OffsetDateTime>,
    pub renewal: Option<RenewalPolicy>,
    pub secret: NewTokenSecret,
    pub now: OffsetDateTime,
}

/// Changes to a token; `None` leaves a field as it is.
#[derive(Debug, Clone, Default)]
pub struct TokenUpdate {
    pub name: Option<String>,
    pub description: Option<Option<String>>,
    pub expires_at: Option<OffsetDateTime>,
    pub renewal: Option<Option<RenewalPolicy>>,
}

impl TokenUpdate {
    pub fn is_empty(&self) -> bool {
        self.name.is_none()
            && self.description.is_none()
            && self.expires_at.is_none()
            && self.renewal.is_none()
    }
}

/// List filters; every one that is set must hold.
#[derive(Debug, Clone, Copy, Default)]
pub struct TokenFilter {
    /// Only this user's tokens; every user's when `None` (admins).
    pub owner: Option<Uuid>,
    pub status: Option<TokenStatus>,
    /// Only tokens never used, or last used before this instant.
    pub unused_since: Option<OffsetDateTime>,
    /// Only tokens not yet expired that expire by this instant.
    pub expiring_by: Option<OffsetDateTime>,
    /// Only tokens that never expire.
    pub never_expires: bool,
}

impl TokenFilter {
    /// The filter of one user's tokens.
    pub fn of(owner: Uuid) -> Self {
        Self {
            owner: Some(owner),
            ..Self::default()
        }
    }

    pub fn matches(&self, token: &ApiToken, now: OffsetDateTime) -> bool {
        self.owner.is_none_or(|o| token.user_id == o)
            && self.status.is_none_or(|s| token.status(now) == s)
            && self
                .unused_since
                .is_none_or(|cutoff| token.last_used_at.is_none_or(|at| at < cutoff))
            && self
                .expiring_by
                .is_none_or(|by| token.expires_at.is_some_and(|at| at > now && at <= by))
            && (!self.never_expires || token.expires_at.is_none())
    }
}

/// Which of a token's secrets was presented.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SecretSlot {
    Current,
    Previous,
}

/// One use of a token, recorded behind the request and written in batches.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenUsage {
    pub token_id: Uuid,
    pub at: OffsetDateTime,
    pub ip: Option<std::net::IpAddr>,
}

/// Grace periods are whole seconds.
pub fn grace_end(now: OffsetDateTime, grace: Duration) -> Option<OffsetDateTime> {
    (grace > Duration::ZERO).then(|| now + grace)
}
