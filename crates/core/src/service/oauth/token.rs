//! The token endpoint's grants: `client_credentials` (§4.4),
//! `authorization_code` with PKCE S256 (§4.1, RFC 7636) and `refresh_token`
//! (§6) with rotation on every use. A replayed code or used refresh token
//! revokes every token of its family (RFC 9700 §4.14, RFC 6749 §4.1.2).

use time::OffsetDateTime;
use uuid::Uuid;

use super::{Client, OAuthError, OAuthErrorCode, parse_scope_param, pkce, scope_param};
use crate::effects::SideEffects;
use crate::error::StoreError;
use crate::model::{AuditAction, TargetType};
use crate::model::{
    AuthCode, GrantType, NewOAuthToken, OAuthApp, OAuthToken, OAuthTokenKind, User, UserStatus,
};
use crate::random;
use crate::scope::ScopeSet;
use crate::secret::{Digest, PlainSecret, SecretKind};
use crate::service::Target;
use crate::service::{Actor, Invalidation, Keyward};

/// The grant-specific parameters of a token request (client authentication
/// is done before).
#[derive(Debug, Default, Clone)]
pub struct TokenRequest {
    pub grant_type: Option<String>,
    pub code: Option<String>,
    pub redirect_uri: Option<String>,
    pub code_verifier: Option<String>,
    pub refresh_token: Option<String>,
    pub scope: Option<String>,
}

/// A successful token response (§5.1).
#[derive(Debug)]
pub struct TokenResponse {
    pub access_token: PlainSecret,
    pub expires_in: i64,
    pub scope: String,
    pub refresh_token: Option<PlainSecret>,
}

/// The tokens of one issuance, ready to store.
pub(super) struct Issue {
    pub(super) rows: Vec<NewOAuthToken>,
    pub(super) response: TokenResponse,
}

impl Keyward {
    /// Runs a token request for an authenticated client.
    pub async fn token(
        &self,
        actor: &Actor,
        client: &Client,
        request: TokenRequest,
    ) -> Result<TokenResponse, OAuthError> {
        let app = &client.app;
        let grant = request
            .grant_type
            .as_deref()
            .ok_or_else(|| OAuthError::invalid_request("grant_type is required"))?;
        let grant = GrantType::parse(grant).ok_or_else(|| {
            OAuthError::new(
                OAuthErrorCode::UnsupportedGrantType,
                "supported grant types: authorization_code, refresh_token, client_credentials",
            )
        })?;
        if !app.grant_types.contains(&grant) {
            return Err(OAuthError::new(
                OAuthErrorCode::UnauthorizedClient,
                "this client may not use this grant type",
            ));
        }
        match grant {
            GrantType::ClientCredentials => self.grant_client_credentials(client, request).await,
            GrantType::AuthorizationCode => {
                self.grant_authorization_code(actor, app, request).await
            }
            GrantType::RefreshToken => self.grant_refresh_token(actor, app, request).await,
        }
    }

    async fn grant_client_credentials(
        &self,
        client: &Client,
        request: TokenRequest,
    ) -> Result<TokenResponse, OAuthError> {
        let app = &client.app;
        let scopes = match request.scope.as_deref() {
            None => app.scopes.clone(),
            Some(requested) => {
                let requested = parse_scope_param(requested);
                if requested.is_empty() || !requested.is_subset(&app.scopes) {
                    return Err(OAuthError::invalid_scope(
                        "the requested scope is not within the client's scope",
                    ));
                }
                requested
            }
        };
        // The owner was read (and found active) with the client itself.
        let scopes = self.grantable_by(&client.owner, &scopes, &app.scopes)?;
        let now = self.inner.clock.now();
        // No refresh token for client_credentials (§4.4.3).
        let issue = self.issue(Some(app.client_id), app.user_id, scopes, None, false, now);
        match self.inner.token_writer.insert(issue.rows).await {
            Ok(()) => Ok(issue.response),
            // The app was deleted while its request ran.
            Err(StoreError::Gone(_)) => Err(OAuthError::invalid_client()),
            Err(err) => Err(err.into()),
        }
    }

