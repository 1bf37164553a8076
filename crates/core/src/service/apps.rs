//! OAuth-app use cases (iGUIDE's "OAuth apps"): create (the secret shown
//! once), list, get, update (anything but the secret), rotate the secret (the
//! old one fails at once) and delete (every code and token issued to the app
//! dies with it).

use std::collections::BTreeSet;

use uuid::Uuid;

use super::audit::Target;
use super::{Actor, Invalidation, Keyward, Principal};
use crate::error::{Error, Result};
use crate::model::{
    AuditAction, GrantType, NewOAuthApp, OAuthApp, OAuthAppUpdate, Page, PageKey, PageRequest,
    TargetType,
};
use crate::random;
use crate::scope::ScopeSet;
use crate::secret::{PlainSecret, SecretKind};
use crate::store::InsertApp;
use crate::validate;

pub const MAX_CLIENT_NAME_LEN: usize = 100;
pub const MAX_REDIRECT_URIS: usize = 10;

#[derive(Debug, Clone, Default)]
pub struct CreateApp {
    pub client_name: String,
    pub description: Option<String>,
    pub redirect_uris: Vec<String>,
    pub logo_uri: Option<String>,
    pub scope: Vec<String>,
    pub grant_types: Option<Vec<String>>,
}

/// A PATCH: `None` leaves a field alone; `Some(None)` clears it.
#[derive(Debug, Clone, Default)]
pub struct UpdateApp {
    pub client_name: Option<String>,
    pub description: Option<Option<String>>,
    pub redirect_uris: Option<Vec<String>>,
    pub logo_uri: Option<Option<String>>,
    pub scope: Option<Vec<String>>,
    pub grant_types: Option<Vec<String>>,
}

/// An app with its secret, shown this once.
#[derive(Debug)]
pub struct IssuedApp {
    pub app: OAuthApp,
    pub secret: PlainSecret,
}

impl Keyward {
    fn parse_redirect_uris(&self, uris: &[String]) -> Result<Vec<String>> {
        if uris.is_empty() {
            return Err(Error::invalid(
                "redirectUris",
                "must name at least one redirect URI",
            ));
        }
        if uris.len() > MAX_REDIRECT_URIS {
            return Err(Error::invalid(
                "redirectUris",
                format!("at most {MAX_REDIRECT_URIS} redirect URIs"),
            ));
        }
        let mut seen = BTreeSet::new();
        let mut parsed = Vec::with_capacity(uris.len());
        for (i, uri) in uris.iter().enumerate() {
            let uri = validate::redirect_uri(&format!("redirectUris[{i}]"), uri)?;
            if seen.insert(uri.clone()) {
                parsed.push(uri);
            }
        }
        Ok(parsed)
    }

    fn parse_app_scopes(&self, caller: &Principal, requested: &[String]) -> Result<ScopeSet> {
        let scopes = self.inner.policy.parse_scopes("scope", requested)?;
        if let Some(extra) = scopes.difference(&caller.scopes).next() {
            return Err(Error::invalid(
                "scope",
                format!("scope {extra:?} exceeds the caller's own permissions"),
            ));
        }
        Ok(scopes)
    }

    fn parse_logo_uri(logo: &str) -> Result<String> {
        validate::http_url("logoUri", logo).map(|_| logo.to_owned())
    }

    fn new_client_secret(&self) -> (PlainSecret, crate::secret::Digest) {
        let secret = PlainSecret::generate(SecretKind::ClientSecret, self.inner.random.as_ref());
        let digest = self.inner.hasher.digest(&secret);
        (secret, digest)
    }

    /// The caller's app `client_id`; `not_found` for anyone else's.
    async fn owned_app(&self, caller: &Principal, client_id: Uuid) -> Result<OAuthApp> {
        caller.require_manage()?;
        match self.inner.store.find_app(client_id).await? {
            Some(app) if app.user_id == caller.user.id => Ok(app),
            _ => Err(Error::NotFound("app not found".into())),
        }
    }

