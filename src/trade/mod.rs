//! The money rules. Every decision about orders, retries, polling and codes lives here.
//!
//! * Unknown is never reported as failure or success.
//! * A reply is trusted only after its HMAC verifies (classification in `cloud_pay_protocol`).
//! * A re-entry order (micro_pay 104/407) is never reversed, closed or cancelled.
//! * Retries reuse the same order number and the identical request bytes.
//! * Nothing is ever reversed automatically.

pub mod journal;
mod output;
pub mod requests;
pub mod state;

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use cloud_pay_protocol::types::{self as t, PayPlatform, TradeType};
use cloud_pay_protocol::{StatusClass, status, wire};
use parking_lot::Mutex;
use serde_json::value::RawValue;
use serde_json::{Value, json};
use hmac::{Hmac, Mac};
use sha2::Sha256;

use crate::client::{AuthChoice, Client, Exchange};
use crate::error::SdkError;
use crate::input;
use crate::paycode::{Prefixes, platform_from_author_code};
use crate::schedule::{PollSettings, Scheduler};
use requests::*;
use output::{cached_outcome, local_output, order_output, refund_output, unknown_outcome};
pub use state::{LocalState, OrderRecord};
pub use crate::outcome::{Accept, CallCode, CallOutcome, OrderCode, PayOutcome, QueryOutcome};

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
        Some(n) => Err(SdkError::BadInput(input::redact(&format!("{field} must be 1 (WeChat Pay) or 2 (Alipay), got {n}")))),
    }
}

fn trade_type_arg(v: Option<i64>) -> Result<Option<TradeType>, SdkError> {
    match v {
        None | Some(0) => Ok(None),
        Some(n @ (1 | 2)) => Ok(Some(TradeType(n as i32))),
        Some(n) => Err(SdkError::BadInput(input::redact(&format!("trade_type must be 1 (micro pay) or 2 (scan code), got {n}")))),
    }
}

