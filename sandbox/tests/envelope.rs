//! Envelope, authentication, validation and what real clients put on the wire.

mod common;
use cloud_pay_protocol::types::*;
use cloud_pay_protocol::{AuthCheck, Authenticator, RequestEnvelope, ResponseEnvelope, crypto};
use cloud_pay_sandbox::{Sandbox, SandboxConfig, SandboxOptions};
use common::*;
use serde_json::json;

/// Sends raw inner JSON text, HMAC'd with the demo key; returns (status, internal_status, has authen_info).
fn send(c: &Client, path: &str, content: &str) -> (i32, i32, bool) {
    let body = c.send_text(path, content.to_owned(), Authenticator::Hmac(KEY));
    let env = ResponseEnvelope::parse(&body).unwrap();
    let v = json(env.response_content.as_bytes());
    if env.authen_info.is_some() {
        assert_eq!(env.check(KEY), AuthCheck::Verified);
    }
    (v["status"].as_i64().unwrap() as i32, v["internal_status"].as_i64().unwrap() as i32, env.authen_info.is_some())
}

#[test]
fn bad_hmac_is_101_7_without_authen_info_and_nothing_happens() {
    let sb = start();
    let c = Client::http(&sb);
    let n = no("h");
    let text = cloud_pay_protocol::wire::to_text(&micro(&n, WX_NOW, 100));
    let mut env = RequestEnvelope::seal(text.clone(), Authenticator::Hmac(KEY));
    // The code of a different text (one character changed).
    env.authen_info.as_mut().unwrap().a.as_mut().unwrap().authen_code =
        crypto::authen_code(KEY, format!("{text} ").as_bytes());
    let (_, body) = c.post("micro_pay", &env.to_body()).unwrap();
    let resp = ResponseEnvelope::parse(&body).unwrap();
    assert!(resp.authen_info.is_none(), "101 carries no authen_info");
    let v = json(resp.response_content.as_bytes());
    assert_eq!((v["status"].as_i64(), v["internal_status"].as_i64()), (Some(101), Some(7)));
    assert!(v.get("micro_pay").is_none());
    assert!(sb.control().order(&n).is_none());
    // Wrong key, missing authen_info, lower-case code: all 101.
    let r = c.call_with::<MicroPay>(&micro(&n, WX_NOW, 100), Authenticator::Hmac(b"another-key"));
    assert_eq!(status(&r), (101, 7));
    let r = c.call_with::<MicroPay>(&micro(&n, WX_NOW, 100), Authenticator::None);
    assert_eq!(status(&r).0, 101);
    let mut env = RequestEnvelope::seal(text.clone(), Authenticator::Hmac(KEY));
    let a = env.authen_info.as_mut().unwrap().a.as_mut().unwrap();
    a.authen_code = a.authen_code.to_lowercase();
    let lower_body = env.to_body();
    let (_, body) = c.post("micro_pay", &lower_body).unwrap();
    assert_eq!(status(&cloud_pay_protocol::envelope::open_reply::<MicroPay>(&body, KEY)), (101, 7));
    assert_eq!(sb.control().charge_count(&n), 0);
    // …unless the sandbox is told to accept lower case.
    let mut cfg = SandboxConfig::demo();
    cfg.accept_lowercase_hmac = true;
    let lenient = Sandbox::start(SandboxOptions { config: cfg, ..SandboxOptions::demo() }).unwrap();
    let (_, body) = Client::http(&lenient).post("micro_pay", &lower_body).unwrap();
    ok(&cloud_pay_protocol::envelope::open_reply::<MicroPay>(&body, KEY));
}

#[test]
fn malformed_envelopes_are_101_with_http_200() {
    let sb = start();
    let c = Client::http(&sb);
    for body in ["not json", "[]", "{}", r#"{"request_content":{"a":1}}"#, r#"{"request_content":"not json"}"#] {
        let (code, b) = c.post("micro_pay", body).unwrap();
        assert_eq!(code, 200);
        let env = ResponseEnvelope::parse(&b).unwrap();
        assert!(env.authen_info.is_none());
        assert_eq!(json(env.response_content.as_bytes())["status"], 101, "{body}");
    }
    // Unknown sub-merchant.
    let mut req = micro(&no("x"), WX_NOW, 1);
    req.pay_mch_key.out_sub_mch_id = "sz01UNKNOWNSUBMCH001".into();
    assert_eq!(status(&c.call::<MicroPay>(&req)).0, 101);
    // Unknown endpoint → 404; GET on a business endpoint → 405.
    assert_eq!(c.post("no_such_endpoint", "{}").unwrap().0, 404);
    assert_eq!(c.get("micro_pay").0, 405);
}

