//! [`TokenStore`] on SQLite: the `api_tokens` table and its secrets in
//! `token_secrets` (one `current` row, at most one `previous` row per token).
//!
//! Reads join a token with both of its secret rows so that one query returns
//! the whole [`ApiToken`]. Writes that touch several rows run in one
//! `BEGIN IMMEDIATE` transaction (see the crate docs). Writes of secrets live
//! in [`crate::token_secrets`].

use async_trait::async_trait;
use keyward_core::effects::SideEffects;
use keyward_core::error::StoreError;
use keyward_core::model::{
    ApiToken, NewApiToken, NewTokenSecret, PageRequest, SecretSlot, TokenCredential, TokenFilter,
    TokenUpdate, TokenUsage, User,
};
use keyward_core::secret::Digest;
use keyward_core::store::{InsertToken, RenewOutcome, RenewalLimit, StoreResult, TokenStore};
use sqlx::{Sqlite, SqliteConnection};
use time::OffsetDateTime;
use uuid::Uuid;

use crate::rows::{self, db_error, id_text, json_list, secs, secs_ceil};
use crate::token_secrets;
use crate::{SqliteStore, effects};

/// The columns [`rows::token`] reads, from `api_tokens t` joined with its
/// current secret `cur` and previous secret `prev`.
macro_rules! token_columns {
    () => {
        "t.id, t.user_id, t.name, t.description, t.scopes, t.applications, t.state, \
         t.expires_at, t.created_at, t.updated_at, t.last_used_at, t.last_used_ip, \
         t.renewal_every_days, t.renewal_callback_url, t.renewal_mail_recipient, \
         t.renewal_secret_seed, t.renewal_next_at, t.renewal_last_at, t.renewed_to, \
         cur.hint AS hint, prev.hint AS previous_hint, prev.expires_at AS previous_expires_at"
    };
}

/// Joins `api_tokens t` with its secrets for `token_columns!`.
macro_rules! secret_joins {
    () => {
        " LEFT JOIN token_secrets cur ON cur.token_id = t.id AND cur.slot = 'current' \
          LEFT JOIN token_secrets prev ON prev.token_id = t.id AND prev.slot = 'previous' "
    };
}

/// `list_tokens`' statement, with `$owner` the condition on `?1` (the
/// owner's id, or NULL) and `$expiring` the one on `?5` (the latest expiry,
/// or NULL): one statement per case rather than
/// `(?1 IS NULL OR t.user_id = ?1)`, which SQLite plans once for every
/// value. So listing one user's tokens walks their index entries
/// (`api_tokens_user`, in the listing's order), and the expiry scan reads
/// the tokens expiring soon through `api_tokens_expires`, not every token.
macro_rules! list_tokens_sql {
    ($owner:literal, $expiring:expr) => {
        concat!(
            "SELECT ",
            token_columns!(),
            " FROM api_tokens t",
            secret_joins!(),
            "WHERE ",
            $owner,
            " AND ",
            $expiring,
            " \
             AND (?2 IS NULL \
                  OR (?2 = 'active' AND t.state = 'active' \
                      AND (t.expires_at IS NULL OR t.expires_at > ?3)) \
                  OR (?2 = 'expired' AND t.state = 'active' AND t.expires_at <= ?3) \
                  OR (?2 = 'deactivated' AND t.state = 'deactivated')) \
             AND (?4 IS NULL OR t.last_used_at IS NULL OR t.last_used_at < ?4) \
             AND (NOT ?6 OR t.expires_at IS NULL) \
             AND (?7 IS NULL OR t.created_at > ?7 OR (t.created_at = ?7 AND t.id > ?8)) \
             ORDER BY t.created_at, t.id LIMIT ?9"
        )
    };
}

/// `?5`'s condition when it is set: expires after now (`?3`) and by `?5`.
macro_rules! expiring {
    () => {
        "t.expires_at > ?3 AND t.expires_at <= ?5"
    };
}

/// Every owner's tokens (`?1` and `?5` are NULL).
const LIST_TOKENS: &str = list_tokens_sql!("?1 IS NULL", "?5 IS NULL");
/// One owner's tokens.
const LIST_OWN_TOKENS: &str = list_tokens_sql!("t.user_id = ?1", "?5 IS NULL");
/// Every owner's tokens that expire by `?5`.
const LIST_EXPIRING_TOKENS: &str = list_tokens_sql!("?1 IS NULL", expiring!());
/// One owner's tokens that expire by `?5`.
const LIST_OWN_EXPIRING_TOKENS: &str = list_tokens_sql!("t.user_id = ?1", expiring!());

