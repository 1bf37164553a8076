//! Checks of [`keyward_core::store::AuditStore`]: events read back field for
//! field, in `(at, id)` order a page at a time, filtered by action, actor,
//! target, time and "involving a user", and purged by age.

use keyward_core::model::{
    AuditAction, AuditEvent, AuditFilter, AuditOutcome, PageKey, PageRequest, TargetType,
};
use keyward_core::random::{OsRandom, uuid_v7};
use keyward_core::secret::SecretKind;
use keyward_core::store::Store;
use serde_json::json;
use time::{Duration, OffsetDateTime};
use uuid::Uuid;

use keyward_core::effects::SideEffects;
use keyward_core::store::InsertToken;

use crate::fixtures::{self, T0, id};

fn event(
    at: OffsetDateTime,
    actor: Option<Uuid>,
    subject: Option<Uuid>,
    action: AuditAction,
) -> AuditEvent {
    AuditEvent {
        id: uuid_v7(&OsRandom, at),
        at,
        actor_user_id: actor,
        actor_credential_kind: actor.map(|_| SecretKind::Session),
        actor_credential_id: actor.map(|_| id()),
        action,
        target_type: TargetType::Token,
        target_id: Some(id()),
        subject_user_id: subject,
        ip: Some("192.0.2.7".into()),
        user_agent: Some("curl/8".into()),
        outcome: AuditOutcome::Success,
        details: json!({"name": "deploys", "scopes": ["a", "b"]}),
    }
}

async fn all(store: &dyn Store, filter: &AuditFilter) -> Vec<AuditEvent> {
    let mut out = Vec::new();
    let mut page = PageRequest {
        after: None,
        limit: 2,
    };
    loop {
        let rows = store.list_audit_events(filter, &page).await.expect("list");
        let full = rows.len() == 2;
        page.after = rows.last().map(|e| PageKey {
            created_at: e.at,
            id: e.id,
        });
        out.extend(rows);
        if !full {
            return out;
        }
    }
}

pub async fn events_round_trip_and_filter(store: &dyn Store) {
    let (alice, bob) = (id(), id());
    let base = T0 + Duration::days(20);
    let events = vec![
        event(base, Some(alice), Some(alice), AuditAction::TokenCreated),
        event(
            base + Duration::seconds(1),
            Some(bob),
            Some(alice),
            AuditAction::TokenRotated,
        ),
        event(
            base + Duration::seconds(2),
            None,
            Some(bob),
            AuditAction::SessionLoginFailed,
        ),
        event(
            base + Duration::seconds(2),
            Some(bob),
            Some(bob),
            AuditAction::TokenDeleted,
        ),
        event(
            base + Duration::seconds(3),
            Some(alice),
            Some(bob),
            AuditAction::TokenUpdated,
        ),
    ];
    store.insert_audit_events(&events).await.expect("insert");
    let mut expected = events.clone();
    expected.sort_by_key(|e| (e.at, e.id));
    let since = AuditFilter {
        since: Some(base),
        until: Some(base + Duration::seconds(4)),
        ..AuditFilter::default()
    };
    let mine = |f: AuditFilter| AuditFilter {
        since: since.since,
        until: since.until,
        ..f
    };
    let listed: Vec<AuditEvent> = all(store, &since)
        .await
        .into_iter()
        .filter(|e| events.iter().any(|m| m.id == e.id))
        .collect();
    assert_eq!(listed, expected, "read back whole, in order");
    let involving = all(
        store,
        &mine(AuditFilter {
            involving: Some(alice),
            ..Default::default()
        }),
    )
    .await;
    assert_eq!(
        involving.len(),
        3,
        "alice did two and had one done to her token"
    );
    let by_bob = all(
        store,
        &mine(AuditFilter {
            actor_id: Some(bob),
            ..Default::default()
        }),
    )
    .await;
    assert_eq!(by_bob.len(), 2);
    let rotated = all(
        store,
        &mine(AuditFilter {
            action: Some(AuditAction::TokenRotated),
            ..Default::default()
        }),
    )
    .await;
    assert_eq!(rotated.len(), 1);
    let target = all(
        store,
        &mine(AuditFilter {
            target_id: events[4].target_id,
            ..Default::default()
        }),
    )
    .await;
    assert_eq!(target, vec![events[4].clone()]);
    let window = all(
        store,
        &AuditFilter {
            since: Some(base + Duration::seconds(2)),
            until: Some(base + Duration::seconds(3)),
            ..Default::default()
        },
    )
    .await;
    assert_eq!(window.len(), 2, "since inclusive, until exclusive");

    let purged = store
        .purge_audit_events(base + Duration::seconds(2))
        .await
        .expect("purge");
    assert!(purged >= 2);
    let left = all(store, &since).await;
    assert!(left.iter().all(|e| e.at >= base + Duration::seconds(2)));
    assert_eq!(left.len(), 3);
}

