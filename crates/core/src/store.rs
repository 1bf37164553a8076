//! The storage ports. Each backend (one crate each) implements [`Store`]; the
//! services hold an `Arc<dyn Store>` and never see SQL.
//!
//! Rules every backend follows, checked by the shared conformance suite:
//! - times come from the caller (the services' `Clock`), never from the
//!   database's own clock;
//! - every method that changes several rows does so in one transaction;
//! - only digests of secrets are stored, never a secret;
//! - a method that takes [`SideEffects`] writes them in the change's own
//!   transaction, and only when it changes something (a deletion of nothing,
//!   a deactivation of a token already deactivated, a revocation of a token
//!   already revoked write none).

use async_trait::async_trait;
use time::OffsetDateTime;
use uuid::Uuid;

use crate::effects::SideEffects;
use crate::error::StoreError;
use crate::model::{
    ApiToken, AttemptVerdict, AuditEvent, AuditFilter, AuthCode, DeliveryAttempt, NewApiToken,
    NewAuthCode, NewOAuthApp, NewOAuthToken, NewOutboxMessage, NewSession, NewTokenSecret, NewUser,
    OAuthApp, OAuthAppUpdate, OAuthToken, OutboxMessage, PageRequest, RenewalKey,
    RenewalRedemption, RenewalStart, SecretSlot, Session, SessionDevice, TokenCredential,
    TokenFilter, TokenUpdate, TokenUsage, User, UserFilter, UserUpdate,
};
use crate::scope::ScopeSet;
use crate::secret::Digest;

pub type StoreResult<T> = Result<T, StoreError>;

/// What a change to a user that could remove an admin did.
// Returned once per change and matched at once; boxing would buy nothing.
#[allow(clippy::large_enum_variant)]
#[derive(Debug)]
pub enum UserChange {
    /// The user as it is now (for a deletion: as it was).
    Done(User),
    NotFound,
    /// The change would leave no active user with the `admin` role;
    /// nothing was written.
    LastAdmin,
}

/// An OAuth token read with what judging it needs (the verification path's
/// one query on a cache miss): its app's current scope and its user.
#[derive(Debug, Clone)]
pub struct OAuthTokenGrant {
    pub token: OAuthToken,
    /// The scope its app holds now (it may have shrunk since issuance);
    /// `None` for a token issued to no app.
    pub app_scopes: Option<ScopeSet>,
    pub owner: User,
}

#[async_trait]
pub trait UserStore: Send + Sync {
    /// Inserts a user; [`StoreError::Conflict`] if the username (compared
    /// case-insensitively) is taken.
    async fn insert_user(&self, user: &NewUser, effects: &SideEffects) -> StoreResult<User>;
    async fn find_user(&self, id: Uuid) -> StoreResult<Option<User>>;
    /// The user and their password hash, by username (case-insensitive).
    async fn find_user_for_login(&self, username: &str) -> StoreResult<Option<(User, String)>>;
    /// The user's password hash.
    async fn find_password_hash(&self, id: Uuid) -> StoreResult<Option<String>>;
    /// Applies `update`, unless the user is an active admin, the update
    /// removes that, and no other active admin would remain: checked
    /// atomically with the write, so two admins demoting each other at once
    /// cannot both succeed.
    async fn update_user(
        &self,
        id: Uuid,
        update: &UserUpdate,
        now: OffsetDateTime,
        effects: &SideEffects,
    ) -> StoreResult<UserChange>;
    /// Deletes the user with every credential of theirs (sessions, tokens,
    /// apps and what the apps issued), under the same last-admin rule.
    async fn delete_user(&self, id: Uuid, effects: &SideEffects) -> StoreResult<UserChange>;
    /// The ids of the user's OAuth apps (whose issued tokens a deletion of
    /// the user ends).
    async fn list_app_ids_of(&self, user_id: Uuid) -> StoreResult<Vec<Uuid>>;
    /// A page of users matching `filter`, ordered by `(created_at, id)`.
    async fn list_users(&self, filter: &UserFilter, page: &PageRequest) -> StoreResult<Vec<User>>;
}

