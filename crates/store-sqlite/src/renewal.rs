//! [`RenewalStore`] on SQLite: `renewal_keys` and the renewal columns of
//! `api_tokens`. Every change runs under the single writer, and each is
//! conditional on the state it changes, so a key is redeemed once and a due
//! cycle starts once.

use async_trait::async_trait;
use keyward_core::effects::SideEffects;
use keyward_core::model::{RenewalKey, RenewalRedemption, RenewalStart};
use keyward_core::rows::RenewalKeyRow;
use keyward_core::secret::Digest;
use keyward_core::store::{Redeemed, RenewalStore, StoreResult};
use sqlx::SqliteConnection;
use time::OffsetDateTime;
use uuid::Uuid;

use crate::SqliteStore;
use crate::rows::{db_error, get_id, get_opt_time, get_time, id_text, secs};
use crate::tokens::{fetch_token, insert_current_secret};

/// Cancels the token's live keys and fails its pending renewal callbacks:
/// the policy is gone, so nothing more may be redeemed or sent.
pub(crate) async fn cancel_pending(
    conn: &mut SqliteConnection,
    token_id: Uuid,
    now: OffsetDateTime,
) -> StoreResult<()> {
    sqlx::query(
        "UPDATE renewal_keys SET cancelled_at = ?2 \
         WHERE token_id = ?1 AND used_at IS NULL AND cancelled_at IS NULL",
    )
    .bind(id_text(token_id))
    .bind(secs(now))
    .execute(&mut *conn)
    .await
    .map_err(db_error)?;
    sqlx::query(
        "UPDATE outbox_messages SET status = 'failed', last_result = 'cancelled: renewal removed', \
         claimed_by = NULL, claim_expires_at = NULL \
         WHERE token_id = ?1 AND status = 'pending' AND event = 'token.renewal_ready'",
    )
    .bind(id_text(token_id))
    .execute(&mut *conn)
    .await
    .map_err(db_error)?;
    Ok(())
}

/// The condition of a token that may renew at `?2` (unix seconds).
macro_rules! may_renew {
    () => {
        "renewal_every_days IS NOT NULL AND state = 'active' \
         AND (expires_at IS NULL OR expires_at > ?2) AND renewed_to IS NULL"
    };
}

/// The first `?1` tokens whose renewal cycle is due at `?2`, earliest
/// first: read through `api_tokens_renewal_due`, not by scanning every token.
const DUE_RENEWALS: &str = concat!(
    "SELECT id FROM api_tokens WHERE renewal_next_at <= ?2 AND ",
    may_renew!(),
    " ORDER BY renewal_next_at, id LIMIT ?1"
);

#[async_trait]
impl RenewalStore for SqliteStore {
    async fn due_renewals(&self, now: OffsetDateTime, limit: u32) -> StoreResult<Vec<Uuid>> {
        sqlx::query(DUE_RENEWALS)
            .bind(i64::from(limit))
            .bind(secs(now))
            .fetch_all(&self.pool)
            .await
            .map_err(db_error)?
            .iter()
            .map(|row| get_id(row, "id"))
            .collect()
    }

    async fn start_renewal(
        &self,
        start: &RenewalStart,
        effects: &SideEffects,
    ) -> StoreResult<bool> {
        let mut tx = self.write().await?;
        let done = sqlx::query(concat!(
            "UPDATE api_tokens SET renewal_next_at = ?3 \
             WHERE id = ?1 AND (?4 OR renewal_next_at <= ?2) AND ",
            may_renew!()
        ))
        .bind(id_text(start.token_id))
        .bind(secs(start.now))
        .bind(secs(start.retry_at))
        .bind(start.force)
        .execute(&mut *tx)
        .await
        .map_err(db_error)?;
        if done.rows_affected() == 0 {
            tx.rollback().await.map_err(db_error)?;
            return Ok(false);
        }
        let key = &start.key;
        sqlx::query(
            "INSERT INTO renewal_keys (id, token_id, digest, created_at, expires_at) \
             VALUES (?1, ?2, ?3, ?4, ?5)",
        )
        .bind(id_text(key.id))
        .bind(id_text(key.token_id))
        .bind(key.digest.as_bytes())
        .bind(secs(key.created_at))
        .bind(secs(key.expires_at))
        .execute(&mut *tx)
        .await
        .map_err(db_error)?;
        crate::effects::write(&mut tx, effects).await?;
        tx.commit().await.map_err(db_error)?;
        Ok(true)
    }

