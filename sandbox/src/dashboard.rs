//! What a QA tester does to a live order or refund from the dashboard (or a script, through the
//! control API): the customer pays, cancels or keeps "paying"; a refund succeeds, fails or
//! stays processing. Plus the live list the dashboard shows.

use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use crate::pay::ScanAction;
use crate::scenario::{self, ALI, ali, refund_state, wx};
use crate::state::Store;

/// The customer's move on an order waiting for them.
#[derive(Serialize, Deserialize, Debug, Clone, Copy, PartialEq, Eq)]
pub enum CustomerAction {
    /// Pays now (money taken once).
    Pay,
    /// Cancels: micro_pay → WeChat 5 / Alipay 5 (final); scan_code_pay → the customer gave up
    /// (the order keeps waiting until closed or expired, as with control `scan` `Cancel`).
    Cancel,
    /// Stays "paying": any scheduled outcome of the payment code is dropped, the order waits
    /// until another action (or reverse / close / expiry).
    KeepPaying,
}

/// How a processing refund ends.
#[derive(Serialize, Deserialize, Debug, Clone, Copy, PartialEq, Eq)]
pub enum RefundOutcome {
    /// Succeeds now.
    Success,
    /// Fails now (its amount is freed).
    Fail,
    /// Stays processing until another action.
    Processing,
}

/// Whether the order waits for the customer (an action can apply).
fn waiting(o: &crate::state::Order) -> bool {
    let unpaid = o.charge_count == 0;
    match (o.trade_type, o.pay_platform) {
        (2, ALI) => unpaid && o.state == ali::WAIT,
        (2, _) => unpaid && o.state == wx::NOT_PAY,
        (_, ALI) => unpaid && o.state == ali::WAIT,
        _ => unpaid && o.state == wx::USER_PAYING,
    }
}

/// Applies a customer action to an order waiting for the customer.
pub fn customer(store: &mut Store, no: &str, action: CustomerAction, now: u64) -> Result<(), String> {
    scenario::advance_trade(store, no, now);
    let o = store.orders.get_mut(no).ok_or_else(|| format!("no order {no}"))?;
    if !waiting(o) {
        return Err(format!("order {no} is not waiting for the customer (state {})", o.state));
    }
    if o.trade_type == 2 {
        return match action {
            CustomerAction::Pay => crate::pay::customer_scan(store, no, ScanAction::Pay, now),
            CustomerAction::Cancel => crate::pay::customer_scan(store, no, ScanAction::Cancel, now),
            CustomerAction::KeepPaying => {
                o.customer_cancelled = false;
                o.state_desc = "等待用户扫码支付 (waiting for the customer)".into();
                o.update_ms = now;
                Ok(())
            }
        };
    }
    o.pending = None;
    o.update_ms = now;
    match action {
        CustomerAction::Pay => {
            o.state = scenario::paid_state(o.pay_platform, 1);
            scenario::mark_paid(o, now);
        }
        CustomerAction::Cancel => {
            o.state = if o.pay_platform == ALI { ali::CLOSED } else { wx::STOPPED };
            o.state_desc = "用户取消支付".into();
        }
        CustomerAction::KeepPaying => o.state_desc = "需要用户输入支付密码".into(),
    }
    Ok(())
}

/// Decides how a processing refund ends.
pub fn refund_outcome(store: &mut Store, out_refund_no: &str, outcome: RefundOutcome, now: u64) -> Result<(), String> {
    let trade_no =
        store.refunds.get(out_refund_no).ok_or_else(|| format!("no refund {out_refund_no}"))?.out_trade_no.clone();
    scenario::advance_trade(store, &trade_no, now);
    let r = store.refunds.get_mut(out_refund_no).expect("checked above");
    if r.state != refund_state::PROCESSING {
        return Err(format!("refund {out_refund_no} is not processing (state {})", r.state));
    }
    match outcome {
        RefundOutcome::Success | RefundOutcome::Fail => {
            r.will_fail = outcome == RefundOutcome::Fail;
            r.done_at_ms = now;
        }
        RefundOutcome::Processing => r.done_at_ms = u64::MAX,
    }
    scenario::advance_trade(store, &trade_no, now);
    Ok(())
}

/// Newest orders first (at most `limit`), each advanced to now, with its refunds and whether
/// it waits for the customer: `{"orders":[{…order truth…, "waiting": bool, "refunds":[…]}], "total": n}`.
pub fn overview(store: &mut Store, now: u64, limit: usize) -> (Value, bool) {
    let changed = scenario::advance_all(store, now);
    let mut orders: Vec<&crate::state::Order> = store.orders.values().collect();
    orders.sort_by(|a, b| b.create_ms.cmp(&a.create_ms).then_with(|| b.out_trade_no.cmp(&a.out_trade_no)));
    let total = orders.len();
    let rows: Vec<Value> = orders
        .into_iter()
        .take(limit)
        .map(|o| {
            let mut v = scenario::order_truth(store, o);
            v["waiting"] = waiting(o).into();
            v["refunds"] =
                Value::Array(store.refunds_of(&o.out_trade_no).into_iter().map(scenario::refund_truth).collect());
            v
        })
        .collect();
    (json!({"orders": rows, "total": total}), changed)
}