#[async_trait]
pub trait SessionStore: Send + Sync {
    async fn insert_session(&self, session: &NewSession, effects: &SideEffects) -> StoreResult<()>;
    async fn find_session(&self, digest: &Digest) -> StoreResult<Option<Session>>;
    /// As [`Self::find_session`], with the session's user, in one query.
    async fn find_session_with_owner(
        &self,
        digest: &Digest,
    ) -> StoreResult<Option<(Session, User)>>;
    /// Moves `last_seen_at` forward (never back).
    async fn touch_session(&self, id: Uuid, at: OffsetDateTime) -> StoreResult<()>;
    /// Returns whether a session was deleted.
    async fn delete_session(&self, id: Uuid, effects: &SideEffects) -> StoreResult<bool>;
    /// The sessions of `user_id` that have not ended by `now` (absolute
    /// end after `now`, last seen at or after `idle_cutoff`), last seen
    /// first.
    async fn list_sessions_of(
        &self,
        user_id: Uuid,
        idle_cutoff: OffsetDateTime,
        now: OffsetDateTime,
    ) -> StoreResult<Vec<SessionDevice>>;
    /// Deletes session `id` if it is `user_id`'s; returns whether it was.
    async fn delete_session_of(
        &self,
        user_id: Uuid,
        id: Uuid,
        effects: &SideEffects,
    ) -> StoreResult<bool>;
    /// Deletes every session of `user_id` but `except`; returns how many.
    async fn delete_sessions_of(&self, user_id: Uuid, except: Option<Uuid>) -> StoreResult<u64>;
    /// Deletes sessions that ended before `idle_cutoff` (last seen) or `now`
    /// (absolute); returns how many.
    async fn delete_ended_sessions(
        &self,
        idle_cutoff: OffsetDateTime,
        now: OffsetDateTime,
    ) -> StoreResult<u64>;
}

/// What [`TokenStore::insert_token`] did.
// Returned once per creation and matched at once; boxing would buy nothing.
#[allow(clippy::large_enum_variant)]
#[derive(Debug)]
pub enum InsertToken {
    Inserted(ApiToken),
    /// The owner already holds `limit` active tokens.
    LimitReached,
}

/// What [`TokenStore::renew_token`] did.
// Returned once per renewal and matched at once; boxing would buy nothing.
#[allow(clippy::large_enum_variant)]
#[derive(Debug)]
pub enum RenewOutcome {
    /// The old token as it is now (expiring at `expire_current_at`, pointing
    /// at its successor) and the new one.
    Renewed { old: ApiToken, new: ApiToken },
    /// No such token.
    NotFound,
    /// The token was renewed before; nothing was written.
    AlreadyRenewed,
    /// The owner holds `limit` active tokens and the old one would stay
    /// valid past `latest_at_limit`; nothing was written.
    LimitReached,
}

/// The limit a renewal obeys: a renewal replaces a token, so it may add one
/// over `limit` for a while, but only until `latest_at_limit`.
#[derive(Debug, Clone, Copy)]
pub struct RenewalLimit {
    pub limit: u32,
    pub latest_at_limit: OffsetDateTime,
}

