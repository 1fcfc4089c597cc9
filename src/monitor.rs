//! Monitoring records (docs/c-api.md, "Monitoring records"): one per HTTP call, uploaded in the
//! background.
//!
//! Records hold the interface code, status, time, log_id and domain — never request or reply
//! content, so no payment code, key or signature can reach them. The buffer is bounded.

use std::collections::VecDeque;

use cloud_pay_protocol::types::ClientIntResult;
use parking_lot::Mutex;

/// Most records kept; older ones are dropped first.
pub(crate) const CAPACITY: usize = 1000;
/// Upload attempts before a batch is dropped.
pub(crate) const MAX_ATTEMPTS: u8 = 3;

/// Local `status` of a record when no reply was read (the device-report convention).
pub(crate) mod local_status {
    /// The connection could not be made.
    pub(crate) const CONNECT_FAILED: i32 = -2;
    /// The reply did not come in time or was lost.
    pub(crate) const NO_REPLY: i32 = -3;
    /// The reply could not be read.
    pub(crate) const BAD_REPLY: i32 = -4;
}

/// The record buffer.
#[derive(Default)]
pub struct Monitor {
    queue: Mutex<VecDeque<(ClientIntResult, u8)>>,
    dropped: std::sync::atomic::AtomicU64,
}

/// Replaces digit runs long enough to be a payment code (16+ digits) with `*` and cuts the
/// text to 255 characters (a monitor record's description).
pub fn redact(text: &str) -> String {
    // The usual description has no 16-digit run and is short: copied as it is.
    if text.len() <= 255 && !has_long_run(text) {
        return text.to_owned();
    }
    redact_runs(text).chars().take(255).collect()
}

fn has_long_run(text: &str) -> bool {
    text.as_bytes().split(|b| !b.is_ascii_digit()).any(|run| run.len() >= 16)
}

/// The monitor's redaction rule without the length cut: every digit run long enough to be a
/// payment code (16+ digits) becomes as many `*`. Shared with the SDK log ([`crate::sdklog`]).
pub fn redact_runs(text: &str) -> String {
    if !has_long_run(text) {
        return text.to_owned();
    }
    let mut out = String::with_capacity(text.len());
    let mut run = String::new();
    let flush = |run: &mut String, out: &mut String| {
        if run.len() >= 16 {
            out.push_str(&"*".repeat(run.len()));
        } else {
            out.push_str(run);
        }
        run.clear();
    };
    for ch in text.chars() {
        if ch.is_ascii_digit() {
            run.push(ch);
        } else {
            flush(&mut run, &mut out);
            out.push(ch);
        }
    }
    flush(&mut run, &mut out);
    out
}

impl Monitor {
    /// Adds a record (description redacted and cut to 255 characters).
    pub fn record(&self, mut r: ClientIntResult) {
        r.description = redact(&r.description);
        let mut q = self.queue.lock();
        if q.len() >= CAPACITY {
            q.pop_front();
            self.dropped.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        }
        q.push_back((r, 0));
    }

    /// Takes up to `max` records for an upload.
    pub fn take(&self, max: usize) -> Vec<(ClientIntResult, u8)> {
        let mut q = self.queue.lock();
        let n = q.len().min(max);
        q.drain(..n).collect()
    }

    /// Puts back a batch whose upload failed, unless it failed too often.
    pub fn give_back(&self, batch: Vec<(ClientIntResult, u8)>) {
        let mut q = self.queue.lock();
        for (r, attempts) in batch.into_iter().rev() {
            if attempts + 1 < MAX_ATTEMPTS && q.len() < CAPACITY {
                q.push_front((r, attempts + 1));
            }
        }
    }

    /// Records waiting.
    pub fn len(&self) -> usize {
        self.queue.lock().len()
    }

    /// Whether no record waits.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// Records per upload.
pub(crate) const BATCH: usize = 200;

/// `machine_info` (a JSON text, docs/wire-protocol.md, "Monitoring structures"): no identifiers
/// beyond the host's IP, which the server sees anyway.
pub fn machine_info(ip: &str) -> String {
    let cpu_num = std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1);
    let (mut total_kb, mut avail_kb) = (0u64, 0u64);
    if let Ok(m) = std::fs::read_to_string("/proc/meminfo") {
        for line in m.lines() {
            let kb = || line.split_whitespace().nth(1).and_then(|v| v.parse::<u64>().ok()).unwrap_or(0);
            if line.starts_with("MemTotal:") {
                total_kb = kb();
            } else if line.starts_with("MemAvailable:") {
                avail_kb = kb();
            }
        }
    }
    let usage = (avail_kb * 100).checked_div(total_kb).map_or(0, |free| 100 - free);
    serde_json::json!({
        "ip": ip,
        "cpu_num": cpu_num,
        "total_mem": total_kb / 1024,
        "mem_usage": usage,
        "task_memleakage_cnt": 0,
        "os": std::env::consts::OS,
        "arch": std::env::consts::ARCH,
        "sdk": concat!("cloud-pay-sdk-rust/", env!("CARGO_PKG_VERSION")),
    })
    .to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn payment_codes_are_redacted_and_the_buffer_is_bounded() {
        assert_eq!(redact("code 134567890123456789 bad, log 12345"), "code ****************** bad, log 12345");
        let m = Monitor::default();
        for i in 0..(CAPACITY + 10) {
            m.record(ClientIntResult { log_id: i as i64, ..Default::default() });
        }
        assert_eq!(m.len(), CAPACITY);
        let batch = m.take(5);
        assert_eq!(batch[0].0.log_id, 10, "oldest dropped first");
        m.give_back(batch);
        assert_eq!(m.len(), CAPACITY);
        for _ in 0..MAX_ATTEMPTS {
            let b = m.take(CAPACITY);
            m.give_back(b);
        }
        assert!(m.is_empty(), "dropped after {MAX_ATTEMPTS} failed uploads");
    }
}
