//! What Keyward's integration tests need besides the server: a webhook
//! receiver ([`WebhookReceiver`]) on a free port that records every request
//! and verifies Standard Webhooks signatures, and an SMTP sink
//! ([`SmtpSink`]) on a free port that keeps every mail it is given.

pub mod smtp;
pub mod webhook;

pub use smtp::{ReceivedMail, SmtpSink};
pub use webhook::{ReceivedHook, WebhookReceiver, verify_signature};
