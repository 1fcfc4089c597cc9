//! TLS, persistence, stop, the HTTP control API and the binary.

mod common;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use cloud_pay_protocol::types::*;
use cloud_pay_sandbox::{Sandbox, SandboxOptions, ScanAction};
use common::*;

#[test]
fn https_with_the_generated_ca_and_wrong_ca_rejected() {
    let sb = start();
    assert!(sb.https_base_url().starts_with("https://127.0.0.1:"));
    assert!(sb.ca_pem().contains("BEGIN CERTIFICATE"));
    assert_eq!(std::fs::read_to_string(sb.ca_file()).unwrap(), sb.ca_pem());
    let c = Client::https(&sb);
    let n = no("tls");
    ok(&c.call::<MicroPay>(&micro(&n, WX_NOW, 1)));
    // localhost is in the certificate too.
    let port = sb.https_base_url().rsplit(':').next().unwrap().to_owned();
    let local = Client::with_base(format!("https://localhost:{port}"), Some(sb.ca_pem()));
    assert_eq!(local.get("ping").0, 200);
    // Another sandbox's CA does not verify this server; neither do the system roots.
    let other = start();
    let wrong = Client::with_base(sb.https_base_url(), Some(other.ca_pem()));
    let e = wrong.post("ping", "").unwrap_err().to_string();
    assert!(e.to_lowercase().contains("certificate") || e.contains("UnknownIssuer"), "{e}");
    let system = Client::with_base(sb.https_base_url(), None);
    assert!(system.post("ping", "").is_err());
}

#[test]
fn loaded_tls_certificates_are_used() {
    let dir = std::env::temp_dir().join(format!("sbx-tls-{}", no("")));
    std::fs::create_dir_all(&dir).unwrap();
    let key = rcgen::KeyPair::generate().unwrap();
    let cert = rcgen::CertificateParams::new(vec!["127.0.0.1".to_owned()]).unwrap().self_signed(&key).unwrap();
    std::fs::write(dir.join("cert.pem"), cert.pem()).unwrap();
    std::fs::write(dir.join("key.pem"), key.serialize_pem()).unwrap();
    let sb = Sandbox::start(SandboxOptions {
        tls: Some((dir.join("cert.pem"), dir.join("key.pem"))),
        ..SandboxOptions::demo()
    })
    .unwrap();
    assert_eq!(sb.ca_pem(), "");
    let c = Client::with_base(sb.https_base_url(), Some(cert.pem()));
    assert_eq!(c.get("ping").0, 200);
    drop(sb);
    let _ = std::fs::remove_dir_all(dir);
}

#[test]
fn state_survives_stop_and_start() {
    let dir = std::env::temp_dir().join(format!("sbx-state-{}", no("")));
    let opts = SandboxOptions { state_dir: Some(dir.clone()), ..SandboxOptions::demo() };
    let sb = Sandbox::start(opts.clone()).unwrap();
    sb.control().set_refund_delay_ms(100);
    let c = Client::http(&sb);
    let (paid, pending, qr) = (no("p"), no("w"), no("q"));
    ok(&c.call::<MicroPay>(&micro(&paid, WX_NOW, 800)));
    ok(&c.call::<MicroPay>(&micro(&pending, "139100300000000000", 900)));
    ok(&c.call::<ScanCodePay>(&scan(&qr, 2, 700)));
    let rn = no("r");
    ok(&c.call::<Refund>(&refund_req(&paid, &rn, 800, 300)));
    let ca = sb.ca_pem();
    let login = ok(&c.call_with::<ClientInitialize>(
        &ClientInitializeRequest { out_sub_mch_id: SUB.into(), ..Default::default() },
        cloud_pay_protocol::Authenticator::None,
    ));
    let t = Instant::now();
    sb.stop();
    assert!(t.elapsed() < Duration::from_secs(1), "stop is prompt");
    assert!(dir.join("state.json").exists());

    sleep_ms(350); // the pending payment and the refund complete while the sandbox is down
    let sb = Sandbox::start(opts).unwrap();
    assert_eq!(sb.ca_pem(), ca, "same CA after a restart");
    let c = Client::https(&sb);
    assert_eq!(state_of(&c, &paid).1, 4);
    assert_eq!(state_of(&c, &pending).1, 2, "a scheduled payment lands by wall-clock time");
    assert_eq!(sb.control().charge_count(&pending), 1);
    let q = ok(&c.call::<QueryRefundOrder>(&query_refund(&paid, Some(&rn))));
    assert_eq!(q.refund_order_content[0].wxpay_refund_order_content_ext.as_ref().unwrap().state.0, 2);
    sb.control().customer_scan(&qr, ScanAction::Pay).unwrap();
    assert_eq!(state_of(&c, &qr).1, 2);
    // Idempotency still holds after the restart.
    assert_eq!(status(&c.call::<MicroPay>(&micro(&paid, WX_NOW, 801))), (104, 407));
    sb.control().approve_login(&login.activator, "1001").unwrap();
    sb.stop();
    let _ = std::fs::remove_dir_all(dir);
}

#[test]
fn a_temporary_state_dir_keeps_the_state_in_memory() {
    let sb = start();
    let c = Client::http(&sb);
    let n = no("mem");
    ok(&c.call::<MicroPay>(&micro(&n, WX_NOW, 100)));
    assert_eq!(state_of(&c, &n).1, 2);
    // Nothing could load it again: the directory goes on stop.
    assert!(!sb.state_dir().join("state.json").exists(), "no state file in a temporary state dir");
    sb.stop();
}

