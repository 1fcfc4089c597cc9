//! micro_pay, scan_code_pay, query_order, reverse, close_order, and the customer's side of a QR payment.

use cloud_pay_protocol::types::*;
use cloud_pay_protocol::wire;
use serde_json::{Map, Value, json};

use crate::endpoint::{Ctx, Outcome, Res, check_number, required, typed};
use crate::scenario::{self, ALI, Scenario, WX, ali, wx};
use crate::state::{Order, Store};
use crate::util::random_alnum;

/// What the customer does with a scan_code_pay QR code.
#[derive(serde::Serialize, serde::Deserialize, Debug, Clone, Copy, PartialEq, Eq)]
pub enum ScanAction {
    /// Scans and pays.
    Pay,
    /// Scans and gives up (the order keeps waiting until closed or expired).
    Cancel,
}

fn common_pay_checks(ctx: &Ctx, r: &PayRequest, req: &Map<String, Value>) -> Result<(), Outcome> {
    let k = &r.pay_mch_key;
    required(&k.out_mch_id, "out_mch_id")?;
    let shop = k.out_shop_id.as_deref().unwrap_or("");
    required(shop, "out_shop_id")?;
    if ctx.store.shop(&ctx.m.out_sub_mch_id, shop).is_none() {
        return Err(Outcome::bad("参数out_shop_id错误 (unknown out_shop_id for this sub-merchant)"));
    }
    let pc = &r.pay_content;
    check_number(ctx.m, &pc.out_trade_no, "out_trade_no")?;
    if pc.total_fee <= 0 {
        return Err(Outcome::bad("参数total_fee错误 (total_fee must be > 0 fen)"));
    }
    if pc.fee_type != "CNY" {
        return Err(Outcome::bad("参数fee_type错误 (fee_type must be CNY)"));
    }
    required(&pc.body, "body")?;
    if !req.get("order_client").is_some_and(Value::is_object) {
        return Err(Outcome::bad("参数order_client缺失 (order_client missing)"));
    }
    Ok(())
}

fn new_order(ctx: &Ctx, r: &PayRequest, req: &Map<String, Value>, platform: i32, trade_type: i32, fp: Value) -> Order {
    Order {
        out_trade_no: r.pay_content.out_trade_no.clone(),
        out_mch_id: ctx.m.out_mch_id.clone(),
        out_sub_mch_id: ctx.m.out_sub_mch_id.clone(),
        out_shop_id: r.pay_mch_key.out_shop_id.clone().unwrap_or_default(),
        pay_platform: platform,
        trade_type,
        fingerprint: fp,
        pay_content: req.get("pay_content").cloned().unwrap_or(Value::Null),
        order_client: req.get("order_client").cloned().unwrap_or(Value::Null),
        nonce_str: r.nonce_str.clone(),
        total_fee: r.pay_content.total_fee,
        author_code: None,
        code_url: None,
        time_expire: None,
        state: 1,
        state_desc: String::new(),
        pending: None,
        create_ms: ctx.now,
        update_ms: ctx.now,
        time_end: None,
        transaction_id: None,
        charge_count: 0,
        reversed_after_payment: false,
        customer_cancelled: false,
    }
}

fn fingerprint(req: &Map<String, Value>, platform: i32, trade_type: i32) -> Value {
    json!({"trade_type": trade_type, "pay_platform": platform, "pay_content": req.get("pay_content")})
}

