//! "Not sent" is known: both sides of the line, through the C exports against the
//! sandbox over real sockets. -1 only when no attempt of the order (or refund number) could
//! have reached any server; any doubt keeps the unknown rules.

use crate::common::*;
use cloud_pay_sdk as sdk;
use serde_json::json;

fn closed_base() -> String {
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    format!("http://127.0.0.1:{port}/cpay/")
}

fn init_with(base: &str, state_dir: &std::path::Path) -> String {
    assert_eq!(init(&conf(base, None, json!({"state_dir": state_dir, "timeout_ms": 800}))), 0, "{}", errmsg());
    errmsg()
}

#[test]
fn a_new_payment_that_reaches_no_server_is_not_sent_and_not_followed() {
    let _g = serial();
    let sb = start_sandbox();
    let dir = fresh_state_dir();
    init_with(&closed_base(), &dir);
    let no = order_no();
    let (code, out, err) = micro_pay(&pay_req(&no, WX_PAYS_AT_ONCE, 100));
    assert_eq!(code, sdk::CLOUD_PAY_FAIL, "{err}");
    assert!(err.starts_with("nothing was sent: ") && err.contains("not charged"), "{err}");
    assert_eq!(out["out_trade_no"], no.as_str());
    let (code, err) =
        scan_code_pay(&json!({"pay_platform": 1, "out_trade_no": order_no(), "total_fee": 10, "body": "qr"}));
    assert_eq!(code, sdk::CLOUD_PAY_FAIL, "{err}");
    assert!(err.starts_with("nothing was sent: "), "{err}");
    sdk::cloud_pay_fini();

    // The journal says so: a fresh process follows nothing.
    let notice = init_with(&sb.http_base_url(), &dir);
    assert!(!notice.contains("resumed"), "{notice}");
    std::thread::sleep(std::time::Duration::from_millis(400));
    assert_eq!(sb.control().request_count("query_order"), 0, "no polling kept for an order never sent");

    // The same sale again, now reaching the server, but its reply lost: journaled afresh, so
    // a restart still follows it.
    sb.control().add_fault(fault("micro_pay", FaultKind::DropMidReply, Some(1)));
    let (code, _, err) = micro_pay(&pay_req(&no, WX_PAYS_AT_ONCE, 100));
    assert_eq!(code, 0, "{err}");
    sdk::cloud_pay_fini();
    let notice = init_with(&sb.http_base_url(), &dir);
    assert!(notice.contains("resumed 1"), "{notice}");
    assert!(wait_paid(&no, 1), "{}", errmsg());
    sdk::cloud_pay_fini();
    sb.stop();
}

#[test]
fn a_tls_verification_failure_is_not_sent_and_names_the_cause() {
    let _g = serial();
    let sb = start_sandbox();
    assert_eq!(init(&conf(&sb.https_base_url(), None, json!({}))), 0);
    let (code, _, err) = micro_pay(&pay_req(&order_no(), WX_PAYS_AT_ONCE, 100));
    assert_eq!(code, sdk::CLOUD_PAY_FAIL, "{err}");
    assert!(err.starts_with("nothing was sent: ") && err.contains("TLS handshake"), "{err}");
    assert_eq!(sb.control().request_count("micro_pay"), 0);
    sdk::cloud_pay_fini();
    sb.stop();
}

