//! Scopes, roles and applications: who may do what.
//!
//! The catalogue holds the built-in scopes plus the deployment's own. A role is
//! a named set of allowed scopes; `admin` allows every scope and `member` every
//! scope not marked admin-only. The effective scopes of a credential at use
//! time are its own scopes ∩ what its owner's roles allow *now*.

use std::collections::{BTreeMap, BTreeSet};

use crate::error::{Error, Result};

pub const CREDENTIALS_MANAGE: &str = "credentials.manage";
pub const TOKENS_VERIFY: &str = "tokens.verify";
pub const ADMIN_USERS: &str = "admin.users";
pub const METRICS_READ: &str = "metrics.read";

pub const ROLE_ADMIN: &str = "admin";
pub const ROLE_MEMBER: &str = "member";

/// A set of scope names, kept sorted so responses are stable.
pub type ScopeSet = BTreeSet<String>;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScopeDef {
    pub name: String,
    pub description: String,
    pub admin_only: bool,
}

/// What a role allows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RoleGrant {
    /// Every scope in the catalogue.
    All,
    /// Every scope not marked admin-only.
    AllButAdminOnly,
    Scopes(ScopeSet),
}

/// The scope catalogue, the roles and the applications of a deployment.
#[derive(Debug, Clone)]
pub struct Policy {
    scopes: BTreeMap<String, ScopeDef>,
    roles: BTreeMap<String, RoleGrant>,
    applications: BTreeSet<String>,
}

/// The longest scope, role or application name accepted.
const MAX_NAME_LEN: usize = 100;

fn valid_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= MAX_NAME_LEN
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"._:-/".contains(&b))
}

impl Policy {
    /// Builds the policy from the deployment's extra scopes, roles and
    /// applications. Errors name the offending setting.
    pub fn new(
        extra_scopes: Vec<ScopeDef>,
        roles: BTreeMap<String, Vec<String>>,
        applications: Vec<String>,
    ) -> std::result::Result<Self, String> {
        let mut scopes: BTreeMap<String, ScopeDef> = builtin_scopes()
            .into_iter()
            .map(|def| (def.name.clone(), def))
            .collect();
        for def in extra_scopes {
            if !valid_name(&def.name) {
                return Err(format!("invalid scope name {:?}", def.name));
            }
            // A deployment redefining a built-in scope could, say, hand
            // admin.users to every member.
            if scopes.contains_key(&def.name) {
                return Err(format!(
                    "scope {:?} is built in and cannot be redefined",
                    def.name
                ));
            }
            scopes.insert(def.name.clone(), def);
        }
        let mut role_map = BTreeMap::from([
            (ROLE_ADMIN.to_owned(), RoleGrant::All),
            (ROLE_MEMBER.to_owned(), RoleGrant::AllButAdminOnly),
        ]);
        for (name, allowed) in roles {
            if !valid_name(&name) {
                return Err(format!("invalid role name {name:?}"));
            }
            if name == ROLE_ADMIN {
                return Err("the admin role is built in and cannot be redefined".into());
            }
            let mut set = ScopeSet::new();
            for scope in allowed {
                if !scopes.contains_key(&scope) {
                    return Err(format!("role {name:?} names unknown scope {scope:?}"));
                }
                set.insert(scope);
            }
            role_map.insert(name, RoleGrant::Scopes(set));
        }
        let mut apps = BTreeSet::new();
        for app in applications {
            if !valid_name(&app) {
                return Err(format!("invalid application name {app:?}"));
            }
            apps.insert(app);
        }
        Ok(Self {
            scopes,
            roles: role_map,
            applications: apps,
        })
    }

    pub fn scopes(&self) -> impl Iterator<Item = &ScopeDef> {
        self.scopes.values()
    }

    pub fn role_names(&self) -> impl Iterator<Item = &str> {
        self.roles.keys().map(String::as_str)
    }

    pub fn applications(&self) -> impl Iterator<Item = &str> {
        self.applications.iter().map(String::as_str)
    }

    pub fn is_scope(&self, scope: &str) -> bool {
        self.scopes.contains_key(scope)
    }

    pub fn is_role(&self, role: &str) -> bool {
        self.roles.contains_key(role)
    }

