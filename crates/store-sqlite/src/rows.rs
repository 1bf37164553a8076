//! Conversions between the domain's types and SQLite's columns: ids as TEXT,
//! times as INTEGER unix seconds, lists as JSON text, digests as BLOBs. Rows
//! read through sqlx are decoded here into the core's neutral rows, and
//! [`keyward_core::rows`] decides what they mean, by the same rules as every
//! other store. Every read-back is checked; bad data becomes
//! [`StoreError::Database`], never a panic.

use keyward_core::error::StoreError;
use keyward_core::model::{ApiToken, SecretSlot, Session, User};
use keyward_core::rows::{ApiTokenRow, SessionRow, UserRow};
use keyward_core::store::StoreResult;
use sqlx::Row;
use sqlx::sqlite::SqliteRow;
use time::OffsetDateTime;
use uuid::Uuid;

/// Any sqlx failure, as the store reports it: a foreign-key violation (the
/// user, app or token a write refers to was deleted meanwhile) is
/// [`StoreError::Gone`], anything else a database error.
pub(crate) fn db_error(err: sqlx::Error) -> StoreError {
    if let sqlx::Error::Database(db) = &err
        && db.is_foreign_key_violation()
    {
        return StoreError::Gone(format!("a referenced row no longer exists: {db}"));
    }
    StoreError::Database(err.to_string())
}

pub(crate) fn bad_data(column: &str, what: impl std::fmt::Display) -> StoreError {
    StoreError::Database(format!("unreadable value in column {column}: {what}"))
}

/// Reads one column, mapping a missing column or a type mismatch to
/// [`StoreError::Database`].
pub(crate) fn get<'r, T>(row: &'r SqliteRow, column: &str) -> StoreResult<T>
where
    T: sqlx::Decode<'r, sqlx::Sqlite> + sqlx::Type<sqlx::Sqlite>,
{
    row.try_get(column).map_err(db_error)
}

// Times are stored as whole unix seconds. A bound given with sub-second
// precision is rounded so that comparing a stored (whole) second with it gives
// the same answer as comparing the exact instants:
// `stored <= t` and `stored > t` use `floor(t)`; `stored < t` and
// `stored >= t` use `ceil(t)`.

/// A time to store, and the bound for `<=` / `>` comparisons.
pub(crate) fn secs(t: OffsetDateTime) -> i64 {
    t.unix_timestamp()
}

/// The bound for `<` / `>=` comparisons against stored seconds.
pub(crate) fn secs_ceil(t: OffsetDateTime) -> i64 {
    let floor = t.unix_timestamp();
    if t.nanosecond() > 0 { floor + 1 } else { floor }
}

pub(crate) fn time_of(column: &str, value: i64) -> StoreResult<OffsetDateTime> {
    OffsetDateTime::from_unix_timestamp(value).map_err(|e| bad_data(column, e))
}

pub(crate) fn get_time(row: &SqliteRow, column: &str) -> StoreResult<OffsetDateTime> {
    time_of(column, get(row, column)?)
}

pub(crate) fn get_opt_time(row: &SqliteRow, column: &str) -> StoreResult<Option<OffsetDateTime>> {
    get::<Option<i64>>(row, column)?
        .map(|v| time_of(column, v))
        .transpose()
}

/// An id as stored: hyphenated lowercase text.
pub(crate) fn id_text(id: Uuid) -> String {
    id.hyphenated().to_string()
}

pub(crate) fn get_id(row: &SqliteRow, column: &str) -> StoreResult<Uuid> {
    let text: String = get(row, column)?;
    Uuid::parse_str(&text).map_err(|e| bad_data(column, e))
}

pub(crate) fn get_opt_id(row: &SqliteRow, column: &str) -> StoreResult<Option<Uuid>> {
    get::<Option<String>>(row, column)?
        .map(|text| Uuid::parse_str(&text).map_err(|e| bad_data(column, e)))
        .transpose()
}

/// A list as stored: a JSON array of strings.
pub(crate) fn json_list<'a>(items: impl IntoIterator<Item = &'a String>) -> StoreResult<String> {
    let items: Vec<&String> = items.into_iter().collect();
    serde_json::to_string(&items).map_err(|e| StoreError::Database(e.to_string()))
}

pub(crate) fn get_json<T: serde::de::DeserializeOwned>(
    row: &SqliteRow,
    column: &str,
) -> StoreResult<T> {
    let text: String = get(row, column)?;
    serde_json::from_str(&text).map_err(|e| bad_data(column, e))
}

/// Columns: `user_columns!`.
pub(crate) fn user(row: &SqliteRow) -> StoreResult<User> {
    User::try_from(UserRow {
        id: get_id(row, "id")?,
        username: get(row, "username")?,
        roles: get_json(row, "roles")?,
        status: get(row, "status")?,
        email: get(row, "email")?,
        created_at: get_time(row, "created_at")?,
        updated_at: get_time(row, "updated_at")?,
    })
}

/// The columns [`user`] reads, as a literal for `concat!`.
macro_rules! user_columns {
    () => {
        "id, username, roles, status, email, created_at, updated_at"
    };
}
pub(crate) use user_columns;

/// Columns: `id, user_id, created_at, last_seen_at, expires_at`.
pub(crate) fn session(row: &SqliteRow) -> StoreResult<Session> {
    Ok(Session::from(SessionRow {
        id: get_id(row, "id")?,
        user_id: get_id(row, "user_id")?,
        created_at: get_time(row, "created_at")?,
        last_seen_at: get_time(row, "last_seen_at")?,
        expires_at: get_time(row, "expires_at")?,
    }))
}

/// Columns: those of `token_columns!` in [`crate::tokens`].
pub(crate) fn token(row: &SqliteRow) -> StoreResult<ApiToken> {
    ApiToken::try_from(ApiTokenRow {
        id: get_id(row, "id")?,
        user_id: get_id(row, "user_id")?,
        name: get(row, "name")?,
        description: get(row, "description")?,
        scopes: get_json(row, "scopes")?,
        applications: get_json(row, "applications")?,
        state: get(row, "state")?,
        expires_at: get_opt_time(row, "expires_at")?,
        created_at: get_time(row, "created_at")?,
        updated_at: get_time(row, "updated_at")?,
        last_used_at: get_opt_time(row, "last_used_at")?,
        last_used_ip: get(row, "last_used_ip")?,
        renewal_every_days: get(row, "renewal_every_days")?,
        renewal_callback_url: get(row, "renewal_callback_url")?,
        renewal_mail_recipient: get(row, "renewal_mail_recipient")?,
        renewal_secret_seed: get(row, "renewal_secret_seed")?,
        renewal_next_at: get_opt_time(row, "renewal_next_at")?,
        renewal_last_at: get_opt_time(row, "renewal_last_at")?,
        current_hint: get(row, "hint")?,
        previous_hint: get(row, "previous_hint")?,
        previous_expires_at: get_opt_time(row, "previous_expires_at")?,
        renewed_to: get_opt_id(row, "renewed_to")?,
    })
}

/// A `slot` column: `current` or `previous`.
pub(crate) fn slot(row: &SqliteRow) -> StoreResult<SecretSlot> {
    keyward_core::rows::secret_slot(&get::<String>(row, "slot")?)
}
