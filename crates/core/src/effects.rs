//! What must be written together with a change: the change's audit events
//! and the outbox messages (webhooks, e-mails) it causes. Services build a
//! [`SideEffects`] and hand it to the store method that makes the change;
//! the store writes it in the change's own transaction, and only if the
//! change is made — so no change exists without its event or its messages,
//! and none of them without its change.

use crate::model::{AuditEvent, NewOutboxMessage};

/// The records a change commits with.
#[derive(Debug, Clone, Default)]
pub struct SideEffects {
    /// Audit events of the change.
    pub audit: Vec<AuditEvent>,
    /// Outbox messages the change causes.
    pub messages: Vec<NewOutboxMessage>,
}

impl SideEffects {
    /// Nothing to write beside the change (stores' own upkeep, tests).
    pub fn none() -> Self {
        Self::default()
    }

    /// One audit event.
    pub fn audit(event: AuditEvent) -> Self {
        Self {
            audit: vec![event],
            messages: Vec::new(),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.audit.is_empty() && self.messages.is_empty()
    }
}
