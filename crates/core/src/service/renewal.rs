//! Auto-renewal (plenigo) and what it sends: starting a renewal cycle (a
//! one-time `kwk_` key and a signed callback, written together), redeeming
//! a key for the token's new secret, the token's delivery log, the expiry
//! notices, and what a worker needs to send a message (the callback's body
//! with its key, and the secret that signs it).

use std::collections::HashMap;

use serde_json::{Value, json};
use time::format_description::well_known::Rfc3339;
use time::{Duration, OffsetDateTime};
use uuid::Uuid;

use super::tokens::already_renewed;
use super::{Actor, Invalidation, IssuedToken, Keyward, Target};
use crate::effects::SideEffects;
use crate::error::{Error, Result};
use crate::model::outbox::event;
use crate::model::{
    ApiToken, AuditAction, AuditOutcome, Channel, NewOutboxMessage, NewRenewalKey, OutboxMessage,
    Page, PageKey, PageRequest, RenewalPolicy, RenewalRedemption, RenewalStart, TargetType,
    TokenFilter, TokenStatus, User,
};
use crate::random;
use crate::secret::{PlainSecret, SecretKind};
use crate::store::Redeemed;

/// Tokens started per scan.
const SCAN_BATCH: u32 = 100;

/// A renewal callback ready to send.
#[derive(Debug)]
pub struct WebhookRequest {
    pub url: String,
    /// The `webhook-id`: the message's id, the same on every retry.
    pub id: String,
    /// The JSON body, with the renewal key.
    pub body: String,
    /// The token's callback secret: the HMAC key is its bytes.
    pub secret: PlainSecret,
}

fn rfc3339(t: OffsetDateTime) -> String {
    t.format(&Rfc3339).unwrap_or_default()
}

/// The address a user's mail goes to: their `email`, or a username that is
/// an address.
pub fn mail_address(user: &User) -> Option<String> {
    user.email
        .clone()
        .or_else(|| crate::validate::email("username", &user.username).ok())
}

impl Keyward {
    /// A token's callback signing secret (`kww_…`), derived from the
    /// policy's seed under the server key.
    pub fn callback_secret(&self, policy: &RenewalPolicy) -> PlainSecret {
        self.inner
            .hasher
            .derive(SecretKind::WebhookSecret, &policy.secret_seed)
    }

    /// A message of `event` about `token`, sent now.
    fn message(
        &self,
        token_id: Uuid,
        event: &str,
        channel: Channel,
        target: &str,
        payload: Value,
        now: OffsetDateTime,
    ) -> NewOutboxMessage {
        NewOutboxMessage {
            id: random::uuid_v7(self.inner.random.as_ref(), now),
            token_id: Some(token_id),
            event: event.to_owned(),
            channel,
            target: target.to_owned(),
            payload: payload.to_string(),
            key_seed: None,
            dedupe_key: None,
            created_at: now,
        }
    }

    /// A new cycle for `token`: its key (only the digest is stored) and its
    /// callback (only the key's seed is stored).
    fn renewal_start(
        &self,
        actor: &Actor,
        token: &ApiToken,
        policy: &RenewalPolicy,
        force: bool,
    ) -> (RenewalStart, SideEffects, Uuid) {
        let now = self.inner.clock.now();
        let settings = &self.inner.settings;
        let mut seed = vec![0u8; 32];
        self.inner.random.fill(&mut seed);
        let key = self.inner.hasher.derive(SecretKind::RenewalKey, &seed);
        let key_expires_at = now + settings.renewal_key_ttl;
        let mut message = self.message(
            token.id,
            event::RENEWAL_READY,
            Channel::Webhook,
            &policy.callback_url,
            json!({
                "type": event::RENEWAL_READY,
                "tokenId": token.id,
                "keyExpiresAt": rfc3339(key_expires_at),
            }),
            now,
        );
        message.key_seed = Some(seed);
        let message_id = message.id;
        let start = RenewalStart {
            token_id: token.id,
            key: NewRenewalKey {
                id: random::uuid(self.inner.random.as_ref()),
                token_id: token.id,
                digest: self.inner.hasher.digest(&key),
                created_at: now,
                expires_at: key_expires_at,
            },
            force,
            retry_at: now + settings.renewal_retry_after,
            now,
        };
        let audit = self.audit_event(
            actor,
            AuditAction::TokenRenewalStarted,
            Target::new(TargetType::Token, token.id, token.user_id),
            AuditOutcome::Success,
            json!({"deliveryId": message_id, "triggered": force}),
        );
        let effects = SideEffects {
            audit: vec![audit],
            messages: vec![message],
        };
        (start, effects, message_id)
    }

