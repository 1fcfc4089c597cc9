//! Transactions (docs/wire-protocol.md, "Endpoints"): micro_pay, scan_code_pay, query_order,
//! reverse, close_order, refund, query_refund_order.

use serde_json::Value;

use super::common::*;
use super::enums::*;
use super::{api, wire};

wire!(
    /// `micro_pay` / `scan_code_pay` request (docs/wire-protocol.md, "micro_pay";
    /// docs/wire-protocol.md, "scan_code_pay").
    pub struct PayRequest {
        /// Merchant identity.
        pub pay_mch_key: PayMchKey,
        /// The order.
        pub pay_content: PayContent,
        /// The terminal.
        pub order_client: OrderClient,
        /// Random string.
        pub nonce_str: String,
    }
);

wire!(
    /// `micro_pay` result (docs/wire-protocol.md, "micro_pay").
    pub struct MicroPayResult {
        /// Server nonce.
        pub nonce_str: Option<String>,
        /// Merchant identity, enriched by the server.
        pub pay_mch_key: Option<PayMchKey>,
        /// The order, with its platform state.
        pub order_content: Option<OrderContent>,
    }
);

wire!(
    /// `scan_code_pay` result (docs/wire-protocol.md, "scan_code_pay").
    pub struct ScanCodePayResult {
        /// Server nonce.
        pub nonce_str: Option<String>,
        /// URL to show as a QR code.
        pub code_url: Option<String>,
    }
);

wire!(
    /// `query_order` request (docs/wire-protocol.md, "query_order").
    pub struct QueryOrderRequest {
        /// Merchant identity (pay_platform optional: the server knows the order).
        pub pay_mch_key: PayMchKey,
        /// The terminal.
        pub order_client: OrderClient,
        /// Order number.
        pub out_trade_no: String,
        /// TradeType of the order.
        pub trade_type: Option<TradeType>,
        /// Random string.
        pub nonce_str: String,
    }
);

wire!(
    /// `query_order` result (docs/wire-protocol.md, "query_order").
    pub struct QueryOrderResult {
        /// Server nonce.
        pub nonce_str: Option<String>,
        /// Merchant identity.
        pub pay_mch_key: Option<PayMchKey>,
        /// The order.
        pub order_content: Option<OrderContent>,
        /// The terminal recorded at payment.
        pub order_client: Option<OrderClient>,
    }
);

wire!(
    /// `reverse` request (docs/wire-protocol.md, "reverse").
    pub struct ReverseRequest {
        /// Merchant identity.
        pub pay_mch_key: PayMchKey,
        /// Must match the paying terminal.
        pub order_client: OrderClient,
        /// Order to revoke.
        pub out_trade_no: String,
        /// Random string.
        pub nonce_str: String,
    }
);

wire!(
    /// `close_order` request (docs/wire-protocol.md, "close_order").
    pub struct CloseOrderRequest {
        /// Merchant identity.
        pub pay_mch_key: PayMchKey,
        /// The terminal.
        pub order_client: OrderClient,
        /// Order to close.
        pub out_trade_no: String,
        /// TradeType of that order.
        pub trade_type: Option<TradeType>,
        /// Random string.
        pub nonce_str: String,
    }
);

wire!(
    /// Result of `reverse` and `close_order`: a nonce only.
    pub struct NonceResult {
        /// Server nonce.
        pub nonce_str: Option<String>,
    }
);

wire!(
    /// `refund` request (docs/wire-protocol.md, "refund").
    pub struct RefundRequest {
        /// Merchant identity.
        pub pay_mch_key: PayMchKey,
        /// The refund.
        pub refund_content: RefundContent,
        /// The terminal.
        pub order_client: OrderClient,
        /// 1 (default) no permission check, 2 check.
        pub api_version: Option<i32>,
        /// Random string.
        pub nonce_str: String,
    }
);

wire!(
    /// `refund` result (docs/wire-protocol.md, "refund").
    pub struct RefundResult {
        /// Server nonce.
        pub nonce_str: Option<String>,
        /// Merchant identity.
        pub pay_mch_key: Option<PayMchKey>,
        /// The refund (one object; an array is tolerated by [`RefundResult::refund_for`]).
        pub refund_order_content: Option<Value>,
    }
);

impl RefundResult {
    /// The refund record for `out_refund_no`, whether the server sent one object or an array.
    pub fn refund_for(&self, out_refund_no: &str) -> Option<RefundOrderContent> {
        let parse = |v: &Value| crate::wire::from_value::<RefundOrderContent>(v.clone()).ok();
        match self.refund_order_content.as_ref()? {
            Value::Array(items) => items.iter().filter_map(parse).find(|r| r.out_refund_no == out_refund_no),
            v => parse(v),
        }
    }
}

wire!(
    /// `query_refund_order` request (docs/wire-protocol.md, "query_refund_order").
    pub struct QueryRefundOrderRequest {
        /// Merchant identity.
        pub pay_mch_key: PayMchKey,
        /// The terminal.
        pub order_client: OrderClient,
        /// Original order.
        pub out_trade_no: String,
        /// A specific refund; omitted = every refund of the order.
        pub out_refund_no: Option<String>,
        /// Random string.
        pub nonce_str: String,
    }
);

wire!(
    /// `query_refund_order` result (docs/wire-protocol.md, "query_refund_order").
    pub struct QueryRefundOrderResult {
        /// Server nonce.
        pub nonce_str: Option<String>,
        /// Merchant identity.
        pub pay_mch_key: Option<PayMchKey>,
        /// The refunds.
        pub refund_order_content: Vec<RefundOrderContent>,
        /// Terminals, aligned with the refunds (an object is tolerated).
        pub order_client: Option<Value>,
    }
);

api!(/// `micro_pay`.
MicroPay = MicroPay, PayRequest => MicroPayResult);
api!(/// `scan_code_pay`.
ScanCodePay = ScanCodePay, PayRequest => ScanCodePayResult);
api!(/// `query_order`.
QueryOrder = QueryOrder, QueryOrderRequest => QueryOrderResult);
api!(/// `reverse`.
Reverse = Reverse, ReverseRequest => NonceResult);
api!(/// `close_order`.
CloseOrder = CloseOrder, CloseOrderRequest => NonceResult);
api!(/// `refund`.
Refund = Refund, RefundRequest => RefundResult);
api!(/// `query_refund_order`.
QueryRefundOrder = QueryRefundOrder, QueryRefundOrderRequest => QueryRefundOrderResult);

impl OrderContent {
    /// The platform state as (pay_platform, state), from whichever ext is present.
    pub fn trade_state(&self) -> Option<(PayPlatform, i32)> {
        if let Some(w) = &self.wxpay_order_content_ext {
            return Some((PayPlatform::WXPAY, w.current_trade_state.0));
        }
        self.alipay_order_content_ext.as_ref().map(|a| (PayPlatform::ALIPAY, a.current_trade_state.0))
    }
}
