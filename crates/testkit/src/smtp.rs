//! An SMTP sink on a free port: speaks just enough SMTP (EHLO/HELO,
//! STARTTLS, AUTH PLAIN, MAIL, RCPT, DATA, RSET, NOOP, QUIT) to accept mail,
//! and keeps each message with its envelope and whether it came over TLS,
//! and each login with the same.
//!
//! [`SmtpSink::start`] speaks plain SMTP; [`SmtpSink::start_tls`] offers
//! STARTTLS (`smtp://`) or speaks TLS from the first byte (`smtps://`),
//! with a certificate for `localhost` from a CA of its own
//! ([`SmtpSink::ca_pem`]), which a client must be told to trust.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::io::{AsyncBufReadExt, AsyncRead, AsyncWrite, AsyncWriteExt, BufReader};
use tokio::net::{TcpListener, TcpStream};
use tokio_rustls::TlsAcceptor;

/// One mail the sink accepted.
#[derive(Debug, Clone)]
pub struct ReceivedMail {
    pub from: String,
    pub to: Vec<String>,
    /// The whole message as sent (headers and body, dot-unstuffed).
    pub data: String,
    /// Whether the session was encrypted when the mail was sent.
    pub tls: bool,
}

/// One AUTH PLAIN the sink accepted (any credentials are).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SmtpLogin {
    pub user: String,
    pub password: String,
    /// Whether the session was encrypted when the credentials were sent.
    pub tls: bool,
}

/// How the sink's sessions use TLS.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SinkTls {
    /// Offers STARTTLS after EHLO (`smtp://`).
    StartTls,
    /// TLS from the first byte (`smtps://`).
    Wrapper,
}

/// The sink; it stops when dropped.
pub struct SmtpSink {
    pub addr: SocketAddr,
    mails: Arc<Mutex<Vec<ReceivedMail>>>,
    logins: Arc<Mutex<Vec<SmtpLogin>>>,
    tls: Option<(SinkTls, String)>,
    task: tokio::task::JoinHandle<()>,
}

/// What the sessions record.
#[derive(Default)]
struct Record {
    mails: Arc<Mutex<Vec<ReceivedMail>>>,
    logins: Arc<Mutex<Vec<SmtpLogin>>>,
}

impl Drop for SmtpSink {
    fn drop(&mut self) {
        self.task.abort();
    }
}

#[derive(Clone)]
enum Mode {
    Plain,
    StartTls(TlsAcceptor),
    Wrapper(TlsAcceptor),
}

impl SmtpSink {
    /// A sink speaking plain SMTP (no STARTTLS offered).
    pub async fn start() -> Self {
        Self::serve(Mode::Plain, None).await
    }

    /// A sink speaking TLS as `tls` says, with a certificate for `localhost`
    /// signed by a CA generated for it ([`SmtpSink::ca_pem`]).
    pub async fn start_tls(tls: SinkTls) -> Self {
        let (acceptor, ca_pem) = localhost_tls();
        let mode = match tls {
            SinkTls::StartTls => Mode::StartTls(acceptor),
            SinkTls::Wrapper => Mode::Wrapper(acceptor),
        };
        Self::serve(mode, Some((tls, ca_pem))).await
    }

