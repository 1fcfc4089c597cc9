//! The local SDK log: one line per export call and per background query, for shop support
//! ("the customer says they paid") and for the vendor's rule that a generated refund
//! number is written to the SDK log.
//!
//! Off unless `common_conf.log_dir` is set. A call only collects a few strings and hands them to
//! a bounded queue; a writer thread formats, redacts and appends them to daily files
//! `cloudpay-YYYYMMDD.log` (UTC). A full queue drops the line and counts it; a folder that
//! cannot be written costs one notice, never a failed or slower payment. The writer ends at
//! `cloud_pay_fini` (or a re-init) within a bounded time.
//!
//! Lines hold what a monitor record holds (status, internal_status, log_id, domain, time) plus
//! the order numbers, the return code and the errmsg, redacted with the monitor's rule
//! ([`crate::monitor::redact_runs`]): no request or reply content, so no payment code, key,
//! token or password can reach the file.

use std::cell::RefCell;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::mpsc::{Receiver, RecvTimeoutError, SyncSender, TrySendError};
use std::thread::JoinHandle;
use std::time::{Duration, Instant, SystemTime};

use parking_lot::Mutex;

mod files;
mod line;

use files::Files;
use line::utc_day;

/// Default cap on the total size of the log files (`common_conf.log_max_bytes`).
pub(crate) const DEFAULT_MAX_BYTES: u64 = 50 * 1024 * 1024;
/// Smallest accepted `log_max_bytes`.
pub(crate) const MIN_MAX_BYTES: u64 = 1024;
/// Days of files kept, today included; older files are deleted.
pub(crate) const KEEP_DAYS: u32 = 7;
/// Lines waiting for the writer; more are dropped (and counted).
const QUEUE: usize = 4096;
/// How long fini waits for the writer to write what is queued.
const STOP_WAIT: Duration = Duration::from_millis(300);
/// Longest errmsg written, in characters.
const ERRMSG_MAX: usize = 1000;
/// After a failed write, the writer tries the folder again after this long.
const RETRY_AFTER: Duration = Duration::from_secs(10);

/// Where the log goes and how big it may grow.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Settings {
    /// The folder of the daily files.
    pub dir: PathBuf,
    /// Cap on the total size of the files; the oldest are deleted first.
    pub max_bytes: u64,
}

/// What the server answered (or which domain failed) during a call.
#[derive(Debug, Clone, Default)]
struct Reply {
    status: Option<i32>,
    internal_status: Option<i32>,
    log_id: Option<i64>,
    domain: String,
    /// A transport failure or unreadable reply (background queries have no errmsg).
    problem: Option<String>,
}

/// One line, as the caller hands it over (formatted by the writer).
#[derive(Debug, Default)]
struct Record {
    at: Option<SystemTime>,
    what: &'static str,
    out_trade_no: Option<String>,
    out_refund_no: Option<String>,
    code: Option<i32>,
    reply: Option<Reply>,
    elapsed_ms: u128,
    errmsg: String,
    next: Option<String>,
}

/// The current call's notes on this thread (collected only while the log is on).
#[derive(Default)]
struct Note {
    active: bool,
    out_trade_no: Option<String>,
    out_refund_no: Option<String>,
    reply: Option<Reply>,
}

thread_local! {
    static NOTE: RefCell<Note> = RefCell::new(Note::default());
}

enum Msg {
    Line(Box<Record>),
    Stop,
}

struct Sink {
    tx: SyncSender<Msg>,
    dropped: Arc<AtomicU64>,
    writer: Mutex<Option<JoinHandle<()>>>,
}

static ENABLED: AtomicBool = AtomicBool::new(false);
static SINK: Mutex<Option<Arc<Sink>>> = Mutex::new(None);

fn with_note(f: impl FnOnce(&mut Note)) {
    let _ = NOTE.try_with(|n| {
        if let Ok(mut n) = n.try_borrow_mut() {
            f(&mut n);
        }
    });
}

/// Starts collecting notes for a call on this thread (nothing when the log is off).
pub(crate) fn begin() {
    let on = ENABLED.load(Ordering::Relaxed);
    with_note(|n| {
        if on || n.active {
            *n = Note { active: on, ..Note::default() };
        }
    });
}

/// Whether the log is on (the export boundary's check before it reads errmsg).
pub(crate) fn enabled() -> bool {
    ENABLED.load(Ordering::Relaxed)
}

/// Whether this thread's call is being logged (the cheap check before any note work).
pub(crate) fn active() -> bool {
    NOTE.try_with(|n| n.try_borrow().map(|n| n.active).unwrap_or(false)).unwrap_or(false)
}

