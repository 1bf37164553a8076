//! [`RenewalStore`] on PostgreSQL: `renewal_keys` and the renewal columns
//! of `api_tokens`. Each change is one conditional statement on the state it
//! changes (row locks serialise concurrent ones), so a key is redeemed once
//! and a due cycle starts once, however many instances scan.

use async_trait::async_trait;
use keyward_core::effects::SideEffects;
use keyward_core::model::{RenewalKey, RenewalRedemption, RenewalStart};
use keyward_core::rows::RenewalKeyRow;
use keyward_core::secret::Digest;
use keyward_core::store::{Redeemed, RenewalStore, StoreResult};
use sqlx::PgConnection;
use time::OffsetDateTime;
use uuid::Uuid;

use crate::rows::get;
use crate::{PgStore, db_error};

/// Cancels the token's live keys and fails its pending renewal callbacks:
/// the policy is gone, so nothing more may be redeemed or sent.
pub(crate) async fn cancel_pending(
    conn: &mut PgConnection,
    token_id: Uuid,
    now: OffsetDateTime,
) -> StoreResult<()> {
    sqlx::query(
        "UPDATE renewal_keys SET cancelled_at = $2 \
         WHERE token_id = $1 AND used_at IS NULL AND cancelled_at IS NULL",
    )
    .bind(token_id)
    .bind(now)
    .execute(&mut *conn)
    .await
    .map_err(db_error)?;
    sqlx::query(
        "UPDATE outbox_messages SET status = 'failed', last_result = 'cancelled: renewal removed', \
         claimed_by = NULL, claim_expires_at = NULL \
         WHERE token_id = $1 AND status = 'pending' AND event = 'token.renewal_ready'",
    )
    .bind(token_id)
    .execute(&mut *conn)
    .await
    .map_err(db_error)?;
    Ok(())
}

/// The condition of a token (`t`) that may renew at `$2`.
macro_rules! may_renew {
    () => {
        "t.renewal_every_days IS NOT NULL AND t.state = 'active' \
         AND (t.expires_at IS NULL OR t.expires_at > $2) AND t.renewed_to IS NULL"
    };
}

#[async_trait]
impl RenewalStore for PgStore {
    async fn due_renewals(&self, now: OffsetDateTime, limit: u32) -> StoreResult<Vec<Uuid>> {
        sqlx::query(concat!(
            "SELECT t.id FROM api_tokens t WHERE t.renewal_next_at <= $2 AND ",
            may_renew!(),
            " ORDER BY t.renewal_next_at, t.id LIMIT $1"
        ))
        .bind(i64::from(limit))
        .bind(now)
        .fetch_all(&self.pool)
        .await
        .map_err(db_error)?
        .iter()
        .map(|row| get(row, "id"))
        .collect()
    }

    async fn start_renewal(
        &self,
        start: &RenewalStart,
        effects: &SideEffects,
    ) -> StoreResult<bool> {
        let mut tx = self.pool.begin().await.map_err(db_error)?;
        let done = sqlx::query(concat!(
            "UPDATE api_tokens t SET renewal_next_at = $3 \
             WHERE t.id = $1 AND ($4 OR t.renewal_next_at <= $2) AND ",
            may_renew!()
        ))
        .bind(start.token_id)
        .bind(start.now)
        .bind(start.retry_at)
        .bind(start.force)
        .execute(&mut *tx)
        .await
        .map_err(db_error)?;
        if done.rows_affected() == 0 {
            return Ok(false);
        }
        let key = &start.key;
        sqlx::query(
            "INSERT INTO renewal_keys (id, token_id, digest, created_at, expires_at) \
             VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(key.id)
        .bind(key.token_id)
        .bind(key.digest.as_bytes())
        .bind(key.created_at)
        .bind(key.expires_at)
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
             FROM renewal_keys WHERE digest = $1",
        )
        .bind(digest.as_bytes())
        .fetch_optional(&self.pool)
        .await
        .map_err(db_error)?
        else {
            return Ok(None);
        };
        Ok(Some(RenewalKey::from(RenewalKeyRow {
            id: get(&row, "id")?,
            token_id: get(&row, "token_id")?,
            created_at: get(&row, "created_at")?,
            expires_at: get(&row, "expires_at")?,
            used_at: get(&row, "used_at")?,
            cancelled_at: get(&row, "cancelled_at")?,
        })))
    }

    async fn redeem_renewal_key(
        &self,
        r: &RenewalRedemption,
        effects: &SideEffects,
    ) -> StoreResult<Redeemed> {
        let mut tx = self.pool.begin().await.map_err(db_error)?;
        // The token row first, so that a redemption and any other change of
        // the token (a deactivation, a rotation) run one after the other.
        let may = sqlx::query(concat!(
            "SELECT t.id FROM api_tokens t WHERE t.id = $1 AND ",
            may_renew!(),
            " FOR NO KEY UPDATE"
        ))
        .bind(r.token_id)
        .bind(r.now)
        .fetch_optional(&mut *tx)
        .await
        .map_err(db_error)?;
        if may.is_none() {
            return Ok(Redeemed::Refused);
        }
        let used = sqlx::query(
            "UPDATE renewal_keys SET used_at = $2 \
             WHERE id = $1 AND token_id = $3 AND used_at IS NULL AND cancelled_at IS NULL \
               AND expires_at > $2",
        )
        .bind(r.key_id)
        .bind(r.now)
        .bind(r.token_id)
        .execute(&mut *tx)
        .await
        .map_err(db_error)?;
        if used.rows_affected() == 0 {
            return Ok(Redeemed::Refused);
        }
        sqlx::query(
            "UPDATE renewal_keys SET cancelled_at = $2 \
             WHERE token_id = $1 AND used_at IS NULL AND cancelled_at IS NULL",
        )
        .bind(r.token_id)
        .bind(r.now)
        .execute(&mut *tx)
        .await
        .map_err(db_error)?;
        sqlx::query("DELETE FROM token_secrets WHERE token_id = $1 AND slot = 'previous'")
            .bind(r.token_id)
            .execute(&mut *tx)
            .await
            .map_err(db_error)?;
        sqlx::query(
            "UPDATE token_secrets SET slot = 'previous', expires_at = $2 \
             WHERE token_id = $1 AND slot = 'current'",
        )
        .bind(r.token_id)
        .bind(r.previous_until)
        .execute(&mut *tx)
        .await
        .map_err(db_error)?;
        crate::tokens::insert_current_secret(&mut tx, r.token_id, &r.secret, r.now).await?;
        sqlx::query(
            "UPDATE api_tokens SET expires_at = $2, renewal_next_at = $3, \
             renewal_last_at = $4, updated_at = $4 WHERE id = $1",
        )
        .bind(r.token_id)
        .bind(r.expires_at)
        .bind(r.next_renewal_at)
        .bind(r.now)
        .execute(&mut *tx)
        .await
        .map_err(db_error)?;
        crate::effects::write(&mut tx, effects).await?;
        let token = crate::tokens::fetch_token(&mut *tx, r.token_id).await?;
        tx.commit().await.map_err(db_error)?;
        Ok(token.map_or(Redeemed::Refused, Redeemed::Renewed))
    }
}
