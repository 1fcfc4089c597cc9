//! HTTP transport: a thin adapter over ureq 3 for the one exchange the SDK makes — a JSON POST
//! to a few known hosts — with TLS always verified (rustls, no way to turn it off).
//!
//! ureq does the HTTP: keep-alive pool, CONNECT proxies, framing, limits, deadlines. This module
//! adds only what the money rules need and ureq cannot know: which side of "the request may have
//! reached the server" a failure is on (a payment that may have been sent is never "failed"), a
//! cap on every byte the peer sends, and a resolver that does not spawn a thread per request.

use std::cell::Cell;
use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use cloud_pay_protocol::Endpoint;
use parking_lot::Mutex;
use rustls::pki_types::CertificateDer;
use rustls::pki_types::pem::PemObject;
use ureq::unversioned::resolver::{DefaultResolver, ResolvedSocketAddrs, Resolver};
use ureq::unversioned::transport::{
    Buffers, ConnectProxyConnector, ConnectionDetails, Connector, NextTimeout, RustlsConnector, TcpConnector,
    Transport as UreqTransport,
};

use crate::error::SdkError;
use crate::secret::Secret;

/// Largest reply body (listings can be large; anything beyond is a broken reply).
const MAX_REPLY_BYTES: usize = 16 * 1024 * 1024;
/// Largest reply head (status line and headers).
const MAX_HEAD_BYTES: usize = 64 * 1024;
/// Every byte the peer may send for one request: body, chunk framing, trailers and head. A peer
/// that streams endless trailers or chunk-size lines is cut off here, not at the deadline.
const MAX_RAW_BYTES: usize = MAX_REPLY_BYTES + MAX_REPLY_BYTES / 8 + MAX_HEAD_BYTES;
/// Idle connections kept. They only exist if that many calls ran at once; a smaller pool
/// would close and re-open (TCP and TLS handshakes) connections under concurrency.
const MAX_IDLE: usize = 64;
/// An idle connection older than this is closed rather than reused: servers commonly drop
/// idle connections after 60–120 s, and a request on a dropped one would be "maybe sent".
const MAX_IDLE_AGE: Duration = Duration::from_secs(110);
/// How long a resolved host name is reused before it is looked up again.
const DNS_TTL: Duration = Duration::from_secs(60);

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

/// How far the current call on this thread got. ureq runs a call on the calling thread, so
/// the connectors and the transport below record it here and `post` reads it after a failure.
#[derive(Clone, Copy, Default, PartialEq, Eq)]
enum Phase {
    /// Resolving or connecting (to the service or the proxy, CONNECT included).
    #[default]
    Connecting,
    /// TCP (or the tunnel) is up; the TLS handshake with the service runs.
    Handshake,
    /// Request bytes were handed to the connection: the server may act on them.
    Sent,
}

thread_local! {
    static PHASE: Cell<Phase> = const { Cell::new(Phase::Connecting) };
    /// Bytes received for the current call (after TLS).
    static RECEIVED: Cell<usize> = const { Cell::new(0) };
}

/// What a server's TLS certificate must chain to.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Trust {
    /// Mozilla's roots, built in, plus the PEM text of `ca_file` when one is configured.
    Bundled(Option<String>),
    /// The operating system's trust store (`use_system_roots`), through ureq's platform
    /// verifier: for shops whose network inspects TLS with a CA their IT installed there.
    System,
}

/// The shared HTTP client: one ureq agent (its pool serves any number of hosts).
pub struct Transport {
    agent: ureq::Agent,
    tls: ureq::tls::TlsConfig,
    connect_timeout: Duration,
    timeout: Duration,
    /// Milliseconds after `created` of the last request (for the keep-alive pinger).
    last_used_ms: AtomicU64,
    created: Instant,
    proxy: Option<Proxy>,
    /// Why the agent for the configured proxy could not be built: every request then fails
    /// as not sent rather than going around the proxy.
    broken: Option<String>,
}

