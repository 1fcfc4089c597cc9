//! query_sub_mch_shop_info and set_sub_mch_shop_info.

use cloud_pay_protocol::types::*;
use serde_json::{Map, Value, json};

use crate::config::{DeviceConfig, ShopConfig, StaffConfig};
use crate::endpoint::{Ctx, Outcome, Res, required, typed};
use crate::util::random_alnum;

/// A stored shop as the protocol's ShopInfo.
pub fn shop_info(s: &ShopConfig) -> ShopInfo {
    ShopInfo {
        shop_id: Some(s.shop_id.clone()),
        shop_name: Some(s.shop_name.clone()),
        out_shop_id: Some(s.out_shop_id.clone()),
        device_infos: Some(
            s.devices
                .iter()
                .map(|d| DeviceInfo {
                    device_id: d.device_id.clone(),
                    device_type: Some(DeviceType(d.device_type)),
                    device_name: Some(d.device_name.clone()),
                    remark: None,
                })
                .collect(),
        ),
        staff_infos: Some(s.staff.iter().map(staff_info).collect()),
        fee_type: Some("CNY".into()),
        ..Default::default()
    }
}

/// A stored cashier as the protocol's StaffInfo.
pub fn staff_info(s: &StaffConfig) -> StaffInfo {
    StaffInfo {
        staff_id: s.staff_id.clone(),
        staff_name: Some(s.staff_name.clone()),
        remark: None,
        shop_manager: Some(s.shop_manager),
        refund_auth: Some(s.refund_auth),
    }
}

fn page<T: Clone>(items: &[T], page_num: i64, page_size: i64) -> Result<Vec<T>, Outcome> {
    if page_num < 1 || page_size < 1 {
        return Err(Outcome::bad("参数page_num/page_size错误 (both must be >= 1)"));
    }
    let start = ((page_num - 1) * page_size) as usize;
    Ok(items.iter().skip(start).take(page_size as usize).cloned().collect())
}

/// Pages any list (1-based).
pub fn paged<T: Clone>(items: &[T], page_num: i64, page_size: i64) -> Result<Vec<T>, Outcome> {
    page(items, page_num, page_size)
}

/// `query_sub_mch_shop_info`.
pub fn query_shop_info(ctx: &mut Ctx, req: &Map<String, Value>) -> Res {
    let r: QueryShopInfoRequest = typed(req)?;
    required(&r.out_mch_id, "out_mch_id")?;
    let shops = ctx.store.shops.get(&ctx.m.out_sub_mch_id).cloned().unwrap_or_default();
    let rows = page(&shops, r.page_num, r.page_size)?;
    Ok(Outcome::ok(QueryShopInfoResult {
        nonce_str: None,
        shop_infos: rows.iter().map(shop_info).collect(),
        total_count: shops.len() as i64,
    }))
}

/// `set_sub_mch_shop_info`: `is_all` replaces the list, otherwise adds/modifies by shop_id.
/// New shops get a fresh 20-character out_shop_id.
pub fn set_shop_info(ctx: &mut Ctx, req: &Map<String, Value>) -> Res {
    let r: SetShopInfoRequest = typed(req)?;
    required(&r.out_mch_id, "out_mch_id")?;
    if r.shop_infos.is_empty() && !r.is_all {
        return Err(Outcome::bad("参数shop_infos缺失 (shop_infos missing)"));
    }
    let old = ctx.store.shops.get(&ctx.m.out_sub_mch_id).cloned().unwrap_or_default();
    let mut new_list = if r.is_all { Vec::new() } else { old.clone() };
    for si in &r.shop_infos {
        let shop_id = si.shop_id.clone().unwrap_or_default();
        let name = si.shop_name.clone().unwrap_or_default();
        required(&shop_id, "shop_id")?;
        required(&name, "shop_name")?;
        let prev = old.iter().find(|s| s.shop_id == shop_id);
        let out_shop_id = prev.map(|s| s.out_shop_id.clone()).unwrap_or_else(|| format!("sz01SBX{}", random_alnum(13)));
        let shop = ShopConfig {
            out_shop_id,
            shop_id: shop_id.clone(),
            shop_name: name,
            devices: match &si.device_infos {
                Some(d) => d
                    .iter()
                    .map(|d| DeviceConfig {
                        device_id: d.device_id.clone(),
                        device_name: d.device_name.clone().unwrap_or_default(),
                        device_type: d.device_type.map(|t| t.0).unwrap_or(3),
                    })
                    .collect(),
                None => prev.map(|p| p.devices.clone()).unwrap_or_default(),
            },
            staff: match &si.staff_infos {
                Some(s) => s
                    .iter()
                    .map(|s| StaffConfig {
                        staff_id: s.staff_id.clone(),
                        staff_name: s.staff_name.clone().unwrap_or_default(),
                        shop_manager: s.shop_manager.unwrap_or(false),
                        refund_auth: s.refund_auth.unwrap_or(s.shop_manager.unwrap_or(false)),
                    })
                    .collect(),
                None => prev.map(|p| p.staff.clone()).unwrap_or_default(),
            },
        };
        match new_list.iter_mut().find(|s| s.shop_id == shop_id) {
            Some(slot) => *slot = shop,
            None => new_list.push(shop),
        }
    }
    let infos: Vec<ShopInfo> = new_list.iter().map(shop_info).collect();
    ctx.store.shops.insert(ctx.m.out_sub_mch_id.clone(), new_list);
    ctx.dirty = true;
    // Both names: documented `set_shop_infos`, and `shop_infos` that one client reads.
    Ok(Outcome::ok(json!({ "set_shop_infos": infos, "shop_infos": infos })))
}

