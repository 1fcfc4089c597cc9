//! Money safety on real tills: restarts, re-inits, shared folders, lost and late replies.
//! Each test drives the C exports against the sandbox and fails if its rule is broken.

use std::io::BufRead;
use std::path::Path;
use std::process::Stdio;
use std::time::Duration;

use crate::common::*;
use cloud_pay_sdk as sdk;
use serde_json::{Value, json};

/// CloudPayConf against `base` with the order journal in `dir`.
fn conf_in(base: &str, dir: &Path, extra: Value) -> String {
    let mut c: Value = serde_json::from_str(&conf(base, None, extra)).unwrap();
    c["common_conf"]["state_dir"] = json!(dir);
    c.to_string()
}

fn never_confirms() -> String {
    wx_code(4, 0)
}

/// The second till of `a_second_process_on_one_state_dir_is_refused`: it opens the journal
/// and holds it until killed.
#[test]
fn second_till_child() {
    let Ok(spec) = std::env::var("CPS_SECOND_TILL") else { return };
    let (base, dir) = spec.split_once('|').unwrap();
    assert_eq!(init(&conf_in(base, Path::new(dir), json!({}))), 0, "{}", errmsg());
    println!("READY");
    std::thread::sleep(Duration::from_secs(60));
}

#[test]
fn a_second_process_on_one_state_dir_is_refused() {
    let _g = serial();
    let sb = start_sandbox();
    let dir = fresh_state_dir();
    let mut child = child_test(module_path!(), "second_till_child")
        .env("CPS_SECOND_TILL", format!("{}|{}", sb.http_base_url(), dir.display()))
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut lines = std::io::BufReader::new(child.stdout.take().unwrap()).lines();
    assert!(lines.any(|l| l.is_ok_and(|l| l.contains("READY"))), "the other till started");
    let code = init(&conf_in(&sb.http_base_url(), &dir, json!({})));
    let err = errmsg();
    assert_eq!(code, sdk::CLOUD_PAY_FAIL, "a second writer on one journal: {err}");
    assert!(err.contains(&dir.display().to_string()) && err.contains("in use"), "{err}");
    child.kill().unwrap();
    child.wait().unwrap();
    assert_eq!(
        init(&conf_in(&sb.http_base_url(), &dir, json!({}))),
        0,
        "free once the other till is gone: {}",
        errmsg()
    );
    sdk::cloud_pay_fini();
    sb.stop();
}

/// fini + init while a poll of the old configuration is still waiting for its reply: the new
/// journal is opened only once that poll has ended, so no line of the new one is overwritten.
#[test]
fn fini_and_init_while_a_poll_is_in_flight_leave_one_writer() {
    let _g = serial();
    let sb = start_sandbox();
    let dir = fresh_state_dir();
    let c = conf_in(&sb.http_base_url(), &dir, json!({"timeout_ms": 4000}));
    assert_eq!(init(&c), 0);
    let first = order_no();
    // The payment's reply is lost (paid at the server), and its first poll is answered late.
    sb.control().add_fault(rule("micro_pay", &first, FaultKind::DropMidReply, None));
    sb.control().add_fault(FaultRule {
        endpoint: Some("query_order".into()),
        out_trade_no: Some(first.clone()),
        kind: FaultKind::Delay { ms: 2800 },
        times: Some(1),
        phase: Some(FaultPhase::AfterProcessing),
    });
    assert_eq!(micro_pay(&pay_req(&first, WX_PAYS_AT_ONCE, 100)).0, 0);
    assert!(wait_requests(&sb, "query_order", 1), "the poll is on its way");
    sdk::cloud_pay_fini();
    assert_eq!(init(&c), 0, "{}", errmsg());
    let second = order_no();
    assert_eq!(micro_pay(&pay_req(&second, &never_confirms(), 7)).0, 0);
    // Long enough for a late writer of the old configuration to land, if there were one.
    std::thread::sleep(Duration::from_millis(2500));
    sdk::cloud_pay_fini();
    assert_eq!(init(&c), 0, "{}", errmsg());
    let notice = errmsg();
    assert!(!notice.contains("damaged"), "no journal line was overwritten: {notice}");
    assert!(notice.contains("resumed 1 unfinished"), "the second payment is still followed: {notice}");
    assert_eq!(query_order(&second, 1).0, sdk::CLOUD_PAY_ORDER_UNKNOWN, "the customer is still confirming");
    sdk::cloud_pay_fini();
    sb.stop();
}

