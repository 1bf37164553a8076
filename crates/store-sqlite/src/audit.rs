//! [`AuditStore`] on SQLite: the `audit_events` table. [`insert_events`]
//! is shared with the store methods whose changes carry events, so those are
//! written in the change's own transaction.

use async_trait::async_trait;
use keyward_core::error::StoreError;
use keyward_core::model::{
    AuditAction, AuditEvent, AuditFilter, AuditOutcome, PageRequest, TargetType,
};
use keyward_core::secret::SecretKind;
use keyward_core::store::{AuditStore, StoreResult};
use sqlx::sqlite::SqliteRow;
use sqlx::{QueryBuilder, Sqlite, SqliteConnection};
use time::OffsetDateTime;
use uuid::Uuid;

use crate::SqliteStore;
use crate::rows::{db_error, get, id_text, secs, secs_ceil, time_of};

/// Writes `events` on `conn` (inside the caller's transaction).
pub(crate) async fn insert_events(
    conn: &mut SqliteConnection,
    events: &[AuditEvent],
) -> StoreResult<()> {
    for e in events {
        sqlx::query(
            "INSERT INTO audit_events \
             (id, at, actor_user_id, actor_credential_kind, actor_credential_id, action, \
              target_type, target_id, subject_user_id, ip, user_agent, outcome, details) \
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13)",
        )
        .bind(id_text(e.id))
        .bind(secs(e.at))
        .bind(e.actor_user_id.map(id_text))
        .bind(e.actor_credential_kind.map(SecretKind::as_str))
        .bind(e.actor_credential_id.map(id_text))
        .bind(e.action.as_str())
        .bind(e.target_type.as_str())
        .bind(e.target_id.map(id_text))
        .bind(e.subject_user_id.map(id_text))
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

fn opt_id(row: &SqliteRow, column: &str) -> StoreResult<Option<Uuid>> {
    get::<Option<String>>(row, column)?
        .map(|t| Uuid::parse_str(&t).map_err(|_| bad(column, &t)))
        .transpose()
}

fn event(row: &SqliteRow) -> StoreResult<AuditEvent> {
    let id: String = get(row, "id")?;
    let action: String = get(row, "action")?;
    let target_type: String = get(row, "target_type")?;
    let outcome: String = get(row, "outcome")?;
    let kind: Option<String> = get(row, "actor_credential_kind")?;
    let details: String = get(row, "details")?;
    Ok(AuditEvent {
        id: Uuid::parse_str(&id).map_err(|_| bad("id", &id))?,
        at: time_of("at", get(row, "at")?)?,
        actor_user_id: opt_id(row, "actor_user_id")?,
        actor_credential_kind: kind
            .map(|k| SecretKind::from_name(&k).ok_or_else(|| bad("actor_credential_kind", &k)))
            .transpose()?,
        actor_credential_id: opt_id(row, "actor_credential_id")?,
        action: AuditAction::parse(&action).ok_or_else(|| bad("action", &action))?,
        target_type: TargetType::parse(&target_type)
            .ok_or_else(|| bad("target_type", &target_type))?,
        target_id: opt_id(row, "target_id")?,
        subject_user_id: opt_id(row, "subject_user_id")?,
        ip: get(row, "ip")?,
        user_agent: get(row, "user_agent")?,
        outcome: AuditOutcome::parse(&outcome).ok_or_else(|| bad("outcome", &outcome))?,
        details: serde_json::from_str(&details).map_err(|_| bad("details", &details))?,
    })
}

/// `list_audit_events`' statement, naming only the filters given: the log
/// grows by every sign-in and change, and a condition such as
/// `(?2 IS NULL OR actor_user_id = ?2)`, planned once for every value,
/// would scan all of it. So one user's events are read through
/// `audit_events_actor` (or `_subject`, `_target`), in the listing's order,
/// and the page starts at its key in the index.
fn list_query(filter: &AuditFilter, page: &PageRequest) -> QueryBuilder<Sqlite> {
    let mut query = QueryBuilder::new("SELECT * FROM audit_events WHERE 1 = 1");
    if let Some(action) = filter.action {
        query.push(" AND action = ").push_bind(action.as_str());
    }
    if let Some(actor) = filter.actor_id {
        query
            .push(" AND actor_user_id = ")
            .push_bind(id_text(actor));
    }
    if let Some(target) = filter.target_id {
        query.push(" AND target_id = ").push_bind(id_text(target));
    }
    if let Some(since) = filter.since {
        query.push(" AND at >= ").push_bind(secs_ceil(since));
    }
    if let Some(until) = filter.until {
        query.push(" AND at < ").push_bind(secs_ceil(until));
    }
    if let Some(user) = filter.involving {
        query
            .push(" AND (actor_user_id = ")
            .push_bind(id_text(user))
            .push(" OR subject_user_id = ")
            .push_bind(id_text(user))
            .push(")");
    }
    if let Some(after) = page.after {
        query
            .push(" AND (at, id) > (")
            .push_bind(secs(after.created_at))
            .push(", ")
            .push_bind(id_text(after.id))
            .push(")");
    }
    query
        .push(" ORDER BY at, id LIMIT ")
        .push_bind(i64::from(page.limit));
    query
}

#[async_trait]
impl AuditStore for SqliteStore {
    async fn insert_audit_events(&self, events: &[AuditEvent]) -> StoreResult<()> {
        if events.is_empty() {
            return Ok(());
        }
        let mut tx = self.write().await?;
        insert_events(&mut tx, events).await?;
        tx.commit().await.map_err(db_error)
    }

    async fn list_audit_events(
        &self,
        filter: &AuditFilter,
        page: &PageRequest,
    ) -> StoreResult<Vec<AuditEvent>> {
        list_query(filter, page)
            .build()
            .fetch_all(&self.pool)
            .await
            .map_err(db_error)?
            .iter()
            .map(event)
            .collect()
    }

    async fn purge_audit_events(&self, before: OffsetDateTime) -> StoreResult<u64> {
        let done = sqlx::query("DELETE FROM audit_events WHERE at < ?1")
            .bind(crate::rows::secs_ceil(before))
            .execute(&self.writer)
            .await
            .map_err(db_error)?;
        Ok(done.rows_affected())
    }
}

#[cfg(test)]
mod tests {
    use keyward_core::model::PageKey;

    use super::*;
    use crate::plans;

    /// Each filter reads through its index, from the page's key on.
    #[tokio::test]
    async fn listings_read_through_their_index() {
        let dir = tempfile::tempdir().unwrap();
        let (_store, path) = plans::fresh(&dir).await;
        let user = Some(Uuid::nil());
        let page = PageRequest {
            after: Some(PageKey {
                created_at: OffsetDateTime::UNIX_EPOCH,
                id: Uuid::nil(),
            }),
            ..PageRequest::default()
        };
        for (filter, index) in [
            (AuditFilter::default(), "audit_events_at"),
            (
                AuditFilter {
                    actor_id: user,
                    ..AuditFilter::default()
                },
                "audit_events_actor",
            ),
            (
                AuditFilter {
                    target_id: user,
                    ..AuditFilter::default()
                },
                "audit_events_target",
            ),
        ] {
            let query = list_query(&filter, &page);
            plans::assert_reads_through(&path, query.sql().as_str(), index);
        }
        // A user's own events: what they did, or what was done to theirs.
        let involving = AuditFilter {
            involving: user,
            ..AuditFilter::default()
        };
        let query = list_query(&involving, &PageRequest::default());
        let steps = plans::plan(&path, query.sql().as_str());
        for index in ["audit_events_actor", "audit_events_subject"] {
            assert!(
                steps.iter().any(|step| step.contains(index)),
                "{index}: {steps:?}"
            );
        }
    }
}
