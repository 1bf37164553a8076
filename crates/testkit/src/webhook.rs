//! A webhook receiver on a free port: records each POST (headers and body),
//! and answers with the status the test sets (200 unless told otherwise),
//! or holds the answer back until released ([`WebhookReceiver::hold_next`]),
//! so a test can stop the sender mid-delivery.
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
    /// Whether the answer was held back (see [`WebhookReceiver::hold_next`]):
    /// the sender may never have heard it.
    pub held: bool,
    /// When it arrived.
    pub received_at: std::time::Instant,
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
    /// How many of the next requests to hold until released.
    hold: usize,
}

/// The receiver; it stops when dropped.
pub struct WebhookReceiver {
    pub addr: SocketAddr,
    shared: Arc<Mutex<Shared>>,
    released: Arc<tokio::sync::watch::Sender<bool>>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for WebhookReceiver {
    fn drop(&mut self) {
        self.task.abort();
    }
}

#[derive(Clone)]
struct Receiving {
    shared: Arc<Mutex<Shared>>,
    released: Arc<tokio::sync::watch::Sender<bool>>,
}

async fn receive(
    State(Receiving { shared, released }): State<Receiving>,
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
    let mut released = released.subscribe();
    let status = {
        let mut shared = shared.lock().unwrap_or_else(|e| e.into_inner());
        let held = shared.hold > 0;
        shared.hold = shared.hold.saturating_sub(1);
        shared.received.push(ReceivedHook {
            path: uri.path().to_owned(),
            id: header("webhook-id"),
            timestamp: header("webhook-timestamp"),
            signature: header("webhook-signature"),
            content_type: header("content-type"),
            user_agent: header("user-agent"),
            body: String::from_utf8_lossy(&body).into_owned(),
            held,
            received_at: std::time::Instant::now(),
        });
        if held {
            None
        } else if shared.answers.is_empty() {
            Some(200)
        } else {
            Some(shared.answers.remove(0))
        }
    };
    let status = match status {
        Some(status) => status,
        None => {
            // Held: answer only once released (or never, if the sender
            // goes away first).
            let _ = released.wait_for(|released| *released).await;
            200
        }
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
        let released = Arc::new(tokio::sync::watch::Sender::new(false));
        let app = Router::new()
            .route("/{*path}", post(receive))
            .with_state(Receiving {
                shared: shared.clone(),
                released: released.clone(),
            });
        let task = tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        Self {
            addr,
            shared,
            released,
            task,
        }
    }

    /// Holds the answers to the next `n` requests (they are recorded at
    /// once, with `held`) until [`WebhookReceiver::release`].
    pub fn hold_next(&self, n: usize) {
        self.shared.lock().unwrap_or_else(|e| e.into_inner()).hold += n;
    }

    /// Answers every held request (200), and from now on any that would
    /// be held.
    pub fn release(&self) {
        self.released.send_replace(true);
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
