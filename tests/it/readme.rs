//! The README's quick start, run as written: its CloudPayConf (with the live sandbox's address
//! and CA put where the README's fixed ones are), its payment codes, its C program, its Python
//! script and its C# and Java programs (built and run by the shell lines beside them), against
//! the sandbox over real sockets.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use crate::common::*;
use cloud_pay_sdk as sdk;
use serde_json::Value;

fn quick_start() -> String {
    let readme = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/README.md")).unwrap();
    let start = readme.find("## Quick start").expect("README has a quick start");
    let end = readme[start + 3..].find("\n## ").map_or(readme.len(), |i| start + 3 + i);
    readme[start..end].to_owned()
}

/// The first fenced block of `lang` in the quick start.
fn block(lang: &str) -> String {
    let qs = quick_start();
    let open = format!("```{lang}\n");
    let from = qs.find(&open).unwrap_or_else(|| panic!("no {lang} block")) + open.len();
    qs[from..from + qs[from..].find("```").unwrap()].to_owned()
}

/// The first ```sh block after the first block of `lang`: the lines that build and run it.
fn commands_after(lang: &str) -> String {
    let qs = quick_start();
    let open = format!("```{lang}\n");
    let after = qs.find(&open).unwrap_or_else(|| panic!("no {lang} block")) + open.len();
    let from = after
        + qs[after..].find("```sh\n").unwrap_or_else(|| panic!("no sh block after the {lang} block"))
        + "```sh\n".len();
    qs[from..from + qs[from..].find("```").unwrap()].to_owned()
}

/// The README's configuration, pointed at `sb` (the README's fixed ports may be taken here).
fn readme_conf(sb: &Sandbox, state_dir: &Path) -> Value {
    let mut conf: Value = serde_json::from_str(&block("json")).expect("the README's CloudPayConf is JSON");
    assert_eq!(conf["common_conf"]["base_url"], "https://127.0.0.1:8443/cpay/");
    assert_eq!(conf["common_conf"]["ca_file"], "/tmp/cloudpay-sandbox/ca.pem");
    conf["common_conf"]["base_url"] = sb.https_base_url().into();
    conf["common_conf"]["ca_file"] = sb.ca_file().to_string_lossy().into();
    conf["common_conf"]["state_dir"] = state_dir.to_string_lossy().into();
    conf
}

/// The codes of a row of the README's customer table (WeChat, Alipay).
fn codes(customer: &str) -> (String, String) {
    let qs = quick_start();
    let row =
        qs.lines().find(|l| l.starts_with(&format!("| {customer} |"))).unwrap_or_else(|| panic!("no row {customer}"));
    let cells: Vec<&str> = row.split('|').map(|c| c.trim().trim_matches('`')).collect();
    (cells[2].to_owned(), cells[3].to_owned())
}

#[test]
fn the_quick_start_configuration_and_customers_behave_as_written() {
    let _g = serial();
    let sb = start_sandbox();
    assert_eq!(init(&readme_conf(&sb, &fresh_state_dir()).to_string()), 0, "{}", errmsg());
    assert_eq!(errmsg(), "", "the README says: 0 and an empty errmsg");
    let final_code = |no: &str, secs: u64| {
        wait_for(Duration::from_secs(secs), || {
            let code = query_order(no, 1).0;
            (code != sdk::CLOUD_PAY_ORDER_UNKNOWN).then_some(code)
        })
    };
    for (customer, want) in
        [("pays now", Some(0)), ("pays after 3 s", Some(0)), ("cancels after 2 s", Some(-1)), ("never confirms", None)]
    {
        let (wx, ali) = codes(customer);
        for (code, want) in [(wx, want), (ali, if want == Some(-1) { Some(-4) } else { want })] {
            let no = order_no();
            assert!(no.starts_with("sz0100test") && quick_start().contains("**`sz0100test`**"));
            let (c, _, err) = micro_pay(&pay_req(&no, &code, 1234));
            assert_eq!(c, 0, "{customer} {code}: {err}");
            let secs = if want.is_none() { 2 } else { 8 };
            assert_eq!(final_code(&no, secs), want, "{customer} {code}");
        }
    }
    sdk::cloud_pay_fini();
    sb.stop();
}

/// A folder holding `cloudpay.json` (the README's configuration for `sb`) and `file`.
fn till_dir(sb: &Sandbox, file: &str, text: &str) -> PathBuf {
    let dir = fresh_state_dir();
    let conf = readme_conf(sb, &dir.join("till-state"));
    std::fs::write(dir.join("cloudpay.json"), conf.to_string()).unwrap();
    std::fs::write(dir.join(file), text).unwrap();
    dir
}

fn run(cmd: &mut Command) -> String {
    let out = cmd.output().unwrap_or_else(|e| panic!("{cmd:?}: {e}"));
    let text = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    assert!(out.status.success(), "{cmd:?} failed: {text}");
    text
}

