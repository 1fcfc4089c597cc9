//! Shared structures (docs/wire-protocol.md, "Shared structures").

use serde_json::{Map, Value};

use super::enums::*;
use super::wire;

wire!(
    /// PayMchKey (docs/wire-protocol.md, "PayMchKey"): who is paid.
    pub struct PayMchKey {
        /// PayPlatform.
        pub pay_platform: Option<PayPlatform>,
        /// SubPayPlatform.
        pub sub_pay_platform: Option<SubPayPlatform>,
        /// Service-provider id.
        pub out_mch_id: String,
        /// Sub-merchant id.
        pub out_sub_mch_id: String,
        /// Shop id.
        pub out_shop_id: Option<String>,
        /// Platform merchant number (response).
        pub mch_id: Option<String>,
        /// Platform sub-merchant number (response).
        pub sub_mch_id: Option<String>,
        /// Merchant-specific info stored with the order.
        pub sub_mch_pay_info: Option<String>,
        /// Operator is a merchant admin (refund, api_version 2).
        pub is_sub_admin: Option<bool>,
        /// Staff granting refund permission (refund, api_version 2).
        pub authorization_staff_id: Option<String>,
        /// Name of the authoriser.
        pub authorization_name: Option<String>,
        /// WeChat ext.
        pub wxpay_pay_mch_key_ext: Option<WxpayPayMchKeyExt>,
        /// Alipay ext.
        pub alipay_pay_mch_key_ext: Option<AlipayPayMchKeyExt>,
        /// Members not modelled here.
        #[serde(flatten)]
        pub extra: Map<String, Value>,
    }
);

wire!(
    /// WxpayPayMchKeyExt (docs/wire-protocol.md, "PayMchKey").
    pub struct WxpayPayMchKeyExt {
        /// Provider official-account AppID.
        pub app_id: Option<String>,
        /// Sub-merchant AppID.
        pub sub_app_id: Option<String>,
        /// Payer openid under app_id.
        pub open_id: Option<String>,
        /// Payer openid under sub_app_id.
        pub sub_open_id: Option<String>,
    }
);

wire!(
    /// AlipayPayMchKeyExt (docs/wire-protocol.md, "PayMchKey").
    pub struct AlipayPayMchKeyExt {
        /// Payer's Alipay user id.
        pub user_id: Option<String>,
    }
);

wire!(
    /// PayContent (docs/wire-protocol.md, "PayContent and Detail"): the order being created.
    pub struct PayContent {
        /// Merchant order number with the sub-merchant prefix.
        pub out_trade_no: String,
        /// Customer payment code (micro_pay only).
        pub author_code: Option<String>,
        /// Order expiry, Unix seconds (not micro_pay).
        pub time_expire: Option<i64>,
        /// Amount in fen.
        pub total_fee: i64,
        /// `CNY`.
        pub fee_type: String,
        /// Goods summary.
        pub body: String,
        /// JSON text of a [`Detail`].
        pub detail: Option<String>,
        /// Payment remark.
        pub remark: Option<String>,
        /// Client-side serial number.
        pub client_flow_id: Option<String>,
        /// Per-order callback URL.
        pub caller_notify_url: Option<String>,
        /// WeChat-only extension.
        pub wxpay_pay_content_ext: Option<WxpayPayContentExt>,
        /// Alipay-only extension.
        pub alipay_pay_content_ext: Option<AlipayPayContentExt>,
    }
);

wire!(
    /// WxpayPayContentExt (docs/wire-protocol.md, "PayContent and Detail").
    pub struct WxpayPayContentExt {
        /// Merchant data echoed back.
        pub attach: Option<String>,
        /// Coupon tag.
        pub goods_tag: Option<String>,
        /// Product id (scan_code_pay; never micro_pay).
        pub product_id: Option<String>,
        /// `no_credit`.
        pub limit_pay: Option<String>,
        /// JSON text (H5).
        pub scene_info: Option<String>,
    }
);

wire!(
    /// AlipayPayContentExt (docs/wire-protocol.md, "PayContent and Detail").
    pub struct AlipayPayContentExt {
        /// Discountable amount.
        pub discountable_amount: Option<i64>,
        /// Undiscountable amount.
        pub undiscountable_amount: Option<i64>,
        /// Product code.
        pub product_code: Option<String>,
        /// JSON text.
        pub royalty_info: Option<String>,
        /// JSON text.
        pub extend_params: Option<String>,
        /// Disabled channels.
        pub disable_pay_channels: Option<String>,
        /// Timeout.
        pub timeout_express: Option<String>,
    }
);

