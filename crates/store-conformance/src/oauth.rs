//! Checks of [`keyward_core::store::OAuthStore`]: client apps (round trip,
//! the per-owner limit exactly and under concurrency, partial updates, secret
//! rotation, deletion taking codes and tokens along), authorization codes and
//! refresh tokens that are exchanged at most once (also concurrently, with
//! the new tokens written only on success), revocation of one token and of a
//! family, and the purge of expired codes and tokens. Also the OAuth test
//! data the checks use.

use keyward_core::effects::SideEffects;
use std::collections::BTreeSet;
use std::sync::Arc;

use keyward_core::error::StoreError;
use keyward_core::model::{
    AuthCode, GrantType, NewAuthCode, NewOAuthApp, NewOAuthToken, OAuthApp, OAuthAppUpdate,
    OAuthToken, OAuthTokenKind, PageRequest,
};
use keyward_core::secret::{Digest, SecretKind};
use keyward_core::store::{InsertApp, Store};
use time::{Duration, OffsetDateTime};
use uuid::Uuid;

use crate::fixtures::{SWEEP_EPOCH, T0, id, located_secret, secret, unique, user};

/// A PKCE S256 challenge (RFC 7636's example); stores keep it as text.
const CHALLENGE: &str = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM";

// ---- test data ----

/// An app to insert for `user_id` at `now`: every grant type, two scopes,
/// one redirect URI, no description or logo, a fresh client secret.
pub fn new_app(user_id: Uuid, now: OffsetDateTime) -> NewOAuthApp {
    let client_secret = secret(SecretKind::ClientSecret);
    NewOAuthApp {
        client_id: id(),
        user_id,
        client_name: unique("app"),
        description: None,
        redirect_uris: vec![format!("https://{}.example.com/callback", id().simple())],
        logo_uri: None,
        scopes: BTreeSet::from(["credentials.manage".to_owned(), "tokens.verify".to_owned()]),
        grant_types: BTreeSet::from(GrantType::ALL),
        secret_digest: client_secret.stored.digest,
        secret_hint: client_secret.stored.hint,
        now,
    }
}

/// The app an insert produced; panics on [`InsertApp::LimitReached`].
pub fn inserted_app(outcome: InsertApp) -> OAuthApp {
    match outcome {
        InsertApp::Inserted(app) => *app,
        InsertApp::LimitReached => panic!("insert_app refused an app below the limit"),
    }
}

/// Inserts a fresh app for `user_id` at `now`, with no limit that matters.
pub async fn app(store: &dyn Store, user_id: Uuid, now: OffsetDateTime) -> OAuthApp {
    inserted_app(
        store
            .insert_app(&new_app(user_id, now), u32::MAX, &SideEffects::none())
            .await
            .expect("insert_app"),
    )
}

/// An unused code for `app`, consented by `user_id` at `now`, valid ten
/// minutes, with the app's first redirect URI and scopes, in a new family.
pub fn new_code(app: &OAuthApp, user_id: Uuid, now: OffsetDateTime) -> NewAuthCode {
    NewAuthCode {
        code: AuthCode {
            id: id(),
            client_id: app.client_id,
            user_id,
            redirect_uri: app.redirect_uris.first().cloned(),
            scopes: app.scopes.clone(),
            code_challenge: CHALLENGE.to_owned(),
            family_id: id(),
            created_at: now,
            expires_at: now + Duration::minutes(10),
            used_at: None,
        },
        digest: secret(SecretKind::AuthCode).stored.digest,
    }
}

/// A token of `kind` for `app`, acting for `user_id`, issued at `now` and
/// expiring at `expires_at`, neither used nor revoked.
pub fn new_oauth_token(
    kind: OAuthTokenKind,
    app: &OAuthApp,
    user_id: Uuid,
    family_id: Option<Uuid>,
    now: OffsetDateTime,
    expires_at: OffsetDateTime,
) -> NewOAuthToken {
    let token_id = id();
    NewOAuthToken {
        token: OAuthToken {
            id: token_id,
            kind,
            client_id: Some(app.client_id),
            user_id,
            scopes: app.scopes.clone(),
            family_id,
            created_at: now,
            expires_at,
            used_at: None,
            revoked_at: None,
        },
        digest: located_secret(kind.secret_kind(), token_id).stored.digest,
    }
}

/// An access token valid one hour from `now`.
pub fn access(
    app: &OAuthApp,
    user_id: Uuid,
    family: Option<Uuid>,
    now: OffsetDateTime,
) -> NewOAuthToken {
    new_oauth_token(
        OAuthTokenKind::Access,
        app,
        user_id,
        family,
        now,
        now + Duration::hours(1),
    )
}

/// A refresh token valid thirty days from `now`.
fn refresh(app: &OAuthApp, user_id: Uuid, family: Uuid, now: OffsetDateTime) -> NewOAuthToken {
    new_oauth_token(
        OAuthTokenKind::Refresh,
        app,
        user_id,
        Some(family),
        now,
        now + Duration::days(30),
    )
}

/// The stored row of `token`, looked up as the services do: by id, matched
/// on digest.
async fn find_token(store: &dyn Store, token: &NewOAuthToken) -> Option<OAuthToken> {
    store
        .find_oauth_token(token.token.id, &token.digest)
        .await
        .expect("find_oauth_token")
}

async fn find_code(store: &dyn Store, digest: &Digest) -> Option<AuthCode> {
    store.find_code(digest).await.expect("find_code")
}

