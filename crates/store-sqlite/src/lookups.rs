//! The verification path's reads: a credential with its owner (and, for an
//! OAuth token, its app's scope) in one query, on the [`Readers`]. Columns
//! are decoded here into the core's neutral rows; [`keyward_core::rows`]
//! judges them, as for every other read.
//!
//! The tables that rarely change (a token and its secrets, users, apps) are
//! read through covering indexes (`migrations/0028_lookup_covering_indexes.sql`),
//! named with `INDEXED BY`: one B-tree descent per table instead of the key's
//! index and then the row. A statement whose index is missing fails to
//! prepare rather than silently reading the slower way.

use keyward_core::error::StoreError;
use keyward_core::model::{OAuthApp, OAuthToken, Session, TokenCredential, User};
use keyward_core::rows::{OAuthAppRow, OAuthTokenRow, SessionRow, TokenCredentialRow, UserRow};
use keyward_core::secret::Digest;
use keyward_core::store::{OAuthTokenGrant, StoreResult};
use rusqlite::types::FromSql;
use rusqlite::{OptionalExtension, Row};
use time::OffsetDateTime;
use uuid::Uuid;

use crate::readers::{Readers, read_error};
use crate::rows::{bad_data, id_text, time_of};

/// The owner's columns, each named `owner_*`, from `users u`.
macro_rules! owner_columns {
    () => {
        "u.id AS owner_id, u.username AS owner_username, u.roles AS owner_roles, \
         u.status AS owner_status, u.email AS owner_email, \
         u.created_at AS owner_created_at, u.updated_at AS owner_updated_at"
    };
}

/// Only what the check needs of the token: no other secret's row, no
/// renewal policy.
const TOKEN_CREDENTIAL: &str = concat!(
    "SELECT t.id, t.user_id, t.scopes, t.applications, t.state, t.expires_at, t.created_at, \
     s.slot, s.expires_at AS secret_expires_at, ",
    owner_columns!(),
    " FROM token_secrets s INDEXED BY token_secrets_lookup \
     JOIN api_tokens t INDEXED BY api_tokens_lookup ON t.id = s.token_id \
     JOIN users u INDEXED BY users_lookup ON u.id = t.user_id WHERE s.digest = ?1"
);

const SESSION_BY_DIGEST: &str = concat!(
    "SELECT s.id, s.user_id, s.created_at, s.last_seen_at, s.expires_at, ",
    owner_columns!(),
    " FROM sessions s JOIN users u INDEXED BY users_lookup ON u.id = s.user_id \
     WHERE s.digest = ?1"
);

const OAUTH_TOKEN_GRANT: &str = concat!(
    "SELECT t.id, t.kind, t.client_id, t.user_id, t.scopes, t.family_id, t.created_at, \
     t.expires_at, t.used_at, t.revoked_at, t.digest, a.scopes AS app_scopes, ",
    owner_columns!(),
    " FROM oauth_tokens t \
     LEFT JOIN oauth_apps a INDEXED BY oauth_apps_lookup ON a.client_id = t.client_id \
     JOIN users u INDEXED BY users_lookup ON u.id = t.user_id WHERE t.id = ?1"
);

const APP_WITH_OWNER: &str = concat!(
    "SELECT a.client_id, a.user_id, a.client_name, a.description, a.redirect_uris, \
     a.logo_uri, a.scopes, a.grant_types, a.secret_digest, a.secret_hint, a.created_at, \
     a.updated_at, ",
    owner_columns!(),
    " FROM oauth_apps a JOIN users u INDEXED BY users_lookup ON u.id = a.user_id \
     WHERE a.client_id = ?1"
);

impl Readers {
    pub(crate) fn token_credential(
        &self,
        digest: &Digest,
    ) -> StoreResult<Option<(TokenCredential, User)>> {
        self.read(|conn| {
            let mut statement = conn.prepare_cached(TOKEN_CREDENTIAL).map_err(read_error)?;
            let found = statement
                .query_row([digest.as_bytes()], |row| {
                    let c = &mut Columns::new(row);
                    Ok(token_credential(c).and_then(|t| Ok((t, owner(c)?))))
                })
                .optional()
                .map_err(read_error)?;
            found.transpose()
        })
    }