/// Two inits at once: one runs after the other, and none leaves a runtime behind (which
/// would keep its journal locked after fini).
#[test]
fn concurrent_inits_are_serialised_and_leave_no_runtime_behind() {
    let _g = serial();
    let sb = start_sandbox();
    for round in 0..6 {
        let dirs = [fresh_state_dir(), fresh_state_dir()];
        let barrier = std::sync::Barrier::new(2);
        std::thread::scope(|s| {
            for d in &dirs {
                let (base, barrier) = (sb.http_base_url(), &barrier);
                s.spawn(move || {
                    let c = conf_in(&base, d, json!({}));
                    barrier.wait();
                    assert_eq!(init(&c), 0, "{}", errmsg());
                });
            }
        });
        sdk::cloud_pay_fini();
        for d in &dirs {
            assert_eq!(
                init(&conf_in(&sb.http_base_url(), d, json!({}))),
                0,
                "round {round}: a runtime was left running: {}",
                errmsg()
            );
        }
        sdk::cloud_pay_fini();
    }
    sb.stop();
}

#[test]
fn recovery_skips_a_damaged_line_and_says_how_many() {
    let _g = serial();
    let sb = start_sandbox();
    let dir = fresh_state_dir();
    let c = conf_in(&sb.http_base_url(), &dir, json!({"micro_pay_query_order_count": 1}));
    assert_eq!(init(&c), 0);
    let nos: Vec<String> = (0..3).map(|_| order_no()).collect();
    for no in &nos {
        // The reply is lost after the server took the order, whose customer never confirms: it
        // stays unfinished whenever its background poll runs. (Lost before processing, the
        // order would not exist, and a poll that ran before fini would close it as never made.)
        sb.control().add_fault(rule("micro_pay", no, FaultKind::ResetBeforeReply, Some(FaultPhase::AfterProcessing)));
        assert_eq!(micro_pay(&pay_req(no, &never_confirms(), 5)).0, 0);
    }
    sdk::cloud_pay_fini();
    // Damage the middle order's line (its order entry: the first line that names it).
    let path = dir.join("cloud_pay_orders.journal");
    let mut bytes = std::fs::read(&path).unwrap();
    let at = bytes.windows(nos[1].len()).position(|w| w == nos[1].as_bytes()).unwrap();
    bytes[at] ^= 0x01;
    std::fs::write(&path, bytes).unwrap();
    assert_eq!(init(&c), 0, "{}", errmsg());
    let notice = errmsg();
    assert!(
        notice.contains("resumed 2 unfinished") && notice.contains("1 damaged line"),
        "the line after the damage is still read: {notice}"
    );
    sdk::cloud_pay_fini();
    sb.stop();
}

/// A correctly signed reply about another order is not this order's answer.
#[test]
fn a_verified_reply_about_another_order_is_unknown_and_named() {
    let _g = serial();
    let sb = start_sandbox();
    init_http(&sb);
    let paid = order_no();
    assert_eq!(micro_pay(&pay_req(&paid, WX_PAYS_AT_ONCE, 100)).0, 0);
    let asked = order_no();
    assert_eq!(micro_pay(&pay_req(&asked, &never_confirms(), 100)).0, 0);
    sdk::cloud_pay_fini();
    init_http(&sb); // nothing cached: the query goes to the server
    sb.control().add_fault(rule(
        "query_order",
        &asked,
        FaultKind::AnswerAbout { out_trade_no: paid.clone(), out_refund_no: None },
        None,
    ));
    let (code, out, err) = query_order(&asked, 1);
    assert_eq!(code, sdk::CLOUD_PAY_ORDER_UNKNOWN, "another order's 'paid' is not this order's: {err}");
    assert!(err.contains(&paid), "errmsg names the order the reply was about: {err}");
    assert_eq!(out["out_trade_no"], json!(asked));
    assert!(!out.to_string().contains(&paid), "the output carries nothing of the other order: {out}");
    sdk::cloud_pay_fini();
    sb.stop();
}

