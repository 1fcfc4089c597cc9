//! What a call ends in, before the C boundary turns it into a code: the outcome types the
//! feature modules return and `ffi::codes` maps (docs/c-api.md, "Return codes").

use std::sync::Arc;

use serde_json::Value;

/// `cloud_pay_query_order` results (docs/c-api.md, "Return codes"). Values are the vendor's.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum OrderCode {
    /// The customer paid.
    Paid = 0,
    /// The payment failed.
    Failed = -1,
    /// Not known yet: keep querying.
    Unknown = -2,
    /// A failure that is not a payment failure.
    Error = -3,
    /// Refunded, reversed or closed.
    Closed = -4,
    /// Scan-code order created: show `code_url`.
    Prepay = -5,
    /// Re-entry (407): never cancel this order.
    ReEntry = -6,
    /// The order does not exist.
    NotExist = -7,
}

/// micro_pay / scan_code_pay: accepted (query for the result) or not.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Accept {
    /// Accepted or outcome unknown: the order may exist; get the result with query_order.
    Accepted,
    /// Definitively not accepted. Do not cancel the order.
    NotAccepted,
}

/// Outcome of micro_pay / scan_code_pay.
#[derive(Debug, Clone)]
pub struct PayOutcome {
    /// Accepted or not.
    pub accept: Accept,
    /// `{"pay_platform":N,"out_trade_no":"…"}`.
    pub output: String,
    /// Why, when not accepted or unknown.
    pub message: Option<String>,
}

/// Outcome of query_order.
#[derive(Debug, Clone)]
pub struct QueryOutcome {
    /// The vendor code.
    pub code: OrderCode,
    /// `OrderSdk` JSON text.
    pub output: Arc<str>,
    /// Why, when not paid.
    pub message: Option<String>,
}

/// 0 / -1 / -2 of cancel_order, refund and query_refund.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CallCode {
    /// Done / accepted / queried.
    Ok,
    /// Definitive failure.
    Failed,
    /// Outcome unknown: query or retry with the same numbers.
    Unknown,
}

/// Outcome of cancel_order, refund and query_refund.
#[derive(Debug, Clone)]
pub struct CallOutcome {
    /// The code.
    pub code: CallCode,
    /// JSON output (query_refund).
    pub output: Option<Value>,
    /// Why, when not Ok.
    pub message: Option<String>,
}
