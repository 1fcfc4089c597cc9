//! Return codes, one documented mapping per export family (docs/c-api.md, "Return codes").
//! Values are the vendor's and are never renumbered.

use std::ffi::c_int;

use super::{Export, Output, Reply};
use crate::error::SdkError;
use crate::outcome::{Accept, CallCode, CallOutcome, OrderCode, PayOutcome, QueryOutcome};
use crate::security::{SecCode, SecOutcome};

/// Success.
pub const CLOUD_PAY_OK: c_int = 0;
/// Failed / not accepted / bad input for micro_pay and scan_code_pay.
pub const CLOUD_PAY_FAIL: c_int = -1;
/// Result unknown: query again (never treat as failure).
pub const CLOUD_PAY_UNKNOWN: c_int = -2;
/// SDK-internal error, bad input or not initialised (functions other than micro_pay/scan_code_pay).
pub const CLOUD_PAY_INTERNAL: c_int = -3;

/// query_order: the customer paid.
pub const CLOUD_PAY_ORDER_PAID: c_int = 0;
/// query_order: the payment failed.
pub const CLOUD_PAY_ORDER_FAILED: c_int = -1;
/// query_order: result unknown, keep querying.
pub const CLOUD_PAY_ORDER_UNKNOWN: c_int = -2;
/// query_order: a failure that is not a payment failure (bad input, server rejection, internal).
pub const CLOUD_PAY_ORDER_ERROR: c_int = -3;
/// query_order: the order was refunded, reversed or closed.
pub const CLOUD_PAY_ORDER_CLOSED: c_int = -4;
/// query_order: scan-code order created; show `code_url` as a QR code.
pub const CLOUD_PAY_ORDER_PREPAY: c_int = -5;
/// query_order: re-entry (status 104 + internal_status 407 on micro_pay); never cancel this order.
pub const CLOUD_PAY_ORDER_REENTRY: c_int = -6;
/// query_order: the order does not exist.
pub const CLOUD_PAY_ORDER_NOT_EXIST: c_int = -7;

/// `state` in query_order output: created.
pub const CLOUD_PAY_STATE_INIT: c_int = 1;
/// `state`: the customer is confirming the payment.
pub const CLOUD_PAY_STATE_USER_PAYING: c_int = 2;
/// `state`: paid.
pub const CLOUD_PAY_STATE_SUCCESS: c_int = 3;
/// `state`: failed.
pub const CLOUD_PAY_STATE_FAIL: c_int = 4;
/// `state`: reversed.
pub const CLOUD_PAY_STATE_REVERSE: c_int = 5;
/// `state`: refunded.
pub const CLOUD_PAY_STATE_REFUND: c_int = 6;
/// `state`: closed.
pub const CLOUD_PAY_STATE_CLOSED: c_int = 7;
/// `state`: re-entry; never cancel.
pub const CLOUD_PAY_STATE_REENTRY: c_int = 8;
/// `state`: unknown.
pub const CLOUD_PAY_STATE_UNKNOWN: c_int = 9;
/// `state`: scan-code order waiting for the customer.
pub const CLOUD_PAY_STATE_PRE_ORDERED: c_int = 10;

/// `state` in query_refund output: processing.
pub const CLOUD_PAY_REFUND_PROCESSING: c_int = 1;
/// `state` in query_refund output: refunded.
pub const CLOUD_PAY_REFUND_SUCCESS: c_int = 2;
/// `state` in query_refund output: failed.
pub const CLOUD_PAY_REFUND_FAILED: c_int = 3;

/// security_login: first run — supply pay_platform, mch_id, sub_mch_id and shop_id.
pub const CLOUD_PAY_LOGIN_NEED_IDS: c_int = 1;
/// security_login_check: logged in, no stored configuration yet — call cloud_pay_security_init.
pub const CLOUD_PAY_LOGIN_NO_CONF: c_int = 1;
/// security_login_check: the staff member rejected the login.
pub const CLOUD_PAY_LOGIN_REJECTED: c_int = -1;
/// security_login_check: the QR code expired (ttl); start a new login.
pub const CLOUD_PAY_LOGIN_EXPIRED: c_int = -4;

pub(crate) fn accept(a: Accept) -> c_int {
    match a {
        Accept::Accepted => CLOUD_PAY_OK,
        Accept::NotAccepted => CLOUD_PAY_FAIL,
    }
}

pub(crate) fn order(c: OrderCode) -> c_int {
    match c {
        OrderCode::Paid => CLOUD_PAY_ORDER_PAID,
        OrderCode::Failed => CLOUD_PAY_ORDER_FAILED,
        OrderCode::Unknown => CLOUD_PAY_ORDER_UNKNOWN,
        OrderCode::Error => CLOUD_PAY_ORDER_ERROR,
        OrderCode::Closed => CLOUD_PAY_ORDER_CLOSED,
        OrderCode::Prepay => CLOUD_PAY_ORDER_PREPAY,
        OrderCode::ReEntry => CLOUD_PAY_ORDER_REENTRY,
        OrderCode::NotExist => CLOUD_PAY_ORDER_NOT_EXIST,
    }
}

