//! The local SDK log (`common_conf.log_dir`, docs/sdk-log.md), through the C exports against
//! the sandbox: the lines and their fields, redaction, an unwritable folder, the size cap, the
//! generated refund number, and what logging costs a call.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use crate::common::*;
use cloud_pay_sdk as sdk;
use serde_json::{Value, json};

/// A conf for `sb` with the log in `log_dir` (and `extra` in common_conf).
fn log_conf(sb: &Sandbox, log_dir: &Path, extra: Value) -> String {
    let mut common = json!({"log_dir": log_dir});
    if let (Value::Object(c), Value::Object(e)) = (&mut common, extra) {
        c.extend(e);
    }
    conf(&sb.http_base_url(), None, common)
}

fn log_files(dir: &Path) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .map(|rd| rd.flatten().map(|e| e.path()).filter(|p| sdk::sdklog::is_log_file(p)).collect())
        .unwrap_or_default();
    files.sort();
    files
}

/// Every log file's text, oldest first.
fn log_text(dir: &Path) -> String {
    log_files(dir).iter().map(|p| std::fs::read_to_string(p).unwrap()).collect()
}

/// The lines of `export` about `order`.
fn lines<'a>(text: &'a str, export: &str, order: &str) -> Vec<&'a str> {
    text.lines()
        .filter(|l| l.split(' ').nth(1) == Some(export) && l.contains(&format!(" out_trade_no={order} ")))
        .collect()
}

/// The value of `key=` in a line (unquoted fields).
fn field<'a>(line: &'a str, key: &str) -> Option<&'a str> {
    line.split(' ').find_map(|f| f.strip_prefix(&format!("{key}=")))
}

fn utc_day(days_ago: u32) -> String {
    let out = Command::new("date")
        .args(["-u", "-d", &format!("{days_ago} days ago"), "+%Y%m%d"])
        .output()
        .expect("date runs");
    String::from_utf8(out.stdout).unwrap().trim().to_owned()
}

fn fresh_log_dir() -> PathBuf {
    fresh_state_dir().join("log")
}

#[test]
fn a_payment_query_and_refund_are_logged_with_their_fields() {
    let _g = serial();
    let sb = start_sandbox();
    sb.control().set_refund_delay_ms(0);
    let dir = fresh_log_dir();
    assert_eq!(init(&log_conf(&sb, &dir, json!({}))), 0, "{}", errmsg());
    assert_eq!(errmsg(), "", "a writable log folder gives no notice");
    let no = pay_and_wait(WX_PAYS_AT_ONCE, 100);
    let (code, err) = refund(
        &json!({"out_trade_no": no, "out_refund_no": format!("{}R", &no[..31]), "total_fee": 100, "refund_fee": 30}),
    );
    assert_eq!(code, 0, "{err}");
    // A customer who pays after 0.3 s: the background queries are logged too.
    let late = pay_and_wait(&wx_code(1, 3), 5);
    // A failure keeps its errmsg: an order that does not exist.
    let missing = order_no();
    assert_eq!(query_order(&missing, 1).0, sdk::CLOUD_PAY_ORDER_NOT_EXIST);
    let not_exist_msg = errmsg();
    sdk::cloud_pay_fini();
    sb.stop();
    // The writer thread ended with fini (its name as Linux shows it).
    let threads: Vec<String> = std::fs::read_dir("/proc/self/task")
        .unwrap()
        .filter_map(|t| std::fs::read_to_string(t.unwrap().path().join("comm")).ok())
        .collect();
    assert!(!threads.iter().any(|n| n.trim() == "cloud-pay-log"), "the log writer outlived fini: {threads:?}");

    let files = log_files(&dir);
    assert_eq!(files.len(), 1, "one file per day: {files:?}");
    let today = utc_day(0);
    assert_eq!(files[0].file_name().unwrap().to_str().unwrap(), format!("cloudpay-{today}.log"));
    let text = log_text(&dir);
    for line in text.lines() {
        // 2026-12-06T02:34:36.123Z: UTC, to the millisecond, the file's day.
        let ts = line.split(' ').next().unwrap();
        assert_eq!(ts.len(), 24, "{line}");
        assert!(ts.ends_with('Z') && ts.as_bytes()[19] == b'.' && ts.as_bytes()[10] == b'T', "{line}");
        assert_eq!(ts[..10].replace('-', ""), today, "{line}");
    }
    assert!(text.lines().next().unwrap().contains(" cloud_pay_init code=0 "), "the init call opens the log:\n{text}");
    assert!(
        text.lines().last().unwrap().contains(" log_closed errmsg=\"lines dropped: queue full 0, not writable 0\""),
        "fini closes it:\n{text}"
    );

    let domain = sb_domain(&text);
    let pay = lines(&text, "cloud_pay_micro_pay", &no);
    assert_eq!(pay.len(), 1, "{text}");
    let pay = pay[0];
    assert_eq!(field(pay, "code"), Some("0"), "{pay}");
    assert_eq!(field(pay, "status"), Some("0"), "{pay}");
    assert_eq!(field(pay, "internal_status"), Some("0"), "{pay}");
    assert!(field(pay, "log_id").unwrap().parse::<i64>().unwrap() != 0, "{pay}");
    assert!(field(pay, "elapsed_ms").unwrap().parse::<u64>().is_ok(), "{pay}");
    assert!(pay.ends_with(" errmsg=\"\""), "{pay}");
    assert_eq!(field(pay, "domain"), Some(domain.as_str()));
    assert!(!lines(&text, "cloud_pay_query_order", &no).is_empty(), "{text}");
    let refund_line = lines(&text, "cloud_pay_refund", &no);
    assert_eq!(refund_line.len(), 1, "{text}");
    assert_eq!(field(refund_line[0], "out_refund_no"), Some(format!("{}R", &no[..31]).as_str()));
    assert_eq!(field(refund_line[0], "code"), Some("0"));
    assert!(field(refund_line[0], "log_id").is_some(), "{}", refund_line[0]);

    let polls = lines(&text, "background_query_order", &late);
    assert!(!polls.is_empty(), "background queries are logged:\n{text}");
    assert!(
        polls
            .iter()
            .all(|l| field(l, "next").is_some() && field(l, "elapsed_ms").is_some() && field(l, "domain").is_some()),
        "{polls:?}"
    );
    assert!(polls.iter().any(|l| field(l, "status") == Some("0")), "{polls:?}");

    let gone = lines(&text, "cloud_pay_query_order", &missing);
    assert_eq!(gone.len(), 1, "{text}");
    assert_eq!(field(gone[0], "code"), Some("-7"));
    assert!(gone[0].ends_with(&format!(" errmsg=\"{not_exist_msg}\"")), "the errmsg as the caller saw it: {}", gone[0]);
    assert!(field(gone[0], "status").is_some(), "the server's status: {}", gone[0]);
}

