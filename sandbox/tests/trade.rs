//! micro_pay scenarios, idempotency, re-entry, scan_code_pay, close, reverse.

mod common;
use cloud_pay_protocol::StatusClass;
use cloud_pay_protocol::types::*;
use common::*;

/// (code, state right after micro_pay, state after the delay) for one platform.
fn scenarios(pp: &str, paying: i32, paid: i32, cancelled: i32, error: i32) -> Vec<(String, i32, i32)> {
    let code = |tail: &str| format!("{pp}{tail}");
    vec![
        (code("9000000000000000"), paid, paid),        // S=0 pays at once
        (code("9100200000000000"), paying, paid),      // S=1 password, pays after 0.2 s
        (code("9200200000000000"), paying, cancelled), // S=2 cancels after 0.2 s
        (code("9300200000000000"), paying, error),     // S=3 insufficient funds after 0.2 s
        (code("9400000000000000"), paying, paying),    // S=4 never confirms
    ]
}

fn run_scenarios(pp: &str, platform: i32, paying: i32, paid: i32, cancelled: i32, error: i32) {
    let sb = start();
    let c = Client::http(&sb);
    let mut orders = Vec::new();
    for (i, (code, first, later)) in scenarios(pp, paying, paid, cancelled, error).into_iter().enumerate() {
        let n = no(&format!("s{i}"));
        let r = ok(&c.call::<MicroPay>(&micro(&n, &code, 100 + i as i64)));
        let key = r.pay_mch_key.unwrap();
        assert_eq!(key.pay_platform, Some(PayPlatform(platform)), "platform inferred from {code}");
        let oc = r.order_content.unwrap();
        assert_eq!(oc.trade_state(), Some((PayPlatform(platform), first)), "initial state of {code}");
        assert_eq!(oc.is_transforming, Some(first == paying));
        orders.push((n, code, later));
    }
    sleep_ms(350);
    for (n, code, later) in &orders {
        let q = ok(&c.call::<QueryOrder>(&query(n)));
        let oc = q.order_content.unwrap();
        assert_eq!(oc.trade_state().unwrap().1, *later, "state of {code} after the delay");
        let charged = u32::from(*later == paid);
        assert_eq!(sb.control().charge_count(n), charged, "charge count of {code}");
        if *later == paid {
            assert!(oc.transaction_id.is_some() && oc.time_end.is_some());
            assert_eq!(oc.cash_fee, oc.total_fee);
        } else {
            assert!(oc.transaction_id.is_none());
        }
    }
    // S=3 explains itself.
    let q = ok(&c.call::<QueryOrder>(&query(&orders[3].0)));
    let oc = q.order_content.unwrap();
    let desc = match platform {
        1 => oc.wxpay_order_content_ext.unwrap().trade_state_desc.unwrap(),
        _ => oc.alipay_order_content_ext.unwrap().extra["trade_state_desc"].as_str().unwrap().to_owned(),
    };
    assert!(desc.contains("insufficient"), "{desc}");
    // S=5: code rejected at once, nothing created.
    let n = no("s5");
    let r = c.call::<MicroPay>(&micro(&n, &format!("{pp}9500000000000000"), 100));
    assert_eq!(status(&r), (104, 1));
    assert!(r.response.unwrap().description.contains("expired"));
    assert_eq!(status(&c.call::<QueryOrder>(&query(&n))), (104, 400));
}

#[test]
fn wechat_payment_code_scenarios() {
    run_scenarios("13", 1, 9, 2, 5, 10);
}

#[test]
fn alipay_payment_code_scenarios() {
    // Alipay codes here are 18 digits (16–24 allowed).
    run_scenarios("28", 2, 4, 2, 5, 5);
}

#[test]
fn spec_example_code_pays_at_once_and_unknown_codes_fail() {
    let sb = start();
    let c = Client::http(&sb);
    let n = no("x");
    let r = ok(&c.call::<MicroPay>(&micro(&n, WX_NOW, 1)));
    assert_eq!(r.order_content.unwrap().trade_state(), Some((PayPlatform::WXPAY, 2)));
    let n = no("a");
    let r = ok(&c.call::<MicroPay>(&micro(&n, ALI_NOW, 1)));
    assert_eq!(r.order_content.unwrap().trade_state(), Some((PayPlatform::ALIPAY, 2)));
    for bad in ["994567890123456789", "13456789", "13456789012345678a"] {
        let r = c.call::<MicroPay>(&micro(&no("u"), bad, 1));
        assert_eq!(status(&r).0, 104, "{bad}");
        assert!(r.response.unwrap().description.contains("payment code"));
    }
    // pay_platform that contradicts the code.
    let mut req = micro(&no("m"), WX_NOW, 1);
    req.pay_mch_key.pay_platform = Some(PayPlatform::ALIPAY);
    assert_eq!(status(&c.call::<MicroPay>(&req)).0, 104);
}

