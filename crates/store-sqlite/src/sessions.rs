//! [`SessionStore`] on SQLite: the `sessions` table, looked up by the digest
//! of the session secret.

use async_trait::async_trait;
use keyward_core::effects::SideEffects;
use keyward_core::model::{NewSession, Session, SessionDevice, User};
use keyward_core::secret::Digest;
use keyward_core::store::{SessionStore, StoreResult};
use sqlx::Row;
use time::OffsetDateTime;
use uuid::Uuid;

use crate::rows::{self, db_error, id_text, secs, secs_ceil};
use crate::{SqliteStore, effects};

#[async_trait]
impl SessionStore for SqliteStore {
    /// Inserts the session with `last_seen_at = created_at`.
    async fn insert_session(&self, session: &NewSession, effects: &SideEffects) -> StoreResult<()> {
        let mut tx = self.write().await?;
        sqlx::query(
            "INSERT INTO sessions \
             (id, user_id, digest, created_at, last_seen_at, expires_at, ip, user_agent) \
             VALUES (?1, ?2, ?3, ?4, ?4, ?5, ?6, ?7)",
        )
        .bind(id_text(session.id))
        .bind(id_text(session.user_id))
        .bind(session.digest.as_bytes())
        .bind(secs(session.created_at))
        .bind(secs(session.expires_at))
        .bind(session.ip.as_deref())
        .bind(session.user_agent.as_deref())
        .execute(&mut *tx)
        .await
        .map_err(db_error)?;
        effects::write(&mut tx, effects).await?;
        tx.commit().await.map_err(db_error)
    }

    async fn find_session(&self, digest: &Digest) -> StoreResult<Option<Session>> {
        sqlx::query(
            "SELECT id, user_id, created_at, last_seen_at, expires_at FROM sessions \
             WHERE digest = ?1",
        )
        .bind(digest.as_bytes())
        .fetch_optional(&self.pool)
        .await
        .map_err(db_error)?
        .map(|row| rows::session(&row))
        .transpose()
    }

    /// One query on the readers: the session and its user.
    async fn find_session_with_owner(
        &self,
        digest: &Digest,
    ) -> StoreResult<Option<(Session, User)>> {
        self.readers.session_by_digest(digest)
    }

    /// Sets `last_seen_at` to `at` unless it is already later. A missing
    /// session is not an error.
    async fn touch_session(&self, id: Uuid, at: OffsetDateTime) -> StoreResult<()> {
        sqlx::query("UPDATE sessions SET last_seen_at = ?2 WHERE id = ?1 AND last_seen_at < ?2")
            .bind(id_text(id))
            .bind(secs(at))
            .execute(&self.writer)
            .await
            .map(drop)
            .map_err(db_error)
    }

    async fn delete_session(&self, id: Uuid, effects: &SideEffects) -> StoreResult<bool> {
        let mut tx = self.write().await?;
        let done = sqlx::query("DELETE FROM sessions WHERE id = ?1")
            .bind(id_text(id))
            .execute(&mut *tx)
            .await
            .map_err(db_error)?;
        let deleted = done.rows_affected() > 0;
        if deleted {
            effects::write(&mut tx, effects).await?;
        }
        tx.commit().await.map_err(db_error)?;
        Ok(deleted)
    }

    async fn list_sessions_of(
        &self,
        user_id: Uuid,
        idle_cutoff: OffsetDateTime,
        now: OffsetDateTime,
    ) -> StoreResult<Vec<SessionDevice>> {
        let found = sqlx::query(
            "SELECT id, user_id, created_at, last_seen_at, expires_at, ip, user_agent \
             FROM sessions WHERE user_id = ?1 AND last_seen_at >= ?2 AND expires_at > ?3 \
             ORDER BY last_seen_at DESC, id",
        )
        .bind(id_text(user_id))
        .bind(secs_ceil(idle_cutoff))
        .bind(secs(now))
        .fetch_all(&self.pool)
        .await
        .map_err(db_error)?;
        found
            .iter()
            .map(|row| {
                Ok(SessionDevice {
                    session: rows::session(row)?,
                    ip: row.try_get("ip").map_err(db_error)?,
                    user_agent: row.try_get("user_agent").map_err(db_error)?,
                })
            })
            .collect()
    }

    async fn delete_session_of(
        &self,
        user_id: Uuid,
        id: Uuid,
        effects: &SideEffects,
    ) -> StoreResult<bool> {
        let mut tx = self.write().await?;
        let done = sqlx::query("DELETE FROM sessions WHERE id = ?1 AND user_id = ?2")
            .bind(id_text(id))
            .bind(id_text(user_id))
            .execute(&mut *tx)
            .await
            .map_err(db_error)?;
        let deleted = done.rows_affected() > 0;
        if deleted {
            effects::write(&mut tx, effects).await?;
        }
        tx.commit().await.map_err(db_error)?;
        Ok(deleted)
    }

    async fn delete_sessions_of(&self, user_id: Uuid, except: Option<Uuid>) -> StoreResult<u64> {
        let done =
            sqlx::query("DELETE FROM sessions WHERE user_id = ?1 AND (?2 IS NULL OR id <> ?2)")
                .bind(id_text(user_id))
                .bind(except.map(id_text))
                .execute(&self.writer)
                .await
                .map_err(db_error)?;
        Ok(done.rows_affected())
    }

    /// Deletes every session with `last_seen_at < idle_cutoff` (idle too
    /// long) or `expires_at <= now` (past its absolute end).
    async fn delete_ended_sessions(
        &self,
        idle_cutoff: OffsetDateTime,
        now: OffsetDateTime,
    ) -> StoreResult<u64> {
        let done = sqlx::query("DELETE FROM sessions WHERE last_seen_at < ?1 OR expires_at <= ?2")
            .bind(secs_ceil(idle_cutoff))
            .bind(secs(now))
            .execute(&self.writer)
            .await
            .map_err(db_error)?;
        Ok(done.rows_affected())
    }
}
