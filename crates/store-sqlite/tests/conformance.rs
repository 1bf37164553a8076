//! The SQLite store against the shared conformance suite, on a fresh file per
//! test, plus what is particular to SQLite: opening, migrating, concurrent
//! writers from two pools, checkpoints beside the writer, and no plaintext
//! secret ever reaching the file.

use keyward_core::effects::SideEffects;
use std::path::Path;
use std::sync::Arc;

use keyward_core::model::{PageRequest, TokenFilter};
use keyward_core::secret::SecretKind;
use keyward_core::store::{
    InsertToken, RenewOutcome, RenewalLimit, SessionStore, Store, TokenStore, UserStore,
};
use keyward_store_conformance::fixtures::{self, T0};
use keyward_store_sqlite::SqliteStore;
use time::Duration;

fn url_for(path: &Path) -> String {
    format!("sqlite://{}", path.display())
}

async fn fresh(dir: &tempfile::TempDir) -> SqliteStore {
    SqliteStore::connect(&url_for(&dir.path().join("keyward.db")), 4)
        .await
        .expect("connect")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn passes_the_conformance_suite() {
    let dir = tempfile::tempdir().expect("tempdir");
    let store: Arc<dyn Store> = Arc::new(fresh(&dir).await);
    assert_eq!(store.backend(), "sqlite");
    // Spawned so the suite's future is checked to be `Send`.
    tokio::spawn(keyward_store_conformance::run_all(store))
        .await
        .expect("the suite passes");
}

/// The same suite with the file kept to this process (`unix-excl`): every
/// connection, the readers' included, shares the one in-memory WAL index.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn passes_the_conformance_suite_with_exclusive_locking() {
    use keyward_store_sqlite::{Locking, SqliteOptions};
    let dir = tempfile::tempdir().expect("tempdir");
    let options = SqliteOptions {
        max_connections: 4,
        locking: Locking::Exclusive,
    };
    let url = url_for(&dir.path().join("keyward.db"));
    let store = SqliteStore::connect_with(&url, options)
        .await
        .expect("connect");
    let store: Arc<dyn Store> = Arc::new(store);
    tokio::spawn(keyward_store_conformance::run_all(store.clone()))
        .await
        .expect("the suite passes");
    // Still open, with every connection used.
    assert!(dir.path().join("keyward.db-wal").exists(), "in WAL mode");
    assert!(
        !dir.path().join("keyward.db-shm").exists(),
        "the WAL index is in memory, not in a -shm file"
    );
    drop(store);
}

/// On a database of its own: no other admin may exist.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn keeps_the_last_admin() {
    let dir = tempfile::tempdir().expect("tempdir");
    let store: Arc<dyn Store> = Arc::new(fresh(&dir).await);
    keyward_store_conformance::users::last_admin_is_kept(store).await;
}

#[tokio::test]
async fn creates_the_file_and_its_directory_and_migrates_idempotently() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("nested/deeper/keyward.db");
    let url = format!(
        "sqlite:///{}",
        path.display().to_string().trim_start_matches('/')
    );
    let store = SqliteStore::connect(&url, 1).await.expect("connect");
    assert!(path.is_file(), "the database file is created");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&path)
            .expect("metadata")
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600, "only the owner may read the database");
    }
    store.migrate().await.expect("migrate again");
    let user = fixtures::user(&store, T0).await;
    store.close().await;

    let reopened = SqliteStore::connect(&url, 2).await.expect("reconnect");
    reopened
        .migrate()
        .await
        .expect("migrate on an up-to-date file");
    assert_eq!(
        reopened.find_user(user.id).await.expect("find_user"),
        Some(user)
    );
}

#[tokio::test]
async fn refuses_urls_that_are_not_sqlite_files() {
    for url in [
        "postgres://localhost/keyward",
        "sqlite::memory:",
        "sqlite://",
    ] {
        assert!(SqliteStore::connect(url, 1).await.is_err(), "{url}");
    }
}

/// Two pools on one file (a server and the CLI) write at the same time
/// without "database is locked" failures, and the limit still holds.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_processes_worth_of_writers_share_the_file() {
    let dir = tempfile::tempdir().expect("tempdir");
    let server: Arc<dyn Store> = Arc::new(fresh(&dir).await);
    let cli: Arc<dyn Store> = Arc::new(fresh(&dir).await);
    let owner = fixtures::user(server.as_ref(), T0).await;
    let mut tasks = tokio::task::JoinSet::new();
    for i in 0..16 {
        let store = Arc::clone(if i % 2 == 0 { &server } else { &cli });
        let (token, _) = fixtures::new_token(owner.id, T0);
        tasks.spawn(async move { store.insert_token(&token, 5, &SideEffects::none()).await });
    }
    let mut accepted = 0;
    while let Some(done) = tasks.join_next().await {
        if let InsertToken::Inserted(_) = done
            .expect("task")
            .expect("no write fails under contention")
        {
            accepted += 1;
        }
    }
    assert_eq!(accepted, 5);
    let listed = cli
        .list_tokens(&TokenFilter::of(owner.id), &PageRequest::default(), T0)
        .await
        .expect("list_tokens");
    assert_eq!(listed.len(), 5);
}

