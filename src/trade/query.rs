//! query_order and the background poll: a cached final state at once, otherwise one live
//! query whose reply counts only when verified and about this order.

use super::*;

impl Trade {
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
    pub(super) fn live_query(
        &self,
        out_trade_no: &str,
        platform: Option<PayPlatform>,
        trade_type: Option<TradeType>,
    ) -> QueryOutcome {
        // A number an earlier process journaled and this one does not follow: its create's nonce.
        let journaled_nonce = self.journaled_before.lock().get(out_trade_no).and_then(|j| j.1.clone());
        let (platform, trade_type, pinned, generation) = match self.orders.lock().get(out_trade_no) {
            Some(r) => {
                (platform.or(r.pay_platform), trade_type.or(Some(r.trade_type)), r.domain.clone(), Some(r.generation))
            }
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
            let message = format!(
                "{} — a newer request about order {out_trade_no} went out while this query was under way; query again",
                ex.detail
            );
            return QueryOutcome { code: OrderCode::Unknown, output: local_output(rec), message: Some(message) };
        }
        // This till never got the order out, and the query cannot reach a server either: the
        // order does not exist and the customer was not charged, whatever the network does.
        if ex.class == StatusClass::Unknown
            && ex.not_sent.is_some()
            && let Some(rec) = rec.as_deref().filter(|r| r.never_sent() && r.local == LocalState::Fail)
        {
            let message = format!(
                "order {out_trade_no} was never sent ({}): it does not exist and the customer was not charged; this query could not reach a server either: {}",
                rec.last_detail, ex.detail
            );
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
                let echo = state::echo(
                    order,
                    out_trade_no,
                    result.sub_mch(),
                    &self.client.trade_conf().out_sub_mch_id,
                    sent_fee,
                    create_nonce,
                );
                if let state::Echo::Other(about) = &echo {
                    let message = format!(
                        "{} — the verified reply is about {about}, not order {out_trade_no}: not trusted; result unknown, query again",
                        ex.detail
                    );
                    return unknown_with_record(rec.as_deref(), out_trade_no, message);
                }
                // Created by this till's own create (its nonce): after a refusal, the repeat of
                // the same sale took the number.
                let own_create = rec
                    .as_ref()
                    .and_then(|r| r.create_nonce.as_deref())
                    .is_some_and(|n| order.nonce_str.as_deref() == Some(n));
                // Another sale's order under this number: another amount, or paid although the
                // server refused this till's create of it (and no nonce says it is this till's).
                let refused_paid = rec.as_ref().is_some_and(|r| r.refused)
                    && !own_create
                    && state::map_order(order, trade_type, false).0 == OrderCode::Paid;
                if let Some(rec) =
                    rec.as_deref_mut().filter(|_| refused_paid || matches!(echo, state::Echo::OtherAmount(_)))
                {
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
                    return unknown_with_record(rec.as_deref(), out_trade_no, message);
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
                        let refunds = refunds_possible(outcome.code, rec.local, rec.pay_platform)
                            .then(|| (rec.pay_platform, rec.domain.clone(), rec.generation));
                        drop(orders);
                        self.journal_state(change);
                        match refunds {
                            Some((platform, domain, generation)) => self.with_refund_totals(
                                outcome,
                                out_trade_no,
                                platform,
                                domain.as_deref(),
                                Some(generation),
                            ),
                            None => outcome,
                        }
                    }
                    None => {
                        let (code, local, _) = state::map_order(order, trade_type, order.code_url.is_some());
                        let (output, platform_state) =
                            order_output(out_trade_no, local, order.code_url.as_deref(), raw.as_deref(), trade_type);
                        let platform = order.trade_state().map(|(p, _)| p);
                        let message = match code {
                            OrderCode::Paid => None,
                            OrderCode::Failed => {
                                Some(output::failed_message(out_trade_no, Some(&output), platform_state, platform))
                            }
                            _ => Some(ex.detail),
                        };
                        let outcome = QueryOutcome { code, output, message };
                        drop(orders);
                        if refunds_possible(code, local, platform) {
                            self.with_refund_totals(outcome, out_trade_no, platform, Some(&ex.domain), None)
                        } else {
                            outcome
                        }
                    }
                }
            }
            StatusClass::Unknown => {
                let message = format!("{} — result unknown, query again", ex.detail);
                unknown_with_record(rec.as_deref(), out_trade_no, message)
            }
            StatusClass::FailedFinal | StatusClass::FailedRetryNewNumber | StatusClass::ReEntry => {
                // Only a verified reply says "does not exist": an unsigned 101 is an error (-3)
                // whatever internal_status it carries.
                let code = if ex.internal_status() == status::internal::ORDER_NOT_FOUND && !unsigned(&ex) {
                    OrderCode::NotExist
                } else {
                    OrderCode::Error
                };
                // "Does not exist" contradicts an earlier verified reply that showed the order,
                // and says nothing about a domain other than the one that may have taken it.
                if let Some(rec) = &rec
                    && code == OrderCode::NotExist
                    && (rec.seen || rec.maybe_at.as_ref().is_some_and(|d| *d != ex.domain))
                {
                    let why = if rec.seen {
                        "an earlier verified reply showed it".to_owned()
                    } else {
                        format!("its payment may have reached {}", rec.maybe_at.as_deref().unwrap_or(""))
                    };
                    let message = format!(
                        "{} — the server says order {out_trade_no} does not exist, but {why}: result unknown, query again",
                        ex.detail
                    );
                    return QueryOutcome {
                        code: OrderCode::Unknown,
                        output: local_output(rec),
                        message: Some(message),
                    };
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
                QueryOutcome {
                    code,
                    output: json!({"out_trade_no": out_trade_no}).to_string().into(),
                    message: Some(ex.detail),
                }
            }
        }
    }

    /// Adds `refunded_fee` and `refund_count` (refunds not failed, from a verified refund query)
    /// to a -4 outcome, and says "partly refunded" or "fully refunded". Without a verified
    /// answer, or when there are no refunds (closed unpaid), the outcome stays as it is. The
    /// record keeps the totals unless a newer request about the order went out meanwhile.
    fn with_refund_totals(
        &self,
        mut outcome: QueryOutcome,
        no: &str,
        platform: Option<PayPlatform>,
        domain: Option<&str>,
        generation: Option<u64>,
    ) -> QueryOutcome {
        let request = t::QueryRefundOrderRequest {
            pay_mch_key: self.client.pay_mch_key(platform),
            order_client: self.client.order_client(false),
            out_trade_no: no.to_owned(),
            out_refund_no: None,
            nonce_str: crate::nonce::nonce_str(),
        };
        let ex: Exchange<t::QueryRefundOrderResult> =
            self.client.call_at::<t::QueryRefundOrder>(domain, &request, AuthChoice::Hmac);
        let sub_mch = &self.client.trade_conf().out_sub_mch_id;
        let Some(r) = ex.result().filter(|r| {
            r.pay_mch_key.as_ref().is_none_or(|k| k.out_sub_mch_id.is_empty() || k.out_sub_mch_id == *sub_mch)
                && r.refund_order_content.iter().all(|c| c.out_trade_no == no)
        }) else {
            return outcome;
        };
        let live: Vec<&t::RefundOrderContent> =
            r.refund_order_content.iter().filter(|c| state::refund_state(c) != 3).collect();
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
}

/// Whether a -4 order may carry refunds worth counting: WeChat's "refund" state, or an Alipay
/// order closed (Alipay closes a fully refunded order).
fn refunds_possible(code: OrderCode, local: LocalState, platform: Option<PayPlatform>) -> bool {
    code == OrderCode::Closed
        && (local == LocalState::Refund || (local == LocalState::Closed && platform == Some(PayPlatform::ALIPAY)))
}

/// Unknown, with what is known locally: the record's last trusted output when this process
/// follows the order, else the number alone.
fn unknown_with_record(rec: Option<&OrderRecord>, out_trade_no: &str, message: String) -> QueryOutcome {
    match rec {
        Some(rec) => QueryOutcome { code: OrderCode::Unknown, output: local_output(rec), message: Some(message) },
        None => unknown_outcome(out_trade_no, &message),
    }
}