async fn find_app(store: &dyn Store, client_id: Uuid) -> Option<OAuthApp> {
    store.find_app(client_id).await.expect("find_app")
}

fn is_conflict<T: std::fmt::Debug>(outcome: &Result<T, StoreError>) -> bool {
    matches!(outcome, Err(StoreError::Conflict(_)))
}

// ---- apps ----

/// An app with every field set reads back exactly as inserted, by id and in
/// its owner's list (oldest first, then by client id); a minimal app too.
/// Unknown owners are refused; a taken client id or secret digest is a
/// conflict that writes nothing.
pub async fn apps_round_trip(store: &dyn Store) {
    let owner = user(store, T0).await;
    let mut new = new_app(owner.id, T0);
    new.description = Some("ships parcels".to_owned());
    // Not sorted: the order given is kept.
    new.redirect_uris = vec![
        "https://z.example.com/callback".to_owned(),
        "https://a.example.com/cb?tenant=1".to_owned(),
        "http://127.0.0.1:8080/cb".to_owned(),
    ];
    new.logo_uri = Some("https://cdn.example.com/logo.png".to_owned());
    new.scopes.insert("profile.read".to_owned());
    let expected = OAuthApp {
        client_id: new.client_id,
        user_id: owner.id,
        client_name: new.client_name.clone(),
        description: new.description.clone(),
        redirect_uris: new.redirect_uris.clone(),
        logo_uri: new.logo_uri.clone(),
        scopes: new.scopes.clone(),
        grant_types: BTreeSet::from(GrantType::ALL),
        secret_digest: new.secret_digest,
        secret_hint: new.secret_hint.clone(),
        created_at: T0,
        updated_at: T0,
    };
    let full = inserted_app(
        store
            .insert_app(&new, 10, &SideEffects::none())
            .await
            .expect("insert_app"),
    );
    assert_eq!(full, expected, "insert_app returns the app as stored");
    assert_eq!(find_app(store, new.client_id).await, Some(expected.clone()));

    let mut minimal = new_app(owner.id, T0 + Duration::hours(1));
    minimal.redirect_uris = Vec::new();
    minimal.scopes = BTreeSet::new();
    minimal.grant_types = BTreeSet::from([GrantType::ClientCredentials]);
    let minimal = inserted_app(
        store
            .insert_app(&minimal, 10, &SideEffects::none())
            .await
            .expect("insert_app"),
    );
    assert_eq!(
        find_app(store, minimal.client_id).await.as_ref(),
        Some(&minimal)
    );
    assert!(minimal.redirect_uris.is_empty() && minimal.scopes.is_empty());
    assert_eq!(
        minimal.grant_types,
        BTreeSet::from([GrantType::ClientCredentials])
    );

    // Same creation time as `full`: the client id decides the order.
    let twin = app(store, owner.id, T0).await;
    let other = user(store, T0).await;
    app(store, other.id, T0).await;
    let mut same_time = vec![full.clone(), twin.clone()];
    same_time.sort_by_key(|a| a.client_id);
    let listed = store
        .list_apps(Some(owner.id), &PageRequest::default())
        .await
        .expect("list_apps");
    assert_eq!(
        listed,
        [same_time, vec![minimal]].concat(),
        "oldest first, then by client id; other users' apps are not listed"
    );
    assert!(
        store
            .list_apps(Some(id()), &PageRequest::default())
            .await
            .expect("list_apps")
            .is_empty()
    );
    assert!(find_app(store, id()).await.is_none());

    let orphan = new_app(id(), T0);
    assert!(
        store
            .insert_app(&orphan, 10, &SideEffects::none())
            .await
            .is_err(),
        "an app of an unknown user is refused"
    );
    let mut same_id = new_app(owner.id, T0);
    same_id.client_id = full.client_id;
    let outcome = store.insert_app(&same_id, 10, &SideEffects::none()).await;
    assert!(is_conflict(&outcome), "a taken client id: {outcome:?}");
    assert_eq!(find_app(store, full.client_id).await, Some(expected));
    let mut same_digest = new_app(owner.id, T0);
    same_digest.secret_digest = full.secret_digest;
    let outcome = store
        .insert_app(&same_digest, 10, &SideEffects::none())
        .await;
    assert!(is_conflict(&outcome), "a taken secret digest: {outcome:?}");
    assert!(find_app(store, same_digest.client_id).await.is_none());
}

fn accepted(outcome: InsertApp) -> bool {
    matches!(outcome, InsertApp::Inserted(_))
}

/// The `limit`-th app is accepted, the next refused without a trace; other
/// users' apps do not count; limit 0 refuses everything.
pub async fn app_limit_is_reached_exactly(store: &dyn Store) {
    let owner = user(store, T0).await;
    for n in 1..=3 {
        let new = new_app(owner.id, T0);
        let outcome = store
            .insert_app(&new, 3, &SideEffects::none())
            .await
            .expect("insert_app");
        assert!(accepted(outcome), "app {n} of 3 is accepted");
    }
    let refused = new_app(owner.id, T0);
    let outcome = store
        .insert_app(&refused, 3, &SideEffects::none())
        .await
        .expect("insert_app");
    assert!(!accepted(outcome), "a 4th app is refused at limit 3");
    assert!(find_app(store, refused.client_id).await.is_none());
    assert_eq!(
        store
            .list_apps(Some(owner.id), &PageRequest::default())
            .await
            .expect("list_apps")
            .len(),
        3
    );
    let outcome = store
        .insert_app(&refused, 4, &SideEffects::none())
        .await
        .expect("insert_app");
    assert!(accepted(outcome), "a higher limit lets it in");

    let fresh = user(store, T0).await;
    let outcome = store
        .insert_app(&new_app(fresh.id, T0), 0, &SideEffects::none())
        .await
        .expect("insert_app");
    assert!(!accepted(outcome), "limit 0 refuses everything");
    let outcome = store
        .insert_app(&new_app(fresh.id, T0), 1, &SideEffects::none())
        .await
        .expect("insert_app");
    assert!(accepted(outcome), "other users' apps do not count");
}

