//! The connections that serve the verification path's reads (a credential
//! with its owner, by digest or id): a few `tokio-postgres` connections, each
//! with its statements prepared once, on which many requests' lookups are
//! pipelined.
//!
//! Why not through sqlx like the other reads: sqlx gives each statement a
//! connection of its own from the pool for the whole round trip, so every
//! lookup is one write and one wake-up on each side, for one statement
//! (BENCHMARKS.md: a cold verification spent ~75 µs of Keyward's CPU in two
//! such round trips). A `tokio_postgres::Client` is shared: statements sent
//! while others are in flight go out on the same socket behind them, the
//! server answers them in order, and a busy moment costs one write, one read
//! and one wake-up for many lookups. The statements are read-only point
//! lookups, so pipelining them changes nothing about what they see.
//!
//! A connection that the server closed (a restart, a terminated backend) is
//! replaced on the next read; a read that found its connection closed is
//! retried once on a new one. Opening one is bounded by the pool's acquire
//! timeout, and reads that waited for a failed attempt fail with it instead
//! of each trying again in turn: an unreachable database makes lookups fail
//! within one timeout, not queue behind one another's.

use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use keyward_core::error::StoreError;
use keyward_core::store::StoreResult;
use sqlx::ConnectOptions;
use sqlx::postgres::PgConnectOptions;
use tokio_postgres::types::ToSql;
use tokio_postgres::{Client, Config, Row, Statement};
use tokio_postgres_rustls::MakeRustlsConnect;

use crate::ACQUIRE_TIMEOUT;
use crate::lookups::{Lookup, prepare};
use crate::tls;

/// The readers' `application_name`, as `pg_stat_activity` shows them.
pub const READER_APPLICATION_NAME: &str = "keyward-reader";

/// The connections, and how to open another.
pub(crate) struct Readers {
    target: Target,
    /// Most time to open a connection and prepare its statements.
    connect_timeout: Duration,
    slots: Box<[Slot]>,
    next: AtomicUsize,
    closed: AtomicBool,
}

impl std::fmt::Debug for Readers {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Readers")
            .field("connections", &self.slots.len())
            .finish_non_exhaustive()
    }
}

/// One connection, replaced when it closes.
#[derive(Default)]
struct Slot {
    live: Mutex<Option<Arc<Reader>>>,
    /// Held while (re)connecting, so that one task opens the replacement
    /// and the others wait for it; holds the last attempt's failure.
    connecting: tokio::sync::Mutex<Option<StoreError>>,
    /// Connection attempts made, so that a waiter can tell one was made
    /// while it waited.
    attempts: AtomicU64,
}

/// An open connection and its prepared statements, one per [`Lookup`].
struct Reader {
    client: Client,
    statements: Vec<Statement>,
}

impl Readers {
    /// Opens `count` (at least 1) connections to the database at `url`, the
    /// URL the pool was opened with, whose schema is up to date.
    pub(crate) async fn open(url: &str, count: usize) -> StoreResult<Self> {
        let readers = Self::new(reader_config(url)?, count, ACQUIRE_TIMEOUT);
        for slot in &readers.slots {
            readers.reader(slot).await?;
        }
        Ok(readers)
    }

    /// Readers that connect when first used.
    fn new(target: Target, count: usize, connect_timeout: Duration) -> Self {
        Self {
            target,
            connect_timeout,
            slots: (0..count.max(1)).map(|_| Slot::default()).collect(),
            next: AtomicUsize::new(0),
            closed: AtomicBool::new(false),
        }
    }

    /// Runs `lookup` with `params` on one of the connections: its one row,
    /// or `None`.
    pub(crate) async fn query_opt(
        &self,
        lookup: Lookup,
        params: &[&(dyn ToSql + Sync)],
    ) -> StoreResult<Option<Row>> {
        let slot = &self.slots[self.next.fetch_add(1, Ordering::Relaxed) % self.slots.len()];
        let mut retried = false;
        loop {
            let reader = self.reader(slot).await?;
            match reader
                .client
                .query_opt(&reader.statements[lookup as usize], params)
                .await
            {
                Ok(row) => return Ok(row),
                // Sent on a connection that was already gone, or that the
                // server ended with a FATAL error (a terminated backend, a
                // shutdown): once more on a new one. The lookups only
                // read, so nothing is repeated.
                Err(e) if ends_session(&e) && !retried => {
                    slot.forget(&reader);
                    retried = true;
                }
                Err(e) => return Err(read_error(e)),
            }
        }
    }

    /// Closes every connection; later reads fail.
    pub(crate) fn close(&self) {
        self.closed.store(true, Ordering::Release);
        for slot in &self.slots {
            slot.live.lock().unwrap_or_else(|p| p.into_inner()).take();
        }
    }

