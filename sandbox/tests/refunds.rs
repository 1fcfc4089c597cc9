//! refund and query_refund_order.

mod common;
use cloud_pay_protocol::Authenticator;
use cloud_pay_protocol::types::*;
use cloud_pay_sandbox::{Sandbox, SandboxConfig, SandboxOptions};
use common::*;

fn fast() -> Sandbox {
    let sb = start();
    sb.control().set_refund_delay_ms(200);
    sb
}

fn refund_state(r: &RefundOrderContent) -> i32 {
    r.wxpay_refund_order_content_ext
        .as_ref()
        .map(|w| w.state.0)
        .or(r.alipay_refund_order_content_ext.as_ref().map(|a| a.refund_status.0))
        .unwrap()
}

#[test]
fn wechat_refund_processes_then_succeeds_and_order_goes_to_4() {
    let sb = fast();
    let c = Client::http(&sb);
    let n = no("w");
    ok(&c.call::<MicroPay>(&micro(&n, WX_NOW, 1000)));
    let rn = no("wr");
    let r = ok(&c.call::<Refund>(&refund_req(&n, &rn, 1000, 300)));
    let rc = r.refund_for(&rn).unwrap();
    assert_eq!(refund_state(&rc), 4);
    assert_eq!(rc.is_transforming, Some(true));
    assert_eq!(rc.refund_fee, Some(300));
    assert_eq!(state_of(&c, &n).1, 4, "WeChat order transferred to refund after any refund");
    let q = ok(&c.call::<QueryRefundOrder>(&query_refund(&n, Some(&rn))));
    assert_eq!(refund_state(&q.refund_order_content[0]), 4);
    sleep_ms(250);
    let q = ok(&c.call::<QueryRefundOrder>(&query_refund(&n, Some(&rn))));
    let rc = &q.refund_order_content[0];
    assert_eq!(refund_state(rc), 2);
    assert_eq!(rc.is_transforming, Some(false));
    assert!(rc.refund_success_time.unwrap() > 0);
    assert_eq!(sb.control().order(&n).unwrap()["refunded_fee"], 300);
    assert_eq!(sb.control().refunds(&n)[0]["state"], 2);
}

#[test]
fn alipay_order_stays_2_until_fully_refunded_then_5() {
    let sb = fast();
    let c = Client::http(&sb);
    let n = no("a");
    ok(&c.call::<MicroPay>(&micro(&n, ALI_NOW, 1000)));
    let r1 = no("ar1");
    ok(&c.call::<Refund>(&refund_req(&n, &r1, 1000, 400)));
    sleep_ms(250);
    assert_eq!(state_of(&c, &n).1, 2, "partial refund is invisible on Alipay");
    let r2 = no("ar2");
    ok(&c.call::<Refund>(&refund_req(&n, &r2, 1000, 600)));
    assert_eq!(state_of(&c, &n).1, 2, "still processing");
    sleep_ms(250);
    assert_eq!(state_of(&c, &n).1, 5, "fully refunded");
    // All refunds of the order, aligned order_client array.
    let q = ok(&c.call::<QueryRefundOrder>(&query_refund(&n, None)));
    assert_eq!(q.refund_order_content.len(), 2);
    assert_eq!(q.refund_order_content[0].out_refund_no, r1);
    assert_eq!(q.order_client.unwrap().as_array().unwrap().len(), 2);
    // Nothing left to refund.
    assert_eq!(status(&c.call::<Refund>(&refund_req(&n, &no("ar3"), 1000, 1))).0, 104);
}

#[test]
fn refund_sum_limit_total_fee_match_and_unpaid_orders() {
    let sb = fast();
    let c = Client::http(&sb);
    let n = no("s");
    ok(&c.call::<MicroPay>(&micro(&n, WX_NOW, 1000)));
    ok(&c.call::<Refund>(&refund_req(&n, &no("s1"), 1000, 700)));
    let over = c.call::<Refund>(&refund_req(&n, &no("s2"), 1000, 301));
    assert_eq!(status(&over).0, 104);
    ok(&c.call::<Refund>(&refund_req(&n, &no("s3"), 1000, 300)));
    assert_eq!(sb.control().order(&n).unwrap()["refunded_fee"], 1000);
    // total_fee must match the order.
    let n2 = no("t");
    ok(&c.call::<MicroPay>(&micro(&n2, WX_NOW, 1000)));
    assert_eq!(status(&c.call::<Refund>(&refund_req(&n2, &no("t1"), 999, 10))).0, 104);
    // Unpaid (still paying) → 104; unknown order → 400.
    let n3 = no("u");
    ok(&c.call::<MicroPay>(&micro(&n3, "139400000000000000", 1000)));
    assert_eq!(status(&c.call::<Refund>(&refund_req(&n3, &no("u1"), 1000, 10))).0, 104);
    assert_eq!(status(&c.call::<Refund>(&refund_req(&no("none"), &no("u2"), 1000, 10))), (104, 400));
    // Reversed after payment: money already back, no refund.
    let n4 = no("v");
    ok(&c.call::<MicroPay>(&micro(&n4, WX_NOW, 1000)));
    let rev = ReverseRequest {
        pay_mch_key: pay_mch_key(None),
        order_client: order_client(),
        out_trade_no: n4.clone(),
        nonce_str: nonce(),
    };
    ok(&c.call::<Reverse>(&rev));
    assert_eq!(status(&c.call::<Refund>(&refund_req(&n4, &no("v1"), 1000, 10))).0, 104);
}

