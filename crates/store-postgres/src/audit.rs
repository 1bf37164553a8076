//! [`AuditStore`] on PostgreSQL: the `audit_events` table. [`insert_events`]
//! is shared with the store methods whose changes carry events, so those are
//! written in the change's own transaction.

use async_trait::async_trait;
use keyward_core::error::StoreError;
use keyward_core::model::{
    AuditAction, AuditEvent, AuditFilter, AuditOutcome, PageRequest, TargetType,
};
use keyward_core::secret::SecretKind;
use keyward_core::store::{AuditStore, StoreResult};
use sqlx::PgConnection;
use sqlx::postgres::PgRow;
use time::OffsetDateTime;

use crate::rows::get;
use crate::{PgStore, db_error};

/// Writes `events` on `conn` (inside the caller's transaction).
pub(crate) async fn insert_events(
    conn: &mut PgConnection,
    events: &[AuditEvent],
) -> StoreResult<()> {
    for e in events {
        sqlx::query(
            "INSERT INTO audit_events \
             (id, at, actor_user_id, actor_credential_kind, actor_credential_id, action, \
              target_type, target_id, subject_user_id, ip, user_agent, outcome, details) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13::jsonb)",
        )
        .bind(e.id)
        .bind(e.at)
        .bind(e.actor_user_id)
        .bind(e.actor_credential_kind.map(SecretKind::as_str))
        .bind(e.actor_credential_id)
        .bind(e.action.as_str())
        .bind(e.target_type.as_str())
        .bind(e.target_id)
        .bind(e.subject_user_id)
        .bind(e.ip.as_deref())
        .bind(e.user_agent.as_deref())
        .bind(e.outcome.as_str())
        .bind(e.details.to_string())
        .execute(&mut *conn)
        .await
        .map_err(db_error)?;
    }
    Ok(())
}

fn bad(column: &str, value: &str) -> StoreError {
    StoreError::Database(format!("unreadable value in column {column}: {value:?}"))
}

fn event(row: &PgRow) -> StoreResult<AuditEvent> {
    let action: String = get(row, "action")?;
    let target_type: String = get(row, "target_type")?;
    let outcome: String = get(row, "outcome")?;
    let kind: Option<String> = get(row, "actor_credential_kind")?;
    let details: String = get(row, "details_text")?;
    Ok(AuditEvent {
        id: get(row, "id")?,
        at: get(row, "at")?,
        actor_user_id: get(row, "actor_user_id")?,
        actor_credential_kind: kind
            .map(|k| SecretKind::from_name(&k).ok_or_else(|| bad("actor_credential_kind", &k)))
            .transpose()?,
        actor_credential_id: get(row, "actor_credential_id")?,
        action: AuditAction::parse(&action).ok_or_else(|| bad("action", &action))?,
        target_type: TargetType::parse(&target_type)
            .ok_or_else(|| bad("target_type", &target_type))?,
        target_id: get(row, "target_id")?,
        subject_user_id: get(row, "subject_user_id")?,
        ip: get(row, "ip")?,
        user_agent: get(row, "user_agent")?,
        outcome: AuditOutcome::parse(&outcome).ok_or_else(|| bad("outcome", &outcome))?,
        details: serde_json::from_str(&details).map_err(|_| bad("details", &details))?,
    })
}

#[async_trait]
impl AuditStore for PgStore {
    async fn insert_audit_events(&self, events: &[AuditEvent]) -> StoreResult<()> {
        if events.is_empty() {
            return Ok(());
        }
        let mut tx = self.pool.begin().await.map_err(db_error)?;
        insert_events(&mut tx, events).await?;
        tx.commit().await.map_err(db_error)
    }

    async fn list_audit_events(
        &self,
        filter: &AuditFilter,
        page: &PageRequest,
    ) -> StoreResult<Vec<AuditEvent>> {
        sqlx::query(
            "SELECT *, details::text AS details_text FROM audit_events \
             WHERE ($1::text IS NULL OR action = $1) \
               AND ($2::uuid IS NULL OR actor_user_id = $2) \
               AND ($3::uuid IS NULL OR target_id = $3) \
               AND ($4::timestamptz IS NULL OR at >= $4) \
               AND ($5::timestamptz IS NULL OR at < $5) \
               AND ($6::uuid IS NULL OR actor_user_id = $6 OR subject_user_id = $6) \
               AND ($7::timestamptz IS NULL OR at > $7 OR (at = $7 AND id > $8)) \
             ORDER BY at, id LIMIT $9",
        )
        .bind(filter.action.map(AuditAction::as_str))
        .bind(filter.actor_id)
        .bind(filter.target_id)
        .bind(filter.since)
        .bind(filter.until)
        .bind(filter.involving)
        .bind(page.after.map(|k| k.created_at))
        .bind(page.after.map(|k| k.id))
        .bind(i64::from(page.limit))
        .fetch_all(&self.pool)
        .await
        .map_err(db_error)?
        .iter()
        .map(event)
        .collect()
    }

    async fn purge_audit_events(&self, before: OffsetDateTime) -> StoreResult<u64> {
        let done = sqlx::query("DELETE FROM audit_events WHERE at < $1")
            .bind(before)
            .execute(&self.pool)
            .await
            .map_err(db_error)?;
        Ok(done.rows_affected())
    }
}
