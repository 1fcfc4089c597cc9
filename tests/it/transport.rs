//! The SDK's HTTP client on real sockets: the sandbox for pooled keep-alive connections over
//! HTTP and HTTPS, and a scripted loopback peer for the framings the sandbox never uses
//! (chunked bodies, interim 1xx replies, close-delimited bodies) and for broken peers.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::time::{Duration, Instant};

use cloud_pay_protocol::Endpoint;
use cloud_pay_sandbox::{Sandbox, SandboxOptions};
use cloud_pay_sdk::transport::{Transport, TransportError, Trust};

fn transport(ca: Option<&str>, timeout: Duration) -> Transport {
    Transport::new(&Trust::Bundled(ca.map(str::to_owned)), Duration::from_secs(2), timeout).unwrap()
}

fn ping_ok(body: &[u8]) -> bool {
    serde_json::from_slice::<serde_json::Value>(body).is_ok_and(|v| v["status"] == 0)
}

#[test]
fn pooled_connections_are_reused_and_dropped_ones_are_noticed_before_sending() {
    let sb = Sandbox::start(SandboxOptions::demo()).unwrap();
    let ca = std::fs::read_to_string(sb.ca_file()).unwrap();
    let ctl = sb.control();
    for (base, ca) in [(sb.http_base_url(), None), (sb.https_base_url(), Some(ca.as_str()))] {
        let t = transport(ca, Duration::from_secs(5));
        let c0 = ctl.connections_accepted();
        for _ in 0..20 {
            assert!(ping_ok(&t.post(&base, Endpoint::Ping, "{}").unwrap()), "{base}");
        }
        assert_eq!(ctl.connections_accepted() - c0, 1, "{base}: 20 requests on one keep-alive connection");
        // The server drops its idle connections: the next request must not be lost on the
        // dead one (it would be "maybe sent"); it goes on a new connection instead.
        ctl.close_connections();
        std::thread::sleep(Duration::from_millis(50));
        assert!(
            ping_ok(&t.post(&base, Endpoint::Ping, "{}").unwrap()),
            "{base} after the server closed the connection"
        );
        assert_eq!(ctl.connections_accepted() - c0, 2, "{base}");
    }
}

/// A loopback peer that answers each request on a connection with the next scripted reply.
fn scripted(replies: Vec<Vec<&'static [u8]>>) -> (String, std::thread::JoinHandle<Vec<String>>) {
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    let base = format!("http://{}/cpay/", l.local_addr().unwrap());
    let h = std::thread::spawn(move || {
        let mut seen = Vec::new();
        for conn_replies in replies {
            let (mut s, _) = l.accept().unwrap();
            for reply in conn_replies {
                seen.push(read_request(&mut s));
                s.write_all(reply).unwrap();
            }
            // Dropping the socket closes it: a close-delimited body ends here.
        }
        seen
    });
    (base, h)
}

fn read_request(s: &mut TcpStream) -> String {
    let mut buf = Vec::new();
    let mut b = [0u8; 4096];
    loop {
        let n = s.read(&mut b).unwrap();
        buf.extend_from_slice(&b[..n]);
        if let Some(end) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            let head = String::from_utf8_lossy(&buf[..end]).to_string();
            let len: usize = head
                .lines()
                .find_map(|l| l.to_ascii_lowercase().strip_prefix("content-length:").map(|v| v.trim().parse().unwrap()))
                .unwrap();
            while buf.len() < end + 4 + len {
                let n = s.read(&mut b).unwrap();
                buf.extend_from_slice(&b[..n]);
            }
            return String::from_utf8_lossy(&buf).to_string();
        }
        assert!(n > 0, "client closed");
    }
}

