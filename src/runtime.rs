//! The state `cloud_pay_init` sets up (configuration, trade core, background workers) and
//! the process slot [`Sdk`] that holds it.
//!
//! Exports reach the state through [`Sdk::current`], which hands out an `Arc` so no global
//! lock is held while a call talks to the network. `cloud_pay_fini` and a re-init swap the
//! state and stop the old workers within a bounded time.

use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use parking_lot::{Condvar, Mutex, MutexGuard, RwLock};

use crate::client::{AuthChoice, Client};
use crate::config::Config;
use crate::error::SdkError;
use crate::monitor;
use crate::schedule::{PollSettings, Scheduler};
use crate::security::Security;
use crate::trade::Trade;

/// Poll workers per runtime: a small fixed pool serves every order (no thread per order).
const WORKERS: usize = 2;
/// How long fini waits for workers before leaving them to finish on their own.
const STOP_WAIT: Duration = Duration::from_millis(1500);

/// A stop flag that sleeping threads can wait on.
#[derive(Default)]
struct Stop {
    stopped: Mutex<bool>,
    wake: Condvar,
}

impl Stop {
    /// Sleeps up to `d`; true when stopped.
    fn sleep(&self, d: Duration) -> bool {
        let mut s = self.stopped.lock();
        if !*s {
            self.wake.wait_for(&mut s, d);
        }
        *s
    }

    fn stop(&self) {
        *self.stopped.lock() = true;
        self.wake.notify_all();
    }
}

/// The monitoring uploader: conf info once, then the call records every interval
/// (the server may change it). Best effort; never touches a payment call.
fn uploader(client: &Client, stop: &Stop, mut interval: Duration) {
    if stop.sleep(Duration::ZERO) {
        return;
    }
    upload_conf(client);
    while !stop.sleep(interval) {
        if let Some(secs) = upload_records(client, interval.as_secs().max(1) as i64) {
            interval = Duration::from_secs(secs.clamp(1, 86_400) as u64);
        }
    }
}

/// Sends `upload_client_conf_info` once (best effort).
fn upload_conf(client: &Client) {
    use cloud_pay_protocol::types as t;
    let tc = client.trade_conf();
    let req = t::ConfInfoRequest {
        out_mch_id: tc.out_mch_id.clone(),
        out_sub_mch_id: tc.out_sub_mch_id.clone(),
        out_shop_id: tc.out_shop_id.clone(),
        order_client: client.order_client(false),
        machine_info: monitor::machine_info(&tc.spbill_create_ip),
        nonce_str: crate::nonce::nonce_str(),
    };
    let _ = client.call::<t::UploadClientConfInfo>(&req, AuthChoice::Hmac);
}

/// Uploads one batch of records. Returns the server's new interval in seconds when it set one.
/// A failed batch is put back (and dropped after [`monitor::MAX_ATTEMPTS`]).
fn upload_records(client: &Client, interval_secs: i64) -> Option<i64> {
    use cloud_pay_protocol::StatusClass;
    use cloud_pay_protocol::types as t;
    let batch = client.monitor().take(monitor::BATCH);
    if batch.is_empty() {
        return None;
    }
    let tc = client.trade_conf();
    let req = t::MonitorInfoRequest {
        out_mch_id: tc.out_mch_id.clone(),
        out_sub_mch_id: tc.out_sub_mch_id.clone(),
        out_shop_id: tc.out_shop_id.clone(),
        order_client: client.order_client(false),
        interval: interval_secs,
        is_compress: false,
        compress_type: None,
        compressed_monitor_info: None,
        uncompressed_monitor_info: Some(t::UncompressedMonitorInfo {
            client_int_results: batch.iter().map(|(r, _)| r.clone()).collect(),
            machine_info: monitor::machine_info(&tc.spbill_create_ip),
        }),
        nonce_str: crate::nonce::nonce_str(),
    };
    let ex = client.call::<t::UploadClientMonitorInfo>(&req, AuthChoice::Hmac);
    if ex.class == StatusClass::Success {
        ex.result().map(|r| r.interval).filter(|i| *i > 0)
    } else {
        client.monitor().give_back(batch);
        None
    }
}

/// Pre-warm and keep-alive: a `ping` at once, so the first payment finds the connection
/// open (TLS done), then one whenever the channel has been idle for `interval`, so the pooled
/// connection never ages out. Best effort, in the background: init never waits for it.
fn keep_alive(client: &Client, stop: &Stop, interval: Duration, first: std::sync::mpsc::Sender<Result<(), String>>) {
    if stop.sleep(Duration::ZERO) {
        return;
    }
    // Init may be waiting for this first answer (its connectivity check); it may have stopped waiting.
    let _ = first.send(client.keep_warm());
    drop(first);
    loop {
        let wait = interval.saturating_sub(client.idle_for()).max(Duration::from_millis(50));
        if stop.sleep(wait) {
            return;
        }
        if client.idle_for() >= interval {
            let _ = client.keep_warm();
        }
    }
}

