//! client_order_detail and client_sub_mch_sales_overview, computed from the sandbox's own orders.
//!
//! Rules: every order (any state) and every refund (any state) is a row; times filter on
//! creation time. Statistics: total = orders created; success = orders paid and not reversed;
//! refund = refunds not failed; net = success − refund.

use std::collections::BTreeMap;

use cloud_pay_protocol::types::*;
use serde_json::{Map, Value};

use crate::endpoint::{Ctx, Outcome, Res, typed};
use crate::pay::recorded_client;
use crate::scenario::{self, refund_state};
use crate::shops::{paged, shop_info, staff_info};
use crate::state::{Order, Refund, Store};
use crate::util::period_label;

fn client_str(v: &Value, k: &str) -> String {
    v.get(k).and_then(Value::as_str).unwrap_or_default().to_owned()
}

/// Statistics over a set of orders and refunds.
pub fn stats(orders: &[&Order], refunds: &[&Refund]) -> OrderStatClientInfo {
    let paid: Vec<&&Order> = orders.iter().filter(|o| o.is_paid()).collect();
    let live: Vec<&&Refund> = refunds.iter().filter(|r| r.state != refund_state::FAIL).collect();
    let success_count = paid.len() as i64;
    let success_amount: i64 = paid.iter().map(|o| o.total_fee).sum();
    let refund_count = live.len() as i64;
    let refund_amount: i64 = live.iter().map(|r| r.refund_fee).sum();
    let mut extra = Map::new();
    extra.insert("pay_settle_amount".into(), success_amount.into());
    extra.insert("refund_settle_amount".into(), refund_amount.into());
    OrderStatClientInfo {
        total_count: Some(orders.len() as i64),
        total_amount: Some(orders.iter().map(|o| o.total_fee).sum()),
        success_count: Some(success_count),
        success_amount: Some(success_amount),
        settle_amount: Some(success_amount),
        refund_count: Some(refund_count),
        refund_amount: Some(refund_amount),
        net_count: Some(success_count - refund_count),
        net_amount: Some(success_amount - refund_amount),
        distinct_payer_count: Some(success_count),
        extra,
        ..Default::default()
    }
}

enum Row<'a> {
    Order(&'a Order),
    Refund(&'a Refund, &'a Order),
}

/// `client_order_detail`: filtered, newest first, paged rows with shop/staff/receipt.
pub fn client_order_detail(ctx: &mut Ctx, req: &Map<String, Value>) -> Res {
    let r: OrderDetailRequest = typed(req)?;
    ctx.dirty |= scenario::advance_all(ctx.store, ctx.now);
    let qot = if r.query_order_type.0 == 0 { 3 } else { r.query_order_type.0 };
    if !(1..=3).contains(&qot) {
        return Err(Outcome::bad("参数query_order_type错误 (1 orders, 2 refunds, 3 both)"));
    }
    let start = r.start_time.unwrap_or(0);
    let end = if r.end_time == 0 { (ctx.now / 1000) as i64 } else { r.end_time };
    let store: &Store = ctx.store;
    let m = ctx.m;
    let order_ok = |o: &Order| {
        o.out_sub_mch_id == m.out_sub_mch_id
            && r.pay_platform.is_none_or(|p| p.0 == 0 || p.0 == o.pay_platform)
            && r.trade_type.is_none_or(|t| t.0 == 0 || t.0 == o.trade_type)
            && r.out_shop_id.as_deref().is_none_or(|s| s.is_empty() || s == o.out_shop_id)
    };
    let client_ok = |c: &Value| {
        r.staff_id.as_deref().is_none_or(|s| s.is_empty() || s == client_str(c, "staff_id"))
            && r.device_id.as_deref().is_none_or(|d| d.is_empty() || d == client_str(c, "device_id"))
    };
    let in_range = |ms: u64| (start..=end).contains(&((ms / 1000) as i64));
    let mut rows: Vec<(u64, String, Row)> = Vec::new();
    let mut stat_orders = Vec::new();
    let mut stat_refunds = Vec::new();
    for o in store.orders.values().filter(|o| order_ok(o) && client_ok(&o.order_client) && in_range(o.create_ms)) {
        stat_orders.push(o);
        if qot != 2 {
            rows.push((o.create_ms, o.out_trade_no.clone(), Row::Order(o)));
        }
    }
    for rf in store.refunds.values() {
        let Some(o) = store.orders.get(&rf.out_trade_no) else { continue };
        if order_ok(o) && client_ok(&rf.order_client) && in_range(rf.create_ms) {
            stat_refunds.push(rf);
            if qot != 1 {
                rows.push((rf.create_ms, rf.out_refund_no.clone(), Row::Refund(rf, o)));
            }
        }
    }
    rows.sort_by(|a, b| b.0.cmp(&a.0).then(b.1.cmp(&a.1)));
    let total = rows.len() as i64;
    let idx: Vec<usize> = (0..rows.len()).collect();
    let page = paged(&idx, r.page_num, r.page_size)?;
    let details: Vec<OrderDetail> = page.into_iter().map(|i| detail(store, m, &rows[i].2)).collect();
    let overview = r.enable_overview.unwrap_or(false).then(|| {
        let mut s = stats(&stat_orders, &stat_refunds);
        s.out_mch_id = Some(m.out_mch_id.clone());
        s.out_sub_mch_id = Some(m.out_sub_mch_id.clone());
        s
    });
    Ok(Outcome::ok(OrderDetailResult { total_count: total, order_details: details, overview, nonce_str: None }))
}