/// Concurrent inserts for one owner never pass the limit together.
pub async fn app_limit_holds_under_concurrent_inserts(store: Arc<dyn Store>) {
    const LIMIT: u32 = 3;
    const ATTEMPTS: usize = 12;
    let owner = user(store.as_ref(), T0).await;
    let mut tasks = tokio::task::JoinSet::new();
    for _ in 0..ATTEMPTS {
        let store = Arc::clone(&store);
        let new = new_app(owner.id, T0);
        tasks.spawn(async move { store.insert_app(&new, LIMIT, &SideEffects::none()).await });
    }
    let mut inserted = 0;
    while let Some(joined) = tasks.join_next().await {
        let outcome = joined
            .expect("insert task")
            .expect("insert_app under contention");
        if accepted(outcome) {
            inserted += 1;
        }
    }
    assert_eq!(
        inserted, LIMIT,
        "exactly {LIMIT} of {ATTEMPTS} concurrent inserts pass"
    );
    let listed = store
        .list_apps(Some(owner.id), &PageRequest::default())
        .await
        .expect("list_apps");
    assert_eq!(listed.len(), LIMIT as usize);
}

/// `update_app` changes only the `Some` fields and stamps `updated_at`; an
/// empty update changes nothing.
pub async fn update_app_applies_only_given_fields(store: &dyn Store) {
    let owner = user(store, T0).await;
    let mut new = new_app(owner.id, T0);
    new.description = Some("first".to_owned());
    new.logo_uri = Some("https://cdn.example.com/first.png".to_owned());
    let original = inserted_app(
        store
            .insert_app(&new, 10, &SideEffects::none())
            .await
            .expect("insert_app"),
    );

    type Change = Box<dyn Fn(&mut OAuthApp) + Send + Sync>;
    let uris = vec![
        "https://b.example.com/cb".to_owned(),
        "https://a.example.com/cb".to_owned(),
    ];
    let scopes = BTreeSet::from(["tokens.verify".to_owned()]);
    let grants = BTreeSet::from([GrantType::AuthorizationCode, GrantType::RefreshToken]);
    let steps: Vec<(OAuthAppUpdate, Change)> = vec![
        (
            OAuthAppUpdate {
                client_name: Some("renamed".into()),
                ..OAuthAppUpdate::default()
            },
            Box::new(|a| a.client_name = "renamed".into()),
        ),
        (
            OAuthAppUpdate {
                description: Some(None),
                ..OAuthAppUpdate::default()
            },
            Box::new(|a| a.description = None),
        ),
        (
            OAuthAppUpdate {
                description: Some(Some("second".into())),
                ..OAuthAppUpdate::default()
            },
            Box::new(|a| a.description = Some("second".into())),
        ),
        (
            OAuthAppUpdate {
                redirect_uris: Some(uris.clone()),
                ..OAuthAppUpdate::default()
            },
            Box::new(move |a| a.redirect_uris = uris.clone()),
        ),
        (
            OAuthAppUpdate {
                logo_uri: Some(None),
                ..OAuthAppUpdate::default()
            },
            Box::new(|a| a.logo_uri = None),
        ),
        (
            OAuthAppUpdate {
                logo_uri: Some(Some("https://cdn.example.com/second.png".into())),
                ..OAuthAppUpdate::default()
            },
            Box::new(|a| a.logo_uri = Some("https://cdn.example.com/second.png".into())),
        ),
        (
            OAuthAppUpdate {
                scopes: Some(scopes.clone()),
                ..OAuthAppUpdate::default()
            },
            Box::new(move |a| a.scopes = scopes.clone()),
        ),
        (
            OAuthAppUpdate {
                grant_types: Some(grants.clone()),
                ..OAuthAppUpdate::default()
            },
            Box::new(move |a| a.grant_types = grants.clone()),
        ),
        (
            OAuthAppUpdate {
                client_name: Some("both".into()),
                redirect_uris: Some(Vec::new()),
                scopes: Some(BTreeSet::new()),
                ..OAuthAppUpdate::default()
            },
            Box::new(|a| {
                a.client_name = "both".into();
                a.redirect_uris = Vec::new();
                a.scopes = BTreeSet::new();
            }),
        ),
    ];
    let mut expected = original.clone();
    for (hours, (update, change)) in (1..).zip(steps) {
        let at = T0 + Duration::hours(hours);
        change(&mut expected);
        expected.updated_at = at;
        let updated = store
            .update_app(original.client_id, &update, at, &SideEffects::none())
            .await
            .expect("update_app");
        assert_eq!(updated.as_ref(), Some(&expected), "after {update:?}");
        assert_eq!(
            find_app(store, original.client_id).await,
            Some(expected.clone())
        );
    }
    let unchanged = store
        .update_app(
            original.client_id,
            &OAuthAppUpdate::default(),
            T0 + Duration::days(1),
            &SideEffects::none(),
        )
        .await
        .expect("update_app");
    assert_eq!(
        unchanged.as_ref(),
        Some(&expected),
        "an empty update changes nothing, not even updated_at"
    );
    let missing = OAuthAppUpdate {
        client_name: Some("x".into()),
        ..OAuthAppUpdate::default()
    };
    assert!(
        store
            .update_app(id(), &missing, T0, &SideEffects::none())
            .await
            .expect("update_app")
            .is_none()
    );
}

