//! Security-login mode (docs/c-api.md, "Security-login mode"): QR login by a staff member, the
//! configuration kept encrypted with a key only the server hands out after that login, and identity
//! checks.
//!
//! Before a login succeeds the SDK holds no authen_key, so these exchanges carry no
//! authen_info and their replies cannot be verified (docs/c-api.md, "Login before a key is known");
//! TLS alone protects them (plain http only on loopback), and the only secret they deliver (the
//! file key) is useless without the file. The server is always the caller's, never one named by a
//! file. Once the SDK holds this merchant's authen_key (after init), every reply must carry its
//! HMAC.

pub mod local_key;
pub mod store;

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use cloud_pay_protocol::envelope::Authenticator;
use cloud_pay_protocol::types::{self as t, PayPlatform};
use cloud_pay_protocol::{Api, StatusClass, wire};
use parking_lot::Mutex;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use crate::client::{Channel, Exchange};
use crate::config::Config;
use crate::error::SdkError;
use crate::secret::Secret;
use crate::transport::{Proxy, Transport, Trust};
use store::{KEY_FILE, Key, Kind, LOGIN_FILE};

/// Longest QR validity accepted from a server: bounds how long an approval and its
/// connection are kept, and keeps the clock arithmetic far from overflow.
const MAX_TTL_SECS: u64 = 3600;
/// QR codes waiting at once; the oldest is dropped beyond this (a till where every dialog is
/// cancelled must not grow without bound).
const MAX_PENDING: usize = 32;
/// How long a final outcome stays readable after its QR code's deadline.
const OUTCOME_GRACE: Duration = Duration::from_secs(60);

/// What a security call ended with; the export maps it to its own codes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SecCode {
    /// Done.
    Ok,
    /// login: a first run, the ids are needed (pay_platform, mch_id, sub_mch_id, shop_id).
    NeedIds,
    /// login_check: logged in, but no configuration is stored yet (security_init next).
    NoConfiguration,
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

/// The login identity kept in [`LOGIN_FILE`], sealed with the local key ([`local_key`]):
/// ids only. Server address, CA and proxy come from the caller at every call, so whoever can
/// write the state folder cannot choose the server that grants a login; a file holding any
/// other field (an older format's `base_url`) is refused.
#[derive(Serialize, Deserialize, Clone, Default)]
#[serde(default, deny_unknown_fields)]
struct Identity {
    out_mch_id: String,
    out_sub_mch_id: String,
    out_shop_id: Option<String>,
    pay_platform: Option<i32>,
    device_id: Option<String>,
    staff_id: Option<String>,
    /// Generation of the configuration file written with this identity: an older
    /// configuration file restored over the current one is refused.
    generation: u64,
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
    allow_insecure_http: Option<i64>,
    use_system_roots: Option<i64>,
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

impl Purpose {
    fn kind(self) -> &'static str {
        match self {
            Purpose::Login { .. } => "login",
            Purpose::Identification => "identification",
        }
    }
}

/// How to reach the server for one login or identification: from the caller's request or
/// the running configuration, never from a file.
#[derive(Clone)]
struct Server {
    url: String,
    trust: Trust,
    proxy: Option<Proxy>,
    /// authen_key of the running configuration for this merchant: replies must carry its HMAC.
    verify: Option<Secret>,
    /// The login request's `allow_insecure_http: 1`, kept for identifications after that login.
    allow_insecure_http: bool,
}

impl Server {
    /// Refuses plain http to a remote host while replies cannot be verified: on such a link
    /// anyone on the path could grant a login or an identification.
    fn check_http(&self) -> Result<(), SdkError> {
        let Some(rest) = self.url.strip_prefix("http://") else { return Ok(()) };
        let authority = rest.split('/').next().unwrap_or("");
        let host = authority
            .rsplit_once(':')
            .map_or(authority, |(h, p)| if p.chars().all(|c| c.is_ascii_digit()) { h } else { authority });
        let host = host.trim_start_matches('[').trim_end_matches(']');
        let loopback =
            host.eq_ignore_ascii_case("localhost") || host.parse::<std::net::IpAddr>().is_ok_and(|ip| ip.is_loopback());
        if loopback || self.allow_insecure_http || self.verify.is_some() {
            return Ok(());
        }
        Err(SdkError::Refused(format!(
            "base_url {}: plain http is refused for a security login outside loopback (use https, or pass allow_insecure_http: 1 on a trusted link)",
            self.url
        )))
    }

