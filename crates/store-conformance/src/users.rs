//! Checks of [`keyward_core::store::UserStore`]: insert and look-ups,
//! case-insensitive usernames, partial updates, listing.

use keyward_core::error::StoreError;
use keyward_core::model::{User, UserStatus, UserUpdate};
use keyward_core::store::Store;
use time::Duration;

use crate::fixtures::{T0, id, new_user, new_user_named, unique, user};

/// An inserted user reads back as given, by id and by username.
pub async fn insert_and_find(store: &dyn Store) {
    let mut new = new_user_named(&format!("{}@Example.COM", unique("Mixed.Case")), T0);
    new.roles = vec!["admin".to_owned(), "member".to_owned()];
    let inserted = store.insert_user(&new).await.expect("insert_user");
    let expected = User {
        id: new.id,
        username: new.username.as_str().to_owned(),
        roles: new.roles.clone(),
        status: UserStatus::Active,
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
        .insert_user(&new_user_named(&name, T0))
        .await
        .expect("insert_user");
    let clash = store
        .insert_user(&new_user_named(&name.to_uppercase(), T0))
        .await;
    assert!(
        matches!(clash, Err(StoreError::Conflict(_))),
        "same username in other case must be a Conflict, got {clash:?}"
    );
    let again = store.insert_user(&new_user_named(&name, T0)).await;
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
        .insert_user(&new_user_named(&unicode, T0))
        .await
        .expect("insert_user");
    let clash = store
        .insert_user(&new_user_named(&unicode.to_lowercase(), T0))
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
        .insert_user(&new_user(T0))
        .await
        .expect("an unrelated user");
}

/// `update_user` changes only the given fields and stamps `updated_at`.
pub async fn update_applies_only_given_fields(store: &dyn Store) {
    let new = new_user(T0);
    let user = store.insert_user(&new).await.expect("insert_user");
    let key = new.username.as_str().to_lowercase();

    let t1 = T0 + Duration::hours(1);
    let update = UserUpdate {
        roles: Some(vec!["admin".to_owned()]),
        ..UserUpdate::default()
    };
    let updated = store
        .update_user(user.id, &update, t1)
        .await
        .expect("update_user");
    let expected = User {
        roles: vec!["admin".to_owned()],
        updated_at: t1,
        ..user.clone()
    };
    assert_eq!(updated, Some(expected.clone()));

    let t2 = T0 + Duration::hours(2);
    let update = UserUpdate {
        status: Some(UserStatus::Disabled),
        ..UserUpdate::default()
    };
    let updated = store
        .update_user(user.id, &update, t2)
        .await
        .expect("update_user");
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
        ..UserUpdate::default()
    };
    let updated = store
        .update_user(user.id, &update, t3)
        .await
        .expect("update_user");
    assert_eq!(
        updated,
        Some(User {
            updated_at: t3,
            ..expected
        })
    );
    let (_, hash) = store
        .find_user_for_login(&key)
        .await
        .expect("find_user_for_login")
        .expect("found");
    assert_eq!(hash, "$argon2id$new");

    let missing = store
        .update_user(id(), &UserUpdate::default(), t3)
        .await
        .expect("update_user");
    assert!(missing.is_none(), "updating an unknown user gives None");
}

/// Every inserted user is listed.
pub async fn list_contains_inserted(store: &dyn Store) {
    let a = user(store, T0).await;
    let b = user(store, T0 + Duration::seconds(1)).await;
    let all = store.list_users().await.expect("list_users");
    assert!(
        all.contains(&a) && all.contains(&b),
        "list_users lists every user"
    );
}
