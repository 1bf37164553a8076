//! Building the application from `(config, listener)`: shared by `serve` and
//! the integration tests, which start the real server on port 0. Start-up
//! only wires: the background work lives in `keyward-jobs`.

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use axum::serve::ListenerExt;
use keyward_core::clock::{Clock, SystemClock};
use keyward_core::random::{OsRandom, Random};
use keyward_core::service::{Keyward, Parts};
use keyward_jobs::{JobSettings, Jobs, MailSettings};
use keyward_web::{AppState, WebConfig};
use tokio::net::TcpListener;

use crate::config::Config;
use crate::store::{self, Backend};

pub use keyward_jobs::housekeeping;

/// Opens the store and builds the services, as `serve` and the `admin`
/// commands both need.
pub async fn services(config: &Config, clock: Arc<dyn Clock>) -> anyhow::Result<Keyward> {
    let random: Arc<dyn Random> = Arc::new(OsRandom);
    let backend = Backend::from_url(&config.database.database_url)?;
    let server_key = crate::secret_key::load(config, &backend, random.as_ref())?;
    let opened = store::open(&config.database, config.database.database_max_connections).await?;
    Ok(Keyward::new(Parts {
        store: opened.store,
        bus: opened.bus,
        attempts: opened.attempts,
        clock,
        random,
        server_key,
        policy: config.scopes.policy()?,
        settings: config.settings()?,
        cache: config.cache.cache_settings(),
    }))
}

/// Applies other instances' invalidations to this instance's cache until
/// the bus's subscription ends; nothing where there are no others.
async fn follow_invalidations(
    keyward: Keyward,
    bus: &dyn keyward_core::service::InvalidationBus,
) -> anyhow::Result<Option<tokio::task::JoinHandle<()>>> {
    let Some(mut invalidations) = bus
        .subscribe()
        .await
        .context("cannot listen for other instances' invalidations")?
    else {
        return Ok(None);
    };
    Ok(Some(tokio::spawn(async move {
        while let Some(invalidation) = invalidations.recv().await {
            keyward.apply_invalidation(invalidation);
        }
    })))
}

pub fn web_config(config: &Config) -> anyhow::Result<WebConfig> {
    config.server.web_config()
}

/// What the jobs of this instance run with.
pub fn job_settings(config: &Config, instance_id: String) -> JobSettings {
    JobSettings {
        usage_flush: Duration::from_secs(config.cache.usage_flush_seconds),
        poll: Duration::from_secs(config.jobs.jobs_poll_seconds),
        allow_private_targets: config.webhooks.webhook_allow_private_targets,
        mail: config.mail.smtp_url.clone().map(|smtp_url| MailSettings {
            smtp_url,
            from: config.mail.mail_from.clone().unwrap_or_default(),
            ca_file: config.mail.smtp_ca_file.clone(),
            require_starttls: config.mail.requires_starttls(),
        }),
        instance_id,
    }
}

/// A built server, ready to run.
pub struct Application {
    listener: TcpListener,
    router: axum::Router,
    keyward: Keyward,
    follower: Option<tokio::task::JoinHandle<()>>,
    jobs: JobSettings,
    metrics_upkeep: keyward_jobs::Upkeep,
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
        let keyward = services(config, clock).await?;
        let follower = follow_invalidations(keyward.clone(), keyward.bus()).await?;
        if config.mail.enabled() {
            tracing::info!("e-mail is on: renewal and expiry notices are sent");
        } else {
            tracing::info!("e-mail is off (no smtp_url): no renewal or expiry notices are queued");
        }
        let web = web_config(config)?;
        let state = AppState::new(keyward.clone(), &web);
        let metrics_upkeep: keyward_jobs::Upkeep = Box::new(state.metrics.upkeep());
        let router = keyward_web::router(state, &web);
        // This instance's name as a lease and claim holder: the process id
        // and a random UUID, so that two applications in one process
        // (tests) differ too.
        let instance_id = format!(
            "pid{}-{}",
            std::process::id(),
            keyward_core::random::uuid(&OsRandom)
        );
        Ok(Self {
            listener,
            router,
            keyward,
            follower,
            jobs: job_settings(config, instance_id),
            metrics_upkeep,
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

    /// Serves until `shutdown` completes, running the background jobs beside
    /// it; on the way out, pending token uses are written.
    pub async fn run_until(
        self,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> anyhow::Result<()> {
        let jobs = Jobs::start(
            self.keyward.clone(),
            self.jobs.clone(),
            Some(self.metrics_upkeep),
        )?;
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
        jobs.stop().await;
        if let Some(follower) = &self.follower {
            follower.abort();
        }
        if let Err(err) = self.keyward.flush_usage().await {
            tracing::warn!(error = %err, "could not write the last token uses");
        }
        served.context("the HTTP server failed")
    }
}

#[cfg(test)]
mod tests {
    use keyward_core::clock::ManualClock;
    use keyward_jobs::housekeeping::{HOUSEKEEPING_LEASE_TTL, PERIOD};

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
        let a = services(&config, clock.clone()).await.expect("a");
        let b = services(&config, clock.clone()).await.expect("b");
        let period = time::Duration::try_from(PERIOD).expect("period");

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

    /// The jobs start the access-token writers: from then on issuances go
    /// through their queue (it cannot be opened again) and are answered.
    #[tokio::test]
    async fn the_jobs_start_the_token_writers() {
        let dir = tempfile::tempdir().expect("tempdir");
        let mut config = Config::default();
        config.database.database_url =
            format!("sqlite://{}", dir.path().join("keyward.db").display());
        let keyward = services(&config, Arc::new(ManualClock::starting_now()))
            .await
            .expect("services");
        let jobs = Jobs::start(keyward.clone(), job_settings(&config, "t".into()), None)
            .expect("jobs start");
        assert!(
            keyward.token_writer().open_queue().is_none(),
            "the writers hold the queue"
        );
        let written = tokio::time::timeout(
            Duration::from_secs(5),
            keyward.token_writer().insert(Vec::new()),
        )
        .await
        .expect("a writer answers");
        assert!(written.is_ok(), "{written:?}");
        jobs.stop().await;
    }
}
