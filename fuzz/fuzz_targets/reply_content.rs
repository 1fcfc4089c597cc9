//! `Response::from_content` (a byte scan decides whether the text may skip the JSON tree)
//! against serde's tree path (parse, normalise, read): same status, description, log_id,
//! internal_status, typed result and raw result, or both an error; any difference panics.
#![no_main]

use cloud_pay_protocol::types::QueryOrderResult;
use cloud_pay_protocol::{Endpoint, Response, wire};
use libfuzzer_sys::fuzz_target;
use serde_json::{Map, Value};

type Read = (i32, String, i64, i32, Option<QueryOrderResult>, Option<Value>);

fn tree_read(text: &str) -> Option<Read> {
    let mut m = wire::object_from_text(text).ok()?;
    let int = |m: &Map<String, Value>, k: &str| m.get(k).and_then(Value::as_i64);
    let status = int(&m, "status")?;
    let raw = m.remove("query_order");
    let result = match &raw {
        Some(v) if !v.is_null() => Some(serde_json::from_value::<QueryOrderResult>(v.clone()).ok()?),
        _ => None,
    };
    Some((
        i32::try_from(status).unwrap_or(i32::MIN),
        m.get("description").and_then(Value::as_str).unwrap_or_default().to_owned(),
        int(&m, "log_id").or_else(|| m.get("log_id").and_then(Value::as_u64).map(|u| u as i64)).unwrap_or(0),
        int(&m, "internal_status").and_then(|x| i32::try_from(x).ok()).unwrap_or(0),
        result,
        raw,
    ))
}

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    // Known differences inside serde itself, left alone: text its validator accepts and its
    // tree refuses (a number beyond f64 such as `1E04081602`, a lone surrogate `\uDF5C`) in a
    // member the typed read skips is accepted by the direct read and refused by the tree.
    if serde_json::from_str::<Value>(text).is_err()
        && serde_json::from_str::<&serde_json::value::RawValue>(text).is_ok()
    {
        return;
    }
    let ours = Response::<QueryOrderResult>::from_content(Endpoint::QueryOrder, text).ok().map(|r| {
        let raw = r.raw_result.as_deref().map(|v| serde_json::from_str::<Value>(v.get()).expect("raw result is JSON"));
        (r.status, r.description, r.log_id, r.internal_status, r.result, raw)
    });
    assert_eq!(ours, tree_read(text));
});
