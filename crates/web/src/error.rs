//! The one place that turns errors into HTTP responses: `{code, message}` with
//! a stable code and status per domain error. Internal details are logged,
//! never sent.

use axum::Json;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use keyward_core::Error;
use serde::Serialize;
use utoipa::ToSchema;

/// The error body of every `/api/v1` endpoint.
#[derive(Debug, Serialize, ToSchema)]
pub struct ErrorBody {
    /// One of `invalid_argument`, `unauthenticated`, `permission_denied`,
    /// `not_found`, `already_exists`, `failed_precondition`,
    /// `resource_exhausted`, `internal`.
    #[schema(example = "invalid_argument")]
    pub code: &'static str,
    #[schema(example = "name: must not be empty")]
    pub message: String,
}

/// A domain error on its way out, optionally with a status other than the
/// code's usual one (413 for an oversized body).
#[derive(Debug)]
pub struct ApiError {
    error: Error,
    status: Option<StatusCode>,
}

impl ApiError {
    pub fn with_status(error: Error, status: StatusCode) -> Self {
        Self {
            error,
            status: Some(status),
        }
    }

    pub fn invalid(field: &str, message: impl Into<String>) -> Self {
        Error::invalid(field, message).into()
    }

    pub fn into_error(self) -> Error {
        self.error
    }
}

impl From<Error> for ApiError {
    fn from(error: Error) -> Self {
        Self {
            error,
            status: None,
        }
    }
}

pub type ApiResult<T> = Result<T, ApiError>;

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let (status, code) = match &self.error {
            Error::InvalidArgument { .. } => (StatusCode::BAD_REQUEST, "invalid_argument"),
            Error::Unauthenticated(_) => (StatusCode::UNAUTHORIZED, "unauthenticated"),
            Error::PermissionDenied(_) => (StatusCode::FORBIDDEN, "permission_denied"),
            Error::NotFound(_) => (StatusCode::NOT_FOUND, "not_found"),
            Error::AlreadyExists(_) => (StatusCode::CONFLICT, "already_exists"),
            Error::FailedPrecondition(_) => (StatusCode::CONFLICT, "failed_precondition"),
            Error::ResourceExhausted { .. } => {
                (StatusCode::TOO_MANY_REQUESTS, "resource_exhausted")
            }
            Error::Internal(_) => (StatusCode::INTERNAL_SERVER_ERROR, "internal"),
        };
        let message = match &self.error {
            Error::Internal(detail) => {
                tracing::error!(error = %detail, "request failed");
                "internal error".to_owned()
            }
            other => other.to_string(),
        };
        let mut response = (
            self.status.unwrap_or(status),
            Json(ErrorBody { code, message }),
        )
            .into_response();
        let headers = response.headers_mut();
        match &self.error {
            Error::ResourceExhausted {
                retry_after: Some(wait),
                ..
            } => {
                headers.insert(
                    header::RETRY_AFTER,
                    HeaderValue::from(wait.as_secs().max(1)),
                );
            }
            Error::Unauthenticated(_) => {
                headers.insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
            }
            _ => {}
        }
        response
    }
}