#[test]
fn stop_closes_keep_alive_connections() {
    let sb = start();
    let host = host_of(&sb.http_base_url());
    let mut s = TcpStream::connect(&host).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(3))).unwrap();
    s.write_all(format!("GET /cpay/ping HTTP/1.1\r\nHost: {host}\r\n\r\n").as_bytes()).unwrap();
    let mut buf = [0u8; 4096];
    let n = s.read(&mut buf).unwrap();
    assert!(String::from_utf8_lossy(&buf[..n]).contains("200 OK"));
    let dir = sb.state_dir();
    let t = Instant::now();
    sb.stop();
    assert!(t.elapsed() < Duration::from_secs(1));
    // The idle keep-alive connection is closed by the server (EOF or reset, not a timeout).
    match s.read(&mut buf) {
        Ok(0) => {}
        Ok(n) => panic!("unexpected {n} bytes"),
        Err(e) => assert_ne!(e.kind(), std::io::ErrorKind::WouldBlock, "connection left open"),
    }
    assert!(t.elapsed() < Duration::from_secs(2));
    assert!(TcpStream::connect(&host).is_err(), "listener closed");
    assert!(!dir.exists(), "temporary state dir removed");
}

#[test]
fn http_control_api() {
    let sb = start();
    let c = Client::http(&sb);
    let ctl = Client::with_base(sb.http_base_url().replace("/cpay/", "/sandbox/"), None);
    let (code, index) = ctl.get("");
    assert_eq!(code, 200);
    assert!(String::from_utf8_lossy(&index).contains("login/approve"));
    let n = no("c");
    ok(&c.call::<ScanCodePay>(&scan(&n, 1, 120)));
    let (code, _) = ctl.post("scan", &format!(r#"{{"out_trade_no":"{n}","action":"Pay"}}"#)).unwrap();
    assert_eq!(code, 200);
    let (_, body) = ctl.post("order", &format!(r#"{{"out_trade_no":"{n}"}}"#)).unwrap();
    let v = json(&body);
    assert_eq!(v["order"]["state"], 3);
    assert_eq!(v["order"]["is_final"], true);
    assert_eq!(v["order"]["trade_type"], 2);
    assert_eq!(v["charge_count"], 1);
    let (code, body) = ctl.post("scan", &format!(r#"{{"out_trade_no":"{n}","action":"Pay"}}"#)).unwrap();
    assert_eq!(code, 409, "{}", String::from_utf8_lossy(&body));
    assert_eq!(json(&ctl.post("charge_count", &format!(r#"{{"out_trade_no":"{n}"}}"#)).unwrap().1)["charge_count"], 1);
    assert_eq!(ctl.post("order", r#"{"out_trade_no":"nope"}"#).unwrap().0, 404);
    let login = ok(&c.call_with::<ClientInitialize>(
        &ClientInitializeRequest { out_sub_mch_id: SUB.into(), ..Default::default() },
        cloud_pay_protocol::Authenticator::None,
    ));
    let (code, _) =
        ctl.post("login/approve", &format!(r#"{{"activator":"{}","staff_id":"1001"}}"#, login.activator)).unwrap();
    assert_eq!(code, 200);
    let g = ok(&c.call_with::<ClientTryGetInitializers>(
        &TryGetInitializersRequest { out_sub_mch_id: SUB.into(), token: login.token, nonce_str: None },
        cloud_pay_protocol::Authenticator::None,
    ));
    assert!(g.initialization_granted);
    let stats = json(&ctl.post("stats", "").unwrap().1);
    assert_eq!(stats["requests"]["scan_code_pay"], 1);
    assert!(stats["connections_accepted"].as_u64().unwrap() >= 1);
    assert_eq!(ctl.post("refund_delay", r#"{"ms":5}"#).unwrap().0, 200);
    assert_eq!(ctl.post("no_such_action", "{}").unwrap().0, 404);
    assert_eq!(sb.control().request_count("scan_code_pay"), 1);
}

#[test]
fn binary_prints_its_urls_and_serves() {
    let dir = std::env::temp_dir().join(format!("sbx-bin-{}", no("")));
    let mut child = Command::new(env!("CARGO_BIN_EXE_cloud-pay-sandbox"))
        .args(["--state-dir", dir.to_str().unwrap(), "--http", "127.0.0.1:0"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let mut next = || lines.next().unwrap().unwrap();
    let (http, https, ca) = (next(), next(), next());
    let http = http.strip_prefix("CLOUDPAY_SANDBOX_HTTP=").unwrap().to_owned();
    let https = https.strip_prefix("CLOUDPAY_SANDBOX_HTTPS=").unwrap().to_owned();
    let ca = ca.strip_prefix("CLOUDPAY_SANDBOX_CA=").unwrap().to_owned();
    let ca_pem = std::fs::read_to_string(&ca).unwrap();
    let c = Client::with_base(http, None);
    ok(&c.call::<MicroPay>(&micro(&no("b"), WX_NOW, 1)));
    let s = Client::with_base(https, Some(ca_pem));
    assert_eq!(s.get("ping").0, 200);
    child.kill().unwrap();
    child.wait().unwrap();
    // The request log names the endpoint and outcome but never the payment code.
    let mut log = String::new();
    child.stderr.take().unwrap().read_to_string(&mut log).unwrap();
    assert!(log.contains("micro_pay") && log.contains("-> 0/0"), "{log}");
    assert!(!log.contains(WX_NOW), "payment codes are not logged");
    assert!(dir.join("state.json").exists());
    let _ = std::fs::remove_dir_all(dir);
}