/// `micro_pay`: the customer's code decides what happens (see `scenario::scenario`).
pub fn micro_pay(ctx: &mut Ctx, req: &Map<String, Value>) -> Res {
    let r: PayRequest = typed(req)?;
    common_pay_checks(ctx, &r, req)?;
    let code = r.pay_content.author_code.clone().unwrap_or_default();
    required(&code, "author_code")?;
    let Some(platform) = scenario::platform_of_code(ctx.m, &code) else {
        return Err(Outcome::biz(
            1,
            "付款码无效 (unrecognised payment code: WeChat codes are 18 digits starting 10-15, Alipay codes 16-24 digits starting 25-30)",
        ));
    };
    if let Some(given) = r.pay_mch_key.pay_platform
        && given.0 != platform
    {
        return Err(Outcome::biz(1, "付款码与支付平台不符 (payment code does not belong to pay_platform)"));
    }
    let fp = fingerprint(req, platform, 1);
    if let Some(o) = ctx.store.orders.get(&r.pay_content.out_trade_no) {
        if o.fingerprint != fp || o.out_sub_mch_id != ctx.m.out_sub_mch_id {
            return Err(Outcome::biz(
                407,
                "订单号重复，且订单内容不一致 (re-entry: out_trade_no already used with different content; do not reverse)",
            ));
        }
        return Ok(existing_micro_pay(ctx, &r.pay_content.out_trade_no));
    }
    let sc = scenario::scenario(&code);
    if sc == Scenario::Rejected {
        return Err(Outcome::biz(1, "付款码已过期，请刷新后重新支付 (payment code expired)"));
    }
    let mut o = new_order(ctx, &r, req, platform, 1, fp);
    o.author_code = Some(code);
    let (state, desc, pending) = scenario::micro_pay_start(platform, sc, ctx.now);
    o.state = state;
    o.state_desc = desc;
    o.pending = pending;
    scenario::advance_order(&mut o, ctx.now);
    let no = o.out_trade_no.clone();
    ctx.store.orders.insert(no.clone(), o);
    ctx.dirty = true;
    Ok(existing_micro_pay(ctx, &no))
}

fn existing_micro_pay(ctx: &mut Ctx, no: &str) -> Outcome {
    ctx.dirty |= scenario::advance_trade(ctx.store, no, ctx.now);
    let o = &ctx.store.orders[no];
    Outcome::ok(MicroPayResult {
        nonce_str: None,
        pay_mch_key: Some(scenario::pay_mch_key(ctx.m, o)),
        order_content: Some(scenario::order_content(o, None)),
    })
}

/// `scan_code_pay`: an order waiting for the customer (see `customer_scan`).
pub fn scan_code_pay(ctx: &mut Ctx, req: &Map<String, Value>) -> Res {
    let r: PayRequest = typed(req)?;
    common_pay_checks(ctx, &r, req)?;
    let platform = match r.pay_mch_key.pay_platform.map(|p| p.0) {
        Some(p @ (WX | ALI)) => p,
        _ => return Err(Outcome::bad("参数pay_platform错误 (scan_code_pay needs pay_platform 1 or 2)")),
    };
    if let Some(te) = r.pay_content.time_expire
        && te <= (ctx.now / 1000) as i64
    {
        return Err(Outcome::bad("参数time_expire错误 (time_expire is in the past)"));
    }
    let fp = fingerprint(req, platform, 2);
    let no = r.pay_content.out_trade_no.clone();
    if let Some(o) = ctx.store.orders.get(&no) {
        if o.fingerprint != fp || o.out_sub_mch_id != ctx.m.out_sub_mch_id {
            return Err(Outcome::fail(102, 1, "订单号重复 (out_trade_no already used; retry with a new number)"));
        }
        return Ok(Outcome::ok(ScanCodePayResult { nonce_str: None, code_url: o.code_url.clone() }));
    }
    let mut o = new_order(ctx, &r, req, platform, 2, fp);
    o.time_expire = r.pay_content.time_expire;
    o.code_url = Some(if platform == WX {
        format!("weixin://wxpay/bizpayurl?pr={}", random_alnum(7))
    } else {
        format!("https://qr.alipay.com/bax0{}", random_alnum(20).to_lowercase())
    });
    o.state = if platform == WX { wx::NOT_PAY } else { ali::WAIT };
    o.state_desc = "等待用户扫码支付 (waiting for the customer)".into();
    let code_url = o.code_url.clone();
    ctx.store.orders.insert(no, o);
    ctx.dirty = true;
    Ok(Outcome::ok(ScanCodePayResult { nonce_str: None, code_url }))
}

/// Finds an order of this merchant, advanced to now.
fn load<'a>(ctx: &'a mut Ctx, no: &str) -> Result<&'a mut Order, Outcome> {
    required(no, "out_trade_no")?;
    let mine = ctx.store.orders.get(no).is_some_and(|o| o.out_sub_mch_id == ctx.m.out_sub_mch_id);
    if !mine {
        return Err(Outcome::biz(400, "订单不存在 (order does not exist)"));
    }
    ctx.dirty |= scenario::advance_trade(ctx.store, no, ctx.now);
    Ok(ctx.store.orders.get_mut(no).expect("checked above"))
}

