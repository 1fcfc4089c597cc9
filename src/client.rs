//! One exchange with the server: build the request, seal, send, open and classify the reply,
//! repeating the *identical* bytes where that is safe.

use cloud_pay_protocol::envelope::{self, Authenticator, RequestEnvelope, Response};
use cloud_pay_protocol::types::{OrderClient, PayMchKey, PayPlatform};
use cloud_pay_protocol::{Api, Endpoint, StatusClass, wire};

use crate::config::{Config, TradeConf};
use crate::error::SdkError;
use crate::transport::{Transport, TransportError};

/// Repeats of a status-103 reply before giving up as unknown (§9.1: retry the same request).
const MAX_103_RETRIES: u32 = 2;

/// Which authentication a request uses.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AuthChoice {
    /// HMAC authen code.
    Hmac,
    /// RSA signature when a private key is configured, else HMAC (refund, reverse; U11).
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

/// The merchant's view of the server: transport plus identity and keys.
pub struct Client {
    transport: Transport,
    trade: TradeConf,
    retry_pause: std::time::Duration,
}

impl Client {
    /// Builds the client for a configuration.
    pub fn new(cfg: &Config) -> Result<Client, SdkError> {
        Ok(Client { transport: Transport::new(cfg)?, trade: cfg.trade.clone(), retry_pause: cfg.retry_pause })
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

    /// Sends a typed request.
    pub fn call<A: Api>(&self, request: &A::Request, auth: AuthChoice) -> Exchange<A::Result> {
        self.call_text::<A>(wire::to_text(request), auth)
    }

    /// Sends an exact request_content text. The sealed body is built once and repeated
    /// unchanged: once more when nothing was sent (connection refused), and after a pause
    /// when the server answers 103.
    pub fn call_text<A: Api>(&self, request_content: String, auth: AuthChoice) -> Exchange<A::Result> {
        let key = self.trade.authen_key.expose();
        let authenticator = match (auth, &self.trade.private_key) {
            (AuthChoice::SignIfConfigured, Some(k)) => Authenticator::Sign(k),
            _ => Authenticator::Hmac(key),
        };
        let body = RequestEnvelope::seal(request_content, authenticator).to_body();
        let endpoint = A::ENDPOINT;
        let mut resent_unsent = false;
        let mut retries_103 = 0;
        loop {
            let bytes = match self.transport.post(endpoint, &body) {
                Ok(b) => b,
                Err(TransportError::NotSent(_)) if !resent_unsent => {
                    resent_unsent = true;
                    continue;
                }
                Err(e) => {
                    return Exchange { class: StatusClass::Unknown, response: None, detail: format!("{}: {e}", endpoint.path()) };
                }
            };
            let reply = envelope::open_reply::<A>(&bytes, key);
            let status = reply.response.as_ref().map(|r| r.status);
            if status == Some(cloud_pay_protocol::status::code::RETRY_SAME) && retries_103 < MAX_103_RETRIES {
                retries_103 += 1;
                std::thread::sleep(self.retry_pause);
                continue;
            }
            let detail = describe(endpoint, reply.response.as_ref(), reply.problem.as_deref());
            return Exchange { class: reply.class, response: reply.response, detail };
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
