//! The outbox worker: claims due messages for this instance, sends each
//! (a webhook or an e-mail), records the attempt and applies its verdict —
//! delivered, retry at the backoff's time, or failed — then looks again,
//! until nothing is due. A message whose claim is lost meanwhile (this
//! instance stalled past `delivery_claim_seconds`) keeps the verdict of the
//! instance that took it over.

use std::time::Instant;

use keyward_core::model::{AttemptVerdict, Channel, DeliveryAttempt, OutboxMessage};
use keyward_core::service::Keyward;

use crate::deliver_webhook::{Sent, WebhookClient};
use crate::mail_templates;
use crate::send_email::{MailSettings, Mailer};

/// Messages claimed at a time.
const BATCH: u32 = 16;

pub struct Deliverer {
    keyward: Keyward,
    holder: String,
    webhooks: WebhookClient,
    mailer: Option<Mailer>,
}

impl Deliverer {
    pub fn new(
        keyward: Keyward,
        holder: String,
        allow_private_targets: bool,
        mail: Option<MailSettings>,
    ) -> anyhow::Result<Self> {
        Ok(Self {
            keyward,
            holder,
            webhooks: WebhookClient::new(allow_private_targets)?,
            mailer: mail.as_ref().map(Mailer::new).transpose()?,
        })
    }

    /// Delivers everything due now; returns how many attempts were made.
    pub async fn drain(&self) -> keyward_core::Result<usize> {
        let mut attempts = 0;
        loop {
            let claimed = self.keyward.claim_messages(&self.holder, BATCH).await?;
            if claimed.is_empty() {
                return Ok(attempts);
            }
            for message in claimed {
                self.deliver(message).await?;
                attempts += 1;
            }
        }
    }

    async fn deliver(&self, message: OutboxMessage) -> keyward_core::Result<()> {
        let started = Instant::now();
        let at = self.keyward.clock().now();
        let (response, error, verdict) = match message.channel {
            Channel::Webhook => self.webhook(&message, at.unix_timestamp()).await?,
            Channel::Email => self.email(&message).await,
        };
        let attempt = DeliveryAttempt {
            message_id: message.id,
            at,
            response,
            error,
            duration_ms: i64::try_from(started.elapsed().as_millis()).unwrap_or(i64::MAX),
        };
        let verdict = match verdict {
            Some(v) => v,
            None => self.keyward.retry_verdict(message.attempts + 1),
        };
        self.keyward
            .delivery_counts()
            .record(&message.event, verdict);
        let applied = self
            .keyward
            .store()
            .finish_attempt(&self.holder, &attempt, verdict)
            .await?;
        if !applied {
            tracing::warn!(message = %message.id, "the claim was taken over during delivery");
        }
        Ok(())
    }

    /// `(response, error, verdict)`; a `None` verdict is a retryable
    /// failure.
    async fn webhook(
        &self,
        message: &OutboxMessage,
        timestamp: i64,
    ) -> keyward_core::Result<(Option<String>, Option<String>, Option<AttemptVerdict>)> {
        let request = match self.keyward.webhook_request(message).await? {
            Ok(request) => request,
            Err(reason) => return Ok((None, Some(reason), Some(AttemptVerdict::Failed))),
        };
        Ok(match self.webhooks.send(&request, timestamp).await {
            Sent::Delivered { response } => (Some(response), None, Some(AttemptVerdict::Delivered)),
            Sent::Failed { response, error } => (response, Some(error), None),
            Sent::Refused { error } => (None, Some(error), Some(AttemptVerdict::Failed)),
        })
    }

    async fn email(
        &self,
        message: &OutboxMessage,
    ) -> (Option<String>, Option<String>, Option<AttemptVerdict>) {
        let Some(mailer) = &self.mailer else {
            return (
                None,
                Some("mail is not configured (smtp_url)".into()),
                Some(AttemptVerdict::Failed),
            );
        };
        let payload: serde_json::Value = serde_json::from_str(&message.payload).unwrap_or_default();
        let Some(mail) = mail_templates::render(&message.event, &payload) else {
            return (
                None,
                Some(format!("no mail for event {}", message.event)),
                Some(AttemptVerdict::Failed),
            );
        };
        match mailer.send(&message.target, &mail).await {
            Ok(reply) => (Some(reply), None, Some(AttemptVerdict::Delivered)),
            Err(error) => (None, Some(error), None),
        }
    }
}
