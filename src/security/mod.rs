//! Security-login mode (sdk-c-api.md §4): QR login by a staff member, the configuration kept
//! encrypted with a key only the server hands out after that login, and identity checks.
//!
//! Before a login succeeds the SDK holds no authen_key, so these exchanges carry no
//! authen_info and their replies cannot be verified (§4.5); TLS alone protects them, and the
//! only secret they deliver (the file key) is useless without the file.

pub mod store;

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use cloud_pay_protocol::envelope::Authenticator;
use cloud_pay_protocol::types::{self as t, PayPlatform};
use cloud_pay_protocol::{Api, StatusClass, wire};
use once_cell::sync::Lazy;
use parking_lot::Mutex;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use crate::client::{Channel, Exchange};
use crate::config::Config;
use crate::error::SdkError;
use crate::transport::Transport;
use store::{KEY_FILE, Key, Kind, LOGIN_FILE};

/// What a security call ended with; the export maps it to its own codes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SecCode {
    /// Done.
    Ok,
    /// login: ids needed (first run); login_check: logged in, no stored configuration yet.
    Positive,
    /// Not yet / no trusted answer: poll again.
    Unknown,
    /// The staff member rejected the QR code.
    Rejected,
    /// The QR code's validity (ttl) ran out.
    Expired,
    /// The server refused.
    Failed,
}

/// A security call's outcome.
#[derive(Debug, Clone)]
pub struct SecOutcome {
    /// The code.
    pub code: SecCode,
    /// JSON output.
    pub output: Value,
    /// errmsg text.
    pub message: Option<String>,
}

impl SecOutcome {
    fn new(code: SecCode, output: Value, message: Option<String>) -> SecOutcome {
        SecOutcome { code, output, message }
    }
}

