//! The API-token use cases: create, list, get, update, rotate, revoke the
//! previous secret, renew, deactivate and delete. Each acts on the caller's own
//! tokens, or on another user's when the caller holds `admin.users` and names
//! them.

use std::collections::BTreeSet;
use std::sync::Arc;

use time::{Duration, OffsetDateTime};
use uuid::Uuid;

use super::audit::Target;
use super::{Actor, Invalidation, Keyward, Principal};
use crate::error::{Error, Result};
use crate::model::{
    AgeStatus, ApiToken, AuditAction, NewApiToken, NewTokenSecret, Page, PageKey, PageRequest,
    RenewalPolicy, TargetType, TokenFilter, TokenStatus, TokenUpdate, User, token::grace_end,
};
use crate::random;
use crate::scope::ScopeSet;
use crate::secret::{PlainSecret, SecretKind};
use crate::store::{InsertToken, RenewOutcome, RenewalLimit};
use crate::validate;

pub const MAX_NAME_LEN: usize = 100;
pub const MAX_DESCRIPTION_LEN: usize = 1000;
/// Longest auto-renewal interval, in days.
pub const MAX_RENEWAL_DAYS: i64 = 3650;

/// The longest day count a list filter takes.
pub const MAX_FILTER_DAYS: i64 = 36_500;

/// Filters and page of a token list.
#[derive(Debug, Clone, Default)]
pub struct TokenQuery {
    pub status: Option<TokenStatus>,
    /// Only tokens never used, or last used more than this many days ago.
    pub unused_for_days: Option<i64>,
    /// Only unexpired tokens that expire within this many days.
    pub expiring_within_days: Option<i64>,
    /// Only tokens that never expire.
    pub never_expires: bool,
    pub page: PageRequest,
}

/// An auto-renewal policy as requested.
#[derive(Debug, Clone)]
pub struct RenewalInput {
    pub every_days: i64,
    pub callback_url: String,
    pub mail_recipient: Option<String>,
    /// On a token that has a policy: issue a new callback secret (the old
    /// one stops signing at once). A token without one always gets one.
    pub rotate_callback_secret: bool,
}

#[derive(Debug, Clone, Default)]
pub struct CreateToken {
    pub name: String,
    pub description: Option<String>,
    pub scopes: Vec<String>,
    pub applications: Vec<String>,
    pub expires_at: Option<OffsetDateTime>,
    pub renewal: Option<RenewalInput>,
}

/// A PATCH: `None` leaves a field alone; `Some(None)` clears it.
#[derive(Debug, Clone, Default)]
pub struct UpdateToken {
    pub name: Option<String>,
    pub description: Option<Option<String>>,
    pub expires_at: Option<Option<OffsetDateTime>>,
    pub renewal: Option<Option<RenewalInput>>,
}

#[derive(Debug, Clone)]
pub struct RenewToken {
    pub name: String,
    pub description: Option<String>,
    pub expire_current_at: OffsetDateTime,
}

/// The previous secret as shown to users.
#[derive(Debug, Clone)]
pub struct PreviousView {
    pub hint: String,
    pub expires_at: OffsetDateTime,
}

/// A token as shown to users, with what follows from the time.
#[derive(Debug, Clone)]
pub struct TokenView {
    pub token: ApiToken,
    pub status: TokenStatus,
    pub age_days: i64,
    pub age_status: AgeStatus,
    pub previous: Option<PreviousView>,
}

/// A token together with a secret being shown for the only time.
#[derive(Debug)]
pub struct IssuedToken {
    pub view: TokenView,
    pub secret: PlainSecret,
    /// The auto-renewal callback signing secret, when a policy was just set.
    pub callback_secret: Option<PlainSecret>,
}

impl Keyward {
    pub fn view_token(&self, token: ApiToken) -> TokenView {
        let now = self.inner.clock.now();
        TokenView {
            status: token.status(now),
            age_days: token.age_days(now),
            age_status: token.age_status(now, &self.inner.settings),
            previous: token.live_previous(now).map(|p| PreviousView {
                hint: p.hint.clone(),
                expires_at: p.expires_at,
            }),
            token,
        }
    }

    /// Whose tokens the caller acts on: their own, or (with `admin.users`)
    /// the user named by `user_id`.
    async fn token_owner(&self, caller: &Principal, user_id: Option<Uuid>) -> Result<Arc<User>> {
        caller.require_manage()?;
        match user_id {
            None => Ok(caller.user.clone()),
            Some(id) if id == caller.user.id => Ok(caller.user.clone()),
            Some(id) => {
                if !caller.is_admin() {
                    return Err(Error::PermissionDenied(
                        "only an admin.users caller may act on another user's tokens".into(),
                    ));
                }
                Ok(Arc::new(self.get_user(id).await?))
            }
        }
    }

