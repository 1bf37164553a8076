//! The browser-facing side: what forms need beyond the JSON API (cookies,
//! CSRF tokens, origin checks).

pub mod cookies;
pub mod csrf;