/// Everything `cloud_pay_init` sets up.
pub struct Runtime {
    /// The validated configuration.
    pub config: Config,
    /// The trade core.
    pub trade: Arc<Trade>,
    /// Shop, listing, statistics and prefix calls.
    pub merchant: crate::merchant::Merchant,
    /// What init wants the caller to know (orders resumed from the journal, damage found).
    pub notice: Option<String>,
    scheduler: Arc<Scheduler>,
    stop: Arc<Stop>,
    workers: Mutex<Vec<JoinHandle<()>>>,
}

impl Runtime {
    /// Builds a runtime and starts its workers (the keep-alive ping runs in the background).
    pub fn start(config: Config) -> Result<Arc<Runtime>, SdkError> {
        let client = Arc::new(Client::new(&config)?);
        // With prober_dns, find the first healthy domain before the first payment.
        client.probe_domains();
        let scheduler = Arc::new(Scheduler::default());
        let poll = PollSettings {
            micro_pay_count: config.micro_pay_query_count,
            micro_pay_interval: config.micro_pay_query_interval,
            scan_code_count: config.scan_code_query_count,
            scan_code_interval: config.scan_code_query_interval,
            micro_pay_schedule: config.micro_pay_query_schedule,
        };
        let prefixes = Arc::new(crate::paycode::Prefixes::default());
        let (journal, recovery) = crate::trade::journal::Journal::open(&config.state_dir).map_err(|e| {
            SdkError::BadConfig(format!(
                "common_conf.state_dir: cannot open the order journal in {}: {e}",
                config.state_dir.display()
            ))
        })?;
        let trade = Arc::new(Trade::new(client.clone(), poll, scheduler.clone(), prefixes.clone(), journal));
        let merchant = crate::merchant::Merchant::new(client.clone(), prefixes);
        let stop = Arc::new(Stop::default());
        let mut handles = Vec::new();
        for i in 0..WORKERS {
            let (trade, sched) = (trade.clone(), scheduler.clone());
            let h = std::thread::Builder::new()
                .name(format!("cloud-pay-poll-{i}"))
                .spawn(move || worker(&trade, &sched))
                .map_err(|e| SdkError::Internal(format!("cannot start the poll worker: {e}")))?;
            handles.push(h);
        }
        if config.upload_monitor {
            let (client, stop, interval) = (client.clone(), stop.clone(), config.upload_monitor_interval);
            let h = std::thread::Builder::new()
                .name("cloud-pay-monitor".into())
                .spawn(move || uploader(&client, &stop, interval))
                .map_err(|e| SdkError::Internal(format!("cannot start the monitor uploader: {e}")))?;
            handles.push(h);
        }
        let mut first_ping = None;
        if let Some(interval) = config.keep_alive_ping_interval {
            let (client, stop) = (client.clone(), stop.clone());
            let (tx, rx) = std::sync::mpsc::channel();
            first_ping = Some(rx);
            let h = std::thread::Builder::new()
                .name("cloud-pay-keep-alive".into())
                .spawn(move || keep_alive(&client, &stop, interval, tx))
                .map_err(|e| SdkError::Internal(format!("cannot start the keep-alive pinger: {e}")))?;
            handles.push(h);
        }
        let resumed = trade.restore(&recovery);
        let mut notes = Vec::new();
        // Started last, once nothing can fail: a failed start must not leave a writer running.
        // Without log_dir a previous configuration's log is stopped.
        match &config.log {
            Some(settings) => notes.extend(crate::sdklog::start(settings)),
            None => crate::sdklog::stop(),
        }
        if !config.unknown_keys.is_empty() {
            notes.push(format!("CloudPayConf: ignored unknown key(s): {}", config.unknown_keys.join(", ")));
        }
        if resumed > 0 || recovery.corrupt_bytes > 0 {
            let mut n = format!("order journal: resumed {resumed} unfinished order(s)");
            if recovery.corrupt_bytes > 0 {
                n.push_str(&format!(
                    "; {} damaged line(s) ({} byte(s)) were skipped and set aside (…journal.corrupt-*)",
                    recovery.damaged_lines, recovery.corrupt_bytes
                ));
            }
            notes.push(n);
        }
        // The connectivity check is the pre-warm ping, waited for at most the connect timeout
        // (plus a little for the TLS handshake): a refused connection, a failed DNS lookup or
        // TLS verification answers at once; a slow server is not init's business.
        let check = first_ping.and_then(|rx| rx.recv_timeout(config.connect_timeout + Duration::from_millis(500)).ok());
        if let Some(Err(cause)) = check {
            notes.push(format!(
                "connectivity check failed: {cause} (check common_conf.base_url, ca_file, proxy and the network)"
            ));
        }
        // Settings that came from outside the configuration text are said, never silent.
        notes.extend(config.outside_sources.iter().cloned());
        let notice = (!notes.is_empty()).then(|| notes.join("; "));
        Ok(Arc::new(Runtime { config, trade, merchant, scheduler, stop, workers: Mutex::new(handles), notice }))
    }

