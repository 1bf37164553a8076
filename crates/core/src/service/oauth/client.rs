//! Client authentication (RFC 6749 §2.3): a confidential client presents its
//! id and secret (HTTP Basic or body: the web layer has already refused both
//! at once, and any in the query). Failures are counted per client id and
//! client address and throttled, since client secrets are passwords to an
//! attacker; counting per address too keeps one attacker from locking a
//! client out for everyone.

use uuid::Uuid;

use super::{OAuthError, OAuthErrorCode};
use crate::model::{OAuthApp, User};
use crate::secret::{PlainSecret, SecretKind};
use crate::service::Keyward;

/// An authenticated client, with its owner (active, read at the same time).
/// Both are shared rather than copied: the cache hands the same client to
/// every request that authenticates with the same secret.
#[derive(Debug, Clone)]
pub struct Client {
    pub app: std::sync::Arc<OAuthApp>,
    pub owner: std::sync::Arc<User>,
}

impl Keyward {
    /// The app whose id and secret these are.
    pub async fn authenticate_client(
        &self,
        client_id: &str,
        secret: &str,
        ip: Option<std::net::IpAddr>,
    ) -> Result<Client, OAuthError> {
        let now = self.inner.clock.now();
        let key = match ip {
            Some(ip) => format!("client:{}:{ip}", client_id.trim()),
            None => format!("client:{}:-", client_id.trim()),
        };
        if let Err(wait) = self.inner.client_failures.check(&key, now) {
            let mut err = OAuthError::new(
                OAuthErrorCode::InvalidClient,
                "too many failed client authentications; try again later",
            );
            err.throttled = Some(std::time::Duration::from_secs(
                wait.whole_seconds().max(1).unsigned_abs(),
            ));
            return Err(err);
        }
        let (Ok(id), Some(secret)) = (
            Uuid::parse_str(client_id.trim()),
            PlainSecret::parse(secret),
        ) else {
            self.inner.client_failures.record_failure(&key, now);
            return Err(OAuthError::invalid_client());
        };
        let digest = self.inner.hasher.digest(&secret);
        let cache = &self.inner.cache;
        if let Some(client) = cache.client(&digest, now).filter(|c| c.app.client_id == id) {
            return Ok(client);
        }
        let epoch = cache.epoch();
        let app = if secret.kind() == SecretKind::ClientSecret {
            self.inner
                .store
                .find_app(id)
                .await?
                .filter(|app| app.secret_digest.ct_eq(&digest))
        } else {
            None
        };
        let owner = match &app {
            Some(app) => self
                .inner
                .store
                .find_user(app.user_id)
                .await?
                .filter(|u| u.status == crate::model::UserStatus::Active),
            None => None,
        };
        match (app, owner) {
            (Some(app), Some(owner)) => {
                self.inner.client_failures.reset(&key);
                let client = Client {
                    app: app.into(),
                    owner: owner.into(),
                };
                cache.put_client(digest, epoch, now, client.clone());
                Ok(client)
            }
            _ => {
                self.inner.client_failures.record_failure(&key, now);
                Err(OAuthError::invalid_client())
            }
        }
    }
}
