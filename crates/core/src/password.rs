//! Password hashing: Argon2id with OWASP's parameters (m = 19 MiB, t = 2,
//! p = 1), run on a small fixed set of worker threads so that a burst of
//! logins can neither stall the async executor nor exhaust memory: at most
//! one 19 MiB buffer per worker, and each worker reuses its allocator's
//! memory (on the shared blocking pool, every new thread kept its own).

use std::fmt;
use std::sync::Arc;

use argon2::{Argon2, PasswordHasher as _, PasswordVerifier as _};
use tokio::sync::{mpsc, oneshot};

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
pub const MIN_PASSWORD_LEN: usize = 12;
pub const MAX_PASSWORD_LEN: usize = 1024;

impl Password {
    /// A password being set for `username`: 12 to 1024 characters, not one
    /// of the commonly used ones (see [`crate::common_passwords`]), not the
    /// username, and not one character repeated.
    pub fn new(field: &str, value: String, username: &str) -> Result<Self> {
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
        let folded = value.to_lowercase();
        let mut chars = folded.chars();
        let first = chars.next();
        if crate::common_passwords::is_common(&folded)
            || folded == username.trim().to_lowercase()
            || chars.all(|c| Some(c) == first)
        {
            return Err(Error::invalid(
                field,
                "is too easy to guess (a common password, the username, or one character repeated); choose another",
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
    workers: mpsc::Sender<Job>,
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

type Job = Box<dyn FnOnce() + Send>;

/// Hashes waiting for a worker; beyond this, callers wait to enqueue.
const QUEUE: usize = 1024;

impl PasswordHasher {
    /// `workers` threads hash at once (each with a 19 MiB buffer); they stop
    /// when the hasher is dropped.
    pub fn new(random: Arc<dyn Random>, workers: usize) -> Self {
        let mut pw = [0u8; 32];
        random.fill(&mut pw);
        let dummy = hash_blocking(&pw, random.as_ref()).expect("argon2 with default parameters");
        let (tx, rx) = mpsc::channel::<Job>(QUEUE);
        let rx = Arc::new(std::sync::Mutex::new(rx));
        for i in 0..workers.max(1) {
            let rx = rx.clone();
            std::thread::Builder::new()
                .name(format!("keyward-argon2-{i}"))
                .spawn(move || {
                    loop {
                        let job = rx.lock().unwrap_or_else(|e| e.into_inner()).blocking_recv();
                        match job {
                            Some(job) => job(),
                            None => return,
                        }
                    }
                })
                .expect("a password-hashing thread starts");
        }
        Self {
            workers: tx,
            random,
            dummy_hash: dummy.into(),
        }
    }

    /// Runs `work` on a hashing thread.
    async fn run<T: Send + 'static>(&self, work: impl FnOnce() -> T + Send + 'static) -> Result<T> {
        let (tx, rx) = oneshot::channel();
        self.workers
            .send(Box::new(move || {
                let _ = tx.send(work());
            }))
            .await
            .map_err(|_| Error::internal("the password hashing threads have stopped"))?;
        rx.await.map_err(Error::internal)
    }

    pub async fn hash(&self, password: &Password) -> Result<String> {
        let pw = password.0.clone();
        let random = self.random.clone();
        self.run(move || hash_blocking(pw.as_bytes(), random.as_ref()))
            .await?
    }

    /// Verifies `password` against `hash`, or against a dummy hash when there
    /// is no user, so that "unknown user" and "wrong password" take as long.
    pub async fn verify(&self, password: &Password, hash: Option<&str>) -> Result<bool> {
        let pw = password.0.clone();
        let known = hash.is_some();
        let hash = hash.map_or_else(|| self.dummy_hash.to_string(), str::to_owned);
        let ok = self
            .run(move || {
                Argon2::default()
                    .verify_password(pw.as_bytes(), hash.as_str())
                    .is_ok()
            })
            .await?;
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
        let pw = Password::new("password", "correct horse battery".into(), "u").unwrap();
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
        assert!(Password::new("password", "short".into(), "u").is_err());
        assert!(Password::new("password", "elevenchars".into(), "u").is_err());
        assert!(Password::new("password", "twelve chars".into(), "u").is_ok());
        assert!(Password::new("password", "x".repeat(1025), "u").is_err());
        assert!(Password::presented("password", "x".repeat(1025)).is_err());
        assert!(
            !format!(
                "{:?}",
                Password::new("p", "secret-passphrase".into(), "u").unwrap()
            )
            .contains("secret")
        );
    }

    #[test]
    fn guessable_passwords_are_refused() {
        for weak in [
            "password1234",
            "Password1234",
            "123456789012",
            "qwertyuiop123",
            "aaaaaaaaaaaaaa",
            "mary.griffin@example.com",
        ] {
            let err = Password::new("password", weak.into(), "Mary.Griffin@example.com");
            assert!(
                matches!(err, Err(Error::InvalidArgument { ref field, .. }) if field == "password"),
                "{weak}"
            );
        }
        assert!(Password::new("password", "a long unusual phrase".into(), "mary").is_ok());
    }
}
