//! Password hashing: Argon2id with OWASP's parameters (m = 19 MiB, t = 2,
//! p = 1), run on the blocking pool behind a semaphore so a burst of logins
//! can neither stall the async executor nor exhaust memory.

use std::fmt;
use std::sync::Arc;

use argon2::{Argon2, PasswordHasher as _, PasswordVerifier as _};
use tokio::sync::Semaphore;

use crate::error::{Error, Result};
use crate::random::Random;

/// A password in plaintext; `Debug` prints nothing.
#[derive(Clone)]
pub struct Password(String);

impl fmt::Debug for Password {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Password(<redacted>)")
    }
}

/// Shortest and longest passwords accepted when one is set.
pub const MIN_PASSWORD_LEN: usize = 8;
pub const MAX_PASSWORD_LEN: usize = 1024;

impl Password {
    /// A password being set: 8 to 1024 characters.
    pub fn new(field: &str, value: String) -> Result<Self> {
        let len = value.chars().count();
        if len < MIN_PASSWORD_LEN {
            return Err(Error::invalid(
                field,
                format!("must be at least {MIN_PASSWORD_LEN} characters"),
            ));
        }
        if len > MAX_PASSWORD_LEN {
            return Err(Error::invalid(
                field,
                format!("must be at most {MAX_PASSWORD_LEN} characters"),
            ));
        }
        Ok(Password(value))
    }

    /// A password presented at login: only bounded, so an over-long one is
    /// refused before any hashing.
    pub fn presented(field: &str, value: String) -> Result<Self> {
        if value.chars().count() > MAX_PASSWORD_LEN {
            return Err(Error::invalid(
                field,
                format!("must be at most {MAX_PASSWORD_LEN} characters"),
            ));
        }
        Ok(Password(value))
    }
}

/// Hashes and verifies passwords off the async executor.
#[derive(Clone)]
pub struct PasswordHasher {
    permits: Arc<Semaphore>,
    random: Arc<dyn Random>,
    /// A hash of a random password, verified against when the user does not
    /// exist so that both answers take the same time.
    dummy_hash: Arc<str>,
}

impl fmt::Debug for PasswordHasher {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PasswordHasher").finish_non_exhaustive()
    }
}

impl PasswordHasher {
    /// `concurrency` bounds how many hashes run at once (each takes 19 MiB).
    pub fn new(random: Arc<dyn Random>, concurrency: usize) -> Self {
        let mut pw = [0u8; 32];
        random.fill(&mut pw);
        let dummy = hash_blocking(&pw, random.as_ref()).expect("argon2 with default parameters");
        Self {
            permits: Arc::new(Semaphore::new(concurrency.max(1))),
            random,
            dummy_hash: dummy.into(),
        }
    }

    pub async fn hash(&self, password: &Password) -> Result<String> {
        let _permit = self.permits.acquire().await.map_err(Error::internal)?;
        let pw = password.0.clone();
        let random = self.random.clone();
        tokio::task::spawn_blocking(move || hash_blocking(pw.as_bytes(), random.as_ref()))
            .await
            .map_err(Error::internal)?
    }

    /// Verifies `password` against `hash`, or against a dummy hash when there
    /// is no user, so that "unknown user" and "wrong password" take as long.
    pub async fn verify(&self, password: &Password, hash: Option<&str>) -> Result<bool> {
        let _permit = self.permits.acquire().await.map_err(Error::internal)?;
        let pw = password.0.clone();
        let known = hash.is_some();
        let hash = hash.map_or_else(|| self.dummy_hash.to_string(), str::to_owned);
        let ok = tokio::task::spawn_blocking(move || {
            Argon2::default()
                .verify_password(pw.as_bytes(), hash.as_str())
                .is_ok()
        })
        .await
        .map_err(Error::internal)?;
        Ok(known && ok)
    }
}

fn hash_blocking(password: &[u8], random: &dyn Random) -> Result<String> {
    let mut salt = [0u8; 16];
    random.fill(&mut salt);
    Argon2::default()
        .hash_password_with_salt(password, &salt)
        .map(|h| h.to_string())
        .map_err(Error::internal)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::random::OsRandom;

    #[tokio::test]
    async fn hashes_are_argon2id_with_owasp_parameters_and_verify() {
        let hasher = PasswordHasher::new(Arc::new(OsRandom), 2);
        let pw = Password::new("password", "correct horse".into()).unwrap();
        let hash = hasher.hash(&pw).await.unwrap();
        assert!(
            hash.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"),
            "{hash}"
        );
        assert!(hasher.verify(&pw, Some(&hash)).await.unwrap());
        let wrong = Password::presented("password", "wrong horse".into()).unwrap();
        assert!(!hasher.verify(&wrong, Some(&hash)).await.unwrap());
        assert!(!hasher.verify(&pw, None).await.unwrap());
    }

    #[test]
    fn password_length_is_bounded() {
        assert!(Password::new("password", "short".into()).is_err());
        assert!(Password::new("password", "x".repeat(1025)).is_err());
        assert!(Password::presented("password", "x".repeat(1025)).is_err());
        assert!(
            !format!("{:?}", Password::new("p", "secret-pass".into()).unwrap()).contains("secret")
        );
    }
}
