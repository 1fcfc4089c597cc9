//! Return codes, one documented mapping per export family (docs/c-api.md, "Return codes").
//! Values are the vendor's and are never renumbered.

use std::ffi::c_int;

use crate::security::SecCode;
use crate::trade::{Accept, CallCode, OrderCode};

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
        SecCode::NeedIds | SecCode::NoConfiguration | SecCode::Rejected | SecCode::Expired | SecCode::Failed => CLOUD_PAY_FAIL,
    }
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
            (OrderCode::Paid, 0), (OrderCode::Failed, -1), (OrderCode::Unknown, -2), (OrderCode::Error, -3),
            (OrderCode::Closed, -4), (OrderCode::Prepay, -5), (OrderCode::ReEntry, -6), (OrderCode::NotExist, -7),
        ] {
            assert_eq!(order(code), c);
            assert_eq!(code as c_int, c);
        }
    }

    /// Each security call speaks its own codes: NeedIds (login) and NoConfiguration
    /// (login_check) are both 1, and mean different things.
    #[test]
    fn security_codes_per_call() {
        assert_eq!((login(SecCode::Ok), login(SecCode::NeedIds), login(SecCode::Unknown), login(SecCode::NoConfiguration)), (0, 1, -2, -3));
        assert_eq!(
            [SecCode::Ok, SecCode::NoConfiguration, SecCode::Unknown, SecCode::Rejected, SecCode::Expired, SecCode::Failed, SecCode::NeedIds].map(login_check),
            [0, 1, -2, -1, -4, -3, -3]
        );
        assert_eq!([SecCode::Ok, SecCode::Unknown, SecCode::Failed, SecCode::Expired].map(identification), [0, -2, -1, -1]);
    }
}
