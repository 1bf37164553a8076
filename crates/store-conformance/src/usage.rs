//! Checks of [`keyward_core::store::TokenStore::record_token_usage`]: batches
//! of uses where the latest always wins, whatever the order.

use keyward_core::model::{ApiToken, TokenUsage};
use keyward_core::store::Store;
use time::{Duration, OffsetDateTime};
use uuid::Uuid;

use crate::fixtures::{T0, id, token, user};

fn use_of(token_id: Uuid, at: OffsetDateTime, ip: Option<&str>) -> TokenUsage {
    TokenUsage {
        token_id,
        at,
        ip: ip.map(|ip| ip.parse().expect("an IP address")),
    }
}

async fn last_use(store: &dyn Store, id: Uuid) -> (Option<OffsetDateTime>, Option<String>) {
    let t: ApiToken = store
        .find_token(id)
        .await
        .expect("find_token")
        .expect("exists");
    (t.last_used_at, t.last_used_ip)
}

/// Later uses win within a batch and across batches; an earlier use never
/// moves `last_used_at` back; an equal time overwrites; a use without an IP
/// keeps the stored IP; uses of unknown tokens are ignored.
pub async fn usage_never_moves_back(store: &dyn Store) {
    let owner = user(store, T0).await;
    let (a, _) = token(store, owner.id, T0).await;
    let (b, _) = token(store, owner.id, T0).await;
    let s = Duration::seconds;

    store.record_token_usage(&[]).await.expect("an empty batch");
    assert_eq!(last_use(store, a.id).await, (None, None));

    let batch = [
        use_of(a.id, T0 + s(10), Some("192.0.2.1")),
        use_of(b.id, T0 + s(5), Some("2001:db8::1")),
        use_of(a.id, T0 + s(5), Some("192.0.2.2")),
        use_of(b.id, T0 + s(20), Some("2001:db8::2")),
        use_of(id(), T0 + s(30), Some("192.0.2.9")),
    ];
    store
        .record_token_usage(&batch)
        .await
        .expect("record_token_usage");
    assert_eq!(
        last_use(store, a.id).await,
        (Some(T0 + s(10)), Some("192.0.2.1".to_owned())),
        "a later use listed first still wins"
    );
    assert_eq!(
        last_use(store, b.id).await,
        (Some(T0 + s(20)), Some("2001:db8::2".to_owned())),
        "a later use listed last wins"
    );

    store
        .record_token_usage(&[use_of(a.id, T0 + s(3), Some("192.0.2.3"))])
        .await
        .expect("record_token_usage");
    assert_eq!(
        last_use(store, a.id).await,
        (Some(T0 + s(10)), Some("192.0.2.1".to_owned())),
        "an older batch does not move last_used_at back"
    );

    store
        .record_token_usage(&[use_of(a.id, T0 + s(10), Some("192.0.2.4"))])
        .await
        .expect("record_token_usage");
    assert_eq!(
        last_use(store, a.id).await,
        (Some(T0 + s(10)), Some("192.0.2.4".to_owned())),
        "a use at the same instant overwrites"
    );

    store
        .record_token_usage(&[use_of(a.id, T0 + s(60), None)])
        .await
        .expect("record_token_usage");
    assert_eq!(
        last_use(store, a.id).await,
        (Some(T0 + s(60)), Some("192.0.2.4".to_owned())),
        "a use without an IP keeps the last known IP"
    );

    let a_after = store.find_token(a.id).await.expect("find").expect("exists");
    assert_eq!(a_after.updated_at, a.updated_at, "a use is not an edit");
}
