//! docs/integration.md, run as written: its C and C# programs (the fenced blocks marked
//! `file=…`) are compiled against include/ and the built library and driven through the
//! cashier flow against the sandbox — paid, failed, not accepted, given up, resumed after a
//! crash (SIGKILL). Its code table is checked against the header's constants.

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::common::*;
use cloud_pay_sdk as sdk;
use serde_json::json;

fn guide() -> String {
    std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/docs/integration.md")).unwrap()
}

/// The fenced block opened with "```<lang> file=<name>".
fn block(name: &str) -> String {
    let doc = guide();
    let open = doc
        .lines()
        .find(|l| l.starts_with("```") && l.ends_with(&format!(" file={name}")))
        .unwrap_or_else(|| panic!("no block file={name}"));
    let from = doc.find(open).unwrap() + open.len() + 1;
    doc[from..from + doc[from..].find("\n```").unwrap() + 1].to_owned()
}

/// A till folder: `cloudpay.json` for `sb` (its own state_dir and SDK log) and the program.
fn till(sb: &Sandbox, file: &str) -> PathBuf {
    let dir = fresh_state_dir();
    let conf =
        conf(&sb.http_base_url(), None, json!({"state_dir": dir.join("till-state"), "log_dir": dir.join("log")}));
    std::fs::write(dir.join("cloudpay.json"), conf).unwrap();
    std::fs::write(dir.join(file), block(file)).unwrap();
    dir
}

