//! The cashier flows through the C exports against the sandbox, over HTTP and HTTPS.

use std::time::Duration;

use crate::common::*;
use cloud_pay_sdk as sdk;
use serde_json::json;

#[test]
fn micro_pay_paid_at_once_over_https_with_the_generated_ca() {
    let _g = serial();
    let sb = start_sandbox();
    assert_eq!(init(&conf(&sb.https_base_url(), Some(&sb.ca_file()), json!({}))), 0, "{}", errmsg());
    let no = order_no();
    let (code, out, err) = micro_pay(&pay_req(&no, WX_PAYS_AT_ONCE, 1));
    assert_eq!(code, 0, "{err}");
    assert_eq!(out, json!({"pay_platform": 1, "out_trade_no": no}));
    let (code, order, err) = query_order(&no, 1);
    assert_eq!(code, sdk::CLOUD_PAY_ORDER_PAID, "{err}");
    assert_eq!(order["out_trade_no"], no.as_str());
    assert_eq!(order["total_fee"], 1);
    assert_eq!(order["fee_type"], "CNY");
    assert_eq!(order["trade_type"], 1);
    assert_eq!(order["pay_platform"], 1);
    assert_eq!(order["current_trade_state"], 2);
    assert_eq!(order["state"], sdk::CLOUD_PAY_STATE_SUCCESS);
    assert!(order["transaction_id"].as_str().is_some_and(|s| !s.is_empty()), "{order}");
    assert!(order["time_end"].as_i64().is_some_and(|t| t > 0), "{order}");
    assert!(order["order_content"].is_object() && order["pay_mch_key"].is_object());
    assert_eq!(sb.control().charge_count(&no), 1);
    sdk::cloud_pay_fini();
    sb.stop();
}

#[test]
fn https_without_the_ca_is_refused_and_reported_as_unknown() {
    let _g = serial();
    let sb = start_sandbox();
    assert_eq!(init(&conf(&sb.https_base_url(), None, json!({}))), 0);
    let (code, _, err) = query_order(&order_no(), 1);
    assert_eq!(code, sdk::CLOUD_PAY_ORDER_UNKNOWN);
    assert!(err.contains("query_order"), "{err}");
    assert_eq!(sb.control().request_count("query_order"), 0, "nothing reached the server");
    sdk::cloud_pay_fini();
    sb.stop();
}

#[test]
fn delayed_payment_is_followed_by_the_background_worker_then_cached() {
    let _g = serial();
    let sb = start_sandbox();
    init_http(&sb);
    let no = order_no();
    let (code, _, err) = micro_pay(&pay_req(&no, &wx_code(1, 4), 300)); // pays after 0.4 s
    assert_eq!(code, 0, "{err}");
    let (code, order, _) = query_order(&no, 1);
    assert_eq!(code, sdk::CLOUD_PAY_ORDER_UNKNOWN, "user still paying");
    assert_eq!(order["state"], sdk::CLOUD_PAY_STATE_USER_PAYING);
    // Without any query from us, the worker polls until the order is paid.
    let paid = wait_for(Duration::from_secs(10), || (sb.control().charge_count(&no) == 1).then_some(()));
    assert!(paid.is_some(), "sandbox marks the order paid");
    assert!(wait_requests(&sb, "query_order", 3));
    std::thread::sleep(Duration::from_millis(400));
    let before = sb.control().request_count("query_order");
    let (code, order, err) = query_order(&no, 1);
    assert_eq!(code, sdk::CLOUD_PAY_ORDER_PAID, "{err} {order}");
    assert_eq!(sb.control().request_count("query_order"), before, "a final state is answered from memory");
    std::thread::sleep(Duration::from_millis(300));
    assert_eq!(sb.control().request_count("query_order"), before, "polling stopped at the final state");
    sdk::cloud_pay_fini();
    sb.stop();
}

