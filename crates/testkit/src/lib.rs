//! What Keyward's integration tests need: the real server on a free port
//! with a fresh database and a clock the test moves ([`TestApp`], with
//! [`pg`] for PostgreSQL), a headless browser driving the portal
//! ([`browser`]), a webhook receiver ([`WebhookReceiver`]) on a free port
//! that records every request and verifies Standard Webhooks signatures, and
//! an SMTP sink ([`SmtpSink`]) on a free port that keeps every mail it is
//! given, in plain SMTP, with STARTTLS or over TLS from the start.

pub mod app;
pub mod browser;
pub mod pg;
pub mod smtp;
pub mod webhook;

pub use app::{PASSWORD, SCOPES, TEST_SERVER_KEY, TestApp, assert_error, at, send};
pub use smtp::{ReceivedMail, SinkTls, SmtpLogin, SmtpSink};
pub use webhook::{ReceivedHook, WebhookReceiver, verify_signature};