/// `rotate_app_secret` replaces digest and hint and stamps `updated_at`; the
/// old digest is gone (another app may even take it); a digest of another
/// app is a conflict that changes nothing.
pub async fn rotate_app_secret_replaces_the_digest(store: &dyn Store) {
    let owner = user(store, T0).await;
    let original = app(store, owner.id, T0).await;
    let neighbour = app(store, owner.id, T0).await;
    let fresh = secret(SecretKind::ClientSecret).stored;
    let at = T0 + Duration::hours(1);
    let rotated = store
        .rotate_app_secret(
            original.client_id,
            &fresh.digest,
            &fresh.hint,
            at,
            &SideEffects::none(),
        )
        .await
        .expect("rotate_app_secret");
    let mut expected = original.clone();
    expected.secret_digest = fresh.digest;
    expected.secret_hint = fresh.hint.clone();
    expected.updated_at = at;
    assert_eq!(rotated.as_ref(), Some(&expected));
    let found = find_app(store, original.client_id)
        .await
        .expect("the app exists");
    assert_eq!(found, expected);
    assert!(
        !found.secret_digest.ct_eq(&original.secret_digest),
        "the old digest no longer matches the stored one"
    );

    let taken = store
        .rotate_app_secret(
            original.client_id,
            &neighbour.secret_digest,
            "...abcd",
            at + Duration::hours(1),
            &SideEffects::none(),
        )
        .await;
    assert!(is_conflict(&taken), "another app's digest: {taken:?}");
    assert_eq!(find_app(store, original.client_id).await, Some(expected));

    let mut reuse = new_app(owner.id, T0);
    reuse.secret_digest = original.secret_digest;
    store
        .insert_app(&reuse, u32::MAX, &SideEffects::none())
        .await
        .expect("the replaced digest is free again");

    assert!(
        store
            .rotate_app_secret(id(), &fresh.digest, &fresh.hint, at, &SideEffects::none())
            .await
            .expect("rotate_app_secret")
            .is_none()
    );
}

/// `delete_app` removes the app, its codes and its tokens, and nothing of
/// other apps.
pub async fn delete_app_takes_codes_and_tokens_along(store: &dyn Store) {
    let owner = user(store, T0).await;
    let consenting = user(store, T0).await;
    let doomed = app(store, owner.id, T0).await;
    let kept = app(store, owner.id, T0).await;

    let redeemed = new_code(&doomed, consenting.id, T0);
    let pending = new_code(&doomed, consenting.id, T0);
    let kept_code = new_code(&kept, consenting.id, T0);
    for code in [&redeemed, &pending, &kept_code] {
        store
            .insert_code(code, &SideEffects::none())
            .await
            .expect("insert_code");
    }
    let family = redeemed.code.family_id;
    let issued = [
        access(&doomed, consenting.id, Some(family), T0),
        refresh(&doomed, consenting.id, family, T0),
    ];
    assert!(
        store
            .redeem_code(redeemed.code.id, &issued, T0)
            .await
            .expect("redeem_code")
    );
    let own = access(&doomed, owner.id, None, T0);
    let kept_token = access(&kept, owner.id, None, T0);
    store
        .insert_oauth_tokens(&[own.clone(), kept_token.clone()])
        .await
        .expect("insert_oauth_tokens");

    assert!(
        store
            .delete_app(doomed.client_id, &SideEffects::none())
            .await
            .expect("delete_app")
    );
    assert!(
        !store
            .delete_app(doomed.client_id, &SideEffects::none())
            .await
            .expect("delete_app"),
        "a second delete finds nothing"
    );
    assert!(find_app(store, doomed.client_id).await.is_none());
    for code in [&redeemed, &pending] {
        assert!(find_code(store, &code.digest).await.is_none(), "codes go");
    }
    for token in issued.iter().chain([&own]) {
        assert!(find_token(store, token).await.is_none(), "tokens go");
    }
    assert_eq!(find_app(store, kept.client_id).await, Some(kept.clone()));
    assert_eq!(
        find_code(store, &kept_code.digest).await,
        Some(kept_code.code)
    );
    assert_eq!(find_token(store, &kept_token).await, Some(kept_token.token));
    assert_eq!(
        store
            .list_apps(Some(owner.id), &PageRequest::default())
            .await
            .expect("list_apps"),
        vec![kept]
    );
    assert!(
        !store
            .delete_app(id(), &SideEffects::none())
            .await
            .expect("delete_app")
    );
}

// ---- codes ----

