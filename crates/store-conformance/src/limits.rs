//! Checks of the per-user token limit of
//! [`keyward_core::store::TokenStore::insert_token`]: reached exactly at the
//! limit, counting only the owner's active unexpired tokens, and holding
//! under concurrent inserts.

use keyward_core::effects::SideEffects;
use std::sync::Arc;

use keyward_core::model::{PageRequest, TokenFilter};
use keyward_core::store::{InsertToken, Store};
use time::Duration;

use crate::fixtures::{T0, expiring, inserted, new_token, user};

async fn try_insert(
    store: &dyn Store,
    token: &keyward_core::model::NewApiToken,
    limit: u32,
) -> bool {
    match store
        .insert_token(token, limit, &SideEffects::none())
        .await
        .expect("insert_token")
    {
        InsertToken::Inserted(_) => true,
        InsertToken::LimitReached => false,
    }
}

/// The `limit`-th token is accepted, the next refused, and a refused token
/// leaves nothing behind.
pub async fn limit_is_reached_exactly(store: &dyn Store) {
    let owner = user(store, T0).await;
    for n in 1..=3 {
        let (token, _) = new_token(owner.id, T0);
        assert!(
            try_insert(store, &token, 3).await,
            "token {n} of 3 is accepted"
        );
    }
    let (refused, _) = new_token(owner.id, T0);
    assert!(
        !try_insert(store, &refused, 3).await,
        "a 4th token is refused at limit 3"
    );
    assert!(
        store
            .find_token(refused.id)
            .await
            .expect("find_token")
            .is_none()
    );
    let by_secret = store.find_token_by_secret(&refused.secret.digest).await;
    assert!(
        by_secret.expect("find_token_by_secret").is_none(),
        "its secret is not stored"
    );
    // A higher limit lets it in.
    assert!(try_insert(store, &refused, 4).await);

    let fresh = user(store, T0).await;
    let (token, _) = new_token(fresh.id, T0);
    assert!(
        !try_insert(store, &token, 0).await,
        "limit 0 refuses everything"
    );
    let (token, _) = new_token(fresh.id, T0);
    assert!(
        try_insert(store, &token, 1).await,
        "other users' tokens do not count"
    );
}

/// Deactivated and expired tokens do not count; expiry is judged at the new
/// token's `now`, a token expiring exactly then being expired.
pub async fn limit_counts_only_active_unexpired(store: &dyn Store) {
    let owner = user(store, T0).await;
    let (a, _) = new_token(owner.id, T0);
    let a = inserted(
        store
            .insert_token(&a, 2, &SideEffects::none())
            .await
            .expect("insert_token"),
    );
    let (b, _) = new_token(owner.id, T0);
    assert!(try_insert(store, &b, 2).await);
    let (c, _) = new_token(owner.id, T0);
    assert!(!try_insert(store, &c, 2).await, "limit 2 reached");
    store
        .deactivate_token(a.id, T0, &SideEffects::none())
        .await
        .expect("deactivate_token")
        .expect("exists");
    assert!(
        try_insert(store, &c, 2).await,
        "a deactivated token frees a place"
    );
    let (d, _) = new_token(owner.id, T0);
    assert!(!try_insert(store, &d, 2).await);

    let other = user(store, T0).await;
    let in_an_hour = T0 + Duration::hours(1);
    let (x, _) = new_token(other.id, T0);
    assert!(try_insert(store, &expiring(x, in_an_hour), 1).await);
    let (y, _) = new_token(other.id, T0 + Duration::minutes(59));
    assert!(
        !try_insert(store, &y, 1).await,
        "still active a minute before it expires"
    );
    let (y, _) = new_token(other.id, in_an_hour);
    assert!(
        try_insert(store, &y, 1).await,
        "a token expiring at `now` no longer counts"
    );
    let (z, _) = new_token(other.id, in_an_hour);
    assert!(!try_insert(store, &z, 1).await, "but the new one does");
}

/// Concurrent inserts for one user never pass the limit together.
pub async fn limit_holds_under_concurrent_inserts(store: Arc<dyn Store>) {
    const LIMIT: u32 = 3;
    const ATTEMPTS: usize = 12;
    let owner = user(store.as_ref(), T0).await;
    let mut tasks = tokio::task::JoinSet::new();
    for _ in 0..ATTEMPTS {
        let store = Arc::clone(&store);
        let (token, _) = new_token(owner.id, T0);
        tasks.spawn(async move {
            store
                .insert_token(&token, LIMIT, &SideEffects::none())
                .await
        });
    }
    let mut accepted = 0;
    while let Some(joined) = tasks.join_next().await {
        match joined
            .expect("insert task")
            .expect("insert_token under contention")
        {
            InsertToken::Inserted(_) => accepted += 1,
            InsertToken::LimitReached => {}
        }
    }
    assert_eq!(
        accepted, LIMIT,
        "exactly {LIMIT} of {ATTEMPTS} concurrent inserts pass"
    );
    let listed = store
        .list_tokens(&TokenFilter::of(owner.id), &PageRequest::default(), T0)
        .await
        .expect("list_tokens");
    assert_eq!(listed.len(), LIMIT as usize);
}
