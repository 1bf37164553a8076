//! Who is calling: the credential from `Authorization: Bearer …` or from the
//! configurable header pair (`X-App-Id` + `X-App-Token` by default), and the
//! client's address. Secrets are read only from headers, never the query.

use std::net::IpAddr;

use axum::extract::FromRequestParts;
use axum::http::{HeaderMap, header, request::Parts};
use keyward_core::Error;
use keyward_core::service::{Actor, Principal};

use super::ClientIp;
use crate::error::ApiError;
use crate::state::AppState;

/// The authenticated caller of an `/api/v1` endpoint: an [`Actor`] whose
/// principal is set.
#[derive(Debug, Clone)]
pub struct Caller(pub Actor);

impl Caller {
    pub fn principal(&self) -> &Principal {
        self.0
            .principal
            .as_ref()
            .expect("a Caller is always authenticated")
    }
}

/// Who is acting on an endpoint that needs no credential (a sign-in, a
/// redemption): the client's address, user agent and request id.
#[derive(Debug, Clone)]
pub struct RequestActor(pub Actor);

impl FromRequestParts<AppState> for RequestActor {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let ClientIp(ip) = ClientIp::from_request_parts(parts, state).await?;
        Ok(RequestActor(actor_of(parts, ip)))
    }
}

/// The actor of a request, without a principal yet.
pub(crate) fn actor_of(parts: &Parts, ip: Option<IpAddr>) -> Actor {
    let header = |name: &str| parts.headers.get(name).and_then(|v| v.to_str().ok());
    Actor::anonymous()
        .with_ip(ip)
        .with_user_agent(header("user-agent"))
        .with_request_id(header("x-request-id"))
}

/// The presented secret and, for the header pair, the claimed credential id.
pub(crate) fn presented_credential<'a>(
    headers: &'a HeaderMap,
    state: &AppState,
) -> Result<(&'a str, Option<&'a str>), ApiError> {
    let text = |value: &'a axum::http::HeaderValue| {
        value
            .to_str()
            .map_err(|_| ApiError::from(Error::unauthenticated()))
    };
    if let Some(value) = headers.get(header::AUTHORIZATION) {
        let value = text(value)?;
        let (scheme, secret) = value.trim().split_once(' ').unwrap_or((value, ""));
        if !scheme.eq_ignore_ascii_case("bearer") || secret.trim().is_empty() {
            return Err(
                Error::Unauthenticated("expected Authorization: Bearer <token>".into()).into(),
            );
        }
        return Ok((secret.trim(), None));
    }
    let id = headers.get(&state.app_id_header);
    let token = headers.get(&state.app_token_header);
    match (id, token) {
        (Some(id), Some(token)) => Ok((text(token)?, Some(text(id)?))),
        (None, None) => Err(Error::Unauthenticated("missing credentials".into()).into()),
        _ => Err(Error::Unauthenticated(format!(
            "{} and {} must be sent together",
            state.app_id_header, state.app_token_header
        ))
        .into()),
    }
}

impl FromRequestParts<AppState> for Caller {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let ClientIp(ip) = ClientIp::from_request_parts(parts, state)
            .await
            .unwrap_or_default();
        let (secret, claimed_id) = presented_credential(&parts.headers, state)?;
        let principal = state.keyward.authenticate(secret, claimed_id, ip).await?;
        let mut actor = actor_of(parts, ip);
        actor.principal = Some(principal);
        Ok(Caller(actor))
    }
}
