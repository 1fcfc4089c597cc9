//! Cashier benchmark: the SDK through its C exports against the in-process sandbox on loopback,
//! next to a raw keep-alive HTTP client posting equivalent pre-built envelopes.
//!
//! `cargo bench --bench cashier_bench` (release profile). Every figure is a ratio or a count
//! measured in this run; see BENCHMARKS.md. `BENCH_TIME_SCALE` (default 1) scales the
//! result-latency section (poll interval and customer delays) to shorten a run.

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use std::ffi::{CString, c_char, c_int, c_void};
use std::io::{Read, Write};
use std::net::TcpStream;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use cloud_pay_protocol::envelope::{Authenticator, RequestEnvelope};
use cloud_pay_protocol::types::{self as t, OrderClient, PayMchKey, PayPlatform, TerminalType, TradeType};
use cloud_pay_protocol::wire;
use cloud_pay_sandbox::{Sandbox, SandboxOptions};
use cloud_pay_sdk as sdk;
use sdk::schedule::{PollSchedule, poll_offsets};
use serde_json::{Value, json};

// ---- allocation counting (this thread only: the sandbox serves on its own threads) ----

struct Counting;
thread_local! {
    static ALLOCS: Cell<u64> = const { Cell::new(0) };
    static BYTES: Cell<u64> = const { Cell::new(0) };
}
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, l: Layout) -> *mut u8 {
        let _ = ALLOCS.try_with(|c| c.set(c.get() + 1));
        let _ = BYTES.try_with(|c| c.set(c.get() + l.size() as u64));
        unsafe { System.alloc(l) }
    }
    unsafe fn dealloc(&self, p: *mut u8, l: Layout) {
        unsafe { System.dealloc(p, l) }
    }
    unsafe fn realloc(&self, p: *mut u8, l: Layout, n: usize) -> *mut u8 {
        let _ = ALLOCS.try_with(|c| c.set(c.get() + 1));
        let _ = BYTES.try_with(|c| c.set(c.get() + n as u64));
        unsafe { System.realloc(p, l, n) }
    }
}
#[global_allocator]
static GLOBAL: Counting = Counting;

fn allocs() -> (u64, u64) {
    (ALLOCS.with(Cell::get), BYTES.with(Cell::get))
}

// ---- configuration and C-ABI helpers ----

const KEY: &str = "TESTONLY0123456789ABCDEFGHIJKLMN";
const NEVER_CONFIRMS: &str = "139400000000000000";

fn state_dir() -> String {
    state_dir_under(&std::env::temp_dir())
}

/// A new state_dir below `root`.
fn state_dir_under(root: &std::path::Path) -> String {
    static N: AtomicUsize = AtomicUsize::new(0);
    let d = root.join(format!("cps-bench-{}-{}", std::process::id(), N.fetch_add(1, Ordering::Relaxed)));
    std::fs::create_dir_all(&d).unwrap();
    d.to_string_lossy().into_owned()
}

fn conf(base: &str, ca: Option<String>, extra: Value) -> CString {
    let mut common = json!({
        "base_url": base, "upload_monitor": 0, "state_dir": state_dir(),
        // No background polls during the throughput and latency loops.
        "micro_pay_query_order_count": 1, "micro_pay_query_order_interval": 3600,
    });
    if let Some(ca) = ca {
        common["ca_file"] = ca.into();
    }
    if let (Value::Object(c), Value::Object(e)) = (&mut common, extra) {
        c.extend(e);
    }
    let conf = json!({"common_conf": common, "trade_conf": {
        "out_mch_id": "sz01TESTMCH000000001", "out_sub_mch_id": "sz01TESTSUBMCH000001",
        "out_shop_id": "sz01TESTSHOP00000001", "device_id": "dev01", "staff_id": "1001",
        "authen_type": 1, "authen_key": KEY, "sign_type": 1, "terminal_type": 4,
        "machine_no": "00-11-22-33-44-55", "spbill_create_ip": "127.0.0.1"}});
    CString::new(conf.to_string()).unwrap()
}

fn init(c: &CString) {
    let rc = unsafe { sdk::cloud_pay_init(c.as_ptr()) };
    assert_eq!(rc, 0, "init failed");
}

type OutFn = unsafe extern "C" fn(*const c_char, *mut c_char, c_int) -> c_int;

/// Calls an export through its symbol, as a C caller does: the pointer is hidden from the
/// optimiser, so the export is not inlined into the bench (and callgrind can find it).
fn call(f: OutFn, req: &CString, buf: &mut [u8]) -> c_int {
    let f = std::hint::black_box(f);
    unsafe { f(req.as_ptr(), buf.as_mut_ptr().cast(), buf.len() as c_int) }
}

fn order_no(tag: &str, i: usize) -> String {
    let ms = SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_millis() % 1_000_000_000;
    format!("sz0100test{tag}{ms:09}{i:06}")
}

fn pay_req(no: &str, code: &str) -> CString {
    CString::new(json!({"out_trade_no": no, "author_code": code, "total_fee": 1, "body": "bench-goods"}).to_string())
        .unwrap()
}

fn query_req(no: &str) -> CString {
    CString::new(json!({"out_trade_no": no, "trade_type": 1}).to_string()).unwrap()
}

// ---- the raw baseline: pre-built envelopes over one keep-alive TCP connection ----

fn mch_key(platform: Option<PayPlatform>) -> PayMchKey {
    PayMchKey {
        pay_platform: platform,
        out_mch_id: "sz01TESTMCH000000001".into(),
        out_sub_mch_id: "sz01TESTSUBMCH000001".into(),
        out_shop_id: Some("sz01TESTSHOP00000001".into()),
        ..Default::default()
    }
}

fn order_client(machine: bool) -> OrderClient {
    OrderClient {
        device_id: Some("dev01".into()),
        staff_id: Some("1001".into()),
        terminal_type: Some(TerminalType(4)),
        machine_no: machine.then(|| "00-11-22-33-44-55".into()),
        sdk_version: Some("1.6".into()),
        spbill_create_ip: Some("127.0.0.1".into()),
        ..Default::default()
    }
}

fn seal<T: serde::Serialize>(req: &T) -> String {
    RequestEnvelope::seal(wire::to_text(req), Authenticator::Hmac(KEY.as_bytes())).to_body()
}

fn raw_query_body(no: &str) -> String {
    seal(&t::QueryOrderRequest {
        pay_mch_key: mch_key(None),
        order_client: order_client(false),
        out_trade_no: no.into(),
        trade_type: Some(TradeType::MICRO_PAY),
        nonce_str: sdk::nonce::nonce_str(),
    })
}

fn raw_pay_body(no: &str, author_code: &str) -> String {
    seal(&t::PayRequest {
        pay_mch_key: mch_key(Some(PayPlatform::WXPAY)),
        pay_content: t::PayContent {
            out_trade_no: no.into(),
            author_code: Some(author_code.into()),
            total_fee: 1,
            fee_type: "CNY".into(),
            body: "bench-goods".into(),
            ..Default::default()
        },
        order_client: order_client(true),
        nonce_str: sdk::nonce::nonce_str(),
    })
}

