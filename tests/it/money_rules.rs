//! The money rules, each with a test that fails if the rule is broken:
//! unknown is never failure or success; only HMAC-verified replies are trusted;
//! re-entry (407) is never reversed; retries reuse the same order number and bytes.

use std::time::Duration;

use crate::common::*;
use cloud_pay_sdk as sdk;
use serde_json::json;

/// Every untrusted or unknown reply to micro_pay: the call says "accepted" (0) because the
/// order may exist, the SDK keeps polling, and query_order later reports the sandbox's truth.
#[test]
fn unknown_micro_pay_replies_are_accepted_and_resolved_by_polling() {
    let _g = serial();
    let sb = start_sandbox();
    init_http(&sb);
    let faults = [
        ("status 3 after processing", FaultKind::Status3, Some(FaultPhase::AfterProcessing)),
        ("status 3 before processing", FaultKind::Status3, Some(FaultPhase::BeforeProcessing)),
        ("bad HMAC", FaultKind::BadHmac, None),
        ("missing authen_info", FaultKind::MissingAuthen, None),
        ("HMAC over other content", FaultKind::HmacOverOtherContent, None),
        ("connection dropped mid-reply", FaultKind::DropMidReply, None),
        ("HTTP 500", FaultKind::Http500, None),
        ("non-JSON body", FaultKind::NonJsonBody, None),
        ("delay past the timeout", FaultKind::Delay { ms: 3500 }, None),
        ("connection reset before the reply", FaultKind::ResetBeforeReply, Some(FaultPhase::AfterProcessing)),
    ];
    for (name, kind, phase) in faults {
        let no = order_no();
        let id = sb.control().add_fault(rule("micro_pay", &no, kind, phase));
        let (code, out, err) = micro_pay(&pay_req(&no, WX_PAYS_AT_ONCE, 7));
        assert_eq!(code, sdk::CLOUD_PAY_OK, "{name}: unknown must not be -1 ({err})");
        assert_eq!(out["out_trade_no"], no.as_str(), "{name}");
        assert!(err.contains("unknown"), "{name}: errmsg says the outcome is unknown: {err}");
        let truth_paid = sb.control().charge_count(&no) == 1;
        let code = wait_final(&no, 1).map_or(sdk::CLOUD_PAY_ORDER_UNKNOWN, |r| r.0);
        if truth_paid {
            assert_eq!(code, sdk::CLOUD_PAY_ORDER_PAID, "{name}: the sandbox charged the customer");
        } else {
            assert_eq!(code, sdk::CLOUD_PAY_ORDER_NOT_EXIST, "{name}: the order was never created");
        }
        assert!(sb.control().charge_count(&no) <= 1, "{name}: never charged twice");
        let _ = id;
    }
    assert_eq!(sb.control().request_count("reverse"), 0, "nothing is ever reversed automatically");
    sdk::cloud_pay_fini();
    sb.stop();
}

#[test]
fn a_status_0_query_reply_is_trusted_only_with_a_valid_hmac() {
    let _g = serial();
    let sb = start_sandbox();
    init_http(&sb);
    let no = order_no();
    assert_eq!(micro_pay(&pay_req(&no, &wx_code(1, 2), 3)).0, 0);
    assert!(wait_for(Duration::from_secs(5), || (sb.control().charge_count(&no) == 1).then_some(())).is_some());
    for kind in [
        FaultKind::BadHmac,
        FaultKind::MissingAuthen,
        FaultKind::HmacOverOtherContent,
        FaultKind::Status3,
        FaultKind::Status103,
    ] {
        sb.control().clear_faults();
        sb.control().add_fault(fault("query_order", kind.clone(), None));
        // Force a live query: a fresh process would not have the cached state.
        sdk::cloud_pay_fini();
        init_http(&sb);
        let (code, _, err) = query_order(&no, 1);
        assert_eq!(
            code,
            sdk::CLOUD_PAY_ORDER_UNKNOWN,
            "{kind:?}: a paid order behind an untrusted reply is unknown, not paid ({err})"
        );
    }
    sb.control().clear_faults();
    assert_eq!(query_order(&no, 1).0, sdk::CLOUD_PAY_ORDER_PAID);
    sdk::cloud_pay_fini();
    sb.stop();
}

