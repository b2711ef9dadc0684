//! TLS for PostgreSQL connections with rustls, following libpq's `sslmode` semantics:
//! `require` encrypts without checking the certificate, `verify-ca` checks the chain against
//! trusted roots, `verify-full` also checks the host name. Roots come from `sslrootcert`, then
//! `~/.postgresql/root.crt`, then the system store (with Mozilla's roots as a fallback for
//! minimal containers that have none), which is what managed databases with public CAs need.

use std::path::{Path, PathBuf};
use std::sync::{Arc, OnceLock};

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::client::WebPkiServerVerifier;
use rustls::crypto::CryptoProvider;
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{CertificateError, DigitallySignedStruct, RootCertStore, SignatureScheme};

use super::conn_spec::{RootCert, SslMode};

/// Why a TLS configuration could not be built.
#[derive(Debug, thiserror::Error)]
pub enum TlsConfigError {
    #[error("cannot read root certificate file {path}: {source}")]
    ReadRootCert {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("root certificate file {path} holds no PEM certificate")]
    EmptyRootCert { path: PathBuf },
    #[error("no trusted root certificates available for sslmode={mode}")]
    NoRoots { mode: &'static str },
    #[error("cannot build TLS configuration: {0}")]
    Rustls(#[from] rustls::Error),
}

impl TlsConfigError {
    pub fn hint(&self) -> Option<&'static str> {
        match self {
            TlsConfigError::ReadRootCert { .. } | TlsConfigError::EmptyRootCert { .. } => Some(
                "point sslrootcert (or PGSSLROOTCERT) at the PEM file your provider publishes for its CA",
            ),
            TlsConfigError::NoRoots { .. } => Some(
                "install ca-certificates, or pass sslrootcert=/path/to/ca.pem in the connection URL",
            ),
            TlsConfigError::Rustls(_) => None,
        }
    }
}

/// The one crypto provider of the whole binary.
pub fn provider() -> Arc<CryptoProvider> {
    static PROVIDER: OnceLock<Arc<CryptoProvider>> = OnceLock::new();
    PROVIDER
        .get_or_init(|| Arc::new(rustls::crypto::ring::default_provider()))
        .clone()
}

/// A rustls client configuration for `mode`.
pub fn client_config(
    mode: SslMode,
    rootcert: Option<&RootCert>,
) -> Result<rustls::ClientConfig, TlsConfigError> {
    let builder = rustls::ClientConfig::builder_with_provider(provider())
        .with_safe_default_protocol_versions()?;
    let config = if mode.verifies_chain() {
        let roots = Arc::new(load_roots(mode, rootcert)?);
        let webpki = WebPkiServerVerifier::builder_with_provider(roots, provider())
            .build()
            .map_err(|e| rustls::Error::General(e.to_string()))?;
        if mode == SslMode::VerifyFull {
            builder.with_webpki_verifier(webpki).with_no_client_auth()
        } else {
            builder
                .dangerous()
                .with_custom_certificate_verifier(Arc::new(ChainOnly { inner: webpki }))
                .with_no_client_auth()
        }
    } else {
        builder
            .dangerous()
            .with_custom_certificate_verifier(Arc::new(EncryptOnly {
                provider: provider(),
            }))
            .with_no_client_auth()
    };
    Ok(config)
}

fn load_roots(mode: SslMode, rootcert: Option<&RootCert>) -> Result<RootCertStore, TlsConfigError> {
    let mut store = RootCertStore::empty();
    let default_file = std::env::var_os("HOME")
        .map(|h| Path::new(&h).join(".postgresql/root.crt"))
        .filter(|p| p.exists());
    match (rootcert, default_file) {
        (Some(RootCert::File(path)), _) => add_pem_file(&mut store, path)?,
        (None, Some(path)) => add_pem_file(&mut store, &path)?,
        (Some(RootCert::System), _) | (None, None) => {
            let native = rustls_native_certs::load_native_certs();
            for cert in native.certs {
                // A single malformed system certificate must not disable all the others.
                let _ = store.add(cert);
            }
            if store.is_empty() {
                store.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned());
            }
        }
    }
    if store.is_empty() {
        return Err(TlsConfigError::NoRoots {
            mode: mode.as_str(),
        });
    }
    Ok(store)
}

fn add_pem_file(store: &mut RootCertStore, path: &Path) -> Result<(), TlsConfigError> {
    let pem = std::fs::read(path).map_err(|source| TlsConfigError::ReadRootCert {
        path: path.to_path_buf(),
        source,
    })?;
    let mut added = 0;
    for cert in rustls_pemfile::certs(&mut pem.as_slice()).flatten() {
        store.add(cert)?;
        added += 1;
    }
    if added == 0 {
        return Err(TlsConfigError::EmptyRootCert {
            path: path.to_path_buf(),
        });
    }
    Ok(())
}

/// `verify-ca`: the chain must lead to a trusted root; the host name is not checked.
#[derive(Debug)]
struct ChainOnly {
    inner: Arc<WebPkiServerVerifier>,
}

impl ServerCertVerifier for ChainOnly {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        ocsp: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        match self
            .inner
            .verify_server_cert(end_entity, intermediates, server_name, ocsp, now)
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
        self.inner.verify_tls12_signature(message, cert, dss)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.inner.verify_tls13_signature(message, cert, dss)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.inner.supported_verify_schemes()
    }
}

/// `prefer`/`require`: encrypted, certificate not checked (libpq's behaviour without a root
/// cert). Handshake signatures are still verified so the session keys are sound.
#[derive(Debug)]
struct EncryptOnly {
    provider: Arc<CryptoProvider>,
}

impl ServerCertVerifier for EncryptOnly {
    fn verify_server_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp: &[u8],
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
        rustls::crypto::verify_tls12_signature(
            message,
            cert,
            dss,
            &self.provider.signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(
            message,
            cert,
            dss,
            &self.provider.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.provider
            .signature_verification_algorithms
            .supported_schemes()
    }
}