wire!(
    /// Detail (docs/wire-protocol.md, "PayContent and Detail"), carried as JSON text in `detail`.
    pub struct Detail {
        /// Original receipt total, fen.
        pub cost_price: Option<i64>,
        /// Receipt id.
        pub receipt_id: Option<String>,
        /// Goods list (the oldest documentation spells it `goods_details`: accepted, never emitted).
        #[serde(alias = "goods_details")]
        pub goods_detail: Vec<GoodsDetail>,
    }
);

wire!(
    /// GoodsDetail (docs/wire-protocol.md, "PayContent and Detail").
    pub struct GoodsDetail {
        /// Goods id.
        pub goods_id: Option<String>,
        /// Goods name.
        pub goods_name: Option<String>,
        /// Quantity.
        pub quantity: i64,
        /// Unit price, fen.
        pub price: i64,
    }
);

wire!(
    /// OrderClient (docs/wire-protocol.md, "OrderClient"): the terminal.
    pub struct OrderClient {
        /// Merchant shop id (responses).
        pub shop_id: Option<String>,
        /// Terminal id.
        pub device_id: Option<String>,
        /// Cashier id.
        pub staff_id: Option<String>,
        /// TerminalType.
        pub terminal_type: Option<TerminalType>,
        /// Device model code.
        pub sub_terminal_type: Option<i32>,
        /// Cash register id (MAC); required for micro_pay.
        pub machine_no: Option<String>,
        /// Client/SDK version.
        pub sdk_version: Option<String>,
        /// Caller IP.
        pub spbill_create_ip: Option<String>,
        /// Device serial number.
        pub sn_code: Option<String>,
    }
);

wire!(
    /// CouponInfo (docs/wire-protocol.md, "OrderContent").
    pub struct CouponInfo {
        /// Coupon id.
        pub coupon_id: Option<String>,
        /// Amount, fen.
        pub coupon_fee: Option<i64>,
        /// `CASH` / `NO_CASH`.
        pub coupon_type: Option<String>,
        /// 1 merchant, 2 platform, 3 other.
        pub contribute_type: Option<i32>,
    }
);

wire!(
    /// OrderContent (docs/wire-protocol.md, "OrderContent"): an order as the server holds it.
    pub struct OrderContent {
        /// Merchant order number.
        pub out_trade_no: String,
        /// Platform transaction number (after payment).
        pub transaction_id: Option<String>,
        /// TradeType.
        pub trade_type: Option<TradeType>,
        /// Payment code (micro_pay).
        pub author_code: Option<String>,
        /// QR URL (scan_code_pay).
        pub code_url: Option<String>,
        /// Expiry.
        pub time_expire: Option<i64>,
        /// Payment completion time.
        pub time_end: Option<i64>,
        /// Nonce of the creating request.
        pub nonce_str: Option<String>,
        /// Creation time.
        pub create_time: Option<i64>,
        /// Last update.
        pub last_update_time: Option<i64>,
        /// Still processing (not final).
        pub is_transforming: Option<bool>,
        /// Total, fen.
        pub total_fee: Option<i64>,
        /// Currency.
        pub fee_type: Option<String>,
        /// Cash paid by the customer.
        pub cash_fee: Option<i64>,
        /// Currency of cash_fee.
        pub cash_fee_type: Option<String>,
        /// Settleable amount.
        pub settlement_total_fee: Option<i64>,
        /// Already refunded (client_order_detail only).
        pub refunded_fee: Option<i64>,
        /// Summary.
        pub body: Option<String>,
        /// Detail JSON text.
        pub detail: Option<String>,
        /// Remark.
        pub remark: Option<String>,
        /// Coupons used.
        pub coupon_infos: Option<Vec<CouponInfo>>,
        /// WeChat ext.
        pub wxpay_order_content_ext: Option<WxpayOrderContentExt>,
        /// Alipay ext.
        pub alipay_order_content_ext: Option<AlipayOrderContentExt>,
        /// Members not modelled here.
        #[serde(flatten)]
        pub extra: Map<String, Value>,
    }
);

