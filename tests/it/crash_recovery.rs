//! Crash safety: a cashier process is SIGKILLed at random points of a payment (before
//! sending, after sending, while polling); a fresh process with the same state_dir must end
//! every order in the state the sandbox holds — 0 lost, 0 duplicate charges.
//!
//! The child is this test binary re-run with only `crash_child` selected and its orders in
//! `CPS_CRASH_CHILD`; the parent (this process) is the fresh process.

use std::io::Read;
use std::process::Stdio;
use std::time::Duration;

use crate::common::*;
use cloud_pay_sdk as sdk;
use serde_json::json;

/// The child cashier: init, (maybe) wait, pay, then poll until killed.
#[test]
fn crash_child() {
    let Ok(spec) = std::env::var("CPS_CRASH_CHILD") else { return };
    let parts: Vec<&str> = spec.split('|').collect();
    let (base, dir, no, code, pre_ms) = (parts[0], parts[1], parts[2], parts[3], parts[4].parse::<u64>().unwrap());
    let mut c: serde_json::Value = serde_json::from_str(&conf(
        base,
        None,
        json!({"micro_pay_query_order_interval": 0.05, "micro_pay_query_order_count": 200}),
    ))
    .unwrap();
    c["common_conf"]["state_dir"] = json!(dir);
    assert_eq!(init(&c.to_string()), 0);
    std::thread::sleep(Duration::from_millis(pre_ms));
    println!("SENDING");
    let (rc, _, _) = micro_pay(&pay_req(no, code, 123));
    println!("SENT {rc}");
    loop {
        let (rc, _, _) = query_order(no, 1);
        println!("POLL {rc}");
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Deterministic pseudo-random numbers (reproducible runs).
struct Lcg(u64);
impl Lcg {
    fn next(&mut self, n: u64) -> u64 {
        self.0 = self.0.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
        (self.0 >> 33) % n
    }
}

#[derive(Debug, Default)]
struct Tally {
    runs: u32,
    before_sending: u32,
    after_sending_before_reply: u32,
    while_polling: u32,
    resumed: u32,
    charged: u32,
    lost: u32,
    duplicate_charges: u32,
}

#[test]
fn sigkill_at_random_points_loses_nothing() {
    let _g = serial();
    let sb = start_sandbox();
    let mut rng = Lcg(0x5EED_0007);
    let mut t = Tally::default();
    for run in 0..24 {
        let dir = fresh_state_dir();
        let no = order_no();
        let code = match run % 4 {
            0 => WX_PAYS_AT_ONCE.to_owned(),
            1 => wx_code(1, 3),  // pays after 0.3 s
            2 => ali_code(1, 6), // pays after 0.6 s
            _ => wx_code(2, 3),  // customer cancels after 0.3 s
        };
        if run % 3 == 1 {
            // A slow reply widens the window "processed by the server, reply not yet back".
            sb.control().add_fault(FaultRule {
                endpoint: Some("micro_pay".into()),
                out_trade_no: Some(no.clone()),
                kind: FaultKind::Delay { ms: 400 },
                times: Some(1),
                phase: Some(FaultPhase::AfterProcessing),
            });
        }
        // Some cashiers are still scanning when the till dies: killed before anything is sent.
        let pre_ms = if run % 6 == 5 { 5_000 } else { rng.next(150) };
        let kill_after = 80 + rng.next(700);
        let mut child = child_test(module_path!(), "crash_child")
            .env("CPS_CRASH_CHILD", format!("{}|{}|{no}|{code}|{pre_ms}", sb.http_base_url(), dir.display()))
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        std::thread::sleep(Duration::from_millis(kill_after));
        child.kill().unwrap(); // SIGKILL: no destructor, no flush, no goodbye
        child.wait().unwrap();
        let mut out = String::new();
        child.stdout.take().unwrap().read_to_string(&mut out).unwrap();
        let sent = out.contains("SENDING");
        let replied = out.contains("SENT");
        let polled = out.contains("POLL");
        let exists = sb.control().order(&no).is_some();
        match (sent, replied) {
            (false, _) => t.before_sending += 1,
            (true, false) if exists => t.after_sending_before_reply += 1,
            (true, false) => t.before_sending += 1,
            (true, true) => t.while_polling += polled as u32,
        }
        t.runs += 1;

        // The fresh process: same state_dir.
        sb.control().clear_faults();
        let queries_before = sb.control().request_count("query_order");
        let mut c: serde_json::Value =
            serde_json::from_str(&conf(&sb.http_base_url(), None, json!({"micro_pay_query_order_interval": 0.05})))
                .unwrap();
        c["common_conf"]["state_dir"] = json!(dir);
        assert_eq!(init(&c.to_string()), 0, "{}", errmsg());
        let resumed = errmsg().contains("resumed 1 unfinished order");
        if resumed {
            t.resumed += 1;
            // It follows the order by itself, without being asked.
            assert!(wait_requests(&sb, "query_order", queries_before + 1), "run {run}: recovered order is polled");
        }
        // Every order ends in the sandbox's state.
        let final_code = wait_final(&no, 1).map_or(sdk::CLOUD_PAY_ORDER_UNKNOWN, |r| r.0);
        let charged = sb.control().charge_count(&no);
        let truth = sb.control().order(&no);
        match (&truth, charged) {
            (None, _) => assert_eq!(final_code, sdk::CLOUD_PAY_ORDER_NOT_EXIST, "run {run}: never created"),
            (Some(_), 1) => assert_eq!(final_code, sdk::CLOUD_PAY_ORDER_PAID, "run {run}: the customer paid: {out}"),
            (Some(_), _) => assert!(
                final_code == sdk::CLOUD_PAY_ORDER_FAILED || final_code == sdk::CLOUD_PAY_ORDER_CLOSED,
                "run {run}: not paid, got {final_code}"
            ),
        }
        if truth.is_some() && final_code == sdk::CLOUD_PAY_ORDER_UNKNOWN {
            t.lost += 1;
        }
        // The cashier, unsure, repeats the same sale with the same number: never a second charge.
        let (rc, _, err) = micro_pay(&pay_req(&no, &code, 123));
        assert!(rc == 0 || rc == -1, "run {run}: {err}");
        let after = sb.control().charge_count(&no);
        if after > 1 {
            t.duplicate_charges += 1;
        }
        t.charged += (after > 0) as u32;
        sdk::cloud_pay_fini();
        let _ = std::fs::remove_dir_all(&dir);
    }
    eprintln!("crash recovery: {t:?}");
    assert_eq!((t.lost, t.duplicate_charges), (0, 0));
    assert!(t.runs >= 20);
    assert!(
        t.before_sending >= 1 && t.after_sending_before_reply >= 1 && t.while_polling >= 1,
        "every kill point covered: {t:?}"
    );
    assert!(t.resumed >= 1, "{t:?}");
    sb.stop();
}

/// The child of `sigkill_keeps_reentry_guards_and_unknown_refund_numbers`: a re-entry, then a
/// refund whose reply is lost, then it waits to be killed.
#[test]
fn guard_child() {
    let Ok(spec) = std::env::var("CPS_GUARD_CHILD") else { return };
    let parts: Vec<&str> = spec.split('|').collect();
    let (base, dir, reentry, paid) = (parts[0], parts[1], parts[2], parts[3]);
    let mut c: serde_json::Value = serde_json::from_str(&conf(base, None, json!({}))).unwrap();
    c["common_conf"]["state_dir"] = json!(dir);
    assert_eq!(init(&c.to_string()), 0);
    assert_eq!(micro_pay(&pay_req(reentry, WX_PAYS_AT_ONCE, 301)).0, sdk::CLOUD_PAY_FAIL, "{}", errmsg());
    assert_eq!(micro_pay(&pay_req(paid, WX_PAYS_AT_ONCE, 100)).0, 0);
    assert_eq!(
        refund(&json!({"pay_platform": 1, "out_trade_no": paid, "total_fee": 100, "refund_fee": 40})).0,
        sdk::CLOUD_PAY_UNKNOWN
    );
    println!("DONE");
    std::thread::sleep(Duration::from_secs(60));
}

/// Killed after a re-entry and after a refund whose outcome is unknown: the next process
/// still answers -6 and refuses the cancel, and the cashier's retried refund reuses the
/// number, so the customer is refunded once.
#[test]
fn sigkill_keeps_reentry_guards_and_unknown_refund_numbers() {
    let _g = serial();
    let sb = start_sandbox();
    sb.control().set_refund_delay_ms(0);
    let dir = fresh_state_dir();
    let (reentry, paid) = (order_no(), order_no());
    // The number `reentry` belongs to an earlier, paid sale.
    init_http(&sb);
    assert_eq!(micro_pay(&pay_req(&reentry, WX_PAYS_AT_ONCE, 300)).0, 0);
    sdk::cloud_pay_fini();
    sb.control().add_fault(FaultRule {
        endpoint: Some("refund".into()),
        out_trade_no: Some(paid.clone()),
        kind: FaultKind::DropMidReply,
        times: Some(1),
        phase: None,
    });
    let mut child = child_test(module_path!(), "guard_child")
        .env("CPS_GUARD_CHILD", format!("{}|{}|{reentry}|{paid}", sb.http_base_url(), dir.display()))
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut out = child.stdout.take().unwrap();
    let mut seen = String::new();
    let mut buf = [0u8; 256];
    while !seen.contains("DONE") {
        let n = out.read(&mut buf).unwrap();
        assert!(n > 0, "the child ended early: {seen}");
        seen.push_str(&String::from_utf8_lossy(&buf[..n]));
    }
    child.kill().unwrap();
    child.wait().unwrap();
    assert_eq!(sb.control().refunds(&paid).len(), 1, "the lost refund was applied");

    let mut c: serde_json::Value = serde_json::from_str(&conf(&sb.http_base_url(), None, json!({}))).unwrap();
    c["common_conf"]["state_dir"] = json!(dir);
    assert_eq!(init(&c.to_string()), 0, "{}", errmsg());
    assert_eq!(query_order(&reentry, 1).0, sdk::CLOUD_PAY_ORDER_REENTRY, "{}", errmsg());
    assert_eq!(cancel(&json!({"out_trade_no": reentry, "trade_type": 1, "pay_platform": 1})).0, sdk::CLOUD_PAY_FAIL);
    assert_eq!(sb.control().request_count("reverse"), 0, "the earlier sale is never reversed");
    assert_eq!(
        refund(&json!({"pay_platform": 1, "out_trade_no": paid, "total_fee": 100, "refund_fee": 40})).0,
        0,
        "{}",
        errmsg()
    );
    assert_eq!(sb.control().refunds(&paid).len(), 1, "one refund, not two");
    sdk::cloud_pay_fini();
    let _ = std::fs::remove_dir_all(&dir);
    sb.stop();
}
