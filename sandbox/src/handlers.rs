//! `/cpay/<endpoint>`: envelope, merchant, authentication, validation, dispatch, reply
//! sealing and fault injection. Business rules live in `pay`, `refund`, `shops`, `listing`,
//! `bootstrap`; what they share with this dispatcher is in `endpoint`.

use cloud_pay_protocol::crypto::{self, VerifyingKey};
use cloud_pay_protocol::envelope::{RequestEnvelope, ResponseEnvelope};
use cloud_pay_protocol::{AuthMode, Endpoint, status, wire};
use serde_json::{Map, Value, json};

use crate::config::{MerchantConfig, ReplyStyle, SandboxConfig};
use crate::endpoint::{Ctx, Outcome};
use crate::faults::{ActiveFault, FaultKind, FaultPhase};
use crate::message::{HttpReply, ReplyAction};
use crate::shared::Shared;
use crate::util::now_ms;

/// `nonce_str`: 1–32 alphanumerics; may be absent only where `optional`.
pub fn check_nonce(req: &Map<String, Value>, optional: bool) -> Result<(), Outcome> {
    match req.get("nonce_str") {
        None | Some(Value::Null) if optional => Ok(()),
        Some(Value::String(s)) if (1..=32).contains(&s.len()) && s.bytes().all(|b| b.is_ascii_alphanumeric()) => Ok(()),
        _ => Err(Outcome::bad("参数nonce_str错误 (nonce_str must be 1-32 characters [0-9A-Za-z])")),
    }
}

/// The sub-merchant a request is about: top level, `pay_mch_key`, or the identity-mapping conditions.
fn merchant_of<'a>(cfg: &'a SandboxConfig, req: &Map<String, Value>) -> Option<&'a MerchantConfig> {
    let s = |v: Option<&Value>| v.and_then(Value::as_str).filter(|s| !s.is_empty()).map(str::to_owned);
    let id = s(req.get("out_sub_mch_id"))
        .or_else(|| s(req.get("pay_mch_key").and_then(|p| p.get("out_sub_mch_id"))))
        .or_else(|| s(req.get("out").and_then(|p| p.get("out_sub_mch_id"))));
    if let Some(id) = id {
        return cfg.merchant(&id);
    }
    // query_identity_mapping by platform ids.
    let mch = req.get("mch")?;
    let sub = s(mch.get("sub_mch_id"))?;
    cfg.merchants.iter().find(|m| m.wx_sub_mch_id == sub || m.ali_sub_mch_id == sub)
}

/// The order number a request is about (fault matching).
fn trade_no_of(req: &Map<String, Value>) -> Option<String> {
    let s = |v: Option<&Value>| v.and_then(Value::as_str).map(str::to_owned);
    s(req.get("out_trade_no"))
        .or_else(|| s(req.get("pay_content").and_then(|p| p.get("out_trade_no"))))
        .or_else(|| s(req.get("refund_content").and_then(|p| p.get("out_trade_no"))))
}

/// Checks `authen_info` against the merchant: HMAC over the exact received text, or a
/// PSS signature where the endpoint allows one.
fn authenticate(
    cfg: &SandboxConfig,
    ep: Endpoint,
    m: &MerchantConfig,
    key: Option<&VerifyingKey>,
    env: &RequestEnvelope,
) -> Result<(), Outcome> {
    let auth_err = || Outcome::fail(101, status::internal::AUTHEN_CODE_ERROR, "参数authen_code错误.");
    let info = env.authen_info.as_ref().filter(|i| i.a.is_some() || i.s.is_some());
    let Some(info) = info else {
        return if ep.auth() == AuthMode::HmacIfKnown {
            Ok(())
        } else {
            Err(Outcome::fail(101, 7, "参数authen_info缺失 (authen_info missing)"))
        };
    };
    let strict_sign = cfg.legacy_strict_sign && matches!(ep, Endpoint::Refund | Endpoint::Reverse);
    if let Some(s) = &info.s {
        if ep.auth() != AuthMode::HmacOrSign {
            return Err(Outcome::fail(
                101,
                7,
                format!("{} does not accept authen_info.s; use authen_info.a", ep.path()),
            ));
        }
        let ok = s.sign_type == 1 && key.is_some_and(|k| k.verify_pss(env.request_content.as_bytes(), &s.sign));
        return if ok {
            Ok(())
        } else {
            Err(Outcome::fail(101, 7, "参数sign错误 (RSA signature does not verify)"))
        };
    }
    if strict_sign {
        return Err(Outcome::fail(101, 7, "legacy-strict: reverse/refund must carry an RSA signature (authen_info.s)"));
    }
    let a = info.a.as_ref().ok_or_else(auth_err)?;
    if a.authen_type != 1 {
        return Err(Outcome::fail(101, 7, "authen_type must be 1 (HMAC-SHA256)"));
    }
    let ok = crypto::verify_authen_code(
        m.authen_key.as_bytes(),
        env.request_content.as_bytes(),
        &a.authen_code,
        cfg.accept_lowercase_hmac,
    );
    if ok { Ok(()) } else { Err(auth_err()) }
}