#[test]
fn field_validation_is_101() {
    let sb = start();
    let c = Client::http(&sb);
    type Mutation = Box<dyn Fn(&mut PayRequest)>;
    let cases: Vec<(&str, Mutation)> = vec![
        ("wrong prefix", Box::new(|r| r.pay_content.out_trade_no = "xx0100test123".into())),
        ("bad characters", Box::new(|r| r.pay_content.out_trade_no = format!("{PREFIX}ab.c"))),
        ("too long", Box::new(|r| r.pay_content.out_trade_no = format!("{PREFIX}{}", "1".repeat(23)))),
        ("zero amount", Box::new(|r| r.pay_content.total_fee = 0)),
        ("negative amount", Box::new(|r| r.pay_content.total_fee = -5)),
        ("fee type", Box::new(|r| r.pay_content.fee_type = "USD".into())),
        ("no body", Box::new(|r| r.pay_content.body = String::new())),
        ("no nonce", Box::new(|r| r.nonce_str = String::new())),
        ("nonce chars", Box::new(|r| r.nonce_str = "abc-def".into())),
        ("nonce length", Box::new(|r| r.nonce_str = "a".repeat(33))),
        ("unknown shop", Box::new(|r| r.pay_mch_key.out_shop_id = Some("sz01NOSUCHSHOP000001".into()))),
        ("wrong out_mch_id", Box::new(|r| r.pay_mch_key.out_mch_id = "sz01OTHERMCH00000001".into())),
    ];
    for (what, f) in cases {
        let mut req = micro(&no("v"), WX_NOW, 100);
        f(&mut req);
        let r = c.call::<MicroPay>(&req);
        assert_eq!(status(&r).0, 101, "{what}");
        assert_eq!(r.auth, AuthCheck::Missing, "{what}: 101 carries no authen_info");
    }
    // The numeric prefix and a 32-character number are fine.
    ok(&c.call::<MicroPay>(&micro("01000052ABCDEFGHIJ_-0123456789ab", WX_NOW, 100)));
}

#[test]
fn what_real_clients_send_is_accepted() {
    let sb = start();
    let c = Client::http(&sb);
    let n = no("rc");
    // Amounts as numeric strings, blank order_client fields, terminal_type 0, a 16-digit nonce.
    let content = json!({
        "pay_mch_key": {"out_mch_id": MCH, "out_sub_mch_id": SUB, "out_shop_id": SHOP},
        "pay_content": {"out_trade_no": n, "author_code": WX_NOW, "total_fee": "250", "fee_type": "CNY", "body": "x"},
        "order_client": {"device_id": "", "staff_id": "", "machine_no": "", "terminal_type": 0, "sdk_version": "", "spbill_create_ip": ""},
        "nonce_str": "1234567890123456"
    });
    assert_eq!(send(&c, "micro_pay", &content.to_string()), (0, 0, true));
    assert_eq!(sb.control().order(&n).unwrap()["total_fee"], 250);
    // query_order without pay_platform / trade_type, with a trailing newline (JsonCpp FastWriter).
    let q = json!({"pay_mch_key": {"out_mch_id": MCH, "out_sub_mch_id": SUB, "out_shop_id": SHOP},
        "order_client": {"terminal_type": 0}, "out_trade_no": n, "nonce_str": "abc"});
    assert_eq!(send(&c, "query_order", &format!("{q}\n")), (0, 0, true));
    // Non-ASCII and escaped slashes in the inner text are hashed as sent.
    let mut v = micro(&no("u8"), WX_NOW, 10);
    v.pay_content.body = "测试商品/饮料".into();
    let text = cloud_pay_protocol::wire::to_text(&v).replace('/', "\\/");
    assert_eq!(send(&c, "micro_pay", &text).0, 0);
}

