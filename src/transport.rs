//! HTTP transport: a small HTTP/1.1 keep-alive client for the one exchange the SDK makes — a
//! JSON POST to a few known hosts — with TLS always verified (rustls, no way to turn it off).
//!
//! Why not a general-purpose client: every exchange has the same shape, and a general client's
//! per-request machinery (timers, header maps, URL objects, separate writes of head and body)
//! cost more than all of the SDK's own work and gave a p99 tail ten times the round trip
//! (BENCHMARKS.md §1). Here a request in steady state is one liveness peek, one write of head
//! and body together, and the reads of the reply, on a pooled connection.
//!
//! What may have reached the server decides what the caller may do next (a payment that may
//! have been sent is never "failed"), so every error says which side of that line it is on.

use std::io::{self, Read, Write};
use std::net::{TcpStream, ToSocketAddrs};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use cloud_pay_protocol::Endpoint;
use parking_lot::Mutex;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, ServerName};

use crate::error::SdkError;
use crate::secret::Secret;

/// Largest reply body read (listings can be large; anything beyond is a broken reply).
const MAX_REPLY_BYTES: usize = 16 * 1024 * 1024;
/// Largest reply head (status line and headers).
const MAX_HEAD_BYTES: usize = 64 * 1024;
/// Idle connections kept. They only exist if that many calls ran at once; a smaller pool
/// would close and re-open (TCP and TLS handshakes) connections under concurrency.
const MAX_IDLE: usize = 64;
/// An idle connection older than this is closed rather than reused: servers commonly drop
/// idle connections after 60–120 s, and a request on a dropped one would be "maybe sent".
const MAX_IDLE_AGE: Duration = Duration::from_secs(110);
/// A read may overrun the request's deadline by at most this much. It saves re-arming the
/// socket timeout (a system call) before every read of every request.
const TIMEOUT_SLACK: Duration = Duration::from_millis(100);
/// Bytes asked of the socket per read.
const READ_CHUNK: usize = 16 * 1024;

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

/// The shared HTTP client: a pool of keep-alive connections, any number of hosts.
pub struct Transport {
    tls: Arc<rustls::ClientConfig>,
    connect_timeout: Duration,
    timeout: Duration,
    pool: Mutex<Vec<Conn>>,
    /// Milliseconds after `created` of the last request (for the keep-alive pinger).
    last_used_ms: AtomicU64,
    created: Instant,
    proxy: Option<Proxy>,
}

impl Transport {
    /// Builds the client: Mozilla roots plus the configured CA, the configured timeouts
    /// (`timeout` bounds a whole request: sending it and reading the reply).
    pub fn new(extra_ca_pem: Option<&str>, connect_timeout: Duration, timeout: Duration) -> Result<Transport, SdkError> {
        let mut roots = rustls::RootCertStore::empty();
        roots.add_parsable_certificates(webpki_root_certs::TLS_SERVER_ROOT_CERTS.iter().cloned());
        if let Some(pem) = extra_ca_pem {
            let certs: Vec<CertificateDer<'static>> = CertificateDer::pem_slice_iter(pem.as_bytes()).filter_map(Result::ok).collect();
            let (added, _) = roots.add_parsable_certificates(certs);
            if added == 0 {
                return Err(SdkError::BadConfig("common_conf.ca_file: no PEM certificate found".into()));
            }
        }
        let tls = rustls::ClientConfig::builder_with_provider(Arc::new(rustls::crypto::ring::default_provider()))
            .with_safe_default_protocol_versions()
            .map_err(|e| SdkError::BadConfig(format!("TLS: {e}")))?
            .with_root_certificates(roots)
            .with_no_client_auth();
        Ok(Transport {
            tls: Arc::new(tls),
            connect_timeout,
            timeout,
            pool: Mutex::new(Vec::new()),
            last_used_ms: AtomicU64::new(0),
            created: Instant::now(),
            proxy: None,
        })
    }

