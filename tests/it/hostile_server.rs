//! A server (or anything on the path) that answers with hostile bytes: an endless chunk,
//! endless trailers, a reply or a TLS handshake dripped one byte at a time. Driven through the
//! exports over real sockets: no panic, memory bounded by the reply cap, every call back
//! within its `timeout_ms` plus 1 s, and a paid order never reported as failed.

use std::io::{Read, Write};
use std::net::TcpListener;
use std::time::{Duration, Instant};

use crate::common::*;
use cloud_pay_sandbox::FaultKind;
use cloud_pay_sdk::{CLOUD_PAY_FAIL, CLOUD_PAY_OK};
use serde_json::json;

const TIMEOUT_MS: u64 = 3000;

/// Peak resident memory of this process so far (VmHWM), in MiB.
fn peak_rss_mib() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
        .unwrap_or(0)
        / 1024
}

/// A payment the server applies, answered with `kind`: micro_pay comes back in time and
/// never says "failed" (the payment may have been made), and once the server behaves again
/// the same SDK instance finds the order paid.
fn payment_answered_with(kind: FaultKind) {
    let sb = start_sandbox();
    assert_eq!(
        init(&conf(&sb.http_base_url(), None, json!({"timeout_ms": TIMEOUT_MS, "keep_alive_ping_interval": 0}))),
        0,
        "{}",
        errmsg()
    );
    let no = order_no();
    sb.control().add_fault(fault("micro_pay", kind.clone(), Some(1)));
    let started = Instant::now();
    let (code, _, err) = micro_pay(&pay_req(&no, WX_PAYS_AT_ONCE, 1));
    let took = started.elapsed();
    eprintln!("{kind:?}: micro_pay {code} in {took:?}: {err}");
    assert_ne!(code, CLOUD_PAY_FAIL, "{kind:?}: {err}");
    assert!(took < Duration::from_millis(TIMEOUT_MS + 1000), "{kind:?} took {took:?}");
    assert!(wait_paid(&no, 1), "{kind:?}: {:?}", query_order(&no, 1));
    cloud_pay_sdk::cloud_pay_fini();
}

/// The measuring half of `endless_chunks_and_trailers_are_cut_off_at_the_cap`, run in a process
/// of its own: the peak (VmHWM) is the whole process's, which in this binary's process would
/// also hold the other tests' memory, or have been raised by them already so that nothing
/// the hostile replies cost would show.
#[test]
fn cut_off_child() {
    if std::env::var_os("CPS_CUT_OFF_CHILD").is_none() {
        return;
    }
    let before = peak_rss_mib();
    payment_answered_with(FaultKind::OversizedChunk);
    payment_answered_with(FaultKind::EndlessTrailers);
    // The server offered 64 MiB each time; the reply cap is 16 MiB.
    let grew = peak_rss_mib().saturating_sub(before);
    eprintln!("peak RSS grew by {grew} MiB");
    assert!(grew < 48, "peak memory grew by {grew} MiB");
}

#[test]
fn endless_chunks_and_trailers_are_cut_off_at_the_cap() {
    // The child has the SDK to itself; the guard keeps the SDK tests of this process from
    // competing with its timed calls.
    let _g = serial();
    let out = child_test(module_path!(), "cut_off_child").env("CPS_CUT_OFF_CHILD", "1").output().unwrap();
    eprint!("{}", String::from_utf8_lossy(&out.stderr));
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stdout));
}

#[test]
fn a_dripped_reply_ends_at_the_deadline() {
    let _g = serial();
    payment_answered_with(FaultKind::SlowDrip { ms: 200 });
}

