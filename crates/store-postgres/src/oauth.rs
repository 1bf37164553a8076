//! [`OAuthStore`] on PostgreSQL: client apps in `oauth_apps`, authorization
//! codes in `oauth_codes`, and access and refresh tokens in `oauth_tokens`
//! (see `migrations/0003_oauth.sql`).
//!
//! Codes and tokens belong to an app (`ON DELETE CASCADE`) and to a user.
//! The one-time operations (redeeming a code, rotating a refresh token) are a
//! conditional `UPDATE ... WHERE used_at IS NULL` followed by the inserts, in
//! one transaction. Under READ COMMITTED a concurrent `UPDATE` of the same row
//! waits for the first to finish and then re-checks its `WHERE` against the
//! committed row, so of several concurrent attempts exactly one changes it.

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
use sqlx::PgConnection;
use sqlx::postgres::PgRow;
use time::OffsetDateTime;
use uuid::Uuid;

use crate::rows::{Columns, get};
use crate::{PgStore, db_error, effects};

/// The columns [`app`] reads, from `oauth_apps`.
macro_rules! app_columns {
    () => {
        "client_id, user_id, client_name, description, redirect_uris, logo_uri, scopes, \
         grant_types, secret_digest, secret_hint, created_at, updated_at"
    };
}

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

/// Like [`db_error`], naming what is taken when one of this module's
/// unique constraints is violated.
fn oauth_error(err: sqlx::Error) -> StoreError {
    if let sqlx::Error::Database(db) = &err
        && db.is_unique_violation()
    {
        let what = match db.constraint() {
            Some("oauth_apps_pkey") => "client id already in use",
            Some("oauth_apps_secret_digest_unique") => "client secret digest already in use",
            Some("oauth_codes_pkey" | "oauth_tokens_pkey") => "id already in use",
            Some("oauth_codes_digest_unique" | "oauth_tokens_digest_unique") => {
                "secret digest already in use"
            }
            _ => return db_error(err),
        };
        return StoreError::Conflict(what.to_owned());
    }
    db_error(err)
}

// ---- reading rows back (never panics: bad data is a database error) ----

/// Columns: `app_columns!`.
pub(crate) fn app(row: &impl Columns) -> StoreResult<OAuthApp> {
    OAuthApp::try_from(OAuthAppRow {
        client_id: get(row, "client_id")?,
        user_id: get(row, "user_id")?,
        client_name: get(row, "client_name")?,
        description: get(row, "description")?,
        redirect_uris: get(row, "redirect_uris")?,
        logo_uri: get(row, "logo_uri")?,
        scopes: get(row, "scopes")?,
        grant_types: get(row, "grant_types")?,
        secret_digest: get(row, "secret_digest")?,
        secret_hint: get(row, "secret_hint")?,
        created_at: get(row, "created_at")?,
        updated_at: get(row, "updated_at")?,
    })
}

/// Columns: `code_columns!`.
fn code(row: &PgRow) -> StoreResult<AuthCode> {
    Ok(AuthCode::from(AuthCodeRow {
        id: get(row, "id")?,
        client_id: get(row, "client_id")?,
        user_id: get(row, "user_id")?,
        redirect_uri: get(row, "redirect_uri")?,
        scopes: get(row, "scopes")?,
        code_challenge: get(row, "code_challenge")?,
        family_id: get(row, "family_id")?,
        created_at: get(row, "created_at")?,
        expires_at: get(row, "expires_at")?,
        used_at: get(row, "used_at")?,
    }))
}

/// Columns: `token_columns!`.
pub(crate) fn token(row: &impl Columns) -> StoreResult<OAuthToken> {
    OAuthToken::try_from(OAuthTokenRow {
        id: get(row, "id")?,
        kind: get(row, "kind")?,
        client_id: get(row, "client_id")?,
        user_id: get(row, "user_id")?,
        scopes: get(row, "scopes")?,
        family_id: get(row, "family_id")?,
        created_at: get(row, "created_at")?,
        expires_at: get(row, "expires_at")?,
        used_at: get(row, "used_at")?,
        revoked_at: get(row, "revoked_at")?,
    })
}