#[test]
fn customer_cancel_and_insufficient_funds_are_failures_only_once_final() {
    let _g = serial();
    let sb = start_sandbox();
    init_http(&sb);
    for (scenario, platform_code) in
        [(2u8, wx_code(2, 2)), (3, wx_code(3, 2)), (2, ali_code(2, 2)), (3, ali_code(3, 2))]
    {
        let no = order_no();
        let (code, out, err) = micro_pay(&pay_req(&no, &platform_code, 50));
        assert_eq!(code, 0, "scenario {scenario}: {err}");
        let expected_platform = if platform_code.starts_with("13") { 1 } else { 2 };
        assert_eq!(out["pay_platform"], expected_platform);
        let final_code = wait_final(&no, 1).map(|r| r.0);
        let want = if expected_platform == 2 && scenario == 2 {
            sdk::CLOUD_PAY_ORDER_CLOSED
        } else {
            sdk::CLOUD_PAY_ORDER_FAILED
        };
        let want = if expected_platform == 2 && scenario == 3 { sdk::CLOUD_PAY_ORDER_CLOSED } else { want };
        assert_eq!(final_code, Some(want), "scenario {scenario} platform {expected_platform}");
        assert_eq!(sb.control().charge_count(&no), 0);
    }
    sdk::cloud_pay_fini();
    sb.stop();
}

#[test]
fn alipay_payment_refund_and_refund_query() {
    let _g = serial();
    let sb = start_sandbox();
    sb.control().set_refund_delay_ms(300);
    init_http(&sb);
    let no = order_no();
    let (code, out, err) = micro_pay(&pay_req(&no, ALI_PAYS_AT_ONCE, 1000));
    assert_eq!((code, out["pay_platform"].as_i64()), (0, Some(2)), "{err}");
    assert_eq!(query_order(&no, 1).0, sdk::CLOUD_PAY_ORDER_PAID);
    let refund_no = format!("{}R1", &no[..29]);
    let (code, err) = refund(
        &json!({"out_trade_no": no, "out_refund_no": refund_no, "total_fee": "1000", "refund_fee": "400", "refund_reason": "damaged"}),
    );
    assert_eq!(code, 0, "{err}");
    let (code, out, err) = query_refund(&json!({"out_trade_no": no, "out_refund_no": refund_no}));
    assert_eq!(code, 0, "{err}");
    assert_eq!(out["state"], sdk::CLOUD_PAY_REFUND_PROCESSING, "{out}");
    assert_eq!(out["refund_fee"], 400);
    let done = wait_for(Duration::from_secs(5), || {
        let (_, out, _) = query_refund(&json!({"out_trade_no": no, "out_refund_no": refund_no}));
        (out["state"] == sdk::CLOUD_PAY_REFUND_SUCCESS).then_some(out)
    });
    let out = done.expect("refund succeeds");
    assert_eq!(out["out_refund_no"], refund_no.as_str());
    // A POS that scans the text for the first "state" reads the SDK's state, not the platform's.
    let (_, text, _) = call_out(
        sdk::cloud_pay_query_refund,
        &json!({"out_trade_no": no, "out_refund_no": refund_no}).to_string(),
        16 * 1024,
    );
    assert!(text.contains("\"refund_status\""), "the platform ext is still there: {text}");
    assert!(
        text.split("\"state\":").nth(1).is_some_and(|rest| rest.starts_with('2')),
        "first state is the SDK's: {text}"
    );
    assert_eq!(out["refund_orders"].as_array().unwrap().len(), 1);
    // A partial Alipay refund leaves the payment "paid" (the platform state stays 2).
    assert_eq!(query_order(&no, 1).0, sdk::CLOUD_PAY_ORDER_PAID);
    // Refunding more than what is left is refused by the server: -1, not unknown.
    let (code, err) = refund(
        &json!({"out_trade_no": no, "out_refund_no": format!("{}R2", &no[..29]), "total_fee": 1000, "refund_fee": 700}),
    );
    assert_eq!(code, sdk::CLOUD_PAY_FAIL, "{err}");
    assert!(err.contains("status 104"), "{err}");
    sdk::cloud_pay_fini();
    sb.stop();
}