/// A byte stream the raw client can use: plain TCP, or TLS over it.
trait Stream: Read + Write {}
impl<T: Read + Write> Stream for T {}

struct Raw {
    s: Box<dyn Stream>,
    host: String,
    prefix: String,
    buf: Vec<u8>,
}

impl Raw {
    /// A keep-alive connection to `base` (`http://` or `https://`; https trusts `ca_pem`).
    fn connect(base: &str, ca_pem: Option<&str>) -> Raw {
        let (tls, rest) = match base.strip_prefix("https://") {
            Some(rest) => (true, rest),
            None => (false, base.strip_prefix("http://").unwrap()),
        };
        let (host, path) = rest.split_once('/').unwrap();
        let tcp = TcpStream::connect(host).unwrap();
        tcp.set_nodelay(true).unwrap();
        let s: Box<dyn Stream> = if tls {
            use rustls::pki_types::pem::PemObject;
            let mut roots = rustls::RootCertStore::empty();
            for cert in
                rustls::pki_types::CertificateDer::pem_slice_iter(ca_pem.expect("https needs the CA").as_bytes())
            {
                roots.add(cert.unwrap()).unwrap();
            }
            let provider = Arc::new(rustls::crypto::ring::default_provider());
            let config = rustls::ClientConfig::builder_with_provider(provider)
                .with_safe_default_protocol_versions()
                .unwrap()
                .with_root_certificates(roots)
                .with_no_client_auth();
            let name = rustls::pki_types::ServerName::try_from(host.rsplit_once(':').unwrap().0.to_owned()).unwrap();
            let mut conn = rustls::ClientConnection::new(Arc::new(config), name).unwrap();
            let mut tcp = tcp;
            while conn.is_handshaking() {
                conn.complete_io(&mut tcp).unwrap();
            }
            Box::new(rustls::StreamOwned::new(conn, tcp))
        } else {
            Box::new(tcp)
        };
        Raw { s, host: host.into(), prefix: format!("/{path}"), buf: Vec::with_capacity(8192) }
    }

    /// POSTs and reads the whole reply (Content-Length framing); returns the body length.
    fn post(&mut self, endpoint: &str, body: &str) -> usize {
        let mut req = format!(
            "POST {}{endpoint} HTTP/1.1\r\nHost: {}\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n",
            self.prefix,
            self.host,
            body.len()
        )
        .into_bytes();
        req.extend_from_slice(body.as_bytes());
        self.s.write_all(&req).unwrap();
        self.buf.clear();
        let mut chunk = [0u8; 8192];
        loop {
            let n = self.s.read(&mut chunk).unwrap();
            assert!(n > 0, "connection closed");
            self.buf.extend_from_slice(&chunk[..n]);
            if let Some(end) = self.buf.windows(4).position(|w| w == b"\r\n\r\n") {
                let head = std::str::from_utf8(&self.buf[..end]).unwrap().to_ascii_lowercase();
                assert!(head.starts_with("http/1.1 200"), "{head}");
                let len: usize =
                    head.lines().find_map(|l| l.strip_prefix("content-length:")).unwrap().trim().parse().unwrap();
                while self.buf.len() < end + 4 + len {
                    let n = self.s.read(&mut chunk).unwrap();
                    assert!(n > 0, "connection closed");
                    self.buf.extend_from_slice(&chunk[..n]);
                }
                return len;
            }
        }
    }
}

// ---- libcurl baseline ----

/// libcurl's easy interface, loaded at run time from the system's `libcurl.so.4` (no headers,
/// no build dependency); `None` where it is not installed. Option numbers are curl.h's.
struct CurlApi {
    init: unsafe extern "C" fn() -> *mut c_void,
    setopt: unsafe extern "C" fn(*mut c_void, c_int, ...) -> c_int,
    perform: unsafe extern "C" fn(*mut c_void) -> c_int,
    getinfo: unsafe extern "C" fn(*mut c_void, c_int, ...) -> c_int,
    slist_append: unsafe extern "C" fn(*mut c_void, *const c_char) -> *mut c_void,
}

const CURLOPT_WRITEDATA: c_int = 10001;
const CURLOPT_URL: c_int = 10002;
const CURLOPT_POSTFIELDS: c_int = 10015;
const CURLOPT_HTTPHEADER: c_int = 10023;
const CURLOPT_CAINFO: c_int = 10065;
const CURLOPT_POSTFIELDSIZE: c_int = 60;
const CURLOPT_NOSIGNAL: c_int = 99;
const CURLOPT_TCP_NODELAY: c_int = 121;
const CURLOPT_TIMEOUT_MS: c_int = 155;
const CURLOPT_WRITEFUNCTION: c_int = 20011;
const CURLINFO_RESPONSE_CODE: c_int = 0x200000 + 2;

impl CurlApi {
    fn load() -> Option<CurlApi> {
        // SAFETY: dlopen/dlsym with NUL-terminated names; each symbol is cast to its curl.h type.
        unsafe {
            let lib = libc::dlopen(c"libcurl.so.4".as_ptr(), libc::RTLD_NOW);
            if lib.is_null() {
                return None;
            }
            let sym = |name: &std::ffi::CStr| {
                let p = libc::dlsym(lib, name.as_ptr());
                (!p.is_null()).then_some(p)
            };
            Some(CurlApi {
                init: std::mem::transmute::<*mut c_void, unsafe extern "C" fn() -> *mut c_void>(sym(
                    c"curl_easy_init",
                )?),
                setopt: std::mem::transmute::<*mut c_void, unsafe extern "C" fn(*mut c_void, c_int, ...) -> c_int>(
                    sym(c"curl_easy_setopt")?,
                ),
                perform: std::mem::transmute::<*mut c_void, unsafe extern "C" fn(*mut c_void) -> c_int>(sym(
                    c"curl_easy_perform",
                )?),
                getinfo: std::mem::transmute::<*mut c_void, unsafe extern "C" fn(*mut c_void, c_int, ...) -> c_int>(
                    sym(c"curl_easy_getinfo")?,
                ),
                slist_append: std::mem::transmute::<
                    *mut c_void,
                    unsafe extern "C" fn(*mut c_void, *const c_char) -> *mut c_void,
                >(sym(c"curl_slist_append")?),
            })
        }
    }
}

extern "C" fn curl_sink(data: *const c_char, size: usize, n: usize, user: *mut c_void) -> usize {
    // SAFETY: `user` is the `Vec<u8>` set as CURLOPT_WRITEDATA; curl hands `size * n` bytes.
    let v = unsafe { &mut *user.cast::<Vec<u8>>() };
    v.extend_from_slice(unsafe { std::slice::from_raw_parts(data.cast::<u8>(), size * n) });
    size * n
}

/// One curl easy handle: keeps its connection alive between POSTs, as a libcurl till would.
struct Curl {
    api: CurlApi,
    h: *mut c_void,
    #[allow(clippy::box_collection)] // curl keeps a pointer to the Vec itself: it must not move
    reply: Box<Vec<u8>>,
    _strings: Vec<CString>,
}

