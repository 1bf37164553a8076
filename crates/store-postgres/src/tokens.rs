//! API tokens and their secrets: the token limit checked under a row lock,
//! rotation with a grace period, renewal, deactivation, batched usage, and the
//! lookup by secret digest that every API call makes.
//!
//! A token's secrets live in `token_secrets`, one row per slot (`current`,
//! `previous`), keyed by `(token_id, slot)` with a unique digest.

use async_trait::async_trait;
use keyward_core::effects::SideEffects;
use keyward_core::model::{
    ApiToken, NewApiToken, NewTokenSecret, PageRequest, SecretSlot, TokenCredential, TokenFilter,
    TokenUpdate, TokenUsage, User,
};
use keyward_core::secret::Digest;
use keyward_core::store::{InsertToken, RenewOutcome, RenewalLimit, StoreResult, TokenStore};
use sqlx::{PgConnection, PgExecutor};
use time::OffsetDateTime;
use uuid::Uuid;

use crate::rows::{self, RenewalColumns, get, token_select};
use crate::{PgStore, db_error, effects};

/// The token `id` with its secrets' hints, read through `executor`.
pub(crate) async fn fetch_token<'e>(
    executor: impl PgExecutor<'e>,
    id: Uuid,
) -> StoreResult<Option<ApiToken>> {
    sqlx::query(token_select!("WHERE t.id = $1"))
        .bind(id)
        .fetch_optional(executor)
        .await
        .map_err(db_error)?
        .map(|row| rows::token(&row))
        .transpose()
}

/// Locks the token row until the transaction ends, against every other
/// change of the token; whether it exists. (`FOR NO KEY UPDATE`: the row
/// lock an `UPDATE` takes, which still lets other transactions insert rows
/// referring to the token.)
async fn lock_token(conn: &mut PgConnection, id: Uuid) -> StoreResult<bool> {
    let row = sqlx::query("SELECT id FROM api_tokens WHERE id = $1 FOR NO KEY UPDATE")
        .bind(id)
        .fetch_optional(conn)
        .await
        .map_err(db_error)?;
    Ok(row.is_some())
}

/// Inserts a token row and its current secret.
async fn insert_token_rows(conn: &mut PgConnection, token: &NewApiToken) -> StoreResult<()> {
    let scopes: Vec<&str> = token.scopes.iter().map(String::as_str).collect();
    let applications: Vec<&str> = token.applications.iter().map(String::as_str).collect();
    let renewal = RenewalColumns::new(token.renewal.as_ref())?;
    sqlx::query(
        "INSERT INTO api_tokens \
             (id, user_id, name, description, scopes, applications, state, expires_at, \
              created_at, updated_at, renewal_every_days, renewal_callback_url, \
              renewal_mail_recipient, renewal_secret_seed, renewal_next_at, renewal_last_at) \
         VALUES ($1, $2, $3, $4, $5, $6, 'active', $7, $8, $8, $9, $10, $11, $12, $13, $14)",
    )
    .bind(token.id)
    .bind(token.user_id)
    .bind(&token.name)
    .bind(token.description.as_deref())
    .bind(&scopes)
    .bind(&applications)
    .bind(token.expires_at)
    .bind(token.now)
    .bind(renewal.every_days)
    .bind(renewal.callback_url)
    .bind(renewal.mail_recipient)
    .bind(renewal.secret_seed)
    .bind(renewal.next_at)
    .bind(renewal.last_at)
    .execute(&mut *conn)
    .await
    .map_err(db_error)?;
    insert_current_secret(conn, token.id, &token.secret, token.now).await
}

/// Inserts `secret` as the token's current secret, created at `now`.
pub(crate) async fn insert_current_secret(
    conn: &mut PgConnection,
    token_id: Uuid,
    secret: &NewTokenSecret,
    now: OffsetDateTime,
) -> StoreResult<()> {
    sqlx::query(
        "INSERT INTO token_secrets (token_id, slot, digest, hint, expires_at, created_at) \
         VALUES ($1, 'current', $2, $3, NULL, $4)",
    )
    .bind(token_id)
    .bind(secret.digest.as_bytes())
    .bind(&secret.hint)
    .bind(now)
    .execute(conn)
    .await
    .map_err(db_error)?;
    Ok(())
}

