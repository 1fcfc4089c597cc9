//! Shop, listing, statistics and payment-code-prefix calls (docs/c-api.md, "Request shapes";
//! docs/c-api.md, "Payment-code prefixes").
//! No money moves here: a reply is 0 / -1 / -2 like any query, outputs are the HTTP objects.

use std::sync::Arc;

use cloud_pay_protocol::types::{self as t, PayPlatform};
use cloud_pay_protocol::{Api, StatusClass, wire};
use serde::Deserialize;
use serde_json::{Value, json};

use crate::client::{AuthChoice, Client, Exchange};
use crate::error::SdkError;
use crate::outcome::{CallCode, CallOutcome};
use crate::paycode::{PUBLIC_ALI_PREFIXES, PUBLIC_WX_PREFIXES, Prefixes};

#[derive(Deserialize, Default)]
#[serde(default)]
struct ShopQuerySdkRequest {
    page_num: Option<i64>,
    page_size: Option<i64>,
    out_shop_id: Option<String>,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct ShopSetSdkRequest {
    is_all: Option<bool>,
    shop_infos: Option<Vec<t::ShopInfo>>,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct OrderDetailSdkRequest {
    page_num: Option<i64>,
    page_size: Option<i64>,
    pay_platform: Option<i64>,
    query_order_type: Option<i64>,
    query_cashier_type: Option<i64>,
    trade_type: Option<i64>,
    start_time: Option<i64>,
    end_time: Option<i64>,
    out_shop_id: Option<String>,
    staff_id: Option<String>,
    device_id: Option<String>,
    enable_overview: Option<bool>,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct OrderStatSdkRequest {
    page_num: Option<i64>,
    page_size: Option<i64>,
    pay_platform: Option<i64>,
    trade_type: Option<i64>,
    stat_type: Option<i64>,
    start_time: Option<i64>,
    end_time: Option<i64>,
    /// An array of shop ids in the vendor's example; a single string is accepted too.
    out_shop_id: Option<Value>,
    staff_ids: Option<Vec<String>>,
}

fn page(v: Option<i64>, default: i64, max: i64, field: &str) -> Result<i64, SdkError> {
    match v {
        None => Ok(default),
        Some(n) if (1..=max).contains(&n) => Ok(n),
        Some(n) => Err(SdkError::BadInput(format!("{field} must be 1..{max}, got {n}"))),
    }
}

fn small(v: Option<i64>, field: &str, allowed: &[i64]) -> Result<Option<i32>, SdkError> {
    match v {
        None | Some(0) => Ok(None),
        Some(n) if allowed.is_empty() || allowed.contains(&n) => Ok(i32::try_from(n).ok()),
        Some(n) => Err(SdkError::BadInput(format!("{field}: unsupported value {n}"))),
    }
}

fn now() -> i64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_secs() as i64).unwrap_or(0)
}

/// 0 / -1 / -2 from an exchange, with the HTTP result object (verbatim) as output.
fn outcome<T>(ex: Exchange<T>, output: impl FnOnce(&Exchange<T>) -> Value) -> CallOutcome {
    match ex.class {
        StatusClass::Success => CallOutcome { code: CallCode::Ok, output: Some(output(&ex)), message: None },
        StatusClass::Unknown => CallOutcome {
            code: CallCode::Unknown,
            output: None,
            message: Some(format!("{} — result unknown, try again", ex.detail)),
        },
        _ => CallOutcome { code: CallCode::Failed, output: None, message: Some(ex.detail) },
    }
}

fn raw<T>(ex: &Exchange<T>) -> Value {
    ex.response
        .as_ref()
        .and_then(|r| r.raw_result.as_deref())
        .and_then(|r| serde_json::from_str(r.get()).ok())
        .unwrap_or_else(|| json!({}))
}

/// The merchant-information calls.
pub struct Merchant {
    client: Arc<Client>,
    prefixes: Arc<Prefixes>,
}

impl Merchant {
    /// Over a client, sharing the prefix cache with the trade core.
    pub fn new(client: Arc<Client>, prefixes: Arc<Prefixes>) -> Merchant {
        Merchant { client, prefixes }
    }

    fn ids(&self) -> (String, String, String) {
        let tc = self.client.trade_conf();
        (tc.out_mch_id.clone(), tc.out_sub_mch_id.clone(), tc.out_shop_id.clone())
    }

    fn call<A: Api>(&self, req: &A::Request) -> Exchange<A::Result> {
        self.client.call::<A>(req, AuthChoice::Hmac)
    }

