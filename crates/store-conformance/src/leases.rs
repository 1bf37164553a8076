//! Checks of [`keyward_core::store::LeaseStore`]: a free lease is taken, a
//! live one is refused to other holders and extended by its own, an expired
//! one (its holder crashed) is taken by another, a released one is free, and
//! of concurrent takers exactly one wins. Each check uses lease and holder
//! names of its own.

use std::sync::Arc;

use keyward_core::store::Store;
use time::{Duration, OffsetDateTime};

use crate::fixtures::{T0, unique};

/// The time to live every check uses.
const TTL: Duration = Duration::seconds(90);

async fn acquire(store: &dyn Store, name: &str, holder: &str, now: OffsetDateTime) -> bool {
    store
        .try_acquire_lease(name, holder, now, TTL)
        .await
        .expect("try_acquire_lease")
}

/// A lease nobody holds is taken; taking it again at once is still ours.
pub async fn free_lease_is_acquired(store: &dyn Store) {
    let (lease, a) = (unique("lease"), unique("holder"));
    assert!(
        acquire(store, &lease, &a, T0).await,
        "a free lease is taken"
    );
    assert!(
        acquire(store, &lease, &a, T0).await,
        "its holder asking again still holds it"
    );
    let other = unique("lease");
    assert!(
        acquire(store, &other, &unique("holder"), T0).await,
        "leases with other names are independent"
    );
}

/// Another holder is refused while the lease is live, up to the last
/// instant, even a fraction of a second before its end; the lease ends
/// exactly at `now + ttl`.
pub async fn live_lease_is_refused_to_others(store: &dyn Store) {
    let (lease, a, b) = (unique("lease"), unique("holder"), unique("holder"));
    assert!(acquire(store, &lease, &a, T0).await);
    for at in [
        T0,
        T0 + Duration::seconds(1),
        T0 + TTL - Duration::seconds(1),
        T0 + TTL - Duration::milliseconds(400),
    ] {
        assert!(
            !acquire(store, &lease, &b, at).await,
            "another holder is refused at {at} while the lease is live"
        );
    }
    assert!(
        acquire(store, &lease, &a, T0 + Duration::seconds(2)).await,
        "the refusals did not take it from its holder"
    );
    assert!(
        acquire(store, &lease, &b, T0 + Duration::seconds(2) + TTL).await,
        "a lease is expired at exactly now + ttl"
    );
}

/// The holder asking again extends its lease to its new `now + ttl`.
pub async fn holder_extends_its_lease(store: &dyn Store) {
    let (lease, a, b) = (unique("lease"), unique("holder"), unique("holder"));
    assert!(acquire(store, &lease, &a, T0).await);
    let renewed = T0 + Duration::seconds(60);
    assert!(acquire(store, &lease, &a, renewed).await, "extended");
    assert!(
        !acquire(store, &lease, &b, T0 + TTL).await,
        "after its first term the extended lease is still live"
    );
    assert!(
        !acquire(store, &lease, &b, renewed + TTL - Duration::seconds(1)).await,
        "live until the end of the extension"
    );
    assert!(
        acquire(store, &lease, &b, renewed + TTL).await,
        "taken when the extension ends"
    );
}

/// When the holder stops extending its lease (it crashed), another holder
/// takes it once it expires, and the old holder is then refused.
pub async fn expired_lease_is_taken_over(store: &dyn Store) {
    let (lease, a, b) = (unique("lease"), unique("holder"), unique("holder"));
    assert!(acquire(store, &lease, &a, T0).await);
    let later = T0 + TTL + Duration::seconds(30);
    assert!(
        acquire(store, &lease, &b, later).await,
        "an expired lease is taken over"
    );
    assert!(
        !acquire(store, &lease, &a, later + Duration::seconds(1)).await,
        "the old holder, back, is refused"
    );
    assert!(
        acquire(store, &lease, &b, later + Duration::seconds(1)).await,
        "the new holder keeps it"
    );
}

/// Releasing frees the lease for another holder at once; only the holder's
/// release counts, and releasing a lease not held is not an error.
pub async fn release_frees_the_lease(store: &dyn Store) {
    let (lease, a, b) = (unique("lease"), unique("holder"), unique("holder"));
    assert!(acquire(store, &lease, &a, T0).await);
    store
        .release_lease(&lease, &b)
        .await
        .expect("release by another holder");
    assert!(
        !acquire(store, &lease, &b, T0).await,
        "another holder's release does not free it"
    );
    store.release_lease(&lease, &a).await.expect("release");
    assert!(
        acquire(store, &lease, &b, T0).await,
        "a released lease is taken at once"
    );
    store
        .release_lease(&unique("lease"), &a)
        .await
        .expect("releasing a lease nobody holds");
}

/// Ten holders asking at the same instant: exactly one gets the lease, both
/// when it is new and when it has just expired.
pub async fn one_winner_among_concurrent_holders(store: Arc<dyn Store>) {
    const HOLDERS: usize = 10;
    let lease = unique("lease");
    for (round, at) in [(1, T0), (2, T0 + TTL)] {
        let holders: Vec<String> = (0..HOLDERS).map(|_| unique("holder")).collect();
        let mut tasks = tokio::task::JoinSet::new();
        for holder in holders.clone() {
            let (store, lease) = (Arc::clone(&store), lease.clone());
            tasks.spawn(async move {
                let won = store.try_acquire_lease(&lease, &holder, at, TTL).await;
                (holder, won)
            });
        }
        let mut winners = Vec::new();
        while let Some(joined) = tasks.join_next().await {
            let (holder, won) = joined.expect("acquire task");
            if won.expect("try_acquire_lease under contention") {
                winners.push(holder);
            }
        }
        assert_eq!(
            winners.len(),
            1,
            "round {round}: exactly one of {HOLDERS} concurrent holders wins, got {winners:?}"
        );
        for holder in &holders {
            assert_eq!(
                acquire(store.as_ref(), &lease, holder, at).await,
                *holder == winners[0],
                "round {round}: the winner, and only it, holds the lease afterwards"
            );
        }
    }
}