    /// The caller's app `client_id`, if the caller is at least as strong as
    /// it (see [`Principal::require_covers`]): for rotating its secret and
    /// for changes to where its codes go or what it may be granted. The
    /// app's strength is its scope as its owner may grant it now.
    async fn covered_app(&self, caller: &Principal, client_id: Uuid) -> Result<OAuthApp> {
        let app = self.owned_app(caller, client_id).await?;
        let effective: ScopeSet = app
            .scopes
            .intersection(&self.allowed_scopes(&caller.user))
            .cloned()
            .collect();
        caller.require_covers("the app", &effective, &BTreeSet::new())?;
        Ok(app)
    }

    pub async fn create_app(&self, actor: &Actor, input: CreateApp) -> Result<IssuedApp> {
        let caller = actor.principal()?;
        caller.require_manage()?;
        let client_name =
            validate::required_text("clientName", &input.client_name, MAX_CLIENT_NAME_LEN)?;
        let description = input
            .description
            .map(|d| validate::optional_text("description", &d, super::tokens::MAX_DESCRIPTION_LEN))
            .transpose()?
            .filter(|d| !d.is_empty());
        let redirect_uris = self.parse_redirect_uris(&input.redirect_uris)?;
        let logo_uri = input
            .logo_uri
            .as_deref()
            .map(Self::parse_logo_uri)
            .transpose()?;
        let scopes = self.parse_app_scopes(caller, &input.scope)?;
        let grant_types = match input.grant_types {
            Some(g) => parse_grant_types(&g)?,
            None => GrantType::ALL.into_iter().collect(),
        };
        let (secret, digest) = self.new_client_secret();
        let app = NewOAuthApp {
            client_id: random::uuid(self.inner.random.as_ref()),
            user_id: caller.user.id,
            client_name,
            description,
            redirect_uris,
            logo_uri,
            scopes,
            grant_types,
            secret_hint: secret.hint(),
            secret_digest: digest,
            now: self.inner.clock.now(),
        };
        let effects = self.change(
            actor,
            AuditAction::AppCreated,
            Target::new(TargetType::App, app.client_id, app.user_id),
            serde_json::json!({
                "clientName": app.client_name,
                "scope": app.scopes.iter().collect::<Vec<_>>(),
                "redirectUris": app.redirect_uris,
            }),
        );
        match self
            .inner
            .store
            .insert_app(&app, self.inner.settings.max_apps_per_user, &effects)
            .await?
        {
            InsertApp::Inserted(app) => Ok(IssuedApp { app: *app, secret }),
            InsertApp::LimitReached => Err(Error::ResourceExhausted {
                message: "Maximum number of OAuth apps reached".into(),
                retry_after: None,
            }),
        }
    }

    /// A page of the caller's apps, oldest first.
    pub async fn list_apps(&self, actor: &Actor, page: PageRequest) -> Result<Page<OAuthApp>> {
        let caller = actor.principal()?;
        caller.require_manage()?;
        self.app_page(Some(caller.user.id), page).await
    }

    /// A page of every user's apps (or one user's), for an administrator.
    pub async fn list_all_apps(
        &self,
        actor: &Actor,
        user_id: Option<Uuid>,
        page: PageRequest,
    ) -> Result<Page<OAuthApp>> {
        self.require_admin(actor)?;
        self.app_page(user_id, page).await
    }

    async fn app_page(&self, owner: Option<Uuid>, page: PageRequest) -> Result<Page<OAuthApp>> {
        let rows = self.inner.store.list_apps(owner, &page.probe()).await?;
        Ok(Page::of(rows, &page, |a| PageKey {
            created_at: a.created_at,
            id: a.client_id,
        }))
    }

    pub async fn get_app(&self, actor: &Actor, client_id: Uuid) -> Result<OAuthApp> {
        let caller = actor.principal()?;
        self.owned_app(caller, client_id).await
    }

