//! Shared harness: the sandbox on loopback, the SDK driven only through its C exports.
#![allow(dead_code)]

use std::ffi::{CStr, CString, c_char, c_int};
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

#[allow(unused_imports)]
pub use cloud_pay_sandbox::{FaultKind, FaultPhase, FaultRule, Sandbox, SandboxOptions, ScanAction};
use cloud_pay_sdk as sdk;
use parking_lot::{Mutex, MutexGuard};
use serde_json::{Value, json};

/// The SDK has one global runtime per process, and every test file is a module of this one
/// binary: every test that inits the SDK (or changes the environment it reads) takes turns here.
pub fn serial() -> MutexGuard<'static, ()> {
    static LOCK: Mutex<()> = Mutex::new(());
    let g = LOCK.lock();
    sdk::cloud_pay_fini();
    g
}

/// An environment variable set for part of a test and put back as it was when dropped (also
/// when the test panics), so the tests after it in this process see the environment they would
/// in a process of their own. Setting needs the `serial()` guard: the SDK reads these variables
/// at init, and every init of this binary runs under that guard.
pub struct EnvVar {
    name: &'static str,
    before: Option<std::ffi::OsString>,
}

impl EnvVar {
    pub fn set(_serial: &MutexGuard<'static, ()>, name: &'static str, value: impl AsRef<std::ffi::OsStr>) -> EnvVar {
        let before = std::env::var_os(name);
        // SAFETY: the SDK reads the variable only at init, under the serial guard the caller
        // holds; the tests running meanwhile read the environment only through std, whose
        // environment lock orders their reads with this write.
        unsafe { std::env::set_var(name, value) };
        EnvVar { name, before }
    }
}

impl Drop for EnvVar {
    fn drop(&mut self) {
        // SAFETY: as in `set`; the caller still holds the serial guard it set the variable under.
        match &self.before {
            Some(v) => unsafe { std::env::set_var(self.name, v) },
            None => unsafe { std::env::remove_var(self.name) },
        }
    }
}

/// This test binary run again with only the test `name` of `module` (the caller's
/// `module_path!()`) selected: a till in a process of its own, to be SIGKILLed or to hold a
/// journal while this process opens it.
pub fn child_test(module: &str, name: &str) -> std::process::Command {
    // `--exact` compares with the harness's name: the module path without the crate's name.
    let path = module.split_once("::").map_or(module, |(_, rest)| rest);
    let mut cmd = std::process::Command::new(std::env::current_exe().unwrap());
    cmd.args([format!("{path}::{name}").as_str(), "--exact", "--nocapture", "--test-threads", "1"]);
    cmd
}

pub const WX_PAYS_AT_ONCE: &str = "134567890123456789";
pub const ALI_PAYS_AT_ONCE: &str = "2812345678901234";

/// A WeChat payment code with a sandbox scenario: `13 9 S DDD …` (S scenario, DDD tenths of a second).
pub fn wx_code(scenario: u8, tenths: u32) -> String {
    format!("139{scenario}{tenths:03}00000000000")
}

/// An Alipay payment code with a sandbox scenario (16 digits).
pub fn ali_code(scenario: u8, tenths: u32) -> String {
    format!("289{scenario}{tenths:03}000000000")
}

/// A fresh order number with the demo merchant's prefix (≤ 32 characters).
pub fn order_no() -> String {
    static SEQ: AtomicU32 = AtomicU32::new(0);
    let ms =
        std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_millis() % 10_000_000_000_000;
    format!("sz0100test{ms:013}{:04}{:05}", SEQ.fetch_add(1, Ordering::Relaxed) % 10_000, std::process::id() % 100_000)
}

/// Keeps security mode's login key in a private temporary folder, never the user's
/// ~/.config (call before a security login; the same folder for the whole test binary).
pub fn private_key_dir() -> std::path::PathBuf {
    static DIR: std::sync::OnceLock<std::path::PathBuf> = std::sync::OnceLock::new();
    DIR.get_or_init(|| {
        let d = std::env::temp_dir().join(format!("cps-keys-{}", std::process::id()));
        // SAFETY: set once, while the caller holds serial(): no SDK call reads it meanwhile.
        unsafe { std::env::set_var(sdk::security::local_key::KEY_DIR_ENV, &d) };
        d
    })
    .clone()
}

/// A new, empty state_dir (each init gets its own order journal unless a test shares one).
pub fn fresh_state_dir() -> std::path::PathBuf {
    let d = std::env::temp_dir().join(format!("cps-test-{}-{}", std::process::id(), order_no()));
    std::fs::create_dir_all(&d).unwrap();
    d
}

pub fn start_sandbox() -> Sandbox {
    Sandbox::start(SandboxOptions::demo()).expect("sandbox starts")
}

