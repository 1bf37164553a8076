//! OAuth error responses (RFC 6749 §5.2): JSON `{error, error_description}`,
//! 400 by default, 401 with `WWW-Authenticate: Basic` for a failed client
//! authentication, 429 when client authentication is throttled, never
//! cacheable.

use axum::Json;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use keyward_core::service::oauth::{OAuthError, OAuthErrorCode};
use serde::Serialize;
use utoipa::ToSchema;

#[derive(Debug, Serialize, ToSchema)]
pub struct OAuthErrorBody {
    /// `invalid_request`, `invalid_client`, `invalid_grant`,
    /// `unauthorized_client`, `unsupported_grant_type`, `invalid_scope`
    /// (or `unsupported_token_type` at revocation).
    pub error: &'static str,
    pub error_description: String,
}

/// An [`OAuthError`] on its way out.
#[derive(Debug)]
pub struct OAuthResponseError(pub OAuthError);

impl From<OAuthError> for OAuthResponseError {
    fn from(err: OAuthError) -> Self {
        Self(err)
    }
}

impl IntoResponse for OAuthResponseError {
    fn into_response(self) -> Response {
        let err = self.0;
        let status = match (err.code, err.throttled) {
            (_, Some(_)) => StatusCode::TOO_MANY_REQUESTS,
            (OAuthErrorCode::InvalidClient, None) => StatusCode::UNAUTHORIZED,
            (_, None) if err.unauthorized => StatusCode::UNAUTHORIZED,
            (OAuthErrorCode::ServerError, None) => StatusCode::INTERNAL_SERVER_ERROR,
            _ => StatusCode::BAD_REQUEST,
        };
        let body = OAuthErrorBody {
            error: err.code.as_str(),
            error_description: err.description,
        };
        let mut response = (status, Json(body)).into_response();
        let headers = response.headers_mut();
        headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
        headers.insert(header::PRAGMA, HeaderValue::from_static("no-cache"));
        if status == StatusCode::UNAUTHORIZED {
            headers.insert(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static("Basic realm=\"keyward\", charset=\"UTF-8\""),
            );
        }
        if let Some(wait) = err.throttled {
            headers.insert(
                header::RETRY_AFTER,
                HeaderValue::from(wait.as_secs().max(1)),
            );
        }
        response
    }
}

pub type OAuthResult<T> = Result<T, OAuthResponseError>;
