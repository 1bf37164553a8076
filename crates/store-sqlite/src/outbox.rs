//! [`OutboxStore`] on SQLite: `outbox_messages` and `outbox_attempts`.
//! Claims run under the single writer (`BEGIN IMMEDIATE`): one `UPDATE …
//! RETURNING` takes the due rows, so two workers never get the same one.

use async_trait::async_trait;
use keyward_core::model::{
    AttemptVerdict, DeliveryAttempt, NewOutboxMessage, OutboxMessage, PageRequest,
};
use keyward_core::rows::{DeliveryAttemptRow, OutboxMessageRow};
use keyward_core::store::{OutboxStore, StoreResult};
use sqlx::SqliteConnection;
use sqlx::sqlite::SqliteRow;
use time::OffsetDateTime;
use uuid::Uuid;

use crate::SqliteStore;
use crate::rows::{db_error, get, get_id, get_opt_id, get_opt_time, get_time, id_text, secs};

macro_rules! columns {
    () => {
        "id, token_id, event, channel, target, payload, key_seed, status, \
         attempts, next_attempt_at, last_attempt_at, last_result, created_at"
    };
}

/// Inserts `messages` on `conn`, skipping any whose dedupe key exists;
/// returns how many were written.
pub(crate) async fn insert_messages(
    conn: &mut SqliteConnection,
    messages: &[NewOutboxMessage],
) -> StoreResult<u64> {
    let mut written = 0;
    for m in messages {
        let done = sqlx::query(
            "INSERT INTO outbox_messages \
             (id, token_id, event, channel, target, payload, key_seed, dedupe_key, status, \
              attempts, next_attempt_at, created_at) \
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, 'pending', 0, ?9, ?9) \
             ON CONFLICT (dedupe_key) DO NOTHING",
        )
        .bind(id_text(m.id))
        .bind(m.token_id.map(id_text))
        .bind(&m.event)
        .bind(m.channel.as_str())
        .bind(&m.target)
        .bind(&m.payload)
        .bind(m.key_seed.as_deref())
        .bind(m.dedupe_key.as_deref())
        .bind(secs(m.created_at))
        .execute(&mut *conn)
        .await
        .map_err(db_error)?;
        written += done.rows_affected();
    }
    Ok(written)
}

fn message(row: &SqliteRow) -> StoreResult<OutboxMessage> {
    OutboxMessage::try_from(OutboxMessageRow {
        id: get_id(row, "id")?,
        token_id: get_opt_id(row, "token_id")?,
        event: get(row, "event")?,
        channel: get(row, "channel")?,
        target: get(row, "target")?,
        payload: get(row, "payload")?,
        key_seed: get(row, "key_seed")?,
        status: get(row, "status")?,
        attempts: get(row, "attempts")?,
        next_attempt_at: get_time(row, "next_attempt_at")?,
        last_attempt_at: get_opt_time(row, "last_attempt_at")?,
        last_result: get(row, "last_result")?,
        created_at: get_time(row, "created_at")?,
    })
}

#[async_trait]
impl OutboxStore for SqliteStore {
    async fn insert_outbox_messages(&self, messages: &[NewOutboxMessage]) -> StoreResult<u64> {
        let mut tx = self.write().await?;
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
        let mut tx = self.write().await?;
        let rows = sqlx::query(concat!(
            "UPDATE outbox_messages SET claimed_by = ?1, claim_expires_at = ?3 \
             WHERE id IN ( \
                 SELECT id FROM outbox_messages \
                 WHERE status = 'pending' AND next_attempt_at <= ?2 \
                   AND (claimed_by IS NULL OR claim_expires_at <= ?2) \
                 ORDER BY next_attempt_at, id LIMIT ?4) \
             RETURNING ",
            columns!()
        ))
        .bind(holder)
        .bind(secs(now))
        .bind(crate::rows::secs_ceil(now + claim))
        .bind(i64::from(limit))
        .fetch_all(&mut *tx)
        .await
        .map_err(db_error)?;
        tx.commit().await.map_err(db_error)?;
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
        let mut tx = self.write().await?;
        sqlx::query(
            "INSERT INTO outbox_attempts (message_id, at, response, error, duration_ms) \
             VALUES (?1, ?2, ?3, ?4, ?5)",
        )
        .bind(id_text(attempt.message_id))
        .bind(secs(attempt.at))
        .bind(attempt.response.as_deref())
        .bind(attempt.error.as_deref())
        .bind(attempt.duration_ms)
        .execute(&mut *tx)
        .await
        .map_err(db_error)?;
        let (status, next) = match verdict {
            AttemptVerdict::Delivered => ("delivered", None),
            AttemptVerdict::Retry(at) => ("pending", Some(secs(at))),
            AttemptVerdict::Failed => ("failed", None),
        };
        let result = attempt.error.clone().or_else(|| attempt.response.clone());
        let done = sqlx::query(
            "UPDATE outbox_messages SET status = ?3, attempts = attempts + 1, \
             next_attempt_at = COALESCE(?4, next_attempt_at), last_attempt_at = ?5, \
             last_result = ?6, claimed_by = NULL, claim_expires_at = NULL \
             WHERE id = ?1 AND claimed_by = ?2 AND status = 'pending'",
        )
        .bind(id_text(attempt.message_id))
        .bind(holder)
        .bind(status)
        .bind(next)
        .bind(secs(attempt.at))
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
            " FROM outbox_messages WHERE token_id = ?1 \
             AND (?2 IS NULL OR created_at < ?2 OR (created_at = ?2 AND id < ?3)) \
             ORDER BY created_at DESC, id DESC LIMIT ?4"
        ))
        .bind(id_text(token_id))
        .bind(page.after.map(|k| secs(k.created_at)))
        .bind(page.after.map(|k| id_text(k.id)))
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
            " FROM outbox_messages WHERE id = ?1"
        ))
        .bind(id_text(id))
        .fetch_optional(&self.pool)
        .await
        .map_err(db_error)?
        .map(|row| message(&row))
        .transpose()
    }

    async fn list_attempts(&self, message_id: Uuid) -> StoreResult<Vec<DeliveryAttempt>> {
        sqlx::query(
            "SELECT message_id, at, response, error, duration_ms FROM outbox_attempts \
             WHERE message_id = ?1 ORDER BY id",
        )
        .bind(id_text(message_id))
        .fetch_all(&self.pool)
        .await
        .map_err(db_error)?
        .iter()
        .map(|row| {
            Ok(DeliveryAttempt::from(DeliveryAttemptRow {
                message_id: get_id(row, "message_id")?,
                at: get_time(row, "at")?,
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