    /// The owner's token `id`, with its owner; `not_found` for anyone else's,
    /// so ids of other users' tokens cannot be probed.
    pub(super) async fn owned_token(
        &self,
        caller: &Principal,
        user_id: Option<Uuid>,
        id: Uuid,
    ) -> Result<(ApiToken, Arc<User>)> {
        let owner = self.token_owner(caller, user_id).await?;
        match self.inner.store.find_token(id).await? {
            Some(token) if token.user_id == owner.id => Ok((token, owner)),
            _ => Err(not_found()),
        }
    }

    /// The owner's token `id`, if `caller` is at least as strong as it:
    /// for every operation that hands out the token's secret or decides
    /// where one is sent (see [`Principal::require_covers`]). The token's
    /// strength is what it may do now: its scopes ∩ its owner's.
    pub(super) async fn covered_token(
        &self,
        caller: &Principal,
        user_id: Option<Uuid>,
        id: Uuid,
    ) -> Result<(ApiToken, Arc<User>)> {
        let (token, owner) = self.owned_token(caller, user_id, id).await?;
        let effective: ScopeSet = token
            .scopes
            .intersection(&self.allowed_scopes(&owner))
            .cloned()
            .collect();
        caller.require_covers("the token", &effective, &token.applications)?;
        Ok((token, owner))
    }

    pub(super) fn new_secret(&self) -> (PlainSecret, NewTokenSecret) {
        let secret = PlainSecret::generate(SecretKind::ApiToken, self.inner.random.as_ref());
        let stored = NewTokenSecret {
            digest: self.inner.hasher.digest(&secret),
            hint: secret.hint(),
        };
        (secret, stored)
    }

    /// The policy `input` asks for, replacing `existing` (if any): a new
    /// policy gets a new callback secret (returned); a changed one keeps
    /// its secret unless asked to rotate it, and keeps its schedule unless
    /// its period changes.
    fn parse_renewal(
        &self,
        input: RenewalInput,
        existing: Option<&RenewalPolicy>,
    ) -> Result<(RenewalPolicy, Option<PlainSecret>)> {
        let now = self.inner.clock.now();
        if !(1..=MAX_RENEWAL_DAYS).contains(&input.every_days) {
            return Err(Error::invalid(
                "renewal.everyDays",
                format!("must be between 1 and {MAX_RENEWAL_DAYS}"),
            ));
        }
        let url = validate::callback_url("renewal.callbackUrl", &input.callback_url)?;
        let mail_recipient = input
            .mail_recipient
            .map(|m| validate::email("renewal.mailRecipient", &m))
            .transpose()?;
        let every_days = u32::try_from(input.every_days).expect("bounded above");
        let (secret_seed, secret) = match existing {
            Some(old) if !input.rotate_callback_secret => (old.secret_seed.clone(), None),
            _ => {
                let mut seed = vec![0u8; 32];
                self.inner.random.fill(&mut seed);
                let secret = self.inner.hasher.derive(SecretKind::WebhookSecret, &seed);
                (seed, Some(secret))
            }
        };
        let (next_renewal_at, last_renewed_at) = match existing {
            Some(old) if old.every_days == every_days => (old.next_renewal_at, old.last_renewed_at),
            Some(old) => (
                now + Duration::days(i64::from(every_days)),
                old.last_renewed_at,
            ),
            None => (now + Duration::days(i64::from(every_days)), None),
        };
        let policy = RenewalPolicy {
            every_days,
            callback_url: url.to_string(),
            mail_recipient,
            secret_seed,
            next_renewal_at,
            last_renewed_at,
        };
        Ok((policy, secret))
    }

    /// Creates a token for the caller (or, for an admin, the named user). Its
    /// scopes must be within the caller's own effective scopes.
    pub async fn create_token(
        &self,
        actor: &Actor,
        user_id: Option<Uuid>,
        input: CreateToken,
    ) -> Result<IssuedToken> {
        let caller = actor.principal()?;
        let owner = self.token_owner(caller, user_id).await?;
        self.issue_token(actor, &owner, input).await
    }

