//! Checks of [`keyward_core::store::UserStore`]: insert and look-ups,
//! case-insensitive usernames, partial updates, listing.

use keyward_core::effects::SideEffects;
use keyward_core::error::StoreError;
use keyward_core::model::{PageKey, PageRequest, User, UserFilter, UserStatus, UserUpdate};
use keyward_core::store::{Store, UserChange};
use time::Duration;

use crate::fixtures::{T0, id, new_user, new_user_named, unique, user};

/// An inserted user reads back as given, by id and by username.
pub async fn insert_and_find(store: &dyn Store) {
    let mut new = new_user_named(&format!("{}@Example.COM", unique("Mixed.Case")), T0);
    new.roles = vec!["admin".to_owned(), "member".to_owned()];
    new.email = Some("Mary@Example.com".to_owned());
    let inserted = store
        .insert_user(&new, &SideEffects::none())
        .await
        .expect("insert_user");
    let expected = User {
        id: new.id,
        username: new.username.as_str().to_owned(),
        roles: new.roles.clone(),
        status: UserStatus::Active,
        email: new.email.clone(),
        created_at: T0,
        updated_at: T0,
    };
    assert_eq!(inserted, expected, "insert_user returns the user as stored");
    assert_eq!(
        store.find_user(new.id).await.expect("find_user"),
        Some(expected.clone())
    );

    let key = new.username.as_str().to_lowercase();
    let (found, hash) = store
        .find_user_for_login(&key)
        .await
        .expect("find_user_for_login")
        .expect("found by its lowercased username");
    assert_eq!(found, expected, "the display spelling is kept");
    assert_eq!(hash, new.password_hash);

    assert!(store.find_user(id()).await.expect("find_user").is_none());
    assert!(
        store
            .find_user_for_login(&unique("nobody"))
            .await
            .expect("find_user_for_login")
            .is_none()
    );
}

/// Usernames are unique case-insensitively (also beyond ASCII), and a
/// username matching up to case is found at login.
pub async fn username_conflicts_ignore_case(store: &dyn Store) {
    let name = unique("Alice");
    let first = store
        .insert_user(&new_user_named(&name, T0), &SideEffects::none())
        .await
        .expect("insert_user");
    let clash = store
        .insert_user(
            &new_user_named(&name.to_uppercase(), T0),
            &SideEffects::none(),
        )
        .await;
    assert!(
        matches!(clash, Err(StoreError::Conflict(_))),
        "same username in other case must be a Conflict, got {clash:?}"
    );
    let again = store
        .insert_user(&new_user_named(&name, T0), &SideEffects::none())
        .await;
    assert!(
        matches!(again, Err(StoreError::Conflict(_))),
        "exact duplicate: {again:?}"
    );

    let (found, _) = store
        .find_user_for_login(&name.to_lowercase())
        .await
        .expect("find_user_for_login")
        .expect("found");
    assert_eq!(found.id, first.id);
    assert_eq!(found.username, name, "the first spelling is kept");
    let upper = store
        .find_user_for_login(&name.to_uppercase())
        .await
        .expect("find_user_for_login");
    assert!(
        upper.is_some_and(|(u, _)| u.id == first.id),
        "the login look-up ignores case"
    );

    let unicode = format!("Ärger-Ünïcode-{}", id().simple());
    store
        .insert_user(&new_user_named(&unicode, T0), &SideEffects::none())
        .await
        .expect("insert_user");
    let clash = store
        .insert_user(
            &new_user_named(&unicode.to_lowercase(), T0),
            &SideEffects::none(),
        )
        .await;
    assert!(
        matches!(clash, Err(StoreError::Conflict(_))),
        "non-ASCII case: {clash:?}"
    );
    let found = store
        .find_user_for_login(&unicode.to_lowercase())
        .await
        .expect("find_user_for_login");
    assert!(found.is_some_and(|(u, _)| u.username == unicode));

    // A conflict leaves nothing behind: a distinct name is still free.
    store
        .insert_user(&new_user(T0), &SideEffects::none())
        .await
        .expect("an unrelated user");
}

fn done(change: UserChange) -> Option<User> {
    match change {
        UserChange::Done(user) => Some(user),
        UserChange::NotFound => None,
        UserChange::LastAdmin => panic!("refused as the last admin"),
    }
}

