//! Weak-network benchmark: payments through a shaping relay between the SDK and the sandbox
//! (HTTPS), per link profile and poll schedule. Reports the time from "customer confirms" to
//! the SDK knowing (query_order = 0), requests and TLS handshakes per payment, and every false
//! "paid" or "failed".
//!
//! `cargo bench --bench weak_link_bench`; `WEAK_PAYMENTS` (default 200) payments per profile
//! and schedule, spread over `WEAK_TILLS` (default 16) tills paying one after another.

use std::ffi::{CString, c_char, c_int};
use std::net::SocketAddr;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use cloud_pay_sandbox::{LinkProfile, Relay, Sandbox, SandboxOptions};
use cloud_pay_sdk as sdk;
use serde_json::json;

type OutFn = unsafe extern "C" fn(*const c_char, *mut c_char, c_int) -> c_int;

fn call(f: OutFn, req: &str) -> c_int {
    let req = CString::new(req).unwrap();
    let mut out = vec![0u8; 16 * 1024];
    // SAFETY: NUL-terminated request, buffer of the length given.
    unsafe { f(req.as_ptr(), out.as_mut_ptr().cast(), out.len() as c_int) }
}

fn now_ms() -> f64 {
    SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_millis() as f64
}

fn quantile(v: &mut [f64], q: f64) -> f64 {
    if v.is_empty() {
        return f64::NAN;
    }
    v.sort_by(|a, b| a.total_cmp(b));
    v[((v.len() - 1) as f64 * q).round() as usize]
}

/// One payment: (seconds from the customer's confirmation to query_order = 0 — None for a
/// customer short of funds or an order still open after 240 s —, a false "paid" or "failed").
fn pay(sb: &Sandbox, no: &str, tenths: u32, pays: bool) -> (Option<f64>, bool) {
    let code = format!("139{}{tenths:03}00000000000", if pays { 1 } else { 3 });
    let req = json!({"out_trade_no": no, "author_code": code, "total_fee": 1, "fee_type": "CNY", "body": "bench"})
        .to_string();
    let rc = call(sdk::cloud_pay_micro_pay, &req);
    let mut wrong = pays && rc == sdk::CLOUD_PAY_FAIL;
    let confirmed_ms = sb.control().order(no).and_then(|o| o["pending"]["at_ms"].as_f64()).unwrap_or_else(now_ms);
    let query = json!({"out_trade_no": no, "trade_type": 1}).to_string();
    let deadline = Instant::now() + Duration::from_secs(240);
    // Watch the SDK's order table (no request): the background polls of the schedule find
    // the result; then query_order answers from memory, as the till's next call would.
    let rt = sdk::ffi::current().unwrap();
    while !rt.trade.record(no).is_some_and(|r| r.cached_final) && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(20));
    }
    let rc = call(sdk::cloud_pay_query_order, &query);
    let latency = (now_ms() - confirmed_ms).max(0.0) / 1e3;
    wrong |= (rc == sdk::CLOUD_PAY_ORDER_PAID && !pays) || (rc == sdk::CLOUD_PAY_ORDER_FAILED && pays);
    let settled = rc == sdk::CLOUD_PAY_ORDER_PAID || rc == sdk::CLOUD_PAY_ORDER_FAILED;
    (pays.then_some(latency).filter(|_| settled), wrong)
}

