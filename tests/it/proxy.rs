//! `common_conf.proxy` on real sockets: a small HTTP proxy on loopback (CONNECT tunnels and
//! absolute-form forwarding, optional Basic credentials) in front of the sandbox.

use std::io::{Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::sync::Arc;
use std::time::Duration;

use crate::common::*;
use base64::Engine as _;
use cloud_pay_protocol::Endpoint;
use cloud_pay_sdk::transport::{Proxy, Transport, TransportError, Trust};
use parking_lot::Mutex;
use serde_json::json;

/// What the proxy saw: per request, its request line and its Proxy-Authorization value.
type Seen = Arc<Mutex<Vec<(String, Option<String>)>>>;

struct TestProxy {
    port: u16,
    seen: Seen,
}

impl TestProxy {
    /// A proxy that wants `Basic base64(credentials)` when `credentials` is given.
    fn start(credentials: Option<&str>) -> TestProxy {
        let l = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = l.local_addr().unwrap().port();
        let seen: Seen = Arc::default();
        let want = credentials.map(|c| format!("Basic {}", base64::engine::general_purpose::STANDARD.encode(c)));
        let s = seen.clone();
        std::thread::spawn(move || {
            for conn in l.incoming() {
                let Ok(conn) = conn else { return };
                let (s, want) = (s.clone(), want.clone());
                std::thread::spawn(move || serve(conn, &s, want.as_deref()));
            }
        });
        TestProxy { port, seen }
    }

    fn url(&self, userinfo: &str) -> String {
        format!("http://{userinfo}127.0.0.1:{}", self.port)
    }

    fn seen(&self) -> Vec<(String, Option<String>)> {
        self.seen.lock().clone()
    }
}

/// Reads one request or reply head (and returns it with the bytes read past it).
fn read_head(s: &mut TcpStream, buf: &mut Vec<u8>) -> Option<String> {
    let mut chunk = [0u8; 4096];
    loop {
        if let Some(end) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            let head = String::from_utf8(buf[..end + 4].to_vec()).unwrap();
            buf.drain(..end + 4);
            return Some(head);
        }
        let n = s.read(&mut chunk).ok().filter(|&n| n > 0)?;
        buf.extend_from_slice(&chunk[..n]);
    }
}

fn header<'a>(head: &'a str, name: &str) -> Option<&'a str> {
    head.lines().find_map(|l| l.split_once(':').filter(|(n, _)| n.eq_ignore_ascii_case(name)).map(|(_, v)| v.trim()))
}

/// Reads a Content-Length body after a head.
fn read_body(s: &mut TcpStream, head: &str, buf: &mut Vec<u8>) -> Option<Vec<u8>> {
    let len: usize = header(head, "content-length").map_or(0, |v| v.parse().unwrap());
    let mut chunk = [0u8; 4096];
    while buf.len() < len {
        let n = s.read(&mut chunk).ok().filter(|&n| n > 0)?;
        buf.extend_from_slice(&chunk[..n]);
    }
    Some(buf.drain(..len).collect())
}

