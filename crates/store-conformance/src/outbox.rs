//! Checks of [`keyward_core::store::OutboxStore`] and the renewal keys of
//! [`keyward_core::store::RenewalStore`]: concurrent claimers never get the
//! same message, an expired claim is taken over (and the old holder's late
//! verdict is not applied), retries wait for their time, a dedupe key is
//! written once, the delivery log pages newest first, a due renewal starts
//! once and a key is redeemed once. Every check leaves nothing pending, so
//! the next check's claims see only its own messages.

use std::collections::BTreeSet;
use std::sync::Arc;

use keyward_core::effects::SideEffects;
use keyward_core::model::{
    AttemptVerdict, Channel, DeliveryAttempt, DeliveryStatus, NewOutboxMessage, NewRenewalKey,
    PageRequest, RenewalRedemption, RenewalStart,
};
use keyward_core::secret::SecretKind;
use keyward_core::store::{Redeemed, Store};
use time::{Duration, OffsetDateTime};
use uuid::Uuid;

use crate::fixtures::{self, T0, id, unique};

const CLAIM: Duration = Duration::seconds(60);

fn message(token_id: Option<Uuid>, at: OffsetDateTime) -> NewOutboxMessage {
    NewOutboxMessage {
        id: id(),
        token_id,
        event: "token.renewal_ready".into(),
        channel: Channel::Webhook,
        target: "https://hooks.example.com/cb".into(),
        payload: "{}".into(),
        key_seed: Some(vec![3; 32]),
        dedupe_key: None,
        created_at: at,
    }
}

fn attempt(id: Uuid, at: OffsetDateTime) -> DeliveryAttempt {
    DeliveryAttempt {
        message_id: id,
        at,
        response: Some("HTTP 200".into()),
        error: None,
        duration_ms: 5,
    }
}

async fn finish_all(store: &dyn Store, holder: &str, ids: &[Uuid], at: OffsetDateTime) {
    for id in ids {
        assert!(
            store
                .finish_attempt(holder, &attempt(*id, at), AttemptVerdict::Delivered)
                .await
                .expect("finish_attempt"),
            "the holder's verdict is applied"
        );
    }
}

/// Two workers claiming at once split the due messages between them.
pub async fn claimers_never_share_a_message(store: Arc<dyn Store>) {
    let messages: Vec<_> = (0..20).map(|_| message(None, T0)).collect();
    assert_eq!(store.insert_outbox_messages(&messages).await.unwrap(), 20);
    let (a, b) = (unique("holder"), unique("holder"));
    let at = T0 + Duration::seconds(1);
    let (ca, cb) = tokio::join!(
        {
            let s = Arc::clone(&store);
            let a = a.clone();
            async move { s.claim_outbox(&a, at, CLAIM, 20).await }
        },
        {
            let s = Arc::clone(&store);
            let b = b.clone();
            async move { s.claim_outbox(&b, at, CLAIM, 20).await }
        },
    );
    let (ca, cb) = (ca.expect("claim a"), cb.expect("claim b"));
    let ia: BTreeSet<Uuid> = ca.iter().map(|m| m.id).collect();
    let ib: BTreeSet<Uuid> = cb.iter().map(|m| m.id).collect();
    assert!(ia.is_disjoint(&ib), "a message went to both claimers");
    let mine: BTreeSet<Uuid> = messages.iter().map(|m| m.id).collect();
    assert_eq!(ia.union(&ib).cloned().collect::<BTreeSet<_>>(), mine);
    assert!(
        store
            .claim_outbox(&unique("holder"), at, CLAIM, 20)
            .await
            .unwrap()
            .is_empty(),
        "claimed messages are not claimed again while the claims last"
    );
    finish_all(store.as_ref(), &a, &ia.into_iter().collect::<Vec<_>>(), at).await;
    finish_all(store.as_ref(), &b, &ib.into_iter().collect::<Vec<_>>(), at).await;
    assert_eq!(store.outbox_depth().await.unwrap(), 0);
}

