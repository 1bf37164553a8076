//! PostgreSQL for the tests: with `KW_TEST_STORE=postgres`, every test gets a
//! fresh database on the local server, dropped when the test stops; and a
//! raw dump of whichever store a test ran on.

pub use keyward_store_postgres::testing::TestDatabase;

use crate::app::TestApp;

/// Whether this run targets PostgreSQL.
pub fn requested() -> bool {
    std::env::var("KW_TEST_STORE").is_ok_and(|v| v == "postgres")
}

pub async fn fresh_database_if_requested() -> Option<TestDatabase> {
    if requested() {
        Some(keyward_store_postgres::testing::fresh_database().await)
    } else {
        None
    }
}

/// Everything the store holds, as bytes: the SQLite files (database and
/// write-ahead log), or `pg_dump` of the test database.
pub async fn dump(app: &TestApp) -> Vec<u8> {
    if requested() {
        let output = tokio::process::Command::new("pg_dump")
            .arg("--data-only")
            .arg(&app.config.database.database_url)
            .output()
            .await
            .expect("pg_dump runs");
        assert!(
            output.status.success(),
            "{}",
            String::from_utf8_lossy(&output.stderr)
        );
        output.stdout
    } else {
        let mut all = Vec::new();
        for entry in std::fs::read_dir(app.data_dir.path()).expect("data dir") {
            let path = entry.expect("entry").path();
            all.extend(std::fs::read(&path).expect("readable"));
        }
        all
    }
}
