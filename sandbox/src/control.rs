//! The in-process [`Control`] handle and the `/sandbox/<action>` HTTP API.

use std::sync::Arc;

use serde::Deserialize;
use serde_json::{Value, json};

use crate::dashboard::{CustomerAction, RefundOutcome};
use crate::faults::FaultRule;
use crate::http::Connections;
use crate::message::{HttpReply, Request};
use crate::pay::ScanAction;
use crate::scenario;
use crate::shared::Shared;
use crate::state::{LoginStatus, Store};
use crate::util::now_ms;

/// In-process equivalent of the HTTP control API. Cheap to clone; Send + Sync.
#[derive(Clone)]
pub struct Control {
    shared: Arc<Shared>,
    conns: Arc<Connections>,
}

impl Control {
    pub(crate) fn new(shared: Arc<Shared>, conns: Arc<Connections>) -> Control {
        Control { shared, conns }
    }

    /// Adds a fault rule; returns its id.
    pub fn add_fault(&self, rule: FaultRule) -> u64 {
        self.shared.faults.lock().add(rule)
    }

    /// Removes one fault rule.
    pub fn remove_fault(&self, id: u64) -> bool {
        self.shared.faults.lock().remove(id)
    }

    /// Removes every fault rule.
    pub fn clear_faults(&self) {
        self.shared.faults.lock().clear()
    }

    /// Active fault rules with their ids.
    pub fn faults(&self) -> Vec<(u64, FaultRule)> {
        self.shared.faults.lock().list()
    }

    /// The customer scans a scan_code_pay QR code and pays or gives up.
    pub fn customer_scan(&self, out_trade_no: &str, action: ScanAction) -> Result<(), String> {
        self.shared.with_store(|st| crate::pay::customer_scan(st, out_trade_no, action, now_ms()))
    }

    /// An admin approves a client_initialize login.
    pub fn approve_login(&self, activator: &str, staff_id: &str) -> Result<(), String> {
        let status = LoginStatus::Approved { staff_id: staff_id.to_owned() };
        self.shared.with_store(|st| crate::bootstrap::set_login(st, activator, status, now_ms()))
    }

    /// An admin rejects a login.
    pub fn reject_login(&self, activator: &str) -> Result<(), String> {
        self.shared.with_store(|st| crate::bootstrap::set_login(st, activator, LoginStatus::Rejected, now_ms()))
    }

    /// Expires a login now (as if its ttl had passed).
    pub fn expire_login(&self, activator: &str) -> Result<(), String> {
        self.shared.with_store(|st| crate::bootstrap::set_login(st, activator, LoginStatus::Expired, now_ms()))
    }

    /// Most recent login (activator) — handy for a console or a test that did not keep it.
    pub fn latest_login(&self) -> Option<String> {
        let st = self.shared.store.lock();
        st.logins.values().max_by_key(|l| l.create_ms).map(|l| l.activator.clone())
    }

    fn advanced<R>(&self, out_trade_no: &str, f: impl FnOnce(&Store) -> R) -> R {
        let mut st = self.shared.store.lock();
        if scenario::advance_trade(&mut st, out_trade_no, now_ms()) {
            self.shared.persist(&st);
        }
        f(&st)
    }

    /// How many times money was actually taken for this order number (must stay ≤ 1).
    pub fn charge_count(&self, out_trade_no: &str) -> u32 {
        self.advanced(out_trade_no, |st| st.orders.get(out_trade_no).map_or(0, |o| o.charge_count))
    }

    /// Truth snapshot of an order (state, fees, charge count, …).
    pub fn order(&self, out_trade_no: &str) -> Option<Value> {
        self.advanced(out_trade_no, |st| st.orders.get(out_trade_no).map(|o| scenario::order_truth(st, o)))
    }

    /// Truth snapshots of an order's refunds, oldest first.
    pub fn refunds(&self, out_trade_no: &str) -> Vec<Value> {
        self.advanced(out_trade_no, |st| st.refunds_of(out_trade_no).into_iter().map(scenario::refund_truth).collect())
    }

    /// Requests received for `/cpay/<endpoint_path>`.
    pub fn request_count(&self, endpoint_path: &str) -> u64 {
        self.shared.requests.lock().get(endpoint_path).copied().unwrap_or(0)
    }

    /// Requests received for `/cpay/<endpoint_path>` about order `out_trade_no`.
    pub fn order_request_count(&self, endpoint_path: &str, out_trade_no: &str) -> u64 {
        self.shared
            .order_requests
            .lock()
            .get(&(endpoint_path.to_owned(), out_trade_no.to_owned()))
            .copied()
            .unwrap_or(0)
    }

