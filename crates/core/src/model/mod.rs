//! The domain's records: what a user, a session and an API token are, as the
//! services see them and the store keeps them.

pub mod audit;
pub mod oauth;
pub mod outbox;
pub mod page;
pub mod renewal;
pub mod session;
pub mod token;
pub mod user;

pub use audit::{AuditAction, AuditEvent, AuditFilter, AuditOutcome, TargetType};
pub use oauth::{
    AuthCode, GrantType, NewAuthCode, NewOAuthApp, NewOAuthToken, OAuthApp, OAuthAppUpdate,
    OAuthToken, OAuthTokenKind,
};
pub use outbox::{
    AttemptVerdict, Backoff, Channel, DeliveryAttempt, DeliveryStatus, NewOutboxMessage,
    OutboxMessage,
};
pub use page::{Page, PageKey, PageRequest};
pub use renewal::{NewRenewalKey, RenewalKey, RenewalRedemption, RenewalStart};
pub use session::{NewSession, Session, SessionDevice};
pub use token::{
    AgeStatus, ApiToken, NewApiToken, NewTokenSecret, PreviousSecret, RenewalPolicy, SecretSlot,
    TokenCredential, TokenFilter, TokenState, TokenStatus, TokenUpdate, TokenUsage,
};
pub use user::{NewUser, User, UserFilter, UserStatus, UserUpdate, Username};
