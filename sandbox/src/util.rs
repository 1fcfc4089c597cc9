//! Small helpers: clock, random ids, URL encoding, China-time calendar.

use std::fmt::Write as _;
use std::time::{SystemTime, UNIX_EPOCH};

/// Wall-clock milliseconds since the Unix epoch.
pub fn now_ms() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_millis() as u64).unwrap_or(0)
}

/// Random string over `alphabet`.
pub fn random_from(alphabet: &[u8], len: usize) -> String {
    let mut bytes = vec![0u8; len];
    getrandom::getrandom(&mut bytes).expect("OS random source unavailable");
    bytes.iter().map(|b| alphabet[*b as usize % alphabet.len()] as char).collect()
}

/// Random alphanumerics (server nonces, QR tokens).
pub fn random_alnum(len: usize) -> String {
    random_from(b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789", len)
}

/// Random digits (platform transaction numbers).
pub fn random_digits(len: usize) -> String {
    random_from(b"0123456789", len)
}

/// Percent-encodes everything but unreserved characters (RFC 3986).
pub fn percent_encode(s: &str) -> String {
    let mut out = String::new();
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
            out.push(b as char);
        } else {
            let _ = write!(out, "%{b:02X}");
        }
    }
    out
}

pub use cloud_pay_protocol::calendar::{civil_from_days, days_from_civil};

/// Period label of a Unix time in China time (UTC+8, the platforms' business day):
/// stat_type 1 day `YYYY-MM-DD`, 2 month `YYYY-MM`, 3 ISO week `YYYY-Www`, 4 year `YYYY`.
pub fn period_label(unix_secs: i64, stat_type: i32) -> String {
    let days = (unix_secs + 8 * 3600).div_euclid(86_400);
    let (y, m, d) = civil_from_days(days);
    match stat_type {
        2 => format!("{y:04}-{m:02}"),
        3 => {
            // ISO week: the week's Thursday decides the year.
            let weekday = (days + 3).rem_euclid(7); // 0 = Monday
            let thursday = days - weekday + 3;
            let (ty, _, _) = civil_from_days(thursday);
            let jan1 = days_from_civil(ty, 1, 1);
            let week = (thursday - jan1) / 7 + 1;
            format!("{ty:04}-W{week:02}")
        }
        4 => format!("{y:04}"),
        _ => format!("{y:04}-{m:02}-{d:02}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn calendar_round_trips_and_labels() {
        for days in [-1000, 0, 59, 60, 365, 19_000, 20_000, 30_000] {
            let (y, m, d) = civil_from_days(days);
            assert_eq!(days_from_civil(y, m, d), days);
        }
        // 2024-01-01 00:30 China time = 2023-12-31 16:30 UTC; ISO week 1 of 2024.
        let t = 1_704_040_200;
        assert_eq!(period_label(t, 1), "2024-01-01");
        assert_eq!(period_label(t, 2), "2024-01");
        assert_eq!(period_label(t, 3), "2024-W01");
        assert_eq!(period_label(t, 4), "2024");
        // 2021-01-01 is in ISO week 53 of 2020.
        assert_eq!(period_label(1_609_459_200, 3), "2020-W53");
    }
}