wire!(
    /// WxpayOrderContentExt (docs/wire-protocol.md, "OrderContent").
    pub struct WxpayOrderContentExt {
        /// Order state.
        pub current_trade_state: WxpayOrderState,
        /// Merchant data.
        pub attach: Option<String>,
        /// Bank type, e.g. `CFT`.
        pub bank_type: Option<String>,
        /// Coupon tag.
        pub goods_tag: Option<String>,
        /// total − cash.
        pub coupon_fee: Option<i64>,
        /// Number of coupons.
        pub coupon_count: Option<i64>,
        /// Product id.
        pub product_id: Option<String>,
        /// State description.
        pub trade_state_desc: Option<String>,
        /// Credit limit.
        pub limit_pay: Option<String>,
        /// Members not modelled here.
        #[serde(flatten)]
        pub extra: Map<String, Value>,
    }
);

wire!(
    /// AlipayOrderContentExt (docs/wire-protocol.md, "OrderContent").
    pub struct AlipayOrderContentExt {
        /// Order state.
        pub current_trade_state: AlipayOrderState,
        /// Fund bills.
        pub fund_bill_list: Option<Vec<AlipayFundBill>>,
        /// Buyer's login id.
        pub buyer_logon_id: Option<String>,
        /// Members not modelled here.
        #[serde(flatten)]
        pub extra: Map<String, Value>,
    }
);

wire!(
    /// AlipayFundBill (docs/wire-protocol.md, "OrderContent").
    pub struct AlipayFundBill {
        /// Channel, e.g. `ALIPAYACCOUNT`.
        pub fund_channel: Option<String>,
        /// Amount, fen.
        pub amount: Option<i64>,
        /// Real amount (sometimes decimal yuan in examples).
        pub real_amount: Option<Value>,
    }
);

wire!(
    /// RefundContent (docs/wire-protocol.md, "RefundContent"): the refund being requested.
    pub struct RefundContent {
        /// Original order.
        pub out_trade_no: String,
        /// New refund number.
        pub out_refund_no: String,
        /// Original order total, fen.
        pub total_fee: i64,
        /// This refund, fen.
        pub refund_fee: i64,
        /// `CNY`.
        pub refund_fee_type: String,
        /// Reason.
        pub refund_reason: Option<String>,
        /// Client refund serial number.
        pub client_refund_flow_id: Option<String>,
        /// WeChat ext (also read as `wx_pay_refund_content_ext` / `wxpay_refund_order_content_ext`).
        #[serde(alias = "wx_pay_refund_content_ext", alias = "wxpay_refund_order_content_ext")]
        pub wxpay_refund_content_ext: Option<WxpayRefundContentExt>,
    }
);

wire!(
    /// WxpayRefundContentExt (docs/wire-protocol.md, "RefundContent").
    pub struct WxpayRefundContentExt {
        /// Funding source.
        pub refund_account: Option<String>,
    }
);

wire!(
    /// RefundOrderContent (docs/wire-protocol.md, "RefundOrderContent"): a refund as the server
    /// holds it.
    pub struct RefundOrderContent {
        /// Refund number.
        pub out_refund_no: String,
        /// Platform refund number.
        pub refund_id: Option<String>,
        /// Original order.
        pub out_trade_no: String,
        /// TradeType of the original order.
        pub trade_type: Option<TradeType>,
        /// Nonce of the creating request.
        pub nonce_str: Option<String>,
        /// Creation time.
        pub create_time: Option<i64>,
        /// Last update.
        pub last_update_time: Option<i64>,
        /// Still processing.
        pub is_transforming: Option<bool>,
        /// Original total.
        pub total_fee: Option<i64>,
        /// This refund.
        pub refund_fee: Option<i64>,
        /// Currency.
        pub refund_fee_type: Option<String>,
        /// Reason.
        pub refund_reason: Option<String>,
        /// 0 until success.
        pub refund_success_time: Option<i64>,
        /// WeChat ext.
        pub wxpay_refund_order_content_ext: Option<WxpayRefundOrderContentExt>,
        /// Alipay ext.
        pub alipay_refund_order_content_ext: Option<AlipayRefundOrderContentExt>,
        /// Members not modelled here.
        #[serde(flatten)]
        pub extra: Map<String, Value>,
    }
);

wire!(
    /// WxpayRefundOrderContentExt (docs/wire-protocol.md, "RefundOrderContent").
    pub struct WxpayRefundOrderContentExt {
        /// Refund state.
        pub state: WxpayRefundState,
        /// Cash part.
        pub cash_refund_fee: Option<i64>,
        /// `ORIGINAL` / `BALANCE`.
        pub refund_channel: Option<String>,
        /// Where the money lands.
        pub refund_recv_account: Option<String>,
        /// Members not modelled here.
        #[serde(flatten)]
        pub extra: Map<String, Value>,
    }
);

