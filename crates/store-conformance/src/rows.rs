//! The row rules every store converts by ([`keyward_core::rows`]), pinned:
//! what a stored row means, and which rows are refused as damaged. Both
//! stores decode their columns into these neutral rows and convert them with
//! the same `TryFrom`, so pinning the rules here pins both stores; the
//! read-backs elsewhere in this suite show each store feeds them faithfully.
//!
//! The schemas forbid every refused row (a `CHECK` pairs a previous secret
//! with its end of grace, renewal columns are all set or none), so a store
//! only meets one after damage, and then says so instead of reading it as
//! something else.

use keyward_core::error::StoreError;
use keyward_core::model::{ApiToken, OAuthApp, OAuthToken, PreviousSecret, User};
use keyward_core::rows::{ApiTokenRow, OAuthAppRow, OAuthTokenRow, UserRow, secret_slot};
use time::Duration;

use crate::fixtures::{T0, id};

fn token_row() -> ApiTokenRow {
    ApiTokenRow {
        id: id(),
        user_id: id(),
        name: "token".to_owned(),
        description: None,
        scopes: vec!["tokens.verify".to_owned()],
        applications: Vec::new(),
        state: "active".to_owned(),
        expires_at: None,
        created_at: T0,
        updated_at: T0,
        last_used_at: None,
        last_used_ip: None,
        renewal_every_days: None,
        renewal_callback_url: None,
        renewal_mail_recipient: None,
        renewal_secret_seed: None,
        renewal_next_at: None,
        renewal_last_at: None,
        current_hint: Some("...abcd".to_owned()),
        previous_hint: None,
        previous_expires_at: None,
        renewed_to: None,
    }
}

fn refused<T: std::fmt::Debug>(what: &str, outcome: Result<T, StoreError>) {
    assert!(
        matches!(outcome, Err(StoreError::Database(_))),
        "{what}: refused as a database error, got {outcome:?}"
    );
}

/// A previous secret is read with its end of grace; a previous secret
/// without one (or an end of grace without a secret) is refused, on every
/// store alike, never silently dropped.
pub async fn previous_secret_needs_its_end_of_grace() {
    let until = T0 + Duration::days(1);
    let token = ApiToken::try_from(ApiTokenRow {
        previous_hint: Some("...wxyz".to_owned()),
        previous_expires_at: Some(until),
        ..token_row()
    })
    .expect("a previous secret with its end of grace");
    assert_eq!(
        token.previous,
        Some(PreviousSecret {
            hint: "...wxyz".to_owned(),
            expires_at: until
        })
    );
    refused(
        "a previous secret without an end of grace",
        ApiToken::try_from(ApiTokenRow {
            previous_hint: Some("...wxyz".to_owned()),
            ..token_row()
        }),
    );
    refused(
        "an end of grace without a previous secret",
        ApiToken::try_from(ApiTokenRow {
            previous_expires_at: Some(until),
            ..token_row()
        }),
    );
}

/// The other rules for tokens: a current secret is required, the state is
/// known, a renewal policy is whole and its period positive.
pub async fn token_rows_are_whole() {
    assert!(ApiToken::try_from(token_row()).is_ok());
    refused(
        "no current secret",
        ApiToken::try_from(ApiTokenRow {
            current_hint: None,
            ..token_row()
        }),
    );
    refused(
        "an unknown state",
        ApiToken::try_from(ApiTokenRow {
            state: "expired".to_owned(),
            ..token_row()
        }),
    );
    let whole = ApiTokenRow {
        renewal_every_days: Some(30),
        renewal_callback_url: Some("https://hooks.example.com/renew".to_owned()),
        renewal_secret_seed: Some(vec![7; 32]),
        renewal_next_at: Some(T0 + Duration::days(30)),
        ..token_row()
    };
    assert_eq!(
        ApiToken::try_from(whole.clone())
            .expect("a whole renewal policy")
            .renewal
            .map(|r| r.every_days),
        Some(30)
    );
    refused(
        "a renewal policy without its seed",
        ApiToken::try_from(ApiTokenRow {
            renewal_secret_seed: None,
            ..whole.clone()
        }),
    );
    refused(
        "a renewal policy without its next renewal",
        ApiToken::try_from(ApiTokenRow {
            renewal_next_at: None,
            ..whole.clone()
        }),
    );
    refused(
        "a mail recipient without a renewal policy",
        ApiToken::try_from(ApiTokenRow {
            renewal_mail_recipient: Some("ops@example.com".to_owned()),
            ..token_row()
        }),
    );
    refused(
        "a renewal period of zero days",
        ApiToken::try_from(ApiTokenRow {
            renewal_every_days: Some(0),
            ..whole
        }),
    );
    refused("an unknown slot", secret_slot("older"));
}

/// Users, apps and OAuth tokens: unknown status, grant type or kind and a
/// digest of the wrong length are refused.
pub async fn other_rows_are_checked() {
    let user = UserRow {
        id: id(),
        username: "someone".to_owned(),
        roles: vec!["member".to_owned()],
        status: "active".to_owned(),
        email: None,
        created_at: T0,
        updated_at: T0,
    };
    assert!(User::try_from(user.clone()).is_ok());
    refused(
        "an unknown user status",
        User::try_from(UserRow {
            status: "banned".to_owned(),
            ..user
        }),
    );
    let app = OAuthAppRow {
        client_id: id(),
        user_id: id(),
        client_name: "app".to_owned(),
        description: None,
        redirect_uris: Vec::new(),
        logo_uri: None,
        scopes: Vec::new(),
        grant_types: vec!["client_credentials".to_owned()],
        secret_digest: vec![1; 32],
        secret_hint: "...abcd".to_owned(),
        created_at: T0,
        updated_at: T0,
    };
    assert!(OAuthApp::try_from(app.clone()).is_ok());
    refused(
        "an unknown grant type",
        OAuthApp::try_from(OAuthAppRow {
            grant_types: vec!["password".to_owned()],
            ..app.clone()
        }),
    );
    refused(
        "a short digest",
        OAuthApp::try_from(OAuthAppRow {
            secret_digest: vec![1; 31],
            ..app
        }),
    );
    let token = OAuthTokenRow {
        id: id(),
        kind: "access".to_owned(),
        client_id: Some(id()),
        user_id: id(),
        scopes: Vec::new(),
        family_id: None,
        created_at: T0,
        expires_at: T0 + Duration::hours(1),
        used_at: None,
        revoked_at: None,
    };
    assert!(OAuthToken::try_from(token.clone()).is_ok());
    refused(
        "an unknown token kind",
        OAuthToken::try_from(OAuthTokenRow {
            kind: "id".to_owned(),
            ..token
        }),
    );
}