pub(crate) fn call(c: CallCode) -> c_int {
    match c {
        CallCode::Ok => CLOUD_PAY_OK,
        CallCode::Failed => CLOUD_PAY_FAIL,
        CallCode::Unknown => CLOUD_PAY_UNKNOWN,
    }
}

/// security_login. A code another security call makes is this call's internal error.
pub(crate) fn login(c: SecCode) -> c_int {
    match c {
        SecCode::Ok => CLOUD_PAY_OK,
        SecCode::NeedIds => CLOUD_PAY_LOGIN_NEED_IDS,
        SecCode::Unknown => CLOUD_PAY_UNKNOWN,
        SecCode::NoConfiguration | SecCode::Rejected | SecCode::Expired | SecCode::Failed => CLOUD_PAY_INTERNAL,
    }
}

/// security_login_check.
pub(crate) fn login_check(c: SecCode) -> c_int {
    match c {
        SecCode::Ok => CLOUD_PAY_OK,
        SecCode::NoConfiguration => CLOUD_PAY_LOGIN_NO_CONF,
        SecCode::Unknown => CLOUD_PAY_UNKNOWN,
        SecCode::Rejected => CLOUD_PAY_LOGIN_REJECTED,
        SecCode::Expired => CLOUD_PAY_LOGIN_EXPIRED,
        SecCode::NeedIds | SecCode::Failed => CLOUD_PAY_INTERNAL,
    }
}

/// security_identification and its check: done, not yet, or failed.
pub(crate) fn identification(c: SecCode) -> c_int {
    match c {
        SecCode::Ok => CLOUD_PAY_OK,
        SecCode::Unknown => CLOUD_PAY_UNKNOWN,
        SecCode::NeedIds | SecCode::NoConfiguration | SecCode::Rejected | SecCode::Expired | SecCode::Failed => {
            CLOUD_PAY_FAIL
        }
    }
}

/// Errors of the pay exports: anything that keeps a payment from being accepted is -1.
fn not_accepted(_: &SdkError) -> c_int {
    CLOUD_PAY_FAIL
}

fn order_error(_: &SdkError) -> c_int {
    CLOUD_PAY_ORDER_ERROR
}

fn internal(_: &SdkError) -> c_int {
    CLOUD_PAY_INTERNAL
}

/// A bad configuration is the caller's to fix (-1); anything else is internal.
fn bad_config(e: &SdkError) -> c_int {
    match e {
        SdkError::BadConfig(_) | SdkError::BadInput(_) => CLOUD_PAY_FAIL,
        _ => CLOUD_PAY_INTERNAL,
    }
}

/// As [`bad_config`], and a refusal (no login, another sub-merchant) is -1 too.
fn refused_config(e: &SdkError) -> c_int {
    match e {
        SdkError::BadConfig(_) | SdkError::BadInput(_) | SdkError::Refused(_) => CLOUD_PAY_FAIL,
        _ => CLOUD_PAY_INTERNAL,
    }
}

/// A cancel refused locally (a re-entry order, another sale's number) is -1; bad input -3.
fn cancel_error(e: &SdkError) -> c_int {
    match e {
        SdkError::Refused(_) => CLOUD_PAY_FAIL,
        _ => CLOUD_PAY_INTERNAL,
    }
}

/// A panic in a pay export: the request may have gone out.
const PAY_PANIC: (c_int, &str) = (CLOUD_PAY_OK, " (outcome unknown: query the order before anything else)");

/// An export with no money state: input `req`, a panic is -3, a plain output, errors -3. The
/// others below say only what sets them apart from it.
const fn plain(name: &'static str) -> Export {
    Export { name, input: "req", panic: (CLOUD_PAY_INTERNAL, ""), output: Output::Plain, error: internal }
}

pub(crate) const INIT: Export = Export { input: "conf", error: bad_config, ..plain("cloud_pay_init") };
pub(crate) const FINI: Export = Export { panic: (CLOUD_PAY_OK, ""), ..plain("cloud_pay_fini") };
pub(crate) const MICRO_PAY: Export =
    Export { panic: PAY_PANIC, output: Output::Payment, error: not_accepted, ..plain("cloud_pay_micro_pay") };
pub(crate) const QUERY_ORDER: Export = Export {
    panic: (CLOUD_PAY_ORDER_ERROR, ""),
    output: Output::Money,
    error: order_error,
    ..plain("cloud_pay_query_order")
};
pub(crate) const CANCEL_ORDER: Export =
    Export { output: Output::Money, error: cancel_error, ..plain("cloud_pay_cancel_order") };
pub(crate) const SCAN_CODE_PAY: Export =
    Export { panic: PAY_PANIC, output: Output::Money, error: not_accepted, ..plain("cloud_pay_scan_code_pay") };