    /// Stops the workers, waiting at most [`STOP_WAIT`]. A worker inside a network call
    /// finishes it on its own and exits; it only holds its own `Arc`s.
    pub fn stop(&self) {
        self.scheduler.stop();
        self.stop.stop();
        crate::sdklog::stop();
        let deadline = Instant::now() + STOP_WAIT;
        for h in self.workers.lock().drain(..) {
            while !h.is_finished() && Instant::now() < deadline {
                std::thread::sleep(Duration::from_millis(5));
            }
            if h.is_finished() {
                let _ = h.join();
            }
        }
    }
}

fn worker(trade: &Trade, sched: &Scheduler) {
    while let Some(no) = sched.next_due() {
        let (logged, started) = (crate::sdklog::enabled(), Instant::now());
        if logged {
            crate::sdklog::begin();
            crate::sdklog::note_orders(Some(&no), None);
        }
        // A panic in one poll must not kill the worker; the order stays queryable live.
        let next = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| trade.poll_once(&no))).ok().flatten();
        if logged {
            // "none": no more background queries (a final state, or the window is over).
            let after = next.map_or_else(
                || "none".to_owned(),
                |due| format!("{}ms", due.saturating_duration_since(Instant::now()).as_millis()),
            );
            crate::sdklog::end("background_query_order", started, None, "", Some(after));
        }
        if let Some(due) = next {
            sched.schedule(&no, due);
        }
    }
}

/// Runtimes that fini took out while calls of theirs may still run, each with the time by
/// which its last call has ended.
type Retired = Vec<(Released, Instant)>;

/// The process slot: the running runtime (if any), the runtimes being retired, and the
/// security-login state, which lives before and across inits. The ffi layer owns the one
/// instance; nothing below it keeps process-wide state of its own.
#[derive(Default)]
pub struct Sdk {
    current: RwLock<Option<Arc<Runtime>>>,
    /// Held by init and fini for their whole run: two inits never race to install (which would
    /// leave one runtime running unseen), and fini never runs half-way through an init.
    installing: Mutex<()>,
    /// The next init waits for these to end (each with its own deadline) before it opens the journal.
    retired: Mutex<Retired>,
    /// Logins and identifications in progress, and a grant waiting for security_init.
    pub security: Security,
}

/// Set once a retired runtime's journal lock is released (see `journal::FolderLock`).
type Released = Arc<std::sync::atomic::AtomicBool>;

fn is_released(r: &Released) -> bool {
    r.load(std::sync::atomic::Ordering::Acquire)
}

impl Sdk {
    /// The running state, or `NotInitialised`.
    pub fn current(&self) -> Result<Arc<Runtime>, SdkError> {
        self.current.read().clone().ok_or(SdkError::NotInitialised)
    }

    /// Installs a new runtime (stopping the previous one first). Returns its notice.
    pub fn install(&self, config: Config) -> Result<Option<String>, SdkError> {
        self.install_held(config, &self.installing.lock())
    }

    /// Holds off init and fini (and other holders) until the guard is dropped: security_init
    /// writes its files and installs as one step.
    pub fn install_lock(&self) -> MutexGuard<'_, ()> {
        self.installing.lock()
    }

    /// [`Sdk::install`] for a caller that already holds [`Sdk::install_lock`].
    pub fn install_held(&self, config: Config, _one: &MutexGuard<'_, ()>) -> Result<Option<String>, SdkError> {
        // Two runtimes must not write one order journal: every call and poll worker of the
        // previous ones ends before the journal is opened again.
        // A call stuck past its deadline keeps its journal locked: opening that journal then
        // fails with a message naming the folder, and another folder is not held up.
        self.stop_current();
        let retired = std::mem::take(&mut *self.retired.lock());
        for (released, deadline) in &retired {
            wait_released(released, *deadline);
        }
        self.retired.lock().extend(retired.into_iter().filter(|(r, _)| !is_released(r)));
        let fresh = Runtime::start(config)?;
        let notice = fresh.notice.clone();
        *self.current.write() = Some(fresh);
        Ok(notice)
    }

    /// Removes and stops the runtime, if any, and forgets security logins in progress. Calls
    /// still in progress finish on their own.
    pub fn shutdown(&self) {
        let _one = self.installing.lock();
        self.stop_current();
        self.security.reset();
    }

    /// Takes the runtime out, stops its workers and notes it among the retired, with the time by
    /// which its last call has ended (its calls end by their own timeouts).
    fn stop_current(&self) {
        let Some(old) = self.current.write().take() else { return };
        old.stop();
        let c = &old.config;
        // A call: connect + reply, repeated once when nothing was sent and twice on status 103.
        let within = (c.connect_timeout + c.timeout + c.retry_pause) * 3 + Duration::from_secs(2);
        let mut retired = self.retired.lock();
        retired.retain(|(r, _)| !is_released(r));
        retired.push((old.trade.journal_released(), Instant::now() + within));
    }
}

/// Waits until the retired journal's lock is released; false when `deadline` came first.
/// (Not `Weak::strong_count() == 0`: that is true while the last holder is still dropping
/// the journal, and an init then found the folder locked.)
fn wait_released(released: &Released, deadline: Instant) -> bool {
    while !is_released(released) {
        if Instant::now() >= deadline {
            return false;
        }
        std::thread::sleep(Duration::from_millis(5));
    }
    true
}
