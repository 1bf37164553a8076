//! [`OAuthStore`] on SQLite: client apps in `oauth_apps`, authorization codes
//! in `oauth_codes`, and access and refresh tokens in `oauth_tokens` (see
//! `migrations/0003_oauth.sql`).
//!
//! Codes and tokens belong to an app (`ON DELETE CASCADE`) and to a user.
//! The one-time operations (redeeming a code, rotating a refresh token) are a
//! conditional `UPDATE ... WHERE used_at IS NULL` followed by the inserts, in
//! one `BEGIN IMMEDIATE` transaction: writers are serialised, so of several
//! concurrent attempts exactly one sees the row unused.

use std::collections::BTreeSet;

use async_trait::async_trait;
use keyward_core::effects::SideEffects;
use keyward_core::error::StoreError;
use keyward_core::model::{
    AuthCode, GrantType, NewAuthCode, NewOAuthApp, NewOAuthToken, OAuthApp, OAuthAppUpdate,
    OAuthToken, PageRequest, User,
};
use keyward_core::rows::{AuthCodeRow, OAuthAppRow, OAuthTokenRow};
use keyward_core::secret::Digest;
use keyward_core::store::{InsertApp, OAuthStore, OAuthTokenGrant, StoreResult};
use sqlx::SqliteConnection;
use sqlx::sqlite::SqliteRow;
use time::OffsetDateTime;
use uuid::Uuid;

use crate::rows::{
    db_error, get, get_id, get_json, get_opt_id, get_opt_time, get_time, id_text, json_list, secs,
};
use crate::{SqliteStore, effects};

/// The columns [`app`] reads, from `oauth_apps`.
macro_rules! app_columns {
    () => {
        "client_id, user_id, client_name, description, redirect_uris, logo_uri, scopes, \
         grant_types, secret_digest, secret_hint, created_at, updated_at"
    };
}

/// `list_apps`' statement, with `$owner` the condition on `?1`: one
/// statement per case, so that one user's apps are read through
/// `oauth_apps_user` (see `tokens::list_tokens_sql`).
macro_rules! list_apps_sql {
    ($owner:literal) => {
        concat!(
            "SELECT ",
            app_columns!(),
            " FROM oauth_apps WHERE ",
            $owner,
            " AND (?2 IS NULL OR created_at > ?2 OR (created_at = ?2 AND client_id > ?3)) \
              ORDER BY created_at, client_id LIMIT ?4"
        )
    };
}

/// Every owner's apps (`?1` is NULL).
const LIST_APPS: &str = list_apps_sql!("?1 IS NULL");
/// One owner's apps.
const LIST_OWN_APPS: &str = list_apps_sql!("user_id = ?1");

/// The columns [`code`] reads, from `oauth_codes`.
macro_rules! code_columns {
    () => {
        "id, client_id, user_id, redirect_uri, scopes, code_challenge, family_id, \
         created_at, expires_at, used_at"
    };
}

/// The columns [`token`] reads, from `oauth_tokens`.
macro_rules! token_columns {
    () => {
        "id, kind, client_id, user_id, scopes, family_id, created_at, expires_at, used_at, \
         revoked_at"
    };
}

// ---- reading rows back (never panics: bad data is a database error) ----

/// Columns: `app_columns!`.
fn app(row: &SqliteRow) -> StoreResult<OAuthApp> {
    OAuthApp::try_from(OAuthAppRow {
        client_id: get_id(row, "client_id")?,
        user_id: get_id(row, "user_id")?,
        client_name: get(row, "client_name")?,
        description: get(row, "description")?,
        redirect_uris: get_json(row, "redirect_uris")?,
        logo_uri: get(row, "logo_uri")?,
        scopes: get_json(row, "scopes")?,
        grant_types: get_json(row, "grant_types")?,
        secret_digest: get(row, "secret_digest")?,
        secret_hint: get(row, "secret_hint")?,
        created_at: get_time(row, "created_at")?,
        updated_at: get_time(row, "updated_at")?,
    })
}

