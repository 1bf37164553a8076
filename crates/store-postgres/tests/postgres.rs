//! Integration tests of the PostgreSQL store against the local server. Each
//! test gets a fresh database (`testing::fresh_database`), dropped afterwards.
//! They run the shared conformance suite, then what it cannot see: how
//! errors map, rotations and usage flushes under concurrency, that no
//! plaintext secret reaches a table, the LISTEN/NOTIFY invalidations between
//! instances, and the test-database guard itself.

use keyward_core::effects::SideEffects;
use std::sync::Arc;
use std::time::Duration as StdDuration;

use keyward_core::error::StoreError;
use keyward_core::model::{NewSession, SecretSlot, TokenUsage};
use keyward_core::secret::SecretKind;
use keyward_core::store::{
    InsertToken, RenewOutcome, RenewalLimit, SessionStore, Store, TokenStore,
};
use keyward_store_conformance::fixtures::{self, T0, TestSecret, id, new_token, secret, user};
use keyward_store_postgres::notify::LISTENER_APPLICATION_NAME;
use keyward_store_postgres::testing::{TestDatabase, fresh_database};
use keyward_store_postgres::{Invalidation, PgStore};
use sqlx::{AssertSqlSafe, Row};
use time::Duration;
use tokio::sync::mpsc;
use uuid::Uuid;

/// A renewal limit that never refuses.
const LIMITS: RenewalLimit = RenewalLimit {
    limit: u32::MAX,
    latest_at_limit: T0,
};

/// A fresh database and a store connected to it (migrated).
async fn setup() -> (TestDatabase, PgStore) {
    let db = fresh_database().await;
    let store = PgStore::connect(&db.url, 4).await.expect("connect");
    (db, store)
}

/// Closes the store and drops the database.
async fn teardown(db: TestDatabase, store: PgStore) {
    store.close().await;
    db.drop_database().await.expect("drop test database");
}

async fn slot_of(store: &PgStore, s: &TestSecret) -> Option<(Uuid, SecretSlot)> {
    store
        .find_token_by_secret(&s.stored.digest)
        .await
        .expect("find_token_by_secret")
        .map(|(t, slot)| (t.id, slot))
}

/// The backend-neutral suite every store passes, on a database of its own.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn conformance() {
    let db = fresh_database().await;
    let store = PgStore::connect(&db.url, 4).await.expect("connect");
    keyward_store_conformance::run_all(Arc::new(store.clone())).await;
    teardown(db, store).await;
}

/// On a database of its own: no other admin may exist.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn keeps_the_last_admin() {
    let (db, store) = setup().await;
    keyward_store_conformance::users::last_admin_is_kept(Arc::new(store.clone())).await;
    teardown(db, store).await;
}

#[tokio::test]
async fn ping_and_backend() {
    let (db, store) = setup().await;
    store.ping().await.expect("ping");
    assert_eq!(store.backend(), "postgres");
    store.migrate().await.expect("migrating twice is a no-op");
    teardown(db, store).await;
}