    /// Sends every request through `proxy` (None: directly).
    pub fn with_proxy(self, proxy: Option<Proxy>) -> Transport {
        Transport { proxy, ..self }
    }

    /// POSTs a JSON body to an endpoint below `base` and returns the reply body of an HTTP 200.
    pub fn post(&self, base: &str, endpoint: Endpoint, body: &str) -> Result<Vec<u8>, TransportError> {
        self.last_used_ms.store(self.created.elapsed().as_millis() as u64, Ordering::Relaxed);
        let deadline = Instant::now() + self.timeout;
        let target = Target::parse(base).map_err(TransportError::NotSent)?;
        let mut conn = match self.checkout(target.origin) {
            Some(c) => c,
            None => self.connect(&target)?,
        };
        // Plain http through a proxy names the whole URL and carries the proxy's credentials.
        let via = self.proxy.as_ref().filter(|_| !target.tls);
        let mut request = request_bytes(&target, endpoint, body, via);
        let sent = conn.stream.write_all(&request).and_then(|()| conn.stream.flush());
        if via.is_some_and(|p| p.authorization.is_some()) {
            crate::secret::zeroize(&mut request);
        }
        if let Err(e) = sent {
            return Err(TransportError::MaybeSent(format!("sending to {}: {e}", target.authority)));
        }
        let reply = read_reply(&mut conn, deadline).map_err(TransportError::MaybeSent)?;
        if reply.reusable {
            self.checkin(conn);
        }
        if reply.status != 200 {
            return Err(TransportError::MaybeSent(format!("HTTP {} from {}", reply.status, endpoint.path())));
        }
        Ok(reply.body)
    }

    /// Time since the last request started (since creation when there was none).
    pub fn idle_for(&self) -> Duration {
        self.created.elapsed().saturating_sub(Duration::from_millis(self.last_used_ms.load(Ordering::Relaxed)))
    }

    /// The most recently used idle connection to `origin` that is still open.
    fn checkout(&self, origin: &str) -> Option<Conn> {
        loop {
            let mut conn = {
                let mut pool = self.pool.lock();
                let i = pool.iter().rposition(|c| c.origin == origin)?;
                pool.remove(i)
            };
            // Checked every time, however recently used: a server that stopped or restarted
            // a moment ago must show as "not sent" (fail over, send again), not as a payment
            // lost on a dead connection (tests/monitor_failover.rs).
            if conn.idle_since.elapsed() < MAX_IDLE_AGE && conn.stream.still_open() {
                return Some(conn);
            }
        }
    }

    fn checkin(&self, mut conn: Conn) {
        let now = Instant::now();
        conn.idle_since = now;
        let mut pool = self.pool.lock();
        pool.retain(|c| now.duration_since(c.idle_since) < MAX_IDLE_AGE);
        if pool.len() >= MAX_IDLE {
            pool.remove(0);
        }
        pool.push(conn);
    }

