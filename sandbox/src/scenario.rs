//! Order and refund state machines. States advance lazily by wall-clock time whenever the
//! store is read; money is taken exactly when an order becomes paid.

use cloud_pay_protocol::types::*;
use cloud_pay_protocol::wire;
use serde_json::{Map, Value, json};

use crate::config::MerchantConfig;
use crate::state::{Order, Pending, Refund, Store};
use crate::util::random_digits;

// Short names for the protocol's numbers (the values are defined once, in cloud-pay-protocol).

/// PayPlatform numbers.
pub const WX: i32 = PayPlatform::WXPAY.0;
/// Alipay.
pub const ALI: i32 = PayPlatform::ALIPAY.0;

/// WeChat order states used here (docs/wire-protocol.md, "Order states").
pub mod wx {
    use cloud_pay_protocol::types::WxpayOrderState as S;
    /// Micro pay paid.
    pub const MICRO_PAID: i32 = S::MICRO_PAY_SUCCESS.0;
    /// Unified order paid.
    pub const SCAN_PAID: i32 = S::PAID.0;
    /// Transferred to refund.
    pub const REFUND: i32 = S::REFUND.0;
    /// Customer cancelled.
    pub const STOPPED: i32 = S::STOPPED.0;
    /// Awaiting customer payment (QR).
    pub const NOT_PAY: i32 = S::NOT_PAY.0;
    /// Closed.
    pub const CLOSED: i32 = S::CLOSED.0;
    /// Reversed.
    pub const REVOKED: i32 = S::REVOKED.0;
    /// Customer entering the password.
    pub const USER_PAYING: i32 = S::USER_PAYING.0;
    /// Payment error.
    pub const PAY_ERROR: i32 = S::PAY_ERROR.0;
}

/// Alipay order states used here (docs/wire-protocol.md, "Order states").
pub mod ali {
    use cloud_pay_protocol::types::AlipayOrderState as S;
    /// Paid.
    pub const SUCCESS: i32 = S::SUCCESS.0;
    /// Waiting for the buyer.
    pub const WAIT: i32 = S::WAIT_BUYER_PAY.0;
    /// Closed or fully refunded.
    pub const CLOSED: i32 = S::CLOSED.0;
}

/// Refund states (same numbers on both platforms, docs/wire-protocol.md, "Refund states").
pub mod refund_state {
    use cloud_pay_protocol::types::WxpayRefundState as S;
    /// Success.
    pub const SUCCESS: i32 = S::SUCCESS.0;
    /// Failed.
    pub const FAIL: i32 = S::FAIL.0;
    /// Processing.
    pub const PROCESSING: i32 = S::PROCESSING.0;
}

/// What the customer does with a payment code (see README, "payment-code scenarios").
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scenario {
    /// Pays at once.
    PayNow,
    /// Enters the password, pays after the delay.
    PayAfter(u64),
    /// Starts paying, cancels after the delay.
    CancelAfter(u64),
    /// Insufficient funds: payment error after the delay.
    ErrorAfter(u64),
    /// Never confirms.
    Never,
    /// Code rejected at once (expired).
    Rejected,
}

/// Reads the scenario from a payment code: `PP 9 S DDD …` (DDD = delay in tenths of a second).
/// Codes without the `9` marker pay at once.
pub fn scenario(author_code: &str) -> Scenario {
    let b = author_code.as_bytes();
    if b.len() < 7 || b[2] != b'9' {
        return Scenario::PayNow;
    }
    let delay = author_code[4..7].parse::<u64>().unwrap_or(0) * 100;
    match b[3] {
        b'1' => Scenario::PayAfter(delay),
        b'2' => Scenario::CancelAfter(delay),
        b'3' => Scenario::ErrorAfter(delay),
        b'4' => Scenario::Never,
        b'5' => Scenario::Rejected,
        _ => Scenario::PayNow,
    }
}