    /// Creates a token for `owner`: the shared path of the API and the CLI's
    /// `admin create-token`. Its scopes must be within what the owner may do
    /// now and, when a credential asks (the CLI acts as the system, with
    /// none), within that credential's, which also bounds its applications.
    pub async fn issue_token(
        &self,
        actor: &Actor,
        owner: &User,
        input: CreateToken,
    ) -> Result<IssuedToken> {
        let issuer: Option<&Principal> = if actor.is_system() {
            None
        } else {
            Some(actor.principal()?)
        };
        let now = self.inner.clock.now();
        let name = validate::required_text("name", &input.name, MAX_NAME_LEN)?;
        let description = parse_description(input.description)?;
        let scopes = self.inner.policy.parse_scopes("scopes", &input.scopes)?;
        if let Some(extra) = scopes.difference(&self.allowed_scopes(owner)).next() {
            return Err(Error::invalid(
                "scopes",
                format!("scope {extra:?} is not allowed for the token's owner"),
            ));
        }
        if let Some(extra) = issuer.and_then(|i| scopes.difference(&i.scopes).next()) {
            return Err(Error::invalid(
                "scopes",
                format!("scope {extra:?} exceeds the caller's own permissions"),
            ));
        }
        let applications = self
            .inner
            .policy
            .parse_applications("applications", &input.applications)?;
        if let Some(issuer) = issuer {
            issuer.require_covers("the new token", &scopes, &applications)?;
        }
        if input.expires_at.is_some_and(|at| at <= now) {
            return Err(Error::invalid("expiresAt", "must be in the future"));
        }
        self.check_lifetime(input.expires_at, now)?;
        let (renewal, callback_secret) = match input.renewal {
            Some(r) => {
                let (policy, secret) = self.parse_renewal(r, None)?;
                (Some(policy), secret)
            }
            None => (None, None),
        };
        let (secret, stored) = self.new_secret();
        let token = NewApiToken {
            id: random::uuid(self.inner.random.as_ref()),
            user_id: owner.id,
            name,
            description,
            scopes,
            applications,
            expires_at: input.expires_at,
            renewal,
            secret: stored,
            now,
        };
        let effects = self.change(
            actor,
            AuditAction::TokenCreated,
            Target::new(TargetType::Token, token.id, owner.id),
            serde_json::json!({
                "name": token.name,
                "scopes": token.scopes.iter().collect::<Vec<_>>(),
                "applications": token.applications,
                "expiresAt": token.expires_at.map(super::audit::rfc3339),
                "autoRenewal": token.renewal.is_some(),
            }),
        );
        match self
            .inner
            .store
            .insert_token(&token, self.inner.settings.max_tokens_per_user, &effects)
            .await?
        {
            InsertToken::Inserted(token) => Ok(IssuedToken {
                view: self.view_token(token),
                secret,
                callback_secret,
            }),
            InsertToken::LimitReached => Err(Error::ResourceExhausted {
                message: "Maximum number of API tokens reached".into(),
                retry_after: None,
            }),
        }
    }

    /// A page of the caller's tokens (or, for an admin naming `user_id`,
    /// that user's), oldest first.
    pub async fn list_tokens(
        &self,
        actor: &Actor,
        user_id: Option<Uuid>,
        query: TokenQuery,
    ) -> Result<Page<TokenView>> {
        let caller = actor.principal()?;
        let owner = self.token_owner(caller, user_id).await?.id;
        self.token_page(Some(owner), query).await
    }

    /// A page of every user's tokens (or one user's, `user_id`), for an
    /// administrator: those an operator must look at are found by
    /// `expiring_within_days` and `never_expires`.
    pub async fn list_all_tokens(
        &self,
        actor: &Actor,
        user_id: Option<Uuid>,
        query: TokenQuery,
    ) -> Result<Page<TokenView>> {
        self.require_admin(actor)?;
        self.token_page(user_id, query).await
    }

    async fn token_page(&self, owner: Option<Uuid>, query: TokenQuery) -> Result<Page<TokenView>> {
        let now = self.inner.clock.now();
        let days = |field: &str, d: Option<i64>| -> Result<Option<Duration>> {
            match d {
                None => Ok(None),
                Some(d) if (0..=MAX_FILTER_DAYS).contains(&d) => Ok(Some(Duration::days(d))),
                Some(_) => Err(Error::invalid(
                    field,
                    format!("must be a whole number of days (0-{MAX_FILTER_DAYS})"),
                )),
            }
        };
        let filter = TokenFilter {
            owner,
            status: query.status,
            unused_since: days("unusedForDays", query.unused_for_days)?.map(|d| now - d),
            expiring_by: days("expiringWithinDays", query.expiring_within_days)?.map(|d| now + d),
            never_expires: query.never_expires,
        };
        let rows = self
            .inner
            .store
            .list_tokens(&filter, &query.page.probe(), now)
            .await?;
        Ok(Page::of(rows, &query.page, |t| PageKey {
            created_at: t.created_at,
            id: t.id,
        })
        .map(|t| self.view_token(t)))
    }