    pub(crate) fn session_by_digest(
        &self,
        digest: &Digest,
    ) -> StoreResult<Option<(Session, User)>> {
        self.read(|conn| {
            let mut statement = conn.prepare_cached(SESSION_BY_DIGEST).map_err(read_error)?;
            let found = statement
                .query_row([digest.as_bytes()], |row| {
                    let c = &mut Columns::new(row);
                    Ok(session(c).and_then(|s| Ok((s, owner(c)?))))
                })
                .optional()
                .map_err(read_error)?;
            found.transpose()
        })
    }

    /// The OAuth token `id` if its digest is `digest` (compared in constant
    /// time), with its app's scope and its user.
    pub(crate) fn oauth_token_grant(
        &self,
        id: Uuid,
        digest: &Digest,
    ) -> StoreResult<Option<OAuthTokenGrant>> {
        self.read(|conn| {
            let mut statement = conn.prepare_cached(OAUTH_TOKEN_GRANT).map_err(read_error)?;
            let found = statement
                .query_row([id_text(id)], |row| {
                    let c = &mut Columns::new(row);
                    Ok((|| {
                        let token = oauth_token(c)?;
                        let stored: Vec<u8> = c.get("digest")?;
                        if !digest.matches(&stored) {
                            return Ok(None);
                        }
                        Ok(Some(OAuthTokenGrant {
                            token,
                            app_scopes: c
                                .opt_list("app_scopes")?
                                .map(|scopes| scopes.into_iter().collect()),
                            owner: owner(c)?,
                        }))
                    })())
                })
                .optional()
                .map_err(read_error)?;
            Ok(found.transpose()?.flatten())
        })
    }

    pub(crate) fn app_with_owner(&self, client_id: Uuid) -> StoreResult<Option<(OAuthApp, User)>> {
        self.read(|conn| {
            let mut statement = conn.prepare_cached(APP_WITH_OWNER).map_err(read_error)?;
            let found = statement
                .query_row([id_text(client_id)], |row| {
                    let c = &mut Columns::new(row);
                    Ok(app(c).and_then(|a| Ok((a, owner(c)?))))
                })
                .optional()
                .map_err(read_error)?;
            found.transpose()
        })
    }
}

// ---- columns (never panics: bad data is a database error) ----

/// Reads a row's columns in the order of its `SELECT`, by position: finding
/// a column by name costs a scan of every column name (a fifth of a lookup's
/// time, profiled). Each read names the column it expects, and debug builds
/// (the tests) check that name, so the order cannot drift unnoticed.
struct Columns<'a, 'r> {
    row: &'a Row<'r>,
    next: usize,
}

impl<'a, 'r> Columns<'a, 'r> {
    fn new(row: &'a Row<'r>) -> Self {
        Self { row, next: 0 }
    }

    fn get<T: FromSql>(&mut self, column: &str) -> StoreResult<T> {
        let i = self.next;
        self.next += 1;
        debug_assert_eq!(
            self.row.as_ref().column_name(i).ok(),
            Some(column),
            "column {i} of the lookup"
        );
        self.row
            .get(i)
            .map_err(|e| StoreError::Database(format!("reading column {column}: {e}")))
    }

    fn id(&mut self, column: &str) -> StoreResult<Uuid> {
        let text: String = self.get(column)?;
        Uuid::parse_str(&text).map_err(|e| bad_data(column, e))
    }

    fn opt_id(&mut self, column: &str) -> StoreResult<Option<Uuid>> {
        self.get::<Option<String>>(column)?
            .map(|text| Uuid::parse_str(&text).map_err(|e| bad_data(column, e)))
            .transpose()
    }

    fn time(&mut self, column: &str) -> StoreResult<OffsetDateTime> {
        let secs = self.get(column)?;
        time_of(column, secs)
    }

    fn opt_time(&mut self, column: &str) -> StoreResult<Option<OffsetDateTime>> {
        self.get::<Option<i64>>(column)?
            .map(|v| time_of(column, v))
            .transpose()
    }

