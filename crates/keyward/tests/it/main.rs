//! Black-box tests of the real `keyward` server over HTTP: one test binary
//! for the crate. Each test starts its own server on a free port with a fresh
//! database; set `KW_TEST_STORE=postgres` to run them all on PostgreSQL.

mod admin;
mod apps;
mod audit;
mod auth;
mod browser;
mod cli;
mod client_ips;
mod compat;
mod durability;
mod errors;
mod instances;
mod kill;
mod logs;
mod metrics;
mod oauth_authorize;
mod oauth_client_auth;
mod oauth_code;
mod oauth_e2e;
mod oauth_metadata;
mod oauth_revoke_introspect;
mod oauth_support;
mod oauth_token;
mod openapi;
mod outbox_instances;
mod outbox_kill;
mod policy;
mod portal_admin;
mod portal_apps;
mod portal_safety;
mod portal_screenshots;
mod portal_tokens;
mod protective_headers;
mod proxy;
mod renewal;
mod renewal_mail;
mod secrets_at_rest;
mod security_races;
mod security_rights;
mod serve_process;
mod sessions;
mod token_lifecycle;
mod tokens;
mod verify;