    /// Closes every live connection, idle keep-alive ones included (a server's idle timeout,
    /// or a restart behind a load balancer, as a client sees it).
    pub fn close_connections(&self) {
        self.conns.close_all();
    }

    /// TCP connections accepted so far (HTTP + HTTPS).
    pub fn connections_accepted(&self) -> u64 {
        self.conns.accepted()
    }

    /// upload_client_monitor_info request contents as received.
    pub fn monitor_uploads(&self) -> Vec<Value> {
        self.shared.store.lock().monitor_uploads.clone()
    }

    /// upload_client_conf_info request contents as received.
    pub fn conf_uploads(&self) -> Vec<Value> {
        self.shared.store.lock().conf_uploads.clone()
    }

    /// Changes how long refunds stay processing (new refunds only).
    pub fn set_refund_delay_ms(&self, ms: u64) {
        self.shared.set_refund_delay_ms(ms);
    }

    /// Counters as JSON.
    pub fn stats(&self) -> Value {
        json!({"requests": *self.shared.requests.lock(), "connections_accepted": self.connections_accepted()})
    }

    /// The customer pays, cancels or keeps "paying" an order waiting for them (micro_pay
    /// orders still paying, scan_code_pay orders not yet paid). Dashboard button / `customer`.
    pub fn customer(&self, out_trade_no: &str, action: CustomerAction) -> Result<(), String> {
        self.shared.with_store(|st| crate::dashboard::customer(st, out_trade_no, action, now_ms()))
    }

    /// A processing refund succeeds, fails or stays processing. Dashboard button / `refund_outcome`.
    pub fn refund_outcome(&self, out_refund_no: &str, outcome: RefundOutcome) -> Result<(), String> {
        self.shared.with_store(|st| crate::dashboard::refund_outcome(st, out_refund_no, outcome, now_ms()))
    }

    /// Newest orders (at most `limit`) with their refunds, as the dashboard shows them.
    pub fn orders(&self, limit: usize) -> Value {
        let mut st = self.shared.store.lock();
        let (v, changed) = crate::dashboard::overview(&mut st, now_ms(), limit);
        if changed {
            self.shared.persist(&st);
        }
        v
    }
}

const INDEX: &str = "Cloud Pay sandbox control API (POST JSON to /sandbox/<action>; see sandbox/README.md)\n\
  fault             FaultRule JSON -> {\"id\":n}\n\
  remove_fault      {\"id\":n}\n\
  clear_faults      {}\n\
  faults            {} -> active rules\n\
  scan              {\"out_trade_no\":\"...\",\"action\":\"Pay\"|\"Cancel\"}\n\
  login/approve     {\"activator\":\"...\",\"staff_id\":\"1001\"}\n\
  login/reject      {\"activator\":\"...\"}\n\
  login/expire      {\"activator\":\"...\"}\n\
  order             {\"out_trade_no\":\"...\"} -> {order, refunds, charge_count}\n\
  charge_count      {\"out_trade_no\":\"...\"}\n\
  stats             {} -> request counts, connections\n\
  refund_delay      {\"ms\":n}\n\
  monitor_uploads   {}\n\
  conf_uploads      {}\n\
  orders            {\"limit\":50} -> newest orders with refunds (the dashboard's list)\n\
  customer          {\"out_trade_no\":\"...\",\"action\":\"Pay\"|\"Cancel\"|\"KeepPaying\"}\n\
  refund_outcome    {\"out_refund_no\":\"...\",\"outcome\":\"Success\"|\"Fail\"|\"Processing\"}\n\
Web console (browser): GET /sandbox/console/ (dashboard: orders, refunds, faults, logins)\n";

