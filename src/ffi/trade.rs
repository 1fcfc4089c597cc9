//! Exports of the trade family: init, fini, errmsg, micro_pay, query_order, cancel_order,
//! scan_code_pay, refund, query_refund.

use std::ffi::{c_char, c_int};

use super::codes::*;
use super::{current, export, parse, sdk};
use crate::config::Config;

/// Initialises the SDK with a `CloudPayConf` JSON (UTF-8): `{"common_conf":{…},"trade_conf":{…}}`.
///
/// Required: `trade_conf.out_mch_id`, `out_sub_mch_id`, `out_shop_id`, `authen_key`.
/// Optional `common_conf` extensions: `base_url` (default `https://pay.qcloud.com/cpay/`,
/// overridden by the environment variable `CLOUDPAY_BASE_URL`), `ca_file` (a PEM root trusted
/// besides the built-in roots; `./cloudpayrootca.pem` is loaded when present), `state_dir`,
/// `timeout_ms` (15000), `connect_timeout_ms` (5000), `retry_pause_ms` (3000, pause before
/// repeating a status-103 request), `upload_monitor` (0/1),
/// `micro_pay_query_order_schedule` (`"fixed"`, the default: a result query every
/// `micro_pay_query_order_interval`; `"adaptive"`: the same number of queries over the same
/// window, starting after interval/8 and backing off, so a customer who pays within seconds
/// is seen sooner and one who pays late in the window later), `keep_alive_ping_interval`
/// (50 s; 0 disables): a `ping` opens the connection in the background right after init and
/// repeats after that much idle time, so a payment does not wait for a new TLS handshake;
/// `proxy` (`http://host:port` or `http://user:password@host:port`: every request goes through
/// this HTTP proxy, https by a CONNECT tunnel with TLS still verified end to end; environment
/// variables such as `HTTPS_PROXY` are not read), `allow_insecure_http` (false: a plain
/// `http://` base URL is refused unless its host is loopback — 127.0.0.0/8, ::1, localhost —;
/// true allows a sandbox on the shop's LAN), `use_system_roots` (false: servers are verified
/// against the built-in Mozilla roots plus `ca_file`; true: against the operating system's
/// trust store instead, for a network that inspects TLS; not together with `ca_file`), `log_dir` (off by default: a folder for the local
/// SDK log — one line per export call and per background query, in daily files
/// `cloudpay-YYYYMMDD.log`, UTC, kept 7 days; see docs/sdk-log.md) and `log_max_bytes`
/// (52428800: cap on the log files' total size, the oldest deleted first; at least 1024).
/// The log never fails or delays a call: a folder that cannot be written is said once, in
/// init's notice.
/// Poll intervals accept fractional seconds. Init waits for the first keep-alive `ping` at most
/// `connect_timeout_ms` + 0.5 s (with `prober_dns` the domains are pinged first): its connectivity
/// check.
///
/// After a 0, errmsg may hold an informational notice (the code stays 0): keys of `conf` the
/// SDK does not read ("ignored unknown key(s): common_conf.base_ur1 (did you mean base_url?)"
/// — they are ignored, for configurations written for the vendor DLL); the connectivity check's
/// failure with its cause (DNS, connection, TLS verification); how many orders a previous
/// process left unfinished were resumed from the order journal in `state_dir`; a base URL
/// taken from `CLOUDPAY_BASE_URL` and a `./cloudpayrootca.pem` picked up from the working
/// directory, so neither is applied silently.
///
/// One till per `state_dir`: the order journal is locked while it is open, so init with a
/// folder another process (or SDK instance) holds returns `CLOUD_PAY_FAIL` with an errmsg
/// naming the folder.
///
/// Returns `CLOUD_PAY_OK` (0); `CLOUD_PAY_FAIL` (-1) for a bad configuration (errmsg names the
/// field); `CLOUD_PAY_INTERNAL` (-3) for an internal error. Calling it again stops the
/// background work of the previous configuration and re-configures; it first waits for that
/// configuration's calls still under way to end (their own timeouts bound the wait).
///
/// # Safety
/// `conf` is NULL or a NUL-terminated string valid for the duration of the call.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn cloud_pay_init(conf: *const c_char) -> c_int {
    // SAFETY: the caller's contract, as documented above.
    unsafe {
        export(&INIT, Some(conf), None, |text| {
            crate::platform::install(); // before any SDK thread can start
            sdk().install(Config::parse(text)?).map(done) // the notice: resumed orders, settings from outside the conf
        })
    }
}