fn positive(v: Option<i64>, field: &str) -> Result<i64, SdkError> {
    match v {
        Some(n) if n > 0 => Ok(n),
        Some(n) => Err(SdkError::BadInput(input::redact(&format!("{field} must be a positive amount in fen, got {n}")))),
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
    pub fn new(client: Arc<Client>, poll: PollSettings, scheduler: Arc<Scheduler>, prefixes: Arc<Prefixes>, journal: journal::Journal) -> Trade {
        Trade { client, orders: Mutex::new(HashMap::new()), pending_refund_numbers: Mutex::new(HashMap::new()), refund_attempts: Mutex::new(HashMap::new()), journaled_before: Mutex::default(), poll, scheduler, prefixes, journal }
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
            let journal::Entry::Order { no, fee, platform, trade_type, digest, domain, nonce } = &o.order else { continue };
            let trade_type = TradeType(*trade_type);
            let (polls, interval) = self.poll_settings(trade_type);
            let reentry = o.state == Some(LocalState::ReEntry as i32);
            let (local, code) = match (o.fin, reentry) {
                (false, _) => (LocalState::Unknown, OrderCode::Unknown),
                (true, true) => (LocalState::ReEntry, OrderCode::ReEntry),
                (true, false) => (LocalState::Fail, OrderCode::Failed),
            };
            self.orders.lock().insert(no.clone(), OrderRecord {
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
                last_detail: if reentry { "re-entry recorded in the order journal".into() } else { "recovered from the order journal after a restart".into() },
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
            });
            if !o.fin {
                self.scheduler.schedule(no, Instant::now());
                n += 1;
            }
        }
        let restored = self.orders.lock();
        self.journaled_before.lock().extend(recovery.orders.iter().filter(|(no, _)| !restored.contains_key(*no)).filter_map(|(no, o)| match &o.order {
            journal::Entry::Order { digest, nonce, .. } => Some((no.clone(), (digest_from_hex(digest), nonce.clone()))),
            _ => None,
        }));
        drop(restored);
        // An unsettled refund of an earlier process may have arrived.
        // So may a settled one the journal still holds: a retry of its number that cannot
        // connect is unknown, never "no refund was made".
        self.refund_attempts.lock().extend(recovery.refunds.keys().chain(&recovery.settled_refunds).map(|no| (no.clone(), Attempts { reached: true, in_flight: 0 })));
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

    /// micro_pay (docs/wire-protocol.md, "micro_pay"; its codes: docs/c-api.md, "Return codes").
    pub fn micro_pay(&self, req: &MicroPaySdkRequest) -> Result<PayOutcome, SdkError> {
        let out_trade_no = input::order_number(&req.out_trade_no, "out_trade_no")?.to_owned();
        let author_code = input::require(&req.author_code, "author_code")?.to_owned();
        let total_fee = positive(req.total_fee, "total_fee")?;
        let fee_type = currency(&req.fee_type, "fee_type")?;
        let body = input::require(&req.body, "body")?.to_owned();
        let platform = match platform_arg(req.pay_platform, "pay_platform")? {
            Some(p) => p,
            // The server's prefixes once fetched (cloud_pay_security_author_code_prefix), else the public rules.
            None => self.prefixes.platform_of(&author_code).or_else(|| platform_from_author_code(&author_code)).ok_or_else(|| {
                SdkError::BadInput("unsupported payment code: not a WeChat Pay (10-15, 18 digits) or Alipay (25-30, 16-24 digits) code; pass pay_platform to override".into())
            })?,
        };
        let wx_ext = (platform == PayPlatform::WXPAY
            && (req.attach.is_some() || req.goods_tag.is_some() || req.limit_pay.is_some()))
        .then(|| t::WxpayPayContentExt {
            attach: none_if_empty(&req.attach),
            goods_tag: none_if_empty(&req.goods_tag),
            limit_pay: none_if_empty(&req.limit_pay),
            ..Default::default()
        });
        let request = t::PayRequest {
            pay_mch_key: self.client.pay_mch_key(Some(platform)),
            pay_content: t::PayContent {
                out_trade_no: out_trade_no.clone(),
                author_code: Some(author_code),
                total_fee,
                fee_type,
                body,
                detail: requests::detail_text(&req.detail)?,
                remark: none_if_empty(&req.remark),
                wxpay_pay_content_ext: wx_ext,
                ..Default::default()
            },
            order_client: self.client.order_client(true),
            nonce_str: crate::nonce::nonce_str(),
        };
        self.create_order::<MicroPayRead>(request, platform, TradeType::MICRO_PAY)
    }

    /// scan_code_pay (docs/wire-protocol.md, "scan_code_pay"; its codes:
    /// docs/c-api.md, "Return codes").
    pub fn scan_code_pay(&self, req: &ScanCodePaySdkRequest) -> Result<PayOutcome, SdkError> {
        let out_trade_no = input::order_number(&req.out_trade_no, "out_trade_no")?.to_owned();
        let platform = platform_arg(req.pay_platform, "pay_platform")?
            .ok_or_else(|| SdkError::BadInput("pay_platform is required (1 WeChat Pay, 2 Alipay)".into()))?;
        let wx_ext = (platform == PayPlatform::WXPAY).then(|| t::WxpayPayContentExt {
            attach: none_if_empty(&req.attach),
            goods_tag: none_if_empty(&req.goods_tag),
            // WeChat native pay requires a product id; the order number is a faithful default.
            product_id: none_if_empty(&req.product_id).or_else(|| Some(out_trade_no.clone())),
            ..Default::default()
        });
        let request = t::PayRequest {
            pay_mch_key: self.client.pay_mch_key(Some(platform)),
            pay_content: t::PayContent {
                out_trade_no: out_trade_no.clone(),
                time_expire: req.time_expire.filter(|v| *v > 0),
                total_fee: positive(req.total_fee, "total_fee")?,
                fee_type: currency(&req.fee_type, "fee_type")?,
                body: input::require(&req.body, "body")?.to_owned(),
                detail: requests::detail_text(&req.detail)?,
                wxpay_pay_content_ext: wx_ext,
                ..Default::default()
            },
            order_client: self.client.order_client(true),
            nonce_str: crate::nonce::nonce_str(),
        };
        self.create_order::<t::ScanCodePay>(request, platform, TradeType::SCAN_CODE)
    }

    /// Shared path of micro_pay and scan_code_pay: record first, send (or re-send the
    /// identical request), classify, schedule polling unless final.
    fn create_order<A>(&self, mut request: t::PayRequest, platform: PayPlatform, trade_type: TradeType) -> Result<PayOutcome, SdkError>
    where
        A: cloud_pay_protocol::Api<Request = t::PayRequest>,
        A::Result: OrderResult,
    {
        let out_trade_no = request.pay_content.out_trade_no.clone();
        let text = wire::to_text(&request);
        let content_digest = content_digest(self.key(), &request);
        let total_fee = request.pay_content.total_fee;
        let output = output::pay_output(platform, &out_trade_no);
        let (poll_count, poll_interval) = self.poll_settings(trade_type);

        // The record exists before anything is sent, so a concurrent query or a retry sees it,
        // and the journal holds it durably, so a crash after sending loses nothing.
        let journaled = self.journaled_before.lock().get(&out_trade_no).cloned();
        let journaled_digest = journaled.as_ref().map(|j| j.0);
        let journaled_before = journaled_digest.is_some();
        let (request_content, pinned, new_order, generation, no_earlier_order, refused, create_nonce) = {
            let mut orders = self.orders.lock();
            match orders.get_mut(&out_trade_no) {
                Some(rec) if rec.content_digest != content_digest => {
                    // An unfinished payment under this number may still be paid: a new number
                    // now could charge the customer twice.
                    return Err(SdkError::Refused(if state::journal_key(rec).1 {
                        format!("out_trade_no {out_trade_no} was already used for a different order (this process or the order journal); nothing was sent (use a new order number for a new sale)")
                    } else {
                        format!("an unfinished payment with other content exists for out_trade_no {out_trade_no} (this process or the order journal): query it with cloud_pay_query_order before anything else; nothing was sent")
                    }));
                }
                // A retry: the identical bytes again (after a restart, the same content anew).
                Some(rec) => {
                    // After a restart the same content goes again under the create's journaled
                    // nonce, so an order it created is still told from another request's.
                    if rec.request_content.is_empty() {
                        rec.request_content = match &rec.create_nonce {
                            Some(nonce) => {
                                request.nonce_str = nonce.clone();
                                wire::to_text(&request)
                            }
                            None => text,
                        };
                    }
                    // A number journaled as done without a final order (every earlier send failed
                    // before a byte went out, or was refused at creation, or the order was not
                    // found when its polls ran out) is journaled afresh, as a new order, before it
                    // goes again: a crash after this send must not forget it.
                    let reopen = rec.local == LocalState::Fail && !rec.cached_final;
                    // No earlier send can have created an order of this till under the number.
                    let no_earlier_order = rec.never_sent() || rec.refused;
                    if reopen {
                        rec.local = LocalState::Unknown;
                        rec.code = OrderCode::Unknown;
                        rec.polls_left = poll_count;
                    }
                    rec.generation += 1;
                    rec.submitting = true;
                    rec.creates_in_flight += 1;
                    (rec.request_content.clone(), rec.domain.clone(), reopen, rec.generation, no_earlier_order, rec.refused, rec.create_nonce.clone())
                }
                // A finished order of an earlier process under this number, with other content:
                // another sale, as for a record of this process.
                None if journaled_digest.is_some_and(|d| d != content_digest) => {
                    return Err(SdkError::Refused(format!(
                        "out_trade_no {out_trade_no} was already used for a different order (this process or the order journal); nothing was sent (use a new order number for a new sale)"
                    )));
                }
                None => {
                    // The same content under a number an earlier process journaled: its nonce.
                    let text = match journaled.and_then(|j| j.1) {
                        Some(nonce) => {
                            request.nonce_str = nonce;
                            wire::to_text(&request)
                        }
                        None => text,
                    };
                    orders.insert(out_trade_no.clone(), OrderRecord {
                        out_trade_no: out_trade_no.clone(),
                        trade_type,
                        pay_platform: Some(platform),
                        content_digest,
                        request_content: text.clone(),
                        local: LocalState::Unknown,
                        code: OrderCode::Unknown,
                        cached_final: false,
                        output: None,
                        platform_state: None,
                        code_url: None,
                        polls_left: poll_count,
                        poll_interval,
                        last_detail: String::new(),
                        domain: None,
                        total_fee: Some(total_fee),
                        create_nonce: Some(request.nonce_str.clone()),
                        generation: 1,
                        submitting: true,
                        seen: false,
                        maybe_at: None,
                        refused: false,
                        // An attempt journaled by an earlier process may have arrived.
                        reached: journaled_before,
                        creates_in_flight: 1,
                    });
                    (text, None, true, 1, !journaled_before, false, Some(request.nonce_str.clone()))
                }
            }
        };
        let journaled_domain = self.client.route(pinned.as_deref());
        if new_order {
            let entry = journal::Entry::Order {
                no: out_trade_no.clone(),
                fee: total_fee,
                platform: platform.0,
                trade_type: trade_type.0,
                digest: cloud_pay_protocol::crypto::hex_upper(&content_digest),
                domain: Some(journaled_domain.clone()),
                nonce: create_nonce,
            };
            // For a number journaled as done, the new order line opens it again (and names the
            // domain this send goes to); a number refused at creation stays guarded.
            let mut entries = vec![entry];
            if refused {
                entries.push(journal::Entry::State { no: out_trade_no.clone(), state: LocalState::Unknown as i32, fin: false, at: None, refused: true });
            }
            if let Err(e) = self.journal.append_durable(&entries) {
                let mut orders = self.orders.lock();
                if let Some(rec) = orders.get_mut(&out_trade_no) {
                    rec.creates_in_flight = rec.creates_in_flight.saturating_sub(1);
                    if rec.generation == generation {
                        rec.submitting = false;
                    }
                    if rec.never_sent() && rec.generation == 1 {
                        orders.remove(&out_trade_no);
                    } else if rec.creates_in_flight == 0 {
                        (rec.local, rec.code, rec.polls_left) = (LocalState::Fail, OrderCode::Failed, 0);
                    }
                }
                return Err(SdkError::Internal(format!("cannot record the order in the journal ({e}); nothing was sent")));
            }
        }

        let ex = self.client.call_text::<A>(pinned.as_deref(), request_content, AuthChoice::Hmac);
        let mut orders = self.orders.lock();
        let Some(rec) = orders.get_mut(&out_trade_no) else {
            return Err(SdkError::Internal("order record vanished".into()));
        };
        if rec.generation == generation {
            rec.submitting = false;
        }
        rec.creates_in_flight = rec.creates_in_flight.saturating_sub(1);
        if ex.not_sent.is_none() {
            rec.reached = true;
        }
        rec.last_detail = ex.detail.clone();
        let domain_change = (ex.domain != journaled_domain).then(|| journal::Entry::Domain { no: out_trade_no.clone(), domain: ex.domain.clone() });
        rec.domain = Some(ex.domain.clone());
        let before = state::journal_key(rec);
        let class = decided_class(&ex);
        // The create's own verified reply is trusted with the order it shows (the server
        // answered this request); the creating nonce is compared on queries only.
        let echo = ex.result().and_then(|r| r.order_content().map(|o| state::echo(o, &out_trade_no, r.sub_mch(), &self.client.trade_conf().out_sub_mch_id, rec.total_fee, None)));
        let result = match class {
            StatusClass::Success if matches!(echo, Some(state::Echo::Other(_))) => {
                let Some(state::Echo::Other(about)) = echo else { unreachable!() };
                rec.maybe_at = Some(ex.domain.clone());
                let message = format!("{} — the verified reply is about {about}, not order {out_trade_no}: not trusted; outcome unknown, the SDK keeps querying the order", ex.detail);
                (PayOutcome { accept: Accept::Accepted, output, message: Some(message) }, rec.polls_left > 0)
            }
            StatusClass::Success if matches!(echo, Some(state::Echo::OtherAmount(_))) => {
                let Some(state::Echo::OtherAmount(fee)) = echo else { unreachable!() };
                let message = other_sale(rec, fee);
                (PayOutcome { accept: Accept::NotAccepted, output, message: Some(format!("{} — {message}", ex.detail)) }, false)
            }
            StatusClass::Success => {
                // The server took this till's create: a sale of this till is under the number,
                // whatever an earlier refusal said.
                rec.refused = false;
                if let Some(result) = ex.result() {
                    if let Some(url) = result.code_url() {
                        rec.code_url = Some(url.to_owned());
                        rec.local = LocalState::PreOrdered;
                        rec.seen = true;
                    }
                    if let Some(order) = result.order_content() {
                        apply_order(rec, order, ex.response.as_ref().and_then(|r| r.raw_result.as_deref()));
                    }
                }
                let schedule = !rec.cached_final && rec.polls_left > 0;
                (PayOutcome { accept: Accept::Accepted, output, message: None }, schedule)
            }
            StatusClass::ReEntry => {
                rec.local = LocalState::ReEntry;
                rec.code = OrderCode::ReEntry;
                rec.cached_final = true;
                let message = format!(
                    "{} — RE-ENTRY: out_trade_no {out_trade_no} was already used for a different order, which may be paid. Do NOT cancel or reverse it; query it with cloud_pay_query_order.",
                    ex.detail
                );
                (PayOutcome { accept: Accept::NotAccepted, output, message: Some(message) }, false)
            }
            StatusClass::FailedFinal | StatusClass::FailedRetryNewNumber if !no_earlier_order => {
                // A repeat of the order was refused, but an earlier send of it may have
                // created the order (and the customer may have paid it): the refusal of the
                // repeat says nothing about that one. Unknown, and the order stays followed.
                rec.maybe_at = Some(ex.domain.clone());
                if !rec.cached_final {
                    if rec.local == LocalState::Fail {
                        (rec.local, rec.code) = (LocalState::Unknown, OrderCode::Unknown);
                    }
                    rec.polls_left = rec.polls_left.max(poll_count);
                }
                let message = format!(
                    "{} — this repeat of order {out_trade_no} was refused, but an earlier send of it may have created the order: outcome unknown; the SDK keeps querying the order",
                    ex.detail
                );
                (PayOutcome { accept: Accept::Accepted, output, message: Some(message) }, !rec.cached_final)
            }
            StatusClass::FailedFinal | StatusClass::FailedRetryNewNumber => {
                // This request created nothing, but the number may belong to another order
                // (another till, an earlier sale) in any state, even paid: never answer
                // query_order from memory for it, ask the server.
                rec.local = LocalState::Fail;
                rec.code = OrderCode::Failed;
                rec.cached_final = false;
                rec.polls_left = 0;
                // Proof that no sale of this till is under the number only when no earlier
                // send of ours may have created it.
                rec.refused |= no_earlier_order;
                let advice = if ex.class == StatusClass::FailedRetryNewNumber { " (retry only with a new out_trade_no)" } else { "" };
                (PayOutcome { accept: Accept::NotAccepted, output, message: Some(format!("{}{advice}", ex.detail)) }, false)
            }
            StatusClass::Unknown if rec.never_sent() => {
                // No attempt of this order reached any server: the customer cannot have been
                // charged. Not accepted, no polling; the journal records the number as done.
                rec.local = LocalState::Fail;
                rec.code = OrderCode::Failed;
                rec.cached_final = false;
                rec.polls_left = 0;
                let cause = ex.not_sent.as_deref().unwrap_or(&ex.detail);
                rec.last_detail = format!("nothing was sent: {cause}");
                let message = format!(
                    "nothing was sent: {cause} — order {out_trade_no} reached no server and the customer was not charged; check common_conf.base_url, ca_file and the network, then pay again (the same out_trade_no may be reused)"
                );
                (PayOutcome { accept: Accept::NotAccepted, output, message: Some(message) }, false)
            }
            StatusClass::Unknown => {
                // The order may exist: say accepted, keep polling, let query_order tell the truth.
                rec.maybe_at = Some(ex.domain.clone());
                let message = format!("{} — outcome unknown; the SDK keeps querying the order", ex.detail);
                (PayOutcome { accept: Accept::Accepted, output, message: Some(message) }, rec.polls_left > 0)
            }
        };
        let change = state::journal_change(rec, before);
        drop(orders);
        self.journal_state(domain_change);
        self.journal_state(change);
        let (outcome, schedule) = result;
        if schedule {
            self.scheduler.schedule(&out_trade_no, Instant::now() + self.poll.next_delay(trade_type, poll_count, poll_interval));
        }
        Ok(outcome)
    }

    /// query_order: a cached final state at once, otherwise one live query.
    pub fn query_order(&self, req: &OrderRefSdkRequest) -> Result<QueryOutcome, SdkError> {
        let out_trade_no = input::order_number(&req.out_trade_no, "out_trade_no")?.to_owned();
        let platform = platform_arg(req.pay_platform, "pay_platform")?;
        let trade_type = trade_type_arg(req.trade_type)?;
        if let Some(rec) = self.orders.lock().get(&out_trade_no)
            && rec.cached_final
        {
            return Ok(cached_outcome(rec));
        }
        Ok(self.live_query(&out_trade_no, platform, trade_type))
    }

    /// One `query_order` exchange, applied to the local record.
    fn live_query(&self, out_trade_no: &str, platform: Option<PayPlatform>, trade_type: Option<TradeType>) -> QueryOutcome {
        // A number an earlier process journaled and this one does not follow: its create's nonce.
        let journaled_nonce = self.journaled_before.lock().get(out_trade_no).and_then(|j| j.1.clone());
        let (platform, trade_type, pinned, generation) = match self.orders.lock().get(out_trade_no) {
            Some(r) => (platform.or(r.pay_platform), trade_type.or(Some(r.trade_type)), r.domain.clone(), Some(r.generation)),
            None => (platform, trade_type, None, None),
        };
        let request = t::QueryOrderRequest {
            pay_mch_key: self.client.pay_mch_key(platform),
            order_client: self.client.order_client(false),
            out_trade_no: out_trade_no.to_owned(),
            trade_type,
            nonce_str: crate::nonce::nonce_str(),
        };
        let ex = self.client.call_at::<QueryOrderRead>(pinned.as_deref(), &request, AuthChoice::Hmac);
        let mut orders = self.orders.lock();
        let mut rec = orders.get_mut(out_trade_no);
        // A re-entry order stays -6 whatever the original order's state is.
        if let Some(rec) = &rec
            && rec.local == LocalState::ReEntry
        {
            return cached_outcome(rec);
        }
        // A create, cancel or refund went out while this query was under way: its answer may
        // predate them, so it changes nothing and is never cached.
        if let Some(rec) = &rec
            && Some(rec.generation) != generation
        {
            let message = format!("{} — a newer request about order {out_trade_no} went out while this query was under way; query again", ex.detail);
            return QueryOutcome { code: OrderCode::Unknown, output: local_output(rec), message: Some(message) };
        }
        // This till never got the order out, and the query cannot reach a server either: the
        // order does not exist and the customer was not charged, whatever the network does.
        if ex.class == StatusClass::Unknown
            && ex.not_sent.is_some()
            && let Some(rec) = rec.as_deref().filter(|r| r.never_sent() && r.local == LocalState::Fail)
        {
            let message = format!("order {out_trade_no} was never sent ({}): it does not exist and the customer was not charged; this query could not reach a server either: {}", rec.last_detail, ex.detail);
            return QueryOutcome { code: OrderCode::NotExist, output: local_output(rec), message: Some(message) };
        }
        match ex.class {
            StatusClass::Success => {
                // The reply is ours: read it in place, nothing is copied.
                let (result, raw) = match ex.response {
                    Some(r) => (r.result.unwrap_or_default(), r.raw_result),
                    None => Default::default(),
                };
                let Some(order) = result.order_content.as_ref() else {
                    return unknown_outcome(out_trade_no, &format!("{} — reply has no order_content", ex.detail));
                };
                let sent_fee = rec.as_ref().and_then(|r| r.total_fee);
                // Until a verified reply has shown this till's order, the order found must be
                // the one this till's create made: the same number and amount may be another
                // till's sale.
                let create_nonce = match rec.as_ref() {
                    Some(r) => r.create_nonce.as_deref().filter(|_| !r.seen),
                    None => journaled_nonce.as_deref(),
                };
                let echo = state::echo(order, out_trade_no, result.sub_mch(), &self.client.trade_conf().out_sub_mch_id, sent_fee, create_nonce);
                if let state::Echo::Other(about) = &echo {
                    let message = format!("{} — the verified reply is about {about}, not order {out_trade_no}: not trusted; result unknown, query again", ex.detail);
                    return match rec {
                        Some(rec) => QueryOutcome { code: OrderCode::Unknown, output: local_output(rec), message: Some(message) },
                        None => unknown_outcome(out_trade_no, &message),
                    };
                }
                // Created by this till's own create (its nonce): after a refusal, the repeat of
                // the same sale took the number.
                let own_create = rec.as_ref().and_then(|r| r.create_nonce.as_deref()).is_some_and(|n| order.nonce_str.as_deref() == Some(n));
                // Another sale's order under this number: another amount, or paid although the
                // server refused this till's create of it (and no nonce says it is this till's).
                let refused_paid = rec.as_ref().is_some_and(|r| r.refused) && !own_create && state::map_order(order, trade_type, false).0 == OrderCode::Paid;
                if let Some(rec) = rec.as_deref_mut().filter(|_| refused_paid || matches!(echo, state::Echo::OtherAmount(_))) {
                    let before = state::journal_key(rec);
                    let message = match echo {
                        state::Echo::OtherAmount(fee) => other_sale(rec, fee),
                        _ => refused_but_paid(rec),
                    };
                    let change = state::journal_change(rec, before);
                    let mut outcome = cached_outcome(rec);
                    outcome.message = Some(message);
                    drop(orders);
                    self.journal_state(change);
                    return outcome;
                }
                // The same number and amount, created by another request: nothing tells whose sale
                // it is, so it is not this one's (a refused record's case is -6 above).
                if echo == state::Echo::OtherRequest {
                    let message = format!(
                        "{} — the order under {out_trade_no} was created by another request than this till's payment (another nonce_str): another till's sale of the same amount, or a sale this till's journal no longer holds; not taken as this sale: result unknown. Check the customer's payment record; do not hand over goods on it",
                        ex.detail
                    );
                    return match rec {
                        Some(rec) => QueryOutcome { code: OrderCode::Unknown, output: local_output(rec), message: Some(message) },
                        None => unknown_outcome(out_trade_no, &message),
                    };
                }
                match rec {
                    Some(rec) => {
                        let before = state::journal_key(rec);
                        if own_create {
                            // This till's order: the refusal guarded an earlier send only.
                            rec.refused = false;
                        }
                        apply_order(rec, order, raw.as_deref());
                        let change = state::journal_change(rec, before);
                        let outcome = cached_outcome(rec);
                        let refunds = refunds_possible(outcome.code, rec.local, rec.pay_platform).then(|| (rec.pay_platform, rec.domain.clone(), rec.generation));
                        drop(orders);
                        self.journal_state(change);
                        match refunds {
                            Some((platform, domain, generation)) => self.with_refund_totals(outcome, out_trade_no, platform, domain.as_deref(), Some(generation)),
                            None => outcome,
                        }
                    }
                    None => {
                        let (code, local, _) = state::map_order(order, trade_type, order.code_url.is_some());
                        let (output, platform_state) = order_output(out_trade_no, local, order.code_url.as_deref(), raw.as_deref(), trade_type);
                        let platform = order.trade_state().map(|(p, _)| p);
                        let message = match code {
                            OrderCode::Paid => None,
                            OrderCode::Failed => Some(output::failed_message(out_trade_no, Some(&output), platform_state, platform)),
                            _ => Some(ex.detail),
                        };
                        let outcome = QueryOutcome { code, output, message };
                        drop(orders);
                        if refunds_possible(code, local, platform) { self.with_refund_totals(outcome, out_trade_no, platform, Some(&ex.domain), None) } else { outcome }
                    }
                }
            }
            StatusClass::Unknown => {
                let message = format!("{} — result unknown, query again", ex.detail);
                match rec {
                    Some(rec) => QueryOutcome { code: OrderCode::Unknown, output: local_output(rec), message: Some(message) },
                    None => unknown_outcome(out_trade_no, &message),
                }
            }
            StatusClass::FailedFinal | StatusClass::FailedRetryNewNumber | StatusClass::ReEntry => {
                // Only a verified reply says "does not exist": an unsigned 101 is an error (-3)
                // whatever internal_status it carries.
                let code = if ex.internal_status() == status::internal::ORDER_NOT_FOUND && !unsigned(&ex) { OrderCode::NotExist } else { OrderCode::Error };
                // "Does not exist" contradicts an earlier verified reply that showed the order,
                // and says nothing about a domain other than the one that may have taken it.
                if let Some(rec) = &rec
                    && code == OrderCode::NotExist
                    && (rec.seen || rec.maybe_at.as_ref().is_some_and(|d| *d != ex.domain))
                {
                    let why = if rec.seen { "an earlier verified reply showed it".to_owned() } else { format!("its payment may have reached {}", rec.maybe_at.as_deref().unwrap_or("")) };
                    let message = format!("{} — the server says order {out_trade_no} does not exist, but {why}: result unknown, query again", ex.detail);
                    return QueryOutcome { code: OrderCode::Unknown, output: local_output(rec), message: Some(message) };
                }
                // An order the server still does not know when its polls have run out was never
                // created (e.g. the process died before sending): the journal can forget it.
                if let Some(rec) = rec
                    && code == OrderCode::NotExist
                    && rec.polls_left == 0
                    && rec.local == LocalState::Unknown
                {
                    let before = state::journal_key(rec);
                    rec.local = LocalState::Fail;
                    let change = state::journal_change(rec, before);
                    drop(orders);
                    self.journal_state(change);
                }
                QueryOutcome { code, output: json!({"out_trade_no": out_trade_no}).to_string().into(), message: Some(ex.detail) }
            }
        }
    }

    /// Adds `refunded_fee` and `refund_count` (refunds not failed, from a verified refund query)
    /// to a -4 outcome, and says "partly refunded" or "fully refunded". Without a verified
    /// answer, or when there are no refunds (closed unpaid), the outcome stays as it is. The
    /// record keeps the totals unless a newer request about the order went out meanwhile.
    fn with_refund_totals(&self, mut outcome: QueryOutcome, no: &str, platform: Option<PayPlatform>, domain: Option<&str>, generation: Option<u64>) -> QueryOutcome {
        let request = t::QueryRefundOrderRequest {
            pay_mch_key: self.client.pay_mch_key(platform),
            order_client: self.client.order_client(false),
            out_trade_no: no.to_owned(),
            out_refund_no: None,
            nonce_str: crate::nonce::nonce_str(),
        };
        let ex: Exchange<t::QueryRefundOrderResult> = self.client.call_at::<t::QueryRefundOrder>(domain, &request, AuthChoice::Hmac);
        let sub_mch = &self.client.trade_conf().out_sub_mch_id;
        let Some(r) = ex.result().filter(|r| {
            r.pay_mch_key.as_ref().is_none_or(|k| k.out_sub_mch_id.is_empty() || k.out_sub_mch_id == *sub_mch) && r.refund_order_content.iter().all(|c| c.out_trade_no == no)
        }) else {
            return outcome;
        };
        let live: Vec<&t::RefundOrderContent> = r.refund_order_content.iter().filter(|c| state::refund_state(c) != 3).collect();
        if live.is_empty() {
            return outcome;
        }
        let refunded: i64 = live.iter().map(|c| c.refund_fee.unwrap_or(0)).sum();
        (outcome.output, outcome.message) = output::refund_totals(no, &outcome.output, refunded, live.len());
        if let Some(rec) = self.orders.lock().get_mut(no)
            && Some(rec.generation) == generation
        {
            rec.output = Some(outcome.output.clone());
        }
        outcome
    }

    /// One background poll of an order; returns when to poll again, if at all.
    pub fn poll_once(&self, out_trade_no: &str) -> Option<Instant> {
        let interval = {
            let mut orders = self.orders.lock();
            let rec = orders.get_mut(out_trade_no)?;
            if rec.cached_final || rec.polls_left == 0 {
                return None;
            }
            rec.polls_left -= 1;
            self.poll.next_delay(rec.trade_type, rec.polls_left, rec.poll_interval)
        };
        self.live_query(out_trade_no, None, None);
        let orders = self.orders.lock();
        let rec = orders.get(out_trade_no)?;
        (!rec.cached_final && rec.polls_left > 0).then(|| Instant::now() + interval)
    }

    /// cancel_order: trade_type 1 → reverse, 2 → close_order. A re-entry order is refused locally.
    pub fn cancel_order(&self, req: &OrderRefSdkRequest) -> Result<CallOutcome, SdkError> {
        let out_trade_no = input::order_number(&req.out_trade_no, "out_trade_no")?.to_owned();
        let trade_type = trade_type_arg(req.trade_type)?
            .ok_or_else(|| SdkError::BadInput("trade_type is required (1 reverse a micro-pay order, 2 close a scan-code order)".into()))?;
        // An order no verified reply has shown may be another sale's (the create's reply did
        // not verify, or never came): a verified query first tells it apart, so a reverse or
        // close never reaches an order another till created under the number.
        // So is a number an earlier process journaled and this one no longer follows.
        let journaled = self.journaled_before.lock().contains_key(&out_trade_no);
        let unverified = match self.orders.lock().get(&out_trade_no) {
            Some(r) => !r.seen && !r.submitting && r.local != LocalState::ReEntry && !r.refused,
            None => journaled,
        };
        if unverified {
            let query = self.live_query(&out_trade_no, None, Some(trade_type));
            let shown = match self.orders.lock().get(&out_trade_no) {
                Some(r) => r.seen || r.local == LocalState::ReEntry,
                // No record: a verified answer about this till's order (its echo matched).
                None => !matches!(query.code, OrderCode::Unknown | OrderCode::Error),
            };
            if !shown && query.code != OrderCode::NotExist {
                let why = query.message.unwrap_or_default();
                return Ok(CallOutcome {
                    code: CallCode::Failed,
                    output: None,
                    message: Some(format!(
                        "order {out_trade_no}: no verified reply has shown it is this till's sale, and the query before the cancel could not tell ({why}); nothing was sent to cancel it: query it with cloud_pay_query_order, then cancel again"
                    )),
                });
            }
        }
        let local = {
            let mut orders = self.orders.lock();
            let rec = orders.get_mut(&out_trade_no);
            if let Some(rec) = &rec {
                if rec.local == LocalState::ReEntry {
                    return Err(SdkError::Refused(format!(
                        "order {out_trade_no} hit re-entry (status 104, internal_status 407) or belongs to another sale: the number belongs to another order that may be paid; it is never cancelled or reversed"
                    )));
                }
                if rec.refused {
                    return Err(SdkError::Refused(format!(
                        "order {out_trade_no} was refused when this till created it: no sale of this till is under the number, and an order under it belongs to another sale; it is never cancelled or reversed from here"
                    )));
                }
                // Its reply may yet be re-entry: a reverse now could reverse another sale.
                if rec.submitting {
                    return Err(SdkError::Refused(format!("order {out_trade_no}: payment still being submitted: query it with cloud_pay_query_order; nothing was sent")));
                }
            }
            // Queries already under way predate the cancel: their answers no longer count. The
            // reverse or close may be applied even if its reply is lost: a cached answer
            // ("paid") is stale from now on, the next query_order asks the server.
            rec.map(|r| {
                r.generation += 1;
                r.cached_final = false;
                r.clone()
            })
        };
        let platform = platform_arg(req.pay_platform, "pay_platform")?
            .or(local.as_ref().and_then(|r| r.pay_platform))
            .ok_or_else(|| SdkError::BadInput("pay_platform is required (1 WeChat Pay, 2 Alipay)".into()))?;
        let pinned = local.as_ref().and_then(|r| r.domain.as_deref());
        let (ex_class, detail) = if trade_type == TradeType::MICRO_PAY {
            let request = t::ReverseRequest {
                pay_mch_key: self.client.pay_mch_key(Some(platform)),
                order_client: self.client.order_client(true),
                out_trade_no: out_trade_no.clone(),
                nonce_str: crate::nonce::nonce_str(),
            };
            let ex = self.client.call_at::<t::Reverse>(pinned, &request, AuthChoice::SignIfConfigured);
            (ex.class, ex.detail)
        } else {
            let request = t::CloseOrderRequest {
                pay_mch_key: self.client.pay_mch_key(Some(platform)),
                order_client: self.client.order_client(false),
                out_trade_no: out_trade_no.clone(),
                trade_type: Some(trade_type),
                nonce_str: crate::nonce::nonce_str(),
            };
            let ex = self.client.call_at::<t::CloseOrder>(pinned, &request, AuthChoice::Hmac);
            (ex.class, ex.detail)
        };
        let code = match ex_class {
            StatusClass::Success => {
                let change = self.orders.lock().get_mut(&out_trade_no).and_then(|rec| {
                    let before = state::journal_key(rec);
                    rec.local = if trade_type == TradeType::MICRO_PAY { LocalState::Reverse } else { LocalState::Closed };
                    rec.code = OrderCode::Closed;
                    rec.cached_final = false; // the next query_order reads the new state from the server
                    rec.polls_left = 0;
                    state::journal_change(rec, before)
                });
                self.journal_state(change);
                CallCode::Ok
            }
            StatusClass::Unknown => CallCode::Unknown,
            _ => CallCode::Failed,
        };
        Ok(CallOutcome { code, output: None, message: (code != CallCode::Ok).then_some(detail) })
    }

    /// refund: accepted / not accepted / unknown. The result is read with query_refund.
    pub fn refund(&self, req: &RefundSdkRequest) -> Result<CallOutcome, SdkError> {
        let out_trade_no = input::order_number(&req.out_trade_no, "out_trade_no")?.to_owned();
        let local = self.record(&out_trade_no);
        let platform = platform_arg(req.pay_platform, "pay_platform")?
            .or(local.as_ref().and_then(|r| r.pay_platform))
            .ok_or_else(|| SdkError::BadInput("pay_platform is required (1 WeChat Pay, 2 Alipay)".into()))?;
        let total_fee = positive(req.total_fee, "total_fee")?;
        let refund_fee = positive(req.refund_fee, "refund_fee")?;
        if refund_fee > total_fee {
            return Err(SdkError::BadInput(format!("refund_fee {refund_fee} exceeds total_fee {total_fee}")));
        }
        let refund_fee_type = currency(&req.refund_fee_type, "refund_fee_type")?;
        let reason = none_if_empty(&req.refund_reason);
        let request_digest = digest(self.key(), &[
            &self.client.trade_conf().out_sub_mch_id,
            &out_trade_no,
            &platform.0.to_string(),
            &total_fee.to_string(),
            &refund_fee.to_string(),
            reason.as_deref().unwrap_or(""),
        ]);
        let (out_refund_no, generated) = match &req.out_refund_no {
            Some(s) if !s.trim().is_empty() => (input::order_number(&req.out_refund_no, "out_refund_no")?.to_owned(), false),
            _ => {
                let mut pending = self.pending_refund_numbers.lock();
                let no = pending.entry(request_digest).or_insert_with(|| generate_refund_no(&out_trade_no)).clone();
                (no, true)
            }
        };
        let request = t::RefundRequest {
            pay_mch_key: self.client.pay_mch_key(Some(platform)),
            refund_content: t::RefundContent {
                out_trade_no: out_trade_no.clone(),
                out_refund_no: out_refund_no.clone(),
                total_fee,
                refund_fee,
                refund_fee_type,
                refund_reason: reason,
                ..Default::default()
            },
            order_client: self.client.order_client(false),
            api_version: None,
            nonce_str: crate::nonce::nonce_str(),
        };
        let entry = journal::Entry::Refund {
            no: out_trade_no.clone(),
            refund_no: out_refund_no.clone(),
            fee: refund_fee,
            digest: generated.then(|| cloud_pay_protocol::crypto::hex_upper(&request_digest)),
        };
        self.journal.append_durable(&[entry]).map_err(|e| SdkError::Internal(format!("cannot record the refund in the journal ({e}); nothing was sent")))?;
        if let Some(rec) = self.orders.lock().get_mut(&out_trade_no) {
            // Queries already under way predate the refund: their answers no longer count.
            rec.generation += 1;
        }
        self.refund_attempts.lock().entry(out_refund_no.clone()).or_default().in_flight += 1;
        let ex = self.client.call_at::<t::Refund>(local.as_ref().and_then(|r| r.domain.as_deref()), &request, AuthChoice::SignIfConfigured);
        let never_sent = {
            let mut attempts = self.refund_attempts.lock();
            let a = attempts.entry(out_refund_no.clone()).or_default();
            a.in_flight = a.in_flight.saturating_sub(1);
            a.reached |= ex.not_sent.is_none();
            !a.reached && a.in_flight == 0
        };
        let about = ex.result().and_then(|r| refund_echo(r, &out_trade_no, &out_refund_no, &self.client.trade_conf().out_sub_mch_id));
        let code = match decided_class(&ex) {
            StatusClass::Success if about.is_some() => CallCode::Unknown,
            StatusClass::Success => CallCode::Ok,
            // No attempt of this refund number reached any server: no refund was made.
            StatusClass::Unknown if never_sent => CallCode::Failed,
            StatusClass::Unknown => CallCode::Unknown,
            _ => CallCode::Failed,
        };
        if code != CallCode::Unknown {
            // A verified reply settled it: the number need not be kept for a retry any more.
            if generated {
                self.pending_refund_numbers.lock().remove(&request_digest);
            }
            self.journal_state(Some(journal::Entry::RefundSettled { refund_no: out_refund_no.clone() }));
        }
        if code == CallCode::Ok
            && let Some(rec) = self.orders.lock().get_mut(&out_trade_no)
        {
            // The payment's state changes with a refund: stop answering from memory.
            rec.cached_final = false;
        }
        let message = match code {
            CallCode::Ok => None,
            CallCode::Unknown => Some(format!(
                "{}{} — refund outcome unknown; query it, or retry with the same out_refund_no {out_refund_no}",
                ex.detail,
                about.map(|a| format!(" — the verified reply is about {a}: not trusted")).unwrap_or_default()
            )),
            CallCode::Failed => Some(match ex.not_sent.as_deref().filter(|_| never_sent) {
                Some(cause) => format!("nothing was sent: {cause} — no refund was made for out_refund_no {out_refund_no}; check common_conf.base_url, ca_file and the network, then refund again"),
                None => ex.detail,
            }),
        };
        Ok(CallOutcome { code, output: Some(json!({"out_trade_no": out_trade_no, "out_refund_no": out_refund_no})), message })
    }

    /// query_refund: one refund or all refunds of an order.
    pub fn query_refund(&self, req: &QueryRefundSdkRequest) -> Result<CallOutcome, SdkError> {
        let out_trade_no = input::order_number(&req.out_trade_no, "out_trade_no")?.to_owned();
        let out_refund_no = match &req.out_refund_no {
            Some(s) if !s.trim().is_empty() => Some(input::order_number(&req.out_refund_no, "out_refund_no")?.to_owned()),
            _ => None,
        };
        let local = self.record(&out_trade_no);
        let platform = platform_arg(req.pay_platform, "pay_platform")?.or(local.as_ref().and_then(|r| r.pay_platform));
        let request = t::QueryRefundOrderRequest {
            pay_mch_key: self.client.pay_mch_key(platform),
            order_client: self.client.order_client(false),
            out_trade_no: out_trade_no.clone(),
            out_refund_no: out_refund_no.clone(),
            nonce_str: crate::nonce::nonce_str(),
        };
        let ex: Exchange<t::QueryRefundOrderResult> =
            self.client.call_at::<t::QueryRefundOrder>(local.as_ref().and_then(|r| r.domain.as_deref()), &request, AuthChoice::Hmac);
        let sub_mch = &self.client.trade_conf().out_sub_mch_id;
        let about = ex.result().and_then(|r| {
            r.pay_mch_key.as_ref().map(|k| &k.out_sub_mch_id).filter(|s| !s.is_empty() && *s != sub_mch).map(|s| format!("sub-merchant {s}")).or_else(|| {
                r.refund_order_content.iter().find_map(|c| {
                    if c.out_trade_no != out_trade_no {
                        Some(format!("order {}", c.out_trade_no))
                    } else {
                        out_refund_no.as_ref().filter(|n| **n != c.out_refund_no).map(|_| format!("refund {}", c.out_refund_no))
                    }
                })
            })
        });
        match ex.class {
            StatusClass::Success if about.is_some() => Ok(CallOutcome {
                code: CallCode::Unknown,
                output: None,
                message: Some(format!("{} — the verified reply is about {}, not what was asked: not trusted; result unknown, query again", ex.detail, about.unwrap_or_default())),
            }),
            StatusClass::Success => {
                let refunds = ex.result().map(|r| r.refund_order_content.clone()).unwrap_or_default();
                self.settle_refunds(&refunds);
                Ok(CallOutcome { code: CallCode::Ok, output: Some(refund_output(&out_trade_no, out_refund_no.as_deref(), &refunds)), message: None })
            }
            StatusClass::FailedFinal | StatusClass::FailedRetryNewNumber
                if ex.internal_status() == status::internal::REFUND_NOT_FOUND && !unsigned(&ex) =>
            {
                Ok(CallOutcome { code: CallCode::Ok, output: Some(refund_output(&out_trade_no, out_refund_no.as_deref(), &[])), message: None })
            }
            StatusClass::Unknown => Ok(CallOutcome { code: CallCode::Unknown, output: None, message: Some(format!("{} — result unknown, query again", ex.detail)) }),
            _ => Ok(CallOutcome { code: CallCode::Failed, output: None, message: Some(ex.detail) }),
        }
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
    let (output, platform_state) = order_output(&rec.out_trade_no, local, rec.code_url.as_deref(), raw_result, Some(rec.trade_type));
    rec.output = Some(output);
    rec.platform_state = platform_state;
}

/// Whether a -4 order may carry refunds worth counting: WeChat's "refund" state, or an Alipay
/// order closed (Alipay closes a fully refunded order).
fn refunds_possible(code: OrderCode, local: LocalState, platform: Option<PayPlatform>) -> bool {
    code == OrderCode::Closed && (local == LocalState::Refund || (local == LocalState::Closed && platform == Some(PayPlatform::ALIPAY)))
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
    let why = format!("the server refused this till's order {}, yet a paid order is under the number", rec.out_trade_no);
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

/// What a verified refund reply is about, when that is not the refund asked for.
fn refund_echo(r: &t::RefundResult, out_trade_no: &str, out_refund_no: &str, sub_mch: &str) -> Option<String> {
    if let Some(s) = r.pay_mch_key.as_ref().map(|k| &k.out_sub_mch_id).filter(|s| !s.is_empty() && *s != sub_mch) {
        return Some(format!("sub-merchant {s}"));
    }
    let items: Vec<&Value> = match r.refund_order_content.as_ref()? {
        Value::Array(items) => items.iter().collect(),
        v => vec![v],
    };
    items.into_iter().find_map(|v| {
        let field = |k: &str| v.get(k).and_then(Value::as_str);
        match (field("out_trade_no"), field("out_refund_no")) {
            (Some(no), _) if no != out_trade_no => Some(format!("order {no}")),
            (_, Some(rno)) if rno != out_refund_no => Some(format!("refund {rno}")),
            _ => None,
        }
    })
}

impl Trade {
    /// Refunds a verified query listed exist: their numbers need not be kept for a retry.
    fn settle_refunds(&self, refunds: &[t::RefundOrderContent]) {
        let mut pending = self.pending_refund_numbers.lock();
        let mut settled = Vec::new();
        pending.retain(|_, no| {
            let listed = refunds.iter().any(|r| r.out_refund_no == *no);
            if listed {
                settled.push(journal::Entry::RefundSettled { refund_no: no.clone() });
            }
            !listed
        });
        drop(pending);
        let _ = self.journal.append_state(&settled);
    }
}

/// A refund number for a caller that gave none: the order's first 10 characters (which hold
/// the merchant prefix, 10 alphanumerics or 8 digits) + `R` + 64 random bits in hex. It
/// cannot repeat after a restart or a clock step.
fn generate_refund_no(out_trade_no: &str) -> String {
    let head: String = out_trade_no.chars().take(10).collect();
    let mut r = [0u8; 8];
    getrandom::getrandom(&mut r).expect("the system's random source works");
    format!("{head}R{}", cloud_pay_protocol::crypto::hex_upper(&r))
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
        let bare: [u8; 32] = Sha256::new().chain_update(3u64.to_be_bytes()).chain_update(b"abc").chain_update(2u64.to_be_bytes()).chain_update(b"de").finalize().into();
        assert_ne!(a, bare);
    }

    /// Terminal fields and the nonce do not make a retry a different order; the sale does.
    #[test]
    fn the_content_digest_covers_the_business_content_only() {
        let request = t::PayRequest {
            pay_mch_key: t::PayMchKey { out_mch_id: "m".into(), out_sub_mch_id: "s".into(), ..Default::default() },
            pay_content: t::PayContent { out_trade_no: "n".into(), total_fee: 5, ..Default::default() },
            order_client: t::OrderClient { spbill_create_ip: Some("10.0.0.5".into()), machine_no: Some("AA".into()), ..Default::default() },
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
        assert_eq!(digest_from_hex(&cloud_pay_protocol::crypto::hex_upper(&content_digest(b"k", &request))), content_digest(b"k", &request));
    }

    #[test]
    fn generated_refund_numbers_keep_the_prefix_and_fit() {
        let a = generate_refund_no("sz0100test20240101120000001");
        assert!(a.starts_with("sz0100test") && a.len() <= 32, "{a}");
        let b = generate_refund_no("010000520000000000000000000000001");
        assert!(b.starts_with("01000052") && b.len() <= 32, "{b}");
        // 64 random bits: 16 hex digits after the R.
        let tail = a.rsplit_once('R').unwrap().1;
        assert!(tail.len() == 16 && tail.bytes().all(|c| c.is_ascii_hexdigit()), "{a}");
        assert_ne!(a, generate_refund_no("sz0100test20240101120000001"));
    }


}