pub fn private_key_pem() -> String {
    std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/data/TEST-ONLY-private-key-pkcs1.pem")).unwrap()
}

/// CloudPayConf for the demo merchant against `base_url`, fast polling for tests.
pub fn conf(base_url: &str, ca_file: Option<&std::path::Path>, extra_common: Value) -> String {
    let mut common = json!({
        "micro_pay_query_order_count": 25,
        "micro_pay_query_order_interval": 0.1,
        "scan_code_pay_query_order_count": 50,
        "scan_code_pay_query_order_interval": 0.1,
        "base_url": base_url,
        "timeout_ms": 3000,
        "connect_timeout_ms": 1000,
        "retry_pause_ms": 50,
        "upload_monitor": 0,
        "state_dir": fresh_state_dir().to_string_lossy(),
    });
    if let Some(ca) = ca_file {
        common["ca_file"] = ca.to_string_lossy().into();
    }
    if let (Value::Object(c), Value::Object(e)) = (&mut common, extra_common) {
        c.extend(e);
    }
    json!({
        "common_conf": common,
        "trade_conf": {
            "out_mch_id": "sz01TESTMCH000000001",
            "out_sub_mch_id": "sz01TESTSUBMCH000001",
            "out_shop_id": "sz01TESTSHOP00000001",
            "device_id": "dev01",
            "staff_id": "1001",
            "authen_type": 1,
            "authen_key": "TESTONLY0123456789ABCDEFGHIJKLMN",
            "sign_type": 1,
            "terminal_type": 4,
            "machine_no": "00-11-22-33-44-55",
            "spbill_create_ip": "127.0.0.1"
        }
    })
    .to_string()
}

pub fn c(s: &str) -> CString {
    CString::new(s).unwrap()
}

pub fn errmsg() -> String {
    unsafe { CStr::from_ptr(sdk::cloud_pay_get_errmsg()) }.to_str().expect("errmsg is UTF-8").to_owned()
}

pub fn init(conf: &str) -> c_int {
    unsafe { sdk::cloud_pay_init(c(conf).as_ptr()) }
}

/// Initialises against the sandbox over plain HTTP.
pub fn init_http(sb: &Sandbox) {
    assert_eq!(init(&conf(&sb.http_base_url(), None, json!({}))), 0, "{}", errmsg());
}

/// A call with an output buffer: (code, output, errmsg).
pub type OutFn = unsafe extern "C" fn(*const c_char, *mut c_char, c_int) -> c_int;

pub fn call_out(f: OutFn, req: &str, cap: usize) -> (c_int, String, String) {
    let mut buf = vec![0x5Au8; cap + 8];
    let code = unsafe { f(c(req).as_ptr(), buf.as_mut_ptr().cast(), cap as c_int) };
    assert!(buf[cap..].iter().all(|&b| b == 0x5A), "wrote past length");
    let out = CStr::from_bytes_until_nul(&buf[..cap]).expect("NUL within length").to_str().expect("UTF-8").to_owned();
    (code, out, errmsg())
}

pub fn micro_pay(req: &Value) -> (c_int, Value, String) {
    let (code, out, err) = call_out(sdk::cloud_pay_micro_pay, &req.to_string(), 1024);
    (code, serde_json::from_str(&out).unwrap_or(Value::Null), err)
}

pub fn query_order(out_trade_no: &str, trade_type: i32) -> (c_int, Value, String) {
    let req = json!({"out_trade_no": out_trade_no, "trade_type": trade_type});
    let (code, out, err) = call_out(sdk::cloud_pay_query_order, &req.to_string(), 16 * 1024);
    (code, serde_json::from_str(&out).unwrap_or(Value::Null), err)
}

pub fn query_refund(req: &Value) -> (c_int, Value, String) {
    let (code, out, err) = call_out(sdk::cloud_pay_query_refund, &req.to_string(), 16 * 1024);
    (code, serde_json::from_str(&out).unwrap_or(Value::Null), err)
}

pub fn cancel(req: &Value) -> (c_int, String) {
    let code = unsafe { sdk::cloud_pay_cancel_order(c(&req.to_string()).as_ptr()) };
    (code, errmsg())
}

pub fn refund(req: &Value) -> (c_int, String) {
    let code = unsafe { sdk::cloud_pay_refund(c(&req.to_string()).as_ptr()) };
    (code, errmsg())
}

pub fn scan_code_pay(req: &Value) -> (c_int, String) {
    let code = unsafe { sdk::cloud_pay_scan_code_pay(c(&req.to_string()).as_ptr()) };
    (code, errmsg())
}