    /// The slot's open connection, opening one when there is none or the
    /// server closed it.
    async fn reader(&self, slot: &Slot) -> StoreResult<Arc<Reader>> {
        if let Some(reader) = slot.open() {
            return Ok(reader);
        }
        let seen = slot.attempts.load(Ordering::Acquire);
        let mut last_failure = slot.connecting.lock().await;
        if let Some(reader) = slot.open() {
            return Ok(reader);
        }
        if let Some(failure) = last_failure.as_ref()
            && slot.attempts.load(Ordering::Acquire) != seen
        {
            // Someone tried while this read waited, and failed.
            return Err(failure.clone());
        }
        if self.closed.load(Ordering::Acquire) {
            return Err(StoreError::Database("the store is closed".to_owned()));
        }
        slot.attempts.fetch_add(1, Ordering::AcqRel);
        let opened = match tokio::time::timeout(self.connect_timeout, connect(&self.target)).await {
            Ok(opened) => opened,
            Err(_) => Err(StoreError::Database(format!(
                "no PostgreSQL reader connection within {:?}",
                self.connect_timeout
            ))),
        };
        match opened {
            Ok(reader) => {
                let reader = Arc::new(reader);
                *last_failure = None;
                *slot.live.lock().unwrap_or_else(|p| p.into_inner()) = Some(reader.clone());
                Ok(reader)
            }
            Err(failure) => {
                *last_failure = Some(failure.clone());
                Err(failure)
            }
        }
    }
}

impl Slot {
    fn open(&self) -> Option<Arc<Reader>> {
        let live = self.live.lock().unwrap_or_else(|p| p.into_inner());
        live.as_ref()
            .filter(|reader| !reader.client.is_closed())
            .cloned()
    }

    /// Drops `reader` if it is still this slot's connection.
    fn forget(&self, reader: &Arc<Reader>) {
        let mut live = self.live.lock().unwrap_or_else(|p| p.into_inner());
        if live.as_ref().is_some_and(|r| Arc::ptr_eq(r, reader)) {
            *live = None;
        }
    }
}

async fn connect(target: &Target) -> StoreResult<Reader> {
    let (client, connection) = target
        .config
        .connect(target.tls.clone())
        .await
        .map_err(read_error)?;
    tokio::spawn(async move {
        if let Err(e) = connection.await {
            tracing::warn!(error = %e, "a PostgreSQL reader connection ended");
        }
    });
    let statements = prepare(&client).await.map_err(read_error)?;
    Ok(Reader { client, statements })
}

/// Where the readers connect, and how they encrypt the connection.
pub(crate) struct Target {
    config: Config,
    tls: MakeRustlsConnect,
}

/// The readers' settings, from the URL the way sqlx reads it (so the
/// environment's `PG*` variables and `~/.pgpass` count the same): host or
/// socket directory, port, user, password, database, options and TLS (see
/// [`tls`]); the application name is [`READER_APPLICATION_NAME`].
fn reader_config(url: &str) -> StoreResult<Target> {
    let options: PgConnectOptions = url
        .parse()
        .map_err(|e| StoreError::Database(format!("bad PostgreSQL URL: {e}")))?;
    let mut config = Config::new();
    match options.get_socket() {
        Some(dir) => config.host_path(dir),
        None => config.host(options.get_host()),
    };
    config
        .port(options.get_port())
        .user(options.get_username())
        .application_name(READER_APPLICATION_NAME)
        .connect_timeout(ACQUIRE_TIMEOUT);
    if let Some(database) = options.get_database() {
        config.dbname(database);
    }
    if let Some(extra) = options.get_options() {
        config.options(extra);
    }
    // sqlx resolves the password (URL, PGPASSWORD, ~/.pgpass) and writes it
    // into its own URL, percent-encoded.
    if let Some(password) = options.to_url_lossy().password() {
        let password = percent_encoding::percent_decode_str(password)
            .decode_utf8()
            .map_err(|e| StoreError::Database(format!("bad PostgreSQL password encoding: {e}")))?;
        config.password(password.as_bytes());
    }
    let mode = options.get_ssl_mode();
    config.ssl_mode(tls::ssl_mode(mode));
    let parsed = url::Url::parse(url)
        .map_err(|e| StoreError::Database(format!("bad PostgreSQL URL: {e}")))?;
    let tls = tls::connector(mode, &tls::CertPaths::from_url(&parsed)?)?;
    Ok(Target { config, tls })
}

/// Whether `err` means the connection is gone: closed, or ended by the
/// server with a FATAL or PANIC error.
fn ends_session(err: &tokio_postgres::Error) -> bool {
    err.is_closed()
        || err
            .as_db_error()
            .is_some_and(|db| matches!(db.severity(), "FATAL" | "PANIC"))
}

