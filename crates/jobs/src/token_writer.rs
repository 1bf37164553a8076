//! The group-commit writers of issued access tokens (the queue is
//! `keyward_core::service::oauth::TokenWriter`): each takes what has
//! queued, writes it in one transaction, answers every issuance, again.
//! Where the store can commit several transactions at once
//! ([`Store::concurrent_writes`]), as many writers take turns at the queue,
//! so that the next batch is written while the previous one commits.
//!
//! They are not stopped with the other jobs: an issuance queued at that
//! moment must still be answered. They end when the services are dropped
//! (the queue's last sender goes).

use std::sync::Arc;

use keyward_core::model::NewOAuthToken;
use keyward_core::service::Keyward;
use keyward_core::service::oauth::{PendingWrite, TokenQueue};
use keyward_core::store::Store;

/// Most issuances in one transaction.
const MOST: usize = 512;

/// Opens the services' token queue and starts its writers on the current
/// runtime; nothing if they run already.
pub fn start(keyward: &Keyward) {
    let Some(queue) = keyward.token_writer().open_queue() else {
        tracing::debug!("the token writers run already");
        return;
    };
    let store = keyward.store();
    for _ in 0..store.concurrent_writes().max(1) {
        tokio::spawn(write_batches(store.clone(), queue.clone()));
    }
}

/// One writer: takes what has queued (waiting its turn at the queue while
/// another writer takes), writes it, answers, again.
async fn write_batches(store: Arc<dyn Store>, queue: TokenQueue) {
    let mut batch: Vec<PendingWrite> = Vec::with_capacity(MOST);
    while queue.take(&mut batch, MOST).await > 0 {
        let rows: Vec<NewOAuthToken> = batch
            .iter()
            .flat_map(|pending| pending.tokens.iter().cloned())
            .collect();
        match store.insert_oauth_tokens(&rows).await {
            Ok(()) => {
                for pending in batch.drain(..) {
                    pending.answer(Ok(()));
                }
            }
            // One bad issuance must not fail its neighbours: retry them
            // one by one, each getting its own answer.
            Err(_) if batch.len() > 1 => {
                for pending in batch.drain(..) {
                    let result = store.insert_oauth_tokens(&pending.tokens).await;
                    pending.answer(result);
                }
            }
            Err(err) => {
                for pending in batch.drain(..) {
                    pending.answer(Err(err.clone()));
                }
            }
        }
    }
}