    /// One channel per server settings, shared by every QR code: an abandoned QR code keeps
    /// no connection of its own.
    fn channel(&self, sec: &Security) -> Result<Arc<Channel>, SdkError> {
        let id = format!("{}\n{:?}\n{}", self.url, self.trust, self.proxy.as_ref().map(Proxy::url).unwrap_or_default());
        let mut st = sec.state.lock();
        if let Some((k, ch)) = &st.bootstrap
            && *k == id
        {
            return Ok(ch.clone());
        }
        let transport = Transport::new(&self.trust, Duration::from_secs(5), Duration::from_secs(15))?
            .with_proxy(self.proxy.clone());
        let ch = Arc::new(Channel::new(transport, vec![self.url.clone()], false, Duration::from_secs(3)));
        st.bootstrap = Some((id, ch.clone()));
        Ok(ch)
    }
}

/// One QR code waiting to be scanned.
#[derive(Clone)]
struct Pending {
    server: Server,
    identity: Identity,
    state_dir: PathBuf,
    token: String,
    deadline: Instant,
    purpose: Purpose,
    /// A poller saw the grant and is completing it; others poll again until the outcome is recorded.
    taken: bool,
}

/// A final outcome, kept so that every poller of one QR code sees the same answer.
struct Completed {
    outcome: SecOutcome,
    purpose: Purpose,
    until: Instant,
}

impl Drop for Completed {
    /// A kept answer may hold a configuration not yet delivered (its buffer was too small).
    fn drop(&mut self) {
        crate::secret::wipe_json(&mut self.outcome.output);
    }
}

/// A login that succeeded, waiting for `cloud_pay_security_init`.
struct Granted {
    identity: Identity,
    state_dir: PathBuf,
    server: Server,
    key: Key,
}

#[derive(Default)]
struct State {
    pending: HashMap<String, Pending>,
    completed: HashMap<String, Completed>,
    /// The activator of the latest *successful start* of each kind; cleared when a start
    /// begins, so `{}` can never reach an older QR code's approval.
    latest: HashMap<&'static str, String>,
    granted: Option<Granted>,
    bootstrap: Option<(String, Arc<Channel>)>,
}

impl State {
    /// Drops what expired, and the oldest waiting codes beyond [`MAX_PENDING`].
    fn sweep(&mut self, now: Instant) {
        self.pending.retain(|_, p| p.deadline + OUTCOME_GRACE > now);
        self.completed.retain(|_, c| c.until > now);
        while self.pending.len() > MAX_PENDING {
            let Some(oldest) = self.pending.iter().min_by_key(|(_, p)| p.deadline).map(|(a, _)| a.clone()) else {
                break;
            };
            self.pending.remove(&oldest);
        }
        if self.pending.is_empty() {
            // Nothing waits on the shared channel: let its connections go.
            self.bootstrap = None;
        }
    }
}

/// The logins and identifications in progress and the grant waiting for security_init: one
/// value, held by the process slot beside the runtime (no state of its own here).
#[derive(Default)]
pub struct Security {
    state: Mutex<State>,
}

impl Security {
    /// Forgets every login in progress and any unused grant (cloud_pay_fini).
    pub fn reset(&self) {
        *self.state.lock() = State::default();
    }
}

/// What later pollers read once an approval (and any configuration) was handed out.
fn used(activator: &str, purpose: Purpose) -> SecOutcome {
    let text = match purpose {
        Purpose::Identification => {
            format!("identification {activator} was already used: an approval counts once, start a new one")
        }
        Purpose::Login { .. } => {
            format!("login {activator} was already completed and its configuration handed out once: log in again")
        }
    };
    SecOutcome::new(SecCode::Failed, json!({}), Some(text))
}