/// Stores users, sessions and tokens (rotated, renewed) and then reads every
/// file SQLite wrote: none holds any plaintext secret of the test.
#[tokio::test]
async fn no_plaintext_secret_reaches_the_database_file() {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = fresh(&dir).await;
    let mut plaintexts = Vec::new();

    let new_user = fixtures::new_user(T0);
    let username = new_user.username.as_str().to_owned();
    let owner = store
        .insert_user(&new_user, &SideEffects::none())
        .await
        .expect("insert_user");
    for _ in 0..3 {
        let (session, plain) = fixtures::new_session(owner.id, T0, T0 + Duration::days(7));
        store
            .insert_session(&session, &SideEffects::none())
            .await
            .expect("insert_session");
        plaintexts.push(plain);
    }
    for _ in 0..3 {
        let (token, secret) = fixtures::token(&store, owner.id, T0).await;
        plaintexts.push(secret.plain);
        let rotated = fixtures::secret(SecretKind::ApiToken);
        store
            .rotate_token(
                token.id,
                &rotated.stored,
                Some(T0 + Duration::days(7)),
                None,
                T0,
                &SideEffects::none(),
            )
            .await
            .expect("rotate_token")
            .expect("exists");
        plaintexts.push(rotated.plain);
        let (replacement, plain) = fixtures::new_token(owner.id, T0 + Duration::hours(1));
        let limits = RenewalLimit {
            limit: u32::MAX,
            latest_at_limit: T0,
        };
        let renewed = store
            .renew_token(
                token.id,
                &replacement,
                T0 + Duration::hours(2),
                limits,
                &SideEffects::none(),
            )
            .await
            .expect("renew_token");
        assert!(matches!(renewed, RenewOutcome::Renewed { .. }));
        plaintexts.push(plain);
    }
    let mut bytes = Vec::new();
    for entry in std::fs::read_dir(dir.path()).expect("read_dir") {
        bytes.extend(std::fs::read(entry.expect("entry").path()).expect("read"));
    }
    assert!(
        contains(&bytes, username.as_bytes()),
        "sanity: the scanned files hold the stored rows"
    );
    for plain in &plaintexts {
        let text = plain.expose();
        assert!(
            !contains(&bytes, text.as_bytes()),
            "a plaintext secret was stored"
        );
        // Not even the random part, in case a prefix were stripped.
        let payload =
            &text[keyward_core::secret::PREFIX_LEN..][..keyward_core::secret::PAYLOAD_LEN];
        assert!(
            !contains(&bytes, payload.as_bytes()),
            "a secret's payload was stored"
        );
    }

    // The same after the WAL has been checkpointed into the main file.
    store.close().await;
    let main = std::fs::read(dir.path().join("keyward.db")).expect("read db");
    assert!(contains(&main, username.as_bytes()));
    for plain in &plaintexts {
        assert!(!contains(&main, plain.expose().as_bytes()));
    }
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_log_is_copied_into_the_database_file_beside_the_writer() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("keyward.db");
    let store = fresh(&dir).await;
    let file_len = || std::fs::metadata(&path).expect("metadata").len();
    let before = file_len();
    // Far below the writer's own checkpoint threshold, and nothing closes
    // the store: only the background checkpoint can move these pages from
    // the log into the database file.
    for _ in 0..200 {
        fixtures::user(&store, T0).await;
    }
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
    while file_len() <= before {
        assert!(
            std::time::Instant::now() < deadline,
            "the database file did not grow within 5 s: no checkpoint ran"
        );
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    store.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_long_log_starts_over_before_the_writer_must_checkpoint_it() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("keyward.db");
    let store = Arc::new(fresh(&dir).await);
    // Writes queued back to back, as a busy server makes them: the writer
    // commits continuously, so a checkpoint beside it never copies the
    // whole log.
    let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let writers: Vec<_> = (0..8)
        .map(|_| {
            let (store, stop) = (store.clone(), stop.clone());
            tokio::spawn(async move {
                while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                    fixtures::user(store.as_ref(), T0).await;
                }
            })
        })
        .collect();
    // Three times the writer's own threshold (10,000 pages).
    let (mut written, mut longest, mut restarts, mut last) = (0, 0, 0, 0);
    while written < 30_000 {
        tokio::time::sleep(std::time::Duration::from_millis(2)).await;
        let log = log_pages(&path);
        if log < last {
            restarts += 1;
            written += log;
        } else {
            written += log - last;
        }
        longest = longest.max(log);
        last = log;
    }
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    for writer in writers {
        writer.await.expect("writer");
    }
    assert!(restarts >= 3, "the log started over {restarts} times");
    assert!(
        longest < 9_000,
        "the log grew to {longest} pages: it waited for the writer's own checkpoint"
    );
    store.close().await;
}

/// The pages in the write-ahead log now, read from the WAL index (`-shm`)
/// without taking part: its header's `mxFrame` (offset 16, native byte
/// order, per SQLite's file format).
fn log_pages(db: &Path) -> u32 {
    let mut shm = db.as_os_str().to_owned();
    shm.push("-shm");
    let header = std::fs::read(shm).expect("read the WAL index");
    u32::from_ne_bytes(header[16..20].try_into().expect("a WAL index header"))
}
