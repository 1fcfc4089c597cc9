//! The local SDK log (issue 19): one line per export call and per background query, for shop
//! support ("the customer says they paid") and for the vendor's rule that a generated refund
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
use std::fs::{File, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::mpsc::{Receiver, RecvTimeoutError, SyncSender, TrySendError};
use std::thread::JoinHandle;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use parking_lot::Mutex;

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
        note_orders(k.out_trade_no.as_ref().and_then(|v| v.as_str()), k.out_refund_no.as_ref().and_then(|v| v.as_str()));
    }
}

/// Notes a server reply of the current call (the last one is logged).
pub(crate) fn note_reply(status: i32, internal_status: i32, log_id: i64, base_url: &str) {
    with_note(|n| {
        if n.active {
            n.reply = Some(Reply { status: Some(status), internal_status: Some(internal_status), log_id: Some(log_id), domain: domain(base_url), problem: None });
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
    let note = NOTE.try_with(|n| n.try_borrow_mut().map(|mut n| std::mem::take(&mut *n)).unwrap_or_default()).unwrap_or_default();
    if !ENABLED.load(Ordering::Relaxed) {
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
    let notice = files.open(utc_day(SystemTime::now())).err().map(|e| {
        format!("SDK log: cannot write to {}: {e} — payments go on without the log", settings.dir.display())
    });
    let (tx, rx) = std::sync::mpsc::sync_channel(QUEUE);
    let dropped = Arc::new(AtomicU64::new(0));
    let noticed = notice.is_some();
    let d = dropped.clone();
    let writer = std::thread::Builder::new().name("cloud-pay-log".into()).spawn(move || write_loop(rx, files, noticed, d));
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
                    eprintln!("CloudPay SDK: cannot write the SDK log in {}: {e}; payments go on, log lines are dropped until it can", files.settings.dir.display());
                }
            }
        }
    }
}

/// The daily files of one folder and their size cap.
struct Files {
    settings: Settings,
    day: u32,
    file: Option<File>,
    /// Bytes in the folder's log files (as last counted, plus what was written since).
    total: u64,
    current: u64,
}

impl Files {
    fn new(settings: Settings) -> Files {
        Files { settings, day: 0, file: None, total: 0, current: 0 }
    }

    fn path(&self, day: u32) -> PathBuf {
        self.settings.dir.join(format!("cloudpay-{day:08}.log"))
    }

    /// Opens (appends to) the file of `day`, deleting what is out of the cap first.
    fn open(&mut self, day: u32) -> std::io::Result<()> {
        std::fs::create_dir_all(&self.settings.dir)?;
        self.file = None;
        let path = self.path(day);
        let f = OpenOptions::new().create(true).append(true).open(&path)?;
        self.current = f.metadata().map(|m| m.len()).unwrap_or(0);
        self.file = Some(f);
        self.day = day;
        self.prune()?;
        Ok(())
    }

    fn append(&mut self, batch: &[Record]) -> std::io::Result<()> {
        let mut text = String::new();
        for r in batch {
            let day = r.at.map(utc_day).unwrap_or(self.day);
            if day != self.day || self.file.is_none() {
                self.flush(&mut text)?;
                self.open(day)?;
            }
            format_line(r, &mut text);
        }
        self.flush(&mut text)
    }

    fn flush(&mut self, text: &mut String) -> std::io::Result<()> {
        if text.is_empty() {
            return Ok(());
        }
        let Some(f) = self.file.as_mut() else { return Err(std::io::Error::other("no log file open")) };
        if let Err(e) = f.write_all(text.as_bytes()) {
            self.file = None;
            return Err(e);
        }
        self.total += text.len() as u64;
        self.current += text.len() as u64;
        text.clear();
        if self.total > self.settings.max_bytes {
            // Today's file alone may not fill the cap: it goes on in a new file, and the
            // older part is deleted first like an older day.
            if self.current > self.settings.max_bytes / 4 {
                self.set_aside()?;
            }
            self.prune()?;
        }
        Ok(())
    }

    /// Renames today's file to `cloudpay-YYYYMMDD.NNN.log` (sorts before it) and starts afresh.
    fn set_aside(&mut self) -> std::io::Result<()> {
        self.file = None;
        let now = self.path(self.day);
        let part = (1..1000).map(|n| self.settings.dir.join(format!("cloudpay-{:08}.{n:03}.log", self.day))).find(|p| !p.exists());
        if let Some(part) = part {
            std::fs::rename(&now, part)?;
        } else {
            std::fs::remove_file(&now)?;
        }
        let f = OpenOptions::new().create(true).append(true).open(&now)?;
        self.current = 0;
        self.file = Some(f);
        Ok(())
    }

