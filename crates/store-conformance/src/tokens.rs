//! Checks of the token records in [`keyward_core::store::TokenStore`]:
//! insert and look-ups, partial updates, deletion, renewal and the list
//! filters.

use keyward_core::effects::SideEffects;
use std::collections::BTreeSet;

use keyward_core::model::{
    ApiToken, PageKey, PageRequest, SecretSlot, TokenFilter, TokenState, TokenStatus, TokenUpdate,
    TokenUsage,
};
use keyward_core::secret::SecretKind;
use keyward_core::store::{RenewOutcome, RenewalLimit, Store};
use time::{Duration, OffsetDateTime};
use uuid::Uuid;

use crate::fixtures::{T0, id, insert, new_token, renewal, secret, token, user};

/// A token reads back exactly as inserted, by id and by its secret.
pub async fn insert_and_find(store: &dyn Store) {
    let owner = user(store, T0).await;
    let (mut new, _) = new_token(owner.id, T0);
    new.description = Some("deploys the shop".to_owned());
    new.applications = BTreeSet::from(["shop".to_owned(), "tasks".to_owned()]);
    new.expires_at = Some(T0 + Duration::days(90));
    new.renewal = Some(renewal(30, Some("ops@example.com")));
    let inserted = insert(store, &new).await;
    let expected = ApiToken {
        id: new.id,
        user_id: owner.id,
        name: new.name.clone(),
        description: new.description.clone(),
        scopes: new.scopes.clone(),
        applications: new.applications.clone(),
        state: TokenState::Active,
        expires_at: new.expires_at,
        created_at: T0,
        updated_at: T0,
        last_used_at: None,
        last_used_ip: None,
        hint: new.secret.hint.clone(),
        previous: None,
        renewal: new.renewal.clone(),
        renewed_to: None,
    };
    assert_eq!(
        inserted, expected,
        "insert_token returns the token as stored"
    );
    assert_eq!(
        store.find_token(new.id).await.expect("find_token"),
        Some(expected.clone())
    );
    assert_eq!(
        store
            .find_token_by_secret(&new.secret.digest)
            .await
            .expect("find_token_by_secret"),
        Some((expected, SecretSlot::Current))
    );

    // Minimal token: no description, expiry, renewal or applications.
    let (plain, _) = token(store, owner.id, T0).await;
    let found = store
        .find_token(plain.id)
        .await
        .expect("find_token")
        .expect("found");
    assert_eq!(found, plain);
    assert!(found.description.is_none() && found.renewal.is_none() && found.expires_at.is_none());
    // A renewal policy without a mail recipient.
    let (mut new, _) = new_token(owner.id, T0);
    new.renewal = Some(renewal(1, None));
    assert_eq!(insert(store, &new).await.renewal, new.renewal);

    assert!(store.find_token(id()).await.expect("find_token").is_none());
    let unknown = secret(SecretKind::ApiToken).stored.digest;
    assert!(
        store
            .find_token_by_secret(&unknown)
            .await
            .expect("by secret")
            .is_none()
    );
    let (orphan, _) = new_token(id(), T0);
    assert!(
        store
            .insert_token(&orphan, 10, &SideEffects::none())
            .await
            .is_err(),
        "a token of an unknown user is refused"
    );
}