    /// query_shop_info: `{page_num, page_size, out_shop_id?}` → `{total_count, shop_infos}`;
    /// the shop filter is applied locally (the HTTP call has none).
    pub fn query_shop_info(&self, req_text: &str) -> Result<CallOutcome, SdkError> {
        let req: ShopQuerySdkRequest = crate::input::parse_json(req_text, "req")?;
        let (out_mch_id, out_sub_mch_id, _) = self.ids();
        let ex = self.call::<t::QuerySubMchShopInfo>(&t::QueryShopInfoRequest {
            out_mch_id,
            out_sub_mch_id,
            page_num: page(req.page_num, 1, 1_000_000, "page_num")?,
            page_size: page(req.page_size, 100, 1000, "page_size")?,
            nonce_str: crate::nonce::nonce_str(),
        });
        let filter = req.out_shop_id.filter(|s| !s.trim().is_empty());
        Ok(outcome(ex, |ex| {
            let r = ex.result().cloned().unwrap_or_default();
            match &filter {
                None => json!({"total_count": r.total_count, "shop_infos": wire::to_value(&r.shop_infos)}),
                Some(id) => {
                    let shops: Vec<&t::ShopInfo> =
                        r.shop_infos.iter().filter(|s| s.out_shop_id.as_deref() == Some(id)).collect();
                    json!({"total_count": shops.len(), "shop_infos": wire::to_value(&shops)})
                }
            }
        }))
    }

    /// set_shop_info: `{is_all, shop_infos:[…]}` → every shop after the update.
    pub fn set_shop_info(&self, req_text: &str) -> Result<CallOutcome, SdkError> {
        let req: ShopSetSdkRequest = crate::input::parse_json(req_text, "req")?;
        let is_all = req.is_all.ok_or_else(|| {
            SdkError::BadInput("is_all is required (true replaces every shop, false adds/modifies)".into())
        })?;
        let mut shops = req.shop_infos.ok_or_else(|| SdkError::BadInput("shop_infos is required".into()))?;
        for (i, s) in shops.iter_mut().enumerate() {
            if s.shop_id.as_deref().is_none_or(|x| x.trim().is_empty())
                || s.shop_name.as_deref().is_none_or(|x| x.trim().is_empty())
            {
                return Err(SdkError::BadInput(format!("shop_infos[{i}]: shop_id and shop_name are required")));
            }
            // The HTTP StaffInfo requires shop_manager; the SDK request may leave it out.
            for st in s.staff_infos.iter_mut().flatten() {
                st.shop_manager.get_or_insert(false);
            }
        }
        let (out_mch_id, out_sub_mch_id, _) = self.ids();
        let ex = self.call::<t::SetSubMchShopInfo>(&t::SetShopInfoRequest {
            out_mch_id,
            out_sub_mch_id,
            is_all,
            shop_infos: shops,
            nonce_str: crate::nonce::nonce_str(),
        });
        Ok(outcome(ex, |ex| {
            let r = ex.result().cloned().unwrap_or_default();
            json!({"total_count": r.shops().len(), "shop_infos": wire::to_value(&r.shops())})
        }))
    }

    /// order_detail → `client_order_detail`; output is the HTTP `order_detail_query` object.
    pub fn order_detail(&self, req_text: &str) -> Result<CallOutcome, SdkError> {
        let req: OrderDetailSdkRequest = crate::input::parse_json(req_text, "req")?;
        let out_shop_id = req.out_shop_id.filter(|s| !s.trim().is_empty());
        let staff_id = req.staff_id.filter(|s| !s.trim().is_empty());
        if staff_id.is_some() && out_shop_id.is_none() {
            return Err(SdkError::BadInput("staff_id needs out_shop_id".into()));
        }
        let (_, out_sub_mch_id, _) = self.ids();
        let request = t::OrderDetailRequest {
            pay_platform: small(req.pay_platform, "pay_platform", &[1, 2, 3, 4])?.map(PayPlatform),
            out_sub_mch_id,
            out_shop_id,
            staff_id,
            device_id: req.device_id.filter(|s| !s.trim().is_empty()),
            query_order_type: t::QueryOrderType(
                small(req.query_order_type, "query_order_type", &[1, 2, 3])?.unwrap_or(3),
            ),
            trade_type: small(req.trade_type, "trade_type", &[])?.map(t::TradeType),
            start_time: Some(req.start_time.unwrap_or(0)),
            end_time: req.end_time.filter(|t| *t > 0).unwrap_or_else(now),
            page_num: page(req.page_num, 1, 1_000_000, "page_num")?,
            page_size: page(req.page_size, 20, 1000, "page_size")?,
            enable_overview: req.enable_overview,
            query_cashier_type: small(req.query_cashier_type, "query_cashier_type", &[])?,
            nonce_str: Some(crate::nonce::nonce_str()),
        };
        Ok(outcome(self.call::<t::ClientOrderDetail>(&request), raw))
    }

