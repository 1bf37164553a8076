//! `keyward migrate`: bring the database schema up to date and exit.

use crate::config::Config;

pub async fn run(config: Config) -> anyhow::Result<()> {
    // Opening a store runs its migrations.
    let store = crate::store::open(&config.database_url, 1).await?;
    println!("migrations applied ({})", store.backend());
    Ok(())
}