#[async_trait]
pub trait TokenStore: Send + Sync {
    /// Inserts a token with its current secret, unless the owner already has
    /// `limit` active, unexpired tokens (checked atomically with the insert).
    async fn insert_token(
        &self,
        token: &NewApiToken,
        limit: u32,
        effects: &SideEffects,
    ) -> StoreResult<InsertToken>;
    async fn find_token(&self, id: Uuid) -> StoreResult<Option<ApiToken>>;
    /// The token a secret digest belongs to, and which of its secrets it is.
    async fn find_token_by_secret(
        &self,
        digest: &Digest,
    ) -> StoreResult<Option<(ApiToken, SecretSlot)>>;
    /// What verifying a secret reads on a cache miss, in one query: of the
    /// token the digest belongs to, what its check needs (with the slot
    /// that matched), and the token's owner. Equals
    /// `TokenCredential::of(token, slot)` for what
    /// [`Self::find_token_by_secret`] finds.
    async fn find_token_credential(
        &self,
        digest: &Digest,
    ) -> StoreResult<Option<(TokenCredential, User)>>;
    /// A page of tokens matching `filter` as of `now`, ordered by
    /// `(created_at, id)`.
    async fn list_tokens(
        &self,
        filter: &TokenFilter,
        page: &PageRequest,
        now: OffsetDateTime,
    ) -> StoreResult<Vec<ApiToken>>;
    async fn update_token(
        &self,
        id: Uuid,
        update: &TokenUpdate,
        now: OffsetDateTime,
        effects: &SideEffects,
    ) -> StoreResult<Option<ApiToken>>;
    /// Makes `secret` current. The old current secret becomes the previous one
    /// until `previous_until`, or is dropped when that is `None`; any older
    /// previous secret is dropped. With `expires_by`, the token's expiry
    /// becomes the sooner of its own (none: never) and `expires_by`, in the
    /// same write (a lifetime cap reaching a rotated token).
    async fn rotate_token(
        &self,
        id: Uuid,
        secret: &NewTokenSecret,
        previous_until: Option<OffsetDateTime>,
        expires_by: Option<OffsetDateTime>,
        now: OffsetDateTime,
        effects: &SideEffects,
    ) -> StoreResult<Option<ApiToken>>;
    /// Drops the previous secret, if any.
    async fn revoke_previous(
        &self,
        id: Uuid,
        now: OffsetDateTime,
        effects: &SideEffects,
    ) -> StoreResult<Option<ApiToken>>;
    async fn deactivate_token(
        &self,
        id: Uuid,
        now: OffsetDateTime,
        effects: &SideEffects,
    ) -> StoreResult<Option<ApiToken>>;
    /// Returns whether a token was deleted. Its secrets go with it.
    async fn delete_token(&self, id: Uuid, effects: &SideEffects) -> StoreResult<bool>;
    /// Inserts `replacement`, sets the old token's expiry to
    /// `expire_current_at` and records `replacement` as its successor, in one
    /// transaction, unless the old token is gone, was renewed before, or the
    /// owner already holds `limits.limit` active, unexpired tokens (counted
    /// at `replacement.now`, the old one included) and `expire_current_at`
    /// is after `limits.latest_at_limit`. Of concurrent renewals of one
    /// token, at most one succeeds.
    async fn renew_token(
        &self,
        id: Uuid,
        replacement: &NewApiToken,
        expire_current_at: OffsetDateTime,
        limits: RenewalLimit,
        effects: &SideEffects,
    ) -> StoreResult<RenewOutcome>;
    /// Writes a batch of recorded uses; later uses win, earlier ones never
    /// overwrite later ones.
    async fn record_token_usage(&self, batch: &[TokenUsage]) -> StoreResult<()>;
    /// Deletes previous secrets whose grace period ended before `now`.
    async fn purge_ended_grace(&self, now: OffsetDateTime) -> StoreResult<u64>;
}

/// What [`OAuthStore::insert_app`] did.
#[derive(Debug)]
pub enum InsertApp {
    Inserted(Box<OAuthApp>),
    /// The owner already holds `limit` apps.
    LimitReached,
}

#[async_trait]
pub trait OAuthStore: Send + Sync {
    /// Inserts an app unless the owner already has `limit` apps (checked
    /// atomically with the insert).
    async fn insert_app(
        &self,
        app: &NewOAuthApp,
        limit: u32,
        effects: &SideEffects,
    ) -> StoreResult<InsertApp>;
    async fn find_app(&self, client_id: Uuid) -> StoreResult<Option<OAuthApp>>;
    /// As [`Self::find_app`], with the app's owner, in one query.
    async fn find_app_with_owner(&self, client_id: Uuid) -> StoreResult<Option<(OAuthApp, User)>>;
    /// A page of one user's apps (every user's for `None`), ordered by
    /// `(created_at, client_id)`.
    async fn list_apps(
        &self,
        owner: Option<Uuid>,
        page: &PageRequest,
    ) -> StoreResult<Vec<OAuthApp>>;
    async fn update_app(
        &self,
        client_id: Uuid,
        update: &OAuthAppUpdate,
        now: OffsetDateTime,
        effects: &SideEffects,
    ) -> StoreResult<Option<OAuthApp>>;
    /// Replaces the app's secret; the old one stops matching at once.
    async fn rotate_app_secret(
        &self,
        client_id: Uuid,
        digest: &Digest,
        hint: &str,
        now: OffsetDateTime,
        effects: &SideEffects,
    ) -> StoreResult<Option<OAuthApp>>;
    /// Deletes the app with every code and token issued to it. Returns
    /// whether it existed.
    async fn delete_app(&self, client_id: Uuid, effects: &SideEffects) -> StoreResult<bool>;

