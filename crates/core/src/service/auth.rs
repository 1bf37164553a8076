//! Checking a presented secret: the one path shared by API authentication and
//! (later) verification and introspection. Parse and checksum offline, hash,
//! look up, then judge the credential and its owner as of now.

use std::sync::Arc;

use time::{Duration, OffsetDateTime};
use uuid::Uuid;

use super::Keyward;
use super::cache::Loaded;
use super::credential::{CredentialRef, OAuthGrant, Principal, Rejection, Verified};
use super::sessions::{ip_key, throttled};
use crate::error::{Error, Result};
use crate::model::{OAuthTokenKind, SecretSlot, TokenState, User, UserStatus};
use crate::scope::ScopeSet;
use crate::secret::{Digest, PlainSecret, SecretKind};
use crate::store::AttemptStore;

/// Whether a check may be answered from the cache.
#[derive(Debug, Clone, Copy)]
enum Freshness {
    Cached,
    Store,
}

/// Whose failures a check counts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Gate {
    /// The caller's own credential: a failure counts against its address.
    Caller,
    /// A secret someone else presents (verification, introspection).
    Open,
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
        ip: Option<std::net::IpAddr>,
    ) -> Result<Principal> {
        let verified = match self
            .check(presented, ip, Freshness::Cached, Gate::Caller)
            .await?
        {
            Ok(v) => v,
            Err(_) => return Err(Error::unauthenticated()),
        };
        if let Some(claimed) = claimed_id {
            // The id is the token's own id, or for an OAuth access token the
            // client id of its app (iGUIDE: "token ID or OAuth client ID").
            let matches = Uuid::parse_str(claimed.trim()).is_ok_and(|id| {
                id == verified.principal.credential.id || Some(id) == verified.client_id()
            });
            if !matches {
                return Err(Error::Unauthenticated(
                    "the app id does not match the app token".into(),
                ));
            }
        }
        Ok(verified.principal)
    }

    /// Judges a presented secret: parse and checksum offline, hash, then the
    /// cache, then the store. The outer `Result` is for store failures; the
    /// inner one says whether the secret is good and why not.
    pub async fn check_secret(
        &self,
        presented: &str,
        ip: Option<std::net::IpAddr>,
    ) -> Result<std::result::Result<Verified, Rejection>> {
        self.check(presented, ip, Freshness::Cached, Gate::Open)
            .await
    }

    /// As [`Self::check_secret`], but always asks the store (and refreshes
    /// the cache with the answer): for introspection, which must not lag
    /// behind a revocation on another instance even for the moment its
    /// notification takes (RFC 7662 §4).
    pub async fn check_secret_fresh(
        &self,
        presented: &str,
    ) -> Result<std::result::Result<Verified, Rejection>> {
        self.check(presented, None, Freshness::Store, Gate::Open)
            .await
    }

    async fn check(
        &self,
        presented: &str,
        ip: Option<std::net::IpAddr>,
        freshness: Freshness,
        gate: Gate,
    ) -> Result<std::result::Result<Verified, Rejection>> {
        let now = self.inner.clock.now();
        let Some(secret) = PlainSecret::parse(presented.trim()) else {
            if gate == Gate::Caller {
                self.count_auth_failure(ip, now).await?;
            }
            return Ok(Err(Rejection::NotFound));
        };
        let digest = self.inner.hasher.digest(&secret);
        let cache = &self.inner.cache;
        let hit = match freshness {
            Freshness::Cached => cache.get(&digest, now),
            Freshness::Store => None,
        };
        // A caller's secret that is not known good is checked (and the
        // store read) only while its address has failed too few times.
        let known_good = hit.as_ref().is_some_and(|h| h.answer.is_ok());
        if gate == Gate::Caller && !known_good {
            self.pass_auth_gate(ip, now).await?;
        }
        let answer = match hit {
            Some(hit) => hit.answer.clone(),
            None => {
                let epoch = cache.epoch();
                let loaded = match secret.kind() {
                    SecretKind::ApiToken => self.load_api_token(&digest, now).await?,
                    SecretKind::Session => self.load_session(&digest, now).await?,
                    SecretKind::AccessToken => {
                        self.load_access_token(&secret, &digest, now).await?
                    }
                    _ => Loaded::rejected(Rejection::NotFound),
                };
                cache.put(digest, epoch, now, loaded).answer.clone()
            }
        };
        if let Ok(verified) = &answer
            && verified.principal.credential.kind == SecretKind::ApiToken
        {
            self.inner
                .usage
                .record(verified.principal.credential.id, now, ip);
        }
        if gate == Gate::Caller && answer.is_err() {
            self.count_auth_failure(ip, now).await?;
        }
        Ok(answer)
    }

    /// `resource_exhausted` when the address has used up its failed
    /// credential checks in the window (`auth_failures_per_ip`).
    pub(super) async fn pass_auth_gate(
        &self,
        ip: Option<std::net::IpAddr>,
        now: OffsetDateTime,
    ) -> Result<()> {
        let settings = &self.inner.settings;
        let key = format!("auth:{}", ip_key(ip));
        let failures = &self.inner.auth_failures;
        match failures.peek_attempts(
            &key,
            settings.auth_failures_per_ip,
            settings.login_window,
            now,
        ) {
            Some(retry_at) => Err(throttled(
                "too many failed credential checks from this address; try again later",
                retry_at - now,
            )),
            None => Ok(()),
        }
    }

    /// Counts a failed credential check of the address.
    pub(super) async fn count_auth_failure(
        &self,
        ip: Option<std::net::IpAddr>,
        now: OffsetDateTime,
    ) -> Result<()> {
        let settings = &self.inner.settings;
        let key = format!("auth:{}", ip_key(ip));
        self.inner
            .auth_failures
            .reserve_attempt(&key, u32::MAX, settings.login_window, now)
            .await?;
        Ok(())
    }

    async fn load_api_token(&self, digest: &Digest, now: OffsetDateTime) -> Result<Loaded> {
        let Some((token, owner)) = self.inner.store.find_token_credential(digest).await? else {
            return Ok(Loaded::rejected(Rejection::NotFound));
        };
        let about = |rejection| Loaded {
            answer: Err(rejection),
            credential_id: Some(token.id),
            user_id: Some(token.user_id),
            client_id: None,
            valid_until: None,
        };
        if token.state == TokenState::Deactivated {
            return Ok(about(Rejection::Deactivated));
        }
        if token.is_expired(now) {
            return Ok(about(Rejection::Expired));
        }
        let mut expires_at = token.expires_at;
        if token.slot == SecretSlot::Previous {
            match token.live_grace_end(now) {
                Some(end) => expires_at = Some(expires_at.map_or(end, |e| e.min(end))),
                None => return Ok(about(Rejection::Expired)),
            }
        }
        let owner = match active(owner) {
            Ok(owner) => owner,
            Err(rejection) => return Ok(about(rejection)),
        };
        let allowed = self.allowed_scopes(&owner);
        let scopes = Arc::new(token.scopes.intersection(&allowed).cloned().collect());
        Ok(Loaded {
            credential_id: Some(token.id),
            user_id: Some(owner.id),
            client_id: None,
            valid_until: expires_at,
            answer: Ok(Verified {
                principal: Principal {
                    user: Arc::new(owner),
                    credential: CredentialRef {
                        kind: SecretKind::ApiToken,
                        id: token.id,
                    },
                    scopes,
                    applications: Arc::new(token.applications),
                    oauth: None,
                },
                expires_at,
                issued_at: Some(token.created_at),
            }),
        })
    }

    async fn load_access_token(
        &self,
        secret: &PlainSecret,
        digest: &Digest,
        now: OffsetDateTime,
    ) -> Result<Loaded> {
        let grant = match secret.locator() {
            Some(id) => self.inner.store.find_oauth_token_grant(id, digest).await?,
            None => None,
        };
        let (token, app_scopes, owner) = match grant {
            Some(g) if g.token.kind == OAuthTokenKind::Access => (g.token, g.app_scopes, g.owner),
            _ => return Ok(Loaded::rejected(Rejection::NotFound)),
        };
        let about = |rejection| Loaded {
            answer: Err(rejection),
            credential_id: Some(token.id),
            user_id: Some(token.user_id),
            client_id: token.client_id,
            valid_until: None,
        };
        if token.revoked_at.is_some() {
            return Ok(about(Rejection::Revoked));
        }
        if token.expires_at <= now {
            return Ok(about(Rejection::Expired));
        }
        let owner = match active(owner) {
            Ok(owner) => owner,
            Err(rejection) => return Ok(about(rejection)),
        };
        // The app's scope now bounds what its tokens do: narrowing it reaches
        // the tokens it was already issued (an app change invalidates them).
        // (Read with the token, in the same query.)
        let scopes = match (token.client_id, &app_scopes) {
            (Some(_), Some(app)) => self.oauth_scopes(&token.scopes, app, &owner),
            (Some(_), None) => return Ok(about(Rejection::NotFound)),
            (None, _) => self.user_token_scopes(&token.scopes, &owner),
        };
        let scopes = Arc::new(scopes);
        Ok(Loaded {
            credential_id: Some(token.id),
            user_id: Some(owner.id),
            client_id: token.client_id,
            valid_until: Some(token.expires_at),
            answer: Ok(Verified {
                principal: Principal {
                    user: Arc::new(owner),
                    credential: CredentialRef {
                        kind: SecretKind::AccessToken,
                        id: token.id,
                    },
                    scopes,
                    applications: Arc::default(),
                    oauth: Some(OAuthGrant {
                        client_id: token.client_id,
                        family_id: token.family_id,
                    }),
                },
                expires_at: Some(token.expires_at),
                issued_at: Some(token.created_at),
            }),
        })
    }

    async fn load_session(&self, digest: &Digest, now: OffsetDateTime) -> Result<Loaded> {
        let Some((session, owner)) = self.inner.store.find_session_with_owner(digest).await? else {
            return Ok(Loaded::rejected(Rejection::NotFound));
        };
        let about = |rejection| Loaded {
            answer: Err(rejection),
            credential_id: Some(session.id),
            user_id: Some(session.user_id),
            client_id: None,
            valid_until: None,
        };
        let idle = self.inner.settings.session_idle;
        if session.ends_at(idle) <= now {
            return Ok(about(Rejection::Expired));
        }
        let owner = match active(owner) {
            Ok(owner) => owner,
            Err(rejection) => return Ok(about(rejection)),
        };
        // Written at most once a minute; a cached session is re-read (and so
        // touched) at least once per cache TTL while it is in use.
        if now - session.last_seen_at >= SESSION_TOUCH_EVERY {
            self.inner.store.touch_session(session.id, now).await?;
        }
        let scopes = Arc::new(self.allowed_scopes(&owner));
        let ends_at = (now + idle).min(session.expires_at);
        Ok(Loaded {
            credential_id: Some(session.id),
            user_id: Some(owner.id),
            client_id: None,
            valid_until: Some(ends_at),
            answer: Ok(Verified {
                principal: Principal {
                    user: Arc::new(owner),
                    credential: CredentialRef {
                        kind: SecretKind::Session,
                        id: session.id,
                    },
                    scopes,
                    applications: Arc::default(),
                    oauth: None,
                },
                expires_at: Some(ends_at),
                issued_at: Some(session.created_at),
            }),
        })
    }

    /// What an OAuth token acts with now: its own scopes ∩ its app's current
    /// scope ∩ what its user may do now.
    pub(crate) fn oauth_scopes(&self, token: &ScopeSet, app: &ScopeSet, user: &User) -> ScopeSet {
        let allowed = self.allowed_scopes(user);
        token
            .iter()
            .filter(|s| app.contains(*s) && allowed.contains(*s))
            .cloned()
            .collect()
    }

    /// What an access token issued to a user directly (no app) acts with
    /// now: its own scopes ∩ what the user may do now.
    pub(crate) fn user_token_scopes(&self, token: &ScopeSet, user: &User) -> ScopeSet {
        token
            .intersection(&self.allowed_scopes(user))
            .cloned()
            .collect()
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

/// A credential's owner, read with it, if the owner may act.
fn active(owner: User) -> std::result::Result<User, Rejection> {
    if owner.status == UserStatus::Active {
        Ok(owner)
    } else {
        Err(Rejection::OwnerDisabled)
    }
}
