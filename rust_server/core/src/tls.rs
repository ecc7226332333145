//! TLS for the listener: load the configured certificate chain and key once at startup.
//!
//! rustls with the ring provider, TLS 1.2 or later, no client certificates
//! (spec/relay.md §3.8, §4.12). `remote_addr` stays the TCP peer address.

use std::sync::Arc;

use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use tokio_rustls::TlsAcceptor;

use crate::error::RelayError;

/// Builds the acceptor for `cert_file` (PEM chain) and `key_file` (PEM private key).
///
/// # Errors
///
/// [`RelayError::Tls`] when a file cannot be read or parsed, or the key does not fit.
pub fn acceptor(cert_file: &str, key_file: &str) -> Result<TlsAcceptor, RelayError> {
    let certs: Vec<CertificateDer<'static>> = CertificateDer::pem_file_iter(cert_file)
        .and_then(Iterator::collect)
        .map_err(|e| RelayError::Tls(format!("cannot read certificates from {cert_file}: {e}")))?;
    if certs.is_empty() {
        return Err(RelayError::Tls(format!(
            "no certificate found in {cert_file}"
        )));
    }
    let key = PrivateKeyDer::from_pem_file(key_file).map_err(|e| {
        RelayError::Tls(format!("cannot read the private key from {key_file}: {e}"))
    })?;
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| RelayError::Tls(e.to_string()))?
        .with_no_client_auth()
        .with_single_cert(certs, key)
        .map_err(|e| RelayError::Tls(format!("the certificate and key do not fit: {e}")))?;
    Ok(TlsAcceptor::from(Arc::new(config)))
}