#[test]
fn wechat_refund_with_rsa_signature_and_generated_refund_number() {
    let _g = serial();
    let sb = start_sandbox();
    sb.control().set_refund_delay_ms(0);
    let mut conf: serde_json::Value = serde_json::from_str(&conf(&sb.http_base_url(), None, json!({}))).unwrap();
    conf["trade_conf"]["private_key"] = private_key_pem().into();
    assert_eq!(init(&conf.to_string()), 0, "{}", errmsg());
    let no = pay_and_wait(WX_PAYS_AT_ONCE, 500);
    let (code, err) = refund(&json!({"pay_platform": 1, "out_trade_no": no, "total_fee": 500, "refund_fee": 500}));
    assert_eq!(code, 0, "{err}");
    let out = wait_for(Duration::from_secs(5), || {
        let (code, out, _) = query_refund(&json!({"out_trade_no": no}));
        (code == 0 && out["state"] == sdk::CLOUD_PAY_REFUND_SUCCESS).then_some(out)
    })
    .expect("refund found by out_trade_no");
    let generated = out["out_refund_no"].as_str().unwrap();
    assert!(generated.starts_with("sz0100test") && generated.len() <= 32, "{generated}");
    // The refunded WeChat order now reads -4 (refunded), live — not the cached "paid".
    assert_eq!(query_order(&no, 1).0, sdk::CLOUD_PAY_ORDER_CLOSED);
    sdk::cloud_pay_fini();
    sb.stop();
}

#[test]
fn query_refund_of_an_order_without_refunds_is_an_empty_list() {
    let _g = serial();
    let sb = start_sandbox();
    init_http(&sb);
    let no = order_no();
    assert_eq!(micro_pay(&pay_req(&no, WX_PAYS_AT_ONCE, 5)).0, 0);
    let (code, out, err) = query_refund(&json!({"pay_platform": 1, "out_trade_no": no}));
    assert_eq!(code, 0, "{err}");
    assert_eq!(out["refund_orders"], json!([]));
    sdk::cloud_pay_fini();
    sb.stop();
}

#[test]
fn scan_code_prepay_then_paid() {
    let _g = serial();
    let sb = start_sandbox();
    init_http(&sb);
    let no = order_no();
    let (code, err) = scan_code_pay(
        &json!({"pay_platform": 1, "out_trade_no": no, "total_fee": 88, "body": "qr-goods", "product_id": "p1"}),
    );
    assert_eq!(code, 0, "{err}");
    let (code, order, err) = query_order(&no, 2);
    assert_eq!(code, sdk::CLOUD_PAY_ORDER_PREPAY, "{err}");
    let url = order["code_url"].as_str().unwrap().to_owned();
    assert!(url.starts_with("weixin://"), "{url}");
    sb.control().customer_scan(&no, ScanAction::Pay).unwrap();
    assert!(wait_paid(&no, 2), "{:?}", query_order(&no, 2));
    assert_eq!(sb.control().charge_count(&no), 1);
    sdk::cloud_pay_fini();
    sb.stop();
}

#[test]
fn scan_code_order_closed_by_cancel_order() {
    let _g = serial();
    let sb = start_sandbox();
    init_http(&sb);
    let no = order_no();
    assert_eq!(
        scan_code_pay(&json!({"pay_platform": 2, "out_trade_no": no, "total_fee": 88, "body": "qr-goods"})).0,
        0
    );
    let (code, order, _) = query_order(&no, 2);
    assert_eq!(code, sdk::CLOUD_PAY_ORDER_PREPAY);
    assert!(order["code_url"].as_str().unwrap().starts_with("https://"));
    let (code, err) = cancel(&json!({"out_trade_no": no, "trade_type": 2, "pay_platform": 2}));
    assert_eq!(code, 0, "{err}");
    assert_eq!(query_order(&no, 2).0, sdk::CLOUD_PAY_ORDER_CLOSED);
    sdk::cloud_pay_fini();
    sb.stop();
}

#[test]
fn reverse_of_a_micro_pay_order_while_the_customer_is_paying() {
    let _g = serial();
    let sb = start_sandbox();
    init_http(&sb);
    let no = order_no();
    assert_eq!(micro_pay(&pay_req(&no, &wx_code(4, 0), 10)).0, 0); // never confirms
    let (code, err) = cancel(&json!({"out_trade_no": no, "trade_type": 1}));
    assert_eq!(code, 0, "{err}");
    let (code, order, _) = query_order(&no, 1);
    assert_eq!(code, sdk::CLOUD_PAY_ORDER_CLOSED, "{order}");
    assert_eq!(order["current_trade_state"], 8);
    // Reversing a scan-code order is refused by the server: a definitive -1.
    let no2 = order_no();
    assert_eq!(scan_code_pay(&json!({"pay_platform": 1, "out_trade_no": no2, "total_fee": 1, "body": "x"})).0, 0);
    assert_eq!(cancel(&json!({"out_trade_no": no2, "trade_type": 1})).0, sdk::CLOUD_PAY_FAIL);
    sdk::cloud_pay_fini();
    sb.stop();
}

