//! Tokens that bind a form to its browser (cross-site request forgery): a
//! form posts one back, and only the server key can make one.
//!
//! - Once signed in, a form's token is a keyed tag of the session id.
//! - Before sign-in there is no session yet, so the sign-in form is bound to
//!   a random *nonce* the browser keeps in a cookie: the form carries a keyed
//!   tag of the nonce, and a post counts only if its token matches the
//!   cookie that came with it. A cross-site page can make the browser send
//!   the cookie but can neither read it nor make its tag, so it cannot sign
//!   a victim's browser into the attacker's account (login CSRF).

use uuid::Uuid;

use super::Keyward;
use crate::secret::{PAYLOAD_LEN, PlainSecret, SecretKind};

/// How long a nonce is, in base62 characters: as much randomness as a secret.
pub const NONCE_LEN: usize = PAYLOAD_LEN;

impl Keyward {
    /// The CSRF token of forms shown to the session `session_id`.
    pub fn csrf_token(&self, session_id: Uuid) -> String {
        self.inner.hasher.tag("csrf", session_id.as_bytes())
    }

    /// Checks a session's CSRF token in constant time.
    pub fn check_csrf(&self, session_id: Uuid, presented: &str) -> bool {
        constant_time_eq(&self.csrf_token(session_id), presented)
    }

    /// A new nonce for a browser that has none, to bind its sign-in forms.
    pub fn new_csrf_nonce(&self) -> String {
        // The random part of a fresh secret: 30 base62 characters.
        let secret = PlainSecret::generate(SecretKind::Session, self.inner.random.as_ref());
        secret.expose()[4..4 + NONCE_LEN].to_owned()
    }

    /// Whether `nonce` is shaped like one of [`Self::new_csrf_nonce`]'s.
    pub fn is_csrf_nonce(nonce: &str) -> bool {
        nonce.len() == NONCE_LEN && nonce.bytes().all(|b| b.is_ascii_alphanumeric())
    }

    /// The CSRF token of a sign-in form shown to the browser holding `nonce`.
    pub fn login_csrf_token(&self, nonce: &str) -> String {
        self.inner.hasher.tag("login-csrf", nonce.as_bytes())
    }

    /// Checks a sign-in form's token against the browser's nonce, in
    /// constant time.
    pub fn check_login_csrf(&self, nonce: &str, presented: &str) -> bool {
        Self::is_csrf_nonce(nonce) && constant_time_eq(&self.login_csrf_token(nonce), presented)
    }
}

fn constant_time_eq(expected: &str, presented: &str) -> bool {
    use subtle::ConstantTimeEq;
    expected.as_bytes().ct_eq(presented.as_bytes()).into()
}
