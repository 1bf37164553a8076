//! Keyward's store on an embedded SQLite file: [`SqliteStore`] implements
//! [`keyward_core::store::Store`] with runtime queries (no compile-time
//! database) and embedded migrations from `migrations/`.
//!
//! How the file is used:
//! - WAL journal, `synchronous = NORMAL`, `foreign_keys = ON` and a 5 s
//!   `busy_timeout` on every connection, and temporary data in memory, so
//!   readers never block the writer and a second process (the CLI next to a
//!   running server) waits for the write lock instead of failing;
//! - checkpoints run beside the writer, not in its commits, and restart the
//!   log on the writer's connection once it is long (`checkpoint`);
//! - the verification path's lookups (a credential with its owner) run on a
//!   few rusqlite connections on the calling thread (`readers`, `lookups`);
//!   every other statement goes through sqlx, which also runs the
//!   migrations (`_sqlx_migrations`);
//! - every write that touches more than one statement runs in a transaction
//!   opened with `BEGIN IMMEDIATE`, which takes the write lock up front:
//!   concurrent writers queue on the busy timeout rather than failing when a
//!   read lock cannot be upgraded;
//! - times are the caller's (the services' `Clock`), stored as unix seconds;
//!   SQLite's own clock is never read;
//! - secrets are stored only as their keyed digests.

mod audit;
mod checkpoint;
mod effects;
mod leases;
mod lookups;
mod oauth;
mod outbox;
#[cfg(test)]
mod plans;
mod readers;
mod renewal;
mod rows;
mod sessions;
mod token_secrets;
mod tokens;
mod url;
mod users;

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use keyward_core::error::StoreError;
use keyward_core::store::{Store, StoreResult};
use sqlx::sqlite::{
    SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteSynchronous,
};
use sqlx::{Sqlite, Transaction};

use crate::checkpoint::{Checkpointer, WRITER_CHECKPOINT_PAGES};
use crate::readers::Readers;
use crate::rows::db_error;
pub use crate::url::database_path;

/// How long a connection waits for another writer before giving up.
const BUSY_TIMEOUT: Duration = Duration::from_secs(5);

/// One reader per core, at most `max_connections`: a lookup runs on the
/// calling worker thread and holds its connection only while it runs, so
/// more connections than threads would sit idle.
fn reader_count(max_connections: u32) -> usize {
    let cores = std::thread::available_parallelism().map_or(2, |n| n.get());
    cores.min(max_connections.max(1) as usize)
}

/// The store on one SQLite file. Cheap to clone (a pool handle).
#[derive(Debug, Clone)]
pub struct SqliteStore {
    /// Reads, on up to `max_connections` connections.
    pool: SqlitePool,
    /// Every write, on one connection: SQLite has one writer at a time, so
    /// writers wait their turn here, in order and without spinning, instead
    /// of in SQLite's sleeping busy handler.
    writer: SqlitePool,
    /// The verification path's lookups, on rusqlite connections ([`readers`]).
    readers: Arc<Readers>,
    /// Held for its drop: the checkpoint task stops with the last handle.
    _checkpoints: Checkpointer,
}

impl SqliteStore {
    /// Opens (creating it and its parent directory if missing) the database
    /// file named by `url` (see [`database_path`]), with a pool of at most
    /// `max_connections` (at least 1), and brings its schema up to date.
    pub async fn connect(url: &str, max_connections: u32) -> Result<SqliteStore, StoreError> {
        let path = database_path(url).map_err(StoreError::Database)?;
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).map_err(|e| {
                StoreError::Database(format!("cannot create directory {}: {e}", dir.display()))
            })?;
        }
        create_private_file(&path)?;
        let options = SqliteConnectOptions::new()
            .filename(&path)
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Normal)
            .foreign_keys(true)
            .busy_timeout(BUSY_TIMEOUT)
            // Statement journals (a multi-row insert inside a transaction
            // keeps one) in memory rather than in a temporary file created
            // and deleted per statement.
            .pragma("temp_store", "memory");
        let writer = SqlitePoolOptions::new()
            .max_connections(1)
            .connect_with(
                options
                    .clone()
                    .pragma("wal_autocheckpoint", WRITER_CHECKPOINT_PAGES),
            )
            .await
            .map_err(|e| {
                StoreError::Database(format!(
                    "cannot open SQLite database {}: {e}",
                    path.display()
                ))
            })?;
        let pool = SqlitePoolOptions::new()
            .max_connections(max_connections.max(1))
            .connect_with(options)
            .await
            .map_err(|e| {
                StoreError::Database(format!(
                    "cannot open SQLite database {}: {e}",
                    path.display()
                ))
            })?;
        let checkpoints = Checkpointer::start(pool.clone(), writer.clone());
        // After the writer: the file is in WAL mode by now.
        let readers = Readers::open(&path, reader_count(max_connections))?;
        let store = SqliteStore {
            pool,
            writer,
            readers: Arc::new(readers),
            _checkpoints: checkpoints,
        };
        store.migrate().await?;
        tracing::debug!(path = %path.display(), "SQLite database open and migrated");
        Ok(store)
    }

    /// Applies the embedded migrations that have not run yet. Idempotent;
    /// [`SqliteStore::connect`] already calls it.
    pub async fn migrate(&self) -> StoreResult<()> {
        sqlx::migrate!("./migrations")
            .run(&self.writer)
            .await
            .map_err(|e| StoreError::Database(format!("migration failed: {e}")))
    }

    /// Closes every connection, waiting for those in use to be returned. WAL
    /// content is checkpointed into the main file when the last one closes.
    pub async fn close(&self) {
        self.writer.close().await;
        self.pool.close().await;
    }

    /// Opens a write transaction that holds the write lock from its first
    /// statement (`BEGIN IMMEDIATE`).
    async fn write(&self) -> StoreResult<Transaction<'static, Sqlite>> {
        self.writer
            .begin_with("BEGIN IMMEDIATE")
            .await
            .map_err(db_error)
    }
}

/// Creates an empty database file readable by its owner only (SQLite gives
/// its `-wal` and `-shm` files the same mode), unless the file exists. The
/// file holds password hashes, so other local users have no business reading
/// it.
fn create_private_file(path: &Path) -> StoreResult<()> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    match options.open(path) {
        Ok(_) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => Ok(()),
        Err(e) => Err(StoreError::Database(format!(
            "cannot create database file {}: {e}",
            path.display()
        ))),
    }
}

#[async_trait]
impl Store for SqliteStore {
    async fn ping(&self) -> StoreResult<()> {
        sqlx::query("SELECT 1")
            .execute(&self.pool)
            .await
            .map(drop)
            .map_err(db_error)
    }

    fn backend(&self) -> &'static str {
        "sqlite"
    }
}
