//! For the unit tests: a store on a fresh file, and the query plan SQLite
//! chooses there for a statement, to check that a query reads through the
//! index meant for it rather than scanning a table.

use std::path::PathBuf;

use crate::SqliteStore;

/// A migrated store on a new file in `dir`, and the file's path.
pub(crate) async fn fresh(dir: &tempfile::TempDir) -> (SqliteStore, PathBuf) {
    let path = dir.path().join("keyward.db");
    let url = format!("sqlite://{}", path.display());
    let store = SqliteStore::connect(&url, 1).await.expect("a store");
    (store, path)
}

/// The steps of `sql`'s plan in the database at `path` (`EXPLAIN QUERY
/// PLAN`'s `detail`), every parameter NULL: without `sqlite_stat4`, SQLite
/// plans a statement the same for every value.
pub(crate) fn plan(path: &std::path::Path, sql: &str) -> Vec<String> {
    let conn = rusqlite::Connection::open(path).expect("the database opens");
    let mut statement = conn
        .prepare(&format!("EXPLAIN QUERY PLAN {sql}"))
        .expect("the statement prepares");
    let nulls = vec![rusqlite::types::Null; statement.parameter_count()];
    statement
        .query_map(rusqlite::params_from_iter(nulls), |row| row.get(3))
        .expect("the plan")
        .collect::<Result<_, _>>()
        .expect("the plan's steps")
}

/// Asserts that `sql` reads through `index` and sorts nothing.
pub(crate) fn assert_reads_through(path: &std::path::Path, sql: &str, index: &str) {
    let steps = plan(path, sql);
    assert_step(&steps, &format!("USING INDEX {index}"));
    assert!(
        !steps.iter().any(|step| step.contains("TEMP B-TREE")),
        "{steps:?}"
    );
}

/// Asserts that `sql` reads each of `indexes` alone, never its table, and
/// scans nothing.
pub(crate) fn assert_covered_by(path: &std::path::Path, sql: &str, indexes: &[&str]) {
    let steps = plan(path, sql);
    for index in indexes {
        // The space: `users_lookup` must not pass for `users_lookup_old`.
        assert_step(&steps, &format!("USING COVERING INDEX {index} "));
    }
    assert!(
        !steps.iter().any(|step| step.starts_with("SCAN")),
        "{steps:?}"
    );
}

fn assert_step(steps: &[String], wanted: &str) {
    assert!(
        steps.iter().any(|step| step.contains(wanted)),
        "{wanted} in {steps:?}"
    );
}
