//! Keyward's background work, one file per job: writing recorded token uses
//! (`usage_flush`), housekeeping under a lease (`housekeeping`), starting
//! due renewals (`renewal_scan`), queueing expiry notices (`expiry_scan`),
//! the outbox worker (`deliver`) that claims due messages and sends them as
//! signed webhooks (`deliver_webhook`) or e-mail (`send_email`), retrying
//! with backoff, the group-commit writers of issued access tokens
//! (`token_writer`) and the metrics' upkeep (`metrics_upkeep`).
//! [`Jobs::start`] runs them all beside the server; start-up only wires it.

pub mod deliver;
pub mod deliver_webhook;
pub mod expiry_scan;
pub mod housekeeping;
pub mod mail_templates;
pub mod metrics_upkeep;
pub mod renewal_scan;
pub mod runner;
pub mod send_email;
pub mod ssrf;
pub mod token_writer;
pub mod usage_flush;

use std::sync::Arc;
use std::time::Duration;

use keyward_core::service::Keyward;

pub use deliver::Deliverer;
pub use housekeeping::{HOUSEKEEPING_LEASE, housekeeping};
pub use metrics_upkeep::Upkeep;
pub use send_email::MailSettings;

/// What the jobs need besides the services.
#[derive(Debug, Clone)]
pub struct JobSettings {
    /// How often recorded token uses are written.
    pub usage_flush: Duration,
    /// How often due work (renewals, notices, deliveries) is looked for.
    pub poll: Duration,
    /// Whether callbacks may go to private, loopback and similar addresses.
    pub allow_private_targets: bool,
    /// E-mail; `None` when no `smtp_url` is set.
    pub mail: Option<MailSettings>,
    /// This instance's name as a lease and claim holder.
    pub instance_id: String,
}

/// The running jobs; they stop when this is dropped or [`Jobs::stop`]ped.
pub struct Jobs {
    tasks: Vec<tokio::task::JoinHandle<()>>,
    keyward: Keyward,
    instance_id: String,
}

impl Jobs {
    /// Starts every job on the current runtime; `metrics_upkeep` is the
    /// web layer's metrics' (none where nothing is served).
    pub fn start(
        keyward: Keyward,
        settings: JobSettings,
        metrics_upkeep: Option<Upkeep>,
    ) -> anyhow::Result<Self> {
        token_writer::start(&keyward);
        let deliverer = Arc::new(Deliverer::new(
            keyward.clone(),
            settings.instance_id.clone(),
            settings.allow_private_targets,
            settings.mail.clone(),
        )?);
        let k = keyward.clone();
        let mut tasks = vec![runner::every(
            "usage_flush",
            settings.usage_flush,
            move || {
                let k = k.clone();
                async move { usage_flush::run(&k).await }
            },
        )];
        let (k, id) = (keyward.clone(), settings.instance_id.clone());
        tasks.push(runner::every(
            "housekeeping",
            housekeeping::PERIOD,
            move || {
                let (k, id) = (k.clone(), id.clone());
                async move { housekeeping(&k, &id).await.map(drop) }
            },
        ));
        let k = keyward.clone();
        tasks.push(runner::every("renewal_scan", settings.poll, move || {
            let k = k.clone();
            async move { renewal_scan::run(&k).await }
        }));
        let k = keyward.clone();
        tasks.push(runner::every("expiry_scan", settings.poll, move || {
            let k = k.clone();
            async move { expiry_scan::run(&k).await }
        }));
        tasks.push(runner::every("deliver", settings.poll, move || {
            let d = deliverer.clone();
            async move { d.drain().await.map(drop) }
        }));
        tasks.extend(metrics_upkeep.map(metrics_upkeep::start));
        Ok(Self {
            tasks,
            keyward,
            instance_id: settings.instance_id,
        })
    }

    /// Stops every job, then frees the housekeeping lease so that another
    /// instance takes it over at its next tick.
    pub async fn stop(self) {
        for task in &self.tasks {
            task.abort();
        }
        for task in self.tasks {
            let _ = task.await;
        }
        let released = self
            .keyward
            .store()
            .release_lease(HOUSEKEEPING_LEASE, &self.instance_id)
            .await;
        if let Err(err) = released {
            tracing::warn!(error = %err, "could not release the housekeeping lease");
        }
    }
}
