//! JSON text <-> typed structures, with the two leniencies the protocol needs.
//!
//! * Inbound: every integer field accepts a JSON number or a numeric string
//!   (Tencent's own refund example sends amounts as strings; proto3 JSON encodes int64 so),
//!   and `Internal_status` (capital I, seen in one doc family) is read as `internal_status`.
//! * Outbound: optional fields that are unset are omitted, never sent as `null`
//!   (docs/wire-protocol.md, "Field encoding").
//!
//! Field names mean the same thing in every structure of this API, so the set of integer
//! fields is kept once, by name, rather than annotated on hundreds of struct fields.

use std::borrow::Cow;

use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::value::RawValue;
use serde_json::{Map, Value};

/// Declares the integer field list and its lookup (a `match`, compiled to a dispatch on
/// length and bytes: the reply scan asks for every text-valued member).
macro_rules! integer_fields {
    ($($name:literal,)*) => {
        /// Field names whose values are integers wherever they occur
        /// (docs/wire-protocol.md, "Field encoding").
        pub const INTEGER_FIELDS: &[&str] = &[$($name),*];

        fn is_integer_field(name: &str) -> bool {
            matches!(name, $($name)|*)
        }
    };
}

integer_fields! {
    "algorithm", "amount", "api_version", "authen_type", "authorize_terminal_type", "cash_fee",
    "cash_refund_fee", "channel", "compress_type", "contribute_type", "coordinate_type",
    "cost_price", "coupon_count", "coupon_fee", "coupon_refund_count", "coupon_refund_fee",
    "create_time", "current_trade_state", "date", "device_shift_type", "device_type", "discountable_amount",
    "distinct_payer_count", "end_time", "exchange_rate", "expect_trade_state", "freeze_fee",
    "gmt_close", "gmt_refund", "inner_refund_success_time", "interface", "internal_status",
    "interval", "invoice_amount", "last_update_time", "level", "log_id", "manager_type",
    "merchant_amount", "net_amount", "net_count", "other_amount", "page_num", "page_size",
    "pay_platform", "pay_settle_amount", "point_amount", "price", "quantity", "query_cashier_type",
    "query_order_type", "refund_amount", "refund_count", "refund_fee", "refund_settle_amount",
    "refund_status", "refund_success_time", "refunded_fee", "revoke_settle_amount", "send_pay_date",
    "settle_amount", "settlement_refund_fee", "settlement_total_fee", "sign_type", "source_type",
    "start_time", "stat_role", "stat_type", "state", "status", "sub_pay_platform",
    "sub_terminal_type", "success_amount", "success_count", "terminal_type", "time_cost",
    "time_end", "time_expire", "timestamp", "total_amount", "total_count", "total_fee",
    "trade_state", "trade_type", "ttl", "undiscountable_amount",
}

/// Rewrites numeric strings in integer fields to numbers and `Internal_status` to
/// `internal_status`, recursively. Anything else is left for the typed parse to judge.
pub fn normalize(v: &mut Value) {
    normalize_with(v, &[])
}

/// [`normalize`], also treating `extra` names as numeric fields (integer or decimal text),
/// for callers with fields of their own (the SDK's configuration).
pub fn normalize_with(v: &mut Value, extra: &[&str]) {
    match v {
        Value::Object(map) => {
            if let Some(x) = map.remove("Internal_status") {
                map.entry("internal_status").or_insert(x);
            }
            for (k, val) in map.iter_mut() {
                if extra.contains(&k.as_str())
                    && let Value::String(s) = val
                    && let Ok(f) = s.trim().parse::<f64>()
                {
                    *val = parse_int(s).unwrap_or_else(|| Value::from(f));
                    continue;
                }
                // Only text and lists can need rewriting; numbers and the like are skipped
                // before the name lookup (most members of a reply).
                match val {
                    Value::String(s) => {
                        if is_integer_field(k)
                            && let Some(n) = parse_int(s)
                        {
                            *val = n;
                        }
                    }
                    Value::Array(items) if is_integer_field(k) => {
                        for it in items {
                            if let Value::String(s) = it
                                && let Some(n) = parse_int(s)
                            {
                                *it = n;
                            }
                        }
                    }
                    Value::Array(_) | Value::Object(_) => normalize_with(val, extra),
                    _ => {}
                }
            }
        }
        Value::Array(items) => items.iter_mut().for_each(|x| normalize_with(x, extra)),
        _ => {}
    }
}

