//! Cross-instance cache invalidation over PostgreSQL `LISTEN/NOTIFY`.
//!
//! Every instance keeps verified secrets in a memory cache; when one instance
//! revokes, rotates, deactivates or deletes a credential (or disables a user),
//! it calls [`PgStore::notify_invalidation`] with the cache key, and every
//! instance that called [`PgStore::listen_invalidations`] receives
//! [`Invalidation::Key`] within milliseconds. Notifications are not durable:
//! any sent while a listener was disconnected are lost, so after each
//! reconnection the listener emits [`Invalidation::All`] and the cache must be
//! dropped as a whole.
//!
//! A notification is delivered to every listener, including the sender's own.
//! PostgreSQL delivers it when the sending transaction commits; the payload
//! must be shorter than 8000 bytes.

use std::time::Duration;

use keyward_core::error::StoreError;
use keyward_core::store::StoreResult;
use sqlx::postgres::{PgListener, PgPool, PgPoolOptions};
use tokio::sync::mpsc;

use crate::{PgStore, db_error};

/// The channel every Keyward instance listens on.
pub const INVALIDATION_CHANNEL: &str = "keyward_invalidate";

/// The payload that asks every instance to drop its whole cache.
pub const ALL_PAYLOAD: &str = "*";

/// How many invalidations may wait for the consumer before the listener
/// stops reading (PostgreSQL queues the rest).
const QUEUE: usize = 1024;

/// The `application_name` of the listening connection, to find it in
/// `pg_stat_activity`.
pub const LISTENER_APPLICATION_NAME: &str = "keyward-invalidation-listener";

const FIRST_RETRY: Duration = Duration::from_millis(100);
const MAX_RETRY: Duration = Duration::from_secs(5);

/// What a listener reports.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Invalidation {
    /// Drop this one cache entry (the payload as sent).
    Key(String),
    /// Drop everything: notifications may have been missed (the listener
    /// reconnected), or an instance sent [`ALL_PAYLOAD`].
    All,
}

impl Invalidation {
    /// [`ALL_PAYLOAD`] is [`Invalidation::All`]; anything else a key.
    pub fn from_payload(payload: &str) -> Self {
        if payload == ALL_PAYLOAD {
            Invalidation::All
        } else {
            Invalidation::Key(payload.to_owned())
        }
    }
}

impl PgStore {
    /// Tells every listening instance (this one included) to drop the cache
    /// entry `payload`, or everything for [`ALL_PAYLOAD`].
    pub async fn notify_invalidation(&self, payload: &str) -> StoreResult<()> {
        sqlx::query("SELECT pg_notify($1, $2)")
            .bind(INVALIDATION_CHANNEL)
            .bind(payload)
            .execute(&self.pool)
            .await
            .map_err(db_error)?;
        Ok(())
    }

    /// Starts listening on [`INVALIDATION_CHANNEL`] and returns the stream
    /// of invalidations. The subscription is in place when this returns, so
    /// every notification sent afterwards is received. The listener has its
    /// own connection (outside the pool) and a background task that
    /// reconnects with backoff when the connection is lost, then emits
    /// [`Invalidation::All`]; the task ends when the receiver is dropped.
    pub async fn listen_invalidations(&self) -> StoreResult<mpsc::Receiver<Invalidation>> {
        let options = (*self.pool.connect_options())
            .clone()
            .application_name(LISTENER_APPLICATION_NAME);
        let pool = PgPoolOptions::new()
            .max_connections(1)
            .min_connections(0)
            .max_lifetime(None)
            .idle_timeout(None)
            .acquire_timeout(crate::ACQUIRE_TIMEOUT)
            .connect_lazy_with(options);
        let listener = subscribe(&pool).await?;
        let (tx, rx) = mpsc::channel(QUEUE);
        tokio::spawn(forward(pool, listener, tx));
        Ok(rx)
    }
}

/// A listener on the invalidation channel, subscribed.
async fn subscribe(pool: &PgPool) -> StoreResult<PgListener> {
    let mut listener = PgListener::connect_with(pool).await.map_err(db_error)?;
    listener
        .listen(INVALIDATION_CHANNEL)
        .await
        .map_err(|e| StoreError::Database(format!("LISTEN {INVALIDATION_CHANNEL} failed: {e}")))?;
    Ok(listener)
}

/// Forwards notifications to `tx` until the receiver is dropped.
async fn forward(pool: PgPool, mut listener: PgListener, tx: mpsc::Sender<Invalidation>) {
    let mut retry = FIRST_RETRY;
    loop {
        let received = tokio::select! {
            () = tx.closed() => return,
            received = listener.try_recv() => received,
        };
        let invalidation = match received {
            Ok(Some(notification)) => {
                retry = FIRST_RETRY;
                Invalidation::from_payload(notification.payload())
            }
            // The connection was lost and has been re-established, with the
            // channel subscribed again: whatever was sent meanwhile is gone.
            Ok(None) => {
                tracing::warn!("invalidation listener reconnected; dropping all cached entries");
                Invalidation::All
            }
            Err(err) => {
                tracing::warn!(error = %err, "invalidation listener failed; reconnecting");
                drop(listener);
                listener = loop {
                    tokio::select! {
                        () = tx.closed() => return,
                        () = tokio::time::sleep(retry) => {}
                    }
                    retry = (retry * 2).min(MAX_RETRY);
                    match subscribe(&pool).await {
                        Ok(listener) => break listener,
                        Err(err) => {
                            tracing::warn!(error = %err, "invalidation listener still down");
                        }
                    }
                };
                tracing::info!("invalidation listener resubscribed; dropping all cached entries");
                Invalidation::All
            }
        };
        if tx.send(invalidation).await.is_err() {
            return;
        }
    }
}

/// Publishing the core's invalidations: each is sent as its wire form
/// ([`keyward_core::service::Invalidation::encode`]) on
/// [`INVALIDATION_CHANNEL`].
#[async_trait::async_trait]
impl keyward_core::service::InvalidationBus for PgStore {
    async fn publish(
        &self,
        invalidation: keyward_core::service::Invalidation,
    ) -> keyward_core::Result<()> {
        self.notify_invalidation(&invalidation.encode())
            .await
            .map_err(Into::into)
    }

    /// The notifications of every instance, translated for the core's
    /// cache, on a listener of its own ([`PgStore::listen_invalidations`]).
    async fn subscribe(
        &self,
    ) -> keyward_core::Result<Option<mpsc::Receiver<keyward_core::service::Invalidation>>> {
        let mut raw = self.listen_invalidations().await?;
        let (tx, rx) = mpsc::channel(1024);
        tokio::spawn(async move {
            while let Some(invalidation) = raw.recv().await {
                if tx.send(invalidation.into_core()).await.is_err() {
                    return;
                }
            }
        });
        Ok(Some(rx))
    }
}

impl Invalidation {
    /// What a received notification asks of the core's cache.
    pub fn into_core(self) -> keyward_core::service::Invalidation {
        match self {
            Invalidation::Key(payload) => keyward_core::service::Invalidation::decode(&payload),
            Invalidation::All => keyward_core::service::Invalidation::All,
        }
    }
}
