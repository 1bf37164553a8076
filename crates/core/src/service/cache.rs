//! The verification cache: recent answers about presented secrets, keyed by
//! their digest, so that checking a known credential does not touch the
//! store.
//!
//! - Bounded (S3-FIFO eviction from `quick_cache`, sharded, cheap reads).
//! - Every entry carries its own freshness limit: never past the credential's
//!   expiry or grace end, and at most the configured TTL, which bounds how
//!   long a missed invalidation could matter.
//! - Invalidated by credential id or owner id on every change that could
//!   alter an answer (delete, deactivate, rotate, revoke, logout, user
//!   disable or role change), locally at once and on other instances through
//!   the [`InvalidationBus`].
//! - A load that raced with an invalidation is not cached (the epoch check),
//!   so a revocation can never be undone by a slow miss.
//! - Beside credential checks, it keeps authenticated OAuth clients (by the
//!   digest of the secret presented), dropped when the app changes, rotates
//!   its secret or goes, or when its owner changes.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use async_trait::async_trait;
use time::{Duration, OffsetDateTime};
use uuid::Uuid;

use super::credential::{Rejection, Verified};
use super::oauth::Client;
use crate::secret::Digest;

/// Something that changed, and whose cached answers must go.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Invalidation {
    /// One credential (token, session, …) by id.
    Credential(Uuid),
    /// Every credential of one user.
    User(Uuid),
    /// Every token issued to one OAuth app.
    Client(Uuid),
    /// Everything (e.g. after missing notifications).
    All,
}

impl Invalidation {
    /// The wire form used between instances: `c:<uuid>`, `u:<uuid>`,
    /// `a:<uuid>` or `*`.
    pub fn encode(&self) -> String {
        match self {
            Invalidation::Credential(id) => format!("c:{id}"),
            Invalidation::User(id) => format!("u:{id}"),
            Invalidation::Client(id) => format!("a:{id}"),
            Invalidation::All => "*".to_owned(),
        }
    }

    /// Reads the wire form; anything unreadable means "drop everything", the
    /// safe reading.
    pub fn decode(text: &str) -> Self {
        let parse = |rest: &str| Uuid::parse_str(rest).ok();
        match text.split_once(':') {
            Some(("c", rest)) => parse(rest).map_or(Invalidation::All, Invalidation::Credential),
            Some(("u", rest)) => parse(rest).map_or(Invalidation::All, Invalidation::User),
            Some(("a", rest)) => parse(rest).map_or(Invalidation::All, Invalidation::Client),
            _ => Invalidation::All,
        }
    }
}

/// Tells the other instances about an invalidation, and hears theirs. A
/// single instance has nobody to tell or hear ([`LocalOnly`]).
#[async_trait]
pub trait InvalidationBus: Send + Sync + 'static {
    async fn publish(&self, invalidation: Invalidation) -> crate::Result<()>;

    /// The other instances' invalidations as they arrive (after a lost
    /// connection, [`Invalidation::All`]), or `None` where there are no
    /// other instances.
    async fn subscribe(&self) -> crate::Result<Option<tokio::sync::mpsc::Receiver<Invalidation>>> {
        Ok(None)
    }
}

/// The bus of a deployment with one instance.
#[derive(Debug, Default)]
pub struct LocalOnly;

#[async_trait]
impl InvalidationBus for LocalOnly {
    async fn publish(&self, _: Invalidation) -> crate::Result<()> {
        Ok(())
    }
}

/// An answer as loaded from the store.
#[derive(Debug)]
pub struct Loaded {
    pub answer: Result<Verified, Rejection>,
    /// The credential and owner the answer is about (when known), for
    /// invalidation.
    pub credential_id: Option<Uuid>,
    pub user_id: Option<Uuid>,
    /// The OAuth app an access token was issued to.
    pub client_id: Option<Uuid>,
    /// When the credential itself stops being good, if ever.
    pub valid_until: Option<OffsetDateTime>,
}