fn serve(mut client: TcpStream, seen: &Seen, want: Option<&str>) {
    let mut buf = Vec::new();
    let mut upstream: Option<(TcpStream, Vec<u8>)> = None;
    while let Some(head) = read_head(&mut client, &mut buf) {
        let line = head.lines().next().unwrap().to_owned();
        let auth = header(&head, "proxy-authorization").map(str::to_owned);
        seen.lock().push((line.clone(), auth.clone()));
        if want.is_some() && auth.as_deref() != want {
            let _ = client.write_all(b"HTTP/1.1 407 Proxy Authentication Required\r\nProxy-Authenticate: Basic realm=\"till\"\r\nContent-Length: 0\r\n\r\n");
            return;
        }
        let mut parts = line.split(' ');
        let (method, target) = (parts.next().unwrap(), parts.next().unwrap());
        if method == "CONNECT" {
            let Ok(up) = TcpStream::connect(target) else {
                let _ = client.write_all(b"HTTP/1.1 502 Bad Gateway\r\nContent-Length: 0\r\n\r\n");
                return;
            };
            client.write_all(b"HTTP/1.1 200 Connection established\r\n\r\n").unwrap();
            let (mut c2, mut u2) = (client.try_clone().unwrap(), up.try_clone().unwrap());
            let back = std::thread::spawn(move || {
                let _ = std::io::copy(&mut u2, &mut c2);
                let _ = c2.shutdown(Shutdown::Write);
            });
            let mut up = up;
            let _ = up.write_all(&buf);
            let _ = std::io::copy(&mut client, &mut up);
            let _ = up.shutdown(Shutdown::Write);
            let _ = back.join();
            return;
        }
        // Absolute form: `POST http://host:port/path HTTP/1.1` → origin form to the host.
        let rest = target.strip_prefix("http://").expect("absolute-form request target");
        let (authority, path) = rest.split_at(rest.find('/').unwrap());
        let Some(body) = read_body(&mut client, &head, &mut buf) else { return };
        let (up, up_buf) = upstream.get_or_insert_with(|| (TcpStream::connect(authority).unwrap(), Vec::new()));
        let mut forwarded = format!("{method} {path} HTTP/1.1\r\n");
        for l in head
            .lines()
            .skip(1)
            .filter(|l| !l.is_empty() && !l.to_ascii_lowercase().starts_with("proxy-authorization:"))
        {
            forwarded.push_str(l);
            forwarded.push_str("\r\n");
        }
        forwarded.push_str("\r\n");
        up.write_all(forwarded.as_bytes()).unwrap();
        up.write_all(&body).unwrap();
        let Some(reply) = read_head(up, up_buf) else { return };
        let Some(reply_body) = read_body(up, &reply, up_buf) else { return };
        client.write_all(reply.as_bytes()).unwrap();
        client.write_all(&reply_body).unwrap();
    }
}

fn ping_ok(body: &[u8]) -> bool {
    serde_json::from_slice::<serde_json::Value>(body).is_ok_and(|v| v["status"] == 0)
}

fn transport(ca: Option<&str>, proxy: &str) -> Transport {
    Transport::new(&Trust::Bundled(ca.map(str::to_owned)), Duration::from_secs(2), Duration::from_secs(5))
        .unwrap()
        .with_proxy(Some(Proxy::parse(proxy).unwrap()))
}

fn not_sent(r: Result<Vec<u8>, TransportError>) -> String {
    match r {
        Err(TransportError::NotSent(m)) => m,
        other => panic!("expected NotSent, got {other:?}"),
    }
}

#[test]
fn https_goes_through_one_connect_tunnel_with_the_credentials() {
    let sb = start_sandbox();
    let ca = std::fs::read_to_string(sb.ca_file()).unwrap();
    // `@`, `:` and `%` in the password, percent-encoded in the URL.
    let proxy = TestProxy::start(Some("cashier:p@ss:w%rd"));
    let t = transport(Some(&ca), &proxy.url("cashier:p%40ss%3Aw%25rd@"));
    let c0 = sb.control().connections_accepted();
    for _ in 0..10 {
        assert!(ping_ok(&t.post(&sb.https_base_url(), Endpoint::Ping, "{}").unwrap()));
    }
    let seen = proxy.seen();
    let https_authority = sb.https_base_url().trim_start_matches("https://").trim_end_matches("/cpay/").to_owned();
    let basic = format!("Basic {}", base64::engine::general_purpose::STANDARD.encode("cashier:p@ss:w%rd"));
    assert_eq!(seen, vec![(format!("CONNECT {https_authority} HTTP/1.1"), Some(basic))], "one tunnel, kept alive");
    assert_eq!(sb.control().connections_accepted() - c0, 1);
}

