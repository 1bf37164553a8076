//! `keyward migrate`: bring the database schema up to date and exit.

use crate::config::Config;

pub async fn run(config: Config) -> anyhow::Result<()> {
    // Opening a store runs its migrations.
    let opened = crate::store::open(&config.database, 1).await?;
    println!("migrations applied ({})", opened.store.backend());
    Ok(())
}
