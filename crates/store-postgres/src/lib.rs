//! Keyward's store on PostgreSQL: [`PgStore`] implements the core's
//! [`Store`] port on a connection pool, with native types (UUID, TIMESTAMPTZ,
//! BYTEA digests, TEXT[] sets) and its own embedded migrations, so that
//! several Keyward instances can share one database. [`notify`] carries cache
//! invalidations between those instances over `LISTEN/NOTIFY`. The
//! verification path's lookups run on a few pipelined `tokio-postgres`
//! connections beside the pool ([`readers`](crate::readers)).
//!
//! Access tokens issued by client_credentials and the password grant are
//! written by the token writers on connections of their own, which by
//! default commit without waiting for the WAL flush ([`AccessTokenCommit`]).
//!
//! Every connection is encrypted and its server's certificate checked as
//! the URL's `sslmode` says (`prefer` by default: TLS when the server
//! offers it), through rustls: sqlx's for the pool, the listener and the
//! token writers, [`tls`](crate::tls) for the readers, with the same
//! meaning.
//!
//! Every time written comes from the caller (the services' `Clock`), never
//! from the database's `now()`; every method that changes several rows runs
//! in one transaction; only digests of secrets are stored.

#![forbid(unsafe_code)]

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use keyward_core::error::StoreError;
use keyward_core::store::{Store, StoreResult};
use sqlx::migrate::Migrator;
use sqlx::postgres::{PgConnectOptions, PgPool, PgPoolOptions};

use crate::readers::Readers;
use crate::writers::Writers;

mod attempts;
mod audit;
mod effects;
mod leases;
mod lookups;
pub mod notify;
mod oauth;
mod outbox;
mod readers;
mod renewal;
mod rows;
mod sessions;
#[cfg(feature = "testing")]
pub mod testing;
mod tls;
mod tokens;
mod users;
mod writers;

pub use notify::{ALL_PAYLOAD, INVALIDATION_CHANNEL, Invalidation};
pub use readers::READER_APPLICATION_NAME;

/// The token writers' `application_name`, as `pg_stat_activity` shows them.
pub const TOKEN_WRITER_APPLICATION_NAME: &str = "keyward-token-writer";

/// How the group commits of issued access tokens
/// ([`insert_oauth_tokens`](keyward_core::store::OAuthStore::insert_oauth_tokens))
/// wait for the database.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum AccessTokenCommit {
    /// Answered once committed, without waiting for the WAL to reach the
    /// disk (`synchronous_commit = off` on the writers' connections). The
    /// token is visible to every instance at once; only a crash of the
    /// database itself can lose the tokens of its last few hundred
    /// milliseconds (three `wal_writer_delay`s), whose holders then get
    /// 401 and request new ones with the client credentials or password
    /// they hold. Nothing else is written this way: codes, refresh tokens,
    /// revocations and every other write wait for the flush.
    #[default]
    Async,
    /// Every commit waits for the flush, as all other writes do.
    Durable,
}

/// How [`PgStore::connect_with`] opens the store.
#[derive(Debug, Clone, Copy)]
pub struct PgOptions {
    /// The pool's size (at least 1).
    pub max_connections: u32,
    pub access_token_commit: AccessTokenCommit,
}

/// The schema, embedded from `migrations/`.
static MIGRATOR: Migrator = sqlx::migrate!("./migrations");

/// How long a query waits for a free connection before failing.
const ACQUIRE_TIMEOUT: Duration = Duration::from_secs(5);

/// How many token writers take turns ([`Store::concurrent_writes`]): two,
/// so that while one batch is in the database the next one gathers.
const CONCURRENT_WRITES: usize = 2;

/// The PostgreSQL store. Cheap to clone: clones share one pool and one set
/// of readers.
#[derive(Debug, Clone)]
pub struct PgStore {
    /// Every write and most reads, on up to `max_connections` connections.
    pool: PgPool,
    /// The token writers' connections ([`CONCURRENT_WRITES`], opened when
    /// first used), committing as [`AccessTokenCommit`] says: [`writers`].
    writers: Arc<Writers>,
    /// The verification path's lookups, on their own connections (one per
    /// two cores): [`readers`].
    readers: Arc<Readers>,
}

