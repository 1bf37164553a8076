//! Sending one e-mail over SMTP with `lettre`: `smtp://` (STARTTLS required,
//! or used when the server offers it), `smtps://` (TLS from the start),
//! credentials from the URL; a plain-text body with an HTML alternative. The server's certificate
//! is verified against the system's roots and, when `smtp_ca_file` is set,
//! the CAs in that file (an internal relay's own CA).

use std::path::PathBuf;

use anyhow::Context;
use lettre::message::{Mailbox, MultiPart, header::ContentType};
use lettre::transport::smtp::authentication::Credentials;
use lettre::transport::smtp::client::{Certificate, Tls, TlsParameters};
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};

use crate::mail_templates::Mail;

/// The mail settings.
#[derive(Debug, Clone)]
pub struct MailSettings {
    /// `smtp://host:port` or `smtps://host:port`, with optional
    /// `user:password@`.
    pub smtp_url: String,
    /// The sender address.
    pub from: String,
    /// A PEM file of CA certificates trusted for the server's certificate,
    /// besides the system's.
    pub ca_file: Option<PathBuf>,
    /// On `smtp://`: send nothing unless STARTTLS succeeds (otherwise
    /// STARTTLS when offered, plain SMTP when not).
    pub require_starttls: bool,
}

/// An SMTP client for one server.
#[derive(Clone)]
pub struct Mailer {
    transport: AsyncSmtpTransport<Tokio1Executor>,
    from: Mailbox,
}

impl std::fmt::Debug for Mailer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Mailer(..)")
    }
}

impl Mailer {
    pub fn new(settings: &MailSettings) -> anyhow::Result<Self> {
        let url = url::Url::parse(&settings.smtp_url)?;
        let host = url
            .host_str()
            .ok_or_else(|| anyhow::anyhow!("smtp_url has no host"))?
            .to_owned();
        let parameters = tls_parameters(&host, settings)?;
        let (tls, default_port) = match url.scheme() {
            "smtp" if settings.require_starttls => (Tls::Required(parameters), 25),
            "smtp" => (Tls::Opportunistic(parameters), 25),
            "smtps" => (Tls::Wrapper(parameters), 465),
            other => anyhow::bail!("smtp_url must be smtp:// or smtps:// (got {other}://)"),
        };
        let mut builder = AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(&host)
            .port(url.port().unwrap_or(default_port))
            .tls(tls)
            .timeout(Some(std::time::Duration::from_secs(15)));
        if !url.username().is_empty() {
            let user = percent_decode(url.username());
            let password = percent_decode(url.password().unwrap_or(""));
            builder = builder.credentials(Credentials::new(user, password));
        }
        Ok(Self {
            transport: builder.build(),
            from: settings
                .from
                .parse()
                .map_err(|e| anyhow::anyhow!("mail_from: {e}"))?,
        })
    }

    /// Sends `mail` to `to`; the server's reply, or what went wrong.
    pub async fn send(&self, to: &str, mail: &Mail) -> Result<String, String> {
        let to: Mailbox = to.parse().map_err(|e| format!("bad recipient: {e}"))?;
        let message = Message::builder()
            .from(self.from.clone())
            .to(to)
            .subject(mail.subject.clone())
            .multipart(MultiPart::alternative_plain_html(
                mail.text.clone(),
                mail.html.clone(),
            ))
            .map_err(|e| format!("cannot build the message: {e}"))?;
        let _ = ContentType::TEXT_PLAIN;
        match self.transport.send(message).await {
            Ok(response) => Ok(format!(
                "SMTP {} {}",
                response.code(),
                response.message().collect::<Vec<_>>().join(" ")
            )),
            Err(err) => Err(format!("SMTP: {err}")),
        }
    }
}

/// TLS for `host`: the system's roots, plus the CAs of `smtp_ca_file`.
fn tls_parameters(host: &str, settings: &MailSettings) -> anyhow::Result<TlsParameters> {
    let mut builder = TlsParameters::builder(host.to_owned());
    if let Some(path) = &settings.ca_file {
        let pem = std::fs::read(path)
            .with_context(|| format!("smtp_ca_file: cannot read {}", path.display()))?;
        let cas = Certificate::from_pem(&pem)
            .map_err(|e| anyhow::anyhow!("smtp_ca_file {}: {e}", path.display()))?;
        builder = builder.add_root_certificate(cas);
    }
    Ok(builder.build_rustls()?)
}

fn percent_decode(s: &str) -> String {
    url::form_urlencoded::parse(format!("x={s}").as_bytes())
        .next()
        .map(|(_, v)| v.into_owned())
        .unwrap_or_default()
}
