//! The OAuth 2.0 endpoints: token, authorize (with sign-in and consent
//! pages), introspection, revocation and server metadata. Request parsing
//! follows RFC 6749 (form bodies, no repeated parameters, no credentials in
//! the query); the protocol itself lives in
//! [`keyward_core::service::oauth`].

pub mod authorize;
pub mod client_auth;
pub mod error;
pub mod form;
pub mod introspect;
pub mod metadata;
pub mod token;