#[test]
fn a_verified_refund_reply_about_another_refund_is_unknown() {
    let _g = serial();
    let sb = start_sandbox();
    sb.control().set_refund_delay_ms(0);
    init_http(&sb);
    let no = order_no();
    assert_eq!(micro_pay(&pay_req(&no, WX_PAYS_AT_ONCE, 100)).0, 0);
    let first = format!("{}A", &no[..31]);
    let second = format!("{}B", &no[..31]);
    let req = |r: &str| json!({"out_trade_no": no, "out_refund_no": r, "total_fee": 100, "refund_fee": 10});
    assert_eq!(refund(&req(&first)).0, 0);
    // The second refund's reply is the first one's (a replay): not an answer about the second.
    sb.control().add_fault(rule(
        "refund",
        &no,
        FaultKind::AnswerAbout { out_trade_no: no.clone(), out_refund_no: Some(first.clone()) },
        None,
    ));
    let (code, err) = refund(&req(&second));
    assert_eq!(code, sdk::CLOUD_PAY_UNKNOWN, "{err}");
    assert!(err.contains(&first), "{err}");
    sb.control().add_fault(rule(
        "query_refund_order",
        &no,
        FaultKind::AnswerAbout { out_trade_no: no.clone(), out_refund_no: Some(first.clone()) },
        None,
    ));
    let (code, _, err) = query_refund(&json!({"out_trade_no": no, "out_refund_no": second}));
    assert_eq!(code, sdk::CLOUD_PAY_UNKNOWN, "{err}");
    assert!(err.contains(&first), "{err}");
    // Another order's refunds are not this order's either.
    let other = order_no();
    assert_eq!(micro_pay(&pay_req(&other, WX_PAYS_AT_ONCE, 100)).0, 0);
    sb.control().add_fault(rule(
        "query_refund_order",
        &other,
        FaultKind::AnswerAbout { out_trade_no: no.clone(), out_refund_no: None },
        None,
    ));
    let (code, _, err) = query_refund(&json!({"out_trade_no": other}));
    assert_eq!(code, sdk::CLOUD_PAY_UNKNOWN, "{err}");
    assert!(err.contains(&no), "{err}");
    sdk::cloud_pay_fini();
    sb.stop();
}

/// The number was used and paid by an earlier sale; this sale's re-entry reply is lost. The
/// query then finds the earlier order (another amount): it is not this sale's payment.
#[test]
fn an_order_of_another_amount_under_this_number_is_reentry_and_never_paid() {
    let _g = serial();
    let sb = start_sandbox();
    init_http(&sb); // the earlier sale, on another till
    let no = order_no();
    assert_eq!(micro_pay(&pay_req(&no, WX_PAYS_AT_ONCE, 888)).0, 0);
    sdk::cloud_pay_fini();
    init_http(&sb);
    sb.control().add_fault(rule("micro_pay", &no, FaultKind::DropMidReply, Some(FaultPhase::AfterProcessing)));
    assert_eq!(micro_pay(&pay_req(&no, WX_PAYS_AT_ONCE, 100)).0, 0, "the reply was lost: unknown");
    let (code, out, err) = wait_final(&no, 1).unwrap();
    assert_eq!(code, sdk::CLOUD_PAY_ORDER_REENTRY, "another sale's payment is never this one's: {err}");
    assert!(err.contains("888") && err.contains("100"), "{err}");
    assert_ne!(out["state"], json!(3));
    let (code, err) = cancel(&json!({"out_trade_no": no, "trade_type": 1, "pay_platform": 1}));
    assert_eq!(code, sdk::CLOUD_PAY_FAIL, "{err}");
    assert_eq!(sb.control().request_count("reverse"), 0, "the earlier sale is never reversed");
    assert_eq!(sb.control().charge_count(&no), 1);
    sdk::cloud_pay_fini();
    sb.stop();
}