impl Curl {
    fn new(base: &str, endpoint: &str, ca_file: Option<&str>) -> Option<Curl> {
        let api = CurlApi::load()?;
        let url = CString::new(format!("{base}{endpoint}")).unwrap();
        let mut strings = vec![url];
        // SAFETY: curl_easy_* as curl.h declares them; every pointer passed stays alive in
        // `strings` / `reply` for the handle's life; long options get a c_long.
        unsafe {
            let h = (api.init)();
            assert!(!h.is_null());
            let mut reply = Box::new(Vec::with_capacity(8192));
            let mut headers = std::ptr::null_mut();
            for line in ["Content-Type: application/json", "Expect:"] {
                let s = CString::new(line).unwrap();
                headers = (api.slist_append)(headers, s.as_ptr());
                strings.push(s);
            }
            (api.setopt)(h, CURLOPT_URL, strings[0].as_ptr());
            (api.setopt)(h, CURLOPT_HTTPHEADER, headers);
            (api.setopt)(h, CURLOPT_NOSIGNAL, 1 as libc::c_long);
            (api.setopt)(h, CURLOPT_TCP_NODELAY, 1 as libc::c_long);
            (api.setopt)(h, CURLOPT_TIMEOUT_MS, 15_000 as libc::c_long);
            (api.setopt)(
                h,
                CURLOPT_WRITEFUNCTION,
                curl_sink as extern "C" fn(*const c_char, usize, usize, *mut c_void) -> usize,
            );
            (api.setopt)(h, CURLOPT_WRITEDATA, &mut *reply as *mut Vec<u8> as *mut c_void);
            if let Some(ca) = ca_file {
                let s = CString::new(ca).unwrap();
                (api.setopt)(h, CURLOPT_CAINFO, s.as_ptr());
                strings.push(s);
            }
            Some(Curl { api, h, reply, _strings: strings })
        }
    }

    /// POSTs `body` and reads the whole reply; returns its length.
    fn post(&mut self, body: &str) -> usize {
        self.reply.clear();
        // SAFETY: `body` outlives the perform; the handle is this struct's.
        unsafe {
            (self.api.setopt)(self.h, CURLOPT_POSTFIELDS, body.as_ptr());
            (self.api.setopt)(self.h, CURLOPT_POSTFIELDSIZE, body.len() as libc::c_long);
            assert_eq!((self.api.perform)(self.h), 0, "curl_easy_perform");
            let mut status: libc::c_long = 0;
            (self.api.getinfo)(self.h, CURLINFO_RESPONSE_CODE, &mut status as *mut libc::c_long);
            assert_eq!(status, 200);
        }
        self.reply.len()
    }
}

// ---- statistics ----

fn quantile(v: &mut [f64], q: f64) -> f64 {
    v.sort_by(|a, b| a.partial_cmp(b).unwrap());
    if v.is_empty() {
        return f64::NAN;
    }
    v[((v.len() - 1) as f64 * q).round() as usize]
}

fn us(d: Duration) -> f64 {
    d.as_secs_f64() * 1e6
}

// ---- 1. query_order latency ----

/// The latency table under `heading`, over plain HTTP (the figure) or over HTTPS, as
/// in production: there the raw client runs the same TLS (rustls, one kept-alive session).
fn latency(sb: &Sandbox, tls: bool, heading: &str) {
    let (base, ca_file, ca_pem) = if tls {
        (sb.https_base_url(), Some(sb.ca_file().to_string_lossy().into_owned()), Some(sb.ca_pem()))
    } else {
        (sb.http_base_url(), None, None)
    };
    println!("\n## {heading}");
    init(&conf(&base, ca_file.clone(), json!({})));
    let no = order_no(if tls { "LS" } else { "L" }, 0);
    let mut out = vec![0u8; 16 * 1024];
    assert_eq!(call(sdk::cloud_pay_micro_pay, &pay_req(&no, NEVER_CONFIRMS), &mut out), 0);
    let q = query_req(&no);
    let body = raw_query_body(&no);
    let mut raw = Raw::connect(&base, ca_pem.as_deref());
    // The SDK's own HTTP layer alone, same pre-built body: splits the gap between the two.
    let transport = sdk::transport::Transport::new(
        &sdk::transport::Trust::Bundled(ca_pem.clone()),
        Duration::from_secs(5),
        Duration::from_secs(15),
    )
    .unwrap();
    // libcurl, where the system has it: the client the latency goals are stated against.
    let mut curl = Curl::new(&base, "query_order", ca_file.as_deref());
    let paths = if curl.is_some() { 4 } else { 3 };
    let n = 3000;
    // [raw, transport, SDK, libcurl]: wall µs per call, CPU µs of the calling thread, allocations, bytes.
    let mut wall: [Vec<f64>; 4] = std::array::from_fn(|_| Vec::with_capacity(n));
    let mut cpu = [Duration::ZERO; 4];
    let mut alloc = [(0u64, 0u64); 4];
    for i in 0..(n + 300) {
        // Interleaved, rotating which goes first, so drift and cache effects hit all alike.
        for k in 0..paths {
            let which = (i + k) % paths;
            let (a0, c0, s) = (allocs(), thread_cpu(), Instant::now());
            match which {
                0 => {
                    raw.post("query_order", &body);
                }
                1 => {
                    transport.post(&base, cloud_pay_protocol::Endpoint::QueryOrder, &body).unwrap();
                }
                2 => assert_eq!(call(sdk::cloud_pay_query_order, &q, &mut out), -2),
                _ => {
                    curl.as_mut().unwrap().post(&body);
                }
            }
            let (e, c1, a1) = (s.elapsed(), thread_cpu(), allocs());
            if i >= 300 {
                wall[which].push(us(e));
                cpu[which] += c1 - c0;
                alloc[which].0 += a1.0 - a0.0;
                alloc[which].1 += a1.1 - a0.1;
            }
        }
    }
    let q50: Vec<f64> = wall.iter_mut().map(|v| quantile(v, 0.5)).collect();
    let q99: Vec<f64> = wall.iter_mut().map(|v| quantile(v, 0.99)).collect();
    println!(
        "| | SDK (C ABI) µs | raw POST µs | ratio | libcurl POST µs | ratio to libcurl (goal ≤ 1.10 median, ≤ 1.5 p99) |\n|---|---|---|---|---|---|"
    );
    let vs_curl = |k: usize, v: &[f64]| {
        if curl.is_some() {
            (format!("{:.0}", v[3]), format!("**{:.2}**", v[k] / v[3]))
        } else {
            ("(no libcurl.so.4)".into(), "–".into())
        }
    };
    let (c50, r50) = vs_curl(2, &q50);
    let (c99, r99) = vs_curl(2, &q99);
    println!("| median | {:.0} | {:.0} | **{:.2}** | {c50} | {r50} |", q50[2], q50[0], q50[2] / q50[0]);
    println!("| p99 | {:.0} | {:.0} | **{:.2}** | {c99} | {r99} |", q99[2], q99[0], q99[2] / q99[0]);
    println!(
        "\n| path ({n} calls each, interleaved) | median µs | p99 µs | CPU µs / call (calling thread) | allocations / call | bytes / call |\n|---|---|---|---|---|---|"
    );
    let names = [
        "raw POST (baseline)",
        "SDK HTTP layer alone (`transport::Transport::post`, same body)",
        "whole export (`cloud_pay_query_order`)",
        "libcurl easy handle, keep-alive (system libcurl.so.4)",
    ];
    for (k, name) in names.iter().enumerate().take(paths) {
        let cpu_us = us(cpu[k]) / n as f64;
        // The raw client is not counted; libcurl allocates with C's malloc, which the counting
        // allocator does not see.
        let (a, b) = if k == 0 || k == 3 {
            ("–".to_string(), "–".to_string())
        } else {
            (format!("{:.1}", alloc[k].0 as f64 / n as f64), format!("{:.0}", alloc[k].1 as f64 / n as f64))
        };
        println!("| {name} | {:.0} | {:.0} | {cpu_us:.1} | {a} | {b} |", q50[k], q99[k]);
    }
    sdk::cloud_pay_fini();
}

