//! Shop, listing, statistics and prefix exports against the sandbox's own data.

use std::ffi::c_char;

use crate::common::*;
use cloud_pay_sdk as sdk;
use serde_json::{Value, json};

fn out_call(f: OutFn, req: &Value, cap: usize) -> (i32, Value, String) {
    let (code, out, err) = call_out(f, &req.to_string(), cap);
    (code, serde_json::from_str(&out).unwrap_or(Value::Null), err)
}

unsafe extern "C" fn order_stat_c(req: *const c_char, out: *mut c_char, len: i32) -> i32 {
    unsafe { sdk::cloud_pay_order_stat(req, out, len) }
}

unsafe extern "C" fn prefix_c(_req: *const c_char, out: *mut c_char, len: i32) -> i32 {
    unsafe { sdk::cloud_pay_security_author_code_prefix(out, len) }
}

/// Every export of this family: -3 before init, for bad buffers, and for a short buffer.
#[test]
fn local_failures_are_minus_three() {
    let _g = serial();
    let fns: [(&str, OutFn); 5] = [
        ("query_shop_info", sdk::cloud_pay_query_shop_info),
        ("set_shop_info", sdk::cloud_pay_set_shop_info),
        ("order_detail", sdk::cloud_pay_order_detail),
        ("order_stat", order_stat_c),
        ("author_code_prefix", prefix_c),
    ];
    for (name, f) in fns {
        let (code, _, err) = call_out(f, "{}", 64);
        assert_eq!(code, -3, "{name}");
        assert!(err.contains("not initialised"), "{name}: {err}");
        let code = unsafe { f(c("{}").as_ptr(), std::ptr::null_mut(), 64) };
        assert_eq!(code, -3, "{name}: NULL buffer");
    }
    let sb = start_sandbox();
    init_http(&sb);
    for (name, f) in fns {
        let (code, out, err) = call_out(
            f,
            r#"{"page_num":1,"page_size":10,"is_all":false,"shop_infos":[{"shop_id":"x1","shop_name":"X"}]}"#,
            4,
        );
        assert_eq!((code, out.as_str()), (-3, ""), "{name}: short buffer");
        assert!(err.contains("buffer too small, need"), "{name}: {err}");
    }
    let (code, _, err) = call_out(sdk::cloud_pay_query_shop_info, r#"{"page_size":0}"#, 4096);
    assert_eq!(code, -3);
    assert!(err.contains("page_size"), "{err}");
    let (code, _, err) = call_out(sdk::cloud_pay_set_shop_info, r#"{"shop_infos":[]}"#, 4096);
    assert_eq!(code, -3);
    assert!(err.contains("is_all is required"), "{err}");
    let (code, _, err) = call_out(sdk::cloud_pay_order_detail, r#"{"staff_id":"1001"}"#, 4096);
    assert_eq!(code, -3);
    assert!(err.contains("staff_id needs out_shop_id"), "{err}");
    let (code, _, err) = call_out(order_stat_c, r#"{"out_shop_id":[1,2]}"#, 4096);
    assert_eq!(code, -3);
    assert!(err.contains("out_shop_id"), "{err}");
    sdk::cloud_pay_fini();
    sb.stop();
}

/// Server answers: -1 for a rejection, -2 for an untrusted or lost reply.
#[test]
fn rejections_are_minus_one_and_unknown_replies_minus_two() {
    let _g = serial();
    let sb = start_sandbox();
    init_http(&sb);
    let cases: [(&str, OutFn, Value); 4] = [
        ("query_sub_mch_shop_info", sdk::cloud_pay_query_shop_info, json!({"page_num": 1, "page_size": 10})),
        (
            "set_sub_mch_shop_info",
            sdk::cloud_pay_set_shop_info,
            json!({"is_all": false, "shop_infos": [{"shop_id": "s9", "shop_name": "n"}]}),
        ),
        ("client_order_detail", sdk::cloud_pay_order_detail, json!({"page_num": 1, "page_size": 10})),
        ("client_sub_mch_sales_overview", order_stat_c, json!({"page_num": 1, "page_size": 10})),
    ];
    for (endpoint, f, req) in cases {
        sb.control().add_fault(fault(endpoint, FaultKind::Status101, Some(1)));
        assert_eq!(out_call(f, &req, 65536).0, -1, "{endpoint}: 101");
        for kind in [FaultKind::BadHmac, FaultKind::MissingAuthen, FaultKind::Status3, FaultKind::Http500] {
            sb.control().add_fault(fault(endpoint, kind.clone(), Some(1)));
            let (code, _, err) = out_call(f, &req, 65536);
            assert_eq!(code, -2, "{endpoint}: {kind:?}: {err}");
        }
        assert_eq!(out_call(f, &req, 65536).0, 0, "{endpoint}");
    }
    sdk::cloud_pay_fini();
    sb.stop();
}

#[test]
fn shops_are_listed_filtered_added_and_replaced() {
    let _g = serial();
    let sb = start_sandbox();
    init_http(&sb);
    let (code, out, err) = out_call(sdk::cloud_pay_query_shop_info, &json!({"page_num": 1, "page_size": 100}), 65536);
    assert_eq!(code, 0, "{err}");
    let shops = out["shop_infos"].as_array().unwrap();
    assert!(shops.iter().any(|s| s["out_shop_id"] == "sz01TESTSHOP00000001"), "{out}");
    assert_eq!(out["total_count"].as_u64().unwrap() as usize, shops.len());
    let (code, out, _) = out_call(
        sdk::cloud_pay_query_shop_info,
        &json!({"page_num": 1, "page_size": 100, "out_shop_id": "sz01TESTSHOP00000001"}),
        65536,
    );
    assert_eq!((code, out["total_count"].as_i64()), (0, Some(1)));
    // Add a shop (is_all false): the reply lists every shop, the new one included.
    let before = shops.len();
    let req = json!({"is_all": false, "shop_infos": [{"shop_id": "branch-7", "shop_name": "Branch 7", "device_infos": [{"device_id": "pos7", "device_type": 1}], "staff_infos": [{"staff_id": "s7", "staff_name": "Lee"}]}]});
    let (code, out, err) = out_call(sdk::cloud_pay_set_shop_info, &req, 65536);
    assert_eq!(code, 0, "{err}");
    assert_eq!(out["shop_infos"].as_array().unwrap().len(), before + 1, "{out}");
    assert!(out["shop_infos"].as_array().unwrap().iter().any(|s| s["shop_id"] == "branch-7"));
    let (_, listed, _) = out_call(sdk::cloud_pay_query_shop_info, &json!({"page_num": 1, "page_size": 100}), 65536);
    assert_eq!(listed["total_count"].as_u64().unwrap() as usize, before + 1);
    // Replace everything (is_all true) with one shop.
    let req = json!({"is_all": true, "shop_infos": [{"shop_id": "only", "shop_name": "Only shop"}]});
    let (code, out, _) = out_call(sdk::cloud_pay_set_shop_info, &req, 65536);
    assert_eq!(code, 0);
    assert_eq!(out["total_count"], 1, "{out}");
    sdk::cloud_pay_fini();
    sb.stop();
}

#[test]
fn order_detail_and_stat_agree_with_the_payments_just_made() {
    let _g = serial();
    let sb = start_sandbox();
    sb.control().set_refund_delay_ms(0);
    init_http(&sb);
    let start = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs() as i64 - 5;
    let mut paid = Vec::new();
    for (code, fee) in [(WX_PAYS_AT_ONCE, 100), (WX_PAYS_AT_ONCE, 250), (ALI_PAYS_AT_ONCE, 75)] {
        let no = order_no();
        assert_eq!(micro_pay(&pay_req(&no, code, fee)).0, 0);
        paid.push((no, fee));
    }
    let (refund_no, _) = &paid[1];
    assert_eq!(refund(&json!({"out_trade_no": refund_no, "out_refund_no": format!("{}R", &refund_no[..31]), "total_fee": 250, "refund_fee": 50})).0, 0);
    let end = start + 3600;
    let (code, out, err) = out_call(
        sdk::cloud_pay_order_detail,
        &json!({"page_num": 1, "page_size": 50, "query_order_type": 3, "start_time": start, "end_time": end}),
        1 << 20,
    );
    assert_eq!(code, 0, "{err}");
    assert_eq!(out["total_count"], 4, "3 orders and 1 refund: {out}");
    let rows = out["order_details"].as_array().unwrap();
    let orders: Vec<&Value> = rows.iter().filter_map(|r| r["receipt"].get("order")).collect();
    let refunds: Vec<&Value> = rows.iter().filter_map(|r| r["receipt"].get("refund_order")).collect();
    assert_eq!((orders.len(), refunds.len()), (3, 1));
    for (no, fee) in &paid {
        let o = orders.iter().find(|o| o["order_content"]["out_trade_no"] == no.as_str()).expect("listed");
        assert_eq!(o["order_content"]["total_fee"], *fee);
    }
    let refunded = orders.iter().find(|o| o["order_content"]["out_trade_no"] == refund_no.as_str()).unwrap();
    assert_eq!(refunded["order_content"]["refunded_fee"], 50);
    // Filter: Alipay orders only.
    let (_, alipay, _) = out_call(
        sdk::cloud_pay_order_detail,
        &json!({"page_num": 1, "page_size": 50, "query_order_type": 1, "pay_platform": 2, "start_time": start, "end_time": end}),
        1 << 20,
    );
    assert_eq!(alipay["total_count"], 1, "{alipay}");
    // Statistics over the same range and shop.
    let (code, stat, err) = out_call(
        order_stat_c,
        &json!({"page_num": 1, "page_size": 10, "start_time": start, "end_time": end, "out_shop_id": ["sz01TESTSHOP00000001"]}),
        1 << 16,
    );
    assert_eq!(code, 0, "{err}");
    let ov = &stat["overview"];
    assert_eq!(ov["success_count"], 3, "{stat}");
    assert_eq!(ov["success_amount"], 425);
    assert_eq!(ov["refund_amount"], 50);
    let (_, wx, _) = out_call(
        order_stat_c,
        &json!({"page_num": 1, "page_size": 10, "start_time": start, "end_time": end, "pay_platform": 1}),
        1 << 16,
    );
    assert_eq!(wx["overview"]["success_amount"], 350, "{wx}");
    sdk::cloud_pay_fini();
    sb.stop();
}

#[test]
fn author_code_prefixes_from_the_server_drive_platform_inference_with_a_visible_fallback() {
    let _g = serial();
    let mut opts = SandboxOptions::demo();
    // This merchant's WeChat codes also start with 17 (not in the public rules).
    opts.config.merchants[0].wx_author_codes.push("17".into());
    let sb = Sandbox::start(opts).unwrap();
    init_http(&sb);
    let code17 = "174567890123456789";
    let (code, _, err) = micro_pay(&pay_req(&order_no(), code17, 1));
    assert_eq!(code, -1, "before the server's prefixes are known, 17… is not a known code");
    assert!(err.contains("unsupported payment code"), "{err}");
    let (code, out, err) = out_call(prefix_c, &Value::Null, 1024);
    assert_eq!(code, 0, "{err}");
    assert_eq!(out["source"], "server");
    assert!(out["wx_author_code_prefix"].as_array().unwrap().contains(&json!("17")));
    assert_eq!(out["author_code_prefix"][1]["pay_platform"], 2);
    let requests = sb.control().request_count("query_identity_mapping");
    assert_eq!(out_call(prefix_c, &Value::Null, 1024).0, 0);
    assert_eq!(sb.control().request_count("query_identity_mapping"), requests, "cached");
    let no = order_no();
    let (code, out, err) = micro_pay(&pay_req(&no, code17, 1));
    assert_eq!((code, out["pay_platform"].as_i64()), (0, Some(1)), "{err}");
    sdk::cloud_pay_fini();
    // The server cannot be reached: the public rules, marked as such.
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    assert_eq!(init(&conf(&format!("http://127.0.0.1:{port}/cpay/"), None, json!({}))), 0);
    let (code, out, err) = out_call(prefix_c, &Value::Null, 1024);
    assert_eq!(code, 0);
    assert_eq!(out["source"], "public_rules");
    assert_eq!(out["wx_author_code_prefix"], json!(["10", "11", "12", "13", "14", "15"]));
    assert_eq!(out["ali_author_code_prefix"], json!(["25", "26", "27", "28", "29", "30"]));
    assert!(err.contains("public rules"), "{err}");
    sdk::cloud_pay_fini();
    sb.stop();
}
