//! Reading caller JSON into typed requests with errors that name the field.

use serde::de::DeserializeOwned;

use crate::error::SdkError;

/// Numeric fields of the SDK's own JSON (CloudPayConf) that are not wire field names.
const SDK_NUMERIC_FIELDS: &[&str] = &[
    "micro_pay_query_order_count",
    "micro_pay_query_order_interval",
    "scan_code_pay_query_order_count",
    "scan_code_pay_query_order_interval",
    "prober_dns",
    "timeout_ms",
    "connect_timeout_ms",
    "upload_monitor",
    "retry_pause_ms",
    "upload_monitor_interval",
    "keep_alive_ping_interval",
];

/// Parses JSON text into `T` leniently (numeric strings for integers, see
/// `cloud_pay_protocol::wire`). Errors say where: `total_fee: invalid type: …`.
pub fn parse_json<T: DeserializeOwned>(text: &str, what: &str) -> Result<T, SdkError> {
    let mut v: serde_json::Value = serde_json::from_str(text)
        .map_err(|e| SdkError::BadInput(redact(&format!("{what} is not valid JSON: {e}"))))?;
    if !v.is_object() {
        return Err(SdkError::BadInput(format!("{what} must be a JSON object")));
    }
    cloud_pay_protocol::wire::normalize_with(&mut v, SDK_NUMERIC_FIELDS);
    serde_path_to_error::deserialize(v).map_err(|e| {
        let path = e.path().to_string();
        if let Some(m) = amount_hint(&path, &e.inner().to_string()) {
            return SdkError::BadInput(redact(&format!("{what}.{path}: {m}")));
        }
        // serde quotes the offending value: a payment code sent as a number would reach errmsg.
        SdkError::BadInput(redact(&if path == "." {
            format!("{what}: {}", e.inner())
        } else {
            format!("{what}.{path}: {}", e.inner())
        }))
    })
}

/// The plain word for a decimal amount: amounts are integers in fen. `path` is where the
/// value sat, `error` serde's text; None for anything else.
fn amount_hint(path: &str, error: &str) -> Option<String> {
    let field = path.rsplit('.').next().unwrap_or(path);
    let amount = field.ends_with("fee") || field == "price";
    let decimal = error.contains("floating point") || (error.contains("invalid type: string") && error.contains('.'));
    (amount && decimal).then(|| format!("amounts are integers in fen (1234 = 12.34 CNY); {error}"))
}

/// A required, non-empty string field.
pub fn require<'a>(v: &'a Option<String>, field: &str) -> Result<&'a str, SdkError> {
    match v.as_deref().map(str::trim) {
        Some(s) if !s.is_empty() => Ok(s),
        _ => Err(SdkError::BadInput(format!("{field} is required"))),
    }
}

/// Checks an order or refund number: 1–32 characters of `[0-9A-Za-z_-]`
/// (docs/c-api.md, "Order numbers").
pub fn order_number<'a>(v: &'a Option<String>, field: &str) -> Result<&'a str, SdkError> {
    let s = require(v, field)?;
    if s.len() > 32 {
        return Err(SdkError::BadInput(format!("{field} is longer than 32 characters")));
    }
    if !s.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-') {
        return Err(SdkError::BadInput(format!("{field} may only contain 0-9 A-Z a-z _ -")));
    }
    Ok(s)
}

/// `text` with every run of 10 or more digits replaced by `<redacted>`: error messages quote
/// input values, and such a run may be a payment code (tills log errmsg).
pub fn redact(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut digits = String::new();
    let flush = |digits: &mut String, out: &mut String| {
        out.push_str(if digits.len() >= 10 { "<redacted>" } else { digits.as_str() });
        digits.clear();
    };
    for c in text.chars() {
        if c.is_ascii_digit() {
            digits.push(c);
        } else {
            flush(&mut digits, &mut out);
            out.push(c);
        }
    }
    flush(&mut digits, &mut out);
    out
}

#[cfg(test)]
mod redact_tests {
    fn bad_input(e: crate::error::SdkError) -> String {
        match e {
            crate::error::SdkError::BadInput(m) => m,
            other => panic!("not a bad request: {other}"),
        }
    }

    #[test]
    fn decimal_amounts_are_answered_in_fen() {
        #[derive(serde::Deserialize, Debug)]
        #[allow(dead_code)]
        struct R {
            total_fee: Option<i64>,
            body: Option<i64>,
        }
        for text in [r#"{"total_fee":12.34}"#, r#"{"total_fee":1234.0}"#, r#"{"total_fee":"12.34"}"#] {
            let e = bad_input(super::parse_json::<R>(text, "req").unwrap_err());
            assert!(e.starts_with("req.total_fee: amounts are integers in fen (1234 = 12.34 CNY)"), "{text}: {e}");
        }
        let e = bad_input(super::parse_json::<R>(r#"{"body":1.5}"#, "req").unwrap_err());
        assert!(!e.contains("fen"), "only amounts get the hint: {e}");
    }

    #[test]
    fn digit_runs_of_ten_or_more_are_redacted() {
        assert_eq!(super::redact("integer `134567890123456789`, expected"), "integer `<redacted>`, expected");
        assert_eq!(super::redact("got 123456789 and 1234567890"), "got 123456789 and <redacted>");
        assert_eq!(super::redact("line 1 column 20"), "line 1 column 20");
    }
}
