//! The persisted store: orders, refunds, shops, logins, uploads. Written to
//! `<state_dir>/state.json` (temp file + rename) after every change, unless the state
//! directory is a temporary one.

use std::collections::BTreeMap;
use std::io;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::config::{SandboxConfig, ShopConfig};

/// Uploads kept per kind (oldest dropped first) so a long-running sandbox stays small.
const MAX_UPLOADS: usize = 1000;

/// A pending automatic transition (customer finishes paying, gives up, …).
#[derive(Serialize, Deserialize, Debug, Clone, PartialEq)]
pub struct Pending {
    /// Wall-clock milliseconds when it happens.
    pub at_ms: u64,
    /// Platform state afterwards.
    pub to_state: i32,
    /// Whether money is taken at that moment.
    pub pays: bool,
    /// trade_state_desc afterwards.
    pub desc: String,
}

/// An order (micro_pay or scan_code_pay).
#[derive(Serialize, Deserialize, Debug, Clone)]
pub struct Order {
    /// Merchant order number.
    pub out_trade_no: String,
    /// Service provider.
    pub out_mch_id: String,
    /// Sub-merchant.
    pub out_sub_mch_id: String,
    /// Shop.
    pub out_shop_id: String,
    /// PayPlatform (1 WeChat, 2 Alipay).
    pub pay_platform: i32,
    /// TradeType (1 micro, 2 scan code).
    pub trade_type: i32,
    /// Idempotency key: normalised pay_content + platform + trade type.
    pub fingerprint: Value,
    /// pay_content as received (normalised).
    pub pay_content: Value,
    /// order_client as received.
    pub order_client: Value,
    /// Nonce of the creating request.
    pub nonce_str: String,
    /// Amount, fen.
    pub total_fee: i64,
    /// Payment code (micro_pay).
    pub author_code: Option<String>,
    /// QR URL (scan_code_pay).
    pub code_url: Option<String>,
    /// Expiry, Unix seconds (scan_code_pay).
    pub time_expire: Option<i64>,
    /// Platform state (WeChat or Alipay numbering by pay_platform).
    pub state: i32,
    /// trade_state_desc.
    pub state_desc: String,
    /// Scheduled transition.
    pub pending: Option<Pending>,
    /// Created, ms.
    pub create_ms: u64,
    /// Last change, ms.
    pub update_ms: u64,
    /// Paid at, Unix seconds.
    pub time_end: Option<i64>,
    /// Platform transaction number (after payment).
    pub transaction_id: Option<String>,
    /// How many times money was taken (must stay ≤ 1).
    pub charge_count: u32,
    /// Money given back by a reverse of a paid order.
    pub reversed_after_payment: bool,
    /// The customer saw the QR code and gave up (scan_code_pay).
    pub customer_cancelled: bool,
}

impl Order {
    /// Paid and not reversed: refundable money exists.
    pub fn is_paid(&self) -> bool {
        self.charge_count > 0 && !self.reversed_after_payment
    }
}

/// A refund.
#[derive(Serialize, Deserialize, Debug, Clone)]
pub struct Refund {
    /// Refund number.
    pub out_refund_no: String,
    /// Original order.
    pub out_trade_no: String,
    /// Sub-merchant.
    pub out_sub_mch_id: String,
    /// Idempotency key: normalised refund_content.
    pub fingerprint: Value,
    /// order_client as received.
    pub order_client: Value,
    /// Nonce of the creating request.
    pub nonce_str: String,
    /// This refund, fen.
    pub refund_fee: i64,
    /// Order total, fen.
    pub total_fee: i64,
    /// Reason.
    pub refund_reason: Option<String>,
    /// Platform refund number.
    pub refund_id: String,
    /// Refund state (1/2/3/4, same numbers for both platforms).
    pub state: i32,
    /// When processing ends, ms.
    pub done_at_ms: u64,
    /// Ends in failure (`sandbox:fail` in the reason).
    pub will_fail: bool,
    /// Created, ms.
    pub create_ms: u64,
    /// Last change, ms.
    pub update_ms: u64,
    /// Success time, Unix seconds.
    pub success_time: Option<i64>,
}

