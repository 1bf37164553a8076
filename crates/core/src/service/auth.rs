//! Checking a presented secret: the one path shared by API authentication and
//! (later) verification and introspection. Parse and checksum offline, hash,
//! look up, then judge the credential and its owner as of now.

use std::collections::BTreeSet;

use time::{Duration, OffsetDateTime};
use uuid::Uuid;

use super::Keyward;
use crate::error::{Error, Result};
use crate::model::{SecretSlot, TokenState, User, UserStatus};
use crate::scope::{self, ScopeSet};
use crate::secret::{PlainSecret, SecretKind};

/// Which credential authenticated a request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CredentialRef {
    pub kind: SecretKind,
    pub id: Uuid,
}

/// Who is calling, through which credential, with which effective scopes.
#[derive(Debug, Clone)]
pub struct Principal {
    pub user: User,
    pub credential: CredentialRef,
    pub scopes: ScopeSet,
}

impl Principal {
    pub fn has_scope(&self, scope: &str) -> bool {
        self.scopes.contains(scope)
    }

    /// `permission_denied` unless the credential carries `scope`.
    pub fn require(&self, scope: &str) -> Result<()> {
        if self.has_scope(scope) {
            Ok(())
        } else {
            Err(Error::PermissionDenied(format!(
                "this credential lacks the {scope} scope"
            )))
        }
    }

    pub fn is_admin(&self) -> bool {
        self.has_scope(scope::ADMIN_USERS)
    }
}

/// A credential that checked out.
#[derive(Debug, Clone)]
pub struct Verified {
    pub principal: Principal,
    /// Applications the credential is restricted to; empty means any.
    pub applications: BTreeSet<String>,
    /// When this secret stops working (the sooner of expiry and grace end).
    pub expires_at: Option<OffsetDateTime>,
}

/// Why a presented secret does not authenticate.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Rejection {
    NotFound,
    Expired,
    Revoked,
    Deactivated,
    OwnerDisabled,
}

impl Rejection {
    pub fn as_str(self) -> &'static str {
        match self {
            Rejection::NotFound => "not_found",
            Rejection::Expired => "expired",
            Rejection::Revoked => "revoked",
            Rejection::Deactivated => "deactivated",
            Rejection::OwnerDisabled => "owner_disabled",
        }
    }
}

/// A session's `last_seen_at` is written at most this often.
const SESSION_TOUCH_EVERY: Duration = Duration::minutes(1);

impl Keyward {
    /// Authenticates an API request. `claimed_id` is the id header of the
    /// header-pair scheme: it must name the credential the secret belongs to.
    pub async fn authenticate(
        &self,
        presented: &str,
        claimed_id: Option<&str>,
        ip: Option<&str>,
    ) -> Result<Principal> {
        let verified = match self.check_secret(presented, ip).await? {
            Ok(v) => v,
            Err(_) => return Err(Error::unauthenticated()),
        };
        if let Some(claimed) = claimed_id {
            let matches = Uuid::parse_str(claimed.trim())
                .is_ok_and(|id| id == verified.principal.credential.id);
            if !matches {
                return Err(Error::Unauthenticated(
                    "the app id does not match the app token".into(),
                ));
            }
        }
        Ok(verified.principal)
    }

    /// Judges a presented secret. The outer `Result` is for store failures;
    /// the inner one says whether the secret is good and why not.
    pub async fn check_secret(
        &self,
        presented: &str,
        ip: Option<&str>,
    ) -> Result<std::result::Result<Verified, Rejection>> {
        let Some(secret) = PlainSecret::parse(presented.trim()) else {
            return Ok(Err(Rejection::NotFound));
        };
        let now = self.inner.clock.now();
        match secret.kind() {
            SecretKind::ApiToken => self.check_api_token(&secret, now, ip).await,
            SecretKind::Session => self.check_session(&secret, now).await,
            _ => Ok(Err(Rejection::NotFound)),
        }
    }

    async fn check_api_token(
        &self,
        secret: &PlainSecret,
        now: OffsetDateTime,
        ip: Option<&str>,
    ) -> Result<std::result::Result<Verified, Rejection>> {
        let digest = self.inner.hasher.digest(secret);
        let Some((token, slot)) = self.inner.store.find_token_by_secret(&digest).await? else {
            return Ok(Err(Rejection::NotFound));
        };
        if token.state == TokenState::Deactivated {
            return Ok(Err(Rejection::Deactivated));
        }
        if token.is_expired(now) {
            return Ok(Err(Rejection::Expired));
        }
        let mut expires_at = token.expires_at;
        if slot == SecretSlot::Previous {
            match token.live_previous(now) {
                Some(prev) => {
                    expires_at =
                        Some(expires_at.map_or(prev.expires_at, |e| e.min(prev.expires_at)));
                }
                None => return Ok(Err(Rejection::Expired)),
            }
        }
        let owner = match self.active_owner(token.user_id).await? {
            Ok(owner) => owner,
            Err(rejection) => return Ok(Err(rejection)),
        };
        let allowed = self.allowed_scopes(&owner);
        let scopes = token.scopes.intersection(&allowed).cloned().collect();
        self.inner.usage.record(token.id, now, ip);
        Ok(Ok(Verified {
            principal: Principal {
                user: owner,
                credential: CredentialRef {
                    kind: SecretKind::ApiToken,
                    id: token.id,
                },
                scopes,
            },
            applications: token.applications,
            expires_at,
        }))
    }

    async fn check_session(
        &self,
        secret: &PlainSecret,
        now: OffsetDateTime,
    ) -> Result<std::result::Result<Verified, Rejection>> {
        let digest = self.inner.hasher.digest(secret);
        let Some(session) = self.inner.store.find_session(&digest).await? else {
            return Ok(Err(Rejection::NotFound));
        };
        let ends_at = session.ends_at(self.inner.settings.session_idle);
        if ends_at <= now {
            return Ok(Err(Rejection::Expired));
        }
        let owner = match self.active_owner(session.user_id).await? {
            Ok(owner) => owner,
            Err(rejection) => return Ok(Err(rejection)),
        };
        if now - session.last_seen_at >= SESSION_TOUCH_EVERY {
            self.inner.store.touch_session(session.id, now).await?;
        }
        let scopes = self.allowed_scopes(&owner);
        let ends_at = (now + self.inner.settings.session_idle).min(session.expires_at);
        Ok(Ok(Verified {
            principal: Principal {
                user: owner,
                credential: CredentialRef {
                    kind: SecretKind::Session,
                    id: session.id,
                },
                scopes,
            },
            applications: BTreeSet::new(),
            expires_at: Some(ends_at),
        }))
    }

    async fn active_owner(&self, user_id: Uuid) -> Result<std::result::Result<User, Rejection>> {
        Ok(match self.inner.store.find_user(user_id).await? {
            Some(user) if user.status == UserStatus::Active => Ok(user),
            Some(_) => Err(Rejection::OwnerDisabled),
            None => Err(Rejection::NotFound),
        })
    }

    /// What a user's roles allow now; nothing for a disabled user.
    pub fn allowed_scopes(&self, user: &User) -> ScopeSet {
        if user.status != UserStatus::Active {
            return ScopeSet::new();
        }
        self.inner
            .policy
            .allowed_scopes(user.roles.iter().map(String::as_str))
    }
}