/// One token by id, on any executor (the pool or a transaction).
pub(crate) async fn fetch_token<'c, E>(executor: E, id: Uuid) -> StoreResult<Option<ApiToken>>
where
    E: sqlx::Executor<'c, Database = Sqlite>,
{
    sqlx::query(concat!(
        "SELECT ",
        token_columns!(),
        " FROM api_tokens t",
        secret_joins!(),
        "WHERE t.id = ?1"
    ))
    .bind(id_text(id))
    .fetch_optional(executor)
    .await
    .map_err(db_error)?
    .map(|row| rows::token(&row))
    .transpose()
}

/// Like [`fetch_token`] for a token that must exist (written in the same
/// transaction).
async fn fetch_written(conn: &mut SqliteConnection, id: Uuid) -> StoreResult<ApiToken> {
    fetch_token(conn, id)
        .await?
        .ok_or_else(|| StoreError::Database(format!("token {id} vanished while being written")))
}

/// Inserts the row of `token` (state active, `created_at = updated_at =
/// token.now`), but only if `limit` is `None` or the owner has fewer than
/// `limit` tokens that are active and unexpired at `token.now`: the count
/// and the insert are one statement. Returns whether the row was inserted.
async fn insert_token_row(
    conn: &mut SqliteConnection,
    token: &NewApiToken,
    limit: Option<u32>,
) -> StoreResult<bool> {
    let renewal = token.renewal.as_ref();
    let done = sqlx::query(
        "INSERT INTO api_tokens \
         (id, user_id, name, description, scopes, applications, state, expires_at, \
          created_at, updated_at, renewal_every_days, renewal_callback_url, \
          renewal_mail_recipient, renewal_secret_seed, renewal_next_at, renewal_last_at) \
         SELECT ?1, ?2, ?3, ?4, ?5, ?6, 'active', ?7, ?8, ?8, ?9, ?10, ?11, ?12, ?14, ?15 \
         WHERE ?13 IS NULL OR ( \
             SELECT COUNT(*) FROM api_tokens \
             WHERE user_id = ?2 AND state = 'active' \
               AND (expires_at IS NULL OR expires_at > ?8) \
         ) < ?13",
    )
    .bind(id_text(token.id))
    .bind(id_text(token.user_id))
    .bind(&token.name)
    .bind(token.description.as_deref())
    .bind(json_list(&token.scopes)?)
    .bind(json_list(&token.applications)?)
    .bind(token.expires_at.map(secs))
    .bind(secs(token.now))
    .bind(renewal.map(|r| i64::from(r.every_days)))
    .bind(renewal.map(|r| r.callback_url.as_str()))
    .bind(renewal.and_then(|r| r.mail_recipient.as_deref()))
    .bind(renewal.map(|r| r.secret_seed.as_slice()))
    .bind(limit.map(i64::from))
    .bind(renewal.map(|r| secs(r.next_renewal_at)))
    .bind(renewal.and_then(|r| r.last_renewed_at.map(secs)))
    .execute(&mut *conn)
    .await
    .map_err(db_error)?;
    Ok(done.rows_affected() == 1)
}

/// Inserts `secret` as the current secret of token `id`.
pub(crate) async fn insert_current_secret(
    conn: &mut SqliteConnection,
    id: Uuid,
    secret: &NewTokenSecret,
    now: OffsetDateTime,
) -> StoreResult<()> {
    sqlx::query(
        "INSERT INTO token_secrets (digest, token_id, slot, hint, expires_at, created_at) \
         VALUES (?1, ?2, 'current', ?3, NULL, ?4)",
    )
    .bind(secret.digest.as_bytes())
    .bind(id_text(id))
    .bind(&secret.hint)
    .bind(secs(now))
    .execute(&mut *conn)
    .await
    .map(drop)
    .map_err(db_error)
}

