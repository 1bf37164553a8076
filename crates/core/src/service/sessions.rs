//! Login and logout. A wrong password and an unknown user get the same answer
//! after the same work; repeated failures are throttled per username and per
//! client IP.

use time::OffsetDateTime;

use super::{Invalidation, Keyward, Principal};
use crate::error::{Error, Result};
use crate::model::{NewSession, User};
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

impl Keyward {
    pub async fn login(
        &self,
        username: &str,
        password: String,
        ip: Option<std::net::IpAddr>,
    ) -> Result<LoginOutcome> {
        let password = Password::presented("password", password)?;
        let user_key = username.trim().to_lowercase();
        if user_key.is_empty() || user_key.chars().count() > 254 {
            return Err(Error::invalid("username", "must be 1 to 254 characters"));
        }
        let now = self.inner.clock.now();
        let ip_key = ip.map_or_else(|| "unknown".to_owned(), |ip| ip.to_string());
        let throttled = self
            .inner
            .user_failures
            .check(&user_key, now)
            .and(self.inner.ip_failures.check(&ip_key, now));
        if let Err(wait) = throttled {
            return Err(Error::ResourceExhausted {
                message: "too many failed logins; try again later".into(),
                retry_after: Some(std::time::Duration::from_secs(
                    wait.whole_seconds().max(1).unsigned_abs(),
                )),
            });
        }

        let found = self.inner.store.find_user_for_login(&user_key).await?;
        let ok = self
            .inner
            .passwords
            .verify(&password, found.as_ref().map(|(_, hash)| hash.as_str()))
            .await?;
        let user = match found {
            Some((user, _)) if ok && user.status == crate::model::UserStatus::Active => user,
            _ => {
                self.inner.user_failures.record_failure(&user_key, now);
                self.inner.ip_failures.record_failure(&ip_key, now);
                return Err(Error::Unauthenticated(
                    "invalid username or password".into(),
                ));
            }
        };
        self.inner.user_failures.reset(&user_key);

        let secret = PlainSecret::generate(SecretKind::Session, self.inner.random.as_ref());
        let session = NewSession {
            id: random::uuid(self.inner.random.as_ref()),
            user_id: user.id,
            digest: self.inner.hasher.digest(&secret),
            created_at: now,
            expires_at: now + self.inner.settings.session_absolute,
        };
        self.inner.store.insert_session(&session).await?;
        let expires_at = (now + self.inner.settings.session_idle).min(session.expires_at);
        Ok(LoginOutcome {
            secret,
            expires_at,
            user,
        })
    }

    /// Ends the session the caller authenticated with. Other credentials
    /// cannot log out.
    pub async fn logout(&self, caller: &Principal) -> Result<()> {
        if caller.credential.kind != SecretKind::Session {
            return Err(Error::FailedPrecondition(
                "only a login session can be logged out; delete or deactivate a token instead"
                    .into(),
            ));
        }
        self.inner
            .store
            .delete_session(caller.credential.id)
            .await?;
        self.invalidate(Invalidation::Credential(caller.credential.id))
            .await;
        Ok(())
    }
}
