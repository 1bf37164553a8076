//! Timestamps on the wire: RFC 3339 in UTC, and the "absent vs null"
//! distinction PATCH bodies need.

use serde::{Deserialize, Deserializer};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

pub use time::serde::rfc3339;

/// For `Option<Option<OffsetDateTime>>` PATCH fields: absent → `None`,
/// `null` → `Some(None)`, a timestamp → `Some(Some(t))`. Use with
/// `#[serde(default)]`.
pub fn double_option<'de, D: Deserializer<'de>>(
    de: D,
) -> Result<Option<Option<OffsetDateTime>>, D::Error> {
    let raw: Option<String> = Option::deserialize(de)?;
    match raw {
        None => Ok(Some(None)),
        Some(text) => OffsetDateTime::parse(&text, &Rfc3339)
            .map(|t| Some(Some(t)))
            .map_err(|e| serde::de::Error::custom(format!("not an RFC 3339 timestamp: {e}"))),
    }
}

/// For other PATCH fields that may be cleared with `null`.
pub fn nullable<'de, D: Deserializer<'de>, T: Deserialize<'de>>(
    de: D,
) -> Result<Option<Option<T>>, D::Error> {
    Option::<T>::deserialize(de).map(Some)
}