#[test]
fn definitive_rejections_are_minus_one() {
    let _g = serial();
    let sb = start_sandbox();
    init_http(&sb);
    // Verified refusals only: an unsigned 101 decides nothing (money_safety.rs).
    for kind in [FaultKind::Status102, FaultKind::Status104 { internal_status: 1234 }] {
        let no = order_no();
        sb.control().add_fault(rule("micro_pay", &no, kind.clone(), None));
        let (code, _, err) = micro_pay(&pay_req(&no, WX_PAYS_AT_ONCE, 9));
        assert_eq!(code, sdk::CLOUD_PAY_FAIL, "{kind:?}: {err}");
        assert!(err.contains("status 10"), "{kind:?}: {err}");
        assert_eq!(sb.control().charge_count(&no), 0);
    }
    sdk::cloud_pay_fini();
    sb.stop();
}

#[test]
fn reentry_is_minus_one_then_minus_six_and_never_reversed() {
    let _g = serial();
    let sb = start_sandbox();
    init_http(&sb);
    let no = order_no();
    // The number is first used, and paid, by another till (another process).
    assert_eq!(micro_pay(&pay_req(&no, WX_PAYS_AT_ONCE, 100)).0, 0);
    assert_eq!(sb.control().charge_count(&no), 1);
    sdk::cloud_pay_fini();
    init_http(&sb);
    // This till reuses the number for a different amount: the server answers 104/407.
    let (code, _, err) = micro_pay(&pay_req(&no, WX_PAYS_AT_ONCE, 250));
    assert_eq!(code, sdk::CLOUD_PAY_FAIL);
    assert!(err.contains("407") && err.contains("RE-ENTRY") && err.contains("NOT cancel"), "{err}");
    for _ in 0..3 {
        let (code, order, err) = query_order(&no, 1);
        assert_eq!(code, sdk::CLOUD_PAY_ORDER_REENTRY, "{err}");
        assert_eq!(order["state"], sdk::CLOUD_PAY_STATE_REENTRY);
    }
    let reverses = sb.control().request_count("reverse");
    let (code, err) = cancel(&json!({"out_trade_no": no, "trade_type": 1, "pay_platform": 1}));
    assert_eq!(code, sdk::CLOUD_PAY_FAIL);
    assert!(err.contains("re-entry") && err.contains("never"), "{err}");
    assert_eq!(sb.control().request_count("reverse"), reverses, "no reverse was sent");
    assert_eq!(sb.control().charge_count(&no), 1, "the earlier payment stands");
    sdk::cloud_pay_fini();
    sb.stop();
}

#[test]
fn the_407_fault_is_reentry_too() {
    let _g = serial();
    let sb = start_sandbox();
    init_http(&sb);
    let no = order_no();
    sb.control().add_fault(rule("micro_pay", &no, FaultKind::ReEntry407, None));
    assert_eq!(micro_pay(&pay_req(&no, WX_PAYS_AT_ONCE, 5)).0, sdk::CLOUD_PAY_FAIL);
    assert_eq!(query_order(&no, 1).0, sdk::CLOUD_PAY_ORDER_REENTRY);
    assert_eq!(cancel(&json!({"out_trade_no": no, "trade_type": 1})).0, sdk::CLOUD_PAY_FAIL);
    assert_eq!(sb.control().request_count("reverse"), 0);
    sdk::cloud_pay_fini();
    sb.stop();
}

