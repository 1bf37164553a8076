//! Finding the server key: `KEYWARD_SECRET_KEY`, else the file named by
//! `KEYWARD_SECRET_KEY_FILE`, else (SQLite only) a key file beside the
//! database, created with mode 0600 on first start. PostgreSQL deployments
//! run several instances that must share one key, so there it is required.

use std::io::Write;
use std::path::Path;

use anyhow::{Context, bail};
use keyward_core::random::Random;
use keyward_core::secret::ServerKey;

use crate::config::Config;
use crate::store::Backend;

/// File name of the generated key, beside the SQLite database.
pub const KEY_FILE_NAME: &str = "keyward.key";

pub fn load(config: &Config, backend: &Backend, random: &dyn Random) -> anyhow::Result<ServerKey> {
    if let Some(text) = &config.database.secret_key {
        return ServerKey::from_text(text)
            .context("KEYWARD_SECRET_KEY must be 64 hex digits or at least 32 bytes of text");
    }
    if let Some(path) = &config.database.secret_key_file {
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("cannot read KEYWARD_SECRET_KEY_FILE {}", path.display()))?;
        return ServerKey::from_text(&text).with_context(|| {
            format!(
                "{} must hold 64 hex digits or at least 32 bytes of text",
                path.display()
            )
        });
    }
    match backend {
        Backend::Sqlite { path } => {
            let dir = path
                .parent()
                .filter(|p| !p.as_os_str().is_empty())
                .unwrap_or(Path::new("."));
            load_or_create(&dir.join(KEY_FILE_NAME), random)
        }
        Backend::Postgres => bail!(
            "KEYWARD_SECRET_KEY or KEYWARD_SECRET_KEY_FILE is required with PostgreSQL: \
             every instance must use the same key (generate one with `openssl rand -hex 32`)"
        ),
    }
}

fn load_or_create(path: &Path, random: &dyn Random) -> anyhow::Result<ServerKey> {
    match std::fs::read_to_string(path) {
        Ok(text) => ServerKey::from_text(&text)
            .with_context(|| format!("the key file {} is not a valid key", path.display())),
        Err(err) if err.kind() == std::io::ErrorKind::NotFound => {
            if let Some(dir) = path.parent() {
                std::fs::create_dir_all(dir)
                    .with_context(|| format!("cannot create {}", dir.display()))?;
            }
            let key = ServerKey::generate(random);
            let mut file = open_private(path)
                .with_context(|| format!("cannot create the key file {}", path.display()))?;
            writeln!(file, "{}", key.to_hex())?;
            file.sync_all()?;
            tracing::info!(path = %path.display(), "created a new server key file");
            Ok(key)
        }
        Err(err) => {
            Err(err).with_context(|| format!("cannot read the key file {}", path.display()))
        }
    }
}

/// Creates `path` for writing, readable by its owner only; fails if it exists
/// (another process won the race: the caller's read would then succeed).
fn open_private(path: &Path) -> std::io::Result<std::fs::File> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    options.open(path)
}

#[cfg(test)]
mod tests {
    use super::*;
    use keyward_core::random::OsRandom;

    #[test]
    fn creates_a_private_key_file_once() {
        let dir = tempfile::tempdir().unwrap();
        let backend = Backend::Sqlite {
            path: dir.path().join("data/k.db"),
        };
        let first = load(&Config::default(), &backend, &OsRandom).unwrap();
        let file = dir.path().join("data").join(KEY_FILE_NAME);
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            assert_eq!(
                std::fs::metadata(&file).unwrap().permissions().mode() & 0o777,
                0o600
            );
        }
        let again = load(&Config::default(), &backend, &OsRandom).unwrap();
        assert_eq!(first.to_hex(), again.to_hex());
    }

    #[test]
    fn postgres_requires_a_key() {
        let err = load(&Config::default(), &Backend::Postgres, &OsRandom).unwrap_err();
        assert!(err.to_string().contains("KEYWARD_SECRET_KEY"));
        let mut config = Config::default();
        config.database.secret_key = Some("ab".repeat(32));
        assert!(load(&config, &Backend::Postgres, &OsRandom).is_ok());
    }
}
