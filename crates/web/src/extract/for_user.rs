//! `?userId=`: whose resources an admin acts on. Absent means the caller's
//! own; a malformed id is `invalid_argument` naming `userId`. Whether the
//! caller may name another user is the service's decision.

use axum::extract::{FromRequestParts, Query};
use axum::http::request::Parts;
use std::collections::HashMap;
use uuid::Uuid;

use crate::error::ApiError;

#[derive(Debug, Clone, Copy)]
pub struct ForUser(pub Option<Uuid>);

impl<S: Send + Sync> FromRequestParts<S> for ForUser {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let Query(params) = Query::<HashMap<String, String>>::from_request_parts(parts, state)
            .await
            .map_err(|_| ApiError::invalid("query", "the query string could not be read"))?;
        params
            .get("userId")
            .map(|v| Uuid::parse_str(v).map_err(|_| ApiError::invalid("userId", "must be a UUID")))
            .transpose()
            .map(ForUser)
    }
}
