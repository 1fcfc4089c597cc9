//! Cashier bootstrap (query_identity_mapping, client_initialize, client_try_get_initializers)
//! and monitoring uploads.

use cloud_pay_protocol::types::*;
use serde_json::{Map, Value};

use crate::endpoint::{Ctx, Outcome, Res, required, typed};
use crate::state::{Login, LoginStatus, Store};
use crate::util::{percent_encode, random_alnum, random_from};

/// `query_identity_mapping`: exactly one of `mch` (platform ids) or `out` (Cloud Pay ids).
pub fn identity_mapping(ctx: &mut Ctx, req: &Map<String, Value>) -> Res {
    let r: IdentityMappingRequest = typed(req)?;
    let m = ctx.m;
    let shop_id = match (&r.mch, &r.out) {
        (Some(_), Some(_)) | (None, None) => return Err(Outcome::bad("exactly one of mch or out is required")),
        (Some(c), None) => {
            let wx = c.mch_id == m.wx_mch_id && c.sub_mch_id == m.wx_sub_mch_id;
            let ali = c.mch_id == m.ali_mch_id && c.sub_mch_id == m.ali_sub_mch_id;
            if !(wx || ali) {
                return Err(Outcome::biz(1, "商户不存在 (no sub-merchant with these platform ids)"));
            }
            match c.shop_id.as_deref().filter(|s| !s.is_empty()) {
                None => None,
                Some(sid) => Some(
                    ctx.store
                        .shops
                        .get(&m.out_sub_mch_id)
                        .and_then(|v| v.iter().find(|s| s.shop_id == sid))
                        .map(|s| s.out_shop_id.clone())
                        .ok_or_else(|| Outcome::biz(1, "门店不存在 (unknown shop_id)"))?,
                ),
            }
        }
        (None, Some(c)) => {
            if c.out_mch_id != m.out_mch_id {
                return Err(Outcome::biz(1, "服务商不存在 (out_mch_id does not match)"));
            }
            match c.out_shop_id.as_deref().filter(|s| !s.is_empty()) {
                None => None,
                Some(os) if ctx.store.shop(&m.out_sub_mch_id, os).is_some() => Some(os.to_owned()),
                Some(_) => return Err(Outcome::biz(1, "门店不存在 (unknown out_shop_id)")),
            }
        }
    };
    Ok(Outcome::ok(IdentityMappingResult {
        out_mch_id: m.out_mch_id.clone(),
        out_sub_mch_id: m.out_sub_mch_id.clone(),
        out_shop_id: shop_id,
        nonce_str: None,
        wx_author_codes: m.wx_prefixes(),
        ali_author_codes: m.ali_prefixes(),
    }))
}

/// The URL a login's QR code carries (`client_initialize`'s `qr_code_url`): the web console's
/// page for that login. Built here, where the login is created, so the console depends on
/// the endpoints and not the other way round.
pub fn login_url(base: &str, activator: &str) -> String {
    format!("{base}sandbox/console/login?activator={}", percent_encode(activator))
}

/// `client_initialize`: a login waiting for an admin to scan the QR code.
pub fn client_initialize(ctx: &mut Ctx, req: &Map<String, Value>) -> Res {
    let r: ClientInitializeRequest = typed(req)?;
    if let Some(s) = r.out_shop_id.as_deref().filter(|s| !s.is_empty())
        && ctx.store.shop(&ctx.m.out_sub_mch_id, s).is_none()
    {
        return Err(Outcome::bad("参数out_shop_id错误 (unknown out_shop_id)"));
    }
    let activator = random_from(b"ABCDEFGHJKLMNPQRSTUVWXYZ23456789", 12);
    let token = random_alnum(32);
    let ttl = ctx.cfg.login_ttl_secs;
    ctx.store.logins.insert(
        activator.clone(),
        Login {
            activator: activator.clone(),
            token: token.clone(),
            out_sub_mch_id: ctx.m.out_sub_mch_id.clone(),
            out_shop_id: r.out_shop_id.clone().filter(|s| !s.is_empty()),
            create_ms: ctx.now,
            ttl,
            status: LoginStatus::Pending,
        },
    );
    ctx.dirty = true;
    Ok(Outcome::ok(ClientInitializeResult {
        qr_code_url: login_url(ctx.base_url, &activator),
        activator,
        token,
        ttl: ttl as i64,
        nonce_str: None,
    }))
}

/// Expires a pending login whose ttl passed. Returns true if it changed.
pub fn expire_if_due(l: &mut Login, now: u64) -> bool {
    if l.status == LoginStatus::Pending && now >= l.create_ms + l.ttl * 1000 {
        l.status = LoginStatus::Expired;
        return true;
    }
    false
}

