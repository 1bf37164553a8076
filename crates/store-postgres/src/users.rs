//! Users: inserting them (a username taken case-insensitively is a conflict),
//! finding them by id or by lowercased username for login, changing,
//! listing and deleting them.
//!
//! A change that could remove an active admin locks every active admin's
//! row first (`FOR UPDATE`), so concurrent demotions are serialized and the
//! last one left is never removed.

use async_trait::async_trait;
use keyward_core::effects::SideEffects;
use keyward_core::model::{NewUser, PageRequest, User, UserFilter, UserUpdate};
use keyward_core::store::{StoreResult, UserChange, UserStore};
use sqlx::PgConnection;
use time::OffsetDateTime;
use uuid::Uuid;

use crate::rows::{self, get, user_columns};
use crate::{PgStore, db_error, effects};

/// Locks the user's row (and, when the change could remove an admin, every
/// active admin's row, in id order); the user as it is, if it exists, and
/// whether another active admin remains.
async fn lock_user(conn: &mut PgConnection, id: Uuid) -> StoreResult<Option<(User, bool)>> {
    let admins = sqlx::query(
        "SELECT id FROM users WHERE status = 'active' AND 'admin' = ANY(roles) \
         ORDER BY id FOR UPDATE",
    )
    .fetch_all(&mut *conn)
    .await
    .map_err(db_error)?;
    let others = admins
        .iter()
        .map(|r| get::<Uuid>(r, "id"))
        .collect::<StoreResult<Vec<_>>>()?
        .into_iter()
        .any(|admin| admin != id);
    let user = sqlx::query(concat!(
        "SELECT ",
        user_columns!(),
        " FROM users WHERE id = $1 FOR UPDATE"
    ))
    .bind(id)
    .fetch_optional(&mut *conn)
    .await
    .map_err(db_error)?
    .map(|row| rows::user(&row))
    .transpose()?;
    Ok(user.map(|u| (u, others)))
}