#[test]
fn unknown_order_is_not_exist_and_a_rejected_code_is_not_accepted() {
    let _g = serial();
    let sb = start_sandbox();
    init_http(&sb);
    let (code, _, err) = query_order(&order_no(), 1);
    assert_eq!(code, sdk::CLOUD_PAY_ORDER_NOT_EXIST, "{err}");
    assert!(err.contains("internal_status 400"), "{err}");
    let no = order_no();
    let (code, _, err) = micro_pay(&pay_req(&no, &wx_code(5, 0), 10)); // code rejected (expired)
    assert_eq!(code, sdk::CLOUD_PAY_FAIL);
    assert!(err.contains("status 104") && err.contains("log_id"), "{err}");
    assert_eq!(sb.control().charge_count(&no), 0);
    sdk::cloud_pay_fini();
    sb.stop();
}

#[test]
fn base_url_environment_variable_overrides_the_configuration() {
    let g = serial();
    let sb = start_sandbox();
    let env = EnvVar::set(&g, "CLOUDPAY_BASE_URL", sb.http_base_url());
    let rc = init(&conf("http://127.0.0.1:9/cpay/", None, json!({})));
    drop(env);
    assert_eq!(rc, 0);
    let no = order_no();
    assert_eq!(micro_pay(&pay_req(&no, WX_PAYS_AT_ONCE, 1)).0, 0);
    assert_eq!(sb.control().charge_count(&no), 1);
    sdk::cloud_pay_fini();
    sb.stop();
}

#[test]
fn one_keep_alive_connection_serves_many_calls() {
    let _g = serial();
    let sb = start_sandbox();
    assert_eq!(init(&conf(&sb.https_base_url(), Some(&sb.ca_file()), json!({}))), 0);
    let base = sb.control().connections_accepted();
    for _ in 0..10 {
        pay_and_wait(WX_PAYS_AT_ONCE, 1);
    }
    let used = sb.control().connections_accepted() - base;
    assert!(used <= 2, "20 sequential calls used {used} TLS connections");
    sdk::cloud_pay_fini();
    sb.stop();
}

#[test]
fn server_rejections_of_scan_code_query_and_refund_query() {
    let _g = serial();
    let sb = start_sandbox();
    init_http(&sb);
    // A scan-code order reusing a paid micro-pay number (another till): 102 → -1.
    let no = order_no();
    assert_eq!(micro_pay(&pay_req(&no, WX_PAYS_AT_ONCE, 10)).0, 0);
    sdk::cloud_pay_fini();
    init_http(&sb);
    let (code, err) = scan_code_pay(&json!({"pay_platform": 1, "out_trade_no": no, "total_fee": 99, "body": "qr"}));
    assert_eq!(code, sdk::CLOUD_PAY_FAIL, "{err}");
    assert!(err.contains("status 10"), "{err}");
    // The rejection says nothing about the order behind the number: it is asked. It is the
    // other till's paid order (10 fen, this sale was 99): never a cached 'failed', never this
    // sale's 'paid' either, but another sale's order under this number (-6).
    assert_eq!(query_order(&no, 2).0, sdk::CLOUD_PAY_ORDER_REENTRY, "another sale's order under this number");
    // A rejected query (status 101) is -3, a failure that is not a payment failure.
    sb.control().add_fault(fault("query_order", FaultKind::Status101, Some(1)));
    let (code, _, err) = query_order(&order_no(), 1);
    assert_eq!(code, sdk::CLOUD_PAY_ORDER_ERROR, "{err}");
    assert!(err.contains("status 101"), "{err}");
    // A refund query rejected by the server (not "no refunds", 426) is -1.
    sb.control().add_fault(fault("query_refund_order", FaultKind::Status104 { internal_status: 1 }, Some(1)));
    let (code, _, err) = query_refund(&json!({"out_trade_no": no, "pay_platform": 1}));
    assert_eq!(code, sdk::CLOUD_PAY_FAIL, "{err}");
    sdk::cloud_pay_fini();
    sb.stop();
}
