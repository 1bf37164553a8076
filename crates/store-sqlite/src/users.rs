//! [`UserStore`] on SQLite: the `users` table. Usernames are unique
//! case-insensitively through the `username_key` column (the username
//! lowercased with Rust's `str::to_lowercase`, as the services lowercase a
//! login name), while `username` keeps the spelling given for display.

use async_trait::async_trait;
use keyward_core::error::StoreError;
use keyward_core::model::{NewUser, User, UserUpdate};
use keyward_core::store::{StoreResult, UserStore};
use time::OffsetDateTime;
use uuid::Uuid;

use crate::SqliteStore;
use crate::rows::{self, db_error, get, id_text, json_list, secs};

#[async_trait]
impl UserStore for SqliteStore {
    /// Inserts the user with `created_at = updated_at = user.now`. A username
    /// equal to an existing one up to case is [`StoreError::Conflict`].
    async fn insert_user(&self, user: &NewUser) -> StoreResult<User> {
        let username = user.username.as_str();
        let row = sqlx::query(
            "INSERT INTO users \
             (id, username, username_key, password_hash, roles, status, created_at, updated_at) \
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?7) \
             RETURNING id, username, roles, status, created_at, updated_at",
        )
        .bind(id_text(user.id))
        .bind(username)
        .bind(username.to_lowercase())
        .bind(&user.password_hash)
        .bind(json_list(&user.roles)?)
        .bind(user.status.as_str())
        .bind(secs(user.now))
        .fetch_one(&self.writer)
        .await
        .map_err(|err| match &err {
            sqlx::Error::Database(e) if e.is_unique_violation() => {
                StoreError::Conflict(format!("username {username:?} is taken"))
            }
            _ => db_error(err),
        })?;
        rows::user(&row)
    }

    async fn find_user(&self, id: Uuid) -> StoreResult<Option<User>> {
        sqlx::query(
            "SELECT id, username, roles, status, created_at, updated_at FROM users WHERE id = ?1",
        )
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
        let Some(row) = sqlx::query(
            "SELECT id, username, roles, status, created_at, updated_at, password_hash \
             FROM users WHERE username_key = ?1",
        )
        .bind(username.to_lowercase())
        .fetch_optional(&self.pool)
        .await
        .map_err(db_error)?
        else {
            return Ok(None);
        };
        Ok(Some((rows::user(&row)?, get(&row, "password_hash")?)))
    }

    /// Applies the `Some` fields and sets `updated_at = now`. `None` if there
    /// is no such user.
    async fn update_user(
        &self,
        id: Uuid,
        update: &UserUpdate,
        now: OffsetDateTime,
    ) -> StoreResult<Option<User>> {
        let roles = update.roles.as_ref().map(json_list).transpose()?;
        sqlx::query(
            "UPDATE users SET \
             roles = COALESCE(?2, roles), \
             status = COALESCE(?3, status), \
             password_hash = COALESCE(?4, password_hash), \
             updated_at = ?5 \
             WHERE id = ?1 \
             RETURNING id, username, roles, status, created_at, updated_at",
        )
        .bind(id_text(id))
        .bind(roles)
        .bind(update.status.map(|s| s.as_str()))
        .bind(update.password_hash.as_deref())
        .bind(secs(now))
        .fetch_optional(&self.writer)
        .await
        .map_err(db_error)?
        .map(|row| rows::user(&row))
        .transpose()
    }

    /// Every user, oldest first (then by id).
    async fn list_users(&self) -> StoreResult<Vec<User>> {
        sqlx::query(
            "SELECT id, username, roles, status, created_at, updated_at FROM users \
             ORDER BY created_at, id",
        )
        .fetch_all(&self.pool)
        .await
        .map_err(db_error)?
        .iter()
        .map(rows::user)
        .collect()
    }
}
