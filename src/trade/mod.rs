//! The money rules. Every decision about orders, retries, polling and codes lives here.
//!
//! * Unknown is never reported as failure or success.
//! * A reply is trusted only after its HMAC verifies (classification in `cloud_pay_protocol`).
//! * A re-entry order (micro_pay 104/407) is never reversed, closed or cancelled.
//! * Retries reuse the same order number and the identical request bytes.
//! * Nothing is ever reversed automatically.

mod cancel;
pub mod journal;
mod output;
mod pay;
mod query;
mod refund;
pub mod requests;
pub mod state;

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use cloud_pay_protocol::types::{self as t, PayPlatform, TradeType};
use cloud_pay_protocol::{StatusClass, status, wire};
use hmac::{Hmac, Mac};
use parking_lot::Mutex;
use serde_json::value::RawValue;
use serde_json::{Value, json};
use sha2::Sha256;

use crate::client::{AuthChoice, Client, Exchange};
use crate::error::SdkError;
use crate::input;
pub use crate::outcome::{Accept, CallCode, CallOutcome, OrderCode, PayOutcome, QueryOutcome};
use crate::paycode::{Prefixes, platform_from_author_code};
use crate::schedule::{PollSettings, Scheduler};
use output::{cached_outcome, local_output, order_output, refund_output, unknown_outcome};
use requests::*;
pub use state::{LocalState, OrderRecord};

/// Sends of one refund number: whether one may have reached a server, and how many run.
#[derive(Debug, Default, Clone, Copy)]
struct Attempts {
    reached: bool,
    in_flight: u32,
}

/// What the journal of an earlier process holds of a number it no longer follows: the
/// content digest of its create and that create's nonce (absent in older journals).
type JournaledCreate = ([u8; 32], Option<String>);

/// The trade core: a client, the order book and the poll schedule.
pub struct Trade {
    client: Arc<Client>,
    orders: Mutex<HashMap<String, OrderRecord>>,
    /// Generated refund numbers whose outcome is unknown, by request digest: a retry of the
    /// same refund must reuse the number, or the customer could be refunded twice. Journaled,
    /// so a restart or re-init finds them again.
    pending_refund_numbers: Mutex<HashMap<[u8; 32], String>>,
    /// Refund numbers by what their attempts may have done: "not sent" is known for a refund
    /// only while no attempt of its number may have arrived and none is under way.
    refund_attempts: Mutex<HashMap<String, Attempts>>,
    /// Numbers an earlier process journaled and finished (paid, failed, closed, never sent),
    /// with the keyed digest of their content: a send of one of them by this process is never
    /// "nothing was sent", since an earlier attempt may have reached a server (and been paid),
    /// and other content under one is refused as in this process. Known while the journal
    /// holds them.
    journaled_before: Mutex<HashMap<String, JournaledCreate>>,
    poll: PollSettings,
    scheduler: Arc<Scheduler>,
    prefixes: Arc<Prefixes>,
    journal: journal::Journal,
}

/// A keyed digest (HMAC-SHA256 with the merchant's key) of `parts`, each framed by its length:
/// the journal holds these, and a bare hash of text holding a payment code could be tested
/// against guesses by anyone who reads the file.
fn digest(key: &[u8], parts: &[&str]) -> [u8; 32] {
    let mut h = <Hmac<Sha256> as Mac>::new_from_slice(key).expect("HMAC accepts any key length");
    for p in parts {
        h.update(&(p.len() as u64).to_be_bytes());
        h.update(p.as_bytes());
    }
    h.finalize().into_bytes().into()
}

/// Digest of a pay request's business content: the merchant ids and the pay content. Terminal
/// fields (IP, MAC, sdk_version) and the nonce are left out: a till whose address changed
/// between a lost reply and the cashier's retry still sends the same sale.
fn content_digest(key: &[u8], request: &t::PayRequest) -> [u8; 32] {
    digest(key, &[&wire::to_text(&request.pay_mch_key), &wire::to_text(&request.pay_content)])
}