    /// A JSON array of strings.
    fn list(&mut self, column: &str) -> StoreResult<Vec<String>> {
        let text: String = self.get(column)?;
        serde_json::from_str(&text).map_err(|e| bad_data(column, e))
    }

    /// A JSON array of strings, or NULL.
    fn opt_list(&mut self, column: &str) -> StoreResult<Option<Vec<String>>> {
        self.get::<Option<String>>(column)?
            .map(|text| serde_json::from_str(&text).map_err(|e| bad_data(column, e)))
            .transpose()
    }
}

fn owner(c: &mut Columns<'_, '_>) -> StoreResult<User> {
    User::try_from(UserRow {
        id: c.id("owner_id")?,
        username: c.get("owner_username")?,
        roles: c.list("owner_roles")?,
        status: c.get("owner_status")?,
        email: c.get("owner_email")?,
        created_at: c.time("owner_created_at")?,
        updated_at: c.time("owner_updated_at")?,
    })
}

/// Columns: those of [`TOKEN_CREDENTIAL`] before the owner's.
fn token_credential(c: &mut Columns<'_, '_>) -> StoreResult<TokenCredential> {
    TokenCredential::try_from(TokenCredentialRow {
        id: c.id("id")?,
        user_id: c.id("user_id")?,
        scopes: c.list("scopes")?,
        applications: c.list("applications")?,
        state: c.get("state")?,
        expires_at: c.opt_time("expires_at")?,
        created_at: c.time("created_at")?,
        slot: c.get("slot")?,
        secret_expires_at: c.opt_time("secret_expires_at")?,
    })
}

fn session(c: &mut Columns<'_, '_>) -> StoreResult<Session> {
    Ok(Session::from(SessionRow {
        id: c.id("id")?,
        user_id: c.id("user_id")?,
        created_at: c.time("created_at")?,
        last_seen_at: c.time("last_seen_at")?,
        expires_at: c.time("expires_at")?,
    }))
}

fn oauth_token(c: &mut Columns<'_, '_>) -> StoreResult<OAuthToken> {
    OAuthToken::try_from(OAuthTokenRow {
        id: c.id("id")?,
        kind: c.get("kind")?,
        client_id: c.opt_id("client_id")?,
        user_id: c.id("user_id")?,
        scopes: c.list("scopes")?,
        family_id: c.opt_id("family_id")?,
        created_at: c.time("created_at")?,
        expires_at: c.time("expires_at")?,
        used_at: c.opt_time("used_at")?,
        revoked_at: c.opt_time("revoked_at")?,
    })
}

fn app(c: &mut Columns<'_, '_>) -> StoreResult<OAuthApp> {
    OAuthApp::try_from(OAuthAppRow {
        client_id: c.id("client_id")?,
        user_id: c.id("user_id")?,
        client_name: c.get("client_name")?,
        description: c.get("description")?,
        redirect_uris: c.list("redirect_uris")?,
        logo_uri: c.get("logo_uri")?,
        scopes: c.list("scopes")?,
        grant_types: c.list("grant_types")?,
        secret_digest: c.get("secret_digest")?,
        secret_hint: c.get("secret_hint")?,
        created_at: c.time("created_at")?,
        updated_at: c.time("updated_at")?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plans;

    /// Every table a lookup joins that has a covering index is read from
    /// that index alone, never from the table behind it.
    #[tokio::test]
    async fn lookups_read_the_rarely_changed_tables_from_covering_indexes_alone() {
        let dir = tempfile::tempdir().expect("a temporary directory");
        let (_store, path) = plans::fresh(&dir).await;
        let cases: [(&str, &[&str]); 4] = [
            (
                TOKEN_CREDENTIAL,
                &["token_secrets_lookup", "api_tokens_lookup", "users_lookup"],
            ),
            (SESSION_BY_DIGEST, &["users_lookup"]),
            (OAUTH_TOKEN_GRANT, &["oauth_apps_lookup", "users_lookup"]),
            (APP_WITH_OWNER, &["users_lookup"]),
        ];
        for (sql, indexes) in cases {
            plans::assert_covered_by(&path, sql, indexes);
        }
    }
}
