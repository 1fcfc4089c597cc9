//! The global state (configuration, trade core) and the background poll workers.
//!
//! Exports reach the state through [`current`], which hands out an `Arc` so no global lock
//! is held while a call talks to the network. `cloud_pay_fini` and a re-init swap the state
//! and stop the old workers within a bounded time.

use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use std::sync::LazyLock;
use parking_lot::{Condvar, Mutex, RwLock};

use crate::client::Client;
use crate::config::Config;
use crate::error::SdkError;
use crate::trade::{PollSettings, Trade};

/// Poll workers per runtime: a small fixed pool serves every order (no thread per order).
const WORKERS: usize = 2;
/// How long fini waits for workers before leaving them to finish on their own.
const STOP_WAIT: Duration = Duration::from_millis(1500);

/// Due times of background polls, shared by the workers.
pub struct Scheduler {
    queue: Mutex<BinaryHeap<Reverse<(Instant, u64, String)>>>,
    wake: Condvar,
    stopped: AtomicBool,
    seq: AtomicU64,
}

impl Default for Scheduler {
    fn default() -> Self {
        Scheduler { queue: Mutex::new(BinaryHeap::new()), wake: Condvar::new(), stopped: AtomicBool::new(false), seq: AtomicU64::new(0) }
    }
}

impl Scheduler {
    /// Asks for a poll of `out_trade_no` at `due`.
    pub fn schedule(&self, out_trade_no: &str, due: Instant) {
        let seq = self.seq.fetch_add(1, Ordering::Relaxed);
        let mut q = self.queue.lock();
        // Idle workers sleep until the earliest poll; only a new earliest one needs a wake-up
        // (a wake-up per payment costs two context switches on the cashier's path).
        let earliest = q.peek().is_none_or(|Reverse((first, _, _))| due < *first);
        q.push(Reverse((due, seq, out_trade_no.to_owned())));
        drop(q);
        if earliest {
            self.wake.notify_one();
        }
    }

    /// Blocks until a poll is due (returns it) or the scheduler stops (returns None).
    fn next_due(&self) -> Option<String> {
        let mut q = self.queue.lock();
        loop {
            if self.stopped.load(Ordering::Acquire) {
                return None;
            }
            let now = Instant::now();
            match q.peek() {
                Some(Reverse((due, _, _))) if *due <= now => return q.pop().map(|Reverse((_, _, no))| no),
                Some(Reverse((due, _, _))) => {
                    let due = *due;
                    self.wake.wait_until(&mut q, due);
                }
                None => self.wake.wait(&mut q),
            }
        }
    }

    fn stop(&self) {
        self.stopped.store(true, Ordering::Release);
        let _q = self.queue.lock(); // no worker is between its check and its wait
        self.wake.notify_all();
    }
}

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
    crate::monitor::upload_conf(client);
    while !stop.sleep(interval) {
        if let Some(secs) = crate::monitor::upload_records(client, interval.as_secs().max(1) as i64) {
            interval = Duration::from_secs(secs.clamp(1, 86_400) as u64);
        }
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
        let prefixes = Arc::new(crate::merchant::Prefixes::default());
        let (journal, recovery) = crate::trade::journal::Journal::open(&config.state_dir).map_err(|e| {
            SdkError::BadConfig(format!("common_conf.state_dir: cannot open the order journal in {}: {e}", config.state_dir.display()))
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
            let after = next.map_or_else(|| "none".to_owned(), |due| format!("{}ms", due.saturating_duration_since(Instant::now()).as_millis()));
            crate::sdklog::end("background_query_order", started, None, "", Some(after));
        }
        if let Some(due) = next {
            sched.schedule(&no, due);
        }
    }
}

static CURRENT: LazyLock<RwLock<Option<Arc<Runtime>>>> = LazyLock::new(|| RwLock::new(None));

/// Held by init and fini for their whole run: two inits never race to install (which would
/// leave one runtime running unseen), and fini never runs half-way through an init.
static INSTALLING: Mutex<()> = Mutex::new(());

/// Runtimes that fini took out while calls of theirs may still run: the next init waits for
/// them to end (each with its own deadline) before it opens the journal.
static RETIRED: Mutex<Vec<(Released, Instant)>> = Mutex::new(Vec::new());

/// Set once a retired runtime's journal lock is released (see `journal::FolderLock`).
type Released = Arc<std::sync::atomic::AtomicBool>;

fn is_released(r: &Released) -> bool {
    r.load(std::sync::atomic::Ordering::Acquire)
}

/// The running state, or `NotInitialised`.
pub fn current() -> Result<Arc<Runtime>, SdkError> {
    CURRENT.read().clone().ok_or(SdkError::NotInitialised)
}

/// Installs a new runtime (stopping the previous one first). Returns its notice.
pub fn install(config: Config) -> Result<Option<String>, SdkError> {
    install_held(config, &INSTALLING.lock())
}

/// Holds off init and fini (and other holders) until the guard is dropped: security_init
/// writes its files and installs as one step.
pub(crate) fn install_lock() -> parking_lot::MutexGuard<'static, ()> {
    INSTALLING.lock()
}

/// [`install`] for a caller that already holds [`install_lock`].
pub(crate) fn install_held(config: Config, _one: &parking_lot::MutexGuard<'static, ()>) -> Result<Option<String>, SdkError> {
    // Two runtimes must not write one order journal: every call and poll worker of the
    // previous ones ends before the journal is opened again.
    // A call stuck past its deadline keeps its journal locked: opening that journal then
    // fails with a message naming the folder, and another folder is not held up.
    stop_current();
    let retired = std::mem::take(&mut *RETIRED.lock());
    for (released, deadline) in &retired {
        wait_released(released, *deadline);
    }
    RETIRED.lock().extend(retired.into_iter().filter(|(r, _)| !is_released(r)));
    let fresh = Runtime::start(config)?;
    let notice = fresh.notice.clone();
    *CURRENT.write() = Some(fresh);
    Ok(notice)
}

/// Removes and stops the runtime, if any. Calls still in progress finish on their own.
pub fn shutdown() {
    let _one = INSTALLING.lock();
    stop_current();
}

/// Takes the runtime out, stops its workers and notes it among the retired, with the time by
/// which its last call has ended (its calls end by their own timeouts).
fn stop_current() {
    let Some(old) = CURRENT.write().take() else { return };
    old.stop();
    let c = &old.config;
    // A call: connect + reply, repeated once when nothing was sent and twice on status 103.
    let within = (c.connect_timeout + c.timeout + c.retry_pause) * 3 + Duration::from_secs(2);
    let mut retired = RETIRED.lock();
    retired.retain(|(r, _)| !is_released(r));
    retired.push((old.trade.journal_released(), Instant::now() + within));
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
