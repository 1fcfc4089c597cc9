//! Fault injection: rules that replace or corrupt replies, or break the connection.
//!
//! JSON form (the control API takes exactly the serde form of [`FaultRule`]):
//! `{"endpoint":"micro_pay","out_trade_no":null,"kind":{"Delay":{"ms":3000}},"times":1,"phase":"AfterProcessing"}`;
//! unit kinds are plain strings: `"kind":"Status3"`, `"kind":"DropMidReply"`.

use serde::{Deserialize, Serialize};

/// What goes wrong.
#[derive(Serialize, Deserialize, Debug, Clone, PartialEq)]
pub enum FaultKind {
    /// status 3 (unknown), no authen_info.
    Status3,
    /// status 101 (rejected), no authen_info.
    Status101,
    /// status 102 (retry with a new number), authenticated.
    Status102,
    /// status 103 (retry the same request), authenticated.
    Status103,
    /// status 104 with the given internal_status, authenticated.
    Status104 {
        /// internal_status to send.
        internal_status: i32,
    },
    /// status 104 + internal_status 407 (anti-re-entry), authenticated.
    ReEntry407,
    /// Wait before replying.
    Delay {
        /// Milliseconds.
        ms: u64,
    },
    /// Send the headers and half the body, then close the connection.
    DropMidReply,
    /// Close the connection without replying.
    ResetBeforeReply,
    /// HTTP 500 with a text body.
    Http500,
    /// HTTP 200 with an HTML body.
    NonJsonBody,
    /// Flip one character of the reply's authen_code.
    BadHmac,
    /// Omit authen_info on the reply.
    MissingAuthen,
    /// A valid HMAC, but of a different response_content (one field changed).
    HmacOverOtherContent,
    /// Hostile framing: a chunked reply whose first chunk claims `FFFFFFFFFFFFFFFF` bytes,
    /// then streams filler (up to 64 MiB) for as long as the client reads.
    OversizedChunk,
    /// Hostile framing: the real body chunked, then trailer lines without end (up to 64 MiB).
    EndlessTrailers,
    /// The reply (head and body) written one byte every `ms` milliseconds: a slow or
    /// hostile peer that keeps the connection alive without ever finishing.
    SlowDrip {
        /// Milliseconds between bytes.
        ms: u64,
    },
    /// A correctly signed reply about another order: the request is processed as if it named
    /// this `out_trade_no` (and this `out_refund_no`, when given) instead of its own.
    AnswerAbout {
        /// The order the reply is about.
        out_trade_no: String,
        /// The refund the reply is about (refund requests).
        #[serde(default)]
        out_refund_no: Option<String>,
    },
}

/// Whether the request is applied before the fault hits.
#[derive(Serialize, Deserialize, Debug, Clone, Copy, PartialEq, Eq)]
pub enum FaultPhase {
    /// The request is not applied (nothing created, paid or refunded).
    BeforeProcessing,
    /// The request is applied, then the reply is replaced or corrupted.
    AfterProcessing,
}

/// One fault rule.
#[derive(Serialize, Deserialize, Debug, Clone, PartialEq)]
pub struct FaultRule {
    /// Endpoint path (e.g. `micro_pay`); `None` = any endpoint.
    #[serde(default)]
    pub endpoint: Option<String>,
    /// Only requests about this order number; `None` = any request.
    #[serde(default)]
    pub out_trade_no: Option<String>,
    /// What goes wrong.
    pub kind: FaultKind,
    /// How many matching requests it hits; `None` = until cleared.
    #[serde(default)]
    pub times: Option<u32>,
    /// Before or after processing; `None` = the kind's default.
    #[serde(default)]
    pub phase: Option<FaultPhase>,
}

impl FaultKind {
    /// Default phase: status faults and resets hit before processing; envelope corruptions,
    /// delays, broken replies after (the request was applied but the client cannot know).
    pub fn default_phase(&self) -> FaultPhase {
        match self {
            FaultKind::Status3
            | FaultKind::Status101
            | FaultKind::Status102
            | FaultKind::Status103
            | FaultKind::Status104 { .. }
            | FaultKind::ReEntry407
            | FaultKind::ResetBeforeReply => FaultPhase::BeforeProcessing,
            _ => FaultPhase::AfterProcessing,
        }
    }

    /// The (status, internal_status) a status fault replies with.
    pub fn status(&self) -> Option<(i32, i32)> {
        Some(match self {
            FaultKind::Status3 => (3, 0),
            FaultKind::Status101 => (101, 0),
            FaultKind::Status102 => (102, 0),
            FaultKind::Status103 => (103, 0),
            FaultKind::Status104 { internal_status } => (104, *internal_status),
            FaultKind::ReEntry407 => (104, 407),
            _ => return None,
        })
    }
}

impl FaultRule {
    /// The effective phase.
    pub fn phase(&self) -> FaultPhase {
        self.phase.unwrap_or_else(|| self.kind.default_phase())
    }
}

/// A fault picked for one request.
#[derive(Debug, Clone)]
pub struct ActiveFault {
    /// What goes wrong.
    pub kind: FaultKind,
    /// When.
    pub phase: FaultPhase,
}

/// The live rule list.
#[derive(Default)]
pub struct FaultTable {
    next_id: u64,
    rules: Vec<(u64, FaultRule)>,
}

impl FaultTable {
    /// Adds a rule, returns its id.
    pub fn add(&mut self, rule: FaultRule) -> u64 {
        self.next_id += 1;
        self.rules.push((self.next_id, rule));
        self.next_id
    }

    /// Removes every rule.
    pub fn clear(&mut self) {
        self.rules.clear();
    }

    /// Removes one rule.
    pub fn remove(&mut self, id: u64) -> bool {
        let n = self.rules.len();
        self.rules.retain(|(i, _)| *i != id);
        n != self.rules.len()
    }

    /// The rules, for display.
    pub fn list(&self) -> Vec<(u64, FaultRule)> {
        self.rules.clone()
    }

    /// Picks the first matching rule (oldest first) and consumes one of its `times`.
    pub fn take(&mut self, endpoint: &str, out_trade_no: Option<&str>) -> Option<ActiveFault> {
        let idx = self.rules.iter().position(|(_, r)| {
            r.endpoint.as_deref().is_none_or(|e| e == endpoint)
                && r.out_trade_no.as_deref().is_none_or(|o| Some(o) == out_trade_no)
        })?;
        let rule = &mut self.rules[idx].1;
        let active = ActiveFault { kind: rule.kind.clone(), phase: rule.phase() };
        if let Some(t) = rule.times.as_mut() {
            *t = t.saturating_sub(1);
            if *t == 0 {
                self.rules.remove(idx);
            }
        }
        Some(active)
    }
}