#[tokio::test]
async fn errors_map_to_conflict_or_database() {
    let (db, store) = setup().await;
    let owner = user(&store, T0).await;
    let (new, _) = new_token(owner.id, T0);
    fixtures::insert(&store, &new).await;

    let same_id = store.insert_token(&new, 10, &SideEffects::none()).await;
    assert!(
        matches!(same_id, Err(StoreError::Conflict(_))),
        "{same_id:?}"
    );
    let (mut same_digest, _) = new_token(owner.id, T0);
    same_digest.secret = new.secret.clone();
    let taken = store
        .insert_token(&same_digest, 10, &SideEffects::none())
        .await;
    assert!(matches!(taken, Err(StoreError::Conflict(_))), "{taken:?}");
    assert!(
        store.find_token(same_digest.id).await.unwrap().is_none(),
        "rolled back"
    );

    let (session, _) = fixtures::new_session(owner.id, T0, T0 + Duration::days(1));
    store
        .insert_session(&session, &SideEffects::none())
        .await
        .unwrap();
    let again = store.insert_session(&session, &SideEffects::none()).await;
    assert!(matches!(again, Err(StoreError::Conflict(_))), "{again:?}");

    // No such owner: the write refuses it as gone, not as a conflict.
    let (orphan, _) = new_token(id(), T0);
    let refused = store.insert_token(&orphan, 10, &SideEffects::none()).await;
    assert!(matches!(refused, Err(StoreError::Gone(_))), "{refused:?}");

    // Renewing a missing token inserts nothing.
    let (replacement, _) = new_token(owner.id, T0);
    assert!(matches!(
        store
            .renew_token(id(), &replacement, T0, LIMITS, &SideEffects::none())
            .await
            .unwrap(),
        RenewOutcome::NotFound
    ));
    assert!(store.find_token(replacement.id).await.unwrap().is_none());
    let (limited, _) = new_token(owner.id, T0);
    assert!(matches!(
        store
            .insert_token(&limited, 1, &SideEffects::none())
            .await
            .unwrap(),
        InsertToken::LimitReached
    ));
    teardown(db, store).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_rotations_serialise() {
    let db = fresh_database().await;
    let store = Arc::new(PgStore::connect(&db.url, 8).await.expect("connect"));
    let owner = user(store.as_ref(), T0).await;
    let (token, _) = fixtures::token(store.as_ref(), owner.id, T0).await;
    let secrets: Vec<Arc<TestSecret>> = (0..8)
        .map(|_| Arc::new(secret(SecretKind::ApiToken)))
        .collect();
    let tasks: Vec<_> = secrets
        .iter()
        .map(|s| {
            let (store, s) = (Arc::clone(&store), Arc::clone(s));
            tokio::spawn(async move {
                store
                    .rotate_token(
                        token.id,
                        &s.stored,
                        Some(T0 + Duration::days(1)),
                        None,
                        T0,
                        &SideEffects::none(),
                    )
                    .await
                    .expect("rotate_token")
                    .expect("token exists");
            })
        })
        .collect();
    for task in tasks {
        task.await.expect("task");
    }
    let mut slots = Vec::new();
    for s in &secrets {
        if let Some((_, slot)) = slot_of(&store, s).await {
            slots.push(slot);
        }
    }
    slots.sort_by_key(|s| *s == SecretSlot::Previous);
    assert_eq!(slots, vec![SecretSlot::Current, SecretSlot::Previous]);
    store.close().await;
    db.drop_database().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_usage_flushes_do_not_deadlock() {
    let db = fresh_database().await;
    let store = Arc::new(PgStore::connect(&db.url, 4).await.expect("connect"));
    let owner = user(store.as_ref(), T0).await;
    let mut ids = Vec::new();
    for _ in 0..10 {
        ids.push(fixtures::token(store.as_ref(), owner.id, T0).await.0.id);
    }
    let tasks: Vec<_> = (0..4)
        .map(|n| {
            let store = Arc::clone(&store);
            let mut ids = ids.clone();
            if n % 2 == 1 {
                ids.reverse();
            }
            tokio::spawn(async move {
                for round in 0..20 {
                    let batch: Vec<TokenUsage> = ids
                        .iter()
                        .map(|&token_id| TokenUsage {
                            token_id,
                            at: T0 + Duration::seconds(round),
                            ip: Some(std::net::IpAddr::from([10, 0, 0, n as u8])),
                        })
                        .collect();
                    store
                        .record_token_usage(&batch)
                        .await
                        .expect("record_token_usage");
                }
            })
        })
        .collect();
    for task in tasks {
        task.await.expect("task");
    }
    for id in ids {
        let token = store.find_token(id).await.unwrap().unwrap();
        assert_eq!(token.last_used_at, Some(T0 + Duration::seconds(19)));
    }
    store.close().await;
    db.drop_database().await.unwrap();
}
/// Every row of every table, as JSON text.
async fn dump_tables(store: &PgStore) -> Vec<String> {
    let tables: Vec<String> = sqlx::query(
        "SELECT table_name::text AS name FROM information_schema.tables \
         WHERE table_schema = 'public' AND table_type = 'BASE TABLE'",
    )
    .fetch_all(store.pool())
    .await
    .expect("tables")
    .iter()
    .map(|row| row.get("name"))
    .collect();
    for expected in ["users", "sessions", "api_tokens", "token_secrets"] {
        assert!(
            tables.iter().any(|t| t == expected),
            "table {expected} exists"
        );
    }
    let mut rows = Vec::new();
    for table in tables {
        let sql = format!("SELECT row_to_json(t)::text AS row FROM \"{table}\" t");
        let table_rows = sqlx::query(AssertSqlSafe(sql))
            .fetch_all(store.pool())
            .await
            .expect("dump table");
        rows.extend(table_rows.iter().map(|row| row.get::<String, _>("row")));
    }
    rows
}

#[tokio::test]
async fn no_plaintext_secret_reaches_a_table() {
    let (db, store) = setup().await;
    let owner = user(&store, T0).await;
    let (token, first) = fixtures::token(&store, owner.id, T0).await;
    let second = secret(SecretKind::ApiToken);
    store
        .rotate_token(
            token.id,
            &second.stored,
            Some(T0 + Duration::days(1)),
            None,
            T0,
            &SideEffects::none(),
        )
        .await
        .unwrap();
    let (replacement, third) = new_token(owner.id, T0);
    store
        .renew_token(
            token.id,
            &replacement,
            T0 + Duration::days(1),
            LIMITS,
            &SideEffects::none(),
        )
        .await
        .unwrap();
    let session = secret(SecretKind::Session);
    store
        .insert_session(
            &NewSession {
                id: id(),
                user_id: owner.id,
                digest: session.stored.digest,
                created_at: T0,
                expires_at: T0 + Duration::days(7),
                ip: None,
                user_agent: None,
            },
            &SideEffects::none(),
        )
        .await
        .unwrap();
    let plain = [first.plain, second.plain, third, session.plain].map(|s| s.expose().to_owned());

    let rows = dump_tables(&store).await;
    assert!(
        rows.len() >= 6,
        "users, tokens, secrets and the session were dumped"
    );
    for secret in &plain {
        // The whole secret, and its random payload alone.
        let payload = &secret[4..34];
        for row in &rows {
            assert!(
                !row.contains(secret.as_str()),
                "plaintext secret stored: {row}"
            );
            assert!(!row.contains(payload), "secret payload stored: {row}");
        }
    }
    teardown(db, store).await;
}

/// The next invalidation, failing after `within`.
async fn next(rx: &mut mpsc::Receiver<Invalidation>, within: StdDuration) -> Invalidation {
    tokio::time::timeout(within, rx.recv())
        .await
        .expect("an invalidation in time")
        .expect("listener alive")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn invalidations_reach_other_instances() {
    let db = fresh_database().await;
    let sender = PgStore::connect(&db.url, 2).await.expect("connect");
    let receiver = PgStore::connect(&db.url, 2).await.expect("connect");
    let mut rx = receiver.listen_invalidations().await.expect("listen");
    let mut own = sender.listen_invalidations().await.expect("listen");

    sender
        .notify_invalidation("token:0123")
        .await
        .expect("notify");
    let within = StdDuration::from_secs(1);
    assert_eq!(
        next(&mut rx, within).await,
        Invalidation::Key("token:0123".into())
    );
    assert_eq!(
        next(&mut own, within).await,
        Invalidation::Key("token:0123".into())
    );
    sender
        .notify_invalidation(keyward_store_postgres::ALL_PAYLOAD)
        .await
        .expect("notify");
    assert_eq!(next(&mut rx, within).await, Invalidation::All);

    // Kill the listening connections: each listener reconnects, emits All
    // (anything sent meanwhile may be lost), and hears later notifications.
    let killed = sqlx::query(
        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity \
         WHERE datname = current_database() AND application_name = $1",
    )
    .bind(LISTENER_APPLICATION_NAME)
    .fetch_all(sender.pool())
    .await
    .expect("terminate listeners");
    assert_eq!(killed.len(), 2, "both listeners found");
    let within = StdDuration::from_secs(10);
    loop {
        // Notifications sent before the kill may still arrive first.
        match next(&mut rx, within).await {
            Invalidation::All => break,
            Invalidation::Key(_) => {}
        }
    }
    sender
        .notify_invalidation("token:4567")
        .await
        .expect("notify");
    assert_eq!(
        next(&mut rx, within).await,
        Invalidation::Key("token:4567".into())
    );

    drop((rx, own));
    sender.close().await;
    receiver.close().await;
    db.drop_database().await.expect("drop");
}

#[tokio::test]
async fn a_test_database_left_undropped_is_dropped_with_its_guard() {
    let db = fresh_database().await;
    let name = db.name().to_owned();
    let store = PgStore::connect(&db.url, 1).await.expect("connect");
    // As when a test panics: the guard goes while a connection is still open.
    drop(db);
    let admin_url = keyward_store_postgres::testing::admin_url();
    let mut conn = <sqlx::PgConnection as sqlx::Connection>::connect(&admin_url)
        .await
        .expect("admin connection");
    let left = sqlx::query("SELECT 1 FROM pg_database WHERE datname = $1")
        .bind(&name)
        .fetch_optional(&mut conn)
        .await
        .expect("query");
    assert!(left.is_none(), "database {name} dropped");
    assert!(store.ping().await.is_err(), "its connections were closed");
}

/// Attempts counted in the database: of concurrent reservations at most the
/// limit pass, a release gives one back only in its window, windows end,
/// and purges forget ended windows.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn attempts_hold_their_limit_under_concurrency() {
    use keyward_core::store::{AttemptOutcome, AttemptStore};
    let (db, store) = setup().await;
    let window = Duration::minutes(15);
    let mut tasks = tokio::task::JoinSet::new();
    for _ in 0..50 {
        let store = store.clone();
        tasks.spawn(async move { store.reserve_attempt("login:victim", 5, window, T0).await });
    }
    let mut reserved = Vec::new();
    while let Some(outcome) = tasks.join_next().await {
        if let AttemptOutcome::Reserved { window_start } = outcome.unwrap().unwrap() {
            reserved.push(window_start);
        }
    }
    assert_eq!(
        reserved.len(),
        5,
        "exactly the limit of 50 concurrent reservations"
    );
    let refused = store
        .reserve_attempt("login:victim", 5, window, T0)
        .await
        .unwrap();
    assert_eq!(
        refused,
        AttemptOutcome::Refused {
            retry_at: T0 + window
        }
    );
    store.release_attempt("login:victim", T0).await.unwrap();
    assert!(matches!(
        store
            .reserve_attempt("login:victim", 5, window, T0)
            .await
            .unwrap(),
        AttemptOutcome::Reserved { .. }
    ));
    // The window ends: a fresh one starts.
    let later = T0 + window;
    assert_eq!(
        store
            .reserve_attempt("login:victim", 5, window, later)
            .await
            .unwrap(),
        AttemptOutcome::Reserved {
            window_start: later
        }
    );
    store.release_attempt("login:victim", T0).await.unwrap();
    assert_eq!(
        store
            .purge_attempts(later - Duration::seconds(1))
            .await
            .unwrap(),
        0
    );
    assert_eq!(store.purge_attempts(later).await.unwrap(), 1);
    store.reset_attempts("login:victim").await.unwrap();
    teardown(db, store).await;
}

/// The verification path's lookups run on reader connections of their own;
/// when the server ends them (a restart, an operator's
/// `pg_terminate_backend`), the next lookups open new ones and answer, and
/// many lookups at once share the connections.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn readers_come_back_after_the_server_ends_their_connections() {
    let (db, store) = setup().await;
    let owner = user(&store, T0).await;
    let (new, _) = new_token(owner.id, T0);
    fixtures::insert(&store, &new).await;
    let lookup = |store: PgStore| async move {
        store
            .find_token_credential(&new.secret.digest)
            .await
            .map(|found| found.map(|(token, user)| (token.id, token.slot, user.id)))
    };
    let expected = Some((new.id, SecretSlot::Current, owner.id));
    assert_eq!(lookup(store.clone()).await.expect("lookup"), expected);

    let killed = sqlx::query(
        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity \
         WHERE datname = current_database() AND application_name = $1",
    )
    .bind(keyward_store_postgres::READER_APPLICATION_NAME)
    .fetch_all(store.pool())
    .await
    .expect("terminate readers");
    assert!(
        !killed.is_empty(),
        "the readers are named in pg_stat_activity"
    );

    // Every connection is used in turn: each of these meets a dead one or
    // its replacement, and all of them answer.
    let mut lookups = tokio::task::JoinSet::new();
    for _ in 0..64 {
        lookups.spawn(lookup(store.clone()));
    }
    while let Some(answer) = lookups.join_next().await {
        assert_eq!(answer.unwrap().expect("lookup after the kill"), expected);
    }
    let readers: i64 = sqlx::query(
        "SELECT count(*) AS n FROM pg_stat_activity \
         WHERE datname = current_database() AND application_name = $1",
    )
    .bind(keyward_store_postgres::READER_APPLICATION_NAME)
    .fetch_one(store.pool())
    .await
    .expect("count readers")
    .get("n");
    assert_eq!(
        readers,
        killed.len() as i64,
        "each dead connection was replaced once, not once per lookup"
    );
    teardown(db, store).await;
}

/// The token writers hold connections of their own; when the server ends
/// them, the next writes open new ones and every one of them is stored:
/// none fails for meeting a dead connection.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn token_writers_come_back_after_the_server_ends_their_connections() {
    use keyward_core::store::OAuthStore;
    use keyward_store_conformance::oauth::{access, app};
    use keyward_store_postgres::TOKEN_WRITER_APPLICATION_NAME;

    let (db, store) = setup().await;
    let owner = user(&store, T0).await;
    let client = app(&store, owner.id, T0).await;
    let writers = |store: &PgStore| {
        let pool = store.pool().clone();
        async move {
            sqlx::query(
                "SELECT count(*) AS n FROM pg_stat_activity \
                 WHERE datname = current_database() AND application_name = $1",
            )
            .bind(TOKEN_WRITER_APPLICATION_NAME)
            .fetch_one(&pool)
            .await
            .expect("count writers")
            .get::<i64, _>("n")
        }
    };
    // Both connections open: two writes at once.
    let first = [
        access(&client, owner.id, None, T0),
        access(&client, owner.id, None, T0),
    ];
    let (a, b) = tokio::join!(
        store.insert_oauth_tokens(std::slice::from_ref(&first[0])),
        store.insert_oauth_tokens(std::slice::from_ref(&first[1])),
    );
    a.expect("first write");
    b.expect("second write");
    let opened = writers(&store).await;
    assert!(opened >= 1, "the writers are named in pg_stat_activity");

    sqlx::query(
        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity \
         WHERE datname = current_database() AND application_name = $1",
    )
    .bind(TOKEN_WRITER_APPLICATION_NAME)
    .execute(store.pool())
    .await
    .expect("terminate writers");
    let deadline = tokio::time::Instant::now() + StdDuration::from_secs(10);
    while writers(&store).await > 0 {
        assert!(tokio::time::Instant::now() < deadline, "the writers end");
        tokio::time::sleep(StdDuration::from_millis(20)).await;
    }

    // Each write meets a dead connection or its replacement; every one is
    // stored, and each dead connection is replaced once.
    let later: Vec<_> = (0..16)
        .map(|_| access(&client, owner.id, None, T0))
        .collect();
    let mut writes = tokio::task::JoinSet::new();
    for token in later.iter().cloned() {
        let store = store.clone();
        writes.spawn(async move { store.insert_oauth_tokens(&[token]).await });
    }
    while let Some(written) = writes.join_next().await {
        written.unwrap().expect("a write after the kill");
    }
    for token in first.iter().chain(&later) {
        let grant = store
            .find_oauth_token_grant(token.token.id, &token.digest)
            .await
            .expect("find_oauth_token_grant");
        assert!(grant.is_some(), "token {} is stored", token.token.id);
    }
    assert!(
        writers(&store).await <= 2,
        "at most one connection per writer"
    );
    store.close().await;
    assert!(
        store
            .insert_oauth_tokens(&[access(&client, owner.id, None, T0)])
            .await
            .is_err(),
        "a closed store opens no new writer connection"
    );
    db.drop_database().await.expect("drop");
}

