//! Property tests: the envelope and the parsers, for arbitrary content.

use cloud_pay_protocol::envelope::{self, AuthCheck, Authenticator, RequestEnvelope, Response, ResponseEnvelope};
use cloud_pay_protocol::types::{OrderClient, PayContent, PayMchKey, PayRequest, QueryOrder, QueryOrderResult};
use cloud_pay_protocol::{Endpoint, StatusClass, crypto, wire};
use proptest::prelude::*;

fn pay_request() -> impl Strategy<Value = PayRequest> {
    (any::<String>(), "[0-9A-Za-z]{1,32}", any::<i64>(), any::<String>(), proptest::option::of(any::<String>()), proptest::option::of(0i32..200))
        .prop_map(|(body, no, fee, staff, remark, tt)| PayRequest {
            pay_mch_key: PayMchKey { out_mch_id: "m".into(), out_sub_mch_id: "s".into(), ..Default::default() },
            pay_content: PayContent { out_trade_no: no, total_fee: fee, fee_type: "CNY".into(), body, remark, ..Default::default() },
            order_client: OrderClient { staff_id: Some(staff), sub_terminal_type: tt, ..Default::default() },
            nonce_str: crypto::nonce_str(),
        })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(300))]

    /// Any request text survives sealing: the receiver gets the exact string and its code verifies.
    #[test]
    fn request_envelope_round_trip(content in any::<String>(), key in proptest::collection::vec(any::<u8>(), 1..64)) {
        let body = RequestEnvelope::seal(content.clone(), Authenticator::Hmac(&key)).to_body();
        let parsed = RequestEnvelope::parse(body.as_bytes()).unwrap();
        prop_assert_eq!(&parsed.request_content, &content);
        let code = parsed.authen_info.unwrap().a.unwrap().authen_code;
        prop_assert!(crypto::verify_authen_code(&key, content.as_bytes(), &code, false));
    }

    /// A reply is trusted exactly when its HMAC was made with our key over the text we received.
    #[test]
    fn replies_are_trusted_only_with_the_right_key(status in prop_oneof![Just(0), Just(3), Just(101), Just(102), Just(103), Just(104), any::<i32>()],
                                                    internal in any::<i32>(), desc in any::<String>(), log_id in any::<i64>(), right in any::<bool>()) {
        let content = Response::<QueryOrderResult>::status_only(status, internal, desc, log_id).to_content(Endpoint::QueryOrder);
        let signer: &[u8] = if right { b"our-key" } else { b"their-key" };
        let body = ResponseEnvelope::seal(content, Some(signer)).to_body();
        let r = envelope::open_reply::<QueryOrder>(body.as_bytes(), b"our-key");
        prop_assert_eq!(r.auth, if right { AuthCheck::Verified } else { AuthCheck::Mismatch });
        if !right {
            prop_assert!(r.class != StatusClass::Success && r.class != StatusClass::FailedRetryNewNumber);
        }
        if status == 0 {
            prop_assert_eq!(r.class == StatusClass::Success, right);
        }
        let resp = r.response.unwrap();
        prop_assert_eq!((resp.status, resp.internal_status, resp.log_id), (status, internal, log_id));
    }

    /// Typed requests survive the wire: to_text then from_text is the identity, and no null is sent.
    #[test]
    fn typed_requests_round_trip(req in pay_request()) {
        let text = wire::to_text(&req);
        fn has_null(v: &serde_json::Value) -> bool {
            match v {
                serde_json::Value::Null => true,
                serde_json::Value::Array(a) => a.iter().any(has_null),
                serde_json::Value::Object(m) => m.values().any(has_null),
                _ => false,
            }
        }
        prop_assert!(!has_null(&serde_json::from_str(&text).unwrap()), "unset fields are omitted, never null");
        let back: PayRequest = wire::from_text(&text).unwrap();
        prop_assert_eq!(back, req);
    }

    /// Integer fields accept numeric strings; other fields are never rewritten.
    #[test]
    fn numeric_strings_are_accepted(fee in any::<i64>(), staff in "[0-9]{1,12}") {
        let text = format!(r#"{{"pay_mch_key":{{"out_mch_id":"m","out_sub_mch_id":"s"}},"pay_content":{{"out_trade_no":"n","total_fee":"{fee}","fee_type":"CNY","body":"b"}},"order_client":{{"staff_id":"{staff}"}},"nonce_str":"x"}}"#);
        let req: PayRequest = wire::from_text(&text).unwrap();
        prop_assert_eq!(req.pay_content.total_fee, fee);
        prop_assert_eq!(req.order_client.staff_id, Some(staff));
    }

    /// Arbitrary bytes never make a reply trusted.
    #[test]
    fn garbage_is_never_success(bytes in proptest::collection::vec(any::<u8>(), 0..512)) {
        let r = envelope::open_reply::<QueryOrder>(&bytes, b"our-key");
        prop_assert!(r.class != StatusClass::Success);
    }
}

/// Arbitrary JSON trees with nulls at every level, in objects and in arrays.
fn json_tree() -> impl Strategy<Value = serde_json::Value> {
    use serde_json::Value;
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::from),
        any::<i64>().prop_map(Value::from),
        // Strings that look like the pieces the stripper looks for.
        prop_oneof![Just("null".to_string()), Just("\":null,\"".to_string()), Just("a\\\"b".to_string()), any::<String>()].prop_map(Value::from),
    ];
    leaf.prop_recursive(4, 48, 6, |inner| {
        prop_oneof![
            proptest::collection::vec(inner.clone(), 0..6).prop_map(serde_json::Value::Array),
            proptest::collection::vec((prop_oneof![Just("null".to_string()), "[a-z]{1,3}", any::<String>()], inner), 0..6)
                .prop_map(|kv| serde_json::Value::Object(kv.into_iter().collect())),
        ]
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    /// The direct writer gives exactly the text of the tree path: same members, same order,
    /// no null member anywhere, nulls in arrays kept.
    #[test]
    fn to_text_matches_the_tree_path(v in json_tree()) {
        prop_assert_eq!(wire::to_text(&v), wire::to_value(&v).to_string());
    }

    #[test]
    fn to_text_matches_the_tree_path_for_requests(req in pay_request()) {
        prop_assert_eq!(wire::to_text(&req), wire::to_value(&req).to_string());
    }
}