impl Loaded {
    /// A rejection about no known credential.
    pub fn rejected(rejection: Rejection) -> Self {
        Self {
            answer: Err(rejection),
            credential_id: None,
            user_id: None,
            client_id: None,
            valid_until: None,
        }
    }
}

/// A cached answer.
#[derive(Debug)]
pub struct Cached {
    pub answer: Result<Verified, Rejection>,
    pub credential_id: Option<Uuid>,
    pub user_id: Option<Uuid>,
    pub client_id: Option<Uuid>,
    /// The answer may be used while `now < fresh_until`.
    pub fresh_until: OffsetDateTime,
}

/// An authenticated client, kept while `now < fresh_until`.
#[derive(Debug)]
pub struct CachedClient {
    pub client: Client,
    pub fresh_until: OffsetDateTime,
}

/// How long answers may be kept.
#[derive(Debug, Clone, Copy)]
pub struct CacheSettings {
    /// Most entries kept; 0 turns the cache off.
    pub capacity: usize,
    /// Longest a positive answer is kept.
    pub ttl: Duration,
    /// Longest a negative answer ("no such secret", "expired") is kept.
    pub negative_ttl: Duration,
}

impl Default for CacheSettings {
    fn default() -> Self {
        Self {
            capacity: 100_000,
            ttl: Duration::seconds(30),
            negative_ttl: Duration::seconds(30),
        }
    }
}

pub struct CredentialCache {
    entries: Option<quick_cache::sync::Cache<Digest, Arc<Cached>>>,
    /// Authenticated OAuth clients, by the digest of the secret they
    /// presented (positive answers only).
    clients: Option<quick_cache::sync::Cache<Digest, Arc<CachedClient>>>,
    settings: CacheSettings,
    epoch: AtomicU64,
    hits: AtomicU64,
    misses: AtomicU64,
}

/// A position in the invalidation history, taken before a store read.
#[derive(Debug, Clone, Copy)]
pub struct Epoch(u64);

impl CredentialCache {
    pub fn new(settings: CacheSettings) -> Self {
        Self {
            entries: (settings.capacity > 0)
                .then(|| quick_cache::sync::Cache::new(settings.capacity)),
            clients: (settings.capacity > 0)
                .then(|| quick_cache::sync::Cache::new((settings.capacity / 10).max(100))),
            settings,
            epoch: AtomicU64::new(0),
            hits: AtomicU64::new(0),
            misses: AtomicU64::new(0),
        }
    }

    /// A fresh answer for `digest`, if one is cached.
    pub fn get(&self, digest: &Digest, now: OffsetDateTime) -> Option<Arc<Cached>> {
        let found = self
            .entries
            .as_ref()?
            .get(digest)
            .filter(|c| now < c.fresh_until);
        let counter = if found.is_some() {
            &self.hits
        } else {
            &self.misses
        };
        counter.fetch_add(1, Ordering::Relaxed);
        found
    }

    /// Where the invalidation history stands; pass it back to [`Self::put`].
    pub fn epoch(&self) -> Epoch {
        Epoch(self.epoch.load(Ordering::Acquire))
    }

    /// Caches an answer loaded at `epoch`, unless an invalidation happened
    /// since (the answer may then already be stale).
    pub fn put(
        &self,
        digest: Digest,
        epoch: Epoch,
        now: OffsetDateTime,
        loaded: Loaded,
    ) -> Arc<Cached> {
        let ttl = if loaded.answer.is_ok() {
            self.settings.ttl
        } else {
            self.settings.negative_ttl
        };
        let fresh_until = loaded
            .valid_until
            .map_or(now + ttl, |until| until.min(now + ttl));
        let cached = Arc::new(Cached {
            answer: loaded.answer,
            credential_id: loaded.credential_id,
            user_id: loaded.user_id,
            client_id: loaded.client_id,
            fresh_until,
        });
        if let Some(entries) = &self.entries
            && self.epoch.load(Ordering::Acquire) == epoch.0
            && fresh_until > now
        {
            entries.insert(digest, cached.clone());
        }
        cached
    }

