//! Reading rows back into the core's records. Nothing here panics: a value the
//! domain cannot hold (an unknown status, a negative renewal period, a token
//! without a current secret) is reported as [`StoreError::Database`].

use keyward_core::error::StoreError;
use keyward_core::model::{
    ApiToken, PreviousSecret, RenewalPolicy, SecretSlot, Session, TokenState, User, UserStatus,
};
use keyward_core::store::StoreResult;
use sqlx::Row;
use sqlx::postgres::PgRow;
use time::OffsetDateTime;
use uuid::Uuid;

/// Reads column `name`, reporting a missing or mistyped column.
pub(crate) fn get<'r, T>(row: &'r PgRow, name: &str) -> StoreResult<T>
where
    T: sqlx::Decode<'r, sqlx::Postgres> + sqlx::Type<sqlx::Postgres>,
{
    row.try_get(name)
        .map_err(|e| StoreError::Database(format!("reading column {name}: {e}")))
}

/// The columns [`user`] reads, as a literal for `concat!`.
macro_rules! user_columns {
    () => {
        "id, username, roles, status, email, created_at, updated_at"
    };
}
pub(crate) use user_columns;

pub(crate) fn user(row: &PgRow) -> StoreResult<User> {
    let status: String = get(row, "status")?;
    Ok(User {
        id: get(row, "id")?,
        username: get(row, "username")?,
        roles: get(row, "roles")?,
        status: UserStatus::parse(&status)
            .ok_or_else(|| StoreError::Database(format!("unknown user status {status:?}")))?,
        email: get(row, "email")?,
        created_at: get(row, "created_at")?,
        updated_at: get(row, "updated_at")?,
    })
}

pub(crate) fn session(row: &PgRow) -> StoreResult<Session> {
    Ok(Session {
        id: get(row, "id")?,
        user_id: get(row, "user_id")?,
        created_at: get(row, "created_at")?,
        last_seen_at: get(row, "last_seen_at")?,
        expires_at: get(row, "expires_at")?,
    })
}

/// The token columns plus its current secret's hint and its previous
/// secret's hint and end of grace, as `SELECT ... FROM api_tokens t` with the
/// two secret joins, followed by `$tail` (joins, `WHERE`, `ORDER BY`);
/// `$extra` adds columns. A macro so that queries built from it stay
/// `&'static str`.
macro_rules! token_select {
    ($tail:literal) => {
        $crate::rows::token_select!("", $tail)
    };
    ($extra:literal, $tail:literal) => {
        concat!(
            "SELECT t.id, t.user_id, t.name, t.description, t.scopes, t.applications, t.state, \
             t.expires_at, t.created_at, t.updated_at, t.last_used_at, t.last_used_ip, \
             t.renewal_every_days, t.renewal_callback_url, t.renewal_mail_recipient, \
             t.renewal_secret_seed, t.renewed_to, \
             c.hint AS current_hint, p.hint AS previous_hint, p.expires_at AS previous_expires_at",
            $extra,
            " FROM api_tokens t \
             LEFT JOIN token_secrets c ON c.token_id = t.id AND c.slot = 'current' \
             LEFT JOIN token_secrets p ON p.token_id = t.id AND p.slot = 'previous' ",
            $tail
        )
    };
}
pub(crate) use token_select;

pub(crate) fn token(row: &PgRow) -> StoreResult<ApiToken> {
    let id: Uuid = get(row, "id")?;
    let state: String = get(row, "state")?;
    let hint: Option<String> = get(row, "current_hint")?;
    let previous_hint: Option<String> = get(row, "previous_hint")?;
    let previous_expires_at: Option<OffsetDateTime> = get(row, "previous_expires_at")?;
    let scopes: Vec<String> = get(row, "scopes")?;
    let applications: Vec<String> = get(row, "applications")?;
    Ok(ApiToken {
        id,
        user_id: get(row, "user_id")?,
        name: get(row, "name")?,
        description: get(row, "description")?,
        scopes: scopes.into_iter().collect(),
        applications: applications.into_iter().collect(),
        state: TokenState::parse(&state)
            .ok_or_else(|| StoreError::Database(format!("token {id}: unknown state {state:?}")))?,
        expires_at: get(row, "expires_at")?,
        created_at: get(row, "created_at")?,
        updated_at: get(row, "updated_at")?,
        last_used_at: get(row, "last_used_at")?,
        last_used_ip: get(row, "last_used_ip")?,
        hint: hint
            .ok_or_else(|| StoreError::Database(format!("token {id} has no current secret")))?,
        previous: match (previous_hint, previous_expires_at) {
            (Some(hint), Some(expires_at)) => Some(PreviousSecret { hint, expires_at }),
            (None, _) => None,
            (Some(_), None) => {
                return Err(StoreError::Database(format!(
                    "token {id}: previous secret without an end of grace"
                )));
            }
        },
        renewal: renewal(row, id)?,
        renewed_to: get(row, "renewed_to")?,
    })
}

fn renewal(row: &PgRow, id: Uuid) -> StoreResult<Option<RenewalPolicy>> {
    let every_days: Option<i32> = get(row, "renewal_every_days")?;
    let callback_url: Option<String> = get(row, "renewal_callback_url")?;
    let secret_seed: Option<Vec<u8>> = get(row, "renewal_secret_seed")?;
    match (every_days, callback_url, secret_seed) {
        (None, None, None) => Ok(None),
        (Some(days), Some(callback_url), Some(secret_seed)) => Ok(Some(RenewalPolicy {
            every_days: u32::try_from(days).map_err(|_| {
                StoreError::Database(format!("token {id}: renewal period {days} days"))
            })?,
            callback_url,
            mail_recipient: get(row, "renewal_mail_recipient")?,
            secret_seed,
        })),
        _ => Err(StoreError::Database(format!(
            "token {id}: incomplete renewal policy"
        ))),
    }
}

/// A renewal policy as its four nullable columns.
#[derive(Debug, Default)]
pub(crate) struct RenewalColumns<'a> {
    pub every_days: Option<i32>,
    pub callback_url: Option<&'a str>,
    pub mail_recipient: Option<&'a str>,
    pub secret_seed: Option<&'a [u8]>,
}

impl<'a> RenewalColumns<'a> {
    pub(crate) fn new(renewal: Option<&'a RenewalPolicy>) -> StoreResult<Self> {
        let Some(r) = renewal else {
            return Ok(Self::default());
        };
        Ok(Self {
            every_days: Some(i32::try_from(r.every_days).map_err(|_| {
                StoreError::Database(format!("renewal period {} days", r.every_days))
            })?),
            callback_url: Some(r.callback_url.as_str()),
            mail_recipient: r.mail_recipient.as_deref(),
            secret_seed: Some(r.secret_seed.as_slice()),
        })
    }
}

pub(crate) fn slot(name: &str) -> StoreResult<SecretSlot> {
    match name {
        "current" => Ok(SecretSlot::Current),
        "previous" => Ok(SecretSlot::Previous),
        other => Err(StoreError::Database(format!(
            "unknown secret slot {other:?}"
        ))),
    }
}
