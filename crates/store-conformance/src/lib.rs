//! The conformance suite every Keyward store backend must pass: one set of
//! backend-neutral checks of [`keyward_core::store::Store`], run by each
//! backend crate's integration tests against a real, freshly migrated
//! database.
//!
//! ```text
//! #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
//! async fn conformance() {
//!     let store = MyStore::connect(&fresh_database_url(), 4).await.unwrap();
//!     keyward_store_conformance::run_all(Arc::new(store)).await;
//! }
//! ```
//!
//! What it pins down, beyond the trait docs:
//! - times come from the caller and read back to the second (all instants
//!   are whole seconds in 2030, or 2001 for the sweeps, far from the wall
//!   clock);
//! - usernames are unique up to case (Unicode lowercasing), keep their
//!   display spelling, and the login look-up ignores case;
//! - the token limit counts the owner's tokens that are `active` and not
//!   expired at the new token's `now` (expiring exactly then = expired), is
//!   reached exactly at the limit, and holds under concurrent inserts; a
//!   refused insert writes nothing;
//! - rotation with and without grace, a second rotation dropping the older
//!   previous secret, `revoke_previous`, deactivation keeping both secrets
//!   (idempotently), deletion taking the secrets along, renewal marking the
//!   old token renewed (once only, also concurrently) and passing the limit
//!   only for an old token that ends soon, `previous` being reported until
//!   purged;
//! - usage batches: the latest use wins in any order, equal times overwrite,
//!   a use without IP keeps the stored IP, unknown tokens are ignored, and a
//!   use does not change `updated_at`;
//! - list filters on derived status and `unused_since` (strictly before),
//!   ordered by `created_at` then id;
//! - sweeps of ended sessions (idle cutoff exclusive, absolute end
//!   inclusive) and of ended grace periods (inclusive); a user's live
//!   sessions listed with where they were signed in from, and deleted only
//!   by their owner;
//! - OAuth: the app limit (exactly and under concurrency), apps read back
//!   field for field, partial updates, secret rotation, deletion taking
//!   codes and tokens along; a code redeemed and a refresh token exchanged
//!   at most once (also concurrently), their new tokens written only then;
//!   revocation of one token and of a family; purges with inclusive
//!   cutoffs.
//! - the verification path's joined reads (a credential with its owner, an
//!   OAuth token with its app's scope) answer what the separate reads do;
//! - one set of row rules for every store (`rows`): a previous secret
//!   needs its end of grace, a renewal policy is whole, unknown states,
//!   kinds and grant types are refused as damaged data;
//! - leases: free or expired (`expires_at <= now`) ones are taken, live ones
//!   are refused to other holders to the last fraction of a second and
//!   extended by their own, release frees them, and of concurrent takers
//!   exactly one wins.
//!
//! Every check makes its own users with random names, so the checks share one
//! database and may run on one that already holds data. The sweeps act on the
//! whole database but only on rows far older than the other checks' rows;
//! still, run one suite at a time per database. A failing check panics with a
//! message naming what went wrong; the check's name is printed to stderr
//! before it runs.

pub mod audit;
pub mod fixtures;
pub mod leases;
pub mod limits;
pub mod lookups;
pub mod oauth;
pub mod outbox;
pub mod rows;
pub mod secrets;
pub mod sessions;
pub mod tokens;
pub mod usage;
pub mod users;

use std::future::Future;
use std::sync::Arc;

use keyward_core::store::Store;

async fn check(name: &str, run: impl Future<Output = ()>) {
    eprintln!("store conformance: {name}");
    run.await;
}

