//! Writes a change's [`SideEffects`] inside the change's transaction: its
//! audit events and its outbox messages.

use keyward_core::effects::SideEffects;
use keyward_core::store::StoreResult;
use sqlx::SqliteConnection;

/// Writes `effects` on `conn`, the change's own transaction.
pub(crate) async fn write(conn: &mut SqliteConnection, effects: &SideEffects) -> StoreResult<()> {
    crate::audit::insert_events(conn, &effects.audit).await?;
    crate::outbox::insert_messages(conn, &effects.messages).await?;
    Ok(())
}