/// One reader connection per two cores, at least one. Each pipelines any
/// number of lookups, and the deeper its pipeline, the fewer wake-ups per
/// lookup on both sides: on two cores one connection answered cold
/// verifications faster than two (BENCHMARKS.md). With more cores, more
/// backends share the database's work.
fn reader_count() -> usize {
    let cores = std::thread::available_parallelism().map_or(2, |n| n.get());
    (cores / 2).max(1)
}

impl PgStore {
    /// Connects with a pool of at most `max_connections` (at least 1) and
    /// brings the schema up to date, then opens the readers (one connection
    /// per two cores, beside the pool). Several instances may start at once:
    /// migrations take an advisory lock.
    ///
    /// Issued access tokens are committed [`AccessTokenCommit::Async`].
    pub async fn connect(url: &str, max_connections: u32) -> StoreResult<PgStore> {
        let options = PgOptions {
            max_connections,
            access_token_commit: AccessTokenCommit::default(),
        };
        Self::connect_with(url, options).await
    }

    /// As [`PgStore::connect`], with the token writers' connections (up to
    /// [`CONCURRENT_WRITES`] more, opened when first used) committing as
    /// `options` says.
    pub async fn connect_with(url: &str, options: PgOptions) -> StoreResult<PgStore> {
        let connect: PgConnectOptions = url.parse().map_err(db_error)?;
        let pool = PgPoolOptions::new()
            .max_connections(options.max_connections.max(1))
            .acquire_timeout(ACQUIRE_TIMEOUT)
            .connect_with(connect.clone())
            .await
            .map_err(db_error)?;
        MIGRATOR.run(&pool).await.map_err(migration_error)?;
        let mut writer = connect.application_name(TOKEN_WRITER_APPLICATION_NAME);
        if options.access_token_commit == AccessTokenCommit::Async {
            writer = writer.options([("synchronous_commit", "off")]);
        }
        let writers = Writers::new(writer, CONCURRENT_WRITES);
        let readers = Readers::open(url, reader_count()).await?;
        Ok(PgStore {
            pool,
            writers: Arc::new(writers),
            readers: Arc::new(readers),
        })
    }

    /// Applies the migrations not yet applied (already done by
    /// [`PgStore::connect`]).
    pub async fn migrate(&self) -> StoreResult<()> {
        MIGRATOR.run(&self.pool).await.map_err(migration_error)
    }

    /// Closes every connection of the pool and the readers; later calls
    /// fail.
    pub async fn close(&self) {
        self.readers.close();
        self.writers.close().await;
        self.pool.close().await;
    }

    /// The underlying pool, for the service's own PostgreSQL-only work (the
    /// outbox, `FOR UPDATE SKIP LOCKED` scans).
    pub fn pool(&self) -> &PgPool {
        &self.pool
    }
}

#[async_trait]
impl Store for PgStore {
    async fn ping(&self) -> StoreResult<()> {
        sqlx::query("SELECT 1")
            .execute(&self.pool)
            .await
            .map(drop)
            .map_err(db_error)
    }

    fn backend(&self) -> &'static str {
        "postgres"
    }

    fn concurrent_writes(&self) -> usize {
        CONCURRENT_WRITES
    }
}

fn migration_error(err: sqlx::migrate::MigrateError) -> StoreError {
    StoreError::Database(format!("migration failed: {err}"))
}

/// Maps a database error: a unique violation is a [`StoreError::Conflict`]
/// naming what is taken, a foreign-key violation [`StoreError::Gone`];
/// anything else is [`StoreError::Database`].
pub(crate) fn db_error(err: sqlx::Error) -> StoreError {
    if let sqlx::Error::Database(db) = &err
        && db.is_unique_violation()
    {
        let what = match db.constraint() {
            Some("users_username_key_unique") => "username already taken",
            Some("sessions_digest_unique" | "token_secrets_digest_unique") => {
                "secret digest already in use"
            }
            Some("users_pkey" | "sessions_pkey" | "api_tokens_pkey") => "id already in use",
            _ => "unique constraint violated",
        };
        return StoreError::Conflict(what.to_owned());
    }
    if let sqlx::Error::Database(db) = &err
        && db.is_foreign_key_violation()
    {
        return StoreError::Gone(format!("a referenced row no longer exists: {db}"));
    }
    StoreError::Database(err.to_string())
}