/// `update_user` changes only the given fields and stamps `updated_at`.
pub async fn update_applies_only_given_fields(store: &dyn Store) {
    let new = new_user(T0);
    let user = store
        .insert_user(&new, &SideEffects::none())
        .await
        .expect("insert_user");
    let key = new.username.as_str().to_lowercase();

    let t1 = T0 + Duration::hours(1);
    let update = UserUpdate {
        roles: Some(vec!["viewer".to_owned()]),
        email: Some(Some("v@example.com".to_owned())),
        ..UserUpdate::default()
    };
    let updated = done(
        store
            .update_user(user.id, &update, t1, &SideEffects::none())
            .await
            .expect("update_user"),
    );
    let expected = User {
        roles: vec!["viewer".to_owned()],
        email: Some("v@example.com".to_owned()),
        updated_at: t1,
        ..user.clone()
    };
    assert_eq!(updated, Some(expected.clone()));

    let t2 = T0 + Duration::hours(2);
    let update = UserUpdate {
        status: Some(UserStatus::Disabled),
        ..UserUpdate::default()
    };
    let updated = done(
        store
            .update_user(user.id, &update, t2, &SideEffects::none())
            .await
            .expect("update_user"),
    );
    let expected = User {
        status: UserStatus::Disabled,
        updated_at: t2,
        ..expected
    };
    assert_eq!(updated, Some(expected.clone()));
    let (_, hash) = store
        .find_user_for_login(&key)
        .await
        .expect("find_user_for_login")
        .expect("found");
    assert_eq!(hash, new.password_hash, "the password is untouched");

    let t3 = T0 + Duration::hours(3);
    let update = UserUpdate {
        password_hash: Some("$argon2id$new".to_owned()),
        email: Some(None),
        ..UserUpdate::default()
    };
    let updated = done(
        store
            .update_user(user.id, &update, t3, &SideEffects::none())
            .await
            .expect("update_user"),
    );
    assert_eq!(
        updated,
        Some(User {
            updated_at: t3,
            email: None,
            ..expected
        })
    );
    let (_, hash) = store
        .find_user_for_login(&key)
        .await
        .expect("find_user_for_login")
        .expect("found");
    assert_eq!(hash, "$argon2id$new");
    assert_eq!(
        store.find_password_hash(user.id).await.expect("hash"),
        Some("$argon2id$new".to_owned())
    );

    let missing = store
        .update_user(id(), &UserUpdate::default(), t3, &SideEffects::none())
        .await
        .expect("update_user");
    assert!(matches!(missing, UserChange::NotFound));
}

/// Users are listed a page at a time in `(created_at, id)` order, filtered
/// by status, role and a case-insensitive prefix of the username or e-mail
/// address (wildcards in it match literally).
pub async fn list_pages_and_filters(store: &dyn Store) {
    let tag = unique("lister");
    let mut made = Vec::new();
    for (n, (roles, status, email)) in [
        (vec!["member"], UserStatus::Active, None),
        (vec!["viewer"], UserStatus::Active, Some("Boss@Example.com")),
        (vec!["member"], UserStatus::Disabled, None),
        (vec!["member", "viewer"], UserStatus::Active, None),
    ]
    .into_iter()
    .enumerate()
    {
        let mut new = new_user_named(&format!("{tag}-{n}"), T0 + Duration::seconds(n as i64 % 2));
        new.roles = roles.into_iter().map(str::to_owned).collect();
        new.status = status;
        new.email = email.map(|e| format!("{tag}.{e}"));
        made.push(
            store
                .insert_user(&new, &SideEffects::none())
                .await
                .expect("insert_user"),
        );
    }
    made.sort_by_key(|u| (u.created_at, u.id));
    let all = |filter: UserFilter| async move {
        let mut out = Vec::new();
        let mut page = PageRequest {
            after: None,
            limit: 2,
        };
        loop {
            let rows = store.list_users(&filter, &page).await.expect("list_users");
            assert!(rows.len() <= 2);
            let last = rows.last().map(|u| PageKey {
                created_at: u.created_at,
                id: u.id,
            });
            let full = rows.len() == 2;
            out.extend(rows);
            match last {
                Some(key) if full => page.after = Some(key),
                _ => break,
            }
        }
        out
    };
    let mine = |users: Vec<User>| -> Vec<User> {
        users
            .into_iter()
            .filter(|u| u.username.starts_with(&tag))
            .collect()
    };
    let prefix = |p: &str| UserFilter {
        prefix: Some(p.to_owned()),
        ..UserFilter::default()
    };
    assert_eq!(
        all(prefix(&tag.to_uppercase())).await,
        made,
        "every page, in order"
    );
    assert_eq!(mine(all(UserFilter::default()).await), made);
    let disabled = all(UserFilter {
        status: Some(UserStatus::Disabled),
        ..prefix(&tag)
    })
    .await;
    assert_eq!(disabled.len(), 1);
    let viewers = all(UserFilter {
        role: Some("viewer".to_owned()),
        ..prefix(&tag)
    })
    .await;
    assert_eq!(viewers.len(), 2);
    let by_email = all(prefix(&format!("{tag}.boss@"))).await;
    assert_eq!(by_email.len(), 1, "the e-mail address matches too");
    assert!(all(prefix("%")).await.is_empty(), "a wildcard is literal");
    assert!(
        all(prefix(&format!("{}_", &tag[..tag.len() - 1])))
            .await
            .is_empty()
    );
}