/// The events of `action` with target `target`.
async fn of(store: &dyn Store, action: AuditAction, target: Uuid) -> Vec<AuditEvent> {
    let filter = AuditFilter {
        action: Some(action),
        target_id: Some(target),
        ..AuditFilter::default()
    };
    all(store, &filter).await
}

fn effects_of(action: AuditAction, target: Uuid, at: OffsetDateTime) -> SideEffects {
    let mut e = event(at, None, None, action);
    e.target_id = Some(target);
    SideEffects::audit(e)
}

/// A change's events are written with it, and only when it happens: a
/// creation refused at the limit, a second deactivation, a deletion of
/// nothing write none.
pub async fn effects_commit_only_with_their_change(store: &dyn Store) {
    let owner = fixtures::user(store, T0).await;
    let (token, _) = fixtures::new_token(owner.id, T0);
    let created = effects_of(AuditAction::TokenCreated, token.id, T0);
    assert!(matches!(
        store
            .insert_token(&token, 10, &created)
            .await
            .expect("insert"),
        InsertToken::Inserted(_)
    ));
    assert_eq!(
        of(store, AuditAction::TokenCreated, token.id).await,
        created.audit
    );

    let (refused, _) = fixtures::new_token(owner.id, T0);
    let at_limit = effects_of(AuditAction::TokenCreated, refused.id, T0);
    assert!(matches!(
        store
            .insert_token(&refused, 1, &at_limit)
            .await
            .expect("insert"),
        InsertToken::LimitReached
    ));
    assert!(
        of(store, AuditAction::TokenCreated, refused.id)
            .await
            .is_empty()
    );

    for second in [false, true] {
        let effects = effects_of(
            AuditAction::TokenDeactivated,
            token.id,
            T0 + Duration::seconds(1),
        );
        store
            .deactivate_token(token.id, T0 + Duration::seconds(1), &effects)
            .await
            .expect("deactivate");
        let written = of(store, AuditAction::TokenDeactivated, token.id).await;
        assert_eq!(written.len(), 1, "second deactivation: {second}");
    }

    let nothing = id();
    let effects = effects_of(AuditAction::TokenDeleted, nothing, T0);
    assert!(!store.delete_token(nothing, &effects).await.expect("delete"));
    assert!(
        of(store, AuditAction::TokenDeleted, nothing)
            .await
            .is_empty()
    );
    let effects = effects_of(AuditAction::TokenDeleted, token.id, T0);
    assert!(
        store
            .delete_token(token.id, &effects)
            .await
            .expect("delete")
    );
    assert_eq!(
        of(store, AuditAction::TokenDeleted, token.id).await.len(),
        1
    );

    let nothing = id();
    let effects = effects_of(AuditAction::SessionEnded, nothing, T0);
    assert!(
        !store
            .delete_session(nothing, &effects)
            .await
            .expect("delete")
    );
    assert!(
        of(store, AuditAction::SessionEnded, nothing)
            .await
            .is_empty()
    );
}
