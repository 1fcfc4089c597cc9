//! The SDK-level request JSON of each export (docs/c-api.md, "Request shapes"), as typed
//! structures.

use cloud_pay_protocol::types::{Detail, GoodsDetail};
use serde::Deserialize;
use serde_json::Value;

use crate::error::SdkError;

/// `MicroPaySdkRequest`: the request of `cloud_pay_micro_pay`.
#[derive(Deserialize, Debug, Default, Clone)]
#[serde(default)]
pub struct MicroPaySdkRequest {
    /// Order number with the merchant prefix.
    pub out_trade_no: Option<String>,
    /// Customer payment code.
    pub author_code: Option<String>,
    /// Amount, fen.
    pub total_fee: Option<i64>,
    /// `CNY` (default).
    pub fee_type: Option<String>,
    /// Goods summary.
    pub body: Option<String>,
    /// `{goods_detail:[…]}`, a bare goods array, or JSON text.
    pub detail: Option<Value>,
    /// WeChat attach.
    pub attach: Option<String>,
    /// WeChat goods tag.
    pub goods_tag: Option<String>,
    /// `no_credit`.
    pub limit_pay: Option<String>,
    /// Optional; inferred from the payment code when absent.
    pub pay_platform: Option<i64>,
    /// Payment remark.
    pub remark: Option<String>,
}

/// `ScanCodePaySdkRequest`: the request of `cloud_pay_scan_code_pay`.
#[derive(Deserialize, Debug, Default, Clone)]
#[serde(default)]
pub struct ScanCodePaySdkRequest {
    /// 1 WeChat Pay, 2 Alipay.
    pub pay_platform: Option<i64>,
    /// Order number.
    pub out_trade_no: Option<String>,
    /// WeChat product id.
    pub product_id: Option<String>,
    /// Amount, fen.
    pub total_fee: Option<i64>,
    /// `CNY` (default).
    pub fee_type: Option<String>,
    /// Goods summary.
    pub body: Option<String>,
    /// Goods detail.
    pub detail: Option<Value>,
    /// WeChat attach.
    pub attach: Option<String>,
    /// WeChat goods tag.
    pub goods_tag: Option<String>,
    /// Order expiry, Unix seconds.
    pub time_expire: Option<i64>,
}

/// `QueryOrderSdkRequest` and `CancelOrderSdkRequest`: the requests of `cloud_pay_query_order`
/// and `cloud_pay_cancel_order`.
#[derive(Deserialize, Debug, Default, Clone)]
#[serde(default)]
pub struct OrderRefSdkRequest {
    /// Order number.
    pub out_trade_no: Option<String>,
    /// 1 micro pay, 2 scan code.
    pub trade_type: Option<i64>,
    /// 1 WeChat Pay, 2 Alipay.
    pub pay_platform: Option<i64>,
}

/// `RefundSdkRequest`: the request of `cloud_pay_refund`.
#[derive(Deserialize, Debug, Default, Clone)]
#[serde(default)]
pub struct RefundSdkRequest {
    /// 1 WeChat Pay, 2 Alipay.
    pub pay_platform: Option<i64>,
    /// Original order.
    pub out_trade_no: Option<String>,
    /// Refund number (generated when absent).
    pub out_refund_no: Option<String>,
    /// Original total, fen.
    pub total_fee: Option<i64>,
    /// Refund amount, fen.
    pub refund_fee: Option<i64>,
    /// `CNY` (default).
    pub refund_fee_type: Option<String>,
    /// Reason.
    pub refund_reason: Option<String>,
}

/// `QueryRefundSdkRequest`: the request of `cloud_pay_query_refund`.
#[derive(Deserialize, Debug, Default, Clone)]
#[serde(default)]
pub struct QueryRefundSdkRequest {
    /// 1 WeChat Pay, 2 Alipay.
    pub pay_platform: Option<i64>,
    /// Original order.
    pub out_trade_no: Option<String>,
    /// A specific refund; absent = all refunds of the order.
    pub out_refund_no: Option<String>,
}

/// Turns the caller's `detail` (object, bare goods array, or JSON text) into the HTTP
/// `detail` string `{"goods_detail":[…]}` (docs/c-api.md, "Goods detail input").
pub fn detail_text(detail: &Option<Value>) -> Result<Option<String>, SdkError> {
    let parsed: Detail = match detail {
        None | Some(Value::Null) => return Ok(None),
        Some(Value::String(s)) if s.trim().is_empty() => return Ok(None),
        Some(Value::String(s)) => crate::input::parse_json(s, "detail")?,
        Some(Value::Array(items)) => Detail {
            goods_detail: cloud_pay_protocol::wire::from_value::<Vec<GoodsDetail>>(Value::Array(items.clone()))
                .map_err(|e| SdkError::BadInput(format!("detail: {e}")))?,
            ..Default::default()
        },
        Some(v @ Value::Object(_)) => {
            cloud_pay_protocol::wire::from_value(v.clone()).map_err(|e| SdkError::BadInput(format!("detail: {e}")))?
        }
        Some(_) => return Err(SdkError::BadInput("detail must be an object, an array of goods or JSON text".into())),
    };
    let text = cloud_pay_protocol::wire::to_text(&parsed);
    if text.len() > 6000 {
        return Err(SdkError::BadInput("detail is longer than 6000 bytes".into()));
    }
    Ok(Some(text))
}
