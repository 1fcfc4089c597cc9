//! refund and query_refund_order.

use cloud_pay_protocol::types::*;
use cloud_pay_protocol::wire;
use serde_json::{Map, Value};

use crate::endpoint::{Ctx, Outcome, Res, check_number, required, typed};
use crate::scenario::{self, refund_state};
use crate::state::Refund;
use crate::util::random_digits;

/// Marker in refund_reason that makes a refund end in failure.
pub const FAIL_MARKER: &str = "sandbox:fail";

fn refund_reply(ctx: &mut Ctx, out_refund_no: &str) -> Outcome {
    let trade_no = ctx.store.refunds[out_refund_no].out_trade_no.clone();
    ctx.dirty |= scenario::advance_trade(ctx.store, &trade_no, ctx.now);
    let o = &ctx.store.orders[&trade_no];
    let r = &ctx.store.refunds[out_refund_no];
    Outcome::ok(RefundResult {
        nonce_str: None,
        pay_mch_key: Some(scenario::pay_mch_key(ctx.m, o)),
        refund_order_content: Some(wire::to_value(&scenario::refund_content(r, o.pay_platform, o.trade_type))),
    })
}

/// `refund`: starts processing; success (or failure) after the configured delay.
pub fn refund(ctx: &mut Ctx, req: &Map<String, Value>) -> Res {
    let r: RefundRequest = typed(req)?;
    let rc = &r.refund_content;
    required(&rc.out_trade_no, "out_trade_no")?;
    check_number(ctx.m, &rc.out_refund_no, "out_refund_no")?;
    if rc.total_fee <= 0 || rc.refund_fee <= 0 {
        return Err(Outcome::bad("参数refund_fee/total_fee错误 (amounts must be > 0 fen)"));
    }
    if rc.refund_fee_type != "CNY" {
        return Err(Outcome::bad("参数refund_fee_type错误 (refund_fee_type must be CNY)"));
    }
    if !req.get("order_client").is_some_and(Value::is_object) {
        return Err(Outcome::bad("参数order_client缺失 (order_client missing)"));
    }
    let fp = req.get("refund_content").cloned().unwrap_or(Value::Null);
    if let Some(existing) = ctx.store.refunds.get(&rc.out_refund_no) {
        if existing.fingerprint != fp || existing.out_sub_mch_id != ctx.m.out_sub_mch_id {
            return Err(Outcome::fail(
                102,
                1,
                "退款单号重复 (out_refund_no already used with different content; use a new number)",
            ));
        }
        return Ok(refund_reply(ctx, &rc.out_refund_no));
    }
    let mine = ctx.store.orders.get(&rc.out_trade_no).is_some_and(|o| o.out_sub_mch_id == ctx.m.out_sub_mch_id);
    if !mine {
        return Err(Outcome::biz(400, "订单不存在 (order does not exist)"));
    }
    ctx.dirty |= scenario::advance_trade(ctx.store, &rc.out_trade_no, ctx.now);
    let o = &ctx.store.orders[&rc.out_trade_no];
    if !o.is_paid() {
        return Err(Outcome::biz(1, "订单未支付，不能退款 (order is not paid)"));
    }
    if rc.total_fee != o.total_fee {
        return Err(Outcome::biz(1, "total_fee与原订单金额不符 (total_fee does not match the order)"));
    }
    let (live, _) = scenario::refund_sums(ctx.store, &rc.out_trade_no);
    if live + rc.refund_fee > o.total_fee {
        return Err(Outcome::biz(
            1,
            format!(
                "退款金额超过可退金额 (refunds would total {} fen, order is {} fen)",
                live + rc.refund_fee,
                o.total_fee
            ),
        ));
    }
    let refund = Refund {
        out_refund_no: rc.out_refund_no.clone(),
        out_trade_no: rc.out_trade_no.clone(),
        out_sub_mch_id: ctx.m.out_sub_mch_id.clone(),
        fingerprint: fp,
        order_client: req.get("order_client").cloned().unwrap_or(Value::Null),
        nonce_str: r.nonce_str.clone(),
        refund_fee: rc.refund_fee,
        total_fee: rc.total_fee,
        refund_reason: rc.refund_reason.clone(),
        refund_id: format!("50000{}", random_digits(23)),
        state: refund_state::PROCESSING,
        done_at_ms: ctx.now + ctx.refund_delay_ms,
        will_fail: rc.refund_reason.as_deref().is_some_and(|s| s.contains(FAIL_MARKER)),
        create_ms: ctx.now,
        update_ms: ctx.now,
        success_time: None,
    };
    ctx.store.refunds.insert(refund.out_refund_no.clone(), refund);
    scenario::settle_order_after_refunds(ctx.store, &rc.out_trade_no);
    ctx.dirty = true;
    Ok(refund_reply(ctx, &rc.out_refund_no))
}

/// `query_refund_order`: one refund, or all of the order's refunds when out_refund_no is omitted.
pub fn query_refund_order(ctx: &mut Ctx, req: &Map<String, Value>) -> Res {
    let r: QueryRefundOrderRequest = typed(req)?;
    required(&r.out_trade_no, "out_trade_no")?;
    let mine = ctx.store.orders.get(&r.out_trade_no).is_some_and(|o| o.out_sub_mch_id == ctx.m.out_sub_mch_id);
    if !mine {
        return Err(Outcome::biz(400, "订单不存在 (order does not exist)"));
    }
    ctx.dirty |= scenario::advance_trade(ctx.store, &r.out_trade_no, ctx.now);
    let o = &ctx.store.orders[&r.out_trade_no];
    let want = r.out_refund_no.as_deref().filter(|s| !s.is_empty());
    let refunds: Vec<&Refund> = ctx
        .store
        .refunds_of(&r.out_trade_no)
        .into_iter()
        .filter(|x| want.is_none_or(|w| w == x.out_refund_no))
        .collect();
    if refunds.is_empty() {
        return Err(Outcome::biz(426, "退款单不存在 (refund order does not exist)"));
    }
    let clients: Vec<Value> = refunds
        .iter()
        .map(|x| wire::to_value(&wire::from_value::<OrderClient>(x.order_client.clone()).unwrap_or_default()))
        .collect();
    Ok(Outcome::ok(QueryRefundOrderResult {
        nonce_str: None,
        pay_mch_key: Some(scenario::pay_mch_key(ctx.m, o)),
        refund_order_content: refunds
            .iter()
            .map(|x| scenario::refund_content(x, o.pay_platform, o.trade_type))
            .collect(),
        order_client: Some(Value::Array(clients)),
    }))
}
