//! The e-mails' subjects and bodies (plain text and HTML), from a message's
//! payload. No secret is ever in one: a notice names the token, its hint and
//! expiry, and links to its page.

use serde_json::Value;

/// A rendered e-mail.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mail {
    pub subject: String,
    pub text: String,
    pub html: String,
}

fn field<'a>(payload: &'a Value, name: &str) -> &'a str {
    payload.get(name).and_then(Value::as_str).unwrap_or("")
}

fn escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// The mail of `event`, or `None` for an event that is not mailed.
pub fn render(event: &str, payload: &Value) -> Option<Mail> {
    let name = field(payload, "name");
    let hint = field(payload, "hint");
    let link = field(payload, "link");
    let expires = match payload.get("expiresAt").and_then(Value::as_str) {
        Some(at) => at.to_owned(),
        None => "never".to_owned(),
    };
    let (subject, lead) = match event {
        keyward_core::model::outbox::event::RENEWAL_COMPLETED => (
            format!("Keyward: API token \"{name}\" was renewed"),
            format!(
                "The API token \"{name}\" was renewed automatically. Its new secret ends in \
                 {hint}; it expires: {expires}. The old secret keeps working for a short overlap."
            ),
        ),
        keyward_core::model::outbox::event::EXPIRY_NOTICE => {
            let days = payload.get("days").and_then(Value::as_u64).unwrap_or(0);
            let when = if days == 1 {
                "within a day".to_owned()
            } else {
                format!("within {days} days")
            };
            (
                format!("Keyward: API token \"{name}\" expires {when}"),
                format!(
                    "The API token \"{name}\" (secret ending in {hint}) expires {when}, at \
                     {expires}. Renew or replace it before then."
                ),
            )
        }
        _ => return None,
    };
    let text = format!("{lead}\n\nToken page: {link}\n\n-- \nKeyward\n");
    let html = format!(
        "<!doctype html><html><body><p>{}</p><p><a href=\"{}\">Open the token's page</a></p>\
         <p>Keyward</p></body></html>",
        escape(&lead),
        escape(link)
    );
    Some(Mail {
        subject,
        text,
        html,
    })
}