/// Handles one `/cpay/<path>` request.
pub fn handle_cpay(sh: &Shared, path: &str, body: &[u8]) -> HttpReply {
    sh.count_request(path);
    // sdk_query_sub_mch_info is not in the protocol's table: authenticated like the shop query.
    let sub_mch_info = path == crate::shops::SUB_MCH_INFO_PATH;
    let Some(ep) = Endpoint::from_path(path).or(sub_mch_info.then_some(Endpoint::QuerySubMchShopInfo)) else {
        return HttpReply::text(404, "no such endpoint");
    };
    let result_key = if sub_mch_info { crate::shops::SUB_MCH_INFO_RESULT } else { ep.result_key() };
    if ep == Endpoint::Ping {
        let fault = sh.faults.lock().take(path, None);
        let reply =
            HttpReply::json(200, json!({"description":"ok","status":0,"timestamp": now_ms() / 1000}).to_string());
        return apply_transport_fault(fault, reply);
    }
    let cfg = sh.cfg.read().clone();
    let log_id = sh.next_log_id();
    let reply_for = |m: Option<&MerchantConfig>, o: &Outcome| seal(result_key, m, o, log_id, cfg.reply_style);

    let env = match RequestEnvelope::parse(body) {
        Ok(e) => e,
        Err(e) => return reply_for(None, &Outcome::bad(format!("请求格式错误: {e}"))).0,
    };
    let req = match wire::object_from_text(&env.request_content) {
        Ok(r) => r,
        Err(e) => return reply_for(None, &Outcome::bad(format!("request_content is not a JSON object: {e}"))).0,
    };
    let m = merchant_of(&cfg, &req);
    if let Some(no) = trade_no_of(&req) {
        sh.count_order_request(path, &no);
    }
    let fault = sh.faults.lock().take(path, trade_no_of(&req).as_deref());
    let mut req = req;
    if let Some(FaultKind::AnswerAbout { out_trade_no, out_refund_no }) = fault.as_ref().map(|f| &f.kind) {
        answer_about(&mut req, out_trade_no, out_refund_no.as_deref());
    }
    let fault = fault.filter(|f| !matches!(f.kind, FaultKind::AnswerAbout { .. }));
    if let Some(f) = fault.as_ref().filter(|f| f.phase == FaultPhase::BeforeProcessing) {
        if let FaultKind::Delay { ms } = f.kind {
            std::thread::sleep(std::time::Duration::from_millis(ms));
        } else {
            // Not applied: a status fault replies with its status; anything else corrupts a 103.
            let (st, is) = f.kind.status().unwrap_or((103, 0));
            let (reply, content) =
                reply_for(m, &Outcome::fail(st, is, format!("sandbox fault {:?}: request not processed", f.kind)));
            return if f.kind.status().is_some() { reply } else { corrupt(f, reply, content, m) };
        }
    }
    let outcome = match m {
        None => Outcome::bad("参数out_sub_mch_id错误 (unknown sub-merchant)"),
        Some(m) => match authenticate(&cfg, ep, m, sh.keys.get(&m.out_sub_mch_id), &env) {
            Err(o) => o,
            Ok(()) => process(sh, &cfg, m, ep, sub_mch_info, &req),
        },
    };
    if cfg.log_requests {
        let no = trade_no_of(&req).unwrap_or_default();
        let f = fault.as_ref().map(|f| format!(" [fault {:?}]", f.kind)).unwrap_or_default();
        eprintln!("sandbox: {path} {no} -> {}/{} {}{f}", outcome.status, outcome.internal_status, outcome.description);
    }
    let (reply, content) = reply_for(m, &outcome);
    match fault {
        Some(f) if f.phase == FaultPhase::AfterProcessing => {
            if let Some((st, is)) = f.kind.status() {
                let (reply, _) =
                    reply_for(m, &Outcome::fail(st, is, format!("sandbox fault {:?} (request was processed)", f.kind)));
                return reply;
            }
            corrupt(&f, reply, content, m)
        }
        _ => reply,
    }
}

