//! Building the application from `(config, listener)`: shared by `serve` and
//! the integration tests, which start the real server on port 0.

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use axum::serve::ListenerExt;
use keyward_core::clock::{Clock, SystemClock};
use keyward_core::random::{OsRandom, Random};
use keyward_core::service::{Keyward, Parts};
use keyward_store_postgres::PgStore;
use keyward_web::{AppState, WebConfig};
use tokio::net::TcpListener;

use crate::config::Config;
use crate::store::{self, Backend};

/// How often housekeeping (ended grace periods and sessions) runs.
const PURGE_EVERY: Duration = Duration::from_secs(60);

/// The lease that makes one instance of those sharing a database do the
/// housekeeping. Its holder extends it at every tick; if the holder stops,
/// another instance takes over once it expires, a little after one period.
const HOUSEKEEPING_LEASE: &str = "housekeeping";
const HOUSEKEEPING_LEASE_TTL: time::Duration = time::Duration::seconds(90);

/// Opens the store and builds the services, as `serve` and the `admin`
/// commands both need. With PostgreSQL, also returns the store to listen on
/// for other instances' invalidations.
pub async fn services(
    config: &Config,
    clock: Arc<dyn Clock>,
) -> anyhow::Result<(Keyward, Option<PgStore>)> {
    let random: Arc<dyn Random> = Arc::new(OsRandom);
    let backend = Backend::from_url(&config.database.database_url)?;
    let server_key = crate::secret_key::load(config, &backend, random.as_ref())?;
    let opened = store::open(
        &config.database.database_url,
        config.database.database_max_connections,
    )
    .await?;
    let keyward = Keyward::new(Parts {
        store: opened.store,
        bus: opened.bus,
        attempts: opened.attempts,
        clock,
        random,
        server_key,
        policy: config.scopes.policy()?,
        settings: config.settings()?,
        cache: config.cache.cache_settings(),
    });
    Ok((keyward, opened.listen))
}

/// Applies other instances' invalidations to this instance's cache until the
/// listener ends. After a reconnection the listener reports `All`, since
/// notifications may have been missed meanwhile.
async fn follow_invalidations(
    keyward: Keyward,
    store: PgStore,
) -> anyhow::Result<tokio::task::JoinHandle<()>> {
    let mut invalidations = store
        .listen_invalidations()
        .await
        .context("cannot listen for invalidations on PostgreSQL")?;
    Ok(tokio::spawn(async move {
        while let Some(invalidation) = invalidations.recv().await {
            keyward.apply_invalidation(invalidation.into_core());
        }
    }))
}

pub fn web_config(config: &Config) -> anyhow::Result<WebConfig> {
    config.server.web_config()
}

/// A built server, ready to run.
pub struct Application {
    listener: TcpListener,
    router: axum::Router,
    keyward: Keyward,
    follower: Option<tokio::task::JoinHandle<()>>,
    usage_flush: Duration,
    /// This instance's name as a lease holder: the process id and a random
    /// UUID, so that two applications in one process (tests) differ too.
    instance_id: String,
}

impl Application {
    pub async fn build(config: &Config, listener: TcpListener) -> anyhow::Result<Self> {
        Self::build_with_clock(config, listener, Arc::new(SystemClock)).await
    }

    /// As [`Application::build`], with the clock the tests move.
    pub async fn build_with_clock(
        config: &Config,
        listener: TcpListener,
        clock: Arc<dyn Clock>,
    ) -> anyhow::Result<Self> {
        // Without a public URL, the issuer is the address actually bound
        // (the configured one may say port 0).
        let mut config = config.clone();
        if config.server.public_url.is_none() {
            config.server.public_url = Some(format!("http://{}", listener.local_addr()?));
        }
        let config = &config;
        let (keyward, listen) = services(config, clock).await?;
        let follower = match listen {
            Some(store) => Some(follow_invalidations(keyward.clone(), store).await?),
            None => None,
        };
        let web = web_config(config)?;
        let router = keyward_web::router(AppState::new(keyward.clone(), &web), &web);
        Ok(Self {
            listener,
            router,
            keyward,
            follower,
            usage_flush: Duration::from_secs(config.cache.usage_flush_seconds),
            instance_id: format!(
                "pid{}-{}",
                std::process::id(),
                keyward_core::random::uuid(&OsRandom)
            ),
        })
    }

    pub fn local_addr(&self) -> SocketAddr {
        self.listener
            .local_addr()
            .expect("a bound listener has an address")
    }

