//! `wire::to_text` (serde_json's text with its `null` members cut out by a byte scan) against
//! serde's own tree path (`to_value`, nulls removed, `to_string`): any difference panics.
#![no_main]

use cloud_pay_protocol::types::PayRequest;
use cloud_pay_protocol::wire;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    // Any JSON document, as a value to serialise: nulls at every depth, in arrays, in strings.
    if let Ok(v) = serde_json::from_slice::<serde_json::Value>(data) {
        assert_eq!(wire::to_text(&v), wire::to_value(&v).to_string(), "JSON value");
    }
    // And a typed request, as the SDK sends them (unset options become null members).
    if let Ok(text) = std::str::from_utf8(data)
        && let Ok(req) = wire::from_text::<PayRequest>(text)
    {
        assert_eq!(wire::to_text(&req), wire::to_value(&req).to_string(), "PayRequest");
    }
});
