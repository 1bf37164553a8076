//! Users: inserting them (a username taken case-insensitively is a conflict),
//! finding them by id or by lowercased username for login, changing them.

use async_trait::async_trait;
use keyward_core::model::{NewUser, User, UserUpdate};
use keyward_core::store::{StoreResult, UserStore};
use time::OffsetDateTime;
use uuid::Uuid;

use crate::rows::{self, get};
use crate::{PgStore, db_error};

#[async_trait]
impl UserStore for PgStore {
    /// Inserts a user; [`StoreError::Conflict`](keyward_core::error::StoreError::Conflict)
    /// if the lowercased username (`username_key`) or the id is taken.
    async fn insert_user(&self, user: &NewUser) -> StoreResult<User> {
        let username = user.username.as_str();
        let row = sqlx::query(
            "INSERT INTO users \
                 (id, username, username_key, password_hash, roles, status, created_at, updated_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $7) \
             RETURNING id, username, roles, status, created_at, updated_at",
        )
        .bind(user.id)
        .bind(username)
        .bind(username.to_lowercase())
        .bind(&user.password_hash)
        .bind(&user.roles)
        .bind(user.status.as_str())
        .bind(user.now)
        .fetch_one(&self.pool)
        .await
        .map_err(db_error)?;
        rows::user(&row)
    }

    async fn find_user(&self, id: Uuid) -> StoreResult<Option<User>> {
        sqlx::query(
            "SELECT id, username, roles, status, created_at, updated_at FROM users WHERE id = $1",
        )
        .bind(id)
        .fetch_optional(&self.pool)
        .await
        .map_err(db_error)?
        .map(|row| rows::user(&row))
        .transpose()
    }

    /// The service passes the key already lowercased; it is lowercased again
    /// (idempotent) with the same `str::to_lowercase` that filled
    /// `username_key`, so any caller gets the case-insensitive match.
    async fn find_user_for_login(&self, username: &str) -> StoreResult<Option<(User, String)>> {
        let Some(row) = sqlx::query(
            "SELECT id, username, roles, status, created_at, updated_at, password_hash \
             FROM users WHERE username_key = $1",
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

    /// Applies the fields that are `Some` and sets `updated_at`; an empty
    /// update changes nothing. `None` if there is no such user.
    async fn update_user(
        &self,
        id: Uuid,
        update: &UserUpdate,
        now: OffsetDateTime,
    ) -> StoreResult<Option<User>> {
        if update.roles.is_none() && update.status.is_none() && update.password_hash.is_none() {
            return self.find_user(id).await;
        }
        sqlx::query(
            "UPDATE users SET \
                 roles = COALESCE($2, roles), \
                 status = COALESCE($3, status), \
                 password_hash = COALESCE($4, password_hash), \
                 updated_at = $5 \
             WHERE id = $1 \
             RETURNING id, username, roles, status, created_at, updated_at",
        )
        .bind(id)
        .bind(update.roles.as_deref())
        .bind(update.status.map(|s| s.as_str()))
        .bind(update.password_hash.as_deref())
        .bind(now)
        .fetch_optional(&self.pool)
        .await
        .map_err(db_error)?
        .map(|row| rows::user(&row))
        .transpose()
    }

    /// Every user, oldest first (then by id).
    async fn list_users(&self) -> StoreResult<Vec<User>> {
        sqlx::query(
            "SELECT id, username, roles, status, created_at, updated_at \
             FROM users ORDER BY created_at, id",
        )
        .fetch_all(&self.pool)
        .await
        .map_err(db_error)?
        .iter()
        .map(rows::user)
        .collect()
    }
}
