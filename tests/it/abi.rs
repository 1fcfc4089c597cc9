//! ABI hygiene: NULL, bad lengths, bad JSON, GBK, missing fields, short buffers,
//! per-thread errmsg, not initialised, concurrency, fini in flight.

use std::ffi::c_char;
use std::time::{Duration, Instant};

use crate::common::*;
use cloud_pay_sdk as sdk;
use serde_json::json;

#[test]
fn every_export_before_init_says_not_initialised() {
    let _g = serial();
    let req = c(&json!({"out_trade_no": "sz0100test1", "author_code": WX_PAYS_AT_ONCE, "total_fee": 1, "body": "b", "trade_type": 1, "refund_fee": 1, "pay_platform": 1}).to_string());
    let mut buf = [0 as c_char; 256];
    let cases: [(&str, i32, i32); 6] = unsafe {
        [
            ("micro_pay", sdk::cloud_pay_micro_pay(req.as_ptr(), buf.as_mut_ptr(), 256), -1),
            ("query_order", sdk::cloud_pay_query_order(req.as_ptr(), buf.as_mut_ptr(), 256), -3),
            ("cancel_order", sdk::cloud_pay_cancel_order(req.as_ptr()), -3),
            ("scan_code_pay", sdk::cloud_pay_scan_code_pay(req.as_ptr()), -1),
            ("refund", sdk::cloud_pay_refund(req.as_ptr()), -3),
            ("query_refund", sdk::cloud_pay_query_refund(req.as_ptr(), buf.as_mut_ptr(), 256), -3),
        ]
    };
    for (name, code, want) in cases {
        assert_eq!(code, want, "{name}");
    }
    assert!(errmsg().contains("not initialised"), "{}", errmsg());
    assert_eq!(sdk::cloud_pay_fini(), 0, "fini without init is fine");
}

#[test]
fn init_rejects_bad_configuration_naming_the_field() {
    let _g = serial();
    assert_eq!(unsafe { sdk::cloud_pay_init(std::ptr::null()) }, -1);
    assert!(errmsg().contains("conf is NULL"));
    assert_eq!(init("{not json"), -1);
    assert!(errmsg().contains("not valid JSON"), "{}", errmsg());
    let good: serde_json::Value = serde_json::from_str(&conf("http://127.0.0.1:1/cpay/", None, json!({}))).unwrap();
    for (path, value, needle) in [
        ("/trade_conf/authen_key", json!(null), "trade_conf.authen_key"),
        ("/trade_conf/out_mch_id", json!(""), "trade_conf.out_mch_id"),
        ("/trade_conf/out_sub_mch_id", json!(null), "trade_conf.out_sub_mch_id"),
        ("/trade_conf/out_shop_id", json!(null), "trade_conf.out_shop_id"),
        ("/trade_conf/authen_type", json!(2), "trade_conf.authen_type"),
        (
            "/trade_conf/private_key",
            json!("-----BEGIN RSA PRIVATE KEY-----\nxx\n-----END RSA PRIVATE KEY-----"),
            "trade_conf.private_key",
        ),
        ("/common_conf/micro_pay_query_order_interval", json!(-1), "micro_pay_query_order_interval"),
        ("/common_conf/micro_pay_query_order_count", json!("abc"), "micro_pay_query_order_count"),
        ("/common_conf/base_url", json!("ftp://x"), "common_conf.base_url"),
        ("/common_conf/ca_file", json!("/nonexistent/ca.pem"), "common_conf.ca_file"),
    ] {
        let mut c = good.clone();
        let (parent, key) = path.rsplit_once('/').unwrap();
        let obj = c.pointer_mut(parent).unwrap().as_object_mut().unwrap();
        if value.is_null() {
            obj.remove(key);
        } else {
            obj.insert(key.to_owned(), value);
        }
        assert_eq!(init(&c.to_string()), -1, "{path}");
        assert!(errmsg().contains(needle), "{path}: {}", errmsg());
        assert!(!errmsg().contains("TESTONLY"), "errmsg never shows the authen_key");
    }
    assert_eq!(init(&good.to_string()), 0);
    // Nothing listens on port 1: only the connectivity check's notice, no unknown key.
    assert!(errmsg().starts_with("connectivity check failed"), "{}", errmsg());
    // Integers may come as numeric strings; intervals may be fractional.
    let mut s = good.clone();
    s["common_conf"]["micro_pay_query_order_count"] = json!("7");
    s["common_conf"]["micro_pay_query_order_interval"] = json!(0.25);
    assert_eq!(init(&s.to_string()), 0, "{}", errmsg());
    sdk::cloud_pay_fini();
}