#[async_trait]
impl TokenStore for SqliteStore {
    /// Inserts the token and its current secret in one `BEGIN IMMEDIATE`
    /// transaction. The limit counts the owner's tokens with state `active`
    /// and (`expires_at IS NULL OR expires_at > token.now`); it is checked by
    /// the same statement that inserts, so concurrent inserts cannot pass it
    /// together. At the limit nothing is written.
    async fn insert_token(
        &self,
        token: &NewApiToken,
        limit: u32,
        effects: &SideEffects,
    ) -> StoreResult<InsertToken> {
        let mut tx = self.write().await?;
        if !insert_token_row(&mut tx, token, Some(limit)).await? {
            tx.rollback().await.map_err(db_error)?;
            return Ok(InsertToken::LimitReached);
        }
        insert_current_secret(&mut tx, token.id, &token.secret, token.now).await?;
        effects::write(&mut tx, effects).await?;
        let inserted = fetch_written(&mut tx, token.id).await?;
        tx.commit().await.map_err(db_error)?;
        Ok(InsertToken::Inserted(inserted))
    }

    /// `previous` is filled from the previous secret row whether or not its
    /// grace period has ended (callers use [`ApiToken::live_previous`]).
    async fn find_token(&self, id: Uuid) -> StoreResult<Option<ApiToken>> {
        fetch_token(&self.pool, id).await
    }

    /// The token owning the secret with this digest, in any state (a
    /// deactivated or expired token is returned; the caller decides), and
    /// whether the digest is its current or previous secret. A previous
    /// secret is found until it is purged, even after its grace ended.
    async fn find_token_by_secret(
        &self,
        digest: &Digest,
    ) -> StoreResult<Option<(ApiToken, SecretSlot)>> {
        let Some(row) = sqlx::query(concat!(
            "SELECT s.slot, ",
            token_columns!(),
            " FROM token_secrets s JOIN api_tokens t ON t.id = s.token_id",
            secret_joins!(),
            "WHERE s.digest = ?1"
        ))
        .bind(digest.as_bytes())
        .fetch_optional(&self.pool)
        .await
        .map_err(db_error)?
        else {
            return Ok(None);
        };
        Ok(Some((rows::token(&row)?, rows::slot(&row)?)))
    }

    /// One query, on the readers.
    async fn find_token_credential(
        &self,
        digest: &Digest,
    ) -> StoreResult<Option<(TokenCredential, User)>> {
        self.readers.token_credential(digest)
    }

    /// Filters in SQL on the status derived at `now` (active: state active
    /// and not expired; expired: state active and `expires_at <= now`;
    /// deactivated: state deactivated) and on `unused_since` (never used, or
    /// `last_used_at` before it). Ordered by `created_at`, then `id`.
    async fn list_tokens(
        &self,
        filter: &TokenFilter,
        page: &PageRequest,
        now: OffsetDateTime,
    ) -> StoreResult<Vec<ApiToken>> {
        let sql = match (filter.owner, filter.expiring_by) {
            (None, None) => LIST_TOKENS,
            (Some(_), None) => LIST_OWN_TOKENS,
            (None, Some(_)) => LIST_EXPIRING_TOKENS,
            (Some(_), Some(_)) => LIST_OWN_EXPIRING_TOKENS,
        };
        sqlx::query(sql)
            .bind(filter.owner.map(id_text))
            .bind(filter.status.map(|s| s.as_str()))
            .bind(secs(now))
            .bind(filter.unused_since.map(secs_ceil))
            .bind(filter.expiring_by.map(secs))
            .bind(filter.never_expires)
            .bind(page.after.map(|k| secs(k.created_at)))
            .bind(page.after.map(|k| id_text(k.id)))
            .bind(i64::from(page.limit))
            .fetch_all(&self.pool)
            .await
            .map_err(db_error)?
            .iter()
            .map(rows::token)
            .collect()
    }

