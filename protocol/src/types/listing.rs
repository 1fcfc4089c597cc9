//! Listings and statistics (docs/wire-protocol.md, "client_order_detail";
//! docs/wire-protocol.md, "client_sub_mch_sales_overview"): client_order_detail,
//! client_sub_mch_sales_overview.

use serde_json::Value;

use super::common::*;
use super::enums::*;
use super::{api, wire};

wire!(
    /// `client_order_detail` request (docs/wire-protocol.md, "client_order_detail"; flat, no
    /// pay_mch_key).
    pub struct OrderDetailRequest {
        /// PayPlatform filter.
        pub pay_platform: Option<PayPlatform>,
        /// Sub-merchant.
        pub out_sub_mch_id: String,
        /// Shop filter.
        pub out_shop_id: Option<String>,
        /// Staff filter (with out_shop_id).
        pub staff_id: Option<String>,
        /// Device filter.
        pub device_id: Option<String>,
        /// 1 orders, 2 refunds, 3 both.
        pub query_order_type: QueryOrderType,
        /// TradeType filter.
        pub trade_type: Option<TradeType>,
        /// Unix seconds.
        pub start_time: Option<i64>,
        /// Unix seconds.
        pub end_time: i64,
        /// 1-based page.
        pub page_num: i64,
        /// Rows per page.
        pub page_size: i64,
        /// Also return totals.
        pub enable_overview: Option<bool>,
        /// Passed through.
        pub query_cashier_type: Option<i32>,
        /// Random string.
        pub nonce_str: Option<String>,
    }
);

wire!(
    /// `order_detail_query` result (docs/wire-protocol.md, "client_order_detail").
    pub struct OrderDetailResult {
        /// Matching rows in all.
        pub total_count: i64,
        /// This page.
        pub order_details: Vec<OrderDetail>,
        /// Totals (when asked for).
        pub overview: Option<OrderStatClientInfo>,
        /// Server nonce.
        pub nonce_str: Option<String>,
    }
);

wire!(
    /// One row of `order_details`.
    pub struct OrderDetail {
        /// Shop.
        pub shop_info: Option<ShopInfo>,
        /// Staff.
        pub shop_staff_info: Option<StaffInfo>,
        /// The order or refund.
        pub receipt: Receipt,
    }
);

wire!(
    /// Exactly one of `order` or `refund_order`.
    pub struct Receipt {
        /// A payment.
        pub order: Option<ReceiptOrder>,
        /// A refund.
        pub refund_order: Option<ReceiptRefundOrder>,
    }
);

wire!(
    /// `Order` of a receipt.
    pub struct ReceiptOrder {
        /// Merchant side.
        pub order_mch: OrderMch,
        /// The order (with `refunded_fee`).
        pub order_content: OrderContent,
        /// The terminal.
        pub order_client: Option<OrderClient>,
    }
);

wire!(
    /// `RefundOrder` of a receipt.
    pub struct ReceiptRefundOrder {
        /// Merchant side.
        pub refund_order_mch: OrderMch,
        /// The refund.
        pub refund_order_content: RefundOrderContent,
        /// The terminal.
        pub order_client: Option<OrderClient>,
    }
);

wire!(
    /// A shop filter of `client_sub_mch_sales_overview`.
    pub struct StatShop {
        /// Shop id.
        pub out_shop_id: String,
        /// Staff filter.
        pub staff_ids: Option<Vec<String>>,
    }
);

wire!(
    /// `client_sub_mch_sales_overview` request
    /// (docs/wire-protocol.md, "client_sub_mch_sales_overview").
    pub struct SalesOverviewRequest {
        /// Service-provider id.
        pub out_mch_id: String,
        /// Sub-merchant id.
        pub out_sub_mch_id: String,
        /// Shop filters; none = whole sub-merchant.
        pub shops: Option<Vec<StatShop>>,
        /// PayPlatform filter.
        pub pay_platform: Option<PayPlatform>,
        /// TradeType filter.
        pub trade_type: Option<TradeType>,
        /// 1 day, 2 month, 3 week, 4 year.
        pub stat_type: Option<StatType>,
        /// Unix seconds.
        pub start_time: Option<i64>,
        /// Unix seconds.
        pub end_time: Option<i64>,
        /// 1-based page.
        pub page_num: Option<i64>,
        /// Rows per page.
        pub page_size: Option<i64>,
        /// Undocumented; passed through.
        pub stat_role: Option<i32>,
        /// Random string.
        pub nonce_str: Option<String>,
    }
);

wire!(
    /// `client_sub_mch_sales_overview` result
    /// (docs/wire-protocol.md, "client_sub_mch_sales_overview").
    pub struct SalesOverviewResult {
        /// Rows in all.
        pub total_count: i64,
        /// Totals over the range.
        pub overview: Option<OrderStatClientInfo>,
        /// One row per period.
        pub stat_infos: Vec<OrderStatClientInfo>,
        /// Server nonce.
        pub nonce_str: Option<String>,
        /// Members not modelled here.
        #[serde(flatten)]
        pub extra: serde_json::Map<String, Value>,
    }
);

api!(/// `client_order_detail`.
ClientOrderDetail = ClientOrderDetail, OrderDetailRequest => OrderDetailResult);
api!(/// `client_sub_mch_sales_overview`.
ClientSubMchSalesOverview = ClientSubMchSalesOverview, SalesOverviewRequest => SalesOverviewResult);
