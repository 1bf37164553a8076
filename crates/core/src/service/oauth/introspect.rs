//! Introspection (RFC 7662) and revocation (RFC 7009) for every kind of
//! Keyward secret: API tokens, sessions, OAuth access and refresh tokens.
//!
//! Callers are an authenticated OAuth client, which sees and revokes only
//! tokens issued to itself, or a bearer credential: with `tokens.verify` it
//! may introspect anything (it is a resource server), and it may revoke what
//! its own user owns (everything, with `admin.users`).
//!
//! Introspection reads the store on every request; it does not answer from
//! the verification cache. The cache never lags a change made on the same
//! instance, but another instance learns of a revocation only when its
//! notification arrives (up to a second), and a process that shares a
//! SQLite file (the CLI) notifies nobody. Introspection is where a resource
//! server asks for a token's state now, and the checklist requires
//! "revoke, then immediately introspect: `active:false`, across instances"
//! (I4; pinned by `i4_revoke_on_one_instance_introspect_on_another`), so
//! it pays one store read: a single query for the credential with its owner
//! (and app), on the stores' fast read path. Verification
//! (`POST /api/v1/verify`) keeps answering from the cache.

use time::OffsetDateTime;
use uuid::Uuid;

use super::{OAuthError, OAuthErrorCode, scope_param};
use crate::model::{AuditAction, OAuthApp, OAuthTokenKind, TargetType};
use crate::scope;
use crate::secret::{PlainSecret, SecretKind};
use crate::service::{Actor, Target};
use crate::service::{Invalidation, Keyward, Principal};