    async fn grant_authorization_code(
        &self,
        actor: &Actor,
        app: &OAuthApp,
        request: TokenRequest,
    ) -> Result<TokenResponse, OAuthError> {
        let code = request
            .code
            .as_deref()
            .ok_or_else(|| OAuthError::invalid_request("code is required"))?;
        let now = self.inner.clock.now();
        let Some(found) = self.find_code(code).await? else {
            return Err(OAuthError::invalid_grant("the code is invalid"));
        };
        if found.client_id != app.client_id {
            return Err(OAuthError::invalid_grant(
                "the code was issued to another client",
            ));
        }
        if found.used_at.is_some() {
            let effects = self.replay(actor, app, found.user_id, "authorization code replayed");
            self.revoke_family(found.family_id, now, &effects).await?;
            return Err(OAuthError::invalid_grant("the code was already used"));
        }
        if found.expires_at <= now {
            return Err(OAuthError::invalid_grant("the code has expired"));
        }
        if found.redirect_uri.is_some() && request.redirect_uri != found.redirect_uri {
            return Err(OAuthError::invalid_grant(
                "redirect_uri must repeat the one of the authorization request",
            ));
        }
        let Some(verifier) = request.code_verifier.as_deref() else {
            return Err(OAuthError::invalid_grant("code_verifier is required"));
        };
        if !pkce::verifies(verifier, &found.code_challenge) {
            return Err(OAuthError::invalid_grant(
                "the code_verifier does not match",
            ));
        }
        let scopes = self
            .grantable(found.user_id, &found.scopes, &app.scopes)
            .await?;
        let refresh = app.grant_types.contains(&GrantType::RefreshToken);
        let issue = self.issue(
            Some(app.client_id),
            found.user_id,
            scopes,
            Some(found.family_id),
            refresh,
            now,
        );
        if !self
            .inner
            .store
            .redeem_code(found.id, &issue.rows, now)
            .await
            .map_err(grant_gone)?
        {
            // Redeemed meanwhile by a concurrent request: a replay.
            let effects = self.replay(actor, app, found.user_id, "authorization code replayed");
            self.revoke_family(found.family_id, now, &effects).await?;
            return Err(OAuthError::invalid_grant("the code was already used"));
        }
        Ok(issue.response)
    }

    async fn grant_refresh_token(
        &self,
        actor: &Actor,
        app: &OAuthApp,
        request: TokenRequest,
    ) -> Result<TokenResponse, OAuthError> {
        let presented = request
            .refresh_token
            .as_deref()
            .ok_or_else(|| OAuthError::invalid_request("refresh_token is required"))?;
        let now = self.inner.clock.now();
        let token = match self
            .find_oauth_secret(presented, SecretKind::RefreshToken)
            .await?
        {
            Some(t) if t.kind == OAuthTokenKind::Refresh => t,
            _ => return Err(OAuthError::invalid_grant("the refresh token is invalid")),
        };
        if token.client_id != Some(app.client_id) {
            return Err(OAuthError::invalid_grant(
                "the refresh token was issued to another client",
            ));
        }
        if token.used_at.is_some() {
            // Reuse of a rotated refresh token: the family is compromised.
            if let Some(family) = token.family_id {
                let effects = self.replay(actor, app, token.user_id, "refresh token reused");
                self.revoke_family(family, now, &effects).await?;
            }
            return Err(OAuthError::invalid_grant(
                "the refresh token was already used",
            ));
        }
        if token.revoked_at.is_some() || token.expires_at <= now {
            return Err(OAuthError::invalid_grant(
                "the refresh token is no longer valid",
            ));
        }
        let scopes = match request.scope.as_deref() {
            None => token.scopes.clone(),
            Some(requested) => {
                let requested = parse_scope_param(requested);
                if requested.is_empty() || !requested.is_subset(&token.scopes) {
                    return Err(OAuthError::invalid_scope(
                        "the requested scope was not granted",
                    ));
                }
                requested
            }
        };
        let scopes = self.grantable(token.user_id, &scopes, &app.scopes).await?;
        let mut issue = self.issue(
            Some(app.client_id),
            token.user_id,
            scopes,
            token.family_id,
            true,
            now,
        );
        // The new refresh token keeps the originally granted scope, less
        // what the app no longer has: a later refresh never brings back a
        // scope the app lost.
        if let Some(refresh) = issue
            .rows
            .iter_mut()
            .find(|r| r.token.kind == OAuthTokenKind::Refresh)
        {
            refresh.token.scopes = token.scopes.intersection(&app.scopes).cloned().collect();
        }
        if !self
            .inner
            .store
            .rotate_refresh_token(token.id, &issue.rows, now)
            .await
            .map_err(grant_gone)?
        {
            if let Some(family) = token.family_id {
                let effects = self.replay(actor, app, token.user_id, "refresh token reused");
                self.revoke_family(family, now, &effects).await?;
            }
            return Err(OAuthError::invalid_grant(
                "the refresh token was already used",
            ));
        }
        Ok(issue.response)
    }

