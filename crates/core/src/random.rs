//! The randomness port. Secrets and ids draw their bytes from a [`Random`];
//! production uses the operating system's CSPRNG.

/// A source of cryptographically secure random bytes.
pub trait Random: Send + Sync + 'static {
    fn fill(&self, buf: &mut [u8]);
}

/// The operating system's CSPRNG (`getrandom`).
#[derive(Debug, Default, Clone, Copy)]
pub struct OsRandom;

impl Random for OsRandom {
    fn fill(&self, buf: &mut [u8]) {
        // The OS CSPRNG failing is unrecoverable: issuing a weak secret would be worse.
        getrandom::fill(buf).expect("the operating system's random source failed");
    }
}

/// A random v4 UUID drawn from `random`.
pub fn uuid(random: &dyn Random) -> uuid::Uuid {
    let mut bytes = [0u8; 16];
    random.fill(&mut bytes);
    uuid::Builder::from_random_bytes(bytes).into_uuid()
}