/// Hex digest text as journaled, back to bytes (a malformed one reads as zeros: it then
/// matches no request, and a retry is refused rather than sent as a different order).
fn digest_from_hex(hex: &str) -> [u8; 32] {
    let mut d = [0u8; 32];
    for (i, b) in d.iter_mut().enumerate() {
        *b = hex.get(2 * i..2 * i + 2).and_then(|h| u8::from_str_radix(h, 16).ok()).unwrap_or(0);
    }
    d
}

fn platform_arg(v: Option<i64>, field: &str) -> Result<Option<PayPlatform>, SdkError> {
    match v {
        None | Some(0) => Ok(None),
        Some(n @ (1 | 2)) => Ok(Some(PayPlatform(n as i32))),
        Some(n) => {
            Err(SdkError::BadInput(input::redact(&format!("{field} must be 1 (WeChat Pay) or 2 (Alipay), got {n}"))))
        }
    }
}

fn trade_type_arg(v: Option<i64>) -> Result<Option<TradeType>, SdkError> {
    match v {
        None | Some(0) => Ok(None),
        Some(n @ (1 | 2)) => Ok(Some(TradeType(n as i32))),
        Some(n) => Err(SdkError::BadInput(input::redact(&format!(
            "trade_type must be 1 (micro pay) or 2 (scan code), got {n}"
        )))),
    }
}

fn positive(v: Option<i64>, field: &str) -> Result<i64, SdkError> {
    match v {
        Some(n) if n > 0 => Ok(n),
        Some(n) => {
            Err(SdkError::BadInput(input::redact(&format!("{field} must be a positive amount in fen, got {n}"))))
        }
        None => Err(SdkError::BadInput(format!("{field} is required"))),
    }
}

fn currency(v: &Option<String>, field: &str) -> Result<String, SdkError> {
    match v.as_deref().map(str::trim) {
        None | Some("") | Some("CNY") => Ok("CNY".into()),
        Some(other) => Err(SdkError::BadInput(input::redact(&format!("{field} must be CNY, got {other:?}")))),
    }
}

fn none_if_empty(v: &Option<String>) -> Option<String> {
    v.as_ref().map(|s| s.trim().to_owned()).filter(|s| !s.is_empty())
}

impl Trade {
    /// A trade core over a client.
    pub fn new(
        client: Arc<Client>,
        poll: PollSettings,
        scheduler: Arc<Scheduler>,
        prefixes: Arc<Prefixes>,
        journal: journal::Journal,
    ) -> Trade {
        Trade {
            client,
            orders: Mutex::new(HashMap::new()),
            pending_refund_numbers: Mutex::new(HashMap::new()),
            refund_attempts: Mutex::new(HashMap::new()),
            journaled_before: Mutex::default(),
            poll,
            scheduler,
            prefixes,
            journal,
        }
    }

    /// Turns true once this Trade is gone and its journal's folder lock released.
    pub fn journal_released(&self) -> Arc<std::sync::atomic::AtomicBool> {
        self.journal.released()
    }