/// State of a client_initialize login.
#[derive(Serialize, Deserialize, Debug, Clone, PartialEq)]
pub enum LoginStatus {
    /// Waiting for an admin to scan.
    Pending,
    /// Approved by this staff id.
    Approved {
        /// Confirming staff.
        staff_id: String,
    },
    /// Rejected by the admin.
    Rejected,
    /// Expired (ttl passed or forced).
    Expired,
}

/// A client_initialize login.
#[derive(Serialize, Deserialize, Debug, Clone)]
pub struct Login {
    /// Public id (in the QR code).
    pub activator: String,
    /// Private polling token.
    pub token: String,
    /// Sub-merchant.
    pub out_sub_mch_id: String,
    /// Shop asked for.
    pub out_shop_id: Option<String>,
    /// Created, ms.
    pub create_ms: u64,
    /// Validity, seconds.
    pub ttl: u64,
    /// Status.
    pub status: LoginStatus,
}

/// Everything persisted.
#[derive(Serialize, Deserialize, Debug, Default)]
#[serde(default)]
pub struct Store {
    /// Orders by out_trade_no.
    pub orders: BTreeMap<String, Order>,
    /// Refunds by out_refund_no.
    pub refunds: BTreeMap<String, Refund>,
    /// Shops by out_sub_mch_id.
    pub shops: BTreeMap<String, Vec<ShopConfig>>,
    /// Logins by activator.
    pub logins: BTreeMap<String, Login>,
    /// upload_client_monitor_info request contents.
    pub monitor_uploads: Vec<Value>,
    /// upload_client_conf_info request contents.
    pub conf_uploads: Vec<Value>,
    /// Last log_id handed out.
    pub log_id: i64,
}

impl Store {
    /// Loads `state.json` from `dir` if present; fills in shops of merchants it has not seen.
    pub fn load(dir: &Path, cfg: &SandboxConfig) -> io::Result<Store> {
        let path = state_file(dir);
        let mut store: Store = match std::fs::read(&path) {
            Ok(bytes) => serde_json::from_slice(&bytes)
                .map_err(|e| io::Error::new(io::ErrorKind::InvalidData, format!("{}: {e}", path.display())))?,
            Err(e) if e.kind() == io::ErrorKind::NotFound => Store::default(),
            Err(e) => return Err(e),
        };
        for m in &cfg.merchants {
            store.shops.entry(m.out_sub_mch_id.clone()).or_insert_with(|| m.shops.clone());
        }
        Ok(store)
    }

    /// Writes the whole store atomically (temp file + rename).
    pub fn save(&self, dir: &Path) -> io::Result<()> {
        let path = state_file(dir);
        let tmp = dir.join("state.json.tmp");
        let text = serde_json::to_vec_pretty(self).map_err(io::Error::other)?;
        std::fs::write(&tmp, text)?;
        std::fs::rename(&tmp, &path)
    }

    /// Records an upload, dropping the oldest beyond the cap.
    pub fn push_upload(list: &mut Vec<Value>, v: Value) {
        list.push(v);
        if list.len() > MAX_UPLOADS {
            let extra = list.len() - MAX_UPLOADS;
            list.drain(..extra);
        }
    }

    /// Refunds of an order, oldest first.
    pub fn refunds_of(&self, out_trade_no: &str) -> Vec<&Refund> {
        let mut v: Vec<&Refund> = self.refunds.values().filter(|r| r.out_trade_no == out_trade_no).collect();
        v.sort_by(|a, b| a.create_ms.cmp(&b.create_ms).then(a.out_refund_no.cmp(&b.out_refund_no)));
        v
    }

    /// The shop with this out_shop_id.
    pub fn shop(&self, out_sub_mch_id: &str, out_shop_id: &str) -> Option<&ShopConfig> {
        self.shops.get(out_sub_mch_id)?.iter().find(|s| s.out_shop_id == out_shop_id)
    }
}

/// Path of the state file.
pub fn state_file(dir: &Path) -> PathBuf {
    dir.join("state.json")
}
