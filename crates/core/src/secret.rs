//! Keyward secrets: their format, generation, offline checking and keyed
//! hashing.
//!
//! A secret looks like `kw<kind>_<payload><checksum>`: `<kind>` is one letter
//! ([`SecretKind`]), `<payload>` ends in [`PAYLOAD_LEN`] base62 characters
//! drawn from the CSPRNG (≈178 bits) and `<checksum>` is the CRC32 of
//! everything before it (prefix and payload), base62-encoded and zero-padded
//! to 6 characters. The checksum lets scanners recognise a Keyward secret and
//! lets the server reject typos and garbage without a lookup; it is not a
//! security control.
//!
//! Secrets issued at a high rate (OAuth access and refresh tokens) also carry
//! a *locator* at the start of the payload: the id of their row, in
//! [`LOCATOR_LEN`] base62 characters. The store finds the row by that
//! time-ordered id and then checks the keyed hash, so issuing a token appends
//! to its indexes instead of writing into a random page of a digest index.
//! The locator is not secret and adds nothing to the secret's strength; the
//! random part alone is as long as in every other secret.
//!
//! Only the keyed hash ([`Digest`], HMAC-SHA-256 under the server key) is ever
//! stored. Plain secrets live in [`PlainSecret`], whose `Debug` prints nothing.

use std::fmt;

use hmac::{KeyInit, Mac};
use sha2::Sha256;
use subtle::ConstantTimeEq;
use uuid::Uuid;

use crate::random::Random;

/// Number of random base62 characters in a secret.
pub const PAYLOAD_LEN: usize = 30;
/// Number of base62 characters in the checksum.
pub const CHECKSUM_LEN: usize = 6;
/// Length of the `kwX_` prefix.
pub const PREFIX_LEN: usize = 4;
/// Number of base62 characters of a locator: a 128-bit id, zero-padded.
pub const LOCATOR_LEN: usize = 22;
/// Total length of a Keyward secret without a locator.
pub const SECRET_LEN: usize = PREFIX_LEN + PAYLOAD_LEN + CHECKSUM_LEN;
/// Total length of a Keyward secret with a locator.
pub const LOCATED_SECRET_LEN: usize = SECRET_LEN + LOCATOR_LEN;

const ALPHABET: &[u8; 62] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

/// What a secret authenticates; the letter after `kw` in its prefix.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SecretKind {
    /// `kwp_`: a personal API token.
    ApiToken,
    /// `kws_`: a login session.
    Session,
    /// `kwa_`: an OAuth access token.
    AccessToken,
    /// `kwr_`: an OAuth refresh token.
    RefreshToken,
    /// `kwc_`: an OAuth client secret.
    ClientSecret,
    /// `kwk_`: a one-time renewal key.
    RenewalKey,
    /// `kww_`: a webhook signing secret.
    WebhookSecret,
    /// `kwo_`: an OAuth authorization code.
    AuthCode,
}

impl SecretKind {
    pub const ALL: [SecretKind; 8] = [
        SecretKind::ApiToken,
        SecretKind::Session,
        SecretKind::AccessToken,
        SecretKind::RefreshToken,
        SecretKind::ClientSecret,
        SecretKind::RenewalKey,
        SecretKind::WebhookSecret,
        SecretKind::AuthCode,
    ];

    pub fn letter(self) -> char {
        match self {
            SecretKind::ApiToken => 'p',
            SecretKind::Session => 's',
            SecretKind::AccessToken => 'a',
            SecretKind::RefreshToken => 'r',
            SecretKind::ClientSecret => 'c',
            SecretKind::RenewalKey => 'k',
            SecretKind::WebhookSecret => 'w',
            SecretKind::AuthCode => 'o',
        }
    }