    /// The client that authenticated with this secret digest, if fresh.
    pub fn client(&self, digest: &Digest, now: OffsetDateTime) -> Option<Client> {
        self.clients
            .as_ref()?
            .get(digest)
            .filter(|c| now < c.fresh_until)
            .map(|c| c.client.clone())
    }

    /// Caches a client authentication loaded at `epoch` (see [`Self::put`]).
    pub fn put_client(&self, digest: Digest, epoch: Epoch, now: OffsetDateTime, client: Client) {
        if let Some(clients) = &self.clients
            && self.epoch.load(Ordering::Acquire) == epoch.0
        {
            let fresh_until = now + self.settings.ttl;
            clients.insert(
                digest,
                Arc::new(CachedClient {
                    client,
                    fresh_until,
                }),
            );
        }
    }

    /// Drops what `invalidation` names, on this instance.
    pub fn invalidate(&self, invalidation: Invalidation) {
        self.epoch.fetch_add(1, Ordering::AcqRel);
        if let Some(clients) = &self.clients {
            match invalidation {
                Invalidation::All => clients.clear(),
                Invalidation::Credential(_) => {}
                Invalidation::User(id) => clients.retain(|_, c| c.client.owner.id != id),
                Invalidation::Client(id) => clients.retain(|_, c| c.client.app.client_id != id),
            }
        }
        let Some(entries) = &self.entries else { return };
        match invalidation {
            Invalidation::All => entries.clear(),
            // "Not found" answers name no credential: a digest of a random
            // secret cannot become found, so they need not go.
            Invalidation::Credential(id) => entries.retain(|_, c| c.credential_id != Some(id)),
            Invalidation::User(id) => entries.retain(|_, c| c.user_id != Some(id)),
            Invalidation::Client(id) => entries.retain(|_, c| c.client_id != Some(id)),
        }
    }

    pub fn len(&self) -> usize {
        self.entries.as_ref().map_or(0, |e| e.len())
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// (hits, misses) since start.
    pub fn counts(&self) -> (u64, u64) {
        (
            self.hits.load(Ordering::Relaxed),
            self.misses.load(Ordering::Relaxed),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn invalidations_round_trip_and_unknown_means_all() {
        let id = Uuid::from_u128(7);
        for inv in [
            Invalidation::Credential(id),
            Invalidation::User(id),
            Invalidation::All,
        ] {
            assert_eq!(Invalidation::decode(&inv.encode()), inv);
        }
        assert_eq!(Invalidation::decode("c:nope"), Invalidation::All);
        assert_eq!(Invalidation::decode("whatever"), Invalidation::All);
    }

    #[test]
    fn negative_answers_expire_and_a_racing_load_is_not_cached() {
        let cache = CredentialCache::new(CacheSettings::default());
        let now = OffsetDateTime::UNIX_EPOCH;
        let d = Digest([1; 32]);
        let e = cache.epoch();
        cache.put(d, e, now, Loaded::rejected(Rejection::NotFound));
        assert!(cache.get(&d, now + Duration::seconds(29)).is_some());
        assert!(cache.get(&d, now + Duration::seconds(30)).is_none());

        let d2 = Digest([2; 32]);
        let e = cache.epoch();
        cache.invalidate(Invalidation::All);
        cache.put(d2, e, now, Loaded::rejected(Rejection::NotFound));
        assert!(
            cache.get(&d2, now).is_none(),
            "loaded before an invalidation"
        );
        assert_eq!(cache.counts(), (1, 2));
    }

    #[test]
    fn freshness_never_passes_the_credentials_own_end() {
        let cache = CredentialCache::new(CacheSettings::default());
        let now = OffsetDateTime::UNIX_EPOCH;
        let d = Digest([3; 32]);
        let loaded = Loaded {
            valid_until: Some(now + Duration::seconds(5)),
            ..Loaded::rejected(Rejection::Expired)
        };
        cache.put(d, cache.epoch(), now, loaded);
        assert!(cache.get(&d, now + Duration::seconds(4)).is_some());
        assert!(cache.get(&d, now + Duration::seconds(5)).is_none());
    }
}