/// `update_token` changes only the `Some` fields and stamps `updated_at`.
pub async fn update_applies_only_given_fields(store: &dyn Store) {
    let owner = user(store, T0).await;
    let (mut new, _) = new_token(owner.id, T0);
    new.description = Some("first".to_owned());
    new.renewal = Some(renewal(7, Some("a@example.com")));
    let original = insert(store, &new).await;

    type Change = Box<dyn Fn(&mut ApiToken) + Send + Sync>;
    let renewed = renewal(14, None);
    let in_30_days = T0 + Duration::days(30);
    let steps: Vec<(TokenUpdate, Change)> = vec![
        (
            TokenUpdate {
                name: Some("renamed".into()),
                ..TokenUpdate::default()
            },
            Box::new(|t| t.name = "renamed".into()),
        ),
        (
            TokenUpdate {
                description: Some(None),
                ..TokenUpdate::default()
            },
            Box::new(|t| t.description = None),
        ),
        (
            TokenUpdate {
                description: Some(Some("second".into())),
                ..TokenUpdate::default()
            },
            Box::new(|t| t.description = Some("second".into())),
        ),
        (
            TokenUpdate {
                expires_at: Some(in_30_days),
                ..TokenUpdate::default()
            },
            Box::new(move |t| t.expires_at = Some(in_30_days)),
        ),
        (
            TokenUpdate {
                renewal: Some(Some(renewed.clone())),
                ..TokenUpdate::default()
            },
            Box::new(move |t| t.renewal = Some(renewed.clone())),
        ),
        (
            TokenUpdate {
                renewal: Some(None),
                ..TokenUpdate::default()
            },
            Box::new(|t| t.renewal = None),
        ),
        (
            TokenUpdate {
                name: Some("both".into()),
                description: Some(Some("third".into())),
                ..TokenUpdate::default()
            },
            Box::new(|t| {
                t.name = "both".into();
                t.description = Some("third".into());
            }),
        ),
    ];
    let mut expected = original.clone();
    for (hours, (update, change)) in (1..).zip(steps) {
        let at = T0 + Duration::hours(hours);
        change(&mut expected);
        expected.updated_at = at;
        let updated = store
            .update_token(original.id, &update, at, &SideEffects::none())
            .await
            .expect("update_token");
        assert_eq!(updated.as_ref(), Some(&expected), "after {update:?}");
        let found = store.find_token(original.id).await.expect("find_token");
        assert_eq!(found.as_ref(), Some(&expected));
    }
    let missing = TokenUpdate {
        name: Some("x".into()),
        ..TokenUpdate::default()
    };
    assert!(
        store
            .update_token(id(), &missing, T0, &SideEffects::none())
            .await
            .expect("update_token")
            .is_none()
    );
}

/// `delete_token` removes the token and every secret of it.
pub async fn delete_takes_the_secrets_along(store: &dyn Store) {
    let owner = user(store, T0).await;
    let (doomed, first) = token(store, owner.id, T0).await;
    let (kept, _) = token(store, owner.id, T0).await;
    let second = secret(SecretKind::ApiToken);
    store
        .rotate_token(
            doomed.id,
            &second.stored,
            Some(T0 + Duration::days(7)),
            None,
            T0,
            &SideEffects::none(),
        )
        .await
        .expect("rotate_token")
        .expect("rotated");

    assert!(
        store
            .delete_token(doomed.id, &SideEffects::none())
            .await
            .expect("delete_token")
    );
    assert!(
        store
            .find_token(doomed.id)
            .await
            .expect("find_token")
            .is_none()
    );
    for digest in [first.stored.digest, second.stored.digest] {
        let found = store
            .find_token_by_secret(&digest)
            .await
            .expect("find_token_by_secret");
        assert!(found.is_none(), "a deleted token's secrets find nothing");
    }
    assert!(
        !store
            .delete_token(doomed.id, &SideEffects::none())
            .await
            .expect("delete_token again")
    );
    let listed = store
        .list_tokens(&TokenFilter::of(owner.id), &PageRequest::default(), T0)
        .await
        .expect("list_tokens");
    assert_eq!(listed, vec![kept], "other tokens stay");
}

