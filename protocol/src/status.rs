//! Status codes (docs/wire-protocol.md, "Status codes") and the single classification every caller
//! uses (docs/wire-protocol.md, "Reply classification").

use crate::endpoint::Endpoint;

/// `status` values (docs/wire-protocol.md, "Status codes").
pub mod code {
    /// The call succeeded (says nothing about whether money moved).
    pub const SUCCESS: i32 = 0;
    /// System error, outcome unknown; retry the identical request or query.
    pub const SYSTEM_ERROR: i32 = 3;
    /// Rejected before processing; unauthenticated reply.
    pub const REJECTED: i32 = 101;
    /// Failed; retry only with a new order/refund number.
    pub const RETRY_NEW_NUMBER: i32 = 102;
    /// Internal error; retry the identical request after about 3 s.
    pub const RETRY_SAME: i32 = 103;
    /// Business failure, do not retry.
    pub const BUSINESS_FAILURE: i32 = 104;
}

/// `internal_status` values the clients act on (docs/wire-protocol.md, "internal_status values").
pub mod internal {
    /// authen_code mismatch (with status 101).
    pub const AUTHEN_CODE_ERROR: i32 = 7;
    /// Order does not exist.
    pub const ORDER_NOT_FOUND: i32 = 400;
    /// Anti-re-entry on micro_pay: same out_trade_no, different content. Never reverse.
    pub const RE_ENTRY: i32 = 407;
    /// Refund order not found (query_refund_order): an empty list.
    pub const REFUND_NOT_FOUND: i32 = 426;
}

/// What a reply means for the caller.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum StatusClass {
    /// status 0 with a verified authen code.
    Success,
    /// Outcome unknown (status 3, 103, any unlisted status, or a reply that cannot be
    /// trusted): retry the *same* request or query; never treat as failure.
    Unknown,
    /// status 102: failed; a retry needs a new order/refund number.
    FailedRetryNewNumber,
    /// status 101 or 104: failed, final.
    FailedFinal,
    /// status 104 + internal_status 407 on micro_pay: the number was used for a different
    /// order, which may be paid. Never reverse, close or cancel it.
    ReEntry,
}

/// Classifies a status pair for an endpoint. `trusted` says whether the reply's authen code
/// verified (or, for 3/101, whether it legitimately carries none): statuses that must carry a
/// code (0, 102, 103, 104) are only believed when it verified.
pub fn classify(endpoint: Endpoint, status: i32, internal_status: i32, trusted: bool) -> StatusClass {
    match status {
        code::SUCCESS | code::RETRY_NEW_NUMBER | code::BUSINESS_FAILURE if !trusted => StatusClass::Unknown,
        code::SUCCESS => StatusClass::Success,
        code::REJECTED => StatusClass::FailedFinal,
        code::RETRY_NEW_NUMBER => StatusClass::FailedRetryNewNumber,
        code::BUSINESS_FAILURE if endpoint == Endpoint::MicroPay && internal_status == internal::RE_ENTRY => {
            StatusClass::ReEntry
        }
        code::BUSINESS_FAILURE => StatusClass::FailedFinal,
        _ => StatusClass::Unknown,
    }
}

/// Whether a reply with this status must carry `authen_info`
/// (docs/wire-protocol.md, "Status codes").
pub fn carries_authen(status: i32) -> bool {
    !matches!(status, code::SYSTEM_ERROR | code::REJECTED)
}

#[cfg(test)]
mod tests {
    use super::*;
    use StatusClass::*;

    #[test]
    fn status_classification_table() {
        let e = Endpoint::QueryOrder;
        assert_eq!(classify(e, 0, 0, true), Success);
        assert_eq!(classify(e, 0, 0, false), Unknown, "unverified success is unknown");
        assert_eq!(classify(e, 3, 0, false), Unknown);
        assert_eq!(classify(e, 103, 0, true), Unknown);
        assert_eq!(classify(e, 101, 7, false), FailedFinal);
        assert_eq!(classify(e, 102, 0, true), FailedRetryNewNumber);
        assert_eq!(classify(e, 102, 0, false), Unknown, "unverified failure is unknown");
        assert_eq!(classify(e, 104, 0, true), FailedFinal);
        assert_eq!(classify(e, 104, 407, true), FailedFinal, "407 means re-entry only on micro_pay");
        assert_eq!(classify(Endpoint::MicroPay, 104, 407, true), ReEntry);
        assert_eq!(classify(Endpoint::MicroPay, 104, 407, false), Unknown);
        assert_eq!(classify(e, 42, 0, true), Unknown, "any unlisted status is unknown");
        assert_eq!(classify(e, -1, 0, true), Unknown);
    }
}
