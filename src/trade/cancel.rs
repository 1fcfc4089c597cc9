//! cancel_order: reverse (micro pay) or close (scan code), never for a re-entry order.

use super::*;

impl Trade {
    /// cancel_order: trade_type 1 → reverse, 2 → close_order. A re-entry order is refused locally.
    pub fn cancel_order(&self, req: &OrderRefSdkRequest) -> Result<CallOutcome, SdkError> {
        let out_trade_no = input::order_number(&req.out_trade_no, "out_trade_no")?.to_owned();
        let trade_type = trade_type_arg(req.trade_type)?.ok_or_else(|| {
            SdkError::BadInput("trade_type is required (1 reverse a micro-pay order, 2 close a scan-code order)".into())
        })?;
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
                    return Err(SdkError::Refused(format!(
                        "order {out_trade_no}: payment still being submitted: query it with cloud_pay_query_order; nothing was sent"
                    )));
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
                    rec.local =
                        if trade_type == TradeType::MICRO_PAY { LocalState::Reverse } else { LocalState::Closed };
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
}
