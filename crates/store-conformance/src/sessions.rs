//! Checks of [`keyward_core::store::SessionStore`]: insert and look-up by
//! digest, touching, deleting and the sweep of ended sessions.

use keyward_core::effects::SideEffects;
use keyward_core::model::Session;
use keyward_core::secret::SecretKind;
use keyward_core::store::Store;
use time::Duration;

use crate::fixtures::{SWEEP_EPOCH, T0, id, new_session, secret, user};

/// A session reads back by its digest, with `last_seen_at = created_at`;
/// digests are unique.
pub async fn insert_and_find(store: &dyn Store) {
    let owner = user(store, T0).await;
    let (new, _) = new_session(owner.id, T0, T0 + Duration::days(7));
    store
        .insert_session(&new, &SideEffects::none())
        .await
        .expect("insert_session");
    let found = store.find_session(&new.digest).await.expect("find_session");
    assert_eq!(
        found,
        Some(Session {
            id: new.id,
            user_id: owner.id,
            created_at: T0,
            last_seen_at: T0,
            expires_at: T0 + Duration::days(7),
        })
    );
    let unknown = secret(SecretKind::Session).stored.digest;
    assert!(
        store
            .find_session(&unknown)
            .await
            .expect("find_session")
            .is_none()
    );

    let (mut twin, _) = new_session(owner.id, T0, T0 + Duration::days(7));
    twin.digest = new.digest;
    assert!(
        store
            .insert_session(&twin, &SideEffects::none())
            .await
            .is_err(),
        "a second session with the same digest is refused"
    );
    let (orphan, _) = new_session(id(), T0, T0 + Duration::days(7));
    assert!(
        store
            .insert_session(&orphan, &SideEffects::none())
            .await
            .is_err(),
        "a session of an unknown user is refused"
    );
}

/// `touch_session` moves `last_seen_at` forward, never back.
pub async fn touch_moves_forward_only(store: &dyn Store) {
    let owner = user(store, T0).await;
    let (new, _) = new_session(owner.id, T0, T0 + Duration::days(7));
    store
        .insert_session(&new, &SideEffects::none())
        .await
        .expect("insert_session");

    let later = T0 + Duration::hours(1);
    store
        .touch_session(new.id, later)
        .await
        .expect("touch_session");
    let seen = |s: Option<Session>| s.expect("session exists").last_seen_at;
    assert_eq!(
        seen(store.find_session(&new.digest).await.expect("find")),
        later
    );

    store
        .touch_session(new.id, T0 + Duration::minutes(30))
        .await
        .expect("touch_session");
    assert_eq!(
        seen(store.find_session(&new.digest).await.expect("find")),
        later,
        "an earlier touch does not move last_seen_at back"
    );
    store
        .touch_session(id(), later)
        .await
        .expect("touching an unknown session is not an error");
}

/// `delete_session` deletes once and says so.
pub async fn delete(store: &dyn Store) {
    let owner = user(store, T0).await;
    let (new, _) = new_session(owner.id, T0, T0 + Duration::days(7));
    store
        .insert_session(&new, &SideEffects::none())
        .await
        .expect("insert_session");
    let (other, _) = new_session(owner.id, T0, T0 + Duration::days(7));
    store
        .insert_session(&other, &SideEffects::none())
        .await
        .expect("insert_session");

    assert!(
        store
            .delete_session(new.id, &SideEffects::none())
            .await
            .expect("delete_session")
    );
    assert!(
        store
            .find_session(&new.digest)
            .await
            .expect("find")
            .is_none()
    );
    assert!(
        !store
            .delete_session(new.id, &SideEffects::none())
            .await
            .expect("delete_session again")
    );
    assert!(
        store
            .find_session(&other.digest)
            .await
            .expect("find")
            .is_some(),
        "other sessions stay"
    );
}

