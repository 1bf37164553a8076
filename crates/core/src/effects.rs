//! What must be written together with a change: the change's audit events
//! (and, as features add them, the messages it sends). Services build a
//! [`SideEffects`] and hand it to the store method that makes the change;
//! the store writes it in the change's own transaction, and only if the
//! change is made — so no change exists without its event, and no event
//! without its change.

use crate::model::AuditEvent;

/// The records a change commits with.
#[derive(Debug, Clone, Default)]
pub struct SideEffects {
    /// Audit events of the change.
    pub audit: Vec<AuditEvent>,
}

impl SideEffects {
    /// Nothing to write beside the change (stores' own upkeep, tests).
    pub fn none() -> Self {
        Self::default()
    }

    /// One audit event.
    pub fn audit(event: AuditEvent) -> Self {
        Self { audit: vec![event] }
    }

    pub fn is_empty(&self) -> bool {
        self.audit.is_empty()
    }
}