/// The platform a payment code belongs to (WeChat: prefix & 18 digits; Alipay: prefix & 16–24 digits).
pub fn platform_of_code(m: &MerchantConfig, code: &str) -> Option<i32> {
    if code.len() < 2 || !code.bytes().all(|c| c.is_ascii_digit()) {
        return None;
    }
    let p = &code[..2];
    if code.len() == 18 && m.wx_prefixes().iter().any(|x| x == p) {
        return Some(WX);
    }
    if (16..=24).contains(&code.len()) && m.ali_prefixes().iter().any(|x| x == p) {
        return Some(ALI);
    }
    None
}

/// Whether a platform state is final.
pub fn is_final(platform: i32, state: i32) -> bool {
    if platform == ALI {
        alipay_state_is_final(AlipayOrderState(state))
    } else {
        wxpay_state_is_final(WxpayOrderState(state))
    }
}

/// The paid state of an order's kind.
pub fn paid_state(platform: i32, trade_type: i32) -> i32 {
    match (platform, trade_type) {
        (ALI, _) => ali::SUCCESS,
        (_, 2) => wx::SCAN_PAID,
        _ => wx::MICRO_PAID,
    }
}

/// Initial state and pending transition of a new micro_pay order.
pub fn micro_pay_start(platform: i32, sc: Scenario, now: u64) -> (i32, String, Option<Pending>) {
    let paying = if platform == ALI { ali::WAIT } else { wx::USER_PAYING };
    let pend = |delay: u64, to_state: i32, pays: bool, desc: &str| {
        Some(Pending { at_ms: now + delay, to_state, pays, desc: desc.to_owned() })
    };
    let paid = paid_state(platform, 1);
    let failed = |wx_state: i32| if platform == ALI { ali::CLOSED } else { wx_state };
    match sc {
        Scenario::PayNow | Scenario::Rejected => (paying, "USERPAYING".into(), pend(0, paid, true, "支付成功")),
        Scenario::PayAfter(d) => (paying, "需要用户输入支付密码".into(), pend(d, paid, true, "支付成功")),
        Scenario::CancelAfter(d) => {
            (paying, "需要用户输入支付密码".into(), pend(d, failed(wx::STOPPED), false, "用户取消支付"))
        }
        Scenario::ErrorAfter(d) => (
            paying,
            "需要用户输入支付密码".into(),
            pend(d, failed(wx::PAY_ERROR), false, "支付失败，余额不足 (insufficient balance)"),
        ),
        Scenario::Never => (paying, "需要用户输入支付密码".into(), None),
    }
}

/// Applies due transitions of one order. Returns true if it changed.
pub fn advance_order(o: &mut Order, now: u64) -> bool {
    let mut changed = false;
    if let Some(p) = o.pending.clone()
        && now >= p.at_ms
    {
        o.pending = None;
        o.state = p.to_state;
        o.state_desc = p.desc;
        o.update_ms = p.at_ms;
        if p.pays {
            mark_paid(o, p.at_ms);
        }
        changed = true;
    }
    let awaiting = (o.pay_platform == ALI && o.state == ali::WAIT) || (o.pay_platform != ALI && o.state == wx::NOT_PAY);
    if o.trade_type == 2
        && awaiting
        && let Some(te) = o.time_expire
        && now / 1000 >= te.max(0) as u64
    {
        o.state = if o.pay_platform == ALI { ali::CLOSED } else { wx::CLOSED };
        o.state_desc = "订单已过期 (order expired)".into();
        o.update_ms = (te.max(0) as u64) * 1000;
        changed = true;
    }
    changed
}

/// Takes the money: the one place charge_count grows.
pub fn mark_paid(o: &mut Order, at_ms: u64) {
    o.charge_count += 1;
    o.time_end = Some((at_ms / 1000) as i64);
    o.transaction_id = Some(format!("42000{}", random_digits(23)));
    o.state_desc = "支付成功".into();
}

