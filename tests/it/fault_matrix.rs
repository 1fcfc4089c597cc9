//! The fault matrix: every trade export × every sandbox fault. Each cell asserts the exact
//! return code, and that nothing is reported as succeeded or failed against the sandbox's
//! truth. The table is printed (`--nocapture`) and written to target/fault-matrix.md.

use crate::common::*;
use cloud_pay_sdk as sdk;
use serde_json::{Value, json};

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Kind {
    /// The reply cannot be trusted or never came: outcome unknown.
    Unknown,
    /// The server definitively refused.
    Refused,
    /// Nothing could reach any server (connection refused on every try): the calls that
    /// create money (micro_pay, scan_code_pay, refund) know nothing was sent and say
    /// "not accepted"; the others cannot tell and report unknown.
    NotSent,
    /// Status 101: refused, but unsigned by design. It decides nothing final for the calls
    /// that move money (micro_pay, scan_code_pay, refund: unknown, confirmed by a verified
    /// query); for the others it is a plain refusal.
    Unsigned,
}

fn faults() -> Vec<(&'static str, Option<FaultKind>, Kind)> {
    vec![
        ("connection refused", None, Kind::NotSent),
        ("reset mid-reply", Some(FaultKind::DropMidReply), Kind::Unknown),
        ("reset before reply", Some(FaultKind::ResetBeforeReply), Kind::Unknown),
        ("delay past timeout", Some(FaultKind::Delay { ms: 1300 }), Kind::Unknown),
        ("HTTP 500", Some(FaultKind::Http500), Kind::Unknown),
        ("non-JSON body", Some(FaultKind::NonJsonBody), Kind::Unknown),
        ("status 3", Some(FaultKind::Status3), Kind::Unknown),
        ("status 101", Some(FaultKind::Status101), Kind::Unsigned),
        ("status 102", Some(FaultKind::Status102), Kind::Refused),
        ("status 103", Some(FaultKind::Status103), Kind::Unknown),
        ("status 104", Some(FaultKind::Status104 { internal_status: 1 }), Kind::Refused),
        ("104 + 407", Some(FaultKind::ReEntry407), Kind::Refused),
        ("bad HMAC", Some(FaultKind::BadHmac), Kind::Unknown),
        ("no authen_info", Some(FaultKind::MissingAuthen), Kind::Unknown),
        ("HMAC of other text", Some(FaultKind::HmacOverOtherContent), Kind::Unknown),
    ]
}

struct Export {
    name: &'static str,
    endpoint: &'static str,
    /// Code for an unknown outcome and for a definitive refusal.
    codes: (i32, i32),
}

const EXPORTS: &[Export] = &[
    Export { name: "micro_pay", endpoint: "micro_pay", codes: (0, -1) },
    Export { name: "query_order", endpoint: "query_order", codes: (-2, -3) },
    Export { name: "cancel_order (reverse)", endpoint: "reverse", codes: (-2, -1) },
    Export { name: "cancel_order (close)", endpoint: "close_order", codes: (-2, -1) },
    Export { name: "scan_code_pay", endpoint: "scan_code_pay", codes: (0, -1) },
    Export { name: "refund", endpoint: "refund", codes: (-2, -1) },
    Export { name: "query_refund", endpoint: "query_refund_order", codes: (-2, -1) },
];

fn init_at(base: &str) {
    assert_eq!(
        init(&conf(base, None, json!({"timeout_ms": 800, "micro_pay_query_order_count": 1}))),
        0,
        "{}",
        errmsg()
    );
}

/// Prepares what the export acts on (with the faults off) and returns the order number.
fn prepare(sb: &Sandbox, e: &Export) -> String {
    let no = order_no();
    match e.endpoint {
        "micro_pay" | "scan_code_pay" => {}
        "reverse" => assert_eq!(micro_pay(&pay_req(&no, &wx_code(4, 0), 10)).0, 0), // customer never confirms
        "close_order" => assert_eq!(
            scan_code_pay(&json!({"pay_platform": 1, "out_trade_no": no, "total_fee": 10, "body": "qr"})).0,
            0
        ),
        _ => {
            assert_eq!(micro_pay(&pay_req(&no, WX_PAYS_AT_ONCE, 10)).0, 0);
            if e.endpoint == "query_refund_order" {
                assert_eq!(refund(&json!({"out_trade_no": no, "out_refund_no": format!("{}Q", &no[..31]), "total_fee": 10, "refund_fee": 1})).0, 0);
            }
        }
    }
    let _ = sb;
    no
}