#[test]
fn refund_number_reuse_identical_is_idempotent_different_is_102() {
    let sb = fast();
    let c = Client::http(&sb);
    let n = no("r");
    ok(&c.call::<MicroPay>(&micro(&n, WX_NOW, 1000)));
    let rn = no("rr");
    let req = refund_req(&n, &rn, 1000, 100);
    ok(&c.call::<Refund>(&req));
    let mut again = req.clone();
    again.nonce_str = nonce();
    let r = ok(&c.call::<Refund>(&again));
    assert_eq!(r.refund_for(&rn).unwrap().refund_fee, Some(100));
    assert_eq!(sb.control().refunds(&n).len(), 1, "no second refund");
    assert_eq!(sb.control().order(&n).unwrap()["refunded_fee"], 100);
    let mut other = req.clone();
    other.refund_content.refund_fee = 200;
    assert_eq!(status(&c.call::<Refund>(&other)).0, 102);
    assert_eq!(sb.control().order(&n).unwrap()["refunded_fee"], 100);
}

#[test]
fn refund_marked_sandbox_fail_ends_failed_and_frees_the_amount() {
    let sb = fast();
    let c = Client::http(&sb);
    let n = no("f");
    ok(&c.call::<MicroPay>(&micro(&n, WX_NOW, 500)));
    let rn = no("fr");
    let mut req = refund_req(&n, &rn, 500, 500);
    req.refund_content.refund_reason = Some(format!("test {}", cloud_pay_sandbox::FAIL_MARKER));
    ok(&c.call::<Refund>(&req));
    assert_eq!(state_of(&c, &n).1, 4);
    sleep_ms(250);
    let q = ok(&c.call::<QueryRefundOrder>(&query_refund(&n, Some(&rn))));
    assert_eq!(refund_state(&q.refund_order_content[0]), 3);
    assert_eq!(state_of(&c, &n).1, 2, "no live refund left: back to paid");
    ok(&c.call::<Refund>(&refund_req(&n, &no("fr2"), 500, 500)));
}

#[test]
fn query_refund_order_not_found_is_426() {
    let sb = fast();
    let c = Client::http(&sb);
    let n = no("n");
    ok(&c.call::<MicroPay>(&micro(&n, WX_NOW, 500)));
    assert_eq!(status(&c.call::<QueryRefundOrder>(&query_refund(&n, None))), (104, 426));
    ok(&c.call::<Refund>(&refund_req(&n, &no("n1"), 500, 5)));
    assert_eq!(status(&c.call::<QueryRefundOrder>(&query_refund(&n, Some(&no("other"))))), (104, 426));
    assert_eq!(status(&c.call::<QueryRefundOrder>(&query_refund(&no("none"), None))), (104, 400));
}

#[test]
fn rsa_signed_refund_is_accepted_and_bad_signature_rejected() {
    let sb = fast();
    let c = Client::http(&sb);
    let n = no("k");
    ok(&c.call::<MicroPay>(&micro(&n, WX_NOW, 500)));
    let key = signing_key();
    let rn = no("k1");
    ok(&c.call_with::<Refund>(&refund_req(&n, &rn, 500, 50), Authenticator::Sign(&key)));
    assert_eq!(sb.control().refunds(&n).len(), 1);
    // A signature over different content does not verify: 101/7, nothing applied.
    let req = refund_req(&n, &no("k2"), 500, 50);
    let text = cloud_pay_protocol::wire::to_text(&req);
    let mut env = cloud_pay_protocol::RequestEnvelope::seal(text.clone(), Authenticator::Sign(&key));
    env.request_content = text.replace("\"refund_fee\":50", "\"refund_fee\":51");
    let (_, body) = c.post("refund", &env.to_body()).unwrap();
    let r = cloud_pay_protocol::envelope::open_reply::<Refund>(&body, KEY);
    assert_eq!(status(&r), (101, 7));
    assert_eq!(sb.control().refunds(&n).len(), 1);
    // RSA on an HMAC-only endpoint → 101.
    let r = c.call_with::<QueryOrder>(&query(&n), Authenticator::Sign(&key));
    assert_eq!(status(&r).0, 101);
}

#[test]
fn legacy_strict_sign_requires_rsa_on_refund_and_reverse() {
    let mut cfg = SandboxConfig::demo();
    cfg.legacy_strict_sign = true;
    cfg.refund_success_after_ms = 100;
    let sb = Sandbox::start(SandboxOptions { config: cfg, ..SandboxOptions::demo() }).unwrap();
    let c = Client::http(&sb);
    let n = no("l");
    ok(&c.call::<MicroPay>(&micro(&n, WX_NOW, 500)));
    assert_eq!(status(&c.call::<Refund>(&refund_req(&n, &no("l1"), 500, 5))), (101, 7));
    let key = signing_key();
    ok(&c.call_with::<Refund>(&refund_req(&n, &no("l2"), 500, 5), Authenticator::Sign(&key)));
    let rev = ReverseRequest {
        pay_mch_key: pay_mch_key(None),
        order_client: order_client(),
        out_trade_no: n,
        nonce_str: nonce(),
    };
    assert_eq!(status(&c.call::<Reverse>(&rev)), (101, 7));
}