    pub async fn get_token(
        &self,
        actor: &Actor,
        user_id: Option<Uuid>,
        id: Uuid,
    ) -> Result<TokenView> {
        let caller = actor.principal()?;
        Ok(self.view_token(self.owned_token(caller, user_id, id).await?.0))
    }

    pub async fn update_token(
        &self,
        actor: &Actor,
        user_id: Option<Uuid>,
        id: Uuid,
        input: UpdateToken,
    ) -> Result<(TokenView, Option<PlainSecret>)> {
        let caller = actor.principal()?;
        // A new renewal policy decides where the token's renewed secrets
        // go: only a credential as strong as the token may set one.
        let (token, _) = if matches!(input.renewal, Some(Some(_))) {
            self.covered_token(caller, user_id, id).await?
        } else {
            self.owned_token(caller, user_id, id).await?
        };
        let now = self.inner.clock.now();
        let mut update = TokenUpdate {
            name: input
                .name
                .map(|n| validate::required_text("name", &n, MAX_NAME_LEN))
                .transpose()?,
            description: input.description.map(parse_description).transpose()?,
            ..TokenUpdate::default()
        };
        match input.expires_at {
            None => {}
            Some(None) if token.expires_at.is_none() => {}
            Some(None) => {
                return Err(Error::invalid(
                    "expiresAt",
                    "may only move earlier; it cannot be removed",
                ));
            }
            Some(Some(at)) => {
                if at <= now {
                    return Err(Error::invalid("expiresAt", "must be in the future"));
                }
                if token.expires_at.is_some_and(|current| at > current) {
                    return Err(Error::invalid("expiresAt", "may only move earlier"));
                }
                self.check_lifetime(Some(at), now)?;
                update.expires_at = Some(at);
            }
        }
        let mut callback_secret = None;
        if let Some(renewal) = input.renewal {
            update.renewal = Some(match renewal {
                Some(r) => {
                    let (policy, secret) = self.parse_renewal(r, token.renewal.as_ref())?;
                    callback_secret = secret;
                    Some(policy)
                }
                None => None,
            });
        }
        if token.state == crate::model::TokenState::Deactivated && !update.is_empty() {
            // Names and descriptions may still be corrected for the audit trail.
            if update.expires_at.is_some() || update.renewal.is_some() {
                return Err(Error::FailedPrecondition("the token is deactivated".into()));
            }
        }
        let token = if update.is_empty() {
            token
        } else {
            let changed: Vec<&str> = [
                ("name", update.name.is_some()),
                ("description", update.description.is_some()),
                ("expiresAt", update.expires_at.is_some()),
                ("renewal", update.renewal.is_some()),
            ]
            .into_iter()
            .filter_map(|(field, set)| set.then_some(field))
            .collect();
            let effects = self.change(
                actor,
                AuditAction::TokenUpdated,
                Target::new(TargetType::Token, id, token.user_id),
                serde_json::json!({ "fields": changed }),
            );
            let token = self
                .inner
                .store
                .update_token(id, &update, now, &effects)
                .await?
                .ok_or_else(not_found)?;
            if update.expires_at.is_some() {
                self.invalidate(Invalidation::Credential(id)).await;
            }
            token
        };
        Ok((self.view_token(token), callback_secret))
    }