    fn from_letter(letter: u8) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.letter() as u8 == letter)
    }

    /// Whether secrets of this kind carry a locator (the id of their row).
    pub fn is_located(self) -> bool {
        matches!(self, SecretKind::AccessToken | SecretKind::RefreshToken)
    }

    /// The length of every secret of this kind.
    pub fn secret_len(self) -> usize {
        if self.is_located() {
            LOCATED_SECRET_LEN
        } else {
            SECRET_LEN
        }
    }

    /// The kind whose [`Self::as_str`] name this is.
    pub fn from_name(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.as_str() == name)
    }

    /// The name used in API responses (`credential.kind`, `verify.kind`).
    pub fn as_str(self) -> &'static str {
        match self {
            SecretKind::ApiToken => "api_token",
            SecretKind::Session => "session",
            SecretKind::AccessToken => "access_token",
            SecretKind::RefreshToken => "refresh_token",
            SecretKind::ClientSecret => "client_secret",
            SecretKind::RenewalKey => "renewal_key",
            SecretKind::WebhookSecret => "webhook_secret",
            SecretKind::AuthCode => "authorization_code",
        }
    }
}

/// A secret in plaintext. It is shown to its owner once and otherwise only
/// hashed; `Debug` and the absence of `Display` keep it out of logs.
#[derive(Clone, PartialEq, Eq)]
pub struct PlainSecret(String);

impl fmt::Debug for PlainSecret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("PlainSecret(<redacted>)")
    }
}

impl PlainSecret {
    /// Draws a new secret of `kind` from `random`.
    ///
    /// # Panics
    ///
    /// If secrets of `kind` carry a locator: those come from
    /// [`PlainSecret::generate_located`].
    pub fn generate(kind: SecretKind, random: &dyn Random) -> Self {
        assert!(!kind.is_located(), "{kind:?} secrets carry a locator");
        Self::draw(kind, None, random)
    }

    /// Draws a new secret of a kind that carries a locator: `locator` (the
    /// id of the row that will hold its digest), then the random part.
    ///
    /// # Panics
    ///
    /// If secrets of `kind` carry no locator.
    pub fn generate_located(kind: SecretKind, locator: Uuid, random: &dyn Random) -> Self {
        assert!(kind.is_located(), "{kind:?} secrets carry no locator");
        Self::draw(kind, Some(locator), random)
    }

    fn draw(kind: SecretKind, locator: Option<Uuid>, random: &dyn Random) -> Self {
        let mut secret = start(kind, locator);
        let end = secret.len() + PAYLOAD_LEN;
        let mut buf = [0u8; 64];
        while secret.len() < end {
            random.fill(&mut buf);
            for &b in &buf {
                // Rejection sampling keeps every character equally likely.
                if b < 248 && secret.len() < end {
                    secret.push(ALPHABET[usize::from(b % 62)] as char);
                }
            }
        }
        push_checksum(&mut secret);
        PlainSecret(secret)
    }

    /// Checks a presented string offline: prefix, length (by kind),
    /// alphabet, locator and checksum. Anything that fails never reaches the
    /// store.
    pub fn parse(presented: &str) -> Option<Self> {
        let bytes = presented.as_bytes();
        if bytes.len() < SECRET_LEN || !presented.starts_with("kw") || bytes[3] != b'_' {
            return None;
        }
        let kind = SecretKind::from_letter(bytes[2])?;
        if bytes.len() != kind.secret_len() {
            return None;
        }
        let body = &presented[PREFIX_LEN..];
        if !body.bytes().all(|b| b.is_ascii_alphanumeric()) {
            return None;
        }
        let (head, sum) = presented.split_at(bytes.len() - CHECKSUM_LEN);
        if !bool::from(checksum(head).ct_eq(sum.as_bytes())) {
            return None;
        }
        let secret = PlainSecret(presented.to_owned());
        // A locator past 2^128 cannot have been issued.
        if kind.is_located() && secret.locator().is_none() {
            return None;
        }
        Some(secret)
    }

    /// The id of the row that holds this secret's digest, for kinds that
    /// carry one ([`SecretKind::is_located`]).
    pub fn locator(&self) -> Option<Uuid> {
        if !self.kind().is_located() {
            return None;
        }
        let digits = &self.0.as_bytes()[PREFIX_LEN..PREFIX_LEN + LOCATOR_LEN];
        base62::decode(digits).ok().map(Uuid::from_u128)
    }

    pub fn kind(&self) -> SecretKind {
        SecretKind::from_letter(self.0.as_bytes()[2]).expect("validated at construction")
    }

    /// `"..."` followed by the last four characters.
    pub fn hint(&self) -> String {
        format!("...{}", &self.0[self.0.len() - 4..])
    }

