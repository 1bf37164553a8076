//! JSON bodies. Malformed JSON, wrong types, unknown and missing fields all
//! become `invalid_argument` naming the field; an oversized body is 413.

use axum::body::Bytes;
use axum::extract::{FromRequest, Request};
use axum::http::StatusCode;
use keyward_core::Error;
use serde::de::DeserializeOwned;

use crate::error::ApiError;

/// A JSON request body parsed into `T`.
#[derive(Debug)]
pub struct ApiJson<T>(pub T);

/// A JSON request body not yet parsed (for a handler that accepts more
/// than one shape): present, within the size limit, to be given to
/// [`parse`].
#[derive(Debug)]
pub struct JsonBytes(pub Bytes);

impl<S: Send + Sync> FromRequest<S> for JsonBytes {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        let bytes = body_bytes(req, state).await?;
        if bytes.iter().all(u8::is_ascii_whitespace) {
            return Err(ApiError::invalid("body", "a JSON object is required"));
        }
        Ok(JsonBytes(bytes))
    }
}

/// A JSON request body that may be absent (empty), giving `T::default()`.
#[derive(Debug)]
pub struct OptionalJson<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequest<S> for ApiJson<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        let bytes = body_bytes(req, state).await?;
        if bytes.iter().all(u8::is_ascii_whitespace) {
            return Err(ApiError::invalid("body", "a JSON object is required"));
        }
        parse(&bytes).map(ApiJson)
    }
}

impl<S: Send + Sync, T: DeserializeOwned + Default> FromRequest<S> for OptionalJson<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        let bytes = body_bytes(req, state).await?;
        if bytes.iter().all(u8::is_ascii_whitespace) {
            return Ok(OptionalJson(T::default()));
        }
        parse(&bytes).map(OptionalJson)
    }
}

/// The body, whatever its `Content-Type`: the API speaks only JSON and takes
/// credentials only from headers, so a browser form cannot ride on a
/// cookie here, and `curl -d` users need not remember the header.
async fn body_bytes<S: Send + Sync>(req: Request, state: &S) -> Result<Bytes, ApiError> {
    Bytes::from_request(req, state).await.map_err(|rejection| {
        if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE {
            ApiError::with_status(
                Error::invalid("body", "the request body is too large"),
                StatusCode::PAYLOAD_TOO_LARGE,
            )
        } else {
            ApiError::invalid("body", "the request body could not be read")
        }
    })
}

/// Parses `bytes` as `T`, naming the offending field on failure. A good
/// body is parsed once, plainly; only a bad one is parsed again with its
/// path tracked, to say where it went wrong.
pub fn parse<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, ApiError> {
    match serde_json::from_slice(bytes) {
        Ok(value) => Ok(value),
        Err(_) => parse_tracked(bytes),
    }
}

fn parse_tracked<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, ApiError> {
    let mut de = serde_json::Deserializer::from_slice(bytes);
    let value: T = serde_path_to_error::deserialize(&mut de).map_err(|err| {
        let path = err.path().to_string();
        let inner = err.into_inner();
        let message = without_position(&inner.to_string());
        let root = path == "." || path.is_empty();
        let field = if !inner.is_data() {
            // Not JSON at all (syntax, truncation): the body is at fault.
            "body".to_owned()
        } else if message.starts_with("missing field") {
            // The path stops at the object that lacks the field.
            match (backticked(&message), root) {
                (Some(f), true) => f,
                (Some(f), false) => format!("{path}.{f}"),
                (None, _) => path,
            }
        } else if root {
            backticked(&message).unwrap_or_else(|| "body".to_owned())
        } else {
            path
        };
        ApiError::invalid(&field, message)
    })?;
    de.end()
        .map_err(|_| ApiError::invalid("body", "unexpected data after the JSON value"))?;
    Ok(value)
}

/// serde_json appends " at line 1 column 12"; the field name says more.
fn without_position(message: &str) -> String {
    match message.rfind(" at line ") {
        Some(i) => message[..i].to_owned(),
        None => message.to_owned(),
    }
}

/// The first `quoted` name in a serde message ("unknown field `x`, ...").
fn backticked(message: &str) -> Option<String> {
    let start = message.find('`')? + 1;
    let len = message[start..].find('`')?;
    Some(message[start..start + len].to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde::Deserialize;

    #[derive(Debug, Deserialize)]
    #[serde(deny_unknown_fields, rename_all = "camelCase")]
    #[allow(dead_code)]
    struct Body {
        name: String,
        scopes: Vec<String>,
        inner: Option<Inner>,
    }

    #[derive(Debug, Deserialize)]
    #[serde(deny_unknown_fields, rename_all = "camelCase")]
    #[allow(dead_code)]
    struct Inner {
        every_days: i64,
    }

    fn field_of(json: &str) -> String {
        match parse::<Body>(json.as_bytes()).unwrap_err().into_error() {
            Error::InvalidArgument { field, .. } => field,
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn errors_name_the_field() {
        assert_eq!(field_of(r#"{"name": 1, "scopes": []}"#), "name");
        assert_eq!(field_of(r#"{"name": "x", "scopes": [1]}"#), "scopes[0]");
        assert_eq!(
            field_of(r#"{"name": "x", "scopes": [], "owner": 1}"#),
            "owner"
        );
        assert_eq!(field_of(r#"{"scopes": []}"#), "name");
        assert_eq!(
            field_of(r#"{"name": "x", "scopes": [], "inner": {"everyDays": "a"}}"#),
            "inner.everyDays"
        );
        assert_eq!(
            field_of(r#"{"name": "x", "scopes": [], "inner": {"x": 1}}"#),
            "inner.x"
        );
        assert_eq!(field_of(r#"{"name": "x""#), "body");
        assert_eq!(field_of(r#"{"name": "x", "scopes": []} {}"#), "body");
        assert_eq!(field_of("[]"), "body");
    }
}