/// The outcome to keep for later pollers of `o`. An approval counts as handed out only when
/// its output fits the caller's `capacity` (with the NUL): a "buffer too small" answer keeps
/// it, so the caller's one repeat with the size asked for still gets it.
fn to_keep(activator: &str, purpose: Purpose, o: &SecOutcome, capacity: usize) -> SecOutcome {
    if o.code == SecCode::Ok && o.output.to_string().len() < capacity { used(activator, purpose) } else { o.clone() }
}

/// Records the final outcome of a QR code (one step: no poller can see neither) and returns it.
fn complete(
    sec: &Security,
    activator: &str,
    purpose: Purpose,
    deadline: Instant,
    o: SecOutcome,
    capacity: usize,
) -> SecOutcome {
    let stored = to_keep(activator, purpose, &o, capacity);
    let mut st = sec.state.lock();
    st.pending.remove(activator);
    st.completed.insert(
        activator.to_owned(),
        Completed { outcome: stored, purpose, until: deadline.max(Instant::now()) + OUTCOME_GRACE },
    );
    o
}

/// Completes an activator as Failed if its grant handling ends without an outcome (a panic).
struct TakenGuard<'a> {
    sec: &'a Security,
    activator: &'a str,
    purpose: Purpose,
    deadline: Instant,
    armed: bool,
}

impl Drop for TakenGuard<'_> {
    fn drop(&mut self) {
        if self.armed {
            let o = SecOutcome::new(
                SecCode::Failed,
                json!({}),
                Some(format!(
                    "{} {} failed while being completed: start a new one",
                    self.purpose.kind(),
                    self.activator
                )),
            );
            complete(self.sec, self.activator, self.purpose, self.deadline, o, 0);
        }
    }
}

fn being_completed(activator: &str, kind: &str) -> SecOutcome {
    SecOutcome::new(SecCode::Unknown, json!({}), Some(format!("{kind} {activator} is being completed: poll again")))
}

fn none_if_empty(v: Option<String>) -> Option<String> {
    v.map(|s| s.trim().to_owned()).filter(|s| !s.is_empty())
}

fn call<A: Api>(server: &Server, channel: &Channel, req: &A::Request) -> Exchange<A::Result> {
    // With a key held, a reply without its valid HMAC is Unknown, never a grant.
    let verify = server.verify.as_ref().map(Secret::expose);
    channel.exchange::<A>(None, wire::to_text(req), Authenticator::None, verify)
}

/// The running configuration's authen_key, when it is this merchant's.
fn held_key(running: Option<&Config>, out_sub_mch_id: &str) -> Option<Secret> {
    running.filter(|c| c.trade.out_sub_mch_id == out_sub_mch_id).map(|c| c.trade.authen_key.clone())
}

/// Server settings from a login request (or the environment, or the official URL). The CA
/// is only the one named: none is picked up from the working directory here.
fn request_server(req: &LoginRequest) -> Result<Server, SdkError> {
    let url = std::env::var(crate::config::BASE_URL_ENV)
        .ok()
        .filter(|s| !s.trim().is_empty())
        .or(none_if_empty(req.base_url.clone()));
    let url =
        crate::config::normalize_base_url(url.as_deref().unwrap_or(crate::config::DEFAULT_BASE_URL), "base_url", true)
            .map_err(SdkError::BadInput)?; // http: Server::check_http decides
    let system = req.use_system_roots == Some(1);
    let trust = match none_if_empty(req.ca_file.clone()) {
        Some(_) if system => {
            return Err(SdkError::BadInput(
                "ca_file cannot be combined with use_system_roots: 1 (add that CA to the system's trust store)".into(),
            ));
        }
        Some(p) => Trust::Bundled(Some(
            std::fs::read_to_string(&p).map_err(|e| SdkError::BadInput(format!("ca_file: cannot read {p}: {e}")))?,
        )),
        None if system => Trust::System,
        None => Trust::Bundled(None),
    };
    let proxy = none_if_empty(req.proxy.clone())
        .map(|p| Proxy::parse(&p))
        .transpose()
        .map_err(|e| SdkError::BadInput(format!("proxy: {e}")))?;
    Ok(Server { url, trust, proxy, verify: None, allow_insecure_http: req.allow_insecure_http == Some(1) })
}

