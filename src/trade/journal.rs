//! The order journal: every order and refund is recorded durably *before* it is sent, and
//! every state change after it, so a process that dies mid-payment loses nothing — the next
//! `cloud_pay_init` with the same `state_dir` resumes polling every order that was not final.
//!
//! Format: one JSON entry per line followed by a tab and the first 16 hex digits of its
//! SHA-256. Orders and refunds are fsynced before they are sent; state changes ride along with
//! the next fsync (see [`Journal`]). A line that does not check (a torn write at a crash, or
//! damage) is skipped: every line carries its own checksum, so recovery goes on with the next
//! one; the damaged lines are set aside in a `.corrupt-…` file and counted. When the file grows
//! past [`COMPACT_AT`] it is rewritten with the orders that are not final, the tombstones of
//! numbers that must stay guarded (re-entry, refused at creation: kept for
//! [`TOMBSTONE_RETENTION`]) and the refunds whose outcome is not known yet.
//!
//! One writer: the journal holds an exclusive OS lock on `<file>.lock` (flock / LockFileEx)
//! for as long as it is open, so a second process (or a second runtime in this process) on
//! the same folder cannot open it. It never holds payment codes or keys; digests are keyed
//! with the merchant's key.

use std::collections::{BTreeMap, BTreeSet};
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use parking_lot::{Condvar, Mutex};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

/// File name inside `state_dir`.
pub const FILE: &str = "cloud_pay_orders.journal";
/// fsyncs run by every journal of this process (for the benchmark's fsyncs per payment).
static FSYNCS: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);

/// Nanoseconds spent in those fsyncs.
static FSYNC_NANOS: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);

/// How many journal fsyncs this process has run (benchmark instrumentation, not API).
#[doc(hidden)]
pub fn fsyncs() -> u64 {
    FSYNCS.load(std::sync::atomic::Ordering::Relaxed)
}

/// Time spent in journal fsyncs by this process (benchmark instrumentation, not API).
#[doc(hidden)]
pub fn fsync_time() -> std::time::Duration {
    std::time::Duration::from_nanos(FSYNC_NANOS.load(std::sync::atomic::Ordering::Relaxed))
}

/// The file grows in steps of this many zero bytes (see `Writer::phys`).
const EXTEND_BY: u64 = 64 * 1024;

/// Size that triggers compaction.
pub(crate) const COMPACT_AT: u64 = 256 * 1024;

/// How long compaction keeps the tombstone of a number that met re-entry or was refused at
/// creation: a cashier's recovery or retry of that sale comes within days, not months.
pub const TOMBSTONE_RETENTION: std::time::Duration = std::time::Duration::from_secs(30 * 86_400);

/// The local state of re-entry: its record is a tombstone.
const REENTRY_STATE: i32 = 8;

/// Seconds since the Unix epoch.
pub fn unix_now() -> u64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or(0)
}

/// One journal entry.
#[derive(Serialize, Deserialize, Debug, Clone, PartialEq)]
#[serde(tag = "t", rename_all = "snake_case")]
pub enum Entry {
    /// An order about to be sent.
    Order {
        /// out_trade_no.
        no: String,
        /// total_fee (fen).
        fee: i64,
        /// PayPlatform.
        platform: i32,
        /// TradeType.
        trade_type: i32,
        /// Hex SHA-256 of the business content (tells a retry from a different order).
        digest: String,
        /// Domain the order is sent to.
        domain: Option<String>,
        /// The create's `nonce_str`: retries after a restart send it again, and an order created
        /// with another one is not this till's create (absent in journals written before).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        nonce: Option<String>,
    },
    /// A new local state of an order.
    State {
        /// out_trade_no.
        no: String,
        /// LocalState number.
        state: i32,
        /// Final: nothing left to poll.
        fin: bool,
        /// When (Unix seconds): the start of a tombstone's retention.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        at: Option<u64>,
        /// The server refused this SDK's first create of the number: any order under it is
        /// another sale's.
        #[serde(default, skip_serializing_if = "std::ops::Not::not")]
        refused: bool,
    },
    /// A refund about to be sent.
    Refund {
        /// out_trade_no.
        no: String,
        /// out_refund_no.
        refund_no: String,
        /// refund_fee (fen).
        fee: i64,
        /// Keyed digest of the refund's content, when the SDK generated its number: a retry of
        /// the same refund after a restart finds the number again by it.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        digest: Option<String>,
    },
    /// A verified reply settled a refund (accepted or refused): it no longer needs its number kept.
    RefundSettled {
        /// out_refund_no.
        refund_no: String,
    },
    /// The domain an order's requests now go to (after a fail-over).
    Domain {
        /// out_trade_no.
        no: String,
        /// Base URL.
        domain: String,
    },
}

