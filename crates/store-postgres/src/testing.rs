//! Throw-away databases for tests (feature `testing`): each call to
//! [`fresh_database`] creates an empty database `keyward_test_<random hex>` on
//! the local server, and [`TestDatabase`] drops it again, with
//! [`TestDatabase::drop_database`] at the end of a test or, failing that
//! (a panic), in its `Drop`.
//!
//! The server is `postgres://postgres@127.0.0.1:5432/postgres` (trust auth)
//! unless `KEYWARD_TEST_POSTGRES_URL` names another maintenance database;
//! its user must be allowed to create databases.

use keyward_core::error::StoreError;
use sqlx::{AssertSqlSafe, Connection, PgConnection};

/// The maintenance database used to create and drop test databases.
pub const DEFAULT_ADMIN_URL: &str = "postgres://postgres@127.0.0.1:5432/postgres";

/// Overrides [`DEFAULT_ADMIN_URL`].
pub const ADMIN_URL_ENV: &str = "KEYWARD_TEST_POSTGRES_URL";

/// A database created for one test. Dropping the value drops the database
/// (blocking, best effort); [`TestDatabase::drop_database`] does it
/// asynchronously and reports failure.
#[derive(Debug)]
pub struct TestDatabase {
    /// Connection URL of the new database, for `PgStore::connect` or
    /// `KEYWARD_DATABASE_URL`.
    pub url: String,
    name: String,
    admin_url: String,
    dropped: bool,
}

/// The maintenance database's URL: [`ADMIN_URL_ENV`] or else
/// [`DEFAULT_ADMIN_URL`].
pub fn admin_url() -> String {
    std::env::var(ADMIN_URL_ENV).unwrap_or_else(|_| DEFAULT_ADMIN_URL.to_owned())
}

/// Creates an empty database on the test server (no schema: connecting a
/// `PgStore` migrates it). Panics with a clear message when the server is
/// unreachable, as befits a test helper.
pub async fn fresh_database() -> TestDatabase {
    let admin_url = admin_url();
    let name = format!("keyward_test_{}", uuid::Uuid::new_v4().simple());
    let mut url = url::Url::parse(&admin_url)
        .unwrap_or_else(|e| panic!("{ADMIN_URL_ENV} is not a URL ({e}): {admin_url}"));
    url.set_path(&name);
    let mut admin = PgConnection::connect(&admin_url)
        .await
        .unwrap_or_else(|e| panic!("cannot reach the test PostgreSQL server at {admin_url}: {e}"));
    // The name is ours (hex digits), so formatting it into the SQL is safe.
    sqlx::query(AssertSqlSafe(format!("CREATE DATABASE \"{name}\"")))
        .execute(&mut admin)
        .await
        .unwrap_or_else(|e| panic!("cannot create test database {name}: {e}"));
    let _ = admin.close().await;
    TestDatabase {
        url: url.to_string(),
        name,
        admin_url,
        dropped: false,
    }
}

impl TestDatabase {
    /// The database's name, `keyward_test_<32 hex digits>`.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Drops the database, closing any connection still open to it.
    pub async fn drop_database(mut self) -> Result<(), StoreError> {
        self.dropped = true;
        drop_named(&self.admin_url, &self.name).await
    }
}

impl Drop for TestDatabase {
    /// Drops the database if [`TestDatabase::drop_database`] did not: on a
    /// thread of its own with its own runtime, so it works inside and
    /// outside an async runtime and also while a failed test unwinds.
    fn drop(&mut self) {
        if self.dropped {
            return;
        }
        let admin_url = self.admin_url.clone();
        let name = self.name.clone();
        let outcome = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .map_err(|e| StoreError::Database(e.to_string()))?;
            runtime.block_on(drop_named(&admin_url, &name))
        })
        .join();
        match outcome {
            Ok(Ok(())) => {}
            Ok(Err(err)) => eprintln!("could not drop test database {}: {err}", self.name),
            Err(_) => eprintln!("could not drop test database {}: panicked", self.name),
        }
    }
}

async fn drop_named(admin_url: &str, name: &str) -> Result<(), StoreError> {
    let mut admin = PgConnection::connect(admin_url)
        .await
        .map_err(crate::db_error)?;
    sqlx::query(AssertSqlSafe(format!(
        "DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)"
    )))
    .execute(&mut admin)
    .await
    .map_err(crate::db_error)?;
    let _ = admin.close().await;
    Ok(())
}

impl crate::PgStore {
    /// `SHOW synchronous_commit` on one of the token writers' connections:
    /// how the issued access tokens' commits wait (`off` or `on`).
    pub async fn token_writer_synchronous_commit(&self) -> Result<String, StoreError> {
        let mut writer = self.writers.acquire().await;
        let row: (String,) = sqlx::query_as("SHOW synchronous_commit")
            .fetch_one(writer.connection().await?)
            .await
            .map_err(crate::db_error)?;
        Ok(row.0)
    }
}