impl Transport {
    /// Builds the client: the roots `trust` names, the configured timeouts
    /// (`timeout` bounds a whole request, from resolving the host to the last reply byte;
    /// `connect_timeout` bounds resolving, connecting, the proxy tunnel and the TLS handshake).
    pub fn new(trust: &Trust, connect_timeout: Duration, timeout: Duration) -> Result<Transport, SdkError> {
        let roots = match trust {
            Trust::System => ureq::tls::RootCerts::PlatformVerifier,
            Trust::Bundled(extra_ca_pem) => {
                let mut roots: Vec<ureq::tls::Certificate<'static>> = webpki_root_certs::TLS_SERVER_ROOT_CERTS
                    .iter()
                    .map(|c| ureq::tls::Certificate::from_der(c.as_ref()).to_owned())
                    .collect();
                if let Some(pem) = extra_ca_pem {
                    let before = roots.len();
                    for c in CertificateDer::pem_slice_iter(pem.as_bytes()).filter_map(Result::ok) {
                        roots.push(ureq::tls::Certificate::from_der(c.as_ref()).to_owned());
                    }
                    if roots.len() == before {
                        return Err(SdkError::BadConfig("common_conf.ca_file: no PEM certificate found".into()));
                    }
                }
                ureq::tls::RootCerts::Specific(Arc::new(roots))
            }
        };
        let tls = ureq::tls::TlsConfig::builder().root_certs(roots).build();
        let mut t = Transport {
            agent: ureq::Agent::new_with_defaults(),
            tls,
            connect_timeout,
            timeout,
            last_used_ms: AtomicU64::new(0),
            created: Instant::now(),
            proxy: None,
            broken: None,
        };
        t.agent = t.build_agent()?;
        Ok(t)
    }

    /// Sends every request through `proxy` (None: directly).
    pub fn with_proxy(mut self, proxy: Option<Proxy>) -> Transport {
        self.proxy = proxy;
        match self.build_agent() {
            Ok(agent) => self.agent = agent,
            Err(e) => self.broken = Some(e.to_string()),
        }
        self
    }

    fn build_agent(&self) -> Result<ureq::Agent, SdkError> {
        let proxy = match &self.proxy {
            // ureq decodes the percent-escapes of the user and password once, as we do.
            Some(p) => Some(
                ureq::Proxy::new(&p.url())
                    .map_err(|_| SdkError::BadConfig(format!("common_conf.proxy: unusable proxy {p:?}")))?,
            ),
            None => None,
        };
        let config = ureq::Agent::config_builder()
            .tls_config(self.tls.clone())
            // Never the environment's HTTP_PROXY: only what common_conf.proxy says.
            .proxy(proxy)
            .http_status_as_error(false)
            .max_redirects(0)
            .user_agent(concat!("cloud-pay-sdk-rust/", env!("CARGO_PKG_VERSION")))
            .accept("application/json")
            .max_response_header_size(MAX_HEAD_BYTES)
            .max_idle_connections(MAX_IDLE)
            .max_idle_connections_per_host(MAX_IDLE)
            .max_idle_age(MAX_IDLE_AGE)
            // One deadline for the whole call; the connection phase has its own, shorter one.
            .timeout_global(Some(self.timeout))
            .timeout_resolve(Some(self.connect_timeout))
            .timeout_connect(Some(self.connect_timeout))
            .build();
        let connector =
            ().chain(ConnectProxyConnector::default())
                .chain(TcpConnector::default())
                .chain(Mark { proxied: self.proxy.is_some(), handshake: true })
                .chain(RustlsConnector::default())
                .chain(Mark { proxied: self.proxy.is_some(), handshake: false });
        Ok(ureq::Agent::with_parts(config, connector, CachingResolver::default()))
    }