/// A refund whose outcome no verified reply has settled yet.
#[derive(Debug, Clone, PartialEq)]
pub struct PendingRefund {
    /// out_trade_no.
    pub no: String,
    /// refund_fee (fen).
    pub fee: i64,
    /// Keyed content digest (generated numbers only).
    pub digest: Option<String>,
}

/// An order known to the journal, with its latest state.
#[derive(Debug, Clone, PartialEq)]
pub struct JournaledOrder {
    /// The order entry.
    pub order: Entry,
    /// Latest LocalState number, if any.
    pub state: Option<i32>,
    /// Final.
    pub fin: bool,
    /// When the latest state was journaled (Unix seconds), when known.
    pub at: Option<u64>,
    /// Refused at creation (see [`Entry::State`]).
    pub refused: bool,
}

/// What recovery found.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct Recovery {
    /// Orders by number, in the order they were created.
    pub orders: BTreeMap<String, JournaledOrder>,
    /// Valid entries read.
    pub entries: usize,
    /// Bytes of damaged lines (set aside).
    pub corrupt_bytes: usize,
    /// How many damaged lines were skipped (a torn last line counts as one).
    pub damaged_lines: usize,
    /// Refunds not settled yet, by out_refund_no.
    pub refunds: BTreeMap<String, PendingRefund>,
    /// Refund numbers a verified reply settled (made or refused) that the file still holds: a
    /// retry of one that cannot connect is not "never sent".
    pub settled_refunds: BTreeSet<String>,
    /// The damaged bytes, for the `.corrupt-…` file.
    aside: Vec<u8>,
}

impl Recovery {
    /// Orders still to be followed.
    pub fn open_orders(&self) -> impl Iterator<Item = &JournaledOrder> {
        self.orders.values().filter(|o| !o.fin)
    }

    /// Final orders whose number stays guarded (re-entry, refused at creation) and whose
    /// retention has not run out.
    pub fn tombstones(&self) -> impl Iterator<Item = &JournaledOrder> {
        let oldest = unix_now().saturating_sub(TOMBSTONE_RETENTION.as_secs());
        self.orders.values().filter(move |o| {
            o.fin && (o.refused || o.state == Some(REENTRY_STATE)) && o.at.is_some_and(|t| t >= oldest)
        })
    }
}

fn checksum(line: &str) -> String {
    crate::protocol::crypto::hex_upper(&Sha256::digest(line.as_bytes())[..8])
}

fn encode(e: &Entry) -> String {
    let json = serde_json::to_string(e).expect("journal entries serialise");
    format!("{json}\t{}\n", checksum(&json))
}

/// Where the written part of journal bytes ends: the file is extended with zeros ahead of
/// the entries (see `Writer::phys`), and that free space is not an entry.
fn written_len(bytes: &[u8]) -> usize {
    bytes.iter().rposition(|&b| b != 0).map_or(0, |p| p + 1)
}

/// Reads journal bytes. A line that does not check is skipped and set aside (each line has
/// its own checksum, so the next one is still good). Zeros at the end are free space; a last
/// line without its newline (a torn write) is damage too.
pub fn read(bytes: &[u8]) -> Recovery {
    let bytes = &bytes[..written_len(bytes)];
    let mut r = Recovery::default();
    let mut pos = 0;
    while pos < bytes.len() {
        let end = bytes[pos..].iter().position(|&b| b == b'\n').map_or(bytes.len(), |nl| pos + nl);
        let line = &bytes[pos..end];
        let entry = (end < bytes.len())
            .then(|| std::str::from_utf8(line).ok())
            .flatten()
            .and_then(|l| l.rsplit_once('\t'))
            .filter(|(json, sum)| checksum(json) == *sum)
            .and_then(|(json, _)| serde_json::from_str::<Entry>(json).ok());
        let next = (end + 1).min(bytes.len());
        match entry {
            Some(entry) => {
                apply(&mut r, entry);
                r.entries += 1;
            }
            // Zeros inside the file are the free space of a torn write: damage, not a line.
            None if line.iter().all(|&b| b == 0) => r.corrupt_bytes += next - pos,
            None => {
                r.damaged_lines += 1;
                r.corrupt_bytes += next - pos;
                r.aside.extend_from_slice(&bytes[pos..next]);
            }
        }
        pos = next;
    }
    r
}