/// Another till paid the number with the same amount; this till's sale under it is lost
/// before the server. The order its polls find has another creating nonce: never this sale's
/// payment, never cancelled from here.
#[test]
fn another_tills_sale_of_the_same_amount_is_never_this_sales() {
    let _g = serial();
    let sb = start_sandbox();
    init_http(&sb); // another till, another journal: paid
    let no = order_no();
    assert_eq!(micro_pay(&pay_req(&no, WX_PAYS_AT_ONCE, 500)).0, 0);
    sdk::cloud_pay_fini();
    let dir = fresh_state_dir();
    assert_eq!(init(&conf_in(&sb.http_base_url(), &dir, json!({}))), 0, "{}", errmsg());
    sb.control().add_fault(rule("micro_pay", &no, FaultKind::ResetBeforeReply, Some(FaultPhase::BeforeProcessing)));
    assert_eq!(micro_pay(&pay_req(&no, &never_confirms(), 500)).0, 0, "the request was lost: unknown");
    for _ in 0..3 {
        let (code, out, err) = query_order(&no, 1);
        assert_eq!(code, sdk::CLOUD_PAY_ORDER_UNKNOWN, "another till's payment is never this sale's: {err}");
        assert!(err.contains("another request"), "{err}");
        assert_ne!(out["state"], json!(3));
    }
    let (code, err) = cancel(&json!({"out_trade_no": no, "trade_type": 1, "pay_platform": 1}));
    assert_eq!(code, sdk::CLOUD_PAY_FAIL, "{err}");
    assert!(err.contains("nothing was sent"), "{err}");
    assert_eq!(sb.control().request_count("reverse"), 0, "the other till's sale is never reversed");
    assert_eq!(sb.control().charge_count(&no), 1);
    sdk::cloud_pay_fini();
    sb.stop();
}

/// A sale lost before the server, the till restarts, the cashier repeats it and its reply is
/// lost after the server took it: the repeat went under the journaled creating nonce, so the
/// order it created is this sale's and reads paid.
#[test]
fn a_repeat_after_a_restart_keeps_the_creating_nonce() {
    let _g = serial();
    let sb = start_sandbox();
    let dir = fresh_state_dir();
    let c = conf_in(&sb.http_base_url(), &dir, json!({}));
    assert_eq!(init(&c), 0, "{}", errmsg());
    let no = order_no();
    sb.control().add_fault(rule("micro_pay", &no, FaultKind::ResetBeforeReply, Some(FaultPhase::BeforeProcessing)));
    assert_eq!(micro_pay(&pay_req(&no, WX_PAYS_AT_ONCE, 700)).0, 0);
    sdk::cloud_pay_fini();
    assert_eq!(init(&c), 0, "{}", errmsg());
    sb.control().add_fault(rule("micro_pay", &no, FaultKind::DropMidReply, Some(FaultPhase::AfterProcessing)));
    assert_eq!(micro_pay(&pay_req(&no, WX_PAYS_AT_ONCE, 700)).0, 0);
    let (code, out, err) = query_order(&no, 1);
    assert_eq!(code, sdk::CLOUD_PAY_ORDER_PAID, "this till's own order: {err}");
    assert_eq!(out["state"], json!(3));
    assert_eq!(sb.control().charge_count(&no), 1);
    sdk::cloud_pay_fini();
    sb.stop();
}

/// The re-entry guard is in the journal: after fini + init (and after a restart, see
/// crash_recovery.rs) query_order still answers -6 and cancel stays refused.
#[test]
fn reentry_survives_fini_and_init() {
    let _g = serial();
    let sb = start_sandbox();
    let dir = fresh_state_dir();
    let c = conf_in(&sb.http_base_url(), &dir, json!({}));
    init_http(&sb); // another till, another journal: an earlier sale, paid
    let no = order_no();
    assert_eq!(micro_pay(&pay_req(&no, WX_PAYS_AT_ONCE, 300)).0, 0);
    sdk::cloud_pay_fini();
    assert_eq!(init(&c), 0);
    let (code, _, err) = micro_pay(&pay_req(&no, WX_PAYS_AT_ONCE, 301));
    assert!(code == sdk::CLOUD_PAY_FAIL && err.contains("407"), "{err}");
    sdk::cloud_pay_fini();
    assert_eq!(init(&c), 0, "{}", errmsg());
    let (code, _, err) = query_order(&no, 1);
    assert_eq!(code, sdk::CLOUD_PAY_ORDER_REENTRY, "{err}");
    assert_eq!(cancel(&json!({"out_trade_no": no, "trade_type": 1, "pay_platform": 1})).0, sdk::CLOUD_PAY_FAIL);
    assert_eq!(sb.control().request_count("reverse"), 0);
    sdk::cloud_pay_fini();
    sb.stop();
}

