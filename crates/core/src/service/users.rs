//! Users: creating, listing, changing and deleting them (the admin API with
//! `admin.users`, and the CLI as the system), and a user changing their own
//! password.
//!
//! - The last active user with the `admin` role cannot be disabled,
//!   demoted or deleted (the store checks it atomically with the change).
//! - A password reset or a disable ends every session of the user at once,
//!   on every instance; changing one's own password ends one's other
//!   sessions. Every credential of a disabled user fails at use anyway.
//! - Deleting a user deletes every credential of theirs, and the tokens
//!   their apps issued to anyone.

use uuid::Uuid;

use super::{Actor, Invalidation, Keyward, Target};
use crate::error::{Error, Result};
use crate::model::{
    AuditAction, AuditOutcome, NewUser, Page, PageKey, PageRequest, TargetType, User, UserFilter,
    UserStatus, UserUpdate, Username,
};
use crate::password::Password;
use crate::random;
use crate::scope;
use crate::secret::SecretKind;
use crate::store::UserChange;
use crate::validate;

/// A user to create.
#[derive(Debug, Clone, Default)]
pub struct CreateUser {
    pub username: String,
    pub password: String,
    /// Default: `member`.
    pub roles: Vec<String>,
    pub email: Option<String>,
}

/// A PATCH of a user: `None` leaves a field alone; `email: Some(None)`
/// clears it.
#[derive(Debug, Clone, Default)]
pub struct UpdateUser {
    pub roles: Option<Vec<String>>,
    pub status: Option<UserStatus>,
    pub email: Option<Option<String>>,
    /// A new password (a reset).
    pub password: Option<String>,
}

impl Keyward {
    /// `permission_denied` unless the actor may administer users: the system
    /// (CLI), or a credential with `admin.users` not restricted to
    /// applications.
    pub(crate) fn require_admin(&self, actor: &Actor) -> Result<()> {
        if actor.is_system() {
            return Ok(());
        }
        let principal = actor.principal()?;
        principal.require(scope::ADMIN_USERS)?;
        if principal.is_application_restricted() {
            return Err(Error::PermissionDenied(
                "a token restricted to applications cannot administer users".into(),
            ));
        }
        Ok(())
    }

    pub async fn create_user(&self, actor: &Actor, input: CreateUser) -> Result<User> {
        self.require_admin(actor)?;
        let username = Username::parse("username", &input.username)?;
        let password = Password::new("password", input.password, username.as_str())?;
        let roles = if input.roles.is_empty() {
            vec![scope::ROLE_MEMBER.to_owned()]
        } else {
            self.inner.policy.parse_roles("roles", &input.roles)?
        };
        let email = input
            .email
            .map(|e| validate::email("email", &e))
            .transpose()?;
        let password_hash = self.inner.passwords.hash(&password).await?;
        let user = NewUser {
            id: random::uuid(self.inner.random.as_ref()),
            username,
            password_hash,
            roles,
            status: UserStatus::Active,
            email,
            now: self.inner.clock.now(),
        };
        let effects = self.change(
            actor,
            AuditAction::UserCreated,
            Target::new(TargetType::User, user.id, user.id),
            serde_json::json!({
                "username": user.username.as_str(),
                "roles": user.roles,
                "email": user.email,
            }),
        );
        self.inner
            .store
            .insert_user(&user, &effects)
            .await
            .map_err(|e| match Error::from(e) {
                Error::AlreadyExists(_) => {
                    Error::AlreadyExists("a user with this username already exists".into())
                }
                other => other,
            })
    }

    pub async fn find_user_by_username(&self, username: &str) -> Result<User> {
        self.inner
            .store
            .find_user_for_login(&username.trim().to_lowercase())
            .await?
            .map(|(user, _)| user)
            .ok_or_else(|| Error::NotFound(format!("no user named {:?}", username.trim())))
    }

    pub async fn get_user(&self, id: Uuid) -> Result<User> {
        self.inner
            .store
            .find_user(id)
            .await?
            .ok_or_else(user_not_found)
    }

    /// One user, for an administrator.
    pub async fn get_user_as(&self, actor: &Actor, id: Uuid) -> Result<User> {
        self.require_admin(actor)?;
        self.get_user(id).await
    }

    /// A page of users.
    pub async fn list_users(
        &self,
        actor: &Actor,
        filter: &UserFilter,
        page: PageRequest,
    ) -> Result<Page<User>> {
        self.require_admin(actor)?;
        if let Some(role) = &filter.role
            && !self.inner.policy.is_role(role)
        {
            return Err(Error::invalid("role", format!("unknown role {role:?}")));
        }
        let rows = self.inner.store.list_users(filter, &page.probe()).await?;
        Ok(Page::of(rows, &page, |u| PageKey {
            created_at: u.created_at,
            id: u.id,
        }))
    }