pub(crate) const REFUND: Export = Export { output: Output::Money, ..plain("cloud_pay_refund") };
pub(crate) const QUERY_REFUND: Export = Export { output: Output::Money, ..plain("cloud_pay_query_refund") };
pub(crate) const QUERY_SHOP_INFO: Export = plain("cloud_pay_query_shop_info");
pub(crate) const SET_SHOP_INFO: Export = plain("cloud_pay_set_shop_info");
pub(crate) const ORDER_DETAIL: Export = plain("cloud_pay_order_detail");
pub(crate) const ORDER_STAT: Export = plain("cloud_pay_order_stat");
pub(crate) const AUTHOR_CODE_PREFIX: Export = plain("cloud_pay_security_author_code_prefix");
pub(crate) const SECURITY_LOGIN: Export = plain("cloud_pay_security_login");
pub(crate) const SECURITY_LOGIN_CHECK: Export = plain("cloud_pay_security_login_check");
pub(crate) const SECURITY_INIT: Export =
    Export { input: "conf_json_c", error: refused_config, ..plain("cloud_pay_security_init") };
pub(crate) const SECURITY_IDENTIFICATION: Export = plain("cloud_pay_security_identification");
pub(crate) const SECURITY_IDENTIFICATION_CHECK: Export = plain("cloud_pay_security_identification_check");

/// A code with nothing to write: init's notice, fini, security_init.
pub(crate) fn done(message: Option<String>) -> Reply {
    Reply { code: CLOUD_PAY_OK, output: None, message }
}

/// micro_pay and scan_code_pay.
pub(crate) fn pay(o: PayOutcome) -> Reply {
    Reply { code: accept(o.accept), output: Some(o.output), message: o.message }
}

/// query_order.
pub(crate) fn query(o: QueryOutcome) -> Reply {
    Reply { code: order(o.code), output: Some(o.output.to_string()), message: o.message }
}

/// cancel_order and refund, and the shop, listing, statistics and prefix calls. The order
/// numbers it reports (a generated out_refund_no) go to the SDK log, as the vendor asks.
pub(crate) fn call_outcome(o: CallOutcome) -> Reply {
    let output = o.output.map(|mut v| {
        let field = |k: &str| v.get(k).and_then(|x| x.as_str());
        crate::sdklog::note_orders(field("out_trade_no"), field("out_refund_no"));
        let text = v.to_string();
        crate::secret::wipe_json(&mut v);
        text
    });
    Reply { code: call(o.code), output, message: o.message }
}

/// query_refund: as [`call_outcome`], `{}` when the query has no output.
pub(crate) fn refunds(o: CallOutcome) -> Reply {
    let reply = call_outcome(o);
    Reply { output: reply.output.or_else(|| Some("{}".into())), ..reply }
}

/// A security call's outcome under that export's codes; the output (it can hold a decrypted
/// configuration) is wiped once it is text.
pub(crate) fn security(mut o: SecOutcome, map: fn(SecCode) -> c_int) -> Reply {
    let text = o.output.to_string();
    crate::secret::wipe_json(&mut o.output);
    Reply { code: map(o.code), output: Some(text), message: o.message }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::trade::LocalState;

    #[test]
    fn local_state_numbers_match_the_header_constants() {
        let pairs = [
            (LocalState::Init, CLOUD_PAY_STATE_INIT),
            (LocalState::UserPaying, CLOUD_PAY_STATE_USER_PAYING),
            (LocalState::Success, CLOUD_PAY_STATE_SUCCESS),
            (LocalState::Fail, CLOUD_PAY_STATE_FAIL),
            (LocalState::Reverse, CLOUD_PAY_STATE_REVERSE),
            (LocalState::Refund, CLOUD_PAY_STATE_REFUND),
            (LocalState::Closed, CLOUD_PAY_STATE_CLOSED),
            (LocalState::ReEntry, CLOUD_PAY_STATE_REENTRY),
            (LocalState::Unknown, CLOUD_PAY_STATE_UNKNOWN),
            (LocalState::PreOrdered, CLOUD_PAY_STATE_PRE_ORDERED),
        ];
        for (s, c) in pairs {
            assert_eq!(s as c_int, c);
        }
        for (code, c) in [
            (OrderCode::Paid, 0),
            (OrderCode::Failed, -1),
            (OrderCode::Unknown, -2),
            (OrderCode::Error, -3),
            (OrderCode::Closed, -4),
            (OrderCode::Prepay, -5),
            (OrderCode::ReEntry, -6),
            (OrderCode::NotExist, -7),
        ] {
            assert_eq!(order(code), c);
            assert_eq!(code as c_int, c);
        }
    }

    /// Each security call speaks its own codes: NeedIds (login) and NoConfiguration
    /// (login_check) are both 1, and mean different things.
    #[test]
    fn security_codes_per_call() {
        assert_eq!(
            (login(SecCode::Ok), login(SecCode::NeedIds), login(SecCode::Unknown), login(SecCode::NoConfiguration)),
            (0, 1, -2, -3)
        );
        assert_eq!(
            [
                SecCode::Ok,
                SecCode::NoConfiguration,
                SecCode::Unknown,
                SecCode::Rejected,
                SecCode::Expired,
                SecCode::Failed,
                SecCode::NeedIds
            ]
            .map(login_check),
            [0, 1, -2, -1, -4, -3, -3]
        );
        assert_eq!(
            [SecCode::Ok, SecCode::Unknown, SecCode::Failed, SecCode::Expired].map(identification),
            [0, -2, -1, -1]
        );
    }
}