fn apply(r: &mut Recovery, e: Entry) {
    match &e {
        // A later create of a number starts afresh: the SDK writes one only for a number it
        // holds no open order or guard for (done and forgotten, or never sent).
        Entry::Order { no, .. } => {
            r.orders.insert(
                no.clone(),
                JournaledOrder { order: e.clone(), state: None, fin: false, at: None, refused: false },
            );
        }
        Entry::State { no, state, fin, at, refused } => {
            if let Some(o) = r.orders.get_mut(no) {
                o.state = Some(*state);
                o.fin = *fin;
                o.at = *at;
                o.refused = *refused;
            }
        }
        Entry::Refund { no, refund_no, fee, digest } => {
            r.settled_refunds.remove(refund_no);
            r.refunds.insert(refund_no.clone(), PendingRefund { no: no.clone(), fee: *fee, digest: digest.clone() });
        }
        Entry::RefundSettled { refund_no } => {
            r.refunds.remove(refund_no);
            r.settled_refunds.insert(refund_no.clone());
        }
        Entry::Domain { no, domain } => {
            if let Some(JournaledOrder { order: Entry::Order { domain: d, .. }, .. }) = r.orders.get_mut(no) {
                *d = Some(domain.clone());
            }
        }
    }
}

/// The journal file of one runtime.
///
/// Durability is per entry kind. An order or refund about to be sent is fsynced before the
/// call returns (`append_durable`): without it a crash could lose a payment that reached the
/// server. A state change (`append_state`) is written but not fsynced by itself: it reaches
/// the disk with the next fsync or the kernel's write-back, and it survives the process being
/// killed either way (the page cache is the kernel's). Only a power cut or kernel crash can
/// lose it, and then the order reads as not final: it is queried again after the restart and
/// ends in the state the server holds. Nothing is lost, one query is spent.
///
/// Concurrent durable appends share fsyncs (group commit): a writer whose entry was already
/// covered by another thread's fsync does not issue its own.
pub struct Journal {
    path: PathBuf,
    file: Mutex<Writer>,
    sync: Mutex<SyncState>,
    synced_cv: Condvar,
    /// The open lock file: the exclusive lock lasts as long as this journal (last field, so
    /// it is released after the journal's own file is closed).
    lock: FolderLock,
}

#[derive(Default)]
struct Writer {
    file: Option<Arc<std::fs::File>>,
    /// Where the next entry goes: the end of what is written (kept here: a metadata call
    /// per write would cost a system call).
    len: u64,
    /// Size of the file: `len` plus zeros written ahead. Entries overwrite those zeros, so
    /// the file's size does not change with each entry and an fdatasync has only data to
    /// write, not the inode (about a third less per fsync on ext4).
    phys: u64,
    /// Size that triggers the next compaction: twice what the last one left, at least
    /// [`COMPACT_AT`]. Many open orders can fill more than `COMPACT_AT` by themselves; a
    /// fixed limit would then rewrite the whole file on every append.
    compact_at: u64,
    /// Sequence number of the last entry written.
    written: u64,
}

#[derive(Default)]
struct SyncState {
    /// Every entry up to this sequence number is on disk.
    synced: u64,
    /// A thread is running an fsync.
    running: bool,
}

impl Journal {
    /// Turns true once this journal is dropped and its folder lock released.
    pub fn released(&self) -> Arc<std::sync::atomic::AtomicBool> {
        self.lock.released.clone()
    }

