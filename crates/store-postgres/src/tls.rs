//! TLS for the connections that `tokio-postgres` opens (the readers), with
//! the same meaning of the URL's `sslmode`, `sslrootcert`, `sslcert` and
//! `sslkey` (or `PGSSLROOTCERT`, `PGSSLCERT`, `PGSSLKEY`) as sqlx gives them
//! for the pool, the listener and the token writers, so that every
//! connection of an instance is encrypted and checked alike:
//!
//! - `disable`, `allow`: no TLS;
//! - `prefer` (the default): TLS when the server offers it;
//! - `require`: TLS or no connection, the certificate not checked;
//! - `verify-ca`: the certificate must chain to a trusted root (the
//!   Mozilla roots, and `sslrootcert`'s), for any host name;
//! - `verify-full`: as `verify-ca`, and issued for the host connected to.

use std::path::Path;
use std::sync::Arc;

use keyward_core::error::StoreError;
use keyward_core::store::StoreResult;
use rustls::client::WebPkiServerVerifier;
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::{CryptoProvider, verify_tls12_signature, verify_tls13_signature};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName, UnixTime};
use rustls::{
    CertificateError, ClientConfig, DigitallySignedStruct, RootCertStore, SignatureScheme,
};
use sqlx::postgres::PgSslMode;
use tokio_postgres::config::SslMode;
use tokio_postgres_rustls::MakeRustlsConnect;

/// Where the URL (or the environment) says to find certificates: each a
/// file's path, or (for certificates) PEM text.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub(crate) struct CertPaths {
    /// Roots trusted besides the Mozilla ones (`sslrootcert`).
    pub root: Option<String>,
    /// The client's certificate chain and key (`sslcert`, `sslkey`).
    pub client: Option<(String, String)>,
}

impl CertPaths {
    /// Reads the paths from the URL's query, under the names sqlx accepts,
    /// or else from the environment variables libpq and sqlx read.
    pub(crate) fn from_url(url: &url::Url) -> StoreResult<Self> {
        let query = |names: &[&str], env: &str| {
            url.query_pairs()
                .find(|(key, _)| names.contains(&key.as_ref()))
                .map(|(_, value)| value.into_owned())
                .or_else(|| std::env::var(env).ok())
        };
        let root = query(&["sslrootcert", "ssl-root-cert", "ssl-ca"], "PGSSLROOTCERT");
        let cert = query(&["sslcert", "ssl-cert"], "PGSSLCERT");
        let key = query(&["sslkey", "ssl-key"], "PGSSLKEY");
        let client = match (cert, key) {
            (Some(cert), Some(key)) => Some((cert, key)),
            (None, None) => None,
            _ => {
                return Err(StoreError::Database(
                    "bad PostgreSQL URL: sslcert and sslkey must be given together".into(),
                ));
            }
        };
        Ok(Self { root, client })
    }
}

/// The `tokio-postgres` TLS mode for `mode`, as sqlx treats it.
pub(crate) fn ssl_mode(mode: PgSslMode) -> SslMode {
    match mode {
        PgSslMode::Disable | PgSslMode::Allow => SslMode::Disable,
        PgSslMode::Prefer => SslMode::Prefer,
        PgSslMode::Require | PgSslMode::VerifyCa | PgSslMode::VerifyFull => SslMode::Require,
    }
}

/// The connector for `mode`: the certificate checked as the mode says, the
/// client's certificate presented when `paths` name one.
pub(crate) fn connector(mode: PgSslMode, paths: &CertPaths) -> StoreResult<MakeRustlsConnect> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let builder = ClientConfig::builder_with_provider(provider.clone())
        .with_safe_default_protocol_versions()
        .map_err(tls_error)?;
    let verifier: Arc<dyn ServerCertVerifier> = match mode {
        PgSslMode::VerifyCa | PgSslMode::VerifyFull => {
            let mut roots = RootCertStore::empty();
            roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned());
            if let Some(path) = &paths.root {
                for cert in certificates(path)? {
                    roots.add(cert).map_err(tls_error)?;
                }
            }
            let webpki = WebPkiServerVerifier::builder_with_provider(Arc::new(roots), provider)
                .build()
                .map_err(tls_error)?;
            if matches!(mode, PgSslMode::VerifyFull) {
                webpki
            } else {
                Arc::new(AnyHostName(webpki))
            }
        }
        _ => Arc::new(Unchecked(provider)),
    };
    let builder = builder
        .dangerous()
        .with_custom_certificate_verifier(verifier);
    let config = match &paths.client {
        Some((cert, key)) => builder
            .with_client_auth_cert(certificates(cert)?, private_key(key)?)
            .map_err(tls_error)?,
        None => builder.with_no_client_auth(),
    };
    Ok(MakeRustlsConnect::new(config))
}