/// Columns: `code_columns!`.
fn code(row: &SqliteRow) -> StoreResult<AuthCode> {
    Ok(AuthCode::from(AuthCodeRow {
        id: get_id(row, "id")?,
        client_id: get_id(row, "client_id")?,
        user_id: get_id(row, "user_id")?,
        redirect_uri: get(row, "redirect_uri")?,
        scopes: get_json(row, "scopes")?,
        code_challenge: get(row, "code_challenge")?,
        family_id: get_id(row, "family_id")?,
        created_at: get_time(row, "created_at")?,
        expires_at: get_time(row, "expires_at")?,
        used_at: get_opt_time(row, "used_at")?,
    }))
}

/// Columns: `token_columns!`.
fn token(row: &SqliteRow) -> StoreResult<OAuthToken> {
    OAuthToken::try_from(OAuthTokenRow {
        id: get_id(row, "id")?,
        kind: get(row, "kind")?,
        client_id: get_opt_id(row, "client_id")?,
        user_id: get_id(row, "user_id")?,
        scopes: get_json(row, "scopes")?,
        family_id: get_opt_id(row, "family_id")?,
        created_at: get_time(row, "created_at")?,
        expires_at: get_time(row, "expires_at")?,
        used_at: get_opt_time(row, "used_at")?,
        revoked_at: get_opt_time(row, "revoked_at")?,
    })
}

// ---- writing ----

/// Grant types as stored: a JSON array of their names, in enum order.
fn grant_types_json(grant_types: &BTreeSet<GrantType>) -> StoreResult<String> {
    let names: Vec<&str> = grant_types.iter().map(|g| g.as_str()).collect();
    serde_json::to_string(&names).map_err(|e| StoreError::Database(e.to_string()))
}

/// A failed write of a `what` row: a unique violation (its id or its
/// digest taken) is a [`StoreError::Conflict`], anything else
/// [`StoreError::Database`].
fn write_error(what: &str) -> impl FnOnce(sqlx::Error) -> StoreError + '_ {
    move |err| match &err {
        sqlx::Error::Database(e) if e.is_unique_violation() => {
            let taken = if e.message().contains("digest") {
                "secret digest"
            } else {
                "id"
            };
            StoreError::Conflict(format!("{what} {taken} already in use"))
        }
        _ => db_error(err),
    }
}

/// Inserts `tokens`, one statement each, on `conn` (a transaction).
async fn insert_token_rows(
    conn: &mut SqliteConnection,
    tokens: &[NewOAuthToken],
) -> StoreResult<()> {
    // Multi-row statements: a group commit of hundreds of issued tokens is a
    // handful of statements, not one per token (11 bound values a row, far
    // below SQLite's limit of 32766 per statement).
    for chunk in tokens.chunks(ROWS_PER_INSERT) {
        let mut insert = sqlx::QueryBuilder::<sqlx::Sqlite>::new(
            "INSERT INTO oauth_tokens \
             (id, digest, kind, client_id, user_id, scopes, family_id, created_at, expires_at, \
              used_at, revoked_at) ",
        );
        let mut scopes = Vec::with_capacity(chunk.len());
        for new in chunk {
            scopes.push(json_list(&new.token.scopes)?);
        }
        insert.push_values(chunk.iter().zip(scopes), |mut row, (new, scopes)| {
            let t = &new.token;
            row.push_bind(id_text(t.id))
                .push_bind(new.digest.as_bytes().to_vec())
                .push_bind(t.kind.as_str())
                .push_bind(t.client_id.map(id_text))
                .push_bind(id_text(t.user_id))
                .push_bind(scopes)
                .push_bind(t.family_id.map(id_text))
                .push_bind(secs(t.created_at))
                .push_bind(secs(t.expires_at))
                .push_bind(t.used_at.map(secs))
                .push_bind(t.revoked_at.map(secs));
        });
        insert
            .build()
            .execute(&mut *conn)
            .await
            .map_err(write_error("OAuth token"))?;
    }
    Ok(())
}

/// Rows per multi-row INSERT of tokens.
const ROWS_PER_INSERT: usize = 512;