fn parse_int(s: &str) -> Option<Value> {
    let t = s.trim();
    if t.is_empty() || t.len() > 20 {
        return None;
    }
    if let Ok(n) = t.parse::<i64>() {
        return Some(Value::from(n));
    }
    t.parse::<u64>().ok().map(Value::from)
}

/// Removes `null` members from objects, recursively (unset optional fields are omitted).
pub fn strip_nulls(v: &mut Value) {
    match v {
        Value::Object(map) => {
            map.retain(|_, x| !x.is_null());
            map.values_mut().for_each(strip_nulls);
        }
        Value::Array(items) => items.iter_mut().for_each(strip_nulls),
        _ => {}
    }
}

/// Serialises a structure to the compact JSON text sent on the wire, without unset fields.
///
/// Written directly and then rid of its `"name":null` members, which gives the same text
/// as [`to_value`] then `to_string` without building a tree (the request path of every call).
pub fn to_text<T: Serialize>(value: &T) -> String {
    let text = Compact(to_text_with_nulls(value, 1024));
    if text.0.contains("null") { strip_null_members(&text) } else { text.0 }
}

/// JSON text as serde_json writes it: valid, compact (no whitespace between tokens). Only
/// [`to_text`] makes one: it is what lets [`strip_null_members`] scan bytes without a parser.
struct Compact(String);

/// Compact JSON text of `value` written into a buffer of `capacity` bytes to start with (a
/// request fits in one allocation instead of growing from 128 bytes).
pub fn to_text_with_nulls<T: Serialize>(value: &T, capacity: usize) -> String {
    let mut out = Vec::with_capacity(capacity);
    serde_json::to_writer(&mut out, value).expect("wire types always serialise");
    String::from_utf8(out).expect("serde_json writes UTF-8")
}

/// Removes `"name":null` members from compact JSON text, recursively; `null` inside arrays
/// and inside strings is kept. It stays because it spares each request a JSON tree, 2-3 µs
/// (BENCHMARKS.md, "Fast paths"); the `to_text` fuzz target holds it to the tree's text.
fn strip_null_members(text: &Compact) -> String {
    let b = text.0.as_bytes();
    let mut out: Vec<u8> = Vec::with_capacity(b.len());
    // true: inside an object, false: inside an array.
    let mut stack: Vec<bool> = Vec::new();
    let mut i = 0;
    // At the start of an object member: skip every `"name":null` member there.
    let skip_nulls = |i: &mut usize, out: &mut Vec<u8>| loop {
        if b.get(*i) != Some(&b'"') {
            return;
        }
        let end = string_end(b, *i);
        if b.get(end) == Some(&b':') && b[end + 1..].starts_with(b"null") {
            match b.get(end + 5) {
                Some(b',') => *i = end + 6,
                Some(b'}') => {
                    *i = end + 5;
                    if out.last() == Some(&b',') {
                        out.pop();
                    }
                    return;
                }
                _ => return,
            }
        } else {
            return;
        }
    };
    while i < b.len() {
        match b[i] {
            b'"' => {
                let end = string_end(b, i);
                out.extend_from_slice(&b[i..end]);
                i = end;
            }
            c @ (b'{' | b'[') => {
                stack.push(c == b'{');
                out.push(c);
                i += 1;
                if c == b'{' {
                    skip_nulls(&mut i, &mut out);
                }
            }
            c @ (b'}' | b']') => {
                stack.pop();
                out.push(c);
                i += 1;
            }
            b',' => {
                out.push(b',');
                i += 1;
                if stack.last() == Some(&true) {
                    skip_nulls(&mut i, &mut out);
                }
            }
            c => {
                out.push(c);
                i += 1;
            }
        }
    }
    // Only whole members were removed from valid UTF-8, at ASCII boundaries.
    String::from_utf8(out).expect("UTF-8 in, UTF-8 out")
}