/// Issued access tokens are committed without waiting for the WAL flush by
/// default (`AccessTokenCommit::Async`) and with it when `Durable`, on
/// connections of their own; either way another instance finds the token
/// the moment the insert returns, and every other write still waits.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn issued_access_tokens_commit_as_configured_and_are_seen_at_once() {
    use keyward_core::store::OAuthStore;
    use keyward_store_conformance::oauth::{access, app};
    use keyward_store_postgres::{AccessTokenCommit, PgOptions, TOKEN_WRITER_APPLICATION_NAME};

    let db = fresh_database().await;
    let fast = PgStore::connect(&db.url, 2).await.expect("connect");
    let durable = PgStore::connect_with(
        &db.url,
        PgOptions {
            max_connections: 2,
            access_token_commit: AccessTokenCommit::Durable,
        },
    )
    .await
    .expect("connect durable");
    assert_eq!(fast.token_writer_synchronous_commit().await.unwrap(), "off");
    assert_eq!(
        durable.token_writer_synchronous_commit().await.unwrap(),
        "on"
    );
    let shared: (String,) = sqlx::query_as("SHOW synchronous_commit")
        .fetch_one(fast.pool())
        .await
        .expect("show");
    assert_eq!(shared.0, "on", "the pool's other writes wait for the flush");

    let owner = user(&fast, T0).await;
    let client = app(&fast, owner.id, T0).await;
    for (writer, reader) in [(&fast, &durable), (&durable, &fast)] {
        let token = access(&client, owner.id, None, T0);
        writer
            .insert_oauth_tokens(std::slice::from_ref(&token))
            .await
            .expect("insert_oauth_tokens");
        let grant = reader
            .find_oauth_token_grant(token.token.id, &token.digest)
            .await
            .expect("find_oauth_token_grant")
            .expect("the other instance finds the token at once");
        assert_eq!(grant.token, token.token);
    }
    let writers: (i64,) = sqlx::query_as(
        "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() \
         AND application_name = $1",
    )
    .bind(TOKEN_WRITER_APPLICATION_NAME)
    .fetch_one(fast.pool())
    .await
    .expect("pg_stat_activity");
    assert!(
        writers.0 >= 2,
        "each store's writers show by name: {}",
        writers.0
    );
    durable.close().await;
    teardown(db, fast).await;
}