/// `LIKE` pattern of a prefix: its wildcards escaped with `\`.
fn prefix_pattern(prefix: &str) -> String {
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
impl UserStore for PgStore {
    /// Inserts a user; [`StoreError::Conflict`](keyward_core::error::StoreError::Conflict)
    /// if the lowercased username (`username_key`) or the id is taken.
    async fn insert_user(&self, user: &NewUser, effects: &SideEffects) -> StoreResult<User> {
        let username = user.username.as_str();
        let mut tx = self.pool.begin().await.map_err(db_error)?;
        let row = sqlx::query(concat!(
            "INSERT INTO users \
                 (id, username, username_key, password_hash, roles, status, email, created_at, \
                  updated_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $8) \
             RETURNING ",
            user_columns!()
        ))
        .bind(user.id)
        .bind(username)
        .bind(username.to_lowercase())
        .bind(&user.password_hash)
        .bind(&user.roles)
        .bind(user.status.as_str())
        .bind(user.email.as_deref())
        .bind(user.now)
        .fetch_one(&mut *tx)
        .await
        .map_err(db_error)?;
        let user = rows::user(&row)?;
        effects::write(&mut tx, effects).await?;
        tx.commit().await.map_err(db_error)?;
        Ok(user)
    }

    async fn find_user(&self, id: Uuid) -> StoreResult<Option<User>> {
        sqlx::query(concat!(
            "SELECT ",
            user_columns!(),
            " FROM users WHERE id = $1"
        ))
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
        let Some(row) = sqlx::query(concat!(
            "SELECT ",
            user_columns!(),
            ", password_hash FROM users WHERE username_key = $1"
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
        let row = sqlx::query("SELECT password_hash FROM users WHERE id = $1")
            .bind(id)
            .fetch_optional(&self.pool)
            .await
            .map_err(db_error)?;
        row.map(|r| get(&r, "password_hash")).transpose()
    }

    /// Applies the fields that are `Some` and sets `updated_at`, in one
    /// transaction with the last-admin check.
    async fn update_user(
        &self,
        id: Uuid,
        update: &UserUpdate,
        now: OffsetDateTime,
        effects: &SideEffects,
    ) -> StoreResult<UserChange> {
        let mut tx = self.pool.begin().await.map_err(db_error)?;
        let Some((user, others)) = lock_user(&mut tx, id).await? else {
            return Ok(UserChange::NotFound);
        };
        if update.removes_admin(&user) && !others {
            return Ok(UserChange::LastAdmin);
        }
        let row = sqlx::query(concat!(
            "UPDATE users SET \
                 roles = COALESCE($2, roles), \
                 status = COALESCE($3, status), \
                 password_hash = COALESCE($4, password_hash), \
                 email = CASE WHEN $5 THEN $6 ELSE email END, \
                 updated_at = $7 \
             WHERE id = $1 \
             RETURNING ",
            user_columns!()
        ))
        .bind(id)
        .bind(update.roles.as_deref())
        .bind(update.status.map(|s| s.as_str()))
        .bind(update.password_hash.as_deref())
        .bind(update.email.is_some())
        .bind(update.email.as_ref().and_then(|e| e.as_deref()))
        .bind(now)
        .fetch_one(&mut *tx)
        .await
        .map_err(db_error)?;
        let user = rows::user(&row)?;
        effects::write(&mut tx, effects).await?;
        tx.commit().await.map_err(db_error)?;
        Ok(UserChange::Done(user))
    }

    /// Deletes the row; every credential goes by the foreign keys.
    async fn delete_user(&self, id: Uuid, effects: &SideEffects) -> StoreResult<UserChange> {
        let mut tx = self.pool.begin().await.map_err(db_error)?;
        let Some((user, others)) = lock_user(&mut tx, id).await? else {
            return Ok(UserChange::NotFound);
        };
        if user.is_active_admin() && !others {
            return Ok(UserChange::LastAdmin);
        }
        sqlx::query("DELETE FROM users WHERE id = $1")
            .bind(id)
            .execute(&mut *tx)
            .await
            .map_err(db_error)?;
        effects::write(&mut tx, effects).await?;
        tx.commit().await.map_err(db_error)?;
        Ok(UserChange::Done(user))
    }

    async fn list_app_ids_of(&self, user_id: Uuid) -> StoreResult<Vec<Uuid>> {
        sqlx::query("SELECT client_id FROM oauth_apps WHERE user_id = $1")
            .bind(user_id)
            .fetch_all(&self.pool)
            .await
            .map_err(db_error)?
            .iter()
            .map(|r| get(r, "client_id"))
            .collect()
    }

    /// Ordered by `created_at`, then id; the prefix matches the lowercased
    /// username or e-mail address.
    async fn list_users(&self, filter: &UserFilter, page: &PageRequest) -> StoreResult<Vec<User>> {
        sqlx::query(concat!(
            "SELECT ",
            user_columns!(),
            " FROM users \
             WHERE ($1::text IS NULL OR status = $1) \
               AND ($2::text IS NULL OR $2 = ANY(roles)) \
               AND ($3::text IS NULL OR username_key LIKE $3 OR lower(email) LIKE $3) \
               AND ($4::timestamptz IS NULL OR created_at > $4 \
                    OR (created_at = $4 AND id > $5)) \
             ORDER BY created_at, id LIMIT $6"
        ))
        .bind(filter.status.map(|s| s.as_str()))
        .bind(filter.role.as_deref())
        .bind(filter.prefix.as_deref().map(prefix_pattern))
        .bind(page.after.map(|k| k.created_at))
        .bind(page.after.map(|k| k.id))
        .bind(i64::from(page.limit))
        .fetch_all(&self.pool)
        .await
        .map_err(db_error)?
        .iter()
        .map(rows::user)
        .collect()
    }
}