/// Releases the SDK: stops background polling within 2 s and forgets the configuration.
/// Always returns `CLOUD_PAY_OK` (0). Safe to call more than once, and while other calls run.
#[unsafe(no_mangle)]
pub extern "C" fn cloud_pay_fini() -> c_int {
    // SAFETY: no pointers.
    unsafe {
        export(&FINI, None, None, |_| {
            sdk().shutdown();
            Ok(done(None))
        })
    }
}

/// The text of this thread's last failure: UTF-8, never NULL, empty after a successful call.
/// Valid until the next SDK call on the same thread. Owned by the SDK: never free it.
/// For a server reply it reads `endpoint: status S, internal_status I, log_id L, description`.
#[unsafe(no_mangle)]
pub extern "C" fn cloud_pay_get_errmsg() -> *const c_char {
    super::errmsg_ptr()
}

/// Submits a payment-code (micro) payment: `{"out_trade_no","author_code","total_fee","body",
/// "fee_type"?,"attach"?,"goods_tag"?,"detail"?,"pay_platform"?}`. The platform is inferred
/// from the payment code (WeChat 10–15, 18 digits; Alipay 25–30, 16–24 digits) unless given.
///
/// Writes `{"pay_platform":N,"out_trade_no":"…"}` to `resp` (at most `length` bytes incl. NUL).
/// Returns `CLOUD_PAY_OK` (0): accepted — or outcome unknown, in which case errmsg says so; the
/// order may exist, the SDK keeps querying it in the background; get the result with
/// `cloud_pay_query_order`. Returns `CLOUD_PAY_FAIL` (-1): not accepted, bad input, or nothing
/// was sent — no attempt of this order could have reached any server (DNS, connection refused,
/// TLS verification failed, on every domain tried, and no earlier attempt of the number may have
/// arrived); errmsg then starts with "nothing was sent: " and names the cause, nothing is polled,
/// and the sale may be paid again. After -1 never cancel the order: a re-entry failure (same number, different content)
/// would reverse the earlier, paid order. If `resp` is too small the code is still the real one;
/// after 0 errmsg then starts with "payment accepted" and says the size needed.
///
/// # Safety
/// `req` NUL-terminated; `resp` has `length` writable bytes.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn cloud_pay_micro_pay(req: *const c_char, resp: *mut c_char, length: c_int) -> c_int {
    // SAFETY: the caller's contract, as documented above.
    unsafe {
        export(&MICRO_PAY, Some(req), Some((resp, length, "resp")), |t| current()?.trade.micro_pay(&parse(t)?).map(pay))
    }
}

/// Queries an order: `{"out_trade_no","trade_type"?,"pay_platform"?}` (trade_type 1 micro pay,
/// 2 scan code). A final state is answered from memory; otherwise one live query is made.
///
/// Writes the order (`OrderSdk` JSON: out_trade_no, total_fee, fee_type, trade_type,
/// pay_platform, current_trade_state, `state` (CLOUD_PAY_STATE_*), transaction_id and time_end
/// when paid, code_url for -5, and the raw pay_mch_key / order_content objects).
/// A (partly) refunded order's output adds `refunded_fee` and `refund_count` (refunds not failed,
/// read with one refund query) and errmsg says "partly refunded" or "fully refunded".
/// Returns CLOUD_PAY_ORDER_PAID (0), _FAILED (-1, errmsg gives the platform's reason), _UNKNOWN
/// (-2, query again), _ERROR (-3), _CLOSED (-4 refunded/reversed/closed), _PREPAY (-5 show code_url), _REENTRY (-6, never
/// cancel), _NOT_EXIST (-7; also for an order this SDK never got out — "was never sent" — while
/// no server can be reached). If `order` is too small the code is still the real one.
///
/// # Safety
/// `req` NUL-terminated; `order` has `length` writable bytes.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn cloud_pay_query_order(req: *const c_char, order: *mut c_char, length: c_int) -> c_int {
    // SAFETY: the caller's contract, as documented above.
    unsafe {
        export(&QUERY_ORDER, Some(req), Some((order, length, "order")), |t| {
            current()?.trade.query_order(&parse(t)?).map(query)
        })
    }
}

