//! WAL checkpoints beside the writer rather than inside its commits.
//!
//! By default SQLite copies the write-ahead log back into the database file
//! (and syncs both) in whichever commit crosses 1000 pages: a write that
//! happens to land there pays for everyone's. Here the writer checkpoints by
//! itself only past [`WRITER_CHECKPOINT_PAGES`], a backstop; a task copies
//! the log on another connection every [`CHECKPOINT_EVERY`] instead, in
//! `PASSIVE` mode, which never waits for the writer or for readers. Pages
//! rewritten many times between two checkpoints (the tail of a growing
//! index) are copied once.

use std::sync::Arc;
use std::time::Duration;

use sqlx::SqlitePool;
use tokio::task::JoinHandle;

/// How often the background checkpoint runs.
const CHECKPOINT_EVERY: Duration = Duration::from_millis(500);

/// The writer's own automatic checkpoint threshold, in pages: reached only
/// if the background checkpoints fall behind or are not running.
pub(crate) const WRITER_CHECKPOINT_PAGES: &str = "10000";

/// The running checkpoint task; it stops when the last handle is dropped or
/// the pool is closed.
#[derive(Debug, Clone)]
pub(crate) struct Checkpointer(#[allow(dead_code)] Option<Arc<AbortOnDrop>>);

#[derive(Debug)]
struct AbortOnDrop(JoinHandle<()>);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}

impl Checkpointer {
    /// Starts checkpointing through `pool` on the current Tokio runtime;
    /// without one, the writer's own threshold is all there is.
    pub(crate) fn start(pool: SqlitePool) -> Self {
        let task = tokio::runtime::Handle::try_current()
            .ok()
            .map(|runtime| Arc::new(AbortOnDrop(runtime.spawn(run(pool)))));
        Self(task)
    }
}

async fn run(pool: SqlitePool) {
    let mut tick = tokio::time::interval(CHECKPOINT_EVERY);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tick.tick().await;
        if pool.is_closed() {
            return;
        }
        if let Err(err) = sqlx::query("PRAGMA wal_checkpoint(PASSIVE)")
            .execute(&pool)
            .await
        {
            if pool.is_closed() {
                return;
            }
            tracing::warn!(error = %err, "WAL checkpoint failed; retrying");
        }
    }
}