/// Renewal inserts the successor and moves the old token's expiry, marks the
/// old token renewed (once only), and obeys the limit only past
/// `latest_at_limit`.
pub async fn renew(store: &dyn Store) {
    let owner = user(store, T0).await;
    let (old, old_secret) = token(store, owner.id, T0).await;
    let now = T0 + Duration::days(1);
    let expire_at = now + Duration::hours(1);
    let (mut replacement, _) = new_token(owner.id, now);
    replacement.scopes = old.scopes.clone();
    replacement.expires_at = Some(now + Duration::days(30));
    let limits = RenewalLimit {
        limit: 10,
        latest_at_limit: now,
    };

    let RenewOutcome::Renewed {
        old: old_after,
        new,
    } = store
        .renew_token(
            old.id,
            &replacement,
            expire_at,
            limits,
            &SideEffects::none(),
        )
        .await
        .expect("renew_token")
    else {
        panic!("the old token exists and was not renewed before");
    };
    assert_eq!(old_after.id, old.id);
    assert_eq!(
        old_after.expires_at,
        Some(expire_at),
        "the old token now expires"
    );
    assert_eq!(old_after.state, TokenState::Active);
    assert_eq!(old_after.hint, old.hint, "the old secret is kept");
    assert_eq!(
        old_after.renewed_to,
        Some(new.id),
        "and points at its successor"
    );
    assert_eq!(new.id, replacement.id);
    assert_eq!(new.name, replacement.name);
    assert_eq!(new.state, TokenState::Active);
    assert_eq!(new.expires_at, replacement.expires_at);
    assert_eq!(new.renewed_to, None);
    assert_eq!((new.created_at, new.updated_at), (now, now));
    assert_eq!(new.hint, replacement.secret.hint);
    assert_eq!(
        store.find_token(old.id).await.expect("find"),
        Some(old_after.clone())
    );
    assert_eq!(
        store.find_token(new.id).await.expect("find"),
        Some(new.clone())
    );
    let by_old = store
        .find_token_by_secret(&old_secret.stored.digest)
        .await
        .expect("by secret");
    assert_eq!(by_old, Some((old_after, SecretSlot::Current)));
    let by_new = store
        .find_token_by_secret(&replacement.secret.digest)
        .await
        .expect("by secret");
    assert_eq!(by_new, Some((new.clone(), SecretSlot::Current)));

    // Once renewed, never again; the successor can be.
    let (again, _) = new_token(owner.id, now);
    assert!(matches!(
        store
            .renew_token(old.id, &again, expire_at, limits, &SideEffects::none())
            .await
            .expect("renew_token"),
        RenewOutcome::AlreadyRenewed
    ));
    assert!(
        store.find_token(again.id).await.expect("find").is_none(),
        "a refused renewal inserts nothing"
    );
    assert!(matches!(
        store
            .renew_token(new.id, &again, expire_at, limits, &SideEffects::none())
            .await
            .expect("renew_token"),
        RenewOutcome::Renewed { .. }
    ));

    // At the limit (one active token per user here), renewing works only
    // if the old token ends by `latest_at_limit`.
    let limited = user(store, T0).await;
    let (only, _) = new_token(limited.id, T0);
    crate::fixtures::inserted(
        store
            .insert_token(&only, 1, &SideEffects::none())
            .await
            .expect("insert_token"),
    );
    let at_limit = RenewalLimit {
        limit: 1,
        latest_at_limit: now + Duration::hours(1),
    };
    let (replacement, _) = new_token(limited.id, now);
    let refused = store
        .renew_token(
            only.id,
            &replacement,
            now + Duration::hours(2),
            at_limit,
            &SideEffects::none(),
        )
        .await
        .expect("renew_token at the limit");
    assert!(matches!(refused, RenewOutcome::LimitReached), "{refused:?}");
    assert!(
        store
            .find_token(replacement.id)
            .await
            .expect("find")
            .is_none()
    );
    assert_eq!(
        store
            .find_token(only.id)
            .await
            .expect("find")
            .map(|t| t.renewed_to),
        Some(None),
        "a refused renewal changes nothing"
    );
    let renewed = store
        .renew_token(
            only.id,
            &replacement,
            now + Duration::hours(1),
            at_limit,
            &SideEffects::none(),
        )
        .await
        .expect("renew_token at the limit");
    assert!(
        matches!(renewed, RenewOutcome::Renewed { .. }),
        "a renewal that ends the old token soon passes the limit"
    );

    let (orphan, _) = new_token(owner.id, now);
    let missing = store
        .renew_token(id(), &orphan, now, limits, &SideEffects::none())
        .await
        .expect("renew_token");
    assert!(
        matches!(missing, RenewOutcome::NotFound),
        "renewing an unknown token is NotFound"
    );
    assert!(
        store
            .find_token(orphan.id)
            .await
            .expect("find_token")
            .is_none(),
        "and inserts nothing"
    );
}

