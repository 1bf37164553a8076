//! The audit log: who did what, from where, to which credential, and how it
//! ended. An event of a change is written in the same transaction as the
//! change, so neither exists without the other; an event of a refusal (a
//! failed sign-in) is written on its own. No event ever holds a secret.
//!
//! The action names are one vocabulary with the webhook event types.

use serde_json::Value;
use time::OffsetDateTime;
use uuid::Uuid;

use crate::secret::SecretKind;

/// What happened. The names are the stable wire form (`token.created`, …).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum AuditAction {
    TokenCreated,
    TokenUpdated,
    TokenRotated,
    TokenPreviousRevoked,
    TokenRenewed,
    TokenRenewalRedeemed,
    TokenRenewalStarted,
    TokenDeactivated,
    TokenDeleted,
    AppCreated,
    AppUpdated,
    AppSecretRotated,
    AppDeleted,
    SessionCreated,
    SessionLoginFailed,
    SessionEnded,
    UserCreated,
    UserUpdated,
    UserDeleted,
    UserPasswordChanged,
    OAuthConsentGranted,
    OAuthConsentDenied,
    OAuthTokenRevoked,
}

impl AuditAction {
    pub const ALL: [AuditAction; 23] = [
        AuditAction::TokenCreated,
        AuditAction::TokenUpdated,
        AuditAction::TokenRotated,
        AuditAction::TokenPreviousRevoked,
        AuditAction::TokenRenewed,
        AuditAction::TokenRenewalRedeemed,
        AuditAction::TokenRenewalStarted,
        AuditAction::TokenDeactivated,
        AuditAction::TokenDeleted,
        AuditAction::AppCreated,
        AuditAction::AppUpdated,
        AuditAction::AppSecretRotated,
        AuditAction::AppDeleted,
        AuditAction::SessionCreated,
        AuditAction::SessionLoginFailed,
        AuditAction::SessionEnded,
        AuditAction::UserCreated,
        AuditAction::UserUpdated,
        AuditAction::UserDeleted,
        AuditAction::UserPasswordChanged,
        AuditAction::OAuthConsentGranted,
        AuditAction::OAuthConsentDenied,
        AuditAction::OAuthTokenRevoked,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            AuditAction::TokenCreated => "token.created",
            AuditAction::TokenUpdated => "token.updated",
            AuditAction::TokenRotated => "token.rotated",
            AuditAction::TokenPreviousRevoked => "token.previous_revoked",
            AuditAction::TokenRenewed => "token.renewed",
            AuditAction::TokenRenewalRedeemed => "token.renewal_redeemed",
            AuditAction::TokenRenewalStarted => "token.renewal_started",
            AuditAction::TokenDeactivated => "token.deactivated",
            AuditAction::TokenDeleted => "token.deleted",
            AuditAction::AppCreated => "app.created",
            AuditAction::AppUpdated => "app.updated",
            AuditAction::AppSecretRotated => "app.secret_rotated",
            AuditAction::AppDeleted => "app.deleted",
            AuditAction::SessionCreated => "session.created",
            AuditAction::SessionLoginFailed => "session.login_failed",
            AuditAction::SessionEnded => "session.ended",
            AuditAction::UserCreated => "user.created",
            AuditAction::UserUpdated => "user.updated",
            AuditAction::UserDeleted => "user.deleted",
            AuditAction::UserPasswordChanged => "user.password_changed",
            AuditAction::OAuthConsentGranted => "oauth.consent_granted",
            AuditAction::OAuthConsentDenied => "oauth.consent_denied",
            AuditAction::OAuthTokenRevoked => "oauth.token_revoked",
        }
    }

    pub fn parse(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|a| a.as_str() == name)
    }
}

/// What an event is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TargetType {
    Token,
    App,
    Session,
    User,
    OAuthToken,
}

impl TargetType {
    pub fn as_str(self) -> &'static str {
        match self {
            TargetType::Token => "token",
            TargetType::App => "app",
            TargetType::Session => "session",
            TargetType::User => "user",
            TargetType::OAuthToken => "oauth_token",
        }
    }

    pub fn parse(name: &str) -> Option<Self> {
        [
            TargetType::Token,
            TargetType::App,
            TargetType::Session,
            TargetType::User,
            TargetType::OAuthToken,
        ]
        .into_iter()
        .find(|t| t.as_str() == name)
    }
}

/// How it ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AuditOutcome {
    Success,
    Failure,
}

impl AuditOutcome {
    pub fn as_str(self) -> &'static str {
        match self {
            AuditOutcome::Success => "success",
            AuditOutcome::Failure => "failure",
        }
    }

    pub fn parse(name: &str) -> Option<Self> {
        match name {
            "success" => Some(AuditOutcome::Success),
            "failure" => Some(AuditOutcome::Failure),
            _ => None,
        }
    }
}

/// One event.
#[derive(Debug, Clone, PartialEq)]
pub struct AuditEvent {
    /// Time-ordered (v7).
    pub id: Uuid,
    pub at: OffsetDateTime,
    /// The user who acted; `None` for the system or an anonymous request.
    pub actor_user_id: Option<Uuid>,
    /// The credential they acted through.
    pub actor_credential_kind: Option<SecretKind>,
    pub actor_credential_id: Option<Uuid>,
    pub action: AuditAction,
    pub target_type: TargetType,
    pub target_id: Option<Uuid>,
    /// The user whose credential (or account) the event touched, so that
    /// users can read what happened to theirs.
    pub subject_user_id: Option<Uuid>,
    pub ip: Option<String>,
    pub user_agent: Option<String>,
    pub outcome: AuditOutcome,
    /// What else there is to say (a name, the scopes, the reason of a
    /// failure): never a secret.
    pub details: Value,
}

/// Which events to list; every filter that is set must hold.
#[derive(Debug, Clone, Default)]
pub struct AuditFilter {
    pub action: Option<AuditAction>,
    /// Events this user did.
    pub actor_id: Option<Uuid>,
    pub target_id: Option<Uuid>,
    /// At or after.
    pub since: Option<OffsetDateTime>,
    /// Before.
    pub until: Option<OffsetDateTime>,
    /// Only events this user did or that touched their credentials (a user
    /// who is not an administrator sees these alone).
    pub involving: Option<Uuid>,
}

impl AuditFilter {
    pub fn matches(&self, event: &AuditEvent) -> bool {
        self.action.is_none_or(|a| event.action == a)
            && self
                .actor_id
                .is_none_or(|id| event.actor_user_id == Some(id))
            && self.target_id.is_none_or(|id| event.target_id == Some(id))
            && self.since.is_none_or(|t| event.at >= t)
            && self.until.is_none_or(|t| event.at < t)
            && self.involving.is_none_or(|id| {
                event.actor_user_id == Some(id) || event.subject_user_id == Some(id)
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_name_parses_back() {
        for action in AuditAction::ALL {
            assert_eq!(AuditAction::parse(action.as_str()), Some(action));
        }
        assert_eq!(AuditAction::parse("token.exploded"), None);
        assert_eq!(
            TargetType::parse("oauth_token"),
            Some(TargetType::OAuthToken)
        );
        assert_eq!(AuditOutcome::parse("failure"), Some(AuditOutcome::Failure));
    }
}