    /// Starts a renewal cycle of the caller's token now, as when it falls
    /// due: a new key and its callback. Needs a credential as strong as the
    /// token (the key it sends out obtains the token's secret). Returns the
    /// callback's delivery.
    pub async fn trigger_renewal(
        &self,
        actor: &Actor,
        user_id: Option<Uuid>,
        id: Uuid,
    ) -> Result<OutboxMessage> {
        let caller = actor.principal()?;
        let (token, _) = self.covered_token(caller, user_id, id).await?;
        let now = self.inner.clock.now();
        self.require_usable(&token, now)?;
        if token.renewed_to.is_some() {
            return Err(already_renewed());
        }
        let Some(policy) = token.renewal.as_ref() else {
            return Err(Error::FailedPrecondition(
                "the token has no renewal policy".into(),
            ));
        };
        let (start, effects, message_id) = self.renewal_start(actor, &token, policy, true);
        if !self.inner.store.start_renewal(&start, &effects).await? {
            return Err(Error::FailedPrecondition(
                "the token can no longer renew".into(),
            ));
        }
        self.inner
            .store
            .find_delivery(message_id)
            .await?
            .ok_or_else(|| Error::internal("the delivery vanished"))
    }

    /// Starts the cycles that are due (`next_renewal_at` passed); returns
    /// how many started. Safe on every instance at once: a due token starts
    /// once.
    pub async fn start_due_renewals(&self) -> Result<usize> {
        let now = self.inner.clock.now();
        let mut started = 0;
        for id in self.inner.store.due_renewals(now, SCAN_BATCH).await? {
            let Some(token) = self.inner.store.find_token(id).await? else {
                continue;
            };
            let Some(policy) = token.renewal.as_ref() else {
                continue;
            };
            let (start, effects, _) = self.renewal_start(&Actor::system(), &token, policy, false);
            if self.inner.store.start_renewal(&start, &effects).await? {
                started += 1;
            }
        }
        Ok(started)
    }

    /// Redeems a renewal key (no other credential): the key's token gets a
    /// new secret, the old one stays valid for the overlap (as its previous
    /// secret), its expiry moves to at least one period from now (never past
    /// the lifetime cap), and the policy's mail recipient is told. Any key
    /// that is unknown, used, expired or cancelled, or of a token that can
    /// no longer renew, is `unauthenticated`; failures count against the
    /// caller's address like failed credential checks.
    pub async fn redeem_renewal_key(&self, actor: &Actor, presented: &str) -> Result<IssuedToken> {
        let now = self.inner.clock.now();
        self.pass_auth_gate(actor.ip, now).await?;
        match self.try_redeem(actor, presented, now).await? {
            Some(issued) => Ok(issued),
            None => {
                self.count_auth_failure(actor.ip, now).await?;
                let audit = self.audit_event(
                    actor,
                    AuditAction::TokenRenewalRedeemed,
                    Target {
                        kind: TargetType::Token,
                        id: None,
                        owner: None,
                    },
                    AuditOutcome::Failure,
                    json!({"reason": "unknown, used or expired key"}),
                );
                self.record_audit(audit).await;
                Err(Error::Unauthenticated(
                    "the renewal key is unknown, used or expired".into(),
                ))
            }
        }
    }