/// `http://127.0.0.1:PORT/cpay` as logged (the base URL without its last `/`).
fn sb_domain(text: &str) -> String {
    let d = text.lines().find_map(|l| field(l, "domain")).expect("a line with a domain").to_owned();
    assert!(d.starts_with("http://127.0.0.1:") && d.ends_with("/cpay"), "{d}");
    d
}

#[test]
fn a_generated_refund_number_is_logged() {
    let _g = serial();
    let sb = start_sandbox();
    sb.control().set_refund_delay_ms(0);
    let dir = fresh_log_dir();
    assert_eq!(init(&log_conf(&sb, &dir, json!({}))), 0, "{}", errmsg());
    let no = order_no();
    assert_eq!(micro_pay(&pay_req(&no, WX_PAYS_AT_ONCE, 100)).0, 0);
    let (code, err) = refund(&json!({"out_trade_no": no, "total_fee": 100, "refund_fee": 10}));
    assert_eq!(code, 0, "{err}");
    let (code, refunds, err) = query_refund(&json!({"out_trade_no": no}));
    assert_eq!(code, 0, "{err}");
    let generated = refunds["out_refund_no"].as_str().expect("the refund's number").to_owned();
    sdk::cloud_pay_fini();
    sb.stop();
    let text = log_text(&dir);
    let line = lines(&text, "cloud_pay_refund", &no);
    assert_eq!(line.len(), 1, "{text}");
    assert_eq!(
        field(line[0], "out_refund_no"),
        Some(generated.as_str()),
        "the generated number, as the vendor asks: {}",
        line[0]
    );
}

