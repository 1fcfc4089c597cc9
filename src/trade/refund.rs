//! refund and query_refund: a refund number is kept (journaled) while its outcome is
//! unknown, so a retry reuses it and the customer is never refunded twice.

use super::*;

impl Trade {
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
        let request_digest = digest(
            self.key(),
            &[
                &self.client.trade_conf().out_sub_mch_id,
                &out_trade_no,
                &platform.0.to_string(),
                &total_fee.to_string(),
                &refund_fee.to_string(),
                reason.as_deref().unwrap_or(""),
            ],
        );
        let (out_refund_no, generated) = match &req.out_refund_no {
            Some(s) if !s.trim().is_empty() => {
                (input::order_number(&req.out_refund_no, "out_refund_no")?.to_owned(), false)
            }
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
        self.journal.append_durable(&[entry]).map_err(|e| {
            SdkError::Internal(format!("cannot record the refund in the journal ({e}); nothing was sent"))
        })?;
        if let Some(rec) = self.orders.lock().get_mut(&out_trade_no) {
            // Queries already under way predate the refund: their answers no longer count.
            rec.generation += 1;
        }
        self.refund_attempts.lock().entry(out_refund_no.clone()).or_default().in_flight += 1;
        let ex = self.client.call_at::<t::Refund>(
            local.as_ref().and_then(|r| r.domain.as_deref()),
            &request,
            AuthChoice::SignIfConfigured,
        );
        let never_sent = {
            let mut attempts = self.refund_attempts.lock();
            let a = attempts.entry(out_refund_no.clone()).or_default();
            a.in_flight = a.in_flight.saturating_sub(1);
            a.reached |= ex.not_sent.is_none();
            !a.reached && a.in_flight == 0
        };
        let about = ex
            .result()
            .and_then(|r| refund_echo(r, &out_trade_no, &out_refund_no, &self.client.trade_conf().out_sub_mch_id));
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
                Some(cause) => format!(
                    "nothing was sent: {cause} — no refund was made for out_refund_no {out_refund_no}; check common_conf.base_url, ca_file and the network, then refund again"
                ),
                None => ex.detail,
            }),
        };
        Ok(CallOutcome {
            code,
            output: Some(json!({"out_trade_no": out_trade_no, "out_refund_no": out_refund_no})),
            message,
        })
    }

    /// query_refund: one refund or all refunds of an order.
    pub fn query_refund(&self, req: &QueryRefundSdkRequest) -> Result<CallOutcome, SdkError> {
        let out_trade_no = input::order_number(&req.out_trade_no, "out_trade_no")?.to_owned();
        let out_refund_no = match &req.out_refund_no {
            Some(s) if !s.trim().is_empty() => {
                Some(input::order_number(&req.out_refund_no, "out_refund_no")?.to_owned())
            }
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
        let ex: Exchange<t::QueryRefundOrderResult> = self.client.call_at::<t::QueryRefundOrder>(
            local.as_ref().and_then(|r| r.domain.as_deref()),
            &request,
            AuthChoice::Hmac,
        );
        let sub_mch = &self.client.trade_conf().out_sub_mch_id;
        let about = ex.result().and_then(|r| {
            r.pay_mch_key
                .as_ref()
                .map(|k| &k.out_sub_mch_id)
                .filter(|s| !s.is_empty() && *s != sub_mch)
                .map(|s| format!("sub-merchant {s}"))
                .or_else(|| {
                    r.refund_order_content.iter().find_map(|c| {
                        if c.out_trade_no != out_trade_no {
                            Some(format!("order {}", c.out_trade_no))
                        } else {
                            out_refund_no
                                .as_ref()
                                .filter(|n| **n != c.out_refund_no)
                                .map(|_| format!("refund {}", c.out_refund_no))
                        }
                    })
                })
        });
        match ex.class {
            StatusClass::Success if about.is_some() => Ok(CallOutcome {
                code: CallCode::Unknown,
                output: None,
                message: Some(format!(
                    "{} — the verified reply is about {}, not what was asked: not trusted; result unknown, query again",
                    ex.detail,
                    about.unwrap_or_default()
                )),
            }),
            StatusClass::Success => {
                let refunds = ex.result().map(|r| r.refund_order_content.clone()).unwrap_or_default();
                self.settle_refunds(&refunds);
                Ok(CallOutcome {
                    code: CallCode::Ok,
                    output: Some(refund_output(&out_trade_no, out_refund_no.as_deref(), &refunds)),
                    message: None,
                })
            }
            StatusClass::FailedFinal | StatusClass::FailedRetryNewNumber
                if ex.internal_status() == status::internal::REFUND_NOT_FOUND && !unsigned(&ex) =>
            {
                Ok(CallOutcome {
                    code: CallCode::Ok,
                    output: Some(refund_output(&out_trade_no, out_refund_no.as_deref(), &[])),
                    message: None,
                })
            }
            StatusClass::Unknown => Ok(CallOutcome {
                code: CallCode::Unknown,
                output: None,
                message: Some(format!("{} — result unknown, query again", ex.detail)),
            }),
            _ => Ok(CallOutcome { code: CallCode::Failed, output: None, message: Some(ex.detail) }),
        }
    }
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
