//! Order states: the server's platform states mapped to the SDK's codes
//! (docs/c-api.md, "Order states") and the local record kept for every order this process created
//! or queried.

use std::time::Duration;

use cloud_pay_protocol::types::{AlipayOrderState, PayPlatform, TradeType, WxpayOrderState};
use serde::{Deserialize, Serialize};

pub use crate::outcome::OrderCode;

/// The local state number written as `state` in query_order output.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LocalState {
    /// Created, not yet paying.
    Init = 1,
    /// The customer is confirming (password entry).
    UserPaying = 2,
    /// Paid.
    Success = 3,
    /// Payment failed or rejected.
    Fail = 4,
    /// Reversed (撤单).
    Reverse = 5,
    /// Refunded (fully or partly).
    Refund = 6,
    /// Closed (关单).
    Closed = 7,
    /// micro_pay hit anti-re-entry (104/407): the number belongs to another order.
    ReEntry = 8,
    /// Outcome unknown (no trusted reply yet).
    Unknown = 9,
    /// Scan-code order waiting for the customer to scan and pay.
    PreOrdered = 10,
}

/// The members of an `order_content` that the money rules read: its state and what qualifies
/// it. Decoded on their own, straight from the reply: the full `OrderContent` keeps every
/// member it does not model in a flattened map, which serde can only fill by first buffering
/// the whole order as a tree (most of the decode's time and allocations). Everything else
/// reaches the caller as the reply's own text (`OrderSdk`), so it is not decoded at all;
/// these members are typed as strictly as in `OrderContent`.
#[derive(Serialize, Deserialize, Debug, Clone, Default, PartialEq)]
#[serde(default)]
pub struct OrderFacts {
    /// The order's number: a reply about another number is not about this order.
    pub out_trade_no: Option<String>,
    /// The order's amount (fen): another amount under this number is another sale.
    pub total_fee: Option<i64>,
    /// The nonce of the request that created the order (docs/wire-protocol.md, "nonce_str"):
    /// another nonce than this till's create of the number means another request created it.
    pub nonce_str: Option<String>,
    /// TradeType.
    pub trade_type: Option<TradeType>,
    /// QR URL (scan_code_pay).
    pub code_url: Option<String>,
    /// Still processing (not final).
    pub is_transforming: Option<bool>,
    /// WeChat ext: its state.
    pub wxpay_order_content_ext: Option<PlatformState<WxpayOrderState>>,
    /// Alipay ext: its state.
    pub alipay_order_content_ext: Option<PlatformState<AlipayOrderState>>,
}

/// The state member of an order's platform ext.
#[derive(Serialize, Deserialize, Debug, Clone, Default, PartialEq)]
#[serde(default)]
pub struct PlatformState<S> {
    /// WxpayOrderState or AlipayOrderState.
    pub current_trade_state: S,
}

impl OrderFacts {
    /// The platform state as (pay_platform, state), from whichever ext is present (WeChat
    /// first, as `OrderContent::trade_state`).
    pub fn trade_state(&self) -> Option<(PayPlatform, i32)> {
        if let Some(w) = &self.wxpay_order_content_ext {
            return Some((PayPlatform::WXPAY, w.current_trade_state.0));
        }
        self.alipay_order_content_ext.as_ref().map(|a| (PayPlatform::ALIPAY, a.current_trade_state.0))
    }
}

/// Maps a platform state to (code, local state, final?). `code_url_known` turns a
/// waiting scan-code order into -5. A failure while the server still processes the
/// order (`is_transforming`) is reported as unknown, never as failure.
pub fn map_order(
    order: &OrderFacts,
    trade_type: Option<TradeType>,
    code_url_known: bool,
) -> (OrderCode, LocalState, bool) {
    use LocalState as L;
    use OrderCode as C;
    let scan = trade_type == Some(TradeType::SCAN_CODE) || order.trade_type == Some(TradeType::SCAN_CODE);
    let (code, local, fin) = match order.trade_state() {
        Some((PayPlatform::WXPAY, s)) => match s {
            2 | 3 => (C::Paid, L::Success, true),
            4 => (C::Closed, L::Refund, true),
            5 | 10 | 11 => (C::Failed, L::Fail, true),
            6 if scan && code_url_known => (C::Prepay, L::PreOrdered, false),
            6 => (C::Unknown, L::PreOrdered, false),
            7 => (C::Closed, L::Closed, true),
            8 => (C::Closed, L::Reverse, true),
            9 => (C::Unknown, L::UserPaying, false),
            1 | 12 => (C::Unknown, L::Init, false),
            _ => (C::Unknown, L::Unknown, false),
        },
        Some((_, s)) => match s {
            2 | 6 => (C::Paid, L::Success, true),
            4 if scan && code_url_known => (C::Prepay, L::PreOrdered, false),
            4 => (C::Unknown, L::UserPaying, false),
            5 => (C::Closed, L::Closed, true),
            // "Does not exist" right after a lost reply may be transient: report it, keep polling.
            7 => (C::NotExist, L::Unknown, false),
            1 => (C::Unknown, L::Init, false),
            _ => (C::Unknown, L::Unknown, false),
        },
        None => (C::Unknown, L::Unknown, false),
    };
    if order.is_transforming == Some(true) {
        // Still processing: nothing is final yet, and a failure is not a failure yet.
        let code = match code {
            C::Failed | C::Closed | C::NotExist => C::Unknown,
            other => other,
        };
        return (code, local, false);
    }
    (code, local, fin)
}