#[test]
fn no_payment_code_key_or_password_reaches_the_log() {
    let _g = serial();
    let sb = start_sandbox();
    sb.control().set_refund_delay_ms(0);
    let dir = fresh_log_dir();
    let pem = private_key_pem();
    let mut c: Value = serde_json::from_str(&log_conf(&sb, &dir, json!({}))).unwrap();
    c["trade_conf"]["private_key"] = pem.clone().into();
    assert_eq!(init(&c.to_string()), 0, "{}", errmsg());
    let codes = [WX_PAYS_AT_ONCE.to_owned(), ALI_PAYS_AT_ONCE.to_owned(), wx_code(1, 2), wx_code(2, 1)];
    for code in &codes {
        let no = order_no();
        assert_eq!(micro_pay(&pay_req(&no, code, 10)).0, 0);
        let _ = refund(&json!({"out_trade_no": no, "total_fee": 10, "refund_fee": 1}));
        let _ = cancel(&json!({"out_trade_no": no, "trade_type": 1}));
    }
    // Mistakes that put a payment code where the log shows things: in out_trade_no, in a bad request.
    let _ = micro_pay(&pay_req(&codes[0], &codes[0], 10));
    let _ = micro_pay(&json!({"out_trade_no": "sz0100 bad", "author_code": codes[1], "total_fee": 1, "body": "b"}));
    let _ = micro_pay(
        &json!({"out_trade_no": order_no(), "author_code": format!("99{}", &codes[0][2..]), "total_fee": 1, "body": "b"}),
    );
    std::thread::sleep(Duration::from_millis(300));
    // A proxy with a password (to a port where nothing listens): nothing is sent, the errmsg says why.
    let mut p = c.clone();
    // A refused configuration is logged too (by the log still running): its errmsg names the field only.
    p["common_conf"]["proxy"] = "http://cashier:Pr0xyS3cret@127.0.0.1/x".into();
    assert_eq!(init(&p.to_string()), -1);
    p["common_conf"]["proxy"] = "http://cashier:Pr0xyS3cret@127.0.0.1:1".into();
    assert_eq!(init(&p.to_string()), 0);
    let (code, _, err) = micro_pay(&pay_req(&order_no(), &codes[0], 10));
    assert_eq!(code, -1, "{err}");
    sdk::cloud_pay_fini();
    sb.stop();
    let text = log_text(&dir);
    assert!(text.lines().count() > 15, "{text}");
    assert!(text.contains("out_trade_no=****************** "), "a payment code as order number is masked:\n{text}");
    assert!(text.lines().any(|l| l.contains(" cloud_pay_init code=-1 ") && l.contains("common_conf.proxy")), "{text}");
    for secret in codes.iter().map(String::as_str).chain([
        "TESTONLY0123456789ABCDEFGHIJKLMN",
        pem.lines().nth(1).unwrap(),
        "PRIVATE KEY",
        "Pr0xyS3cret",
    ]) {
        assert!(!text.contains(secret), "a secret in the log: {secret:?}\n{text}");
    }
}

#[test]
fn an_unwritable_log_dir_still_pays_with_one_notice() {
    let _g = serial();
    let sb = start_sandbox();
    // A folder under a plain file cannot be created, whoever runs the test (root too).
    let blocker = fresh_state_dir().join("a-file");
    std::fs::write(&blocker, "not a folder").unwrap();
    let dir = blocker.join("log");
    assert_eq!(init(&log_conf(&sb, &dir, json!({}))), 0, "init succeeds");
    let notice = errmsg();
    assert!(notice.contains("SDK log: cannot write to") && notice.contains("payments go on"), "{notice}");
    assert_eq!(notice.matches("SDK log").count(), 1, "one notice: {notice}");
    for _ in 0..3 {
        let no = order_no();
        let (code, _, err) = micro_pay(&pay_req(&no, WX_PAYS_AT_ONCE, 1));
        assert_eq!((code, err.as_str()), (0, ""), "the payment is neither failed nor given a notice");
        let (code, _, err) = query_order(&no, 1);
        assert_eq!((code, err.as_str()), (0, ""));
    }
    let t0 = Instant::now();
    assert_eq!(sdk::cloud_pay_fini(), 0);
    assert!(t0.elapsed() < Duration::from_secs(2), "fini took {:?}", t0.elapsed());
    assert!(!dir.exists());
    sb.stop();
}

#[test]
fn a_full_disk_never_fails_a_payment() {
    let _g = serial();
    let sb = start_sandbox();
    let dir = fresh_log_dir();
    std::fs::create_dir_all(&dir).unwrap();
    // Today's file is /dev/full: it opens, and every write fails with "No space left on device".
    std::os::unix::fs::symlink("/dev/full", dir.join(format!("cloudpay-{}.log", utc_day(0)))).unwrap();
    assert_eq!(init(&log_conf(&sb, &dir, json!({}))), 0, "{}", errmsg());
    for _ in 0..5 {
        let no = order_no();
        let t0 = Instant::now();
        let (code, _, err) = micro_pay(&pay_req(&no, WX_PAYS_AT_ONCE, 1));
        assert_eq!((code, err.as_str()), (0, ""), "the payment is neither failed nor given a notice");
        assert!(t0.elapsed() < Duration::from_secs(1));
        assert_eq!(query_order(&no, 1).0, 0);
    }
    let t0 = Instant::now();
    assert_eq!(sdk::cloud_pay_fini(), 0);
    assert!(t0.elapsed() < Duration::from_secs(2), "fini took {:?}", t0.elapsed());
    sb.stop();
}