/// The CPUs the calling thread may run on.
fn affinity() -> Vec<usize> {
    // SAFETY: a plain out-parameter of the right size.
    let mut set: libc::cpu_set_t = unsafe { std::mem::zeroed() };
    assert_eq!(unsafe { libc::sched_getaffinity(0, std::mem::size_of::<libc::cpu_set_t>(), &mut set) }, 0);
    (0..libc::CPU_SETSIZE as usize).filter(|c| unsafe { libc::CPU_ISSET(*c, &set) }).collect()
}

/// Restricts the calling thread, and every thread it starts from now on, to `cpus`.
fn set_affinity(cpus: &[usize]) {
    // SAFETY: a plain in-parameter of the right size.
    let mut set: libc::cpu_set_t = unsafe { std::mem::zeroed() };
    for c in cpus {
        unsafe { libc::CPU_SET(*c, &mut set) };
    }
    assert_eq!(unsafe { libc::sched_setaffinity(0, std::mem::size_of::<libc::cpu_set_t>(), &set) }, 0);
}

/// CPU time of the calling thread (user + system), for the per-call CPU cost.
fn thread_cpu() -> Duration {
    let mut ts = libc::timespec { tv_sec: 0, tv_nsec: 0 };
    // SAFETY: a plain out-parameter.
    unsafe { libc::clock_gettime(libc::CLOCK_THREAD_CPUTIME_ID, &mut ts) };
    Duration::new(ts.tv_sec as u64, ts.tv_nsec as u32)
}

/// User and system CPU time of the calling thread (`RUSAGE_THREAD`; tick-grained, so only
/// for long loops).
fn thread_user_sys() -> (Duration, Duration) {
    // SAFETY: a plain out-parameter.
    let mut r: libc::rusage = unsafe { std::mem::zeroed() };
    unsafe { libc::getrusage(libc::RUSAGE_THREAD, &mut r) };
    let d = |t: libc::timeval| Duration::new(t.tv_sec as u64, t.tv_usec as u32 * 1000);
    (d(r.ru_utime), d(r.ru_stime))
}

/// `BENCH_ONLY=profile`: 20,000 (`BENCH_PROFILE_CALLS`) live query_order calls through the C ABI and nothing else.
fn profile_loop(sb: &Sandbox) {
    init(&conf(&sb.http_base_url(), None, json!({})));
    let no = order_no("P", 0);
    let mut out = vec![0u8; 16 * 1024];
    assert_eq!(call(sdk::cloud_pay_micro_pay, &pay_req(&no, NEVER_CONFIRMS), &mut out), 0);
    let q = query_req(&no);
    let n: usize = std::env::var("BENCH_PROFILE_CALLS").ok().and_then(|v| v.parse().ok()).unwrap_or(20_000);
    // BENCH_PROFILE_PAY=1: micro_pay calls (a new order each) instead.
    let pay = std::env::var("BENCH_PROFILE_PAY").is_ok_and(|v| v == "1");
    let pays: Vec<CString> = (0..if pay { n } else { 0 }).map(|i| pay_req(&order_no("Q", i), NEVER_CONFIRMS)).collect();
    let (c0, r0, a0, s) = (thread_cpu(), thread_user_sys(), allocs(), Instant::now());
    for i in 0..n {
        if let Some(p) = pays.get(i) {
            assert_eq!(call(sdk::cloud_pay_micro_pay, p, &mut out), 0);
        } else {
            assert_eq!(call(sdk::cloud_pay_query_order, &q, &mut out), -2);
        }
    }
    let (cpu, r1, a1, wall) = (thread_cpu() - c0, thread_user_sys(), allocs(), s.elapsed());
    println!(
        "\n## profile loop: {n} {} calls: {:.1} µs wall, {:.1} µs CPU of the calling thread per call ({:.1} user, {:.1} system), {:.1} allocations ({:.0} bytes) per call",
        if pay { "micro_pay" } else { "query_order" },
        us(wall) / n as f64,
        us(cpu) / n as f64,
        us(r1.0 - r0.0) / n as f64,
        us(r1.1 - r0.1) / n as f64,
        (a1.0 - a0.0) as f64 / n as f64,
        (a1.1 - a0.1) as f64 / n as f64
    );
    sdk::cloud_pay_fini();
}

