//! The use cases. [`Keyward`] holds the ports and the policy; each submodule
//! adds the methods for one resource.

mod actor;
mod apps;
mod audit;
mod auth;
mod cache;
mod credential;
mod csrf;
mod deliveries;
pub mod oauth;
mod renewal;
mod sealed;
mod sessions;
mod throttle;
mod tokens;
mod usage;
mod users;
mod verify;

use std::sync::Arc;

pub use actor::Actor;
pub use apps::{CreateApp, IssuedApp, UpdateApp};
pub use audit::Target;
pub use cache::{CacheSettings, CredentialCache, Invalidation, InvalidationBus, LocalOnly};
pub use credential::{CredentialRef, OAuthGrant, Principal, Rejection, Verified};
pub use deliveries::DeliveryCounts;
pub use renewal::{WebhookRequest, mail_address};
pub use sessions::LoginOutcome;
pub use throttle::MemoryAttempts;
pub use tokens::{
    CreateToken, IssuedToken, PreviousView, RenewToken, RenewalInput, TokenQuery, TokenView,
    UpdateToken,
};
pub use usage::UsageRecorder;
pub use users::{CreateUser, UpdateUser};
pub use verify::{Verdict, VerifyReason, VerifyRequest};

use crate::clock::Clock;
use crate::config::Settings;
use crate::password::PasswordHasher;
use crate::random::Random;
use crate::scope::Policy;
use crate::secret::{SecretHasher, ServerKey};
use crate::store::{AttemptStore, Store};

/// Keyward's services: everything a use case needs, shared by the HTTP layer,
/// the CLI and the background tasks. Cheap to clone.
#[derive(Clone)]
pub struct Keyward {
    inner: Arc<Inner>,
}

struct Inner {
    store: Arc<dyn Store>,
    clock: Arc<dyn Clock>,
    random: Arc<dyn Random>,
    hasher: SecretHasher,
    /// Seals what browsers carry for Keyward (see [`sealed`]).
    sealer: sealed::Sealer,
    passwords: PasswordHasher,
    policy: Policy,
    settings: Settings,
    usage: UsageRecorder,
    cache: CredentialCache,
    bus: Arc<dyn InvalidationBus>,
    token_writer: oauth::TokenWriter,
    /// Where attempts of password and client-secret checks are counted.
    attempts: Arc<dyn AttemptStore>,
    /// Failed credential checks per client address (this instance's).
    auth_failures: MemoryAttempts,
    /// Finished delivery attempts (this instance's).
    deliveries: DeliveryCounts,
}

/// The ports and policy [`Keyward`] is built from.
pub struct Parts {
    pub store: Arc<dyn Store>,
    pub clock: Arc<dyn Clock>,
    pub random: Arc<dyn Random>,
    pub server_key: ServerKey,
    pub policy: Policy,
    pub settings: Settings,
    pub cache: CacheSettings,
    /// How invalidations reach other instances ([`LocalOnly`] for one).
    pub bus: Arc<dyn InvalidationBus>,
    /// Where attempts are counted: [`MemoryAttempts`] for one instance, the
    /// shared database for several.
    pub attempts: Arc<dyn AttemptStore>,
}

impl Keyward {
    pub fn new(parts: Parts) -> Self {
        let Parts {
            store,
            clock,
            random,
            server_key,
            policy,
            settings,
            cache,
            bus,
            attempts,
        } = parts;
        let workers = std::thread::available_parallelism().map_or(2, |n| n.get());
        Self {
            inner: Arc::new(Inner {
                hasher: SecretHasher::new(&server_key),
                sealer: sealed::Sealer::new(SecretHasher::new(&server_key).subkey("seal")),
                passwords: PasswordHasher::new(random.clone(), workers),
                attempts,
                auth_failures: MemoryAttempts::default(),
                deliveries: DeliveryCounts::default(),
                usage: UsageRecorder::default(),
                cache: CredentialCache::new(cache),
                bus,
                token_writer: oauth::TokenWriter::new(store.clone()),
                store,
                clock,
                random,
                policy,
                settings,
            }),
        }
    }

    pub fn store(&self) -> &Arc<dyn Store> {
        &self.inner.store
    }

    /// The queue issued access tokens are stored through; its writers run
    /// with the jobs.
    pub fn token_writer(&self) -> &oauth::TokenWriter {
        &self.inner.token_writer
    }

    pub fn clock(&self) -> &dyn Clock {
        self.inner.clock.as_ref()
    }

    pub fn policy(&self) -> &Policy {
        &self.inner.policy
    }

    pub fn settings(&self) -> &Settings {
        &self.inner.settings
    }

    /// How this instance hears of other instances' changes.
    pub fn bus(&self) -> &dyn InvalidationBus {
        self.inner.bus.as_ref()
    }

    pub fn usage(&self) -> &UsageRecorder {
        &self.inner.usage
    }

    pub fn cache(&self) -> &CredentialCache {
        &self.inner.cache
    }

    /// Forgets cached answers about what changed, here and (through the bus)
    /// on every other instance. Called after every change that could alter a
    /// credential check. A failure to tell the others is logged: their
    /// answers then age out within the cache TTL.
    pub async fn invalidate(&self, invalidation: Invalidation) {
        self.inner.cache.invalidate(invalidation);
        if let Err(err) = self.inner.bus.publish(invalidation).await {
            tracing::warn!(error = %err, "could not tell other instances about an invalidation");
        }
    }

    /// Applies an invalidation announced by another instance.
    pub fn apply_invalidation(&self, invalidation: Invalidation) {
        self.inner.cache.invalidate(invalidation);
    }

    /// Writes the recorded token uses to the store in one batch.
    pub async fn flush_usage(&self) -> crate::Result<usize> {
        self.inner.usage.flush(self.inner.store.as_ref()).await
    }

    /// Housekeeping: drops previous secrets past their grace and ended
    /// sessions.
    pub async fn purge(&self) -> crate::Result<u64> {
        let now = self.inner.clock.now();
        let secrets = self.inner.store.purge_ended_grace(now).await?;
        let sessions = self
            .inner
            .store
            .delete_ended_sessions(now - self.inner.settings.session_idle, now)
            .await?;
        // Used codes are kept a day past their expiry, so that a late replay
        // still revokes what they issued.
        let oauth = self
            .inner
            .store
            .purge_oauth(now - time::Duration::days(1), now)
            .await?;
        let window = self.inner.settings.login_window;
        let attempts = self.inner.attempts.purge_attempts(now - window).await?;
        let audit = self
            .inner
            .store
            .purge_audit_events(now - self.inner.settings.audit_retention)
            .await?;
        self.inner
            .auth_failures
            .purge_attempts(now - window)
            .await?;
        Ok(secrets + sessions + oauth + attempts + audit)
    }
}
