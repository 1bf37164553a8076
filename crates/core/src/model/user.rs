//! Users: who owns credentials, and what their roles allow.

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use uuid::Uuid;

use crate::error::{Error, Result};
use crate::scope::ROLE_ADMIN;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum UserStatus {
    Active,
    Disabled,
}

impl UserStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            UserStatus::Active => "active",
            UserStatus::Disabled => "disabled",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "active" => Some(UserStatus::Active),
            "disabled" => Some(UserStatus::Disabled),
            _ => None,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct User {
    pub id: Uuid,
    pub username: String,
    pub roles: Vec<String>,
    pub status: UserStatus,
    /// Where notices go; a username that is an e-mail address serves when
    /// this is unset.
    pub email: Option<String>,
    pub created_at: OffsetDateTime,
    pub updated_at: OffsetDateTime,
}

/// A username: 1–254 characters, no whitespace or control characters (an
/// e-mail address is fine). Compared case-insensitively by the store.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Username(String);

impl Username {
    pub fn parse(field: &str, value: &str) -> Result<Self> {
        let value = value.trim();
        if value.is_empty() || value.chars().count() > 254 {
            return Err(Error::invalid(field, "must be 1 to 254 characters"));
        }
        if value.chars().any(|c| c.is_whitespace() || c.is_control()) {
            return Err(Error::invalid(
                field,
                "must not contain spaces or control characters",
            ));
        }
        Ok(Username(value.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl User {
    /// Whether the user holds the built-in `admin` role and is active.
    pub fn is_active_admin(&self) -> bool {
        self.status == UserStatus::Active && self.roles.iter().any(|r| r == ROLE_ADMIN)
    }

    /// Where mail for the user goes: their e-mail address, else a username
    /// that is one.
    pub fn mail_address(&self) -> Option<&str> {
        self.email.as_deref().or_else(|| {
            crate::validate::email("username", &self.username)
                .is_ok()
                .then_some(self.username.as_str())
        })
    }
}

/// A user to insert, with the password already hashed.
#[derive(Debug, Clone)]
pub struct NewUser {
    pub id: Uuid,
    pub username: Username,
    pub password_hash: String,
    pub roles: Vec<String>,
    pub status: UserStatus,
    pub email: Option<String>,
    pub now: OffsetDateTime,
}

/// Changes to a user; `None` leaves a field as it is.
#[derive(Debug, Clone, Default)]
pub struct UserUpdate {
    pub roles: Option<Vec<String>>,
    pub status: Option<UserStatus>,
    pub password_hash: Option<String>,
    /// `Some(None)` clears it.
    pub email: Option<Option<String>>,
}

impl UserUpdate {
    pub fn is_empty(&self) -> bool {
        self.roles.is_none()
            && self.status.is_none()
            && self.password_hash.is_none()
            && self.email.is_none()
    }

    /// Whether applying it to `user` would leave them no longer an active
    /// admin.
    pub fn removes_admin(&self, user: &User) -> bool {
        user.is_active_admin()
            && (self.status == Some(UserStatus::Disabled)
                || self
                    .roles
                    .as_ref()
                    .is_some_and(|roles| !roles.iter().any(|r| r == ROLE_ADMIN)))
    }
}

/// Filters of the users list.
#[derive(Debug, Clone, Default)]
pub struct UserFilter {
    pub status: Option<UserStatus>,
    /// Users holding this role.
    pub role: Option<String>,
    /// Users whose username or e-mail address starts with this
    /// (case-insensitive).
    pub prefix: Option<String>,
}