    /// Gives the token a new secret. The old one keeps working for the grace
    /// period (default 7 days, 0 to 30); an older previous secret dies now.
    pub async fn rotate_token(
        &self,
        actor: &Actor,
        user_id: Option<Uuid>,
        id: Uuid,
        grace_seconds: Option<i64>,
    ) -> Result<IssuedToken> {
        let caller = actor.principal()?;
        let grace = match grace_seconds {
            None => self.inner.settings.default_grace,
            Some(s) if s < 0 || Duration::seconds(s) > self.inner.settings.max_grace => {
                return Err(Error::invalid(
                    "gracePeriodSeconds",
                    format!(
                        "must be between 0 and {}",
                        self.inner.settings.max_grace.whole_seconds()
                    ),
                ));
            }
            Some(s) => Duration::seconds(s),
        };
        let (token, _) = self.covered_token(caller, user_id, id).await?;
        let now = self.inner.clock.now();
        self.require_usable(&token, now)?;
        // A rotation never takes a token past the lifetime cap: a token
        // older than the policy gets the cap's expiry with its new secret.
        let expires_by = self.inner.settings.max_token_lifetime.map(|cap| now + cap);
        if expires_by.is_none() && token.expires_at.is_none() {
            self.check_lifetime(None, now)?;
        }
        let (secret, stored) = self.new_secret();
        let previous_until = grace_end(now, grace);
        let effects = self.change(
            actor,
            AuditAction::TokenRotated,
            Target::new(TargetType::Token, id, token.user_id),
            serde_json::json!({
                "gracePeriodSeconds": grace.whole_seconds(),
                "previousExpiresAt": previous_until.map(super::audit::rfc3339),
            }),
        );
        let token = self
            .inner
            .store
            .rotate_token(id, &stored, previous_until, expires_by, now, &effects)
            .await?
            .ok_or_else(not_found)?;
        // The old secret's answer now ends with the grace period, or now.
        self.invalidate(Invalidation::Credential(id)).await;
        Ok(IssuedToken {
            view: self.view_token(token),
            secret,
            callback_secret: None,
        })
    }

    pub async fn revoke_previous(
        &self,
        actor: &Actor,
        user_id: Option<Uuid>,
        id: Uuid,
    ) -> Result<TokenView> {
        let caller = actor.principal()?;
        let (token, _) = self.owned_token(caller, user_id, id).await?;
        let now = self.inner.clock.now();
        let effects = self.change(
            actor,
            AuditAction::TokenPreviousRevoked,
            Target::new(TargetType::Token, id, token.user_id),
            serde_json::Value::Null,
        );
        let token = self
            .inner
            .store
            .revoke_previous(id, now, &effects)
            .await?
            .ok_or_else(not_found)?;
        self.invalidate(Invalidation::Credential(id)).await;
        Ok(self.view_token(token))
    }

    /// Issues a new token (new id and secret, same scopes, applications,
    /// renewal policy and lifetime) and sets the current token to expire at
    /// `expire_current_at`. A token is renewed once (its successor may be
    /// renewed in turn). A renewal replaces a token, so it is allowed at the
    /// token limit, but then the current token may live at most the longest
    /// grace period on.
    pub async fn renew_token(
        &self,
        actor: &Actor,
        user_id: Option<Uuid>,
        id: Uuid,
        input: RenewToken,
    ) -> Result<IssuedToken> {
        let caller = actor.principal()?;
        let (current, _) = self.covered_token(caller, user_id, id).await?;
        let now = self.inner.clock.now();
        self.require_usable(&current, now)?;
        if current.renewed_to.is_some() {
            return Err(already_renewed());
        }
        let name = validate::required_text("name", &input.name, MAX_NAME_LEN)?;
        let description = parse_description(input.description)?;
        if input.expire_current_at < now {
            return Err(Error::invalid("expireCurrentAt", "must not be in the past"));
        }
        if current
            .expires_at
            .is_some_and(|at| input.expire_current_at > at)
        {
            return Err(Error::invalid(
                "expireCurrentAt",
                "must not be later than the token's current expiry",
            ));
        }
        // The replacement lives as long as the original was meant to, but
        // never past the lifetime cap.
        let cap = self.inner.settings.max_token_lifetime.map(|cap| now + cap);
        let expires_at = match (
            current.expires_at.map(|at| now + (at - current.created_at)),
            cap,
        ) {
            (Some(at), Some(cap)) => Some(at.min(cap)),
            (at, cap) => at.or(cap),
        };
        self.check_lifetime(expires_at, now)?;
        let (secret, stored) = self.new_secret();
        let replacement = NewApiToken {
            id: random::uuid(self.inner.random.as_ref()),
            user_id: current.user_id,
            name,
            description,
            scopes: current.scopes.clone(),
            applications: current.applications.clone(),
            expires_at,
            // The successor starts its own schedule.
            renewal: current.renewal.clone().map(|r| RenewalPolicy {
                next_renewal_at: now + r.period(),
                last_renewed_at: None,
                ..r
            }),
            secret: stored,
            now,
        };
        let settings = &self.inner.settings;
        let limits = RenewalLimit {
            limit: settings.max_tokens_per_user,
            latest_at_limit: now + settings.max_grace,
        };
        let effects = self.change(
            actor,
            AuditAction::TokenRenewed,
            Target::new(TargetType::Token, id, current.user_id),
            serde_json::json!({
                "newTokenId": replacement.id,
                "expireCurrentAt": super::audit::rfc3339(input.expire_current_at),
            }),
        );
        let renewed = match self
            .inner
            .store
            .renew_token(id, &replacement, input.expire_current_at, limits, &effects)
            .await?
        {
            RenewOutcome::Renewed { new, .. } => new,
            RenewOutcome::NotFound => return Err(not_found()),
            RenewOutcome::AlreadyRenewed => return Err(already_renewed()),
            RenewOutcome::LimitReached => {
                return Err(Error::invalid(
                    "expireCurrentAt",
                    format!(
                        "at the limit of {} active tokens, the current token may stay valid \
                         at most {} seconds after a renewal",
                        settings.max_tokens_per_user,
                        settings.max_grace.whole_seconds()
                    ),
                ));
            }
        };
        self.invalidate(Invalidation::Credential(id)).await;
        Ok(IssuedToken {
            view: self.view_token(renewed),
            secret,
            callback_secret: None,
        })
    }

