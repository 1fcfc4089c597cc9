//! Output JSON of query_order (`OrderSdk`) and query_refund (`RefundOrderSdk`)
//! (docs/c-api.md, "Query outputs"), and the messages that go with a cached order state.

use std::borrow::Cow;
use std::io::Write;
use std::sync::Arc;

use cloud_pay_protocol::types::{self as t, TradeType};
use cloud_pay_protocol::wire;
use serde_json::value::RawValue;
use serde_json::{Map, Value, json};

use super::QueryOutcome;
use super::state::{self, LocalState, OrderCode, OrderRecord};

pub(super) fn cached_outcome(rec: &OrderRecord) -> QueryOutcome {
    let state = rec.platform_state.map(|s| format!(" (current_trade_state {s})")).unwrap_or_default();
    let no = &rec.out_trade_no;
    let message = match rec.code {
        OrderCode::Paid => None,
        OrderCode::ReEntry => Some(format!(
            "order {no} hit re-entry (status 104, internal_status 407): never cancel it; {}",
            rec.last_detail
        )),
        OrderCode::Failed => Some(failed_message(no, rec.output.as_deref(), rec.platform_state, rec.pay_platform)),
        OrderCode::Closed => Some(
            rec.output
                .as_deref()
                .and_then(|o| refunded_message(no, o))
                .unwrap_or_else(|| format!("order {no} was refunded, reversed or closed{state}")),
        ),
        OrderCode::Prepay => Some(format!("order {no} waits for the customer to scan code_url{state}")),
        OrderCode::NotExist => Some(format!("order {no} does not exist at the platform{state}")),
        OrderCode::Unknown | OrderCode::Error => {
            Some(format!("order {no}: result not final yet{state}; query again; last reply: {}", rec.last_detail))
        }
    };
    let output = match &rec.output {
        Some(text) => text.clone(),
        None => local_output(rec),
    };
    QueryOutcome { code: rec.code, output, message }
}

/// errmsg of a failed payment: the platform's reason (`trade_state_desc` in the order, else
/// the meaning of its state), never the envelope's own "success" description.
pub(super) fn failed_message(
    no: &str,
    output: Option<&str>,
    platform_state: Option<i64>,
    platform: Option<t::PayPlatform>,
) -> String {
    let desc = output.and_then(|o| serde_json::from_str::<Map<String, Value>>(o).ok()).and_then(|m| {
        m.get("trade_state_desc").and_then(Value::as_str).map(str::trim).filter(|d| !d.is_empty()).map(str::to_owned)
    });
    let reason = desc.unwrap_or_else(|| {
        let wechat = platform != Some(t::PayPlatform::ALIPAY);
        match platform_state {
            Some(5) if wechat => "the customer stopped paying".into(),
            Some(10) if wechat => "payment error at the platform".into(),
            Some(11) if wechat => "the order is void".into(),
            _ => "the platform reports the payment as failed".into(),
        }
    });
    let state = platform_state.map(|s| format!(" (current_trade_state {s})")).unwrap_or_default();
    format!("order {no}: payment failed: {reason}{state}; the customer was not charged for it")
}

/// The output with `refunded_fee` and `refund_count` added, and its errmsg.
pub(super) fn refund_totals(
    no: &str,
    output: &str,
    refunded_fee: i64,
    refund_count: usize,
) -> (Arc<str>, Option<String>) {
    let mut m = serde_json::from_str::<Map<String, Value>>(output).unwrap_or_default();
    m.insert("refunded_fee".into(), refunded_fee.into());
    m.insert("refund_count".into(), refund_count.into());
    let text = Value::Object(m).to_string();
    let message = refunded_message(no, &text);
    (text.into(), message)
}

/// "partly refunded" / "fully refunded" for an output that carries refund totals.
fn refunded_message(no: &str, output: &str) -> Option<String> {
    let m = serde_json::from_str::<Map<String, Value>>(output).ok()?;
    let refunded = m.get("refunded_fee").and_then(Value::as_i64)?;
    let count = m.get("refund_count").and_then(Value::as_i64)?;
    let total = m.get("total_fee").and_then(Value::as_i64);
    let how = if total.is_some_and(|t| refunded >= t) { "fully" } else { "partly" };
    let of = total.map(|t| format!(" of {t}")).unwrap_or_default();
    Some(format!(
        "order {no} {how} refunded: {refunded}{of} fen in {count} refund(s) (refunded_fee, refund_count in the output)"
    ))
}

