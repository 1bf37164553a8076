//! A webhook receiver on a free port: records each POST (headers and body),
//! and answers with the status the test sets (200 unless told otherwise).
//! [`verify_signature`] checks a request per Standard Webhooks with the
//! secret's bytes as the HMAC key.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::routing::post;
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use hmac::{KeyInit, Mac};
use sha2::Sha256;

/// One request the receiver got.
#[derive(Debug, Clone)]
pub struct ReceivedHook {
    pub path: String,
    pub id: String,
    pub timestamp: String,
    pub signature: String,
    pub content_type: String,
    pub user_agent: String,
    pub body: String,
}

impl ReceivedHook {
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.body).expect("a JSON body")
    }
}

#[derive(Default)]
struct Shared {
    received: Vec<ReceivedHook>,
    /// Answers to give, first first; then 200.
    answers: Vec<u16>,
}

/// The receiver; it stops when dropped.
pub struct WebhookReceiver {
    pub addr: SocketAddr,
    shared: Arc<Mutex<Shared>>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for WebhookReceiver {
    fn drop(&mut self) {
        self.task.abort();
    }
}

async fn receive(
    State(shared): State<Arc<Mutex<Shared>>>,
    uri: axum::http::Uri,
    headers: HeaderMap,
    body: Bytes,
) -> StatusCode {
    let header = |name: &str| {
        headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_owned()
    };
    let mut shared = shared.lock().unwrap_or_else(|e| e.into_inner());
    shared.received.push(ReceivedHook {
        path: uri.path().to_owned(),
        id: header("webhook-id"),
        timestamp: header("webhook-timestamp"),
        signature: header("webhook-signature"),
        content_type: header("content-type"),
        user_agent: header("user-agent"),
        body: String::from_utf8_lossy(&body).into_owned(),
    });
    let status = if shared.answers.is_empty() {
        200
    } else {
        shared.answers.remove(0)
    };
    StatusCode::from_u16(status).unwrap_or(StatusCode::OK)
}

impl WebhookReceiver {
    /// Starts a receiver on `127.0.0.1` and a free port.
    pub async fn start() -> Self {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind a free port");
        let addr = listener.local_addr().expect("bound");
        let shared = Arc::new(Mutex::new(Shared::default()));
        let app = Router::new()
            .route("/{*path}", post(receive))
            .with_state(shared.clone());
        let task = tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        Self { addr, shared, task }
    }

    /// The URL of `path` on this receiver.
    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    /// Answers the next requests with these statuses.
    pub fn answer_with(&self, statuses: &[u16]) {
        let mut shared = self.shared.lock().unwrap_or_else(|e| e.into_inner());
        shared.answers.extend_from_slice(statuses);
    }

    /// Every request so far.
    pub fn received(&self) -> Vec<ReceivedHook> {
        self.shared
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .received
            .clone()
    }

    /// Waits until at least `n` requests came (panics after `within`).
    pub async fn wait_for(&self, n: usize, within: Duration) -> Vec<ReceivedHook> {
        let deadline = tokio::time::Instant::now() + within;
        loop {
            let got = self.received();
            if got.len() >= n {
                return got;
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "expected {n} webhook requests within {within:?}, got {}",
                got.len()
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
}

/// Whether `hook` carries a valid `v1` signature of its id, timestamp and
/// body under the bytes of `secret`, compared in constant time.
pub fn verify_signature(secret: &str, hook: &ReceivedHook) -> bool {
    let mut mac = hmac::Hmac::<Sha256>::new_from_slice(secret.as_bytes()).expect("any key length");
    mac.update(format!("{}.{}.{}", hook.id, hook.timestamp, hook.body).as_bytes());
    let expected = mac.finalize().into_bytes();
    hook.signature.split(' ').any(|sig| {
        sig.strip_prefix("v1,")
            .and_then(|b64| STANDARD.decode(b64).ok())
            .is_some_and(|given| {
                use subtle::ConstantTimeEq;
                given.len() == expected.len() && bool::from(given.ct_eq(&expected))
            })
    })
}