/// Reads back a token just written in the same transaction.
async fn written_token(conn: &mut PgConnection, id: Uuid) -> StoreResult<ApiToken> {
    fetch_token(conn, id).await?.ok_or_else(|| {
        keyward_core::error::StoreError::Database(format!("token {id} vanished while written"))
    })
}

#[async_trait]
impl TokenStore for PgStore {
    /// In one transaction: locks the owner's user row (`FOR NO KEY UPDATE`,
    /// so concurrent inserts for one owner queue up, while logins of that
    /// user, which only refer to the row, do not wait), counts the owner's tokens
    /// with state `active` and no expiry or an expiry after `token.now`, and
    /// answers [`InsertToken::LimitReached`] when that count is `limit` or
    /// more; otherwise inserts the token and its current secret. An unknown
    /// owner is [`StoreError::Gone`]; a taken id or digest a conflict.
    async fn insert_token(
        &self,
        token: &NewApiToken,
        limit: u32,
        effects: &SideEffects,
    ) -> StoreResult<InsertToken> {
        let mut tx = self.pool.begin().await.map_err(db_error)?;
        let owner = sqlx::query("SELECT id FROM users WHERE id = $1 FOR NO KEY UPDATE")
            .bind(token.user_id)
            .fetch_optional(&mut *tx)
            .await
            .map_err(db_error)?;
        if owner.is_none() {
            return Err(keyward_core::error::StoreError::Gone(format!(
                "token owner {} does not exist",
                token.user_id
            )));
        }
        let row = sqlx::query(
            "SELECT count(*) AS active FROM api_tokens \
             WHERE user_id = $1 AND state = 'active' AND (expires_at IS NULL OR expires_at > $2)",
        )
        .bind(token.user_id)
        .bind(token.now)
        .fetch_one(&mut *tx)
        .await
        .map_err(db_error)?;
        let active: i64 = get(&row, "active")?;
        if active >= i64::from(limit) {
            return Ok(InsertToken::LimitReached);
        }
        insert_token_rows(&mut tx, token).await?;
        effects::write(&mut tx, effects).await?;
        let inserted = written_token(&mut tx, token.id).await?;
        tx.commit().await.map_err(db_error)?;
        Ok(InsertToken::Inserted(inserted))
    }

    async fn find_token(&self, id: Uuid) -> StoreResult<Option<ApiToken>> {
        fetch_token(&self.pool, id).await
    }

    /// The token owning the secret with this digest, in whatever state, and
    /// the slot that matched. `ApiToken::previous` reflects the previous
    /// secret row even when its grace has ended (until purged); the caller
    /// judges state, expiry and grace.
    async fn find_token_by_secret(
        &self,
        digest: &Digest,
    ) -> StoreResult<Option<(ApiToken, SecretSlot)>> {
        let Some(row) = sqlx::query(token_select!(
            ", s.slot AS matched_slot",
            "JOIN token_secrets s ON s.token_id = t.id WHERE s.digest = $1"
        ))
        .bind(digest.as_bytes())
        .fetch_optional(&self.pool)
        .await
        .map_err(db_error)?
        else {
            return Ok(None);
        };
        let slot: String = get(&row, "matched_slot")?;
        Ok(Some((rows::token(&row)?, rows::slot(&slot)?)))
    }

    /// One query, on the readers.
    async fn find_token_credential(
        &self,
        digest: &Digest,
    ) -> StoreResult<Option<(TokenCredential, User)>> {
        self.readers.token_credential(digest).await
    }

    /// The owner's tokens, oldest first (`created_at`, then `id`), filtered
    /// in SQL as of `now`: status `active` = state active and no expiry or
    /// one after `now`; `expired` = state active and expiry at or before
    /// `now`; `deactivated` = state deactivated. `unused_since` keeps tokens
    /// never used or last used before the cutoff.
    async fn list_tokens(
        &self,
        filter: &TokenFilter,
        page: &PageRequest,
        now: OffsetDateTime,
    ) -> StoreResult<Vec<ApiToken>> {
        sqlx::query(token_select!(
            "WHERE ($1::uuid IS NULL OR t.user_id = $1) \
             AND ($2::text IS NULL \
                  OR ($2 = 'active' AND t.state = 'active' \
                      AND (t.expires_at IS NULL OR t.expires_at > $3)) \
                  OR ($2 = 'expired' AND t.state = 'active' AND t.expires_at <= $3) \
                  OR ($2 = 'deactivated' AND t.state = 'deactivated')) \
             AND ($4::timestamptz IS NULL OR t.last_used_at IS NULL OR t.last_used_at < $4) \
             AND ($5::timestamptz IS NULL OR (t.expires_at > $3 AND t.expires_at <= $5)) \
             AND (NOT $6 OR t.expires_at IS NULL) \
             AND ($7::timestamptz IS NULL OR t.created_at > $7 \
                  OR (t.created_at = $7 AND t.id > $8)) \
             ORDER BY t.created_at, t.id LIMIT $9"
        ))
        .bind(filter.owner)
        .bind(filter.status.map(|s| s.as_str()))
        .bind(now)
        .bind(filter.unused_since)
        .bind(filter.expiring_by)
        .bind(filter.never_expires)
        .bind(page.after.map(|k| k.created_at))
        .bind(page.after.map(|k| k.id))
        .bind(i64::from(page.limit))
        .fetch_all(&self.pool)
        .await
        .map_err(db_error)?
        .iter()
        .map(rows::token)
        .collect()
    }