#[test]
fn the_size_cap_and_the_seven_days_delete_the_oldest_files() {
    let _g = serial();
    let sb = start_sandbox();
    let dir = fresh_log_dir();
    std::fs::create_dir_all(&dir).unwrap();
    let (old, two_ago, yesterday) = (utc_day(8), utc_day(2), utc_day(1));
    for day in [&old, &two_ago, &yesterday] {
        std::fs::write(dir.join(format!("cloudpay-{day}.log")), vec![b'x'; 3000]).unwrap();
    }
    std::fs::write(dir.join("notes.txt"), "the shop's own file").unwrap();
    assert_eq!(init(&log_conf(&sb, &dir, json!({"log_max_bytes": 8000}))), 0, "{}", errmsg());
    let names = || -> Vec<String> {
        log_files(&dir).iter().map(|p| p.file_name().unwrap().to_string_lossy().into_owned()).collect()
    };
    // At start: the 8-day-old file goes (older than 7 days); 2 × 3000 + today fit in 8000.
    let at_start = names();
    assert!(!at_start.contains(&format!("cloudpay-{old}.log")), "{at_start:?}");
    assert!(
        at_start.contains(&format!("cloudpay-{two_ago}.log"))
            && at_start.contains(&format!("cloudpay-{yesterday}.log")),
        "{at_start:?}"
    );
    // About 150 bytes a line: the total passes 8000, and the oldest day is deleted first.
    let no = order_no();
    assert_eq!(micro_pay(&pay_req(&no, WX_PAYS_AT_ONCE, 1)).0, 0);
    for _ in 0..30 {
        assert_eq!(query_order(&no, 1).0, 0);
        std::thread::sleep(Duration::from_millis(2));
    }
    sdk::cloud_pay_fini();
    sb.stop();
    let after = names();
    assert!(!after.contains(&format!("cloudpay-{two_ago}.log")), "the oldest went first: {after:?}");
    assert!(after.contains(&format!("cloudpay-{}.log", utc_day(0))), "{after:?}");
    let total: u64 = log_files(&dir).iter().map(|p| std::fs::metadata(p).unwrap().len()).sum();
    assert!(total <= 8000 + 1000, "capped (one batch over at most): {total} bytes in {after:?}");
    assert!(dir.join("notes.txt").exists(), "only the log's own files are deleted");
}

/// What the log costs a call, measured on query_order of a paid order (answered from memory,
/// no network): the call only queues its line. A burst beyond the queue drops lines, counted
/// in the closing line, and no call waits for the disk.
#[test]
fn logging_costs_a_call_microseconds_and_a_burst_never_blocks() {
    let _g = serial();
    let sb = start_sandbox();
    let per_call = |log: bool, n: u32| -> (Duration, PathBuf) {
        let dir = fresh_log_dir();
        let extra = if log { json!({"log_dir": dir}) } else { json!({}) };
        assert_eq!(init(&conf(&sb.http_base_url(), None, extra)), 0, "{}", errmsg());
        let no = pay_and_wait(WX_PAYS_AT_ONCE, 1);
        let req = c(&json!({"out_trade_no": no, "trade_type": 1}).to_string());
        let mut buf = vec![0 as std::ffi::c_char; 16 * 1024];
        let t0 = Instant::now();
        for _ in 0..n {
            assert_eq!(unsafe { sdk::cloud_pay_query_order(req.as_ptr(), buf.as_mut_ptr(), buf.len() as i32) }, 0);
        }
        let took = t0.elapsed() / n;
        sdk::cloud_pay_fini();
        (took, dir)
    };
    let _ = per_call(false, 200); // warm-up
    let (off, _) = per_call(false, 2000);
    let (on, _) = per_call(true, 2000);
    println!("query_order answered from memory: {off:?} per call without the log, {on:?} with it");
    assert!(on < off + Duration::from_micros(500), "log on {on:?}, off {off:?}");
    // 20000 calls as fast as possible: every call returns, lines written + dropped = calls.
    let (_, dir) = per_call(true, 20_000);
    let text = log_text(&dir);
    let written = text.lines().filter(|l| l.contains(" cloud_pay_query_order ")).count() as u64;
    let closing = text.lines().last().unwrap();
    let dropped: u64 = closing.split("queue full ").nth(1).unwrap().split(',').next().unwrap().parse().unwrap();
    println!("burst of 20000 calls: {written} lines written, {dropped} dropped (queue full)");
    assert_eq!(written + dropped, 20_001, "{closing}");
    sb.stop();
}