    /// Deletes files older than [`KEEP_DAYS`], then the oldest until the total fits the cap.
    /// Only this log's files (`cloudpay-*.log`) are touched; the file being written is kept.
    fn prune(&mut self) -> std::io::Result<()> {
        let mut logs: Vec<(String, u64)> = Vec::new();
        for entry in std::fs::read_dir(&self.settings.dir)?.flatten() {
            let name = entry.file_name().to_string_lossy().into_owned();
            if name.starts_with("cloudpay-") && name.ends_with(".log") && entry.file_type().is_ok_and(|t| t.is_file()) {
                logs.push((name, entry.metadata().map(|m| m.len()).unwrap_or(0)));
            }
        }
        logs.sort();
        let current = format!("cloudpay-{:08}.log", self.day);
        let oldest_kept = day_minus(self.day, KEEP_DAYS - 1);
        let mut total: u64 = logs.iter().map(|(_, n)| n).sum();
        for (name, len) in &logs {
            if *name == current {
                continue;
            }
            let day = name.get(9..17).and_then(|d| d.parse::<u32>().ok()).unwrap_or(0);
            if (day < oldest_kept || total > self.settings.max_bytes) && std::fs::remove_file(self.settings.dir.join(name)).is_ok() {
                total = total.saturating_sub(*len);
            }
        }
        self.total = total;
        Ok(())
    }
}

/// Appends one line: `2026-12-06T02:34:36.123Z cloud_pay_micro_pay out_trade_no=… code=0 …`.
fn format_line(r: &Record, out: &mut String) {
    use std::fmt::Write as _;
    let at = r.at.unwrap_or_else(SystemTime::now);
    out.push_str(&utc_timestamp(at));
    out.push(' ');
    out.push_str(r.what);
    let field = |out: &mut String, key: &str, v: &str| {
        let _ = write!(out, " {key}={}", order_field(v));
    };
    if let Some(o) = &r.out_trade_no {
        field(out, "out_trade_no", o);
    }
    if let Some(o) = &r.out_refund_no {
        field(out, "out_refund_no", o);
    }
    if let Some(c) = r.code {
        let _ = write!(out, " code={c}");
    }
    if let Some(rep) = &r.reply {
        if let (Some(s), Some(i), Some(l)) = (rep.status, rep.internal_status, rep.log_id) {
            let _ = write!(out, " status={s} internal_status={i} log_id={l}");
        }
        let _ = write!(out, " domain={}", quoted_if_needed(&rep.domain));
    }
    if r.what != "log_closed" {
        let _ = write!(out, " elapsed_ms={}", r.elapsed_ms);
    }
    if let Some(n) = &r.next {
        let _ = write!(out, " next={n}");
    }
    if let Some(p) = r.reply.as_ref().and_then(|rep| rep.problem.as_deref()).filter(|_| r.code.is_none()) {
        let _ = write!(out, " detail={}", quote(&crate::monitor::redact_runs(p)));
    }
    if r.code.is_some() || !r.errmsg.is_empty() {
        let _ = write!(out, " errmsg={}", quote(&crate::monitor::redact_runs(&r.errmsg)));
    }
    out.push('\n');
}

/// An order number as written: kept whole so it can be found with grep, unless it has the shape
/// of a payment code (all digits, 16 or more), which a caller might pass there by mistake.
fn order_field(v: &str) -> String {
    if v.len() >= 16 && v.bytes().all(|b| b.is_ascii_digit()) {
        return "*".repeat(v.len());
    }
    quoted_if_needed(v)
}

fn quoted_if_needed(v: &str) -> String {
    if !v.is_empty() && v.chars().all(|c| c.is_ascii_graphic() && c != '"' && c != '\\' && c != '=') { v.to_owned() } else { quote(v) }
}

/// `"…"` with `"`, `\` and control characters escaped, so one call is always one line.
fn quote(v: &str) -> String {
    let mut s = String::with_capacity(v.len() + 2);
    s.push('"');
    for c in v.chars() {
        match c {
            '"' => s.push_str("\\\""),
            '\\' => s.push_str("\\\\"),
            '\n' => s.push_str("\\n"),
            '\r' => s.push_str("\\r"),
            '\t' => s.push_str("\\t"),
            c if c.is_control() => s.push_str(&format!("\\u{{{:x}}}", c as u32)),
            c => s.push(c),
        }
    }
    s.push('"');
    s
}

/// Days since 1970-01-01 → (year, month, day) (proleptic Gregorian, H. Hinnant's algorithm).
fn civil(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (yoe + era * 400 + i64::from(m <= 2), m, d)
}

fn unix_ms(t: SystemTime) -> i64 {
    t.duration_since(UNIX_EPOCH).map(|d| d.as_millis() as i64).unwrap_or(0)
}

/// `YYYYMMDD` of `t` in UTC.
fn utc_day(t: SystemTime) -> u32 {
    let (y, m, d) = civil(unix_ms(t).div_euclid(86_400_000));
    (y as u32) * 10_000 + m * 100 + d
}

/// `YYYYMMDD` `n` days before `day`.
fn day_minus(day: u32, n: u32) -> u32 {
    let (y, m, d) = (i64::from(day / 10_000), day / 100 % 100, day % 100);
    // Days from civil (the inverse of `civil`).
    let y2 = if m <= 2 { y - 1 } else { y };
    let era = y2.div_euclid(400);
    let yoe = y2 - era * 400;
    let mp = i64::from(if m > 2 { m - 3 } else { m + 9 });
    let doy = (153 * mp + 2) / 5 + i64::from(d) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = era * 146_097 + doe - 719_468 - i64::from(n);
    let (y, m, d) = civil(days);
    (y as u32) * 10_000 + m * 100 + d
}