    async fn insert_code(&self, code: &NewAuthCode, effects: &SideEffects) -> StoreResult<()>;
    async fn find_code(&self, digest: &Digest) -> StoreResult<Option<AuthCode>>;
    /// Marks the code used and inserts `tokens`, in one transaction, only if
    /// the code was not used yet. Returns whether it was fresh (on `false`
    /// nothing was inserted).
    async fn redeem_code(
        &self,
        code_id: Uuid,
        tokens: &[NewOAuthToken],
        now: OffsetDateTime,
    ) -> StoreResult<bool>;

    /// Stores access tokens issued without a refresh token (client_credentials,
    /// the password grant), all or none; the token writers' group commits.
    /// Their holders can always obtain new ones with what they authenticated
    /// with, so a store may commit them without waiting for its log to reach
    /// the disk (PostgreSQL's `AccessTokenCommit::Async`), never without
    /// making them visible to every reader at once.
    async fn insert_oauth_tokens(&self, tokens: &[NewOAuthToken]) -> StoreResult<()>;
    /// The token with this id (a secret's locator) if its digest is
    /// `digest` (compared in constant time), in any state (used, revoked,
    /// expired; until purged); the caller judges.
    async fn find_oauth_token(&self, id: Uuid, digest: &Digest) -> StoreResult<Option<OAuthToken>>;
    /// As [`Self::find_oauth_token`], with its app's scope and its user, in
    /// one query.
    async fn find_oauth_token_grant(
        &self,
        id: Uuid,
        digest: &Digest,
    ) -> StoreResult<Option<OAuthTokenGrant>>;
    /// Marks the refresh token used and inserts `tokens`, in one transaction,
    /// only if it was neither used nor revoked. Returns whether it was fresh
    /// (on `false` nothing was inserted).
    async fn rotate_refresh_token(
        &self,
        refresh_id: Uuid,
        tokens: &[NewOAuthToken],
        now: OffsetDateTime,
    ) -> StoreResult<bool>;
    /// Revokes one token; returns whether it was live before.
    async fn revoke_oauth_token(
        &self,
        id: Uuid,
        now: OffsetDateTime,
        effects: &SideEffects,
    ) -> StoreResult<bool>;
    /// Revokes every token of a family; returns the ids revoked now.
    async fn revoke_family(
        &self,
        family_id: Uuid,
        now: OffsetDateTime,
        effects: &SideEffects,
    ) -> StoreResult<Vec<Uuid>>;
    /// Deletes codes with `expires_at <= code_cutoff` (used codes are kept a
    /// while after expiry so a replay can still revoke what they issued) and
    /// tokens with `expires_at <= token_cutoff`. Returns how many rows went.
    async fn purge_oauth(
        &self,
        code_cutoff: OffsetDateTime,
        token_cutoff: OffsetDateTime,
    ) -> StoreResult<u64>;
}