/// A code reads back as inserted and is redeemed once: the first redemption
/// marks it used and writes the tokens, later ones write nothing. A conflict
/// among the tokens undoes the whole redemption.
pub async fn code_is_redeemed_once(store: &dyn Store) {
    let owner = user(store, T0).await;
    let consenting = user(store, T0).await;
    let app = app(store, owner.id, T0).await;
    let new = new_code(&app, consenting.id, T0);
    store
        .insert_code(&new, &SideEffects::none())
        .await
        .expect("insert_code");
    assert_eq!(find_code(store, &new.digest).await, Some(new.code.clone()));
    let unknown = secret(SecretKind::AuthCode).stored.digest;
    assert!(find_code(store, &unknown).await.is_none());

    let mut minimal = new_code(&app, consenting.id, T0);
    minimal.code.redirect_uri = None;
    minimal.code.scopes = BTreeSet::new();
    store
        .insert_code(&minimal, &SideEffects::none())
        .await
        .expect("insert_code");
    assert_eq!(find_code(store, &minimal.digest).await, Some(minimal.code));

    let mut same_digest = new_code(&app, consenting.id, T0);
    same_digest.digest = new.digest;
    let outcome = store.insert_code(&same_digest, &SideEffects::none()).await;
    assert!(is_conflict(&outcome), "a taken digest: {outcome:?}");
    let mut orphan = new_code(&app, consenting.id, T0);
    orphan.code.client_id = id();
    assert!(
        store
            .insert_code(&orphan, &SideEffects::none())
            .await
            .is_err(),
        "a code of an unknown app is refused"
    );

    let at = T0 + Duration::minutes(1);
    let family = new.code.family_id;
    let issued = [
        access(&app, consenting.id, Some(family), at),
        refresh(&app, consenting.id, family, at),
    ];
    assert!(
        store
            .redeem_code(new.code.id, &issued, at)
            .await
            .expect("redeem_code"),
        "the first redemption succeeds"
    );
    let mut used = new.code.clone();
    used.used_at = Some(at);
    assert_eq!(find_code(store, &new.digest).await, Some(used.clone()));
    for token in &issued {
        assert_eq!(
            find_token(store, token).await,
            Some(token.token.clone()),
            "the tokens are written"
        );
    }

    let replayed = access(&app, consenting.id, Some(family), at);
    assert!(
        !store
            .redeem_code(
                new.code.id,
                std::slice::from_ref(&replayed),
                at + Duration::minutes(1)
            )
            .await
            .expect("redeem_code"),
        "a second redemption fails"
    );
    assert!(
        find_token(store, &replayed).await.is_none(),
        "and writes no token"
    );
    assert_eq!(
        find_code(store, &new.digest).await,
        Some(used),
        "nor moves used_at"
    );
    assert!(
        !store.redeem_code(id(), &[], at).await.expect("redeem_code"),
        "an unknown code is not redeemed"
    );

    // A token whose id is taken: nothing is written, the code stays unused
    // and can be redeemed afterwards.
    let fresh = new_code(&app, consenting.id, T0);
    store
        .insert_code(&fresh, &SideEffects::none())
        .await
        .expect("insert_code");
    let first = access(&app, consenting.id, Some(fresh.code.family_id), at);
    let mut clash = access(&app, consenting.id, Some(fresh.code.family_id), at);
    clash.token.id = issued[0].token.id;
    let outcome = store
        .redeem_code(fresh.code.id, &[first.clone(), clash], at)
        .await;
    assert!(is_conflict(&outcome), "a taken token id: {outcome:?}");
    assert!(find_token(store, &first).await.is_none());
    assert_eq!(
        find_code(store, &fresh.digest).await,
        Some(fresh.code.clone())
    );
    assert!(
        store
            .redeem_code(fresh.code.id, std::slice::from_ref(&first), at)
            .await
            .expect("redeem_code")
    );
    assert!(find_token(store, &first).await.is_some());
}

/// Of concurrent redemptions of one code exactly one succeeds, and only its
/// token is written.
pub async fn code_is_redeemed_once_under_concurrency(store: Arc<dyn Store>) {
    const ATTEMPTS: usize = 12;
    let owner = user(store.as_ref(), T0).await;
    let app = app(store.as_ref(), owner.id, T0).await;
    let code = new_code(&app, owner.id, T0);
    store
        .insert_code(&code, &SideEffects::none())
        .await
        .expect("insert_code");
    let at = T0 + Duration::minutes(1);
    let mut tasks = tokio::task::JoinSet::new();
    let mut issued = Vec::new();
    for _ in 0..ATTEMPTS {
        let store = Arc::clone(&store);
        let token = access(&app, owner.id, Some(code.code.family_id), at);
        issued.push(token.clone());
        let code_id = code.code.id;
        tasks.spawn(async move { store.redeem_code(code_id, &[token], at).await });
    }
    let mut succeeded = 0;
    while let Some(joined) = tasks.join_next().await {
        if joined
            .expect("redeem task")
            .expect("redeem_code under contention")
        {
            succeeded += 1;
        }
    }
    assert_eq!(
        succeeded, 1,
        "exactly one of {ATTEMPTS} redemptions succeeds"
    );
    let mut written = 0;
    for token in &issued {
        if find_token(store.as_ref(), token).await.is_some() {
            written += 1;
        }
    }
    assert_eq!(
        written, 1,
        "only the successful redemption's token is written"
    );
}

// ---- tokens ----