#[test]
fn bad_requests_get_the_documented_code_and_a_precise_message() {
    let _g = serial();
    let sb = start_sandbox();
    init_http(&sb);
    let mut buf = [0 as c_char; 64];
    unsafe {
        assert_eq!(sdk::cloud_pay_micro_pay(std::ptr::null(), buf.as_mut_ptr(), 64), -1);
        assert!(errmsg().contains("req is NULL"));
        assert_eq!(sdk::cloud_pay_micro_pay(c("{}").as_ptr(), std::ptr::null_mut(), 64), -1);
        assert!(errmsg().contains("resp is NULL"));
        assert_eq!(sdk::cloud_pay_micro_pay(c("{}").as_ptr(), buf.as_mut_ptr(), 0), -1);
        assert!(errmsg().contains("length"));
        assert_eq!(sdk::cloud_pay_query_order(c("{}").as_ptr(), buf.as_mut_ptr(), -1), -3);
        assert_eq!(sdk::cloud_pay_query_refund(c("{}").as_ptr(), std::ptr::null_mut(), 10), -3);
        assert_eq!(sdk::cloud_pay_cancel_order(std::ptr::null()), -3);
        assert_eq!(sdk::cloud_pay_refund(std::ptr::null()), -3);
        assert_eq!(sdk::cloud_pay_scan_code_pay(std::ptr::null()), -1);
        // GBK bytes from a legacy POS: "商品" encoded as GBK.
        let gbk = b"{\"out_trade_no\":\"sz0100test1\",\"body\":\"\xc9\xcc\xc6\xb7\"}\0";
        assert_eq!(sdk::cloud_pay_micro_pay(gbk.as_ptr().cast(), buf.as_mut_ptr(), 64), -1);
        assert!(errmsg().contains("UTF-8") && errmsg().contains("GBK"), "{}", errmsg());
    }
    let cases = [
        (json!({"author_code": WX_PAYS_AT_ONCE, "total_fee": 1, "body": "b"}), "out_trade_no is required"),
        (json!({"out_trade_no": "sz0100test1", "total_fee": 1, "body": "b"}), "author_code is required"),
        (json!({"out_trade_no": "sz0100test1", "author_code": WX_PAYS_AT_ONCE, "body": "b"}), "total_fee is required"),
        (
            json!({"out_trade_no": "sz0100test1", "author_code": WX_PAYS_AT_ONCE, "total_fee": 0, "body": "b"}),
            "total_fee must be a positive",
        ),
        (
            json!({"out_trade_no": "sz0100test1", "author_code": WX_PAYS_AT_ONCE, "total_fee": "ten", "body": "b"}),
            "total_fee",
        ),
        (json!({"out_trade_no": "sz0100test1", "author_code": WX_PAYS_AT_ONCE, "total_fee": 1}), "body is required"),
        (
            json!({"out_trade_no": "sz0100test1", "author_code": "77777", "total_fee": 1, "body": "b"}),
            "unsupported payment code",
        ),
        (
            json!({"out_trade_no": "x".repeat(33), "author_code": WX_PAYS_AT_ONCE, "total_fee": 1, "body": "b"}),
            "longer than 32",
        ),
        (
            json!({"out_trade_no": "sz0100 test", "author_code": WX_PAYS_AT_ONCE, "total_fee": 1, "body": "b"}),
            "may only contain",
        ),
        (
            json!({"out_trade_no": "sz0100test1", "author_code": WX_PAYS_AT_ONCE, "total_fee": 1, "body": "b", "fee_type": "USD"}),
            "fee_type must be CNY",
        ),
    ];
    for (req, needle) in cases {
        let (code, _, err) = micro_pay(&req);
        assert_eq!(code, -1, "{req}");
        assert!(err.contains(needle), "{req}: {err}");
    }
    let (code, _, err) = call_out(sdk::cloud_pay_query_order, "[1,2]", 64);
    assert_eq!(code, -3);
    assert!(err.contains("JSON object"), "{err}");
    let (code, _, err) = call_out(sdk::cloud_pay_query_order, r#"{"out_trade_no":"sz0100test1","trade_type":9}"#, 64);
    assert_eq!(code, -3);
    assert!(err.contains("trade_type"), "{err}");
    assert_eq!(cancel(&json!({"out_trade_no": "sz0100test1"})).0, -3);
    assert!(errmsg().contains("trade_type is required"));
    assert_eq!(
        refund(&json!({"out_trade_no": "sz0100test1", "pay_platform": 1, "total_fee": 5, "refund_fee": 6})).0,
        -3
    );
    assert!(errmsg().contains("exceeds"), "{}", errmsg());
    assert_eq!(
        sb.control().request_count("micro_pay") + sb.control().request_count("refund"),
        0,
        "nothing was sent for bad input"
    );
    sdk::cloud_pay_fini();
    sb.stop();
}

#[test]
fn a_short_buffer_keeps_the_money_code_and_never_writes_past_length() {
    let _g = serial();
    let sb = start_sandbox();
    init_http(&sb);
    let no = order_no();
    let req = pay_req(&no, WX_PAYS_AT_ONCE, 1).to_string();
    // micro_pay output needs more than 10 bytes: still accepted (0), empty output, size in errmsg.
    let (code, out, err) = call_out(sdk::cloud_pay_micro_pay, &req, 10);
    assert_eq!(code, 0);
    assert_eq!(out, "");
    assert!(
        err.starts_with("payment accepted") && err.contains("buffer too small, need") && err.contains("have 10"),
        "{err}"
    );
    let need: usize = err.split("need ").nth(1).unwrap().split(' ').next().unwrap().parse().unwrap();
    // The paid order into a 16-byte buffer: still 0 (paid), never an error code.
    let q = json!({"out_trade_no": no, "trade_type": 1}).to_string();
    let (code, out, err) = call_out(sdk::cloud_pay_query_order, &q, 16);
    assert_eq!((code, out.as_str()), (0, ""), "{err}");
    let need_q: usize = err.split("need ").nth(1).unwrap().split(' ').next().unwrap().parse().unwrap();
    // Exactly the size asked for fits; one byte less does not.
    let (code, out, _) = call_out(sdk::cloud_pay_query_order, &q, need_q);
    assert_eq!(code, 0);
    assert_eq!(out.len() + 1, need_q);
    let (_, out, _) = call_out(sdk::cloud_pay_query_order, &q, need_q - 1);
    assert_eq!(out, "");
    let (code, out, _) = call_out(sdk::cloud_pay_micro_pay, &req, need);
    assert_eq!(code, 0);
    assert_eq!(out.len() + 1, need);
    let (code, out, err) = call_out(sdk::cloud_pay_query_refund, &json!({"out_trade_no": no}).to_string(), 1);
    assert_eq!((code, out.as_str()), (0, ""), "{err}");
    sdk::cloud_pay_fini();
    sb.stop();
}

#[test]
fn errmsg_is_per_thread_and_threads_pay_concurrently() {
    let _g = serial();
    let sb = start_sandbox();
    init_http(&sb);
    let threads: Vec<_> = (0..16)
        .map(|i| {
            std::thread::spawn(move || {
                for j in 0..5 {
                    if (i + j) % 3 == 0 {
                        // A failing call on this thread…
                        let (code, _, err) = micro_pay(&json!({"out_trade_no": format!("bad{i}x{j}")}));
                        assert_eq!(code, -1);
                        assert!(err.contains("author_code is required"), "thread {i}: {err}");
                    } else {
                        let no = order_no();
                        let (code, _, err) = micro_pay(&pay_req(&no, WX_PAYS_AT_ONCE, 1 + i as i64));
                        assert_eq!(code, 0, "{err}");
                        // …never shows up as another thread's error.
                        assert_eq!(err, "", "thread {i} sees only its own errmsg");
                        let (code, order, _) = query_order(&no, 1);
                        assert_eq!(code, 0);
                        assert_eq!(order["total_fee"], 1 + i as i64);
                    }
                }
            })
        })
        .collect();
    for t in threads {
        t.join().expect("no thread panicked");
    }
    sdk::cloud_pay_fini();
    sb.stop();
}

#[test]
fn fini_stops_background_work_quickly_even_with_calls_in_flight() {
    let _g = serial();
    let sb = start_sandbox();
    init_http(&sb);
    for _ in 0..20 {
        assert_eq!(micro_pay(&pay_req(&order_no(), &wx_code(4, 0), 1)).0, 0); // pending forever
    }
    sb.control().add_fault(FaultRule {
        endpoint: Some("query_order".into()),
        out_trade_no: None,
        kind: FaultKind::Delay { ms: 1500 },
        times: None,
        phase: None,
    });
    let inflight = std::thread::spawn(|| query_order(&order_no(), 1).0);
    std::thread::sleep(Duration::from_millis(100));
    let t0 = Instant::now();
    assert_eq!(sdk::cloud_pay_fini(), 0);
    assert!(t0.elapsed() < Duration::from_secs(2), "fini took {:?}", t0.elapsed());
    let code = inflight.join().unwrap();
    assert!(code == -2 || code == -7, "the in-flight call completes normally: {code}");
    let (code, _, err) = query_order(&order_no(), 1);
    assert_eq!(code, -3);
    assert!(err.contains("not initialised"));
    let seen = sb.control().request_count("query_order");
    std::thread::sleep(Duration::from_millis(600));
    assert!(sb.control().request_count("query_order") <= seen + 2, "polling stopped after fini");
    sb.stop();
}

#[test]
fn thirty_two_threads_of_mixed_calls_then_fini_in_flight() {
    let _g = serial();
    let sb = start_sandbox();
    sb.control().set_refund_delay_ms(0);
    init_http(&sb);
    let barrier = std::sync::Arc::new(std::sync::Barrier::new(33));
    let threads: Vec<_> = (0..32)
        .map(|i| {
            let barrier = barrier.clone();
            std::thread::spawn(move || {
                barrier.wait();
                let mut outcomes = [0u32; 4];
                for j in 0..6 {
                    let no = order_no();
                    match (i + j) % 4 {
                        0 => {
                            let (code, _, err) = micro_pay(&pay_req(&no, WX_PAYS_AT_ONCE, 1 + i as i64));
                            assert!(code == 0 || err.contains("not initialised"), "thread {i}: {code} {err}");
                            assert!(
                                err.is_empty() || err.contains("not initialised"),
                                "thread {i} sees only its own errmsg: {err}"
                            );
                        }
                        1 => {
                            let (code, _, err) =
                                micro_pay(&json!({"out_trade_no": format!("t{i}x{j}"), "total_fee": 1}));
                            assert_eq!(code, -1);
                            assert!(
                                err.contains("author_code is required") || err.contains("not initialised"),
                                "thread {i}: {err}"
                            );
                        }
                        2 => {
                            let (code, _, err) = query_order(&no, 1);
                            assert!(code == -7 || err.contains("not initialised"), "thread {i}: {code} {err}");
                        }
                        _ => {
                            let code = unsafe {
                                sdk::cloud_pay_scan_code_pay(
                                    c(&json!({"pay_platform": 2, "out_trade_no": no, "total_fee": 3, "body": "qr"})
                                        .to_string())
                                    .as_ptr(),
                                )
                            };
                            let err = errmsg();
                            assert!(code == 0 || err.contains("not initialised"), "thread {i}: {code} {err}");
                        }
                    }
                    outcomes[(i + j) % 4] += 1;
                }
                outcomes
            })
        })
        .collect();
    barrier.wait();
    // fini while the calls are in flight: safe, bounded, and later calls say "not initialised".
    std::thread::sleep(Duration::from_millis(30));
    let t0 = Instant::now();
    assert_eq!(sdk::cloud_pay_fini(), 0);
    assert!(t0.elapsed() < Duration::from_secs(2));
    let mut total = 0;
    for t in threads {
        total += t.join().expect("no thread panicked or deadlocked").iter().sum::<u32>();
    }
    assert_eq!(total, 32 * 6);
    sb.stop();
}

#[test]
fn no_secret_reaches_any_file_the_sdk_writes() {
    let _g = serial();
    let sb = start_sandbox();
    sb.control().set_refund_delay_ms(0);
    let dir = fresh_state_dir();
    let mut c: serde_json::Value = serde_json::from_str(&conf(
        &sb.http_base_url(),
        None,
        json!({"upload_monitor": 1, "upload_monitor_interval": 0.1}),
    ))
    .unwrap();
    c["common_conf"]["state_dir"] = json!(dir);
    c["common_conf"]["log_dir"] = json!(dir.join("log"));
    c["trade_conf"]["private_key"] = private_key_pem().into();
    assert_eq!(init(&c.to_string()), 0);
    let codes = [WX_PAYS_AT_ONCE.to_owned(), ALI_PAYS_AT_ONCE.to_owned(), wx_code(1, 2)];
    for code in &codes {
        let no = order_no();
        assert_eq!(micro_pay(&pay_req(&no, code, 10)).0, 0);
        let _ = refund(
            &json!({"out_trade_no": no, "out_refund_no": format!("{}S", &no[..31]), "total_fee": 10, "refund_fee": 1}),
        );
    }
    std::thread::sleep(Duration::from_millis(300));
    sdk::cloud_pay_fini();
    let pem = private_key_pem();
    let mut files = 0;
    // The state_dir's files and the SDK log's (a folder inside it here).
    let log_files: Vec<_> = std::fs::read_dir(dir.join("log")).unwrap().map(|e| e.unwrap().path()).collect();
    assert!(!log_files.is_empty(), "the SDK log was written");
    let paths = std::fs::read_dir(&dir).unwrap().map(|e| e.unwrap().path()).filter(|p| p.is_file()).chain(log_files);
    for path in paths {
        let text = String::from_utf8_lossy(&std::fs::read(path).unwrap()).into_owned();
        files += 1;
        for secret in codes.iter().map(String::as_str).chain([
            "TESTONLY0123456789ABCDEFGHIJKLMN",
            pem.lines().nth(1).unwrap(),
            "PRIVATE KEY",
        ]) {
            assert!(!text.contains(secret), "a secret in clear under state_dir or in the SDK log: {secret:?}");
        }
    }
    assert!(files >= 1, "the journal was written");
    sb.stop();
}