/// A claim lasts until its end, exactly: then another holder takes the
/// message over, and the first holder's late verdict is recorded as an
/// attempt but not applied.
pub async fn an_expired_claim_is_taken_over(store: &dyn Store) {
    let m = message(None, T0);
    store
        .insert_outbox_messages(std::slice::from_ref(&m))
        .await
        .unwrap();
    let (a, b) = (unique("holder"), unique("holder"));
    assert_eq!(
        store.claim_outbox(&a, T0, CLAIM, 10).await.unwrap().len(),
        1
    );
    let almost = T0 + CLAIM - Duration::seconds(1);
    assert!(
        store
            .claim_outbox(&b, almost, CLAIM, 10)
            .await
            .unwrap()
            .is_empty()
    );
    let taken = store.claim_outbox(&b, T0 + CLAIM, CLAIM, 10).await.unwrap();
    assert_eq!(taken.iter().map(|m| m.id).collect::<Vec<_>>(), [m.id]);
    assert!(
        !store
            .finish_attempt(&a, &attempt(m.id, T0 + CLAIM), AttemptVerdict::Failed)
            .await
            .unwrap(),
        "the old holder's verdict is not applied"
    );
    finish_all(store, &b, &[m.id], T0 + CLAIM).await;
    let done = store
        .find_delivery(m.id)
        .await
        .unwrap()
        .expect("the message");
    assert_eq!(done.status, DeliveryStatus::Delivered);
    assert_eq!(done.attempts, 1);
    assert_eq!(done.next_attempt_at, None);
    assert_eq!(store.list_attempts(m.id).await.unwrap().len(), 2);
}

/// A retried message waits for its time; a dedupe key is written once;
/// the log pages newest first.
pub async fn retries_wait_and_dedupe_keys_write_once(store: &dyn Store) {
    let user = fixtures::user(store, T0).await;
    let token = fixtures::insert(store, &fixtures::new_token(user.id, T0).0).await;
    let mut first = message(Some(token.id), T0);
    first.dedupe_key = Some(unique("dedupe"));
    let mut again = message(Some(token.id), T0);
    again.dedupe_key = first.dedupe_key.clone();
    let later = message(Some(token.id), T0 + Duration::seconds(5));
    assert_eq!(
        store
            .insert_outbox_messages(&[first.clone(), again])
            .await
            .unwrap(),
        1
    );
    store
        .insert_outbox_messages(std::slice::from_ref(&later))
        .await
        .unwrap();
    let holder = unique("holder");
    let at = T0 + Duration::seconds(10);
    let claimed = store.claim_outbox(&holder, at, CLAIM, 10).await.unwrap();
    assert_eq!(claimed.len(), 2);
    let retry_at = at + Duration::seconds(30);
    for m in &claimed {
        assert!(
            store
                .finish_attempt(&holder, &attempt(m.id, at), AttemptVerdict::Retry(retry_at))
                .await
                .unwrap()
        );
    }
    let waiting = store.find_delivery(first.id).await.unwrap().unwrap();
    assert_eq!(
        (waiting.status, waiting.attempts, waiting.next_attempt_at),
        (DeliveryStatus::Pending, 1, Some(retry_at))
    );
    let before = retry_at - Duration::seconds(1);
    assert!(
        store
            .claim_outbox(&holder, before, CLAIM, 10)
            .await
            .unwrap()
            .is_empty()
    );
    let again = store
        .claim_outbox(&holder, retry_at, CLAIM, 10)
        .await
        .unwrap();
    assert_eq!(again.len(), 2);
    finish_all(
        store,
        &holder,
        &again.iter().map(|m| m.id).collect::<Vec<_>>(),
        retry_at,
    )
    .await;

    let page = store
        .list_deliveries(
            token.id,
            &PageRequest {
                after: None,
                limit: 1,
            },
        )
        .await
        .unwrap();
    assert_eq!(
        page.iter().map(|m| m.id).collect::<Vec<_>>(),
        [later.id],
        "newest first"
    );
    let key = keyward_core::model::PageKey {
        created_at: page[0].created_at,
        id: page[0].id,
    };
    let next = store
        .list_deliveries(
            token.id,
            &PageRequest {
                after: Some(key),
                limit: 10,
            },
        )
        .await
        .unwrap();
    assert_eq!(next.iter().map(|m| m.id).collect::<Vec<_>>(), [first.id]);
}

