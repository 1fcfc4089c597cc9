//! The order journal: every order and refund is recorded durably *before* it is sent, and
//! every state change after, so a process that dies mid-payment loses nothing — the next
//! `cloud_pay_init` with the same `state_dir` resumes polling every order that was not final.
//!
//! Format: one JSON entry per line followed by a tab and the first 16 hex digits of its
//! SHA-256. Appends are fsynced. A line that does not check (a torn write at a crash, or
//! damage) ends recovery: what came before is used, the rest is set aside in a `.corrupt-…`
//! file and reported. When the file grows past [`COMPACT_AT`] it is rewritten with only the
//! orders that are not final. It never holds payment codes or keys.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};

use parking_lot::Mutex;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

/// File name inside `state_dir`.
pub const FILE: &str = "cloud_pay_orders.journal";
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

/// Reads journal bytes: valid entries up to the first bad line.
pub fn read(bytes: &[u8]) -> Recovery {
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
pub struct Journal {
    path: PathBuf,
    file: Mutex<Option<std::fs::File>>,
}

impl Journal {
    /// Opens (creating) the journal in `dir` and recovers it. A damaged tail is moved aside
    /// to `<file>.corrupt-<unix time>` and the file rewritten from what was valid.
    pub fn open(dir: &Path) -> std::io::Result<(Journal, Recovery)> {
        std::fs::create_dir_all(dir)?;
        let path = dir.join(FILE);
        let bytes = std::fs::read(&path).unwrap_or_default();
        let recovery = read(&bytes);
        let journal = Journal { path, file: Mutex::new(None) };
        if recovery.corrupt_bytes > 0 {
            let secs = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or(0);
            let aside = journal.path.with_extension(format!("journal.corrupt-{secs}"));
            let _ = std::fs::write(aside, &bytes[bytes.len() - recovery.corrupt_bytes..]);
        }
        if recovery.corrupt_bytes > 0 || bytes.len() as u64 > COMPACT_AT {
            journal.rewrite(&recovery)?;
        }
        Ok((journal, recovery))
    }

    fn open_file(&self) -> std::io::Result<std::fs::File> {
        let mut opts = std::fs::OpenOptions::new();
        opts.create(true).append(true);
        #[cfg(unix)]
        std::os::unix::fs::OpenOptionsExt::mode(&mut opts, 0o600);
        opts.open(&self.path)
    }

    /// Appends entries and fsyncs them; compacts when the file grew past [`COMPACT_AT`].
    pub fn append(&self, entries: &[Entry]) -> std::io::Result<()> {
        if entries.is_empty() {
            return Ok(());
        }
        let mut guard = self.file.lock();
        if guard.is_none() {
            *guard = Some(self.open_file()?);
        }
        let f = guard.as_mut().expect("opened above");
        let text: String = entries.iter().map(encode).collect();
        f.write_all(text.as_bytes())?;
        f.sync_data()?;
        if f.metadata().map(|m| m.len()).unwrap_or(0) > COMPACT_AT {
            *guard = None;
            let recovery = read(&std::fs::read(&self.path)?);
            self.rewrite(&recovery)?;
        }
        Ok(())
    }

    /// Rewrites the file with the open orders only (atomically).
    fn rewrite(&self, r: &Recovery) -> std::io::Result<()> {
        let mut text = String::new();
        for o in r.open_orders() {
            text.push_str(&encode(&o.order));
            if let (Some(state), Entry::Order { no, .. }) = (o.state, &o.order) {
                text.push_str(&encode(&Entry::State { no: no.clone(), state, fin: false }));
            }
        }
        crate::security::store::write_atomic(&self.path, text.as_bytes())
    }
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
    fn recovers_open_orders_and_sets_a_torn_tail_aside() {
        let d = dir("torn");
        let (j, r) = Journal::open(&d).unwrap();
        assert_eq!(r.orders.len(), 0);
        j.append(&[order("a"), order("b")]).unwrap();
        j.append(&[Entry::State { no: "a".into(), state: 3, fin: true }, order("c")]).unwrap();
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
    fn compaction_keeps_only_open_orders() {
        let d = dir("compact");
        let (j, _) = Journal::open(&d).unwrap();
        let mut n = 0;
        while std::fs::metadata(d.join(FILE)).map(|m| m.len()).unwrap_or(0) < COMPACT_AT / 2 || n < 10 {
            let no = format!("order{n:06}");
            j.append(&[order(&no), Entry::State { no: no.clone(), state: 3, fin: n % 100 != 0 }]).unwrap();
            n += 1;
        }
        for _ in 0..3000 {
            let no = format!("order{n:06}");
            j.append(&[order(&no), Entry::State { no, state: 3, fin: true }]).unwrap();
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