#[test]
fn success_replies_are_signed_and_carry_the_documented_common_fields() {
    let sb = start();
    let c = Client::https(&sb);
    let body = c.send_text(
        "micro_pay",
        cloud_pay_protocol::wire::to_text(&micro(&no("s"), WX_NOW, 1)),
        Authenticator::Hmac(KEY),
    );
    let env = ResponseEnvelope::parse(&body).unwrap();
    assert_eq!(env.check(KEY), AuthCheck::Verified);
    let v = json(env.response_content.as_bytes());
    assert_eq!(v["description"], "操作成功。");
    assert_eq!(v["internal_status"], 0);
    let log1 = v["log_id"].as_i64().unwrap();
    let nonce1 = v["micro_pay"]["nonce_str"].as_str().unwrap().to_owned();
    assert_eq!(nonce1.len(), 32);
    let body = c.send_text(
        "micro_pay",
        cloud_pay_protocol::wire::to_text(&micro(&no("s"), WX_NOW, 1)),
        Authenticator::Hmac(KEY),
    );
    let v = json(ResponseEnvelope::parse(&body).unwrap().response_content.as_bytes());
    assert!(v["log_id"].as_i64().unwrap() > log1, "log_id is a counter");
    assert_ne!(v["micro_pay"]["nonce_str"].as_str().unwrap(), nonce1);
}

#[test]
fn ping_answers_get_and_post_with_a_plain_object() {
    let sb = start();
    let c = Client::http(&sb);
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs() as i64;
    for (code, body) in [c.get("ping"), c.post("ping", "").unwrap(), c.post("ping", "CPing").unwrap()] {
        assert_eq!(code, 200);
        let v = json(&body);
        assert_eq!(v["status"], 0);
        assert_eq!(v["description"], "ok");
        assert!((v["timestamp"].as_i64().unwrap() - now).abs() <= 2);
        assert!(v.get("response_content").is_none());
    }
    assert_eq!(sb.control().request_count("ping"), 3);
}

#[test]
fn keep_alive_and_chunked_bodies() {
    let sb = start();
    let host = host_of(&sb.http_base_url());
    let before = sb.control().connections_accepted();
    // Two pings on one connection, the second asking to close.
    let out = raw_http(
        &host,
        format!("GET /cpay/ping HTTP/1.1\r\nHost: {host}\r\n\r\nPOST /cpay/ping HTTP/1.1\r\nHost: {host}\r\nContent-Length: 2\r\nConnection: close\r\n\r\n{{}}").as_bytes(),
    );
    let text = String::from_utf8_lossy(&out);
    assert_eq!(text.matches("HTTP/1.1 200").count(), 2, "{text}");
    assert_eq!(sb.control().connections_accepted(), before + 1);
    // A chunked micro_pay body.
    let n = no("ch");
    let env = RequestEnvelope::seal(cloud_pay_protocol::wire::to_text(&micro(&n, WX_NOW, 7)), Authenticator::Hmac(KEY))
        .to_body();
    let (a, b) = env.split_at(env.len() / 2);
    let req = format!(
        "POST /cpay/micro_pay HTTP/1.1\r\nHost: {host}\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n{:x}\r\n{a}\r\n{:x}\r\n{b}\r\n0\r\n\r\n",
        a.len(),
        b.len()
    );
    let out = raw_http(&host, req.as_bytes());
    let text = String::from_utf8_lossy(&out);
    assert!(text.starts_with("HTTP/1.1 200"), "{text}");
    assert_eq!(sb.control().charge_count(&n), 1);
    // `Expect: 100-continue` (curl, bodies over 1 KB) gets its interim reply.
    let out = raw_http(
        &host,
        format!("POST /cpay/ping HTTP/1.1\r\nHost: {host}\r\nExpect: 100-continue\r\nContent-Length: 2\r\nConnection: close\r\n\r\n{{}}").as_bytes(),
    );
    let text = String::from_utf8_lossy(&out);
    assert!(text.starts_with("HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200"), "{text}");
}