    /// Opens a connection (TCP, then the whole TLS handshake for https). Every failure here
    /// is `NotSent`: no byte of the request has been written yet.
    fn connect(&self, t: &Target<'_>) -> Result<Conn, TransportError> {
        // Through a proxy the TCP connection goes to the proxy; errors name both.
        let via = self.proxy.as_ref().map(|p| format!(" (proxy {})", p.authority)).unwrap_or_default();
        let not_sent = |what: &str, e: &dyn std::fmt::Display| TransportError::NotSent(format!("{what} {}{via}: {e}", t.authority));
        let (host, port) = match &self.proxy {
            Some(p) => (p.host.as_str(), p.port),
            None => (t.host, t.port),
        };
        let addrs = (host, port).to_socket_addrs().map_err(|e| not_sent("resolving", &e))?;
        let mut last: Option<io::Error> = None;
        let mut tcp = None;
        for addr in addrs {
            match TcpStream::connect_timeout(&addr, self.connect_timeout) {
                Ok(s) => {
                    tcp = Some(s);
                    break;
                }
                Err(e) => last = Some(e),
            }
        }
        let Some(tcp) = tcp else {
            let e = last.unwrap_or_else(|| io::Error::new(io::ErrorKind::NotFound, "no address"));
            return Err(not_sent("connecting to", &e));
        };
        let _ = tcp.set_nodelay(true);
        tcp.set_write_timeout(Some(self.timeout)).map_err(|e| not_sent("configuring the socket to", &e))?;
        let stream = if t.tls {
            let name = ServerName::try_from(t.host.to_owned()).map_err(|e| not_sent("TLS name of", &e))?;
            let mut tls = rustls::ClientConnection::new(self.tls.clone(), name).map_err(|e| not_sent("TLS with", &e))?;
            let mut tcp = tcp;
            tcp.set_read_timeout(Some(self.connect_timeout)).map_err(|e| not_sent("configuring the socket to", &e))?;
            if let Some(p) = &self.proxy {
                // TLS runs inside the tunnel, end to end with the service, verified as always.
                p.tunnel(&mut tcp, t).map_err(|e| not_sent("opening a tunnel to", &e))?;
            }
            while tls.is_handshaking() {
                tls.complete_io(&mut tcp).map_err(|e| not_sent("TLS handshake with", &e))?;
            }
            Stream::Tls(Box::new(rustls::StreamOwned::new(tls, tcp)))
        } else {
            Stream::Plain(tcp)
        };
        Ok(Conn { origin: t.origin.to_owned(), stream, idle_since: Instant::now(), read_timeout: None, scratch: vec![0; READ_CHUNK].into_boxed_slice() })
    }
}

/// Where requests below one base URL go.
struct Target<'a> {
    tls: bool,
    /// `scheme://host[:port]`: the pool key.
    origin: &'a str,
    /// `host[:port]` as written: the Host header.
    authority: &'a str,
    /// Host name or address (IPv6 without brackets): DNS and TLS name.
    host: &'a str,
    port: u16,
    /// Path prefix, starting with `/`.
    path: &'a str,
}