/// Of many concurrent renewals of one token, exactly one succeeds.
pub async fn renew_once_under_concurrency(store: std::sync::Arc<dyn Store>) {
    const ATTEMPTS: usize = 20;
    let owner = user(store.as_ref(), T0).await;
    let (old, _) = token(store.as_ref(), owner.id, T0).await;
    let now = T0 + Duration::days(1);
    let mut tasks = tokio::task::JoinSet::new();
    for _ in 0..ATTEMPTS {
        let store = store.clone();
        let (replacement, _) = new_token(owner.id, now);
        tasks.spawn(async move {
            let limits = RenewalLimit {
                limit: 100,
                latest_at_limit: now,
            };
            store
                .renew_token(
                    old.id,
                    &replacement,
                    now + Duration::hours(1),
                    limits,
                    &SideEffects::none(),
                )
                .await
        });
    }
    let mut renewed = 0;
    while let Some(outcome) = tasks.join_next().await {
        match outcome.expect("task").expect("renew_token") {
            RenewOutcome::Renewed { .. } => renewed += 1,
            RenewOutcome::AlreadyRenewed => {}
            other => panic!("unexpected {other:?}"),
        }
    }
    assert_eq!(renewed, 1, "exactly one of {ATTEMPTS} concurrent renewals");
    let active = store
        .list_tokens(&TokenFilter::of(owner.id), &PageRequest::default(), now)
        .await
        .expect("list");
    assert_eq!(active.len(), 2, "the old token and one successor");
}

/// `list_tokens` filters by derived status and `unused_since` as of `now`,
/// oldest first, ties broken by id, and only the user's own tokens.
pub async fn list_filters(store: &dyn Store) {
    let owner = user(store, T0).await;
    let now = T0 + Duration::days(10);
    let cutoff = now - Duration::days(7);
    let h = Duration::hours;
    let mut made: Vec<(&str, Uuid)> = Vec::new();
    let mut add =
        async |label: &'static str, created: OffsetDateTime, expires: Option<OffsetDateTime>| {
            let (mut new, _) = new_token(owner.id, created);
            new.expires_at = expires;
            insert(store, &new).await;
            made.push((label, new.id));
            new.id
        };
    let never_used = add("never_used", T0, None).await;
    let recent = add("recent", T0 + h(1), Some(now + Duration::days(1))).await;
    let ends_now = add("ends_now", T0 + h(2), Some(now)).await;
    let ended = add("ended", T0 + h(3), Some(now - Duration::days(1))).await;
    let deactivated = add("deactivated", T0 + h(4), None).await;
    let long_ago = add("long_ago", T0 + h(6), None).await;
    let tie_a = add("tie_a", T0 + h(7), None).await;
    let tie_b = add("tie_b", T0 + h(7), None).await;
    let off_and_ended = add("off_and_ended", T0 + h(8), Some(now - Duration::days(2))).await;
    for id in [deactivated, off_and_ended] {
        store
            .deactivate_token(id, T0 + h(9), &SideEffects::none())
            .await
            .expect("deactivate")
            .expect("exists");
    }
    let uses = [
        (recent, now - h(1)),
        (long_ago, now - Duration::days(30)),
        (tie_a, cutoff),
    ];
    let batch: Vec<TokenUsage> = uses
        .iter()
        .map(|&(token_id, at)| TokenUsage {
            token_id,
            at,
            ip: None,
        })
        .collect();
    store
        .record_token_usage(&batch)
        .await
        .expect("record_token_usage");
    // Someone else's token never shows up.
    let stranger = user(store, T0).await;
    token(store, stranger.id, T0).await;

    let (tie_first, tie_second) = if tie_a < tie_b {
        (tie_a, tie_b)
    } else {
        (tie_b, tie_a)
    };
    let all = [
        never_used,
        recent,
        ends_now,
        ended,
        deactivated,
        long_ago,
        tie_first,
        tie_second,
        off_and_ended,
    ];
    let cases: [(Option<TokenStatus>, Option<OffsetDateTime>, Vec<Uuid>); 7] = [
        (None, None, all.to_vec()),
        (
            Some(TokenStatus::Active),
            None,
            vec![never_used, recent, long_ago, tie_first, tie_second],
        ),
        (Some(TokenStatus::Expired), None, vec![ends_now, ended]),
        (
            Some(TokenStatus::Deactivated),
            None,
            vec![deactivated, off_and_ended],
        ),
        (
            None,
            Some(cutoff),
            // Never used, or last used strictly before the cutoff.
            all.iter()
                .copied()
                .filter(|&t| t != recent && t != tie_a)
                .collect(),
        ),
        (
            Some(TokenStatus::Active),
            Some(cutoff),
            vec![never_used, long_ago, tie_b],
        ),
        (
            Some(TokenStatus::Expired),
            Some(now - Duration::days(100)),
            vec![ends_now, ended],
        ),
    ];
    let name = |id: &Uuid| made.iter().find(|(_, m)| m == id).map_or("?", |(l, _)| *l);
    for (status, unused_since, expected) in cases {
        let filter = TokenFilter {
            status,
            unused_since,
            ..TokenFilter::of(owner.id)
        };
        let listed = store
            .list_tokens(&filter, &PageRequest::default(), now)
            .await
            .expect("list_tokens");
        let got: Vec<Uuid> = listed.iter().map(|t| t.id).collect();
        assert_eq!(
            got.iter().map(name).collect::<Vec<_>>(),
            expected.iter().map(name).collect::<Vec<_>>(),
            "list_tokens with {filter:?}"
        );
        for t in &listed {
            assert!(
                filter.matches(t, now),
                "{} does not match {filter:?}",
                name(&t.id)
            );
        }
    }
    let nobody = store
        .list_tokens(&TokenFilter::of(id()), &PageRequest::default(), now)
        .await
        .expect("list_tokens");
    assert!(nobody.is_empty());

    // Expiring within a window (not yet expired), and never expiring.
    let expiring = TokenFilter {
        expiring_by: Some(now + Duration::days(2)),
        ..TokenFilter::of(owner.id)
    };
    let listed = store
        .list_tokens(&expiring, &PageRequest::default(), now)
        .await
        .expect("list_tokens");
    assert_eq!(listed.iter().map(|t| t.id).collect::<Vec<_>>(), [recent]);
    // The same window over every owner's tokens (the expiry-notice scan).
    let anyone = TokenFilter {
        owner: None,
        ..expiring
    };
    let listed = store
        .list_tokens(&anyone, &PageRequest::default(), now)
        .await
        .expect("list_tokens");
    assert!(listed.iter().any(|t| t.id == recent), "{listed:?}");
    assert!(listed.iter().all(|t| anyone.matches(t, now)), "{listed:?}");
    let never = TokenFilter {
        never_expires: true,
        status: Some(TokenStatus::Active),
        ..TokenFilter::of(owner.id)
    };
    let listed = store
        .list_tokens(&never, &PageRequest::default(), now)
        .await
        .expect("list_tokens");
    assert_eq!(
        listed.iter().map(|t| name(&t.id)).collect::<Vec<_>>(),
        [
            "never_used",
            "long_ago",
            name(&tie_first),
            name(&tie_second)
        ]
    );
}

