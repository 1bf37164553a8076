//! The rules by which a stored row becomes a domain record, shared by every
//! store backend. A backend decodes its own column types (SQLite's TEXT ids,
//! unix seconds and JSON lists; PostgreSQL's UUID, TIMESTAMPTZ and TEXT[])
//! into these neutral rows; one `TryFrom` per domain type then decides what
//! the row means, so both stores accept and refuse exactly the same data.
//!
//! Nothing here panics: a value the domain cannot hold (an unknown state, a
//! token without a current secret, a previous secret without an end of
//! grace, half a renewal policy) is [`StoreError::Database`]. The schemas
//! forbid such rows, so reading one means the data was damaged; it is
//! reported rather than silently read as something else.

use std::collections::BTreeSet;

use time::OffsetDateTime;
use uuid::Uuid;

use crate::error::StoreError;
use crate::model::{
    ApiToken, AuthCode, Channel, DeliveryAttempt, DeliveryStatus, GrantType, OAuthApp, OAuthToken,
    OAuthTokenKind, OutboxMessage, PreviousSecret, RenewalKey, RenewalPolicy, SecretSlot, Session,
    TokenCredential, TokenState, User, UserStatus,
};
use crate::secret::Digest;

fn bad(what: impl std::fmt::Display) -> StoreError {
    StoreError::Database(what.to_string())
}

/// `users` without the password hash.
#[derive(Debug, Clone)]
pub struct UserRow {
    pub id: Uuid,
    pub username: String,
    pub roles: Vec<String>,
    pub status: String,
    pub email: Option<String>,
    pub created_at: OffsetDateTime,
    pub updated_at: OffsetDateTime,
}

impl TryFrom<UserRow> for User {
    type Error = StoreError;

    fn try_from(row: UserRow) -> Result<Self, StoreError> {
        Ok(User {
            status: UserStatus::parse(&row.status)
                .ok_or_else(|| bad(format!("user {}: unknown status {:?}", row.id, row.status)))?,
            id: row.id,
            username: row.username,
            roles: row.roles,
            email: row.email,
            created_at: row.created_at,
            updated_at: row.updated_at,
        })
    }
}

/// `sessions` without the digest.
#[derive(Debug, Clone)]
pub struct SessionRow {
    pub id: Uuid,
    pub user_id: Uuid,
    pub created_at: OffsetDateTime,
    pub last_seen_at: OffsetDateTime,
    pub expires_at: OffsetDateTime,
}

impl From<SessionRow> for Session {
    fn from(row: SessionRow) -> Self {
        Session {
            id: row.id,
            user_id: row.user_id,
            created_at: row.created_at,
            last_seen_at: row.last_seen_at,
            expires_at: row.expires_at,
        }
    }
}

/// `api_tokens` joined with its `current` and `previous` secret rows (both
/// outer joins, hence the options).
#[derive(Debug, Clone)]
pub struct ApiTokenRow {
    pub id: Uuid,
    pub user_id: Uuid,
    pub name: String,
    pub description: Option<String>,
    pub scopes: Vec<String>,
    pub applications: Vec<String>,
    pub state: String,
    pub expires_at: Option<OffsetDateTime>,
    pub created_at: OffsetDateTime,
    pub updated_at: OffsetDateTime,
    pub last_used_at: Option<OffsetDateTime>,
    pub last_used_ip: Option<String>,
    pub renewal_every_days: Option<i64>,
    pub renewal_callback_url: Option<String>,
    pub renewal_mail_recipient: Option<String>,
    pub renewal_secret_seed: Option<Vec<u8>>,
    pub renewal_next_at: Option<OffsetDateTime>,
    pub renewal_last_at: Option<OffsetDateTime>,
    pub current_hint: Option<String>,
    pub previous_hint: Option<String>,
    pub previous_expires_at: Option<OffsetDateTime>,
    pub renewed_to: Option<Uuid>,
}

impl TryFrom<ApiTokenRow> for ApiToken {
    type Error = StoreError;

