//! [`OutboxStore`] on PostgreSQL: `outbox_messages` and `outbox_attempts`.
//! Several instances claim at once: `FOR UPDATE SKIP LOCKED` lets each take
//! rows the others have not locked, and the claim's end lets a live
//! instance take over a dead one's rows once it passes.

use async_trait::async_trait;
use keyward_core::model::{
    AttemptVerdict, DeliveryAttempt, NewOutboxMessage, OutboxMessage, PageRequest,
};
use keyward_core::rows::{DeliveryAttemptRow, OutboxMessageRow};
use keyward_core::store::{OutboxStore, StoreResult};
use sqlx::PgConnection;
use sqlx::postgres::PgRow;
use time::OffsetDateTime;
use uuid::Uuid;

use crate::rows::get;
use crate::{PgStore, db_error};

macro_rules! columns {
    () => {
        "id, token_id, event, channel, target, payload, key_seed, status, \
         attempts, next_attempt_at, last_attempt_at, last_result, created_at"
    };
}

/// Inserts `messages` on `conn`, skipping any whose dedupe key exists;
/// returns how many were written.
pub(crate) async fn insert_messages(
    conn: &mut PgConnection,
    messages: &[NewOutboxMessage],
) -> StoreResult<u64> {
    let mut written = 0;
    for m in messages {
        let done = sqlx::query(
            "INSERT INTO outbox_messages \
             (id, token_id, event, channel, target, payload, key_seed, dedupe_key, status, \
              attempts, next_attempt_at, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, 'pending', 0, $9, $9) \
             ON CONFLICT (dedupe_key) DO NOTHING",
        )
        .bind(m.id)
        .bind(m.token_id)
        .bind(&m.event)
        .bind(m.channel.as_str())
        .bind(&m.target)
        .bind(&m.payload)
        .bind(m.key_seed.as_deref())
        .bind(m.dedupe_key.as_deref())
        .bind(m.created_at)
        .execute(&mut *conn)
        .await
        .map_err(db_error)?;
        written += done.rows_affected();
    }
    Ok(written)
}

fn message(row: &PgRow) -> StoreResult<OutboxMessage> {
    OutboxMessage::try_from(OutboxMessageRow {
        id: get(row, "id")?,
        token_id: get(row, "token_id")?,
        event: get(row, "event")?,
        channel: get(row, "channel")?,
        target: get(row, "target")?,
        payload: get(row, "payload")?,
        key_seed: get(row, "key_seed")?,
        status: get(row, "status")?,
        attempts: i64::from(get::<i32>(row, "attempts")?),
        next_attempt_at: get(row, "next_attempt_at")?,
        last_attempt_at: get(row, "last_attempt_at")?,
        last_result: get(row, "last_result")?,
        created_at: get(row, "created_at")?,
    })
}

#[async_trait]
impl OutboxStore for PgStore {
    async fn insert_outbox_messages(&self, messages: &[NewOutboxMessage]) -> StoreResult<u64> {
        let mut tx = self.pool.begin().await.map_err(db_error)?;
        let written = insert_messages(&mut tx, messages).await?;
        tx.commit().await.map_err(db_error)?;
        Ok(written)
    }

    async fn claim_outbox(
        &self,
        holder: &str,
        now: OffsetDateTime,
        claim: time::Duration,
        limit: u32,
    ) -> StoreResult<Vec<OutboxMessage>> {
        let rows = sqlx::query(
            "WITH due AS ( \
                 SELECT id FROM outbox_messages \
                 WHERE status = 'pending' AND next_attempt_at <= $2 \
                   AND (claimed_by IS NULL OR claim_expires_at <= $2) \
                 ORDER BY next_attempt_at, id LIMIT $4 \
                 FOR UPDATE SKIP LOCKED) \
             UPDATE outbox_messages m SET claimed_by = $1, claim_expires_at = $3 \
             FROM due WHERE m.id = due.id \
             RETURNING m.id, m.token_id, m.event, m.channel, m.target, m.payload, m.key_seed, \
                 m.status, m.attempts, m.next_attempt_at, m.last_attempt_at, m.last_result, \
                 m.created_at",
        )
        .bind(holder)
        .bind(now)
        .bind(now + claim)
        .bind(i64::from(limit))
        .fetch_all(&self.pool)
        .await
        .map_err(db_error)?;
        let mut claimed = rows.iter().map(message).collect::<StoreResult<Vec<_>>>()?;
        claimed.sort_by_key(|m| (m.next_attempt_at, m.id));
        Ok(claimed)
    }