#[test]
fn plain_http_goes_through_one_kept_alive_tunnel_too() {
    let sb = start_sandbox();
    let proxy = TestProxy::start(None);
    let t = transport(None, &proxy.url(""));
    for _ in 0..5 {
        assert!(ping_ok(&t.post(&sb.http_base_url(), Endpoint::Ping, "{}").unwrap()));
    }
    // ureq tunnels plain http as well (CONNECT), so the proxy sees one tunnel, not 5 requests.
    let authority = sb.http_base_url().trim_start_matches("http://").trim_end_matches("/cpay/").to_owned();
    assert_eq!(proxy.seen(), vec![(format!("CONNECT {authority} HTTP/1.1"), None)]);
}

#[test]
fn a_refused_or_missing_proxy_is_not_sent_and_never_quotes_the_credentials() {
    let sb = start_sandbox();
    let ca = std::fs::read_to_string(sb.ca_file()).unwrap();
    let proxy = TestProxy::start(Some("cashier:right-secret"));
    let c0 = sb.control().connections_accepted();
    let m = not_sent(transport(Some(&ca), &proxy.url("")).post(&sb.https_base_url(), Endpoint::Ping, "{}"));
    assert!(m.contains("wants credentials") && m.contains("407"), "{m}");
    let m = not_sent(transport(Some(&ca), &proxy.url("cashier:wrong-secret@")).post(
        &sb.https_base_url(),
        Endpoint::Ping,
        "{}",
    ));
    assert!(m.contains("refused the credentials"), "{m}");
    assert!(!m.contains("wrong-secret") && !m.contains("cashier:"), "{m}");
    // Nothing listens on the proxy's port any more.
    let gone = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = gone.local_addr().unwrap().port();
    drop(gone);
    let m = not_sent(transport(Some(&ca), &format!("http://127.0.0.1:{port}")).post(
        &sb.https_base_url(),
        Endpoint::Ping,
        "{}",
    ));
    assert!(m.contains(&format!("proxy 127.0.0.1:{port}")), "{m}");
    assert_eq!(sb.control().connections_accepted() - c0, 0, "no request reached the service");
}

#[test]
fn tls_is_still_verified_through_the_tunnel() {
    let sb = start_sandbox();
    let proxy = TestProxy::start(None);
    // The sandbox's CA is not trusted: the tunnel opens, the handshake inside it fails.
    let m = not_sent(transport(None, &proxy.url("")).post(&sb.https_base_url(), Endpoint::Ping, "{}"));
    assert!(m.contains("TLS handshake"), "{m}");
    assert_eq!(proxy.seen().len(), 1);
}

#[test]
fn proxy_urls_parse_or_say_why_without_the_password() {
    for (url, why) in [
        ("https://127.0.0.1:3128", "only http:// proxies"),
        ("socks5://127.0.0.1:1080", "must look like http://host:port"),
        ("http://proxy.example", "give the proxy's port"),
        ("http://u:secret@proxy.example", "give the proxy's port"),
        ("http://proxy.example:3128/path", "without a path"),
        ("http://proxy.example:port", "cannot read host and port"),
        ("http://u:se%4cret%zz@proxy.example:3128", "bad %-escape in the proxy password"),
        ("http://u:se%4cret%+1@proxy.example:3128", "bad %-escape in the proxy password"),
        ("http://u%4@proxy.example:3128", "bad %-escape in the proxy user"),
    ] {
        let e = Proxy::parse(url).unwrap_err();
        assert!(e.contains(why), "{url}: {e}");
        assert!(!e.contains("secret") && !e.contains("se%4c"), "{url}: {e}");
    }
    for url in
        ["http://127.0.0.1:3128", "http://127.0.0.1:3128/", " http://[::1]:3128 ", "http://u:secret@proxy.example:8080"]
    {
        let p = Proxy::parse(url).unwrap_or_else(|e| panic!("{url}: {e}"));
        assert!(!format!("{p:?}").contains("secret"), "{p:?}");
    }
}