/// Who is asking.
#[derive(Debug)]
pub enum Caller<'a> {
    Client(&'a OAuthApp),
    Bearer(&'a Principal),
}

/// An active token's description (RFC 7662 §2.2).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Introspection {
    pub scope: String,
    pub client_id: Option<Uuid>,
    /// As RFC 6749 §5.1 types tokens: `Bearer`, or `refresh_token`.
    pub token_type: &'static str,
    /// Keyward's kind: `api_token`, `session`, `access_token`, `refresh_token`.
    pub kind: &'static str,
    pub exp: Option<OffsetDateTime>,
    pub iat: Option<OffsetDateTime>,
    pub sub: Uuid,
    pub username: String,
    pub iss: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RevokeOutcome {
    /// Revoked, or nothing to revoke (unknown or already invalid).
    Done,
    /// The token exists but is not the caller's to revoke.
    NotAllowed,
}

impl Keyward {
    /// `None` means `{"active": false}` and nothing else.
    pub async fn introspect(
        &self,
        caller: Caller<'_>,
        presented: &str,
    ) -> Result<Option<Introspection>, OAuthError> {
        if let Caller::Bearer(p) = caller
            && !p.has_scope(scope::TOKENS_VERIFY)
        {
            return Err(OAuthError::invalid_client());
        }
        let Some(secret) = PlainSecret::parse(presented.trim()) else {
            return Ok(None);
        };
        let now = self.inner.clock.now();
        let found = if secret.kind() == SecretKind::RefreshToken {
            let Some(token) = self
                .find_oauth_secret(presented, SecretKind::RefreshToken)
                .await?
            else {
                return Ok(None);
            };
            if token.kind != OAuthTokenKind::Refresh || !token.is_live(now) {
                return Ok(None);
            }
            let Some(user) = self.inner.store.find_user(token.user_id).await? else {
                return Ok(None);
            };
            let Some(client_id) = token.client_id else {
                return Ok(None);
            };
            let Some(app) = self.inner.store.find_app(client_id).await? else {
                return Ok(None);
            };
            let scopes = self.oauth_scopes(&token.scopes, &app.scopes, &user);
            if scopes.is_empty() {
                return Ok(None);
            }
            Introspection {
                scope: scope_param(&scopes),
                client_id: token.client_id,
                token_type: "refresh_token",
                kind: SecretKind::RefreshToken.as_str(),
                exp: Some(token.expires_at),
                iat: Some(token.created_at),
                sub: user.id,
                username: user.username,
                iss: self.inner.settings.issuer.clone(),
            }
        } else {
            let Ok(verified) = self.check_secret_fresh(presented).await? else {
                return Ok(None);
            };
            let client_id = verified.client_id();
            let p = verified.principal;
            Introspection {
                scope: scope_param(&p.scopes),
                client_id,
                token_type: "Bearer",
                kind: p.credential.kind.as_str(),
                exp: verified.expires_at,
                iat: verified.issued_at,
                sub: p.user.id,
                username: p.user.username.clone(),
                iss: self.inner.settings.issuer.clone(),
            }
        };
        match caller {
            Caller::Client(app) if found.client_id != Some(app.client_id) => Ok(None),
            _ => Ok(Some(found)),
        }
    }

    /// Revokes a presented secret if the caller may. A client revokes only
    /// what was issued to it. A bearer credential needs `credentials.manage`
    /// or `tokens.verify` and revokes what its user owns (anyone's, with
    /// `admin.users`), except that an OAuth access token revokes only OAuth
    /// tokens of its own grant: never its user's sessions or API tokens.
    pub async fn revoke(
        &self,
        actor: &Actor,
        caller: Caller<'_>,
        presented: &str,
    ) -> Result<RevokeOutcome, OAuthError> {
        if let Caller::Bearer(p) = caller
            && !(p.has_scope(scope::CREDENTIALS_MANAGE) || p.has_scope(scope::TOKENS_VERIFY))
        {
            return Err(OAuthError::new(
                OAuthErrorCode::InvalidClient,
                "revoking needs the credentials.manage or tokens.verify scope",
            ));
        }
        let Some(secret) = PlainSecret::parse(presented.trim()) else {
            return Ok(RevokeOutcome::Done);
        };
        let now = self.inner.clock.now();
        let digest = self.inner.hasher.digest(&secret);
        // What a bearer may revoke: its user's (or, as an admin, anyone's);
        // an access token only its own grant's tokens.
        type Grant = Option<(Uuid, Option<Uuid>, Option<Uuid>)>;
        let may = |owner: Uuid, grant: Grant| match caller {
            Caller::Client(app) => {
                grant.is_some_and(|(_, client, _)| client == Some(app.client_id))
            }
            Caller::Bearer(p) => match p.oauth {
                Some(own) => grant.is_some_and(|(id, client, family)| {
                    p.user.id == owner
                        && client == own.client_id
                        && match own.family_id {
                            Some(own_family) => family == Some(own_family),
                            None => id == p.credential.id,
                        }
                }),
                None => p.user.id == owner || p.is_admin(),
            },
        };
        match secret.kind() {
            SecretKind::AccessToken | SecretKind::RefreshToken => {
                let Some(token) = self.find_oauth_token(&secret, &digest).await? else {
                    return Ok(RevokeOutcome::Done);
                };
                if !may(
                    token.user_id,
                    Some((token.id, token.client_id, token.family_id)),
                ) {
                    return Ok(RevokeOutcome::NotAllowed);
                }
                let effects = self.change(
                    actor,
                    AuditAction::OAuthTokenRevoked,
                    Target {
                        kind: TargetType::OAuthToken,
                        id: Some(token.id),
                        owner: Some(token.user_id),
                    },
                    serde_json::json!({
                        "kind": token.kind.as_str(),
                        "clientId": token.client_id,
                    }),
                );
                match (token.kind, token.family_id) {
                    // Revoking a refresh token ends its whole grant (§2.1).
                    (OAuthTokenKind::Refresh, Some(family)) => {
                        self.revoke_family(family, now, &effects).await?
                    }
                    _ => {
                        self.inner
                            .store
                            .revoke_oauth_token(token.id, now, &effects)
                            .await?;
                        self.invalidate(Invalidation::Credential(token.id)).await;
                    }
                }
            }
            SecretKind::ApiToken => {
                let Some((token, _)) = self.inner.store.find_token_by_secret(&digest).await? else {
                    return Ok(RevokeOutcome::Done);
                };
                if !may(token.user_id, None) {
                    return Ok(RevokeOutcome::NotAllowed);
                }
                let effects = self.change(
                    actor,
                    AuditAction::TokenDeactivated,
                    Target::new(TargetType::Token, token.id, token.user_id),
                    serde_json::json!({ "via": "oauth.revoke" }),
                );
                self.inner
                    .store
                    .deactivate_token(token.id, now, &effects)
                    .await?;
                self.invalidate(Invalidation::Credential(token.id)).await;
            }
            SecretKind::Session => {
                let Some(session) = self.inner.store.find_session(&digest).await? else {
                    return Ok(RevokeOutcome::Done);
                };
                if !may(session.user_id, None) {
                    return Ok(RevokeOutcome::NotAllowed);
                }
                let effects = self.change(
                    actor,
                    AuditAction::SessionEnded,
                    Target::new(TargetType::Session, session.id, session.user_id),
                    serde_json::json!({ "via": "oauth.revoke" }),
                );
                self.inner
                    .store
                    .delete_session(session.id, &effects)
                    .await?;
                self.invalidate(Invalidation::Credential(session.id)).await;
            }
            SecretKind::ClientSecret
            | SecretKind::RenewalKey
            | SecretKind::WebhookSecret
            | SecretKind::AuthCode => {
                return Err(OAuthError::new(
                    OAuthErrorCode::UnsupportedTokenType,
                    "only access, refresh and API tokens and sessions can be revoked here",
                ));
            }
        }
        Ok(RevokeOutcome::Done)
    }
}