    pub async fn update_app(
        &self,
        actor: &Actor,
        client_id: Uuid,
        input: UpdateApp,
    ) -> Result<OAuthApp> {
        let caller = actor.principal()?;
        let app = self.covered_app(caller, client_id).await?;
        let update = OAuthAppUpdate {
            client_name: input
                .client_name
                .map(|n| validate::required_text("clientName", &n, MAX_CLIENT_NAME_LEN))
                .transpose()?,
            description: input
                .description
                .map(|d| {
                    d.map(|d| {
                        validate::optional_text(
                            "description",
                            &d,
                            super::tokens::MAX_DESCRIPTION_LEN,
                        )
                    })
                    .transpose()
                    .map(|d| d.filter(|d| !d.is_empty()))
                })
                .transpose()?,
            redirect_uris: input
                .redirect_uris
                .map(|u| self.parse_redirect_uris(&u))
                .transpose()?,
            logo_uri: input
                .logo_uri
                .map(|l| l.as_deref().map(Self::parse_logo_uri).transpose())
                .transpose()?,
            scopes: input
                .scope
                .map(|s| self.parse_app_scopes(caller, &s))
                .transpose()?,
            grant_types: input
                .grant_types
                .map(|g| parse_grant_types(&g))
                .transpose()?,
        };
        if update.is_empty() {
            return Ok(app);
        }
        let changed: Vec<&str> = [
            ("clientName", update.client_name.is_some()),
            ("description", update.description.is_some()),
            ("redirectUris", update.redirect_uris.is_some()),
            ("logoUri", update.logo_uri.is_some()),
            ("scope", update.scopes.is_some()),
            ("grantTypes", update.grant_types.is_some()),
        ]
        .into_iter()
        .filter_map(|(field, set)| set.then_some(field))
        .collect();
        let effects = self.change(
            actor,
            AuditAction::AppUpdated,
            Target::new(TargetType::App, client_id, app.user_id),
            serde_json::json!({ "fields": changed }),
        );
        let app = self
            .inner
            .store
            .update_app(client_id, &update, self.inner.clock.now(), &effects)
            .await?
            .ok_or_else(|| Error::NotFound("app not found".into()))?;
        // Its scope and grant types decide what it is issued.
        self.invalidate(Invalidation::Client(client_id)).await;
        Ok(app)
    }

    /// A new client secret; the old one fails at once (no grace).
    pub async fn rotate_app_secret(&self, actor: &Actor, client_id: Uuid) -> Result<IssuedApp> {
        let caller = actor.principal()?;
        let app = self.covered_app(caller, client_id).await?;
        let (secret, digest) = self.new_client_secret();
        let effects = self.change(
            actor,
            AuditAction::AppSecretRotated,
            Target::new(TargetType::App, client_id, app.user_id),
            serde_json::Value::Null,
        );
        let app = self
            .inner
            .store
            .rotate_app_secret(
                client_id,
                &digest,
                &secret.hint(),
                self.inner.clock.now(),
                &effects,
            )
            .await?
            .ok_or_else(|| Error::NotFound("app not found".into()))?;
        // The old secret fails at once, here and on every instance.
        self.invalidate(Invalidation::Client(client_id)).await;
        Ok(IssuedApp { app, secret })
    }

    /// Deletes the app; every token issued to it stops working at once.
    pub async fn delete_app(&self, actor: &Actor, client_id: Uuid) -> Result<()> {
        let caller = actor.principal()?;
        let app = self.owned_app(caller, client_id).await?;
        let effects = self.change(
            actor,
            AuditAction::AppDeleted,
            Target::new(TargetType::App, client_id, app.user_id),
            serde_json::json!({ "clientName": app.client_name }),
        );
        if !self.inner.store.delete_app(client_id, &effects).await? {
            return Err(Error::NotFound("app not found".into()));
        }
        self.invalidate(Invalidation::Client(client_id)).await;
        Ok(())
    }
}

fn parse_grant_types(requested: &[String]) -> Result<BTreeSet<GrantType>> {
    if requested.is_empty() {
        return Err(Error::invalid(
            "grantTypes",
            "must name at least one grant type",
        ));
    }
    requested
        .iter()
        .map(|g| {
            GrantType::parse(g).ok_or_else(|| {
                Error::invalid(
                    "grantTypes",
                    format!("unknown grant type {g:?}; use authorization_code, refresh_token or client_credentials"),
                )
            })
        })
        .collect()
}