    /// Deactivates a token for good; it stays listed for audit.
    pub async fn deactivate_token(
        &self,
        actor: &Actor,
        user_id: Option<Uuid>,
        id: Uuid,
    ) -> Result<TokenView> {
        let caller = actor.principal()?;
        let (token, _) = self.owned_token(caller, user_id, id).await?;
        let effects = self.change(
            actor,
            AuditAction::TokenDeactivated,
            Target::new(TargetType::Token, id, token.user_id),
            serde_json::Value::Null,
        );
        let token = self
            .inner
            .store
            .deactivate_token(id, self.inner.clock.now(), &effects)
            .await?
            .ok_or_else(not_found)?;
        self.invalidate(Invalidation::Credential(id)).await;
        Ok(self.view_token(token))
    }

    pub async fn delete_token(&self, actor: &Actor, user_id: Option<Uuid>, id: Uuid) -> Result<()> {
        let caller = actor.principal()?;
        let (token, _) = self.owned_token(caller, user_id, id).await?;
        let effects = self.change(
            actor,
            AuditAction::TokenDeleted,
            Target::new(TargetType::Token, id, token.user_id),
            serde_json::json!({ "name": token.name }),
        );
        if self.inner.store.delete_token(id, &effects).await? {
            self.invalidate(Invalidation::Credential(id)).await;
            Ok(())
        } else {
            Err(not_found())
        }
    }

    /// The credential policy on an expiry a token is to have: with
    /// `require_token_expiry` or a lifetime cap, "never" is refused; with a
    /// cap, at most that far from now.
    fn check_lifetime(
        &self,
        expires_at: Option<OffsetDateTime>,
        now: OffsetDateTime,
    ) -> Result<()> {
        let settings = &self.inner.settings;
        match (expires_at, settings.max_token_lifetime) {
            (None, cap) if cap.is_some() || settings.require_token_expiry => Err(Error::invalid(
                "expiresAt",
                "is required: tokens must expire here (set one, e.g. with PATCH expiresAt)",
            )),
            (Some(at), Some(cap)) if at > now + cap => Err(Error::invalid(
                "expiresAt",
                format!(
                    "must be at most {} days from now (max_token_lifetime_days)",
                    cap.whole_days()
                ),
            )),
            _ => Ok(()),
        }
    }

    pub(super) fn require_usable(&self, token: &ApiToken, now: OffsetDateTime) -> Result<()> {
        match token.status(now) {
            TokenStatus::Active => Ok(()),
            TokenStatus::Deactivated => {
                Err(Error::FailedPrecondition("the token is deactivated".into()))
            }
            TokenStatus::Expired => Err(Error::FailedPrecondition(
                "the token has expired; create a new one".into(),
            )),
        }
    }

    /// Every application name, for forms.
    pub fn application_names(&self) -> BTreeSet<String> {
        self.inner
            .policy
            .applications()
            .map(str::to_owned)
            .collect()
    }
}

fn parse_description(description: Option<String>) -> Result<Option<String>> {
    description
        .map(|d| validate::optional_text("description", &d, MAX_DESCRIPTION_LEN))
        .transpose()
        .map(|d| d.filter(|d| !d.is_empty()))
}

fn not_found() -> Error {
    Error::NotFound("token not found".into())
}

pub(super) fn already_renewed() -> Error {
    Error::FailedPrecondition(
        "the token has already been renewed; renew its successor instead".into(),
    )
}
