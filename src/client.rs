//! One exchange with the server: build the request, seal, send, open and classify the reply,
//! repeating the *identical* bytes where that is safe.

use cloud_pay_protocol::envelope::{self, Authenticator, RequestEnvelope, Response};
use cloud_pay_protocol::types::{OrderClient, PayMchKey, PayPlatform};
use cloud_pay_protocol::{Api, Endpoint, StatusClass, wire};

use std::time::{Instant, SystemTime, UNIX_EPOCH};

use cloud_pay_protocol::types::ClientIntResult;

use crate::config::{Config, TradeConf};
use crate::domains::Domains;
use crate::error::SdkError;
use crate::monitor::{Monitor, local_status};
use crate::transport::{Transport, TransportError};

/// Repeats of a status-103 reply before giving up as unknown (docs/wire-protocol.md, "Retries").
const MAX_103_RETRIES: u32 = 2;

/// Which authentication a request uses.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AuthChoice {
    /// HMAC authen code.
    Hmac,
    /// RSA signature when a private key is configured, else HMAC (refund, reverse;
    /// docs/c-api.md, "RSA or HMAC for refund and reverse").
    SignIfConfigured,
}

/// What came back from one logical call.
#[derive(Debug, Clone)]
pub struct Exchange<T> {
    /// Meaning of the reply (untrusted and unreadable replies are `Unknown`).
    pub class: StatusClass,
    /// The decoded reply, when there was one.
    pub response: Option<Response<T>>,
    /// Human-readable account for errmsg: status/internal_status/log_id/description or the transport failure.
    pub detail: String,
    /// The base URL that answered (or was tried last).
    pub domain: String,
    /// Why nothing was sent, when no attempt of this call could have reached any server
    /// (every try failed before a byte of the request was written: DNS, connect, TLS).
    /// None whenever anything may have arrived: a byte written, a reply of any kind.
    pub not_sent: Option<String>,
}

impl<T> Exchange<T> {
    /// The reply's result object, only when the reply is a trusted success.
    pub fn result(&self) -> Option<&T> {
        match self.class {
            StatusClass::Success => self.response.as_ref().and_then(|r| r.result.as_ref()),
            _ => None,
        }
    }

    /// `internal_status` of a trusted-or-not reply (0 when there was none).
    pub fn internal_status(&self) -> i32 {
        self.response.as_ref().map_or(0, |r| r.internal_status)
    }
}

/// The exchange engine: transport, domains, monitoring, and the repeat rules. It knows no
/// merchant: the authenticator and the reply key come with each call.
pub struct Channel {
    transport: Transport,
    domains: Domains,
    monitor: Monitor,
    retry_pause: std::time::Duration,
}

/// The merchant's view of the server: a channel plus identity and keys.
pub struct Client {
    channel: Channel,
    trade: TradeConf,
}

impl std::ops::Deref for Client {
    type Target = Channel;
    fn deref(&self) -> &Channel {
        &self.channel
    }
}

impl Client {
    /// Builds the client for a configuration. Nothing is sent.
    pub fn new(cfg: &Config) -> Result<Client, SdkError> {
        let transport = Transport::new(&cfg.trust(), cfg.connect_timeout, cfg.timeout)?.with_proxy(cfg.proxy.clone());
        Ok(Client {
            channel: Channel::new(transport, cfg.domains.clone(), cfg.prober_dns, cfg.retry_pause),
            trade: cfg.trade.clone(),
        })
    }

    /// The merchant identity and terminal settings.
    pub fn trade_conf(&self) -> &TradeConf {
        &self.trade
    }

    /// `pay_mch_key` for this merchant.
    pub fn pay_mch_key(&self, pay_platform: Option<PayPlatform>) -> PayMchKey {
        PayMchKey {
            pay_platform,
            out_mch_id: self.trade.out_mch_id.clone(),
            out_sub_mch_id: self.trade.out_sub_mch_id.clone(),
            out_shop_id: Some(self.trade.out_shop_id.clone()),
            ..Default::default()
        }
    }

    /// `order_client` for this terminal; `with_machine` adds machine_no (required by micro_pay).
    pub fn order_client(&self, with_machine: bool) -> OrderClient {
        let t = &self.trade;
        OrderClient {
            device_id: t.device_id.clone(),
            staff_id: t.staff_id.clone(),
            terminal_type: Some(t.terminal_type),
            sub_terminal_type: t.sub_terminal_type,
            machine_no: with_machine.then(|| t.machine_no.clone()),
            sdk_version: Some(t.sdk_version.clone()),
            spbill_create_ip: Some(t.spbill_create_ip.clone()),
            ..Default::default()
        }
    }