    async fn finish_attempt(
        &self,
        holder: &str,
        attempt: &DeliveryAttempt,
        verdict: AttemptVerdict,
    ) -> StoreResult<bool> {
        let mut tx = self.pool.begin().await.map_err(db_error)?;
        sqlx::query(
            "INSERT INTO outbox_attempts (message_id, at, response, error, duration_ms) \
             VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(attempt.message_id)
        .bind(attempt.at)
        .bind(attempt.response.as_deref())
        .bind(attempt.error.as_deref())
        .bind(attempt.duration_ms)
        .execute(&mut *tx)
        .await
        .map_err(db_error)?;
        let (status, next) = match verdict {
            AttemptVerdict::Delivered => ("delivered", None),
            AttemptVerdict::Retry(at) => ("pending", Some(at)),
            AttemptVerdict::Failed => ("failed", None),
        };
        let result = attempt.error.clone().or_else(|| attempt.response.clone());
        let done = sqlx::query(
            "UPDATE outbox_messages SET status = $3, attempts = attempts + 1, \
             next_attempt_at = COALESCE($4, next_attempt_at), last_attempt_at = $5, \
             last_result = $6, claimed_by = NULL, claim_expires_at = NULL \
             WHERE id = $1 AND claimed_by = $2 AND status = 'pending'",
        )
        .bind(attempt.message_id)
        .bind(holder)
        .bind(status)
        .bind(next)
        .bind(attempt.at)
        .bind(result)
        .execute(&mut *tx)
        .await
        .map_err(db_error)?;
        tx.commit().await.map_err(db_error)?;
        Ok(done.rows_affected() == 1)
    }

    async fn list_deliveries(
        &self,
        token_id: Uuid,
        page: &PageRequest,
    ) -> StoreResult<Vec<OutboxMessage>> {
        sqlx::query(concat!(
            "SELECT ",
            columns!(),
            " FROM outbox_messages WHERE token_id = $1 \
             AND ($2::timestamptz IS NULL OR (created_at, id) < ($2, $3)) \
             ORDER BY created_at DESC, id DESC LIMIT $4"
        ))
        .bind(token_id)
        .bind(page.after.map(|k| k.created_at))
        .bind(page.after.map(|k| k.id))
        .bind(i64::from(page.limit))
        .fetch_all(&self.pool)
        .await
        .map_err(db_error)?
        .iter()
        .map(message)
        .collect()
    }

    async fn find_delivery(&self, id: Uuid) -> StoreResult<Option<OutboxMessage>> {
        sqlx::query(concat!(
            "SELECT ",
            columns!(),
            " FROM outbox_messages WHERE id = $1"
        ))
        .bind(id)
        .fetch_optional(&self.pool)
        .await
        .map_err(db_error)?
        .map(|row| message(&row))
        .transpose()
    }

    async fn list_attempts(&self, message_id: Uuid) -> StoreResult<Vec<DeliveryAttempt>> {
        sqlx::query(
            "SELECT message_id, at, response, error, duration_ms FROM outbox_attempts \
             WHERE message_id = $1 ORDER BY id",
        )
        .bind(message_id)
        .fetch_all(&self.pool)
        .await
        .map_err(db_error)?
        .iter()
        .map(|row| {
            Ok(DeliveryAttempt::from(DeliveryAttemptRow {
                message_id: get(row, "message_id")?,
                at: get(row, "at")?,
                response: get(row, "response")?,
                error: get(row, "error")?,
                duration_ms: get(row, "duration_ms")?,
            }))
        })
        .collect()
    }

    async fn outbox_depth(&self) -> StoreResult<u64> {
        let row = sqlx::query("SELECT COUNT(*) AS n FROM outbox_messages WHERE status = 'pending'")
            .fetch_one(&self.pool)
            .await
            .map_err(db_error)?;
        Ok(u64::try_from(get::<i64>(&row, "n")?).unwrap_or(0))
    }
}
