//! Value shapes the file and the environment share: lists given as a TOML
//! array or a comma-separated string, role maps, strings the environment
//! layer may have read as numbers.

use std::collections::BTreeMap;

use serde::{Deserialize, Deserializer};

/// A list given as a TOML array or a comma-separated string (environment).
pub(super) fn list<'de, D: Deserializer<'de>>(de: D) -> Result<Vec<String>, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Raw {
        Text(String),
        List(Vec<String>),
    }
    Ok(match Raw::deserialize(de)? {
        Raw::Text(text) => split_list(&text),
        Raw::List(items) => items
            .into_iter()
            .map(|s| s.trim().to_owned())
            .filter(|s| !s.is_empty())
            .collect(),
    })
}

fn split_list(text: &str) -> Vec<String> {
    text.split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
        .collect()
}

pub(super) fn role_map<'de, D: Deserializer<'de>>(
    de: D,
) -> Result<BTreeMap<String, Vec<String>>, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Raw {
        Text(String),
        List(Vec<String>),
    }
    let raw = BTreeMap::<String, Raw>::deserialize(de)?;
    Ok(raw
        .into_iter()
        .map(|(role, scopes)| {
            let scopes = match scopes {
                Raw::Text(t) => split_list(&t),
                Raw::List(l) => l,
            };
            (role, scopes)
        })
        .collect())
}

/// A string that the environment layer may have read as a number.
pub(super) fn opt_string<'de, D: Deserializer<'de>>(de: D) -> Result<Option<String>, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Raw {
        Text(String),
        Int(i128),
        Float(f64),
    }
    Ok(Option::<Raw>::deserialize(de)?.map(|r| match r {
        Raw::Text(t) => t,
        Raw::Int(i) => i.to_string(),
        Raw::Float(f) => f.to_string(),
    }))
}
