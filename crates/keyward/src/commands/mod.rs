//! One file per subcommand.

pub mod admin;
pub mod config_check;
pub mod migrate;
pub mod serve;
