//! Issue 23, "outputs a cashier can act on": through the C exports against the sandbox.

mod common;

use std::time::Duration;

use CloudPayAPI_SDK_CPP as sdk;
use common::*;
use serde_json::json;

#[test]
fn a_failed_payment_says_the_platforms_reason() {
    let _g = serial();
    let sb = start_sandbox();
    init_http(&sb);
    let no = order_no();
    assert_eq!(micro_pay(&pay_req(&no, &wx_code(3, 2), 50)).0, 0); // insufficient balance after 0.2 s
    let failed = wait_for(Duration::from_secs(10), || {
        let (code, _, err) = query_order(&no, 1);
        (code != sdk::CLOUD_PAY_ORDER_UNKNOWN).then_some((code, err))
    });
    let (code, err) = failed.expect("final");
    assert_eq!(code, sdk::CLOUD_PAY_ORDER_FAILED, "{err}");
    assert!(err.contains("payment failed: ") && err.contains("insufficient balance"), "{err}");
    assert!(!err.contains("操作成功"), "not the envelope's success text: {err}");
    // A fresh process without a local record reads the same reason.
    sdk::cloud_pay_fini();
    init_http(&sb);
    let (code, _, err) = query_order(&no, 1);
    assert_eq!(code, sdk::CLOUD_PAY_ORDER_FAILED, "{err}");
    assert!(err.contains("insufficient balance") && !err.contains("操作成功"), "{err}");
    sdk::cloud_pay_fini();
    sb.stop();
}

#[test]
fn a_short_micro_pay_buffer_says_payment_accepted_and_the_size() {
    let _g = serial();
    let sb = start_sandbox();
    init_http(&sb);
    let req = pay_req(&order_no(), WX_PAYS_AT_ONCE, 1).to_string();
    let (code, out, err) = call_out(sdk::cloud_pay_micro_pay, &req, 10);
    assert_eq!((code, out.as_str()), (0, ""), "{err}");
    assert!(err.starts_with("payment accepted") && err.contains("need ") && err.contains(" bytes"), "{err}");
    sdk::cloud_pay_fini();
    sb.stop();
}

#[test]
fn decimal_amounts_are_answered_in_fen() {
    let _g = serial();
    let sb = start_sandbox();
    init_http(&sb);
    for fee in [json!(12.34), json!(1234.0), json!("12.34")] {
        let mut req = pay_req(&order_no(), WX_PAYS_AT_ONCE, 1);
        req["total_fee"] = fee.clone();
        let (code, _, err) = micro_pay(&req);
        assert_eq!(code, sdk::CLOUD_PAY_FAIL, "{fee}: {err}");
        assert!(err.contains("amounts are integers in fen (1234 = 12.34 CNY)"), "{fee}: {err}");
    }
    let (code, err) = refund(&json!({"out_trade_no": order_no(), "pay_platform": 1, "total_fee": 100, "refund_fee": 0.5}));
    assert_eq!(code, sdk::CLOUD_PAY_INTERNAL, "{err}");
    assert!(err.contains("refund_fee: amounts are integers in fen"), "{err}");
    assert_eq!(sb.control().request_count("micro_pay") + sb.control().request_count("refund"), 0);
    sdk::cloud_pay_fini();
    sb.stop();
}
