//! The token writers' connections: a few sqlx connections of their own,
//! each held by one group commit at a time
//! ([`insert_oauth_tokens`](keyward_core::store::OAuthStore::insert_oauth_tokens)),
//! committing as [`AccessTokenCommit`](crate::AccessTokenCommit) says.
//!
//! Why not a pool: an sqlx pool checks each connection with a round trip
//! when it is taken (`test_before_acquire`) and again when it is given back,
//! so every batch of tokens cost three round trips, of which two carried
//! nothing: one issuance at a time took ~560 µs on loopback, ~420 µs now
//! (BENCHMARKS.md), and more where the database is farther away. Here a
//! batch is one statement and one round trip. A connection is opened when first needed; one that
//! failed (a server restart, a terminated backend) is closed, and the write
//! that met it is tried once more on a new one.

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

use keyward_core::error::StoreError;
use keyward_core::store::StoreResult;
use sqlx::postgres::{PgConnectOptions, PgConnection};
use sqlx::{ConnectOptions, Connection};
use tokio::sync::{Mutex, MutexGuard};

use crate::{ACQUIRE_TIMEOUT, db_error};

pub(crate) struct Writers {
    connect: PgConnectOptions,
    slots: Box<[Mutex<Option<PgConnection>>]>,
    next: AtomicUsize,
    closed: AtomicBool,
}

impl std::fmt::Debug for Writers {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Writers")
            .field("connections", &self.slots.len())
            .finish_non_exhaustive()
    }
}

/// A writer connection, held until dropped.
pub(crate) struct Writer<'a> {
    slot: MutexGuard<'a, Option<PgConnection>>,
    writers: &'a Writers,
}

impl Writers {
    /// Up to `count` (at least 1) connections opened with `connect`, none
    /// of them yet.
    pub(crate) fn new(connect: PgConnectOptions, count: usize) -> Self {
        Self {
            connect,
            slots: (0..count.max(1)).map(|_| Mutex::new(None)).collect(),
            next: AtomicUsize::new(0),
            closed: AtomicBool::new(false),
        }
    }

    /// A free connection slot or, when every one is held, the next one in
    /// turn once it is free.
    pub(crate) async fn acquire(&self) -> Writer<'_> {
        let n = self.slots.len();
        let start = self.next.fetch_add(1, Ordering::Relaxed) % n;
        let free = (0..n).find_map(|i| self.slots[(start + i) % n].try_lock().ok());
        let slot = match free {
            Some(slot) => slot,
            None => self.slots[start].lock().await,
        };
        Writer {
            slot,
            writers: self,
        }
    }

    /// Closes every open connection, waiting for the writes under way;
    /// later writes fail.
    pub(crate) async fn close(&self) {
        self.closed.store(true, Ordering::Release);
        for slot in &self.slots {
            if let Some(conn) = slot.lock().await.take() {
                let _ = conn.close().await;
            }
        }
    }
}

impl Writer<'_> {
    /// This slot's connection, opened first if it is not open (within the
    /// pool's acquire timeout); an error once the store is closed.
    pub(crate) async fn connection(&mut self) -> StoreResult<&mut PgConnection> {
        if self.writers.closed.load(Ordering::Acquire) {
            return Err(StoreError::Database("the store is closed".into()));
        }
        if self.slot.is_none() {
            let opened = tokio::time::timeout(ACQUIRE_TIMEOUT, self.writers.connect.connect())
                .await
                .map_err(|_| {
                    StoreError::Database(format!(
                        "opening a token writer's connection took over {ACQUIRE_TIMEOUT:?}"
                    ))
                })?
                .map_err(db_error)?;
            *self.slot = Some(opened);
        }
        Ok(self.slot.as_mut().expect("opened above"))
    }

    /// Closes the connection, which failed: the next use opens a new one.
    pub(crate) async fn discard(&mut self) {
        if let Some(conn) = self.slot.take() {
            let _ = conn.close_hard().await;
        }
    }
}

/// Whether `err` ended the connection, rather than the database refusing
/// one statement on a connection still sound: any failure of the
/// connection itself, or the server ending the session (SQLSTATE class 08,
/// connection exception, and 57P…: a terminated backend, a shutdown, a
/// dropped database; not 57014, a cancelled statement).
pub(crate) fn connection_lost(err: &sqlx::Error) -> bool {
    match err {
        sqlx::Error::Database(db) => db
            .code()
            .is_some_and(|code| code.starts_with("08") || code.starts_with("57P")),
        _ => true,
    }
}
