//! WAL checkpoints beside the writer rather than inside its commits.
//!
//! By default SQLite copies the write-ahead log back into the database file
//! (and syncs both) in whichever commit crosses 1000 pages: a write that
//! happens to land there pays for everyone's. Here a task copies the log on
//! another connection instead, in `PASSIVE` mode, which never waits for the
//! writer or for readers: every [`BUSY_EVERY`] while the log keeps growing
//! (by [`BUSY_GROWTH_PAGES`] since the previous pass), every [`IDLE_EVERY`]
//! otherwise. Pages rewritten many times between two checkpoints (the tail
//! of a growing index) are copied once.
//!
//! Copying is not enough for the log to start over: SQLite restarts it at
//! the beginning of a write only when every frame in it has been copied,
//! and a writer that commits every fraction of a millisecond always leaves
//! a few frames behind. So once the log holds [`RESTART_LOG_PAGES`], the
//! task finishes the checkpoint on the writer's own connection, in its turn
//! with the writes: the background pass has just copied nearly everything,
//! so the writer waits only for the last frames and the sync, and its next
//! write restarts the log. The writer's own automatic checkpoint, at
//! [`WRITER_CHECKPOINT_PAGES`], is a backstop that a running task never
//! lets the log reach: there the writer would copy and sync thousands of
//! pages itself while every write behind it waits.

use std::sync::Arc;
use std::time::Duration;

use sqlx::SqlitePool;
use tokio::task::JoinHandle;

/// How long the task waits between checkpoints while writes are few. A pass
/// with nothing to copy does not touch the files.
const IDLE_EVERY: Duration = Duration::from_millis(250);

/// How long it waits while writes keep coming.
const BUSY_EVERY: Duration = Duration::from_millis(25);

/// A log grown by this many pages since the previous pass means writes
/// keep coming.
const BUSY_GROWTH_PAGES: i64 = 250;

/// Past this many pages in the log, the checkpoint is finished on the
/// writer's connection so that the log starts over.
const RESTART_LOG_PAGES: i64 = 4000;

/// The writer's own automatic checkpoint threshold, in pages: reached only
/// if the task falls behind or is not running.
pub(crate) const WRITER_CHECKPOINT_PAGES: &str = "10000";

/// The running checkpoint task; it stops when the last handle is dropped or
/// the pools are closed.
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
    /// Starts checkpointing through `pool`, and on `writer` (the one write
    /// connection) to restart the log, on the current Tokio runtime;
    /// without one, the writer's own threshold is all there is.
    pub(crate) fn start(pool: SqlitePool, writer: SqlitePool) -> Self {
        let task = tokio::runtime::Handle::try_current()
            .ok()
            .map(|runtime| Arc::new(AbortOnDrop(runtime.spawn(run(pool, writer)))));
        Self(task)
    }
}

async fn run(pool: SqlitePool, writer: SqlitePool) {
    let mut last = 0;
    loop {
        let wait = match checkpoint(&pool, &writer).await {
            Ok(log) => {
                // A log shorter than before started over since.
                let grown = if log >= last { log - last } else { log };
                last = log;
                if grown >= BUSY_GROWTH_PAGES {
                    BUSY_EVERY
                } else {
                    IDLE_EVERY
                }
            }
            Err(err) => {
                if pool.is_closed() || writer.is_closed() {
                    return;
                }
                tracing::warn!(error = %err, "WAL checkpoint failed; retrying");
                IDLE_EVERY
            }
        };
        tokio::time::sleep(wait).await;
        if pool.is_closed() || writer.is_closed() {
            return;
        }
    }
}

/// One pass: copies the log on `pool`, finishes on `writer` if the log is
/// long enough to start over, and returns the log's length in pages.
async fn checkpoint(pool: &SqlitePool, writer: &SqlitePool) -> Result<i64, sqlx::Error> {
    // (busy, pages in the log, pages copied); -1 for both counts when the
    // database is not in WAL mode.
    let (_, log, _): (i64, i64, i64) = sqlx::query_as("PRAGMA wal_checkpoint(PASSIVE)")
        .fetch_one(pool)
        .await?;
    if log >= RESTART_LOG_PAGES {
        sqlx::query("PRAGMA wal_checkpoint(PASSIVE)")
            .execute(writer)
            .await?;
    }
    Ok(log)
}