#[test]
fn identical_resubmission_is_idempotent_and_different_content_is_407() {
    let sb = start();
    let c = Client::http(&sb);
    let n = no("i");
    let req = micro(&n, "139100100000000000", 500);
    let first = ok(&c.call::<MicroPay>(&req));
    assert_eq!(first.order_content.unwrap().trade_state().unwrap().1, 9);
    sleep_ms(150);
    // Same content (a fresh nonce is not business content) → the current order, no second charge.
    let mut again = req.clone();
    again.nonce_str = nonce();
    for _ in 0..3 {
        let r = ok(&c.call::<MicroPay>(&again));
        assert_eq!(r.order_content.unwrap().trade_state().unwrap().1, 2);
    }
    assert_eq!(sb.control().charge_count(&n), 1);
    // Different amount → 104/407 re-entry, classified as such, order untouched.
    let mut other = req.clone();
    other.pay_content.total_fee = 501;
    let r = c.call::<MicroPay>(&other);
    assert_eq!(status(&r), (104, 407));
    assert_eq!(r.class, StatusClass::ReEntry);
    let truth = sb.control().order(&n).unwrap();
    assert_eq!(truth["total_fee"], 500);
    assert_eq!(truth["charge_count"], 1);
    // A scan_code_pay on a used number → 102.
    assert_eq!(status(&c.call::<ScanCodePay>(&scan(&n, 1, 500))).0, 102);
}

#[test]
fn query_unknown_order_is_400_and_missing_pay_platform_is_fine() {
    let sb = start();
    let c = Client::http(&sb);
    let r = c.call::<QueryOrder>(&query(&no("none")));
    assert_eq!(status(&r), (104, 400));
    assert_eq!(r.auth, cloud_pay_protocol::AuthCheck::Verified, "104 carries authen_info");
    let n = no("q");
    ok(&c.call::<MicroPay>(&micro(&n, WX_NOW, 10)));
    let q = ok(&c.call::<QueryOrder>(&query(&n)));
    assert_eq!(q.pay_mch_key.unwrap().pay_platform, Some(PayPlatform::WXPAY));
    let oc = q.order_client.unwrap();
    assert_eq!(oc.shop_id.as_deref(), Some("shop01"));
    assert_eq!(oc.device_id.as_deref(), Some("dev01"));
}

#[test]
fn scan_code_pay_customer_pays_or_cancels_and_close_rules() {
    let sb = start();
    let c = Client::http(&sb);
    let ctl = sb.control();
    for (platform, waiting, paid, closed, url) in
        [(1, 6, 3, 7, "weixin://wxpay/bizpayurl?pr="), (2, 4, 2, 5, "https://qr.alipay.com/")]
    {
        let n = no("qp");
        let r = ok(&c.call::<ScanCodePay>(&scan(&n, platform, 300)));
        assert!(r.code_url.as_deref().unwrap().starts_with(url));
        assert_eq!(state_of(&c, &n).1, waiting);
        assert_eq!(ctl.charge_count(&n), 0);
        // Identical resubmission returns the same QR.
        let again = ok(&c.call::<ScanCodePay>(&scan(&n, platform, 300)));
        assert_eq!(again.code_url, r.code_url);
        ctl.customer_scan(&n, cloud_pay_sandbox::ScanAction::Pay).unwrap();
        assert_eq!(state_of(&c, &n).1, paid);
        assert_eq!(ctl.charge_count(&n), 1);
        assert!(ctl.customer_scan(&n, cloud_pay_sandbox::ScanAction::Pay).is_err(), "cannot pay twice");
        assert_eq!(ctl.charge_count(&n), 1);
        // Close of a paid order → 104; reverse of a scan order → 104.
        let close = CloseOrderRequest {
            pay_mch_key: pay_mch_key(Some(platform)),
            order_client: order_client(),
            out_trade_no: n.clone(),
            trade_type: Some(TradeType::SCAN_CODE),
            nonce_str: nonce(),
        };
        assert_eq!(status(&c.call::<CloseOrder>(&close)).0, 104);
        let rev = ReverseRequest {
            pay_mch_key: pay_mch_key(Some(platform)),
            order_client: order_client(),
            out_trade_no: n.clone(),
            nonce_str: nonce(),
        };
        assert_eq!(status(&c.call::<Reverse>(&rev)).0, 104);

        // Customer gives up: still waiting; close → closed; closing again is fine.
        let n2 = no("qc");
        ok(&c.call::<ScanCodePay>(&scan(&n2, platform, 300)));
        ctl.customer_scan(&n2, cloud_pay_sandbox::ScanAction::Cancel).unwrap();
        assert_eq!(state_of(&c, &n2).1, waiting);
        let close2 = CloseOrderRequest { out_trade_no: n2.clone(), ..close.clone() };
        ok(&c.call::<CloseOrder>(&close2));
        assert_eq!(state_of(&c, &n2).1, closed);
        ok(&c.call::<CloseOrder>(&CloseOrderRequest { nonce_str: nonce(), ..close2 }));
        assert!(ctl.customer_scan(&n2, cloud_pay_sandbox::ScanAction::Pay).is_err(), "closed orders cannot be paid");
        assert_eq!(ctl.charge_count(&n2), 0);
    }
}