/// Refund state for `RefundOrderSdk.state`: 1 processing, 2 success, 3 failed
/// (docs/c-api.md, "Order states").
pub fn refund_state(r: &cloud_pay_protocol::types::RefundOrderContent) -> i32 {
    if let Some(w) = &r.wxpay_refund_order_content_ext {
        return match w.state.0 {
            2 => 2,
            3 | 5 | 6 => 3,
            _ => 1,
        };
    }
    if let Some(a) = &r.alipay_refund_order_content_ext {
        return match a.refund_status.0 {
            2 => 2,
            3 | 5 => 3,
            _ => 1,
        };
    }
    1
}

/// What the journal tracks of a record: its local state and whether it is done
/// (a known final platform state, reversed/closed by us, re-entry, or rejected at creation).
pub fn journal_key(rec: &OrderRecord) -> (LocalState, bool, bool) {
    let done = rec.cached_final
        || matches!(rec.local, LocalState::Reverse | LocalState::Closed | LocalState::ReEntry | LocalState::Fail);
    (rec.local, done, rec.refused)
}

/// The journal entry for a record whose tracked state changed since `before`.
pub fn journal_change(rec: &OrderRecord, before: (LocalState, bool, bool)) -> Option<super::journal::Entry> {
    let now = journal_key(rec);
    // A final state carries its time: the start of a tombstone's retention.
    (now != before).then(|| super::journal::Entry::State {
        no: rec.out_trade_no.clone(),
        state: now.0 as i32,
        fin: now.1,
        at: now.1.then(super::journal::unix_now),
        refused: now.2,
    })
}

/// What the process knows about one order.
#[derive(Debug, Clone)]
pub struct OrderRecord {
    /// Order number.
    pub out_trade_no: String,
    /// Micro pay or scan code.
    pub trade_type: TradeType,
    /// Platform, once known.
    pub pay_platform: Option<PayPlatform>,
    /// SHA-256 of the business content, to tell a retry from a different order.
    pub content_digest: [u8; 32],
    /// The exact request_content sent, to repeat it byte for byte.
    pub request_content: String,
    /// Local state.
    pub local: LocalState,
    /// Last code derived from a trusted reply.
    pub code: OrderCode,
    /// Final and answered from memory.
    pub cached_final: bool,
    /// query_order output (JSON text) of the last trusted reply.
    pub output: Option<std::sync::Arc<str>>,
    /// The platform's `current_trade_state` in that reply (for messages).
    pub platform_state: Option<i64>,
    /// QR URL of a scan-code order.
    pub code_url: Option<String>,
    /// Background polls still allowed.
    pub polls_left: u32,
    /// Interval between background polls.
    pub poll_interval: Duration,
    /// Why the order ended badly, for errmsg (server text).
    pub last_detail: String,
    /// The domain that took the order; its queries go there while it is up.
    pub domain: Option<String>,
    /// The amount this SDK sent for the number (fen), when it sent one.
    pub total_fee: Option<i64>,
    /// Advanced by every create, cancel and refund of the order: a query reply to a request
    /// sent under an older generation is stale and never overwrites what came after.
    pub generation: u64,
    /// The `nonce_str` of this till's create of the number, journaled before it first went
    /// out and sent again by every retry, restarts included; `None` for an order journaled
    /// before nonces were (its orders are then not told apart by nonce).
    pub create_nonce: Option<String>,
    /// The create exchange (micro_pay / scan_code_pay) is under way: its reply may still be
    /// re-entry, so nothing may cancel the number yet.
    pub submitting: bool,
    /// A verified reply has shown this order exists: a later "does not exist" contradicts it.
    pub seen: bool,
    /// The domain that may have received the last create send without a verified answer.
    pub maybe_at: Option<String>,
    /// The server refused this SDK's first create of the number (verified 102/104): no sale
    /// of this till is under it, so an order there is another sale's, never paid for this one
    /// and never cancelled from here.
    pub refused: bool,
    /// An attempt to create this order may have reached a server (a byte written, any reply,
    /// or an attempt journaled by an earlier process). Until then "not sent" is known.
    pub reached: bool,
    /// Create exchanges of this number under way: while one runs, another's "not sent" says
    /// nothing about the order.
    pub creates_in_flight: u32,
}

