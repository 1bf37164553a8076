//! The binary driven as a new user would: `admin create-user` and `admin
//! create-token` on a fresh data directory, then `serve` with the header names
//! configured by environment, then the token lifecycle over HTTP.

use std::io::Write;
use std::path::Path;
use std::process::{Child, Command, Stdio};

use keyward_testkit::send;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

const BIN: &str = env!("CARGO_BIN_EXE_keyward");

/// A command for the binary, run in `dir`, with the store this run targets.
fn keyward(dir: &Path, db: Option<&keyward_testkit::pg::TestDatabase>) -> Command {
    let mut command = Command::new(BIN);
    command
        .current_dir(dir)
        .env_remove("KEYWARD_CONFIG")
        .env("KEYWARD_SCOPES", "iguide.list,iguide.ro")
        .env("RUST_LOG", "warn");
    if let Some(db) = db {
        command
            .env("KEYWARD_DATABASE_URL", &db.url)
            .env("KEYWARD_SECRET_KEY", "cd".repeat(32));
    }
    command
}

fn run(mut command: Command, stdin: Option<&str>) -> (bool, String, String) {
    command
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = command.spawn().expect("binary starts");
    if let Some(input) = stdin {
        child
            .stdin
            .take()
            .unwrap()
            .write_all(input.as_bytes())
            .unwrap();
    }
    let out = child.wait_with_output().expect("binary exits");
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

struct Server(Child);

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

#[tokio::test]
async fn a_new_user_bootstraps_and_runs_the_lifecycle_with_custom_headers() {
    let dir = tempfile::tempdir().unwrap();
    let db = keyward_testkit::pg::fresh_database_if_requested().await;
    let mut create = keyward(dir.path(), db.as_ref());
    create.args([
        "admin",
        "create-user",
        "ops@example.com",
        "--role",
        "member",
        "--password-stdin",
    ]);
    let (ok, out, err) = run(create, Some("s3cret-password\n"));
    assert!(ok, "{err}");
    let user: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(user["username"], "ops@example.com");

    let mut again = keyward(dir.path(), db.as_ref());
    again.args([
        "admin",
        "create-user",
        "OPS@example.com",
        "--password-stdin",
    ]);
    let (ok, _, err) = run(again, Some("another-password\n"));
    assert!(!ok && err.contains("already exists"), "{err}");

    let mut token = keyward(dir.path(), db.as_ref());
    token.args([
        "admin",
        "create-token",
        "ops@example.com",
        "--name",
        "bootstrap",
        "--scope",
        "credentials.manage",
        "--scope",
        "iguide.list",
    ]);
    let (ok, out, err) = run(token, None);
    assert!(ok, "{err}");
    let boot: Value = serde_json::from_str(&out).unwrap();
    let (app_id, app_token) = (
        boot["id"].as_str().unwrap().to_owned(),
        boot["token"].as_str().unwrap().to_owned(),
    );
    assert!(app_token.starts_with("kwp_"));

    let mut too_strong = keyward(dir.path(), db.as_ref());
    too_strong.args([
        "admin",
        "create-token",
        "ops@example.com",
        "--name",
        "x",
        "--scope",
        "admin.users",
    ]);
    let (ok, _, err) = run(too_strong, None);
    assert!(!ok && err.contains("scopes"), "{err}");

    if db.is_none() {
        let key = dir.path().join("keyward-data/keyward.key");
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            assert_eq!(
                std::fs::metadata(&key).unwrap().permissions().mode() & 0o777,
                0o600
            );
        }
        assert!(dir.path().join("keyward-data/keyward.db").exists());
    }

    let port = free_port();
    let mut serve = keyward(dir.path(), db.as_ref());
    serve
        .arg("serve")
        .env("KEYWARD_LISTEN", format!("127.0.0.1:{port}"))
        .env("KEYWARD_APP_ID_HEADER", "X-Plntr-App-Id")
        .env("KEYWARD_APP_TOKEN_HEADER", "X-Plntr-App-Token")
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    let _server = Server(serve.spawn().unwrap());
    let base = format!("http://127.0.0.1:{port}/api/v1");
    let client = reqwest::Client::new();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    while client
        .get(format!("http://127.0.0.1:{port}/readyz"))
        .send()
        .await
        .is_err()
    {
        assert!(std::time::Instant::now() < deadline, "server did not start");
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    let call = |method: Method, path: &str| {
        client
            .request(method, format!("{base}{path}"))
            .header("X-Plntr-App-Id", &app_id)
            .header("X-Plntr-App-Token", &app_token)
    };

    let (status, demo) = send(call(Method::POST, "/integrations/tokens").json(&json!({
        "name": "Demo Token", "scopes": ["iguide.list"], "expiresAt": "2099-02-21T12:00:00Z"
    })))
    .await;
    assert_eq!(status, StatusCode::CREATED, "{demo}");
    let demo_id = demo["id"].as_str().unwrap();
    let (_, list) = send(call(Method::GET, "/integrations/tokens")).await;
    assert_eq!(list.as_array().unwrap().len(), 2);
    let (status, rotated) = send(call(
        Method::POST,
        &format!("/integrations/tokens/{demo_id}/rotate"),
    ))
    .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(rotated["previousToken"]["hint"], demo["tokenHint"]);
    let (status, revoked) = send(call(
        Method::POST,
        &format!("/integrations/tokens/{demo_id}/revokePrevious"),
    ))
    .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(revoked["previousToken"], Value::Null);
    let (status, _) = send(
        client
            .get(format!("{base}/me"))
            .header("X-Plntr-App-Id", demo_id)
            .header("X-Plntr-App-Token", demo["token"].as_str().unwrap()),
    )
    .await;
    assert_eq!(
        status,
        StatusCode::UNAUTHORIZED,
        "the revoked previous secret fails"
    );
    let (status, ok) = send(call(
        Method::DELETE,
        &format!("/integrations/tokens/{demo_id}"),
    ))
    .await;
    assert_eq!((status, ok), (StatusCode::OK, json!({"ok": true})));

    // A login with the password set through standard input.
    let (status, session) = send(
        client
            .post(format!("{base}/login"))
            .json(&json!({"username": "ops@example.com", "password": "s3cret-password"})),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert!(session["token"].as_str().unwrap().starts_with("kws_"));
    drop(_server);
    if let Some(db) = db {
        db.drop_database().await.expect("test database dropped");
    }
}

#[test]
fn config_check_migrate_and_bad_configuration() {
    let dir = tempfile::tempdir().unwrap();
    let mut check = keyward(dir.path(), None);
    check
        .args(["config", "check"])
        .env("KEYWARD_SECRET_KEY", "ef".repeat(32));
    let (ok, out, err) = run(check, None);
    assert!(ok, "{err}");
    assert!(
        out.contains("configuration is valid") && out.contains("iguide.ro"),
        "{out}"
    );
    assert!(
        !out.contains(&"ef".repeat(32)),
        "config check prints no secret"
    );

    let mut unknown = keyward(dir.path(), None);
    unknown
        .args(["config", "check"])
        .env("KEYWARD_LISTEN_PORT", "80");
    let (ok, _, err) = run(unknown, None);
    assert!(!ok && err.contains("listen_port"), "{err}");

    std::fs::write(
        dir.path().join("k.toml"),
        "max_tokens_per_user = 3\ncolour = \"red\"\n",
    )
    .unwrap();
    let mut bad_file = keyward(dir.path(), None);
    bad_file.args(["config", "check", "--config", "k.toml"]);
    let (ok, _, err) = run(bad_file, None);
    assert!(!ok && err.contains("colour"), "{err}");

    let mut migrate = keyward(dir.path(), None);
    migrate
        .arg("migrate")
        .env("KEYWARD_DATABASE_URL", "sqlite://other/place.db");
    let (ok, out, err) = run(migrate, None);
    assert!(ok, "{err}");
    assert!(out.contains("sqlite"));
    assert!(dir.path().join("other/place.db").exists());

    let mut pg_without_key = keyward(dir.path(), None);
    pg_without_key
        .args([
            "admin",
            "create-token",
            "x",
            "--name",
            "n",
            "--scope",
            "iguide.list",
        ])
        .env(
            "KEYWARD_DATABASE_URL",
            "postgres://postgres@127.0.0.1:5432/postgres",
        );
    let (ok, _, err) = run(pg_without_key, None);
    assert!(!ok && err.contains("KEYWARD_SECRET_KEY"), "{err}");
}

#[test]
fn the_example_configuration_is_valid_and_complete() {
    let example = concat!(env!("CARGO_MANIFEST_DIR"), "/../../keyward.example.toml");
    let text = std::fs::read_to_string(example).expect("keyward.example.toml exists");
    let dir = tempfile::tempdir().unwrap();
    let mut check = keyward(dir.path(), None);
    check
        .args(["config", "check", "--config", example])
        .env_remove("KEYWARD_SCOPES");
    let (ok, out, err) = run(check, None);
    assert!(ok, "{err}");
    // Every key the server knows is documented in the example.
    for line in out.lines().filter(|l| l.contains(" = ")) {
        let key = line.split(" = ").next().unwrap();
        let documented = [
            format!("\n{key} ="),
            format!("\n# {key} ="),
            format!("\n[{key}]"),
        ];
        assert!(
            documented.iter().any(|d| text.contains(d.as_str())),
            "{key} is not documented"
        );
    }
}

/// The operator's user commands: list, set a password (ending the user's
/// sessions), disable and enable, and the last admin kept.
#[tokio::test]
async fn operators_manage_users_from_the_command_line() {
    let dir = tempfile::tempdir().unwrap();
    let db = keyward_testkit::pg::fresh_database_if_requested().await;
    let cli = |args: &[&str], stdin: Option<&str>| {
        let mut command = keyward(dir.path(), db.as_ref());
        command.args(args);
        run(command, stdin)
    };
    for (name, role) in [("root@example.com", "admin"), ("ann@example.com", "member")] {
        let (ok, _, err) = cli(
            &[
                "admin",
                "create-user",
                name,
                "--role",
                role,
                "--password-stdin",
            ],
            Some("first long passphrase\n"),
        );
        assert!(ok, "{err}");
    }
    let (ok, out, err) = cli(&["admin", "list-users"], None);
    assert!(ok, "{err}");
    let users: Vec<Value> = out
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    // Made within one second: the ids order them, so compare as a set.
    let mut names: Vec<&str> = users
        .iter()
        .map(|u| u["username"].as_str().unwrap())
        .collect();
    names.sort_unstable();
    assert_eq!(names, ["ann@example.com", "root@example.com"]);
    assert!(!out.contains("argon2"), "no hash is printed");

    let (ok, _, err) = cli(
        &[
            "admin",
            "set-password",
            "ann@example.com",
            "--password-stdin",
        ],
        Some("password1234\n"),
    );
    assert!(
        !ok && err.contains("password"),
        "a weak password is refused: {err}"
    );
    let (ok, _, err) = cli(
        &[
            "admin",
            "set-password",
            "ann@example.com",
            "--password-stdin",
        ],
        Some("second long passphrase\n"),
    );
    assert!(ok, "{err}");
    let (ok, _, err) = cli(&["admin", "disable-user", "ann@example.com"], None);
    assert!(ok && err.contains("disabled"), "{err}");
    let (ok, out, _) = cli(&["admin", "list-users"], None);
    assert!(ok && out.contains("\"disabled\""), "{out}");
    let (ok, _, err) = cli(&["admin", "enable-user", "ann@example.com"], None);
    assert!(ok && err.contains("active"), "{err}");
    let (ok, _, err) = cli(&["admin", "disable-user", "root@example.com"], None);
    assert!(!ok && err.contains("last active admin"), "{err}");
    let (ok, _, err) = cli(&["admin", "disable-user", "nobody@example.com"], None);
    assert!(!ok && err.contains("no user named"), "{err}");
    if let Some(db) = db {
        db.drop_database().await.unwrap();
    }
}

/// With `sqlite_locking = "exclusive"` the running server keeps the SQLite
/// file to itself: it serves as usual, the CLI beside it fails with a
/// message naming the setting, and once the server stops the CLI works.
#[tokio::test]
async fn an_exclusive_server_keeps_the_sqlite_file_from_other_processes() {
    let dir = tempfile::tempdir().unwrap();
    let mut create = keyward(dir.path(), None);
    create.args([
        "admin",
        "create-user",
        "ops@example.com",
        "--password-stdin",
    ]);
    let (ok, _, err) = run(create, Some("s3cret-password\n"));
    assert!(ok, "{err}");

    let port = free_port();
    let mut serve = keyward(dir.path(), None);
    serve
        .arg("serve")
        .env("KEYWARD_LISTEN", format!("127.0.0.1:{port}"))
        .env("KEYWARD_SQLITE_LOCKING", "exclusive")
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    let server = Server(serve.spawn().unwrap());
    let client = reqwest::Client::new();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    while client
        .get(format!("http://127.0.0.1:{port}/readyz"))
        .send()
        .await
        .is_err()
    {
        assert!(std::time::Instant::now() < deadline, "server did not start");
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    let (status, session) = send(
        client
            .post(format!("http://127.0.0.1:{port}/api/v1/login"))
            .json(&json!({"username": "ops@example.com", "password": "s3cret-password"})),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{session}");

    let mut list = keyward(dir.path(), None);
    list.args(["admin", "list-users"]);
    let (ok, _, err) = run(list, None);
    assert!(!ok, "the CLI cannot open the file the server holds");
    assert!(err.contains("sqlite_locking"), "{err}");

    drop(server);
    let mut list = keyward(dir.path(), None);
    list.args(["admin", "list-users"]);
    let (ok, out, err) = run(list, None);
    assert!(ok, "{err}");
    assert!(out.contains("ops@example.com"), "{out}");
}
