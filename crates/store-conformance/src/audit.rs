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

use crate::fixtures::{T0, id};

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