/// With `sslmode=require` in the URL, every connection the store opens is
/// encrypted: the pool's, the listener's, the token writers' and the
/// readers'.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_connection_is_encrypted_when_the_url_requires_it() {
    use keyward_core::store::OAuthStore;
    use keyward_store_conformance::oauth::{access, app};
    use keyward_store_postgres::{READER_APPLICATION_NAME, TOKEN_WRITER_APPLICATION_NAME};

    let db = fresh_database().await;
    let mut url = url::Url::parse(&db.url).expect("a URL");
    url.query_pairs_mut().append_pair("sslmode", "require");
    let store = PgStore::connect(url.as_str(), 2).await.expect("connect");
    let _invalidations = store.listen_invalidations().await.expect("listen");
    let owner = user(&store, T0).await;
    let (new, _) = new_token(owner.id, T0);
    fixtures::insert(&store, &new).await;
    let found = store
        .find_token_credential(&new.secret.digest)
        .await
        .expect("a lookup on the readers");
    assert!(found.is_some());
    let client = app(&store, owner.id, T0).await;
    store
        .insert_oauth_tokens(&[access(&client, owner.id, None, T0)])
        .await
        .expect("an insert on the token writers");

    let connections: Vec<(String, bool)> = sqlx::query_as(
        "SELECT a.application_name, s.ssl FROM pg_stat_activity a \
         JOIN pg_stat_ssl s USING (pid) WHERE a.datname = current_database()",
    )
    .fetch_all(store.pool())
    .await
    .expect("pg_stat_ssl");
    for name in [
        READER_APPLICATION_NAME,
        TOKEN_WRITER_APPLICATION_NAME,
        LISTENER_APPLICATION_NAME,
    ] {
        assert!(
            connections.iter().any(|(n, _)| n == name),
            "{name} is connected: {connections:?}"
        );
    }
    assert!(
        connections.iter().all(|(_, ssl)| *ssl),
        "every connection is encrypted: {connections:?}"
    );
    store.close().await;
    db.drop_database().await.expect("drop test database");
}
