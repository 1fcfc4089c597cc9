//! Replies the way the real server writes them: `\uXXXX` and `\/` escapes by default (HMAC over
//! the exact escaped text), `reply_style: raw` and `CLOUDPAY_SANDBOX_REPLY_STYLE` to switch,
//! log_ids above 2^31, `sdk_query_sub_mch_info`, and `stat_infos[].date` as the documented int.
//!
//! The tests here take ENV_LOCK: one of them sets the environment variable, which no sandbox
//! starting meanwhile may see half-way.

mod common;

use cloud_pay_protocol::types::*;
use cloud_pay_protocol::{Authenticator, ResponseEnvelope, crypto, wire};
use cloud_pay_sandbox::{REPLY_STYLE_ENV, ReplyStyle, Sandbox, SandboxOptions};
use common::*;
use serde_json::{Value, json};

static ENV_LOCK: std::sync::Mutex<()> = std::sync::Mutex::new(());

fn start_with(style: ReplyStyle) -> Sandbox {
    let mut o = SandboxOptions::demo();
    o.config.reply_style = style;
    Sandbox::start(o).unwrap()
}

/// The raw `response_content` text of a micro_pay reply (body "Sandbox test-goods"; the
/// success description is Chinese) and whether its HMAC verifies over exactly that text.
fn micro_pay_content(sb: &Sandbox) -> (String, bool) {
    let c = Client::http(sb);
    let mut req = micro(&no("rs"), WX_NOW, 100);
    req.pay_content.body = "咖啡 coffee/tea 🍵".into();
    let body = c.send_text("micro_pay", wire::to_text(&req), Authenticator::Hmac(KEY));
    let env = ResponseEnvelope::parse(&body).unwrap();
    let code = env.authen_info.as_ref().and_then(|a| a.a.as_ref()).map(|a| a.authen_code.clone()).unwrap();
    let verified = crypto::verify_authen_code(KEY, env.response_content.as_bytes(), &code, false);
    (env.response_content, verified)
}

fn set_env(v: Option<&str>) {
    // SAFETY: under ENV_LOCK; nothing else in this binary reads the environment meanwhile.
    unsafe {
        match v {
            Some(v) => std::env::set_var(REPLY_STYLE_ENV, v),
            None => std::env::remove_var(REPLY_STYLE_ENV),
        }
    }
}

#[test]
fn replies_look_like_the_real_servers() {
    let _lock = ENV_LOCK.lock().unwrap_or_else(|e| e.into_inner());
    let saved = std::env::var(REPLY_STYLE_ENV).ok();
    set_env(None);

    // Default: escaped. No byte above 0x7F, no bare '/', the HMAC covers the escaped text, and
    // the text means the same JSON as the raw one.
    let sb = start_with(ReplyStyle::default());
    let (text, verified) = micro_pay_content(&sb);
    assert!(verified, "HMAC over the escaped text: {text}");
    assert!(text.is_ascii(), "{text}");
    assert!(text.contains(r"\u64cd\u4f5c\u6210\u529f\u3002"), "操作成功。 escaped: {text}");
    assert!(text.contains(r"coffee\/tea") && text.contains(r"\ud83c\udf75"), "slash and surrogate pair: {text}");
    assert!(!text.replace(r"\/", "").contains('/'), "{text}");
    let v: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(v["description"], json!("操作成功。"));
    assert_eq!(v["micro_pay"]["order_content"]["body"], json!("咖啡 coffee/tea 🍵"));

    // log_id above 2^31 (the real server's are, e.g. 3594950898).
    let log_id = v["log_id"].as_i64().unwrap();
    assert!(log_id > i64::from(i32::MAX), "log_id {log_id}");

    // The protocol crate's client reads the escaped reply (status, log_id, result).
    let c = Client::http(&sb);
    let r = c.call::<QueryOrder>(&query(v["micro_pay"]["order_content"]["out_trade_no"].as_str().unwrap()));
    assert_eq!(r.response.as_ref().unwrap().log_id, log_id + 1);
    assert_eq!(ok(&r).order_content.unwrap().body.as_deref(), Some("咖啡 coffee/tea 🍵"));
    drop(sb);

    // raw: UTF-8 and plain slashes, HMAC over those bytes.
    let sb = start_with(ReplyStyle::Raw);
    let (text, verified) = micro_pay_content(&sb);
    assert!(verified, "{text}");
    assert!(text.contains("操作成功。") && text.contains("coffee/tea 🍵"), "{text}");
    drop(sb);

    // The environment variable overrides the config, both ways; a bad value is an error.
    set_env(Some("raw"));
    let (text, _) = micro_pay_content(&start_with(ReplyStyle::Escaped));
    assert!(text.contains("操作成功。"), "{text}");
    set_env(Some("ESCAPED"));
    let (text, _) = micro_pay_content(&start_with(ReplyStyle::Raw));
    assert!(text.is_ascii(), "{text}");
    set_env(Some("fancy"));
    let err = Sandbox::start(SandboxOptions::demo()).err().expect("bad style refused");
    assert!(err.to_string().contains(REPLY_STYLE_ENV), "{err}");
    set_env(saved.as_deref());
}

