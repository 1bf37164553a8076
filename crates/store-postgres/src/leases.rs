//! Named leases, one row each in `leases`: which instance runs a periodic
//! job in the current period.
//!
//! Taking a lease is one `INSERT … ON CONFLICT DO UPDATE … WHERE`. PostgreSQL
//! makes that atomic under concurrency: a caller whose insert meets a row
//! (even one inserted by a transaction still in progress) waits for that
//! row's lock and then judges the `WHERE` on its latest version, so of
//! concurrent callers the first takes the lease and the others find it live.
//! Whether ours holds it is told by the number of rows the statement wrote:
//! an upsert whose `WHERE` is false writes none.

use async_trait::async_trait;
use keyward_core::store::{LeaseStore, StoreResult};
use time::{Duration, OffsetDateTime};

use crate::{PgStore, db_error};

#[async_trait]
impl LeaseStore for PgStore {
    /// The end of the lease is stored rounded up to the microsecond
    /// (`TIMESTAMPTZ`'s precision), so that another holder never takes it
    /// before `now + ttl`.
    async fn try_acquire_lease(
        &self,
        name: &str,
        holder: &str,
        now: OffsetDateTime,
        ttl: Duration,
    ) -> StoreResult<bool> {
        let done = sqlx::query(
            "INSERT INTO leases (name, holder, expires_at) VALUES ($1, $2, $3) \
             ON CONFLICT (name) DO UPDATE \
             SET holder = EXCLUDED.holder, expires_at = EXCLUDED.expires_at \
             WHERE leases.expires_at <= $4 OR leases.holder = EXCLUDED.holder",
        )
        .bind(name)
        .bind(holder)
        .bind(micros_ceil(now.saturating_add(ttl)))
        .bind(now)
        .execute(&self.pool)
        .await
        .map_err(db_error)?;
        Ok(done.rows_affected() > 0)
    }

    async fn release_lease(&self, name: &str, holder: &str) -> StoreResult<()> {
        sqlx::query("DELETE FROM leases WHERE name = $1 AND holder = $2")
            .bind(name)
            .bind(holder)
            .execute(&self.pool)
            .await
            .map_err(db_error)?;
        Ok(())
    }
}

/// `t` rounded up to a whole microsecond (sqlx would truncate it).
fn micros_ceil(t: OffsetDateTime) -> OffsetDateTime {
    match t.nanosecond() % 1_000 {
        0 => t,
        extra => t.saturating_add(Duration::nanoseconds(i64::from(1_000 - extra))),
    }
}
