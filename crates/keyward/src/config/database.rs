//! Where Keyward keeps its data, under which server key, and for how long.

use std::path::PathBuf;

use anyhow::bail;
use serde::{Deserialize, Serialize};

use super::parse::opt_string;

/// The default database: a SQLite file under `./keyward-data/`.
pub const DEFAULT_DATABASE_URL: &str = "sqlite://keyward-data/keyward.db";

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default)]
pub struct DatabaseConfig {
    /// `sqlite://…` or `postgres://…`.
    pub database_url: String,
    /// Size of the database connection pool.
    pub database_max_connections: u32,
    /// PostgreSQL: whether the commits of access tokens issued by
    /// client_credentials and the password grant wait for the WAL flush.
    pub access_token_commit: AccessTokenCommit,
    /// SQLite: whether other processes may open the database file while
    /// Keyward runs.
    pub sqlite_locking: SqliteLocking,
    /// The server key (hex or text of at least 32 bytes).
    #[serde(deserialize_with = "opt_string")]
    pub secret_key: Option<String>,
    /// A file holding the server key.
    pub secret_key_file: Option<PathBuf>,
    /// How long audit events are kept, in days.
    pub audit_retention_days: i64,
}

impl Default for DatabaseConfig {
    fn default() -> Self {
        Self {
            database_url: DEFAULT_DATABASE_URL.into(),
            database_max_connections: 8,
            access_token_commit: AccessTokenCommit::Async,
            sqlite_locking: SqliteLocking::Shared,
            secret_key: None,
            secret_key_file: None,
            audit_retention_days: 400,
        }
    }
}

/// How issued access tokens are committed on PostgreSQL (SQLite commits
/// every write with `synchronous = NORMAL`: durable when Keyward stops, not
/// always when the machine does).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum AccessTokenCommit {
    /// Without waiting for the WAL flush: a crash of the database may lose
    /// the tokens issued in its last few hundred milliseconds; their holders
    /// get 401 and request new ones.
    Async,
    /// Waiting for the flush, as every other write does.
    Durable,
}

impl AccessTokenCommit {
    /// The store's setting.
    pub fn for_postgres(self) -> keyward_store_postgres::AccessTokenCommit {
        match self {
            AccessTokenCommit::Async => keyward_store_postgres::AccessTokenCommit::Async,
            AccessTokenCommit::Durable => keyward_store_postgres::AccessTokenCommit::Durable,
        }
    }
}

/// How the SQLite file is shared with other processes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SqliteLocking {
    /// The CLI (`keyward admin …`) and `sqlite3` may open the file while
    /// the server runs; every read takes and drops a lock on its WAL index.
    Shared,
    /// The running server alone opens the file; reads take no file lock
    /// (about a fifth less CPU for a verification that reads the store).
    /// Other processes, the CLI included, fail until it stops.
    Exclusive,
}

impl SqliteLocking {
    /// The store's setting.
    pub fn for_sqlite(self) -> keyward_store_sqlite::Locking {
        match self {
            SqliteLocking::Shared => keyward_store_sqlite::Locking::Shared,
            SqliteLocking::Exclusive => keyward_store_sqlite::Locking::Exclusive,
        }
    }
}

impl DatabaseConfig {
    pub(super) fn validate(&self) -> anyhow::Result<()> {
        if self.database_max_connections == 0 {
            bail!("database_max_connections must be at least 1");
        }
        Ok(())
    }
}
