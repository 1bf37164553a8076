//! The connections that serve the verification path's reads (a credential
//! with its owner, by digest or id): a few `rusqlite` connections, each
//! caching its prepared statements, on which a lookup runs on the calling
//! thread.
//!
//! Why not through sqlx like the other reads: sqlx runs each SQLite
//! connection on a thread of its own and hands every statement and every row
//! across a channel, so a point lookup that takes SQLite a few microseconds
//! cost two thread wake-ups and ~50 µs of CPU (see BENCHMARKS.md). Here the
//! lookup is a lock, a cached statement and a few column reads. Running it
//! on the async worker is sound because it is short and never waits for the
//! writer: in WAL mode readers read their snapshot while a write goes on.
//! (Only a page missing from the OS page cache makes it wait for the disk,
//! as any read would.)
//!
//! The connections are opened read-write but `query_only`, so SQLite can
//! keep using the WAL index (`-shm`) as the writer does; nothing here writes.

use std::ffi::CStr;
use std::path::Path;
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};

use keyward_core::error::StoreError;
use keyward_core::store::StoreResult;
use rusqlite::{Connection, OpenFlags};

use crate::BUSY_TIMEOUT;

/// Prepared statements kept per connection (there are a handful of lookups).
const STATEMENTS: usize = 16;

pub(crate) struct Readers {
    connections: Box<[Mutex<Connection>]>,
    next: AtomicUsize,
}

impl std::fmt::Debug for Readers {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Readers")
            .field("connections", &self.connections.len())
            .finish()
    }
}

impl Readers {
    /// Opens `count` (at least 1) connections to the database at `path`,
    /// which must exist and be in WAL mode already, on the VFS the store's
    /// other connections use.
    pub(crate) fn open(path: &Path, count: usize, vfs: &CStr) -> StoreResult<Self> {
        let connections = (0..count.max(1))
            .map(|_| open_one(path, vfs).map(Mutex::new))
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| {
                StoreError::Database(format!(
                    "cannot open SQLite database {} for reading: {e}",
                    path.display()
                ))
            })?;
        Ok(Self {
            connections: connections.into_boxed_slice(),
            next: AtomicUsize::new(0),
        })
    }

    /// Runs `read` on a free connection (or, when every one is busy, waits
    /// for one), on this thread.
    pub(crate) fn read<T>(
        &self,
        read: impl FnOnce(&Connection) -> StoreResult<T>,
    ) -> StoreResult<T> {
        let n = self.connections.len();
        let start = self.next.fetch_add(1, Ordering::Relaxed) % n;
        for i in 0..n {
            if let Ok(conn) = self.connections[(start + i) % n].try_lock() {
                return read(&conn);
            }
        }
        // A poisoned lock only means another read panicked mid-way; the
        // connection itself is still sound.
        let conn = self.connections[start]
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        read(&conn)
    }
}

fn open_one(path: &Path, vfs: &CStr) -> rusqlite::Result<Connection> {
    let conn = Connection::open_with_flags_and_vfs(
        path,
        OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX,
        vfs,
    )?;
    conn.busy_timeout(BUSY_TIMEOUT)?;
    conn.pragma_update(None, "query_only", true)?;
    conn.pragma_update(None, "temp_store", "memory")?;
    conn.set_prepared_statement_cache_capacity(STATEMENTS);
    Ok(conn)
}

/// A rusqlite failure, as the store reports it.
pub(crate) fn read_error(err: rusqlite::Error) -> StoreError {
    StoreError::Database(err.to_string())
}

#[cfg(test)]
mod tests {
    /// The build of SQLite that `.cargo/config.toml` asks for: connections'
    /// page caches not shared behind one mutex, allocations not counted.
    #[test]
    fn sqlite_is_built_without_process_wide_cache_and_memory_locks() {
        let conn = rusqlite::Connection::open_in_memory().expect("an in-memory database");
        let mut statement = conn
            .prepare("PRAGMA compile_options")
            .expect("the pragma prepares");
        let options: Vec<String> = statement
            .query_map([], |row| row.get(0))
            .expect("the options")
            .collect::<Result<_, _>>()
            .expect("each option");
        assert!(
            !options.iter().any(|o| o == "ENABLE_MEMORY_MANAGEMENT"),
            "{options:?}"
        );
        assert!(
            options.iter().any(|o| o == "DEFAULT_MEMSTATUS=0"),
            "{options:?}"
        );
    }
}