/// `client_try_get_initializers`: not granted (status 0) until approved; rejected/expired → 104.
pub fn try_get_initializers(ctx: &mut Ctx, req: &Map<String, Value>) -> Res {
    let r: TryGetInitializersRequest = typed(req)?;
    required(&r.token, "token")?;
    let now = ctx.now;
    let login = ctx
        .store
        .logins
        .values_mut()
        .find(|l| l.token == r.token && l.out_sub_mch_id == ctx.m.out_sub_mch_id)
        .ok_or_else(|| Outcome::biz(1, "token无效 (unknown token)"))?;
    ctx.dirty |= expire_if_due(login, now);
    let login = login.clone();
    let staff_id = match &login.status {
        LoginStatus::Pending => {
            return Ok(Outcome::ok(TryGetInitializersResult { initialization_granted: false, ..Default::default() }));
        }
        LoginStatus::Rejected => return Err(Outcome::biz(1, "login rejected")),
        LoginStatus::Expired => return Err(Outcome::biz(1, "QR code expired")),
        LoginStatus::Approved { staff_id } => staff_id.clone(),
    };
    let m = ctx.m;
    let shops: Vec<_> = ctx
        .store
        .shops
        .get(&m.out_sub_mch_id)
        .cloned()
        .unwrap_or_default()
        .into_iter()
        .filter(|s| login.out_shop_id.as_deref().is_none_or(|o| o == s.out_shop_id))
        .collect();
    let manager = shops.iter().flat_map(|s| s.staff.iter()).any(|s| s.staff_id == staff_id && s.shop_manager);
    let manager_types = vec![if manager { ManagerType::SHOP } else { ManagerType::STAFF }];
    let manager_entities = shops
        .iter()
        .map(|s| ManagerEntity {
            manager_type: manager_types[0],
            out_id: Some(s.out_shop_id.clone()),
            staff_id: Some(staff_id.clone()),
        })
        .collect();
    Ok(Outcome::ok(TryGetInitializersResult {
        initialization_granted: true,
        identity: Some(format!("sandbox-admin-{staff_id}")),
        staff_id: Some(staff_id),
        manager_types,
        manager_entities,
        mch_info: Some(InitMchInfo {
            company_name: Some(m.company_name.clone()),
            out_mch_id: Some(m.out_mch_id.clone()),
            merchant_name: Some(m.merchant_name.clone()),
            logo: None,
        }),
        sub_mch_info: Some(InitSubMchInfo {
            company_name: Some(m.sub_company_name.clone()),
            cloud_cashier_id: Some(m.cloud_cashier_id.clone()),
            out_sub_mch_id: Some(m.out_sub_mch_id.clone()),
            merchant_name: Some(m.sub_merchant_name.clone()),
            client_configuration_ciphers: vec![ClientConfigurationCipher {
                algorithm: EncryptType::AES_128_GCM,
                key: m.config_cipher_key_b64.clone(),
            }],
            logo: None,
        }),
        shop_infos: shops
            .iter()
            .map(|s| InitShopInfo {
                out_shop_id: s.out_shop_id.clone(),
                shop_name: Some(s.shop_name.clone()),
                devices: s
                    .devices
                    .iter()
                    .map(|d| InitDevice {
                        device_id: d.device_id.clone(),
                        device_type: Some(DeviceType(d.device_type)),
                    })
                    .collect(),
                staffs: s
                    .staff
                    .iter()
                    .map(|x| InitStaff {
                        staff_id: x.staff_id.clone(),
                        staff_name: Some(x.staff_name.clone()),
                        refund_auth: Some(x.refund_auth),
                    })
                    .collect(),
            })
            .collect(),
        nonce_str: None,
    }))
}

/// Changes a pending login (control API): approve, reject or expire.
pub fn set_login(store: &mut Store, activator: &str, status: LoginStatus, now: u64) -> Result<(), String> {
    let l = store.logins.get_mut(activator).ok_or_else(|| format!("no login with activator {activator}"))?;
    expire_if_due(l, now);
    if status != LoginStatus::Expired && l.status != LoginStatus::Pending {
        return Err(format!("login {activator} is no longer pending ({:?})", l.status));
    }
    l.status = status;
    Ok(())
}

fn upload_ids(req: &Map<String, Value>) -> Result<(), Outcome> {
    let s = |k: &str| req.get(k).and_then(Value::as_str).unwrap_or_default();
    required(s("out_mch_id"), "out_mch_id")?;
    required(s("out_shop_id"), "out_shop_id")
}

/// `upload_client_monitor_info`: stored as received; replies the configured interval.
pub fn upload_monitor(ctx: &mut Ctx, req: &Map<String, Value>) -> Res {
    upload_ids(req)?;
    let _: MonitorInfoRequest = typed(req)?;
    Store::push_upload(&mut ctx.store.monitor_uploads, Value::Object(req.clone()));
    ctx.dirty = true;
    Ok(Outcome::ok(MonitorInfoResult { nonce_str: None, interval: ctx.cfg.monitor_interval_secs }))
}

/// `upload_client_conf_info`: stored as received.
pub fn upload_conf(ctx: &mut Ctx, req: &Map<String, Value>) -> Res {
    upload_ids(req)?;
    let _: ConfInfoRequest = typed(req)?;
    Store::push_upload(&mut ctx.store.conf_uploads, Value::Object(req.clone()));
    ctx.dirty = true;
    Ok(Outcome::ok(NonceResult::default()))
}
