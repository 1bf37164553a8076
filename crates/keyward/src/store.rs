//! Choosing and opening the store from the database URL's scheme, once, at
//! start.

use std::path::PathBuf;
use std::sync::Arc;

use anyhow::{Context, bail};
use keyward_core::service::{InvalidationBus, LocalOnly, MemoryAttempts};
use keyward_core::store::{AttemptStore, Store};
use keyward_store_postgres::{PgOptions, PgStore};
use keyward_store_sqlite::{SqliteOptions, SqliteStore};

use crate::config::DatabaseConfig;

/// Which backend a URL selects.
#[derive(Debug, Clone)]
pub enum Backend {
    Sqlite { path: PathBuf },
    Postgres,
}

impl Backend {
    pub fn from_url(url: &str) -> anyhow::Result<Self> {
        if url.starts_with("sqlite:") {
            let path = keyward_store_sqlite::database_path(url).map_err(|e| anyhow::anyhow!(e))?;
            Ok(Backend::Sqlite { path })
        } else if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            Ok(Backend::Postgres)
        } else {
            bail!(
                "database_url must start with sqlite:// or postgres:// (got {:?})",
                redact(url)
            )
        }
    }
}

/// An opened store, with how this instance hears about other instances'
/// changes and tells them about its own.
pub struct Opened {
    pub store: Arc<dyn Store>,
    pub bus: Arc<dyn InvalidationBus>,
    /// Where sign-in attempts are counted: this process for SQLite, the
    /// shared database for PostgreSQL.
    pub attempts: Arc<dyn AttemptStore>,
}

/// Opens the store and runs its migrations.
pub async fn open(config: &DatabaseConfig, max_connections: u32) -> anyhow::Result<Opened> {
    let url = config.database_url.as_str();
    match Backend::from_url(url)? {
        Backend::Sqlite { .. } => {
            let options = SqliteOptions {
                max_connections,
                locking: config.sqlite_locking.for_sqlite(),
            };
            let store = SqliteStore::connect_with(url, options).await.map_err(|e| {
                let mut message = format!("cannot open the SQLite database {}: {e}", redact(url));
                if e.to_string().contains("database is locked") {
                    message.push_str(
                        " (a server running with sqlite_locking = \"exclusive\" keeps \
                         the file until it stops: stop it, or use the admin API)",
                    );
                }
                anyhow::anyhow!(message)
            })?;
            // One SQLite file has one server: nobody to tell.
            Ok(Opened {
                store: Arc::new(store),
                bus: Arc::new(LocalOnly),
                attempts: Arc::new(MemoryAttempts::default()),
            })
        }
        Backend::Postgres => {
            let options = PgOptions {
                max_connections,
                access_token_commit: config.access_token_commit.for_postgres(),
            };
            let store = PgStore::connect_with(url, options)
                .await
                .with_context(|| format!("cannot open the PostgreSQL database {}", redact(url)))?;
            Ok(Opened {
                store: Arc::new(store.clone()),
                bus: Arc::new(store.clone()),
                attempts: Arc::new(store),
            })
        }
    }
}

/// The URL without its password, for messages.
pub fn redact(url: &str) -> String {
    match url::Url::parse(url) {
        Ok(mut parsed) if parsed.password().is_some() => {
            let _ = parsed.set_password(Some("***"));
            parsed.to_string()
        }
        _ => url.to_owned(),
    }
}