/// A number the server refused at this till's create (102: another sale holds it) is
/// never cancelled from here, also after fini + init, and another sale's payment under it,
/// even of the same amount, is never reported as this sale's.
#[test]
fn a_number_refused_at_creation_is_guarded_across_reinit() {
    let _g = serial();
    let sb = start_sandbox();
    init_http(&sb); // another till: an earlier, paid sale
    let no = order_no();
    assert_eq!(micro_pay(&pay_req(&no, WX_PAYS_AT_ONCE, 10)).0, 0);
    sdk::cloud_pay_fini();
    let dir = fresh_state_dir();
    let c = conf_in(&sb.http_base_url(), &dir, json!({}));
    assert_eq!(init(&c), 0);
    let (code, err) = scan_code_pay(&json!({"pay_platform": 1, "out_trade_no": no, "total_fee": 10, "body": "qr"}));
    assert!(code == sdk::CLOUD_PAY_FAIL && err.contains("status 102"), "{err}");
    let cancels = || {
        for trade_type in [1, 2] {
            let (code, err) = cancel(&json!({"out_trade_no": no, "trade_type": trade_type, "pay_platform": 1}));
            assert_eq!(code, sdk::CLOUD_PAY_FAIL, "{err}");
            assert!(err.contains("never cancelled"), "{err}");
        }
    };
    cancels();
    sdk::cloud_pay_fini();
    assert_eq!(init(&c), 0, "{}", errmsg());
    cancels();
    let (code, _, err) = query_order(&no, 2);
    assert_eq!(code, sdk::CLOUD_PAY_ORDER_REENTRY, "the other sale's payment is not this one's: {err}");
    cancels();
    assert_eq!(
        sb.control().request_count("reverse") + sb.control().request_count("close_order"),
        0,
        "nothing was sent"
    );
    assert_eq!(sb.control().charge_count(&no), 1);
    sdk::cloud_pay_fini();
    sb.stop();
}

/// A refund without out_refund_no whose outcome is unknown; the cashier retries after
/// fini + init: the same number goes out, so the customer is refunded once.
#[test]
fn a_retried_refund_after_reinit_reuses_the_generated_number() {
    let _g = serial();
    let sb = start_sandbox();
    sb.control().set_refund_delay_ms(0);
    let dir = fresh_state_dir();
    let c = conf_in(&sb.http_base_url(), &dir, json!({}));
    assert_eq!(init(&c), 0);
    let no = order_no();
    assert_eq!(micro_pay(&pay_req(&no, WX_PAYS_AT_ONCE, 100)).0, 0);
    sb.control().add_fault(rule("refund", &no, FaultKind::DropMidReply, None));
    let req = json!({"pay_platform": 1, "out_trade_no": no, "total_fee": 100, "refund_fee": 50});
    assert_eq!(refund(&req).0, sdk::CLOUD_PAY_UNKNOWN);
    sdk::cloud_pay_fini();
    assert_eq!(init(&c), 0);
    assert_eq!(refund(&req).0, 0, "{}", errmsg());
    let refunds = sb.control().refunds(&no);
    assert_eq!(refunds.len(), 1, "one refund, not two: {refunds:?}");
    let number = refunds[0]["out_refund_no"].as_str().unwrap().to_owned();
    let random = number.rsplit_once('R').unwrap().1;
    assert!(random.len() >= 16, "at least 64 random bits: {number}");
    sdk::cloud_pay_fini();
    sb.stop();
}