/// Cancels an order: `{"out_trade_no","trade_type","pay_platform"?}`; trade_type 1 reverses a
/// micro-pay order (撤单, RSA-signed when a private_key is configured), 2 closes a scan-code order.
/// An order that hit re-entry is refused locally (nothing is sent). An order no verified reply
/// has shown yet is queried first: the cancel goes out only for this till's order (or none),
/// else -1 "nothing was sent to cancel it".
/// Returns CLOUD_PAY_OK (0), CLOUD_PAY_FAIL (-1 failed or refused), CLOUD_PAY_UNKNOWN (-2),
/// CLOUD_PAY_INTERNAL (-3 bad input, not initialised, internal).
///
/// # Safety
/// `req` NUL-terminated.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn cloud_pay_cancel_order(req: *const c_char) -> c_int {
    // SAFETY: the caller's contract, as documented above.
    unsafe { export(&CANCEL_ORDER, Some(req), None, |t| current()?.trade.cancel_order(&parse(t)?).map(call_outcome)) }
}

/// Creates a scan-code (Native QR) order: `{"pay_platform","out_trade_no","total_fee","body",
/// "product_id"?,"fee_type"?,"attach"?,"goods_tag"?,"detail"?,"time_expire"?}`.
/// Returns CLOUD_PAY_OK (0, accepted or unknown: query with trade_type 2 — -5 gives code_url,
/// 0 when paid) or CLOUD_PAY_FAIL (-1, not accepted, bad input, or "nothing was sent: <cause>"
/// as for cloud_pay_micro_pay).
///
/// # Safety
/// `req` NUL-terminated.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn cloud_pay_scan_code_pay(req: *const c_char) -> c_int {
    // SAFETY: the caller's contract, as documented above.
    unsafe { export(&SCAN_CODE_PAY, Some(req), None, |t| current()?.trade.scan_code_pay(&parse(t)?).map(pay)) }
}

/// Applies for a refund: `{"pay_platform"?,"out_trade_no","out_refund_no"?,"total_fee",
/// "refund_fee","refund_fee_type"?,"refund_reason"?}` (amounts in fen, numbers or numeric
/// strings). Without out_refund_no a number is generated (reused if the same refund is retried
/// after an unknown outcome); find it with cloud_pay_query_refund by out_trade_no.
/// Returns CLOUD_PAY_OK (0, accepted — the result comes from cloud_pay_query_refund),
/// CLOUD_PAY_FAIL (-1 not accepted, or "nothing was sent: <cause>" when no attempt of this
/// out_refund_no could have reached any server), CLOUD_PAY_UNKNOWN (-2, retry with the same out_refund_no or
/// query), CLOUD_PAY_INTERNAL (-3 bad input, not initialised, internal).
///
/// # Safety
/// `req` NUL-terminated.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn cloud_pay_refund(req: *const c_char) -> c_int {
    // SAFETY: the caller's contract, as documented above.
    unsafe { export(&REFUND, Some(req), None, |t| current()?.trade.refund(&parse(t)?).map(call_outcome)) }
}

/// Queries refunds: `{"pay_platform"?,"out_trade_no","out_refund_no"?}` (no out_refund_no = all
/// refunds of the order). Writes `RefundOrderSdk` JSON: out_trade_no, out_refund_no,
/// refund_fee, `state` (1 processing, 2 success, 3 failed) of the matching (or newest) refund and
/// `refund_orders` with every refund. Returns CLOUD_PAY_OK (0, read `state`), CLOUD_PAY_FAIL (-1),
/// CLOUD_PAY_UNKNOWN (-2 query again), CLOUD_PAY_INTERNAL (-3). If `refund_order` is too small
/// the code is still the real one.
///
/// # Safety
/// `req` NUL-terminated; `refund_order` has `length` writable bytes.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn cloud_pay_query_refund(req: *const c_char, refund_order: *mut c_char, length: c_int) -> c_int {
    // SAFETY: the caller's contract, as documented above.
    unsafe {
        export(&QUERY_REFUND, Some(req), Some((refund_order, length, "refund_order")), |t| {
            current()?.trade.query_refund(&parse(t)?).map(refunds)
        })
    }
}