/// The certificates in the PEM file at `source`, or in `source` itself when
/// it is PEM text (as sqlx reads `PGSSLROOTCERT` and `PGSSLCERT`).
fn certificates(source: &str) -> StoreResult<Vec<CertificateDer<'static>>> {
    let certs = if source.contains("-----BEGIN CERTIFICATE-----") {
        CertificateDer::pem_slice_iter(source.as_bytes()).collect::<Result<Vec<_>, _>>()
    } else {
        CertificateDer::pem_file_iter(Path::new(source))
            .and_then(|certs| certs.collect::<Result<Vec<_>, _>>())
    };
    let shown = if source.starts_with('-') {
        "the PEM text given"
    } else {
        source
    };
    certs.map_err(|e| StoreError::Database(format!("cannot read the certificates in {shown}: {e}")))
}

fn private_key(path: &str) -> StoreResult<PrivateKeyDer<'static>> {
    PrivateKeyDer::from_pem_file(Path::new(path))
        .map_err(|e| StoreError::Database(format!("cannot read the private key in {path}: {e}")))
}

fn tls_error(e: impl std::fmt::Display) -> StoreError {
    StoreError::Database(format!("PostgreSQL TLS: {e}"))
}

/// `verify-ca`: the chain must be trusted, whatever host name it names.
#[derive(Debug)]
struct AnyHostName(Arc<WebPkiServerVerifier>);

impl ServerCertVerifier for AnyHostName {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        ocsp_response: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        match self
            .0
            .verify_server_cert(end_entity, intermediates, server_name, ocsp_response, now)
        {
            Err(rustls::Error::InvalidCertificate(
                CertificateError::NotValidForName | CertificateError::NotValidForNameContext { .. },
            )) => Ok(ServerCertVerified::assertion()),
            other => other,
        }
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.0.verify_tls12_signature(message, cert, dss)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.0.verify_tls13_signature(message, cert, dss)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.0.supported_verify_schemes()
    }
}

/// `prefer` and `require`: encrypted, the certificate taken as it comes
/// (libpq's meaning, and sqlx's); the handshake's signatures are still
/// checked against it.
#[derive(Debug)]
struct Unchecked(Arc<CryptoProvider>);

impl ServerCertVerifier for Unchecked {
    fn verify_server_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        verify_tls12_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        verify_tls13_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.0.signature_verification_algorithms.supported_schemes()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn paths(url: &str) -> StoreResult<CertPaths> {
        CertPaths::from_url(&url::Url::parse(url).unwrap())
    }

    #[test]
    fn the_paths_are_read_under_the_names_sqlx_accepts() {
        let both = paths("postgres://db/k?ssl-ca=/ca.pem&sslcert=/c.pem&ssl-key=/k.pem").unwrap();
        assert_eq!(both.root.as_deref(), Some("/ca.pem"));
        assert_eq!(both.client, Some(("/c.pem".into(), "/k.pem".into())));
        let root = paths("postgres://db/k?sslrootcert=/r.pem").unwrap();
        assert_eq!(root.root.as_deref(), Some("/r.pem"));
        let err = paths("postgres://db/k?sslcert=/c.pem").unwrap_err();
        assert!(err.to_string().contains("together"), "{err}");
    }

    #[test]
    fn a_missing_root_file_is_named_and_pem_text_is_read() {
        let missing = CertPaths {
            root: Some("/nonexistent/ca.pem".into()),
            client: None,
        };
        let err = connector(PgSslMode::VerifyFull, &missing).err().unwrap();
        assert!(err.to_string().contains("/nonexistent/ca.pem"), "{err}");
        // `require` reads no roots at all.
        assert!(connector(PgSslMode::Require, &missing).is_ok());
        let pem = rcgen::generate_simple_self_signed(vec!["db.internal".into()])
            .unwrap()
            .cert
            .pem();
        assert_eq!(certificates(&pem).unwrap().len(), 1);
    }
}
