//! Group commit for issued access tokens. Every client_credentials
//! issuance must be stored before it is answered, and a database commits
//! one transaction at a time; so issuances queue here and one task writes
//! everything that queued up while the previous write ran, in a single
//! transaction, then answers each. Nothing is answered before it is stored;
//! under load a commit carries many tokens, when idle just one. Where the
//! store can commit several transactions at once
//! ([`Store::concurrent_writes`]), as many writers take turns at the queue,
//! so that the next batch is written while the previous one commits.

use std::sync::Arc;

use tokio::sync::{Mutex, mpsc, oneshot};

use crate::error::StoreError;
use crate::model::NewOAuthToken;
use crate::store::{Store, StoreResult};

/// Issuances waiting for the writer; beyond this, callers wait to enqueue.
const QUEUE: usize = 4096;
/// Most issuances in one transaction.
const MOST: usize = 512;

type Request = (Vec<NewOAuthToken>, oneshot::Sender<StoreResult<()>>);

/// A handle on the writer task; it stops when the last handle is dropped.
#[derive(Clone)]
pub struct TokenWriter {
    queue: Option<mpsc::Sender<Request>>,
    store: Arc<dyn Store>,
}

impl TokenWriter {
    /// Starts the writer on the current Tokio runtime; without one (a
    /// synchronous caller), every write goes straight to the store.
    pub fn start(store: Arc<dyn Store>) -> Self {
        let queue = tokio::runtime::Handle::try_current().ok().map(|runtime| {
            let (tx, rx) = mpsc::channel(QUEUE);
            let rx = Arc::new(Mutex::new(rx));
            for _ in 0..store.concurrent_writes().max(1) {
                runtime.spawn(write_batches(store.clone(), rx.clone()));
            }
            tx
        });
        Self { queue, store }
    }

    /// Stores `tokens` (all or none), in a shared transaction.
    pub async fn insert(&self, tokens: Vec<NewOAuthToken>) -> StoreResult<()> {
        let Some(queue) = &self.queue else {
            return self.store.insert_oauth_tokens(&tokens).await;
        };
        let (tx, rx) = oneshot::channel();
        queue
            .send((tokens, tx))
            .await
            .map_err(|_| StoreError::Database("the token writer has stopped".into()))?;
        rx.await
            .map_err(|_| StoreError::Database("the token writer has stopped".into()))?
    }
}

/// One writer: takes what has queued (waiting its turn at the queue while
/// another writer takes), writes it, answers, again.
async fn write_batches(store: Arc<dyn Store>, queue: Arc<Mutex<mpsc::Receiver<Request>>>) {
    let mut batch = Vec::with_capacity(MOST);
    while queue.lock().await.recv_many(&mut batch, MOST).await > 0 {
        let rows: Vec<NewOAuthToken> = batch
            .iter()
            .flat_map(|(rows, _)| rows.iter().cloned())
            .collect();
        match store.insert_oauth_tokens(&rows).await {
            Ok(()) => {
                for (_, reply) in batch.drain(..) {
                    let _ = reply.send(Ok(()));
                }
            }
            // One bad issuance must not fail its neighbours: retry them
            // one by one, each getting its own answer.
            Err(_) if batch.len() > 1 => {
                for (rows, reply) in batch.drain(..) {
                    let _ = reply.send(store.insert_oauth_tokens(&rows).await);
                }
            }
            Err(err) => {
                for (_, reply) in batch.drain(..) {
                    let _ = reply.send(Err(err.clone()));
                }
            }
        }
    }
}
