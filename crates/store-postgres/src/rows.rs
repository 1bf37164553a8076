//! Reading rows back into the core's records: PostgreSQL's columns are
//! decoded here into the core's neutral rows, and [`keyward_core::rows`]
//! decides what they mean, by the same rules as every other store. Nothing
//! here panics: an unreadable or impossible value is
//! [`StoreError::Database`].

use keyward_core::error::StoreError;
use keyward_core::model::{ApiToken, RenewalPolicy, SecretSlot, Session, User};
use keyward_core::rows::{ApiTokenRow, SessionRow, UserRow};
use keyward_core::store::StoreResult;
use sqlx::Row;
use sqlx::postgres::PgRow;

/// A column's value as both drivers decode it: sqlx (most reads) and
/// tokio-postgres (the verification path's reads, [`crate::readers`]), so
/// that one decoder per record serves both.
pub(crate) trait Value:
    for<'r> sqlx::Decode<'r, sqlx::Postgres>
    + sqlx::Type<sqlx::Postgres>
    + for<'r> tokio_postgres::types::FromSql<'r>
{
}

impl<T> Value for T where
    T: for<'r> sqlx::Decode<'r, sqlx::Postgres>
        + sqlx::Type<sqlx::Postgres>
        + for<'r> tokio_postgres::types::FromSql<'r>
{
}

/// A row of either driver, read by column name.
pub(crate) trait Columns {
    /// Column `name`, reporting a missing or mistyped column.
    fn column<T: Value>(&self, name: &str) -> StoreResult<T>;
}

impl Columns for PgRow {
    fn column<T: Value>(&self, name: &str) -> StoreResult<T> {
        self.try_get(name).map_err(|e| column_error(name, e))
    }
}

impl Columns for tokio_postgres::Row {
    fn column<T: Value>(&self, name: &str) -> StoreResult<T> {
        self.try_get(name).map_err(|e| column_error(name, e))
    }
}

fn column_error(name: &str, err: impl std::fmt::Display) -> StoreError {
    StoreError::Database(format!("reading column {name}: {err}"))
}

/// Reads column `name`, reporting a missing or mistyped column.
pub(crate) fn get<T: Value>(row: &impl Columns, name: &str) -> StoreResult<T> {
    row.column(name)
}

/// The columns [`user`] reads, as a literal for `concat!`.
macro_rules! user_columns {
    () => {
        "id, username, roles, status, email, created_at, updated_at"
    };
}
pub(crate) use user_columns;

pub(crate) fn user(row: &impl Columns) -> StoreResult<User> {
    User::try_from(UserRow {
        id: get(row, "id")?,
        username: get(row, "username")?,
        roles: get(row, "roles")?,
        status: get(row, "status")?,
        email: get(row, "email")?,
        created_at: get(row, "created_at")?,
        updated_at: get(row, "updated_at")?,
    })
}

/// The columns of a token's or session's owner in a joined read, each named
/// `owner_*`; read back by [`owner`].
macro_rules! owner_columns {
    () => {
        "u.id AS owner_id, u.username AS owner_username, u.roles AS owner_roles, \
         u.status AS owner_status, u.email AS owner_email, \
         u.created_at AS owner_created_at, u.updated_at AS owner_updated_at"
    };
}
pub(crate) use owner_columns;

/// The user of `owner_columns!`.
pub(crate) fn owner(row: &impl Columns) -> StoreResult<User> {
    User::try_from(UserRow {
        id: get(row, "owner_id")?,
        username: get(row, "owner_username")?,
        roles: get(row, "owner_roles")?,
        status: get(row, "owner_status")?,
        email: get(row, "owner_email")?,
        created_at: get(row, "owner_created_at")?,
        updated_at: get(row, "owner_updated_at")?,
    })
}

pub(crate) fn session(row: &impl Columns) -> StoreResult<Session> {
    Ok(Session::from(SessionRow {
        id: get(row, "id")?,
        user_id: get(row, "user_id")?,
        created_at: get(row, "created_at")?,
        last_seen_at: get(row, "last_seen_at")?,
        expires_at: get(row, "expires_at")?,
    }))
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
    ($extra:expr, $tail:literal) => {
        concat!(
            "SELECT t.id, t.user_id, t.name, t.description, t.scopes, t.applications, t.state, \
             t.expires_at, t.created_at, t.updated_at, t.last_used_at, t.last_used_ip, \
             t.renewal_every_days, t.renewal_callback_url, t.renewal_mail_recipient, \
             t.renewal_secret_seed, t.renewal_next_at, t.renewal_last_at, t.renewed_to, \
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

pub(crate) fn token(row: &impl Columns) -> StoreResult<ApiToken> {
    ApiToken::try_from(ApiTokenRow {
        id: get(row, "id")?,
        user_id: get(row, "user_id")?,
        name: get(row, "name")?,
        description: get(row, "description")?,
        scopes: get(row, "scopes")?,
        applications: get(row, "applications")?,
        state: get(row, "state")?,
        expires_at: get(row, "expires_at")?,
        created_at: get(row, "created_at")?,
        updated_at: get(row, "updated_at")?,
        last_used_at: get(row, "last_used_at")?,
        last_used_ip: get(row, "last_used_ip")?,
        renewal_every_days: get::<Option<i32>>(row, "renewal_every_days")?.map(i64::from),
        renewal_callback_url: get(row, "renewal_callback_url")?,
        renewal_mail_recipient: get(row, "renewal_mail_recipient")?,
        renewal_secret_seed: get(row, "renewal_secret_seed")?,
        renewal_next_at: get(row, "renewal_next_at")?,
        renewal_last_at: get(row, "renewal_last_at")?,
        current_hint: get(row, "current_hint")?,
        previous_hint: get(row, "previous_hint")?,
        previous_expires_at: get(row, "previous_expires_at")?,
        renewed_to: get(row, "renewed_to")?,
    })
}

/// A renewal policy as its four nullable columns.
#[derive(Debug, Default)]
pub(crate) struct RenewalColumns<'a> {
    pub every_days: Option<i32>,
    pub callback_url: Option<&'a str>,
    pub mail_recipient: Option<&'a str>,
    pub secret_seed: Option<&'a [u8]>,
    pub next_at: Option<time::OffsetDateTime>,
    pub last_at: Option<time::OffsetDateTime>,
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
            next_at: Some(r.next_renewal_at),
            last_at: r.last_renewed_at,
        })
    }
}

pub(crate) fn slot(name: &str) -> StoreResult<SecretSlot> {
    keyward_core::rows::secret_slot(name)
}