fn build(cmd: &mut Command) {
    let out = cmd.output().unwrap_or_else(|e| panic!("{cmd:?}: {e}"));
    assert!(
        out.status.success(),
        "{cmd:?} failed:\n{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Runs the program with `args`: (exit status, stdout + stderr).
fn run(program: &[&str], dir: &Path, args: &[&str]) -> (i32, String) {
    let mut cmd = Command::new(program[0]);
    cmd.args(&program[1..]).args(args).current_dir(dir).env("LD_LIBRARY_PATH", library_dir());
    let out = cmd.output().unwrap_or_else(|e| panic!("{cmd:?}: {e}"));
    let text = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    (out.status.code().unwrap_or(-100), text)
}

/// The guide's scenarios for one program (the C or the C# one).
fn cashier_flow(program: &[&str], dir: &Path, sb: &Sandbox) {
    let no = order_no();
    let (status, out) = run(program, dir, &["pay", &no, WX_PAYS_AT_ONCE, "1234"]);
    assert_eq!(status, 0, "{out}");
    assert!(out.contains("RESULT paid: print the receipt.") && out.contains(&no), "{out}");

    // The customer cancels on their phone after 0.2 s: a definite failure.
    let (status, out) = run(program, dir, &["pay", &order_no(), &wx_code(2, 2), "500"]);
    assert_eq!(status, 1, "{out}");
    assert!(out.contains("RESULT not-paid (-1)"), "{out}");

    // Not a payment code: not accepted, nothing sent.
    let before = sb.control().request_count("micro_pay");
    let (status, out) = run(program, dir, &["pay", &order_no(), "77777", "500"]);
    assert_eq!(status, 1, "{out}");
    assert!(out.contains("RESULT not-accepted: bad request: unsupported payment code"), "{out}");
    assert_eq!(sb.control().request_count("micro_pay"), before);

    // The customer never confirms: after the give-up time the sale is pending, never failed.
    let (status, out) = run(program, dir, &["pay", &order_no(), &wx_code(4, 0), "500", "1"]);
    assert_eq!(status, 2, "{out}");
    assert!(out.contains("waiting for the customer...") && out.contains("RESULT pending"), "{out}");

    // The till crashes (SIGKILL) while the customer is paying (pays after 3 s), starts again
    // and resumes the same number: paid, with one payment on the server.
    let late = order_no();
    let before = sb.control().request_count("micro_pay");
    let mut till = Command::new(program[0]);
    till.args(&program[1..])
        .args(["pay", &late, &wx_code(1, 30), "800"])
        .current_dir(dir)
        .env("LD_LIBRARY_PATH", library_dir());
    let mut child = till.stdout(std::process::Stdio::null()).spawn().unwrap();
    assert!(
        wait_for(std::time::Duration::from_secs(10), || (sb.control().request_count("micro_pay") > before)
            .then_some(()))
        .is_some(),
        "the payment was sent"
    );
    child.kill().unwrap();
    let _ = child.wait();
    let (status, out) = run(program, dir, &["resume", &late, "10"]);
    assert_eq!(status, 0, "{out}");
    assert!(out.contains("RESULT paid") && out.contains(&late), "{out}");
    // Resumed: this order and the one the customer never confirmed.
    assert!(
        out.contains("notice: order journal: resumed 2 unfinished order(s)"),
        "the restart notice is shown, not taken for failure: {out}"
    );

    // An order number nobody paid under: not-sent, pay again with the same number.
    let (status, out) = run(program, dir, &["resume", &order_no(), "1"]);
    assert_eq!(status, 1, "{out}");
    assert!(out.contains("RESULT not-sent"), "{out}");

    // The till's SDK log has the story of the resumed order, as the restarted till told it.
    // (The killed till's own micro_pay line may be lost: a line is written once its call
    // returns, and the kill can come first. The journal, not the log, is the durable record.)
    let log: String = std::fs::read_dir(dir.join("log"))
        .unwrap()
        .map(|e| std::fs::read_to_string(e.unwrap().path()).unwrap())
        .collect();
    let about_late: Vec<&str> = log.lines().filter(|l| l.contains(&format!("out_trade_no={late} "))).collect();
    assert!(
        about_late.iter().any(|l| l.contains(" cloud_pay_query_order ") && l.contains(" code=0 ")),
        "{about_late:?}"
    );
}

#[test]
fn the_c_program_follows_the_cashier_flow() {
    let sb = start_sandbox();
    let dir = till(&sb, "cashier.c");
    let lib = library_dir();
    build(
        Command::new("cc")
            .current_dir(&dir)
            .args([
                "-std=c99",
                "-Wall",
                "-Wextra",
                "-Werror",
                "-I",
                concat!(env!("CARGO_MANIFEST_DIR"), "/include"),
                "cashier.c",
                "-o",
                "cashier",
                "-L",
            ])
            .arg(&lib)
            .arg("-lCloudPayAPI_SDK_CPP")
            .arg(format!("-Wl,-rpath,{}", lib.display())),
    );
    let exe = dir.join("cashier");
    cashier_flow(&[exe.to_str().unwrap()], &dir, &sb);
    sb.stop();
}

#[test]
fn the_csharp_program_follows_the_cashier_flow() {
    if !have_command("mcs") || !have_command("mono") {
        println!("SKIPPED C#: mcs or mono not found (apt-get install -y mono-mcs); the C program still ran");
        return;
    }
    let sb = start_sandbox();
    let dir = till(&sb, "Cashier.cs");
    build(Command::new("mcs").current_dir(&dir).args([
        "-nologo",
        "-warnaserror+",
        "-out:Cashier.exe",
        "Cashier.cs",
        concat!(env!("CARGO_MANIFEST_DIR"), "/bindings/csharp/CloudPay.cs"),
    ]));
    let exe = dir.join("Cashier.exe");
    cashier_flow(&["mono", exe.to_str().unwrap()], &dir, &sb);
    sb.stop();
}

#[test]
fn the_guides_code_table_matches_the_header() {
    let doc = guide();
    let header = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/include/cloud_pay.h")).unwrap();
    let mut rows = 0;
    for line in doc.lines().filter(|l| l.starts_with("| `-") || l.starts_with("| `0` ")) {
        // | `-6` REENTRY | … → CLOUD_PAY_ORDER_REENTRY is -6 in the header.
        let mut cells = line.split('|').nth(1).unwrap().trim().split(' ');
        let value = cells.next().unwrap().trim_matches('`');
        let name = cells.next().unwrap();
        let value = if value.starts_with('-') { format!("({value})") } else { value.to_owned() };
        assert!(header.contains(&format!("#define CLOUD_PAY_ORDER_{name} {value}\n")), "{line}");
        rows += 1;
    }
    assert_eq!(rows, 8, "one row per query_order code");
    assert_eq!(sdk::CLOUD_PAY_ORDER_NOT_EXIST, -7);
}
