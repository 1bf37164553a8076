//! `keyward admin …`: user and bootstrap-token management straight on the
//! store, usable while a server runs on the same database.

use std::io::BufRead;
use std::sync::Arc;

use anyhow::Context;
use keyward_core::clock::SystemClock;
use keyward_core::model::{PageRequest, UserFilter, UserStatus};
use keyward_core::service::{Actor, CreateToken, CreateUser, Keyward, UpdateUser};
use keyward_web::api::admin::AdminUserBody;
use keyward_web::api::tokens::TokenBody;
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use crate::cli::AdminCommand;
use crate::config::Config;

pub async fn run(config: Config, command: AdminCommand) -> anyhow::Result<()> {
    let keyward = crate::startup::services(&config, Arc::new(SystemClock)).await?;
    // The command line is trusted with everything: it holds the database.
    let system = Actor::system();
    match command {
        AdminCommand::CreateUser {
            username,
            roles,
            email,
            ..
        } => {
            let password = read_password()?;
            let input = CreateUser {
                username,
                password,
                roles,
                email,
            };
            let user = keyward.create_user(&system, input).await?;
            println!(
                "{}",
                serde_json::to_string_pretty(&AdminUserBody::from(user))?
            );
        }
        AdminCommand::ListUsers => {
            let mut page = PageRequest::default();
            loop {
                let users = keyward
                    .list_users(&system, &UserFilter::default(), page)
                    .await?;
                for user in users.items {
                    println!("{}", serde_json::to_string(&AdminUserBody::from(user))?);
                }
                match users.next {
                    Some(next) => page.after = Some(next),
                    None => break,
                }
            }
        }
        AdminCommand::SetPassword { username, .. } => {
            let password = read_password()?;
            let user = keyward.find_user_by_username(&username).await?;
            let input = UpdateUser {
                password: Some(password),
                ..UpdateUser::default()
            };
            keyward.update_user(&system, user.id, input).await?;
            eprintln!("password of {} set; their sessions ended", user.username);
        }
        AdminCommand::DisableUser { username } => {
            set_status(&keyward, &system, &username, UserStatus::Disabled).await?;
        }
        AdminCommand::EnableUser { username } => {
            set_status(&keyward, &system, &username, UserStatus::Active).await?;
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
            let issued = keyward.issue_token(&system, &user, input).await?;
            println!(
                "{}",
                serde_json::to_string_pretty(&TokenBody::from(issued))?
            );
        }
    }
    Ok(())
}

async fn set_status(
    keyward: &Keyward,
    system: &Actor,
    username: &str,
    status: UserStatus,
) -> anyhow::Result<()> {
    let user = keyward.find_user_by_username(username).await?;
    let input = UpdateUser {
        status: Some(status),
        ..UpdateUser::default()
    };
    let user = keyward.update_user(system, user.id, input).await?;
    eprintln!("{} is {}", user.username, user.status.as_str());
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
