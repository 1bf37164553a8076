//! The `keyward` binary's library: configuration, startup and the
//! subcommands. `main.rs` only parses the command line and dispatches here;
//! the integration tests build the same [`startup::Application`].

pub mod cli;
pub mod commands;
pub mod config;
pub mod secret_key;
pub mod startup;
pub mod store;
pub mod telemetry;

use cli::{Cli, Command, ConfigCommand};

/// Runs one command line.
pub async fn run(cli: Cli) -> anyhow::Result<()> {
    let config = config::Config::load(cli.config.as_deref())?;
    if let Command::Openapi = cli.command {
        let document = keyward_web::openapi::document(config.server.compat()?);
        println!("{}", serde_json::to_string_pretty(&document)?);
        return Ok(());
    }
    telemetry::init(&config.server.log_format);
    match cli.command {
        Command::Serve { listen } => {
            let mut config = config;
            if let Some(listen) = listen {
                config.server.listen = listen;
                config.validate()?;
            }
            commands::serve::run(config).await
        }
        Command::Migrate => commands::migrate::run(config).await,
        Command::Admin(command) => commands::admin::run(config, command).await,
        Command::Config(ConfigCommand::Check) => commands::config_check::run(config),
        Command::Openapi => unreachable!("handled above"),
    }
}