/// Path of `sdk_query_sub_mch_info` (docs/wire-protocol.md, "sdk_query_sub_mch_info"). Not in the
/// protocol crate's endpoint table: the SDK never calls it, but the vendor's SDK does, so the
/// sandbox answers it.
pub const SUB_MCH_INFO_PATH: &str = "sdk_query_sub_mch_info";
/// Its result key.
pub const SUB_MCH_INFO_RESULT: &str = "query_sub_mch_info";

/// `sdk_query_sub_mch_info` (docs/wire-protocol.md, "sdk_query_sub_mch_info"): `page_num` and
/// `page_size` must be 1; one SubMch per platform binding (WeChat Pay, Alipay — those with a
/// provider number configured), each holding the sub-merchant's SubMchInfo. Key material (which the
/// real server is seen to include) is left out: a sandbox has no business handing keys around.
pub fn sub_mch_info(ctx: &mut Ctx, req: &Map<String, Value>) -> Res {
    let page = |k: &str| req.get(k).and_then(|v| v.as_i64().or_else(|| v.as_str().and_then(|s| s.trim().parse().ok())));
    for k in ["page_num", "page_size"] {
        if page(k) != Some(1) {
            return Err(Outcome::bad(format!("参数{k}错误 ({k} must be 1)")));
        }
    }
    let m = ctx.m;
    let url = format!("{}sandbox/console/", ctx.base_url);
    let mut subs = Vec::new();
    for (platform, mch_id, sub_mch_id) in [(1, &m.wx_mch_id, &m.wx_sub_mch_id), (2, &m.ali_mch_id, &m.ali_sub_mch_id)] {
        if mch_id.is_empty() {
            continue;
        }
        let mut info = json!({
            "sub_mch_id": sub_mch_id,
            "company_name": m.sub_company_name,
            "desc": "",
            "cloud_cashier_id": m.cloud_cashier_id,
            "out_sub_mch_id": m.out_sub_mch_id,
            "default_order_body": m.sub_merchant_name,
            "sub_mch_admin_infos": [],
            "out_sub_mch_id_url": url,
            "merchant_name": m.sub_merchant_name,
            "is_use_cpay_shop_system": true,
            "direct": true,
        });
        info[if platform == 1 { "wxpay_sub_mch_info_ext" } else { "alipay_sub_mch_info_ext" }] =
            json!({"direct": true});
        subs.push(json!({
            "mch_id": mch_id,
            "pay_platform": platform,
            "company_name": m.company_name,
            "mch_sub_uin": sub_mch_id,
            "mch_sub_company_name": m.sub_company_name,
            "out_mch_id": m.out_mch_id,
            "sub_mch_infos": [info],
            "mch_key": {"mch_id": mch_id, "pay_platform": platform},
        }));
    }
    Ok(Outcome::ok(json!({"total_count": subs.len(), "sub_mch_infos": subs})))
}
