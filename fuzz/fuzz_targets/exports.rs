//! Every export that takes JSON, with arbitrary bytes and arbitrary buffer sizes.
//! The first byte picks the export, the second the output length; the rest is the request.
//! Checks: no crash, no panic across the ABI, no write past `length`, NUL within `length`.
#![no_main]

use std::ffi::{CString, c_char, c_int};
use std::sync::Once;

use cloud_pay_sdk as sdk;
use libfuzzer_sys::fuzz_target;

type OutFn = unsafe extern "C" fn(*const c_char, *mut c_char, c_int) -> c_int;
type InFn = unsafe extern "C" fn(*const c_char) -> c_int;

unsafe extern "C" fn order_stat(r: *const c_char, o: *mut c_char, l: c_int) -> c_int {
    unsafe { sdk::cloud_pay_order_stat(r, o, l) }
}

const OUT: &[OutFn] = &[
    sdk::cloud_pay_micro_pay,
    sdk::cloud_pay_query_order,
    sdk::cloud_pay_query_refund,
    sdk::cloud_pay_query_shop_info,
    sdk::cloud_pay_set_shop_info,
    sdk::cloud_pay_order_detail,
    order_stat,
    sdk::cloud_pay_security_login,
    sdk::cloud_pay_security_login_check,
    sdk::cloud_pay_security_identification,
    sdk::cloud_pay_security_identification_check,
];
const IN: &[InFn] =
    &[sdk::cloud_pay_cancel_order, sdk::cloud_pay_scan_code_pay, sdk::cloud_pay_refund, sdk::cloud_pay_security_init];

static INIT: Once = Once::new();

fn setup() {
    INIT.call_once(|| {
        // Loopback only, nothing listens there: requests that pass validation fail fast.
        // SAFETY: set once before any SDK thread reads the environment.
        unsafe { std::env::set_var("CLOUDPAY_BASE_URL", "http://127.0.0.1:9/cpay/") };
        let dir = std::env::temp_dir().join(format!("cloud-pay-fuzz-{}", std::process::id()));
        let conf = format!(
            r#"{{"common_conf":{{"state_dir":"{}","upload_monitor":0,"micro_pay_query_order_count":1,"timeout_ms":200,"connect_timeout_ms":100,"retry_pause_ms":0}},"trade_conf":{{"out_mch_id":"sz01TESTMCH000000001","out_sub_mch_id":"sz01TESTSUBMCH000001","out_shop_id":"sz01TESTSHOP00000001","device_id":"dev01","staff_id":"1001","authen_key":"TESTONLY0123456789ABCDEFGHIJKLMN"}}}}"#,
            dir.display()
        );
        let c = CString::new(conf).unwrap();
        assert_eq!(unsafe { sdk::cloud_pay_init(c.as_ptr()) }, 0);
    });
}

fuzz_target!(|data: &[u8]| {
    setup();
    if data.len() < 2 {
        return;
    }
    let (pick, len, body) = (data[0] as usize, data[1] as usize, &data[2..]);
    let body: Vec<u8> = body.iter().copied().filter(|&b| b != 0).collect();
    let req = CString::new(body).unwrap();
    let n = OUT.len() + IN.len() + 1;
    match pick % n {
        i if i < OUT.len() => {
            let cap = len * 8; // 0..2040: 0 and tiny sizes exercise the length checks
            let mut buf = vec![0xA5u8; cap + 16];
            let _ = unsafe { OUT[i](req.as_ptr(), buf.as_mut_ptr().cast(), cap as c_int) };
            assert!(buf[cap..].iter().all(|&b| b == 0xA5), "wrote past length");
            if cap > 0 && buf[..cap].iter().any(|&b| b != 0xA5) {
                assert!(buf[..cap].contains(&0), "output not NUL-terminated within length");
            }
        }
        i if i < OUT.len() + IN.len() => {
            let _ = unsafe { IN[i - OUT.len()](req.as_ptr()) };
        }
        _ => {
            let cap = len;
            let mut buf = vec![0xA5u8; cap + 16];
            let _ = unsafe { sdk::cloud_pay_security_author_code_prefix(buf.as_mut_ptr().cast(), cap as c_int) };
            assert!(buf[cap..].iter().all(|&b| b == 0xA5), "wrote past length");
        }
    }
    let e = unsafe { std::ffi::CStr::from_ptr(sdk::cloud_pay_get_errmsg()) };
    assert!(e.to_str().is_ok(), "errmsg is UTF-8");
});
