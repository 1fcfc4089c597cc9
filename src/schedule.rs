//! When the background loop queries an order after micro_pay (docs/c-api.md, "Background polling").
//!
//! * [`PollSchedule::Fixed`] — the vendor's schedule and the default: `count` polls,
//!   `interval` apart (25 × 6 s = 150 s).
//! * [`PollSchedule::Adaptive`] — the same number of polls over the same window
//!   (`count × interval`), but starting short and growing geometrically: most customers
//!   finish paying within seconds, so that is where the polls go. The first interval is
//!   `interval / 8` (0.75 s with the default 6 s); the ratio is chosen so that the last poll
//!   falls exactly at the end of the window (about 1.15 with the defaults: polls at 0.75,
//!   1.6, 2.6, 3.7, 5.0, 6.5, 8.2, 10.2 s, …, 97.9, 113.0, 130.2, 150 s). A customer who
//!   pays late in the window is found later than with the fixed schedule (gaps up to 20 s).
//!
//! The schedule is pure functions of (schedule, count, interval, poll number): no clock, no
//! sleeping. [`Scheduler`] holds the due times that the runtime's poll workers wait on.

use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use parking_lot::{Condvar, Mutex};

/// The first adaptive interval is the configured interval divided by this.
const ADAPTIVE_FIRST_DIVISOR: u32 = 8;

/// Which schedule the background loop follows.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum PollSchedule {
    /// `count` polls, `interval` apart (the vendor's behaviour).
    #[default]
    Fixed,
    /// `count` polls over `count × interval`, short at first, backing off later.
    Adaptive,
}

impl PollSchedule {
    /// Parses the configuration value (`"fixed"` or `"adaptive"`).
    pub fn parse(text: &str) -> Option<PollSchedule> {
        match text.trim().to_ascii_lowercase().as_str() {
            "fixed" => Some(PollSchedule::Fixed),
            "adaptive" => Some(PollSchedule::Adaptive),
            _ => None,
        }
    }
}

/// The growth ratio `r` with `first · (1 + r + … + r^(count−1)) = count · interval`,
/// where `first = interval / ADAPTIVE_FIRST_DIVISOR`, i.e. `Σ r^i = count · divisor`.
fn ratio(count: u32) -> f64 {
    let target = f64::from(count) * f64::from(ADAPTIVE_FIRST_DIVISOR);
    let (mut lo, mut hi) = (1.0_f64, target);
    for _ in 0..100 {
        let mid = (lo + hi) / 2.0;
        if geometric_sum(mid, count) > target { hi = mid } else { lo = mid }
    }
    lo
}

/// `1 + r + … + r^(k−1)` for `r > 1`.
fn geometric_sum(r: f64, k: u32) -> f64 {
    (r.powf(f64::from(k)) - 1.0) / (r - 1.0)
}

/// The wait before poll `n` (1-based: poll 1 is timed from the pay call, poll `n` from
/// poll `n − 1`). For `n` outside `1..=count` it returns `interval`.
pub fn interval_before(schedule: PollSchedule, count: u32, interval: Duration, n: u32) -> Duration {
    if schedule == PollSchedule::Fixed || count < 2 || n == 0 || n > count {
        return interval;
    }
    let first = interval.as_secs_f64() / f64::from(ADAPTIVE_FIRST_DIVISOR);
    let r = ratio(count);
    let offset = |k: u32| first * geometric_sum(r, k);
    if n == count {
        // The last poll lands exactly at the end of the window, whatever the rounding.
        let window = interval.as_secs_f64() * f64::from(count);
        return Duration::from_secs_f64((window - offset(count - 1)).max(0.0));
    }
    Duration::from_secs_f64(first * r.powi(n as i32 - 1))
}

impl PollSettings {
    /// The wait before the next background poll of an order of `trade_type` that has
    /// `polls_left` polls still to make (the next one included), `interval` being its
    /// configured interval. The fixed schedule returns `interval` unchanged.
    pub fn next_delay(
        &self,
        trade_type: cloud_pay_protocol::types::TradeType,
        polls_left: u32,
        interval: Duration,
    ) -> Duration {
        if trade_type == cloud_pay_protocol::types::TradeType::SCAN_CODE
            || self.micro_pay_schedule == PollSchedule::Fixed
        {
            return interval;
        }
        let count = self.micro_pay_count;
        interval_before(self.micro_pay_schedule, count, interval, count.saturating_sub(polls_left) + 1)
    }
}

/// Background polling settings.
#[derive(Debug, Clone, Copy)]
pub struct PollSettings {
    /// Polls after micro_pay.
    pub micro_pay_count: u32,
    /// Interval after micro_pay.
    pub micro_pay_interval: Duration,
    /// Polls after scan_code_pay.
    pub scan_code_count: u32,
    /// Interval after scan_code_pay.
    pub scan_code_interval: Duration,
    /// Schedule of the polls after micro_pay (`common_conf.micro_pay_query_order_schedule`).
    pub micro_pay_schedule: PollSchedule,
}