/// The first attempt reached the server (its reply was lost); the retry reaches nothing. The
/// order may exist: still accepted-or-unknown (0) and -2, never -1 or -7. The same for a
/// refund number.
#[test]
fn a_retry_whose_first_attempt_may_have_arrived_stays_unknown() {
    let _g = serial();
    let sb = start_sandbox();
    sb.control().set_refund_delay_ms(0);
    init_with(&sb.http_base_url(), &fresh_state_dir());
    let paid = order_no();
    assert_eq!(micro_pay(&pay_req(&paid, WX_PAYS_AT_ONCE, 300)).0, 0);
    let refund_req = json!({"out_trade_no": paid, "out_refund_no": format!("{}F", &paid[..31]), "total_fee": 300, "refund_fee": 100});
    sb.control().add_fault(fault("refund", FaultKind::DropMidReply, Some(1)));
    assert_eq!(refund(&refund_req).0, sdk::CLOUD_PAY_UNKNOWN);

    let no = order_no();
    sb.control().add_fault(fault("micro_pay", FaultKind::DropMidReply, Some(1)));
    assert_eq!(micro_pay(&pay_req(&no, &wx_code(4, 0), 100)).0, 0); // never confirms
    sb.stop();

    let (code, _, err) = micro_pay(&pay_req(&no, &wx_code(4, 0), 100));
    assert_eq!(code, 0, "the first attempt may have arrived: unknown, not 'not sent' ({err})");
    assert!(!err.starts_with("nothing was sent") && err.contains("unknown"), "{err}");
    let (code, _, err) = query_order(&no, 1);
    assert_eq!(code, sdk::CLOUD_PAY_ORDER_UNKNOWN, "{err}");
    let (code, err) = refund(&refund_req);
    assert_eq!(code, sdk::CLOUD_PAY_UNKNOWN, "the first refund attempt arrived: {err}");
    sdk::cloud_pay_fini();
}

/// An attempt journaled by an earlier process may have arrived: after a restart a retry that
/// reaches no server is unknown, not "not sent".
#[test]
fn a_journaled_attempt_keeps_a_retry_unknown_after_a_restart() {
    let _g = serial();
    let sb = start_sandbox();
    let dir = fresh_state_dir();
    init_with(&sb.http_base_url(), &dir);
    let no = order_no();
    sb.control().add_fault(fault("micro_pay", FaultKind::Delay { ms: 1300 }, Some(1)));
    assert_eq!(micro_pay(&pay_req(&no, &wx_code(4, 0), 100)).0, 0);
    sdk::cloud_pay_fini();

    init_with(&closed_base(), &dir);
    let (code, _, err) = micro_pay(&pay_req(&no, &wx_code(4, 0), 100));
    assert_eq!(code, 0, "{err}");
    assert!(!err.starts_with("nothing was sent"), "{err}");
    assert_eq!(query_order(&no, 1).0, sdk::CLOUD_PAY_ORDER_UNKNOWN);
    sdk::cloud_pay_fini();
    sb.stop();
}

/// Configuration mistakes are caught at init: the code stays 0 (drop-in), the notice says what.
#[test]
fn init_names_unknown_keys_with_near_misses() {
    let _g = serial();
    let sb = start_sandbox();
    let mut conf_v: serde_json::Value = serde_json::from_str(&conf(&sb.http_base_url(), None, json!({}))).unwrap();
    conf_v["common_conf"]["base_ur1"] = json!("https://example.invalid/cpay/");
    conf_v["trade_conf"]["vendor_only_key"] = json!(1);
    assert_eq!(init(&conf_v.to_string()), 0);
    let notice = errmsg();
    assert!(
        notice.contains("common_conf.base_ur1 (did you mean base_url?)")
            && notice.contains("trade_conf.vendor_only_key"),
        "{notice}"
    );
    sdk::cloud_pay_fini();

    init_with(&sb.http_base_url(), &fresh_state_dir());
    assert_eq!(errmsg(), "", "a clean configuration: no notice");
    sdk::cloud_pay_fini();
    sb.stop();
}

/// Init's connectivity check (the pre-warm ping) names why the service cannot be used; the
/// code stays 0.
#[test]
fn init_reports_a_failed_connectivity_check_with_its_cause() {
    let _g = serial();
    let sb = start_sandbox();
    init_with(&sb.http_base_url(), &fresh_state_dir());
    assert_eq!(errmsg(), "", "a reachable server: no notice");
    sdk::cloud_pay_fini();

    let notice = init_with(&closed_base(), &fresh_state_dir());
    assert!(notice.contains("connectivity check failed: cannot reach") && notice.contains("connecting to"), "{notice}");
    sdk::cloud_pay_fini();

    assert_eq!(init(&conf(&sb.https_base_url(), None, json!({}))), 0);
    let notice = errmsg();
    assert!(notice.contains("connectivity check failed") && notice.contains("TLS handshake"), "{notice}");
    sdk::cloud_pay_fini();
    sb.stop();
}
