//! The state every part of a running sandbox shares: configuration, merchant keys, the store,
//! fault rules, request counters, log_ids. Declared in the model, below the endpoint handlers
//! and the control API that both use it, so neither imports the other.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};

use cloud_pay_protocol::crypto::VerifyingKey;
use parking_lot::{Mutex, RwLock};

use crate::config::SandboxConfig;
use crate::faults::FaultTable;
use crate::state::Store;

/// log_ids start above 2^31, as the real server's do (e.g. 3594950898): clients must read
/// them as int64 / uint32.
pub const FIRST_LOG_ID: i64 = 3_000_000_000;

/// State shared by the endpoint handlers, the console and the control API.
pub struct Shared {
    /// Configuration (knobs may change at run time).
    pub cfg: RwLock<SandboxConfig>,
    /// RSA public keys by out_sub_mch_id.
    pub keys: HashMap<String, VerifyingKey>,
    /// The persisted store.
    pub store: Mutex<Store>,
    /// Fault rules.
    pub faults: Mutex<FaultTable>,
    /// Requests per endpoint path.
    pub requests: Mutex<HashMap<String, u64>>,
    /// Requests per endpoint path and the order number they are about.
    pub order_requests: Mutex<HashMap<(String, String), u64>>,
    /// Where state.json lives.
    pub state_dir: PathBuf,
    /// Whether state.json is written: not for a temporary state directory, which nothing can
    /// load again (it is deleted on stop).
    persist: bool,
    /// `http://127.0.0.1:P/`, set once bound.
    pub base: RwLock<String>,
    log_id: AtomicI64,
    refund_delay_ms: AtomicU64,
}

impl Shared {
    /// Builds the shared state around a loaded store.
    pub fn new(cfg: SandboxConfig, store: Store, state_dir: PathBuf, persist: bool) -> Shared {
        let keys = cfg
            .merchants
            .iter()
            .filter_map(|m| VerifyingKey::from_pem(&m.public_key_pem).ok().map(|k| (m.out_sub_mch_id.clone(), k)))
            .collect();
        let log_id = store.log_id.max(FIRST_LOG_ID);
        let delay = cfg.refund_success_after_ms;
        Shared {
            cfg: RwLock::new(cfg),
            keys,
            store: Mutex::new(store),
            faults: Mutex::new(FaultTable::default()),
            requests: Mutex::new(HashMap::new()),
            order_requests: Mutex::new(HashMap::new()),
            state_dir,
            persist,
            base: RwLock::new(String::new()),
            log_id: AtomicI64::new(log_id),
            refund_delay_ms: AtomicU64::new(delay),
        }
    }

    /// Counts a request to `/cpay/<path>`.
    pub fn count_request(&self, path: &str) {
        *self.requests.lock().entry(path.to_owned()).or_insert(0) += 1;
    }

    /// Counts a request to `/cpay/<path>` about order `out_trade_no`.
    pub fn count_order_request(&self, path: &str, out_trade_no: &str) {
        *self.order_requests.lock().entry((path.to_owned(), out_trade_no.to_owned())).or_insert(0) += 1;
    }

    /// A fresh log_id.
    pub fn next_log_id(&self) -> i64 {
        self.log_id.fetch_add(1, Ordering::SeqCst) + 1
    }

    /// The last log_id handed out.
    pub fn current_log_id(&self) -> i64 {
        self.log_id.load(Ordering::SeqCst)
    }

    /// Refund processing time now in force.
    pub fn refund_delay_ms(&self) -> u64 {
        self.refund_delay_ms.load(Ordering::SeqCst)
    }

    /// Changes the refund processing time (new refunds only).
    pub fn set_refund_delay_ms(&self, ms: u64) {
        self.refund_delay_ms.store(ms, Ordering::SeqCst);
    }

    /// `http://host:port/`.
    pub fn base_url(&self) -> String {
        self.base.read().clone()
    }

    /// Writes the store; a failure is reported, not fatal (the sandbox keeps serving).
    pub fn persist(&self, store: &Store) {
        if !self.persist {
            return;
        }
        if let Err(e) = store.save(&self.state_dir) {
            eprintln!("cloud-pay-sandbox: cannot save state in {}: {e}", self.state_dir.display());
        }
    }

    /// Runs `f` on the locked store, then persists it.
    pub fn with_store<R>(&self, f: impl FnOnce(&mut Store) -> R) -> R {
        let mut st = self.store.lock();
        let r = f(&mut st);
        self.persist(&st);
        r
    }
}