    /// POSTs a JSON body to an endpoint below `base` and returns the reply body of an HTTP 200.
    pub fn post(&self, base: &str, endpoint: Endpoint, body: &str) -> Result<Vec<u8>, TransportError> {
        self.last_used_ms.store(self.created.elapsed().as_millis() as u64, Ordering::Relaxed);
        PHASE.set(Phase::Connecting);
        RECEIVED.set(0);
        if let Some(why) = &self.broken {
            return Err(TransportError::NotSent(why.clone()));
        }
        let url = format!("{base}{}", endpoint.path());
        let result =
            self.agent.post(&url).content_type("application/json").send(body.as_bytes()).and_then(|mut reply| {
                let status = reply.status().as_u16();
                let bytes = reply.body_mut().with_config().limit(MAX_REPLY_BYTES as u64).read_to_vec()?;
                Ok((status, bytes))
            });
        let phase = PHASE.replace(Phase::Connecting);
        match result {
            Ok((200, bytes)) => Ok(bytes),
            Ok((status, _)) => Err(TransportError::MaybeSent(format!("HTTP {status} from {}", endpoint.path()))),
            Err(e) => Err(self.classify(base, phase, &e)),
        }
    }

    /// Names a failure and puts it on its side of the "may have been sent" line.
    fn classify(&self, base: &str, phase: Phase, e: &ureq::Error) -> TransportError {
        let authority = base.split("://").nth(1).and_then(|r| r.split('/').next()).unwrap_or(base);
        let via = self.proxy.as_ref().map(|p| format!(" (proxy {})", p.authority)).unwrap_or_default();
        let what = match e {
            ureq::Error::Timeout(_) => "timed out".to_owned(),
            ureq::Error::ConnectProxyFailed(m) if m.contains(" 407") => {
                match self.proxy.as_ref().is_some_and(|p| p.has_credentials) {
                    true => "the proxy refused the credentials in common_conf.proxy (HTTP 407)".into(),
                    false => {
                        "the proxy wants credentials: http://user:password@host:port in common_conf.proxy (HTTP 407)"
                            .into()
                    }
                }
            }
            ureq::Error::ConnectProxyFailed(m) => format!("the proxy refused the tunnel: {m}"),
            ureq::Error::Io(io) if io.kind() == std::io::ErrorKind::UnexpectedEof => {
                "connection closed before the whole reply".to_owned()
            }
            ureq::Error::BodyExceedsLimit(_) | ureq::Error::LargeResponseHeader(..) => "reply too large".to_owned(),
            other => other.to_string(),
        };
        match phase {
            Phase::Connecting => TransportError::NotSent(format!("connecting to {authority}{via}: {what}")),
            Phase::Handshake => TransportError::NotSent(format!("TLS handshake with {authority}{via}: {what}")),
            Phase::Sent => TransportError::MaybeSent(format!("{authority}: {what}")),
        }
    }

    /// Time since the last request started (since creation when there was none).
    pub fn idle_for(&self) -> Duration {
        self.created.elapsed().saturating_sub(Duration::from_millis(self.last_used_ms.load(Ordering::Relaxed)))
    }
}

/// A link in the connector chain that records the phase of the call. Placed before TLS it
/// marks the start of the handshake; placed last it wraps the connection so that the first
/// request byte handed to it marks the call as sent, and counts what the peer sends.
/// The connection to a proxy is made by the same chain (ureq runs it for the CONNECT), with
/// the proxy removed from its config: that one is not the service and is left alone.
#[derive(Debug)]
struct Mark {
    proxied: bool,
    handshake: bool,
}

impl<In: UreqTransport> Connector<In> for Mark {
    type Out = Counted<In>;

    fn connect(&self, details: &ConnectionDetails, chained: Option<In>) -> Result<Option<Self::Out>, ureq::Error> {
        let to_service = !(self.proxied && details.config.proxy().is_none());
        if to_service && self.handshake && details.needs_tls() {
            PHASE.set(Phase::Handshake);
        }
        Ok(chained.map(|inner| Counted { inner, armed: to_service && !self.handshake, head_read: false, close: false }))
    }
}

