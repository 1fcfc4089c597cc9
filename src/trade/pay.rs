//! micro_pay and scan_code_pay: an order is recorded and journaled before its first send,
//! and a retry re-sends the identical request under the same number.

use super::*;

impl Trade {
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
    fn create_order<A>(
        &self,
        mut request: t::PayRequest,
        platform: PayPlatform,
        trade_type: TradeType,
    ) -> Result<PayOutcome, SdkError>
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
                        format!(
                            "out_trade_no {out_trade_no} was already used for a different order (this process or the order journal); nothing was sent (use a new order number for a new sale)"
                        )
                    } else {
                        format!(
                            "an unfinished payment with other content exists for out_trade_no {out_trade_no} (this process or the order journal): query it with cloud_pay_query_order before anything else; nothing was sent"
                        )
                    }));
                }
                // A retry: the identical bytes again (after a restart, the same content anew).
                Some(rec) => {
                    // After a restart the same content goes again under the create's journaled
                    // nonce, so an order it created is still told from another request's.
                    if rec.request_content.is_empty() {
                        rec.request_content = text_under(&mut request, rec.create_nonce.clone(), text);
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
                    (
                        rec.request_content.clone(),
                        rec.domain.clone(),
                        reopen,
                        rec.generation,
                        no_earlier_order,
                        rec.refused,
                        rec.create_nonce.clone(),
                    )
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
                    let text = text_under(&mut request, journaled.and_then(|j| j.1), text);
                    orders.insert(
                        out_trade_no.clone(),
                        OrderRecord {
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
                        },
                    );
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
                entries.push(journal::Entry::State {
                    no: out_trade_no.clone(),
                    state: LocalState::Unknown as i32,
                    fin: false,
                    at: None,
                    refused: true,
                });
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
                return Err(SdkError::Internal(format!(
                    "cannot record the order in the journal ({e}); nothing was sent"
                )));
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
        let domain_change = (ex.domain != journaled_domain)
            .then(|| journal::Entry::Domain { no: out_trade_no.clone(), domain: ex.domain.clone() });
        rec.domain = Some(ex.domain.clone());
        let before = state::journal_key(rec);
        let class = decided_class(&ex);
        // The create's own verified reply is trusted with the order it shows (the server
        // answered this request); the creating nonce is compared on queries only.
        let echo = ex.result().and_then(|r| {
            r.order_content().map(|o| {
                state::echo(
                    o,
                    &out_trade_no,
                    r.sub_mch(),
                    &self.client.trade_conf().out_sub_mch_id,
                    rec.total_fee,
                    None,
                )
            })
        });
        let result = match class {
            StatusClass::Success if matches!(echo, Some(state::Echo::Other(_))) => {
                let Some(state::Echo::Other(about)) = echo else { unreachable!() };
                rec.maybe_at = Some(ex.domain.clone());
                let message = format!(
                    "{} — the verified reply is about {about}, not order {out_trade_no}: not trusted; outcome unknown, the SDK keeps querying the order",
                    ex.detail
                );
                (PayOutcome { accept: Accept::Accepted, output, message: Some(message) }, rec.polls_left > 0)
            }
            StatusClass::Success if matches!(echo, Some(state::Echo::OtherAmount(_))) => {
                let Some(state::Echo::OtherAmount(fee)) = echo else { unreachable!() };
                let message = other_sale(rec, fee);
                (
                    PayOutcome {
                        accept: Accept::NotAccepted,
                        output,
                        message: Some(format!("{} — {message}", ex.detail)),
                    },
                    false,
                )
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
                let advice = if ex.class == StatusClass::FailedRetryNewNumber {
                    " (retry only with a new out_trade_no)"
                } else {
                    ""
                };
                (
                    PayOutcome { accept: Accept::NotAccepted, output, message: Some(format!("{}{advice}", ex.detail)) },
                    false,
                )
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
            self.scheduler
                .schedule(&out_trade_no, Instant::now() + self.poll.next_delay(trade_type, poll_count, poll_interval));
        }
        Ok(outcome)
    }
}

/// The request text under a creating nonce that was kept (a retry after a restart sends the
/// same content under it, so an order it created is still told from another request's); with
/// none kept, `fresh`, the text already made under a new nonce.
fn text_under(request: &mut t::PayRequest, kept: Option<String>, fresh: String) -> String {
    match kept {
        Some(nonce) => {
            request.nonce_str = nonce;
            wire::to_text(request)
        }
        None => fresh,
    }
}