/// Deleting a user takes every credential of theirs along.
pub async fn delete_takes_the_credentials_along(store: &dyn Store) {
    let owner = user(store, T0).await;
    let (token, secret) = crate::fixtures::token(store, owner.id, T0).await;
    let app = crate::oauth::app(store, owner.id, T0).await;
    let (session, _) = crate::fixtures::new_session(owner.id, T0, T0 + Duration::days(1));
    store
        .insert_session(&session, &SideEffects::none())
        .await
        .expect("insert_session");
    let digest = session.digest;
    assert_eq!(
        store.list_app_ids_of(owner.id).await.expect("apps"),
        vec![app.client_id]
    );
    assert!(
        done(
            store
                .delete_user(owner.id, &SideEffects::none())
                .await
                .expect("delete_user")
        )
        .is_some()
    );
    assert!(store.find_user(owner.id).await.expect("find").is_none());
    assert!(store.find_token(token.id).await.expect("find").is_none());
    assert!(
        store
            .find_token_by_secret(&secret.stored.digest)
            .await
            .expect("by secret")
            .is_none()
    );
    assert!(store.find_app(app.client_id).await.expect("find").is_none());
    assert!(store.find_session(&digest).await.expect("find").is_none());
    assert!(matches!(
        store
            .delete_user(owner.id, &SideEffects::none())
            .await
            .expect("again"),
        UserChange::NotFound
    ));
}

/// The last active admin is never disabled, demoted or deleted, also when
/// two admins demote each other at once. Needs a database with no other
/// admin: each backend runs it on a fresh one.
pub async fn last_admin_is_kept(store: std::sync::Arc<dyn Store>) {
    let mut a = new_user(T0);
    a.roles = vec!["admin".to_owned()];
    let a = store
        .insert_user(&a, &SideEffects::none())
        .await
        .expect("insert_user");
    let demote = UserUpdate {
        roles: Some(vec!["member".to_owned()]),
        ..UserUpdate::default()
    };
    let disable = UserUpdate {
        status: Some(UserStatus::Disabled),
        ..UserUpdate::default()
    };
    for update in [&demote, &disable] {
        assert!(matches!(
            store
                .update_user(a.id, update, T0, &SideEffects::none())
                .await
                .expect("update"),
            UserChange::LastAdmin
        ));
    }
    assert!(matches!(
        store
            .delete_user(a.id, &SideEffects::none())
            .await
            .expect("delete"),
        UserChange::LastAdmin
    ));
    assert_eq!(store.find_user(a.id).await.expect("find"), Some(a.clone()));
    // Other changes of the last admin are fine.
    let email = UserUpdate {
        email: Some(Some("root@example.com".to_owned())),
        ..UserUpdate::default()
    };
    assert!(
        done(
            store
                .update_user(a.id, &email, T0, &SideEffects::none())
                .await
                .expect("update")
        )
        .is_some()
    );

    // Two admins demoting each other at once: one of them stays.
    let mut b = new_user(T0);
    b.roles = vec!["admin".to_owned()];
    let b = store
        .insert_user(&b, &SideEffects::none())
        .await
        .expect("insert_user");
    let none = SideEffects::none();
    let (one, two) = tokio::join!(
        store.update_user(a.id, &demote, T0, &none),
        store.update_user(b.id, &demote, T0, &none)
    );
    let refused = [one.expect("a"), two.expect("b")]
        .into_iter()
        .filter(|c| matches!(c, UserChange::LastAdmin))
        .count();
    assert_eq!(refused, 1, "exactly one demotion is refused");
    let admins = [a.id, b.id];
    let mut left = 0;
    for id in admins {
        if store
            .find_user(id)
            .await
            .expect("find")
            .is_some_and(|u| u.is_active_admin())
        {
            left += 1;
        }
    }
    assert_eq!(left, 1);
}
