//! The verification path's reads: a credential with its owner (and, for an
//! OAuth token, its app's scope) in one query, on the [`Readers`]. Columns
//! are decoded here into the core's neutral rows; [`keyward_core::rows`]
//! judges them, as for every other read.

use keyward_core::error::StoreError;
use keyward_core::model::{ApiToken, OAuthApp, OAuthToken, SecretSlot, Session, User};
use keyward_core::rows::{
    ApiTokenRow, OAuthAppRow, OAuthTokenRow, SessionRow, UserRow, secret_slot,
};
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

const TOKEN_BY_SECRET: &str = concat!(
    "SELECT s.slot, ",
    crate::tokens::token_columns!(),
    ", ",
    owner_columns!(),
    " FROM token_secrets s JOIN api_tokens t ON t.id = s.token_id",
    crate::tokens::secret_joins!(),
    "JOIN users u ON u.id = t.user_id WHERE s.digest = ?1"
);

const SESSION_BY_DIGEST: &str = concat!(
    "SELECT s.id, s.user_id, s.created_at, s.last_seen_at, s.expires_at, ",
    owner_columns!(),
    " FROM sessions s JOIN users u ON u.id = s.user_id WHERE s.digest = ?1"
);

const OAUTH_TOKEN_GRANT: &str = concat!(
    "SELECT t.id, t.kind, t.client_id, t.user_id, t.scopes, t.family_id, t.created_at, \
     t.expires_at, t.used_at, t.revoked_at, t.digest, a.scopes AS app_scopes, ",
    owner_columns!(),
    " FROM oauth_tokens t LEFT JOIN oauth_apps a ON a.client_id = t.client_id \
     JOIN users u ON u.id = t.user_id WHERE t.id = ?1"
);

const APP_WITH_OWNER: &str = concat!(
    "SELECT a.client_id, a.user_id, a.client_name, a.description, a.redirect_uris, \
     a.logo_uri, a.scopes, a.grant_types, a.secret_digest, a.secret_hint, a.created_at, \
     a.updated_at, ",
    owner_columns!(),
    " FROM oauth_apps a JOIN users u ON u.id = a.user_id WHERE a.client_id = ?1"
);

