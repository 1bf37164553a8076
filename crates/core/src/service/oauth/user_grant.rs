//! The `apinizer` compatibility profile's grant: `client_credentials` at the
//! token endpoint where the "client" is a user's username and password (a
//! password grant in disguise, as Apinizer's manual has it). The answer is
//! an access token acting for that user with their own allowed scopes
//! (narrowed by `scope` if sent), and no refresh token.
//!
//! It reuses what a sign-in uses: the password check, its throttles (each
//! attempt reserved before the check) and the same answer for an unknown
//! user and a wrong password; and what every grant uses to issue and store
//! tokens. The token carries no app: it acts with its scopes ∩ what the user
//! may do at the moment of use.

use super::{OAuthError, OAuthErrorCode, TokenResponse, parse_scope_param};
use crate::error::{Error, StoreError};
use crate::service::{Actor, Keyward};

impl Keyward {
    /// Issues an access token for `username`'s own rights, if `password` is
    /// theirs.
    pub async fn grant_user_credentials(
        &self,
        actor: &Actor,
        username: &str,
        password: String,
        scope: Option<&str>,
    ) -> Result<TokenResponse, OAuthError> {
        let user = match self.check_password(actor, username, password).await {
            Ok(user) => user,
            Err(Error::ResourceExhausted { retry_after, .. }) => {
                let mut err = OAuthError::new(
                    OAuthErrorCode::UnauthorizedClient,
                    "too many failed logins; try again later",
                );
                err.throttled = retry_after.or(Some(std::time::Duration::from_secs(1)));
                return Err(err);
            }
            Err(Error::Unauthenticated(_) | Error::InvalidArgument { .. }) => {
                return Err(bad_credentials());
            }
            Err(other) => return Err(other.into()),
        };
        let allowed = self.allowed_scopes(&user);
        let scopes = match scope {
            None => allowed,
            Some(requested) => {
                let requested = parse_scope_param(requested);
                if requested.is_empty() || !requested.is_subset(&allowed) {
                    return Err(OAuthError::invalid_scope(
                        "the requested scope is not within the user's permissions",
                    ));
                }
                requested
            }
        };
        if scopes.is_empty() {
            return Err(OAuthError::invalid_scope("the user holds no scope"));
        }
        let now = self.inner.clock.now();
        let issue = self.issue(None, user.id, scopes, None, false, now);
        match self.inner.token_writer.insert(issue.rows).await {
            Ok(()) => Ok(issue.response),
            // The user was deleted since the password check.
            Err(StoreError::Gone(_)) => Err(bad_credentials()),
            Err(err) => Err(err.into()),
        }
    }
}

/// Apinizer's answer to a wrong username or password: 401
/// `unauthorized_client`, "Bad credentials".
fn bad_credentials() -> OAuthError {
    let mut err = OAuthError::new(OAuthErrorCode::UnauthorizedClient, "Bad credentials");
    err.unauthorized = true;
    err
}