/// Calls the export; returns its code.
fn call(e: &Export, no: &str) -> i32 {
    match e.endpoint {
        "micro_pay" => micro_pay(&pay_req(no, WX_PAYS_AT_ONCE, 10)).0,
        "query_order" => query_order(no, 1).0,
        "reverse" => cancel(&json!({"out_trade_no": no, "trade_type": 1, "pay_platform": 1})).0,
        "close_order" => cancel(&json!({"out_trade_no": no, "trade_type": 2, "pay_platform": 1})).0,
        "scan_code_pay" => scan_code_pay(&json!({"pay_platform": 1, "out_trade_no": no, "total_fee": 10, "body": "qr"})).0,
        "refund" => refund(&json!({"out_trade_no": no, "out_refund_no": format!("{}F", &no[..31]), "total_fee": 10, "refund_fee": 2, "pay_platform": 1})).0,
        _ => query_refund(&json!({"out_trade_no": no, "pay_platform": 1})).0,
    }
}

/// Nothing reported as succeeded or failed against the sandbox's truth.
fn check_truth(sb: &Sandbox, e: &Export, no: &str, code: i32, cell: &str) {
    let truth: Value = sb.control().order(no).unwrap_or(Value::Null);
    match e.endpoint {
        "micro_pay" | "scan_code_pay" if code == -1 => {
            assert!(truth.is_null() || truth["charge_count"] == 0, "{cell}: 'not accepted' but {truth}")
        }
        "query_order" => {
            assert_eq!(truth["paid"], true);
            assert!(code != -1 && code != -4 && code != -7, "{cell}: a paid order reported as {code}");
        }
        "reverse" => match code {
            0 => assert_eq!(truth["state"], 8, "{cell}"),
            -1 => assert_ne!(truth["state"], 8, "{cell}: 'failed' but reversed"),
            _ => {}
        },
        "close_order" => match code {
            0 => assert_eq!(truth["state"], 7, "{cell}"),
            -1 => assert_ne!(truth["state"], 7, "{cell}: 'failed' but closed"),
            _ => {}
        },
        "refund" => {
            let created =
                sb.control().refunds(no).iter().any(|r| r["out_refund_no"].as_str().is_some_and(|s| s.ends_with('F')));
            match code {
                0 => assert!(created, "{cell}"),
                -1 => assert!(!created, "{cell}: 'not accepted' but refunded"),
                _ => {}
            }
        }
        _ => {}
    }
}

#[test]
fn every_trade_export_under_every_fault() {
    let _g = serial();
    let sb = start_sandbox();
    let closed_port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let faults = faults();
    let mut table = String::from("| export |");
    for (name, _, _) in &faults {
        table.push_str(&format!(" {name} |"));
    }
    table.push_str("\n|---|");
    table.push_str(&"---|".repeat(faults.len()));
    table.push('\n');
    let mut cells = 0;
    for e in EXPORTS {
        table.push_str(&format!("| {} |", e.name));
        for (fname, fault, kind) in &faults {
            let cell = format!("{} × {fname}", e.name);
            init_at(&sb.http_base_url());
            let no = prepare(&sb, e);
            if let Some(f) = fault {
                sb.control().add_fault(FaultRule {
                    endpoint: Some(e.endpoint.into()),
                    out_trade_no: None,
                    kind: f.clone(),
                    times: None,
                    phase: None,
                });
            } else {
                // Same orders, but the server cannot be reached at all.
                sdk::cloud_pay_fini();
                init_at(&format!("http://127.0.0.1:{closed_port}/cpay/"));
            }
            if e.endpoint == "query_order" && fault.is_some() {
                // A fresh process: nothing cached, the query must go to the server.
                sdk::cloud_pay_fini();
                init_at(&sb.http_base_url());
            }
            let code = call(e, &no);
            let err = errmsg();
            sb.control().clear_faults();
            let moves_money = matches!(e.endpoint, "micro_pay" | "scan_code_pay" | "refund");
            let want = match kind {
                Kind::Unknown => e.codes.0,
                Kind::Unsigned if moves_money => e.codes.0,
                Kind::NotSent if moves_money => e.codes.1,
                Kind::NotSent => e.codes.0,
                _ => e.codes.1,
            };
            assert_eq!(code, want, "{cell}: {err}");
            check_truth(&sb, e, &no, code, &cell);
            table.push_str(&format!(" {code} |"));
            cells += 1;
            sdk::cloud_pay_fini();
        }
        table.push('\n');
    }
    assert_eq!(cells, EXPORTS.len() * faults.len());
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("target/fault-matrix.md");
    let _ = std::fs::write(&path, &table);
    eprintln!("\nfault matrix ({cells} cells, return codes):\n{table}");
    sb.stop();
}
