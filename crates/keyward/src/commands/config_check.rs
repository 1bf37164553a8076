//! `keyward config check`: load the layered configuration, report problems,
//! and print the result with secrets masked.

use crate::config::Config;

pub fn run(config: Config) -> anyhow::Result<()> {
    let mut shown = config;
    let database = &mut shown.database;
    if database.secret_key.is_some() {
        database.secret_key = Some("<set>".into());
    }
    database.database_url = crate::store::redact(&database.database_url);
    let mail = if shown.mail.enabled() {
        "e-mail is on: renewal and expiry notices are sent
"
    } else {
        "e-mail is off (no smtp_url): no renewal or expiry notices are queued
"
    };
    if let Some(url) = &shown.mail.smtp_url {
        shown.mail.smtp_url = Some(crate::store::redact(url));
    }
    let text = toml_like(&serde_json::to_value(&shown)?);
    println!("{text}{mail}configuration is valid");
    Ok(())
}

fn toml_like(value: &serde_json::Value) -> String {
    let mut out = String::new();
    if let Some(map) = value.as_object() {
        for (key, v) in map {
            out.push_str(&format!("{key} = {v}\n"));
        }
    }
    out
}