impl Readers {
    pub(crate) fn token_by_secret(
        &self,
        digest: &Digest,
    ) -> StoreResult<Option<(ApiToken, SecretSlot, User)>> {
        self.read(|conn| {
            let mut statement = conn.prepare_cached(TOKEN_BY_SECRET).map_err(read_error)?;
            let found = statement
                .query_row([digest.as_bytes()], |row| {
                    Ok(api_token(row)
                        .and_then(|t| Ok((t, secret_slot(&get::<String>(row, "slot")?)?)))
                        .and_then(|(t, slot)| Ok((t, slot, owner(row)?))))
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
                    Ok(session(row).and_then(|s| Ok((s, owner(row)?))))
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
                    Ok((|| {
                        let stored: Vec<u8> = get(row, "digest")?;
                        if !digest.matches(&stored) {
                            return Ok(None);
                        }
                        Ok(Some(OAuthTokenGrant {
                            token: oauth_token(row)?,
                            app_scopes: opt_list(row, "app_scopes")?
                                .map(|scopes| scopes.into_iter().collect()),
                            owner: owner(row)?,
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
                    Ok(app(row).and_then(|a| Ok((a, owner(row)?))))
                })
                .optional()
                .map_err(read_error)?;
            found.transpose()
        })
    }
}

// ---- columns (never panics: bad data is a database error) ----

fn get<T: FromSql>(row: &Row<'_>, column: &str) -> StoreResult<T> {
    row.get(column)
        .map_err(|e| StoreError::Database(format!("reading column {column}: {e}")))
}

fn id(row: &Row<'_>, column: &str) -> StoreResult<Uuid> {
    let text: String = get(row, column)?;
    Uuid::parse_str(&text).map_err(|e| bad_data(column, e))
}

fn opt_id(row: &Row<'_>, column: &str) -> StoreResult<Option<Uuid>> {
    get::<Option<String>>(row, column)?
        .map(|text| Uuid::parse_str(&text).map_err(|e| bad_data(column, e)))
        .transpose()
}

fn time(row: &Row<'_>, column: &str) -> StoreResult<OffsetDateTime> {
    time_of(column, get(row, column)?)
}

fn opt_time(row: &Row<'_>, column: &str) -> StoreResult<Option<OffsetDateTime>> {
    get::<Option<i64>>(row, column)?
        .map(|v| time_of(column, v))
        .transpose()
}

/// A JSON array of strings.
fn list(row: &Row<'_>, column: &str) -> StoreResult<Vec<String>> {
    let text: String = get(row, column)?;
    serde_json::from_str(&text).map_err(|e| bad_data(column, e))
}

/// A JSON array of strings, or NULL.
fn opt_list(row: &Row<'_>, column: &str) -> StoreResult<Option<Vec<String>>> {
    get::<Option<String>>(row, column)?
        .map(|text| serde_json::from_str(&text).map_err(|e| bad_data(column, e)))
        .transpose()
}

fn owner(row: &Row<'_>) -> StoreResult<User> {
    User::try_from(UserRow {
        id: id(row, "owner_id")?,
        username: get(row, "owner_username")?,
        roles: list(row, "owner_roles")?,
        status: get(row, "owner_status")?,
        email: get(row, "owner_email")?,
        created_at: time(row, "owner_created_at")?,
        updated_at: time(row, "owner_updated_at")?,
    })
}

/// Columns: `token_columns!` of [`crate::tokens`].
fn api_token(row: &Row<'_>) -> StoreResult<ApiToken> {
    ApiToken::try_from(ApiTokenRow {
        id: id(row, "id")?,
        user_id: id(row, "user_id")?,
        name: get(row, "name")?,
        description: get(row, "description")?,
        scopes: list(row, "scopes")?,
        applications: list(row, "applications")?,
        state: get(row, "state")?,
        expires_at: opt_time(row, "expires_at")?,
        created_at: time(row, "created_at")?,
        updated_at: time(row, "updated_at")?,
        last_used_at: opt_time(row, "last_used_at")?,
        last_used_ip: get(row, "last_used_ip")?,
        renewal_every_days: get(row, "renewal_every_days")?,
        renewal_callback_url: get(row, "renewal_callback_url")?,
        renewal_mail_recipient: get(row, "renewal_mail_recipient")?,
        renewal_secret_seed: get(row, "renewal_secret_seed")?,
        current_hint: get(row, "hint")?,
        previous_hint: get(row, "previous_hint")?,
        previous_expires_at: opt_time(row, "previous_expires_at")?,
        renewed_to: opt_id(row, "renewed_to")?,
    })
}

fn session(row: &Row<'_>) -> StoreResult<Session> {
    Ok(Session::from(SessionRow {
        id: id(row, "id")?,
        user_id: id(row, "user_id")?,
        created_at: time(row, "created_at")?,
        last_seen_at: time(row, "last_seen_at")?,
        expires_at: time(row, "expires_at")?,
    }))
}

fn oauth_token(row: &Row<'_>) -> StoreResult<OAuthToken> {
    OAuthToken::try_from(OAuthTokenRow {
        id: id(row, "id")?,
        kind: get(row, "kind")?,
        client_id: opt_id(row, "client_id")?,
        user_id: id(row, "user_id")?,
        scopes: list(row, "scopes")?,
        family_id: opt_id(row, "family_id")?,
        created_at: time(row, "created_at")?,
        expires_at: time(row, "expires_at")?,
        used_at: opt_time(row, "used_at")?,
        revoked_at: opt_time(row, "revoked_at")?,
    })
}

fn app(row: &Row<'_>) -> StoreResult<OAuthApp> {
    OAuthApp::try_from(OAuthAppRow {
        client_id: id(row, "client_id")?,
        user_id: id(row, "user_id")?,
        client_name: get(row, "client_name")?,
        description: get(row, "description")?,
        redirect_uris: list(row, "redirect_uris")?,
        logo_uri: get(row, "logo_uri")?,
        scopes: list(row, "scopes")?,
        grant_types: list(row, "grant_types")?,
        secret_digest: get(row, "secret_digest")?,
        secret_hint: get(row, "secret_hint")?,
        created_at: time(row, "created_at")?,
        updated_at: time(row, "updated_at")?,
    })
}