/// Routes one HTTP request: the server's [`Router`](crate::http::Router).
pub fn route(ctl: &Control, req: &Request) -> HttpReply {
    let path = req.path.as_str();
    if let Some(ep) = path.strip_prefix("/cpay/") {
        if req.method == "POST" || (req.method == "GET" && ep == "ping") {
            return crate::handlers::handle_cpay(&ctl.shared, ep, &req.body);
        }
        return HttpReply::text(405, "use POST");
    }
    if path == "/sandbox" || path == "/sandbox/" {
        return HttpReply::text(200, INDEX);
    }
    if let Some(action) = path.strip_prefix("/sandbox/") {
        if let Some(rest) = action.strip_prefix("console")
            && (rest.is_empty() || rest.starts_with('/'))
        {
            return crate::console::route(&ctl.shared, req, rest);
        }
        return control_http(ctl, action, &req.body);
    }
    if path == "/" {
        return HttpReply::text(200, "cloud-pay-sandbox\n");
    }
    HttpReply::text(404, "not found")
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct Args {
    id: u64,
    out_trade_no: String,
    action: Option<ScanAction>,
    activator: String,
    staff_id: String,
    ms: u64,
}

fn control_http(ctl: &Control, action: &str, body: &[u8]) -> HttpReply {
    let text = if body.iter().all(u8::is_ascii_whitespace) { b"{}".as_slice() } else { body };
    let reply = |v: Value| HttpReply::json(200, v.to_string());
    let err = |code: u16, e: String| HttpReply::json(code, json!({"error": e}).to_string());
    let done = |r: Result<(), String>| match r {
        Ok(()) => reply(json!({"ok": true})),
        Err(e) => err(409, e),
    };
    if let Some(r) = dashboard_http(ctl, action, text) {
        return r;
    }
    if action == "fault" || action == "add_fault" {
        return match serde_json::from_slice::<FaultRule>(text) {
            Ok(rule) => reply(json!({"id": ctl.add_fault(rule)})),
            Err(e) => err(400, format!("FaultRule: {e}")),
        };
    }
    let a: Args = match serde_json::from_slice(text) {
        Ok(a) => a,
        Err(e) => return err(400, format!("arguments: {e}")),
    };
    match action {
        "remove_fault" => reply(json!({"removed": ctl.remove_fault(a.id)})),
        "clear_faults" => {
            ctl.clear_faults();
            reply(json!({"ok": true}))
        }
        "faults" => {
            reply(json!(ctl.faults().into_iter().map(|(id, r)| json!({"id": id, "rule": r})).collect::<Vec<_>>()))
        }
        "scan" => done(ctl.customer_scan(&a.out_trade_no, a.action.unwrap_or(ScanAction::Pay))),
        "login/approve" => done(ctl.approve_login(&a.activator, &a.staff_id)),
        "login/reject" => done(ctl.reject_login(&a.activator)),
        "login/expire" => done(ctl.expire_login(&a.activator)),
        "order" => match ctl.order(&a.out_trade_no) {
            Some(o) => reply(
                json!({"order": o, "refunds": ctl.refunds(&a.out_trade_no), "charge_count": ctl.charge_count(&a.out_trade_no)}),
            ),
            None => err(404, format!("no order {}", a.out_trade_no)),
        },
        "charge_count" => reply(json!({"charge_count": ctl.charge_count(&a.out_trade_no)})),
        "stats" => reply(ctl.stats()),
        "refund_delay" => {
            ctl.set_refund_delay_ms(a.ms);
            reply(json!({"ok": true}))
        }
        "monitor_uploads" => reply(Value::Array(ctl.monitor_uploads())),
        "conf_uploads" => reply(Value::Array(ctl.conf_uploads())),
        _ => err(404, format!("unknown control action {action}")),
    }
}

#[derive(Deserialize)]
struct CustomerArgs {
    out_trade_no: String,
    action: CustomerAction,
}

#[derive(Deserialize)]
struct RefundOutcomeArgs {
    out_refund_no: String,
    outcome: RefundOutcome,
}

#[derive(Deserialize)]
struct OrdersArgs {
    #[serde(default = "default_limit")]
    limit: usize,
}

fn default_limit() -> usize {
    50
}

/// The dashboard's actions (`customer`, `refund_outcome`, `orders`); `None` for other actions.
fn dashboard_http(ctl: &Control, action: &str, text: &[u8]) -> Option<HttpReply> {
    fn parse<T: serde::de::DeserializeOwned>(text: &[u8]) -> Result<T, HttpReply> {
        serde_json::from_slice(text)
            .map_err(|e| HttpReply::json(400, json!({"error": format!("arguments: {e}")}).to_string()))
    }
    let done = |r: Result<(), String>| match r {
        Ok(()) => HttpReply::json(200, json!({"ok": true}).to_string()),
        Err(e) => HttpReply::json(409, json!({"error": e}).to_string()),
    };
    let reply = match action {
        "customer" => parse::<CustomerArgs>(text).map(|a| done(ctl.customer(&a.out_trade_no, a.action))),
        "refund_outcome" => {
            parse::<RefundOutcomeArgs>(text).map(|a| done(ctl.refund_outcome(&a.out_refund_no, a.outcome)))
        }
        "orders" => {
            parse::<OrdersArgs>(text).map(|a| HttpReply::json(200, ctl.orders(a.limit.clamp(1, 1000)).to_string()))
        }
        _ => return None,
    };
    Some(reply.unwrap_or_else(|e| e))
}