/// The output of micro_pay and scan_code_pay: `{"pay_platform":N,"out_trade_no":"…"}`.
pub(super) fn pay_output(platform: t::PayPlatform, out_trade_no: &str) -> String {
    let mut out = Vec::with_capacity(out_trade_no.len() + 48);
    // Writing into a Vec cannot fail.
    let _ = write!(out, "{{\"pay_platform\":{},\"out_trade_no\":", platform.0);
    let _ = serde_json::to_writer(&mut out, out_trade_no);
    out.push(b'}');
    String::from_utf8(out).expect("serde_json writes UTF-8")
}

pub(super) fn unknown_outcome(out_trade_no: &str, message: &str) -> QueryOutcome {
    QueryOutcome {
        code: OrderCode::Unknown,
        output: json!({"out_trade_no": out_trade_no, "state": LocalState::Unknown as i32}).to_string().into(),
        message: Some(message.to_owned()),
    }
}

/// What is known locally when the server gave nothing trusted: the last trusted output, if
/// any, with the local facts on top.
pub(super) fn local_output(rec: &OrderRecord) -> Arc<str> {
    let mut m =
        rec.output.as_deref().and_then(|t| serde_json::from_str::<Map<String, Value>>(t).ok()).unwrap_or_default();
    m.insert("out_trade_no".into(), rec.out_trade_no.clone().into());
    m.insert("trade_type".into(), rec.trade_type.0.into());
    if let Some(p) = rec.pay_platform {
        m.insert("pay_platform".into(), p.0.into());
    }
    m.insert("state".into(), (rec.local as i32).into());
    if let Some(u) = &rec.code_url {
        m.insert("code_url".into(), u.clone().into());
    }
    Value::Object(m).to_string().into()
}

