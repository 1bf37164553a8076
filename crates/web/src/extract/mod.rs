//! Request extractors whose every rejection is a proper `{code, message}`
//! error: JSON bodies, query strings, path ids, the caller's credential and
//! address.

mod caller;
mod json;
mod path;
mod query;

pub use caller::{Caller, ClientIp, RequestActor};
pub use json::{ApiJson, JsonBytes, OptionalJson, parse as parse_json};
pub use path::IdPath;
pub use query::{ApiQuery, parse as parse_query};
