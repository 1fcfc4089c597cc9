//! Property tests: the envelope and the parsers, for arbitrary content.

use cloud_pay_protocol::envelope::{self, AuthCheck, Authenticator, RequestEnvelope, Response, ResponseEnvelope};
use cloud_pay_protocol::types::{OrderClient, PayContent, PayMchKey, PayRequest, QueryOrder, QueryOrderResult};
use cloud_pay_protocol::{Endpoint, StatusClass, crypto, wire};
use proptest::prelude::*;
use reference::tree_read;

mod reference;

fn pay_request() -> impl Strategy<Value = PayRequest> {
    (
        any::<String>(),
        "[0-9A-Za-z]{1,32}",
        any::<i64>(),
        any::<String>(),
        proptest::option::of(any::<String>()),
        proptest::option::of(0i32..200),
        any::<[u8; 32]>(),
    )
        .prop_map(|(body, no, fee, staff, remark, tt, seed)| PayRequest {
            pay_mch_key: PayMchKey { out_mch_id: "m".into(), out_sub_mch_id: "s".into(), ..Default::default() },
            pay_content: PayContent {
                out_trade_no: no,
                total_fee: fee,
                fee_type: "CNY".into(),
                body,
                remark,
                ..Default::default()
            },
            order_client: OrderClient { staff_id: Some(staff), sub_terminal_type: tt, ..Default::default() },
            nonce_str: crypto::nonce_from(&seed, 0),
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
        prop_oneof![
            Just("null".to_string()),
            Just("\":null,\"".to_string()),
            Just("a\\\"b".to_string()),
            any::<String>()
        ]
        .prop_map(Value::from),
    ];
    leaf.prop_recursive(4, 48, 6, |inner| {
        prop_oneof![
            proptest::collection::vec(inner.clone(), 0..6).prop_map(serde_json::Value::Array),
            proptest::collection::vec(
                (prop_oneof![Just("null".to_string()), "[a-z]{1,3}", any::<String>()], inner),
                0..6
            )
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

// ---- the one-pass reply read against the tree path ----

/// A `query_order` result as a server might word it: typed members, unknown members, and
/// on purpose the things that must send a reply down the tree path (numeric strings in
/// integer fields, `Internal_status`, duplicates, whitespace).
fn reply_content() -> impl Strategy<Value = String> {
    use serde_json::{Value, json};
    let order = (
        "[0-9A-Za-z]{1,32}",
        proptest::option::of(0i64..3),
        proptest::option::of(any::<bool>()),
        proptest::option::of(any::<i64>()),
        any::<String>(),
        0i64..13,
        proptest::option::of(json_tree()),
    )
        .prop_map(|(no, tt, transforming, fee, body, state, unknown)| {
            let mut o = json!({"out_trade_no": no, "trade_type": tt, "is_transforming": transforming, "total_fee": fee,
                               "body": body, "wxpay_order_content_ext": {"current_trade_state": state, "trade_state_desc": "x"}});
            if let Some(u) = unknown {
                o["unknown_member"] = u;
            }
            o
        });
    (order, any::<i32>(), any::<i32>(), any::<i64>(), any::<String>(), 0u8..12, any::<bool>())
        .prop_map(|(order, status, internal, log_id, desc, twist, pretty)| {
            let mut c = json!({"status": status, "description": desc, "log_id": log_id, "internal_status": internal,
                               "query_order": {"pay_mch_key": {"pay_platform": 1, "out_mch_id": "m", "out_sub_mch_id": "s"},
                                               "order_content": order, "nonce_str": "N"}});
            match twist {
                0 => c["query_order"]["order_content"]["total_fee"] = Value::from("100"),
                1 => c["status"] = Value::from(status.to_string()),
                2 => {
                    let m = c.as_object_mut().unwrap();
                    let v = m.remove("internal_status").unwrap();
                    m.insert("Internal_status".into(), v);
                }
                3 => c["query_order"]["order_content"]["wxpay_order_content_ext"]["current_trade_state"] = Value::from("2"),
                4 => c["query_order"] = Value::Null,
                5 => c["log_id"] = Value::from(u64::MAX),
                6 => c["description"] = Value::from(7),
                7 => c["query_order"]["order_content"]["trade_type"] = Value::from(1.5),
                _ => {}
            }
            let text = if pretty { serde_json::to_string_pretty(&c).unwrap() } else { c.to_string() };
            match twist {
                // A duplicate member, which a tree keeps once (the last) and a typed read rejects.
                8 => text.replacen("\"status\":", "\"status\":3,\"status\":", 1),
                9 => text.replacen("\"out_trade_no\":", "\"out_trade_no\":\"dup\",\"out_trade_no\":", 1),
                _ => text,
            }
        })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(1500))]

    /// Whichever way a reply is read, it decodes to what the tree path gives: the same
    /// status, description, log_id, internal_status, typed result and (as JSON) raw result.
    #[test]
    fn one_pass_reply_read_matches_the_tree_path(text in reply_content()) {
        let ours = Response::<QueryOrderResult>::from_content(Endpoint::QueryOrder, &text);
        match (ours, tree_read(&text)) {
            (Ok(r), Ok((status, desc, log_id, internal, result, raw))) => {
                prop_assert_eq!((r.status, &r.description, r.log_id, r.internal_status), (status, &desc, log_id, internal));
                prop_assert_eq!(&r.result, &result);
                let ours_raw = r.raw_result.as_deref().map(|v| serde_json::from_str::<serde_json::Value>(v.get()).unwrap());
                prop_assert_eq!(ours_raw, raw);
            }
            (Err(_), Err(_)) => {}
            (a, b) => prop_assert!(false, "one read failed and the other did not: {:?} / {:?}", a.err(), b.err()),
        }
    }

    /// Typed reads of whole texts (requests, configuration) give what the tree path gives.
    #[test]
    fn from_text_matches_the_tree_path(req in pay_request(), twist in 0u8..4) {
        let mut v = wire::to_value(&req);
        match twist {
            0 => v["pay_content"]["total_fee"] = serde_json::Value::from(v["pay_content"]["total_fee"].to_string()),
            1 => v["pay_content"]["total_fee"] = serde_json::Value::from(1.5),
            _ => {}
        }
        let text = if twist == 3 { serde_json::to_string_pretty(&v).unwrap() } else { v.to_string() };
        let direct = wire::from_text::<PayRequest>(&text).map_err(|e| e.to_string());
        let tree = wire::from_value::<PayRequest>(v).map_err(|e| e.to_string());
        prop_assert_eq!(direct, tree);
    }
}

/// A reply body as a server might send it: the usual envelope of `content` (sealed or not),
/// or on purpose something unusual: whitespace, the other
/// member order, `authen_info` null or malformed, a duplicate, another member, an escaped
/// name, trailing bytes, a cut or a flipped byte.
fn reply_body() -> impl Strategy<Value = Vec<u8>> {
    (reply_content(), any::<String>(), any::<bool>(), 0u8..16, any::<usize>(), any::<u8>()).prop_map(
        |(content, other, seal, twist, at, byte)| {
            let content = if twist % 2 == 0 { content } else { other };
            let env = ResponseEnvelope::seal(content, seal.then_some(b"TESTONLY-key".as_slice()));
            let body = env.to_body();
            let lit = serde_json::to_string(&env.response_content).unwrap();
            let info =
                env.authen_info.as_ref().map(|a| serde_json::to_string(a).unwrap()).unwrap_or_else(|| "null".into());
            let text = match twist {
                2 => format!(" \r\n{{ \"authen_info\" :\t{info} ,\n \"response_content\" : {lit} }}\n "),
                3 => format!("{{\"response_content\":{lit},\"authen_info\":null}}"),
                4 => format!("{{\"response_content\":{lit},\"authen_info\":7}}"),
                5 => format!("{{\"response_content\":{lit},\"response_content\":\"{{}}\"}}"),
                6 => format!("{{\"response_content\":{lit},\"x\":[1,{{\"a\":null}}],\"authen_info\":{info}}}"),
                7 => format!("{{\"response\\u005fcontent\":{lit}}}"),
                8 => format!("{body} x"),
                9 => format!("{{\"authen_info\":{info}}}"),
                10 => format!("{{\"response_content\":{lit},\"authen_info\":{info},\"authen_info\":{info}}}"),
                11 => format!("{{\"response_content\":{lit}\u{c}}}"),
                _ => body,
            };
            let mut bytes = text.into_bytes();
            match twist {
                12 if !bytes.is_empty() => bytes.truncate(at % bytes.len()),
                13 if !bytes.is_empty() => {
                    let n = bytes.len();
                    bytes[at % n] = byte;
                }
                _ => {}
            }
            bytes
        },
    )
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(3000))]

    /// Whatever the body, reading it ends in a value or an error, never a panic; and a body a
    /// server wrote the usual way reads back as sealed.
    #[test]
    fn reply_bodies_read_without_surprise(body in reply_body()) {
        let _ = ResponseEnvelope::parse(&body);
    }

    #[test]
    fn the_usual_envelope_reads_back(content in any::<String>(), reply in reply_content(), seal in any::<bool>()) {
        for c in [content, reply] {
            let env = ResponseEnvelope::seal(c, seal.then_some(b"TESTONLY-key".as_slice()));
            prop_assert_eq!(ResponseEnvelope::parse(env.to_body().as_bytes()), Ok(env));
        }
    }
}

/// A reply that takes the tree path is read from its normalised text: a number that only an
/// f64 holds (here an integer beyond u64) must survive that text unchanged, so the result and
/// the raw result are what the tree holds. serde_json's `float_roundtrip` makes its text reader
/// round correctly; without it the last digit moved (found by the `reply_content` fuzz target).
#[test]
fn a_number_beyond_u64_reads_the_same_through_the_tree_path() {
    let text = r#"{"status":0,"Internal_status":0,"query_order":{"pay_mch_key":{"pay_platform":0,"x":1234567844444444444444444444444444444449,"y":0.1}}}"#;
    let ours = Response::<QueryOrderResult>::from_content(Endpoint::QueryOrder, text).unwrap();
    let (_, _, _, _, result, raw) = tree_read(text).unwrap();
    assert_eq!(ours.result, result);
    let ours_raw = ours.raw_result.as_deref().map(|v| serde_json::from_str::<serde_json::Value>(v.get()).unwrap());
    assert_eq!(ours_raw, raw);
}