/// A member of the flat part of `OrderSdk`: borrowed from the reply (its JSON text) or a local fact.
enum Member<'a> {
    Raw(&'a str),
    Str(&'a str),
    Int(i64),
}

/// Members in first-insertion order; inserting a name again replaces its value in place
/// (the semantics of a JSON object built key by key).
struct Members<'a>(Vec<(Cow<'a, str>, Member<'a>)>);

impl<'a> Members<'a> {
    fn insert(&mut self, k: Cow<'a, str>, v: Member<'a>) {
        match self.0.iter_mut().find(|(n, _)| *n == k) {
            Some(slot) => slot.1 = v,
            None => self.0.push((k, v)),
        }
    }

    fn contains(&self, k: &str) -> bool {
        self.0.iter().any(|(n, _)| n == k)
    }

    /// The scalar members of `from`, borrowed.
    fn lift_scalars(&mut self, from: Option<&[(Cow<'a, str>, &'a str)]>) {
        for (k, v) in from.into_iter().flatten() {
            if is_scalar(v) {
                // The value borrows the reply's text, not `from`: `from` may go right after.
                self.insert(k.clone(), Member::Raw(v));
            }
        }
    }

    fn render(&self) -> String {
        let mut out: Vec<u8> = Vec::with_capacity(2048);
        out.push(b'{');
        for (i, (k, v)) in self.0.iter().enumerate() {
            if i > 0 {
                out.push(b',');
            }
            // Writing JSON into a Vec cannot fail.
            let _ = serde_json::to_writer(&mut out, k);
            out.push(b':');
            match v {
                Member::Raw(v) => out.extend_from_slice(v.as_bytes()),
                Member::Str(s) => drop(serde_json::to_writer(&mut out, s)),
                Member::Int(n) => drop(serde_json::to_writer(&mut out, n)),
            }
        }
        out.push(b'}');
        String::from_utf8(out).expect("serde_json writes UTF-8")
    }
}

/// A JSON value's text that is neither an object nor a list (values start at their first byte).
fn is_scalar(v: &str) -> bool {
    !v.starts_with(['{', '['])
}

/// The members of the JSON object `json`, in order, values as their text; a duplicate name
/// appears twice. `None` for anything but an object. serde splits the reply's objects as fast
/// as a hand-written scan did (BENCHMARKS.md, "Fast paths").
fn members_of(json: &str) -> Option<Vec<(Cow<'_, str>, &str)>> {
    let m: wire::RawMembers<'_> = serde_json::from_str(json).ok()?;
    Some(m.0.into_iter().map(|(k, v)| (k, v.get())).collect())
}

/// The value of `name` in `members`: the last one, as a tree would keep it.
fn member<'a>(members: &[(Cow<'a, str>, &'a str)], name: &str) -> Option<&'a str> {
    members.iter().rev().find(|(k, _)| k == name).map(|(_, v)| *v)
}

/// `OrderSdk` (docs/c-api.md, "OrderSdk"): order_content flattened, platform-ext scalars lifted,
/// the local state, plus the raw pay_mch_key and order_content objects. Written straight from the
/// reply's text (members read in place, values copied as received), and the platform's
/// `current_trade_state` for messages.
pub(super) fn order_output(
    out_trade_no: &str,
    local: LocalState,
    code_url: Option<&str>,
    raw_result: Option<&RawValue>,
    trade_type: Option<TradeType>,
) -> (Arc<str>, Option<i64>) {
    let result = raw_result.and_then(|r| members_of(r.get()));
    let order_raw = result.as_deref().and_then(|r| member(r, "order_content"));
    let mch_raw = result.as_deref().and_then(|r| member(r, "pay_mch_key"));
    let order = order_raw.and_then(members_of);
    let mch = mch_raw.and_then(members_of);
    // Room for an order's members and the local facts: no growing.
    let mut m = Members(Vec::with_capacity(48));
    m.lift_scalars(order.as_deref());
    for ext in ["wxpay_order_content_ext", "alipay_order_content_ext"] {
        m.lift_scalars(order.as_deref().and_then(|o| member(o, ext)).and_then(members_of).as_deref());
    }
    m.insert("out_trade_no".into(), Member::Str(out_trade_no));
    if !m.contains("trade_type")
        && let Some(tt) = trade_type
    {
        m.insert("trade_type".into(), Member::Int(tt.0.into()));
    }
    let platform = match mch.as_deref().and_then(|k| member(k, "pay_platform")) {
        Some(p) => Some(Member::Raw(p)),
        None => order.as_deref().and_then(|o| {
            if member(o, "wxpay_order_content_ext").is_some() {
                Some(Member::Int(1))
            } else if member(o, "alipay_order_content_ext").is_some() {
                Some(Member::Int(2))
            } else {
                None
            }
        }),
    };
    if let Some(p) = platform {
        m.insert("pay_platform".into(), p);
    }
    m.insert("state".into(), Member::Int(local as i64));
    if let Some(u) = code_url {
        m.insert("code_url".into(), Member::Str(u));
    }
    if let Some(k) = mch_raw {
        m.insert("pay_mch_key".into(), Member::Raw(k));
    }
    if let Some(o) = order_raw {
        m.insert("order_content".into(), Member::Raw(o));
    }
    let platform_state = m.0.iter().find(|(k, _)| k == "current_trade_state").and_then(|(_, v)| match v {
        Member::Raw(v) => serde_json::from_str::<i64>(v).ok(),
        Member::Int(n) => Some(*n),
        Member::Str(_) => None,
    });
    (m.render().into(), platform_state)
}

/// The members of an object that are lifted into a flat output: everything but objects and
/// arrays (those are kept nested elsewhere).
fn scalars(from: Option<&Value>) -> impl Iterator<Item = (&String, &Value)> {
    from.and_then(Value::as_object).into_iter().flatten().filter(|(_, v)| !v.is_object() && !v.is_array())
}

/// The scalar members of `from`, copied into `into`.
fn lift_scalars(into: &mut Map<String, Value>, from: Option<&Value>) {
    for (k, v) in scalars(from) {
        into.insert(k.clone(), v.clone());
    }
}

/// `RefundOrderSdk` (docs/c-api.md, "RefundOrderSdk"): the matching (or newest) refund flattened
/// with `state`, plus all refunds.
pub(super) fn refund_output(out_trade_no: &str, wanted: Option<&str>, refunds: &[t::RefundOrderContent]) -> Value {
    let flat = |r: &t::RefundOrderContent| {
        let raw = wire::to_value(r);
        // `state` (the SDK's 1/2/3) comes first, before the platform ext that has a `state` of
        // its own: a POS reading the first "state" in the text gets the right one.
        let mut m = serde_json::Map::new();
        m.insert("state".into(), state::refund_state(r).into());
        lift_scalars(&mut m, Some(&raw));
        m.remove("nonce_str");
        for ext in ["wxpay_refund_order_content_ext", "alipay_refund_order_content_ext"] {
            if let Some(e) = raw.get(ext) {
                let mut lifted = serde_json::Map::new();
                lift_scalars(&mut lifted, Some(e));
                lifted.remove("state"); // the platform's number stays inside the ext object only
                for (k, v) in lifted {
                    m.entry(k).or_insert(v);
                }
                m.insert(ext.into(), e.clone());
            }
        }
        Value::Object(m)
    };
    let all: Vec<Value> = refunds.iter().map(flat).collect();
    let chosen = match wanted {
        Some(no) => refunds.iter().position(|r| r.out_refund_no == no),
        None => refunds.iter().enumerate().max_by_key(|(_, r)| r.create_time.unwrap_or(0)).map(|(i, _)| i),
    };
    let mut top = match chosen.map(|i| &all[i]) {
        Some(Value::Object(m)) => m.clone(),
        _ => Map::new(),
    };
    top.insert("out_trade_no".into(), out_trade_no.into());
    top.insert("refund_orders".into(), Value::Array(all));
    Value::Object(top)
}
