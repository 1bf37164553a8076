//! Building the application from `(config, listener)`: shared by `serve` and
//! the integration tests, which start the real server on port 0.

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use axum::http::HeaderName;
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

/// Opens the store and builds the services, as `serve` and the `admin`
/// commands both need. With PostgreSQL, also returns the store to listen on
/// for other instances' invalidations.
pub async fn services(
    config: &Config,
    clock: Arc<dyn Clock>,
) -> anyhow::Result<(Keyward, Option<PgStore>)> {
    let random: Arc<dyn Random> = Arc::new(OsRandom);
    let backend = Backend::from_url(&config.database_url)?;
    let server_key = crate::secret_key::load(config, &backend, random.as_ref())?;
    let opened = store::open(&config.database_url, config.database_max_connections).await?;
    let keyward = Keyward::new(Parts {
        store: opened.store,
        bus: opened.bus,
        clock,
        random,
        server_key,
        policy: config.policy()?,
        settings: config.settings()?,
        cache: config.cache_settings(),
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
    Ok(WebConfig {
        app_id_header: HeaderName::try_from(config.app_id_header.as_str())
            .context("app_id_header")?,
        app_token_header: HeaderName::try_from(config.app_token_header.as_str())
            .context("app_token_header")?,
        max_body_bytes: config.max_body_bytes,
    })
}

/// A built server, ready to run.
pub struct Application {
    listener: TcpListener,
    router: axum::Router,
    keyward: Keyward,
    follower: Option<tokio::task::JoinHandle<()>>,
    usage_flush: Duration,
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
            usage_flush: Duration::from_secs(config.usage_flush_seconds),
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
        let background = tokio::spawn(background(self.keyward.clone(), self.usage_flush));
        let app = self
            .router
            .into_make_service_with_connect_info::<SocketAddr>();
        let served = axum::serve(self.listener, app)
            .with_graceful_shutdown(shutdown)
            .await;
        background.abort();
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
/// housekeeping.
async fn background(keyward: Keyward, usage_flush: Duration) {
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
                if let Err(err) = keyward.purge().await {
                    tracing::warn!(error = %err, "housekeeping failed; will retry");
                }
            }
        }
    }
}
