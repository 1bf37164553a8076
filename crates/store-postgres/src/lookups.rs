//! The verification path's reads: a credential with its owner (and, for an
//! OAuth token, its app's scope) in one query, on the [`Readers`]. The rows
//! are decoded by the same functions as every other read of those records
//! ([`crate::rows`]), and [`keyward_core::rows`] judges them.

use keyward_core::model::{OAuthApp, Session, TokenCredential, User};
use keyward_core::rows::TokenCredentialRow;
use keyward_core::secret::Digest;
use keyward_core::store::{OAuthTokenGrant, StoreResult};
use tokio_postgres::{Client, Statement};
use uuid::Uuid;

use crate::readers::Readers;
use crate::rows::{self, Columns, get, owner, owner_columns};

/// The lookups, each prepared once per reader connection.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Lookup {
    TokenBySecret,
    SessionByDigest,
    OAuthTokenGrant,
    AppWithOwner,
}

impl Lookup {
    const ALL: [Lookup; 4] = [
        Lookup::TokenBySecret,
        Lookup::SessionByDigest,
        Lookup::OAuthTokenGrant,
        Lookup::AppWithOwner,
    ];

    fn sql(self) -> &'static str {
        match self {
            // Only what the check needs: three relations and few columns
            // (the whole token, with both secrets' hints, is five relations
            // and thrice the columns, and PostgreSQL's CPU per statement
            // grows with both).
            Lookup::TokenBySecret => concat!(
                "SELECT t.id, t.user_id, t.scopes, t.applications, t.state, t.expires_at, \
                 t.created_at, s.slot, s.expires_at AS secret_expires_at, ",
                owner_columns!(),
                " FROM token_secrets s JOIN api_tokens t ON t.id = s.token_id \
                 JOIN users u ON u.id = t.user_id WHERE s.digest = $1"
            ),
            Lookup::SessionByDigest => concat!(
                "SELECT s.id, s.user_id, s.created_at, s.last_seen_at, s.expires_at, ",
                owner_columns!(),
                " FROM sessions s JOIN users u ON u.id = s.user_id WHERE s.digest = $1"
            ),
            Lookup::OAuthTokenGrant => concat!(
                "SELECT t.id, t.kind, t.client_id, t.user_id, t.scopes, t.family_id, \
                 t.created_at, t.expires_at, t.used_at, t.revoked_at, t.digest, \
                 a.scopes AS app_scopes, ",
                owner_columns!(),
                " FROM oauth_tokens t LEFT JOIN oauth_apps a ON a.client_id = t.client_id \
                 JOIN users u ON u.id = t.user_id WHERE t.id = $1"
            ),
            Lookup::AppWithOwner => concat!(
                "SELECT a.client_id, a.user_id, a.client_name, a.description, a.redirect_uris, \
                 a.logo_uri, a.scopes, a.grant_types, a.secret_digest, a.secret_hint, \
                 a.created_at, a.updated_at, ",
                owner_columns!(),
                " FROM oauth_apps a JOIN users u ON u.id = a.user_id WHERE a.client_id = $1"
            ),
        }
    }
}

/// Prepares every lookup on `client`, in [`Lookup`] order.
pub(crate) async fn prepare(client: &Client) -> Result<Vec<Statement>, tokio_postgres::Error> {
    let mut statements = Vec::with_capacity(Lookup::ALL.len());
    for lookup in Lookup::ALL {
        debug_assert_eq!(lookup as usize, statements.len());
        statements.push(client.prepare(lookup.sql()).await?);
    }
    Ok(statements)
}

impl Readers {
    /// Of the token owning the secret with this digest, in whatever state,
    /// what checking it needs, and its owner.
    pub(crate) async fn token_credential(
        &self,
        digest: &Digest,
    ) -> StoreResult<Option<(TokenCredential, User)>> {
        let Some(row) = self
            .query_opt(Lookup::TokenBySecret, &[&digest.as_bytes()])
            .await?
        else {
            return Ok(None);
        };
        Ok(Some((token_credential(&row)?, owner(&row)?)))
    }

    pub(crate) async fn session_by_digest(
        &self,
        digest: &Digest,
    ) -> StoreResult<Option<(Session, User)>> {
        let Some(row) = self
            .query_opt(Lookup::SessionByDigest, &[&digest.as_bytes()])
            .await?
        else {
            return Ok(None);
        };
        Ok(Some((rows::session(&row)?, owner(&row)?)))
    }

    /// The OAuth token `id` if its digest is `digest` (compared in constant
    /// time), with its app's scope and its user.
    pub(crate) async fn oauth_token_grant(
        &self,
        id: Uuid,
        digest: &Digest,
    ) -> StoreResult<Option<OAuthTokenGrant>> {
        let Some(row) = self.query_opt(Lookup::OAuthTokenGrant, &[&id]).await? else {
            return Ok(None);
        };
        let stored: Vec<u8> = get(&row, "digest")?;
        if !digest.matches(&stored) {
            return Ok(None);
        }
        Ok(Some(OAuthTokenGrant {
            token: crate::oauth::token(&row)?,
            app_scopes: get::<Option<Vec<String>>>(&row, "app_scopes")?
                .map(|scopes| scopes.into_iter().collect()),
            owner: owner(&row)?,
        }))
    }

    pub(crate) async fn app_with_owner(
        &self,
        client_id: Uuid,
    ) -> StoreResult<Option<(OAuthApp, User)>> {
        let Some(row) = self.query_opt(Lookup::AppWithOwner, &[&client_id]).await? else {
            return Ok(None);
        };
        Ok(Some((crate::oauth::app(&row)?, owner(&row)?)))
    }
}

fn token_credential(row: &impl Columns) -> StoreResult<TokenCredential> {
    TokenCredential::try_from(TokenCredentialRow {
        id: get(row, "id")?,
        user_id: get(row, "user_id")?,
        scopes: get(row, "scopes")?,
        applications: get(row, "applications")?,
        state: get(row, "state")?,
        expires_at: get(row, "expires_at")?,
        created_at: get(row, "created_at")?,
        slot: get(row, "slot")?,
        secret_expires_at: get(row, "secret_expires_at")?,
    })
}