/// Applies due transitions of one refund and their effect on the order.
fn advance_refund(store: &mut Store, out_refund_no: &str, now: u64) -> bool {
    let Some(r) = store.refunds.get_mut(out_refund_no) else { return false };
    if r.state != refund_state::PROCESSING || now < r.done_at_ms {
        return false;
    }
    r.update_ms = r.done_at_ms;
    if r.will_fail {
        r.state = refund_state::FAIL;
    } else {
        r.state = refund_state::SUCCESS;
        r.success_time = Some((r.done_at_ms / 1000) as i64);
    }
    let trade_no = r.out_trade_no.clone();
    settle_order_after_refunds(store, &trade_no);
    true
}

/// Order state implied by its refunds: WeChat 4 while any refund is live; Alipay 5 once
/// successful refunds cover the total; otherwise back to the paid state.
pub fn settle_order_after_refunds(store: &mut Store, out_trade_no: &str) {
    let (live, succeeded) = refund_sums(store, out_trade_no);
    let Some(o) = store.orders.get_mut(out_trade_no) else { return };
    if !o.is_paid() {
        return;
    }
    let paid = paid_state(o.pay_platform, o.trade_type);
    let new_state = if o.pay_platform == ALI {
        if succeeded >= o.total_fee { ali::CLOSED } else { paid }
    } else if live > 0 {
        wx::REFUND
    } else {
        paid
    };
    if new_state != o.state {
        o.state = new_state;
        o.state_desc = if new_state == paid { "支付成功".into() } else { "已转入退款 (refunded)".into() };
    }
}

/// (Σ refund_fee of refunds not failed, Σ refund_fee of successful refunds).
pub fn refund_sums(store: &Store, out_trade_no: &str) -> (i64, i64) {
    let rs = store.refunds_of(out_trade_no);
    let live = rs.iter().filter(|r| r.state != refund_state::FAIL).map(|r| r.refund_fee).sum();
    let ok = rs.iter().filter(|r| r.state == refund_state::SUCCESS).map(|r| r.refund_fee).sum();
    (live, ok)
}

/// Advances one order and its refunds. Returns true if anything changed.
pub fn advance_trade(store: &mut Store, out_trade_no: &str, now: u64) -> bool {
    let mut changed = store.orders.get_mut(out_trade_no).is_some_and(|o| advance_order(o, now));
    let nos: Vec<String> = store.refunds_of(out_trade_no).iter().map(|r| r.out_refund_no.clone()).collect();
    for no in nos {
        changed |= advance_refund(store, &no, now);
    }
    changed
}

/// Advances everything (listings and statistics).
pub fn advance_all(store: &mut Store, now: u64) -> bool {
    let nos: Vec<String> = store.orders.keys().cloned().collect();
    let mut changed = false;
    for no in nos {
        changed |= advance_trade(store, &no, now);
    }
    changed
}

fn str_at<'a>(v: &'a Value, path: &[&str]) -> Option<&'a str> {
    path.iter().try_fold(v, |v, k| v.get(k))?.as_str()
}

