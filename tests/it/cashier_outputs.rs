//! Outputs a cashier can act on: through the C exports against the sandbox.

use crate::common::*;
use cloud_pay_sdk as sdk;
use serde_json::json;

#[test]
fn a_failed_payment_says_the_platforms_reason() {
    let _g = serial();
    let sb = start_sandbox();
    init_http(&sb);
    let no = order_no();
    assert_eq!(micro_pay(&pay_req(&no, &wx_code(3, 2), 50)).0, 0); // insufficient balance after 0.2 s
    let (code, _, err) = wait_final(&no, 1).expect("final");
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
    let (code, err) =
        refund(&json!({"out_trade_no": order_no(), "pay_platform": 1, "total_fee": 100, "refund_fee": 0.5}));
    assert_eq!(code, sdk::CLOUD_PAY_INTERNAL, "{err}");
    assert!(err.contains("refund_fee: amounts are integers in fen"), "{err}");
    assert_eq!(sb.control().request_count("micro_pay") + sb.control().request_count("refund"), 0);
    sdk::cloud_pay_fini();
    sb.stop();
}

#[test]
fn a_refunded_order_says_how_much_was_refunded() {
    let _g = serial();
    let sb = start_sandbox();
    sb.control().set_refund_delay_ms(0);
    init_http(&sb);
    for (code_, platform) in [(WX_PAYS_AT_ONCE, 1), (ALI_PAYS_AT_ONCE, 2)] {
        let no = pay_and_wait(code_, 300);
        let r = |n: &str, fee: i64| {
            refund(
                &json!({"out_trade_no": no, "out_refund_no": format!("{}{n}", &no[..31]), "total_fee": 300, "refund_fee": fee}),
            )
        };
        assert_eq!(r("A", 100).0, 0, "{}", errmsg());
        let (code, order, err) = query_order(&no, 1);
        if platform == 1 {
            // WeChat: the order is in its refund state (-4) with the totals.
            assert_eq!(code, sdk::CLOUD_PAY_ORDER_CLOSED, "{err}");
            assert!(err.contains("partly refunded: 100 of 300 fen in 1 refund(s)"), "{err}");
            assert_eq!(
                (order["refunded_fee"].as_i64(), order["refund_count"].as_i64()),
                (Some(100), Some(1)),
                "{order}"
            );
        }
        assert_eq!(r("B", 200).0, 0, "{}", errmsg());
        let (code, order, err) = query_order(&no, 1);
        assert_eq!(code, sdk::CLOUD_PAY_ORDER_CLOSED, "platform {platform}: {err}");
        assert!(err.contains("fully refunded: 300 of 300 fen in 2 refund(s)"), "{err}");
        assert_eq!((order["refunded_fee"].as_i64(), order["refund_count"].as_i64()), (Some(300), Some(2)), "{order}");
        // Answered again from memory: the same totals.
        let (code, order, err) = query_order(&no, 1);
        assert_eq!(code, sdk::CLOUD_PAY_ORDER_CLOSED);
        assert!(err.contains("fully refunded") && order["refund_count"] == 2, "{err} {order}");
    }
    sdk::cloud_pay_fini();
    sb.stop();
}