/// Index just past the string literal starting at `start` (a `"`).
fn string_end(b: &[u8], start: usize) -> usize {
    let mut i = start + 1;
    while let Some(k) = b.get(i..).and_then(|rest| memchr::memchr2(b'"', b'\\', rest)) {
        match b[i + k] {
            b'\\' => i += k + 2,
            _ => return i + k + 1,
        }
    }
    b.len()
}

/// An object's members in order, read in place: names borrowed unless escaped, values as
/// their raw JSON text. A duplicate name appears twice. Anything but an object is an error.
pub struct RawMembers<'a>(pub Vec<(Cow<'a, str>, &'a RawValue)>);

impl<'de: 'a, 'a> serde::Deserialize<'de> for RawMembers<'a> {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct Name<'a>(Cow<'a, str>);
        impl<'de: 'a, 'a> serde::Deserialize<'de> for Name<'a> {
            fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                struct V;
                impl<'de> serde::de::Visitor<'de> for V {
                    type Value = Cow<'de, str>;
                    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                        f.write_str("a member name")
                    }
                    fn visit_borrowed_str<E: serde::de::Error>(self, v: &'de str) -> Result<Self::Value, E> {
                        Ok(Cow::Borrowed(v))
                    }
                    fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<Self::Value, E> {
                        Ok(Cow::Owned(v.to_owned()))
                    }
                }
                d.deserialize_str(V).map(Name)
            }
        }
        struct V<'a>(std::marker::PhantomData<&'a ()>);
        impl<'de: 'a, 'a> serde::de::Visitor<'de> for V<'a> {
            type Value = RawMembers<'a>;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("a JSON object")
            }
            fn visit_map<M: serde::de::MapAccess<'de>>(self, mut m: M) -> Result<Self::Value, M::Error> {
                let mut out = Vec::with_capacity(m.size_hint().unwrap_or(16));
                while let Some(Name(k)) = m.next_key::<Name<'a>>()? {
                    out.push((k, m.next_value::<&'a RawValue>()?));
                }
                Ok(RawMembers(out))
            }
        }
        d.deserialize_map(V(std::marker::PhantomData))
    }
}

/// Serialises a structure to a JSON value (no unset fields).
pub fn to_value<T: Serialize>(value: &T) -> Value {
    // Our types only hold strings, numbers, maps with string keys: this cannot fail.
    let mut v = serde_json::to_value(value).expect("wire types always serialise");
    strip_nulls(&mut v);
    v
}

/// Parses JSON text into a structure, leniently (see module docs).
pub fn from_text<T: DeserializeOwned>(text: &str) -> Result<T, serde_json::Error> {
    let v: Value = serde_json::from_str(text)?;
    from_value(v)
}