    /// Applies only the `Some` fields (`description: Some(None)` and
    /// `renewal: Some(None)` clear them) and sets `updated_at = now`. `None`
    /// if there is no such token.
    async fn update_token(
        &self,
        id: Uuid,
        update: &TokenUpdate,
        now: OffsetDateTime,
        effects: &SideEffects,
    ) -> StoreResult<Option<ApiToken>> {
        let renewal = update.renewal.as_ref().and_then(Option::as_ref);
        let mut tx = self.write().await?;
        let done = sqlx::query(
            "UPDATE api_tokens SET \
             name = COALESCE(?2, name), \
             description = CASE WHEN ?3 THEN ?4 ELSE description END, \
             expires_at = COALESCE(?5, expires_at), \
             renewal_every_days = CASE WHEN ?6 THEN ?7 ELSE renewal_every_days END, \
             renewal_callback_url = CASE WHEN ?6 THEN ?8 ELSE renewal_callback_url END, \
             renewal_mail_recipient = CASE WHEN ?6 THEN ?9 ELSE renewal_mail_recipient END, \
             renewal_secret_seed = CASE WHEN ?6 THEN ?10 ELSE renewal_secret_seed END, \
             renewal_next_at = CASE WHEN ?6 THEN ?12 ELSE renewal_next_at END, \
             renewal_last_at = CASE WHEN ?6 THEN ?13 ELSE renewal_last_at END, \
             updated_at = ?11 \
             WHERE id = ?1",
        )
        .bind(id_text(id))
        .bind(update.name.as_deref())
        .bind(update.description.is_some())
        .bind(update.description.as_ref().and_then(Option::as_deref))
        .bind(update.expires_at.map(secs))
        .bind(update.renewal.is_some())
        .bind(renewal.map(|r| i64::from(r.every_days)))
        .bind(renewal.map(|r| r.callback_url.as_str()))
        .bind(renewal.and_then(|r| r.mail_recipient.as_deref()))
        .bind(renewal.map(|r| r.secret_seed.as_slice()))
        .bind(secs(now))
        .bind(renewal.map(|r| secs(r.next_renewal_at)))
        .bind(renewal.and_then(|r| r.last_renewed_at.map(secs)))
        .execute(&mut *tx)
        .await
        .map_err(db_error)?;
        if done.rows_affected() == 0 {
            tx.rollback().await.map_err(db_error)?;
            return Ok(None);
        }
        if matches!(update.renewal, Some(None)) {
            crate::renewal::cancel_pending(&mut tx, id, now).await?;
        }
        effects::write(&mut tx, effects).await?;
        let token = fetch_written(&mut tx, id).await?;
        tx.commit().await.map_err(db_error)?;
        Ok(Some(token))
    }

    /// One transaction: any previous secret is deleted; the current one
    /// becomes the previous one until `previous_until` (or is deleted when
    /// that is `None`); `secret` is inserted as current; `updated_at = now`.
    async fn rotate_token(
        &self,
        id: Uuid,
        secret: &NewTokenSecret,
        previous_until: Option<OffsetDateTime>,
        expires_by: Option<OffsetDateTime>,
        now: OffsetDateTime,
        effects: &SideEffects,
    ) -> StoreResult<Option<ApiToken>> {
        token_secrets::rotate(self, id, secret, previous_until, expires_by, now, effects).await
    }

    /// Deletes the previous secret, if any (then `updated_at = now`).
    async fn revoke_previous(
        &self,
        id: Uuid,
        now: OffsetDateTime,
        effects: &SideEffects,
    ) -> StoreResult<Option<ApiToken>> {
        token_secrets::revoke_previous(self, id, now, effects).await
    }

    /// Sets the state to `deactivated` (and `updated_at = now`) if it was
    /// active; calling it again changes nothing. The secrets are kept, so a
    /// deactivated token is still found by its secret and reported as such.
    async fn deactivate_token(
        &self,
        id: Uuid,
        now: OffsetDateTime,
        effects: &SideEffects,
    ) -> StoreResult<Option<ApiToken>> {
        let mut tx = self.write().await?;
        let done = sqlx::query(
            "UPDATE api_tokens SET state = 'deactivated', updated_at = ?2 \
             WHERE id = ?1 AND state = 'active'",
        )
        .bind(id_text(id))
        .bind(secs(now))
        .execute(&mut *tx)
        .await
        .map_err(db_error)?;
        if done.rows_affected() > 0 {
            effects::write(&mut tx, effects).await?;
        }
        let token = fetch_token(&mut *tx, id).await?;
        tx.commit().await.map_err(db_error)?;
        Ok(token)
    }

    /// Deletes the token; its secrets go with it (`ON DELETE CASCADE`).
    async fn delete_token(&self, id: Uuid, effects: &SideEffects) -> StoreResult<bool> {
        let mut tx = self.write().await?;
        let done = sqlx::query("DELETE FROM api_tokens WHERE id = ?1")
            .bind(id_text(id))
            .execute(&mut *tx)
            .await
            .map_err(db_error)?;
        let deleted = done.rows_affected() > 0;
        if deleted {
            effects::write(&mut tx, effects).await?;
        }
        tx.commit().await.map_err(db_error)?;
        Ok(deleted)
    }

