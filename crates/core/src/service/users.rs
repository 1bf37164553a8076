//! Users: creating them (CLI and, later, the admin API) and changing their
//! roles, status and password.

use uuid::Uuid;

use super::{Invalidation, Keyward};
use crate::error::{Error, Result};
use crate::model::{NewUser, User, UserStatus, UserUpdate, Username};
use crate::password::Password;
use crate::random;

impl Keyward {
    pub async fn create_user(
        &self,
        username: &str,
        password: String,
        roles: &[String],
    ) -> Result<User> {
        let username = Username::parse("username", username)?;
        let password = Password::new("password", password)?;
        let roles = if roles.is_empty() {
            vec![crate::scope::ROLE_MEMBER.to_owned()]
        } else {
            self.inner.policy.parse_roles("roles", roles)?
        };
        let password_hash = self.inner.passwords.hash(&password).await?;
        let user = NewUser {
            id: random::uuid(self.inner.random.as_ref()),
            username,
            password_hash,
            roles,
            status: UserStatus::Active,
            now: self.inner.clock.now(),
        };
        self.inner
            .store
            .insert_user(&user)
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
            .ok_or_else(|| Error::NotFound("user not found".into()))
    }

    /// Changes roles, status or password. Disabling a user makes every one of
    /// their credentials fail at once (checked at use time).
    pub async fn update_user(
        &self,
        id: Uuid,
        roles: Option<&[String]>,
        status: Option<UserStatus>,
        password: Option<String>,
    ) -> Result<User> {
        let roles = roles
            .map(|r| self.inner.policy.parse_roles("roles", r))
            .transpose()?;
        let password_hash = match password {
            Some(p) => Some(
                self.inner
                    .passwords
                    .hash(&Password::new("password", p)?)
                    .await?,
            ),
            None => None,
        };
        let update = UserUpdate {
            roles,
            status,
            password_hash,
        };
        let user = self
            .inner
            .store
            .update_user(id, &update, self.inner.clock.now())
            .await?
            .ok_or_else(|| Error::NotFound("user not found".into()))?;
        // Roles and status decide every one of the user's credentials.
        self.invalidate(Invalidation::User(id)).await;
        Ok(user)
    }
}