#[test]
fn sub_mch_info_and_stat_dates() {
    let _lock = ENV_LOCK.lock().unwrap_or_else(|e| e.into_inner());
    let sb = start();
    let c = Client::http(&sb);

    // sdk_query_sub_mch_info (docs/wire-protocol.md, "sdk_query_sub_mch_info"): one SubMch per
    // platform binding; page 1 of size 1 only.
    let req = |page_num: i64, page_size: i64| {
        json!({"out_sub_mch_id": SUB, "nonce_str": nonce(), "page_num": page_num, "page_size": page_size}).to_string()
    };
    let body = c.send_text("sdk_query_sub_mch_info", req(1, 1), Authenticator::Hmac(KEY));
    let env = ResponseEnvelope::parse(&body).unwrap();
    let code = env.authen_info.as_ref().and_then(|a| a.a.as_ref()).unwrap().authen_code.clone();
    assert!(crypto::verify_authen_code(KEY, env.response_content.as_bytes(), &code, false));
    let v: Value = serde_json::from_str(&env.response_content).unwrap();
    assert_eq!(v["status"], json!(0), "{v}");
    let r = &v["query_sub_mch_info"];
    assert_eq!(r["total_count"], json!(2), "{r}");
    let subs = r["sub_mch_infos"].as_array().unwrap();
    assert_eq!(subs.iter().map(|s| s["pay_platform"].as_i64().unwrap()).collect::<Vec<_>>(), [1, 2]);
    for s in subs {
        assert_eq!(s["out_mch_id"], json!(MCH));
        let info = &s["sub_mch_infos"][0];
        assert_eq!(
            (info["out_sub_mch_id"].as_str(), info["cloud_cashier_id"].as_str()),
            (Some(SUB), Some("sz0100test"))
        );
        assert!(info["merchant_name"].is_string() && info["direct"] == json!(true), "{info}");
        assert!(info.get("authen_key").is_none(), "no key material");
    }
    let v = wire::object_from_text(
        &ResponseEnvelope::parse(&c.send_text("sdk_query_sub_mch_info", req(1, 2), Authenticator::Hmac(KEY)))
            .unwrap()
            .response_content,
    )
    .unwrap();
    assert_eq!(v["status"], json!(101), "page_size must be 1");
    let bad =
        c.send_text("sdk_query_sub_mch_info", req(1, 1), Authenticator::Hmac(b"TESTONLY0123456789ABCDEFGHIJKLMX"));
    let v = wire::object_from_text(&ResponseEnvelope::parse(&bad).unwrap().response_content).unwrap();
    assert_eq!((v["status"].as_i64(), v["internal_status"].as_i64()), (Some(101), Some(7)), "HMAC checked");

    // stat_infos[].date: an integer — 20240105 (day), 202401 (month or ISO week), 2024.
    ok(&c.call::<MicroPay>(&micro(&no("sd"), WX_NOW, 100)));
    for (stat, digits) in [(1, 8), (2, 6), (3, 6), (4, 4)] {
        let body = c.send_text(
            "client_sub_mch_sales_overview",
            wire::to_text(&SalesOverviewRequest {
                out_mch_id: MCH.into(),
                out_sub_mch_id: SUB.into(),
                stat_type: Some(StatType(stat)),
                nonce_str: Some(nonce()),
                ..Default::default()
            }),
            Authenticator::Hmac(KEY),
        );
        let v: Value = serde_json::from_str(&ResponseEnvelope::parse(&body).unwrap().response_content).unwrap();
        let date = &v["client_sub_mch_sales_overview"]["stat_infos"][0]["date"];
        assert!(date.is_i64(), "stat_type {stat}: date {date} is a number");
        assert_eq!(date.to_string().len(), digits, "stat_type {stat}: {date}");
    }
}