    fn try_from(row: ApiTokenRow) -> Result<Self, StoreError> {
        let id = row.id;
        let state = TokenState::parse(&row.state)
            .ok_or_else(|| bad(format!("token {id}: unknown state {:?}", row.state)))?;
        let hint = row
            .current_hint
            .ok_or_else(|| bad(format!("token {id} has no current secret")))?;
        let previous = match (row.previous_hint, row.previous_expires_at) {
            (Some(hint), Some(expires_at)) => Some(PreviousSecret { hint, expires_at }),
            (None, None) => None,
            (Some(_), None) => {
                return Err(bad(format!(
                    "token {id}: previous secret without an end of grace"
                )));
            }
            (None, Some(_)) => {
                return Err(bad(format!(
                    "token {id}: an end of grace without a previous secret"
                )));
            }
        };
        let renewal = match (
            row.renewal_every_days,
            row.renewal_callback_url,
            row.renewal_secret_seed,
            row.renewal_next_at,
        ) {
            (None, None, None, None)
                if row.renewal_mail_recipient.is_none() && row.renewal_last_at.is_none() =>
            {
                None
            }
            (Some(days), Some(callback_url), Some(secret_seed), Some(next_renewal_at)) => {
                Some(RenewalPolicy {
                    every_days: u32::try_from(days)
                        .ok()
                        .filter(|d| *d > 0)
                        .ok_or_else(|| bad(format!("token {id}: renewal period {days} days")))?,
                    callback_url,
                    mail_recipient: row.renewal_mail_recipient,
                    secret_seed,
                    next_renewal_at,
                    last_renewed_at: row.renewal_last_at,
                })
            }
            _ => return Err(bad(format!("token {id}: incomplete renewal policy"))),
        };
        Ok(ApiToken {
            id,
            user_id: row.user_id,
            name: row.name,
            description: row.description,
            scopes: row.scopes.into_iter().collect(),
            applications: row.applications.into_iter().collect(),
            state,
            expires_at: row.expires_at,
            created_at: row.created_at,
            updated_at: row.updated_at,
            last_used_at: row.last_used_at,
            last_used_ip: row.last_used_ip,
            hint,
            previous,
            renewal,
            renewed_to: row.renewed_to,
        })
    }
}

/// `token_secrets` (the matched secret) joined with its `api_tokens` row:
/// the verification path's read.
#[derive(Debug, Clone)]
pub struct TokenCredentialRow {
    pub id: Uuid,
    pub user_id: Uuid,
    pub scopes: Vec<String>,
    pub applications: Vec<String>,
    pub state: String,
    pub expires_at: Option<OffsetDateTime>,
    pub created_at: OffsetDateTime,
    /// The matched secret's `slot` and `expires_at`.
    pub slot: String,
    pub secret_expires_at: Option<OffsetDateTime>,
}

impl TryFrom<TokenCredentialRow> for TokenCredential {
    type Error = StoreError;

    fn try_from(row: TokenCredentialRow) -> Result<Self, StoreError> {
        let id = row.id;
        let state = TokenState::parse(&row.state)
            .ok_or_else(|| bad(format!("token {id}: unknown state {:?}", row.state)))?;
        let slot = secret_slot(&row.slot)?;
        match (slot, row.secret_expires_at) {
            (SecretSlot::Current, None) | (SecretSlot::Previous, Some(_)) => {}
            (SecretSlot::Current, Some(_)) => {
                return Err(bad(format!(
                    "token {id}: a current secret with an end of grace"
                )));
            }
            (SecretSlot::Previous, None) => {
                return Err(bad(format!(
                    "token {id}: previous secret without an end of grace"
                )));
            }
        }
        Ok(TokenCredential {
            id,
            user_id: row.user_id,
            scopes: row.scopes.into_iter().collect(),
            applications: row.applications.into_iter().collect(),
            state,
            expires_at: row.expires_at,
            created_at: row.created_at,
            slot,
            grace_ends_at: row.secret_expires_at,
        })
    }
}

/// A `slot` column.
pub fn secret_slot(slot: &str) -> Result<SecretSlot, StoreError> {
    match slot {
        "current" => Ok(SecretSlot::Current),
        "previous" => Ok(SecretSlot::Previous),
        other => Err(bad(format!("unknown secret slot {other:?}"))),
    }
}