    pub fn keyward(&self) -> &Keyward {
        &self.keyward
    }

    /// Serves until `shutdown` completes, running the background work beside
    /// it; on the way out, pending token uses are written.
    pub async fn run_until(
        self,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> anyhow::Result<()> {
        let background = tokio::spawn(background(
            self.keyward.clone(),
            self.usage_flush,
            self.instance_id.clone(),
        ));
        let app = self
            .router
            .into_make_service_with_connect_info::<SocketAddr>();
        // Answers are small and each is written whole: send them at once
        // rather than wait for the previous segment's acknowledgement.
        let listener = self.listener.tap_io(|tcp| {
            if let Err(err) = tcp.set_nodelay(true) {
                tracing::debug!(error = %err, "could not set TCP_NODELAY");
            }
        });
        let served = axum::serve(listener, app)
            .with_graceful_shutdown(shutdown)
            .await;
        background.abort();
        // Once our housekeeping has stopped, let another instance take it
        // over at its next tick rather than when the lease expires.
        let _ = background.await;
        let released = self
            .keyward
            .store()
            .release_lease(HOUSEKEEPING_LEASE, &self.instance_id)
            .await;
        if let Err(err) = released {
            tracing::warn!(error = %err, "could not release the housekeeping lease");
        }
        if let Some(follower) = &self.follower {
            follower.abort();
        }
        if let Err(err) = self.keyward.flush_usage().await {
            tracing::warn!(error = %err, "could not write the last token uses");
        }
        served.context("the HTTP server failed")
    }
}

/// Periodic work of one instance: writing recorded token uses, and
/// housekeeping (when this instance, `instance_id`, holds its lease).
async fn background(keyward: Keyward, usage_flush: Duration, instance_id: String) {
    let mut flush = tokio::time::interval(usage_flush);
    let mut purge = tokio::time::interval(PURGE_EVERY);
    flush.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    purge.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = flush.tick() => {
                if let Err(err) = keyward.flush_usage().await {
                    tracing::warn!(error = %err, "writing token uses failed; will retry");
                }
            }
            _ = purge.tick() => {
                if let Err(err) = housekeeping(&keyward, &instance_id).await {
                    tracing::warn!(error = %err, "housekeeping failed; will retry");
                }
            }
        }
    }
}

/// Runs the housekeeping if this instance holds (or can take, or extend) the
/// housekeeping lease; returns whether it ran.
pub async fn housekeeping(keyward: &Keyward, instance_id: &str) -> keyward_core::Result<bool> {
    let now = keyward.clock().now();
    let held = keyward
        .store()
        .try_acquire_lease(HOUSEKEEPING_LEASE, instance_id, now, HOUSEKEEPING_LEASE_TTL)
        .await?;
    if !held {
        tracing::debug!("another instance holds the housekeeping lease");
        return Ok(false);
    }
    keyward.purge().await?;
    Ok(true)
}

#[cfg(test)]
mod tests {
    use keyward_core::clock::ManualClock;

    use super::*;

    /// Two instances on one database: only the lease holder does the
    /// housekeeping, period after period, until it stops (crashes); then the
    /// other takes over once the lease expires.
    #[tokio::test]
    async fn one_instance_does_the_housekeeping() {
        let dir = tempfile::tempdir().expect("tempdir");
        let mut config = Config::default();
        config.database.database_url =
            format!("sqlite://{}", dir.path().join("keyward.db").display());
        let clock = Arc::new(ManualClock::starting_now());
        let (a, _) = services(&config, clock.clone()).await.expect("a");
        let (b, _) = services(&config, clock.clone()).await.expect("b");
        let period = time::Duration::try_from(PURGE_EVERY).expect("period");

        for _ in 0..3 {
            assert!(housekeeping(&a, "a").await.expect("a's tick"), "a runs it");
            assert!(
                !housekeeping(&b, "b").await.expect("b's tick"),
                "b does not"
            );
            clock.advance(period);
        }
        // `a` crashed after its last tick: `b` takes over once the lease
        // expires, not before.
        let last_tick = clock.now() - period;
        clock.set(last_tick + HOUSEKEEPING_LEASE_TTL - time::Duration::seconds(1));
        assert!(!housekeeping(&b, "b").await.expect("b's tick"));
        clock.set(last_tick + HOUSEKEEPING_LEASE_TTL);
        assert!(
            housekeeping(&b, "b").await.expect("b's tick"),
            "b took over"
        );
        assert!(
            !housekeeping(&a, "a").await.expect("a's tick"),
            "a, back, does not"
        );
    }
}