/// Runs the business handler under the store lock and persists changes.
fn process(
    sh: &Shared,
    cfg: &SandboxConfig,
    m: &MerchantConfig,
    ep: Endpoint,
    sub_mch_info: bool,
    req: &Map<String, Value>,
) -> Outcome {
    let bootstrap = matches!(ep.auth(), AuthMode::HmacIfKnown)
        || matches!(ep, Endpoint::ClientOrderDetail | Endpoint::ClientSubMchSalesOverview);
    if let Err(o) = check_nonce(req, bootstrap) {
        return o;
    }
    // out_mch_id may sit at the top level or inside pay_mch_key; when given it must match.
    let given = [req.get("out_mch_id"), req.get("pay_mch_key").and_then(|k| k.get("out_mch_id"))];
    if given.into_iter().flatten().filter_map(Value::as_str).any(|id| !id.is_empty() && id != m.out_mch_id) {
        return Outcome::bad("参数out_mch_id错误 (out_mch_id does not match the sub-merchant)");
    }
    let mut store = sh.store.lock();
    let base_url = sh.base_url();
    let mut ctx = Ctx {
        cfg,
        m,
        store: &mut store,
        now: now_ms(),
        refund_delay_ms: sh.refund_delay_ms(),
        base_url: &base_url,
        dirty: false,
    };
    let res = match ep {
        _ if sub_mch_info => crate::shops::sub_mch_info(&mut ctx, req),
        Endpoint::MicroPay => crate::pay::micro_pay(&mut ctx, req),
        Endpoint::ScanCodePay => crate::pay::scan_code_pay(&mut ctx, req),
        Endpoint::QueryOrder => crate::pay::query_order(&mut ctx, req),
        Endpoint::Reverse => crate::pay::reverse(&mut ctx, req),
        Endpoint::CloseOrder => crate::pay::close_order(&mut ctx, req),
        Endpoint::Refund => crate::refund::refund(&mut ctx, req),
        Endpoint::QueryRefundOrder => crate::refund::query_refund_order(&mut ctx, req),
        Endpoint::QuerySubMchShopInfo => crate::shops::query_shop_info(&mut ctx, req),
        Endpoint::SetSubMchShopInfo => crate::shops::set_shop_info(&mut ctx, req),
        Endpoint::ClientOrderDetail => crate::listing::client_order_detail(&mut ctx, req),
        Endpoint::ClientSubMchSalesOverview => crate::listing::sales_overview(&mut ctx, req),
        Endpoint::QueryIdentityMapping => crate::bootstrap::identity_mapping(&mut ctx, req),
        Endpoint::ClientInitialize => crate::bootstrap::client_initialize(&mut ctx, req),
        Endpoint::ClientTryGetInitializers => crate::bootstrap::try_get_initializers(&mut ctx, req),
        Endpoint::UploadClientMonitorInfo => crate::bootstrap::upload_monitor(&mut ctx, req),
        Endpoint::UploadClientConfInfo => crate::bootstrap::upload_conf(&mut ctx, req),
        Endpoint::Ping => Ok(Outcome::ok(json!({}))),
    };
    let dirty = ctx.dirty;
    if dirty {
        store.log_id = sh.current_log_id();
        sh.persist(&store);
    }
    res.unwrap_or_else(|e| e)
}

/// Seals an outcome: response_content text plus, for 0/102/103/104 with a known merchant,
/// the HMAC over exactly that text. Returns the reply and the content text.
/// The text is written in the configured reply style before the HMAC is computed over it.
fn seal(
    result_key: &str,
    m: Option<&MerchantConfig>,
    o: &Outcome,
    log_id: i64,
    style: ReplyStyle,
) -> (HttpReply, String) {
    // Response::to_content's layout, with the result key given (sdk_query_sub_mch_info has none in the table).
    let mut c = Map::new();
    c.insert("status".into(), o.status.into());
    c.insert("description".into(), o.description.clone().into());
    c.insert("log_id".into(), log_id.into());
    c.insert("internal_status".into(), o.internal_status.into());
    if let (0, Some(r)) = (o.status, &o.result) {
        c.insert(result_key.into(), wire::to_value(r));
    }
    let content = style.apply(Value::Object(c).to_string());
    let key = m.filter(|_| status::carries_authen(o.status)).map(|m| m.authen_key.as_bytes());
    let env = ResponseEnvelope::seal(content.clone(), key);
    (HttpReply::json(200, env.to_body()), content)
}

