//! Login and logout. A wrong password and an unknown user get the same answer
//! after the same work; attempts are throttled per username at one address,
//! per address and per username from all addresses (see [`throttle`]).

use time::OffsetDateTime;
use uuid::Uuid;

use super::audit::Target;
use super::{Actor, Invalidation, Keyward, throttle};
use crate::effects::SideEffects;
use crate::error::{Error, Result};
use crate::model::{
    AuditAction, AuditOutcome, NewSession, SessionDevice, TargetType, User, UserStatus,
};
use crate::password::Password;
use crate::random;
use crate::secret::{PlainSecret, SecretKind};

/// A new session: its secret (shown once), when it ends if unused, and who.
#[derive(Debug)]
pub struct LoginOutcome {
    pub secret: PlainSecret,
    pub expires_at: OffsetDateTime,
    pub user: User,
}

/// The key of a client address in the throttles.
pub(crate) fn ip_key(ip: Option<std::net::IpAddr>) -> String {
    ip.map_or_else(|| "unknown".to_owned(), |ip| ip.to_string())
}

/// The answer to a refused attempt: how long to wait.
pub(crate) fn throttled(message: &str, wait: time::Duration) -> Error {
    Error::ResourceExhausted {
        message: message.into(),
        retry_after: Some(std::time::Duration::from_secs(
            wait.whole_seconds().max(1).unsigned_abs(),
        )),
    }
}

impl Keyward {
    /// Signs `username` in from where `actor` is: a new session.
    pub async fn login(
        &self,
        actor: &Actor,
        username: &str,
        password: String,
    ) -> Result<LoginOutcome> {
        let user = self.check_password(actor, username, password).await?;
        let now = self.inner.clock.now();
        let secret = PlainSecret::generate(SecretKind::Session, self.inner.random.as_ref());
        let session = NewSession {
            id: random::uuid(self.inner.random.as_ref()),
            user_id: user.id,
            digest: self.inner.hasher.digest(&secret),
            created_at: now,
            expires_at: now + self.inner.settings.session_absolute,
            ip: actor.ip.map(|ip| ip.to_string()),
            user_agent: actor.user_agent.clone(),
        };
        // The one signing in is the actor of their own sign-in.
        let mut event = self.audit_event(
            actor,
            AuditAction::SessionCreated,
            Target::new(TargetType::Session, session.id, user.id),
            AuditOutcome::Success,
            serde_json::json!({ "username": user.username }),
        );
        event.actor_user_id = Some(user.id);
        event.actor_credential_kind = Some(SecretKind::Session);
        event.actor_credential_id = Some(session.id);
        self.inner
            .store
            .insert_session(&session, &SideEffects::audit(event))
            .await
            .map_err(|err| match err {
                // Deleted between the password check and now.
                crate::error::StoreError::Gone(_) => invalid_login(),
                other => other.into(),
            })?;
        let expires_at = (now + self.inner.settings.session_idle).min(session.expires_at);
        Ok(LoginOutcome {
            secret,
            expires_at,
            user,
        })
    }