    async fn try_redeem(
        &self,
        actor: &Actor,
        presented: &str,
        now: OffsetDateTime,
    ) -> Result<Option<IssuedToken>> {
        let Some(key) = PlainSecret::parse(presented.trim()) else {
            return Ok(None);
        };
        if key.kind() != SecretKind::RenewalKey {
            return Ok(None);
        }
        let digest = self.inner.hasher.digest(&key);
        let Some(stored) = self.inner.store.find_renewal_key(&digest).await? else {
            return Ok(None);
        };
        if !stored.is_live(now) {
            return Ok(None);
        }
        let Some(token) = self.inner.store.find_token(stored.token_id).await? else {
            return Ok(None);
        };
        let Some(policy) = token.renewal.clone() else {
            return Ok(None);
        };
        if token.status(now) != TokenStatus::Active || token.renewed_to.is_some() {
            return Ok(None);
        }
        let settings = &self.inner.settings;
        let period = policy.period();
        let cap = settings.max_token_lifetime.map(|cap| now + cap);
        let expires_at = match (token.expires_at.map(|at| at.max(now + period)), cap) {
            (Some(at), Some(cap)) => Some(at.min(cap)),
            (at, cap) => at.or(cap),
        };
        let (secret, stored_secret) = self.new_secret();
        let mut effects = SideEffects {
            audit: vec![self.audit_event(
                actor,
                AuditAction::TokenRenewalRedeemed,
                Target::new(TargetType::Token, token.id, token.user_id),
                AuditOutcome::Success,
                json!({"keyId": stored.id}),
            )],
            messages: Vec::new(),
        };
        if let (true, Some(recipient)) = (settings.mail_enabled, policy.mail_recipient.as_deref()) {
            effects.messages.push(self.message(
                token.id,
                event::RENEWAL_COMPLETED,
                Channel::Email,
                recipient,
                json!({
                    "tokenId": token.id,
                    "name": token.name,
                    "hint": stored_secret.hint,
                    "expiresAt": expires_at.map(rfc3339),
                    "link": self.token_link(token.id),
                }),
                now,
            ));
        }
        let redemption = RenewalRedemption {
            key_id: stored.id,
            token_id: token.id,
            secret: stored_secret,
            previous_until: now + settings.renewal_overlap,
            expires_at,
            next_renewal_at: now + period,
            now,
        };
        match self
            .inner
            .store
            .redeem_renewal_key(&redemption, &effects)
            .await?
        {
            Redeemed::Renewed(token) => {
                self.invalidate(Invalidation::Credential(token.id)).await;
                Ok(Some(IssuedToken {
                    view: self.view_token(token),
                    secret,
                    callback_secret: None,
                }))
            }
            Redeemed::Refused => Ok(None),
        }
    }

    /// The token's page in the portal.
    fn token_link(&self, id: Uuid) -> String {
        format!("{}/settings/api/tokens/{id}", self.inner.settings.issuer)
    }

    /// A page of the deliveries about the caller's token, newest first.
    /// Never holds a key, secret or signature.
    pub async fn list_deliveries(
        &self,
        actor: &Actor,
        user_id: Option<Uuid>,
        id: Uuid,
        page: PageRequest,
    ) -> Result<Page<OutboxMessage>> {
        let caller = actor.principal()?;
        self.owned_token(caller, user_id, id).await?;
        let rows = self.inner.store.list_deliveries(id, &page.probe()).await?;
        Ok(Page::of(rows, &page, |m| PageKey {
            created_at: m.created_at,
            id: m.id,
        }))
    }