/// `delete_ended_sessions` deletes sessions idle since before the cutoff or
/// past their absolute end, and keeps the rest (bounds are exclusive for the
/// idle cutoff and inclusive for the end).
pub async fn sweep_deletes_ended_sessions(store: &dyn Store) {
    let e = SWEEP_EPOCH;
    let owner = user(store, e).await;
    let week = Duration::days(7);
    let (idle, _) = new_session(owner.id, e, e + week);
    let (at_cutoff, _) = new_session(owner.id, e + Duration::hours(1), e + week);
    let (past_end, _) = new_session(owner.id, e + Duration::hours(2), e + Duration::hours(13));
    let (live, _) = new_session(owner.id, e + Duration::hours(2), e + week);
    let (touched, _) = new_session(owner.id, e, e + week);
    for s in [&idle, &at_cutoff, &past_end, &live, &touched] {
        store
            .insert_session(s, &SideEffects::none())
            .await
            .expect("insert_session");
    }
    store
        .touch_session(touched.id, e + Duration::hours(5))
        .await
        .expect("touch_session");

    let now = e + Duration::hours(13);
    let idle_cutoff = now - Duration::hours(12);
    let deleted = store
        .delete_ended_sessions(idle_cutoff, now)
        .await
        .expect("delete_ended_sessions");
    assert!(
        deleted >= 2,
        "at least the two ended sessions, got {deleted}"
    );
    for (s, kept) in [
        (&idle, false),
        (&past_end, false),
        (&at_cutoff, true),
        (&live, true),
        (&touched, true),
    ] {
        let found = store.find_session(&s.digest).await.expect("find_session");
        assert_eq!(
            found.is_some(),
            kept,
            "session created {} kept: {kept}",
            s.created_at
        );
    }
    let again = store
        .delete_ended_sessions(idle_cutoff, now)
        .await
        .expect("delete_ended_sessions");
    assert_eq!(again, 0, "a second sweep finds nothing");
}

/// `list_sessions_of` gives a user's live sessions with where they were
/// signed in from, last seen first, and leaves out ended ones and other
/// users'; `delete_session_of` deletes only the owner's.
pub async fn devices_listed_and_ended_by_owner(store: &dyn Store) {
    let owner = user(store, T0).await;
    let other = user(store, T0).await;
    let (first, _) = new_session(owner.id, T0, T0 + Duration::days(7));
    let (mut second, _) = new_session(owner.id, T0, T0 + Duration::days(7));
    second.ip = None;
    second.user_agent = None;
    let (ended, _) = new_session(owner.id, T0, T0 + Duration::hours(1));
    let (theirs, _) = new_session(other.id, T0, T0 + Duration::days(7));
    for s in [&first, &second, &ended, &theirs] {
        store
            .insert_session(s, &SideEffects::none())
            .await
            .expect("insert_session");
    }
    store
        .touch_session(second.id, T0 + Duration::hours(2))
        .await
        .expect("touch_session");
    let now = T0 + Duration::hours(3);
    let idle_cutoff = now - Duration::days(1);
    let listed = store
        .list_sessions_of(owner.id, idle_cutoff, now)
        .await
        .expect("list_sessions_of");
    let ids: Vec<_> = listed.iter().map(|d| d.session.id).collect();
    assert_eq!(ids, [second.id, first.id], "live ones, last seen first");
    assert_eq!(listed[1].ip.as_deref(), Some("192.0.2.7"));
    assert_eq!(
        listed[1].user_agent.as_deref(),
        Some("Mozilla/5.0 (X11; Linux x86_64) Chromium")
    );
    assert_eq!(
        (listed[0].ip.as_ref(), listed[0].user_agent.as_ref()),
        (None, None)
    );
    assert_eq!(listed[0].session.last_seen_at, T0 + Duration::hours(2));
    let idle = store
        .list_sessions_of(owner.id, T0 + Duration::hours(1), now)
        .await
        .expect("list_sessions_of");
    assert_eq!(idle.len(), 1, "an idle session is left out");

    assert!(
        !store
            .delete_session_of(owner.id, theirs.id, &SideEffects::none())
            .await
            .expect("delete_session_of"),
        "another user's session is not deleted"
    );
    assert!(store.find_session(&theirs.digest).await.unwrap().is_some());
    assert!(
        store
            .delete_session_of(owner.id, first.id, &SideEffects::none())
            .await
            .expect("delete_session_of")
    );
    assert!(store.find_session(&first.digest).await.unwrap().is_none());
}