/// Tokens read back as inserted (a batch is all or nothing); a refresh token
/// is exchanged once, and never when revoked or when it is an access token.
pub async fn refresh_token_rotates_once(store: &dyn Store) {
    let owner = user(store, T0).await;
    let app = app(store, owner.id, T0).await;
    let family = id();
    let first_access = access(&app, owner.id, Some(family), T0);
    let first_refresh = refresh(&app, owner.id, family, T0);
    let machine = access(&app, owner.id, None, T0);
    store
        .insert_oauth_tokens(&[first_access.clone(), first_refresh.clone(), machine.clone()])
        .await
        .expect("insert_oauth_tokens");
    for token in [&first_access, &first_refresh, &machine] {
        assert_eq!(find_token(store, token).await, Some(token.token.clone()));
    }
    store
        .insert_oauth_tokens(&[])
        .await
        .expect("an empty batch is fine");
    let unknown = access(&app, owner.id, None, T0);
    assert!(find_token(store, &unknown).await.is_none(), "an unknown id");
    let mut wrong_digest = machine.clone();
    wrong_digest.digest = unknown.digest;
    assert!(
        find_token(store, &wrong_digest).await.is_none(),
        "a known id with another secret's digest"
    );

    let lone = access(&app, owner.id, None, T0);
    let mut clash = access(&app, owner.id, None, T0);
    clash.token.id = machine.token.id;
    let outcome = store.insert_oauth_tokens(&[lone.clone(), clash]).await;
    assert!(is_conflict(&outcome), "a taken id: {outcome:?}");
    assert!(
        find_token(store, &lone).await.is_none(),
        "a batch is written all or nothing"
    );

    let at = T0 + Duration::hours(1);
    let next = [
        access(&app, owner.id, Some(family), at),
        refresh(&app, owner.id, family, at),
    ];
    assert!(
        store
            .rotate_refresh_token(first_refresh.token.id, &next, at)
            .await
            .expect("rotate_refresh_token"),
        "the first exchange succeeds"
    );
    let mut used = first_refresh.token.clone();
    used.used_at = Some(at);
    assert_eq!(find_token(store, &first_refresh).await, Some(used.clone()));
    for token in &next {
        assert_eq!(find_token(store, token).await, Some(token.token.clone()));
    }

    let replayed = access(&app, owner.id, Some(family), at);
    assert!(
        !store
            .rotate_refresh_token(
                first_refresh.token.id,
                std::slice::from_ref(&replayed),
                at + Duration::minutes(1)
            )
            .await
            .expect("rotate_refresh_token"),
        "a second exchange fails"
    );
    assert!(find_token(store, &replayed).await.is_none());
    assert_eq!(find_token(store, &first_refresh).await, Some(used));

    let not_refresh = access(&app, owner.id, None, at);
    assert!(
        !store
            .rotate_refresh_token(
                first_access.token.id,
                std::slice::from_ref(&not_refresh),
                at
            )
            .await
            .expect("rotate_refresh_token"),
        "an access token is not exchanged"
    );
    assert!(find_token(store, &not_refresh).await.is_none());
    assert_eq!(
        find_token(store, &first_access).await,
        Some(first_access.token.clone())
    );

    let revoked = refresh(&app, owner.id, family, T0);
    store
        .insert_oauth_tokens(std::slice::from_ref(&revoked))
        .await
        .expect("insert_oauth_tokens");
    assert!(
        store
            .revoke_oauth_token(revoked.token.id, at, &SideEffects::none())
            .await
            .expect("revoke_oauth_token")
    );
    let after_revoked = access(&app, owner.id, Some(family), at);
    assert!(
        !store
            .rotate_refresh_token(revoked.token.id, std::slice::from_ref(&after_revoked), at)
            .await
            .expect("rotate_refresh_token"),
        "a revoked refresh token is not exchanged"
    );
    assert!(find_token(store, &after_revoked).await.is_none());
    let revoked_after = find_token(store, &revoked).await.expect("kept");
    assert_eq!(revoked_after.used_at, None);

    assert!(
        !store
            .rotate_refresh_token(id(), &[], at)
            .await
            .expect("rotate_refresh_token")
    );
}

/// Of concurrent exchanges of one refresh token exactly one succeeds, and
/// only its tokens are written.
pub async fn refresh_token_rotates_once_under_concurrency(store: Arc<dyn Store>) {
    const ATTEMPTS: usize = 12;
    let owner = user(store.as_ref(), T0).await;
    let app = app(store.as_ref(), owner.id, T0).await;
    let family = id();
    let current = refresh(&app, owner.id, family, T0);
    store
        .insert_oauth_tokens(std::slice::from_ref(&current))
        .await
        .expect("insert_oauth_tokens");
    let at = T0 + Duration::hours(1);
    let mut tasks = tokio::task::JoinSet::new();
    let mut issued = Vec::new();
    for _ in 0..ATTEMPTS {
        let store = Arc::clone(&store);
        let next = [
            access(&app, owner.id, Some(family), at),
            refresh(&app, owner.id, family, at),
        ];
        issued.extend(next.iter().cloned());
        let refresh_id = current.token.id;
        tasks.spawn(async move { store.rotate_refresh_token(refresh_id, &next, at).await });
    }
    let mut succeeded = 0;
    while let Some(joined) = tasks.join_next().await {
        if joined
            .expect("rotate task")
            .expect("rotate_refresh_token under contention")
        {
            succeeded += 1;
        }
    }
    assert_eq!(succeeded, 1, "exactly one of {ATTEMPTS} exchanges succeeds");
    let mut written = 0;
    for token in &issued {
        if find_token(store.as_ref(), token).await.is_some() {
            written += 1;
        }
    }
    assert_eq!(
        written, 2,
        "only the successful exchange's two tokens are written"
    );
}