impl OrderRecord {
    /// No attempt of this order could have reached any server, and none is under way.
    pub fn never_sent(&self) -> bool {
        !self.reached && self.creates_in_flight == 0
    }
}

/// What a verified reply's echo says about the order it describes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Echo {
    /// The order asked about (or the reply does not say).
    Matches,
    /// About another order or merchant: the reply is not this order's answer.
    Other(String),
    /// This number, another amount: another sale's order under this number.
    OtherAmount(i64),
    /// This number and amount, but created by another request than this till's create of it
    /// (another `nonce_str`): another till's sale, or one of this till's the journal no longer
    /// holds. Which, nothing in the reply tells.
    OtherRequest,
}

/// Compares a verified reply's order with what was asked: its number, the sub-merchant, when
/// this SDK sent one the amount, and when given (`create_nonce`: an order no verified reply
/// has shown yet) the nonce of the request that created it.
pub fn echo(
    order: &OrderFacts,
    out_trade_no: &str,
    sub_mch: Option<&str>,
    expected_sub_mch: &str,
    sent_fee: Option<i64>,
    create_nonce: Option<&str>,
) -> Echo {
    if let Some(no) = order.out_trade_no.as_deref().filter(|n| *n != out_trade_no) {
        return Echo::Other(format!("order {no}"));
    }
    if let Some(sub) = sub_mch.filter(|s| *s != expected_sub_mch) {
        return Echo::Other(format!("sub-merchant {sub}"));
    }
    match (order.total_fee, sent_fee) {
        (Some(got), Some(sent)) if got != sent => Echo::OtherAmount(got),
        _ => match (order.nonce_str.as_deref(), create_nonce) {
            (Some(got), Some(sent)) if got != sent => Echo::OtherRequest,
            _ => Echo::Matches,
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use cloud_pay_protocol::types as t;

    fn wx(state: i32, transforming: bool) -> OrderFacts {
        OrderFacts {
            is_transforming: Some(transforming),
            wxpay_order_content_ext: Some(PlatformState { current_trade_state: t::WxpayOrderState(state) }),
            ..Default::default()
        }
    }

    fn ali(state: i32) -> OrderFacts {
        OrderFacts {
            alipay_order_content_ext: Some(PlatformState { current_trade_state: t::AlipayOrderState(state) }),
            ..Default::default()
        }
    }

    /// The facts read from an order are those the full `OrderContent` gives, members in any
    /// order, unknown members anywhere.
    #[test]
    fn order_facts_read_like_the_full_order() {
        for text in [
            r#"{"out_trade_no":"x","nonce_str":"N1","trade_type":2,"code_url":"weixin://q","is_transforming":false,"total_fee":1,"wxpay_order_content_ext":{"attach":"a","current_trade_state":6,"zz":[1]},"yy":{"a":null}}"#,
            r#"{"alipay_order_content_ext":{"fund_bill_list":[],"current_trade_state":2},"trade_type":1,"is_transforming":true}"#,
            r#"{"out_trade_no":"x","wxpay_order_content_ext":{},"alipay_order_content_ext":{"current_trade_state":5}}"#,
            r#"{}"#,
        ] {
            let full: t::OrderContent = serde_json::from_str(text).unwrap();
            let facts: OrderFacts = serde_json::from_str(text).unwrap();
            assert_eq!(
                (facts.out_trade_no.clone().unwrap_or_default(), facts.total_fee, &facts.nonce_str),
                (full.out_trade_no.clone(), full.total_fee, &full.nonce_str),
                "{text}"
            );
            assert_eq!(facts.trade_state(), full.trade_state(), "{text}");
            assert_eq!(
                (facts.trade_type, facts.code_url.as_deref(), facts.is_transforming),
                (full.trade_type, full.code_url.as_deref(), full.is_transforming),
                "{text}"
            );
        }
        // A fact of the wrong type is refused as the full order refuses it.
        for text in [
            r#"{"is_transforming":"no"}"#,
            r#"{"trade_type":1.5}"#,
            r#"{"wxpay_order_content_ext":{"current_trade_state":"x"}}"#,
            r#"{"code_url":7}"#,
            r#"{"nonce_str":5}"#,
        ] {
            assert!(
                serde_json::from_str::<t::OrderContent>(text).is_err()
                    && serde_json::from_str::<OrderFacts>(text).is_err(),
                "{text}"
            );
        }
    }

    /// Another creating nonce tells another request's order apart only when a nonce is given
    /// (an order not yet shown) and the reply carries one; number and amount come first.
    #[test]
    fn the_creating_nonce_tells_another_requests_order_apart() {
        let order = OrderFacts {
            out_trade_no: Some("x".into()),
            total_fee: Some(5),
            nonce_str: Some("N1".into()),
            ..Default::default()
        };
        assert_eq!(echo(&order, "x", None, "s", Some(5), Some("N1")), Echo::Matches);
        assert_eq!(echo(&order, "x", None, "s", Some(5), Some("N2")), Echo::OtherRequest);
        assert_eq!(echo(&order, "x", None, "s", Some(5), None), Echo::Matches, "no nonce asked: not compared");
        assert_eq!(echo(&order, "x", None, "s", Some(6), Some("N2")), Echo::OtherAmount(5));
        assert_eq!(echo(&order, "y", None, "s", Some(5), Some("N2")), Echo::Other("order x".into()));
        let bare = OrderFacts { nonce_str: None, ..order };
        assert_eq!(
            echo(&bare, "x", None, "s", Some(5), Some("N2")),
            Echo::Matches,
            "a reply without a nonce cannot tell"
        );
    }

    #[test]
    fn wechat_state_table() {
        use OrderCode::*;
        let micro = Some(TradeType::MICRO_PAY);
        let scan = Some(TradeType::SCAN_CODE);
        let code = |s, tt, url| map_order(&wx(s, false), tt, url).0;
        assert_eq!(code(1, micro, false), Unknown);
        assert_eq!(code(2, micro, false), Paid);
        assert_eq!(code(3, scan, true), Paid);
        assert_eq!(code(4, micro, false), Closed);
        assert_eq!(code(5, micro, false), Failed);
        assert_eq!(code(6, scan, true), Prepay);
        assert_eq!(code(6, scan, false), Unknown);
        assert_eq!(code(6, micro, true), Unknown);
        assert_eq!(code(7, scan, false), Closed);
        assert_eq!(code(8, micro, false), Closed);
        assert_eq!(code(9, micro, false), Unknown);
        assert_eq!(code(10, micro, false), Failed);
        assert_eq!(code(11, micro, false), Failed);
        assert_eq!(code(12, micro, false), Unknown);
        assert_eq!(code(77, micro, false), Unknown, "undocumented states are unknown");
        assert!(map_order(&wx(2, false), micro, false).2, "paid is final");
        assert!(!map_order(&wx(9, false), micro, false).2, "user paying is not final");
    }

    #[test]
    fn alipay_state_table() {
        use OrderCode::*;
        let code = |s, tt, url| map_order(&ali(s), tt, url).0;
        assert_eq!(code(1, Some(TradeType::MICRO_PAY), false), Unknown);
        assert_eq!(code(2, Some(TradeType::MICRO_PAY), false), Paid);
        assert_eq!(code(4, Some(TradeType::MICRO_PAY), false), Unknown);
        assert_eq!(code(4, Some(TradeType::SCAN_CODE), true), Prepay);
        assert_eq!(code(5, Some(TradeType::MICRO_PAY), false), Closed);
        assert_eq!(code(6, Some(TradeType::MICRO_PAY), false), Paid);
        assert_eq!(code(7, Some(TradeType::MICRO_PAY), false), NotExist);
    }

    #[test]
    fn a_failure_while_the_server_is_still_processing_is_unknown() {
        let (code, _, fin) = map_order(&wx(10, true), Some(TradeType::MICRO_PAY), false);
        assert_eq!((code, fin), (OrderCode::Unknown, false));
        let (code, _, fin) = map_order(&wx(2, true), Some(TradeType::MICRO_PAY), false);
        assert_eq!((code, fin), (OrderCode::Paid, false), "paid is reported but not cached while transforming");
    }
}