    /// Takes over what a previous process (or configuration) left in the journal: resumes
    /// polling every unfinished order, keeps the tombstones' guards (re-entry stays -6 and is
    /// never cancelled) and the numbers of refunds whose outcome is unknown. Returns how many
    /// orders it resumed.
    pub fn restore(&self, recovery: &journal::Recovery) -> usize {
        let mut n = 0;
        for o in recovery.open_orders().chain(recovery.tombstones()) {
            let journal::Entry::Order { no, fee, platform, trade_type, digest, domain, nonce } = &o.order else {
                continue;
            };
            let trade_type = TradeType(*trade_type);
            let (polls, interval) = self.poll_settings(trade_type);
            let reentry = o.state == Some(LocalState::ReEntry as i32);
            let (local, code) = match (o.fin, reentry) {
                (false, _) => (LocalState::Unknown, OrderCode::Unknown),
                (true, true) => (LocalState::ReEntry, OrderCode::ReEntry),
                (true, false) => (LocalState::Fail, OrderCode::Failed),
            };
            self.orders.lock().insert(
                no.clone(),
                OrderRecord {
                    out_trade_no: no.clone(),
                    trade_type,
                    pay_platform: Some(PayPlatform(*platform)),
                    content_digest: digest_from_hex(digest),
                    request_content: String::new(),
                    local,
                    code,
                    // A re-entry tombstone answers -6 from memory; a refused number asks the server.
                    cached_final: reentry && o.fin,
                    output: None,
                    platform_state: None,
                    code_url: None,
                    polls_left: if o.fin { 0 } else { polls },
                    poll_interval: interval,
                    last_detail: if reentry {
                        "re-entry recorded in the order journal".into()
                    } else {
                        "recovered from the order journal after a restart".into()
                    },
                    domain: domain.clone(),
                    total_fee: Some(*fee),
                    create_nonce: nonce.clone(),
                    generation: 0,
                    submitting: false,
                    seen: false,
                    refused: o.refused,
                    // An unfinished order's payment may have reached its domain: a "does not
                    // exist" from another one is not the truth.
                    maybe_at: if o.fin { None } else { domain.clone() },
                    // A journaled attempt of an earlier process may have arrived.
                    reached: true,
                    creates_in_flight: 0,
                },
            );
            if !o.fin {
                self.scheduler.schedule(no, Instant::now());
                n += 1;
            }
        }
        let restored = self.orders.lock();
        self.journaled_before.lock().extend(
            recovery.orders.iter().filter(|(no, _)| !restored.contains_key(*no)).filter_map(|(no, o)| match &o.order {
                journal::Entry::Order { digest, nonce, .. } => {
                    Some((no.clone(), (digest_from_hex(digest), nonce.clone())))
                }
                _ => None,
            }),
        );
        drop(restored);
        // An unsettled refund of an earlier process may have arrived.
        // So may a settled one the journal still holds: a retry of its number that cannot
        // connect is unknown, never "no refund was made".
        self.refund_attempts.lock().extend(
            recovery
                .refunds
                .keys()
                .chain(&recovery.settled_refunds)
                .map(|no| (no.clone(), Attempts { reached: true, in_flight: 0 })),
        );
        let mut pending = self.pending_refund_numbers.lock();
        for (refund_no, p) in &recovery.refunds {
            if let Some(d) = &p.digest {
                pending.insert(digest_from_hex(d), refund_no.clone());
            }
        }
        n
    }

    /// The merchant's key, for the keyed digests.
    fn key(&self) -> &[u8] {
        self.client.trade_conf().authen_key.expose()
    }

    fn poll_settings(&self, trade_type: TradeType) -> (u32, Duration) {
        if trade_type == TradeType::SCAN_CODE {
            (self.poll.scan_code_count, self.poll.scan_code_interval)
        } else {
            (self.poll.micro_pay_count, self.poll.micro_pay_interval)
        }
    }

    /// Appends the record's new state to the journal if it changed (called without the
    /// orders lock). A journal failure after sending cannot undo the call; recovery then
    /// simply polls the order once more.
    fn journal_state(&self, change: Option<journal::Entry>) {
        if let Some(e) = change {
            let _ = self.journal.append_state(&[e]);
        }
    }

    /// A copy of the local record of an order.
    pub fn record(&self, out_trade_no: &str) -> Option<OrderRecord> {
        self.orders.lock().get(out_trade_no).cloned()
    }
}

/// What micro_pay and scan_code_pay results offer to the shared create path.
pub trait OrderResult: Clone + Default {
    /// The order's state, when the reply carries an order.
    fn order_content(&self) -> Option<&state::OrderFacts>;
    /// The QR URL, when the reply carries it.
    fn code_url(&self) -> Option<&str>;
    /// `pay_mch_key.out_sub_mch_id`, when the reply carries it.
    fn sub_mch(&self) -> Option<&str>;
}

