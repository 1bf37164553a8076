//! Starting the real server for a test: a fresh database (a SQLite file in a
//! temporary directory, or a fresh PostgreSQL database when
//! `KW_TEST_STORE=postgres`), a free port, and a clock the test moves.

use std::sync::Arc;

use keyward::config::Config;
use keyward::startup::Application;
use keyward_core::clock::ManualClock;
use keyward_core::model::UserStatus;
use keyward_core::service::{Actor, CreateUser, Keyward, UpdateUser};
use reqwest::{Method, RequestBuilder, StatusCode};
use serde_json::{Value, json};
use tokio::net::TcpListener;
use tokio::sync::oneshot;

/// Scopes every test deployment adds to the built-in ones.
pub const SCOPES: &str = "iguide.list,iguide.ro,iguide.rw,iguide.tasks";
pub const PASSWORD: &str = "correct horse battery staple";
/// The server key every PostgreSQL test instance shares.
pub const TEST_SERVER_KEY: &str =
    "abababababababababababababababababababababababababababababababab";

pub struct TestApp {
    pub base: String,
    pub client: reqwest::Client,
    pub keyward: Keyward,
    pub clock: Arc<ManualClock>,
    pub config: Config,
    pub data_dir: tempfile::TempDir,
    shutdown: Option<oneshot::Sender<()>>,
    server: Option<tokio::task::JoinHandle<anyhow::Result<()>>>,
    database: Option<crate::pg::TestDatabase>,
}

impl TestApp {
    pub async fn spawn() -> Self {
        Self::spawn_with(|_| {}).await
    }

    /// Starts a server whose configuration `adjust` may change.
    pub async fn spawn_with(adjust: impl FnOnce(&mut Config)) -> Self {
        let database = crate::pg::fresh_database_if_requested().await;
        Self::spawn_on(database, adjust).await
    }

    /// Starts a server on `database` (a PostgreSQL database this app will
    /// drop when stopped), or on a fresh SQLite file when `None`.
    pub async fn spawn_on(
        database: Option<crate::pg::TestDatabase>,
        adjust: impl FnOnce(&mut Config),
    ) -> Self {
        let data_dir = tempfile::tempdir().expect("temp dir");
        let mut config = Config::default();
        config.server.listen = "127.0.0.1:0".into();
        config.scopes.scopes = SCOPES.split(',').map(str::to_owned).collect();
        config.scopes.applications = vec!["shop".into(), "portal".into()];
        match &database {
            Some(db) => {
                config.database.database_url = db.url.clone();
                config.database.secret_key = Some(TEST_SERVER_KEY.into());
            }
            None => {
                config.database.database_url =
                    format!("sqlite://{}", data_dir.path().join("keyward.db").display());
            }
        }
        adjust(&mut config);
        Self::start(
            config,
            Arc::new(ManualClock::starting_now()),
            data_dir,
            database,
        )
        .await
    }

    /// Starts a second instance on this one's database (the same PostgreSQL
    /// database or SQLite file), with its configuration as `adjust` changes
    /// it, and the same clock, so that moving time moves both. The database
    /// stays this app's to drop.
    pub async fn spawn_beside(&self, adjust: impl FnOnce(&mut Config)) -> Self {
        let mut config = self.config.clone();
        adjust(&mut config);
        let data_dir = tempfile::tempdir().expect("temp dir");
        Self::start(config, self.clock.clone(), data_dir, None).await
    }

    async fn start(
        config: Config,
        clock: Arc<ManualClock>,
        data_dir: tempfile::TempDir,
        database: Option<crate::pg::TestDatabase>,
    ) -> Self {
        config.validate().expect("test config is valid");
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let app = Application::build_with_clock(&config, listener, clock.clone())
            .await
            .expect("application builds");
        let base = format!("http://{}", app.local_addr());
        let keyward = app.keyward().clone();
        let (tx, rx) = oneshot::channel();
        let server = tokio::spawn(app.run_until(async move {
            let _ = rx.await;
        }));
        TestApp {
            base,
            client: reqwest::Client::new(),
            keyward,
            clock,
            config,
            data_dir,
            shutdown: Some(tx),
            server: Some(server),
            database,
        }
    }

    /// Stops the server (writing pending uses) and drops the database.
    pub async fn stop(mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        if let Some(server) = self.server.take() {
            server
                .await
                .expect("server task")
                .expect("server ran cleanly");
        }
        if let Some(db) = self.database.take() {
            db.drop_database().await.expect("test database dropped");
        }
    }