/// Named leases: how several instances sharing one database agree that
/// exactly one of them runs a periodic job (housekeeping now; renewal scans
/// and e-mail sends later) in each period, and how a crashed instance's job
/// is picked up by another once its lease expires.
///
/// A lease is a row `(name, holder, expires_at)`. Each instance names itself
/// with a holder id of its own (random per process) and, at every tick of the
/// job, calls [`LeaseStore::try_acquire_lease`] with a `ttl` a little longer
/// than the period: the instance that holds the lease keeps extending it and
/// runs the job; the others are refused until it stops extending it (it
/// stopped or crashed) and the lease expires. A lease does not fence the work
/// itself: a job that may outlast its `ttl` must be safe to run twice.
///
/// Queues of items (the outbox, later) do not use leases: each item is
/// claimed by one row-level statement, `FOR UPDATE SKIP LOCKED` on
/// PostgreSQL and `UPDATE … RETURNING` under `BEGIN IMMEDIATE` on SQLite.
///
/// Times come from the caller's clock, so the instances' clocks must agree to
/// well within the margin between the period and the `ttl`.
#[async_trait]
pub trait LeaseStore: Send + Sync {
    /// Takes the lease `name` for `holder` until `now + ttl`, atomically,
    /// if it is free, expired (`expires_at <= now`) or already held by
    /// `holder` (then it is extended to `now + ttl`). Returns whether
    /// `holder` holds it now; `false` means another holder's lease is still
    /// live, and nothing changed. Of several concurrent calls by different
    /// holders, at most one gets `true`. A backend that keeps coarser times
    /// rounds the end of the lease up, never down.
    async fn try_acquire_lease(
        &self,
        name: &str,
        holder: &str,
        now: OffsetDateTime,
        ttl: time::Duration,
    ) -> StoreResult<bool>;
    /// Frees the lease `name` if `holder` holds it, so that another holder
    /// may take it at once; otherwise (held by another, or by nobody) does
    /// nothing.
    async fn release_lease(&self, name: &str, holder: &str) -> StoreResult<()>;
}

/// What [`AttemptStore::reserve_attempt`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AttemptOutcome {
    /// Counted in the window that started then.
    Reserved { window_start: OffsetDateTime },
    /// The key's window is used up until then; nothing was counted.
    Refused { retry_at: OffsetDateTime },
}

/// Counts of attempts (failed sign-ins, client authentications) per key in
/// fixed windows, shared by every instance that uses the same counter (see
/// `service::throttle`). A reservation is atomic: of concurrent
/// reservations of one key, at most `limit` per window succeed.
#[async_trait]
pub trait AttemptStore: Send + Sync {
    /// Counts one attempt of `key` unless `limit` are counted in its current
    /// window (which starts anew at `now` once `window` has passed).
    async fn reserve_attempt(
        &self,
        key: &str,
        limit: u32,
        window: time::Duration,
        now: OffsetDateTime,
    ) -> StoreResult<AttemptOutcome>;
    /// Uncounts one attempt of `key`, if its window is still the one that
    /// started at `window_start`.
    async fn release_attempt(&self, key: &str, window_start: OffsetDateTime) -> StoreResult<()>;
    /// Forgets every attempt of `key`.
    async fn reset_attempts(&self, key: &str) -> StoreResult<()>;
    /// Forgets the windows that started at or before `started_before`.
    async fn purge_attempts(&self, started_before: OffsetDateTime) -> StoreResult<u64>;
}

/// The audit log. Events of changes are written by the changes' own store
/// methods, in their transactions; this writes events that stand alone
/// (a refused sign-in) and reads them back.
#[async_trait]
pub trait AuditStore: Send + Sync {
    /// Writes events that belong to no change.
    async fn insert_audit_events(&self, events: &[AuditEvent]) -> StoreResult<()>;
    /// A page of events matching `filter`, ordered by `(at, id)`.
    async fn list_audit_events(
        &self,
        filter: &AuditFilter,
        page: &PageRequest,
    ) -> StoreResult<Vec<AuditEvent>>;
    /// Deletes events from before `before`; returns how many.
    async fn purge_audit_events(&self, before: OffsetDateTime) -> StoreResult<u64>;
}

