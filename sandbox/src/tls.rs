//! TLS for the HTTPS listener: a generated CA + server certificate (kept in the state dir so
//! clients can keep trusting the same CA across restarts), or a PEM chain and key loaded from disk.

use std::io;
use std::path::Path;
use std::sync::Arc;

use rcgen::{BasicConstraints, CertificateParams, DnType, IsCa, Issuer, KeyPair, KeyUsagePurpose};
use rustls::ServerConfig;
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, PrivateKeyDer};

const CA_NAME: &str = "Cloud Pay Sandbox CA (TEST-ONLY)";

/// The TLS server configuration and the CA that clients should trust.
pub struct TlsSetup {
    /// rustls server config.
    pub config: Arc<ServerConfig>,
    /// PEM of the CA (empty when loaded certificates came without one).
    pub ca_pem: String,
}

fn err(e: impl std::fmt::Display) -> io::Error {
    io::Error::other(format!("sandbox TLS: {e}"))
}

fn server_config(chain: Vec<CertificateDer<'static>>, key: PrivateKeyDer<'static>) -> io::Result<Arc<ServerConfig>> {
    let cfg = ServerConfig::builder_with_provider(Arc::new(rustls::crypto::ring::default_provider()))
        .with_safe_default_protocol_versions()
        .map_err(err)?
        .with_no_client_auth()
        .with_single_cert(chain, key)
        .map_err(err)?;
    Ok(Arc::new(cfg))
}

fn ca_params() -> io::Result<CertificateParams> {
    let mut ca = CertificateParams::new(Vec::<String>::new()).map_err(err)?;
    ca.distinguished_name.push(DnType::CommonName, CA_NAME);
    ca.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    ca.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign, KeyUsagePurpose::DigitalSignature];
    Ok(ca)
}

/// Uses `<dir>/ca-key.pem` + `<dir>/ca.pem` if both exist, else makes a new CA and writes them;
/// then issues a fresh server certificate for `localhost` and `127.0.0.1`.
pub fn generate(dir: &Path) -> io::Result<TlsSetup> {
    let (key_path, ca_path) = (dir.join("ca-key.pem"), dir.join("ca.pem"));
    let existing = match (std::fs::read_to_string(&key_path), std::fs::read_to_string(&ca_path)) {
        (Ok(k), Ok(c)) => KeyPair::from_pem(&k).ok().map(|k| (k, c)),
        _ => None,
    };
    let params = ca_params()?;
    let (issuer, ca_pem) = match existing {
        // Same key and subject: certificates issued now chain to the CA file clients already have.
        Some((key, pem)) => (Issuer::new(params, key), pem),
        None => {
            let key = KeyPair::generate().map_err(err)?;
            let cert = params.self_signed(&key).map_err(err)?;
            let pem = cert.pem();
            std::fs::write(&key_path, key.serialize_pem())?;
            std::fs::write(&ca_path, &pem)?;
            (Issuer::new(params, key), pem)
        }
    };
    let srv_key = KeyPair::generate().map_err(err)?;
    let mut srv = CertificateParams::new(vec!["localhost".to_owned(), "127.0.0.1".to_owned()]).map_err(err)?;
    srv.distinguished_name.push(DnType::CommonName, "cloud-pay-sandbox");
    let srv_cert = srv.signed_by(&srv_key, &issuer).map_err(err)?;
    let key = PrivateKeyDer::Pkcs8(srv_key.serialize_der().into());
    Ok(TlsSetup { config: server_config(vec![srv_cert.der().clone()], key)?, ca_pem })
}

/// Loads a PEM certificate chain and private key.
pub fn load(cert: &Path, key: &Path) -> io::Result<TlsSetup> {
    let chain: Vec<CertificateDer<'static>> =
        CertificateDer::pem_file_iter(cert).map_err(err)?.collect::<Result<_, _>>().map_err(err)?;
    if chain.is_empty() {
        return Err(err(format!("no certificate in {}", cert.display())));
    }
    let key = PrivateKeyDer::from_pem_file(key).map_err(err)?;
    Ok(TlsSetup { config: server_config(chain, key)?, ca_pem: String::new() })
}
