//! Sealed values a browser carries for Keyward and cannot read or forge:
//! the one-time secret on its way from a form post to the page that shows
//! it, and the flash message after an action. ChaCha20-Poly1305 under a key
//! derived from the server key; each value is bound to a purpose (so one
//! kind cannot be replayed as another) and ends at a time of the clock.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chacha20poly1305::aead::{Aead, Payload};
use chacha20poly1305::{ChaCha20Poly1305, KeyInit, Nonce};
use time::{Duration, OffsetDateTime};

use super::Keyward;

const NONCE_LEN: usize = 12;

/// The cipher of sealed values.
#[derive(Clone)]
pub(crate) struct Sealer(ChaCha20Poly1305);

impl Sealer {
    pub(crate) fn new(key: [u8; 32]) -> Self {
        Self(ChaCha20Poly1305::new(&key.into()))
    }
}

impl Keyward {
    /// Seals `data` for `purpose`, to be opened within `ttl`: URL-safe
    /// base64 text (fit for a cookie). Nonces are random: 96 bits are
    /// plenty for the few values a server seals under one key.
    pub fn seal(&self, purpose: &str, data: &[u8], ttl: Duration) -> String {
        let ends = (self.inner.clock.now() + ttl).unix_timestamp();
        let mut plain = Vec::with_capacity(8 + data.len());
        plain.extend_from_slice(&ends.to_be_bytes());
        plain.extend_from_slice(data);
        let mut nonce = [0u8; NONCE_LEN];
        self.inner.random.fill(&mut nonce);
        let sealed = self
            .inner
            .sealer
            .0
            .encrypt(
                &Nonce::from(nonce),
                Payload {
                    msg: &plain,
                    aad: purpose.as_bytes(),
                },
            )
            .expect("sealing a short value cannot fail");
        let mut out = nonce.to_vec();
        out.extend_from_slice(&sealed);
        URL_SAFE_NO_PAD.encode(out)
    }

    /// Opens a value [`Self::seal`] made for `purpose`; `None` if it was
    /// changed, made for another purpose or by another key, or has ended.
    pub fn open_sealed(&self, purpose: &str, text: &str) -> Option<Vec<u8>> {
        let bytes = URL_SAFE_NO_PAD.decode(text).ok()?;
        if bytes.len() < NONCE_LEN {
            return None;
        }
        let (nonce, sealed) = bytes.split_at(NONCE_LEN);
        let nonce: [u8; NONCE_LEN] = nonce.try_into().ok()?;
        let plain = self
            .inner
            .sealer
            .0
            .decrypt(
                &Nonce::from(nonce),
                Payload {
                    msg: sealed,
                    aad: purpose.as_bytes(),
                },
            )
            .ok()?;
        let (ends, data) = plain.split_at_checked(8)?;
        let ends = i64::from_be_bytes(ends.try_into().ok()?);
        let ends = OffsetDateTime::from_unix_timestamp(ends).ok()?;
        (self.inner.clock.now() < ends).then(|| data.to_vec())
    }
}