#[test]
fn a_tls_handshake_dripped_one_byte_a_second_ends_at_the_connect_deadline() {
    let _g = serial();
    // A peer that reads the client hello, then sends a plausible TLS record one byte a second.
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = l.local_addr().unwrap().port();
    std::thread::spawn(move || {
        for conn in l.incoming() {
            let Ok(mut s) = conn else { return };
            std::thread::spawn(move || {
                let mut b = [0u8; 4096];
                let _ = s.read(&mut b);
                for byte in [0x16u8, 0x03, 0x03, 0x40, 0x00].iter().chain([0u8; 64].iter()) {
                    if s.write_all(&[*byte]).is_err() {
                        return;
                    }
                    std::thread::sleep(Duration::from_secs(1));
                }
            });
        }
    });
    let extra = json!({"timeout_ms": TIMEOUT_MS, "connect_timeout_ms": 1500, "keep_alive_ping_interval": 0});
    assert_eq!(init(&conf(&format!("https://127.0.0.1:{port}/cpay/"), None, extra)), 0, "{}", errmsg());
    let started = Instant::now();
    let (code, _, err) = micro_pay(&pay_req(&order_no(), WX_PAYS_AT_ONCE, 1));
    let took = started.elapsed();
    cloud_pay_sdk::cloud_pay_fini();
    // Nothing was sent (the handshake never finished): a definite failure, not "unknown", and
    // the errmsg says it never got past the handshake.
    assert_eq!(code, CLOUD_PAY_FAIL, "{err}");
    assert!(err.contains("nothing was sent: TLS handshake") && err.contains("timed out"), "{err}");
    // Sent once more after a failure that sent nothing (the retry rule), each bounded.
    assert!(took < Duration::from_millis(2 * 1500 + 1000), "took {took:?}");
}

/// A plain-http peer that reads each request head and body and answers it with `reply`,
/// counting the connections it accepts.
fn framing_server(reply: &'static [u8]) -> (u16, std::sync::Arc<std::sync::atomic::AtomicUsize>) {
    use std::sync::atomic::{AtomicUsize, Ordering};
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = l.local_addr().unwrap().port();
    let conns = std::sync::Arc::new(AtomicUsize::new(0));
    let counted = conns.clone();
    std::thread::spawn(move || {
        for conn in l.incoming() {
            let Ok(mut s) = conn else { return };
            counted.fetch_add(1, Ordering::SeqCst);
            std::thread::spawn(move || {
                let mut buf = Vec::new();
                let mut b = [0u8; 4096];
                loop {
                    let Ok(n) = s.read(&mut b) else { return };
                    if n == 0 {
                        return;
                    }
                    buf.extend_from_slice(&b[..n]);
                    let text = String::from_utf8_lossy(&buf).into_owned();
                    let Some(end) = text.find("\r\n\r\n") else { continue };
                    let len = text[..end]
                        .lines()
                        .find_map(|l| {
                            l.to_ascii_lowercase()
                                .strip_prefix("content-length:")
                                .map(|v| v.trim().parse::<usize>().unwrap_or(0))
                        })
                        .unwrap_or(0);
                    if buf.len() < end + 4 + len {
                        continue;
                    }
                    buf.drain(..end + 4 + len);
                    if s.write_all(reply).is_err() {
                        return;
                    }
                }
            });
        }
    });
    (port, conns)
}

#[test]
fn a_signed_content_length_is_refused_and_the_payment_stays_unknown() {
    let _g = serial();
    let (port, _) = framing_server(b"HTTP/1.1 200 OK\r\nContent-Length: +5\r\n\r\nhello");
    let extra = json!({"timeout_ms": TIMEOUT_MS, "keep_alive_ping_interval": 0});
    assert_eq!(init(&conf(&format!("http://127.0.0.1:{port}/cpay/"), None, extra)), 0, "{}", errmsg());
    let (code, _, err) = micro_pay(&pay_req(&order_no(), WX_PAYS_AT_ONCE, 1));
    cloud_pay_sdk::cloud_pay_fini();
    // The request was sent, so the payment may have been made: unknown (0, keep querying),
    // never a failure; the framing error is named.
    assert_eq!(code, CLOUD_PAY_OK, "{err}");
    assert!(err.to_ascii_lowercase().contains("content-length"), "{err}");
}

#[test]
fn a_reply_with_content_length_and_chunked_does_not_keep_its_connection() {
    let _g = serial();
    // RFC 9112 §6.3: with both, chunked decides the body and the connection must be closed.
    let (port, conns) = framing_server(
        b"HTTP/1.1 200 OK\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n2\r\n{}\r\n0\r\n\r\n",
    );
    let extra = json!({"timeout_ms": TIMEOUT_MS, "keep_alive_ping_interval": 0, "upload_monitor": 0});
    assert_eq!(init(&conf(&format!("http://127.0.0.1:{port}/cpay/"), None, extra)), 0, "{}", errmsg());
    let no = order_no();
    let _ = query_order(&no, 1);
    let _ = query_order(&no, 1);
    cloud_pay_sdk::cloud_pay_fini();
    let n = conns.load(std::sync::atomic::Ordering::SeqCst);
    assert!(n >= 2, "both queries went over one connection ({n} accepted)");
}
