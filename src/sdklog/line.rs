//! One log line: its text format and the UTC calendar it is dated in (no date crate needed).

use std::time::{SystemTime, UNIX_EPOCH};

use super::Record;
use cloud_pay_protocol::calendar::{civil_from_days as civil, days_from_civil};

/// Appends one line: `2026-12-06T02:34:36.123Z cloud_pay_micro_pay out_trade_no=… code=0 …`.
pub(super) fn format_line(r: &Record, out: &mut String) {
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
    if !v.is_empty() && v.chars().all(|c| c.is_ascii_graphic() && c != '"' && c != '\\' && c != '=') {
        v.to_owned()
    } else {
        quote(v)
    }
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

fn unix_ms(t: SystemTime) -> i64 {
    t.duration_since(UNIX_EPOCH).map(|d| d.as_millis() as i64).unwrap_or(0)
}

/// `YYYYMMDD` of `t` in UTC.
pub(super) fn utc_day(t: SystemTime) -> u32 {
    let (y, m, d) = civil(unix_ms(t).div_euclid(86_400_000));
    (y as u32) * 10_000 + m * 100 + d
}

/// `YYYYMMDD` `n` days before `day`.
pub(super) fn day_minus(day: u32, n: u32) -> u32 {
    let days = days_from_civil(i64::from(day / 10_000), day / 100 % 100, day % 100) - i64::from(n);
    let (y, m, d) = civil(days);
    (y as u32) * 10_000 + m * 100 + d
}

/// `2026-12-06T02:34:36.123Z` (UTC, milliseconds).
fn utc_timestamp(t: SystemTime) -> String {
    let ms = unix_ms(t);
    let (y, mo, d) = civil(ms.div_euclid(86_400_000));
    let in_day = ms.rem_euclid(86_400_000);
    format!(
        "{y:04}-{mo:02}-{d:02}T{:02}:{:02}:{:02}.{:03}Z",
        in_day / 3_600_000,
        in_day / 60_000 % 60,
        in_day / 1000 % 60,
        in_day % 1000
    )
}

#[cfg(test)]
mod tests {
    use super::super::Reply;
    use super::*;
    use std::time::Duration;

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
            reply: Some(Reply {
                status: Some(3),
                internal_status: Some(0),
                log_id: Some(4_294_967_299),
                domain: "https://pay.qcloud.com/cpay".into(),
                problem: None,
            }),
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
        format_line(
            &Record { what: "poll", out_trade_no: Some("134567890123456789".into()), ..Record::default() },
            &mut s,
        );
        assert!(s.contains("out_trade_no=****************** ") && !s.contains("errmsg"), "{s}");
    }
}
