//! What a credential check answers: who is calling ([`Principal`]), through
//! which credential, with which effective scopes and applications; why a
//! secret is refused ([`Rejection`]); and the one rule that keeps every
//! credential from obtaining a stronger one ([`Principal::covers`]).
//!
//! A leaf module: the checking path (`auth`) and the cache both use these
//! types, and neither needs the other to name them.

use std::collections::BTreeSet;
use std::sync::Arc;

use time::OffsetDateTime;
use uuid::Uuid;

use crate::error::{Error, Result};
use crate::model::User;
use crate::scope::{self, ScopeSet};
use crate::secret::SecretKind;

/// Which credential authenticated a request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CredentialRef {
    pub kind: SecretKind,
    pub id: Uuid,
}

/// The OAuth grant an access token belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OAuthGrant {
    /// The app the token was issued to; `None` for a token issued to a user
    /// for their username and password (a grant of its own).
    pub client_id: Option<Uuid>,
    /// The tokens of one authorization (a code and its refreshes); `None`
    /// for a client_credentials token, which is a grant of its own.
    pub family_id: Option<Uuid>,
}

/// Who is calling, through which credential, with which effective scopes.
/// The user and scopes are shared rather than copied: a cached answer is
/// handed to every request that presents the same secret.
#[derive(Debug, Clone)]
pub struct Principal {
    pub user: Arc<User>,
    pub credential: CredentialRef,
    /// The credential's scopes ∩ what its owner may do now.
    pub scopes: Arc<ScopeSet>,
    /// The applications the credential is restricted to; empty means any.
    pub applications: Arc<BTreeSet<String>>,
    /// Set for an OAuth access token.
    pub oauth: Option<OAuthGrant>,
}

impl Principal {
    pub fn has_scope(&self, scope: &str) -> bool {
        self.scopes.contains(scope)
    }

    /// `permission_denied` unless the credential carries `scope`.
    pub fn require(&self, scope: &str) -> Result<()> {
        if self.has_scope(scope) {
            Ok(())
        } else {
            Err(Error::PermissionDenied(format!(
                "this credential lacks the {scope} scope"
            )))
        }
    }

    pub fn is_admin(&self) -> bool {
        self.has_scope(scope::ADMIN_USERS)
    }

    /// Whether the credential is restricted to some applications.
    pub fn is_application_restricted(&self) -> bool {
        !self.applications.is_empty()
    }

    /// May this credential manage credentials (`credentials.manage`)? A token
    /// restricted to applications exists for the platform's applications,
    /// not for Keyward's management API, so it may not, whatever its scopes.
    pub fn require_manage(&self) -> Result<()> {
        self.require(scope::CREDENTIALS_MANAGE)?;
        if self.is_application_restricted() {
            return Err(Error::PermissionDenied(
                "a token restricted to applications cannot manage credentials".into(),
            ));
        }
        Ok(())
    }

    /// Whether a credential with these effective `scopes` and `applications`
    /// is no stronger than this one: its scopes are within this one's, and
    /// if this one is restricted to applications, so is it, to a subset of
    /// them (never to none, which means any).
    pub fn covers(&self, scopes: &ScopeSet, applications: &BTreeSet<String>) -> bool {
        scopes.is_subset(&self.scopes)
            && (self.applications.is_empty()
                || (!applications.is_empty() && applications.is_subset(&self.applications)))
    }

    /// The rule every operation that returns a secret, or decides where one
    /// is sent, obeys: `permission_denied` unless [`Self::covers`] holds for
    /// the target credential (`what` names it in the message).
    pub fn require_covers(
        &self,
        what: &str,
        scopes: &ScopeSet,
        applications: &BTreeSet<String>,
    ) -> Result<()> {
        if self.covers(scopes, applications) {
            return Ok(());
        }
        let message = match scopes.difference(&self.scopes).next() {
            Some(extra) => format!(
                "{what} holds the {extra} scope, which this credential lacks; \
                 use a credential with at least its rights (a login session has all of yours)"
            ),
            None => format!(
                "{what} may reach applications this credential may not; \
                 use a credential with at least its rights (a login session has all of yours)"
            ),
        };
        Err(Error::PermissionDenied(message))
    }
}

/// A credential that checked out.
#[derive(Debug, Clone)]
pub struct Verified {
    pub principal: Principal,
    /// When this secret stops working (the sooner of expiry and grace end).
    pub expires_at: Option<OffsetDateTime>,
    /// When the credential was issued.
    pub issued_at: Option<OffsetDateTime>,
}

impl Verified {
    /// The OAuth app an access token was issued to.
    pub fn client_id(&self) -> Option<Uuid> {
        self.principal.oauth.and_then(|g| g.client_id)
    }
}

/// Why a presented secret does not authenticate.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Rejection {
    NotFound,
    Expired,
    Revoked,
    Deactivated,
    OwnerDisabled,
}

impl Rejection {
    pub fn as_str(self) -> &'static str {
        match self {
            Rejection::NotFound => "not_found",
            Rejection::Expired => "expired",
            Rejection::Revoked => "revoked",
            Rejection::Deactivated => "deactivated",
            Rejection::OwnerDisabled => "owner_disabled",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::UserStatus;

    fn set(items: &[&str]) -> BTreeSet<String> {
        items.iter().map(|s| (*s).to_owned()).collect()
    }

    fn principal(scopes: &[&str], applications: &[&str]) -> Principal {
        let now = OffsetDateTime::UNIX_EPOCH;
        Principal {
            user: Arc::new(User {
                id: Uuid::from_u128(1),
                username: "u".into(),
                roles: vec![],
                status: UserStatus::Active,
                email: None,
                created_at: now,
                updated_at: now,
            }),
            credential: CredentialRef {
                kind: SecretKind::ApiToken,
                id: Uuid::from_u128(2),
            },
            scopes: Arc::new(set(scopes)),
            applications: Arc::new(set(applications)),
            oauth: None,
        }
    }

    #[test]
    fn a_credential_covers_only_what_is_within_it() {
        let any = principal(&["a", "b"], &[]);
        assert!(any.covers(&set(&["a"]), &set(&[])));
        assert!(any.covers(&set(&["a", "b"]), &set(&["shop"])));
        assert!(
            !any.covers(&set(&["a", "c"]), &set(&[])),
            "a stronger scope"
        );

        let shop = principal(&["a", "b"], &["shop", "portal"]);
        assert!(shop.covers(&set(&["a"]), &set(&["shop"])));
        assert!(
            !shop.covers(&set(&["a"]), &set(&[])),
            "unrestricted is stronger than restricted"
        );
        assert!(!shop.covers(&set(&["a"]), &set(&["shop", "tasks"])));
        let err = shop
            .require_covers("the token", &set(&["c"]), &set(&["shop"]))
            .unwrap_err();
        assert!(matches!(err, Error::PermissionDenied(ref m) if m.contains("the c scope")));
    }

    #[test]
    fn restricted_tokens_cannot_manage() {
        assert!(
            principal(&[scope::CREDENTIALS_MANAGE], &[])
                .require_manage()
                .is_ok()
        );
        assert!(matches!(
            principal(&[scope::CREDENTIALS_MANAGE], &["shop"]).require_manage(),
            Err(Error::PermissionDenied(_))
        ));
        assert!(principal(&[], &[]).require_manage().is_err());
    }
}
