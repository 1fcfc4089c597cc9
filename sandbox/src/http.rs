//! A small HTTP/1.1 server on std threads (plain and TLS). It owns the socket so faults can
//! drop a connection mid-reply. Keep-alive, Content-Length and chunked request bodies.
//!
//! It is handed a [`Router`] that answers each request, and knows nothing of what is behind
//! it: the endpoints and the control API sit on top of the server, not inside it.

use std::collections::HashMap;
use std::io::{self, Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::thread::JoinHandle;
use std::time::Duration;

use parking_lot::Mutex;

use crate::message::{HttpReply, ReplyAction, Request};

const MAX_HEAD: usize = 64 * 1024;
const MAX_BODY: usize = 8 * 1024 * 1024;
/// Idle keep-alive connections are closed after this long.
const IDLE_TIMEOUT: Duration = Duration::from_secs(120);

/// Most a hostile reply streams: four times the SDK's reply cap, so the cap is what ends it,
/// and the sandbox still stops by itself.
const HOSTILE_BYTES: usize = 64 * 1024 * 1024;

/// Answers one request.
pub type Router = dyn Fn(&Request) -> HttpReply + Send + Sync;

/// The listeners' connections: how many were accepted, which are open, and whether to stop.
#[derive(Default)]
pub struct Connections {
    accepted: AtomicU64,
    stopping: AtomicBool,
    live: Mutex<HashMap<u64, TcpStream>>,
    next_id: AtomicU64,
}

impl Connections {
    /// Connections accepted so far (all listeners).
    pub fn accepted(&self) -> u64 {
        self.accepted.load(Ordering::SeqCst)
    }

    /// Tells the accept loops and connection threads to stop; true if they already were told.
    pub fn stop(&self) -> bool {
        self.stopping.swap(true, Ordering::SeqCst)
    }

    fn stopping(&self) -> bool {
        self.stopping.load(Ordering::SeqCst)
    }

    /// Closes every live connection (keep-alive ones included).
    pub fn close_all(&self) {
        for s in self.live.lock().values() {
            let _ = s.shutdown(Shutdown::Both);
        }
    }

    /// Tracks a live connection so `stop` can close it.
    fn register(&self, s: TcpStream) -> u64 {
        let id = self.next_id.fetch_add(1, Ordering::SeqCst);
        self.live.lock().insert(id, s);
        id
    }

    fn unregister(&self, id: u64) {
        self.live.lock().remove(&id);
    }
}

/// Accept loop: non-blocking accept polled every 20 ms so `stop` is prompt.
pub fn spawn_listener(
    conns: Arc<Connections>,
    router: Arc<Router>,
    listener: TcpListener,
    tls: Option<Arc<rustls::ServerConfig>>,
) -> io::Result<JoinHandle<()>> {
    listener.set_nonblocking(true)?;
    std::thread::Builder::new().name("sandbox-accept".into()).spawn(move || {
        while !conns.stopping() {
            match listener.accept() {
                Ok((stream, _)) => {
                    conns.accepted.fetch_add(1, Ordering::SeqCst);
                    let conns = conns.clone();
                    let router = router.clone();
                    let tls = tls.clone();
                    let _ = std::thread::Builder::new()
                        .name("sandbox-conn".into())
                        .spawn(move || connection(&conns, &*router, stream, tls));
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => std::thread::sleep(Duration::from_millis(20)),
                Err(_) => std::thread::sleep(Duration::from_millis(20)),
            }
        }
    })
}

fn connection(conns: &Connections, router: &Router, stream: TcpStream, tls: Option<Arc<rustls::ServerConfig>>) {
    if stream.set_nonblocking(false).is_err() || stream.set_read_timeout(Some(IDLE_TIMEOUT)).is_err() {
        return;
    }
    let _ = stream.set_nodelay(true);
    let Ok(clone) = stream.try_clone() else { return };
    let id = conns.register(clone);
    if !conns.stopping() {
        match tls {
            Some(cfg) => {
                if let Ok(conn) = rustls::ServerConnection::new(cfg) {
                    let mut s = rustls::StreamOwned::new(conn, stream);
                    serve(conns, router, &mut s);
                }
            }
            None => {
                let mut s = stream;
                serve(conns, router, &mut s);
            }
        }
    }
    conns.unregister(id);
}

fn serve<S: Read + Write>(conns: &Connections, router: &Router, s: &mut S) {
    let mut buf = Vec::new();
    loop {
        let req = match read_request(s, &mut buf) {
            Ok(Some(r)) => r,
            Ok(None) => return,
            Err(_) => {
                let _ = write_reply(s, &HttpReply::text(400, "bad request"), false);
                return;
            }
        };
        let reply = router(&req);
        if conns.stopping() {
            return;
        }
        match reply.action {
            ReplyAction::Reset => return,
            ReplyAction::DropMidReply => {
                let head = head(&reply, true);
                let _ = s.write_all(head.as_bytes());
                let _ = s.write_all(&reply.body[..reply.body.len() / 2]);
                let _ = s.flush();
                return;
            }
            ReplyAction::OversizedChunk | ReplyAction::EndlessTrailers => {
                let oversized = reply.action == ReplyAction::OversizedChunk;
                let _ = write_hostile(s, &reply, oversized);
                return;
            }
            ReplyAction::Drip { ms } => {
                let mut out = head(&reply, false).into_bytes();
                out.extend_from_slice(&reply.body);
                for b in out {
                    if conns.stopping() || s.write_all(&[b]).and_then(|()| s.flush()).is_err() {
                        return;
                    }
                    std::thread::sleep(Duration::from_millis(ms));
                }
                return;
            }
            ReplyAction::Normal => {
                if write_reply(s, &reply, req.keep_alive).is_err() || !req.keep_alive {
                    return;
                }
            }
        }
    }
}

fn head(r: &HttpReply, keep_alive: bool) -> String {
    let reason = match r.code {
        200 => "OK",
        400 => "Bad Request",
        404 => "Not Found",
        405 => "Method Not Allowed",
        500 => "Internal Server Error",
        _ => "Status",
    };
    format!(
        "HTTP/1.1 {} {reason}\r\nContent-Type: {}\r\nContent-Length: {}\r\nConnection: {}\r\nServer: cloud-pay-sandbox\r\n\r\n",
        r.code,
        r.content_type,
        r.body.len(),
        if keep_alive { "keep-alive" } else { "close" }
    )
}

fn write_reply<S: Write>(s: &mut S, r: &HttpReply, keep_alive: bool) -> io::Result<()> {
    let mut out = head(r, keep_alive).into_bytes();
    out.extend_from_slice(&r.body);
    s.write_all(&out)?;
    s.flush()
}

/// A chunked reply that never ends within reason: an endless first chunk, or the real body
/// followed by endless trailer lines. Stops at [`HOSTILE_BYTES`] or when the client goes away.
fn write_hostile<S: Write>(s: &mut S, r: &HttpReply, oversized_chunk: bool) -> io::Result<()> {
    let head = format!(
        "HTTP/1.1 {} OK\r\nContent-Type: {}\r\nTransfer-Encoding: chunked\r\nServer: cloud-pay-sandbox\r\n\r\n",
        r.code, r.content_type
    );
    s.write_all(head.as_bytes())?;
    let filler: Vec<u8> = if oversized_chunk {
        s.write_all(b"FFFFFFFFFFFFFFFF\r\n")?;
        vec![b'x'; 64 * 1024]
    } else {
        s.write_all(format!("{:x}\r\n", r.body.len()).as_bytes())?;
        s.write_all(&r.body)?;
        s.write_all(b"\r\n0\r\n")?;
        b"X-Trailer: endless\r\n".repeat(64 * 1024 / 20)
    };
    let mut sent = 0;
    while sent < HOSTILE_BYTES {
        s.write_all(&filler)?;
        sent += filler.len();
    }
    s.flush()
}

/// Reads more bytes into `buf`; Ok(0) = EOF.
fn fill<S: Read>(s: &mut S, buf: &mut Vec<u8>) -> io::Result<usize> {
    let mut chunk = [0u8; 16 * 1024];
    let n = s.read(&mut chunk)?;
    buf.extend_from_slice(&chunk[..n]);
    Ok(n)
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

fn bad(msg: &str) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, msg.to_owned())
}

/// Reads one request; `None` on a clean EOF between requests. Leftover bytes stay in `buf`.
fn read_request<S: Read + Write>(s: &mut S, buf: &mut Vec<u8>) -> io::Result<Option<Request>> {
    let head_end = loop {
        if let Some(i) = find(buf, b"\r\n\r\n") {
            break i;
        }
        if buf.len() > MAX_HEAD {
            return Err(bad("header too large"));
        }
        if fill(s, buf)? == 0 {
            return if buf.iter().all(u8::is_ascii_whitespace) { Ok(None) } else { Err(bad("truncated request")) };
        }
    };
    let head = String::from_utf8_lossy(&buf[..head_end]).into_owned();
    buf.drain(..head_end + 4);
    let mut lines = head.split("\r\n").skip_while(|l| l.is_empty());
    let first = lines.next().ok_or_else(|| bad("no request line"))?;
    let mut parts = first.split_whitespace();
    let method = parts.next().ok_or_else(|| bad("no method"))?.to_owned();
    let target = parts.next().ok_or_else(|| bad("no target"))?.to_owned();
    let version = parts.next().unwrap_or("HTTP/1.0");
    let mut keep_alive = version != "HTTP/1.0";
    let mut content_length = 0usize;
    let mut chunked = false;
    let mut expect_continue = false;
    for l in lines {
        let Some((k, v)) = l.split_once(':') else { continue };
        let (k, v) = (k.trim().to_ascii_lowercase(), v.trim().to_ascii_lowercase());
        match k.as_str() {
            "content-length" => content_length = v.parse().map_err(|_| bad("bad content-length"))?,
            "transfer-encoding" => chunked = v.contains("chunked"),
            "connection" if v == "close" => keep_alive = false,
            "connection" if v == "keep-alive" => keep_alive = true,
            "expect" => expect_continue = v == "100-continue",
            _ => {}
        }
    }
    // curl asks before sending bodies over 1 KB; answering saves it a one-second wait.
    if expect_continue {
        s.write_all(b"HTTP/1.1 100 Continue\r\n\r\n")?;
        s.flush()?;
    }
    let body = if chunked { read_chunked(s, buf)? } else { read_exact_body(s, buf, content_length)? };
    let (path, query) = match target.split_once('?') {
        Some((p, q)) => (p.to_owned(), q.split('#').next().unwrap_or_default().to_owned()),
        None => (target, String::new()),
    };
    Ok(Some(Request { method, path, query, body, keep_alive }))
}

fn read_exact_body<S: Read>(s: &mut S, buf: &mut Vec<u8>, n: usize) -> io::Result<Vec<u8>> {
    if n > MAX_BODY {
        return Err(bad("body too large"));
    }
    while buf.len() < n {
        if fill(s, buf)? == 0 {
            return Err(bad("truncated body"));
        }
    }
    Ok(buf.drain(..n).collect())
}

fn read_chunked<S: Read>(s: &mut S, buf: &mut Vec<u8>) -> io::Result<Vec<u8>> {
    let mut body = Vec::new();
    loop {
        let line_end = loop {
            if let Some(i) = find(buf, b"\r\n") {
                break i;
            }
            if fill(s, buf)? == 0 {
                return Err(bad("truncated chunk"));
            }
        };
        let size_text = String::from_utf8_lossy(&buf[..line_end]).into_owned();
        buf.drain(..line_end + 2);
        let size = usize::from_str_radix(size_text.split(';').next().unwrap_or("").trim(), 16)
            .map_err(|_| bad("bad chunk size"))?;
        if body.len() + size > MAX_BODY {
            return Err(bad("body too large"));
        }
        if size == 0 {
            // Trailers end with an empty line.
            loop {
                if let Some(i) = find(buf, b"\r\n") {
                    let empty = i == 0;
                    buf.drain(..i + 2);
                    if empty {
                        return Ok(body);
                    }
                } else if fill(s, buf)? == 0 {
                    return Ok(body);
                }
            }
        }
        let chunk = read_exact_body(s, buf, size + 2)?;
        body.extend_from_slice(&chunk[..size]);
    }
}