#[async_trait]
impl OAuthStore for SqliteStore {
    /// In one `BEGIN IMMEDIATE` transaction, one statement inserts the app
    /// (`created_at = updated_at = app.now`) only if the owner holds fewer
    /// than `limit` apps, so concurrent inserts cannot pass the limit
    /// together; at the limit nothing is written. A taken client id or secret
    /// digest is [`StoreError::Conflict`]; an unknown owner
    /// [`StoreError::Gone`] (foreign key), unless the limit refuses first.
    async fn insert_app(
        &self,
        app: &NewOAuthApp,
        limit: u32,
        effects: &SideEffects,
    ) -> StoreResult<InsertApp> {
        let mut tx = self.write().await?;
        let row = sqlx::query(concat!(
            "INSERT INTO oauth_apps \
             (client_id, user_id, client_name, description, redirect_uris, logo_uri, scopes, \
              grant_types, secret_digest, secret_hint, created_at, updated_at) \
             SELECT ?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?11 \
             WHERE (SELECT COUNT(*) FROM oauth_apps WHERE user_id = ?2) < ?12 \
             RETURNING ",
            app_columns!()
        ))
        .bind(id_text(app.client_id))
        .bind(id_text(app.user_id))
        .bind(&app.client_name)
        .bind(app.description.as_deref())
        .bind(json_list(&app.redirect_uris)?)
        .bind(app.logo_uri.as_deref())
        .bind(json_list(&app.scopes)?)
        .bind(grant_types_json(&app.grant_types)?)
        .bind(app.secret_digest.as_bytes())
        .bind(&app.secret_hint)
        .bind(secs(app.now))
        .bind(i64::from(limit))
        .fetch_optional(&mut *tx)
        .await
        .map_err(write_error("OAuth app"))?;
        let Some(row) = row else {
            tx.rollback().await.map_err(db_error)?;
            return Ok(InsertApp::LimitReached);
        };
        let inserted = self::app(&row)?;
        effects::write(&mut tx, effects).await?;
        tx.commit().await.map_err(db_error)?;
        Ok(InsertApp::Inserted(Box::new(inserted)))
    }

    /// One query on the readers: the app and its owner.
    async fn find_app_with_owner(&self, client_id: Uuid) -> StoreResult<Option<(OAuthApp, User)>> {
        self.readers.app_with_owner(client_id)
    }

    async fn find_app(&self, client_id: Uuid) -> StoreResult<Option<OAuthApp>> {
        sqlx::query(concat!(
            "SELECT ",
            app_columns!(),
            " FROM oauth_apps WHERE client_id = ?1"
        ))
        .bind(id_text(client_id))
        .fetch_optional(&self.pool)
        .await
        .map_err(db_error)?
        .map(|row| app(&row))
        .transpose()
    }

    /// Ordered by `created_at`, then `client_id`.
    async fn list_apps(
        &self,
        owner: Option<Uuid>,
        page: &PageRequest,
    ) -> StoreResult<Vec<OAuthApp>> {
        let sql = match owner {
            Some(_) => LIST_OWN_APPS,
            None => LIST_APPS,
        };
        sqlx::query(sql)
            .bind(owner.map(id_text))
            .bind(page.after.map(|k| secs(k.created_at)))
            .bind(page.after.map(|k| id_text(k.id)))
            .bind(i64::from(page.limit))
            .fetch_all(&self.pool)
            .await
            .map_err(db_error)?
            .iter()
            .map(app)
            .collect()
    }

    /// Applies only the `Some` fields (`description` and `logo_uri`:
    /// `Some(None)` clears them) and sets `updated_at = now`, in one
    /// statement. An empty update changes nothing, not even `updated_at`.
    /// `None` if there is no such app.
    async fn update_app(
        &self,
        client_id: Uuid,
        update: &OAuthAppUpdate,
        now: OffsetDateTime,
        effects: &SideEffects,
    ) -> StoreResult<Option<OAuthApp>> {
        if update.is_empty() {
            return self.find_app(client_id).await;
        }
        let redirect_uris = update.redirect_uris.as_ref().map(json_list).transpose()?;
        let scopes = update.scopes.as_ref().map(json_list).transpose()?;
        let grant_types = update
            .grant_types
            .as_ref()
            .map(grant_types_json)
            .transpose()?;
        let mut tx = self.write().await?;
        let row = sqlx::query(concat!(
            "UPDATE oauth_apps SET \
             client_name = COALESCE(?2, client_name), \
             description = CASE WHEN ?3 THEN ?4 ELSE description END, \
             redirect_uris = COALESCE(?5, redirect_uris), \
             logo_uri = CASE WHEN ?6 THEN ?7 ELSE logo_uri END, \
             scopes = COALESCE(?8, scopes), \
             grant_types = COALESCE(?9, grant_types), \
             updated_at = ?10 \
             WHERE client_id = ?1 RETURNING ",
            app_columns!()
        ))
        .bind(id_text(client_id))
        .bind(update.client_name.as_deref())
        .bind(update.description.is_some())
        .bind(update.description.as_ref().and_then(Option::as_deref))
        .bind(redirect_uris)
        .bind(update.logo_uri.is_some())
        .bind(update.logo_uri.as_ref().and_then(Option::as_deref))
        .bind(scopes)
        .bind(grant_types)
        .bind(secs(now))
        .fetch_optional(&mut *tx)
        .await
        .map_err(db_error)?;
        self.finish_app_write(tx, row, effects).await
    }