/// The stored terminal with the shop's merchant-side id added.
pub fn recorded_client(store: &Store, o: &Order) -> OrderClient {
    let mut c: OrderClient = wire::from_value(o.order_client.clone()).unwrap_or_default();
    c.shop_id = store.shop(&o.out_sub_mch_id, &o.out_shop_id).map(|s| s.shop_id.clone()).filter(|s| !s.is_empty());
    c
}

/// `query_order`.
pub fn query_order(ctx: &mut Ctx, req: &Map<String, Value>) -> Res {
    let r: QueryOrderRequest = typed(req)?;
    let o = load(ctx, &r.out_trade_no)?.clone();
    Ok(Outcome::ok(QueryOrderResult {
        nonce_str: None,
        pay_mch_key: Some(scenario::pay_mch_key(ctx.m, &o)),
        order_content: Some(scenario::order_content(&o, None)),
        order_client: Some(recorded_client(ctx.store, &o)),
    }))
}

/// `reverse`: WeChat micro_pay → 8 (money back if it was paid); Alipay only while unpaid → 5.
pub fn reverse(ctx: &mut Ctx, req: &Map<String, Value>) -> Res {
    let r: ReverseRequest = typed(req)?;
    let (live_refunds, _) = scenario::refund_sums(ctx.store, &r.out_trade_no);
    let now = ctx.now;
    let o = load(ctx, &r.out_trade_no)?;
    if o.trade_type != 1 {
        return Err(Outcome::biz(1, "只能撤销付款码支付订单 (only micro_pay orders can be reversed; use close_order)"));
    }
    let done =
        if o.pay_platform == ALI { o.state == ali::CLOSED && o.charge_count == 0 } else { o.state == wx::REVOKED };
    if !done {
        if o.pay_platform == ALI && o.is_paid() {
            return Err(Outcome::biz(
                1,
                "支付宝订单已支付，不能撤销 (paid Alipay orders cannot be reversed; refund instead)",
            ));
        }
        if live_refunds > 0 {
            return Err(Outcome::biz(1, "订单已有退款，不能撤销 (order has refunds)"));
        }
        o.reversed_after_payment = o.charge_count > 0;
        o.pending = None;
        o.state = if o.pay_platform == ALI { ali::CLOSED } else { wx::REVOKED };
        o.state_desc = "订单已撤销 (reversed)".into();
        o.update_ms = now;
        ctx.dirty = true;
    }
    Ok(Outcome::ok(NonceResult::default()))
}

/// `close_order`: unpaid scan-code orders only.
pub fn close_order(ctx: &mut Ctx, req: &Map<String, Value>) -> Res {
    let r: CloseOrderRequest = typed(req)?;
    let now = ctx.now;
    let o = load(ctx, &r.out_trade_no)?;
    if o.trade_type == 1 {
        return Err(Outcome::biz(1, "付款码订单不能关闭 (micro_pay orders are reversed, not closed)"));
    }
    if o.charge_count > 0 {
        return Err(Outcome::biz(1, "订单已支付，不能关闭 (order is paid; refund instead)"));
    }
    let closed = if o.pay_platform == ALI { ali::CLOSED } else { wx::CLOSED };
    if o.state != closed {
        o.state = closed;
        o.state_desc = "订单已关闭 (closed)".into();
        o.update_ms = now;
        ctx.dirty = true;
    }
    Ok(Outcome::ok(NonceResult::default()))
}

/// The customer scans a scan_code_pay QR code and pays or gives up.
pub fn customer_scan(store: &mut Store, no: &str, action: ScanAction, now: u64) -> Result<(), String> {
    scenario::advance_trade(store, no, now);
    let o = store.orders.get_mut(no).ok_or_else(|| format!("no order {no}"))?;
    if o.trade_type != 2 {
        return Err(format!("order {no} is not a scan_code_pay order"));
    }
    let waiting = if o.pay_platform == ALI { o.state == ali::WAIT } else { o.state == wx::NOT_PAY };
    if !waiting {
        return Err(format!("order {no} is not waiting for payment (state {})", o.state));
    }
    match action {
        ScanAction::Pay => {
            o.state = scenario::paid_state(o.pay_platform, 2);
            o.update_ms = now;
            scenario::mark_paid(o, now);
        }
        ScanAction::Cancel => {
            o.customer_cancelled = true;
            o.state_desc = "用户已扫码但未支付 (customer scanned and gave up)".into();
            o.update_ms = now;
        }
    }
    Ok(())
}
