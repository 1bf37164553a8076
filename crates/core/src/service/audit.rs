//! Reading the audit log, and making its events from an [`Actor`]: who acted
//! (their user, credential kind and id), from where (address, user agent),
//! what, to what, and how it ended. Events of changes travel with the
//! change into the store (one transaction); events of refusals are written
//! on their own.

use serde_json::{Value, json};
use uuid::Uuid;

use super::{Actor, Keyward};
use crate::effects::SideEffects;
use crate::error::{Error, Result};
use crate::model::{
    AuditAction, AuditEvent, AuditFilter, AuditOutcome, Page, PageKey, PageRequest, TargetType,
};
use crate::random;
use crate::scope;

/// What an event is about: its type, its id, and whose it is.
#[derive(Debug, Clone, Copy)]
pub struct Target {
    pub kind: TargetType,
    pub id: Option<Uuid>,
    /// The user whose credential or account it is.
    pub owner: Option<Uuid>,
}

impl Target {
    pub fn new(kind: TargetType, id: Uuid, owner: Uuid) -> Self {
        Self {
            kind,
            id: Some(id),
            owner: Some(owner),
        }
    }
}

impl Keyward {
    /// An event of `actor` doing `action` to `target`.
    pub(crate) fn audit_event(
        &self,
        actor: &Actor,
        action: AuditAction,
        target: Target,
        outcome: AuditOutcome,
        details: Value,
    ) -> AuditEvent {
        let now = self.inner.clock.now();
        let principal = actor.principal.as_ref();
        AuditEvent {
            id: random::uuid_v7(self.inner.random.as_ref(), now),
            at: now,
            actor_user_id: principal.map(|p| p.user.id),
            actor_credential_kind: principal.map(|p| p.credential.kind),
            actor_credential_id: principal.map(|p| p.credential.id),
            action,
            target_type: target.kind,
            target_id: target.id,
            subject_user_id: target.owner,
            ip: actor.ip.map(|ip| ip.to_string()),
            user_agent: actor.user_agent.clone(),
            outcome,
            details: if details.is_null() {
                json!({})
            } else {
                details
            },
        }
    }

    /// What a successful change by `actor` commits with: its event.
    pub(crate) fn change(
        &self,
        actor: &Actor,
        action: AuditAction,
        target: Target,
        details: Value,
    ) -> SideEffects {
        SideEffects::audit(self.audit_event(actor, action, target, AuditOutcome::Success, details))
    }

    /// Writes an event that belongs to no change (a refusal). A failure to
    /// write it is logged, and the request's own answer stands.
    pub(crate) async fn record_audit(&self, event: AuditEvent) {
        if let Err(err) = self.inner.store.insert_audit_events(&[event]).await {
            tracing::warn!(error = %err, "could not write an audit event");
        }
    }

    /// A page of audit events: every event for an administrator (or the
    /// system), otherwise those the caller's user did or that touched their
    /// credentials (which needs `credentials.manage`).
    pub async fn list_audit(
        &self,
        actor: &Actor,
        mut filter: AuditFilter,
        page: PageRequest,
    ) -> Result<Page<AuditEvent>> {
        if !actor.is_system() {
            let caller = actor.principal()?;
            if caller.is_application_restricted() {
                return Err(Error::PermissionDenied(
                    "a token restricted to applications cannot read the audit log".into(),
                ));
            }
            if !caller.has_scope(scope::ADMIN_USERS) {
                caller.require(scope::CREDENTIALS_MANAGE)?;
                filter.involving = Some(caller.user.id);
            }
        }
        if let (Some(since), Some(until)) = (filter.since, filter.until)
            && since >= until
        {
            return Err(Error::invalid("until", "must be after since"));
        }
        let rows = self
            .inner
            .store
            .list_audit_events(&filter, &page.probe())
            .await?;
        Ok(Page::of(rows, &page, |e| PageKey {
            created_at: e.at,
            id: e.id,
        }))
    }
}

/// A time as the API writes it (RFC 3339), for an event's details.
pub(crate) fn rfc3339(at: time::OffsetDateTime) -> String {
    at.format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_default()
}