    /// Scopes the given roles allow now. Unknown roles allow nothing.
    pub fn allowed_scopes<'a>(&self, roles: impl IntoIterator<Item = &'a str>) -> ScopeSet {
        let mut allowed = ScopeSet::new();
        for role in roles {
            match self.roles.get(role) {
                Some(RoleGrant::All) => allowed.extend(self.scopes.keys().cloned()),
                Some(RoleGrant::AllButAdminOnly) => allowed.extend(
                    self.scopes
                        .values()
                        .filter(|d| !d.admin_only)
                        .map(|d| d.name.clone()),
                ),
                Some(RoleGrant::Scopes(set)) => allowed.extend(set.iter().cloned()),
                None => {}
            }
        }
        allowed
    }

    /// Parses a requested scope list: non-empty, every scope known, no
    /// duplicates kept.
    pub fn parse_scopes(&self, field: &str, requested: &[String]) -> Result<ScopeSet> {
        if requested.is_empty() {
            return Err(Error::invalid(field, "must name at least one scope"));
        }
        let mut set = ScopeSet::new();
        for scope in requested {
            if !self.scopes.contains_key(scope) {
                return Err(Error::invalid(field, format!("unknown scope {scope:?}")));
            }
            set.insert(scope.clone());
        }
        Ok(set)
    }

    /// Parses an application list: every application known.
    pub fn parse_applications(
        &self,
        field: &str,
        requested: &[String],
    ) -> Result<BTreeSet<String>> {
        let mut set = BTreeSet::new();
        for app in requested {
            if !self.applications.contains(app) {
                return Err(Error::invalid(
                    field,
                    format!("unknown application {app:?}"),
                ));
            }
            set.insert(app.clone());
        }
        Ok(set)
    }

    /// Parses a role list: every role known.
    pub fn parse_roles(&self, field: &str, requested: &[String]) -> Result<Vec<String>> {
        let mut roles = BTreeSet::new();
        for role in requested {
            if !self.is_role(role) {
                return Err(Error::invalid(field, format!("unknown role {role:?}")));
            }
            roles.insert(role.clone());
        }
        Ok(roles.into_iter().collect())
    }
}

fn builtin_scopes() -> Vec<ScopeDef> {
    vec![
        ScopeDef {
            name: CREDENTIALS_MANAGE.into(),
            description: "Manage one's own API tokens and OAuth apps".into(),
            admin_only: false,
        },
        ScopeDef {
            name: TOKENS_VERIFY.into(),
            description: "Call the verification endpoints".into(),
            admin_only: false,
        },
        ScopeDef {
            name: ADMIN_USERS.into(),
            description: "Manage users, see all credentials, read the audit log".into(),
            admin_only: true,
        },
        ScopeDef {
            name: METRICS_READ.into(),
            description: "Read the Prometheus metrics (GET /metrics)".into(),
            admin_only: true,
        },
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    fn policy() -> Policy {
        let extra = ["iguide.list", "iguide.ro"]
            .map(|n| ScopeDef {
                name: n.into(),
                description: String::new(),
                admin_only: false,
            })
            .to_vec();
        let roles = BTreeMap::from([("viewer".to_owned(), vec!["iguide.list".to_owned()])]);
        Policy::new(extra, roles, vec!["shop".into()]).unwrap()
    }

    #[test]
    fn builtin_roles() {
        let p = policy();
        let admin = p.allowed_scopes(["admin"]);
        assert!(admin.contains(ADMIN_USERS) && admin.contains("iguide.ro"));
        let member = p.allowed_scopes(["member"]);
        assert!(!member.contains(ADMIN_USERS) && member.contains(CREDENTIALS_MANAGE));
        assert_eq!(
            p.allowed_scopes(["viewer"]),
            ScopeSet::from(["iguide.list".to_owned()])
        );
        assert!(p.allowed_scopes(["ghost"]).is_empty());
    }

    #[test]
    fn scope_parsing_names_the_field() {
        let p = policy();
        let err = p.parse_scopes("scopes", &["nope".into()]).unwrap_err();
        assert!(matches!(err, Error::InvalidArgument { ref field, .. } if field == "scopes"));
        assert!(p.parse_scopes("scopes", &[]).is_err());
        assert!(
            p.parse_applications("applications", &["other".into()])
                .is_err()
        );
    }

    #[test]
    fn built_in_scopes_cannot_be_redefined() {
        for name in [ADMIN_USERS, METRICS_READ, CREDENTIALS_MANAGE] {
            let extra = vec![ScopeDef {
                name: name.into(),
                description: String::new(),
                admin_only: false,
            }];
            let err = Policy::new(extra, BTreeMap::new(), vec![]).unwrap_err();
            assert!(err.contains("built in"), "{err}");
        }
        let member = policy().allowed_scopes(["member"]);
        assert!(!member.contains(METRICS_READ), "metrics.read is admin-only");
    }

    #[test]
    fn roles_cannot_name_unknown_scopes() {
        let roles = BTreeMap::from([("x".to_owned(), vec!["missing".to_owned()])]);
        assert!(Policy::new(vec![], roles, vec![]).is_err());
    }
}