    /// The plaintext, for the one response that shows it.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

/// The `kwX_` prefix of a secret of `kind`, then its locator if it has one,
/// in a buffer with room for the rest.
fn start(kind: SecretKind, locator: Option<Uuid>) -> String {
    let mut secret = String::with_capacity(kind.secret_len());
    secret.push_str("kw");
    secret.push(kind.letter());
    secret.push('_');
    if let Some(id) = locator {
        for digit in padded_base62::<LOCATOR_LEN>(id.as_u128()) {
            secret.push(char::from(digit));
        }
    }
    secret
}

/// The CRC-32 of `head` in base62, zero-padded to six digits (a `u32`
/// never needs more). Computed on the stack: it runs on every presented
/// secret.
fn checksum(head: &str) -> [u8; CHECKSUM_LEN] {
    checksum_of_crc(crc32fast::hash(head.as_bytes()))
}

fn checksum_of_crc(crc: u32) -> [u8; CHECKSUM_LEN] {
    padded_base62(u128::from(crc))
}

/// `value` in base62, zero-padded on the left to `N` digits.
///
/// # Panics
///
/// If `value` needs more than `N` digits (callers pass widths that fit
/// their type: 6 for a `u32`, 22 for a `u128`).
fn padded_base62<const N: usize>(value: u128) -> [u8; N] {
    let mut digits = [0u8; N];
    let len = base62::encode_bytes(value, &mut digits).expect("the value fits N base62 digits");
    let mut padded = [b'0'; N];
    padded[N - len..].copy_from_slice(&digits[..len]);
    padded
}

/// Appends the checksum of `secret` to it.
fn push_checksum(secret: &mut String) {
    for digit in checksum(secret) {
        secret.push(char::from(digit));
    }
}

/// The keyed hash of a secret: what the store keeps and looks up.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct Digest(pub [u8; 32]);

impl fmt::Debug for Digest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Digest(..)")
    }
}

impl Digest {
    pub fn as_bytes(&self) -> &[u8] {
        &self.0
    }

    /// Rebuilds a digest read back from the store.
    pub fn from_slice(bytes: &[u8]) -> Option<Self> {
        bytes.try_into().ok().map(Digest)
    }

    /// Constant-time equality.
    pub fn ct_eq(&self, other: &Digest) -> bool {
        self.0.ct_eq(&other.0).into()
    }

    /// Whether `stored` (a digest as read back from the store) is this one,
    /// compared in constant time; bytes of another length never match.
    pub fn matches(&self, stored: &[u8]) -> bool {
        Digest::from_slice(stored).is_some_and(|stored| stored.ct_eq(self))
    }
}

/// The server's secret key. Its `Debug` prints nothing.
#[derive(Clone)]
pub struct ServerKey(Vec<u8>);

impl fmt::Debug for ServerKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("ServerKey(<redacted>)")
    }
}

/// Shortest server key accepted, in bytes.
pub const MIN_SERVER_KEY_LEN: usize = 32;

impl ServerKey {
    /// A key must carry at least [`MIN_SERVER_KEY_LEN`] bytes.
    pub fn new(bytes: Vec<u8>) -> Option<Self> {
        (bytes.len() >= MIN_SERVER_KEY_LEN).then_some(ServerKey(bytes))
    }

    /// A fresh random key, as written to the key file on first start.
    pub fn generate(random: &dyn Random) -> Self {
        let mut bytes = vec![0u8; 32];
        random.fill(&mut bytes);
        ServerKey(bytes)
    }

    /// The key as stored in a key file or `KEYWARD_SECRET_KEY`: lowercase hex.
    pub fn to_hex(&self) -> String {
        self.0.iter().map(|b| format!("{b:02x}")).collect()
    }

    /// Reads a key given as hex (64+ hex digits) or, failing that, as raw text
    /// of at least 32 bytes.
    pub fn from_text(text: &str) -> Option<Self> {
        let text = text.trim();
        let hex: Option<Vec<u8>> = text
            .len()
            .is_multiple_of(2)
            .then(|| {
                (0..text.len())
                    .step_by(2)
                    .map(|i| u8::from_str_radix(text.get(i..i + 2)?, 16).ok())
                    .collect()
            })
            .flatten();
        match hex {
            Some(bytes) if bytes.len() >= MIN_SERVER_KEY_LEN => Some(ServerKey(bytes)),
            _ => ServerKey::new(text.as_bytes().to_vec()),
        }
    }
}