/// Notes the order numbers of the current call (a later note replaces an earlier one).
pub(crate) fn note_orders(out_trade_no: Option<&str>, out_refund_no: Option<&str>) {
    with_note(|n| {
        if n.active {
            if let Some(o) = out_trade_no.filter(|s| !s.is_empty()) {
                n.out_trade_no = Some(o.to_owned());
            }
            if let Some(r) = out_refund_no.filter(|s| !s.is_empty()) {
                n.out_refund_no = Some(r.to_owned());
            }
        }
    });
}

/// Notes the order numbers found in a request's JSON text (`out_trade_no`, `out_refund_no`).
pub(crate) fn note_request(text: &str) {
    if !active() {
        return;
    }
    #[derive(serde::Deserialize, Default)]
    #[serde(default)]
    struct Keys {
        out_trade_no: Option<serde_json::Value>,
        out_refund_no: Option<serde_json::Value>,
    }
    if let Ok(k) = serde_json::from_str::<Keys>(text) {
        note_orders(
            k.out_trade_no.as_ref().and_then(|v| v.as_str()),
            k.out_refund_no.as_ref().and_then(|v| v.as_str()),
        );
    }
}

/// Notes a server reply of the current call (the last one is logged).
pub(crate) fn note_reply(status: i32, internal_status: i32, log_id: i64, base_url: &str) {
    with_note(|n| {
        if n.active {
            n.reply = Some(Reply {
                status: Some(status),
                internal_status: Some(internal_status),
                log_id: Some(log_id),
                domain: domain(base_url),
                problem: None,
            });
        }
    });
}

/// Notes a call that got no readable reply from `base_url`, and why.
pub(crate) fn note_problem(base_url: &str, problem: &str) {
    with_note(|n| {
        if n.active {
            n.reply = Some(Reply { domain: domain(base_url), problem: Some(problem.to_owned()), ..Reply::default() });
        }
    });
}

fn domain(base_url: &str) -> String {
    base_url.trim_end_matches('/').to_owned()
}

/// Ends the call begun on this thread: queues its line when the log is on.
/// `code` None is a background query; `next` says what the worker does next.
pub(crate) fn end(what: &'static str, started: Instant, code: Option<i32>, errmsg: &str, next: Option<String>) {
    let note = NOTE
        .try_with(|n| n.try_borrow_mut().map(|mut n| std::mem::take(&mut *n)).unwrap_or_default())
        .unwrap_or_default();
    if !ENABLED.load(Ordering::Relaxed) {
        return;
    }
    // A background poll that found its order already final sent nothing: no call to log.
    if code.is_none() && note.reply.is_none() {
        return;
    }
    let Some(sink) = SINK.lock().clone() else { return };
    let record = Record {
        at: Some(SystemTime::now()),
        what,
        out_trade_no: note.out_trade_no,
        out_refund_no: note.out_refund_no,
        code,
        reply: note.reply,
        elapsed_ms: started.elapsed().as_millis(),
        errmsg: errmsg.chars().take(ERRMSG_MAX).collect(),
        next,
    };
    sink.send(record);
}

impl Sink {
    fn send(&self, r: Record) {
        match self.tx.try_send(Msg::Line(Box::new(r))) {
            Ok(()) => {}
            Err(TrySendError::Full(_) | TrySendError::Disconnected(_)) => {
                self.dropped.fetch_add(1, Ordering::Relaxed);
            }
        }
    }
}

/// Lines dropped because the queue was full (since the log was started).
pub fn dropped() -> u64 {
    SINK.lock().as_ref().map_or(0, |s| s.dropped.load(Ordering::Relaxed))
}

/// Starts the log with `settings` (stopping a previous one). Returns the notice for init when
/// the folder cannot be written: the only notice; payments go on without the log meanwhile.
pub fn start(settings: &Settings) -> Option<String> {
    stop();
    let mut files = Files::new(settings.clone());
    let notice = files
        .open(utc_day(SystemTime::now()))
        .err()
        .map(|e| format!("SDK log: cannot write to {}: {e} — payments go on without the log", settings.dir.display()));
    let (tx, rx) = std::sync::mpsc::sync_channel(QUEUE);
    let dropped = Arc::new(AtomicU64::new(0));
    let noticed = notice.is_some();
    let d = dropped.clone();
    let writer =
        std::thread::Builder::new().name("cloud-pay-log".into()).spawn(move || write_loop(rx, files, noticed, d));
    match writer {
        Ok(h) => {
            *SINK.lock() = Some(Arc::new(Sink { tx, dropped, writer: Mutex::new(Some(h)) }));
            ENABLED.store(true, Ordering::Release);
            notice
        }
        Err(e) => Some(format!("SDK log: cannot start the log writer: {e} — payments go on without the log")),
    }
}