/// The outbox (see [`crate::model::outbox`]): messages written with the
/// changes that cause them, claimed by one worker at a time, delivered at
/// least once, each attempt recorded.
///
/// A claim is a holder and an end (`claim_expires_at`): while it lasts no
/// other holder gets the message; past it (the holder died) another may
/// take it over. PostgreSQL claims with `FOR UPDATE SKIP LOCKED`, SQLite
/// under its single writer.
#[async_trait]
pub trait OutboxStore: Send + Sync {
    /// Writes messages that belong to no other change (an expiry notice);
    /// one whose `dedupe_key` exists already is skipped. Returns how many
    /// were written.
    async fn insert_outbox_messages(&self, messages: &[NewOutboxMessage]) -> StoreResult<u64>;
    /// Claims up to `limit` pending messages due at `now` (`next_attempt_at
    /// <= now`) that nobody holds, or whose claim ended (`claim_expires_at
    /// <= now`), for `holder` until `now + claim`, oldest due first. Of
    /// concurrent claimers, each message goes to one.
    async fn claim_outbox(
        &self,
        holder: &str,
        now: OffsetDateTime,
        claim: time::Duration,
        limit: u32,
    ) -> StoreResult<Vec<OutboxMessage>>;
    /// Records `attempt` and, if `holder` still holds the message's claim,
    /// applies `verdict` (delivered, pending again at the retry time, or
    /// failed), counts the attempt and frees the claim. Returns whether the
    /// verdict was applied (`false`: the claim was taken over meanwhile;
    /// the attempt is recorded all the same).
    async fn finish_attempt(
        &self,
        holder: &str,
        attempt: &DeliveryAttempt,
        verdict: AttemptVerdict,
    ) -> StoreResult<bool>;
    /// A page of the messages about token `token_id`, newest first (by
    /// `(created_at, id)` descending; `page.after` is the last key seen).
    async fn list_deliveries(
        &self,
        token_id: Uuid,
        page: &PageRequest,
    ) -> StoreResult<Vec<OutboxMessage>>;
    async fn find_delivery(&self, id: Uuid) -> StoreResult<Option<OutboxMessage>>;
    /// The attempts recorded for a message, oldest first.
    async fn list_attempts(&self, message_id: Uuid) -> StoreResult<Vec<DeliveryAttempt>>;
    /// How many messages are pending.
    async fn outbox_depth(&self) -> StoreResult<u64>;
}

/// What [`RenewalStore::redeem_renewal_key`] did.
// Returned once per redemption and matched at once; boxing would buy nothing.
#[allow(clippy::large_enum_variant)]
#[derive(Debug)]
pub enum Redeemed {
    /// The token with its new current secret.
    Renewed(ApiToken),
    /// The key was used, cancelled or expired meanwhile, or the token can no
    /// longer renew (deactivated, expired, renewed, policy removed);
    /// nothing was written.
    Refused,
}

/// Auto-renewal: one-time keys, their cycles and redemptions.
#[async_trait]
pub trait RenewalStore: Send + Sync {
    /// Ids of up to `limit` tokens whose renewal is due at `now`: a policy
    /// with `next_renewal_at <= now`, active, unexpired, not renewed.
    async fn due_renewals(&self, now: OffsetDateTime, limit: u32) -> StoreResult<Vec<Uuid>>;
    /// Starts a cycle in one transaction: only if the token still has a
    /// policy, is active, unexpired at `start.now`, not renewed, and (unless
    /// `start.force`) due; then the key is inserted, `next_renewal_at`
    /// becomes `start.retry_at` and `effects` are written. Returns whether
    /// it started; of concurrent starts of one due token, one does.
    async fn start_renewal(&self, start: &RenewalStart, effects: &SideEffects)
    -> StoreResult<bool>;
    /// The key with this digest, in any state.
    async fn find_renewal_key(&self, digest: &Digest) -> StoreResult<Option<RenewalKey>>;
    /// Redeems a key in one transaction: marks it used only if it is live
    /// at `now` and its token may still renew; then rotates the token's
    /// secret (the old one previous until `previous_until`), sets its expiry
    /// and next renewal, `last_renewed_at = now`, cancels the token's other
    /// live keys and writes `effects`. Of concurrent redemptions of one key,
    /// at most one succeeds.
    async fn redeem_renewal_key(
        &self,
        redemption: &RenewalRedemption,
        effects: &SideEffects,
    ) -> StoreResult<Redeemed>;
}

/// Everything Keyward keeps.
#[async_trait]
pub trait Store:
    UserStore
    + SessionStore
    + TokenStore
    + OAuthStore
    + LeaseStore
    + AuditStore
    + OutboxStore
    + RenewalStore
    + 'static
{
    /// Whether the database answers.
    async fn ping(&self) -> StoreResult<()>;
    /// A short name for logs and `/readyz`: `sqlite` or `postgres`.
    fn backend(&self) -> &'static str;
    /// How many write transactions are worth running at once: 1 where the
    /// database has one writer (SQLite), more where commits of concurrent
    /// transactions overlap (PostgreSQL flushes them in one WAL write).
    fn concurrent_writes(&self) -> usize {
        1
    }
}