    /// Does now what the jobs would at their next tick: starts the due
    /// renewals, queues the due expiry notices, and delivers every message
    /// due (as one more instance on the database would, under its own
    /// claim). Returns how many delivery attempts it made. Tests call it
    /// instead of waiting for the jobs' next tick.
    pub async fn drain_outbox(&self) -> usize {
        keyward_jobs::renewal_scan::run(&self.keyward)
            .await
            .expect("renewal scan");
        keyward_jobs::expiry_scan::run(&self.keyward)
            .await
            .expect("expiry scan");
        let settings = keyward::startup::job_settings(&self.config, "drain".into());
        keyward_jobs::Deliverer::new(
            self.keyward.clone(),
            settings.instance_id,
            settings.allow_private_targets,
            settings.mail,
        )
        .expect("a deliverer")
        .drain()
        .await
        .expect("the outbox drains")
    }

    pub fn advance(&self, by: time::Duration) {
        self.clock.advance(by);
    }

    /// The test clock's now, moved by `by`.
    pub fn clock_in(&self, by: time::Duration) -> time::OffsetDateTime {
        use keyward_core::clock::Clock;
        self.clock.now() + by
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    pub fn request(&self, method: Method, path: &str) -> RequestBuilder {
        self.client.request(method, self.url(path))
    }

    /// A request authenticated with `Authorization: Bearer`.
    pub fn bearer(&self, method: Method, path: &str, secret: &str) -> RequestBuilder {
        self.request(method, path).bearer_auth(secret)
    }

    /// Creates a user directly through the services.
    pub async fn user(&self, username: &str, roles: &[&str]) -> keyward_core::model::User {
        let input = CreateUser {
            username: username.to_owned(),
            password: PASSWORD.into(),
            roles: roles.iter().map(|r| (*r).to_owned()).collect(),
            email: None,
        };
        self.keyward
            .create_user(&Actor::system(), input)
            .await
            .expect("user created")
    }

    /// Changes a user's roles through the services, as an operator would.
    pub async fn set_roles(&self, id: uuid::Uuid, roles: &[&str]) -> keyward_core::model::User {
        let input = UpdateUser {
            roles: Some(roles.iter().map(|r| (*r).to_owned()).collect()),
            ..UpdateUser::default()
        };
        self.keyward
            .update_user(&Actor::system(), id, input)
            .await
            .expect("roles changed")
    }

    /// Disables (or enables) a user through the services.
    pub async fn set_status(
        &self,
        id: uuid::Uuid,
        status: UserStatus,
    ) -> keyward_core::model::User {
        let input = UpdateUser {
            status: Some(status),
            ..UpdateUser::default()
        };
        self.keyward
            .update_user(&Actor::system(), id, input)
            .await
            .expect("status changed")
    }

    /// Logs in over HTTP; returns the session secret.
    pub async fn login(&self, username: &str) -> String {
        let (status, body) = send(
            self.request(Method::POST, "/api/v1/login")
                .json(&json!({"username": username, "password": PASSWORD})),
        )
        .await;
        assert_eq!(status, StatusCode::OK, "{body}");
        body["token"].as_str().expect("session token").to_owned()
    }

    /// A new user with `roles`, logged in; returns the session secret.
    pub async fn session(&self, username: &str, roles: &[&str]) -> String {
        self.user(username, roles).await;
        self.login(username).await
    }

    /// Creates a token over HTTP with `secret`; returns the response body.
    pub async fn create_token(&self, secret: &str, body: Value) -> Value {
        let (status, body) = send(
            self.bearer(Method::POST, "/api/v1/integrations/tokens", secret)
                .json(&body),
        )
        .await;
        assert_eq!(status, StatusCode::CREATED, "{body}");
        body
    }

    /// The status of `GET /api/v1/me` with `secret`.
    pub async fn me_status(&self, secret: &str) -> StatusCode {
        self.bearer(Method::GET, "/api/v1/me", secret)
            .send()
            .await
            .expect("request")
            .status()
    }
}

impl Drop for TestApp {
    fn drop(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
    }
}

/// Sends a request; returns the status and the JSON body (`Null` if none).
pub async fn send(request: RequestBuilder) -> (StatusCode, Value) {
    let response = request.send().await.expect("request sent");
    let status = response.status();
    let text = response.text().await.expect("body");
    let body = if text.is_empty() {
        Value::Null
    } else {
        serde_json::from_str(&text).unwrap_or_else(|_| panic!("not JSON ({status}): {text}"))
    };
    (status, body)
}

/// Asserts an error response: status, code, and that the message names `field`.
pub fn assert_error(status: StatusCode, body: &Value, want: StatusCode, code: &str, field: &str) {
    assert_eq!(status, want, "{body}");
    assert_eq!(body["code"], code, "{body}");
    let message = body["message"].as_str().unwrap_or_default();
    assert!(
        message.contains(field),
        "message {message:?} does not name {field:?}"
    );
    assert_eq!(
        body.as_object().map(|o| o.len()),
        Some(2),
        "only code and message: {body}"
    );
}

/// An RFC 3339 time `by` from the test clock's now.
pub fn at(app: &TestApp, by: time::Duration) -> String {
    use keyward_core::clock::Clock;
    (app.clock.now() + by)
        .format(&time::format_description::well_known::Rfc3339)
        .expect("format")
}