/// Whether [`normalize`] might change this JSON text: an `Internal_status` member anywhere,
/// or text or a list as the value of an integer field. Any text will do: an escaped member
/// name, a nesting deeper than 64 or text it cannot follow answer `true`. A scan of the
/// bytes, no allocation: it lets a reply's response_content skip the JSON tree, which saves
/// 6-9 µs a reply (BENCHMARKS.md, "Fast paths").
pub(crate) fn may_need_normalizing(text: &str) -> bool {
    let b = text.as_bytes();
    // Open containers: true for an object, false for an array.
    let mut stack = [false; 64];
    let mut depth = 0usize;
    let mut at_key = false;
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b'"' => {
                let end = string_end(b, i);
                if at_key {
                    let name = &b[i + 1..end.saturating_sub(1).max(i + 1)];
                    if name.contains(&b'\\') || name == b"Internal_status" {
                        return true;
                    }
                    let mut j = end;
                    while b.get(j).is_some_and(u8::is_ascii_whitespace) {
                        j += 1;
                    }
                    if b.get(j) != Some(&b':') {
                        return true;
                    }
                    j += 1;
                    while b.get(j).is_some_and(u8::is_ascii_whitespace) {
                        j += 1;
                    }
                    if matches!(b.get(j), Some(b'"' | b'[')) {
                        // Names are whole UTF-8 text: quotes are ASCII, the input is a str.
                        let name = std::str::from_utf8(name).unwrap_or("");
                        if is_integer_field(name) {
                            return true;
                        }
                    }
                    at_key = false;
                    i = j;
                    continue;
                }
                i = end;
            }
            c @ (b'{' | b'[') => {
                if depth == stack.len() {
                    return true;
                }
                stack[depth] = c == b'{';
                depth += 1;
                at_key = c == b'{';
                i += 1;
            }
            b'}' | b']' => {
                depth = depth.saturating_sub(1);
                at_key = false;
                i += 1;
            }
            b',' => {
                at_key = depth > 0 && stack[depth - 1];
                i += 1;
            }
            _ => i += 1,
        }
    }
    false
}

/// Converts a JSON value into a structure, leniently (see module docs).
pub fn from_value<T: DeserializeOwned>(mut v: Value) -> Result<T, serde_json::Error> {
    normalize(&mut v);
    serde_json::from_value(v)
}

/// Parses JSON text into an object map (the shape of every request_content / response_content).
pub fn object_from_text(text: &str) -> Result<Map<String, Value>, serde_json::Error> {
    let mut v: Value = serde_json::from_str(text)?;
    normalize(&mut v);
    match v {
        Value::Object(m) => Ok(m),
        _ => Err(serde::de::Error::custom("expected a JSON object")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn integer_field_list_is_sorted_for_binary_search() {
        let mut sorted = INTEGER_FIELDS.to_vec();
        sorted.sort_unstable();
        assert_eq!(sorted, INTEGER_FIELDS);
    }

    #[test]
    fn numeric_strings_become_numbers_only_in_integer_fields() {
        let mut v = serde_json::json!({"total_fee":"100","staff_id":"1001","x":{"refund_fee":" 7 ","Internal_status":"407"},"page_num":"abc"});
        normalize(&mut v);
        assert_eq!(v["total_fee"], 100);
        assert_eq!(v["staff_id"], "1001");
        assert_eq!(v["x"]["refund_fee"], 7);
        assert_eq!(v["x"]["internal_status"], 407);
        assert_eq!(v["page_num"], "abc", "non-numeric text is left for the typed parse to reject");
    }

    #[test]
    fn nulls_are_omitted() {
        let mut v = serde_json::json!({"a":null,"b":[{"c":null,"d":1}]});
        strip_nulls(&mut v);
        assert_eq!(v, serde_json::json!({"b":[{"d":1}]}));
    }

    #[test]
    fn normalising_is_noticed() {
        for (text, needs) in [
            (r#"{"total_fee":1,"body":"100"}"#, false),
            (r#"{"total_fee":"1"}"#, true),
            (r#"{"a":{"b":[{"trade_state":"2"}]}}"#, true),
            (r#"{"Internal_status":407}"#, true),
            (r#"{"x":"\"total_fee\":\"1\""}"#, false),
            (r#"{"trade_state":[1,2]}"#, true),
            (r#"{"to\u0074al_fee":"1"}"#, true),
            (r#"[{"status" : "0"}]"#, true),
            (r#"{ "status" : 0 , "description" : "total_fee" }"#, false),
        ] {
            assert_eq!(may_need_normalizing(text), needs, "{text}");
        }
    }
}