/// A due renewal starts once (also when two start it at once); its key is
/// redeemed once (also concurrently); a token that is not due does not
/// start unless forced.
pub async fn renewals_start_once_and_keys_redeem_once(store: Arc<dyn Store>) {
    let s = store.as_ref();
    let user = fixtures::user(s, T0).await;
    let (mut new, _) = fixtures::new_token(user.id, T0);
    new.renewal = Some(fixtures::renewal(30, None));
    let token = fixtures::insert(s, &new).await;
    let due_at = token.renewal.as_ref().unwrap().next_renewal_at;
    let start = |now: OffsetDateTime, force: bool| {
        let key = fixtures::secret(SecretKind::RenewalKey);
        (
            RenewalStart {
                token_id: token.id,
                key: NewRenewalKey {
                    id: id(),
                    token_id: token.id,
                    digest: key.stored.digest,
                    created_at: now,
                    expires_at: now + Duration::hours(2),
                },
                force,
                retry_at: now + Duration::days(1),
                now,
            },
            key,
        )
    };
    let early = due_at - Duration::seconds(1);
    assert!(
        !s.start_renewal(&start(early, false).0, &SideEffects::none())
            .await
            .unwrap()
    );
    assert!(
        !s.due_renewals(early, 1000)
            .await
            .unwrap()
            .contains(&token.id)
    );
    assert!(
        s.due_renewals(due_at, 1000)
            .await
            .unwrap()
            .contains(&token.id)
    );
    let (one, key_one) = start(due_at, false);
    let (two, key_two) = start(due_at, false);
    let key_one_digest = key_one.stored.digest;
    let key_two_digest = key_two.stored.digest;
    let (a, b) = tokio::join!(
        {
            let st = Arc::clone(&store);
            let one = one.clone();
            async move { st.start_renewal(&one, &SideEffects::none()).await.unwrap() }
        },
        {
            let st = Arc::clone(&store);
            let two = two.clone();
            async move { st.start_renewal(&two, &SideEffects::none()).await.unwrap() }
        },
    );
    assert!(a ^ b, "exactly one start of a due token ({a}, {b})");
    let (started, key) = if a { (one, key_one) } else { (two, key_two) };
    let lost = if a { &key_two_digest } else { &key_one_digest };
    assert!(
        s.find_renewal_key(lost).await.unwrap().is_none(),
        "the losing start wrote no key"
    );
    let found = s
        .find_renewal_key(&key.stored.digest)
        .await
        .unwrap()
        .expect("the key");
    assert!(found.is_live(due_at));
    let redemption = |digest_seed: u8| RenewalRedemption {
        key_id: started.key.id,
        token_id: token.id,
        secret: keyward_core::model::NewTokenSecret {
            digest: keyward_core::secret::Digest([digest_seed; 32]),
            hint: "...abcd".into(),
        },
        previous_until: due_at + Duration::days(1),
        expires_at: Some(due_at + Duration::days(30)),
        next_renewal_at: due_at + Duration::days(30),
        now: due_at + Duration::seconds(1),
    };
    let (r1, r2) = (redemption(1), redemption(2));
    let (x, y) = tokio::join!(
        {
            let st = Arc::clone(&store);
            async move {
                st.redeem_renewal_key(&r1, &SideEffects::none())
                    .await
                    .unwrap()
            }
        },
        {
            let st = Arc::clone(&store);
            async move {
                st.redeem_renewal_key(&r2, &SideEffects::none())
                    .await
                    .unwrap()
            }
        },
    );
    let wins = [&x, &y]
        .iter()
        .filter(|r| matches!(r, Redeemed::Renewed(_)))
        .count();
    assert_eq!(wins, 1, "one redemption wins: {x:?} {y:?}");
    let renewed = s.find_token(token.id).await.unwrap().unwrap();
    assert!(
        renewed.previous.is_some(),
        "the old secret is the previous one"
    );
    assert_eq!(renewed.expires_at, Some(due_at + Duration::days(30)));
    let policy = renewed.renewal.unwrap();
    assert_eq!(policy.last_renewed_at, Some(due_at + Duration::seconds(1)));
    assert_eq!(policy.next_renewal_at, due_at + Duration::days(30));
    assert!(
        !s.find_renewal_key(&key.stored.digest)
            .await
            .unwrap()
            .unwrap()
            .is_live(due_at)
    );
}