    /// Sends a typed request to the current domain.
    pub fn call<A: Api>(&self, request: &A::Request, auth: AuthChoice) -> Exchange<A::Result> {
        self.call_text::<A>(None, wire::to_text(request), auth)
    }

    /// Sends a typed request about an order pinned to a domain.
    pub fn call_at<A: Api>(&self, pinned: Option<&str>, request: &A::Request, auth: AuthChoice) -> Exchange<A::Result> {
        self.call_text::<A>(pinned, wire::to_text(request), auth)
    }

    /// Sends an exact request_content text, authenticated with this merchant's key or
    /// signature; the reply is trusted only if its HMAC verifies.
    pub fn call_text<A: Api>(
        &self,
        pinned: Option<&str>,
        request_content: String,
        auth: AuthChoice,
    ) -> Exchange<A::Result> {
        let key = self.trade.authen_key.expose();
        let authenticator = match (auth, &self.trade.private_key) {
            (AuthChoice::SignIfConfigured, Some(k)) => Authenticator::Sign(k),
            _ => Authenticator::Hmac(key),
        };
        self.channel.exchange::<A>(pinned, request_content, authenticator, Some(key))
    }
}

impl Channel {
    /// A channel over a transport and a domain list (preferred first).
    pub fn new(transport: Transport, domains: Vec<String>, prober: bool, retry_pause: std::time::Duration) -> Channel {
        Channel { transport, domains: Domains::new(domains, prober), monitor: Monitor::default(), retry_pause }
    }

    /// The call records waiting for upload.
    pub fn monitor(&self) -> &Monitor {
        &self.monitor
    }

    /// The domain for a call about an order pinned to `pinned` (or for a new call).
    pub fn route(&self, pinned: Option<&str>) -> String {
        self.domains.route(pinned)
    }

    /// `ping` (docs/wire-protocol.md, "ping"): whether a domain answers `{"status":0}`.
    pub fn ping(&self, base: &str) -> bool {
        let started = Instant::now();
        let r = self.transport.post(base, Endpoint::Ping, "{}");
        let ok = matches!(&r, Ok(b) if serde_json::from_slice::<cloud_pay_protocol::types::PingReply>(b).is_ok_and(|p| p.status == 0));
        let status = match &r {
            Ok(_) if ok => 0,
            Ok(_) => local_status::BAD_REPLY,
            Err(TransportError::NotSent(_)) => local_status::CONNECT_FAILED,
            Err(TransportError::MaybeSent(_)) => local_status::NO_REPLY,
        };
        self.record(Endpoint::Ping, base, started, status, if ok { "ok" } else { "ping failed" }, 0);
        ok
    }

    /// Opens or refreshes the keep-alive connection to the current domain with a `ping`, so
    /// the next payment does not pay for a TCP and TLS handshake. Not recorded for monitoring:
    /// it is housekeeping, not a call. Err says why the domain could not be used (DNS,
    /// connection, TLS verification, or no usable reply), for init's notice.
    pub fn keep_warm(&self) -> Result<(), String> {
        let base = self.domains.current();
        match self.transport.post(&base, Endpoint::Ping, "{}") {
            Ok(_) => Ok(()),
            Err(TransportError::NotSent(cause)) => Err(format!("cannot reach {base}: {cause}")),
            Err(e @ TransportError::MaybeSent(_)) => Err(format!("{base} gave no usable answer to ping: {e}")),
        }
    }

    /// Time since the last request over this channel started.
    pub fn idle_for(&self) -> std::time::Duration {
        self.transport.idle_for()
    }

    /// Probes the domains (with `prober_dns`); returns whether the current one changed.
    pub fn probe_domains(&self) -> bool {
        self.domains.prober() && self.domains.probe(|d| self.ping(d))
    }