#[test]
fn status_103_is_retried_with_the_identical_request() {
    let _g = serial();
    let sb = start_sandbox();
    init_http(&sb);
    let no = order_no();
    sb.control().add_fault(rule("micro_pay", &no, FaultKind::Status103, None));
    let (code, _, err) = micro_pay(&pay_req(&no, WX_PAYS_AT_ONCE, 11));
    assert_eq!(code, 0, "{err}");
    assert_eq!(err, "", "the retry succeeded");
    assert_eq!(sb.control().request_count("micro_pay"), 2, "one 103, one identical retry");
    assert_eq!(sb.control().charge_count(&no), 1);
    assert_eq!(query_order(&no, 1).0, sdk::CLOUD_PAY_ORDER_PAID);
    // A 103 that persists ends as unknown after a bounded number of identical retries.
    let no2 = order_no();
    sb.control().add_fault(FaultRule {
        endpoint: Some("micro_pay".into()),
        out_trade_no: Some(no2.clone()),
        kind: FaultKind::Status103,
        times: None,
        phase: None,
    });
    let before = sb.control().request_count("micro_pay");
    let (code, _, err) = micro_pay(&pay_req(&no2, WX_PAYS_AT_ONCE, 11));
    assert_eq!(code, 0, "{err}");
    assert!(err.contains("unknown"), "{err}");
    assert_eq!(sb.control().request_count("micro_pay") - before, 3);
    sdk::cloud_pay_fini();
    sb.stop();
}

#[test]
fn resubmitting_the_same_number_sends_the_same_request_and_different_content_is_refused_locally() {
    let _g = serial();
    let sb = start_sandbox();
    init_http(&sb);
    let no = order_no();
    sb.control().add_fault(rule("micro_pay", &no, FaultKind::DropMidReply, None));
    assert_eq!(micro_pay(&pay_req(&no, WX_PAYS_AT_ONCE, 42)).0, 0);
    // The cashier retries the identical sale: same number, same content.
    let (code, _, err) = micro_pay(&pay_req(&no, WX_PAYS_AT_ONCE, 42));
    assert_eq!(code, 0, "{err}");
    assert_eq!(sb.control().charge_count(&no), 1, "idempotent: charged once");
    let before = sb.control().request_count("micro_pay");
    let (code, _, err) = micro_pay(&pay_req(&no, WX_PAYS_AT_ONCE, 43));
    assert_eq!(code, sdk::CLOUD_PAY_FAIL);
    assert!(err.contains("different order") && err.contains("nothing was sent"), "{err}");
    assert_eq!(sb.control().request_count("micro_pay"), before);
    sdk::cloud_pay_fini();
    sb.stop();
}

/// Nothing listening: no attempt of this new order could reach a server, so "not sent" is
/// known: -1, no polling, and query_order says the order does not exist. Calls that
/// do not create money (cancel, query_refund) still report unknown.
#[test]
fn connection_refused_on_a_new_order_is_not_sent() {
    let _g = serial();
    // A port with nothing listening.
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    assert_eq!(
        init(&conf(&format!("http://127.0.0.1:{port}/cpay/"), None, json!({"micro_pay_query_order_count": 2}))),
        0
    );
    let no = order_no();
    let (code, _, err) = micro_pay(&pay_req(&no, WX_PAYS_AT_ONCE, 1));
    assert_eq!(code, sdk::CLOUD_PAY_FAIL, "nothing reached a server: not accepted ({err})");
    assert!(err.starts_with("nothing was sent: ") && err.contains("connecting to"), "{err}");
    let (code, _, err) = query_order(&no, 1);
    assert_eq!(code, sdk::CLOUD_PAY_ORDER_NOT_EXIST, "{err}");
    assert!(err.contains("never sent"), "{err}");
    assert_eq!(cancel(&json!({"out_trade_no": no, "trade_type": 1})).0, sdk::CLOUD_PAY_UNKNOWN);
    let (code, err) = refund(&json!({"out_trade_no": no, "total_fee": 1, "refund_fee": 1}));
    assert_eq!(code, sdk::CLOUD_PAY_FAIL, "{err}");
    assert!(err.starts_with("nothing was sent: "), "{err}");
    assert_eq!(query_refund(&json!({"out_trade_no": no, "pay_platform": 1})).0, sdk::CLOUD_PAY_UNKNOWN);
    sdk::cloud_pay_fini();
}