    /// Applies only the fields that are `Some` and sets `updated_at`; an
    /// empty update changes nothing. `None` if there is no such token.
    async fn update_token(
        &self,
        id: Uuid,
        update: &TokenUpdate,
        now: OffsetDateTime,
        effects: &SideEffects,
    ) -> StoreResult<Option<ApiToken>> {
        if update.is_empty() {
            return self.find_token(id).await;
        }
        let renewal = update.renewal.as_ref().map(Option::as_ref);
        let columns = RenewalColumns::new(renewal.flatten())?;
        let mut tx = self.pool.begin().await.map_err(db_error)?;
        let done = sqlx::query(
            "UPDATE api_tokens SET \
                 name = COALESCE($2, name), \
                 description = CASE WHEN $3 THEN $4 ELSE description END, \
                 expires_at = COALESCE($5, expires_at), \
                 renewal_every_days = CASE WHEN $6 THEN $7 ELSE renewal_every_days END, \
                 renewal_callback_url = CASE WHEN $6 THEN $8 ELSE renewal_callback_url END, \
                 renewal_mail_recipient = CASE WHEN $6 THEN $9 ELSE renewal_mail_recipient END, \
                 renewal_secret_seed = CASE WHEN $6 THEN $10 ELSE renewal_secret_seed END, \
                 renewal_next_at = CASE WHEN $6 THEN $12 ELSE renewal_next_at END, \
                 renewal_last_at = CASE WHEN $6 THEN $13 ELSE renewal_last_at END, \
                 updated_at = $11 \
             WHERE id = $1",
        )
        .bind(id)
        .bind(update.name.as_deref())
        .bind(update.description.is_some())
        .bind(update.description.as_ref().and_then(Option::as_deref))
        .bind(update.expires_at)
        .bind(renewal.is_some())
        .bind(columns.every_days)
        .bind(columns.callback_url)
        .bind(columns.mail_recipient)
        .bind(columns.secret_seed)
        .bind(now)
        .bind(columns.next_at)
        .bind(columns.last_at)
        .execute(&mut *tx)
        .await
        .map_err(db_error)?;
        if done.rows_affected() == 0 {
            return Ok(None);
        }
        if matches!(update.renewal, Some(None)) {
            crate::renewal::cancel_pending(&mut tx, id, now).await?;
        }
        effects::write(&mut tx, effects).await?;
        let token = written_token(&mut tx, id).await?;
        tx.commit().await.map_err(db_error)?;
        Ok(Some(token))
    }