#[test]
fn payments_go_through_the_configured_proxy() {
    let _g = serial();
    let sb = start_sandbox();
    let proxy = TestProxy::start(Some("till7:TESTONLY-proxy-password"));
    // A configuration error names the field.
    let bad = conf(&sb.https_base_url(), Some(&sb.ca_file()), json!({"proxy": "http://127.0.0.1"}));
    assert_eq!(init(&bad), -1);
    assert!(errmsg().contains("common_conf.proxy: give the proxy's port"), "{}", errmsg());
    let state_dir = fresh_state_dir();
    let cfg = conf(
        &sb.https_base_url(),
        Some(&sb.ca_file()),
        json!({"proxy": proxy.url("till7:TESTONLY-proxy-password@"), "state_dir": state_dir.to_string_lossy()}),
    );
    assert_eq!(init(&cfg), 0, "{}", errmsg());
    let no = pay_and_wait(WX_PAYS_AT_ONCE, 100);
    assert_eq!(sb.control().charge_count(&no), 1);
    let seen = proxy.seen();
    assert!(!seen.is_empty() && seen.iter().all(|(l, a)| l.starts_with("CONNECT ") && a.is_some()), "{seen:?}");
    cloud_pay_sdk::cloud_pay_fini();
    // The proxy's password is in no file the SDK wrote.
    for f in std::fs::read_dir(&state_dir).unwrap() {
        let text = std::fs::read(f.unwrap().path()).unwrap();
        assert!(!text.windows(14).any(|w| w == b"proxy-password"), "proxy credentials on disk");
    }
}

#[test]
fn security_login_goes_through_the_proxy_and_a_later_login_names_it_again() {
    let _g = serial();
    private_key_dir();
    let sb = start_sandbox();
    let proxy = TestProxy::start(Some("till7:TESTONLY-proxy-password"));
    let dir = fresh_state_dir();
    let login = |req: serde_json::Value| {
        let (code, out, err) = call_out(cloud_pay_sdk::cloud_pay_security_login, &req.to_string(), 4096);
        (code, serde_json::from_str::<serde_json::Value>(&out).unwrap_or_default(), err)
    };
    let (code, out, err) =
        login(json!({"pay_platform": 1, "mch_id": "1900000109", "sub_mch_id": "1900000110", "shop_id": "shop01",
        "state_dir": dir, "base_url": sb.http_base_url(), "proxy": proxy.url("till7:TESTONLY-proxy-password@")}));
    assert_eq!(code, 0, "{err}");
    let activator = out["activator"].as_str().unwrap().to_owned();
    sb.control().approve_login(&activator, "1001").unwrap();
    let (code, _, err) =
        call_out(cloud_pay_sdk::cloud_pay_security_login_check, &json!({"activator": activator}).to_string(), 4096);
    assert_eq!(code, cloud_pay_sdk::CLOUD_PAY_LOGIN_NO_CONF, "{err}");
    let first = proxy.seen().len();
    assert!(
        first >= 1,
        "identity mapping, QR and check went through the proxy (one kept-alive tunnel): {:?}",
        proxy.seen()
    );
    // security_init stores the identity (and the merchant's key), encrypted.
    let mut merchant: serde_json::Value =
        serde_json::from_str(&conf(&sb.http_base_url(), None, json!({"state_dir": dir}))).unwrap();
    merchant["trade_conf"]["private_key"] = private_key_pem().into();
    assert_eq!(unsafe { cloud_pay_sdk::cloud_pay_security_init(c(&merchant.to_string()).as_ptr()) }, 0, "{}", errmsg());
    cloud_pay_sdk::cloud_pay_fini();
    let first = proxy.seen().len();
    // A later login names its proxy again: the login file holds ids only, no proxy.
    let (code, _, err) = login(
        json!({"state_dir": dir, "base_url": sb.http_base_url(), "proxy": proxy.url("till7:TESTONLY-proxy-password@")}),
    );
    assert_eq!(code, 0, "{err}");
    assert!(proxy.seen().len() > first, "the later login went through the proxy too");
    for f in std::fs::read_dir(&dir).unwrap() {
        let text = std::fs::read(f.unwrap().path()).unwrap();
        assert!(!text.windows(14).any(|w| w == b"proxy-password"), "proxy credentials in clear on disk");
    }
}