/// The cashier presses cancel while the payment's reply has not come back: the reply may yet
/// be re-entry, so nothing is reversed.
#[test]
fn cancel_while_the_payment_is_being_submitted_is_refused() {
    let _g = serial();
    let sb = start_sandbox();
    init_http(&sb);
    let no = order_no();
    sb.control().add_fault(FaultRule {
        endpoint: Some("micro_pay".into()),
        out_trade_no: Some(no.clone()),
        kind: FaultKind::Delay { ms: 1200 },
        times: Some(1),
        phase: Some(FaultPhase::AfterProcessing),
    });
    std::thread::scope(|s| {
        let pay = s.spawn(|| micro_pay(&pay_req(&no, &never_confirms(), 10)).0);
        assert!(wait_requests(&sb, "micro_pay", 1));
        let (code, err) = cancel(&json!({"out_trade_no": no, "trade_type": 1, "pay_platform": 1}));
        assert_eq!(code, sdk::CLOUD_PAY_FAIL, "{err}");
        assert!(err.contains("payment still being submitted: query it"), "{err}");
        assert_eq!(pay.join().unwrap(), 0);
    });
    assert_eq!(sb.control().request_count("reverse"), 0, "nothing was reversed");
    // Once the reply is in, cancel goes out as usual.
    assert_eq!(cancel(&json!({"out_trade_no": no, "trade_type": 1, "pay_platform": 1})).0, 0, "{}", errmsg());
    sdk::cloud_pay_fini();
    sb.stop();
}

/// A poll answered "paid" before this SDK's reverse, whose reply lands after it, neither
/// overwrites the reversed state nor becomes the cached answer.
#[test]
fn a_late_poll_reply_never_overwrites_a_reverse() {
    let _g = serial();
    let sb = start_sandbox();
    assert_eq!(init(&conf(&sb.http_base_url(), None, json!({"micro_pay_query_order_interval": 0.05}))), 0);
    let no = order_no();
    sb.control().add_fault(rule("micro_pay", &no, FaultKind::DropMidReply, None));
    sb.control().add_fault(FaultRule {
        endpoint: Some("query_order".into()),
        out_trade_no: Some(no.clone()),
        kind: FaultKind::Delay { ms: 1500 },
        times: Some(1),
        phase: Some(FaultPhase::AfterProcessing),
    });
    assert_eq!(micro_pay(&pay_req(&no, WX_PAYS_AT_ONCE, 10)).0, 0);
    assert!(wait_requests(&sb, "query_order", 1), "the poll was answered 'paid' at the server");
    assert_eq!(cancel(&json!({"out_trade_no": no, "trade_type": 1, "pay_platform": 1})).0, 0, "{}", errmsg());
    // Let the late reply land.
    std::thread::sleep(Duration::from_millis(1900));
    let queries = sb.control().request_count("query_order");
    let (code, out, err) = query_order(&no, 1);
    assert_eq!(code, sdk::CLOUD_PAY_ORDER_CLOSED, "reversed, never 'paid' from memory: {err} {out}");
    assert!(sb.control().request_count("query_order") > queries, "the answer came from a query sent after the reverse");
    sdk::cloud_pay_fini();
    sb.stop();
}

/// Status 101 carries no HMAC: it never makes a payment or a refund a final failure.
#[test]
fn an_unsigned_101_never_fails_a_payment_or_a_refund() {
    let _g = serial();
    let sb = start_sandbox();
    assert_eq!(
        init(&conf(
            &sb.http_base_url(),
            None,
            json!({"micro_pay_query_order_count": 3, "micro_pay_query_order_interval": 0.05})
        )),
        0
    );
    let no = order_no();
    sb.control().add_fault(rule("micro_pay", &no, FaultKind::Status101, None));
    let (code, _, err) = micro_pay(&pay_req(&no, WX_PAYS_AT_ONCE, 10));
    assert_eq!(code, 0, "unknown, never 'not accepted': {err}");
    assert!(err.contains("unknown"), "{err}");
    assert!(wait_requests(&sb, "query_order", 1), "a verified query decides");
    let qr = order_no();
    sb.control().add_fault(rule("scan_code_pay", &qr, FaultKind::Status101, None));
    assert_eq!(scan_code_pay(&json!({"pay_platform": 1, "out_trade_no": qr, "total_fee": 10, "body": "qr"})).0, 0);
    let paid = order_no();
    assert_eq!(micro_pay(&pay_req(&paid, WX_PAYS_AT_ONCE, 10)).0, 0);
    sb.control().add_fault(rule("refund", &paid, FaultKind::Status101, None));
    let (code, err) = refund(
        &json!({"out_trade_no": paid, "out_refund_no": format!("{}U", &paid[..31]), "total_fee": 10, "refund_fee": 1}),
    );
    assert_eq!(code, sdk::CLOUD_PAY_UNKNOWN, "{err}");
    sdk::cloud_pay_fini();
    sb.stop();
}