    /// In one transaction, with the token row locked first (`FOR NO KEY
    /// UPDATE`) so
    /// that concurrent rotations of one token run one after the other:
    /// deletes any previous secret, turns the current secret into the
    /// previous one valid until `previous_until` (or deletes it when that is
    /// `None`), inserts `secret` as current and sets `updated_at`.
    async fn rotate_token(
        &self,
        id: Uuid,
        secret: &NewTokenSecret,
        previous_until: Option<OffsetDateTime>,
        expires_by: Option<OffsetDateTime>,
        now: OffsetDateTime,
        effects: &SideEffects,
    ) -> StoreResult<Option<ApiToken>> {
        let mut tx = self.pool.begin().await.map_err(db_error)?;
        if !lock_token(&mut tx, id).await? {
            return Ok(None);
        }
        sqlx::query("DELETE FROM token_secrets WHERE token_id = $1 AND slot = 'previous'")
            .bind(id)
            .execute(&mut *tx)
            .await
            .map_err(db_error)?;
        match previous_until {
            Some(until) => sqlx::query(
                "UPDATE token_secrets SET slot = 'previous', expires_at = $2 \
                 WHERE token_id = $1 AND slot = 'current'",
            )
            .bind(id)
            .bind(until),
            None => {
                sqlx::query("DELETE FROM token_secrets WHERE token_id = $1 AND slot = 'current'")
                    .bind(id)
            }
        }
        .execute(&mut *tx)
        .await
        .map_err(db_error)?;
        insert_current_secret(&mut tx, id, secret, now).await?;
        sqlx::query(
            "UPDATE api_tokens SET updated_at = $2, \
             expires_at = CASE WHEN $3::timestamptz IS NULL THEN expires_at \
                               ELSE LEAST(COALESCE(expires_at, $3), $3) END \
             WHERE id = $1",
        )
        .bind(id)
        .bind(now)
        .bind(expires_by)
        .execute(&mut *tx)
        .await
        .map_err(db_error)?;
        effects::write(&mut tx, effects).await?;
        let token = written_token(&mut tx, id).await?;
        tx.commit().await.map_err(db_error)?;
        Ok(Some(token))
    }

    /// Deletes the previous secret; when there was one, sets `updated_at`.
    /// `None` if there is no such token.
    async fn revoke_previous(
        &self,
        id: Uuid,
        now: OffsetDateTime,
        effects: &SideEffects,
    ) -> StoreResult<Option<ApiToken>> {
        let mut tx = self.pool.begin().await.map_err(db_error)?;
        if !lock_token(&mut tx, id).await? {
            return Ok(None);
        }
        let done =
            sqlx::query("DELETE FROM token_secrets WHERE token_id = $1 AND slot = 'previous'")
                .bind(id)
                .execute(&mut *tx)
                .await
                .map_err(db_error)?;
        if done.rows_affected() > 0 {
            sqlx::query("UPDATE api_tokens SET updated_at = $2 WHERE id = $1")
                .bind(id)
                .bind(now)
                .execute(&mut *tx)
                .await
                .map_err(db_error)?;
            effects::write(&mut tx, effects).await?;
        }
        let token = written_token(&mut tx, id).await?;
        tx.commit().await.map_err(db_error)?;
        Ok(Some(token))
    }