impl<'a> Target<'a> {
    fn parse(base: &'a str) -> Result<Target<'a>, String> {
        let bad = || format!("unusable base URL {base:?}");
        let (tls, rest) = if let Some(r) = base.strip_prefix("https://") {
            (true, r)
        } else if let Some(r) = base.strip_prefix("http://") {
            (false, r)
        } else {
            return Err(bad());
        };
        let split = rest.find('/').unwrap_or(rest.len());
        let (authority, path) = (&rest[..split], &rest[split..]);
        let origin = &base[..base.len() - rest.len() + split];
        let (host, port) = split_host_port(authority).ok_or_else(bad)?;
        let port = match port {
            Some(p) => p,
            None if tls => 443,
            None => 80,
        };
        Ok(Target { tls, origin, authority, host, port, path: if path.is_empty() { "/" } else { path } })
    }

    /// `host:port` with the port always written (IPv6 in brackets): a CONNECT target.
    fn host_port(&self) -> String {
        if self.host.contains(':') { format!("[{}]:{}", self.host, self.port) } else { format!("{}:{}", self.host, self.port) }
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

/// An HTTP proxy that every connection goes through (`common_conf.proxy`). An https service
/// is reached through a `CONNECT` tunnel, so TLS still runs end to end with the service and is
/// verified as always; a plain http one by naming the whole URL in the request.
#[derive(Clone)]
pub struct Proxy {
    /// `host:port`, for messages: never the credentials.
    authority: String,
    host: String,
    port: u16,
    /// The `Proxy-Authorization` value (`Basic …`) when the URL carries a user.
    authorization: Option<Secret>,
    /// The URL as configured, credentials included.
    url: Secret,
}

impl std::fmt::Debug for Proxy {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Proxy(http://{}{})", if self.authorization.is_some() { "<credentials>@" } else { "" }, self.authority)
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
        let (host, port) = split_host_port(authority).ok_or_else(|| format!("cannot read host and port from {authority:?}"))?;
        let port = port.ok_or_else(|| format!("give the proxy's port: http://{authority}:PORT"))?;
        let authorization = match userinfo {
            None => None,
            Some(u) => {
                let (user, password) = u.split_once(':').unwrap_or((u, ""));
                let mut pair = percent_decode(user).ok_or("bad %-escape in the proxy user")?;
                pair.push(b':');
                pair.extend(percent_decode(password).ok_or("bad %-escape in the proxy password")?);
                use base64::Engine as _;
                let header = format!("Basic {}", base64::engine::general_purpose::STANDARD.encode(&pair));
                crate::secret::zeroize(&mut pair);
                Some(Secret::new(header))
            }
        };
        Ok(Proxy { authority: authority.to_owned(), host: host.to_owned(), port, authorization, url: Secret::new(url.to_owned()) })
    }

    /// The URL as configured, credentials included: only in memory, to tell two proxy
    /// settings apart (security mode shares one channel per server settings).
    pub(crate) fn url(&self) -> String {
        String::from_utf8_lossy(self.url.expose()).into_owned()
    }

    /// The `Proxy-Authorization` header line, when the URL carries credentials.
    fn write_authorization(&self, head: &mut Vec<u8>) {
        if let Some(a) = &self.authorization {
            head.extend_from_slice(b"Proxy-Authorization: ");
            head.extend_from_slice(a.expose());
            head.extend_from_slice(b"\r\n");
        }
    }

    /// Asks the proxy for a tunnel to `t` on a fresh connection to it.
    fn tunnel(&self, tcp: &mut TcpStream, t: &Target<'_>) -> Result<(), String> {
        let target = t.host_port();
        let mut request = format!("CONNECT {target} HTTP/1.1\r\nHost: {target}\r\n").into_bytes();
        self.write_authorization(&mut request);
        request.extend_from_slice(b"\r\n");
        let sent = tcp.write_all(&request);
        crate::secret::zeroize(&mut request);
        sent.map_err(|e| format!("sending CONNECT: {e}"))?;
        // The reply head only: the service says nothing before the TLS client hello.
        let mut buf = Vec::with_capacity(256);
        let mut chunk = [0u8; 512];
        let mut scanned = 0;
        let head = loop {
            if let Some(h) = parse_head(&buf, &mut scanned).map_err(|e| format!("the proxy's reply: {e}"))? {
                break h;
            }
            if buf.len() > MAX_HEAD_BYTES {
                return Err("the proxy's reply head is too large".into());
            }
            match tcp.read(&mut chunk) {
                Ok(0) => return Err("the proxy closed the connection".into()),
                Ok(n) => buf.extend_from_slice(&chunk[..n]),
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(format!("reading the proxy's reply: {e}")),
            }
        };
        match head.status {
            200..=299 if buf.len() == head.len => Ok(()),
            200..=299 => Err("the proxy sent data after accepting the tunnel".into()),
            407 if self.authorization.is_some() => Err("the proxy refused the credentials in common_conf.proxy (HTTP 407)".into()),
            407 => Err("the proxy wants credentials: http://user:password@host:port in common_conf.proxy (HTTP 407)".into()),
            s => Err(format!("the proxy refused the tunnel with HTTP {s}")),
        }
    }
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

/// Head and body in one buffer: one write, so the request leaves in as few segments as it fits.
/// `via`: the proxy a plain http request goes through (the request then names the whole URL).
fn request_bytes(t: &Target<'_>, endpoint: Endpoint, body: &str, via: Option<&Proxy>) -> Vec<u8> {
    let mut r = Vec::with_capacity(256 + t.origin.len() + t.path.len() + t.authority.len() + body.len());
    let origin = if via.is_some() { t.origin } else { "" };
    let _ = write!(
        r,
        "POST {origin}{}{} HTTP/1.1\r\nHost: {}\r\nUser-Agent: cloud-pay-sdk-rust/{}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: keep-alive\r\n",
        t.path,
        endpoint.path(),
        t.authority,
        env!("CARGO_PKG_VERSION"),
        body.len()
    );
    if let Some(p) = via {
        p.write_authorization(&mut r);
    }
    r.extend_from_slice(b"\r\n");
    r.extend_from_slice(body.as_bytes());
    r
}

struct Conn {
    origin: String,
    stream: Stream,
    idle_since: Instant,
    /// The socket's read timeout as last set (None: not set yet).
    read_timeout: Option<Duration>,
    /// Where reads land before they join the reply: zeroed once per connection, not per read.
    scratch: Box<[u8]>,
}

enum Stream {
    Plain(TcpStream),
    Tls(Box<rustls::StreamOwned<rustls::ClientConnection, TcpStream>>),
}

impl Stream {
    fn tcp(&self) -> &TcpStream {
        match self {
            Stream::Plain(s) => s,
            Stream::Tls(s) => &s.sock,
        }
    }

    /// Whether an idle connection can carry a request: the peer has not closed it and sent
    /// nothing unasked. TLS records that arrive after the handshake (session tickets) are
    /// consumed here; anything else means the connection is not reused.
    fn still_open(&mut self) -> bool {
        match self {
            Stream::Plain(s) => peek_idle(s),
            Stream::Tls(s) => {
                if peek_idle(&s.sock) {
                    return true;
                }
                // Something arrived: read it without blocking and look at what it was.
                if s.sock.set_nonblocking(true).is_err() {
                    return false;
                }
                let open = loop {
                    match s.conn.read_tls(&mut s.sock) {
                        Ok(0) => break false,
                        Ok(_) => {
                            let Ok(state) = s.conn.process_new_packets() else { break false };
                            if state.plaintext_bytes_to_read() > 0 || state.peer_has_closed() {
                                break false;
                            }
                        }
                        Err(e) if e.kind() == io::ErrorKind::WouldBlock => break true,
                        Err(_) => break false,
                    }
                };
                open && s.sock.set_nonblocking(false).is_ok()
            }
        }
    }
}

/// True when nothing is waiting on the socket and it is not closed.
#[cfg(unix)]
fn peek_idle(s: &TcpStream) -> bool {
    use std::os::fd::AsRawFd;
    let mut b = 0u8;
    // SAFETY: a one-byte peek into a live local; the fd is owned by `s` for the call.
    let n = unsafe { libc::recv(s.as_raw_fd(), (&raw mut b).cast(), 1, libc::MSG_PEEK | libc::MSG_DONTWAIT) };
    n < 0 && matches!(io::Error::last_os_error().kind(), io::ErrorKind::WouldBlock | io::ErrorKind::Interrupted)
}

/// True when nothing is waiting on the socket and it is not closed.
#[cfg(not(unix))]
fn peek_idle(s: &TcpStream) -> bool {
    if s.set_nonblocking(true).is_err() {
        return false;
    }
    let idle = matches!(s.peek(&mut [0u8; 1]), Err(e) if e.kind() == io::ErrorKind::WouldBlock);
    s.set_nonblocking(false).is_ok() && idle
}

impl Read for Stream {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        match self {
            Stream::Plain(s) => s.read(buf),
            Stream::Tls(s) => s.read(buf),
        }
    }
}

impl Write for Stream {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        match self {
            Stream::Plain(s) => s.write(buf),
            Stream::Tls(s) => s.write(buf),
        }
    }
    fn flush(&mut self) -> io::Result<()> {
        match self {
            Stream::Plain(s) => s.flush(),
            Stream::Tls(s) => s.flush(),
        }
    }
}

struct Reply {
    status: u16,
    body: Vec<u8>,
    /// The connection may carry another request.
    reusable: bool,
}

/// How the body of a reply ends.
enum Framing {
    Length(usize),
    Chunked,
    /// HTTP/1.0 style: the body ends when the server closes the connection.
    Close,
}

struct Head {
    status: u16,
    len: usize,
    framing: Framing,
    keep_alive: bool,
}

/// Reads more bytes into `buf`; `Ok(0)` is end of stream.
fn fill(conn: &mut Conn, buf: &mut Vec<u8>, deadline: Instant) -> Result<usize, String> {
    let now = Instant::now();
    let Some(left) = deadline.checked_duration_since(now).filter(|d| !d.is_zero()) else {
        return Err("timed out waiting for the reply".into());
    };
    if conn.read_timeout.is_none_or(|set| set > left + TIMEOUT_SLACK) {
        conn.stream.tcp().set_read_timeout(Some(left)).map_err(|e| format!("socket: {e}"))?;
        conn.read_timeout = Some(left);
    }
    loop {
        match conn.stream.read(&mut conn.scratch) {
            Ok(n) => {
                buf.extend_from_slice(&conn.scratch[..n]);
                return Ok(n);
            }
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) if matches!(e.kind(), io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut) => {
                return Err("timed out waiting for the reply".into());
            }
            // A TLS peer that closes without close_notify: the body (if framed) is judged below.
            Err(e) if e.kind() == io::ErrorKind::UnexpectedEof => return Ok(0),
            Err(e) => return Err(format!("reading the reply: {e}")),
        }
    }
}

fn read_reply(conn: &mut Conn, deadline: Instant) -> Result<Reply, String> {
    let mut buf: Vec<u8> = Vec::with_capacity(4096);
    // The head, skipping interim 1xx replies.
    let head = loop {
        let mut scanned = 0;
        let head = loop {
            if let Some(h) = parse_head(&buf, &mut scanned)? {
                break h;
            }
            if buf.len() > MAX_HEAD_BYTES {
                return Err("reply head too large".into());
            }
            if fill(conn, &mut buf, deadline)? == 0 {
                return Err(if buf.is_empty() { "connection closed before the reply".into() } else { "connection closed inside the reply head".into() });
            }
        };
        if (100..200).contains(&head.status) && head.status != 101 {
            buf.drain(..head.len);
            continue;
        }
        break head;
    };
    buf.drain(..head.len);
    let no_body = head.status == 204 || head.status == 304;
    let (body, clean_end) = match head.framing {
        _ if no_body => (Vec::new(), true),
        Framing::Length(n) => {
            if n > MAX_REPLY_BYTES {
                return Err(format!("reply body of {n} bytes is too large"));
            }
            while buf.len() < n {
                if fill(conn, &mut buf, deadline)? == 0 {
                    return Err(format!("connection closed after {} of {n} body bytes", buf.len()));
                }
            }
            let extra = buf.len() > n;
            buf.truncate(n);
            (buf, !extra)
        }
        Framing::Chunked => {
            let mut d = Dechunk::default();
            loop {
                match d.step(&buf)? {
                    Some(()) => break,
                    None => {
                        if fill(conn, &mut buf, deadline)? == 0 {
                            return Err("connection closed inside a chunked body".into());
                        }
                    }
                }
            }
            (d.out, d.pos == buf.len())
        }
        Framing::Close => {
            while fill(conn, &mut buf, deadline)? > 0 {
                if buf.len() > MAX_REPLY_BYTES {
                    return Err("reply body too large".into());
                }
            }
            (buf, false)
        }
    };
    Ok(Reply { status: head.status, body, reusable: head.keep_alive && clean_end && !matches!(head.framing, Framing::Close) })
}

/// Parses a complete reply head at the start of `buf`; `None` while it is incomplete.
/// `scanned` remembers how far the search for the blank line got.
fn parse_head(buf: &[u8], scanned: &mut usize) -> Result<Option<Head>, String> {
    let from = scanned.saturating_sub(3);
    let Some(end) = buf[from..].windows(4).position(|w| w == b"\r\n\r\n").map(|p| from + p + 4) else {
        *scanned = buf.len();
        return Ok(None);
    };
    let text = std::str::from_utf8(&buf[..end - 4]).map_err(|_| "reply head is not text".to_string())?;
    let mut lines = text.split("\r\n");
    let status_line = lines.next().unwrap_or("");
    let mut parts = status_line.splitn(3, ' ');
    let version = parts.next().unwrap_or("");
    let status: u16 = parts.next().and_then(|s| s.parse().ok()).filter(|s| (100..600).contains(s)).ok_or_else(|| format!("malformed status line {:?}", truncate(status_line)))?;
    let http10 = match version {
        "HTTP/1.1" => false,
        "HTTP/1.0" => true,
        _ => return Err(format!("not an HTTP/1.x reply: {:?}", truncate(status_line))),
    };
    let (mut length, mut chunked, mut close, mut keep) = (None::<usize>, false, false, false);
    for line in lines {
        let Some((name, value)) = line.split_once(':') else { return Err(format!("malformed header line {:?}", truncate(line))) };
        let value = value.trim();
        if name.eq_ignore_ascii_case("content-length") {
            let n: usize = value.parse().map_err(|_| format!("bad Content-Length {:?}", truncate(value)))?;
            if length.is_some_and(|l| l != n) {
                return Err("conflicting Content-Length headers".into());
            }
            length = Some(n);
        } else if name.eq_ignore_ascii_case("transfer-encoding") {
            chunked = value.rsplit(',').next().is_some_and(|last| last.trim().eq_ignore_ascii_case("chunked"));
            if !chunked {
                return Err(format!("unsupported Transfer-Encoding {:?}", truncate(value)));
            }
        } else if name.eq_ignore_ascii_case("connection") {
            for token in value.split(',').map(str::trim) {
                close |= token.eq_ignore_ascii_case("close");
                keep |= token.eq_ignore_ascii_case("keep-alive");
            }
        }
    }
    // Transfer-Encoding wins over Content-Length (RFC 9112 §6.3).
    let framing = if chunked {
        Framing::Chunked
    } else if let Some(n) = length {
        Framing::Length(n)
    } else {
        Framing::Close
    };
    Ok(Some(Head { status, len: end, framing, keep_alive: !close && (!http10 || keep) }))
}

fn truncate(s: &str) -> &str {
    match s.char_indices().nth(80) {
        Some((i, _)) => &s[..i],
        None => s,
    }
}

/// Incremental decoder of a chunked body: each step resumes where the last one stopped, so a
/// large body arriving in many reads is decoded in one pass.
#[derive(Default)]
struct Dechunk {
    pos: usize,
    out: Vec<u8>,
    /// The zero-size chunk was seen: only trailers are left.
    last: bool,
}

impl Dechunk {
    /// `Some` when the body is complete, `None` when more bytes are needed.
    fn step(&mut self, buf: &[u8]) -> Result<Option<()>, String> {
        loop {
            let Some(nl) = find_crlf(&buf[self.pos..]) else {
                if buf.len() - self.pos > 4096 {
                    return Err("malformed chunked body".into());
                }
                return Ok(None);
            };
            let line = &buf[self.pos..self.pos + nl];
            if self.last {
                // Trailer lines until the empty one.
                self.pos += nl + 2;
                if line.is_empty() {
                    return Ok(Some(()));
                }
                continue;
            }
            let size_text = std::str::from_utf8(line).map_err(|_| "malformed chunk size".to_string())?;
            let size_text = size_text.split(';').next().unwrap_or("").trim();
            let size = usize::from_str_radix(size_text, 16).map_err(|_| format!("malformed chunk size {:?}", truncate(size_text)))?;
            if size == 0 {
                self.last = true;
                self.pos += nl + 2;
                continue;
            }
            if self.out.len() + size > MAX_REPLY_BYTES {
                return Err("reply body too large".into());
            }
            let start = self.pos + nl + 2;
            if buf.len() < start + size + 2 {
                return Ok(None);
            }
            if &buf[start + size..start + size + 2] != b"\r\n" {
                return Err("malformed chunked body".into());
            }
            self.out.extend_from_slice(&buf[start..start + size]);
            self.pos = start + size + 2;
        }
    }
}

fn find_crlf(b: &[u8]) -> Option<usize> {
    b.windows(2).position(|w| w == b"\r\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base_urls_parse_into_origin_host_port_and_path() {
        let t = Target::parse("https://pay.qcloud.com/cpay/").unwrap();
        assert_eq!((t.tls, t.origin, t.authority, t.host, t.port, t.path), (true, "https://pay.qcloud.com", "pay.qcloud.com", "pay.qcloud.com", 443, "/cpay/"));
        let t = Target::parse("http://127.0.0.1:8080/cpay/").unwrap();
        assert_eq!((t.tls, t.origin, t.host, t.port, t.path), (false, "http://127.0.0.1:8080", "127.0.0.1", 8080, "/cpay/"));
        let t = Target::parse("http://[::1]:81/x/").unwrap();
        assert_eq!((t.host, t.port, t.authority), ("::1", 81, "[::1]:81"));
        let t = Target::parse("http://h").unwrap();
        assert_eq!((t.host, t.port, t.path), ("h", 80, "/"));
        for bad in ["ftp://h/", "h/cpay/", "http://:80/", "http://h:x/", "http://[::1/"] {
            assert!(Target::parse(bad).is_err(), "{bad}");
        }
    }

    fn head(text: &str) -> Result<Option<Head>, String> {
        parse_head(text.as_bytes(), &mut 0)
    }

    #[test]
    fn reply_heads_give_status_framing_and_reuse() {
        let h = head("HTTP/1.1 200 OK\r\nContent-Length: 12\r\n\r\nrest").unwrap().unwrap();
        assert!(h.status == 200 && matches!(h.framing, Framing::Length(12)) && h.keep_alive && h.len == 39);
        let h = head("HTTP/1.1 200 OK\r\ncontent-length: 5\r\nTransfer-Encoding: chunked\r\n\r\n").unwrap().unwrap();
        assert!(matches!(h.framing, Framing::Chunked), "chunked wins over a length");
        let h = head("HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 1\r\n\r\n").unwrap().unwrap();
        assert!(!h.keep_alive);
        let h = head("HTTP/1.0 200 OK\r\n\r\n").unwrap().unwrap();
        assert!(!h.keep_alive && matches!(h.framing, Framing::Close));
        let h = head("HTTP/1.0 502 Bad Gateway\r\nConnection: Keep-Alive\r\nContent-Length: 0\r\n\r\n").unwrap().unwrap();
        assert!(h.keep_alive && h.status == 502);
        assert!(head("HTTP/1.1 200 OK\r\nContent-Length: 1").unwrap().is_none(), "incomplete");
        for bad in [
            "HTTP/1.1 OK\r\n\r\n",
            "SSH-2.0-x\r\n\r\n",
            "HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\n",
            "HTTP/1.1 200 OK\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n",
            "HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\n\r\n",
            "HTTP/1.1 200 OK\r\nno colon\r\n\r\n",
        ] {
            assert!(head(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn chunked_bodies_decode_incrementally() {
        let wire = b"4\r\n{\"a\"\r\n3;ext=1\r\n:1}\r\n0\r\nX-Trailer: y\r\n\r\n";
        // Fed one byte more at a time, the decoder resumes and ends with the same body.
        let mut d = Dechunk::default();
        let mut done_at = None;
        for n in 0..=wire.len() {
            if d.step(&wire[..n]).unwrap().is_some() {
                done_at = Some(n);
                break;
            }
        }
        assert_eq!(done_at, Some(wire.len()));
        assert_eq!(d.out, b"{\"a\":1}");
        assert_eq!(d.pos, wire.len());
        assert!(Dechunk::default().step(b"zz\r\n").is_err());
        assert!(Dechunk::default().step(b"2\r\nabXY").is_err());
    }
}