#[test]
fn scan_code_pay_expires_at_time_expire() {
    let sb = start();
    let c = Client::http(&sb);
    let n = no("exp");
    let mut req = scan(&n, 1, 300);
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs() as i64;
    // Two seconds ahead, not one: with `now + 1` a second boundary passing between reading the
    // clock here and the sandbox reading its own made the order "in the past" (101) or already
    // expired, and the test failed now and then.
    let expire = now + 2;
    req.pay_content.time_expire = Some(expire);
    ok(&c.call::<ScanCodePay>(&req));
    assert_eq!(state_of(&c, &n).1, 6);
    // Wait until time_expire has been reached.
    loop {
        let t = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs() as i64;
        if t >= expire {
            break;
        }
        sleep_ms(50);
    }
    assert_eq!(state_of(&c, &n).1, 7);
    assert!(sb.control().customer_scan(&n, cloud_pay_sandbox::ScanAction::Pay).is_err());
    // A time_expire in the past is rejected.
    let mut past = scan(&no("past"), 1, 300);
    past.pay_content.time_expire = Some(now - 10);
    assert_eq!(status(&c.call::<ScanCodePay>(&past)).0, 101);
}

fn reverse_req(n: &str) -> ReverseRequest {
    ReverseRequest {
        pay_mch_key: pay_mch_key(None),
        order_client: order_client(),
        out_trade_no: n.into(),
        nonce_str: nonce(),
    }
}

#[test]
fn reverse_rules_wechat_and_alipay() {
    let sb = start();
    let c = Client::http(&sb);
    let ctl = sb.control();
    // WeChat paid → 8, money returned (recorded), charge count stays 1.
    let n = no("rw");
    ok(&c.call::<MicroPay>(&micro(&n, WX_NOW, 100)));
    ok(&c.call::<Reverse>(&reverse_req(&n)));
    assert_eq!(state_of(&c, &n).1, 8);
    let t = ctl.order(&n).unwrap();
    assert_eq!(t["reversed_after_payment"], true);
    assert_eq!(t["charge_count"], 1);
    assert_eq!(t["paid"], false);
    ok(&c.call::<Reverse>(&reverse_req(&n))); // idempotent
    // WeChat still paying (S=4) → 8 with no charge; the pending payment never lands.
    let n = no("rp");
    ok(&c.call::<MicroPay>(&micro(&n, "139400000000000000", 100)));
    ok(&c.call::<Reverse>(&reverse_req(&n)));
    assert_eq!(state_of(&c, &n).1, 8);
    assert_eq!(ctl.charge_count(&n), 0);
    // A payment scheduled after the reverse never happens.
    let n = no("rl");
    ok(&c.call::<MicroPay>(&micro(&n, "139100100000000000", 100)));
    ok(&c.call::<Reverse>(&reverse_req(&n)));
    sleep_ms(150);
    assert_eq!(state_of(&c, &n).1, 8);
    assert_eq!(ctl.charge_count(&n), 0);
    // Alipay unpaid → 5; Alipay paid → 104.
    let n = no("ra");
    ok(&c.call::<MicroPay>(&micro(&n, "28940000000000000000", 100)));
    ok(&c.call::<Reverse>(&reverse_req(&n)));
    assert_eq!(state_of(&c, &n).1, 5);
    let n = no("rb");
    ok(&c.call::<MicroPay>(&micro(&n, ALI_NOW, 100)));
    assert_eq!(status(&c.call::<Reverse>(&reverse_req(&n))).0, 104);
    assert_eq!(state_of(&c, &n).1, 2);
    // Unknown order → 400.
    assert_eq!(status(&c.call::<Reverse>(&reverse_req(&no("none")))), (104, 400));
    // micro_pay orders cannot be closed.
    let close = CloseOrderRequest {
        pay_mch_key: pay_mch_key(None),
        order_client: order_client(),
        out_trade_no: n,
        trade_type: None,
        nonce_str: nonce(),
    };
    assert_eq!(status(&c.call::<CloseOrder>(&close)).0, 104);
}

#[test]
fn reverse_accepts_an_rsa_signature() {
    let sb = start();
    let c = Client::http(&sb);
    let n = no("rs");
    ok(&c.call::<MicroPay>(&micro(&n, "139400000000000000", 100)));
    let key = signing_key();
    let r = c.call_with::<Reverse>(&reverse_req(&n), cloud_pay_protocol::Authenticator::Sign(&key));
    ok(&r);
    assert_eq!(state_of(&c, &n).1, 8);
}
