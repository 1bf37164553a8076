//! Write-behind of `lastUsedAt`/`lastUsedIp`: a use is recorded in memory on the
//! request path and written in batches by a background task, never one write
//! per request.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Mutex;

use time::OffsetDateTime;
use uuid::Uuid;

use crate::error::Result;
use crate::model::TokenUsage;
use crate::store::Store;

/// Pending uses, one per token (the latest wins).
#[derive(Debug, Default)]
pub struct UsageRecorder {
    pending: Mutex<HashMap<Uuid, TokenUsage>>,
}

impl UsageRecorder {
    pub fn record(&self, token_id: Uuid, at: OffsetDateTime, ip: Option<IpAddr>) {
        let mut pending = self.pending.lock().unwrap_or_else(|e| e.into_inner());
        match pending.get_mut(&token_id) {
            Some(u) if u.at > at => {}
            Some(u) => {
                u.at = at;
                if ip.is_some() {
                    u.ip = ip;
                }
            }
            None => {
                pending.insert(token_id, TokenUsage { token_id, at, ip });
            }
        }
    }

    /// How many tokens have uses waiting to be written.
    pub fn depth(&self) -> usize {
        self.pending.lock().unwrap_or_else(|e| e.into_inner()).len()
    }

    /// Writes everything pending in one batch. On failure the batch is put
    /// back (newer uses recorded meanwhile win) so nothing is lost.
    pub async fn flush(&self, store: &dyn Store) -> Result<usize> {
        let batch: Vec<TokenUsage> = {
            let mut pending = self.pending.lock().unwrap_or_else(|e| e.into_inner());
            pending.drain().map(|(_, u)| u).collect()
        };
        if batch.is_empty() {
            return Ok(0);
        }
        if let Err(err) = store.record_token_usage(&batch).await {
            for u in &batch {
                self.record(u.token_id, u.at, u.ip);
            }
            return Err(err.into());
        }
        Ok(batch.len())
    }
}
