//! The order journal: every order and refund is recorded durably *before* it is sent, and
//! every state change after it, so a process that dies mid-payment loses nothing — the next
//! `cloud_pay_init` with the same `state_dir` resumes polling every order that was not final.
//!
//! Format: one JSON entry per line followed by a tab and the first 16 hex digits of its
//! SHA-256. Orders and refunds are fsynced before they are sent; state changes ride along with
//! the next fsync (see [`Journal`]). A line that does not check (a torn write at a crash, or
//! damage) ends recovery: what came before is used, the rest is set aside in a `.corrupt-…`
//! file and reported. When the file grows past [`COMPACT_AT`] it is rewritten with only the
//! orders that are not final. It never holds payment codes or keys.

use std::collections::BTreeMap;
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

/// How many journal fsyncs this process has run.
pub fn fsyncs() -> u64 {
    FSYNCS.load(std::sync::atomic::Ordering::Relaxed)
}

/// Time spent in journal fsyncs by this process.
pub fn fsync_time() -> std::time::Duration {
    std::time::Duration::from_nanos(FSYNC_NANOS.load(std::sync::atomic::Ordering::Relaxed))
}

/// The file grows in steps of this many zero bytes (see `Writer::phys`).
const EXTEND_BY: u64 = 64 * 1024;

/// Size that triggers compaction.
pub(crate) const COMPACT_AT: u64 = 256 * 1024;

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
    },
    /// A new local state of an order.
    State {
        /// out_trade_no.
        no: String,
        /// LocalState number.
        state: i32,
        /// Final: nothing left to poll.
        fin: bool,
    },
    /// A refund about to be sent.
    Refund {
        /// out_trade_no.
        no: String,
        /// out_refund_no.
        refund_no: String,
        /// refund_fee (fen).
        fee: i64,
    },
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
}

/// What recovery found.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct Recovery {
    /// Orders by number, in the order they were created.
    pub orders: BTreeMap<String, JournaledOrder>,
    /// Valid entries read.
    pub entries: usize,
    /// Bytes after the last valid entry (set aside).
    pub corrupt_bytes: usize,
}

impl Recovery {
    /// Orders still to be followed.
    pub fn open_orders(&self) -> impl Iterator<Item = &JournaledOrder> {
        self.orders.values().filter(|o| !o.fin)
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

/// Reads journal bytes: valid entries up to the first bad line. Zeros at the end are free
/// space; anything else after the last valid line (a torn write) counts as corrupt.
pub fn read(bytes: &[u8]) -> Recovery {
    let bytes = &bytes[..written_len(bytes)];
    let mut r = Recovery::default();
    let mut pos = 0;
    while pos < bytes.len() {
        let Some(nl) = bytes[pos..].iter().position(|&b| b == b'\n') else { break };
        let line = &bytes[pos..pos + nl];
        let entry = std::str::from_utf8(line).ok().and_then(|l| l.rsplit_once('\t')).filter(|(json, sum)| checksum(json) == *sum).and_then(|(json, _)| serde_json::from_str::<Entry>(json).ok());
        let Some(entry) = entry else { break };
        apply(&mut r, entry);
        r.entries += 1;
        pos += nl + 1;
    }
    r.corrupt_bytes = bytes.len() - pos;
    r
}

fn apply(r: &mut Recovery, e: Entry) {
    match &e {
        Entry::Order { no, .. } => {
            r.orders.entry(no.clone()).or_insert(JournaledOrder { order: e.clone(), state: None, fin: false });
        }
        Entry::State { no, state, fin } => {
            if let Some(o) = r.orders.get_mut(no) {
                o.state = Some(*state);
                o.fin = *fin;
            }
        }
        Entry::Refund { .. } => {}
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
    /// Opens (creating) the journal in `dir` and recovers it. A damaged tail is moved aside
    /// to `<file>.corrupt-<unix time>` and the file rewritten from what was valid.
    pub fn open(dir: &Path) -> std::io::Result<(Journal, Recovery)> {
        std::fs::create_dir_all(dir)?;
        let journal = Journal { path: dir.join(FILE), file: Mutex::new(Writer { compact_at: COMPACT_AT, ..Writer::default() }), sync: Mutex::new(SyncState::default()), synced_cv: Condvar::new() };
        let mut w = journal.file.lock();
        // A journal that exists but cannot be read fails init: recovering nothing from it would
        // leave its open orders unfollowed. The handle stays open for the first payment.
        let bytes = journal.load(&mut w)?;
        let recovery = read(&bytes);
        if recovery.corrupt_bytes > 0 {
            let secs = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or(0);
            let aside = journal.path.with_extension(format!("journal.corrupt-{secs}"));
            let _ = std::fs::write(aside, &bytes[bytes.len() - recovery.corrupt_bytes..]);
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

    /// Rewrites the file with the open orders only (atomically); returns its new size.
    fn rewrite(&self, r: &Recovery) -> std::io::Result<u64> {
        let mut text = String::new();
        for o in r.open_orders() {
            text.push_str(&encode(&o.order));
            if let (Some(state), Entry::Order { no, .. }) = (o.state, &o.order) {
                text.push_str(&encode(&Entry::State { no: no.clone(), state, fin: false }));
            }
        }
        crate::security::store::write_atomic(&self.path, text.as_bytes())?;
        Ok(text.len() as u64)
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
        Entry::Order { no: no.into(), fee: 1, platform: 1, trade_type: 1, digest: "ab".into(), domain: None }
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
        j.append_state(&[Entry::State { no: "a".into(), state: 3, fin: true }]).unwrap();
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
        j.append_durable(&[Entry::State { no: "a".into(), state: 3, fin: true }, order("c")]).unwrap();
        // A crash in the middle of writing the next line.
        let mut f = std::fs::OpenOptions::new().append(true).open(d.join(FILE)).unwrap();
        f.write_all(b"{\"t\":\"order\",\"no\":\"d\",\"fee\"").unwrap();
        drop(f);
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
    fn a_damaged_line_stops_recovery_there() {
        let mut bytes = Vec::new();
        for e in [order("a"), order("b"), order("c")] {
            bytes.extend_from_slice(encode(&e).as_bytes());
        }
        let second = bytes.iter().position(|&b| b == b'\n').unwrap() + 5;
        bytes[second] ^= 1;
        let r = read(&bytes);
        assert_eq!(r.orders.len(), 1, "only what precedes the damage is trusted");
        assert!(r.corrupt_bytes > 0);
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
                        j.append_state(&[Entry::State { no, state: 3, fin: i % 2 == 0 }]).unwrap();
                    }
                })
            })
            .collect();
        hs.into_iter().for_each(|h| h.join().unwrap());
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
            j.append_durable(&[order(&no), Entry::State { no: no.clone(), state: 3, fin: n % 100 != 0 }]).unwrap();
            n += 1;
        }
        for _ in 0..3000 {
            let no = format!("order{n:06}");
            j.append_durable(&[order(&no), Entry::State { no, state: 3, fin: true }]).unwrap();
            n += 1;
        }
        let size = std::fs::metadata(d.join(FILE)).unwrap().len();
        assert!(size <= COMPACT_AT, "bounded: {size}");
        let (_, r) = Journal::open(&d).unwrap();
        assert!(r.open_orders().all(|o| matches!(&o.order, Entry::Order { no, .. } if no.trim_start_matches("order").parse::<u32>().unwrap() % 100 == 0)));
        assert!(r.open_orders().count() >= 1);
        let _ = std::fs::remove_dir_all(&d);
    }
}