/// The till's IP and MAC changed between a lost reply and the cashier's retry: the same sale
/// is the same order; other content under an unfinished number is refused without advice to
/// take a new number.
#[test]
fn a_retry_after_the_till_address_changed_is_the_same_sale() {
    let _g = serial();
    let sb = start_sandbox();
    let dir = fresh_state_dir();
    assert_eq!(init(&conf_in(&sb.http_base_url(), &dir, json!({"micro_pay_query_order_count": 1}))), 0);
    let no = order_no();
    sb.control().add_fault(rule("micro_pay", &no, FaultKind::DropMidReply, None));
    assert_eq!(micro_pay(&pay_req(&no, &never_confirms(), 10)).0, 0);
    sdk::cloud_pay_fini();
    let mut moved: Value =
        serde_json::from_str(&conf_in(&sb.http_base_url(), &dir, json!({"micro_pay_query_order_count": 1}))).unwrap();
    moved["trade_conf"]["spbill_create_ip"] = json!("10.0.0.6");
    moved["trade_conf"]["machine_no"] = json!("66-55-44-33-22-11");
    assert_eq!(init(&moved.to_string()), 0);
    let (code, _, err) = micro_pay(&pay_req(&no, &never_confirms(), 10));
    assert_eq!(code, 0, "an identical retry: {err}");
    assert!(sb.control().charge_count(&no) <= 1);
    let (code, _, err) = micro_pay(&pay_req(&no, &never_confirms(), 11));
    assert_eq!(code, sdk::CLOUD_PAY_FAIL, "{err}");
    assert!(
        err.contains("unfinished payment") && err.contains("query it") && !err.contains("new order number"),
        "{err}"
    );
    sdk::cloud_pay_fini();
    sb.stop();
}

/// -7 only when true: not after a verified reply showed the order.
#[test]
fn does_not_exist_is_not_reported_for_an_order_a_verified_reply_showed() {
    let _g = serial();
    let sb = start_sandbox();
    assert_eq!(init(&conf(&sb.http_base_url(), None, json!({"micro_pay_query_order_count": 1}))), 0);
    let no = order_no();
    assert_eq!(micro_pay(&pay_req(&no, &never_confirms(), 10)).0, 0); // the customer is confirming
    sb.control().add_fault(FaultRule {
        endpoint: Some("query_order".into()),
        out_trade_no: Some(no.clone()),
        kind: FaultKind::Status104 { internal_status: 400 },
        times: None,
        phase: None,
    });
    let (code, _, err) = query_order(&no, 1);
    assert_eq!(code, sdk::CLOUD_PAY_ORDER_UNKNOWN, "{err}");
    assert!(err.contains("earlier verified reply"), "{err}");
    sb.control().clear_faults();
    // An order this SDK never saw may be reported absent.
    let never = order_no();
    assert_eq!(query_order(&never, 1).0, sdk::CLOUD_PAY_ORDER_NOT_EXIST);
    sdk::cloud_pay_fini();
    sb.stop();
}

