//! Arbitrary bytes as the server's whole HTTP reply: a loopback peer answers each request with
//! the fuzz input and closes, and `cloud_pay_query_order` reads it through the real transport.
//! Checks: no crash, no panic across the ABI, and no final answer ("paid" or "failed") from
//! bytes that carry no valid HMAC of the merchant's key.
#![no_main]

use std::ffi::{CString, c_int};
use std::io::{Read, Write};
use std::net::TcpListener;
use std::sync::{Mutex, Once};

use cloud_pay_sdk as sdk;
use libfuzzer_sys::fuzz_target;

static INIT: Once = Once::new();
/// The reply the peer serves next.
static REPLY: Mutex<Vec<u8>> = Mutex::new(Vec::new());

fn setup() {
    INIT.call_once(|| {
        let l = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = l.local_addr().unwrap().port();
        std::thread::spawn(move || {
            for conn in l.incoming() {
                let Ok(mut s) = conn else { continue };
                // The request head and its small JSON body arrive in one or two reads.
                let mut buf = [0u8; 8192];
                let _ = s.read(&mut buf);
                let reply = REPLY.lock().map(|r| r.clone()).unwrap_or_default();
                let _ = s.write_all(&reply);
                // Dropping the socket closes it: a close-delimited body ends here.
            }
        });
        let dir = std::env::temp_dir().join(format!("cloud-pay-fuzz-http-{}", std::process::id()));
        let conf = format!(
            r#"{{"common_conf":{{"base_url":"http://127.0.0.1:{port}/cpay/","state_dir":"{}","upload_monitor":0,"keep_alive_ping_interval":0,"micro_pay_query_order_count":1,"timeout_ms":300,"connect_timeout_ms":200,"retry_pause_ms":0}},"trade_conf":{{"out_mch_id":"sz01TESTMCH000000001","out_sub_mch_id":"sz01TESTSUBMCH000001","out_shop_id":"sz01TESTSHOP00000001","device_id":"dev01","staff_id":"1001","authen_key":"TESTONLY0123456789ABCDEFGHIJKLMN"}}}}"#,
            dir.display()
        );
        let c = CString::new(conf).unwrap();
        assert_eq!(unsafe { sdk::cloud_pay_init(c.as_ptr()) }, 0);
    });
}

fuzz_target!(|data: &[u8]| {
    setup();
    *REPLY.lock().unwrap() = data.to_vec();
    let req = CString::new(r#"{"out_trade_no":"sz0100fuzz0000000001","trade_type":1}"#).unwrap();
    let mut buf = vec![0u8; 4096];
    let code = unsafe { sdk::cloud_pay_query_order(req.as_ptr(), buf.as_mut_ptr().cast(), buf.len() as c_int) };
    assert!(
        code != sdk::CLOUD_PAY_ORDER_PAID && code != sdk::CLOUD_PAY_ORDER_FAILED,
        "final answer {code} from unsigned bytes"
    );
});