wire!(
    /// AlipayRefundOrderContentExt (docs/wire-protocol.md, "RefundOrderContent").
    pub struct AlipayRefundOrderContentExt {
        /// Refund state.
        pub refund_status: AlipayRefundState,
        /// `Y` / `N`.
        pub fund_change: Option<String>,
        /// Members not modelled here.
        #[serde(flatten)]
        pub extra: Map<String, Value>,
    }
);

wire!(
    /// ShopInfo (docs/wire-protocol.md, "Shop structures").
    pub struct ShopInfo {
        /// Merchant shop number.
        pub shop_id: Option<String>,
        /// Name.
        pub shop_name: Option<String>,
        /// Branch name.
        pub branch_name: Option<String>,
        /// Province.
        pub province: Option<String>,
        /// City.
        pub city: Option<String>,
        /// District.
        pub district: Option<String>,
        /// Address.
        pub address: Option<String>,
        /// Phone.
        pub phone: Option<String>,
        /// Global Cloud Pay shop id (response).
        pub out_shop_id: Option<String>,
        /// Shop QR URL (response).
        pub out_shop_id_url: Option<String>,
        /// Devices.
        pub device_infos: Option<Vec<DeviceInfo>>,
        /// Staff.
        pub staff_infos: Option<Vec<StaffInfo>>,
        /// Currencies.
        pub fee_type: Option<String>,
        /// Created (response).
        pub create_time: Option<i64>,
        /// Updated (response).
        pub update_time: Option<i64>,
        /// Members not modelled here.
        #[serde(flatten)]
        pub extra: Map<String, Value>,
    }
);

wire!(
    /// DeviceInfo (docs/wire-protocol.md, "Shop structures").
    pub struct DeviceInfo {
        /// Terminal id.
        pub device_id: String,
        /// DeviceType.
        pub device_type: Option<DeviceType>,
        /// Name.
        pub device_name: Option<String>,
        /// Remark.
        pub remark: Option<String>,
    }
);

wire!(
    /// StaffInfo (docs/wire-protocol.md, "Shop structures").
    pub struct StaffInfo {
        /// Cashier id.
        pub staff_id: String,
        /// Name.
        pub staff_name: Option<String>,
        /// Remark.
        pub remark: Option<String>,
        /// Shop manager.
        pub shop_manager: Option<bool>,
        /// Refund permission (response).
        pub refund_auth: Option<bool>,
    }
);

wire!(
    /// OrderMch (docs/wire-protocol.md, "Listing structures").
    pub struct OrderMch {
        /// PayPlatform.
        pub pay_platform: Option<PayPlatform>,
        /// Service-provider id.
        pub out_mch_id: Option<String>,
        /// Sub-merchant id.
        pub out_sub_mch_id: Option<String>,
        /// Shop id.
        pub out_shop_id: Option<String>,
        /// Platform merchant number.
        pub mch_id: Option<String>,
        /// Platform sub-merchant number.
        pub sub_mch_id: Option<String>,
        /// Members not modelled here.
        #[serde(flatten)]
        pub extra: Map<String, Value>,
    }
);

wire!(
    /// OrderStatClientInfo (docs/wire-protocol.md, "Listing structures"): statistics rows.
    pub struct OrderStatClientInfo {
        /// The row's period as an integer: `20240105` (day), `202401` (month), `202401` (ISO year
        /// and week), `2024` (year). Numeric text is accepted too.
        pub date: Option<i64>,
        /// Service-provider id.
        pub out_mch_id: Option<String>,
        /// Sub-merchant id.
        pub out_sub_mch_id: Option<String>,
        /// PayPlatform.
        pub pay_platform: Option<PayPlatform>,
        /// Shop id.
        pub out_shop_id: Option<String>,
        /// Staff id.
        pub staff_id: Option<String>,
        /// Orders created.
        pub total_count: Option<i64>,
        /// Amount of orders created.
        pub total_amount: Option<i64>,
        /// Paid orders.
        pub success_count: Option<i64>,
        /// Paid amount.
        pub success_amount: Option<i64>,
        /// Settled amount.
        pub settle_amount: Option<i64>,
        /// Refunds.
        pub refund_count: Option<i64>,
        /// Refunded amount.
        pub refund_amount: Option<i64>,
        /// Paid minus refunded count.
        pub net_count: Option<i64>,
        /// Paid minus refunded amount.
        pub net_amount: Option<i64>,
        /// Distinct payers.
        pub distinct_payer_count: Option<i64>,
        /// Members not modelled here.
        #[serde(flatten)]
        pub extra: Map<String, Value>,
    }
);