/// `2026-12-06T02:34:36.123Z` (UTC, milliseconds).
fn utc_timestamp(t: SystemTime) -> String {
    let ms = unix_ms(t);
    let (y, mo, d) = civil(ms.div_euclid(86_400_000));
    let in_day = ms.rem_euclid(86_400_000);
    format!("{y:04}-{mo:02}-{d:02}T{:02}:{:02}:{:02}.{:03}Z", in_day / 3_600_000, in_day / 60_000 % 60, in_day / 1000 % 60, in_day % 1000)
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
        None if max_bytes != DEFAULT_MAX_BYTES => Err("common_conf.log_max_bytes: set common_conf.log_dir too (the log is off without it)".into()),
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
    fn dates_and_timestamps_are_utc() {
        let t = UNIX_EPOCH + Duration::from_millis(1_796_524_476_123); // 2026-12-06T02:34:36.123Z
        assert_eq!(utc_timestamp(t), "2026-12-06T02:34:36.123Z");
        assert_eq!(utc_day(t), 20261206);
        assert_eq!(utc_day(UNIX_EPOCH), 19700101);
        assert_eq!(day_minus(20261206, 6), 20261130);
        assert_eq!(day_minus(20240301, 1), 20240229);
        assert_eq!(day_minus(20260101, 1), 20251231);
    }

    #[test]
    fn a_line_has_the_fields_and_no_payment_code() {
        let r = Record {
            at: Some(UNIX_EPOCH + Duration::from_millis(1_796_524_476_123)),
            what: "cloud_pay_refund",
            out_trade_no: Some("sz0100test0001".into()),
            out_refund_no: Some("sz0100test0001R01".into()),
            code: Some(-2),
            reply: Some(Reply { status: Some(3), internal_status: Some(0), log_id: Some(4_294_967_299), domain: "https://pay.qcloud.com/cpay".into(), problem: None }),
            elapsed_ms: 12,
            errmsg: "refund: code 134567890123456789 \"x\"\nline".into(),
            next: None,
        };
        let mut s = String::new();
        format_line(&r, &mut s);
        assert_eq!(
            s,
            "2026-12-06T02:34:36.123Z cloud_pay_refund out_trade_no=sz0100test0001 out_refund_no=sz0100test0001R01 code=-2 status=3 internal_status=0 log_id=4294967299 domain=https://pay.qcloud.com/cpay elapsed_ms=12 errmsg=\"refund: code ****************** \\\"x\\\"\\nline\"\n"
        );
        let mut s = String::new();
        format_line(&Record { what: "poll", out_trade_no: Some("134567890123456789".into()), ..Record::default() }, &mut s);
        assert!(s.contains("out_trade_no=****************** ") && !s.contains("errmsg"), "{s}");
    }

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
        assert_eq!(settings(Some(" logs ".into()), None).unwrap().unwrap(), Settings { dir: "logs".into(), max_bytes: DEFAULT_MAX_BYTES });
    }

    #[test]
    fn the_cap_deletes_the_oldest_files_and_old_days() {
        let dir = std::env::temp_dir().join(format!("cps-sdklog-unit-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let today = utc_day(SystemTime::now());
        let old = day_minus(today, 30);
        let (d2, d1) = (day_minus(today, 2), day_minus(today, 1));
        for d in [old, d2, d1] {
            std::fs::write(dir.join(format!("cloudpay-{d}.log")), vec![b'x'; 1500]).unwrap();
        }
        std::fs::write(dir.join("other.log"), "not ours").unwrap();
        let mut f = Files::new(Settings { dir: dir.clone(), max_bytes: 2000 });
        f.open(today).unwrap();
        let names: Vec<String> = std::fs::read_dir(&dir).unwrap().map(|e| e.unwrap().file_name().to_string_lossy().into_owned()).collect();
        assert!(!names.contains(&format!("cloudpay-{old}.log")), "older than {KEEP_DAYS} days: {names:?}");
        assert!(!names.contains(&format!("cloudpay-{d2}.log")), "oldest first: {names:?}");
        assert!(names.contains(&format!("cloudpay-{d1}.log")) && names.contains(&"other.log".to_owned()), "{names:?}");
        // Today's file past a quarter of the cap goes on in a new file; the total stays capped.
        let many: Vec<Record> = (0..40).map(|i| Record { what: "cloud_pay_query_order", code: Some(i), ..Record::default() }).collect();
        f.append(&many).unwrap();
        let total: u64 = std::fs::read_dir(&dir).unwrap().flatten().filter(|e| is_log_file(&e.path())).map(|e| e.metadata().unwrap().len()).sum();
        assert!(total <= 2000 + 200, "total {total}");
        let _ = std::fs::remove_dir_all(&dir);
    }
}
