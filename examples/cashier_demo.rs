//! Cashier demo: starts the embedded sandbox (HTTPS with a generated CA), then drives the SDK
//! only through its C exports, as a POS program would: init → micro_pay → wait for the
//! result → refund → query_refund. No account and no set-up needed:
//!
//!     cargo run --example cashier_demo

use std::ffi::{CStr, CString, c_char, c_int};
use std::time::{Duration, Instant};

use cloud_pay_sandbox::{Sandbox, SandboxOptions};
use cloud_pay_sdk as sdk;
use serde_json::{Value, json};

fn errmsg() -> String {
    unsafe { CStr::from_ptr(sdk::cloud_pay_get_errmsg()) }.to_string_lossy().into_owned()
}

fn call(f: unsafe extern "C" fn(*const c_char, *mut c_char, c_int) -> c_int, req: &Value) -> (c_int, Value) {
    let req = CString::new(req.to_string()).unwrap();
    let mut buf = vec![0u8; 8192];
    let code = unsafe { f(req.as_ptr(), buf.as_mut_ptr().cast(), buf.len() as c_int) };
    let out = CStr::from_bytes_until_nul(&buf).unwrap().to_string_lossy().into_owned();
    (code, serde_json::from_str(&out).unwrap_or(Value::Null))
}

fn step(n: u32, text: &str) {
    println!("\n[{n}] {text}");
}

fn main() {
    let sandbox = Sandbox::start(SandboxOptions::demo()).expect("start the sandbox");
    println!("Cloud Pay sandbox listening at {} (CA: {})", sandbox.https_base_url(), sandbox.ca_file().display());

    step(1, "cloud_pay_init with the demo merchant (TEST-ONLY keys) over HTTPS");
    let conf = json!({
        "common_conf": {
            "base_url": sandbox.https_base_url(),
            "ca_file": sandbox.ca_file(),
            "micro_pay_query_order_interval": 0.5,
            "state_dir": sandbox.state_dir(),
            "upload_monitor": 0
        },
        "trade_conf": {
            "out_mch_id": "sz01TESTMCH000000001", "out_sub_mch_id": "sz01TESTSUBMCH000001",
            "out_shop_id": "sz01TESTSHOP00000001", "device_id": "dev01", "staff_id": "1001",
            "authen_type": 1, "authen_key": "TESTONLY0123456789ABCDEFGHIJKLMN", "sign_type": 1
        }
    });
    let conf = CString::new(conf.to_string()).unwrap();
    let rc = unsafe { sdk::cloud_pay_init(conf.as_ptr()) };
    println!("    cloud_pay_init -> {rc} {}", errmsg());
    assert_eq!(rc, 0);

    let secs = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs();
    let out_trade_no = format!("sz0100test{secs}0001");
    // Sandbox payment code 13 9 1 020 …: the customer enters a password and pays after 2.0 s.
    let author_code = "139102000000000000";
    step(
        2,
        &format!(
            "customer shows WeChat payment code {}…; cashier calls cloud_pay_micro_pay for 12.34 CNY",
            &author_code[..6]
        ),
    );
    let (rc, out) = call(
        sdk::cloud_pay_micro_pay,
        &json!({
            "out_trade_no": out_trade_no, "author_code": author_code, "total_fee": 1234, "fee_type": "CNY",
            "body": "Demo shop - coffee", "detail": {"goods_detail": [{"goods_id": "c1", "goods_name": "coffee", "quantity": 2, "price": 617}]}
        }),
    );
    println!("    cloud_pay_micro_pay -> {rc} {out} {}", errmsg());
    assert_eq!(rc, 0, "accepted");

    step(3, "waiting for the result with cloud_pay_query_order (the SDK also polls in the background)");
    let started = Instant::now();
    let order = loop {
        let (rc, order) = call(
            sdk::cloud_pay_query_order,
            &json!({"out_trade_no": out_trade_no, "trade_type": 1, "pay_platform": out["pay_platform"]}),
        );
        match rc {
            sdk::CLOUD_PAY_ORDER_UNKNOWN => {
                println!(
                    "    {:>4.1}s  -2 not final yet (state {}, current_trade_state {})",
                    started.elapsed().as_secs_f32(),
                    order["state"],
                    order["current_trade_state"]
                );
                std::thread::sleep(Duration::from_millis(500));
            }
            sdk::CLOUD_PAY_ORDER_PAID => break order,
            other => panic!("payment did not succeed: {other} {}", errmsg()),
        }
        assert!(started.elapsed() < Duration::from_secs(30), "no result in time");
    };
    println!(
        "    {:>4.1}s  0 PAID: transaction_id {}, total_fee {}, time_end {}",
        started.elapsed().as_secs_f32(),
        order["transaction_id"],
        order["total_fee"],
        order["time_end"]
    );

    let out_refund_no = format!("sz0100test{secs}0001R1");
    step(4, &format!("customer returns one coffee: cloud_pay_refund 6.17 CNY as {out_refund_no}"));
    let req = CString::new(json!({"pay_platform": 1, "out_trade_no": out_trade_no, "out_refund_no": out_refund_no, "total_fee": 1234, "refund_fee": 617, "refund_reason": "returned one coffee"}).to_string()).unwrap();
    let rc = unsafe { sdk::cloud_pay_refund(req.as_ptr()) };
    println!("    cloud_pay_refund -> {rc} (accepted; the result comes from cloud_pay_query_refund) {}", errmsg());
    assert_eq!(rc, 0);

    step(5, "cloud_pay_query_refund until the refund is final");
    let refund = loop {
        let (rc, refund) = call(
            sdk::cloud_pay_query_refund,
            &json!({"pay_platform": 1, "out_trade_no": out_trade_no, "out_refund_no": out_refund_no}),
        );
        assert_eq!(rc, 0, "{}", errmsg());
        match refund["state"].as_i64() {
            Some(1) => {
                println!("    refund state 1 (processing)");
                std::thread::sleep(Duration::from_millis(300));
            }
            _ => break refund,
        }
    };
    println!(
        "    refund state {} ({}), refund_fee {}, refund_id {}",
        refund["state"],
        if refund["state"] == 2 { "SUCCESS" } else { "FAILED" },
        refund["refund_fee"],
        refund["refund_id"]
    );

    step(6, "cloud_pay_query_order after the refund");
    let (rc, order) = call(sdk::cloud_pay_query_order, &json!({"out_trade_no": out_trade_no, "trade_type": 1}));
    println!("    cloud_pay_query_order -> {rc} (current_trade_state {}: refunded)", order["current_trade_state"]);

    sdk::cloud_pay_fini();
    sandbox.stop();
    println!("\nDone: paid 12.34 CNY, refunded 6.17 CNY, every step through the C ABI.");
}
