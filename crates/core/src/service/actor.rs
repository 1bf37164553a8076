//! Who acts: the one value every use case receives, so that audit records,
//! throttles and address checks all read the same facts about a request —
//! the authenticated principal (if any), the client's address, its user
//! agent and the request's id.

use std::net::IpAddr;

use super::credential::Principal;
use crate::error::{Error, Result};

/// The longest user agent kept; the rest is cut (it is for people to read
/// in an audit trail, not to identify anything).
pub const MAX_USER_AGENT_LEN: usize = 256;

/// Who is acting, from where.
#[derive(Debug, Clone, Default)]
pub struct Actor {
    /// The credential the request authenticated with; `None` for an
    /// anonymous request (a sign-in, a renewal redemption) or the system.
    pub principal: Option<Principal>,
    /// The client's address (behind trusted proxies, the one they report).
    pub ip: Option<IpAddr>,
    pub user_agent: Option<String>,
    pub request_id: Option<String>,
    /// Keyward itself: the CLI or a background job, trusted with
    /// everything (an anonymous request is not this).
    system: bool,
}

impl Actor {
    /// An authenticated request.
    pub fn new(principal: Principal) -> Self {
        Self {
            principal: Some(principal),
            ..Self::default()
        }
    }

    /// Keyward itself (the CLI, background jobs): no principal, no address,
    /// every right.
    pub fn system() -> Self {
        Self {
            system: true,
            ..Self::default()
        }
    }

    /// A request that presented no credential (a sign-in, a redemption).
    pub fn anonymous() -> Self {
        Self::default()
    }

    pub fn is_system(&self) -> bool {
        self.system
    }

    /// The same request, authenticated as `principal`.
    pub fn with_principal(mut self, principal: Principal) -> Self {
        self.principal = Some(principal);
        self
    }

    pub fn with_ip(mut self, ip: Option<IpAddr>) -> Self {
        self.ip = ip;
        self
    }

    /// Sets the user agent, cut to [`MAX_USER_AGENT_LEN`] characters and
    /// stripped of control characters.
    pub fn with_user_agent(mut self, user_agent: Option<&str>) -> Self {
        self.user_agent = user_agent.map(|ua| {
            ua.chars()
                .filter(|c| !c.is_control())
                .take(MAX_USER_AGENT_LEN)
                .collect()
        });
        self
    }

    pub fn with_request_id(mut self, request_id: Option<&str>) -> Self {
        self.request_id = request_id.map(str::to_owned);
        self
    }

    /// The authenticated principal; `unauthenticated` for an anonymous
    /// actor.
    pub fn principal(&self) -> Result<&Principal> {
        self.principal.as_ref().ok_or_else(Error::unauthenticated)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn user_agents_are_bounded_and_printable() {
        let long = "x".repeat(1000) + "\n\u{7}";
        let actor = Actor::system().with_user_agent(Some(&long));
        assert_eq!(actor.user_agent.unwrap().len(), MAX_USER_AGENT_LEN);
        let actor = Actor::system().with_user_agent(Some("curl/8.5\r\n"));
        assert_eq!(actor.user_agent.as_deref(), Some("curl/8.5"));
        assert!(Actor::system().principal().is_err());
        assert!(Actor::system().is_system() && !Actor::anonymous().is_system());
    }
}
