//! What every endpoint handler works with: the request context, the outcome, and the common
//! request checks. Kept apart from `handlers`, which dispatches to the endpoint modules, so
//! the endpoints and the dispatcher do not import each other.

use cloud_pay_protocol::wire;
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::{Map, Value};

use crate::config::{MerchantConfig, SandboxConfig};
use crate::state::Store;
use crate::util::random_alnum;

/// Success text.
pub const OK_TEXT: &str = "操作成功。";

/// Everything a business handler may touch.
pub struct Ctx<'a> {
    /// Configuration.
    pub cfg: &'a SandboxConfig,
    /// The authenticated merchant.
    pub m: &'a MerchantConfig,
    /// The store (locked).
    pub store: &'a mut Store,
    /// Wall clock, ms.
    pub now: u64,
    /// Current refund processing time.
    pub refund_delay_ms: u64,
    /// `http://host:port/` of this sandbox (for QR URLs).
    pub base_url: &'a str,
    /// The store changed: persist it.
    pub dirty: bool,
}

/// A business result: status, sub-code, text and (status 0 only) the result object.
#[derive(Debug, Clone)]
pub struct Outcome {
    /// status.
    pub status: i32,
    /// internal_status.
    pub internal_status: i32,
    /// description.
    pub description: String,
    /// Result object.
    pub result: Option<Value>,
}

impl Outcome {
    /// status 0 with a result object (a fresh server nonce is added when missing).
    pub fn ok(result: impl Serialize) -> Outcome {
        let mut v = wire::to_value(&result);
        if let Value::Object(m) = &mut v
            && !m.contains_key("nonce_str")
        {
            m.insert("nonce_str".into(), random_alnum(32).into());
        }
        Outcome { status: 0, internal_status: 0, description: OK_TEXT.into(), result: Some(v) }
    }

    /// A failure.
    pub fn fail(status: i32, internal_status: i32, description: impl Into<String>) -> Outcome {
        Outcome { status, internal_status, description: description.into(), result: None }
    }

    /// 101: the request is malformed.
    pub fn bad(description: impl Into<String>) -> Outcome {
        Outcome::fail(101, 1, description)
    }

    /// 104: business failure.
    pub fn biz(internal_status: i32, description: impl Into<String>) -> Outcome {
        Outcome::fail(104, internal_status, description)
    }
}

/// Handler result: `Err` short-circuits with a failure reply.
pub type Res = Result<Outcome, Outcome>;

/// Parses request_content into an endpoint's typed request (lenient ints).
pub fn typed<T: DeserializeOwned>(req: &Map<String, Value>) -> Result<T, Outcome> {
    wire::from_value(Value::Object(req.clone())).map_err(|e| Outcome::bad(format!("request_content: {e}")))
}

/// A required non-empty string.
pub fn required(v: &str, name: &str) -> Result<(), Outcome> {
    if v.trim().is_empty() { Err(Outcome::bad(format!("参数{name}缺失 (missing {name})"))) } else { Ok(()) }
}

/// Order/refund number rule (docs/wire-protocol.md, "Order and refund numbers"): a merchant prefix,
/// then `[0-9A-Za-z_-]`, 32 chars at most.
pub fn check_number(m: &MerchantConfig, no: &str, name: &str) -> Result<(), Outcome> {
    required(no, name)?;
    if no.len() > 32 || !no.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-') {
        return Err(Outcome::bad(format!("参数{name}格式错误 ({name} must be 1-32 characters [0-9A-Za-z_-])")));
    }
    if !m.prefixes().iter().any(|p| !p.is_empty() && no.starts_with(p.as_str())) {
        return Err(Outcome::bad(format!(
            "参数{name}前缀错误 ({name} must start with the sub-merchant prefix: {})",
            m.prefixes().join(" or ")
        )));
    }
    Ok(())
}