/// The part of a `micro_pay` or `query_order` result the trade rules read: the order's state
/// ([`state::OrderFacts`]). The rest (merchant key, terminal, nonce, the order's other
/// members) reaches the outputs as the reply's own text (`Response::raw_result`), so decoding
/// it into structures would be work for nothing.
#[derive(serde::Serialize, serde::Deserialize, Debug, Clone, Default, PartialEq)]
#[serde(default)]
pub struct OrderOnly {
    /// The order's state.
    pub order_content: Option<state::OrderFacts>,
    /// The merchant the reply is about.
    pub pay_mch_key: Option<MchEcho>,
}

/// The part of a reply's `pay_mch_key` that binds it to this merchant.
#[derive(serde::Serialize, serde::Deserialize, Debug, Clone, Default, PartialEq)]
#[serde(default)]
pub struct MchEcho {
    /// The sub-merchant.
    pub out_sub_mch_id: Option<String>,
}

/// An endpoint as the wire defines it, with its result read as [`OrderOnly`].
macro_rules! order_only {
    ($(#[$m:meta])* $name:ident = $api:ty) => {
        $(#[$m])*
        #[derive(Debug, Clone, Copy)]
        pub struct $name;
        impl cloud_pay_protocol::Api for $name {
            const ENDPOINT: cloud_pay_protocol::Endpoint = <$api as cloud_pay_protocol::Api>::ENDPOINT;
            type Request = <$api as cloud_pay_protocol::Api>::Request;
            type Result = OrderOnly;
        }
    };
}
order_only!(/// `micro_pay` read as [`OrderOnly`].
    MicroPayRead = t::MicroPay);
order_only!(/// `query_order` read as [`OrderOnly`].
    QueryOrderRead = t::QueryOrder);

impl OrderResult for OrderOnly {
    fn order_content(&self) -> Option<&state::OrderFacts> {
        self.order_content.as_ref()
    }
    fn code_url(&self) -> Option<&str> {
        None
    }
    fn sub_mch(&self) -> Option<&str> {
        self.pay_mch_key.as_ref().and_then(|k| k.out_sub_mch_id.as_deref())
    }
}

impl OrderResult for t::ScanCodePayResult {
    fn order_content(&self) -> Option<&state::OrderFacts> {
        None
    }
    fn code_url(&self) -> Option<&str> {
        self.code_url.as_deref()
    }
    fn sub_mch(&self) -> Option<&str> {
        None
    }
}

/// Applies a trusted order_content to the local record.
fn apply_order(rec: &mut OrderRecord, order: &state::OrderFacts, raw_result: Option<&RawValue>) {
    if rec.code_url.is_none() {
        rec.code_url = order.code_url.clone();
    }
    if let Some((p, _)) = order.trade_state() {
        rec.pay_platform = Some(p);
    }
    let (mut code, local, fin) = state::map_order(order, Some(rec.trade_type), rec.code_url.is_some());
    if code == OrderCode::NotExist && rec.seen {
        // An earlier verified reply showed the order: "does not exist" now is not the truth.
        code = OrderCode::Unknown;
    } else if code != OrderCode::NotExist {
        rec.seen = true;
        rec.maybe_at = None;
    }
    rec.code = code;
    rec.local = local;
    rec.cached_final = fin;
    if fin {
        rec.polls_left = 0;
    }
    let (output, platform_state) =
        order_output(&rec.out_trade_no, local, rec.code_url.as_deref(), raw_result, Some(rec.trade_type));
    rec.output = Some(output);
    rec.platform_state = platform_state;
}

/// Turns a record into the guard of a number that belongs to another sale (a verified order
/// under this number with another amount): re-entry locally, -6, never cancelled, never paid.
fn other_sale(rec: &mut OrderRecord, fee: i64) -> String {
    let sent = rec.total_fee.unwrap_or(0);
    let why = format!("the server's order {} is for {fee} fen, this till sent {sent} fen", rec.out_trade_no);
    another_sales_order(rec, why)
}

/// A record refused at creation meets a paid order under its number: another sale's payment
/// (this till's create charged nothing). Local re-entry, -6, never cancelled.
fn refused_but_paid(rec: &mut OrderRecord) -> String {
    let why =
        format!("the server refused this till's order {}, yet a paid order is under the number", rec.out_trade_no);
    another_sales_order(rec, why)
}

/// Marks a record as the guard of another sale's order (final, -6); returns the errmsg.
fn another_sales_order(rec: &mut OrderRecord, why: String) -> String {
    rec.local = LocalState::ReEntry;
    rec.code = OrderCode::ReEntry;
    rec.cached_final = true;
    rec.polls_left = 0;
    rec.output = None;
    rec.last_detail = format!("{why}: it is another sale's order (re-entry); never cancel or reverse it");
    rec.last_detail.clone()
}

/// The class the money rules act on. Status 101 comes without an HMAC by design, so anyone on
/// the path could forge it: it decides nothing final (its internal_status is never read).
fn decided_class<T>(ex: &Exchange<T>) -> StatusClass {
    if unsigned(ex) { StatusClass::Unknown } else { ex.class }
}

/// A status-101 reply: it never carries an HMAC.
fn unsigned<T>(ex: &Exchange<T>) -> bool {
    ex.response.as_ref().is_some_and(|r| r.status == status::code::REJECTED)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The journal's digests are keyed: another key gives another digest, and none is the
    /// bare SHA-256 of the text.
    #[test]
    fn digests_are_keyed_with_the_merchant_key() {
        use sha2::Digest;
        let a = digest(b"key-one", &["abc", "de"]);
        assert_ne!(a, digest(b"key-two", &["abc", "de"]));
        assert_ne!(a, digest(b"key-one", &["ab", "cde"]), "each part is framed by its length");
        let bare: [u8; 32] = Sha256::new()
            .chain_update(3u64.to_be_bytes())
            .chain_update(b"abc")
            .chain_update(2u64.to_be_bytes())
            .chain_update(b"de")
            .finalize()
            .into();
        assert_ne!(a, bare);
    }

    /// Terminal fields and the nonce do not make a retry a different order; the sale does.
    #[test]
    fn the_content_digest_covers_the_business_content_only() {
        let request = t::PayRequest {
            pay_mch_key: t::PayMchKey { out_mch_id: "m".into(), out_sub_mch_id: "s".into(), ..Default::default() },
            pay_content: t::PayContent { out_trade_no: "n".into(), total_fee: 5, ..Default::default() },
            order_client: t::OrderClient {
                spbill_create_ip: Some("10.0.0.5".into()),
                machine_no: Some("AA".into()),
                ..Default::default()
            },
            nonce_str: "N1".into(),
        };
        let mut moved = request.clone();
        moved.order_client.spbill_create_ip = Some("10.0.0.6".into());
        moved.order_client.machine_no = Some("BB".into());
        moved.order_client.sdk_version = Some("9".into());
        moved.nonce_str = "N2".into();
        assert_eq!(content_digest(b"k", &request), content_digest(b"k", &moved));
        let mut other = request.clone();
        other.pay_content.total_fee = 6;
        assert_ne!(content_digest(b"k", &request), content_digest(b"k", &other));
        let mut other_shop = request.clone();
        other_shop.pay_mch_key.out_sub_mch_id = "t".into();
        assert_ne!(content_digest(b"k", &request), content_digest(b"k", &other_shop));
        assert_eq!(
            digest_from_hex(&cloud_pay_protocol::crypto::hex_upper(&content_digest(b"k", &request))),
            content_digest(b"k", &request)
        );
    }
}