/// `oauth_apps`.
#[derive(Debug, Clone)]
pub struct OAuthAppRow {
    pub client_id: Uuid,
    pub user_id: Uuid,
    pub client_name: String,
    pub description: Option<String>,
    pub redirect_uris: Vec<String>,
    pub logo_uri: Option<String>,
    pub scopes: Vec<String>,
    pub grant_types: Vec<String>,
    pub secret_digest: Vec<u8>,
    pub secret_hint: String,
    pub created_at: OffsetDateTime,
    pub updated_at: OffsetDateTime,
}

impl TryFrom<OAuthAppRow> for OAuthApp {
    type Error = StoreError;

    fn try_from(row: OAuthAppRow) -> Result<Self, StoreError> {
        let id = row.client_id;
        let grant_types = row
            .grant_types
            .iter()
            .map(|g| {
                GrantType::parse(g)
                    .ok_or_else(|| bad(format!("app {id}: unknown grant type {g:?}")))
            })
            .collect::<Result<BTreeSet<GrantType>, StoreError>>()?;
        let secret_digest = Digest::from_slice(&row.secret_digest).ok_or_else(|| {
            bad(format!(
                "app {id}: secret digest of {} bytes",
                row.secret_digest.len()
            ))
        })?;
        Ok(OAuthApp {
            client_id: id,
            user_id: row.user_id,
            client_name: row.client_name,
            description: row.description,
            redirect_uris: row.redirect_uris,
            logo_uri: row.logo_uri,
            scopes: row.scopes.into_iter().collect(),
            grant_types,
            secret_digest,
            secret_hint: row.secret_hint,
            created_at: row.created_at,
            updated_at: row.updated_at,
        })
    }
}

/// `oauth_codes` without the digest.
#[derive(Debug, Clone)]
pub struct AuthCodeRow {
    pub id: Uuid,
    pub client_id: Uuid,
    pub user_id: Uuid,
    pub redirect_uri: Option<String>,
    pub scopes: Vec<String>,
    pub code_challenge: String,
    pub family_id: Uuid,
    pub created_at: OffsetDateTime,
    pub expires_at: OffsetDateTime,
    pub used_at: Option<OffsetDateTime>,
}

impl From<AuthCodeRow> for AuthCode {
    fn from(row: AuthCodeRow) -> Self {
        AuthCode {
            id: row.id,
            client_id: row.client_id,
            user_id: row.user_id,
            redirect_uri: row.redirect_uri,
            scopes: row.scopes.into_iter().collect(),
            code_challenge: row.code_challenge,
            family_id: row.family_id,
            created_at: row.created_at,
            expires_at: row.expires_at,
            used_at: row.used_at,
        }
    }
}

/// `oauth_tokens` without the digest.
#[derive(Debug, Clone)]
pub struct OAuthTokenRow {
    pub id: Uuid,
    pub kind: String,
    pub client_id: Option<Uuid>,
    pub user_id: Uuid,
    pub scopes: Vec<String>,
    pub family_id: Option<Uuid>,
    pub created_at: OffsetDateTime,
    pub expires_at: OffsetDateTime,
    pub used_at: Option<OffsetDateTime>,
    pub revoked_at: Option<OffsetDateTime>,
}

impl TryFrom<OAuthTokenRow> for OAuthToken {
    type Error = StoreError;

    fn try_from(row: OAuthTokenRow) -> Result<Self, StoreError> {
        Ok(OAuthToken {
            kind: OAuthTokenKind::parse(&row.kind).ok_or_else(|| {
                bad(format!(
                    "OAuth token {}: unknown kind {:?}",
                    row.id, row.kind
                ))
            })?,
            id: row.id,
            client_id: row.client_id,
            user_id: row.user_id,
            scopes: row.scopes.into_iter().collect(),
            family_id: row.family_id,
            created_at: row.created_at,
            expires_at: row.expires_at,
            used_at: row.used_at,
            revoked_at: row.revoked_at,
        })
    }
}

/// `outbox_messages` without the claim.
#[derive(Debug, Clone)]
pub struct OutboxMessageRow {
    pub id: Uuid,
    pub token_id: Option<Uuid>,
    pub event: String,
    pub channel: String,
    pub target: String,
    pub payload: String,
    pub key_seed: Option<Vec<u8>>,
    pub status: String,
    pub attempts: i64,
    pub next_attempt_at: OffsetDateTime,
    pub last_attempt_at: Option<OffsetDateTime>,
    pub last_result: Option<String>,
    pub created_at: OffsetDateTime,
}