    async fn find_renewal_key(&self, digest: &Digest) -> StoreResult<Option<RenewalKey>> {
        let Some(row) = sqlx::query(
            "SELECT id, token_id, created_at, expires_at, used_at, cancelled_at \
             FROM renewal_keys WHERE digest = ?1",
        )
        .bind(digest.as_bytes())
        .fetch_optional(&self.pool)
        .await
        .map_err(db_error)?
        else {
            return Ok(None);
        };
        Ok(Some(RenewalKey::from(RenewalKeyRow {
            id: get_id(&row, "id")?,
            token_id: get_id(&row, "token_id")?,
            created_at: get_time(&row, "created_at")?,
            expires_at: get_time(&row, "expires_at")?,
            used_at: get_opt_time(&row, "used_at")?,
            cancelled_at: get_opt_time(&row, "cancelled_at")?,
        })))
    }

    async fn redeem_renewal_key(
        &self,
        r: &RenewalRedemption,
        effects: &SideEffects,
    ) -> StoreResult<Redeemed> {
        let mut tx = self.write().await?;
        let token_id = id_text(r.token_id);
        let used = sqlx::query(concat!(
            "UPDATE renewal_keys SET used_at = ?2 \
             WHERE id = ?1 AND token_id = ?3 AND used_at IS NULL AND cancelled_at IS NULL \
               AND expires_at > ?2 \
               AND EXISTS (SELECT 1 FROM api_tokens WHERE id = ?3 AND ",
            may_renew!(),
            ")"
        ))
        .bind(id_text(r.key_id))
        .bind(secs(r.now))
        .bind(&token_id)
        .execute(&mut *tx)
        .await
        .map_err(db_error)?;
        if used.rows_affected() == 0 {
            tx.rollback().await.map_err(db_error)?;
            return Ok(Redeemed::Refused);
        }
        sqlx::query(
            "UPDATE renewal_keys SET cancelled_at = ?2 \
             WHERE token_id = ?1 AND used_at IS NULL AND cancelled_at IS NULL",
        )
        .bind(&token_id)
        .bind(secs(r.now))
        .execute(&mut *tx)
        .await
        .map_err(db_error)?;
        sqlx::query("DELETE FROM token_secrets WHERE token_id = ?1 AND slot = 'previous'")
            .bind(&token_id)
            .execute(&mut *tx)
            .await
            .map_err(db_error)?;
        sqlx::query(
            "UPDATE token_secrets SET slot = 'previous', expires_at = ?2 \
             WHERE token_id = ?1 AND slot = 'current'",
        )
        .bind(&token_id)
        .bind(secs(r.previous_until))
        .execute(&mut *tx)
        .await
        .map_err(db_error)?;
        insert_current_secret(&mut tx, r.token_id, &r.secret, r.now).await?;
        sqlx::query(
            "UPDATE api_tokens SET expires_at = ?2, renewal_next_at = ?3, \
             renewal_last_at = ?4, updated_at = ?4 WHERE id = ?1",
        )
        .bind(&token_id)
        .bind(r.expires_at.map(secs))
        .bind(secs(r.next_renewal_at))
        .bind(secs(r.now))
        .execute(&mut *tx)
        .await
        .map_err(db_error)?;
        crate::effects::write(&mut tx, effects).await?;
        let token = fetch_token(&mut *tx, r.token_id).await?;
        tx.commit().await.map_err(db_error)?;
        Ok(token.map_or(Redeemed::Refused, Redeemed::Renewed))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plans;

    #[tokio::test]
    async fn the_due_renewals_are_read_through_their_index() {
        let dir = tempfile::tempdir().unwrap();
        let (_store, path) = plans::fresh(&dir).await;
        plans::assert_reads_through(&path, DUE_RENEWALS, "api_tokens_renewal_due");
    }
}
