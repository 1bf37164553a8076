//! Verification for the platform's resource servers (`POST /api/v1/verify`,
//! and later introspection): judges a presented secret through the same path
//! as API authentication ([`Keyward::check_secret`]: parse and checksum
//! offline, keyed hash, cache, store on a miss; the use is recorded), then
//! against what the resource server requires of it.
//!
//! An invalid secret tells nothing about the credential behind it: no ids,
//! no scopes, no expiry, only the reason and the kind read from its prefix. A
//! genuine credential that does not fit the request (`wrong_application`,
//! `insufficient_scope`) is described, so the caller can say what is missing.

use std::sync::Arc;

use time::OffsetDateTime;
use uuid::Uuid;

use super::Actor;
use super::Keyward;
use super::credential::Rejection;
use crate::error::{Error, Result};
use crate::scope::{self, ScopeSet};
use crate::secret::{PlainSecret, SecretKind};

/// The longest `token` accepted; a Keyward secret is 40 characters.
const MAX_TOKEN_LEN: usize = 1024;

/// What a resource server asks.
#[derive(Debug, Clone, Copy)]
pub struct VerifyRequest<'a> {
    /// The presented secret, as received.
    pub token: &'a str,
    /// Scopes the credential must carry (effective scopes); may be empty.
    pub required_scopes: &'a [String],
    /// The application the resource server serves, if it names one.
    pub application: Option<&'a str>,
}

/// Why a verification fails.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum VerifyReason {
    NotFound,
    Expired,
    Revoked,
    Deactivated,
    OwnerDisabled,
    InsufficientScope,
    WrongApplication,
}

impl VerifyReason {
    pub const ALL: [VerifyReason; 7] = [
        VerifyReason::NotFound,
        VerifyReason::Expired,
        VerifyReason::Revoked,
        VerifyReason::Deactivated,
        VerifyReason::OwnerDisabled,
        VerifyReason::InsufficientScope,
        VerifyReason::WrongApplication,
    ];

    /// The name used on the wire (`reason`).
    pub fn as_str(self) -> &'static str {
        match self {
            VerifyReason::NotFound => "not_found",
            VerifyReason::Expired => "expired",
            VerifyReason::Revoked => "revoked",
            VerifyReason::Deactivated => "deactivated",
            VerifyReason::OwnerDisabled => "owner_disabled",
            VerifyReason::InsufficientScope => "insufficient_scope",
            VerifyReason::WrongApplication => "wrong_application",
        }
    }
}

impl From<Rejection> for VerifyReason {
    fn from(rejection: Rejection) -> Self {
        match rejection {
            Rejection::NotFound => VerifyReason::NotFound,
            Rejection::Expired => VerifyReason::Expired,
            Rejection::Revoked => VerifyReason::Revoked,
            Rejection::Deactivated => VerifyReason::Deactivated,
            Rejection::OwnerDisabled => VerifyReason::OwnerDisabled,
        }
    }
}

/// The answer to a verification.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verdict {
    /// `None` when the credential is good for this request.
    pub reason: Option<VerifyReason>,
    /// The kind of secret, when it is well-formed.
    pub kind: Option<SecretKind>,
    pub credential_id: Option<Uuid>,
    pub user_id: Option<Uuid>,
    /// The OAuth client a token was issued to.
    pub client_id: Option<Uuid>,
    /// The credential's effective scopes now.
    pub scopes: Arc<ScopeSet>,
    /// When the secret stops working (the sooner of expiry and grace end).
    pub expires_at: Option<OffsetDateTime>,
}

impl Verdict {
    pub fn is_valid(&self) -> bool {
        self.reason.is_none()
    }

    fn invalid(reason: VerifyReason, kind: Option<SecretKind>) -> Self {
        Self {
            reason: Some(reason),
            kind,
            credential_id: None,
            user_id: None,
            client_id: None,
            scopes: Arc::default(),
            expires_at: None,
        }
    }
}

impl Keyward {
    /// Verifies `request.token` for `actor`, who needs `tokens.verify`. The
    /// actor's address is the one that presented the secret to Keyward,
    /// recorded as the credential's last use.
    pub async fn verify(&self, actor: &Actor, request: VerifyRequest<'_>) -> Result<Verdict> {
        let caller = actor.principal()?;
        caller.require(scope::TOKENS_VERIFY)?;
        self.check_verify_request(&request)?;
        let verified = match self.check_secret(request.token, actor.ip).await? {
            Ok(verified) => verified,
            Err(rejection) => {
                // Only a refused secret needs parsing again, for its kind.
                let kind = PlainSecret::parse(request.token.trim()).map(|s| s.kind());
                return Ok(Verdict::invalid(rejection.into(), kind));
            }
        };
        let applications = &verified.principal.applications;
        let reason = if !applications.is_empty()
            && !request
                .application
                .is_some_and(|app| applications.contains(app))
        {
            Some(VerifyReason::WrongApplication)
        } else if !request
            .required_scopes
            .iter()
            .all(|s| verified.principal.scopes.contains(s))
        {
            Some(VerifyReason::InsufficientScope)
        } else {
            None
        };
        let client_id = verified.client_id();
        let principal = verified.principal;
        Ok(Verdict {
            reason,
            kind: Some(principal.credential.kind),
            credential_id: Some(principal.credential.id),
            user_id: Some(principal.user.id),
            client_id,
            scopes: principal.scopes,
            expires_at: verified.expires_at,
        })
    }

    /// The request's own faults: an empty or absurdly long token, unknown
    /// scopes or application (a resource server's misconfiguration, better
    /// told than silently answered `insufficient_scope`).
    fn check_verify_request(&self, request: &VerifyRequest<'_>) -> Result<()> {
        if request.token.trim().is_empty() {
            return Err(Error::invalid("token", "must not be empty"));
        }
        if request.token.len() > MAX_TOKEN_LEN {
            return Err(Error::invalid(
                "token",
                format!("must be at most {MAX_TOKEN_LEN} characters"),
            ));
        }
        let policy = self.policy();
        for (i, scope) in request.required_scopes.iter().enumerate() {
            if !policy.is_scope(scope) {
                return Err(Error::invalid(
                    &format!("requiredScopes[{i}]"),
                    format!("unknown scope {scope:?}"),
                ));
            }
        }
        if let Some(app) = request.application {
            policy.parse_applications("application", &[app.to_owned()])?;
        }
        Ok(())
    }
}