/// A connection to the service that records sending and counts received bytes.
#[derive(Debug)]
struct Counted<T> {
    inner: T,
    /// False below TLS and on the connection to a proxy: those bytes are not the request.
    armed: bool,
    /// Whether the head of the current reply has been seen (reset by each request).
    head_read: bool,
    /// A reply head named both Content-Length and Transfer-Encoding: RFC 9112 §6.3 says
    /// close the connection after it (its framing is in doubt), and ureq's pool would keep it.
    close: bool,
}

impl<T: UreqTransport> Counted<T> {
    /// Looks at a reply head once it is whole in the input buffer (ureq parses it only then).
    fn check_head(&mut self) {
        let input = self.inner.buffers().input();
        let Some(end) = input.windows(4).position(|w| w == b"\r\n\r\n") else { return };
        self.head_read = true;
        let head = String::from_utf8_lossy(&input[..end]).to_ascii_lowercase();
        let has = |name: &str| head.lines().any(|l| l.starts_with(name));
        self.close |= has("content-length:") && has("transfer-encoding:");
    }
}

impl<T: UreqTransport> UreqTransport for Counted<T> {
    fn buffers(&mut self) -> &mut dyn Buffers {
        self.inner.buffers()
    }

    fn transmit_output(&mut self, amount: usize, timeout: NextTimeout) -> Result<(), ureq::Error> {
        if self.armed {
            // Before the write: a write that fails half-way may still have delivered the request.
            PHASE.set(Phase::Sent);
            self.head_read = false;
        }
        self.inner.transmit_output(amount, timeout)
    }

    fn await_input(&mut self, timeout: NextTimeout) -> Result<bool, ureq::Error> {
        let before = self.inner.buffers().input().len();
        let progress = self.inner.await_input(timeout)?;
        if self.armed {
            let got = self.inner.buffers().input().len().saturating_sub(before);
            let total = RECEIVED.get().saturating_add(got);
            RECEIVED.set(total);
            if total > MAX_RAW_BYTES {
                return Err(ureq::Error::BodyExceedsLimit(MAX_RAW_BYTES as u64));
            }
            if !self.head_read {
                self.check_head();
            }
        }
        Ok(progress)
    }

    fn is_open(&mut self) -> bool {
        !self.close && self.inner.is_open()
    }

    fn is_tls(&self) -> bool {
        self.inner.is_tls()
    }
}

/// ureq's resolver bounds a lookup with a thread per call, even for an IP address or a host
/// whose connection is pooled. This one answers addresses directly and remembers names for
/// `DNS_TTL`, so only a real lookup pays for the thread (and is bounded by the deadline).
#[derive(Debug, Default)]
struct CachingResolver {
    cache: Mutex<HashMap<String, (Instant, ResolvedSocketAddrs)>>,
}

impl Resolver for CachingResolver {
    fn resolve(
        &self,
        uri: &ureq::http::Uri,
        config: &ureq::config::Config,
        timeout: NextTimeout,
    ) -> Result<ResolvedSocketAddrs, ureq::Error> {
        let host = uri.host().unwrap_or("");
        let port = uri.port_u16().unwrap_or(if uri.scheme_str() == Some("https") { 443 } else { 80 });
        if let Ok(ip) = host.trim_start_matches('[').trim_end_matches(']').parse::<IpAddr>() {
            let mut addrs = self.empty();
            addrs.push(SocketAddr::new(ip, port));
            return Ok(addrs);
        }
        let key = format!("{host}:{port}");
        if let Some((at, addrs)) = self.cache.lock().get(&key)
            && at.elapsed() < DNS_TTL
        {
            return Ok(addrs.clone());
        }
        let addrs = DefaultResolver::default().resolve(uri, config, timeout)?;
        self.cache.lock().insert(key, (Instant::now(), addrs.clone()));
        Ok(addrs)
    }
}

