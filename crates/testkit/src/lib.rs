//! What Keyward's integration tests need besides the server: a webhook
//! receiver ([`WebhookReceiver`]) on a free port that records every request
//! and verifies Standard Webhooks signatures, and an SMTP sink
//! ([`SmtpSink`]) on a free port that keeps every mail it is given, in plain
//! SMTP, with STARTTLS or over TLS from the start.

pub mod smtp;
pub mod webhook;

pub use smtp::{ReceivedMail, SinkTls, SmtpLogin, SmtpSink};
pub use webhook::{ReceivedHook, WebhookReceiver, verify_signature};