    /// Replaces `secret_digest` and `secret_hint` and sets `updated_at =
    /// now`, in one statement: the old digest matches nothing from then on.
    /// A digest already used by another app is [`StoreError::Conflict`].
    /// `None` if there is no such app.
    async fn rotate_app_secret(
        &self,
        client_id: Uuid,
        digest: &Digest,
        hint: &str,
        now: OffsetDateTime,
        effects: &SideEffects,
    ) -> StoreResult<Option<OAuthApp>> {
        let mut tx = self.write().await?;
        let row = sqlx::query(concat!(
            "UPDATE oauth_apps SET secret_digest = ?2, secret_hint = ?3, updated_at = ?4 \
             WHERE client_id = ?1 RETURNING ",
            app_columns!()
        ))
        .bind(id_text(client_id))
        .bind(digest.as_bytes())
        .bind(hint)
        .bind(secs(now))
        .fetch_optional(&mut *tx)
        .await
        .map_err(write_error("OAuth app"))?;
        self.finish_app_write(tx, row, effects).await
    }

    /// Deletes the app; its codes and tokens go with it (`ON DELETE
    /// CASCADE`, in the same statement).
    async fn delete_app(&self, client_id: Uuid, effects: &SideEffects) -> StoreResult<bool> {
        let mut tx = self.write().await?;
        let done = sqlx::query("DELETE FROM oauth_apps WHERE client_id = ?1")
            .bind(id_text(client_id))
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

    /// Stores the code as given (including any `used_at`). A taken id or
    /// digest is [`StoreError::Conflict`]; an unknown app or user
    /// [`StoreError::Gone`].
    async fn insert_code(&self, new: &NewAuthCode, effects: &SideEffects) -> StoreResult<()> {
        let c = &new.code;
        let mut tx = self.write().await?;
        sqlx::query(
            "INSERT INTO oauth_codes \
             (id, digest, client_id, user_id, redirect_uri, scopes, code_challenge, family_id, \
              created_at, expires_at, used_at) \
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)",
        )
        .bind(id_text(c.id))
        .bind(new.digest.as_bytes())
        .bind(id_text(c.client_id))
        .bind(id_text(c.user_id))
        .bind(c.redirect_uri.as_deref())
        .bind(json_list(&c.scopes)?)
        .bind(&c.code_challenge)
        .bind(id_text(c.family_id))
        .bind(secs(c.created_at))
        .bind(secs(c.expires_at))
        .bind(c.used_at.map(secs))
        .execute(&mut *tx)
        .await
        .map_err(write_error("authorization code"))?;
        effects::write(&mut tx, effects).await?;
        tx.commit().await.map_err(db_error)
    }

    /// The code with this digest, used or not, expired or not (until
    /// purged); the caller judges.
    async fn find_code(&self, digest: &Digest) -> StoreResult<Option<AuthCode>> {
        sqlx::query(concat!(
            "SELECT ",
            code_columns!(),
            " FROM oauth_codes WHERE digest = ?1"
        ))
        .bind(digest.as_bytes())
        .fetch_optional(&self.pool)
        .await
        .map_err(db_error)?
        .map(|row| code(&row))
        .transpose()
    }

    /// In one `BEGIN IMMEDIATE` transaction: `UPDATE oauth_codes SET used_at
    /// = now WHERE id = code_id AND used_at IS NULL`; if that changed a row,
    /// inserts `tokens` and commits (`true`), otherwise rolls back (`false`,
    /// also for an unknown code). Expiry is not checked here: the caller
    /// judged it on the code it found. A conflict while inserting the tokens
    /// rolls everything back, the code staying unused.
    async fn redeem_code(
        &self,
        code_id: Uuid,
        tokens: &[NewOAuthToken],
        now: OffsetDateTime,
    ) -> StoreResult<bool> {
        self.claim_then_insert(
            "UPDATE oauth_codes SET used_at = ?2 WHERE id = ?1 AND used_at IS NULL",
            code_id,
            tokens,
            now,
        )
        .await
    }

    /// Stores the tokens as given, all or none (one transaction). A taken id
    /// or digest is [`StoreError::Conflict`].
    async fn insert_oauth_tokens(&self, tokens: &[NewOAuthToken]) -> StoreResult<()> {
        if tokens.is_empty() {
            return Ok(());
        }
        // One statement is a transaction by itself: no BEGIN and COMMIT
        // round trips, and no statement journal.
        if tokens.len() <= ROWS_PER_INSERT {
            let mut conn = self.writer.acquire().await.map_err(db_error)?;
            return insert_token_rows(&mut conn, tokens).await;
        }
        let mut tx = self.write().await?;
        insert_token_rows(&mut tx, tokens).await?;
        tx.commit().await.map_err(db_error)
    }

    /// Looked up by id (the primary key); the digest is compared here, in
    /// constant time, rather than in the query.
    /// One query on the readers: the token (if its digest matches, compared
    /// in constant time), its app's scope and its user.
    async fn find_oauth_token_grant(
        &self,
        id: Uuid,
        digest: &Digest,
    ) -> StoreResult<Option<OAuthTokenGrant>> {
        self.readers.oauth_token_grant(id, digest)
    }

    async fn find_oauth_token(&self, id: Uuid, digest: &Digest) -> StoreResult<Option<OAuthToken>> {
        let Some(row) = sqlx::query(concat!(
            "SELECT ",
            token_columns!(),
            ", digest FROM oauth_tokens WHERE id = ?1"
        ))
        .bind(id_text(id))
        .fetch_optional(&self.pool)
        .await
        .map_err(db_error)?
        else {
            return Ok(None);
        };
        let stored: Vec<u8> = get(&row, "digest")?;
        if digest.matches(&stored) {
            token(&row).map(Some)
        } else {
            Ok(None)
        }
    }

    /// In one `BEGIN IMMEDIATE` transaction: `UPDATE oauth_tokens SET used_at
    /// = now WHERE id = refresh_id AND kind = 'refresh' AND used_at IS NULL
    /// AND revoked_at IS NULL`; if that changed a row, inserts `tokens` and
    /// commits (`true`), otherwise rolls back (`false`: unknown, an access
    /// token, used or revoked). Expiry is the caller's to judge.
    async fn rotate_refresh_token(
        &self,
        refresh_id: Uuid,
        tokens: &[NewOAuthToken],
        now: OffsetDateTime,
    ) -> StoreResult<bool> {
        self.claim_then_insert(
            "UPDATE oauth_tokens SET used_at = ?2 \
             WHERE id = ?1 AND kind = 'refresh' AND used_at IS NULL AND revoked_at IS NULL",
            refresh_id,
            tokens,
            now,
        )
        .await
    }

    /// Sets `revoked_at = now` if it is not set; returns whether it was not
    /// revoked before (`false` also for an unknown token). A used or expired
    /// token that was never revoked counts as not revoked: it is revoked now
    /// and `true` is returned.
    async fn revoke_oauth_token(
        &self,
        id: Uuid,
        now: OffsetDateTime,
        effects: &SideEffects,
    ) -> StoreResult<bool> {
        let mut tx = self.write().await?;
        let done = sqlx::query(
            "UPDATE oauth_tokens SET revoked_at = ?2 WHERE id = ?1 AND revoked_at IS NULL",
        )
        .bind(id_text(id))
        .bind(secs(now))
        .execute(&mut *tx)
        .await
        .map_err(db_error)?;
        let revoked = done.rows_affected() > 0;
        if revoked {
            effects::write(&mut tx, effects).await?;
        }
        tx.commit().await.map_err(db_error)?;
        Ok(revoked)
    }

    /// One statement: sets `revoked_at = now` on every token of the family
    /// whose `revoked_at` is not set (used and expired ones included) and
    /// returns their ids, sorted. Tokens revoked earlier keep their time.
    async fn revoke_family(
        &self,
        family_id: Uuid,
        now: OffsetDateTime,
        effects: &SideEffects,
    ) -> StoreResult<Vec<Uuid>> {
        let mut tx = self.write().await?;
        let rows = sqlx::query(
            "UPDATE oauth_tokens SET revoked_at = ?2 \
             WHERE family_id = ?1 AND revoked_at IS NULL RETURNING id",
        )
        .bind(id_text(family_id))
        .bind(secs(now))
        .fetch_all(&mut *tx)
        .await
        .map_err(db_error)?;
        if !rows.is_empty() {
            effects::write(&mut tx, effects).await?;
        }
        tx.commit().await.map_err(db_error)?;
        let mut ids = rows
            .iter()
            .map(|row| get_id(row, "id"))
            .collect::<StoreResult<Vec<Uuid>>>()?;
        ids.sort_unstable();
        Ok(ids)
    }

    /// In one transaction: deletes codes with `expires_at <= code_cutoff`
    /// and tokens with `expires_at <= token_cutoff` (used, revoked or not);
    /// returns how many rows of both went.
    async fn purge_oauth(
        &self,
        code_cutoff: OffsetDateTime,
        token_cutoff: OffsetDateTime,
    ) -> StoreResult<u64> {
        let mut tx = self.write().await?;
        let codes = sqlx::query("DELETE FROM oauth_codes WHERE expires_at <= ?1")
            .bind(secs(code_cutoff))
            .execute(&mut *tx)
            .await
            .map_err(db_error)?;
        let tokens = sqlx::query("DELETE FROM oauth_tokens WHERE expires_at <= ?1")
            .bind(secs(token_cutoff))
            .execute(&mut *tx)
            .await
            .map_err(db_error)?;
        tx.commit().await.map_err(db_error)?;
        Ok(codes.rows_affected() + tokens.rows_affected())
    }
}

impl SqliteStore {
    /// Ends an app's update: `None` (no such app) rolls back; otherwise the
    /// effects are written and the transaction commits.
    async fn finish_app_write(
        &self,
        mut tx: sqlx::Transaction<'static, sqlx::Sqlite>,
        row: Option<SqliteRow>,
        effects: &SideEffects,
    ) -> StoreResult<Option<OAuthApp>> {
        let Some(row) = row else {
            tx.rollback().await.map_err(db_error)?;
            return Ok(None);
        };
        let app = app(&row)?;
        effects::write(&mut tx, effects).await?;
        tx.commit().await.map_err(db_error)?;
        Ok(Some(app))
    }