    /// Changes roles, status, e-mail address or password. A disable or a
    /// password reset ends the user's sessions at once, everywhere; every
    /// change is re-checked by every instance's next use of the user's
    /// credentials.
    pub async fn update_user(&self, actor: &Actor, id: Uuid, input: UpdateUser) -> Result<User> {
        self.require_admin(actor)?;
        let roles = input
            .roles
            .map(|r| self.inner.policy.parse_roles("roles", &r))
            .transpose()?;
        let email = input
            .email
            .map(|e| e.map(|e| validate::email("email", &e)).transpose())
            .transpose()?;
        let password_hash = match input.password {
            Some(p) => {
                let user = self.get_user(id).await?;
                let password = Password::new("password", p, &user.username)?;
                Some(self.inner.passwords.hash(&password).await?)
            }
            None => None,
        };
        let ends_sessions = password_hash.is_some() || input.status == Some(UserStatus::Disabled);
        let update = UserUpdate {
            roles,
            status: input.status,
            password_hash,
            email,
        };
        if update.is_empty() {
            return self.get_user(id).await;
        }
        let changed: Vec<&str> = [
            ("roles", update.roles.is_some()),
            ("status", update.status.is_some()),
            ("email", update.email.is_some()),
            ("password", update.password_hash.is_some()),
        ]
        .into_iter()
        .filter_map(|(field, set)| set.then_some(field))
        .collect();
        let mut effects = self.change(
            actor,
            AuditAction::UserUpdated,
            Target::new(TargetType::User, id, id),
            serde_json::json!({
                "fields": changed,
                "roles": update.roles,
                "status": update.status.map(|s| s.as_str()),
            }),
        );
        if update.password_hash.is_some() {
            effects.audit.push(self.audit_event(
                actor,
                AuditAction::UserPasswordChanged,
                Target::new(TargetType::User, id, id),
                AuditOutcome::Success,
                serde_json::json!({ "by": "admin" }),
            ));
        }
        let user = match self
            .inner
            .store
            .update_user(id, &update, self.inner.clock.now(), &effects)
            .await?
        {
            UserChange::Done(user) => user,
            UserChange::NotFound => return Err(user_not_found()),
            UserChange::LastAdmin => return Err(last_admin()),
        };
        if ends_sessions {
            self.inner.store.delete_sessions_of(id, None).await?;
        }
        // Roles and status decide every one of the user's credentials.
        self.invalidate(Invalidation::User(id)).await;
        Ok(user)
    }

    /// Deletes the user and every credential of theirs.
    pub async fn delete_user(&self, actor: &Actor, id: Uuid) -> Result<()> {
        self.require_admin(actor)?;
        let apps = self.inner.store.list_app_ids_of(id).await?;
        let effects = self.change(
            actor,
            AuditAction::UserDeleted,
            Target::new(TargetType::User, id, id),
            serde_json::Value::Null,
        );
        match self.inner.store.delete_user(id, &effects).await? {
            UserChange::Done(_) => {}
            UserChange::NotFound => return Err(user_not_found()),
            UserChange::LastAdmin => return Err(last_admin()),
        }
        self.invalidate(Invalidation::User(id)).await;
        // Tokens the user's apps issued to other users go with the apps.
        for client_id in apps {
            self.invalidate(Invalidation::Client(client_id)).await;
        }
        Ok(())
    }

    /// A user changes their own password, from a login session (no token
    /// may: a stolen one must not lock its user out), giving the current
    /// one (checked and throttled like a sign-in). Their other sessions
    /// end.
    pub async fn change_own_password(
        &self,
        actor: &Actor,
        current: String,
        new: String,
    ) -> Result<()> {
        let caller = actor.principal()?;
        if caller.credential.kind != SecretKind::Session {
            return Err(Error::PermissionDenied(
                "only a login session can change its user's password".into(),
            ));
        }
        let user = caller.user.clone();
        let new = Password::new("new", new, &user.username)?;
        self.check_password(actor, &user.username, current)
            .await
            .map_err(|err| match err {
                Error::Unauthenticated(_) | Error::InvalidArgument { .. } => {
                    Error::invalid("current", "is not the current password")
                }
                other => other,
            })?;
        let update = UserUpdate {
            password_hash: Some(self.inner.passwords.hash(&new).await?),
            ..UserUpdate::default()
        };
        let effects = self.change(
            actor,
            AuditAction::UserPasswordChanged,
            Target::new(TargetType::User, user.id, user.id),
            serde_json::json!({ "by": "self" }),
        );
        match self
            .inner
            .store
            .update_user(user.id, &update, self.inner.clock.now(), &effects)
            .await?
        {
            UserChange::Done(_) => {}
            UserChange::NotFound => return Err(Error::unauthenticated()),
            UserChange::LastAdmin => return Err(last_admin()),
        }
        self.inner
            .store
            .delete_sessions_of(user.id, Some(caller.credential.id))
            .await?;
        self.invalidate(Invalidation::User(user.id)).await;
        Ok(())
    }
}

fn user_not_found() -> Error {
    Error::NotFound("user not found".into())
}

fn last_admin() -> Error {
    Error::FailedPrecondition(
        "this is the last active admin; make another user an admin first".into(),
    )
}