/// The order as the protocol's OrderContent (with `refunded_fee` when asked, for listings).
pub fn order_content(o: &Order, refunded_fee: Option<i64>) -> OrderContent {
    let paid = o.time_end.is_some();
    let final_ = is_final(o.pay_platform, o.state);
    let pc = &o.pay_content;
    let mut oc = OrderContent {
        out_trade_no: o.out_trade_no.clone(),
        transaction_id: o.transaction_id.clone(),
        trade_type: Some(TradeType(o.trade_type)),
        author_code: o.author_code.clone(),
        code_url: o.code_url.clone(),
        time_expire: o.time_expire,
        time_end: o.time_end,
        nonce_str: Some(o.nonce_str.clone()),
        create_time: Some((o.create_ms / 1000) as i64),
        last_update_time: Some((o.update_ms / 1000) as i64),
        is_transforming: Some(!final_),
        total_fee: Some(o.total_fee),
        fee_type: Some("CNY".into()),
        cash_fee: paid.then_some(o.total_fee),
        cash_fee_type: paid.then(|| "CNY".into()),
        settlement_total_fee: paid.then_some(o.total_fee),
        refunded_fee,
        body: str_at(pc, &["body"]).map(str::to_owned),
        detail: str_at(pc, &["detail"]).map(str::to_owned),
        remark: str_at(pc, &["remark"]).map(str::to_owned),
        ..Default::default()
    };
    oc.extra.insert("source_type".into(), 0.into());
    if o.pay_platform == ALI {
        let mut extra = Map::new();
        extra.insert("trade_state_desc".into(), o.state_desc.clone().into());
        oc.alipay_order_content_ext = Some(AlipayOrderContentExt {
            current_trade_state: AlipayOrderState(o.state),
            fund_bill_list: paid.then(|| {
                vec![AlipayFundBill {
                    fund_channel: Some("ALIPAYACCOUNT".into()),
                    amount: Some(o.total_fee),
                    real_amount: None,
                }]
            }),
            buyer_logon_id: paid.then(|| "san***@sandbox.test".into()),
            extra,
        });
    } else {
        oc.wxpay_order_content_ext = Some(WxpayOrderContentExt {
            current_trade_state: WxpayOrderState(o.state),
            attach: str_at(pc, &["wxpay_pay_content_ext", "attach"]).map(str::to_owned),
            goods_tag: str_at(pc, &["wxpay_pay_content_ext", "goods_tag"]).map(str::to_owned),
            product_id: str_at(pc, &["wxpay_pay_content_ext", "product_id"]).map(str::to_owned),
            bank_type: paid.then(|| "CFT".into()),
            coupon_fee: paid.then_some(0),
            trade_state_desc: Some(o.state_desc.clone()),
            ..Default::default()
        });
    }
    oc
}

/// The refund as the protocol's RefundOrderContent.
pub fn refund_content(r: &Refund, platform: i32, trade_type: i32) -> RefundOrderContent {
    let mut rc = RefundOrderContent {
        out_refund_no: r.out_refund_no.clone(),
        refund_id: Some(r.refund_id.clone()),
        out_trade_no: r.out_trade_no.clone(),
        trade_type: Some(TradeType(trade_type)),
        nonce_str: Some(r.nonce_str.clone()),
        create_time: Some((r.create_ms / 1000) as i64),
        last_update_time: Some((r.update_ms / 1000) as i64),
        is_transforming: Some(r.state == refund_state::PROCESSING),
        total_fee: Some(r.total_fee),
        refund_fee: Some(r.refund_fee),
        refund_fee_type: Some("CNY".into()),
        refund_reason: r.refund_reason.clone(),
        refund_success_time: Some(r.success_time.unwrap_or(0)),
        ..Default::default()
    };
    if platform == ALI {
        rc.alipay_refund_order_content_ext = Some(AlipayRefundOrderContentExt {
            refund_status: AlipayRefundState(r.state),
            fund_change: Some(if r.state == refund_state::SUCCESS { "Y" } else { "N" }.into()),
            ..Default::default()
        });
    } else {
        rc.wxpay_refund_order_content_ext = Some(WxpayRefundOrderContentExt {
            state: WxpayRefundState(r.state),
            cash_refund_fee: Some(r.refund_fee),
            refund_channel: Some("ORIGINAL".into()),
            refund_recv_account: Some("支付用户零钱".into()),
            ..Default::default()
        });
    }
    rc
}