    /// Sets state `deactivated` (and `updated_at`, the first time only:
    /// deactivating again changes nothing). The secrets stay, so a lookup
    /// by secret still finds the token and reports its state. `None` if there
    /// is no such token.
    async fn deactivate_token(
        &self,
        id: Uuid,
        now: OffsetDateTime,
        effects: &SideEffects,
    ) -> StoreResult<Option<ApiToken>> {
        let mut tx = self.pool.begin().await.map_err(db_error)?;
        let done = sqlx::query(
            "UPDATE api_tokens SET state = 'deactivated', updated_at = $2 \
             WHERE id = $1 AND state <> 'deactivated'",
        )
        .bind(id)
        .bind(now)
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
        let mut tx = self.pool.begin().await.map_err(db_error)?;
        let done = sqlx::query("DELETE FROM api_tokens WHERE id = $1")
            .bind(id)
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

    /// In one transaction, with the owner's row and the old token locked
    /// (in the order every token insert takes them): checks the old token is
    /// not renewed before, counts the owner's active tokens against
    /// `limits`, inserts `replacement` and its current secret, then sets the
    /// old token's `expires_at`, `updated_at` and `renewed_to`.
    async fn renew_token(
        &self,
        id: Uuid,
        replacement: &NewApiToken,
        expire_current_at: OffsetDateTime,
        limits: RenewalLimit,
        effects: &SideEffects,
    ) -> StoreResult<RenewOutcome> {
        let mut tx = self.pool.begin().await.map_err(db_error)?;
        // The owner's row first, as every insert of a token locks it: the
        // count below then cannot race with another insert or renewal.
        let owner = sqlx::query(
            "SELECT u.id FROM users u JOIN api_tokens t ON t.user_id = u.id \
             WHERE t.id = $1 FOR NO KEY UPDATE OF u",
        )
        .bind(id)
        .fetch_optional(&mut *tx)
        .await
        .map_err(db_error)?;
        let Some(owner) = owner else {
            return Ok(RenewOutcome::NotFound);
        };
        let owner: Uuid = get(&owner, "id")?;
        let found =
            sqlx::query("SELECT renewed_to FROM api_tokens WHERE id = $1 FOR NO KEY UPDATE")
                .bind(id)
                .fetch_optional(&mut *tx)
                .await
                .map_err(db_error)?;
        let Some(found) = found else {
            return Ok(RenewOutcome::NotFound);
        };
        if get::<Option<Uuid>>(&found, "renewed_to")?.is_some() {
            return Ok(RenewOutcome::AlreadyRenewed);
        }
        let active: i64 = get(
            &sqlx::query(
                "SELECT count(*) AS active FROM api_tokens \
                 WHERE user_id = $1 AND state = 'active' AND (expires_at IS NULL OR expires_at > $2)",
            )
            .bind(owner)
            .bind(replacement.now)
            .fetch_one(&mut *tx)
            .await
            .map_err(db_error)?,
            "active",
        )?;
        if active >= i64::from(limits.limit) && expire_current_at > limits.latest_at_limit {
            return Ok(RenewOutcome::LimitReached);
        }
        insert_token_rows(&mut tx, replacement).await?;
        sqlx::query(
            "UPDATE api_tokens SET expires_at = $2, updated_at = $3, renewed_to = $4 WHERE id = $1",
        )
        .bind(id)
        .bind(expire_current_at)
        .bind(replacement.now)
        .bind(replacement.id)
        .execute(&mut *tx)
        .await
        .map_err(db_error)?;
        effects::write(&mut tx, effects).await?;
        let old = written_token(&mut tx, id).await?;
        let new = written_token(&mut tx, replacement.id).await?;
        tx.commit().await.map_err(db_error)?;
        Ok(RenewOutcome::Renewed { old, new })
    }

    /// One transaction for the whole batch: the tokens' rows are locked in
    /// id order (so that two instances flushing at once cannot deadlock),
    /// then one `UPDATE ... FROM unnest(...)` writes, per token, the latest
    /// use of the batch (one with an IP preferred on a tie) if it is not
    /// earlier than the stored `last_used_at`, which therefore never moves
    /// back; an equal time overwrites. A use without an IP keeps the stored
    /// IP. `updated_at` is not touched. Unknown tokens (deleted meanwhile)
    /// are skipped.
    async fn record_token_usage(&self, batch: &[TokenUsage]) -> StoreResult<()> {
        if batch.is_empty() {
            return Ok(());
        }
        let ids: Vec<Uuid> = batch.iter().map(|u| u.token_id).collect();
        let ats: Vec<OffsetDateTime> = batch.iter().map(|u| u.at).collect();
        let ips: Vec<Option<String>> = batch
            .iter()
            .map(|u| u.ip.map(|ip| ip.to_string()))
            .collect();
        let mut tx = self.pool.begin().await.map_err(db_error)?;
        sqlx::query("SELECT id FROM api_tokens WHERE id = ANY($1) ORDER BY id FOR NO KEY UPDATE")
            .bind(&ids)
            .fetch_all(&mut *tx)
            .await
            .map_err(db_error)?;
        sqlx::query(
            "UPDATE api_tokens t SET \
                 last_used_at = u.at, \
                 last_used_ip = COALESCE(u.ip, t.last_used_ip) \
             FROM ( \
                 SELECT DISTINCT ON (id) id, at, ip \
                 FROM unnest($1::uuid[], $2::timestamptz[], $3::text[]) AS b (id, at, ip) \
                 ORDER BY id, at DESC, ip IS NULL \
             ) u \
             WHERE t.id = u.id AND (t.last_used_at IS NULL OR t.last_used_at <= u.at)",
        )
        .bind(&ids)
        .bind(&ats)
        .bind(&ips)
        .execute(&mut *tx)
        .await
        .map_err(db_error)?;
        tx.commit().await.map_err(db_error)
    }

    /// Deletes previous secrets whose grace ended at or before `now` (the
    /// same boundary as `ApiToken::live_previous`); returns how many.
    async fn purge_ended_grace(&self, now: OffsetDateTime) -> StoreResult<u64> {
        let done =
            sqlx::query("DELETE FROM token_secrets WHERE slot = 'previous' AND expires_at <= $1")
                .bind(now)
                .execute(&self.pool)
                .await
                .map_err(db_error)?;
        Ok(done.rows_affected())
    }
}