fn detail(store: &Store, m: &crate::config::MerchantConfig, row: &Row) -> OrderDetail {
    let (o, client) = match row {
        Row::Order(o) => (*o, &o.order_client),
        Row::Refund(r, o) => (*o, &r.order_client),
    };
    let shop = store.shop(&o.out_sub_mch_id, &o.out_shop_id);
    let staff_id = client_str(client, "staff_id");
    let staff = shop.and_then(|s| s.staff.iter().find(|x| x.staff_id == staff_id));
    let mch = OrderMch {
        pay_platform: Some(PayPlatform(o.pay_platform)),
        out_mch_id: Some(o.out_mch_id.clone()),
        out_sub_mch_id: Some(o.out_sub_mch_id.clone()),
        out_shop_id: Some(o.out_shop_id.clone()),
        mch_id: scenario::pay_mch_key(m, o).mch_id,
        sub_mch_id: scenario::pay_mch_key(m, o).sub_mch_id,
        ..Default::default()
    };
    let receipt = match row {
        Row::Order(o) => {
            let (live, _) = scenario::refund_sums(store, &o.out_trade_no);
            Receipt {
                order: Some(ReceiptOrder {
                    order_mch: mch,
                    order_content: scenario::order_content(o, Some(live)),
                    order_client: Some(recorded_client(store, o)),
                }),
                refund_order: None,
            }
        }
        Row::Refund(r, o) => Receipt {
            order: None,
            refund_order: Some(ReceiptRefundOrder {
                refund_order_mch: mch,
                refund_order_content: scenario::refund_content(r, o.pay_platform, o.trade_type),
                order_client: cloud_pay_protocol::wire::from_value(r.order_client.clone()).ok(),
            }),
        },
    };
    OrderDetail {
        shop_info: shop.map(|s| ShopInfo { device_infos: None, staff_infos: None, ..shop_info(s) }),
        shop_staff_info: staff.map(staff_info),
        receipt,
    }
}

/// `client_sub_mch_sales_overview`: one row per day/month/week/year (China time) plus totals.
pub fn sales_overview(ctx: &mut Ctx, req: &Map<String, Value>) -> Res {
    let r: SalesOverviewRequest = typed(req)?;
    ctx.dirty |= scenario::advance_all(ctx.store, ctx.now);
    let stat_type = r.stat_type.map(|s| s.0).filter(|s| *s != 0).unwrap_or(1);
    if !(1..=4).contains(&stat_type) {
        return Err(Outcome::bad("参数stat_type错误 (1 day, 2 month, 3 week, 4 year)"));
    }
    let start = r.start_time.unwrap_or(0);
    let end = r.end_time.filter(|e| *e != 0).unwrap_or((ctx.now / 1000) as i64);
    let shops = r.shops.clone().unwrap_or_default();
    let m = ctx.m;
    let store: &Store = ctx.store;
    let order_ok = |o: &Order, client: &Value| {
        o.out_sub_mch_id == m.out_sub_mch_id
            && r.pay_platform.is_none_or(|p| p.0 == 0 || p.0 == o.pay_platform)
            && r.trade_type.is_none_or(|t| t.0 == 0 || t.0 == o.trade_type)
            && (shops.is_empty()
                || shops.iter().any(|s| {
                    s.out_shop_id == o.out_shop_id
                        && s.staff_ids
                            .as_ref()
                            .is_none_or(|ids| ids.is_empty() || ids.contains(&client_str(client, "staff_id")))
                }))
    };
    let in_range = |ms: u64| (start..=end).contains(&((ms / 1000) as i64));
    let mut groups: BTreeMap<String, (Vec<&Order>, Vec<&Refund>)> = BTreeMap::new();
    let (mut all_o, mut all_r) = (Vec::new(), Vec::new());
    for o in store.orders.values().filter(|o| order_ok(o, &o.order_client) && in_range(o.create_ms)) {
        groups.entry(period_label((o.create_ms / 1000) as i64, stat_type)).or_default().0.push(o);
        all_o.push(o);
    }
    for rf in store.refunds.values() {
        let Some(o) = store.orders.get(&rf.out_trade_no) else { continue };
        if order_ok(o, &rf.order_client) && in_range(rf.create_ms) {
            groups.entry(period_label((rf.create_ms / 1000) as i64, stat_type)).or_default().1.push(rf);
            all_r.push(rf);
        }
    }
    let label = |mut s: OrderStatClientInfo, date: Option<String>| {
        // "2024-01-05" → 20240105, "2024-W01" → 202401 (the documented int).
        s.date = date.and_then(|d| d.chars().filter(char::is_ascii_digit).collect::<String>().parse().ok());
        s.out_mch_id = Some(m.out_mch_id.clone());
        s.out_sub_mch_id = Some(m.out_sub_mch_id.clone());
        s.pay_platform = r.pay_platform;
        s
    };
    let rows: Vec<OrderStatClientInfo> =
        groups.into_iter().map(|(date, (os, rs))| label(stats(&os, &rs), Some(date))).collect();
    let page = paged(&rows, r.page_num.unwrap_or(1), r.page_size.unwrap_or(100))?;
    Ok(Outcome::ok(SalesOverviewResult {
        total_count: rows.len() as i64,
        overview: Some(label(stats(&all_o, &all_r), None)),
        stat_infos: page,
        nonce_str: None,
        extra: Map::new(),
    }))
}