/// Pages of a list: `limit` rows after the cursor's key, in `(created_at,
/// id)` order, walked to the end without a duplicate or a gap; every
/// user's tokens when no owner is named.
pub async fn list_pages(store: &dyn Store) {
    let owner = user(store, T0).await;
    let mut made = Vec::new();
    for n in 0..7 {
        // Three share one second: the id breaks the tie.
        let (new, _) = new_token(owner.id, T0 + Duration::seconds(n / 3));
        made.push(insert(store, &new).await);
    }
    made.sort_by_key(|t| (t.created_at, t.id));
    let mut seen = Vec::new();
    let mut page = PageRequest {
        after: None,
        limit: 3,
    };
    loop {
        let rows = store
            .list_tokens(&TokenFilter::of(owner.id), &page, T0)
            .await
            .expect("list_tokens");
        assert!(rows.len() <= 3);
        let done = rows.len() < 3;
        if let Some(last) = rows.last() {
            page.after = Some(PageKey {
                created_at: last.created_at,
                id: last.id,
            });
        }
        seen.extend(rows);
        if done {
            break;
        }
    }
    assert_eq!(seen, made, "every token once, in order");
    // Without an owner, other users' tokens are listed too.
    let other = user(store, T0).await;
    let (theirs, _) = token(store, other.id, T0).await;
    let everyone = store
        .list_tokens(&TokenFilter::default(), &PageRequest::default(), T0)
        .await
        .expect("list_tokens");
    assert!(!everyone.is_empty());
    let mut all = Vec::new();
    let mut page = PageRequest::default();
    loop {
        let rows = store
            .list_tokens(&TokenFilter::default(), &page, T0 + Duration::days(3650))
            .await
            .expect("list_tokens");
        let full = rows.len() == page.limit as usize;
        page.after = rows.last().map(|t| PageKey {
            created_at: t.created_at,
            id: t.id,
        });
        all.extend(rows.into_iter().map(|t| t.id));
        if !full {
            break;
        }
    }
    assert!(all.contains(&theirs.id) && made.iter().all(|t| all.contains(&t.id)));
}
