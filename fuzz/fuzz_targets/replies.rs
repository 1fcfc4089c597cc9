//! Whatever a server (or an attacker on the path) sends back: envelopes, replies, requests.
#![no_main]

use cloud_pay_protocol::envelope::{self, RequestEnvelope, ResponseEnvelope};
use cloud_pay_protocol::types::{MicroPay, PayRequest, QueryOrder, QueryRefundOrder, TryGetInitializersResult};
use cloud_pay_protocol::{StatusClass, wire};
use libfuzzer_sys::fuzz_target;

const KEY: &[u8] = b"TESTONLY0123456789ABCDEFGHIJKLMN";

fuzz_target!(|data: &[u8]| {
    let r = envelope::open_reply::<QueryOrder>(data, KEY);
    // Trust needs a verified HMAC: without one, success is impossible.
    if r.class == StatusClass::Success {
        assert_eq!(r.auth, envelope::AuthCheck::Verified);
    }
    let _ = envelope::open_reply::<MicroPay>(data, KEY);
    let _ = envelope::open_reply::<QueryRefundOrder>(data, KEY);
    let _ = ResponseEnvelope::parse(data).map(|e| e.check(KEY));
    let _ = RequestEnvelope::parse(data);
    if let Ok(text) = std::str::from_utf8(data) {
        let _ = wire::from_text::<PayRequest>(text);
        let _ = wire::from_text::<TryGetInitializersResult>(text);
        if let Ok(mut v) = serde_json::from_str::<serde_json::Value>(text) {
            wire::normalize(&mut v);
            let once = v.clone();
            wire::normalize(&mut v);
            assert_eq!(once, v, "normalize is idempotent");
        }
    }
});
