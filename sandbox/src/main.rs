//! `cloud-pay-sandbox`: runs the sandbox until killed.

use std::io::Write;
use std::net::SocketAddr;
use std::path::PathBuf;

use cloud_pay_sandbox::{Sandbox, SandboxConfig, SandboxOptions};

const USAGE: &str = "usage: cloud-pay-sandbox [--config FILE] [--state-dir DIR] [--http ADDR] [--https ADDR] [--tls-cert PEM --tls-key PEM] [--quiet]\n\
  --config FILE     merchants JSON (default: the built-in TEST-ONLY demo merchant)\n\
  --state-dir DIR   where state.json and the CA live (default ./sandbox-state)\n\
  --http ADDR       plain HTTP listener (default 127.0.0.1:0)\n\
  --https ADDR      HTTPS listener (default 127.0.0.1:0)\n\
  --tls-cert/--tls-key  PEM certificate chain and key instead of a generated CA\n\
  --quiet           no per-request log on stderr\n\
Environment: CLOUDPAY_SANDBOX_REPLY_STYLE=raw|escaped overrides the config's reply_style\n\
(default escaped: \\uXXXX and \\/ in replies, as the real server writes them).\n\
Dashboard for QA: http://<--http address>/sandbox/console/";

fn fail(msg: &str) -> ! {
    eprintln!("cloud-pay-sandbox: {msg}\n{USAGE}");
    std::process::exit(2)
}

fn main() {
    let mut opts = SandboxOptions::demo();
    opts.state_dir = Some(PathBuf::from("./sandbox-state"));
    let (mut cert, mut key) = (None, None);
    let mut quiet = false;
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        if a == "-h" || a == "--help" {
            println!("{USAGE}");
            return;
        }
        if a == "--quiet" {
            quiet = true;
            continue;
        }
        let v = args.next().unwrap_or_else(|| fail(&format!("{a} needs a value")));
        let addr = |v: &str| v.parse::<SocketAddr>().unwrap_or_else(|_| fail(&format!("{a}: not an address: {v}")));
        match a.as_str() {
            "--config" => opts.config = SandboxConfig::from_file(&v).unwrap_or_else(|e| fail(&format!("{v}: {e}"))),
            "--state-dir" => opts.state_dir = Some(PathBuf::from(v)),
            "--http" => opts.http_addr = Some(addr(&v)),
            "--https" => opts.https_addr = Some(addr(&v)),
            "--tls-cert" => cert = Some(PathBuf::from(v)),
            "--tls-key" => key = Some(PathBuf::from(v)),
            _ => fail(&format!("unknown option {a}")),
        }
    }
    opts.config.log_requests |= !quiet;
    match (cert, key) {
        (Some(c), Some(k)) => opts.tls = Some((c, k)),
        (None, None) => {}
        _ => fail("--tls-cert and --tls-key go together"),
    }
    let sb = Sandbox::start(opts).unwrap_or_else(|e| fail(&format!("cannot start: {e}")));
    let mut out = std::io::stdout().lock();
    let _ = writeln!(out, "CLOUDPAY_SANDBOX_HTTP={}", sb.http_base_url());
    let _ = writeln!(out, "CLOUDPAY_SANDBOX_HTTPS={}", sb.https_base_url());
    // Absolute, so the line can be pasted into a CloudPayConf used from any folder.
    let ca = std::path::absolute(sb.ca_file()).unwrap_or_else(|_| sb.ca_file());
    let _ = writeln!(out, "CLOUDPAY_SANDBOX_CA={}", ca.display());
    let _ = out.flush();
    drop(out);
    // Runs until killed; state is already on disk after every change.
    loop {
        std::thread::park();
    }
}