pub fn pay_req(out_trade_no: &str, author_code: &str, total_fee: i64) -> Value {
    json!({"out_trade_no": out_trade_no, "author_code": author_code, "total_fee": total_fee, "fee_type": "CNY", "body": "sandbox-goods"})
}

/// Polls `f` until it returns Some or the deadline passes.
pub fn wait_for<T>(timeout: Duration, mut f: impl FnMut() -> Option<T>) -> Option<T> {
    let end = Instant::now() + timeout;
    loop {
        if let Some(v) = f() {
            return Some(v);
        }
        if Instant::now() > end {
            return None;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// How long a test waits for an order to reach its final state: the sandbox's slowest customer
/// decides within a few seconds, so running out of it is a failure, not a slow machine.
pub const SETTLE: Duration = Duration::from_secs(10);

/// query_order of `no` until it answers anything but unknown (-2): (code, output, errmsg) of
/// that answer, or None if the order was still unknown after `SETTLE`.
pub fn wait_final(no: &str, trade_type: i32) -> Option<(c_int, Value, String)> {
    wait_for(SETTLE, || {
        let r = query_order(no, trade_type);
        (r.0 != sdk::CLOUD_PAY_ORDER_UNKNOWN).then_some(r)
    })
}

/// query_order of `no` until it answers paid (0); false if it did not within `SETTLE`.
pub fn wait_paid(no: &str, trade_type: i32) -> bool {
    wait_for(SETTLE, || (query_order(no, trade_type).0 == sdk::CLOUD_PAY_ORDER_PAID).then_some(())).is_some()
}

/// A paid sale on the running SDK, for a test whose subject comes after the payment (a
/// refund, a log, a restart): a new order number, micro_pay accepted (0) and query_order paid
/// (a customer who pays later is waited for). Returns the order number.
pub fn pay_and_wait(author_code: &str, total_fee: i64) -> String {
    let no = order_no();
    let (code, out, err) = micro_pay(&pay_req(&no, author_code, total_fee));
    assert_eq!(code, 0, "micro_pay {no}: {err} {out}");
    assert!(wait_paid(&no, 1), "{no} was not paid within {SETTLE:?}: {:?}", query_order(&no, 1));
    no
}

/// Waits until the sandbox has received `n` requests to `endpoint` (background polls).
pub fn wait_requests(sb: &Sandbox, endpoint: &str, n: u64) -> bool {
    wait_for(Duration::from_secs(10), || (sb.control().request_count(endpoint) >= n).then_some(())).is_some()
}

pub fn fault(endpoint: &str, kind: FaultKind, times: Option<u32>) -> FaultRule {
    FaultRule { endpoint: Some(endpoint.into()), out_trade_no: None, kind, times, phase: None }
}

/// A fault that strikes once, on `endpoint`'s request about order `no`.
pub fn rule(endpoint: &str, no: &str, kind: FaultKind, phase: Option<FaultPhase>) -> FaultRule {
    FaultRule { endpoint: Some(endpoint.into()), out_trade_no: Some(no.into()), kind, times: Some(1), phase }
}

/// The directory of the shipped C library (`libCloudPayAPI_SDK_CPP.so`) in this test's profile.
/// `cargo test` builds only the Rust crate; the C library is the `capi` package (a cdylib of its
/// own, docs/architecture.md, "The shipped library"), so the first caller builds it with the
/// cargo that runs the tests, into the same target directory; later callers reuse it.
pub fn library_dir() -> std::path::PathBuf {
    static DIR: std::sync::OnceLock<std::path::PathBuf> = std::sync::OnceLock::new();
    DIR.get_or_init(|| {
        let exe = std::env::current_exe().unwrap();
        let profile_dir = exe.parent().and_then(|deps| deps.parent()).unwrap().to_path_buf();
        let target_dir = profile_dir.parent().unwrap();
        let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
        let mut build = std::process::Command::new(cargo);
        build.args(["build", "--quiet", "-p", "cloud-pay-capi"]).current_dir(env!("CARGO_MANIFEST_DIR"));
        build.env("CARGO_TARGET_DIR", target_dir);
        if profile_dir.file_name().is_some_and(|n| n == "release") {
            build.arg("--release");
        }
        let status = build.status().expect("run cargo build -p cloud-pay-capi");
        assert!(status.success(), "cargo build -p cloud-pay-capi failed");
        assert!(profile_dir.join("libCloudPayAPI_SDK_CPP.so").exists(), "no C library in {}", profile_dir.display());
        profile_dir
    })
    .clone()
}

/// Whether `tool` is on PATH.
pub fn have_command(tool: &str) -> bool {
    std::process::Command::new("sh")
        .args(["-c", &format!("command -v {tool}")])
        .output()
        .is_ok_and(|o| o.status.success())
}
