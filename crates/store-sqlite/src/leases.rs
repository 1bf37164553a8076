//! [`LeaseStore`] on SQLite: the `leases` table, one row per named lease.
//!
//! Taking a lease is one upsert whose update only applies when the row is
//! expired or already ours. SQLite runs one writing statement at a time (a
//! writer waits on the busy timeout for the write lock), so the statement is
//! atomic: of concurrent callers, the first takes the lease and the others
//! find it live. Whether ours holds it is told by the number of rows the
//! statement changed: an upsert whose `WHERE` is false changes none.

use async_trait::async_trait;
use keyward_core::store::{LeaseStore, StoreResult};
use time::{Duration, OffsetDateTime};

use crate::SqliteStore;
use crate::rows::{db_error, secs, secs_ceil};

#[async_trait]
impl LeaseStore for SqliteStore {
    /// The end of the lease is stored rounded up to a whole second, so that
    /// another holder never takes it before `now + ttl`; `expires_at <= now`
    /// compares with `now` rounded down.
    async fn try_acquire_lease(
        &self,
        name: &str,
        holder: &str,
        now: OffsetDateTime,
        ttl: Duration,
    ) -> StoreResult<bool> {
        let done = sqlx::query(
            "INSERT INTO leases (name, holder, expires_at) VALUES (?1, ?2, ?3) \
             ON CONFLICT (name) DO UPDATE \
             SET holder = excluded.holder, expires_at = excluded.expires_at \
             WHERE leases.expires_at <= ?4 OR leases.holder = excluded.holder",
        )
        .bind(name)
        .bind(holder)
        .bind(secs_ceil(now.saturating_add(ttl)))
        .bind(secs(now))
        .execute(&self.writer)
        .await
        .map_err(db_error)?;
        Ok(done.rows_affected() > 0)
    }

    async fn release_lease(&self, name: &str, holder: &str) -> StoreResult<()> {
        sqlx::query("DELETE FROM leases WHERE name = ?1 AND holder = ?2")
            .bind(name)
            .bind(holder)
            .execute(&self.writer)
            .await
            .map(drop)
            .map_err(db_error)
    }
}