    /// Opens (creating) the journal in `dir` and recovers it. A damaged tail is moved aside
    /// to `<file>.corrupt-<unix time>` and the file rewritten from what was valid.
    pub fn open(dir: &Path) -> std::io::Result<(Journal, Recovery)> {
        std::fs::create_dir_all(dir)?;
        let lock = lock_folder(dir)?;
        let journal = Journal {
            path: dir.join(FILE),
            file: Mutex::new(Writer { compact_at: COMPACT_AT, ..Writer::default() }),
            sync: Mutex::new(SyncState::default()),
            synced_cv: Condvar::new(),
            lock: FolderLock { file: Some(lock), released: Arc::default() },
        };
        let mut w = journal.file.lock();
        // A journal that exists but cannot be read fails init: recovering nothing from it would
        // leave its open orders unfollowed. The handle stays open for the first payment.
        let bytes = journal.load(&mut w)?;
        let recovery = read(&bytes);
        if !recovery.aside.is_empty() {
            // Nanoseconds: two recoveries within a second must not overwrite each other's file.
            let nanos =
                std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_nanos()).unwrap_or(0);
            let aside = journal.path.with_extension(format!("journal.corrupt-{nanos}"));
            let _ = std::fs::write(aside, &recovery.aside);
        }
        if recovery.corrupt_bytes > 0 || written_len(&bytes) as u64 > COMPACT_AT {
            journal.compact(&mut w, &recovery)?;
        }
        drop(w);
        Ok((journal, recovery))
    }

    /// Opens the file and reads it; the writer continues where its entries end.
    fn load(&self, w: &mut Writer) -> std::io::Result<Vec<u8>> {
        let mut f = self.open_file()?;
        let mut bytes = Vec::new();
        f.read_to_end(&mut bytes)?;
        (w.len, w.phys) = (written_len(&bytes) as u64, bytes.len() as u64);
        w.file = Some(Arc::new(f));
        Ok(bytes)
    }

    /// Rewrites the file to `r`'s open orders and points the writer at the new file. It holds
    /// exactly what the rewrite wrote: no need to read it again.
    fn compact(&self, w: &mut Writer, r: &Recovery) -> std::io::Result<()> {
        let left = self.rewrite(r)?;
        w.compact_at = next_compaction(left);
        (w.len, w.phys) = (left, left);
        w.file = Some(Arc::new(self.open_file()?));
        Ok(())
    }

    /// Opens (creating) the file for reading and writing.
    fn open_file(&self) -> std::io::Result<std::fs::File> {
        let mut opts = std::fs::OpenOptions::new();
        opts.create(true).read(true).write(true);
        #[cfg(unix)]
        std::os::unix::fs::OpenOptionsExt::mode(&mut opts, 0o600);
        opts.open(&self.path)
    }

    /// Appends entries that must be on disk before anything is sent (orders, refunds), and
    /// returns once they are.
    pub fn append_durable(&self, entries: &[Entry]) -> std::io::Result<()> {
        let Some((seq, file)) = self.write(entries)? else { return Ok(()) };
        self.sync_through(seq, &file)
    }

    /// Appends state changes without waiting for the disk (see the type's docs).
    pub fn append_state(&self, entries: &[Entry]) -> std::io::Result<()> {
        self.write(entries).map(|_| ())
    }

    /// Writes entries; returns their sequence number and the file they went to (None when
    /// there was nothing to write, or when compaction already put them on disk).
    fn write(&self, entries: &[Entry]) -> std::io::Result<Option<(u64, Arc<std::fs::File>)>> {
        if entries.is_empty() {
            return Ok(None);
        }
        let text: String = entries.iter().map(encode).collect();
        let mut w = self.file.lock();
        if w.file.is_none() {
            // Where the entries end is read again after a compaction that failed half-way.
            self.load(&mut w)?;
        }
        let file = w.file.clone().expect("opened above");
        let end = w.len + text.len() as u64;
        if end > w.phys {
            // Zeros ahead, written through the same file: the next fsync makes them (and the
            // new size) durable once for the many entries that will overwrite them.
            let phys = end.div_ceil(EXTEND_BY) * EXTEND_BY;
            (&*file).seek(SeekFrom::Start(w.phys))?;
            (&*file).write_all(&vec![0u8; (phys - w.phys) as usize])?;
            w.phys = phys;
        }
        (&*file).seek(SeekFrom::Start(w.len))?;
        (&*file).write_all(text.as_bytes())?;
        w.len = end;
        w.written += 1;
        let seq = w.written;
        if w.len > w.compact_at {
            // The rewrite is fsynced and renamed into place: everything written so far,
            // synced or not, is on disk once it returns.
            w.file = None;
            let recovery = read(&std::fs::read(&self.path)?);
            self.compact(&mut w, &recovery)?;
            let mut s = self.sync.lock();
            s.synced = s.synced.max(seq);
            drop(s);
            self.synced_cv.notify_all();
            return Ok(None);
        }
        Ok(Some((seq, file)))
    }

    /// Returns once entry `seq` is on disk: by an fsync already running or done for a later
    /// entry, or by one this thread runs for everything written so far.
    fn sync_through(&self, seq: u64, file: &Arc<std::fs::File>) -> std::io::Result<()> {
        let mut s = self.sync.lock();
        loop {
            if s.synced >= seq {
                return Ok(());
            }
            if !s.running {
                break;
            }
            self.synced_cv.wait(&mut s);
        }
        s.running = true;
        drop(s);
        // Everything written to this file before this point is covered by the fsync below.
        // (If compaction replaced the file meanwhile, it put all of the old one on disk.)
        let target = {
            let w = self.file.lock();
            if w.file.as_ref().is_some_and(|f| Arc::ptr_eq(f, file)) { w.written } else { seq }
        };
        let started = std::time::Instant::now();
        let r = file.sync_data();
        FSYNC_NANOS.fetch_add(started.elapsed().as_nanos() as u64, std::sync::atomic::Ordering::Relaxed);
        FSYNCS.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let mut s = self.sync.lock();
        s.running = false;
        if r.is_ok() {
            s.synced = s.synced.max(target);
        }
        drop(s);
        self.synced_cv.notify_all();
        r
    }

    /// Rewrites the file (atomically) with what must outlive compaction: the open orders, the
    /// tombstones and the unsettled refunds; returns its new size.
    fn rewrite(&self, r: &Recovery) -> std::io::Result<u64> {
        let mut text = String::new();
        for o in r.open_orders().chain(r.tombstones()) {
            text.push_str(&encode(&o.order));
            if let (Some(state), Entry::Order { no, .. }) = (o.state, &o.order) {
                text.push_str(&encode(&Entry::State {
                    no: no.clone(),
                    state,
                    fin: o.fin,
                    at: o.at,
                    refused: o.refused,
                }));
            }
        }
        for (refund_no, p) in &r.refunds {
            text.push_str(&encode(&Entry::Refund {
                no: p.no.clone(),
                refund_no: refund_no.clone(),
                fee: p.fee,
                digest: p.digest.clone(),
            }));
        }
        crate::files::write_atomic(&self.path, text.as_bytes())?;
        Ok(text.len() as u64)
    }
}