#[test]
fn the_quick_start_c_program_pays_waits_and_refunds() {
    let sb = start_sandbox();
    let dir = till_dir(&sb, "quickstart.c", &block("c"));
    let lib = library_dir();
    let include = concat!(env!("CARGO_MANIFEST_DIR"), "/include");
    run(Command::new("cc")
        .current_dir(&dir)
        .args(["-std=c99", "-Wall", "-Wextra", "-Werror", "-I", include, "quickstart.c", "-o", "quickstart", "-L"])
        .arg(&lib)
        .arg("-lCloudPayAPI_SDK_CPP")
        .arg(format!("-Wl,-rpath,{}", lib.display())));
    let out = run(Command::new(dir.join("quickstart")).current_dir(&dir));
    assert!(out.contains("paid: ") && out.contains("refund: 0 accepted"), "{out}");
    assert_eq!(sb.control().request_count("refund"), 1, "{out}");
    sb.stop();
}

#[test]
fn the_quick_start_python_script_pays_waits_and_refunds() {
    let sb = start_sandbox();
    let dir = till_dir(&sb, "quickstart.py", &block("python"));
    let lib = library_dir().join("libCloudPayAPI_SDK_CPP.so");
    let out = run(Command::new("python3")
        .current_dir(&dir)
        .arg("quickstart.py")
        .env("PYTHONPATH", concat!(env!("CARGO_MANIFEST_DIR"), "/bindings/python"))
        .env("CLOUDPAY_SDK_LIB", &lib));
    assert!(out.contains("paid ") && out.contains("refund OK"), "{out}");
    assert_eq!(sb.control().request_count("refund"), 1, "{out}");
    sb.stop();
}

/// Runs the README's `commands` for the program in `dir` as a reader would, from a repository
/// root: `dir` gets `bindings/` and `include/` of this repository and `target/release/` holding
/// the cdylib cargo built for this test (symbolic links), so the lines run unchanged.
fn run_readme_commands(dir: &Path, commands: &str) -> String {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    for sub in ["bindings", "include"] {
        std::os::unix::fs::symlink(root.join(sub), dir.join(sub)).unwrap();
    }
    std::fs::create_dir(dir.join("target")).unwrap();
    std::os::unix::fs::symlink(library_dir(), dir.join("target/release")).unwrap();
    run(Command::new("bash").current_dir(dir).args(["-e", "-c", commands]))
}

/// What of `tools` (commands) and `files` is missing, or None when all are there.
fn missing(tools: &[&str], files: &[&str]) -> Option<String> {
    let gone: Vec<&str> = tools
        .iter()
        .filter(|t| !have_command(t))
        .chain(files.iter().filter(|f| !Path::new(f).exists()))
        .copied()
        .collect();
    (!gone.is_empty()).then(|| gone.join(", "))
}

/// The lines a quick-start program in C# or Java prints: paid with a transaction id, the
/// refund accepted, then successful; one refund on the server.
fn assert_paid_and_refunded(sb: &Sandbox, out: &str) {
    let paid = out.lines().find_map(|l| l.strip_prefix("paid ")).unwrap_or_else(|| panic!("no paid line: {out}"));
    assert!(!paid.trim().is_empty() && paid.trim() != "null", "a transaction id: {out}");
    let line = |prefix: &str| {
        out.lines()
            .find(|l| l.starts_with(prefix))
            .unwrap_or_else(|| panic!("no {prefix:?} line: {out}"))
            .to_lowercase()
    };
    assert!(line("refund ").starts_with("refund ok"), "{out}");
    assert!(line("refunded ").contains("state success"), "{out}");
    assert_eq!(sb.control().request_count("refund"), 1, "{out}");
}

#[test]
fn the_quick_start_csharp_program_pays_waits_and_refunds() {
    if let Some(what) = missing(&["mcs", "mono"], &["/usr/lib/mono/4.5/System.Runtime.Serialization.dll"]) {
        println!(
            "SKIPPED: the C# quick start needs {what} (apt-get install -y mono-mcs libmono-system-runtime-serialization4.0-cil)"
        );
        return;
    }
    let sb = start_sandbox();
    let dir = till_dir(&sb, "Quickstart.cs", &block("csharp"));
    let out = run_readme_commands(&dir, &commands_after("csharp"));
    assert_paid_and_refunded(&sb, &out);
    sb.stop();
}

#[test]
fn the_quick_start_java_program_pays_waits_and_refunds() {
    if let Some(what) = missing(&["javac", "java", "cc"], &["/usr/share/java/gson.jar"]) {
        println!(
            "SKIPPED: the Java quick start needs {what} (apt-get install -y default-jdk-headless libgoogle-gson-java)"
        );
        return;
    }
    let sb = start_sandbox();
    let dir = till_dir(&sb, "Quickstart.java", &block("java"));
    let out = run_readme_commands(&dir, &commands_after("java"));
    assert_paid_and_refunded(&sb, &out);
    sb.stop();
}