/// Applies an envelope or transport fault to a finished reply.
fn corrupt(f: &ActiveFault, reply: HttpReply, content: String, m: Option<&MerchantConfig>) -> HttpReply {
    let Ok(mut env) = ResponseEnvelope::parse(&reply.body) else { return reply };
    match &f.kind {
        FaultKind::BadHmac => {
            if let Some(a) = env.authen_info.as_mut().and_then(|i| i.a.as_mut()) {
                let mut chars: Vec<char> = a.authen_code.chars().collect();
                if let Some(c) = chars.first_mut() {
                    *c = if *c == 'A' { 'B' } else { 'A' };
                }
                a.authen_code = chars.into_iter().collect();
            }
            HttpReply::json(200, env.to_body())
        }
        FaultKind::MissingAuthen => {
            env.authen_info = None;
            HttpReply::json(200, env.to_body())
        }
        FaultKind::HmacOverOtherContent => {
            // A genuine HMAC, but of the content with one field changed.
            if let (Some(m), Ok(mut v)) = (m, serde_json::from_str::<Value>(&content)) {
                v["log_id"] = json!(v["log_id"].as_i64().unwrap_or(0) + 1);
                let other = ResponseEnvelope::seal(v.to_string(), Some(m.authen_key.as_bytes()));
                env.authen_info = other.authen_info;
            }
            HttpReply::json(200, env.to_body())
        }
        _ => apply_transport_fault(Some(f.clone()), reply),
    }
}

/// Transport-level faults (delay, drop, reset, HTTP 500, non-JSON body).
fn apply_transport_fault(f: Option<ActiveFault>, mut reply: HttpReply) -> HttpReply {
    let Some(f) = f else { return reply };
    match f.kind {
        FaultKind::Delay { ms } => std::thread::sleep(std::time::Duration::from_millis(ms)),
        FaultKind::DropMidReply => reply.action = ReplyAction::DropMidReply,
        FaultKind::ResetBeforeReply => reply.action = ReplyAction::Reset,
        FaultKind::OversizedChunk => reply.action = ReplyAction::OversizedChunk,
        FaultKind::EndlessTrailers => reply.action = ReplyAction::EndlessTrailers,
        FaultKind::SlowDrip { ms } => reply.action = ReplyAction::Drip { ms },
        FaultKind::Http500 => return HttpReply::text(500, "sandbox fault: internal server error"),
        FaultKind::NonJsonBody => {
            let mut r = HttpReply::text(200, "<html><body>502 Bad Gateway (sandbox fault)</body></html>");
            r.content_type = "text/html; charset=utf-8";
            return r;
        }
        FaultKind::Status3
        | FaultKind::Status101
        | FaultKind::Status102
        | FaultKind::Status103
        | FaultKind::Status104 { .. }
        | FaultKind::ReEntry407 => {
            let (st, is) = f.kind.status().unwrap_or((3, 0));
            return HttpReply::json(
                200,
                json!({"description":"sandbox fault","status":st,"internal_status":is,"timestamp":now_ms()/1000})
                    .to_string(),
            );
        }
        _ => {}
    }
    reply
}

/// Makes a request name another order (and refund): the reply, correctly signed, is then
/// about that one, as a replayed or misrouted reply would be.
fn answer_about(req: &mut Map<String, Value>, out_trade_no: &str, out_refund_no: Option<&str>) {
    let set = |m: &mut Map<String, Value>| {
        if m.contains_key("out_trade_no") {
            m.insert("out_trade_no".into(), out_trade_no.into());
        }
        if let Some(r) = out_refund_no
            && m.contains_key("out_refund_no")
        {
            m.insert("out_refund_no".into(), r.into());
        }
    };
    set(req);
    for inner in ["pay_content", "refund_content"] {
        if let Some(Value::Object(m)) = req.get_mut(inner) {
            set(m);
        }
    }
}
