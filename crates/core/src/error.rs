//! The domain error every service returns. The HTTP layer maps each variant to
//! one stable `{code, message}` pair and status; nothing else decides codes.

use std::time::Duration;

pub type Result<T, E = Error> = std::result::Result<T, E>;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// Bad input. `field` names the offending field (camelCase, as in the API).
    #[error("{field}: {message}")]
    InvalidArgument { field: String, message: String },
    /// Missing, malformed, unknown, expired or revoked credential.
    #[error("{0}")]
    Unauthenticated(String),
    /// The credential is good but lacks a scope or the right.
    #[error("{0}")]
    PermissionDenied(String),
    #[error("{0}")]
    NotFound(String),
    #[error("{0}")]
    AlreadyExists(String),
    /// The object is in a state that forbids the operation.
    #[error("{0}")]
    FailedPrecondition(String),
    /// A limit was reached; `retry_after` when waiting helps.
    #[error("{message}")]
    ResourceExhausted {
        message: String,
        retry_after: Option<Duration>,
    },
    /// Anything that is not the caller's fault. The message is logged, never
    /// shown.
    #[error("internal error: {0}")]
    Internal(String),
}

impl Error {
    pub fn invalid(field: &str, message: impl Into<String>) -> Self {
        Error::InvalidArgument {
            field: field.to_owned(),
            message: message.into(),
        }
    }

    pub fn unauthenticated() -> Self {
        Error::Unauthenticated("missing or invalid credentials".into())
    }

    pub fn internal(err: impl std::fmt::Display) -> Self {
        Error::Internal(err.to_string())
    }
}

/// What a store reports. Conflicts and vanished references are expected
/// outcomes of concurrent requests; everything else is the database failing.
#[derive(Debug, Clone, thiserror::Error)]
pub enum StoreError {
    #[error("conflict: {0}")]
    Conflict(String),
    /// A row the write refers to (a user, an app, a token) was deleted
    /// meanwhile: a foreign-key violation, or a lookup inside the write that
    /// found nothing.
    #[error("gone: {0}")]
    Gone(String),
    #[error("database error: {0}")]
    Database(String),
}

impl From<StoreError> for Error {
    fn from(err: StoreError) -> Self {
        match err {
            StoreError::Conflict(what) => Error::AlreadyExists(what),
            StoreError::Gone(what) => Error::NotFound(what),
            StoreError::Database(msg) => Error::Internal(msg),
        }
    }
}
