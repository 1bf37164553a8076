//! Keyward's domain: the credentials it issues, how their secrets look and are
//! hashed, who may do what, and the use cases (services) that the HTTP layer and
//! the CLI call. Nothing here knows about HTTP or SQL: storage is reached
//! through the [`store`] ports, time through [`clock::Clock`] and randomness
//! through [`random::Random`].

pub mod clock;
pub mod common_passwords;
pub mod config;
pub mod effects;
pub mod error;
pub mod model;
pub mod password;
pub mod random;
pub mod rows;
pub mod scope;
pub mod secret;
pub mod service;
pub mod store;
pub mod validate;

pub use error::{Error, Result};
