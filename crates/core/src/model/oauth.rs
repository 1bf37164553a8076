//! OAuth 2.0: client apps (iGUIDE's "OAuth apps"), authorization codes, and
//! the access and refresh tokens issued at the token endpoint.
//!
//! Every app is a confidential client with one secret (`kwc_…`); codes,
//! access tokens (`kwa_…`) and refresh tokens (`kwr_…`) are random secrets
//! stored only as keyed hashes. Tokens issued from one authorization (a code
//! and every refresh after it) share a *family*, so that a replayed code or
//! refresh token can revoke all of them at once.

use std::collections::BTreeSet;

use time::OffsetDateTime;
use uuid::Uuid;

use crate::scope::ScopeSet;
use crate::secret::{Digest, SecretKind};

/// The grant types an app may use.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum GrantType {
    AuthorizationCode,
    RefreshToken,
    ClientCredentials,
}

impl GrantType {
    pub const ALL: [GrantType; 3] = [
        GrantType::AuthorizationCode,
        GrantType::RefreshToken,
        GrantType::ClientCredentials,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            GrantType::AuthorizationCode => "authorization_code",
            GrantType::RefreshToken => "refresh_token",
            GrantType::ClientCredentials => "client_credentials",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|g| g.as_str() == s)
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OAuthApp {
    pub client_id: Uuid,
    pub user_id: Uuid,
    pub client_name: String,
    pub description: Option<String>,
    /// Absolute URIs, compared by exact string.
    pub redirect_uris: Vec<String>,
    pub logo_uri: Option<String>,
    pub scopes: ScopeSet,
    pub grant_types: BTreeSet<GrantType>,
    pub secret_digest: Digest,
    pub secret_hint: String,
    pub created_at: OffsetDateTime,
    pub updated_at: OffsetDateTime,
}

#[derive(Debug, Clone)]
pub struct NewOAuthApp {
    pub client_id: Uuid,
    pub user_id: Uuid,
    pub client_name: String,
    pub description: Option<String>,
    pub redirect_uris: Vec<String>,
    pub logo_uri: Option<String>,
    pub scopes: ScopeSet,
    pub grant_types: BTreeSet<GrantType>,
    pub secret_digest: Digest,
    pub secret_hint: String,
    pub now: OffsetDateTime,
}

/// Changes to an app; `None` leaves a field alone, `Some(None)` clears it.
#[derive(Debug, Clone, Default)]
pub struct OAuthAppUpdate {
    pub client_name: Option<String>,
    pub description: Option<Option<String>>,
    pub redirect_uris: Option<Vec<String>>,
    pub logo_uri: Option<Option<String>>,
    pub scopes: Option<ScopeSet>,
    pub grant_types: Option<BTreeSet<GrantType>>,
}

impl OAuthAppUpdate {
    pub fn is_empty(&self) -> bool {
        self.client_name.is_none()
            && self.description.is_none()
            && self.redirect_uris.is_none()
            && self.logo_uri.is_none()
            && self.scopes.is_none()
            && self.grant_types.is_none()
    }
}

/// A code issued by the authorization endpoint, redeemable once within its
/// short lifetime.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuthCode {
    pub id: Uuid,
    pub client_id: Uuid,
    /// The user who consented.
    pub user_id: Uuid,
    /// The `redirect_uri` the authorization request carried, if any; the
    /// token request must repeat it.
    pub redirect_uri: Option<String>,
    pub scopes: ScopeSet,
    /// The S256 PKCE challenge.
    pub code_challenge: String,
    /// The family every token issued from this code belongs to.
    pub family_id: Uuid,
    pub created_at: OffsetDateTime,
    pub expires_at: OffsetDateTime,
    pub used_at: Option<OffsetDateTime>,
}

#[derive(Debug, Clone)]
pub struct NewAuthCode {
    pub code: AuthCode,
    pub digest: Digest,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OAuthTokenKind {
    Access,
    Refresh,
}

impl OAuthTokenKind {
    pub fn as_str(self) -> &'static str {
        match self {
            OAuthTokenKind::Access => "access",
            OAuthTokenKind::Refresh => "refresh",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "access" => Some(OAuthTokenKind::Access),
            "refresh" => Some(OAuthTokenKind::Refresh),
            _ => None,
        }
    }

    /// The kind of secret a token of this kind is presented as.
    pub fn secret_kind(self) -> SecretKind {
        match self {
            OAuthTokenKind::Access => SecretKind::AccessToken,
            OAuthTokenKind::Refresh => SecretKind::RefreshToken,
        }
    }
}

/// An access or refresh token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OAuthToken {
    pub id: Uuid,
    pub kind: OAuthTokenKind,
    /// The app it was issued to; `None` for an access token issued to a
    /// user for their own username and password (the `apinizer`
    /// compatibility profile), which acts with that user's rights alone.
    pub client_id: Option<Uuid>,
    /// Whom the token acts for: the app's owner (client_credentials), the
    /// user who consented (authorization_code), or the user who signed in.
    pub user_id: Uuid,
    pub scopes: ScopeSet,
    /// Tokens from one authorization; `None` for client_credentials.
    pub family_id: Option<Uuid>,
    pub created_at: OffsetDateTime,
    pub expires_at: OffsetDateTime,
    /// A refresh token that has been exchanged (rotated).
    pub used_at: Option<OffsetDateTime>,
    pub revoked_at: Option<OffsetDateTime>,
}

impl OAuthToken {
    /// Usable now: not revoked, not used (refresh), not expired.
    pub fn is_live(&self, now: OffsetDateTime) -> bool {
        self.revoked_at.is_none() && self.used_at.is_none() && now < self.expires_at
    }
}

#[derive(Debug, Clone)]
pub struct NewOAuthToken {
    pub token: OAuthToken,
    pub digest: Digest,
}
