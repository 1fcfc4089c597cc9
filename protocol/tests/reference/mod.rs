//! The reference reading of a reply's response_content: the tree path as it was before the
//! one-pass read (parse, normalise, read the result from the tree). `Response::from_content`
//! must decode every reply to what this gives. Shared by the property test
//! (`tests/properties.rs`) and the fuzz target `fuzz/fuzz_targets/reply_content.rs`, which
//! includes this file by path.

use cloud_pay_protocol::types::QueryOrderResult;
use cloud_pay_protocol::wire;
use serde_json::{Map, Value};

/// status, description, log_id, internal_status, typed result, raw result.
pub type Read = (i32, String, i64, i32, Option<QueryOrderResult>, Option<Value>);

/// `text` read as a query_order reply by the tree path, or why it cannot be.
pub fn tree_read(text: &str) -> Result<Read, String> {
    let mut m = wire::object_from_text(text).map_err(|e| e.to_string())?;
    let int = |m: &Map<String, Value>, k: &str| m.get(k).and_then(Value::as_i64);
    let status = int(&m, "status").ok_or("no status")?;
    let raw = m.remove("query_order");
    let result = match &raw {
        Some(v) if !v.is_null() => {
            Some(serde_json::from_value::<QueryOrderResult>(v.clone()).map_err(|e| e.to_string())?)
        }
        _ => None,
    };
    Ok((
        i32::try_from(status).unwrap_or(i32::MIN),
        m.get("description").and_then(Value::as_str).unwrap_or_default().to_owned(),
        int(&m, "log_id").or_else(|| m.get("log_id").and_then(Value::as_u64).map(|u| u as i64)).unwrap_or(0),
        int(&m, "internal_status").and_then(|x| i32::try_from(x).ok()).unwrap_or(0),
        result,
        raw,
    ))
}