    /// In one transaction: `claim` (an UPDATE of row `id` that succeeds only
    /// once, binding the id and `now`); if it changed a row, inserts `tokens`
    /// and commits (`true`), otherwise rolls back (`false`). What makes codes
    /// and refresh tokens single-use, even under concurrent requests.
    async fn claim_then_insert(
        &self,
        claim: &'static str,
        id: Uuid,
        tokens: &[NewOAuthToken],
        now: OffsetDateTime,
    ) -> StoreResult<bool> {
        let mut tx = self.write().await?;
        let done = sqlx::query(claim)
            .bind(id_text(id))
            .bind(secs(now))
            .execute(&mut *tx)
            .await
            .map_err(db_error)?;
        if done.rows_affected() == 0 {
            tx.rollback().await.map_err(db_error)?;
            return Ok(false);
        }
        insert_token_rows(&mut tx, tokens).await?;
        tx.commit().await.map_err(db_error)?;
        Ok(true)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plans;

    #[tokio::test]
    async fn listings_read_through_their_index() {
        let dir = tempfile::tempdir().unwrap();
        let (_store, path) = plans::fresh(&dir).await;
        plans::assert_reads_through(&path, LIST_OWN_APPS, "oauth_apps_user");
        plans::assert_reads_through(&path, LIST_APPS, "oauth_apps_created");
    }
}