/// Takes the exclusive lock of the journal in `dir`, or says who holds it.
fn lock_folder(dir: &Path) -> std::io::Result<std::fs::File> {
    let path = dir.join(format!("{FILE}.lock"));
    let mut opts = std::fs::OpenOptions::new();
    opts.create(true).read(true).write(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut opts, 0o600);
    let f = opts.open(&path)?;
    match f.try_lock() {
        Ok(()) => Ok(f),
        Err(std::fs::TryLockError::WouldBlock) => Err(std::io::Error::new(
            std::io::ErrorKind::WouldBlock,
            format!(
                "the order journal in {} is in use by another process or SDK instance (one writer per state_dir: give each till its own state_dir)",
                dir.display()
            ),
        )),
        Err(std::fs::TryLockError::Error(e)) => Err(e),
    }
}

/// The held folder lock. `released` turns true only once the lock file is closed: an `Arc`'s
/// count reaches zero before its value is dropped, so "nobody holds the journal" is not yet
/// "the folder is free", and the next init waits for this flag instead.
struct FolderLock {
    file: Option<std::fs::File>,
    released: Arc<std::sync::atomic::AtomicBool>,
}

impl Drop for FolderLock {
    fn drop(&mut self) {
        drop(self.file.take());
        self.released.store(true, std::sync::atomic::Ordering::Release);
    }
}