fn qr_output(r: &t::ClientInitializeResult) -> Value {
    json!({"activator": r.activator, "qr_code_url": r.qr_code_url, "ttl": r.ttl})
}

fn read_identity(state_dir: &std::path::Path) -> Option<Result<Identity, store::StoreError>> {
    let bytes = std::fs::read(state_dir.join(LOGIN_FILE)).ok()?;
    Some(local_key::login_key().and_then(|key| {
        let opened = store::open(Kind::Login, None, &key, &bytes)?;
        let id: Identity =
            serde_json::from_slice(&opened.plain).map_err(|e| store::StoreError(format!("{LOGIN_FILE}: {e}")))?;
        if id.out_sub_mch_id != opened.merchant || id.generation != opened.generation {
            return Err(store::StoreError(format!("{LOGIN_FILE}: its header does not match its content")));
        }
        let latest = local_key::high_water(state_dir, &id.out_sub_mch_id)?;
        if id.generation < latest {
            return Err(store::StoreError(format!(
                "{LOGIN_FILE} is generation {}, older than the {latest} last written here: a rolled-back copy",
                id.generation
            )));
        }
        Ok(id)
    }))
}

impl Security {
    /// `cloud_pay_security_login`; `running` is the configuration of the running runtime, if any.
    pub fn login(&self, req_text: &str, running: Option<&Config>) -> Result<SecOutcome, SdkError> {
        let req: LoginRequest = crate::input::parse_json(req_text, "req")?;
        let state_dir = match none_if_empty(req.state_dir.clone()) {
            Some(d) => PathBuf::from(d),
            None => crate::platform::default_state_dir().map_err(SdkError::Internal)?,
        };
        let mut server = request_server(&req)?;
        let given_ids = none_if_empty(req.mch_id.clone()).zip(none_if_empty(req.sub_mch_id.clone()));
        let (identity, first_run) = match (read_identity(&state_dir), given_ids) {
            (Some(Ok(id)), None) => (id, false),
            (Some(Err(e)), None) => {
                return Err(SdkError::Refused(format!(
                    "{e}; pass pay_platform, mch_id, sub_mch_id and shop_id to log in as on a first run"
                )));
            }
            (_, None) => {
                return Ok(SecOutcome::new(
                    SecCode::NeedIds,
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
                server.check_http()?;
                let ch = server.channel(self)?;
                let ex = call::<t::QueryIdentityMapping>(
                    &server,
                    &ch,
                    &t::IdentityMappingRequest {
                        mch: Some(t::MchCondition { mch_id, sub_mch_id, shop_id: none_if_empty(req.shop_id.clone()) }),
                        pay_platform: Some(platform),
                        nonce_str: Some(crate::nonce::nonce_str()),
                        ..Default::default()
                    },
                );
                let Some(r) = ex.result() else {
                    let code = if ex.class == StatusClass::Unknown { SecCode::Unknown } else { SecCode::NeedIds };
                    return Ok(SecOutcome::new(
                        code,
                        json!({}),
                        Some(format!("{} — the ids were not recognised or the server did not answer", ex.detail)),
                    ));
                };
                let id = Identity {
                    out_mch_id: r.out_mch_id.clone(),
                    out_sub_mch_id: r.out_sub_mch_id.clone(),
                    out_shop_id: r.out_shop_id.clone(),
                    pay_platform: Some(platform.0),
                    ..Default::default()
                };
                (id, true)
            }
        };
        server.verify = held_key(running, &identity.out_sub_mch_id);
        server.check_http()?;
        self.start_qr(identity, state_dir, Purpose::Login { first_run }, server)
    }

    /// Starts a QR code (client_initialize) for a login or an identification.
    fn start_qr(
        &self,
        identity: Identity,
        state_dir: PathBuf,
        purpose: Purpose,
        server: Server,
    ) -> Result<SecOutcome, SdkError> {
        let kind = purpose.kind();
        let ch = {
            // Before anything can fail: `{}` must not fall back to an older QR code's approval.
            let mut st = self.state.lock();
            st.latest.remove(kind);
            st.sweep(Instant::now());
            drop(st);
            server.channel(self)?
        };
        let ex = call::<t::ClientInitialize>(
            &server,
            &ch,
            &t::ClientInitializeRequest {
                out_sub_mch_id: identity.out_sub_mch_id.clone(),
                out_shop_id: identity.out_shop_id.clone(),
                authorize_terminal_type: Some(t::AuthorizeTerminalType::PC),
                nonce_str: Some(crate::nonce::nonce_str()),
            },
        );
        let Some(r) = ex.result().cloned() else {
            let code = if ex.class == StatusClass::Unknown { SecCode::Unknown } else { SecCode::Failed };
            return Ok(SecOutcome::new(code, json!({}), Some(ex.detail)));
        };
        // A hostile ttl must not overflow the clock nor keep an approval for days.
        let ttl = Duration::from_secs(u64::try_from(r.ttl).unwrap_or(1).clamp(1, MAX_TTL_SECS));
        let now = Instant::now();
        let deadline = now.checked_add(ttl).unwrap_or(now);
        let mut st = self.state.lock();
        st.latest.insert(kind, r.activator.clone());
        // A reused activator must not inherit an older outcome.
        st.completed.remove(&r.activator);
        st.pending.insert(
            r.activator.clone(),
            Pending { server, identity, state_dir, token: r.token.clone(), deadline, purpose, taken: false },
        );
        st.sweep(now);
        Ok(SecOutcome::new(SecCode::Ok, qr_output(&r), None))
    }
}

/// One poll of a QR code (client_try_get_initializers). Returns the granted result.
type Polled = Result<(String, t::TryGetInitializersResult, Pending), SecOutcome>;

impl Security {
    fn poll(&self, req_text: &str, kind: &'static str, capacity: usize) -> Result<Polled, SdkError> {
        let req: CheckRequest = crate::input::parse_json(req_text, "req")?;
        let no_such = |a: &str| SdkError::Refused(format!("no {kind} with activator {a}"));
        let pending = {
            let mut st = self.state.lock();
            st.sweep(Instant::now());
            let activator = none_if_empty(req.activator).or_else(|| st.latest.get(kind).cloned()).ok_or_else(|| {
                SdkError::Refused(format!(
                    "no {kind} in progress: call cloud_pay_security_{}",
                    if kind == "login" { "login" } else { "identification" }
                ))
            })?;
            // A QR code answers only for what it was started for.
            if let Some(done) = st.completed.get(&activator) {
                if done.purpose.kind() != kind {
                    return Err(no_such(&activator));
                }
                let o = done.outcome.clone();
                let keep = to_keep(&activator, done.purpose, &o, capacity);
                if let Some(d) = st.completed.get_mut(&activator) {
                    crate::secret::wipe_json(&mut d.outcome.output);
                    d.outcome = keep;
                }
                return Ok(Err(o));
            }
            let p =
                st.pending.get(&activator).filter(|p| p.purpose.kind() == kind).ok_or_else(|| no_such(&activator))?;
            if p.taken {
                return Ok(Err(being_completed(&activator, kind)));
            }
            (activator, p.clone())
        };
        let (activator, p) = pending;
        if Instant::now() >= p.deadline {
            let o = SecOutcome::new(
                SecCode::Expired,
                json!({}),
                Some(format!("QR code {activator} expired (ttl): start a new {kind}")),
            );
            return Ok(Err(complete(self, &activator, p.purpose, p.deadline, o, 0)));
        }
        let ch = p.server.channel(self)?;
        let ex = call::<t::ClientTryGetInitializers>(
            &p.server,
            &ch,
            &t::TryGetInitializersRequest {
                out_sub_mch_id: p.identity.out_sub_mch_id.clone(),
                token: p.token.clone(),
                nonce_str: Some(crate::nonce::nonce_str()),
            },
        );
        match (ex.class, ex.result()) {
            (StatusClass::Success, Some(r)) if r.initialization_granted => {
                // One poller takes the grant and records the outcome; a concurrent poller of the
                // same code is told to poll again and then reads that outcome.
                let mut st = self.state.lock();
                if let Some(done) = st.completed.get(&activator) {
                    // Another poller completed it meanwhile: that poller's delivery counts.
                    return Ok(Err(done.outcome.clone()));
                }
                match st.pending.get_mut(&activator) {
                    Some(p) if !p.taken => {
                        p.taken = true;
                        Ok(Ok((activator, r.clone(), p.clone())))
                    }
                    _ => Ok(Err(being_completed(&activator, kind))),
                }
            }
            (StatusClass::Success, _) => Ok(Err(SecOutcome::new(
                SecCode::Unknown,
                json!({}),
                Some(format!("waiting for the staff member to scan QR code {activator}")),
            ))),
            (StatusClass::Unknown, _) => {
                Ok(Err(SecOutcome::new(SecCode::Unknown, json!({}), Some(format!("{} — poll again", ex.detail)))))
            }
            _ => {
                let text = ex.response.as_ref().map(|r| r.description.to_lowercase()).unwrap_or_default();
                let code = if text.contains("expire") { SecCode::Expired } else { SecCode::Rejected };
                Ok(Err(complete(
                    self,
                    &activator,
                    p.purpose,
                    p.deadline,
                    SecOutcome::new(code, json!({}), Some(ex.detail)),
                    0,
                )))
            }
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

impl Security {
    /// `cloud_pay_security_login_check`; `capacity` is the caller's buffer size (see [`to_keep`]).
    pub fn login_check(&self, req_text: &str, capacity: usize) -> Result<SecOutcome, SdkError> {
        let (activator, r, pending) = match self.poll(req_text, "login", capacity)? {
            Ok(g) => g,
            Err(o) => return Ok(o),
        };
        let mut guard = TakenGuard {
            sec: self,
            activator: &activator,
            purpose: pending.purpose,
            deadline: pending.deadline,
            armed: true,
        };
        let (purpose, deadline) = (pending.purpose, pending.deadline);
        let outcome = self.finish_login(r, pending);
        guard.armed = false;
        let o = match &outcome {
            Ok(o) => o.clone(),
            Err(e) => SecOutcome::new(SecCode::Failed, json!({}), Some(e.to_string())),
        };
        complete(self, &activator, purpose, deadline, o, capacity);
        outcome
    }

    fn finish_login(&self, r: t::TryGetInitializersResult, pending: Pending) -> Result<SecOutcome, SdkError> {
        let Purpose::Login { first_run } = pending.purpose else {
            return Err(SdkError::Internal("identification polled as a login".into()));
        };
        let cipher = r
            .sub_mch_info
            .as_ref()
            .and_then(|s| s.client_configuration_ciphers.iter().find(|c| c.algorithm == t::EncryptType::AES_128_GCM))
            .ok_or_else(|| {
                SdkError::Refused("the server granted the login but sent no AES-128-GCM configuration key".into())
            })?;
        let key = Key::from_server(&cipher.key).map_err(|e| SdkError::Refused(e.0))?;
        let identity = Identity { staff_id: r.staff_id.clone(), ..pending.identity.clone() };
        let mut out = identity_output(&r, &identity);
        let key_path = pending.state_dir.join(KEY_FILE);
        let stored = match std::fs::read(&key_path) {
            Ok(bytes) => Some(bytes),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
            Err(e) => return Err(SdkError::Refused(format!("{KEY_FILE}: {e}"))),
        };
        let opened = stored.map(|bytes| store::open(Kind::Configuration, Some(&identity.out_sub_mch_id), &key, &bytes));
        let floor = identity.generation.max(
            local_key::high_water(&pending.state_dir, &identity.out_sub_mch_id).map_err(|e| SdkError::Internal(e.0))?,
        );
        let code = match opened {
            None => SecCode::NoConfiguration,
            // First run (no usable login file): an intact configuration is still handed out, so
            // a lost login file costs a login, not a re-provisioning; one that fails is replaced.
            Some(Err(_)) if first_run => SecCode::NoConfiguration,
            // Refused files are left exactly as they are.
            Some(Err(e)) => return Err(SdkError::Refused(format!("{e}; nothing was changed"))),
            // Older than what was last written here (login file, or the record beside the key):
            // a restored copy. On a first run it is replaced like a file that fails to open.
            Some(Ok(file)) if file.generation < floor && first_run => SecCode::NoConfiguration,
            Some(Ok(file)) if file.generation < floor => {
                return Err(SdkError::Refused(format!(
                    "{KEY_FILE} is generation {}, older than the {floor} last written: a rolled-back copy; nothing was changed",
                    file.generation
                )));
            }
            Some(Ok(file)) => {
                let conf: Value =
                    serde_json::from_slice(&file.plain).map_err(|e| SdkError::Refused(format!("{KEY_FILE}: {e}")))?;
                out.insert("conf".into(), conf);
                SecCode::Ok
            }
        };
        self.state.lock().granted = Some(Granted {
            identity,
            state_dir: pending.state_dir,
            server: Server { verify: None, ..pending.server },
            key,
        });
        let message = (code == SecCode::NoConfiguration).then(|| {
            "logged in; no stored configuration yet: call cloud_pay_security_init with the configuration".to_owned()
        });
        Ok(SecOutcome::new(code, Value::Object(out), message))
    }

    /// `cloud_pay_security_init`: stores the configuration encrypted with the login's key, and
    /// the identity for the next login, and returns the configuration for the caller to install
    /// like `cloud_pay_init`. The caller holds the runtime slot's install lock across this call
    /// and the install, so files and runtime change as one step with respect to init and fini,
    /// and two security_init calls never write the file pair crosswise.
    pub fn security_init(&self, conf_text: &str) -> Result<Config, SdkError> {
        let config = Config::parse(conf_text)?;
        // The files go where the configuration says, else where the login looked for them.
        let explicit_dir = serde_json::from_str::<Value>(conf_text)
            .ok()
            .and_then(|v| v.pointer("/common_conf/state_dir").and_then(Value::as_str).map(|s| !s.trim().is_empty()))
            .unwrap_or(false);
        let (sealed, login_bytes, dir, out_sub_mch_id, generation) = {
            // One lock for the whole read of the grant: another login completing meanwhile must
            // not pair this grant's key with that one's folder.
            let st = self.state.lock();
            let g = st.granted.as_ref().ok_or_else(|| {
                SdkError::Refused("log in first: cloud_pay_security_login_check has not succeeded".into())
            })?;
            if config.trade.out_sub_mch_id != g.identity.out_sub_mch_id {
                return Err(SdkError::BadConfig(format!(
                    "trade_conf.out_sub_mch_id {} is not the logged-in sub-merchant {}",
                    config.trade.out_sub_mch_id, g.identity.out_sub_mch_id
                )));
            }
            let dir = if explicit_dir { config.state_dir.clone() } else { g.state_dir.clone() };
            // One more than anything this folder has seen, so every older file counts as a rollback.
            let seen = read_identity(&dir).and_then(Result::ok).map_or(0, |id| id.generation);
            let recorded =
                local_key::high_water(&dir, &g.identity.out_sub_mch_id).map_err(|e| SdkError::Internal(e.0))?;
            let generation = seen.max(recorded).max(g.identity.generation).saturating_add(1);
            let identity = Identity {
                device_id: config.trade.device_id.clone(),
                out_shop_id: Some(config.trade.out_shop_id.clone()),
                generation,
                ..g.identity.clone()
            };
            let local = local_key::login_key().map_err(|e| SdkError::Internal(e.0))?;
            let seal = |kind, key: &Key, plain: &[u8]| {
                store::seal(kind, &identity.out_sub_mch_id, generation, key, plain)
                    .map_err(|e| SdkError::BadConfig(e.0))
            };
            let sealed = seal(Kind::Configuration, &g.key, conf_text.as_bytes())?;
            let login_bytes = seal(Kind::Login, &local, &serde_json::to_vec(&identity).unwrap_or_default())?;
            (sealed, login_bytes, dir, identity.out_sub_mch_id.clone(), generation)
        };
        crate::files::write_atomic(&dir.join(KEY_FILE), &sealed)
            .map_err(|e| SdkError::Internal(format!("cannot write {KEY_FILE}: {e}")))?;
        crate::files::write_atomic(&dir.join(LOGIN_FILE), &login_bytes)
            .map_err(|e| SdkError::Internal(format!("cannot write {LOGIN_FILE}: {e}")))?;
        local_key::set_high_water(&dir, &out_sub_mch_id, generation).map_err(|e| SdkError::Internal(e.0))?;
        Ok(config)
    }

    /// `cloud_pay_security_identification`: a QR code to confirm who is at the till (no merchant data).
    pub fn identification(&self, req_text: &str, running: Option<&Config>) -> Result<SecOutcome, SdkError> {
        let _: Value = crate::input::parse_json(req_text, "req")?;
        let (identity, dir, server) = match (running, &self.state.lock().granted) {
            // After init: the running configuration's server, CA, proxy and key (replies verified).
            (Some(config), _) => {
                let tc = &config.trade;
                let id = Identity {
                    out_mch_id: tc.out_mch_id.clone(),
                    out_sub_mch_id: tc.out_sub_mch_id.clone(),
                    out_shop_id: Some(tc.out_shop_id.clone()),
                    ..Default::default()
                };
                let url = config.domains.first().cloned().unwrap_or_else(|| crate::config::DEFAULT_BASE_URL.to_owned());
                let server = Server {
                    url,
                    trust: config.trust(),
                    proxy: config.proxy.clone(),
                    verify: Some(tc.authen_key.clone()),
                    allow_insecure_http: false,
                };
                (id, config.state_dir.clone(), server)
            }
            (None, Some(g)) => (g.identity.clone(), g.state_dir.clone(), g.server.clone()),
            (None, None) => return Err(SdkError::Refused("log in or initialise first".into())),
        };
        server.check_http()?;
        self.start_qr(identity, dir, Purpose::Identification, server)
    }

    /// `cloud_pay_security_identification_check`; `capacity` as for [`login_check`].
    pub fn identification_check(&self, req_text: &str, capacity: usize) -> Result<SecOutcome, SdkError> {
        let (activator, r, pending) = match self.poll(req_text, "identification", capacity)? {
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
        Ok(complete(
            self,
            &activator,
            pending.purpose,
            pending.deadline,
            SecOutcome::new(SecCode::Ok, out, None),
            capacity,
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn http(url: &str, allow: bool, verify: bool) -> Result<(), SdkError> {
        Server {
            url: url.into(),
            trust: Trust::Bundled(None),
            proxy: None,
            verify: verify.then(|| Secret::new("k".into())),
            allow_insecure_http: allow,
        }
        .check_http()
    }

    #[test]
    fn plain_http_only_to_loopback_unless_allowed_or_verified() {
        for ok in [
            "https://pay.example.com/cpay/",
            "http://127.0.0.1:8080/cpay/",
            "http://127.9.0.1/",
            "http://localhost:1/",
            "http://[::1]:8080/cpay/",
        ] {
            assert!(http(ok, false, false).is_ok(), "{ok}");
        }
        for refused in [
            "http://192.0.2.1/cpay/",
            "http://pay.example.com:8080/",
            "http://127.0.0.1.example.com/",
            "http://[2001:db8::1]:80/",
        ] {
            assert!(http(refused, false, false).is_err(), "{refused}");
            assert!(http(refused, true, false).is_ok(), "{refused} with allow_insecure_http");
            assert!(http(refused, false, true).is_ok(), "{refused} with replies verified");
        }
    }
}