/// A tokio-postgres failure, as the store reports it, with the server's
/// message when there is one.
fn read_error(err: tokio_postgres::Error) -> StoreError {
    match err.as_db_error() {
        Some(db) => StoreError::Database(format!("{}: {}", db.severity(), db.message())),
        None => StoreError::Database(err.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_readers_connect_where_the_pool_does() {
        let Target { config, .. } =
            reader_config("postgres://kw:p%40ss%2Fword@db.example:6543/keyward?options=-c%20x%3D1")
                .unwrap();
        assert_eq!(
            config.get_hosts(),
            [tokio_postgres::config::Host::Tcp("db.example".into())]
        );
        assert_eq!(config.get_ports(), [6543]);
        assert_eq!(config.get_user(), Some("kw"));
        assert_eq!(config.get_password(), Some(&b"p@ss/word"[..]));
        assert_eq!(config.get_dbname(), Some("keyward"));
        assert_eq!(config.get_options(), Some("-c x=1"));
        assert_eq!(config.get_application_name(), Some(READER_APPLICATION_NAME));
    }

    /// A server that accepts connections and never answers: every lookup
    /// waiting for the one connection attempt fails with it, within about
    /// one timeout rather than one timeout each.
    #[tokio::test]
    async fn lookups_fail_within_one_timeout_when_the_database_never_answers() {
        let silent = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = silent.local_addr().unwrap().port();
        let held = tokio::spawn(async move {
            let mut open = Vec::new();
            while let Ok((stream, _)) = silent.accept().await {
                open.push(stream);
            }
        });
        let url = format!("postgres://kw@127.0.0.1:{port}/keyward");
        let timeout = Duration::from_millis(300);
        let readers = Arc::new(Readers::new(reader_config(&url).unwrap(), 1, timeout));
        let started = std::time::Instant::now();
        let mut lookups = tokio::task::JoinSet::new();
        for _ in 0..20 {
            let readers = readers.clone();
            lookups.spawn(async move {
                readers
                    .query_opt(Lookup::AppWithOwner, &[&uuid::Uuid::nil()])
                    .await
            });
        }
        while let Some(answer) = lookups.join_next().await {
            let err = answer.unwrap().expect_err("no database");
            assert!(err.to_string().contains("within"), "{err}");
        }
        let took = started.elapsed();
        assert!(took < timeout * 4, "20 lookups took {took:?}");
        held.abort();
    }

    /// Whether a reader connection to the test server at `host`, with the
    /// URL's `query`, is encrypted; or why it could not connect.
    async fn reader_encrypted(host: &str, query: &str) -> Result<bool, String> {
        let mut url = url::Url::parse(&crate::testing::admin_url()).unwrap();
        url.set_host(Some(host)).unwrap();
        url.set_query(Some(query));
        let target = reader_config(url.as_str()).map_err(|e| e.to_string())?;
        let (client, connection) = target
            .config
            .connect(target.tls.clone())
            .await
            .map_err(|e| format!("{e:?}"))?;
        let connection = tokio::spawn(connection);
        let row = client
            .query_one(
                "SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()",
                &[],
            )
            .await
            .expect("pg_stat_ssl");
        drop(client);
        let _ = connection.await;
        Ok(row.get(0))
    }

    /// The readers encrypt and check the server's certificate as the URL's
    /// `sslmode` says, against the test server's own (self-signed)
    /// certificate, which names `localhost`.
    #[tokio::test]
    async fn the_readers_encrypt_and_check_certificates_as_sslmode_says() {
        let (client, connection) =
            tokio_postgres::connect(&crate::testing::admin_url(), tokio_postgres::NoTls)
                .await
                .expect("the test server answers");
        tokio::spawn(connection);
        let row = client
            .query_one(
                "SELECT current_setting('ssl'), current_setting('ssl_cert_file')",
                &[],
            )
            .await
            .expect("settings");
        let (ssl, cert): (String, String) = (row.get(0), row.get(1));
        assert_eq!(ssl, "on", "the test server offers TLS (Debian's default)");
        let root = format!("sslrootcert={cert}");

        assert_eq!(
            reader_encrypted("127.0.0.1", "sslmode=disable").await,
            Ok(false)
        );
        assert_eq!(
            reader_encrypted("127.0.0.1", "sslmode=prefer").await,
            Ok(true)
        );
        assert_eq!(
            reader_encrypted("127.0.0.1", "sslmode=require").await,
            Ok(true)
        );
        // Not signed by a trusted root.
        let refused = reader_encrypted("localhost", "sslmode=verify-ca").await;
        assert!(
            refused.as_ref().is_err_and(|e| e.contains("UnknownIssuer")),
            "{refused:?}"
        );
        let ca = format!("sslmode=verify-ca&{root}");
        assert_eq!(reader_encrypted("127.0.0.1", &ca).await, Ok(true));
        // Trusted, but not issued for 127.0.0.1.
        let full = format!("sslmode=verify-full&{root}");
        let refused = reader_encrypted("127.0.0.1", &full).await;
        assert!(
            refused
                .as_ref()
                .is_err_and(|e| e.contains("NotValidForName")),
            "{refused:?}"
        );
        assert_eq!(reader_encrypted("localhost", &full).await, Ok(true));
    }

    #[test]
    fn a_socket_directory_is_a_socket_host() {
        let Target { config, .. } =
            reader_config("postgres:///keyward?host=/var/run/postgresql").unwrap();
        assert_eq!(
            config.get_hosts(),
            [tokio_postgres::config::Host::Unix(
                "/var/run/postgresql".into()
            )]
        );
        assert_eq!(config.get_dbname(), Some("keyward"));
    }
}