    async fn serve(mode: Mode, tls: Option<(SinkTls, String)>) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let addr = listener.local_addr().expect("bound");
        let record = Arc::new(Record::default());
        let (mails, logins) = (record.mails.clone(), record.logins.clone());
        let task = tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                let (record, mode) = (record.clone(), mode.clone());
                tokio::spawn(async move {
                    let _ = session(stream, mode, &record).await;
                });
            }
        });
        Self {
            addr,
            mails,
            logins,
            tls,
            task,
        }
    }

    /// The `smtp_url` of this sink: `smtp://127.0.0.1:port` for a plain
    /// sink, `smtp://localhost:port` or `smtps://localhost:port` (the name
    /// its certificate is for) for a TLS one.
    pub fn url(&self) -> String {
        match &self.tls {
            None => format!("smtp://{}", self.addr),
            Some((SinkTls::StartTls, _)) => format!("smtp://localhost:{}", self.addr.port()),
            Some((SinkTls::Wrapper, _)) => format!("smtps://localhost:{}", self.addr.port()),
        }
    }

    /// The PEM of the CA that signed a TLS sink's certificate.
    pub fn ca_pem(&self) -> Option<&str> {
        self.tls.as_ref().map(|(_, pem)| pem.as_str())
    }

    pub fn mails(&self) -> Vec<ReceivedMail> {
        self.mails.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }

    /// The credentials clients logged in with, in order.
    pub fn logins(&self) -> Vec<SmtpLogin> {
        self.logins
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    /// Waits until at least `n` mails came (panics after `within`).
    pub async fn wait_for(&self, n: usize, within: Duration) -> Vec<ReceivedMail> {
        let deadline = tokio::time::Instant::now() + within;
        loop {
            let got = self.mails();
            if got.len() >= n {
                return got;
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "expected {n} mails within {within:?}, got {}",
                got.len()
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
}

/// A CA of its own and a `localhost` certificate it signed: the acceptor,
/// and the CA's PEM for clients.
fn localhost_tls() -> (TlsAcceptor, String) {
    use rcgen::{BasicConstraints, CertificateParams, IsCa, Issuer, KeyPair};
    let ca_key = KeyPair::generate().expect("CA key");
    let mut ca_params = CertificateParams::new(Vec::<String>::new()).expect("CA params");
    ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    let ca_cert = ca_params.self_signed(&ca_key).expect("CA certificate");
    let issuer = Issuer::new(ca_params, ca_key);
    let key = KeyPair::generate().expect("key");
    let cert = CertificateParams::new(vec!["localhost".to_owned()])
        .expect("params")
        .signed_by(&key, &issuer)
        .expect("certificate");
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .expect("protocol versions")
        .with_no_client_auth()
        .with_single_cert(
            vec![cert.der().clone()],
            rustls::pki_types::PrivateKeyDer::Pkcs8(key.serialize_der().into()),
        )
        .expect("server config");
    (TlsAcceptor::from(Arc::new(config)), ca_cert.pem())
}

async fn session(stream: TcpStream, mode: Mode, mails: &Record) -> std::io::Result<()> {
    match mode {
        Mode::Plain => {
            let mut conn = BufReader::new(stream);
            greet(&mut conn).await?;
            dialogue(&mut conn, false, false, mails).await?;
        }
        Mode::Wrapper(acceptor) => {
            let mut conn = BufReader::new(acceptor.accept(stream).await?);
            greet(&mut conn).await?;
            dialogue(&mut conn, true, false, mails).await?;
        }
        Mode::StartTls(acceptor) => {
            let mut conn = BufReader::new(stream);
            greet(&mut conn).await?;
            if dialogue(&mut conn, false, true, mails).await? == Ended::StartTls {
                let mut conn = BufReader::new(acceptor.accept(conn.into_inner()).await?);
                dialogue(&mut conn, true, false, mails).await?;
            }
        }
    }
    Ok(())
}

#[derive(Debug, PartialEq, Eq)]
enum Ended {
    Closed,
    StartTls,
}

async fn greet<S: AsyncRead + AsyncWrite + Unpin>(conn: &mut BufReader<S>) -> std::io::Result<()> {
    conn.get_mut().write_all(b"220 sink ESMTP ready\r\n").await
}

/// Serves commands until the client quits, hangs up, or (when `offer_tls`)
/// starts TLS.
async fn dialogue<S: AsyncRead + AsyncWrite + Unpin>(
    conn: &mut BufReader<S>,
    tls: bool,
    offer_tls: bool,
    record: &Record,
) -> std::io::Result<Ended> {
    let (mut from, mut to) = (String::new(), Vec::new());
    let mut line = String::new();
    loop {
        line.clear();
        if conn.read_line(&mut line).await? == 0 {
            return Ok(Ended::Closed);
        }
        let command = line.trim_end_matches(['\r', '\n']).to_owned();
        let upper = command.to_ascii_uppercase();
        let reply: &[u8] = if upper.starts_with("EHLO") {
            if offer_tls {
                b"250-sink\r\n250-8BITMIME\r\n250-STARTTLS\r\n250-AUTH PLAIN\r\n250 SMTPUTF8\r\n"
            } else {
                b"250-sink\r\n250-8BITMIME\r\n250-AUTH PLAIN\r\n250 SMTPUTF8\r\n"
            }
        } else if upper.starts_with("HELO") {
            b"250 sink\r\n"
        } else if upper == "STARTTLS" && offer_tls {
            conn.get_mut().write_all(b"220 go ahead\r\n").await?;
            return Ok(Ended::StartTls);
        } else if upper.starts_with("AUTH PLAIN ") {
            match plain_credentials(&command[11..]) {
                Some((user, password)) => {
                    record
                        .logins
                        .lock()
                        .unwrap_or_else(|e| e.into_inner())
                        .push(SmtpLogin {
                            user,
                            password,
                            tls,
                        });
                    b"235 2.7.0 accepted\r\n"
                }
                None => b"501 bad AUTH PLAIN response\r\n",
            }
        } else if upper.starts_with("MAIL FROM:") {
            from = command[10..].trim().trim_matches(['<', '>']).to_owned();
            to.clear();
            b"250 OK\r\n"
        } else if upper.starts_with("RCPT TO:") {
            to.push(command[8..].trim().trim_matches(['<', '>']).to_owned());
            b"250 OK\r\n"
        } else if upper == "DATA" {
            conn.get_mut().write_all(b"354 go ahead\r\n").await?;
            let data = read_data(conn).await?;
            record
                .mails
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .push(ReceivedMail {
                    from: from.clone(),
                    to: to.clone(),
                    data,
                    tls,
                });
            b"250 OK queued\r\n"
        } else if upper == "QUIT" {
            conn.get_mut().write_all(b"221 bye\r\n").await?;
            return Ok(Ended::Closed);
        } else if upper.starts_with("RSET") || upper.starts_with("NOOP") {
            b"250 OK\r\n"
        } else {
            b"502 not implemented\r\n"
        };
        conn.get_mut().write_all(reply).await?;
    }
}

/// The user and password of an AUTH PLAIN initial response (base64 of
/// `authzid NUL user NUL password`).
fn plain_credentials(response: &str) -> Option<(String, String)> {
    use base64::Engine as _;
    let raw = base64::engine::general_purpose::STANDARD
        .decode(response.trim())
        .ok()?;
    let mut parts = raw.split(|b| *b == 0).skip(1);
    let user = String::from_utf8(parts.next()?.to_vec()).ok()?;
    let password = String::from_utf8(parts.next()?.to_vec()).ok()?;
    Some((user, password))
}

/// The message after DATA, up to the lone dot, dot-unstuffed.
async fn read_data<S: AsyncRead + AsyncWrite + Unpin>(
    conn: &mut BufReader<S>,
) -> std::io::Result<String> {
    let mut data = String::new();
    let mut line = String::new();
    loop {
        line.clear();
        if conn.read_line(&mut line).await? == 0 {
            return Ok(data);
        }
        let text = line.trim_end_matches(['\r', '\n']);
        if text == "." {
            return Ok(data);
        }
        data.push_str(text.strip_prefix('.').unwrap_or(text));
        data.push('\n');
    }
}