/// `BENCH_ONLY=stages`: CPU per step of the SDK's reply and request path on one captured
/// sandbox reply (protocol-layer calls, no network), to show where a call's own time goes.
fn stages(sb: &Sandbox) {
    use cloud_pay_protocol::envelope::{self, Response, ResponseEnvelope};
    let base = sb.http_base_url();
    let mut raw = Raw::connect(&base, None);
    let no = order_no("S", 0);
    raw.post("micro_pay", &raw_pay_body(&no, NEVER_CONFIRMS));
    let len = raw.post("query_order", &raw_query_body(&no));
    let reply = raw.buf[raw.buf.len() - len..].to_vec();
    let env = ResponseEnvelope::parse(&reply).unwrap();
    println!(
        "\n## stages (one query_order reply: {} bytes, response_content {} bytes)",
        reply.len(),
        env.response_content.len()
    );
    println!("| step | CPU µs / call | allocations / call |\n|---|---|---|");
    // `rounds` calls after a warm-up of a fortieth of them (500 for the usual 20,000).
    let measure = |name: &str, rounds: u32, f: &mut dyn FnMut()| {
        for _ in 0..rounds / 40 {
            f();
        }
        let (a0, c0) = (allocs(), thread_cpu());
        for _ in 0..rounds {
            f();
        }
        let (c1, a1) = (thread_cpu(), allocs());
        println!("| {name} | {:.2} | {:.1} |", us(c1 - c0) / rounds as f64, (a1.0 - a0.0) as f64 / rounds as f64);
    };
    let step = |name: &str, f: &mut dyn FnMut()| measure(name, 20_000, f);
    let req = t::QueryOrderRequest {
        pay_mch_key: mch_key(None),
        order_client: order_client(false),
        out_trade_no: no.clone(),
        trade_type: Some(TradeType::MICRO_PAY),
        nonce_str: sdk::nonce::nonce_str(),
    };
    step("nonce_str", &mut || drop(std::hint::black_box(sdk::nonce::nonce_str())));
    step("request text (`wire::to_text`)", &mut || drop(std::hint::black_box(wire::to_text(&req))));
    let text = wire::to_text(&req);
    step("seal (HMAC) + envelope text", &mut || {
        drop(std::hint::black_box(RequestEnvelope::seal(text.clone(), Authenticator::Hmac(KEY.as_bytes())).to_body()))
    });
    // RSA mode signs every request: milliseconds, so fewer rounds.
    let key =
        cloud_pay_protocol::crypto::SigningKey::from_pem(include_str!("../tests/data/TEST-ONLY-private-key-pkcs1.pem"))
            .unwrap();
    measure("seal (RSASSA-PSS-2048 sign) + envelope text", 200, &mut || {
        drop(std::hint::black_box(RequestEnvelope::seal(text.clone(), Authenticator::Sign(&key)).to_body()))
    });
    step("reply envelope parse", &mut || drop(std::hint::black_box(ResponseEnvelope::parse(&reply).unwrap())));
    step("reply HMAC check", &mut || assert_eq!(env.check(KEY.as_bytes()), envelope::AuthCheck::Verified));
    step("response_content decode (`Response::from_content`, the SDK's `OrderOnly` read)", &mut || {
        drop(std::hint::black_box(
            Response::<sdk::trade::OrderOnly>::from_content(
                cloud_pay_protocol::Endpoint::QueryOrder,
                &env.response_content,
            )
            .unwrap(),
        ))
    });
    step("  of which: the members in place (`wire::RawMembers`)", &mut || {
        drop(std::hint::black_box(serde_json::from_str::<wire::RawMembers<'_>>(&env.response_content).unwrap()))
    });
    let content: Value = serde_json::from_str(&env.response_content).unwrap();
    let result_text = content["query_order"].to_string();
    step("  of which: typed result (`OrderOnly`: the order)", &mut || {
        drop(std::hint::black_box(serde_json::from_str::<sdk::trade::OrderOnly>(&result_text).unwrap()))
    });
    step("(for comparison: the whole result typed, `QueryOrderResult`)", &mut || {
        drop(std::hint::black_box(serde_json::from_str::<t::QueryOrderResult>(&result_text).unwrap()))
    });
    step("(for comparison: a `serde_json::Value` tree of it)", &mut || {
        drop(std::hint::black_box(serde_json::from_str::<Value>(&env.response_content).unwrap()))
    });
    step("open_reply (envelope, HMAC, decode: the reply side)", &mut || {
        drop(std::hint::black_box(envelope::open_reply::<sdk::trade::QueryOrderRead>(&reply, KEY.as_bytes())))
    });
}

/// `BENCH_ONLY=fastpaths`: each hand-written JSON reader against the serde code that would
/// replace it, on real sandbox traffic (a paid order's query_order reply, the requests the SDK
/// sends, a till's micro_pay input). A fast path stays only if it saves ≥ 2 µs per call
/// (BENCHMARKS.md, "Fast paths"). The two sides alternate in blocks and the figures are
/// medians over the blocks, so load drift hits both alike. The readers that lost (the reply
/// envelope's, the output's object split, the direct read of caller input) are gone; their figures are in BENCHMARKS.md.
fn fast_paths(sb: &Sandbox) {
    use cloud_pay_protocol::envelope::{Response, ResponseEnvelope};
    use serde_json::value::RawValue;
    let base = sb.http_base_url();
    let mut raw = Raw::connect(&base, None);
    let no = order_no("F", 0);
    let pay = raw_pay_body(&no, "134567890123456789");
    raw.post("micro_pay", &pay);
    let len = raw.post("query_order", &raw_query_body(&no));
    let reply = raw.buf[raw.buf.len() - len..].to_vec();
    let env = ResponseEnvelope::parse(&reply).unwrap();
    let content = env.response_content.clone();
    let rounds: usize = std::env::var("BENCH_ROUNDS").ok().and_then(|v| v.parse().ok()).unwrap_or(15);
    println!(
        "\n## fast paths (paid order's query_order reply: {} bytes, response_content {} bytes; {rounds} alternating blocks of 2,000 calls)",
        reply.len(),
        content.len()
    );
    println!(
        "| fast path | input | fast µs / call | serde µs / call | saving µs | serde / fast |\n|---|---|---|---|---|---|"
    );
    let block = |f: &mut dyn FnMut()| {
        let c0 = thread_cpu();
        for _ in 0..2000 {
            f();
        }
        us(thread_cpu() - c0) / 2000.0
    };
    let compare = |name: &str, input: &str, fast: &mut dyn FnMut(), serde: &mut dyn FnMut()| {
        for _ in 0..300 {
            fast();
            serde();
        }
        let (mut a, mut b) = (Vec::new(), Vec::new());
        for r in 0..rounds {
            if r % 2 == 0 {
                a.push(block(fast));
                b.push(block(serde));
            } else {
                b.push(block(serde));
                a.push(block(fast));
            }
        }
        let (f, s) = (quantile(&mut a, 0.5), quantile(&mut b, 0.5));
        println!("| {name} | {input} | {f:.2} | {s:.2} | **{:.2}** | {:.2} |", s - f, s / f);
    };
    use std::hint::black_box as bb;

    // Request text: the null-member strip against the tree (`to_value`, nulls removed, `to_string`).
    let query = t::QueryOrderRequest {
        pay_mch_key: mch_key(None),
        order_client: order_client(false),
        out_trade_no: no.clone(),
        trade_type: Some(TradeType::MICRO_PAY),
        nonce_str: sdk::nonce::nonce_str(),
    };
    assert_eq!(wire::to_text(&query), wire::to_value(&query).to_string());
    compare(
        "`wire::to_text` (`strip_null_members`)",
        "query_order request",
        &mut || drop(bb(wire::to_text(bb(&query)))),
        &mut || drop(bb(wire::to_value(bb(&query)).to_string())),
    );
    let pay_req: t::PayRequest =
        serde_json::from_str(serde_json::from_str::<Value>(&pay).unwrap()["request_content"].as_str().unwrap())
            .unwrap();
    compare(
        "`wire::to_text` (`strip_null_members`)",
        "micro_pay request",
        &mut || drop(bb(wire::to_text(bb(&pay_req)))),
        &mut || drop(bb(wire::to_value(bb(&pay_req)).to_string())),
    );

    // response_content: the normalising scan and direct read against the tree path.
    type Q = sdk::trade::OrderOnly;
    let tree = |text: &str| {
        let mut m = wire::object_from_text(text).unwrap();
        let status = m.get("status").and_then(Value::as_i64).unwrap();
        let raw_result = m.remove("query_order");
        let result = raw_result.as_ref().map(|v| <Q as serde::Deserialize>::deserialize(v).unwrap());
        let raw_result = raw_result.and_then(|v| RawValue::from_string(v.to_string()).ok());
        (status, m.get("description").and_then(Value::as_str).unwrap_or_default().to_owned(), result, raw_result)
    };
    compare(
        "`Response::from_content` (`may_need_normalizing`)",
        "query_order response_content",
        &mut || drop(bb(Response::<Q>::from_content(cloud_pay_protocol::Endpoint::QueryOrder, bb(&content)).unwrap())),
        &mut || drop(bb(tree(bb(&content)))),
    );
    // A reply the scan sends down the tree path (`Internal_status`, as one doc family spells
    // it): the result read from its normalised text, as shipped (one reader per type, see
    // BENCHMARKS.md, "Footprint"), against reading it from the tree. A negative saving is what
    // the size costs.
    let mut v: Value = serde_json::from_str(&content).unwrap();
    let obj = v.as_object_mut().unwrap();
    let sub = obj.remove("internal_status").unwrap_or(Value::from(0));
    obj.insert("Internal_status".into(), sub);
    let needs_tree = v.to_string();
    compare(
        "`Response::from_content` tree path (result from text)",
        "the same, with `Internal_status`",
        &mut || {
            drop(bb(Response::<Q>::from_content(cloud_pay_protocol::Endpoint::QueryOrder, bb(&needs_tree)).unwrap()))
        },
        &mut || drop(bb(tree(bb(&needs_tree)))),
    );
}

// ---- 2. throughput ----

/// Raw pay+query over `threads` keep-alive connections against a fresh sandbox: (rate/s, connections).
fn raw_run(threads: usize, per_thread: usize) -> (f64, u64) {
    let sb = Sandbox::start(SandboxOptions::demo()).unwrap();
    let base = sb.http_base_url();
    let bodies: Vec<Vec<(String, String)>> = (0..threads)
        .map(|th| {
            (0..per_thread)
                .map(|i| {
                    let no = order_no(&format!("R{th:02}"), i);
                    (raw_pay_body(&no, NEVER_CONFIRMS), raw_query_body(&no))
                })
                .collect()
        })
        .collect();
    let c0 = sb.control().connections_accepted();
    let start = Arc::new(std::sync::Barrier::new(threads + 1));
    let hs: Vec<_> = bodies
        .into_iter()
        .map(|list| {
            let (base, start) = (base.clone(), start.clone());
            std::thread::spawn(move || {
                let mut raw = Raw::connect(&base, None);
                start.wait();
                for (pay, query) in &list {
                    raw.post("micro_pay", pay);
                    raw.post("query_order", query);
                }
            })
        })
        .collect();
    start.wait();
    let s = Instant::now();
    hs.into_iter().for_each(|h| h.join().unwrap());
    let rate = (threads * per_thread) as f64 / s.elapsed().as_secs_f64();
    let conns = sb.control().connections_accepted() - c0;
    sb.stop();
    (rate, conns)
}

/// One SDK round's figures.
struct SdkRun {
    rate: f64,
    connections: u64,
    fsyncs: u64,
    fsync_time: Duration,
}

/// A state_dir on tmpfs, where an fsync costs nothing: it separates what the disk costs a
/// payment from what the SDK's own work does. None where there is no /dev/shm.
fn tmpfs_state_dir() -> Option<String> {
    let shm = std::path::Path::new("/dev/shm");
    shm.is_dir().then(|| state_dir_under(shm))
}

/// The same through the C ABI against a fresh sandbox, the journal in `state_dir` (None: on disk).
fn sdk_run(threads: usize, per_thread: usize, state_dir: Option<&str>) -> SdkRun {
    let sb = Sandbox::start(SandboxOptions::demo()).unwrap();
    init(&conf(&sb.http_base_url(), None, state_dir.map_or(json!({}), |d| json!({"state_dir": d}))));
    let reqs: Vec<Vec<(CString, CString)>> = (0..threads)
        .map(|th| {
            (0..per_thread)
                .map(|i| {
                    let no = order_no(&format!("S{th:02}"), i);
                    (pay_req(&no, NEVER_CONFIRMS), query_req(&no))
                })
                .collect()
        })
        .collect();
    std::thread::sleep(Duration::from_millis(100)); // the pre-warm ping
    let c0 = sb.control().connections_accepted();
    let start = Arc::new(std::sync::Barrier::new(threads + 1));
    let hs: Vec<_> = reqs
        .into_iter()
        .map(|list| {
            let start = start.clone();
            std::thread::spawn(move || {
                let mut out = vec![0u8; 16 * 1024];
                start.wait();
                for (pay, query) in &list {
                    assert_eq!(call(sdk::cloud_pay_micro_pay, pay, &mut out), 0);
                    assert_eq!(call(sdk::cloud_pay_query_order, query, &mut out), -2);
                }
            })
        })
        .collect();
    let (f0, t0) = (sdk::trade::journal::fsyncs(), sdk::trade::journal::fsync_time());
    start.wait();
    let s = Instant::now();
    hs.into_iter().for_each(|h| h.join().unwrap());
    let rate = (threads * per_thread) as f64 / s.elapsed().as_secs_f64();
    let fsyncs = sdk::trade::journal::fsyncs() - f0;
    let fsync_time = sdk::trade::journal::fsync_time() - t0;
    let connections = sb.control().connections_accepted() - c0;
    sdk::cloud_pay_fini();
    sb.stop();
    SdkRun { rate, connections, fsyncs, fsync_time }
}

fn throughput() {
    const ROUNDS: usize = 5;
    println!("\n## 2. Throughput: micro_pay + live query_order per thread (never-confirming code), HTTP");
    println!(
        "{ROUNDS} rounds per row; in each, raw, SDK (journal on disk) and SDK (journal on tmpfs) run in rotating order, each on a fresh in-memory sandbox. Rates are medians of the rounds, ratios the medians of the rounds' ratios to that round's raw rate."
    );
    println!(
        "| threads | payments per round | raw pay+query/s | SDK pay+query/s | ratio (goal ≥ 0.9) | ratios of the rounds | SDK, journal on tmpfs, pay+query/s | ratio | ratios of the rounds | journal fsyncs per payment | fsync time per payment µs | 1/rate, SDK − raw µs (disk / tmpfs) | connections SDK / raw |\n|---|---|---|---|---|---|---|---|---|---|---|---|---|"
    );
    let sizes: Vec<(usize, usize)> = match std::env::var("BENCH_THREADS").ok().and_then(|t| t.parse().ok()) {
        Some(t) => vec![(t, (2000 / t).max(64))],
        None => vec![(1, 2000), (8, 500), (64, 64)],
    };
    for (threads, per_thread) in sizes {
        let (mut raw_r, mut disk_r, mut shm_r, mut disk_q, mut shm_q) =
            (Vec::new(), Vec::new(), Vec::new(), Vec::new(), Vec::new());
        let (mut conns, mut syncs, mut sync_time) = ((0, 0), 0, Duration::ZERO);
        for round in 0..ROUNDS {
            let (mut raw, mut disk, mut shm) = (None, None, None);
            for step in 0..3 {
                match (round + step) % 3 {
                    0 => raw = Some(raw_run(threads, per_thread)),
                    1 => disk = Some(sdk_run(threads, per_thread, None)),
                    _ => {
                        shm = tmpfs_state_dir().map(|d| {
                            let r = sdk_run(threads, per_thread, Some(&d));
                            let _ = std::fs::remove_dir_all(&d); // memory, not disk
                            r
                        })
                    }
                }
            }
            let (raw, disk) = (raw.expect("ran"), disk.expect("ran"));
            raw_r.push(raw.0);
            disk_r.push(disk.rate);
            disk_q.push(disk.rate / raw.0);
            if let Some(shm) = shm {
                shm_r.push(shm.rate);
                shm_q.push(shm.rate / raw.0);
            }
            (conns, syncs, sync_time) = ((disk.connections, raw.1), syncs + disk.fsyncs, sync_time + disk.fsync_time);
        }
        let shown = |v: &[f64]| v.iter().map(|r| format!("{r:.2}")).collect::<Vec<_>>().join(" / ");
        let payments = (ROUNDS * threads * per_thread) as f64;
        let (disk_shown, shm_shown) = (shown(&disk_q), shown(&shm_q));
        let raw_rate = quantile(&mut raw_r, 0.5);
        let disk_rate = quantile(&mut disk_r, 0.5);
        let (shm_rate, shm_ratio) = if shm_r.is_empty() {
            (f64::NAN, f64::NAN)
        } else {
            (quantile(&mut shm_r, 0.5), quantile(&mut shm_q, 0.5))
        };
        println!(
            "| {threads} | {} | {raw_rate:.0} | {disk_rate:.0} | **{:.2}** | {disk_shown} | {shm_rate:.0} | {shm_ratio:.2} | {shm_shown} | {:.2} | {:.0} | {:.0} / {:.0} | {} / {} |",
            threads * per_thread,
            quantile(&mut disk_q, 0.5),
            syncs as f64 / payments,
            us(sync_time) / payments,
            1e6 / disk_rate - 1e6 / raw_rate,
            1e6 / shm_rate - 1e6 / raw_rate,
            conns.0,
            conns.1,
        );
    }
}

// ---- 3. TLS handshakes ----

fn handshakes() {
    println!("\n## 3. TLS handshakes (HTTPS sandbox, connections accepted)");
    let sb = Sandbox::start(SandboxOptions::demo()).unwrap();
    let ca = Some(sb.ca_file().to_string_lossy().into_owned());
    let mut out = vec![0u8; 16 * 1024];
    let ctl = sb.control();
    let payments = |tag: &str, n: usize, out: &mut Vec<u8>| {
        for i in 0..n {
            let no = order_no(tag, i);
            assert_eq!(call(sdk::cloud_pay_micro_pay, &pay_req(&no, "134567890123456789"), out), 0);
            assert_eq!(call(sdk::cloud_pay_query_order, &query_req(&no), out), 0);
        }
    };
    let wait_pings = |n: u64| {
        let end = Instant::now() + Duration::from_secs(5);
        while ctl.request_count("ping") < n && Instant::now() < end {
            std::thread::sleep(Duration::from_millis(2));
        }
    };
    println!("| scenario | connections during the payments | pings | handshakes per payment |\n|---|---|---|---|");
    // Without pre-warm: the first payment opens the connection.
    init(&conf(&sb.https_base_url(), ca.clone(), json!({"keep_alive_ping_interval": 0})));
    let c0 = ctl.connections_accepted();
    payments("H0", 20, &mut out);
    let c = ctl.connections_accepted() - c0;
    println!("| keep_alive_ping_interval 0 (off): 20 payments right after init | {c} | 0 | {:.2} |", c as f64 / 20.0);
    sdk::cloud_pay_fini();
    // With pre-warm (default): init's background ping opened it.
    let p0 = ctl.request_count("ping");
    let s = Instant::now();
    init(&conf(&sb.https_base_url(), ca.clone(), json!({})));
    let init_t = s.elapsed();
    wait_pings(p0 + 1);
    let warm_t = s.elapsed();
    let c0 = ctl.connections_accepted();
    payments("H1", 20, &mut out);
    let c = ctl.connections_accepted() - c0;
    println!(
        "| default (pre-warm at init): 20 payments after init | {c} | {} | {:.2} |",
        ctl.request_count("ping") - p0,
        c as f64 / 20.0
    );
    println!(
        "(init returned after {:.1} ms; the pre-warm ping had opened the TLS connection {:.1} ms after init started)",
        init_t.as_secs_f64() * 1e3,
        warm_t.as_secs_f64() * 1e3
    );
    sdk::cloud_pay_fini();
    // Idle time: pings keep the connection in use; the next payment needs no handshake.
    let p0 = ctl.request_count("ping");
    init(&conf(&sb.https_base_url(), ca, json!({"keep_alive_ping_interval": 1})));
    wait_pings(p0 + 1);
    let c0 = ctl.connections_accepted();
    std::thread::sleep(Duration::from_millis(3500));
    payments("H2", 5, &mut out);
    let c = ctl.connections_accepted() - c0;
    println!(
        "| keep_alive_ping_interval 1 s: 3.5 s idle, then 5 payments | {c} | {} | {:.2} |",
        ctl.request_count("ping") - p0,
        c as f64 / 5.0
    );
    sdk::cloud_pay_fini();
    sb.stop();
}

// ---- 4. size and init time ----

fn size_and_init() {
    println!("\n## 4. Library size and init time");
    let lib = concat!(env!("CARGO_MANIFEST_DIR"), "/target/release/libCloudPayAPI_SDK_CPP.so");
    match std::fs::metadata(lib) {
        Ok(m) => println!(
            "target/release/libCloudPayAPI_SDK_CPP.so (profile strip = \"symbols\"): {} bytes ({:.2} MiB)",
            m.len(),
            m.len() as f64 / 1048576.0
        ),
        Err(e) => {
            println!("target/release/libCloudPayAPI_SDK_CPP.so: not found ({e}); run `cargo build --release` first")
        }
    }
    // Nothing listens on port 9: the background ping fails, init must not care.
    let mut times = Vec::new();
    for _ in 0..50 {
        let c = conf("http://127.0.0.1:9/cpay/", None, json!({}));
        let s = Instant::now();
        init(&c);
        times.push(us(s.elapsed()) / 1e3);
        sdk::cloud_pay_fini();
    }
    println!(
        "cloud_pay_init without network (base_url 127.0.0.1:9, nothing listening), 50 runs: median {:.2} ms, max {:.2} ms",
        quantile(&mut times, 0.5),
        quantile(&mut times, 1.0)
    );
}

// ---- 5. result latency ----

struct Lcg(u64);
impl Lcg {
    fn next(&mut self) -> f64 {
        self.0 = self.0.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
        (self.0 >> 11) as f64 / (1u64 << 53) as f64
    }
}

fn result_latency(scale: f64) {
    println!("\n## 5. Result latency (background polling, 25 polls per order; time scale {scale})");
    let interval = 6.0 * scale;
    let classes = [("at once", 0.0, 0.0), ("2–10 s", 2.0, 10.0), ("15–60 s", 15.0, 60.0)];
    let per_class = 20;
    let mut rng = Lcg(20_240_101);
    // The same customers for both schedules: delays in tenths of a second (the payment code's DDD).
    let delays: Vec<(usize, u32)> = (0..classes.len())
        .flat_map(|c| (0..per_class).map(move |_| c))
        .map(|c| {
            let (_, lo, hi) = classes[c];
            (c, ((lo + (hi - lo) * rng.next()) * scale * 10.0).round() as u32)
        })
        .collect();
    println!(
        "| schedule | customers | orders | median latency s | p90 latency s | max s | queries per order (polls due before the SDK knew) |\n|---|---|---|---|---|---|---|"
    );
    for schedule in ["fixed", "adaptive"] {
        let sb = Sandbox::start(SandboxOptions::demo()).unwrap();
        init(&conf(
            &sb.http_base_url(),
            None,
            json!({"micro_pay_query_order_count": 25, "micro_pay_query_order_interval": interval, "micro_pay_query_order_schedule": schedule}),
        ));
        let ctl = sb.control().clone();
        let hs: Vec<_> = delays
            .iter()
            .enumerate()
            .map(|(i, &(class, tenths))| {
                let ctl = ctl.clone();
                let offsets =
                    poll_offsets(PollSchedule::parse(schedule).unwrap(), 25, Duration::from_secs_f64(interval));
                std::thread::spawn(move || {
                    let no = order_no(&format!("P{}", &schedule[..1]), i);
                    let code = format!("1391{tenths:03}00000000000");
                    let mut out = vec![0u8; 16 * 1024];
                    let sent_ms = SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_millis() as f64;
                    assert_eq!(call(sdk::cloud_pay_micro_pay, &pay_req(&no, &code), &mut out), 0);
                    let returned = Instant::now();
                    // When the sandbox marks the order paid (its scheduled transition).
                    let paid_ms = ctl.order(&no).and_then(|o| o["pending"]["at_ms"].as_f64()).unwrap_or(sent_ms);
                    // Watch the SDK's order table (no request); then query_order answers from memory.
                    let rt = sdk::ffi::current().unwrap();
                    let deadline = Instant::now() + Duration::from_secs_f64(interval * 25.0 + 5.0);
                    let rec = loop {
                        let r = rt.trade.record(&no).unwrap();
                        if r.cached_final || Instant::now() > deadline {
                            break r;
                        }
                        std::thread::sleep(Duration::from_millis(5));
                    };
                    let rc = call(sdk::cloud_pay_query_order, &query_req(&no), &mut out);
                    let done_ms = SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_millis() as f64;
                    assert_eq!(rc, 0, "order {no} (delay {tenths}) paid");
                    // Background queries this order got: the polls due before the SDK knew.
                    let known = returned.elapsed();
                    let queries =
                        if rec.cached_final { offsets.iter().filter(|t| **t <= known).count() as u32 } else { 25 };
                    (class, (done_ms - paid_ms).max(0.0) / 1e3, queries)
                })
            })
            .collect();
        let results: Vec<(usize, f64, u32)> = hs.into_iter().map(|h| h.join().unwrap()).collect();
        let total_queries = sb.control().request_count("query_order");
        for c in 0..=classes.len() {
            let sel: Vec<&(usize, f64, u32)> = results.iter().filter(|r| c == classes.len() || r.0 == c).collect();
            let mut lat: Vec<f64> = sel.iter().map(|r| r.1).collect();
            let q = sel.iter().map(|r| r.2 as f64).sum::<f64>() / sel.len() as f64;
            let name = if c == classes.len() { "all" } else { classes[c].0 };
            println!(
                "| {schedule} | {name} | {} | {:.2} | {:.2} | {:.2} | {q:.1} |",
                sel.len(),
                quantile(&mut lat, 0.5),
                quantile(&mut lat, 0.9),
                quantile(&mut lat, 1.0)
            );
        }
        println!(
            "| {schedule} | all, sandbox's query_order count | {} | | | | {:.1} |",
            results.len(),
            total_queries as f64 / results.len() as f64
        );
        sdk::cloud_pay_fini();
        sb.stop();
    }
    let f = poll_offsets(PollSchedule::Fixed, 25, Duration::from_secs_f64(interval));
    let a = poll_offsets(PollSchedule::Adaptive, 25, Duration::from_secs_f64(interval));
    let show = |v: &[Duration]| v.iter().map(|d| format!("{:.1}", d.as_secs_f64())).collect::<Vec<_>>().join(" ");
    println!(
        "poll times (s after micro_pay): fixed {}\n                                adaptive {}",
        show(&f),
        show(&a)
    );
}

fn main() {
    // `cargo bench` passes --bench; `cargo test --benches` passes nothing useful: skip then.
    if !std::env::args().any(|a| a == "--bench") {
        println!("cashier_bench: run with `cargo bench --bench cashier_bench`");
        return;
    }
    let scale: f64 = std::env::var("BENCH_TIME_SCALE").ok().and_then(|s| s.parse().ok()).unwrap_or(1.0);
    let only = std::env::var("BENCH_ONLY").unwrap_or_default();
    let run = |name: &str| only.is_empty() || only.split(',').any(|o| o == name);
    let started = Instant::now();
    println!("# cashier_bench ({} cores)", std::thread::available_parallelism().map_or(0, |n| n.get()));
    if run("latency") {
        let sb = Sandbox::start(SandboxOptions::demo()).unwrap();
        latency(&sb, false, "1. query_order latency (live query of a never-confirming order, HTTP keep-alive)");
        latency(&sb, true, "1b. query_order latency over HTTPS (TLS keep-alive: SDK and raw client alike)");
        sb.stop();
        // Everything on one CPU: no thread waits for another CPU to wake from idle, so the
        // round trip is pure work and "SDK − raw" is the SDK's own time, without the
        // cross-CPU wake-ups that inflate and scatter it on two cores (BENCHMARKS.md, loopback latency).
        let all = affinity();
        set_affinity(&[all[0]]);
        let sb = Sandbox::start(SandboxOptions::demo()).unwrap();
        latency(
            &sb,
            false,
            &format!(
                "1c. query_order latency on one CPU (the bench, its sandbox and the SDK's threads pinned to CPU {}), HTTP",
                all[0]
            ),
        );
        sb.stop();
        set_affinity(&all);
    }
    if only.split(',').any(|o| o == "stages") {
        let sb = Sandbox::start(SandboxOptions::demo()).unwrap();
        stages(&sb);
        sb.stop();
    }
    if only.split(',').any(|o| o == "fastpaths") {
        let sb = Sandbox::start(SandboxOptions::demo()).unwrap();
        fast_paths(&sb);
        sb.stop();
    }
    if only.split(',').any(|o| o == "profile") {
        // Not part of a normal run: SDK calls only, for `perf record` / `strace -c`.
        let sb = Sandbox::start(SandboxOptions::demo()).unwrap();
        profile_loop(&sb);
        sb.stop();
    }
    if run("throughput") {
        throughput();
    }
    if run("tls") {
        handshakes();
    }
    if run("size") {
        size_and_init();
    }
    if run("result") {
        result_latency(scale);
    }
    println!("\n(total {:.0} s)", started.elapsed().as_secs_f64());
}
