//! [`UserStore`] on SQLite: the `users` table. Usernames are unique
//! case-insensitively through the `username_key` column (the username
//! lowercased with Rust's `str::to_lowercase`, as the services lowercase a
//! login name), while `username` keeps the spelling given for display.
//!
//! Changes that could remove the last active admin count the others inside
//! the same write transaction; SQLite's single writer makes that atomic.

use async_trait::async_trait;
use keyward_core::effects::SideEffects;
use keyward_core::error::StoreError;
use keyward_core::model::{NewUser, PageRequest, User, UserFilter, UserUpdate};
use keyward_core::store::{StoreResult, UserChange, UserStore};
use sqlx::SqliteConnection;
use time::OffsetDateTime;
use uuid::Uuid;

use crate::rows::{self, db_error, get, id_text, json_list, secs, user_columns};
use crate::{SqliteStore, effects};

/// One user by id, on a connection inside a write.
async fn fetch_user(conn: &mut SqliteConnection, id: Uuid) -> StoreResult<Option<User>> {
    sqlx::query(concat!(
        "SELECT ",
        user_columns!(),
        " FROM users WHERE id = ?1"
    ))
    .bind(id_text(id))
    .fetch_optional(conn)
    .await
    .map_err(db_error)?
    .map(|row| rows::user(&row))
    .transpose()
}

/// Whether an active admin other than `id` exists.
async fn another_admin(conn: &mut SqliteConnection, id: Uuid) -> StoreResult<bool> {
    let row = sqlx::query(
        "SELECT EXISTS (SELECT 1 FROM users WHERE id <> ?1 AND status = 'active' \
           AND EXISTS (SELECT 1 FROM json_each(users.roles) WHERE value = 'admin')) AS found",
    )
    .bind(id_text(id))
    .fetch_one(conn)
    .await
    .map_err(db_error)?;
    Ok(get::<i64>(&row, "found")? == 1)
}

/// `LIKE` pattern of a prefix: its wildcards escaped with `\`.
pub(crate) fn prefix_pattern(prefix: &str) -> String {
    let mut pattern = String::with_capacity(prefix.len() + 1);
    for c in prefix.to_lowercase().chars() {
        if matches!(c, '%' | '_' | '\\') {
            pattern.push('\\');
        }
        pattern.push(c);
    }
    pattern.push('%');
    pattern
}

#[async_trait]
impl UserStore for SqliteStore {
    /// Inserts the user with `created_at = updated_at = user.now`. A username
    /// equal to an existing one up to case is [`StoreError::Conflict`].
    async fn insert_user(&self, user: &NewUser, effects: &SideEffects) -> StoreResult<User> {
        let username = user.username.as_str();
        let mut tx = self.write().await?;
        let row = sqlx::query(concat!(
            "INSERT INTO users \
             (id, username, username_key, password_hash, roles, status, email, created_at, \
              updated_at) \
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?8) \
             RETURNING ",
            user_columns!()
        ))
        .bind(id_text(user.id))
        .bind(username)
        .bind(username.to_lowercase())
        .bind(&user.password_hash)
        .bind(json_list(&user.roles)?)
        .bind(user.status.as_str())
        .bind(user.email.as_deref())
        .bind(secs(user.now))
        .fetch_one(&mut *tx)
        .await
        .map_err(|err| match &err {
            sqlx::Error::Database(e) if e.is_unique_violation() => {
                StoreError::Conflict(format!("username {username:?} is taken"))
            }
            _ => db_error(err),
        })?;
        let user = rows::user(&row)?;
        effects::write(&mut tx, effects).await?;
        tx.commit().await.map_err(db_error)?;
        Ok(user)
    }

    async fn find_user(&self, id: Uuid) -> StoreResult<Option<User>> {
        sqlx::query(concat!(
            "SELECT ",
            user_columns!(),
            " FROM users WHERE id = ?1"
        ))
        .bind(id_text(id))
        .fetch_optional(&self.pool)
        .await
        .map_err(db_error)?
        .map(|row| rows::user(&row))
        .transpose()
    }

    /// Matches `username`, lowercased, against the stored `username_key`.
    /// (The services pass it lowercased already; lowercasing again is
    /// idempotent and keeps the trait's "case-insensitive" promise for any
    /// caller.)
    async fn find_user_for_login(&self, username: &str) -> StoreResult<Option<(User, String)>> {
        let Some(row) = sqlx::query(concat!(
            "SELECT ",
            user_columns!(),
            ", password_hash FROM users WHERE username_key = ?1"
        ))
        .bind(username.to_lowercase())
        .fetch_optional(&self.pool)
        .await
        .map_err(db_error)?
        else {
            return Ok(None);
        };
        Ok(Some((rows::user(&row)?, get(&row, "password_hash")?)))
    }

