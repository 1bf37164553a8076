//! The command line: `serve`, `migrate`, `admin create-user`, `admin
//! create-token`, `config check` and `openapi`.

use std::path::PathBuf;

use clap::{Parser, Subcommand};

#[derive(Debug, Parser)]
#[command(name = "keyward", version, about = "Self-hosted API credentials")]
pub struct Cli {
    /// A TOML file with settings (see keyward.example.toml); KEYWARD_*
    /// environment variables override it.
    #[arg(long, global = true, env = "KEYWARD_CONFIG", value_name = "FILE")]
    pub config: Option<PathBuf>,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the server (migrations run first).
    Serve {
        /// Overrides `listen` / KEYWARD_LISTEN.
        #[arg(long, value_name = "ADDR")]
        listen: Option<String>,
    },
    /// Run the database migrations and exit.
    Migrate,
    /// Manage users and bootstrap credentials; works while a server runs.
    #[command(subcommand)]
    Admin(AdminCommand),
    /// Inspect the configuration.
    #[command(subcommand)]
    Config(ConfigCommand),
    /// Print the OpenAPI document.
    Openapi,
}

#[derive(Debug, Subcommand)]
pub enum AdminCommand {
    /// Create a user; the password is read from standard input.
    CreateUser {
        username: String,
        /// A role (repeatable); default `member`.
        #[arg(long = "role", value_name = "ROLE")]
        roles: Vec<String>,
        /// Where notices go (default: the username, if it is an address).
        #[arg(long)]
        email: Option<String>,
        /// Read the password from the first line of standard input.
        #[arg(long, required = true)]
        password_stdin: bool,
    },
    /// List users as JSON lines, oldest first.
    ListUsers,
    /// Set a user's password (read from standard input); ends their sessions.
    SetPassword {
        username: String,
        /// Read the password from the first line of standard input.
        #[arg(long, required = true)]
        password_stdin: bool,
    },
    /// Disable a user: every credential of theirs fails at once.
    DisableUser { username: String },
    /// Enable a disabled user again.
    EnableUser { username: String },
    /// Create an API token for a user and print it, with its secret, as JSON.
    CreateToken {
        username: String,
        #[arg(long)]
        name: String,
        /// A scope (repeatable), within what the user's roles allow.
        #[arg(long = "scope", value_name = "SCOPE", required = true)]
        scopes: Vec<String>,
        #[arg(long)]
        description: Option<String>,
        /// RFC 3339 expiry, e.g. 2027-01-01T00:00:00Z; default never.
        #[arg(long, value_name = "TIME")]
        expires_at: Option<String>,
        /// Restrict to an application (repeatable).
        #[arg(long = "application", value_name = "APP")]
        applications: Vec<String>,
    },
}

#[derive(Debug, Subcommand)]
pub enum ConfigCommand {
    /// Load and check the configuration, print it (without secrets), exit 0
    /// if it is valid.
    Check,
}
