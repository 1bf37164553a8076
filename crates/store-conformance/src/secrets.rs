//! Checks of a token's secrets in [`keyward_core::store::TokenStore`]:
//! rotation with and without a grace period, revoking the previous secret,
//! deactivation (which keeps the secrets) and the purge of ended grace
//! periods.

use keyward_core::effects::SideEffects;
use keyward_core::model::{ApiToken, PreviousSecret, SecretSlot, TokenState};
use keyward_core::secret::{Digest, SecretKind};
use keyward_core::store::Store;
use time::Duration;

use crate::fixtures::{SWEEP_EPOCH, T0, TestSecret, id, secret, token, user};

async fn slot_of(store: &dyn Store, digest: &Digest) -> Option<SecretSlot> {
    store
        .find_token_by_secret(digest)
        .await
        .expect("find_token_by_secret")
        .map(|(_, slot)| slot)
}

/// Without a grace period the old secret dies at once.
pub async fn rotate_without_grace(store: &dyn Store) {
    let owner = user(store, T0).await;
    let (before, first) = token(store, owner.id, T0).await;
    let second = secret(SecretKind::ApiToken);
    let now = T0 + Duration::hours(1);
    let after = store
        .rotate_token(
            before.id,
            &second.stored,
            None,
            None,
            now,
            &SideEffects::none(),
        )
        .await
        .expect("rotate_token")
        .expect("the token exists");
    assert_eq!(after.hint, second.stored.hint);
    assert_eq!(after.previous, None);
    assert_eq!(after.updated_at, now);
    assert_eq!(after.created_at, before.created_at);
    assert_eq!(
        store.find_token(before.id).await.expect("find"),
        Some(after.clone())
    );
    assert_eq!(
        slot_of(store, &first.stored.digest).await,
        None,
        "the old secret is gone"
    );
    let by_new = store
        .find_token_by_secret(&second.stored.digest)
        .await
        .expect("by secret");
    assert_eq!(by_new, Some((after, SecretSlot::Current)));

    let missing = store
        .rotate_token(
            id(),
            &secret(SecretKind::ApiToken).stored,
            None,
            None,
            now,
            &SideEffects::none(),
        )
        .await
        .expect("rotate_token");
    assert!(missing.is_none(), "rotating an unknown token gives None");
}

/// With a grace period the old secret becomes the previous one until then;
/// a second rotation drops it and demotes the newer one. The store keeps
/// reporting a previous secret whose grace has ended until it is purged.
pub async fn rotate_with_grace(store: &dyn Store) {
    let owner = user(store, T0).await;
    let (before, first) = token(store, owner.id, T0).await;
    let second = secret(SecretKind::ApiToken);
    let t1 = T0 + Duration::hours(1);
    let until1 = t1 + Duration::days(7);
    let after = store
        .rotate_token(
            before.id,
            &second.stored,
            Some(until1),
            None,
            t1,
            &SideEffects::none(),
        )
        .await
        .expect("rotate_token")
        .expect("exists");
    assert_eq!(after.hint, second.stored.hint);
    assert_eq!(
        after.previous,
        Some(PreviousSecret {
            hint: first.stored.hint.clone(),
            expires_at: until1
        })
    );
    assert_eq!(after.updated_at, t1);
    assert_eq!(
        slot_of(store, &first.stored.digest).await,
        Some(SecretSlot::Previous)
    );
    assert_eq!(
        slot_of(store, &second.stored.digest).await,
        Some(SecretSlot::Current)
    );
    let (by_previous, _) = store
        .find_token_by_secret(&first.stored.digest)
        .await
        .expect("by secret")
        .expect("found");
    assert_eq!(
        by_previous, after,
        "the same token whichever secret finds it"
    );

    let third = secret(SecretKind::ApiToken);
    let t2 = T0 + Duration::hours(2);
    let until2 = t2 + Duration::hours(1);
    let after = store
        .rotate_token(
            before.id,
            &third.stored,
            Some(until2),
            None,
            t2,
            &SideEffects::none(),
        )
        .await
        .expect("rotate_token")
        .expect("exists");
    assert_eq!(after.hint, third.stored.hint);
    assert_eq!(
        after.previous,
        Some(PreviousSecret {
            hint: second.stored.hint.clone(),
            expires_at: until2
        })
    );
    assert_eq!(
        slot_of(store, &first.stored.digest).await,
        None,
        "the older previous is gone"
    );
    assert_eq!(
        slot_of(store, &second.stored.digest).await,
        Some(SecretSlot::Previous)
    );
    assert_eq!(
        slot_of(store, &third.stored.digest).await,
        Some(SecretSlot::Current)
    );

    // Past the grace period, until a purge, the store still reports it; the
    // services filter with `live_previous`.
    let found = store
        .find_token(before.id)
        .await
        .expect("find")
        .expect("exists");
    assert!(found.previous.is_some());
    assert!(found.live_previous(until2).is_none());
    assert_eq!(
        slot_of(store, &second.stored.digest).await,
        Some(SecretSlot::Previous)
    );

    // A rotation without grace drops both older secrets.
    let fourth = secret(SecretKind::ApiToken);
    let after = store
        .rotate_token(
            before.id,
            &fourth.stored,
            None,
            None,
            t2,
            &SideEffects::none(),
        )
        .await
        .expect("rotate_token")
        .expect("exists");
    assert_eq!(after.previous, None);
    assert_eq!(slot_of(store, &second.stored.digest).await, None);
    assert_eq!(slot_of(store, &third.stored.digest).await, None);
    assert_eq!(
        slot_of(store, &fourth.stored.digest).await,
        Some(SecretSlot::Current)
    );
}