    /// New access (and refresh) tokens for the app `client_id` (`None`: the
    /// user's own), not yet stored.
    pub(super) fn issue(
        &self,
        client_id: Option<Uuid>,
        user_id: Uuid,
        scopes: ScopeSet,
        family_id: Option<Uuid>,
        refresh: bool,
        now: OffsetDateTime,
    ) -> Issue {
        let settings = &self.inner.settings;
        // Each secret carries the id of its row (time-ordered, from the
        // clock), so the row is found by primary key.
        let mut rows = Vec::with_capacity(if refresh { 2 } else { 1 });
        let mut draw = |kind, ttl| {
            let id = random::uuid_v7(self.inner.random.as_ref(), now);
            let secret = PlainSecret::generate_located(
                OAuthTokenKind::secret_kind(kind),
                id,
                self.inner.random.as_ref(),
            );
            rows.push(NewOAuthToken {
                digest: self.inner.hasher.digest(&secret),
                token: OAuthToken {
                    id,
                    kind,
                    client_id,
                    user_id,
                    scopes: scopes.clone(),
                    family_id,
                    created_at: now,
                    expires_at: now + ttl,
                    used_at: None,
                    revoked_at: None,
                },
            });
            secret
        };
        let access = draw(OAuthTokenKind::Access, settings.access_token_ttl);
        let refresh_token =
            refresh.then(|| draw(OAuthTokenKind::Refresh, settings.refresh_token_ttl));
        Issue {
            rows,
            response: TokenResponse {
                access_token: access,
                expires_in: settings.access_token_ttl.whole_seconds(),
                scope: scope_param(&scopes),
                refresh_token,
            },
        }
    }

    async fn find_code(&self, code: &str) -> crate::Result<Option<AuthCode>> {
        match PlainSecret::parse(code) {
            Some(secret) if secret.kind() == SecretKind::AuthCode => Ok(self
                .inner
                .store
                .find_code(&self.inner.hasher.digest(&secret))
                .await?),
            _ => Ok(None),
        }
    }

    /// The OAuth token a presented secret of `kind` is, if any.
    pub(crate) async fn find_oauth_secret(
        &self,
        presented: &str,
        kind: SecretKind,
    ) -> crate::Result<Option<OAuthToken>> {
        match PlainSecret::parse(presented.trim()) {
            Some(secret) if secret.kind() == kind => {
                let digest = self.inner.hasher.digest(&secret);
                self.find_oauth_token(&secret, &digest).await
            }
            _ => Ok(None),
        }
    }

    /// The OAuth token row of a presented access or refresh token: found by
    /// its locator, then matched on `digest` (the secret's keyed hash).
    pub(crate) async fn find_oauth_token(
        &self,
        secret: &PlainSecret,
        digest: &Digest,
    ) -> crate::Result<Option<OAuthToken>> {
        match secret.locator() {
            Some(id) => Ok(self.inner.store.find_oauth_token(id, digest).await?),
            None => Ok(None),
        }
    }

    /// The event of a grant revoked because one of its secrets was used
    /// twice: a leaked credential, on record with where the reuse came from.
    fn replay(&self, actor: &Actor, app: &OAuthApp, user_id: Uuid, reason: &str) -> SideEffects {
        self.change(
            actor,
            AuditAction::OAuthTokenRevoked,
            Target {
                kind: TargetType::OAuthToken,
                id: None,
                owner: Some(user_id),
            },
            serde_json::json!({ "reason": reason, "clientId": app.client_id }),
        )
    }

    /// Revokes every token of a family, everywhere.
    pub(crate) async fn revoke_family(
        &self,
        family_id: Uuid,
        now: OffsetDateTime,
        effects: &SideEffects,
    ) -> crate::Result<()> {
        for id in self
            .inner
            .store
            .revoke_family(family_id, now, effects)
            .await?
        {
            self.invalidate(Invalidation::Credential(id)).await;
        }
        Ok(())
    }

    /// What of `scopes` the (active) user may grant now, within the app's
    /// current scope: a token never carries more than its user is allowed
    /// or its app may have, and the response's `scope` names what was
    /// granted (§3.3). `invalid_scope` when that is nothing.
    async fn grantable(
        &self,
        user_id: Uuid,
        scopes: &ScopeSet,
        app_scopes: &ScopeSet,
    ) -> Result<ScopeSet, OAuthError> {
        match self.inner.store.find_user(user_id).await? {
            Some(user) if user.status == UserStatus::Active => {
                self.grantable_by(&user, scopes, app_scopes)
            }
            _ => Err(OAuthError::invalid_grant("the user is not active")),
        }
    }

    /// As [`Self::grantable`], for a user already read and found active.
    fn grantable_by(
        &self,
        user: &User,
        scopes: &ScopeSet,
        app_scopes: &ScopeSet,
    ) -> Result<ScopeSet, OAuthError> {
        let granted = self.oauth_scopes(scopes, app_scopes, user);
        if granted.is_empty() {
            return Err(OAuthError::invalid_scope(
                "the user may grant none of the requested scopes",
            ));
        }
        Ok(granted)
    }
}

/// A store failure of a code redemption or refresh: the grant's client or
/// user was deleted meanwhile (`invalid_grant`), or the store failed.
fn grant_gone(err: StoreError) -> OAuthError {
    match err {
        StoreError::Gone(_) => OAuthError::invalid_grant("the grant's client or user is gone"),
        other => other.into(),
    }
}
