//! Group commit for issued access tokens: the services' side. Every
//! client_credentials issuance must be stored before it is answered, and a
//! database commits one transaction at a time; so issuances queue here and
//! the writers in `keyward-jobs` (`token_writer`) write everything that
//! queued up while the previous write ran, in a single transaction, then
//! answer each. Nothing is answered before it is stored; under load a commit
//! carries many tokens, when idle just one. Until the writers are started
//! (a command that runs no jobs), every write goes straight to the store.

use std::sync::{Arc, OnceLock};

use tokio::sync::{Mutex, mpsc, oneshot};

use crate::error::StoreError;
use crate::model::NewOAuthToken;
use crate::store::{Store, StoreResult};

/// Issuances waiting for the writers; beyond this, callers wait to enqueue.
const QUEUE: usize = 4096;

/// One issuance waiting to be stored, and who waits for the answer.
pub struct PendingWrite {
    pub tokens: Vec<NewOAuthToken>,
    reply: oneshot::Sender<StoreResult<()>>,
}

impl PendingWrite {
    /// Answers the issuance (which may have stopped waiting).
    pub fn answer(self, result: StoreResult<()>) {
        let _ = self.reply.send(result);
    }
}

/// The receiving end of the queue, shared by the writers: each takes its
/// turn at it ([`TokenQueue::take`]) while the others write.
#[derive(Clone)]
pub struct TokenQueue(Arc<Mutex<mpsc::Receiver<PendingWrite>>>);

impl TokenQueue {
    /// Waits for issuances and moves up to `most` of those queued into
    /// `batch`; returns how many, 0 once every sender is gone.
    pub async fn take(&self, batch: &mut Vec<PendingWrite>, most: usize) -> usize {
        self.0.lock().await.recv_many(batch, most).await
    }
}

/// A handle on the queue. Cheap to clone.
#[derive(Clone)]
pub struct TokenWriter {
    queue: Arc<OnceLock<mpsc::Sender<PendingWrite>>>,
    store: Arc<dyn Store>,
}

impl TokenWriter {
    pub fn new(store: Arc<dyn Store>) -> Self {
        Self {
            queue: Arc::new(OnceLock::new()),
            store,
        }
    }

    /// Opens the queue and returns its receiving end for the writers;
    /// `None` if it was opened before. Once open, every write goes through
    /// it; the writers stop when the last handle is dropped.
    pub fn open_queue(&self) -> Option<TokenQueue> {
        let (tx, rx) = mpsc::channel(QUEUE);
        self.queue
            .set(tx)
            .ok()
            .map(|()| TokenQueue(Arc::new(Mutex::new(rx))))
    }

    /// Stores `tokens` (all or none), in a shared transaction.
    pub async fn insert(&self, tokens: Vec<NewOAuthToken>) -> StoreResult<()> {
        let Some(queue) = self.queue.get() else {
            return self.store.insert_oauth_tokens(&tokens).await;
        };
        let (reply, answer) = oneshot::channel();
        queue
            .send(PendingWrite { tokens, reply })
            .await
            .map_err(|_| StoreError::Database("the token writer has stopped".into()))?;
        answer
            .await
            .map_err(|_| StoreError::Database("the token writer has stopped".into()))?
    }
}