/// Stops the log: the writer writes what is queued and a closing line, then ends (waited for
/// at most [`STOP_WAIT`]).
pub fn stop() {
    ENABLED.store(false, Ordering::Release);
    let Some(sink) = SINK.lock().take() else { return };
    // A full queue must not hold fini: the writer also ends when the channel closes.
    let _ = sink.tx.try_send(Msg::Stop);
    let handle = sink.writer.lock().take();
    drop(sink);
    if let Some(h) = handle {
        let deadline = Instant::now() + STOP_WAIT;
        while !h.is_finished() && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(2));
        }
        if h.is_finished() {
            let _ = h.join();
        }
    }
}

fn write_loop(rx: Receiver<Msg>, mut files: Files, mut noticed: bool, dropped: Arc<AtomicU64>) {
    let mut failed_at: Option<Instant> = None;
    let mut lost = 0u64;
    let mut stopping = false;
    while !stopping {
        let first = match rx.recv_timeout(Duration::from_secs(60)) {
            Ok(m) => m,
            Err(RecvTimeoutError::Timeout) => continue,
            Err(RecvTimeoutError::Disconnected) => break,
        };
        // Everything already queued goes out in one write.
        let mut batch = Vec::new();
        for m in std::iter::once(first).chain(rx.try_iter()) {
            match m {
                Msg::Line(r) => batch.push(*r),
                Msg::Stop => {
                    stopping = true;
                    break;
                }
            }
        }
        if stopping {
            batch.push(Record {
                at: Some(SystemTime::now()),
                what: "log_closed",
                errmsg: format!("lines dropped: queue full {}, not writable {lost}", dropped.load(Ordering::Relaxed)),
                ..Record::default()
            });
        }
        if failed_at.is_some_and(|t| t.elapsed() < RETRY_AFTER) {
            lost += batch.len() as u64;
            continue;
        }
        match files.append(&batch) {
            Ok(()) => failed_at = None,
            Err(e) => {
                lost += batch.len() as u64;
                failed_at = Some(Instant::now());
                if !noticed {
                    noticed = true;
                    eprintln!(
                        "CloudPay SDK: cannot write the SDK log in {}: {e}; payments go on, log lines are dropped until it can",
                        files.settings.dir.display()
                    );
                }
            }
        }
    }
}

/// The settings for `common_conf.log_dir` / `log_max_bytes`, validated.
pub(crate) fn settings(dir: Option<String>, max_bytes: Option<i64>) -> Result<Option<Settings>, String> {
    let dir = dir.map(|d| d.trim().to_owned()).filter(|d| !d.is_empty());
    let max_bytes = match max_bytes {
        None => DEFAULT_MAX_BYTES,
        Some(n) if n >= MIN_MAX_BYTES as i64 => n as u64,
        Some(n) => return Err(format!("common_conf.log_max_bytes: must be at least {MIN_MAX_BYTES}, got {n}")),
    };
    match dir {
        Some(d) => Ok(Some(Settings { dir: PathBuf::from(d), max_bytes })),
        None if max_bytes != DEFAULT_MAX_BYTES => {
            Err("common_conf.log_max_bytes: set common_conf.log_dir too (the log is off without it)".into())
        }
        None => Ok(None),
    }
}

/// Whether `dir` holds this log's files (for tools and tests).
pub fn is_log_file(path: &Path) -> bool {
    path.file_name().and_then(|n| n.to_str()).is_some_and(|n| n.starts_with("cloudpay-") && n.ends_with(".log"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_full_queue_drops_and_counts_without_waiting() {
        // A writer that does not read: the caller never waits, the surplus is counted.
        let (tx, rx) = std::sync::mpsc::sync_channel(2);
        let sink = Sink { tx, dropped: Arc::new(AtomicU64::new(0)), writer: Mutex::new(None) };
        let t0 = Instant::now();
        for _ in 0..5 {
            sink.send(Record::default());
        }
        assert!(t0.elapsed() < Duration::from_millis(50));
        assert_eq!(sink.dropped.load(Ordering::Relaxed), 3);
        assert_eq!(rx.try_iter().count(), 2);
    }

    #[test]
    fn settings_are_checked() {
        assert_eq!(settings(None, None), Ok(None));
        assert!(settings(None, Some(4096)).unwrap_err().contains("log_dir"));
        assert!(settings(Some("x".into()), Some(10)).unwrap_err().contains("at least"));
        assert_eq!(
            settings(Some(" logs ".into()), None).unwrap().unwrap(),
            Settings { dir: "logs".into(), max_bytes: DEFAULT_MAX_BYTES }
        );
    }
}
