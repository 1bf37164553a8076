//! Client authentication (RFC 6749 §2.3): a confidential client presents its
//! id and secret (HTTP Basic or body: the web layer has already refused both
//! at once, and any in the query). Attempts are throttled, since client
//! secrets are passwords to an attacker: per client at one address (so one
//! attacker cannot lock a client out for everyone), per client from all
//! addresses at a much higher limit, and per address.

use uuid::Uuid;

use super::{OAuthError, OAuthErrorCode};
use crate::model::{OAuthApp, User};
use crate::secret::{PlainSecret, SecretKind};
use crate::service::sessions::ip_key;
use crate::service::{Keyward, throttle};

/// An authenticated client, with its owner (active, read at the same time).
/// Both are shared rather than copied: the cache hands the same client to
/// every request that authenticates with the same secret.
#[derive(Debug, Clone)]
pub struct Client {
    pub app: std::sync::Arc<OAuthApp>,
    pub owner: std::sync::Arc<User>,
}

impl Keyward {
    /// The app whose id and secret these are. A secret that authenticated
    /// before (cached) is no guess and passes at once; any other attempt is
    /// reserved first, per client at this address, per client from all
    /// addresses and per address, so parallel guesses cannot outrun the
    /// limits (see [`crate::service::throttle`]).
    pub async fn authenticate_client(
        &self,
        client_id: &str,
        secret: &str,
        ip: Option<std::net::IpAddr>,
    ) -> Result<Client, OAuthError> {
        let now = self.inner.clock.now();
        let parsed = (
            Uuid::parse_str(client_id.trim()).ok(),
            PlainSecret::parse(secret),
        );
        let digest = parsed.1.as_ref().map(|s| self.inner.hasher.digest(s));
        let cache = &self.inner.cache;
        if let (Some(id), Some(digest)) = (parsed.0, &digest)
            && let Some(client) = cache.client(digest, now).filter(|c| c.app.client_id == id)
        {
            return Ok(client);
        }
        let settings = &self.inner.settings;
        let ip_key = ip_key(ip);
        // Keyed on the parsed id, so that another spelling of it (upper
        // case, braces) shares its budget; an id that does not parse can
        // only fail, and counts against the address alone.
        let mut budgets = vec![(format!("ip:{ip_key}"), settings.login_failures_per_ip)];
        if let Some(id) = parsed.0 {
            budgets.push((
                format!("client-at:{id}\n{ip_key}"),
                settings.client_failures,
            ));
            budgets.push((format!("client:{id}"), settings.client_failures_all_ips));
        }
        let attempt = throttle::reserve_all(
            self.inner.attempts.as_ref(),
            budgets,
            settings.login_window,
            now,
        )
        .await?
        .map_err(|wait| {
            let mut err = OAuthError::new(
                OAuthErrorCode::InvalidClient,
                "too many failed client authentications; try again later",
            );
            err.throttled = Some(std::time::Duration::from_secs(
                wait.whole_seconds().max(1).unsigned_abs(),
            ));
            err
        })?;
        let (Some(id), Some(secret), Some(digest)) = (parsed.0, parsed.1, digest) else {
            return Err(OAuthError::invalid_client());
        };
        let epoch = cache.epoch();
        let found = if secret.kind() == SecretKind::ClientSecret {
            self.inner
                .store
                .find_app_with_owner(id)
                .await?
                .filter(|(app, owner)| {
                    app.secret_digest.ct_eq(&digest)
                        && owner.status == crate::model::UserStatus::Active
                })
        } else {
            None
        };
        match found {
            Some((app, owner)) => {
                attempt.succeeded().await?;
                let client = Client {
                    app: app.into(),
                    owner: owner.into(),
                };
                cache.put_client(digest, epoch, now, client.clone());
                Ok(client)
            }
            // The reservation stays: one failure counted.
            None => Err(OAuthError::invalid_client()),
        }
    }
}