#[test]
fn a_retried_refund_without_number_reuses_the_generated_number() {
    let _g = serial();
    let sb = start_sandbox();
    sb.control().set_refund_delay_ms(0);
    init_http(&sb);
    let no = order_no();
    assert_eq!(micro_pay(&pay_req(&no, WX_PAYS_AT_ONCE, 600)).0, 0);
    // The first refund is applied but its reply is lost: unknown.
    sb.control().add_fault(fault("refund", FaultKind::DropMidReply, Some(1)));
    let req = json!({"pay_platform": 1, "out_trade_no": no, "total_fee": 600, "refund_fee": 200});
    assert_eq!(refund(&req).0, sdk::CLOUD_PAY_UNKNOWN);
    // The cashier retries: same number, so the server sees an idempotent retry, not a second refund.
    assert_eq!(refund(&req).0, 0, "{}", errmsg());
    let refunds = sb.control().refunds(&no);
    assert_eq!(refunds.len(), 1, "one refund, not two: {refunds:?}");
    // A new, separate refund of the same amount after a definitive answer gets a new number.
    assert_eq!(refund(&req).0, 0, "{}", errmsg());
    assert_eq!(sb.control().refunds(&no).len(), 2);
    sdk::cloud_pay_fini();
    sb.stop();
}

#[test]
fn unknown_refund_and_cancel_replies_are_minus_two() {
    let _g = serial();
    let sb = start_sandbox();
    init_http(&sb);
    for kind in [
        FaultKind::BadHmac,
        FaultKind::MissingAuthen,
        FaultKind::HmacOverOtherContent,
        FaultKind::Status3,
        FaultKind::Http500,
        FaultKind::DropMidReply,
    ] {
        // Each fault gets its own paid order: applied-then-lost replies change the order.
        let no = order_no();
        assert_eq!(micro_pay(&pay_req(&no, WX_PAYS_AT_ONCE, 100)).0, 0);
        sb.control().add_fault(fault("refund", kind.clone(), Some(1)));
        let (code, err) = refund(
            &json!({"out_trade_no": no, "out_refund_no": format!("{}X", &no[..31]), "total_fee": 100, "refund_fee": 1}),
        );
        assert_eq!(code, sdk::CLOUD_PAY_UNKNOWN, "{kind:?}: {err}");
        assert!(err.contains("unknown") && err.contains("same out_refund_no"), "{kind:?}: {err}");
        sb.control().add_fault(fault("query_refund_order", kind.clone(), Some(1)));
        assert_eq!(query_refund(&json!({"out_trade_no": no})).0, sdk::CLOUD_PAY_UNKNOWN, "{kind:?}");
        let no2 = order_no();
        assert_eq!(micro_pay(&pay_req(&no2, &wx_code(4, 0), 100)).0, 0);
        sb.control().add_fault(fault("reverse", kind.clone(), Some(1)));
        assert_eq!(cancel(&json!({"out_trade_no": no2, "trade_type": 1})).0, sdk::CLOUD_PAY_UNKNOWN, "{kind:?}");
        sb.control().clear_faults();
    }
    sdk::cloud_pay_fini();
    sb.stop();
}

#[test]
fn polling_ends_after_the_configured_count_and_never_reverses() {
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
    assert_eq!(micro_pay(&pay_req(&no, &wx_code(4, 0), 1)).0, 0); // customer never confirms
    assert!(wait_requests(&sb, "query_order", 3));
    std::thread::sleep(Duration::from_millis(400));
    assert_eq!(sb.control().request_count("query_order"), 3, "exactly micro_pay_query_order_count polls");
    assert_eq!(sb.control().request_count("reverse"), 0);
    assert_eq!(query_order(&no, 1).0, sdk::CLOUD_PAY_ORDER_UNKNOWN, "still unknown, never failure");
    sdk::cloud_pay_fini();
    sb.stop();
}