    /// Queues the expiry notices that are due: for each active token that
    /// expires within the largest threshold, the notice of the nearest
    /// threshold it is inside, once per token, expiry and threshold (also
    /// across instances and restarts: the store skips a repeated one).
    /// Nothing without mail. Returns how many were queued.
    pub async fn queue_expiry_notices(&self) -> Result<u64> {
        let settings = &self.inner.settings;
        let Some(widest) = settings.expiry_notice_days.iter().max().copied() else {
            return Ok(0);
        };
        if !settings.mail_enabled {
            return Ok(0);
        }
        let now = self.inner.clock.now();
        let filter = TokenFilter {
            status: Some(TokenStatus::Active),
            expiring_by: Some(now + Duration::days(i64::from(widest))),
            ..TokenFilter::default()
        };
        let mut owners: HashMap<Uuid, Option<String>> = HashMap::new();
        let mut queued = 0;
        let mut page = PageRequest::default();
        loop {
            let rows = self.inner.store.list_tokens(&filter, &page, now).await?;
            let last = rows.last().map(|t| PageKey {
                created_at: t.created_at,
                id: t.id,
            });
            let mut messages = Vec::new();
            for token in &rows {
                let Some(expires_at) = token.expires_at else {
                    continue;
                };
                let Some(days) = settings
                    .expiry_notice_days
                    .iter()
                    .copied()
                    .filter(|d| expires_at <= now + Duration::days(i64::from(*d)))
                    .min()
                else {
                    continue;
                };
                let address = match owners.get(&token.user_id) {
                    Some(a) => a.clone(),
                    None => {
                        let a = self
                            .inner
                            .store
                            .find_user(token.user_id)
                            .await?
                            .and_then(|u| mail_address(&u));
                        owners.insert(token.user_id, a.clone());
                        a
                    }
                };
                let Some(address) = address else {
                    continue;
                };
                let mut message = self.message(
                    token.id,
                    event::EXPIRY_NOTICE,
                    Channel::Email,
                    &address,
                    json!({
                        "tokenId": token.id,
                        "name": token.name,
                        "hint": token.hint,
                        "expiresAt": rfc3339(expires_at),
                        "days": days,
                        "link": self.token_link(token.id),
                    }),
                    now,
                );
                message.dedupe_key = Some(format!(
                    "expiry:{}:{}:{}",
                    token.id,
                    expires_at.unix_timestamp(),
                    days
                ));
                messages.push(message);
            }
            if !messages.is_empty() {
                queued += self.inner.store.insert_outbox_messages(&messages).await?;
            }
            match last {
                Some(key) if rows.len() == page.limit as usize => {
                    page.after = Some(key);
                }
                _ => break,
            }
        }
        Ok(queued)
    }

    /// The callback `message` is, ready to send, or why it cannot go out
    /// any more (the token lost its policy or can no longer renew): then
    /// the message is failed without an attempt at the receiver.
    pub async fn webhook_request(
        &self,
        message: &OutboxMessage,
    ) -> Result<std::result::Result<WebhookRequest, String>> {
        let Some(token_id) = message.token_id else {
            return Ok(Err("the message names no token".into()));
        };
        let Some(token) = self.inner.store.find_token(token_id).await? else {
            return Ok(Err("the token was deleted".into()));
        };
        let Some(policy) = token.renewal.as_ref() else {
            return Ok(Err("the token's renewal policy was removed".into()));
        };
        let now = self.inner.clock.now();
        if token.status(now) != TokenStatus::Active {
            return Ok(Err(format!("the token is {}", token.status(now).as_str())));
        }
        let mut body: Value = serde_json::from_str(&message.payload)
            .map_err(|e| Error::internal(format!("message {}: {e}", message.id)))?;
        if let (Some(seed), Some(object)) = (&message.key_seed, body.as_object_mut()) {
            let key = self.inner.hasher.derive(SecretKind::RenewalKey, seed);
            object.insert("key".into(), Value::String(key.expose().to_owned()));
        }
        Ok(Ok(WebhookRequest {
            // The policy's URL now: a changed URL gets the retries.
            url: policy.callback_url.clone(),
            id: format!("msg_{}", message.id.simple()),
            body: body.to_string(),
            secret: self.callback_secret(policy),
        }))
    }

    /// Claims due messages for `holder` (see
    /// [`crate::store::OutboxStore::claim_outbox`]).
    pub async fn claim_messages(&self, holder: &str, limit: u32) -> Result<Vec<OutboxMessage>> {
        let now = self.inner.clock.now();
        Ok(self
            .inner
            .store
            .claim_outbox(holder, now, self.inner.settings.delivery_claim, limit)
            .await?)
    }
}