    /// order_stat → `client_sub_mch_sales_overview`; output is its HTTP result object.
    pub fn order_stat(&self, req_text: &str) -> Result<CallOutcome, SdkError> {
        let req: OrderStatSdkRequest = crate::input::parse_json(req_text, "req")?;
        let shop_ids: Vec<String> = match req.out_shop_id {
            None | Some(Value::Null) => Vec::new(),
            Some(Value::String(s)) if s.trim().is_empty() => Vec::new(),
            Some(Value::String(s)) => vec![s],
            Some(Value::Array(items)) => items
                .into_iter()
                .map(|v| {
                    v.as_str()
                        .map(str::to_owned)
                        .ok_or_else(|| SdkError::BadInput("out_shop_id must be an array of strings".into()))
                })
                .collect::<Result<_, _>>()?,
            Some(_) => return Err(SdkError::BadInput("out_shop_id must be a string or an array of strings".into())),
        };
        let staff_ids = req.staff_ids.filter(|v| !v.is_empty());
        let (out_mch_id, out_sub_mch_id, _) = self.ids();
        let request = t::SalesOverviewRequest {
            out_mch_id,
            out_sub_mch_id,
            shops: (!shop_ids.is_empty()).then(|| {
                shop_ids
                    .into_iter()
                    .map(|out_shop_id| t::StatShop { out_shop_id, staff_ids: staff_ids.clone() })
                    .collect()
            }),
            pay_platform: small(req.pay_platform, "pay_platform", &[1, 2, 3, 4])?.map(PayPlatform),
            trade_type: small(req.trade_type, "trade_type", &[])?.map(t::TradeType),
            stat_type: Some(t::StatType(small(req.stat_type, "stat_type", &[1, 2, 3, 4])?.unwrap_or(1))),
            start_time: Some(req.start_time.unwrap_or(0)),
            end_time: Some(req.end_time.filter(|t| *t > 0).unwrap_or_else(now)),
            page_num: Some(page(req.page_num, 1, 1_000_000, "page_num")?),
            page_size: Some(page(req.page_size, 20, 1000, "page_size")?),
            stat_role: None,
            nonce_str: Some(crate::nonce::nonce_str()),
        };
        Ok(outcome(self.call::<t::ClientSubMchSalesOverview>(&request), raw))
    }

    /// author_code_prefix: the server's prefixes (`query_identity_mapping`, cached), or the
    /// public rules when the server cannot give them — marked `"source":"public_rules"` and
    /// explained in the message.
    pub fn author_code_prefix(&self) -> CallOutcome {
        if let Some((wx, ali)) = self.prefixes.fetched() {
            return CallOutcome { code: CallCode::Ok, output: Some(prefix_output(&wx, &ali, "server")), message: None };
        }
        let (out_mch_id, out_sub_mch_id, out_shop_id) = self.ids();
        let ex = self.call::<t::QueryIdentityMapping>(&t::IdentityMappingRequest {
            out: Some(t::OutCondition { out_mch_id, out_sub_mch_id, out_shop_id: Some(out_shop_id) }),
            nonce_str: Some(crate::nonce::nonce_str()),
            ..Default::default()
        });
        match ex.result() {
            Some(r) if !(r.wx_author_codes.is_empty() && r.ali_author_codes.is_empty()) => {
                let (wx, ali) = (r.wx_author_codes.clone(), r.ali_author_codes.clone());
                self.prefixes.set(wx.clone(), ali.clone());
                CallOutcome { code: CallCode::Ok, output: Some(prefix_output(&wx, &ali, "server")), message: None }
            }
            _ => {
                let owned = |l: &[&str]| l.iter().map(|s| s.to_string()).collect::<Vec<_>>();
                CallOutcome {
                    code: CallCode::Ok,
                    output: Some(prefix_output(
                        &owned(PUBLIC_WX_PREFIXES),
                        &owned(PUBLIC_ALI_PREFIXES),
                        "public_rules",
                    )),
                    message: Some(format!(
                        "server prefixes unavailable, public rules returned (\"source\":\"public_rules\"): {}",
                        ex.detail
                    )),
                }
            }
        }
    }
}

fn prefix_output(wx: &[String], ali: &[String], source: &str) -> Value {
    json!({
        "wx_author_code_prefix": wx,
        "ali_author_code_prefix": ali,
        "author_code_prefix": [{"pay_platform": 1, "prefix": wx}, {"pay_platform": 2, "prefix": ali}],
        "source": source,
    })
}