fn run(name: &str, profile: &LinkProfile, schedule: &str, payments: usize, tills: usize) {
    let sb = Sandbox::start(SandboxOptions::demo()).unwrap();
    let https: SocketAddr =
        sb.https_base_url().trim_start_matches("https://").trim_end_matches("/cpay/").parse().unwrap();
    let relay = Relay::start(https, profile.clone(), 11).unwrap();
    let conf = json!({
        "common_conf": {
            "base_url": format!("https://{}/cpay/", relay.addr()), "ca_file": sb.ca_file(),
            "micro_pay_query_order_schedule": schedule, "upload_monitor": 0,
            "state_dir": std::env::temp_dir().join(format!("weak-bench-{}-{name}-{schedule}", std::process::id())),
        },
        "trade_conf": {"out_mch_id": "sz01TESTMCH000000001", "out_sub_mch_id": "sz01TESTSUBMCH000001", "out_shop_id": "sz01TESTSHOP00000001",
            "device_id": "dev01", "staff_id": "1001", "authen_key": "TESTONLY0123456789ABCDEFGHIJKLMN", "terminal_type": 4, "machine_no": "00-11-22-33-44-55", "spbill_create_ip": "127.0.0.1"}
    });
    let c = CString::new(conf.to_string()).unwrap();
    // SAFETY: NUL-terminated configuration.
    assert_eq!(unsafe { sdk::cloud_pay_init(c.as_ptr()) }, 0);
    let started = Instant::now();
    let per_till = payments.div_ceil(tills);
    let results: Vec<(Option<f64>, bool)> = std::thread::scope(|s| {
        let hs: Vec<_> = (0..tills)
            .map(|t| {
                let sb = &sb;
                s.spawn(move || {
                    (0..per_till)
                        .map(|i| {
                            let k = t * per_till + i;
                            // Customers confirm after 1–8 s; one in ten is short of funds.
                            let tenths = 10 + ((k * 37) % 71) as u32;
                            let no = format!(
                                "sz0100test{}{:03}{:05}{:06}",
                                &schedule[..1],
                                t,
                                i,
                                std::process::id() % 1_000_000
                            );
                            pay(sb, &no, tenths, k % 10 != 9)
                        })
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        hs.into_iter().flat_map(|h| h.join().unwrap()).collect()
    });
    sdk::cloud_pay_fini();
    let n = results.len() as f64;
    let mut lat: Vec<f64> = results.iter().filter_map(|r| r.0).collect();
    let wrong = results.iter().filter(|r| r.1).count();
    let payers = (0..results.len()).filter(|k| k % 10 != 9).count();
    let open = payers.saturating_sub(lat.len());
    let ctl = sb.control();
    let requests = ctl.request_count("micro_pay") + ctl.request_count("query_order");
    println!(
        "| {name} | {schedule} | {} | {:.2} | {:.2} | {:.2} | {:.2} | {wrong} | {open} | {:.0} s |",
        results.len(),
        quantile(&mut lat, 0.5),
        quantile(&mut lat, 0.95),
        requests as f64 / n,
        relay.connections() as f64 / n,
        started.elapsed().as_secs_f64()
    );
    drop(relay);
    sb.stop();
}

fn main() {
    if !std::env::args().any(|a| a == "--bench") {
        println!("weak_link_bench: run with `cargo bench --bench weak_link_bench`");
        return;
    }
    let env = |k: &str, d: usize| std::env::var(k).ok().and_then(|v| v.parse().ok()).unwrap_or(d);
    let (payments, tills) = (env("WEAK_PAYMENTS", 200), env("WEAK_TILLS", 16));
    println!("# weak_link_bench: {payments} payments per row, {tills} tills, HTTPS through the shaping relay");
    println!(
        "| link | schedule | payments | confirm → query_order = 0, median s | p95 s | requests / payment | TLS handshakes / payment | false paid or failed | paid, still open after 240 s | run |"
    );
    println!("|---|---|---|---|---|---|---|---|---|---|");
    let lossy = LinkProfile::lossy();
    // Dead for 10 s once every 40 s, on top of the lossy link.
    let stall = LinkProfile::stalling(Duration::from_secs(40), Duration::from_secs(10));
    for (name, profile) in [("lossy (300 ms RTT, 2 % stalls)", &lossy), ("lossy + 10 s dead every 40 s", &stall)] {
        for schedule in ["fixed", "adaptive"] {
            run(name, profile, schedule, payments, tills);
        }
    }
}