/// Runs every check, one after another, on `store`. Panics on the first
/// failure. Needs a Tokio runtime (one check spawns concurrent inserts).
pub async fn run_all(store: Arc<dyn Store>) {
    let s = store.as_ref();
    check("store answers", basics(s)).await;
    check(
        "audit::events_round_trip_and_filter",
        audit::events_round_trip_and_filter(s),
    )
    .await;
    check(
        "audit::effects_commit_only_with_their_change",
        audit::effects_commit_only_with_their_change(s),
    )
    .await;

    check("users::insert_and_find", users::insert_and_find(s)).await;
    check(
        "users::username_conflicts_ignore_case",
        users::username_conflicts_ignore_case(s),
    )
    .await;
    check(
        "users::update_applies_only_given_fields",
        users::update_applies_only_given_fields(s),
    )
    .await;
    check(
        "users::list_pages_and_filters",
        users::list_pages_and_filters(s),
    )
    .await;
    check(
        "users::delete_takes_the_credentials_along",
        users::delete_takes_the_credentials_along(s),
    )
    .await;

    check("sessions::insert_and_find", sessions::insert_and_find(s)).await;
    check(
        "sessions::touch_moves_forward_only",
        sessions::touch_moves_forward_only(s),
    )
    .await;
    check("sessions::delete", sessions::delete(s)).await;
    check(
        "sessions::devices_listed_and_ended_by_owner",
        sessions::devices_listed_and_ended_by_owner(s),
    )
    .await;
    check(
        "sessions::sweep_deletes_ended_sessions",
        sessions::sweep_deletes_ended_sessions(s),
    )
    .await;

    check("tokens::insert_and_find", tokens::insert_and_find(s)).await;
    check(
        "tokens::update_applies_only_given_fields",
        tokens::update_applies_only_given_fields(s),
    )
    .await;
    check(
        "tokens::delete_takes_the_secrets_along",
        tokens::delete_takes_the_secrets_along(s),
    )
    .await;
    check("tokens::renew", tokens::renew(s)).await;
    check(
        "tokens::renew_once_under_concurrency",
        tokens::renew_once_under_concurrency(store.clone()),
    )
    .await;
    check("tokens::list_filters", tokens::list_filters(s)).await;
    check("tokens::list_pages", tokens::list_pages(s)).await;

    check(
        "limits::limit_is_reached_exactly",
        limits::limit_is_reached_exactly(s),
    )
    .await;
    check(
        "limits::limit_counts_only_active_unexpired",
        limits::limit_counts_only_active_unexpired(s),
    )
    .await;
    check(
        "limits::limit_holds_under_concurrent_inserts",
        limits::limit_holds_under_concurrent_inserts(Arc::clone(&store)),
    )
    .await;

    check(
        "secrets::rotate_without_grace",
        secrets::rotate_without_grace(s),
    )
    .await;
    check("secrets::rotate_with_grace", secrets::rotate_with_grace(s)).await;
    check("secrets::revoke_previous", secrets::revoke_previous(s)).await;
    check(
        "secrets::deactivate_keeps_secrets",
        secrets::deactivate_keeps_secrets(s),
    )
    .await;
    check("secrets::purge_ended_grace", secrets::purge_ended_grace(s)).await;

    check(
        "usage::usage_never_moves_back",
        usage::usage_never_moves_back(s),
    )
    .await;

    check("oauth::apps_round_trip", oauth::apps_round_trip(s)).await;
    check(
        "oauth::app_limit_is_reached_exactly",
        oauth::app_limit_is_reached_exactly(s),
    )
    .await;
    check(
        "oauth::app_limit_holds_under_concurrent_inserts",
        oauth::app_limit_holds_under_concurrent_inserts(Arc::clone(&store)),
    )
    .await;
    check(
        "oauth::update_app_applies_only_given_fields",
        oauth::update_app_applies_only_given_fields(s),
    )
    .await;
    check(
        "oauth::rotate_app_secret_replaces_the_digest",
        oauth::rotate_app_secret_replaces_the_digest(s),
    )
    .await;
    check(
        "oauth::delete_app_takes_codes_and_tokens_along",
        oauth::delete_app_takes_codes_and_tokens_along(s),
    )
    .await;
    check(
        "oauth::code_is_redeemed_once",
        oauth::code_is_redeemed_once(s),
    )
    .await;
    check(
        "oauth::code_is_redeemed_once_under_concurrency",
        oauth::code_is_redeemed_once_under_concurrency(Arc::clone(&store)),
    )
    .await;
    check(
        "oauth::refresh_token_rotates_once",
        oauth::refresh_token_rotates_once(s),
    )
    .await;
    check(
        "oauth::refresh_token_rotates_once_under_concurrency",
        oauth::refresh_token_rotates_once_under_concurrency(Arc::clone(&store)),
    )
    .await;
    check("oauth::revoke_one_token", oauth::revoke_one_token(s)).await;
    check(
        "oauth::user_access_tokens_need_no_app",
        oauth::user_access_tokens_need_no_app(s),
    )
    .await;
    check(
        "oauth::writes_for_vanished_rows_are_gone",
        oauth::writes_for_vanished_rows_are_gone(s),
    )
    .await;
    check(
        "oauth::revoke_family_revokes_exactly_that_family",
        oauth::revoke_family_revokes_exactly_that_family(s),
    )
    .await;
    check(
        "oauth::purge_deletes_expired_codes_and_tokens",
        oauth::purge_deletes_expired_codes_and_tokens(s),
    )
    .await;

    check("lookups::token_with_owner", lookups::token_with_owner(s)).await;
    check(
        "lookups::session_with_owner",
        lookups::session_with_owner(s),
    )
    .await;
    check("lookups::oauth_token_grant", lookups::oauth_token_grant(s)).await;
    check("lookups::app_with_owner", lookups::app_with_owner(s)).await;

    check(
        "rows::previous_secret_needs_its_end_of_grace",
        rows::previous_secret_needs_its_end_of_grace(),
    )
    .await;
    check("rows::token_rows_are_whole", rows::token_rows_are_whole()).await;
    check(
        "rows::other_rows_are_checked",
        rows::other_rows_are_checked(),
    )
    .await;

    check(
        "leases::free_lease_is_acquired",
        leases::free_lease_is_acquired(s),
    )
    .await;
    check(
        "leases::live_lease_is_refused_to_others",
        leases::live_lease_is_refused_to_others(s),
    )
    .await;
    check(
        "leases::holder_extends_its_lease",
        leases::holder_extends_its_lease(s),
    )
    .await;
    check(
        "leases::expired_lease_is_taken_over",
        leases::expired_lease_is_taken_over(s),
    )
    .await;
    check(
        "leases::release_frees_the_lease",
        leases::release_frees_the_lease(s),
    )
    .await;
    check(
        "outbox::claimers_never_share_a_message",
        outbox::claimers_never_share_a_message(Arc::clone(&store)),
    )
    .await;
    check(
        "outbox::an_expired_claim_is_taken_over",
        outbox::an_expired_claim_is_taken_over(s),
    )
    .await;
    check(
        "outbox::retries_wait_and_dedupe_keys_write_once",
        outbox::retries_wait_and_dedupe_keys_write_once(s),
    )
    .await;
    check(
        "outbox::renewals_start_once_and_keys_redeem_once",
        outbox::renewals_start_once_and_keys_redeem_once(Arc::clone(&store)),
    )
    .await;
    check(
        "leases::one_winner_among_concurrent_holders",
        leases::one_winner_among_concurrent_holders(Arc::clone(&store)),
    )
    .await;
}

/// `ping` answers and `backend` names the backend.
pub async fn basics(store: &dyn Store) {
    store.ping().await.expect("ping");
    let name = store.backend();
    assert!(
        !name.is_empty() && name.bytes().all(|b| b.is_ascii_lowercase()),
        "backend() is a short lowercase name, got {name:?}"
    );
}