/// `revoke_previous` drops the previous secret and keeps the current one.
pub async fn revoke_previous(store: &dyn Store) {
    let (before, first, second) = rotated_with_grace(store).await;
    let now = T0 + Duration::hours(1);
    let after = store
        .revoke_previous(before.id, now, &SideEffects::none())
        .await
        .expect("revoke_previous")
        .expect("exists");
    assert_eq!(after.previous, None);
    assert_eq!(after.hint, second.stored.hint);
    assert_eq!(slot_of(store, &first.stored.digest).await, None);
    assert_eq!(
        slot_of(store, &second.stored.digest).await,
        Some(SecretSlot::Current)
    );
    assert_eq!(
        store.find_token(before.id).await.expect("find"),
        Some(after.clone())
    );

    let again = store
        .revoke_previous(before.id, now + Duration::hours(1), &SideEffects::none())
        .await
        .expect("revoke_previous without a previous secret")
        .expect("exists");
    assert_eq!(again.previous, None);
    assert_eq!(again.hint, after.hint);

    let missing = store
        .revoke_previous(id(), now, &SideEffects::none())
        .await
        .expect("revoke_previous");
    assert!(missing.is_none(), "an unknown token gives None");
}

/// Deactivation is for good and idempotent, and keeps both secrets so that
/// verification can tell "deactivated" from "unknown".
pub async fn deactivate_keeps_secrets(store: &dyn Store) {
    let (before, first, second) = rotated_with_grace(store).await;
    let now = T0 + Duration::hours(1);
    let after = store
        .deactivate_token(before.id, now, &SideEffects::none())
        .await
        .expect("deactivate_token")
        .expect("exists");
    assert_eq!(after.state, TokenState::Deactivated);
    assert_eq!(after.updated_at, now);
    assert_eq!(after.hint, second.stored.hint);
    assert!(after.previous.is_some());
    for (digest, slot) in [
        (first.stored.digest, SecretSlot::Previous),
        (second.stored.digest, SecretSlot::Current),
    ] {
        let found = store
            .find_token_by_secret(&digest)
            .await
            .expect("by secret");
        assert_eq!(
            found,
            Some((after.clone(), slot)),
            "still found, as deactivated"
        );
    }

    let again = store
        .deactivate_token(before.id, now + Duration::hours(1), &SideEffects::none())
        .await
        .expect("deactivate_token again");
    assert_eq!(again, Some(after), "deactivating twice changes nothing");

    let missing = store
        .deactivate_token(id(), now, &SideEffects::none())
        .await
        .expect("deactivate_token");
    assert!(missing.is_none(), "an unknown token gives None");
}

/// `purge_ended_grace` deletes previous secrets whose grace ended at or
/// before `now`, and nothing else.
pub async fn purge_ended_grace(store: &dyn Store) {
    let e = SWEEP_EPOCH;
    let owner = user(store, e).await;
    let (ending, ending_first) = token(store, owner.id, e).await;
    let (lasting, lasting_first) = token(store, owner.id, e).await;
    let ending_second = secret(SecretKind::ApiToken);
    let lasting_second = secret(SecretKind::ApiToken);
    let now = e + Duration::hours(1);
    store
        .rotate_token(
            ending.id,
            &ending_second.stored,
            Some(now),
            None,
            e,
            &SideEffects::none(),
        )
        .await
        .expect("rotate_token")
        .expect("exists");
    store
        .rotate_token(
            lasting.id,
            &lasting_second.stored,
            Some(now + Duration::seconds(1)),
            None,
            e,
            &SideEffects::none(),
        )
        .await
        .expect("rotate_token")
        .expect("exists");

    let purged = store
        .purge_ended_grace(now)
        .await
        .expect("purge_ended_grace");
    assert!(
        purged >= 1,
        "at least the one ended grace period, got {purged}"
    );
    assert_eq!(slot_of(store, &ending_first.stored.digest).await, None);
    assert_eq!(
        slot_of(store, &ending_second.stored.digest).await,
        Some(SecretSlot::Current)
    );
    let ending_after = store
        .find_token(ending.id)
        .await
        .expect("find")
        .expect("exists");
    assert_eq!(ending_after.previous, None);

    assert_eq!(
        slot_of(store, &lasting_first.stored.digest).await,
        Some(SecretSlot::Previous)
    );
    let lasting_after = store
        .find_token(lasting.id)
        .await
        .expect("find")
        .expect("exists");
    assert!(
        lasting_after.previous.is_some(),
        "a grace period still running is kept"
    );
    assert_eq!(
        slot_of(store, &lasting_second.stored.digest).await,
        Some(SecretSlot::Current)
    );
}

/// A new token rotated at `T0` with a 7-day grace: the token as created,
/// its first (now previous) secret and its second (current) one.
async fn rotated_with_grace(store: &dyn Store) -> (ApiToken, TestSecret, TestSecret) {
    let owner = user(store, T0).await;
    let (before, first) = token(store, owner.id, T0).await;
    let second = secret(SecretKind::ApiToken);
    store
        .rotate_token(
            before.id,
            &second.stored,
            Some(T0 + Duration::days(7)),
            None,
            T0,
            &SideEffects::none(),
        )
        .await
        .expect("rotate_token")
        .expect("exists");
    (before, first, second)
}
