//! HTTP transport: one keep-alive agent shared by every call, TLS always verified.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use cloud_pay_protocol::Endpoint;
use ureq::tls::{Certificate, RootCerts, TlsConfig, TlsProvider};

use crate::error::SdkError;

/// Largest reply body read (listings can be large; anything beyond is a broken reply).
const MAX_REPLY_BYTES: u64 = 16 * 1024 * 1024;

/// A failed exchange, split by whether the request may have reached the server.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TransportError {
    /// Nothing was sent (connection refused, DNS, connect timeout, TLS handshake).
    NotSent(String),
    /// The request may have been processed; only the reply is missing or unusable.
    MaybeSent(String),
}

impl std::fmt::Display for TransportError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            TransportError::NotSent(m) => write!(f, "request not sent: {m}"),
            TransportError::MaybeSent(m) => write!(f, "no usable reply: {m}"),
        }
    }
}

/// The shared HTTP agent.
pub struct Transport {
    agent: ureq::Agent,
    /// Milliseconds after `created` of the last request (for the keep-alive pinger).
    last_used_ms: AtomicU64,
    created: Instant,
}

impl Transport {
    /// Builds the agent: Mozilla roots plus the configured CA, the configured timeouts,
    /// connections kept alive and reused.
    pub fn new(extra_ca_pem: Option<&str>, connect_timeout: Duration, timeout: Duration) -> Result<Transport, SdkError> {
        let mut roots: Vec<Certificate<'static>> =
            webpki_root_certs::TLS_SERVER_ROOT_CERTS.iter().map(|c| Certificate::from_der(c.as_ref()).to_owned()).collect();
        if let Some(pem) = extra_ca_pem {
            let before = roots.len();
            for item in ureq::tls::parse_pem(pem.as_bytes()) {
                if let Ok(ureq::tls::PemItem::Certificate(c)) = item {
                    roots.push(c.to_owned());
                }
            }
            if roots.len() == before {
                return Err(SdkError::BadConfig("common_conf.ca_file: no PEM certificate found".into()));
            }
        }
        let tls = TlsConfig::builder()
            .provider(TlsProvider::Rustls)
            .root_certs(RootCerts::Specific(Arc::new(roots)))
            .build();
        let agent = ureq::Agent::config_builder()
            .tls_config(tls)
            .http_status_as_error(false)
            .timeout_connect(Some(connect_timeout))
            .timeout_global(Some(timeout))
            // Idle connections exist only if that many calls ran at once; a smaller pool
            // closes and re-opens (TLS handshake) connections under concurrency.
            .max_idle_connections(64)
            .max_idle_connections_per_host(64)
            .max_idle_age(Duration::from_secs(110))
            .user_agent(format!("cloud-pay-sdk-rust/{}", env!("CARGO_PKG_VERSION")))
            .build()
            .new_agent();
        Ok(Transport { agent, last_used_ms: AtomicU64::new(0), created: Instant::now() })
    }

    /// POSTs a JSON body to an endpoint below `base` and returns the reply body of an HTTP 200.
    pub fn post(&self, base: &str, endpoint: Endpoint, body: &str) -> Result<Vec<u8>, TransportError> {
        self.last_used_ms.store(self.created.elapsed().as_millis() as u64, Ordering::Relaxed);
        let url = format!("{base}{}", endpoint.path());
        let mut resp = self
            .agent
            .post(&url)
            .header("Content-Type", "application/json")
            .send(body)
            .map_err(classify)?;
        let status = resp.status().as_u16();
        let bytes = resp.body_mut().with_config().limit(MAX_REPLY_BYTES).read_to_vec().map_err(classify)?;
        if status != 200 {
            return Err(TransportError::MaybeSent(format!("HTTP {status} from {}", endpoint.path())));
        }
        Ok(bytes)
    }
}

impl Transport {
    /// Time since the last request started (since creation when there was none).
    pub fn idle_for(&self) -> Duration {
        self.created.elapsed().saturating_sub(Duration::from_millis(self.last_used_ms.load(Ordering::Relaxed)))
    }
}

fn classify(e: ureq::Error) -> TransportError {
    use std::io::ErrorKind;
    match &e {
        ureq::Error::ConnectionFailed | ureq::Error::HostNotFound | ureq::Error::Tls(_) | ureq::Error::Rustls(_) => {
            TransportError::NotSent(e.to_string())
        }
        ureq::Error::Timeout(ureq::Timeout::Connect | ureq::Timeout::Resolve) => {
            TransportError::NotSent(e.to_string())
        }
        ureq::Error::Io(io) if matches!(io.kind(), ErrorKind::ConnectionRefused | ErrorKind::AddrNotAvailable) => {
            TransportError::NotSent(e.to_string())
        }
        _ => TransportError::MaybeSent(e.to_string()),
    }
}