/// -7 only when true: not while the payment may have reached another domain than the one
/// that answers "does not exist"; the order's domain change is in the journal.
#[test]
fn does_not_exist_from_another_domain_is_not_the_truth() {
    let _g = serial();
    let first = start_sandbox();
    let second = start_sandbox();
    let dir = fresh_state_dir();
    let c = conf_in(
        &first.http_base_url(),
        &dir,
        json!({"prober_dns": 1, "domain_list": [second.http_base_url()], "micro_pay_query_order_count": 1, "micro_pay_query_order_interval": 0.05}),
    );
    assert_eq!(init(&c), 0, "{}", errmsg());
    let no = order_no();
    // The first domain takes the payment, its reply is lost, then it goes down.
    first.control().add_fault(rule("micro_pay", &no, FaultKind::DropMidReply, None));
    assert_eq!(micro_pay(&pay_req(&no, WX_PAYS_AT_ONCE, 10)).0, 0);
    let first_url = first.http_base_url();
    first.stop();
    // The second domain has never heard of it.
    let (code, _, err) = query_order(&no, 1);
    assert_eq!(code, sdk::CLOUD_PAY_ORDER_UNKNOWN, "{err}");
    assert!(err.contains("may have reached") && err.contains(first_url.trim_end_matches('/')), "{err}");
    sdk::cloud_pay_fini();
    second.stop();
}

/// The payment went to another domain than the one journaled (fail-over during the send):
/// the change is journaled, so after a restart the order is asked where it was taken.
#[test]
fn a_domain_change_during_the_payment_is_journaled() {
    let _g = serial();
    let (first, second, third) = (start_sandbox(), start_sandbox(), start_sandbox());
    let dir = fresh_state_dir();
    let extra =
        |b: &Sandbox| json!({"prober_dns": 1, "domain_list": [b.http_base_url()], "micro_pay_query_order_count": 1});
    assert_eq!(init(&conf_in(&first.http_base_url(), &dir, extra(&second))), 0, "{}", errmsg());
    first.stop(); // down after init chose it: the payment fails over to the second domain
    let no = order_no();
    assert_eq!(micro_pay(&pay_req(&no, WX_PAYS_AT_ONCE, 10)).0, 0, "{}", errmsg());
    assert_eq!(second.control().charge_count(&no), 1);
    sdk::cloud_pay_fini();
    // Journal the order as unfinished again, as if the till died before the reply's state.
    let path = dir.join("cloud_pay_orders.journal");
    let text = String::from_utf8(std::fs::read(&path).unwrap()).unwrap();
    let kept: String = text
        .trim_end_matches('\0')
        .lines()
        .filter(|l| !l.starts_with("{\"t\":\"state\""))
        .map(|l| format!("{l}\n"))
        .collect();
    std::fs::write(&path, kept).unwrap();
    // Restart with another preferred domain that has never heard of the order.
    assert_eq!(init(&conf_in(&third.http_base_url(), &dir, extra(&second))), 0, "{}", errmsg());
    let (code, _, err) = wait_final(&no, 1).unwrap_or((sdk::CLOUD_PAY_ORDER_UNKNOWN, Value::Null, String::new()));
    assert_eq!(code, sdk::CLOUD_PAY_ORDER_PAID, "asked at the domain that took it: {err}");
    sdk::cloud_pay_fini();
    second.stop();
    third.stop();
}

/// errmsg never repeats what could be a payment code.
#[test]
fn errmsg_never_echoes_a_payment_code() {
    let _g = serial();
    let sb = start_sandbox();
    init_http(&sb);
    let req = r#"{"out_trade_no":"sz0100test1","author_code":134567890123456789,"total_fee":1,"body":"x"}"#;
    let (code, _, err) = call_out(sdk::cloud_pay_micro_pay, req, 256);
    assert_eq!(code, sdk::CLOUD_PAY_FAIL);
    assert!(!err.contains("134567890123456789") && err.contains("author_code"), "{err}");
    let (code, _, err) = micro_pay(
        &json!({"out_trade_no": order_no(), "author_code": WX_PAYS_AT_ONCE, "total_fee": 1, "body": "x", "pay_platform": 134567890123456789i64}),
    );
    assert_eq!(code, sdk::CLOUD_PAY_FAIL);
    assert!(!err.contains("134567890123456789"), "{err}");
    sdk::cloud_pay_fini();
    sb.stop();
}