/// Computes keyed hashes of secrets under the server key.
#[derive(Clone)]
pub struct SecretHasher {
    mac: Hmac,
}

type Hmac = hmac::Hmac<Sha256>;

impl fmt::Debug for SecretHasher {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SecretHasher(..)")
    }
}

impl SecretHasher {
    pub fn new(key: &ServerKey) -> Self {
        let mac = Hmac::new_from_slice(&key.0).expect("HMAC accepts any key length");
        Self { mac }
    }

    pub fn digest(&self, secret: &PlainSecret) -> Digest {
        self.digest_bytes(secret.expose().as_bytes())
    }

    /// Re-creates a secret of `kind` from a stored random `seed`: the same seed
    /// always gives the same secret, and without the server key the seed says
    /// nothing about it. Used for signing secrets the server must be able to
    /// use again (webhook callbacks) without storing them.
    ///
    /// # Panics
    ///
    /// If secrets of `kind` carry a locator.
    pub fn derive(&self, kind: SecretKind, seed: &[u8]) -> PlainSecret {
        assert!(!kind.is_located(), "{kind:?} secrets carry a locator");
        let mut secret = start(kind, None);
        let mut counter = 0u32;
        while secret.len() < PREFIX_LEN + PAYLOAD_LEN {
            let mut mac = self.mac.clone();
            mac.update(b"keyward-derive\0");
            mac.update(&[kind.letter() as u8]);
            mac.update(&counter.to_be_bytes());
            mac.update(seed);
            for b in mac.finalize().into_bytes() {
                if b < 248 && secret.len() < PREFIX_LEN + PAYLOAD_LEN {
                    secret.push(ALPHABET[usize::from(b % 62)] as char);
                }
            }
            counter += 1;
        }
        push_checksum(&mut secret);
        PlainSecret(secret)
    }

    /// A keyed tag of `data` for one `purpose` (e.g. a CSRF token bound to
    /// a session): 64 hex digits that only the server key can produce.
    pub fn tag(&self, purpose: &str, data: &[u8]) -> String {
        let mut mac = self.mac.clone();
        mac.update(b"keyward-tag\0");
        mac.update(purpose.as_bytes());
        mac.update(b"\0");
        mac.update(data);
        mac.finalize()
            .into_bytes()
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect()
    }

    /// A key for one `purpose` (e.g. sealing cookies), derived from the
    /// server key: another purpose's key says nothing about it.
    pub fn subkey(&self, purpose: &str) -> [u8; 32] {
        let mut mac = self.mac.clone();
        mac.update(b"keyward-subkey\0");
        mac.update(purpose.as_bytes());
        mac.finalize().into_bytes().into()
    }

    fn digest_bytes(&self, bytes: &[u8]) -> Digest {
        let mut mac = self.mac.clone();
        mac.update(bytes);
        Digest(mac.finalize().into_bytes().into())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::random::OsRandom;

    fn issued_at() -> time::OffsetDateTime {
        time::OffsetDateTime::from_unix_timestamp(1_795_000_000).expect("a valid time")
    }

    /// A fresh secret of `kind`, with a time-ordered locator if it needs one.
    fn any(kind: SecretKind) -> PlainSecret {
        if kind.is_located() {
            let id = crate::random::uuid_v7(&OsRandom, issued_at());
            PlainSecret::generate_located(kind, id, &OsRandom)
        } else {
            PlainSecret::generate(kind, &OsRandom)
        }
    }

    #[test]
    fn generated_secrets_have_the_documented_shape() {
        for kind in SecretKind::ALL {
            let s = any(kind);
            let text = s.expose();
            assert_eq!(text.len(), kind.secret_len());
            assert!(text.starts_with(&format!("kw{}_", kind.letter())));
            assert!(
                text[PREFIX_LEN..]
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric())
            );
            let parsed = PlainSecret::parse(text).expect("round trip");
            assert_eq!(parsed.kind(), kind);
            assert_eq!(parsed.locator(), s.locator());
            assert_eq!(s.locator().is_some(), kind.is_located());
            assert_eq!(s.hint(), format!("...{}", &text[text.len() - 4..]));
        }
    }