/// The login identity kept in [`LOGIN_FILE`] (encrypted). No key; `proxy` may carry the
/// proxy's credentials, so Debug leaves it out.
#[derive(Serialize, Deserialize, Clone, Default)]
#[serde(default)]
struct Identity {
    out_mch_id: String,
    out_sub_mch_id: String,
    out_shop_id: Option<String>,
    pay_platform: Option<i32>,
    device_id: Option<String>,
    staff_id: Option<String>,
    base_url: Option<String>,
    ca_file: Option<String>,
    proxy: Option<String>,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct LoginRequest {
    pay_platform: Option<i64>,
    mch_id: Option<String>,
    sub_mch_id: Option<String>,
    shop_id: Option<String>,
    state_dir: Option<String>,
    base_url: Option<String>,
    ca_file: Option<String>,
    proxy: Option<String>,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct CheckRequest {
    activator: Option<String>,
}

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Purpose {
    Login { first_run: bool },
    Identification,
}

/// One QR code waiting to be scanned.
#[derive(Clone)]
struct Pending {
    channel: Arc<Channel>,
    identity: Identity,
    state_dir: PathBuf,
    token: String,
    deadline: Instant,
    purpose: Purpose,
    /// A poller saw the grant and is completing it; others poll again until the outcome is recorded.
    taken: bool,
}

/// A login that succeeded, waiting for `cloud_pay_security_init`.
struct Granted {
    identity: Identity,
    state_dir: PathBuf,
    key: Key,
}

#[derive(Default)]
struct State {
    pending: HashMap<String, Pending>,
    /// Final outcomes by activator, so every poller of one QR code sees the same answer.
    completed: HashMap<String, SecOutcome>,
    latest: HashMap<&'static str, String>,
    granted: Option<Granted>,
    channel: Option<Arc<Channel>>,
}

static STATE: Lazy<Mutex<State>> = Lazy::new(|| Mutex::new(State::default()));

/// Forgets every login in progress and any unused grant (cloud_pay_fini).
pub fn reset() {
    *STATE.lock() = State::default();
}

/// Records the final outcome of a QR code (one step: no poller can see neither) and returns it.
fn complete(activator: &str, o: SecOutcome) -> SecOutcome {
    let mut st = STATE.lock();
    st.pending.remove(activator);
    st.completed.insert(activator.to_owned(), o.clone());
    o
}

fn being_completed(activator: &str, kind: &str) -> SecOutcome {
    SecOutcome::new(SecCode::Unknown, json!({}), Some(format!("{kind} {activator} is being completed: poll again")))
}

fn bad(e: crate::input::InputError) -> SdkError {
    SdkError::BadInput(e.0)
}

fn none_if_empty(v: Option<String>) -> Option<String> {
    v.map(|s| s.trim().to_owned()).filter(|s| !s.is_empty())
}

/// The channel for the bootstrap exchanges (no merchant key yet).
fn channel(base_url: &str, ca_file: Option<&str>, proxy: Option<&str>) -> Result<Channel, SdkError> {
    let proxy = proxy.map(crate::transport::Proxy::parse).transpose().map_err(|e| SdkError::BadInput(format!("proxy: {e}")))?;
    let ca = match ca_file {
        Some(p) => Some(std::fs::read_to_string(p).map_err(|e| SdkError::BadInput(format!("ca_file: cannot read {p}: {e}")))?),
        None => std::fs::read_to_string(crate::config::VENDOR_CA_FILE).ok(),
    };
    let transport = Transport::new(ca.as_deref(), Duration::from_secs(5), Duration::from_secs(15))?.with_proxy(proxy);
    Ok(Channel::new(transport, vec![base_url.to_owned()], false, Duration::from_secs(3)))
}

fn call<A: Api>(channel: &Channel, req: &A::Request) -> Exchange<A::Result> {
    channel.exchange::<A>(None, wire::to_text(req), Authenticator::None, None)
}

fn base_url(request: Option<String>, stored: Option<&str>) -> Result<String, SdkError> {
    let url = std::env::var(crate::config::BASE_URL_ENV).ok().filter(|s| !s.trim().is_empty()).or(request).or(stored.map(str::to_owned));
    let url = url.unwrap_or_else(|| crate::config::DEFAULT_BASE_URL.to_owned());
    crate::config::normalize_base_url(&url, "base_url").map_err(SdkError::BadInput)
}

fn qr_output(r: &t::ClientInitializeResult) -> Value {
    json!({"activator": r.activator, "qr_code_url": r.qr_code_url, "ttl": r.ttl})
}

/// `cloud_pay_security_login`.
pub fn login(req_text: &str) -> Result<SecOutcome, SdkError> {
    let req: LoginRequest = crate::input::parse_json(req_text, "req").map_err(bad)?;
    let state_dir = match none_if_empty(req.state_dir.clone()) {
        Some(d) => PathBuf::from(d),
        None => crate::platform::default_state_dir().map_err(SdkError::Internal)?,
    };
    let stored = match std::fs::read(state_dir.join(LOGIN_FILE)) {
        Ok(bytes) => Some(
            store::open(Kind::Login, None, &store::machine_key(), &bytes)
                .and_then(|(_, plain)| serde_json::from_slice::<Identity>(&plain).map_err(|e| store::StoreError(format!("{LOGIN_FILE}: {e}")))),
        ),
        Err(_) => None,
    };
    let given_ids = none_if_empty(req.mch_id.clone()).zip(none_if_empty(req.sub_mch_id.clone()));
    let (identity, first_run) = match (stored, given_ids) {
        (Some(Ok(id)), None) => (id, false),
        (Some(Err(e)), None) => {
            return Err(SdkError::Refused(format!("{e}; pass pay_platform, mch_id, sub_mch_id and shop_id to log in as on a first run")));
        }
        (_, None) => {
            return Ok(SecOutcome::new(
                SecCode::Positive,
                json!({}),
                Some("first run: supply pay_platform, mch_id (service provider's merchant number), sub_mch_id and shop_id".into()),
            ));
        }
        (_, Some((mch_id, sub_mch_id))) => {
            let platform = match req.pay_platform {
                None | Some(0) | Some(1) => PayPlatform::WXPAY,
                Some(2) => PayPlatform::ALIPAY,
                Some(n) => return Err(SdkError::BadInput(format!("pay_platform must be 1 or 2, got {n}"))),
            };
            let url = base_url(none_if_empty(req.base_url.clone()), None)?;
            let ch = channel(&url, req.ca_file.as_deref(), none_if_empty(req.proxy.clone()).as_deref())?;
            let ex = call::<t::QueryIdentityMapping>(&ch, &t::IdentityMappingRequest {
                mch: Some(t::MchCondition { mch_id, sub_mch_id, shop_id: none_if_empty(req.shop_id.clone()) }),
                pay_platform: Some(platform),
                nonce_str: Some(cloud_pay_protocol::crypto::nonce_str()),
                ..Default::default()
            });
            let Some(r) = ex.result() else {
                let code = if ex.class == StatusClass::Unknown { SecCode::Unknown } else { SecCode::Positive };
                return Ok(SecOutcome::new(code, json!({}), Some(format!("{} — the ids were not recognised or the server did not answer", ex.detail))));
            };
            let id = Identity {
                out_mch_id: r.out_mch_id.clone(),
                out_sub_mch_id: r.out_sub_mch_id.clone(),
                out_shop_id: r.out_shop_id.clone(),
                pay_platform: Some(platform.0),
                base_url: Some(url),
                ca_file: none_if_empty(req.ca_file.clone()),
                proxy: none_if_empty(req.proxy.clone()),
                ..Default::default()
            };
            (id, true)
        }
    };
    start_qr(identity, state_dir, Purpose::Login { first_run }, req.base_url, req.ca_file, req.proxy)
}

/// Starts a QR code (client_initialize) for a login or an identification.
fn start_qr(identity: Identity, state_dir: PathBuf, purpose: Purpose, url: Option<String>, ca: Option<String>, proxy: Option<String>) -> Result<SecOutcome, SdkError> {
    let url = base_url(none_if_empty(url), identity.base_url.as_deref())?;
    let ca = none_if_empty(ca).or(identity.ca_file.clone());
    let proxy = none_if_empty(proxy).or(identity.proxy.clone());
    let ch = Arc::new(channel(&url, ca.as_deref(), proxy.as_deref())?);
    let ex = call::<t::ClientInitialize>(&ch, &t::ClientInitializeRequest {
        out_sub_mch_id: identity.out_sub_mch_id.clone(),
        out_shop_id: identity.out_shop_id.clone(),
        authorize_terminal_type: Some(t::AuthorizeTerminalType::PC),
        nonce_str: Some(cloud_pay_protocol::crypto::nonce_str()),
    });
    let Some(r) = ex.result().cloned() else {
        let code = if ex.class == StatusClass::Unknown { SecCode::Unknown } else { SecCode::Failed };
        return Ok(SecOutcome::new(code, json!({}), Some(ex.detail)));
    };
    let kind = if purpose == Purpose::Identification { "identification" } else { "login" };
    let mut st = STATE.lock();
    st.latest.insert(kind, r.activator.clone());
    st.channel = Some(ch.clone());
    let identity = Identity { base_url: Some(url), ca_file: ca, proxy, ..identity };
    st.pending.insert(
        r.activator.clone(),
        Pending { channel: ch, identity, state_dir, token: r.token.clone(), deadline: Instant::now() + Duration::from_secs(r.ttl.max(1) as u64), purpose, taken: false },
    );
    Ok(SecOutcome::new(SecCode::Ok, qr_output(&r), None))
}

/// One poll of a QR code (client_try_get_initializers). Returns the granted result.
type Polled = Result<(String, t::TryGetInitializersResult, Pending), SecOutcome>;

fn poll(req_text: &str, kind: &'static str) -> Result<Polled, SdkError> {
    let req: CheckRequest = crate::input::parse_json(req_text, "req").map_err(bad)?;
    let (activator, channel, token, out_sub_mch_id, expired) = {
        let st = STATE.lock();
        let activator = none_if_empty(req.activator).or_else(|| st.latest.get(kind).cloned()).ok_or_else(|| {
            SdkError::Refused(format!("no {kind} in progress: call cloud_pay_security_{}", if kind == "login" { "login" } else { "identification" }))
        })?;
        if let Some(done) = st.completed.get(&activator) {
            return Ok(Err(done.clone()));
        }
        let p = st.pending.get(&activator).ok_or_else(|| SdkError::Refused(format!("no {kind} with activator {activator}")))?;
        if p.taken {
            return Ok(Err(being_completed(&activator, kind)));
        }
        (activator.clone(), p.channel.clone(), p.token.clone(), p.identity.out_sub_mch_id.clone(), Instant::now() >= p.deadline)
    };
    if expired {
        let o = SecOutcome::new(SecCode::Expired, json!({}), Some(format!("QR code {activator} expired (ttl): start a new {kind}")));
        return Ok(Err(complete(&activator, o)));
    }
    let ex = call::<t::ClientTryGetInitializers>(&channel, &t::TryGetInitializersRequest {
        out_sub_mch_id,
        token,
        nonce_str: Some(cloud_pay_protocol::crypto::nonce_str()),
    });
    match (ex.class, ex.result()) {
        (StatusClass::Success, Some(r)) if r.initialization_granted => {
            // One poller takes the grant and records the outcome; a concurrent poller of the
            // same code is told to poll again and then reads that outcome.
            let mut st = STATE.lock();
            if let Some(done) = st.completed.get(&activator) {
                return Ok(Err(done.clone()));
            }
            match st.pending.get_mut(&activator) {
                Some(p) if !p.taken => {
                    p.taken = true;
                    Ok(Ok((activator, r.clone(), p.clone())))
                }
                _ => Ok(Err(being_completed(&activator, kind))),
            }
        }
        (StatusClass::Success, _) => Ok(Err(SecOutcome::new(SecCode::Unknown, json!({}), Some(format!("waiting for the staff member to scan QR code {activator}"))))),
        (StatusClass::Unknown, _) => Ok(Err(SecOutcome::new(SecCode::Unknown, json!({}), Some(format!("{} — poll again", ex.detail))))),
        _ => {
            let text = ex.response.as_ref().map(|r| r.description.to_lowercase()).unwrap_or_default();
            let code = if text.contains("expire") { SecCode::Expired } else { SecCode::Rejected };
            Ok(Err(complete(&activator, SecOutcome::new(code, json!({}), Some(ex.detail)))))
        }
    }
}

fn identity_output(r: &t::TryGetInitializersResult, id: &Identity) -> serde_json::Map<String, Value> {
    let cashier = r.sub_mch_info.as_ref().and_then(|s| s.cloud_cashier_id.clone());
    let mut m = serde_json::Map::new();
    m.insert("staff_id".into(), r.staff_id.clone().into());
    m.insert("cloud_cashier_id".into(), cashier.clone().into());
    m.insert("order_unique_id".into(), cashier.into());
    m.insert("identity".into(), r.identity.clone().into());
    m.insert("manager_types".into(), wire::to_value(&r.manager_types));
    m.insert("manager_entities".into(), wire::to_value(&r.manager_entities));
    m.insert("out_mch_id".into(), id.out_mch_id.clone().into());
    m.insert("out_sub_mch_id".into(), id.out_sub_mch_id.clone().into());
    m.insert("out_shop_id".into(), id.out_shop_id.clone().into());
    m.insert("shop_infos".into(), wire::to_value(&r.shop_infos));
    m
}

/// `cloud_pay_security_login_check`.
pub fn login_check(req_text: &str) -> Result<SecOutcome, SdkError> {
    let (activator, r, pending) = match poll(req_text, "login")? {
        Ok(g) => g,
        Err(o) => return Ok(o),
    };
    let outcome = finish_login(r, pending);
    let o = match &outcome {
        Ok(o) => o.clone(),
        Err(e) => SecOutcome::new(SecCode::Failed, json!({}), Some(e.to_string())),
    };
    complete(&activator, o);
    outcome
}

fn finish_login(r: t::TryGetInitializersResult, pending: Pending) -> Result<SecOutcome, SdkError> {
    let Purpose::Login { first_run } = pending.purpose else {
        return Err(SdkError::Internal("identification polled as a login".into()));
    };
    let cipher = r
        .sub_mch_info
        .as_ref()
        .and_then(|s| s.client_configuration_ciphers.iter().find(|c| c.algorithm == t::EncryptType::AES_128_GCM))
        .ok_or_else(|| SdkError::Refused("the server granted the login but sent no AES-128-GCM configuration key".into()))?;
    let key = Key::from_server(&cipher.key).map_err(|e| SdkError::Refused(e.0))?;
    let identity = Identity { staff_id: r.staff_id.clone(), ..pending.identity.clone() };
    let mut out = identity_output(&r, &identity);
    let key_path = pending.state_dir.join(KEY_FILE);
    let code = if first_run || !key_path.exists() {
        SecCode::Positive
    } else {
        let bytes = std::fs::read(&key_path).map_err(|e| SdkError::Refused(format!("{KEY_FILE}: {e}")))?;
        // Refused files are left exactly as they are.
        let (_, mut plain) = store::open(Kind::Configuration, Some(&identity.out_sub_mch_id), &key, &bytes)
            .map_err(|e| SdkError::Refused(format!("{e}; nothing was changed")))?;
        let conf: Value = serde_json::from_slice(&plain).map_err(|e| SdkError::Refused(format!("{KEY_FILE}: {e}")))?;
        crate::secret::zeroize(&mut plain);
        out.insert("conf".into(), conf);
        SecCode::Ok
    };
    STATE.lock().granted = Some(Granted { identity, state_dir: pending.state_dir, key });
    let message = (code == SecCode::Positive).then(|| "logged in; no stored configuration yet: call cloud_pay_security_init with the configuration".to_owned());
    Ok(SecOutcome::new(code, Value::Object(out), message))
}

/// `cloud_pay_security_init`: initialise like `cloud_pay_init`, then store the configuration
/// encrypted with the login's key, and the identity for the next login.
pub fn security_init(conf_text: &str) -> Result<(), SdkError> {
    let granted_dir = {
        let st = STATE.lock();
        let g = st.granted.as_ref().ok_or_else(|| SdkError::Refused("log in first: cloud_pay_security_login_check has not succeeded".into()))?;
        g.state_dir.clone()
    };
    let config = Config::parse(conf_text)?;
    let st = STATE.lock();
    let g = st.granted.as_ref().ok_or_else(|| SdkError::Refused("the login was used by another call".into()))?;
    if config.trade.out_sub_mch_id != g.identity.out_sub_mch_id {
        return Err(SdkError::BadConfig(format!(
            "trade_conf.out_sub_mch_id {} is not the logged-in sub-merchant {}",
            config.trade.out_sub_mch_id, g.identity.out_sub_mch_id
        )));
    }
    // The files go where the configuration says, else where the login looked for them.
    let dir = if serde_json::from_str::<Value>(conf_text).ok().and_then(|v| v.pointer("/common_conf/state_dir").cloned()).is_some() {
        config.state_dir.clone()
    } else {
        granted_dir
    };
    let identity = Identity {
        device_id: config.trade.device_id.clone(),
        out_shop_id: Some(config.trade.out_shop_id.clone()),
        ..g.identity.clone()
    };
    let mut plain = conf_text.to_owned();
    let sealed = store::seal(Kind::Configuration, &identity.out_sub_mch_id, &g.key, plain.as_bytes());
    store::wipe(&mut plain);
    let login_bytes = store::seal(Kind::Login, &identity.out_sub_mch_id, &store::machine_key(), &serde_json::to_vec(&identity).unwrap_or_default());
    drop(st);
    store::write_atomic(&dir.join(KEY_FILE), &sealed).map_err(|e| SdkError::Internal(format!("cannot write {KEY_FILE}: {e}")))?;
    store::write_atomic(&dir.join(LOGIN_FILE), &login_bytes).map_err(|e| SdkError::Internal(format!("cannot write {LOGIN_FILE}: {e}")))?;
    crate::runtime::install(config).map(|_| ())
}

/// `cloud_pay_security_identification`: a QR code to confirm who is at the till (no merchant data).
pub fn identification(req_text: &str) -> Result<SecOutcome, SdkError> {
    let _: Value = crate::input::parse_json(req_text, "req").map_err(bad)?;
    let (identity, dir) = {
        let st = STATE.lock();
        match &st.granted {
            Some(g) => (g.identity.clone(), g.state_dir.clone()),
            None => {
                let rt = crate::runtime::current().map_err(|_| SdkError::Refused("log in or initialise first".into()))?;
                let tc = &rt.config.trade;
                let id = Identity {
                    out_mch_id: tc.out_mch_id.clone(),
                    out_sub_mch_id: tc.out_sub_mch_id.clone(),
                    out_shop_id: Some(tc.out_shop_id.clone()),
                    base_url: rt.config.domains.first().cloned(),
                    proxy: rt.config.proxy.as_ref().map(crate::transport::Proxy::url),
                    ..Default::default()
                };
                (id, rt.config.state_dir.clone())
            }
        }
    };
    start_qr(identity, dir, Purpose::Identification, None, None, None)
}

/// `cloud_pay_security_identification_check`.
pub fn identification_check(req_text: &str) -> Result<SecOutcome, SdkError> {
    let (activator, r, pending) = match poll(req_text, "identification")? {
        Ok(g) => g,
        Err(o) => return Ok(o),
    };
    let out = json!({
        "staff_id": r.staff_id,
        "identity": r.identity,
        "manager_types": wire::to_value(&r.manager_types),
        "manager_entities": wire::to_value(&r.manager_entities),
        "out_sub_mch_id": pending.identity.out_sub_mch_id,
    });
    Ok(complete(&activator, SecOutcome::new(SecCode::Ok, out, None)))
}