/// `revoke_oauth_token` stamps `revoked_at` once and says whether the token
/// was not revoked before (a used refresh token still is revocable).
pub async fn revoke_one_token(store: &dyn Store) {
    let owner = user(store, T0).await;
    let app = app(store, owner.id, T0).await;
    let token = access(&app, owner.id, None, T0);
    let other = access(&app, owner.id, None, T0);
    let family = id();
    let exchanged = refresh(&app, owner.id, family, T0);
    store
        .insert_oauth_tokens(&[token.clone(), other.clone(), exchanged.clone()])
        .await
        .expect("insert_oauth_tokens");
    let at = T0 + Duration::minutes(5);
    assert!(
        store
            .revoke_oauth_token(token.token.id, at, &SideEffects::none())
            .await
            .expect("revoke_oauth_token"),
        "a live token is revoked"
    );
    let mut revoked = token.token.clone();
    revoked.revoked_at = Some(at);
    let found = find_token(store, &token).await;
    assert_eq!(found, Some(revoked.clone()));
    assert!(!revoked.is_live(at));
    assert!(
        !store
            .revoke_oauth_token(
                token.token.id,
                at + Duration::minutes(1),
                &SideEffects::none()
            )
            .await
            .expect("revoke_oauth_token"),
        "revoking again reports it was revoked already"
    );
    assert_eq!(
        find_token(store, &token).await,
        Some(revoked),
        "and keeps the first revocation time"
    );
    assert_eq!(
        find_token(store, &other).await,
        Some(other.token),
        "other tokens are untouched"
    );

    assert!(
        store
            .rotate_refresh_token(exchanged.token.id, &[], at)
            .await
            .expect("rotate_refresh_token")
    );
    assert!(
        store
            .revoke_oauth_token(exchanged.token.id, at, &SideEffects::none())
            .await
            .expect("revoke_oauth_token"),
        "a used but unrevoked token counts as not revoked"
    );
    assert!(
        !store
            .revoke_oauth_token(id(), at, &SideEffects::none())
            .await
            .expect("revoke_oauth_token")
    );
}

/// An access token issued to a user directly (no app) reads back as
/// written, is revoked like any other, and goes with its user; a refresh
/// token without an app is refused.
pub async fn user_access_tokens_need_no_app(store: &dyn Store) {
    let owner = user(store, T0).await;
    let some_app = app(store, owner.id, T0).await;
    let mut token = access(&some_app, owner.id, None, T0);
    token.token.client_id = None;
    store
        .insert_oauth_tokens(std::slice::from_ref(&token))
        .await
        .expect("insert a user's own access token");
    assert_eq!(find_token(store, &token).await, Some(token.token.clone()));
    assert!(
        store
            .revoke_oauth_token(token.token.id, T0, &SideEffects::none())
            .await
            .expect("revoke_oauth_token")
    );
    let mut refresh_token = refresh(&some_app, owner.id, id(), T0);
    refresh_token.token.client_id = None;
    assert!(
        store.insert_oauth_tokens(&[refresh_token]).await.is_err(),
        "a refresh token always belongs to an app"
    );
    // A token whose user is gone cannot be written.
    let mut orphan = access(&some_app, id(), None, T0);
    orphan.token.client_id = None;
    assert!(matches!(
        store.insert_oauth_tokens(&[orphan]).await,
        Err(StoreError::Gone(_))
    ));
}

/// Writes that refer to an app, code or user deleted meanwhile are
/// [`StoreError::Gone`], not a database failure: tokens for a deleted app,
/// a code for a deleted app, a session or token for a deleted user.
pub async fn writes_for_vanished_rows_are_gone(store: &dyn Store) {
    let owner = user(store, T0).await;
    let doomed = app(store, owner.id, T0).await;
    assert!(
        store
            .delete_app(doomed.client_id, &SideEffects::none())
            .await
            .expect("delete_app")
    );
    let token = access(&doomed, owner.id, None, T0);
    assert!(matches!(
        store.insert_oauth_tokens(&[token]).await,
        Err(StoreError::Gone(_))
    ));
    let code = new_code(&doomed, owner.id, T0);
    assert!(matches!(
        store.insert_code(&code, &SideEffects::none()).await,
        Err(StoreError::Gone(_))
    ));
    let (token, _) = crate::fixtures::new_token(id(), T0);
    assert!(matches!(
        store.insert_token(&token, 10, &SideEffects::none()).await,
        Err(StoreError::Gone(_))
    ));
    let (session, _) = crate::fixtures::new_session(id(), T0, T0 + Duration::days(1));
    assert!(matches!(
        store.insert_session(&session, &SideEffects::none()).await,
        Err(StoreError::Gone(_))
    ));
}

