//! Request extractors whose every rejection is a proper `{code, message}`
//! error: JSON bodies, path ids, the caller's credential and address.

mod caller;
mod for_user;
mod json;
mod path;

pub use caller::{Caller, ClientIp};
pub use for_user::ForUser;
pub use json::{ApiJson, JsonBytes, OptionalJson, parse as parse_json};
pub use path::IdPath;
