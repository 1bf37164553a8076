//! Writing recorded token uses (`lastUsedAt`/`lastUsedIp`) in one batch.

use keyward_core::service::Keyward;

pub async fn run(keyward: &Keyward) -> keyward_core::Result<()> {
    keyward.flush_usage().await.map(drop)
}