/// `revoke_family` revokes every token of the family not revoked yet (used
/// and expired ones too) and returns exactly their ids; earlier revocations
/// keep their time; other families and family-less tokens are untouched.
pub async fn revoke_family_revokes_exactly_that_family(store: &dyn Store) {
    let owner = user(store, T0).await;
    let app = app(store, owner.id, T0).await;
    let family = id();
    let first_access = access(&app, owner.id, Some(family), T0);
    let first_refresh = refresh(&app, owner.id, family, T0);
    let early = new_oauth_token(
        OAuthTokenKind::Access,
        &app,
        owner.id,
        Some(family),
        T0,
        T0 + Duration::minutes(1),
    );
    let already = access(&app, owner.id, Some(family), T0);
    let other_family = access(&app, owner.id, Some(id()), T0);
    let no_family = access(&app, owner.id, None, T0);
    store
        .insert_oauth_tokens(&[
            first_access.clone(),
            first_refresh.clone(),
            early.clone(),
            already.clone(),
            other_family.clone(),
            no_family.clone(),
        ])
        .await
        .expect("insert_oauth_tokens");
    let rotated_at = T0 + Duration::minutes(30);
    let next = [
        access(&app, owner.id, Some(family), rotated_at),
        refresh(&app, owner.id, family, rotated_at),
    ];
    assert!(
        store
            .rotate_refresh_token(first_refresh.token.id, &next, rotated_at)
            .await
            .expect("rotate_refresh_token")
    );
    let revoked_early = T0 + Duration::minutes(40);
    assert!(
        store
            .revoke_oauth_token(already.token.id, revoked_early, &SideEffects::none())
            .await
            .expect("revoke_oauth_token")
    );

    let now = T0 + Duration::hours(2);
    let revoked: BTreeSet<Uuid> = store
        .revoke_family(family, now, &SideEffects::none())
        .await
        .expect("revoke_family")
        .into_iter()
        .collect();
    let expected: BTreeSet<Uuid> = [&first_access, &first_refresh, &early, &next[0], &next[1]]
        .iter()
        .map(|t| t.token.id)
        .collect();
    assert_eq!(
        revoked, expected,
        "exactly the family's tokens not revoked before"
    );
    for token in [&first_access, &first_refresh, &early, &next[0], &next[1]] {
        let found = find_token(store, token).await.expect("kept");
        assert_eq!(found.revoked_at, Some(now));
    }
    let found = find_token(store, &already).await.expect("kept");
    assert_eq!(found.revoked_at, Some(revoked_early));
    for token in [&other_family, &no_family] {
        assert_eq!(
            find_token(store, token).await,
            Some(token.token.clone()),
            "tokens outside the family are untouched"
        );
    }
    assert!(
        store
            .revoke_family(family, now + Duration::hours(1), &SideEffects::none())
            .await
            .expect("revoke_family")
            .is_empty(),
        "nothing is left to revoke"
    );
    assert!(
        store
            .revoke_family(id(), now, &SideEffects::none())
            .await
            .expect("revoke_family")
            .is_empty()
    );
}

/// `purge_oauth` deletes codes expiring at or before the code cutoff and
/// tokens expiring at or before the token cutoff, each judged on its own
/// cutoff, whatever their state.
pub async fn purge_deletes_expired_codes_and_tokens(store: &dyn Store) {
    let e = SWEEP_EPOCH;
    let owner = user(store, e).await;
    let app = app(store, owner.id, e).await;
    let code_cutoff = e + Duration::hours(1);
    let token_cutoff = e + Duration::hours(2);
    let between = e + Duration::minutes(90);

    let code_expiring = |expires_at: OffsetDateTime| {
        let mut code = new_code(&app, owner.id, e);
        code.code.expires_at = expires_at;
        code
    };
    let code_at_cutoff = code_expiring(code_cutoff);
    let mut code_used = code_expiring(e + Duration::minutes(30));
    code_used.code.used_at = Some(e + Duration::minutes(5));
    let code_between = code_expiring(between);
    let code_after = code_expiring(code_cutoff + Duration::seconds(1));
    for code in [&code_at_cutoff, &code_used, &code_between, &code_after] {
        store
            .insert_code(code, &SideEffects::none())
            .await
            .expect("insert_code");
    }

    let token_expiring = |expires_at: OffsetDateTime| {
        new_oauth_token(OAuthTokenKind::Access, &app, owner.id, None, e, expires_at)
    };
    let token_at_cutoff = token_expiring(token_cutoff);
    let mut token_revoked = token_expiring(code_cutoff);
    token_revoked.token.revoked_at = Some(e + Duration::minutes(1));
    let token_between = token_expiring(between);
    let token_after = token_expiring(token_cutoff + Duration::seconds(1));
    store
        .insert_oauth_tokens(&[
            token_at_cutoff.clone(),
            token_revoked.clone(),
            token_between.clone(),
            token_after.clone(),
        ])
        .await
        .expect("insert_oauth_tokens");

    let purged = store
        .purge_oauth(code_cutoff, token_cutoff)
        .await
        .expect("purge_oauth");
    assert!(purged >= 5, "at least the five expired rows, got {purged}");
    for (code, kept) in [
        (&code_at_cutoff, false),
        (&code_used, false),
        (&code_between, true),
        (&code_after, true),
    ] {
        assert_eq!(
            find_code(store, &code.digest).await.is_some(),
            kept,
            "code expiring {} kept: {kept}",
            code.code.expires_at
        );
    }
    for (token, kept) in [
        (&token_at_cutoff, false),
        (&token_revoked, false),
        (&token_between, false),
        (&token_after, true),
    ] {
        assert_eq!(
            find_token(store, token).await.is_some(),
            kept,
            "token expiring {} kept: {kept}",
            token.token.expires_at
        );
    }
    let again = store
        .purge_oauth(code_cutoff, token_cutoff)
        .await
        .expect("purge_oauth");
    assert_eq!(again, 0, "a second purge finds nothing");
}
