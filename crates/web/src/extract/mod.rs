//! Request extractors whose every rejection is a proper `{code, message}`
//! error: JSON bodies, query strings, path ids, the caller's credential and
//! address.

mod caller;
pub mod client_ip;
mod json;
mod path;
mod query;

pub use caller::{Caller, RequestActor};
pub use client_ip::ClientIp;
pub use json::{ApiJson, JsonBytes, OptionalJson, parse as parse_json};
pub use path::IdPath;
pub use query::{ApiQuery, parse as parse_query};