    /// Checks a username and password: the one path of every sign-in. A
    /// wrong password and an unknown (or disabled) user get the same answer
    /// after the same work. Each attempt is reserved before the (slow) check,
    /// per username at this address, per address and per username from all
    /// addresses, so parallel guesses cannot outrun the limits; a success
    /// gives its reservation back and clears the failures of this username
    /// at this address.
    pub(crate) async fn check_password(
        &self,
        actor: &Actor,
        username: &str,
        password: String,
    ) -> Result<User> {
        let ip = actor.ip;
        let password = Password::presented("password", password)?;
        let user_key = username.trim().to_lowercase();
        if user_key.is_empty() || user_key.chars().count() > 254 {
            return Err(Error::invalid("username", "must be 1 to 254 characters"));
        }
        let now = self.inner.clock.now();
        let ip_key = ip_key(ip);
        let at_ip = format!("login-at:{user_key}\n{ip_key}");
        let settings = &self.inner.settings;
        let attempt = throttle::reserve_all(
            self.inner.attempts.as_ref(),
            [
                (at_ip.clone(), settings.login_failures_per_user),
                (format!("ip:{ip_key}"), settings.login_failures_per_ip),
                (
                    format!("login:{user_key}"),
                    settings.login_failures_per_user_all_ips,
                ),
            ],
            settings.login_window,
            now,
        )
        .await?
        .map_err(|wait| throttled("too many failed logins; try again later", wait))?;

        let found = self.inner.store.find_user_for_login(&user_key).await?;
        let ok = self
            .inner
            .passwords
            .verify(&password, found.as_ref().map(|(_, hash)| hash.as_str()))
            .await?;
        match found {
            Some((user, _)) if ok && user.status == UserStatus::Active => {
                attempt.succeeded().await?;
                self.inner.attempts.reset_attempts(&at_ip).await?;
                Ok(user)
            }
            // The reservation stays: one failure counted. The event names
            // the user if there is one, never what was typed (a password
            // typed into the username field must not end up on record).
            found => {
                let owner = found.map(|(user, _)| user.id);
                let event = self.audit_event(
                    actor,
                    AuditAction::SessionLoginFailed,
                    Target {
                        kind: TargetType::User,
                        id: owner,
                        owner,
                    },
                    AuditOutcome::Failure,
                    serde_json::json!({"reason": "unknown user, wrong password or disabled"}),
                );
                self.record_audit(event).await;
                Err(invalid_login())
            }
        }
    }

    /// Ends the session the caller authenticated with. Other credentials
    /// cannot log out.
    pub async fn logout(&self, actor: &Actor) -> Result<()> {
        let caller = actor.principal()?;
        if caller.credential.kind != SecretKind::Session {
            return Err(Error::FailedPrecondition(
                "only a login session can be logged out; delete or deactivate a token instead"
                    .into(),
            ));
        }
        let effects = self.change(
            actor,
            AuditAction::SessionEnded,
            Target::new(TargetType::Session, caller.credential.id, caller.user.id),
            serde_json::json!({ "via": "logout" }),
        );
        self.inner
            .store
            .delete_session(caller.credential.id, &effects)
            .await?;
        self.invalidate(Invalidation::Credential(caller.credential.id))
            .await;
        Ok(())
    }
}

impl Keyward {
    /// The caller's live sessions (their devices), last seen first; only a
    /// login session may list them.
    pub async fn list_own_sessions(&self, actor: &Actor) -> Result<Vec<SessionDevice>> {
        let caller = self.own_session(actor)?;
        let now = self.inner.clock.now();
        let idle_cutoff = now - self.inner.settings.session_idle;
        Ok(self
            .inner
            .store
            .list_sessions_of(caller.user.id, idle_cutoff, now)
            .await?)
    }

    /// Ends one of the caller's sessions (signing a device out); only a
    /// login session may. Another user's session is `not_found`.
    pub async fn end_own_session(&self, actor: &Actor, id: Uuid) -> Result<()> {
        let caller = self.own_session(actor)?;
        let effects = self.change(
            actor,
            AuditAction::SessionEnded,
            Target::new(TargetType::Session, id, caller.user.id),
            serde_json::json!({ "via": "profile" }),
        );
        if !self
            .inner
            .store
            .delete_session_of(caller.user.id, id, &effects)
            .await?
        {
            return Err(Error::NotFound("session not found".into()));
        }
        self.invalidate(Invalidation::Credential(id)).await;
        Ok(())
    }

    fn own_session<'a>(&self, actor: &'a Actor) -> Result<&'a super::Principal> {
        let caller = actor.principal()?;
        if caller.credential.kind != SecretKind::Session {
            return Err(Error::PermissionDenied(
                "only a login session can see and end its user's sessions".into(),
            ));
        }
        Ok(caller)
    }
}

fn invalid_login() -> Error {
    Error::Unauthenticated("invalid username or password".into())
}
