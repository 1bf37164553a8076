//! Login sessions, found by the digest of their secret, touched when used and
//! swept once they end.

use async_trait::async_trait;
use keyward_core::effects::SideEffects;
use keyward_core::model::{NewSession, Session, SessionDevice, User};
use keyward_core::secret::Digest;
use keyward_core::store::{SessionStore, StoreResult};
use sqlx::Row;
use time::OffsetDateTime;
use uuid::Uuid;

use crate::{PgStore, db_error, effects, rows};

#[async_trait]
impl SessionStore for PgStore {
    /// Inserts a session, last seen at its creation.
    /// [`StoreError::Conflict`](keyward_core::error::StoreError::Conflict) if
    /// the id or digest is taken.
    async fn insert_session(&self, session: &NewSession, effects: &SideEffects) -> StoreResult<()> {
        let mut tx = self.pool.begin().await.map_err(db_error)?;
        sqlx::query(
            "INSERT INTO sessions \
             (id, user_id, digest, created_at, last_seen_at, expires_at, ip, user_agent) \
             VALUES ($1, $2, $3, $4, $4, $5, $6, $7)",
        )
        .bind(session.id)
        .bind(session.user_id)
        .bind(session.digest.as_bytes())
        .bind(session.created_at)
        .bind(session.expires_at)
        .bind(session.ip.as_deref())
        .bind(session.user_agent.as_deref())
        .execute(&mut *tx)
        .await
        .map_err(db_error)?;
        effects::write(&mut tx, effects).await?;
        tx.commit().await.map_err(db_error)
    }

    /// The session whose secret has this digest, ended or not: the caller
    /// judges its lifetime.
    async fn find_session(&self, digest: &Digest) -> StoreResult<Option<Session>> {
        sqlx::query(
            "SELECT id, user_id, created_at, last_seen_at, expires_at \
             FROM sessions WHERE digest = $1",
        )
        .bind(digest.as_bytes())
        .fetch_optional(&self.pool)
        .await
        .map_err(db_error)?
        .map(|row| rows::session(&row))
        .transpose()
    }

    /// One query, on the readers: the session joined with its user.
    async fn find_session_with_owner(
        &self,
        digest: &Digest,
    ) -> StoreResult<Option<(Session, User)>> {
        self.readers.session_by_digest(digest).await
    }

    /// Moves `last_seen_at` forward to `at`; an earlier `at` changes nothing.
    async fn touch_session(&self, id: Uuid, at: OffsetDateTime) -> StoreResult<()> {
        sqlx::query("UPDATE sessions SET last_seen_at = $2 WHERE id = $1 AND last_seen_at < $2")
            .bind(id)
            .bind(at)
            .execute(&self.pool)
            .await
            .map_err(db_error)?;
        Ok(())
    }

    async fn delete_session(&self, id: Uuid, effects: &SideEffects) -> StoreResult<bool> {
        let mut tx = self.pool.begin().await.map_err(db_error)?;
        let done = sqlx::query("DELETE FROM sessions WHERE id = $1")
            .bind(id)
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
             FROM sessions WHERE user_id = $1 AND last_seen_at >= $2 AND expires_at > $3 \
             ORDER BY last_seen_at DESC, id",
        )
        .bind(user_id)
        .bind(idle_cutoff)
        .bind(now)
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
        let mut tx = self.pool.begin().await.map_err(db_error)?;
        let done = sqlx::query("DELETE FROM sessions WHERE id = $1 AND user_id = $2")
            .bind(id)
            .bind(user_id)
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
        let done = sqlx::query(
            "DELETE FROM sessions WHERE user_id = $1 AND ($2::uuid IS NULL OR id <> $2)",
        )
        .bind(user_id)
        .bind(except)
        .execute(&self.pool)
        .await
        .map_err(db_error)?;
        Ok(done.rows_affected())
    }

    /// Deletes the sessions that have ended: last seen before `idle_cutoff`
    /// (= now − idle lifetime), or whose absolute end is at or before `now`.
    /// Returns how many.
    async fn delete_ended_sessions(
        &self,
        idle_cutoff: OffsetDateTime,
        now: OffsetDateTime,
    ) -> StoreResult<u64> {
        let done = sqlx::query("DELETE FROM sessions WHERE last_seen_at < $1 OR expires_at <= $2")
            .bind(idle_cutoff)
            .bind(now)
            .execute(&self.pool)
            .await
            .map_err(db_error)?;
        Ok(done.rows_affected())
    }
}