// ---- writing ----

fn strs<'a>(items: impl IntoIterator<Item = &'a String>) -> Vec<&'a str> {
    items.into_iter().map(String::as_str).collect()
}

fn grant_type_names(grant_types: &BTreeSet<GrantType>) -> Vec<&'static str> {
    grant_types.iter().map(|g| g.as_str()).collect()
}

/// Inserts `tokens` on `conn` (a transaction) in one statement, whatever
/// their number: each column is bound as one array and `unnest` turns the
/// arrays back into rows, so a group commit of hundreds of tokens is one
/// round trip to the server, not one per token. A token's scopes travel as
/// one space-separated string (scope names hold no spaces, RFC 6749 §3.3)
/// and become its `TEXT[]` again in the statement.
async fn insert_token_rows(conn: &mut PgConnection, tokens: &[NewOAuthToken]) -> StoreResult<()> {
    write_token_rows(conn, tokens).await.map_err(oauth_error)
}

/// The `INSERT` of [`insert_token_rows`], its error as sqlx reports it.
async fn write_token_rows(conn: &mut PgConnection, tokens: &[NewOAuthToken]) -> sqlx::Result<()> {
    let n = tokens.len();
    let mut ids = Vec::with_capacity(n);
    let mut digests = Vec::with_capacity(n);
    let mut kinds = Vec::with_capacity(n);
    let mut clients = Vec::with_capacity(n);
    let mut users = Vec::with_capacity(n);
    let mut scopes = Vec::with_capacity(n);
    let mut families = Vec::with_capacity(n);
    let mut created = Vec::with_capacity(n);
    let mut expires = Vec::with_capacity(n);
    let mut used = Vec::with_capacity(n);
    let mut revoked = Vec::with_capacity(n);
    for new in tokens {
        let t = &new.token;
        ids.push(t.id);
        digests.push(new.digest.as_bytes().to_vec());
        kinds.push(t.kind.as_str());
        clients.push(t.client_id);
        users.push(t.user_id);
        scopes.push(strs(&t.scopes).join(" "));
        families.push(t.family_id);
        created.push(t.created_at);
        expires.push(t.expires_at);
        used.push(t.used_at);
        revoked.push(t.revoked_at);
    }
    sqlx::query(
        "INSERT INTO oauth_tokens \
             (id, digest, kind, client_id, user_id, scopes, family_id, created_at, \
              expires_at, used_at, revoked_at) \
         SELECT id, digest, kind, client_id, user_id, string_to_array(scopes, ' '), \
                family_id, created_at, expires_at, used_at, revoked_at \
         FROM unnest($1::uuid[], $2::bytea[], $3::text[], $4::uuid[], $5::uuid[], \
                     $6::text[], $7::uuid[], $8::timestamptz[], $9::timestamptz[], \
                     $10::timestamptz[], $11::timestamptz[]) \
              AS t(id, digest, kind, client_id, user_id, scopes, family_id, created_at, \
                   expires_at, used_at, revoked_at)",
    )
    .bind(ids)
    .bind(digests)
    .bind(kinds)
    .bind(clients)
    .bind(users)
    .bind(scopes)
    .bind(families)
    .bind(created)
    .bind(expires)
    .bind(used)
    .bind(revoked)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

#[async_trait]
impl OAuthStore for PgStore {
    /// In one transaction: locks the owner's user row (`FOR NO KEY UPDATE`,
    /// as `insert_token` does, so concurrent inserts for one owner queue up),
    /// counts the owner's apps and answers [`InsertApp::LimitReached`] when
    /// that count is `limit` or more; otherwise inserts the app with
    /// `created_at = updated_at = app.now`. An unknown owner is
    /// [`StoreError::Gone`]; a taken client id or secret digest a conflict.
    async fn insert_app(
        &self,
        app: &NewOAuthApp,
        limit: u32,
        effects: &SideEffects,
    ) -> StoreResult<InsertApp> {
        let mut tx = self.pool.begin().await.map_err(db_error)?;
        let owner = sqlx::query("SELECT id FROM users WHERE id = $1 FOR NO KEY UPDATE")
            .bind(app.user_id)
            .fetch_optional(&mut *tx)
            .await
            .map_err(db_error)?;
        if owner.is_none() {
            return Err(StoreError::Gone(format!(
                "app owner {} does not exist",
                app.user_id
            )));
        }
        let row = sqlx::query("SELECT count(*) AS apps FROM oauth_apps WHERE user_id = $1")
            .bind(app.user_id)
            .fetch_one(&mut *tx)
            .await
            .map_err(db_error)?;
        let apps: i64 = get(&row, "apps")?;
        if apps >= i64::from(limit) {
            return Ok(InsertApp::LimitReached);
        }
        let row = sqlx::query(concat!(
            "INSERT INTO oauth_apps \
                 (client_id, user_id, client_name, description, redirect_uris, logo_uri, \
                  scopes, grant_types, secret_digest, secret_hint, created_at, updated_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $11) \
             RETURNING ",
            app_columns!()
        ))
        .bind(app.client_id)
        .bind(app.user_id)
        .bind(&app.client_name)
        .bind(app.description.as_deref())
        .bind(strs(&app.redirect_uris))
        .bind(app.logo_uri.as_deref())
        .bind(strs(&app.scopes))
        .bind(grant_type_names(&app.grant_types))
        .bind(app.secret_digest.as_bytes())
        .bind(&app.secret_hint)
        .bind(app.now)
        .fetch_one(&mut *tx)
        .await
        .map_err(oauth_error)?;
        let inserted = self::app(&row)?;
        effects::write(&mut tx, effects).await?;
        tx.commit().await.map_err(db_error)?;
        Ok(InsertApp::Inserted(Box::new(inserted)))
    }

    async fn find_app(&self, client_id: Uuid) -> StoreResult<Option<OAuthApp>> {
        sqlx::query(concat!(
            "SELECT ",
            app_columns!(),
            " FROM oauth_apps WHERE client_id = $1"
        ))
        .bind(client_id)
        .fetch_optional(&self.pool)
        .await
        .map_err(db_error)?
        .map(|row| app(&row))
        .transpose()
    }

    /// One query, on the readers: the app joined with its owner.
    async fn find_app_with_owner(&self, client_id: Uuid) -> StoreResult<Option<(OAuthApp, User)>> {
        self.readers.app_with_owner(client_id).await
    }

    /// Ordered by `created_at`, then `client_id`.
    async fn list_apps(
        &self,
        owner: Option<Uuid>,
        page: &PageRequest,
    ) -> StoreResult<Vec<OAuthApp>> {
        sqlx::query(concat!(
            "SELECT ",
            app_columns!(),
            " FROM oauth_apps WHERE ($1::uuid IS NULL OR user_id = $1) \
              AND ($2::timestamptz IS NULL OR created_at > $2 \
                   OR (created_at = $2 AND client_id > $3)) \
              ORDER BY created_at, client_id LIMIT $4"
        ))
        .bind(owner)
        .bind(page.after.map(|k| k.created_at))
        .bind(page.after.map(|k| k.id))
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
        let mut tx = self.pool.begin().await.map_err(db_error)?;
        let row = sqlx::query(concat!(
            "UPDATE oauth_apps SET \
                 client_name = COALESCE($2, client_name), \
                 description = CASE WHEN $3 THEN $4 ELSE description END, \
                 redirect_uris = COALESCE($5, redirect_uris), \
                 logo_uri = CASE WHEN $6 THEN $7 ELSE logo_uri END, \
                 scopes = COALESCE($8, scopes), \
                 grant_types = COALESCE($9, grant_types), \
                 updated_at = $10 \
             WHERE client_id = $1 RETURNING ",
            app_columns!()
        ))
        .bind(client_id)
        .bind(update.client_name.as_deref())
        .bind(update.description.is_some())
        .bind(update.description.as_ref().and_then(Option::as_deref))
        .bind(update.redirect_uris.as_ref().map(strs))
        .bind(update.logo_uri.is_some())
        .bind(update.logo_uri.as_ref().and_then(Option::as_deref))
        .bind(update.scopes.as_ref().map(strs))
        .bind(update.grant_types.as_ref().map(grant_type_names))
        .bind(now)
        .fetch_optional(&mut *tx)
        .await
        .map_err(db_error)?;
        finish_app_write(tx, row, effects).await
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
        let mut tx = self.pool.begin().await.map_err(db_error)?;
        let row = sqlx::query(concat!(
            "UPDATE oauth_apps SET secret_digest = $2, secret_hint = $3, updated_at = $4 \
             WHERE client_id = $1 RETURNING ",
            app_columns!()
        ))
        .bind(client_id)
        .bind(digest.as_bytes())
        .bind(hint)
        .bind(now)
        .fetch_optional(&mut *tx)
        .await
        .map_err(oauth_error)?;
        finish_app_write(tx, row, effects).await
    }

    /// Deletes the app; its codes and tokens go with it (`ON DELETE
    /// CASCADE`, in the same statement).
    async fn delete_app(&self, client_id: Uuid, effects: &SideEffects) -> StoreResult<bool> {
        let mut tx = self.pool.begin().await.map_err(db_error)?;
        let done = sqlx::query("DELETE FROM oauth_apps WHERE client_id = $1")
            .bind(client_id)
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
        let mut tx = self.pool.begin().await.map_err(db_error)?;
        sqlx::query(
            "INSERT INTO oauth_codes \
                 (id, digest, client_id, user_id, redirect_uri, scopes, code_challenge, \
                  family_id, created_at, expires_at, used_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)",
        )
        .bind(c.id)
        .bind(new.digest.as_bytes())
        .bind(c.client_id)
        .bind(c.user_id)
        .bind(c.redirect_uri.as_deref())
        .bind(strs(&c.scopes))
        .bind(&c.code_challenge)
        .bind(c.family_id)
        .bind(c.created_at)
        .bind(c.expires_at)
        .bind(c.used_at)
        .execute(&mut *tx)
        .await
        .map_err(oauth_error)?;
        effects::write(&mut tx, effects).await?;
        tx.commit().await.map_err(db_error)?;
        Ok(())
    }

    /// The code with this digest, used or not, expired or not (until
    /// purged); the caller judges.
    async fn find_code(&self, digest: &Digest) -> StoreResult<Option<AuthCode>> {
        sqlx::query(concat!(
            "SELECT ",
            code_columns!(),
            " FROM oauth_codes WHERE digest = $1"
        ))
        .bind(digest.as_bytes())
        .fetch_optional(&self.pool)
        .await
        .map_err(db_error)?
        .map(|row| code(&row))
        .transpose()
    }

    /// In one transaction: `UPDATE oauth_codes SET used_at = now WHERE id =
    /// code_id AND used_at IS NULL`; if that changed a row, inserts `tokens`
    /// and commits (`true`), otherwise rolls back (`false`, also for an
    /// unknown code). Expiry is not checked here: the caller judged it on
    /// the code it found. A conflict while inserting the tokens rolls
    /// everything back, the code staying unused.
    async fn redeem_code(
        &self,
        code_id: Uuid,
        tokens: &[NewOAuthToken],
        now: OffsetDateTime,
    ) -> StoreResult<bool> {
        self.claim_then_insert(
            "UPDATE oauth_codes SET used_at = $2 WHERE id = $1 AND used_at IS NULL",
            code_id,
            tokens,
            now,
        )
        .await
    }

    /// Stores the tokens as given, all or none (one statement). A taken id
    /// or digest is [`StoreError::Conflict`].
    async fn insert_oauth_tokens(&self, tokens: &[NewOAuthToken]) -> StoreResult<()> {
        if tokens.is_empty() {
            return Ok(());
        }
        // One statement, so its own transaction: one round trip, where
        // BEGIN and COMMIT around it would be three. On the writers' own
        // connections, which commit as `AccessTokenCommit` says.
        let mut writer = self.writers.acquire().await;
        let mut retried = false;
        loop {
            let err = match write_token_rows(writer.connection().await?, tokens).await {
                Ok(()) => return Ok(()),
                Err(err) if !crate::writers::connection_lost(&err) => {
                    return Err(oauth_error(err));
                }
                Err(err) => err,
            };
            // The connection failed (the server restarted, the backend was
            // terminated): it is replaced, and the write tried once more on
            // the new one. Had the lost one committed, the retry finds its
            // ids taken and fails: the tokens exist, but nobody holds them.
            writer.discard().await;
            if retried {
                return Err(oauth_error(err));
            }
            retried = true;
        }
    }

    /// Looked up by id (the primary key); the digest is compared here, in
    /// constant time, rather than in the query.
    async fn find_oauth_token(&self, id: Uuid, digest: &Digest) -> StoreResult<Option<OAuthToken>> {
        let Some(row) = sqlx::query(concat!(
            "SELECT ",
            token_columns!(),
            ", digest FROM oauth_tokens WHERE id = $1"
        ))
        .bind(id)
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

    /// One query, on the readers: the token by id joined with its app's
    /// scope and its user; the digest is compared in constant time.
    async fn find_oauth_token_grant(
        &self,
        id: Uuid,
        digest: &Digest,
    ) -> StoreResult<Option<OAuthTokenGrant>> {
        self.readers.oauth_token_grant(id, digest).await
    }

    /// In one transaction: `UPDATE oauth_tokens SET used_at = now WHERE id =
    /// refresh_id AND kind = 'refresh' AND used_at IS NULL AND revoked_at IS
    /// NULL`; if that changed a row, inserts `tokens` and commits (`true`),
    /// otherwise rolls back (`false`: unknown, an access token, used or
    /// revoked). Expiry is the caller's to judge.
    async fn rotate_refresh_token(
        &self,
        refresh_id: Uuid,
        tokens: &[NewOAuthToken],
        now: OffsetDateTime,
    ) -> StoreResult<bool> {
        self.claim_then_insert(
            "UPDATE oauth_tokens SET used_at = $2 \
             WHERE id = $1 AND kind = 'refresh' AND used_at IS NULL AND revoked_at IS NULL",
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
        let mut tx = self.pool.begin().await.map_err(db_error)?;
        let done = sqlx::query(
            "UPDATE oauth_tokens SET revoked_at = $2 WHERE id = $1 AND revoked_at IS NULL",
        )
        .bind(id)
        .bind(now)
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
        let mut tx = self.pool.begin().await.map_err(db_error)?;
        let rows = sqlx::query(
            "UPDATE oauth_tokens SET revoked_at = $2 \
             WHERE family_id = $1 AND revoked_at IS NULL RETURNING id",
        )
        .bind(family_id)
        .bind(now)
        .fetch_all(&mut *tx)
        .await
        .map_err(db_error)?;
        if !rows.is_empty() {
            effects::write(&mut tx, effects).await?;
        }
        tx.commit().await.map_err(db_error)?;
        let mut ids = rows
            .iter()
            .map(|row| get::<Uuid>(row, "id"))
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
        let mut tx = self.pool.begin().await.map_err(db_error)?;
        let codes = sqlx::query("DELETE FROM oauth_codes WHERE expires_at <= $1")
            .bind(code_cutoff)
            .execute(&mut *tx)
            .await
            .map_err(db_error)?;
        let tokens = sqlx::query("DELETE FROM oauth_tokens WHERE expires_at <= $1")
            .bind(token_cutoff)
            .execute(&mut *tx)
            .await
            .map_err(db_error)?;
        tx.commit().await.map_err(db_error)?;
        Ok(codes.rows_affected() + tokens.rows_affected())
    }
}

impl PgStore {
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
        let mut tx = self.pool.begin().await.map_err(db_error)?;
        let done = sqlx::query(claim)
            .bind(id)
            .bind(now)
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

/// Ends an app's update: `None` (no such app) rolls back; otherwise the
/// effects are written and the transaction commits.
async fn finish_app_write(
    mut tx: sqlx::Transaction<'static, sqlx::Postgres>,
    row: Option<sqlx::postgres::PgRow>,
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
