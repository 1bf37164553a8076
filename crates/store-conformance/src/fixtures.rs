//! Test data for the checks: fixed instants, fresh users, tokens, sessions and
//! real secrets (generated and hashed the way the services do), each with
//! random names and ids so that checks can share one database.

use keyward_core::effects::SideEffects;
use std::collections::BTreeSet;

use keyward_core::model::{
    ApiToken, NewApiToken, NewSession, NewTokenSecret, NewUser, RenewalPolicy, User, UserStatus,
    Username,
};
use keyward_core::random::{self, OsRandom, Random};
use keyward_core::secret::{PlainSecret, SecretHasher, SecretKind, ServerKey};
use keyward_core::store::{InsertToken, Store};
use time::OffsetDateTime;
use time::macros::datetime;
use uuid::Uuid;

/// The instant most checks start from. Fixed and far from the wall clock, so
/// a backend that reads its own clock instead of the caller's is caught.
pub const T0: OffsetDateTime = datetime!(2030-01-01 00:00 UTC);

/// The instant the sweeping checks (`delete_ended_sessions`,
/// `purge_ended_grace`) start from. Sweeps act on the whole database; rows
/// of the other checks (around [`T0`]) are far later, so they are never
/// swept by them.
pub const SWEEP_EPOCH: OffsetDateTime = datetime!(2001-01-01 00:00 UTC);

/// A fresh random id.
pub fn id() -> Uuid {
    random::uuid(&OsRandom)
}

/// `prefix` followed by random characters.
pub fn unique(prefix: &str) -> String {
    format!("{prefix}-{}", id().simple())
}

/// A secret as the services make it: the plaintext (shown once) and the
/// hashed form the store keeps.
#[derive(Debug, Clone)]
pub struct TestSecret {
    pub plain: PlainSecret,
    pub stored: NewTokenSecret,
}

/// A new random secret of `kind`, hashed under a random server key.
pub fn secret(kind: SecretKind) -> TestSecret {
    hashed(PlainSecret::generate(kind, &OsRandom))
}

/// A new random secret of a kind that carries a locator (OAuth access and
/// refresh tokens), locating the row `locator`.
pub fn located_secret(kind: SecretKind, locator: Uuid) -> TestSecret {
    hashed(PlainSecret::generate_located(kind, locator, &OsRandom))
}

fn hashed(plain: PlainSecret) -> TestSecret {
    let hasher = SecretHasher::new(&ServerKey::generate(&OsRandom));
    let stored = NewTokenSecret {
        digest: hasher.digest(&plain),
        hint: plain.hint(),
    };
    TestSecret { plain, stored }
}

/// A user to insert, named `user-<random>`, role `member`, active.
pub fn new_user(now: OffsetDateTime) -> NewUser {
    new_user_named(&unique("user"), now)
}

pub fn new_user_named(username: &str, now: OffsetDateTime) -> NewUser {
    NewUser {
        id: id(),
        username: Username::parse("username", username).expect("a valid test username"),
        password_hash: format!("$argon2id$v=19$m=19456,t=2,p=1$test${}", id().simple()),
        roles: vec!["member".to_owned()],
        status: UserStatus::Active,
        email: None,
        now,
    }
}

/// Inserts a fresh user.
pub async fn user(store: &dyn Store, now: OffsetDateTime) -> User {
    store
        .insert_user(&new_user(now), &SideEffects::none())
        .await
        .expect("insert_user of a fresh user")
}

/// A renewal policy with a random seed.
pub fn renewal(every_days: u32, mail_recipient: Option<&str>) -> RenewalPolicy {
    let mut secret_seed = vec![0u8; 32];
    OsRandom.fill(&mut secret_seed);
    RenewalPolicy {
        every_days,
        callback_url: format!("https://hooks.example.com/renew/{}", id().simple()),
        mail_recipient: mail_recipient.map(str::to_owned),
        secret_seed,
        next_renewal_at: T0 + time::Duration::days(i64::from(every_days)),
        last_renewed_at: None,
    }
}

/// A token to insert for `user_id` at `now`: no expiry, no renewal, two
/// scopes, no applications. Returns the plaintext of its secret too.
pub fn new_token(user_id: Uuid, now: OffsetDateTime) -> (NewApiToken, PlainSecret) {
    let secret = secret(SecretKind::ApiToken);
    let token = NewApiToken {
        id: id(),
        user_id,
        name: unique("token"),
        description: None,
        scopes: BTreeSet::from(["credentials.manage".to_owned(), "tokens.verify".to_owned()]),
        applications: BTreeSet::new(),
        expires_at: None,
        renewal: None,
        secret: secret.stored,
        now,
    };
    (token, secret.plain)
}

/// The same token expiring at `expires_at`.
pub fn expiring(mut token: NewApiToken, expires_at: OffsetDateTime) -> NewApiToken {
    token.expires_at = Some(expires_at);
    token
}

/// The token an insert produced; panics on [`InsertToken::LimitReached`].
pub fn inserted(outcome: InsertToken) -> ApiToken {
    match outcome {
        InsertToken::Inserted(token) => token,
        InsertToken::LimitReached => panic!("insert_token refused a token below the limit"),
    }
}

/// Inserts `token` with a limit high enough never to matter.
pub async fn insert(store: &dyn Store, token: &NewApiToken) -> ApiToken {
    inserted(
        store
            .insert_token(token, u32::MAX, &SideEffects::none())
            .await
            .expect("insert_token"),
    )
}

/// Inserts a fresh token for `user_id` at `now`; returns it with the
/// plaintext of its secret.
pub async fn token(
    store: &dyn Store,
    user_id: Uuid,
    now: OffsetDateTime,
) -> (ApiToken, TestSecret) {
    let (new, plain) = new_token(user_id, now);
    let stored = new.secret.clone();
    (insert(store, &new).await, TestSecret { plain, stored })
}

/// A session for `user_id` from `created_at` to `expires_at`, with the
/// plaintext of its secret.
pub fn new_session(
    user_id: Uuid,
    created_at: OffsetDateTime,
    expires_at: OffsetDateTime,
) -> (NewSession, PlainSecret) {
    let secret = secret(SecretKind::Session);
    let session = NewSession {
        id: id(),
        user_id,
        digest: secret.stored.digest,
        created_at,
        expires_at,
        ip: Some("192.0.2.7".into()),
        user_agent: Some("Mozilla/5.0 (X11; Linux x86_64) Chromium".into()),
    };
    (session, secret.plain)
}
