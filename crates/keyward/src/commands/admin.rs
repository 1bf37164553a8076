//! `keyward admin …`: user and bootstrap-token management straight on the
//! store, usable while a server runs on the same database.

use std::io::BufRead;
use std::sync::Arc;

use anyhow::Context;
use keyward_core::clock::SystemClock;
use keyward_core::service::CreateToken;
use keyward_web::api::tokens::TokenBody;
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use crate::cli::AdminCommand;
use crate::config::Config;

pub async fn run(config: Config, command: AdminCommand) -> anyhow::Result<()> {
    let (keyward, _) = crate::startup::services(&config, Arc::new(SystemClock)).await?;
    match command {
        AdminCommand::CreateUser {
            username, roles, ..
        } => {
            let password = read_password()?;
            let user = keyward.create_user(&username, password, &roles).await?;
            let out = serde_json::json!({
                "id": user.id,
                "username": user.username,
                "roles": user.roles,
                "status": user.status.as_str(),
            });
            println!("{}", serde_json::to_string_pretty(&out)?);
        }
        AdminCommand::CreateToken {
            username,
            name,
            scopes,
            description,
            expires_at,
            applications,
        } => {
            let user = keyward.find_user_by_username(&username).await?;
            let expires_at = expires_at
                .map(|t| OffsetDateTime::parse(&t, &Rfc3339))
                .transpose()
                .context("--expires-at must be an RFC 3339 time such as 2027-01-01T00:00:00Z")?;
            let input = CreateToken {
                name,
                description,
                scopes,
                applications,
                expires_at,
                renewal: None,
            };
            let issued = keyward.issue_token(&user, None, input).await?;
            println!(
                "{}",
                serde_json::to_string_pretty(&TokenBody::from(issued))?
            );
        }
    }
    Ok(())
}

fn read_password() -> anyhow::Result<String> {
    let mut line = String::new();
    std::io::stdin()
        .lock()
        .read_line(&mut line)
        .context("cannot read the password from standard input")?;
    let password = line.trim_end_matches(['\r', '\n']).to_owned();
    anyhow::ensure!(!password.is_empty(), "no password on standard input");
    Ok(password)
}
