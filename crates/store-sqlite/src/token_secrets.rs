//! Writes to `token_secrets`: rotating a token's secret, revoking its previous
//! secret and purging previous secrets whose grace period has ended. The
//! unique index on `(token_id, slot)` guarantees one current and at most one
//! previous secret per token.

use keyward_core::effects::SideEffects;
use keyward_core::model::{ApiToken, NewTokenSecret};
use keyward_core::store::StoreResult;
use time::OffsetDateTime;
use uuid::Uuid;

use crate::rows::{db_error, id_text, secs};
use crate::tokens::{fetch_token, insert_current_secret};
use crate::{SqliteStore, effects};

/// See [`keyward_core::store::TokenStore::rotate_token`]: one `BEGIN
/// IMMEDIATE` transaction; `None`, with nothing written, for an unknown token.
pub(crate) async fn rotate(
    store: &SqliteStore,
    id: Uuid,
    secret: &NewTokenSecret,
    previous_until: Option<OffsetDateTime>,
    expires_by: Option<OffsetDateTime>,
    now: OffsetDateTime,
    effects: &SideEffects,
) -> StoreResult<Option<ApiToken>> {
    let mut tx = store.write().await?;
    let token_id = id_text(id);
    let touched = sqlx::query(
        "UPDATE api_tokens SET updated_at = ?2, \
         expires_at = CASE WHEN ?3 IS NULL THEN expires_at \
                           ELSE MIN(COALESCE(expires_at, ?3), ?3) END \
         WHERE id = ?1",
    )
    .bind(&token_id)
    .bind(secs(now))
    .bind(expires_by.map(secs))
    .execute(&mut *tx)
    .await
    .map_err(db_error)?;
    if touched.rows_affected() == 0 {
        tx.rollback().await.map_err(db_error)?;
        return Ok(None);
    }
    sqlx::query("DELETE FROM token_secrets WHERE token_id = ?1 AND slot = 'previous'")
        .bind(&token_id)
        .execute(&mut *tx)
        .await
        .map_err(db_error)?;
    match previous_until {
        Some(until) => sqlx::query(
            "UPDATE token_secrets SET slot = 'previous', expires_at = ?2 \
             WHERE token_id = ?1 AND slot = 'current'",
        )
        .bind(&token_id)
        .bind(secs(until)),
        None => sqlx::query("DELETE FROM token_secrets WHERE token_id = ?1 AND slot = 'current'")
            .bind(&token_id),
    }
    .execute(&mut *tx)
    .await
    .map_err(db_error)?;
    insert_current_secret(&mut tx, id, secret, now).await?;
    effects::write(&mut tx, effects).await?;
    let token = fetch_token(&mut *tx, id).await?;
    tx.commit().await.map_err(db_error)?;
    Ok(token)
}

/// Deletes the previous secret of token `id`; `updated_at = now` if there was
/// one. `None` for an unknown token.
pub(crate) async fn revoke_previous(
    store: &SqliteStore,
    id: Uuid,
    now: OffsetDateTime,
    effects: &SideEffects,
) -> StoreResult<Option<ApiToken>> {
    let mut tx = store.write().await?;
    let token_id = id_text(id);
    let deleted =
        sqlx::query("DELETE FROM token_secrets WHERE token_id = ?1 AND slot = 'previous'")
            .bind(&token_id)
            .execute(&mut *tx)
            .await
            .map_err(db_error)?;
    if deleted.rows_affected() > 0 {
        sqlx::query("UPDATE api_tokens SET updated_at = ?2 WHERE id = ?1")
            .bind(&token_id)
            .bind(secs(now))
            .execute(&mut *tx)
            .await
            .map_err(db_error)?;
        effects::write(&mut tx, effects).await?;
    }
    let token = fetch_token(&mut *tx, id).await?;
    tx.commit().await.map_err(db_error)?;
    Ok(token)
}

/// Deletes previous secrets with `expires_at <= now`; returns how many.
pub(crate) async fn purge_ended_grace(
    store: &SqliteStore,
    now: OffsetDateTime,
) -> StoreResult<u64> {
    let done =
        sqlx::query("DELETE FROM token_secrets WHERE slot = 'previous' AND expires_at <= ?1")
            .bind(secs(now))
            .execute(&store.writer)
            .await
            .map_err(db_error)?;
    Ok(done.rows_affected())
}
