//! The platform's scopes, roles and applications: the access policy.

use std::collections::BTreeMap;

use anyhow::bail;
use keyward_core::scope::{Policy, ScopeDef};
use serde::{Deserialize, Serialize};

use super::parse::{list, role_map};

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct ScopesConfig {
    /// Extra scopes, comma-separated or a list.
    #[serde(deserialize_with = "list")]
    pub scopes: Vec<String>,
    /// Scope name → description, shown in forms and consent pages.
    pub scope_descriptions: BTreeMap<String, String>,
    /// Extra scopes that only `admin` gets by default.
    #[serde(deserialize_with = "list")]
    pub admin_only_scopes: Vec<String>,
    /// Named targets a token may be restricted to.
    #[serde(deserialize_with = "list")]
    pub applications: Vec<String>,
    /// Role name → allowed scopes (`admin` and `member` are built in).
    #[serde(deserialize_with = "role_map")]
    pub roles: BTreeMap<String, Vec<String>>,
}

impl ScopesConfig {
    pub fn policy(&self) -> anyhow::Result<Policy> {
        for name in self
            .scope_descriptions
            .keys()
            .chain(&self.admin_only_scopes)
        {
            if !self.scopes.contains(name) {
                bail!("scope {name:?} is described or marked admin-only but not listed in scopes");
            }
        }
        let extra = self
            .scopes
            .iter()
            .map(|name| ScopeDef {
                name: name.clone(),
                description: self
                    .scope_descriptions
                    .get(name)
                    .cloned()
                    .unwrap_or_default(),
                admin_only: self.admin_only_scopes.contains(name),
            })
            .collect();
        Policy::new(extra, self.roles.clone(), self.applications.clone())
            .map_err(|e| anyhow::anyhow!(e))
    }
}