/// An HTTP proxy that every connection goes through (`common_conf.proxy`). The service is
/// reached through a `CONNECT` tunnel, so TLS still runs end to end with the service and is
/// verified as always.
#[derive(Clone)]
pub struct Proxy {
    /// `host:port`, for messages: never the credentials.
    authority: String,
    /// Whether the URL carries a user (for the 407 message).
    has_credentials: bool,
    /// The URL as configured, credentials included.
    url: Secret,
}

impl std::fmt::Debug for Proxy {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Proxy(http://{}{})", if self.has_credentials { "<credentials>@" } else { "" }, self.authority)
    }
}

impl Proxy {
    /// Parses `http://[user[:password]@]host:port` (user and password percent-encoded where
    /// they hold `@`, `:` or `%`). Error texts never quote the credentials.
    pub fn parse(url: &str) -> Result<Proxy, String> {
        let url = url.trim();
        let Some(rest) = url.strip_prefix("http://") else {
            return Err(if url.starts_with("https://") {
                "only http:// proxies are supported (an https service is still reached with TLS end to end, through CONNECT)".into()
            } else {
                "must look like http://host:port or http://user:password@host:port".into()
            });
        };
        let rest = rest.strip_suffix('/').unwrap_or(rest);
        let (userinfo, authority) = match rest.rsplit_once('@') {
            Some((u, a)) => (Some(u), a),
            None => (None, rest),
        };
        if authority.contains(['/', '?', '#']) {
            return Err("a proxy URL is http://host:port, without a path".into());
        }
        let (_, port) =
            split_host_port(authority).ok_or_else(|| format!("cannot read host and port from {authority:?}"))?;
        port.ok_or_else(|| format!("give the proxy's port: http://{authority}:PORT"))?;
        if let Some(u) = userinfo {
            let (user, password) = u.split_once(':').unwrap_or((u, ""));
            for (part, what) in [(user, "user"), (password, "password")] {
                let mut decoded = percent_decode(part).ok_or(format!("bad %-escape in the proxy {what}"))?;
                let utf8 = std::str::from_utf8(&decoded).is_ok();
                crate::secret::zeroize(&mut decoded);
                if !utf8 {
                    return Err(format!("the proxy {what} is not UTF-8 once decoded"));
                }
            }
        }
        Ok(Proxy {
            authority: authority.to_owned(),
            has_credentials: userinfo.is_some(),
            url: Secret::new(url.to_owned()),
        })
    }

    /// The URL as configured, credentials included: only in memory, for the agent and to tell
    /// two proxy settings apart (security mode shares one channel per server settings).
    pub(crate) fn url(&self) -> String {
        String::from_utf8_lossy(self.url.expose()).into_owned()
    }
}

/// `host[:port]` (IPv6 in brackets) into a non-empty host and the port when written.
fn split_host_port(authority: &str) -> Option<(&str, Option<u16>)> {
    let (host, port) = if let Some(v6) = authority.strip_prefix('[') {
        let (h, after) = v6.split_once(']')?;
        let port = match after {
            "" => None,
            p => Some(p.strip_prefix(':')?),
        };
        (h, port)
    } else {
        match authority.rsplit_once(':') {
            Some((h, p)) => (h, Some(p)),
            None => (authority, None),
        }
    };
    let port = match port {
        Some(p) => Some(p.parse().ok()?),
        None => None,
    };
    (!host.is_empty()).then_some((host, port))
}

/// `%XX` escapes decoded (None for a broken escape).
fn percent_decode(s: &str) -> Option<Vec<u8>> {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%' {
            let digit = |j: usize| b.get(j).and_then(|&c| (c as char).to_digit(16));
            out.push((digit(i + 1)? * 16 + digit(i + 2)?) as u8);
            i += 3;
        } else {
            out.push(b[i]);
            i += 1;
        }
    }
    Some(out)
}