    async fn find_password_hash(&self, id: Uuid) -> StoreResult<Option<String>> {
        let row = sqlx::query("SELECT password_hash FROM users WHERE id = ?1")
            .bind(id_text(id))
            .fetch_optional(&self.pool)
            .await
            .map_err(db_error)?;
        row.map(|r| get(&r, "password_hash")).transpose()
    }

    /// Applies the `Some` fields and sets `updated_at = now`, in one write
    /// with the last-admin check.
    async fn update_user(
        &self,
        id: Uuid,
        update: &UserUpdate,
        now: OffsetDateTime,
        effects: &SideEffects,
    ) -> StoreResult<UserChange> {
        let mut tx = self.write().await?;
        let Some(user) = fetch_user(&mut tx, id).await? else {
            return Ok(UserChange::NotFound);
        };
        if update.removes_admin(&user) && !another_admin(&mut tx, id).await? {
            return Ok(UserChange::LastAdmin);
        }
        let roles = update.roles.as_ref().map(json_list).transpose()?;
        let row = sqlx::query(concat!(
            "UPDATE users SET \
             roles = COALESCE(?2, roles), \
             status = COALESCE(?3, status), \
             password_hash = COALESCE(?4, password_hash), \
             email = CASE WHEN ?5 THEN ?6 ELSE email END, \
             updated_at = ?7 \
             WHERE id = ?1 \
             RETURNING ",
            user_columns!()
        ))
        .bind(id_text(id))
        .bind(roles)
        .bind(update.status.map(|s| s.as_str()))
        .bind(update.password_hash.as_deref())
        .bind(update.email.is_some())
        .bind(update.email.as_ref().and_then(|e| e.as_deref()))
        .bind(secs(now))
        .fetch_one(&mut *tx)
        .await
        .map_err(db_error)?;
        let user = rows::user(&row)?;
        effects::write(&mut tx, effects).await?;
        tx.commit().await.map_err(db_error)?;
        Ok(UserChange::Done(user))
    }

    /// Deletes the row; sessions, tokens (with their secrets), apps (with
    /// their codes and tokens) and OAuth tokens go by their foreign keys.
    async fn delete_user(&self, id: Uuid, effects: &SideEffects) -> StoreResult<UserChange> {
        let mut tx = self.write().await?;
        let Some(user) = fetch_user(&mut tx, id).await? else {
            return Ok(UserChange::NotFound);
        };
        if user.is_active_admin() && !another_admin(&mut tx, id).await? {
            return Ok(UserChange::LastAdmin);
        }
        sqlx::query("DELETE FROM users WHERE id = ?1")
            .bind(id_text(id))
            .execute(&mut *tx)
            .await
            .map_err(db_error)?;
        effects::write(&mut tx, effects).await?;
        tx.commit().await.map_err(db_error)?;
        Ok(UserChange::Done(user))
    }

    async fn list_app_ids_of(&self, user_id: Uuid) -> StoreResult<Vec<Uuid>> {
        let rows = sqlx::query("SELECT client_id FROM oauth_apps WHERE user_id = ?1")
            .bind(id_text(user_id))
            .fetch_all(&self.pool)
            .await
            .map_err(db_error)?;
        rows.iter()
            .map(|r| {
                let text: String = get(r, "client_id")?;
                Uuid::parse_str(&text).map_err(|e| StoreError::Database(e.to_string()))
            })
            .collect()
    }

    /// Ordered by `created_at`, then id; the prefix matches the lowercased
    /// username or e-mail address.
    async fn list_users(&self, filter: &UserFilter, page: &PageRequest) -> StoreResult<Vec<User>> {
        sqlx::query(concat!(
            "SELECT ",
            user_columns!(),
            " FROM users \
             WHERE (?1 IS NULL OR status = ?1) \
               AND (?2 IS NULL OR EXISTS (SELECT 1 FROM json_each(users.roles) WHERE value = ?2)) \
               AND (?3 IS NULL OR username_key LIKE ?3 ESCAPE '\\' \
                    OR lower(email) LIKE ?3 ESCAPE '\\') \
               AND (?4 IS NULL OR created_at > ?4 OR (created_at = ?4 AND id > ?5)) \
             ORDER BY created_at, id LIMIT ?6"
        ))
        .bind(filter.status.map(|s| s.as_str()))
        .bind(filter.role.as_deref())
        .bind(filter.prefix.as_deref().map(prefix_pattern))
        .bind(page.after.map(|k| secs(k.created_at)))
        .bind(page.after.map(|k| id_text(k.id)))
        .bind(i64::from(page.limit))
        .fetch_all(&self.pool)
        .await
        .map_err(db_error)?
        .iter()
        .map(rows::user)
        .collect()
    }
}
