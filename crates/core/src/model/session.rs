//! Login sessions: a bearer secret (`kws_…`) with the owner's full allowed
//! scopes, dying after an idle period or an absolute lifetime.

use time::OffsetDateTime;
use uuid::Uuid;

use crate::secret::Digest;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Session {
    pub id: Uuid,
    pub user_id: Uuid,
    pub created_at: OffsetDateTime,
    /// Last time the session was used, to within a minute.
    pub last_seen_at: OffsetDateTime,
    /// The absolute end of the session.
    pub expires_at: OffsetDateTime,
}

impl Session {
    /// When the session dies if it is not used again.
    pub fn ends_at(&self, idle: time::Duration) -> OffsetDateTime {
        (self.last_seen_at + idle).min(self.expires_at)
    }
}

#[derive(Debug, Clone)]
pub struct NewSession {
    pub id: Uuid,
    pub user_id: Uuid,
    pub digest: Digest,
    pub created_at: OffsetDateTime,
    pub expires_at: OffsetDateTime,
    /// Where the session was signed in from, for its user to recognise it.
    pub ip: Option<String>,
    pub user_agent: Option<String>,
}

/// A session as its user's list of devices shows it: where it was signed
/// in from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionDevice {
    pub session: Session,
    pub ip: Option<String>,
    pub user_agent: Option<String>,
}
