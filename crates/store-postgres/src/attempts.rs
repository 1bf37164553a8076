//! [`AttemptStore`] on PostgreSQL: one row per key in `auth_attempts`, so
//! every instance on the database counts against one budget. A reservation
//! is one `INSERT … ON CONFLICT DO UPDATE … WHERE`, which locks the key's
//! row: of concurrent reservations, at most the limit succeed.

use async_trait::async_trait;
use keyward_core::store::{AttemptOutcome, AttemptStore, StoreResult};
use time::OffsetDateTime;

use crate::rows::get;
use crate::{PgStore, db_error};

#[async_trait]
impl AttemptStore for PgStore {
    async fn reserve_attempt(
        &self,
        key: &str,
        limit: u32,
        window: time::Duration,
        now: OffsetDateTime,
    ) -> StoreResult<AttemptOutcome> {
        // A window that started at or before this has ended.
        let ended = now - window;
        let reserved = sqlx::query(
            "INSERT INTO auth_attempts AS a (key, window_start, count) VALUES ($1, $2, 1) \
             ON CONFLICT (key) DO UPDATE SET \
                 window_start = CASE WHEN a.window_start <= $3 THEN $2 ELSE a.window_start END, \
                 count = CASE WHEN a.window_start <= $3 THEN 1 ELSE a.count + 1 END \
             WHERE a.window_start <= $3 OR a.count < $4 \
             RETURNING window_start",
        )
        .bind(key)
        .bind(now)
        .bind(ended)
        .bind(i64::from(limit).min(i64::from(i32::MAX)) as i32)
        .fetch_optional(&self.pool)
        .await
        .map_err(db_error)?;
        if let Some(row) = reserved {
            return Ok(AttemptOutcome::Reserved {
                window_start: get(&row, "window_start")?,
            });
        }
        let row = sqlx::query("SELECT window_start FROM auth_attempts WHERE key = $1")
            .bind(key)
            .fetch_optional(&self.pool)
            .await
            .map_err(db_error)?;
        let window_start: OffsetDateTime = match row {
            Some(row) => get(&row, "window_start")?,
            None => now,
        };
        Ok(AttemptOutcome::Refused {
            retry_at: window_start + window,
        })
    }

    async fn release_attempt(&self, key: &str, window_start: OffsetDateTime) -> StoreResult<()> {
        sqlx::query(
            "UPDATE auth_attempts SET count = count - 1 \
             WHERE key = $1 AND window_start = $2 AND count > 0",
        )
        .bind(key)
        .bind(window_start)
        .execute(&self.pool)
        .await
        .map_err(db_error)?;
        Ok(())
    }

    async fn reset_attempts(&self, key: &str) -> StoreResult<()> {
        sqlx::query("DELETE FROM auth_attempts WHERE key = $1")
            .bind(key)
            .execute(&self.pool)
            .await
            .map_err(db_error)?;
        Ok(())
    }

    async fn purge_attempts(&self, started_before: OffsetDateTime) -> StoreResult<u64> {
        let done = sqlx::query("DELETE FROM auth_attempts WHERE window_start <= $1")
            .bind(started_before)
            .execute(&self.pool)
            .await
            .map_err(db_error)?;
        Ok(done.rows_affected())
    }
}