    #[test]
    fn a_locator_reads_back_the_id_it_was_made_with() {
        for id in [
            Uuid::nil(),
            Uuid::from_u128(61),
            Uuid::max(),
            crate::random::uuid_v7(&OsRandom, issued_at()),
        ] {
            let s = PlainSecret::generate_located(SecretKind::AccessToken, id, &OsRandom);
            assert_eq!(s.expose().len(), LOCATED_SECRET_LEN);
            let parsed = PlainSecret::parse(s.expose()).expect("round trip");
            assert_eq!(parsed.locator(), Some(id));
        }
    }

    #[test]
    fn a_located_kind_of_the_wrong_length_is_rejected() {
        // An access-token prefix on a secret without a locator (and the
        // reverse), each with a valid checksum.
        let short = with_checksum(&format!("kwa_{}", "A".repeat(PAYLOAD_LEN)));
        assert!(PlainSecret::parse(&short).is_none());
        let long = with_checksum(&format!("kwp_{}", "A".repeat(LOCATOR_LEN + PAYLOAD_LEN)));
        assert!(PlainSecret::parse(&long).is_none());
        // A locator beyond 128 bits cannot have been issued.
        let overflow = with_checksum(&format!(
            "kwr_{}{}",
            "z".repeat(LOCATOR_LEN),
            "A".repeat(PAYLOAD_LEN)
        ));
        assert!(PlainSecret::parse(&overflow).is_none());
    }

    #[test]
    #[should_panic(expected = "carry a locator")]
    fn a_located_kind_cannot_be_drawn_without_its_locator() {
        PlainSecret::generate(SecretKind::RefreshToken, &OsRandom);
    }

    fn with_checksum(head: &str) -> String {
        let mut text = head.to_owned();
        push_checksum(&mut text);
        text
    }

    #[test]
    fn every_single_character_typo_is_rejected_offline() {
        let s = PlainSecret::generate(SecretKind::ApiToken, &OsRandom);
        let text = s.expose().to_owned();
        for i in PREFIX_LEN..SECRET_LEN {
            let mut bytes = text.clone().into_bytes();
            bytes[i] = if bytes[i] == b'a' { b'b' } else { b'a' };
            let typo = String::from_utf8(bytes).unwrap();
            assert!(PlainSecret::parse(&typo).is_none(), "typo at {i} accepted");
        }
    }

    #[test]
    fn garbage_is_rejected() {
        for bad in [
            "",
            "kwp_",
            "Bearer x",
            "kwx_000000000000000000000000000000000000",
            "kwp-abc",
        ] {
            assert!(PlainSecret::parse(bad).is_none(), "{bad:?}");
        }
        let s = PlainSecret::generate(SecretKind::Session, &OsRandom);
        assert!(PlainSecret::parse(&format!("{} ", s.expose())).is_none());
    }

    #[test]
    fn debug_never_prints_the_secret() {
        let s = PlainSecret::generate(SecretKind::ApiToken, &OsRandom);
        assert!(!format!("{s:?}").contains(&s.expose()[PREFIX_LEN..]));
        let key = ServerKey::generate(&OsRandom);
        assert!(!format!("{key:?}").contains(&key.to_hex()));
    }

    #[test]
    fn digest_depends_on_the_server_key() {
        let s = PlainSecret::generate(SecretKind::ApiToken, &OsRandom);
        let a = SecretHasher::new(&ServerKey::generate(&OsRandom));
        let b = SecretHasher::new(&ServerKey::generate(&OsRandom));
        assert!(a.digest(&s).ct_eq(&a.digest(&s)));
        assert!(!a.digest(&s).ct_eq(&b.digest(&s)));
        assert!(a.digest(&s).matches(a.digest(&s).as_bytes()));
        assert!(!a.digest(&s).matches(b.digest(&s).as_bytes()));
        assert!(!a.digest(&s).matches(&a.digest(&s).as_bytes()[..31]));
    }

    #[test]
    fn derived_secrets_are_stable_valid_and_keyed() {
        let key = ServerKey::generate(&OsRandom);
        let a = SecretHasher::new(&key);
        let seed = [7u8; 32];
        let one = a.derive(SecretKind::WebhookSecret, &seed);
        assert_eq!(one, a.derive(SecretKind::WebhookSecret, &seed));
        assert_eq!(
            PlainSecret::parse(one.expose()).unwrap().kind(),
            SecretKind::WebhookSecret
        );
        assert_ne!(one, a.derive(SecretKind::WebhookSecret, &[8u8; 32]));
        let other = SecretHasher::new(&ServerKey::generate(&OsRandom));
        assert_ne!(one, other.derive(SecretKind::WebhookSecret, &seed));
    }

