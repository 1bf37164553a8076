//! Checks of the verification path's joined reads (a credential with its
//! owner in one query): each answers exactly what the separate reads answer,
//! reflects the owner's and the app's state as stored now, and finds nothing
//! for an unknown secret, a wrong digest or a deleted credential.

use keyward_core::effects::SideEffects;
use keyward_core::model::{
    NewOAuthToken, OAuthAppUpdate, SecretSlot, TokenCredential, UserStatus, UserUpdate,
};
use keyward_core::secret::SecretKind;
use keyward_core::store::{OAuthTokenGrant, Store, UserChange};
use time::Duration;

use crate::fixtures::{T0, id, insert, new_session, new_token, renewal, secret, user};
use crate::oauth::{access, app};

/// By either secret of a rotated token (with expiry, renewal policy and
/// applications), what checking it needs, the slot and the owner, as the
/// separate reads give them; a disabled owner is read as disabled.
pub async fn token_with_owner(store: &dyn Store) {
    let owner = user(store, T0).await;
    let (mut new, _) = new_token(owner.id, T0);
    new.expires_at = Some(T0 + Duration::days(90));
    new.renewal = Some(renewal(30, Some("ops@example.com")));
    new.applications.insert("billing".to_owned());
    let first = new.secret.clone();
    insert(store, &new).await;
    let second = secret(SecretKind::ApiToken);
    let t1 = T0 + Duration::hours(1);
    let grace_end = t1 + Duration::days(1);
    store
        .rotate_token(
            new.id,
            &second.stored,
            Some(grace_end),
            None,
            t1,
            &SideEffects::none(),
        )
        .await
        .expect("rotate_token")
        .expect("exists");
    for (digest, expected_slot, grace) in [
        (&first.digest, SecretSlot::Previous, Some(grace_end)),
        (&second.stored.digest, SecretSlot::Current, None),
    ] {
        let (token, slot) = store
            .find_token_by_secret(digest)
            .await
            .expect("find_token_by_secret")
            .expect("found");
        let joined = store
            .find_token_credential(digest)
            .await
            .expect("find_token_credential");
        assert_eq!(
            joined,
            Some((TokenCredential::of(&token, slot), owner.clone()))
        );
        let (credential, _) = joined.expect("found");
        assert_eq!(credential.slot, expected_slot);
        assert_eq!(
            credential.grace_ends_at, grace,
            "the grace of the matched secret"
        );
        assert_eq!(credential.expires_at, Some(T0 + Duration::days(90)));
        assert!(credential.applications.contains("billing"));
    }
    let UserChange::Done(disabled) = store
        .update_user(
            owner.id,
            &UserUpdate {
                status: Some(UserStatus::Disabled),
                ..UserUpdate::default()
            },
            t1,
            &SideEffects::none(),
        )
        .await
        .expect("update_user")
    else {
        panic!("update_user did not disable the owner");
    };
    let (_, read) = store
        .find_token_credential(&second.stored.digest)
        .await
        .expect("find_token_credential")
        .expect("found");
    assert_eq!(read, disabled, "the owner as stored now");
    assert_eq!(read.status, UserStatus::Disabled);

    let unknown = secret(SecretKind::ApiToken).stored.digest;
    assert!(
        store
            .find_token_credential(&unknown)
            .await
            .expect("unknown digest")
            .is_none()
    );
    assert!(
        store
            .delete_token(new.id, &SideEffects::none())
            .await
            .expect("delete_token")
    );
    assert!(
        store
            .find_token_credential(&second.stored.digest)
            .await
            .expect("deleted token")
            .is_none()
    );
}

/// A session with its user, as the separate reads give them.
pub async fn session_with_owner(store: &dyn Store) {
    let owner = user(store, T0).await;
    let (new, _) = new_session(owner.id, T0, T0 + Duration::days(7));
    store
        .insert_session(&new, &SideEffects::none())
        .await
        .expect("insert_session");
    let session = store
        .find_session(&new.digest)
        .await
        .expect("find_session")
        .expect("found");
    assert_eq!(
        store
            .find_session_with_owner(&new.digest)
            .await
            .expect("find_session_with_owner"),
        Some((session, owner))
    );
    let unknown = secret(SecretKind::Session).stored.digest;
    assert!(
        store
            .find_session_with_owner(&unknown)
            .await
            .expect("unknown digest")
            .is_none()
    );
}

/// An OAuth token with its app's scope as stored now (none for a token
/// issued to no app) and its user; nothing for another token's digest or
/// an unknown id.
pub async fn oauth_token_grant(store: &dyn Store) {
    let owner = user(store, T0).await;
    let app = app(store, owner.id, T0).await;
    let new = access(&app, owner.id, None, T0);
    let grant = stored_grant(store, &new).await;
    assert_eq!(grant.token, new.token);
    assert_eq!(grant.app_scopes.as_ref(), Some(&app.scopes));
    assert_eq!(grant.owner, owner);

    let narrower = std::collections::BTreeSet::from(["tokens.verify".to_owned()]);
    store
        .update_app(
            app.client_id,
            &OAuthAppUpdate {
                scopes: Some(narrower.clone()),
                ..OAuthAppUpdate::default()
            },
            T0 + Duration::minutes(1),
            &SideEffects::none(),
        )
        .await
        .expect("update_app")
        .expect("exists");
    let grant = grant_of(store, &new).await;
    assert_eq!(
        grant.app_scopes,
        Some(narrower),
        "the app's scope as stored now"
    );
    assert_eq!(
        grant.token.scopes, new.token.scopes,
        "the token's own scope"
    );

    let other = access(&app, owner.id, None, T0);
    assert!(
        store
            .find_oauth_token_grant(new.token.id, &other.digest)
            .await
            .expect("wrong digest")
            .is_none(),
        "the id alone finds nothing"
    );
    assert!(
        store
            .find_oauth_token_grant(other.token.id, &other.digest)
            .await
            .expect("unknown id")
            .is_none()
    );

    // A token issued to a user directly, to no app: no app scope.
    let mut own = access(&app, owner.id, None, T0);
    own.token.client_id = None;
    let grant = stored_grant(store, &own).await;
    assert_eq!(grant.token, own.token);
    assert_eq!(grant.app_scopes, None, "no app, no app scope");
    assert_eq!(grant.owner, owner);
}

/// An app with its owner, as the separate reads give them.
pub async fn app_with_owner(store: &dyn Store) {
    let owner = user(store, T0).await;
    let app = app(store, owner.id, T0).await;
    assert_eq!(
        store
            .find_app_with_owner(app.client_id)
            .await
            .expect("find_app_with_owner"),
        Some((app, owner))
    );
    assert!(
        store
            .find_app_with_owner(id())
            .await
            .expect("unknown app")
            .is_none()
    );
}

/// Inserts `token` and reads its grant back.
async fn stored_grant(store: &dyn Store, token: &NewOAuthToken) -> OAuthTokenGrant {
    store
        .insert_oauth_tokens(std::slice::from_ref(token))
        .await
        .expect("insert_oauth_tokens");
    grant_of(store, token).await
}

/// The grant of a stored token.
async fn grant_of(store: &dyn Store, token: &NewOAuthToken) -> OAuthTokenGrant {
    store
        .find_oauth_token_grant(token.token.id, &token.digest)
        .await
        .expect("find_oauth_token_grant")
        .expect("found")
}