#[test]
fn chunked_interim_and_close_delimited_replies_are_read_whole() {
    let (base, peer) = scripted(vec![
        vec![
            b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\n{\"sta\r\n7;ext=1\r\ntus\":0}\r\n0\r\nX-Trailer: 1\r\n\r\n",
            b"HTTP/1.0 200 OK\r\nContent-Type: application/json\r\n\r\n{\"status\":0,\"n\":2}",
        ],
        vec![b"HTTP/1.1 200 OK\r\nContent-Length: 12\r\nConnection: close\r\n\r\n{\"status\":0}"],
    ]);
    let t = transport(None, Duration::from_secs(5));
    assert_eq!(t.post(&base, Endpoint::Ping, "{}").unwrap(), br#"{"status":0}"#);
    // Same connection (the chunked reply left it reusable), a body that ends at close.
    assert_eq!(t.post(&base, Endpoint::QueryOrder, "{\"x\":1}").unwrap(), br#"{"status":0,"n":2}"#);
    // That connection is gone: the third request opens the second scripted connection.
    assert_eq!(t.post(&base, Endpoint::Ping, "{}").unwrap(), br#"{"status":0}"#);
    let seen = peer.join().unwrap();
    assert_eq!(seen.len(), 3);
    assert!(
        seen[1].starts_with("POST /cpay/query_order HTTP/1.1\r\n") && seen[1].ends_with("\r\n\r\n{\"x\":1}"),
        "{}",
        seen[1]
    );
    let head = seen[1].to_ascii_lowercase();
    assert!(head.contains("\r\ncontent-length: 7\r\n") && head.contains("\r\nhost: 127.0.0.1:"), "{}", seen[1]);
}

#[test]
fn failures_say_whether_the_request_may_have_been_sent() {
    // Nothing listening: not sent.
    let port = TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let t = transport(None, Duration::from_millis(800));
    let e = t.post(&format!("http://127.0.0.1:{port}/cpay/"), Endpoint::MicroPay, "{}").unwrap_err();
    assert!(matches!(e, TransportError::NotSent(_)), "{e}");

    // Request read, then: an HTTP 500, a reply cut short, a connection closed without a
    // reply, a reply that never comes. All "maybe sent". (The 500 says `Connection: close`:
    // each case gets its own connection, none races the peer closing a pooled one.)
    let (base, peer) = scripted(vec![
        vec![b"HTTP/1.1 500 Internal Server Error\r\nContent-Length: 2\r\nConnection: close\r\n\r\n{}"],
        vec![b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n{\"status\""],
        vec![b""],
    ]);
    let e = t.post(&base, Endpoint::MicroPay, "{}").unwrap_err();
    assert!(matches!(&e, TransportError::MaybeSent(m) if m.contains("HTTP 500")), "{e}");
    let e = t.post(&base, Endpoint::MicroPay, "{}").unwrap_err();
    assert!(matches!(&e, TransportError::MaybeSent(m) if m.contains("closed before the whole reply")), "{e}");
    let e = t.post(&base, Endpoint::MicroPay, "{}").unwrap_err();
    assert!(matches!(&e, TransportError::MaybeSent(m) if m.contains("closed before the whole reply")), "{e}");
    peer.join().unwrap();

    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    let base = format!("http://{}/cpay/", l.local_addr().unwrap());
    let silent = std::thread::spawn(move || {
        let (mut s, _) = l.accept().unwrap();
        read_request(&mut s);
        std::thread::sleep(Duration::from_millis(3000));
    });
    let started = Instant::now();
    let e = t.post(&base, Endpoint::MicroPay, "{}").unwrap_err();
    let took = started.elapsed();
    assert!(matches!(&e, TransportError::MaybeSent(m) if m.contains("timed out")), "{e}");
    assert!(
        took >= Duration::from_millis(750) && took < Duration::from_millis(2500),
        "the 800 ms timeout bounds the call (the peer stays silent for 3 s): {took:?}"
    );
    silent.join().unwrap();
}

#[test]
fn https_needs_a_trusted_certificate_and_is_not_sent_otherwise() {
    let sb = Sandbox::start(SandboxOptions::demo()).unwrap();
    let t = transport(None, Duration::from_secs(5));
    let e = t.post(&sb.https_base_url(), Endpoint::Ping, "{}").unwrap_err();
    assert!(matches!(&e, TransportError::NotSent(m) if m.contains("TLS")), "{e}");
}