impl TryFrom<OutboxMessageRow> for OutboxMessage {
    type Error = StoreError;

    fn try_from(row: OutboxMessageRow) -> Result<Self, StoreError> {
        let id = row.id;
        let status = DeliveryStatus::parse(&row.status)
            .ok_or_else(|| bad(format!("message {id}: unknown status {:?}", row.status)))?;
        Ok(OutboxMessage {
            channel: Channel::parse(&row.channel)
                .ok_or_else(|| bad(format!("message {id}: unknown channel {:?}", row.channel)))?,
            attempts: u32::try_from(row.attempts)
                .map_err(|_| bad(format!("message {id}: {} attempts", row.attempts)))?,
            // Only a pending message has a next attempt.
            next_attempt_at: (status == DeliveryStatus::Pending).then_some(row.next_attempt_at),
            status,
            id,
            token_id: row.token_id,
            event: row.event,
            target: row.target,
            payload: row.payload,
            key_seed: row.key_seed,
            last_attempt_at: row.last_attempt_at,
            last_result: row.last_result,
            created_at: row.created_at,
        })
    }
}

/// `outbox_attempts`.
#[derive(Debug, Clone)]
pub struct DeliveryAttemptRow {
    pub message_id: Uuid,
    pub at: OffsetDateTime,
    pub response: Option<String>,
    pub error: Option<String>,
    pub duration_ms: i64,
}

impl From<DeliveryAttemptRow> for DeliveryAttempt {
    fn from(row: DeliveryAttemptRow) -> Self {
        DeliveryAttempt {
            message_id: row.message_id,
            at: row.at,
            response: row.response,
            error: row.error,
            duration_ms: row.duration_ms,
        }
    }
}

/// `renewal_keys` without the digest.
#[derive(Debug, Clone)]
pub struct RenewalKeyRow {
    pub id: Uuid,
    pub token_id: Uuid,
    pub created_at: OffsetDateTime,
    pub expires_at: OffsetDateTime,
    pub used_at: Option<OffsetDateTime>,
    pub cancelled_at: Option<OffsetDateTime>,
}

impl From<RenewalKeyRow> for RenewalKey {
    fn from(row: RenewalKeyRow) -> Self {
        RenewalKey {
            id: row.id,
            token_id: row.token_id,
            created_at: row.created_at,
            expires_at: row.expires_at,
            used_at: row.used_at,
            cancelled_at: row.cancelled_at,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn token_row() -> ApiTokenRow {
        let t = OffsetDateTime::UNIX_EPOCH;
        ApiTokenRow {
            id: Uuid::from_u128(1),
            user_id: Uuid::from_u128(2),
            name: "n".into(),
            description: None,
            scopes: vec!["b".into(), "a".into()],
            applications: vec![],
            state: "active".into(),
            expires_at: None,
            created_at: t,
            updated_at: t,
            last_used_at: None,
            last_used_ip: None,
            renewal_every_days: None,
            renewal_callback_url: None,
            renewal_mail_recipient: None,
            renewal_secret_seed: None,
            renewal_next_at: None,
            renewal_last_at: None,
            current_hint: Some("...abcd".into()),
            previous_hint: None,
            previous_expires_at: None,
            renewed_to: None,
        }
    }

    #[test]
    fn a_whole_token_row_reads_back() {
        let token = ApiToken::try_from(token_row()).unwrap();
        assert_eq!(token.hint, "...abcd");
        assert_eq!(token.scopes.iter().collect::<Vec<_>>(), ["a", "b"]);
        assert_eq!(token.previous, None);
        assert_eq!(token.renewal, None);
    }

    #[test]
    fn a_renewal_period_of_zero_or_below_is_refused() {
        for days in [0, -1, i64::from(u32::MAX) + 1] {
            let row = ApiTokenRow {
                renewal_every_days: Some(days),
                renewal_callback_url: Some("https://example.com/cb".into()),
                renewal_secret_seed: Some(vec![1; 32]),
                renewal_next_at: Some(OffsetDateTime::UNIX_EPOCH),
                ..token_row()
            };
            assert!(ApiToken::try_from(row).is_err(), "{days} days");
        }
    }
}