/// Due times of background polls, shared by the workers.
pub struct Scheduler {
    queue: Mutex<BinaryHeap<Reverse<(Instant, u64, String)>>>,
    wake: Condvar,
    stopped: AtomicBool,
    seq: AtomicU64,
}

impl Default for Scheduler {
    fn default() -> Self {
        Scheduler {
            queue: Mutex::new(BinaryHeap::new()),
            wake: Condvar::new(),
            stopped: AtomicBool::new(false),
            seq: AtomicU64::new(0),
        }
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
    pub fn next_due(&self) -> Option<String> {
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

    /// Stops the scheduler: every waiting worker returns from [`Scheduler::next_due`] with None.
    pub fn stop(&self) {
        self.stopped.store(true, Ordering::Release);
        let _q = self.queue.lock(); // no worker is between its check and its wait
        self.wake.notify_all();
    }
}

/// When each poll happens, counted from the pay call (for documentation, tests and benches).
pub fn poll_offsets(schedule: PollSchedule, count: u32, interval: Duration) -> Vec<Duration> {
    let mut at = Duration::ZERO;
    (1..=count)
        .map(|n| {
            at += interval_before(schedule, count, interval, n);
            at
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    const SIX: Duration = Duration::from_secs(6);

    fn close(a: Duration, b: Duration) -> bool {
        a.abs_diff(b) < Duration::from_millis(1)
    }

    #[test]
    fn fixed_is_the_vendor_schedule() {
        let t = poll_offsets(PollSchedule::Fixed, 25, SIX);
        assert_eq!(t.len(), 25);
        assert_eq!(t[0], SIX);
        assert_eq!(t[24], Duration::from_secs(150));
        assert!((1..=25).all(|n| interval_before(PollSchedule::Fixed, 25, SIX, n) == SIX));
    }

    #[test]
    fn adaptive_keeps_the_count_and_the_window() {
        for (count, secs) in [(25, 6.0), (5, 6.0), (2, 1.0), (25, 0.1), (100, 3.0), (10_000, 3600.0)] {
            let interval = Duration::from_secs_f64(secs);
            let t = poll_offsets(PollSchedule::Adaptive, count, interval);
            assert_eq!(t.len(), count as usize);
            assert!(close(*t.last().unwrap(), interval * count), "{count} × {secs}: ends at {:?}", t.last());
            assert!(close(t[0], interval / ADAPTIVE_FIRST_DIVISOR), "{count} × {secs}: first {:?}", t[0]);
            // Strictly increasing times, non-decreasing gaps: it only ever backs off.
            let gaps: Vec<Duration> =
                (1..=count).map(|n| interval_before(PollSchedule::Adaptive, count, interval, n)).collect();
            assert!(gaps.iter().all(|g| !g.is_zero()));
            assert!(gaps.windows(2).all(|w| w[1] + Duration::from_millis(1) >= w[0]), "{count} × {secs}: {gaps:?}");
        }
    }

    #[test]
    fn adaptive_defaults_poll_densely_in_the_first_seconds() {
        let t = poll_offsets(PollSchedule::Adaptive, 25, SIX);
        assert!(close(t[0], Duration::from_millis(750)));
        // Customers entering a password (2–10 s) meet a poll at least every 2 s (fixed: 6 s).
        let gaps_2_to_10: Vec<f64> = t
            .windows(2)
            .filter(|w| w[1].as_secs_f64() > 2.0 && w[0].as_secs_f64() < 10.0)
            .map(|w| (w[1] - w[0]).as_secs_f64())
            .collect();
        assert!(gaps_2_to_10.len() >= 6 && gaps_2_to_10.iter().all(|g| *g <= 2.0), "{gaps_2_to_10:?}");
        // 18 of the 25 polls fall within the first minute (fixed: 10).
        assert_eq!(t.iter().filter(|x| x.as_secs_f64() <= 60.0).count(), 18);
        assert_eq!(poll_offsets(PollSchedule::Fixed, 25, SIX).iter().filter(|x| x.as_secs_f64() <= 60.0).count(), 10);
    }

    #[test]
    fn degenerate_counts_fall_back_to_the_interval() {
        assert_eq!(poll_offsets(PollSchedule::Adaptive, 1, SIX), vec![SIX]);
        assert_eq!(interval_before(PollSchedule::Adaptive, 25, SIX, 0), SIX);
        assert_eq!(interval_before(PollSchedule::Adaptive, 25, SIX, 26), SIX);
    }

    #[test]
    fn parses_the_configuration_value() {
        assert_eq!(PollSchedule::parse("fixed"), Some(PollSchedule::Fixed));
        assert_eq!(PollSchedule::parse(" Adaptive "), Some(PollSchedule::Adaptive));
        assert_eq!(PollSchedule::parse("fast"), None);
    }
}
