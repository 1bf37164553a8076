//! Keyward's store on an embedded SQLite file: [`SqliteStore`] implements
//! [`keyward_core::store::Store`] with runtime queries (no compile-time
//! database) and embedded migrations from `migrations/`.
//!
//! How the file is used:
//! - WAL journal, `synchronous = NORMAL`, `foreign_keys = ON` and a 5 s
//!   `busy_timeout` on every connection, and temporary data in memory, so
//!   readers never block the writer and a second process (the CLI next to a
//!   running server, with the default [`Locking::Shared`]) waits for the
//!   write lock instead of failing;
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
//! - with [`Locking::Exclusive`], every connection uses SQLite's `unix-excl`
//!   VFS: the process takes the file's lock once and keeps the WAL index in
//!   its own memory, so no read pays for a lock on the `-shm` file, and no
//!   other process may open the database while the store is open;
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

/// How the store shares its database file with other processes.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Locking {
    /// Other processes may open the file while the store is open (the CLI
    /// beside a running server, `sqlite3 .backup`): SQLite's default `unix`
    /// VFS, which coordinates them with POSIX locks on the WAL index, taken
    /// and dropped by every read (two `fcntl` calls, under a mutex the
    /// store's connections share).
    #[default]
    Shared,
    /// The store's process alone opens the file until the store is closed
    /// (SQLite's `unix-excl` VFS): one lock for the process, the WAL index in
    /// its memory, and reads that take no system lock. Another process that
    /// opens the file waits out its busy timeout and fails.
    Exclusive,
}

impl Locking {
    /// The SQLite VFS that gives it.
    fn vfs(self) -> &'static std::ffi::CStr {
        match self {
            Locking::Shared => c"unix",
            Locking::Exclusive => c"unix-excl",
        }
    }
}

/// How [`SqliteStore::connect_with`] opens the store.
#[derive(Debug, Clone, Copy)]
pub struct SqliteOptions {
    /// The pool's size (at least 1).
    pub max_connections: u32,
    pub locking: Locking,
}

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
        let options = SqliteOptions {
            max_connections,
            locking: Locking::default(),
        };
        Self::connect_with(url, options).await
    }

    /// As [`SqliteStore::connect`], sharing the file with other processes as
    /// `options.locking` says.
    pub async fn connect_with(
        url: &str,
        options: SqliteOptions,
    ) -> Result<SqliteStore, StoreError> {
        let SqliteOptions {
            max_connections,
            locking,
        } = options;
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
            .pragma("temp_store", "memory")
            .vfs(locking.vfs().to_str().expect("an ASCII name"));
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
        let readers = Readers::open(&path, reader_count(max_connections), locking.vfs())?;
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
