//! Query strings, parsed into a struct that is also the endpoint's OpenAPI
//! parameter list (`Deserialize` + `IntoParams`), so the document and the
//! parser cannot disagree. Unknown parameters, repeated ones, wrong types
//! and bad values are `invalid_argument` naming the parameter.

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use serde::de::DeserializeOwned;

use crate::error::ApiError;

/// The query string parsed into `T`.
#[derive(Debug)]
pub struct ApiQuery<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequestParts<S> for ApiQuery<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        parse(parts.uri.query().unwrap_or_default()).map(ApiQuery)
    }
}

/// Parses a query string as `T`, naming the offending parameter on failure.
pub fn parse<T: DeserializeOwned>(query: &str) -> Result<T, ApiError> {
    if let Some(name) = repeated(query) {
        return Err(ApiError::invalid(&name, "is given more than once"));
    }
    let de = serde_urlencoded::Deserializer::new(form_urlencoded::parse(query.as_bytes()));
    serde_path_to_error::deserialize(de).map_err(|err| {
        let path = err.path().to_string();
        let message = err.into_inner().to_string();
        let field = if path.is_empty() || path == "." {
            backticked(&message).unwrap_or_else(|| "query".to_owned())
        } else {
            path
        };
        ApiError::invalid(&field, message)
    })
}

/// The first parameter named twice, if any.
fn repeated(query: &str) -> Option<String> {
    let mut seen = std::collections::HashSet::new();
    form_urlencoded::parse(query.as_bytes())
        .map(|(k, _)| k.into_owned())
        .find(|k| !seen.insert(k.clone()))
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
    struct Q {
        limit: Option<u32>,
        user_id: Option<uuid::Uuid>,
        #[serde(default)]
        never_expires: bool,
    }

    fn field_of(query: &str) -> String {
        match parse::<Q>(query).unwrap_err().into_error() {
            keyward_core::Error::InvalidArgument { field, .. } => field,
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn parameters_parse_and_errors_name_them() {
        let q: Q =
            parse("limit=5&userId=00000000-0000-0000-0000-000000000001&neverExpires=true").unwrap();
        assert_eq!(q.limit, Some(5));
        assert!(q.user_id.is_some() && q.never_expires);
        assert!(parse::<Q>("").unwrap().limit.is_none());
        assert_eq!(field_of("limit=many"), "limit");
        assert_eq!(field_of("userId=nope"), "userId");
        assert_eq!(field_of("limt=5"), "limt");
        assert_eq!(field_of("limit=1&limit=2"), "limit");
        assert_eq!(field_of("neverExpires=maybe"), "neverExpires");
    }

    mod props {
        use super::*;
        use proptest::prelude::*;

        proptest! {
            /// Any query string is parsed or refused as invalid_argument,
            /// never a panic.
            #[test]
            fn any_query_is_safe(query in "[ -~]{0,120}") {
                if let Err(err) = parse::<Q>(&query) {
                    let invalid = matches!(err.into_error(), keyward_core::Error::InvalidArgument { .. });
                    prop_assert!(invalid);
                }
            }
        }
    }
}