/// The PayMchKey echoed in replies, enriched with the platform merchant numbers.
pub fn pay_mch_key(m: &MerchantConfig, o: &Order) -> PayMchKey {
    let wx = o.pay_platform != ALI;
    PayMchKey {
        pay_platform: Some(PayPlatform(o.pay_platform)),
        sub_pay_platform: Some(SubPayPlatform(if wx { 100 } else { 200 })),
        out_mch_id: o.out_mch_id.clone(),
        out_sub_mch_id: o.out_sub_mch_id.clone(),
        out_shop_id: Some(o.out_shop_id.clone()),
        mch_id: Some(if wx { m.wx_mch_id.clone() } else { m.ali_mch_id.clone() }).filter(|s| !s.is_empty()),
        sub_mch_id: Some(if wx { m.wx_sub_mch_id.clone() } else { m.ali_sub_mch_id.clone() }).filter(|s| !s.is_empty()),
        wxpay_pay_mch_key_ext: (wx && o.time_end.is_some())
            .then(|| WxpayPayMchKeyExt { open_id: Some("oSANDBOXpayer0000000000000001".into()), ..Default::default() }),
        ..Default::default()
    }
}

/// Truth snapshot of an order for tests and the control API.
pub fn order_truth(store: &Store, o: &Order) -> Value {
    let (live, ok) = refund_sums(store, &o.out_trade_no);
    json!({
        "out_trade_no": o.out_trade_no,
        "out_sub_mch_id": o.out_sub_mch_id,
        "out_shop_id": o.out_shop_id,
        "pay_platform": o.pay_platform,
        "trade_type": o.trade_type,
        "state": o.state,
        "state_desc": o.state_desc,
        "is_final": is_final(o.pay_platform, o.state),
        "total_fee": o.total_fee,
        "refunded_fee": live,
        "refund_succeeded_fee": ok,
        "charge_count": o.charge_count,
        "paid": o.is_paid(),
        "reversed_after_payment": o.reversed_after_payment,
        "customer_cancelled": o.customer_cancelled,
        "transaction_id": o.transaction_id,
        "time_end": o.time_end,
        "code_url": o.code_url,
        "create_time": o.create_ms / 1000,
        "pending": o.pending,
        "order_client": o.order_client,
        // Which sale created the order (tests tell sales of one number apart by their body).
        "body": o.pay_content.get("body"),
    })
}

/// Truth snapshot of a refund.
pub fn refund_truth(r: &Refund) -> Value {
    let mut v = wire::to_value(&json!({
        "out_refund_no": r.out_refund_no,
        "out_trade_no": r.out_trade_no,
        "refund_fee": r.refund_fee,
        "total_fee": r.total_fee,
        "state": r.state,
        "is_final": r.state != refund_state::PROCESSING,
        "refund_id": r.refund_id,
        "refund_reason": r.refund_reason,
        "create_time": r.create_ms / 1000,
        "success_time": r.success_time,
    }));
    wire::strip_nulls(&mut v);
    v
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scenario_digits_and_platform_inference() {
        assert_eq!(scenario("134567890123456789"), Scenario::PayNow, "no 9 marker");
        assert_eq!(scenario("139100300000000000"), Scenario::PayAfter(300));
        assert_eq!(scenario("139202000000000000"), Scenario::CancelAfter(2000));
        assert_eq!(scenario("289300500000000000"), Scenario::ErrorAfter(500));
        assert_eq!(scenario("139400000000000000"), Scenario::Never);
        assert_eq!(scenario("139500000000000000"), Scenario::Rejected);
        assert_eq!(scenario("139700000000000000"), Scenario::PayNow);
        let m = crate::config::SandboxConfig::demo().merchants[0].clone();
        assert_eq!(platform_of_code(&m, "134567890123456789"), Some(WX));
        assert_eq!(platform_of_code(&m, "2812345678901234"), Some(ALI));
        assert_eq!(platform_of_code(&m, "281234567890123456789012"), Some(ALI));
        assert_eq!(platform_of_code(&m, "1345678901234567"), None, "WeChat codes are 18 digits");
        assert_eq!(platform_of_code(&m, "994567890123456789"), None);
        assert_eq!(platform_of_code(&m, "28123456789012345678901234"), None, "too long");
    }
}