    #[test]
    fn tags_depend_on_purpose_data_and_key() {
        let key = ServerKey::generate(&OsRandom);
        let a = SecretHasher::new(&key);
        assert_eq!(a.tag("csrf", b"s1"), a.tag("csrf", b"s1"));
        assert_eq!(a.tag("csrf", b"s1").len(), 64);
        assert_ne!(a.tag("csrf", b"s1"), a.tag("csrf", b"s2"));
        assert_ne!(a.tag("csrf", b"s1"), a.tag("other", b"s1"));
        let b = SecretHasher::new(&ServerKey::generate(&OsRandom));
        assert_ne!(a.tag("csrf", b"s1"), b.tag("csrf", b"s1"));
    }

    #[test]
    fn server_key_reads_hex_and_text() {
        let key = ServerKey::generate(&OsRandom);
        assert_eq!(ServerKey::from_text(&key.to_hex()).unwrap().0, key.0);
        assert!(ServerKey::from_text("short").is_none());
        assert!(ServerKey::from_text("a passphrase that is long enough to be a key").is_some());
    }

    #[test]
    fn checksums_are_zero_padded_base62_of_the_crc() {
        // Secrets issued before stay valid: the same six digits as
        // `base62::encode` padded with zeros, short values included.
        for crc in [0, 1, 61, 62, 3_843, 238_327, 14_776_335, u32::MAX] {
            let expected = format!("{:0>6}", base62::encode(crc));
            assert_eq!(
                std::str::from_utf8(&checksum_of_crc(crc)).unwrap(),
                expected
            );
        }
        for kind in SecretKind::ALL {
            let secret = any(kind);
            let text = secret.expose();
            let (head, sum) = text.split_at(text.len() - CHECKSUM_LEN);
            let expected = format!("{:0>6}", base62::encode(crc32fast::hash(head.as_bytes())));
            assert_eq!(sum, expected);
        }
    }

    mod props {
        use super::*;
        use proptest::prelude::*;

        fn kinds() -> impl Strategy<Value = SecretKind> {
            proptest::sample::select(SecretKind::ALL.to_vec())
        }

        proptest! {
            /// Whatever is presented, parsing never panics, and what it
            /// accepts is shaped like a secret of the kind its prefix names.
            #[test]
            fn parsing_any_string_is_safe(presented in ".{0,80}") {
                if let Some(secret) = PlainSecret::parse(&presented) {
                    prop_assert_eq!(secret.expose(), presented.as_str());
                    prop_assert_eq!(secret.expose().len(), secret.kind().secret_len());
                }
            }

            /// Near-misses of real secrets: every one-character change of a
            /// generated secret is refused offline (the checksum catches a
            /// single substitution).
            #[test]
            fn a_changed_character_is_refused(kind in kinds(), at in 0usize..62, with in "[0-9A-Za-z_]") {
                let secret = if kind.is_located() {
                    PlainSecret::generate_located(kind, Uuid::from_u128(u128::from(at as u64) * 977), &OsRandom)
                } else {
                    PlainSecret::generate(kind, &OsRandom)
                };
                prop_assert!(PlainSecret::parse(secret.expose()).is_some());
                let text = secret.expose();
                let at = at % text.len();
                let mut changed: Vec<char> = text.chars().collect();
                let with = with.chars().next().unwrap();
                prop_assume!(changed[at] != with);
                changed[at] = with;
                let changed: String = changed.into_iter().collect();
                prop_assert!(PlainSecret::parse(&changed).is_none(), "{} accepted", changed);
            }

            /// Prefixes and padding around a real secret are refused.
            #[test]
            fn surrounding_text_is_refused(before in "[ -~]{0,3}", after in "[ -~]{1,3}") {
                let secret = PlainSecret::generate(SecretKind::ApiToken, &OsRandom);
                let padded = format!("{before}{}{after}", secret.expose());
                prop_assert!(PlainSecret::parse(&padded).is_none());
            }
        }
    }
}
