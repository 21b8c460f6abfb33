//! TLS at the gateway (rustls on ring): a certificate chain and key from PEM files, ALPN offering
//! HTTP/2 and HTTP/1.1, so clients get `h2` over TLS when they support it.

use std::path::Path;
use std::sync::Arc;

use rustls::ServerConfig;
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, PrivateKeyDer};

/// Why the gateway's TLS could not be set up.
#[derive(Debug, thiserror::Error)]
pub enum TlsError {
    #[error("cannot read the TLS certificate chain {path}: {message}")]
    Certificates { path: String, message: String },
    #[error("cannot read the TLS private key {path}: {message}")]
    Key { path: String, message: String },
    #[error("the TLS certificate and key do not work together: {0}")]
    Config(String),
}

/// The server configuration for a certificate chain and its key, both PEM files.
pub fn server_config(certificates: &Path, key: &Path) -> Result<Arc<ServerConfig>, TlsError> {
    let chain: Vec<CertificateDer<'static>> =
        CertificateDer::pem_file_iter(certificates).and_then(|items| items.collect::<Result<_, _>>()).map_err(
            |error| TlsError::Certificates { path: certificates.display().to_string(), message: error.to_string() },
        )?;
    if chain.is_empty() {
        return Err(TlsError::Certificates {
            path: certificates.display().to_string(),
            message: "no CERTIFICATE block in it".to_string(),
        });
    }
    let key = PrivateKeyDer::from_pem_file(key)
        .map_err(|error| TlsError::Key { path: key.display().to_string(), message: error.to_string() })?;
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut config = ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|error| TlsError::Config(error.to_string()))?
        .with_no_client_auth()
        .with_single_cert(chain, key)
        .map_err(|error| TlsError::Config(error.to_string()))?;
    config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    Ok(Arc::new(config))
}