/// The compaction limit after a compaction left `left` bytes (see `Writer::compact_at`).
fn next_compaction(left: u64) -> u64 {
    (2 * left).max(COMPACT_AT)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn order(no: &str) -> Entry {
        Entry::Order {
            no: no.into(),
            fee: 1,
            platform: 1,
            trade_type: 1,
            digest: "ab".into(),
            domain: None,
            nonce: None,
        }
    }

    fn dir(name: &str) -> PathBuf {
        let d = std::env::temp_dir().join(format!("cps-journal-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&d);
        d
    }

    #[test]
    fn a_journal_that_cannot_be_read_fails_open() {
        // Before, an unreadable journal read as empty: init succeeded and its open orders
        // were neither polled nor answered for.
        let d = dir("unreadable");
        std::fs::create_dir_all(d.join(FILE)).unwrap();
        assert!(Journal::open(&d).is_err());
    }

    #[test]
    fn the_first_write_after_open_continues_the_file() {
        let d = dir("continue");
        let (j, _) = Journal::open(&d).unwrap();
        j.append_durable(&[order("a")]).unwrap();
        drop(j);
        let (j, r) = Journal::open(&d).unwrap();
        assert_eq!(r.entries, 1);
        j.append_durable(&[order("b")]).unwrap();
        j.append_state(&[Entry::State { no: "a".into(), state: 3, fin: true, at: None, refused: false }]).unwrap();
        drop(j);
        let (_, r) = Journal::open(&d).unwrap();
        assert_eq!((r.entries, r.corrupt_bytes), (3, 0));
        let open: Vec<_> = r.open_orders().map(|o| o.order.clone()).collect();
        assert_eq!(open, vec![order("b")]);
    }

    #[test]
    fn recovers_open_orders_and_sets_a_torn_tail_aside() {
        let d = dir("torn");
        let (j, r) = Journal::open(&d).unwrap();
        assert_eq!(r.orders.len(), 0);
        j.append_durable(&[order("a"), order("b")]).unwrap();
        j.append_durable(&[Entry::State { no: "a".into(), state: 3, fin: true, at: None, refused: false }, order("c")])
            .unwrap();
        // A crash in the middle of writing the next line.
        let mut f = std::fs::OpenOptions::new().append(true).open(d.join(FILE)).unwrap();
        f.write_all(b"{\"t\":\"order\",\"no\":\"d\",\"fee\"").unwrap();
        drop(f);
        drop(j);
        let (_, r) = Journal::open(&d).unwrap();
        let open: Vec<_> = r.open_orders().map(|o| o.order.clone()).collect();
        assert_eq!(open, vec![order("b"), order("c")]);
        assert_eq!(r.entries, 4);
        assert!(r.corrupt_bytes > 0);
        // The tail was set aside and the file is clean again.
        let (_, again) = Journal::open(&d).unwrap();
        assert_eq!(again.corrupt_bytes, 0);
        assert_eq!(again.open_orders().count(), 2);
        assert!(std::fs::read_dir(&d).unwrap().any(|e| e.unwrap().file_name().to_string_lossy().contains("corrupt")));
        let _ = std::fs::remove_dir_all(&d);
    }

    #[test]
    fn a_damaged_line_is_skipped_and_recovery_goes_on() {
        let mut bytes = Vec::new();
        for e in [order("a"), order("b"), order("c")] {
            bytes.extend_from_slice(encode(&e).as_bytes());
        }
        let second = bytes.iter().position(|&b| b == b'\n').unwrap() + 5;
        bytes[second] ^= 1;
        let r = read(&bytes);
        let found: Vec<_> = r.orders.keys().cloned().collect();
        assert_eq!(found, ["a", "c"], "the line after the damaged one is still read");
        assert_eq!(r.damaged_lines, 1);
        let lines: Vec<&[u8]> = bytes.split_inclusive(|&b| b == b'\n').collect();
        assert_eq!(r.aside, lines[1], "the damaged line is what is set aside");
    }

    #[test]
    fn a_second_open_of_one_folder_is_refused_while_the_first_is_open() {
        let d = dir("locked");
        let (j, _) = Journal::open(&d).unwrap();
        let Err(e) = Journal::open(&d) else { panic!("two writers on one journal") };
        assert!(e.to_string().contains(&d.display().to_string()), "{e}");
        let released = j.released();
        assert!(!released.load(std::sync::atomic::Ordering::Acquire), "held while open");
        drop(j);
        assert!(released.load(std::sync::atomic::Ordering::Acquire), "said released once dropped");
        assert!(Journal::open(&d).is_ok(), "free again once the first is closed");
        let _ = std::fs::remove_dir_all(&d);
    }

    #[test]
    fn compaction_keeps_tombstones_within_retention_and_unsettled_refunds() {
        let d = dir("tombstones");
        let (j, _) = Journal::open(&d).unwrap();
        let now = unix_now();
        j.append_durable(&[
            order("reentry"),
            Entry::State { no: "reentry".into(), state: 8, fin: true, at: Some(now), refused: false },
        ])
        .unwrap();
        j.append_durable(&[
            order("old"),
            Entry::State {
                no: "old".into(),
                state: 8,
                fin: true,
                at: Some(now - TOMBSTONE_RETENTION.as_secs() - 10),
                refused: false,
            },
        ])
        .unwrap();
        j.append_durable(&[
            order("refused"),
            Entry::State { no: "refused".into(), state: 4, fin: true, at: Some(now), refused: true },
        ])
        .unwrap();
        j.append_durable(&[
            order("failed"),
            Entry::State { no: "failed".into(), state: 4, fin: true, at: Some(now), refused: false },
        ])
        .unwrap();
        j.append_durable(&[
            order("paid"),
            Entry::State { no: "paid".into(), state: 3, fin: true, at: Some(now), refused: false },
        ])
        .unwrap();
        j.append_durable(&[Entry::Refund {
            no: "paid".into(),
            refund_no: "R1".into(),
            fee: 5,
            digest: Some("D1".into()),
        }])
        .unwrap();
        j.append_durable(&[
            Entry::Refund { no: "paid".into(), refund_no: "R2".into(), fee: 5, digest: None },
            Entry::RefundSettled { refund_no: "R2".into() },
        ])
        .unwrap();
        let mut w = j.file.lock();
        let r = read(&std::fs::read(d.join(FILE)).unwrap());
        j.compact(&mut w, &r).unwrap();
        drop(w);
        drop(j);
        let (_, r) = Journal::open(&d).unwrap();
        let kept: Vec<_> = r.orders.keys().cloned().collect();
        assert_eq!(kept, ["reentry", "refused"], "only the tombstones within retention survive compaction");
        assert_eq!(r.tombstones().count(), 2);
        assert!(r.orders["refused"].refused);
        assert_eq!(r.refunds.keys().collect::<Vec<_>>(), ["R1"]);
        assert_eq!(r.refunds["R1"].digest.as_deref(), Some("D1"));
        let _ = std::fs::remove_dir_all(&d);
    }

    #[test]
    fn concurrent_durable_appends_all_survive_and_state_changes_follow() {
        let d = dir("group");
        let (j, _) = Journal::open(&d).unwrap();
        let j = std::sync::Arc::new(j);
        let hs: Vec<_> = (0..16)
            .map(|t| {
                let j = j.clone();
                std::thread::spawn(move || {
                    for i in 0..25 {
                        let no = format!("t{t:02}o{i:02}");
                        j.append_durable(&[order(&no)]).unwrap();
                        j.append_state(&[Entry::State { no, state: 3, fin: i % 2 == 0, at: None, refused: false }])
                            .unwrap();
                    }
                })
            })
            .collect();
        hs.into_iter().for_each(|h| h.join().unwrap());
        drop(j);
        let (_, r) = Journal::open(&d).unwrap();
        assert_eq!((r.orders.len(), r.entries, r.corrupt_bytes), (400, 800, 0), "every line whole, none interleaved");
        assert_eq!(r.open_orders().count(), 16 * 12, "the odd-numbered orders of each thread");
        let _ = std::fs::remove_dir_all(&d);
    }

    /// The file grows by zeros written ahead; they are free space, not damage, and a line
    /// torn inside them is set aside like any torn tail.
    #[test]
    fn zeros_ahead_are_free_space_and_a_torn_line_in_them_is_set_aside() {
        let d = dir("zeros");
        let (j, _) = Journal::open(&d).unwrap();
        j.append_durable(&[order("a"), order("b")]).unwrap();
        let bytes = std::fs::read(d.join(FILE)).unwrap();
        let end = written_len(&bytes);
        assert_eq!(bytes.len() as u64, EXTEND_BY, "zeros written ahead");
        assert!(bytes[end..].iter().all(|&b| b == 0) && end > 0);
        drop(j);
        let (j, r) = Journal::open(&d).unwrap();
        assert_eq!((r.entries, r.corrupt_bytes), (2, 0), "a zero tail is clean");
        // Reopened, the next entry goes right after the last one, not after the zeros.
        j.append_durable(&[order("c")]).unwrap();
        drop(j);
        let (_, r) = Journal::open(&d).unwrap();
        assert_eq!((r.entries, r.corrupt_bytes, r.open_orders().count()), (3, 0, 3));
        // A crash in the middle of writing the next line: part of it lands in the zeros.
        let bytes = std::fs::read(d.join(FILE)).unwrap();
        let end = written_len(&bytes) as u64;
        let f = std::fs::OpenOptions::new().write(true).open(d.join(FILE)).unwrap();
        (&f).seek(SeekFrom::Start(end)).unwrap();
        (&f).write_all(b"{\"t\":\"order\",\"no\":\"d\",\"fee\"").unwrap();
        drop(f);
        let (_, r) = Journal::open(&d).unwrap();
        assert_eq!(r.entries, 3);
        assert!(r.corrupt_bytes > 0, "the torn line is damage");
        let (_, again) = Journal::open(&d).unwrap();
        assert_eq!((again.entries, again.corrupt_bytes), (3, 0), "set aside, the file is clean again");
        let _ = std::fs::remove_dir_all(&d);
    }

    /// More open orders than `COMPACT_AT` holds: appends go on without a rewrite each (a
    /// rewrite renames a new file into place, so the inode would change).
    #[cfg(unix)]
    #[test]
    fn many_open_orders_do_not_make_every_append_a_rewrite() {
        use std::os::unix::fs::MetadataExt;
        let d = dir("many-open");
        let (j, _) = Journal::open(&d).unwrap();
        let mut n = 0;
        let ino = || std::fs::metadata(d.join(FILE)).unwrap().ino();
        while std::fs::metadata(d.join(FILE)).map(|m| m.len()).unwrap_or(0) <= COMPACT_AT + COMPACT_AT / 2 {
            j.append_state(&[order(&format!("open{n:06}"))]).unwrap();
            n += 1;
        }
        let before = ino();
        for i in 0..200 {
            j.append_state(&[order(&format!("more{i:06}"))]).unwrap();
        }
        assert_eq!(ino(), before, "no rewrite while the file is under twice what the last compaction left");
        drop(j);
        let (_, r) = Journal::open(&d).unwrap();
        assert_eq!(r.open_orders().count(), n + 200, "every open order survives");
        let _ = std::fs::remove_dir_all(&d);
    }

    #[test]
    fn compaction_keeps_only_open_orders() {
        let d = dir("compact");
        let (j, _) = Journal::open(&d).unwrap();
        let mut n = 0;
        while std::fs::metadata(d.join(FILE)).map(|m| m.len()).unwrap_or(0) < COMPACT_AT / 2 || n < 10 {
            let no = format!("order{n:06}");
            j.append_durable(&[
                order(&no),
                Entry::State { no: no.clone(), state: 3, fin: n % 100 != 0, at: None, refused: false },
            ])
            .unwrap();
            n += 1;
        }
        for _ in 0..3000 {
            let no = format!("order{n:06}");
            j.append_durable(&[order(&no), Entry::State { no, state: 3, fin: true, at: None, refused: false }])
                .unwrap();
            n += 1;
        }
        let size = std::fs::metadata(d.join(FILE)).unwrap().len();
        assert!(size <= COMPACT_AT, "bounded: {size}");
        drop(j);
        let (_, r) = Journal::open(&d).unwrap();
        assert!(r.open_orders().all(|o| matches!(&o.order, Entry::Order { no, .. } if no.trim_start_matches("order").parse::<u32>().unwrap() % 100 == 0)));
        assert!(r.open_orders().count() >= 1);
        let _ = std::fs::remove_dir_all(&d);
    }
}