    fn record(&self, endpoint: Endpoint, base: &str, started: Instant, status: i32, description: &str, log_id: i64) {
        let start_time = SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_secs() as i64).unwrap_or(0)
            - started.elapsed().as_secs() as i64;
        self.monitor.record(ClientIntResult {
            interface: endpoint.interface(),
            status,
            description: description.to_owned(),
            time_cost: started.elapsed().as_millis() as i64,
            start_time,
            logs: None,
            log_id,
            domain_name: base.trim_end_matches('/').to_owned(),
        });
    }

    /// One logical call. The sealed body is built once and repeated unchanged: once more when
    /// nothing was sent (connection refused) — to the next healthy domain when fail-over found
    /// one —, and after a pause when the server answers 103. `verify_key` None is only for the
    /// login bootstrap, before any key exists (see `open_reply_unverified`).
    pub fn exchange<A: Api>(
        &self,
        pinned: Option<&str>,
        request_content: String,
        authenticator: Authenticator<'_>,
        verify_key: Option<&[u8]>,
    ) -> Exchange<A::Result> {
        let body = RequestEnvelope::seal(request_content, authenticator).to_body();
        let endpoint = A::ENDPOINT;
        let mut base = self.domains.route(pinned);
        let mut resent_unsent = false;
        let mut retries_103 = 0;
        // Each failed try's cause while no try may have reached a server; None once one may have.
        let mut unsent_causes: Option<Vec<String>> = Some(Vec::new());
        loop {
            let started = Instant::now();
            let bytes = match self.transport.post(&base, endpoint, &body) {
                Ok(b) => b,
                Err(e) => {
                    let status = match &e {
                        TransportError::NotSent(cause) => {
                            if let Some(causes) = unsent_causes.as_mut() {
                                causes.push(cause.clone());
                            }
                            local_status::CONNECT_FAILED
                        }
                        TransportError::MaybeSent(_) => {
                            unsent_causes = None;
                            local_status::NO_REPLY
                        }
                    };
                    self.record(endpoint, &base, started, status, &e.to_string(), 0);
                    crate::sdklog::note_problem(&base, &format!("{}: {e}", endpoint.path()));
                    // After a network failure, look for a healthy domain for the calls to come.
                    let switched = self.probe_domains();
                    if matches!(e, TransportError::NotSent(_)) && !resent_unsent {
                        // Nothing reached any server: the identical request may go again.
                        resent_unsent = true;
                        if switched {
                            base = self.domains.current();
                        }
                        continue;
                    }
                    let not_sent = unsent_causes.map(|mut c| {
                        c.dedup();
                        c.join("; ")
                    });
                    return Exchange {
                        class: StatusClass::Unknown,
                        response: None,
                        detail: format!("{}: {e}", endpoint.path()),
                        domain: base,
                        not_sent,
                    };
                }
            };
            // Bytes came back: the request reached a server.
            unsent_causes = None;
            let reply = match verify_key {
                Some(key) => envelope::open_reply::<A>(&bytes, key),
                None => envelope::open_reply_unverified::<A>(&bytes),
            };
            let (status, log_id) = match &reply.response {
                Some(r) => (r.status, r.log_id),
                None => (local_status::BAD_REPLY, 0),
            };
            let description =
                reply.response.as_ref().map(|r| r.description.as_str()).or(reply.problem.as_deref()).unwrap_or("");
            self.record(endpoint, &base, started, status, description, log_id);
            match &reply.response {
                Some(r) => crate::sdklog::note_reply(r.status, r.internal_status, r.log_id, &base),
                None => crate::sdklog::note_problem(
                    &base,
                    &describe(endpoint, reply.response.as_ref(), reply.problem.as_deref()),
                ),
            }
            if status == cloud_pay_protocol::status::code::RETRY_SAME && retries_103 < MAX_103_RETRIES {
                retries_103 += 1;
                std::thread::sleep(self.retry_pause);
                continue;
            }
            let detail = describe(endpoint, reply.response.as_ref(), reply.problem.as_deref());
            return Exchange { class: reply.class, response: reply.response, detail, domain: base, not_sent: None };
        }
    }
}

/// `endpoint: status S, internal_status I, log_id L, description` (the sibling C SDK's format).
fn describe<T>(endpoint: Endpoint, resp: Option<&Response<T>>, problem: Option<&str>) -> String {
    let mut s = match resp {
        Some(r) => format!(
            "{}: status {}, internal_status {}, log_id {}, {}",
            endpoint.path(),
            r.status,
            r.internal_status,
            r.log_id,
            if r.description.is_empty() { "(no description)" } else { &r.description }
        ),
        None => format!("{}: no reply", endpoint.path()),
    };
    if let Some(p) = problem {
        s.push_str(" — ");
        s.push_str(p);
    }
    s
}