    /// One transaction (the single writer): checks the old token is there
    /// and not renewed before, counts the owner's active tokens against
    /// `limits`, inserts `replacement` with its current secret, then sets the
    /// old token's `expires_at` to `expire_current_at`, `updated_at` to
    /// `replacement.now` and `renewed_to` to the new id.
    async fn renew_token(
        &self,
        id: Uuid,
        replacement: &NewApiToken,
        expire_current_at: OffsetDateTime,
        limits: RenewalLimit,
        effects: &SideEffects,
    ) -> StoreResult<RenewOutcome> {
        let mut tx = self.write().await?;
        let found = sqlx::query(
            "SELECT renewed_to, \
                 (SELECT COUNT(*) FROM api_tokens o \
                  WHERE o.user_id = t.user_id AND o.state = 'active' \
                    AND (o.expires_at IS NULL OR o.expires_at > ?2)) AS active \
             FROM api_tokens t WHERE id = ?1",
        )
        .bind(id_text(id))
        .bind(secs(replacement.now))
        .fetch_optional(&mut *tx)
        .await
        .map_err(db_error)?;
        let Some(found) = found else {
            tx.rollback().await.map_err(db_error)?;
            return Ok(RenewOutcome::NotFound);
        };
        if rows::get::<Option<String>>(&found, "renewed_to")?.is_some() {
            tx.rollback().await.map_err(db_error)?;
            return Ok(RenewOutcome::AlreadyRenewed);
        }
        let active: i64 = rows::get(&found, "active")?;
        if active >= i64::from(limits.limit) && expire_current_at > limits.latest_at_limit {
            tx.rollback().await.map_err(db_error)?;
            return Ok(RenewOutcome::LimitReached);
        }
        insert_token_row(&mut tx, replacement, None).await?;
        insert_current_secret(
            &mut tx,
            replacement.id,
            &replacement.secret,
            replacement.now,
        )
        .await?;
        sqlx::query(
            "UPDATE api_tokens SET expires_at = ?2, updated_at = ?3, renewed_to = ?4 \
             WHERE id = ?1",
        )
        .bind(id_text(id))
        .bind(secs(expire_current_at))
        .bind(secs(replacement.now))
        .bind(id_text(replacement.id))
        .execute(&mut *tx)
        .await
        .map_err(db_error)?;
        effects::write(&mut tx, effects).await?;
        let old = fetch_written(&mut tx, id).await?;
        let new = fetch_written(&mut tx, replacement.id).await?;
        tx.commit().await.map_err(db_error)?;
        Ok(RenewOutcome::Renewed { old, new })
    }

    /// One transaction for the whole batch. A use is written only if it is
    /// not older than the stored `last_used_at` (equal times overwrite), so
    /// uses applied in any order leave the latest; an IP of `None` keeps the
    /// stored IP. Uses of tokens that no longer exist are ignored.
    async fn record_token_usage(&self, batch: &[TokenUsage]) -> StoreResult<()> {
        if batch.is_empty() {
            return Ok(());
        }
        let mut tx = self.write().await?;
        for usage in batch {
            sqlx::query(
                "UPDATE api_tokens SET last_used_at = ?2, \
                 last_used_ip = COALESCE(?3, last_used_ip) \
                 WHERE id = ?1 AND (last_used_at IS NULL OR last_used_at <= ?2)",
            )
            .bind(id_text(usage.token_id))
            .bind(secs(usage.at))
            .bind(usage.ip.map(|ip| ip.to_string()))
            .execute(&mut *tx)
            .await
            .map_err(db_error)?;
        }
        tx.commit().await.map_err(db_error)
    }

    /// Deletes every previous secret with `expires_at <= now`.
    async fn purge_ended_grace(&self, now: OffsetDateTime) -> StoreResult<u64> {
        token_secrets::purge_ended_grace(self, now).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plans;

    /// One user's tokens are read through their index, in the listing's
    /// order; everyone's (an administrator's listing) through the index on
    /// creation; those expiring soon through the index on expiry.
    #[tokio::test]
    async fn listings_read_through_their_index() {
        let dir = tempfile::tempdir().unwrap();
        let (_store, path) = plans::fresh(&dir).await;
        plans::assert_reads_through(&path, LIST_OWN_TOKENS, "api_tokens_user");
        plans::assert_reads_through(&path, LIST_TOKENS, "api_tokens_created");
        plans::assert_reads_through(&path, LIST_OWN_EXPIRING_TOKENS, "api_tokens_user");
        // The expiry scan: only the tokens expiring soon, sorted.
        let steps = plans::plan(&path, LIST_EXPIRING_TOKENS);
        assert!(
            steps
                .iter()
                .any(|step| step.starts_with("SEARCH t USING INDEX api_tokens_expires")),
            "{steps:?}"
        );
    }
}
