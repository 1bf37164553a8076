//! Real `keyward serve` processes for the tests that kill them: the data
//! they share (a SQLite file, or this run's PostgreSQL database), starting
//! one on a free port, signalling it, and the user the tests sign in as.

use std::process::{Child, Command, Stdio};
use std::time::Duration as StdDuration;

use keyward_testkit::{PASSWORD, TEST_SERVER_KEY};
use serde_json::{Value, json};

/// Where a test's server keeps its data: a SQLite file in `dir`, or the
/// PostgreSQL database of this run.
pub struct Data {
    pub dir: tempfile::TempDir,
    pub db: Option<keyward_testkit::pg::TestDatabase>,
}

impl Data {
    pub async fn new() -> Self {
        Self {
            dir: tempfile::tempdir().unwrap(),
            db: keyward_testkit::pg::fresh_database_if_requested().await,
        }
    }

    pub fn url(&self) -> String {
        match &self.db {
            Some(db) => db.url.clone(),
            None => format!("sqlite://{}", self.dir.path().join("keyward.db").display()),
        }
    }

    pub fn command(&self, args: &[&str]) -> Command {
        let mut command = Command::new(env!("CARGO_BIN_EXE_keyward"));
        command
            .args(args)
            .current_dir(self.dir.path())
            .env_remove("KEYWARD_CONFIG")
            .env("KEYWARD_DATABASE_URL", self.url())
            .env("KEYWARD_SECRET_KEY", TEST_SERVER_KEY)
            .env("KEYWARD_SCOPES", keyward_testkit::SCOPES)
            .env("KEYWARD_MAX_TOKENS_PER_USER", "100000")
            .env("RUST_LOG", "error")
            .stdout(Stdio::null())
            .stderr(Stdio::null());
        command
    }

    /// Starts `keyward serve` on a free port; returns it and its base URL
    /// once it answers.
    pub async fn serve(&self) -> (Child, String) {
        self.serve_with(&[]).await
    }

    /// As [`Data::serve`], with these settings (`KEYWARD_*` variables) too.
    pub async fn serve_with(&self, settings: &[(&str, &str)]) -> (Child, String) {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let mut command = self.command(&["serve"]);
        command.env("KEYWARD_LISTEN", format!("127.0.0.1:{port}"));
        command.envs(settings.iter().copied());
        let mut child = command.spawn().unwrap();
        let base = format!("http://127.0.0.1:{port}");
        for _ in 0..200 {
            if reqwest::get(format!("{base}/readyz")).await.is_ok() {
                return (child, base);
            }
            tokio::time::sleep(StdDuration::from_millis(50)).await;
        }
        let _ = child.kill();
        let _ = child.wait();
        panic!("keyward serve did not start");
    }

    pub async fn finish(self) {
        if let Some(db) = self.db {
            db.drop_database().await.unwrap();
        }
    }
}

pub fn signal(child: &Child, name: &str) {
    let ok = Command::new("kill")
        .args([&format!("-{name}"), &child.id().to_string()])
        .status()
        .unwrap()
        .success();
    assert!(ok, "kill -{name}");
}

pub async fn login(client: &reqwest::Client, base: &str) -> String {
    let body: Value = client
        .post(format!("{base}/api/v1/login"))
        .json(&json!({"username": "durable", "password": PASSWORD}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    body["token"].as_str().unwrap().to_owned()
}

pub fn create_user(data: &Data) {
    let mut command = data.command(&["admin", "create-user", "durable", "--password-stdin"]);
    command.stdin(Stdio::piped());
    let mut child = command.spawn().unwrap();
    use std::io::Write;
    writeln!(child.stdin.take().unwrap(), "{PASSWORD}").unwrap();
    assert!(child.wait().unwrap().success());
}
