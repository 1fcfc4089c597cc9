//! Security-login mode end to end through the C exports: first and later runs, refused files,
//! rejection and expiry, identification, concurrent pollers, no secret in clear on disk.

use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::common::*;
use cloud_pay_sdk as sdk;
use serde_json::{Value, json};

const AUTHEN_KEY: &str = "TESTONLY0123456789ABCDEFGHIJKLMN";

fn temp_dir(name: &str) -> PathBuf {
    private_key_dir();
    let d = std::env::temp_dir().join(format!("cps-sec-{name}-{}-{}", std::process::id(), order_no()));
    std::fs::create_dir_all(&d).unwrap();
    d
}

fn sec(f: OutFn, req: &Value) -> (i32, Value, String) {
    let (code, out, err) = call_out(f, &req.to_string(), 16 * 1024);
    (code, serde_json::from_str(&out).unwrap_or(Value::Null), err)
}

fn login(req: &Value) -> (i32, Value, String) {
    sec(sdk::cloud_pay_security_login, req)
}

fn check(activator: &str) -> (i32, Value, String) {
    sec(sdk::cloud_pay_security_login_check, &json!({"activator": activator}))
}

fn first_run_ids(sb: &Sandbox, dir: &Path) -> Value {
    json!({"pay_platform": 1, "mch_id": "1900000109", "sub_mch_id": "1900000110", "shop_id": "shop01",
           "state_dir": dir, "base_url": sb.http_base_url()})
}

fn merchant_conf(sb: &Sandbox, dir: &Path) -> String {
    let mut c: Value = serde_json::from_str(&conf(&sb.http_base_url(), None, json!({}))).unwrap();
    c["common_conf"]["state_dir"] = json!(dir);
    c["trade_conf"]["private_key"] = private_key_pem().into();
    c.to_string()
}

fn security_init(conf: &str) -> i32 {
    unsafe { sdk::cloud_pay_security_init(c(conf).as_ptr()) }
}

/// A complete first run: ids → QR → scan → config → encrypted files.
fn first_run(sb: &Sandbox, dir: &Path) -> String {
    let (code, _, err) = login(&json!({"state_dir": dir, "base_url": sb.http_base_url()}));
    assert_eq!(code, sdk::CLOUD_PAY_LOGIN_NEED_IDS, "{err}");
    assert!(err.contains("mch_id"), "{err}");
    let (code, out, err) = login(&first_run_ids(sb, dir));
    assert_eq!(code, 0, "{err}");
    let activator = out["activator"].as_str().unwrap().to_owned();
    assert!(out["qr_code_url"].as_str().unwrap().contains(&activator));
    assert!(out["ttl"].as_i64().unwrap() > 0);
    let (code, _, err) = check(&activator);
    assert_eq!(code, sdk::CLOUD_PAY_UNKNOWN, "not scanned yet: {err}");
    sb.control().approve_login(&activator, "1001").unwrap();
    let (code, out, err) = check(&activator);
    assert_eq!(code, sdk::CLOUD_PAY_LOGIN_NO_CONF, "{err}");
    assert_eq!(out["staff_id"], "1001");
    assert_eq!(out["cloud_cashier_id"], "sz0100test");
    assert_eq!(out["order_unique_id"], "sz0100test");
    assert_eq!(out["out_sub_mch_id"], "sz01TESTSUBMCH000001");
    assert!(out.get("conf").is_none(), "no configuration on a first run");
    let conf = merchant_conf(sb, dir);
    assert_eq!(security_init(&conf), 0, "{}", errmsg());
    conf
}

fn later_login(sb: &Sandbox, dir: &Path) -> String {
    // The server comes from the caller every time, never from the login file.
    let (code, out, err) = login(&json!({"state_dir": dir, "base_url": sb.http_base_url()}));
    assert_eq!(code, 0, "the stored identity starts the QR login at once: {err}");
    let activator = out["activator"].as_str().unwrap().to_owned();
    sb.control().approve_login(&activator, "1001").unwrap();
    activator
}

fn assert_no_secret_in_clear(dir: &Path) {
    let pem = private_key_pem();
    let pem_line = pem.lines().nth(1).unwrap();
    for entry in std::fs::read_dir(dir).unwrap() {
        let bytes = std::fs::read(entry.unwrap().path()).unwrap();
        let text = String::from_utf8_lossy(&bytes);
        for secret in [AUTHEN_KEY, pem_line, "PRIVATE KEY", "authen_key", "private_key"] {
            assert!(!text.contains(secret), "{secret:?} in clear on disk");
        }
    }
}

#[test]
fn first_run_then_later_run_end_to_end() {
    let _g = serial();
    let sb = start_sandbox();
    let dir = temp_dir("e2e");
    let conf = first_run(&sb, &dir);
    for f in ["cloud_pay_security_login.encrpyt", "cloud_pay_security_key.encrpyt"] {
        assert!(dir.join(f).exists(), "{f} written");
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            assert_eq!(std::fs::metadata(dir.join(f)).unwrap().permissions().mode() & 0o777, 0o600, "{f} owner-only");
        }
    }
    assert_no_secret_in_clear(&dir);
    // security_init initialised like cloud_pay_init: a payment goes through.
    pay_and_wait(WX_PAYS_AT_ONCE, 9);
    // A new process: nothing but the state dir.
    sdk::cloud_pay_fini();
    let activator = later_login(&sb, &dir);
    let (code, out, err) = check(&activator);
    assert_eq!(code, 0, "{err}");
    assert_eq!(out["staff_id"], "1001");
    let stored: Value = serde_json::from_str(&conf).unwrap();
    assert_eq!(out["conf"], stored, "the decrypted configuration is the one stored");
    assert_eq!(out["conf"]["trade_conf"]["authen_key"], AUTHEN_KEY);
    assert_eq!(security_init(&out["conf"].to_string()), 0, "{}", errmsg());
    let no = order_no();
    assert_eq!(micro_pay(&pay_req(&no, WX_PAYS_AT_ONCE, 9)).0, 0);
    assert_no_secret_in_clear(&dir);
    sdk::cloud_pay_fini();
    sb.stop();
    let _ = std::fs::remove_dir_all(&dir);
}

fn refused(sb: &Sandbox, dir: &Path, needle: &str) {
    let key_file = dir.join("cloud_pay_security_key.encrpyt");
    let before = std::fs::read(&key_file).unwrap();
    let activator = later_login(sb, dir);
    let (code, out, err) = check(&activator);
    assert_eq!(code, sdk::CLOUD_PAY_INTERNAL, "{err}");
    assert!(err.contains(needle) && err.contains("nothing was changed"), "{err}");
    assert!(out.get("conf").is_none());
    assert_eq!(check(&activator).0, sdk::CLOUD_PAY_INTERNAL, "the same answer on every poll");
    assert_ne!(security_init(&merchant_conf(sb, dir)), 0, "no login: no new files");
    assert_eq!(std::fs::read(&key_file).unwrap(), before, "the refused file is left as it was");
}

#[test]
fn tampered_truncated_foreign_and_wrong_key_files_are_refused() {
    let _g = serial();
    let sb = start_sandbox();
    let dir = temp_dir("refused");
    first_run(&sb, &dir);
    sdk::cloud_pay_fini();
    let key_file = dir.join("cloud_pay_security_key.encrpyt");
    let good = std::fs::read(&key_file).unwrap();
    let mut tampered = good.clone();
    let at = tampered.len() - 30;
    tampered[at] ^= 0x40;
    std::fs::write(&key_file, &tampered).unwrap();
    refused(&sb, &dir, "tampered");
    std::fs::write(&key_file, &good[..good.len() - 10]).unwrap();
    refused(&sb, &dir, "tampered");
    std::fs::write(&key_file, &good[..12]).unwrap();
    refused(&sb, &dir, "truncated");
    // Another merchant's file (same key, other sub-merchant in its authenticated header).
    let foreign = sdk::security::store::seal(
        sdk::security::store::Kind::Configuration,
        "sz01OTHERSUBMCH00001",
        9,
        &sdk::security::store::Key::from_server("VEVTVE9OTFlLRVkxMjM0NQ==").unwrap(),
        b"{}",
    )
    .unwrap();
    std::fs::write(&key_file, &foreign).unwrap();
    refused(&sb, &dir, "another sub-merchant");
    sb.stop();
    // The server now delivers another key for this merchant: the stored file cannot be read.
    std::fs::write(&key_file, &good).unwrap();
    let mut opts = SandboxOptions::demo();
    opts.config.merchants[0].config_cipher_key_b64 = "T1RIRVJLRVlURVNUT05MWQ==".into();
    let sb2 = Sandbox::start(opts).unwrap();
    let (code, out, err) = login(&json!({"state_dir": dir, "base_url": sb2.http_base_url()}));
    assert_eq!(code, 0, "{err}");
    sb2.control().approve_login(out["activator"].as_str().unwrap(), "1001").unwrap();
    let (code, _, err) = check(out["activator"].as_str().unwrap());
    assert_eq!(code, sdk::CLOUD_PAY_INTERNAL);
    assert!(err.contains("wrong key"), "{err}");
    assert_eq!(std::fs::read(&key_file).unwrap(), good);
    sdk::cloud_pay_fini();
    sb2.stop();
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn rejection_and_expiry_have_their_own_codes() {
    let _g = serial();
    let mut opts = SandboxOptions::demo();
    opts.config.login_ttl_secs = 1;
    let sb = Sandbox::start(opts).unwrap();
    let dir = temp_dir("reject");
    let (code, out, _) = login(&first_run_ids(&sb, &dir));
    assert_eq!(code, 0);
    let a = out["activator"].as_str().unwrap().to_owned();
    sb.control().reject_login(&a).unwrap();
    let (code, _, err) = check(&a);
    assert_eq!(code, sdk::CLOUD_PAY_LOGIN_REJECTED, "{err}");
    assert!(err.contains("rejected"), "{err}");
    let (code, out, _) = login(&first_run_ids(&sb, &dir));
    assert_eq!(code, 0);
    let a = out["activator"].as_str().unwrap().to_owned();
    std::thread::sleep(Duration::from_millis(1200));
    let (code, _, err) = check(&a);
    assert_eq!(code, sdk::CLOUD_PAY_LOGIN_EXPIRED, "{err}");
    assert!(err.contains("expired"), "{err}");
    assert_ne!(security_init(&merchant_conf(&sb, &dir)), 0, "no login: security_init refuses");
    assert!(errmsg().contains("log in first"), "{}", errmsg());
    assert!(!dir.join("cloud_pay_security_key.encrpyt").exists());
    // Unknown platform ids on a first run: supply them again (>0).
    let mut wrong = first_run_ids(&sb, &dir);
    wrong["sub_mch_id"] = json!("999");
    assert_eq!(login(&wrong).0, sdk::CLOUD_PAY_LOGIN_NEED_IDS);
    sdk::cloud_pay_fini();
    sb.stop();
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn several_threads_polling_one_login_all_see_the_same_result() {
    let _g = serial();
    let sb = start_sandbox();
    let dir = temp_dir("threads");
    let (code, out, _) = login(&first_run_ids(&sb, &dir));
    assert_eq!(code, 0);
    let a = out["activator"].as_str().unwrap().to_owned();
    let pollers: Vec<_> = (0..8)
        .map(|_| {
            let a = a.clone();
            std::thread::spawn(move || {
                for _ in 0..500 {
                    let (code, out, err) = check(&a);
                    if code != sdk::CLOUD_PAY_UNKNOWN {
                        return (code, out, err);
                    }
                    std::thread::sleep(Duration::from_millis(10));
                }
                panic!("no result");
            })
        })
        .collect();
    std::thread::sleep(Duration::from_millis(150));
    sb.control().approve_login(&a, "1001").unwrap();
    for p in pollers {
        let (code, out, err) = p.join().unwrap();
        assert_eq!(code, sdk::CLOUD_PAY_LOGIN_NO_CONF, "{err}");
        assert_eq!(out["staff_id"], "1001");
    }
    sdk::cloud_pay_fini();
    sb.stop();
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn identification_after_init() {
    let _g = serial();
    let sb = start_sandbox();
    init_http(&sb);
    let (code, out, err) = sec(sdk::cloud_pay_security_identification, &json!({}));
    assert_eq!(code, 0, "{err}");
    let a = out["activator"].as_str().unwrap().to_owned();
    let ident_check = |a: &str| sec(sdk::cloud_pay_security_identification_check, &json!({"activator": a}));
    assert_eq!(ident_check(&a).0, sdk::CLOUD_PAY_UNKNOWN);
    sb.control().approve_login(&a, "1001").unwrap();
    let (code, out, err) = ident_check(&a);
    assert_eq!(code, 0, "{err}");
    assert_eq!(out["staff_id"], "1001");
    assert!(out.get("conf").is_none() && out.get("authen_key").is_none(), "identity only");
    let (_, out, _) = sec(sdk::cloud_pay_security_identification, &json!({}));
    let b = out["activator"].as_str().unwrap().to_owned();
    sb.control().reject_login(&b).unwrap();
    assert_eq!(ident_check(&b).0, sdk::CLOUD_PAY_FAIL);
    sdk::cloud_pay_fini();
    let (code, _, err) = sec(sdk::cloud_pay_security_identification, &json!({}));
    assert_eq!(code, sdk::CLOUD_PAY_INTERNAL);
    assert!(err.contains("log in or initialise first"), "{err}");
    assert_eq!(sec(sdk::cloud_pay_security_login_check, &json!({})).0, sdk::CLOUD_PAY_INTERNAL, "no login in progress");
    sb.stop();
}

// ---- What neither a local user nor the network can subvert ----

/// Ends a test: fini, sandbox stopped, state folder removed.
fn finish(sb: Sandbox, dir: &Path) {
    sdk::cloud_pay_fini();
    sb.stop();
    let _ = std::fs::remove_dir_all(dir);
}

fn sandbox_with_ttl(secs: u64) -> Sandbox {
    let mut opts = SandboxOptions::demo();
    opts.config.login_ttl_secs = secs;
    Sandbox::start(opts).unwrap()
}

fn ident_start() -> (i32, Value, String) {
    sec(sdk::cloud_pay_security_identification, &json!({}))
}

fn ident_check(req: &Value) -> (i32, Value, String) {
    sec(sdk::cloud_pay_security_identification_check, req)
}

fn login_file(dir: &Path) -> PathBuf {
    dir.join("cloud_pay_security_login.encrpyt")
}

fn local_key() -> sdk::security::store::Key {
    let raw = std::fs::read(private_key_dir().join("login-identity.key")).unwrap();
    sdk::security::store::Key::new(raw.try_into().unwrap())
}

#[test]
fn a_planted_login_file_cannot_choose_the_server() {
    let _g = serial();
    let sb = start_sandbox();
    let dir = temp_dir("plant");
    first_run(&sb, &dir);
    sdk::cloud_pay_fini();
    let good = std::fs::read(login_file(&dir)).unwrap();
    assert!(!String::from_utf8_lossy(&good).contains("127.0.0.1"), "no server address in the login file");
    // An old-format file (server settings, machine-derived key): ignored, with a clear message.
    let mut v1 = good.clone();
    v1[4] = 1;
    std::fs::write(login_file(&dir), &v1).unwrap();
    let (code, _, err) = login(&json!({"state_dir": dir, "base_url": sb.http_base_url()}));
    assert_eq!(code, sdk::CLOUD_PAY_INTERNAL, "{err}");
    assert!(err.contains("older SDK") && err.contains("first run"), "{err}");
    // Sealed with the right local key but naming a server: refused, nothing contacted.
    let planted = br#"{"out_mch_id":"m","out_sub_mch_id":"sz01TESTSUBMCH000001","base_url":"http://127.0.0.1:9/","generation":1}"#;
    let forged =
        sdk::security::store::seal(sdk::security::store::Kind::Login, "sz01TESTSUBMCH000001", 1, &local_key(), planted)
            .unwrap();
    std::fs::write(login_file(&dir), &forged).unwrap();
    let (code, _, err) = login(&json!({"state_dir": dir, "base_url": sb.http_base_url()}));
    assert_eq!(code, sdk::CLOUD_PAY_INTERNAL, "{err}");
    assert!(err.contains("base_url"), "{err}");
    // Sealed with any other key (the old MAC-derived one, a guess): refused.
    let guessed = sdk::security::store::seal(
        sdk::security::store::Kind::Login,
        "sz01TESTSUBMCH000001",
        1,
        &sdk::security::store::Key::new([7; 16]),
        b"{}",
    )
    .unwrap();
    std::fs::write(login_file(&dir), &guessed).unwrap();
    let (code, _, err) = login(&json!({"state_dir": dir, "base_url": sb.http_base_url()}));
    assert_eq!(code, sdk::CLOUD_PAY_INTERNAL);
    assert!(err.contains("cannot be decrypted"), "{err}");
    // The genuine file: the QR code is started on the server the caller names.
    std::fs::write(login_file(&dir), &good).unwrap();
    let before = sb.control().request_count("client_initialize");
    later_login(&sb, &dir);
    assert_eq!(sb.control().request_count("client_initialize"), before + 1);
    finish(sb, &dir);
}

#[cfg(unix)]
#[test]
fn the_login_key_is_owner_only_and_a_loose_one_is_refused() {
    use std::os::unix::fs::PermissionsExt;
    let _g = serial();
    let sb = start_sandbox();
    let dir = temp_dir("keyperm");
    first_run(&sb, &dir);
    sdk::cloud_pay_fini();
    let kd = private_key_dir();
    let key_file = kd.join("login-identity.key");
    assert_eq!(std::fs::metadata(&kd).unwrap().permissions().mode() & 0o777, 0o700);
    assert_eq!(std::fs::metadata(&key_file).unwrap().permissions().mode() & 0o777, 0o600);
    assert_eq!(std::fs::read(&key_file).unwrap().len(), 16);
    std::fs::set_permissions(&key_file, std::fs::Permissions::from_mode(0o644)).unwrap();
    let (code, _, err) = login(&json!({"state_dir": dir, "base_url": sb.http_base_url()}));
    std::fs::set_permissions(&key_file, std::fs::Permissions::from_mode(0o600)).unwrap();
    assert_eq!(code, sdk::CLOUD_PAY_INTERNAL, "{err}");
    assert!(err.contains("other users"), "{err}");
    sb.stop();
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn a_rolled_back_configuration_file_is_refused_and_conf_is_handed_out_once() {
    let _g = serial();
    let sb = start_sandbox();
    let dir = temp_dir("rollback");
    first_run(&sb, &dir);
    sdk::cloud_pay_fini();
    let key_file = dir.join("cloud_pay_security_key.encrpyt");
    let old = std::fs::read(&key_file).unwrap();
    let a = later_login(&sb, &dir);
    let (code, out, err) = check(&a);
    assert_eq!(code, 0, "{err}");
    let (code, again, err) = check(&a);
    assert_eq!(code, sdk::CLOUD_PAY_INTERNAL, "the configuration is handed out once: {err}");
    assert!(again.get("conf").is_none() && err.contains("once"), "{err}");
    let old_login = std::fs::read(login_file(&dir)).unwrap();
    assert_eq!(security_init(&out["conf"].to_string()), 0, "{}", errmsg());
    sdk::cloud_pay_fini();
    let current = std::fs::read(&key_file).unwrap();
    std::fs::write(&key_file, &old).unwrap();
    let a = later_login(&sb, &dir);
    let (code, out, err) = check(&a);
    assert_eq!(code, sdk::CLOUD_PAY_INTERNAL, "{err}");
    assert!(err.contains("rolled-back") && out.get("conf").is_none(), "{err}");
    // The older *pair* restored together: the record beside the key still knows better.
    sdk::cloud_pay_fini();
    std::fs::write(login_file(&dir), &old_login).unwrap();
    let (code, _, err) = login(&json!({"state_dir": dir, "base_url": sb.http_base_url()}));
    assert_eq!(code, sdk::CLOUD_PAY_INTERNAL, "{err}");
    assert!(err.contains("rolled-back"), "{err}");
    // Losing the login file costs a login (ids again), not a re-provisioning: the intact
    // configuration file is still handed out.
    std::fs::write(&key_file, &current).unwrap();
    std::fs::remove_file(login_file(&dir)).unwrap();
    let (code, out, _) = login(&first_run_ids(&sb, &dir));
    assert_eq!(code, 0);
    let a = out["activator"].as_str().unwrap().to_owned();
    sb.control().approve_login(&a, "1001").unwrap();
    let (code, out, err) = check(&a);
    assert_eq!(code, 0, "{err}");
    assert_eq!(out["conf"]["trade_conf"]["authen_key"], AUTHEN_KEY);
    finish(sb, &dir);
}

#[test]
fn identification_approvals_are_single_use_bound_and_never_replayed() {
    let _g = serial();
    private_key_dir();
    let sb = start_sandbox();
    init_http(&sb);
    let (code, out, err) = ident_start();
    assert_eq!(code, 0, "{err}");
    let a = out["activator"].as_str().unwrap().to_owned();
    sb.control().approve_login(&a, "1001").unwrap();
    assert_eq!(ident_check(&json!({})).0, 0, "approved once");
    let (code, _, err) = ident_check(&json!({"activator": a}));
    assert_eq!(code, sdk::CLOUD_PAY_FAIL, "an approval counts once: {err}");
    // A start that ends unknown leaves nothing for `{}` to fall back on.
    let f = sb.control().add_fault(fault("client_initialize", FaultKind::ResetBeforeReply, Some(1)));
    assert_eq!(ident_start().0, sdk::CLOUD_PAY_UNKNOWN);
    sb.control().remove_fault(f);
    let (code, _, err) = ident_check(&json!({}));
    assert_ne!(code, 0, "no replay of the previous approval: {err}");
    assert!(err.contains("no identification in progress"), "{err}");
    // A login QR code is not an identification, and the other way round.
    let dir = temp_dir("purpose");
    let (code, out, err) = login(&first_run_ids(&sb, &dir));
    assert_eq!(code, 0, "{err}");
    let l = out["activator"].as_str().unwrap().to_owned();
    sb.control().approve_login(&l, "1001").unwrap();
    let (code, _, err) = ident_check(&json!({"activator": l}));
    assert_eq!(code, sdk::CLOUD_PAY_INTERNAL, "{err}");
    assert!(err.contains("no identification with activator"), "{err}");
    let (_, out, _) = ident_start();
    let i = out["activator"].as_str().unwrap().to_owned();
    sb.control().approve_login(&i, "1001").unwrap();
    let (code, _, err) = check(&i);
    assert_eq!(code, sdk::CLOUD_PAY_INTERNAL);
    assert!(err.contains("no login with activator"), "{err}");
    finish(sb, &dir);
}

#[test]
fn a_too_small_buffer_does_not_use_up_an_approval_or_the_configuration() {
    let _g = serial();
    let sb = start_sandbox();
    let dir = temp_dir("short");
    first_run(&sb, &dir);
    sdk::cloud_pay_fini();
    let a = later_login(&sb, &dir);
    let req = json!({"activator": a}).to_string();
    let (code, out, err) = call_out(sdk::cloud_pay_security_login_check, &req, 64);
    assert_eq!((code, out.as_str()), (sdk::CLOUD_PAY_INTERNAL, ""), "{err}");
    assert!(err.starts_with("buffer too small, need "), "{err}");
    let (code, out, err) = check(&a);
    assert_eq!(code, 0, "the repeat with a big enough buffer gets it: {err}");
    assert_eq!(out["conf"]["trade_conf"]["authen_key"], AUTHEN_KEY);
    assert_eq!(check(&a).0, sdk::CLOUD_PAY_INTERNAL, "then it is used up");
    assert_eq!(security_init(&out["conf"].to_string()), 0, "{}", errmsg());
    let (_, out, _) = ident_start();
    let i = out["activator"].as_str().unwrap().to_owned();
    sb.control().approve_login(&i, "1001").unwrap();
    let req = json!({"activator": i}).to_string();
    assert_eq!(call_out(sdk::cloud_pay_security_identification_check, &req, 8).0, sdk::CLOUD_PAY_INTERNAL);
    assert_eq!(ident_check(&json!({"activator": i})).0, 0);
    assert_eq!(ident_check(&json!({"activator": i})).0, sdk::CLOUD_PAY_FAIL);
    finish(sb, &dir);
}

#[test]
fn an_approval_expires_with_its_qr_code() {
    let _g = serial();
    let sb = sandbox_with_ttl(1);
    init_http(&sb);
    let (_, out, _) = ident_start();
    let a = out["activator"].as_str().unwrap().to_owned();
    std::thread::sleep(Duration::from_millis(1100));
    // Approved after its ttl (a stale scan): not accepted.
    let _ = sb.control().approve_login(&a, "1001");
    assert_eq!(ident_check(&json!({"activator": a})).0, sdk::CLOUD_PAY_FAIL);
    sdk::cloud_pay_fini();
    sb.stop();
}

#[test]
fn unsigned_or_forged_grants_are_refused_when_the_key_is_held() {
    let _g = serial();
    let sb = start_sandbox();
    init_http(&sb);
    let (_, out, _) = ident_start();
    let a = out["activator"].as_str().unwrap().to_owned();
    sb.control().approve_login(&a, "1001").unwrap();
    for kind in [FaultKind::MissingAuthen, FaultKind::BadHmac, FaultKind::HmacOverOtherContent] {
        let f = sb.control().add_fault(fault("client_try_get_initializers", kind.clone(), None));
        let (code, _, err) = ident_check(&json!({"activator": a}));
        sb.control().remove_fault(f);
        assert_eq!(code, sdk::CLOUD_PAY_UNKNOWN, "{kind:?} must not verify anyone: {err}");
    }
    // The genuine, signed reply.
    assert_eq!(ident_check(&json!({"activator": a})).0, 0);
    sdk::cloud_pay_fini();
    sb.stop();
}

#[test]
fn plain_http_to_a_remote_server_is_refused_for_a_login() {
    let _g = serial();
    let dir = temp_dir("http");
    let mut req = json!({"pay_platform": 1, "mch_id": "1900000109", "sub_mch_id": "1900000110", "state_dir": dir, "base_url": "http://192.0.2.1/cpay/"});
    let (code, _, err) = login(&req);
    assert_eq!(code, sdk::CLOUD_PAY_INTERNAL);
    assert!(err.contains("plain http"), "{err}");
    req["base_url"] = json!("http://pay.example.com:8080/cpay/");
    assert!(login(&req).2.contains("plain http"));
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn a_hostile_key_text_is_refused_without_wedging_the_login() {
    let _g = serial();
    let mut opts = SandboxOptions::demo();
    opts.config.merchants[0].config_cipher_key_b64 = "中中中中中中中中中中ab".into();
    let sb = Sandbox::start(opts).unwrap();
    let dir = temp_dir("hostile");
    let (_, out, _) = login(&first_run_ids(&sb, &dir));
    let a = out["activator"].as_str().unwrap().to_owned();
    sb.control().approve_login(&a, "1001").unwrap();
    let (code, _, err) = check(&a);
    assert_eq!(code, sdk::CLOUD_PAY_INTERNAL);
    assert!(err.contains("not 16 bytes") && !err.contains('中'), "a clear message, no server text: {err}");
    let (code, _, err) = check(&a);
    assert_eq!(code, sdk::CLOUD_PAY_INTERNAL, "the same final answer, not 'poll again' for ever: {err}");
    finish(sb, &dir);
}

/// A server on loopback that answers every bootstrap call with status 0 and `ttl` = i64::MAX.
fn rogue_server() -> String {
    use cloud_pay_protocol::{Endpoint, Response, ResponseEnvelope};
    use std::io::{BufRead, BufReader, Read, Write};
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}/cpay/", l.local_addr().unwrap());
    std::thread::spawn(move || {
        for s in l.incoming().flatten() {
            std::thread::spawn(move || {
                let mut r = BufReader::new(s.try_clone().unwrap());
                let mut w = s;
                loop {
                    let (mut line, mut len) = (String::new(), 0);
                    if r.read_line(&mut line).unwrap_or(0) == 0 {
                        return;
                    }
                    let path = line.clone();
                    while line.trim() != "" || line.is_empty() {
                        line.clear();
                        if r.read_line(&mut line).unwrap_or(0) == 0 {
                            return;
                        }
                        if let Some(v) = line.to_ascii_lowercase().strip_prefix("content-length:") {
                            len = v.trim().parse().unwrap_or(0);
                        }
                    }
                    let mut body = vec![0; len];
                    if r.read_exact(&mut body).is_err() {
                        return;
                    }
                    let (ep, result) = if path.contains(Endpoint::QueryIdentityMapping.path()) {
                        (Endpoint::QueryIdentityMapping, json!({"out_mch_id": "m", "out_sub_mch_id": "s"}))
                    } else {
                        (
                            Endpoint::ClientInitialize,
                            json!({"activator": "ROGUE", "token": "t", "qr_code_url": "x", "ttl": i64::MAX}),
                        )
                    };
                    let resp = Response::<Value> {
                        status: 0,
                        description: String::new(),
                        log_id: 1,
                        internal_status: 0,
                        result: Some(result),
                        raw_result: None,
                    };
                    let text = ResponseEnvelope::seal(resp.to_content(ep), None).to_body();
                    let head = format!(
                        "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n",
                        text.len()
                    );
                    if w.write_all(head.as_bytes()).and_then(|()| w.write_all(text.as_bytes())).is_err() {
                        return;
                    }
                }
            });
        }
    });
    url
}

#[test]
fn a_huge_ttl_is_bounded_without_overflow() {
    let _g = serial();
    let dir = temp_dir("ttl");
    let (code, out, err) = login(
        &json!({"pay_platform": 1, "mch_id": "1", "sub_mch_id": "2", "state_dir": dir, "base_url": rogue_server()}),
    );
    assert_eq!(code, 0, "{err}");
    assert_eq!(out["activator"], "ROGUE");
    // The poll still works (the deadline was computed without overflow).
    let (code, _, err) = check("ROGUE");
    assert_ne!(code, sdk::CLOUD_PAY_OK, "{err}");
    assert!(!err.contains("overflow") && !err.contains("no login with activator"), "{err}");
    let _ = std::fs::remove_dir_all(&dir);
}

/// The counting half of `abandoned_qr_codes_do_not_grow_open_files`, run in a process of its
/// own: the open files are the whole process's, and the other tests of this binary open and
/// close sockets and pipes meanwhile.
#[cfg(target_os = "linux")]
#[test]
fn open_files_child() {
    if std::env::var_os("CPS_OPEN_FILES_CHILD").is_none() {
        return;
    }
    let sb = start_sandbox();
    init_http(&sb);
    let fds = || std::fs::read_dir("/proc/self/fd").unwrap().count();
    assert_eq!(ident_start().0, 0);
    let before = fds();
    for _ in 0..200 {
        assert_eq!(ident_start().0, 0, "{}", errmsg());
    }
    let after = fds();
    assert!(after <= before + 6, "200 abandoned QR codes: {before} -> {after} open files");
    sdk::cloud_pay_fini();
    sb.stop();
}

#[cfg(target_os = "linux")]
#[test]
fn abandoned_qr_codes_do_not_grow_open_files() {
    // The child has the SDK to itself; the guard keeps this process's SDK tests from running
    // beside it, as they did not before it moved out.
    let _g = serial();
    let out = child_test(module_path!(), "open_files_child")
        .env("CPS_OPEN_FILES_CHILD", "1")
        .env(sdk::security::local_key::KEY_DIR_ENV, private_key_dir()) // never the user's ~/.config
        .output()
        .unwrap();
    assert!(out.status.success(), "{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
}

#[test]
fn concurrent_security_inits_all_succeed_and_leave_a_consistent_pair() {
    let _g = serial();
    let sb = start_sandbox();
    let dir = temp_dir("concurrent");
    let conf = first_run(&sb, &dir);
    let (code, out, _) = login(&first_run_ids(&sb, &dir));
    assert_eq!(code, 0);
    let a = out["activator"].as_str().unwrap().to_owned();
    sb.control().approve_login(&a, "1001").unwrap();
    assert_eq!(check(&a).0, 0);
    let threads: Vec<_> = (0..4)
        .map(|_| {
            let conf = conf.clone();
            std::thread::spawn(move || (0..10).filter(|_| security_init(&conf) != 0).count())
        })
        .collect();
    let failed: usize = threads.into_iter().map(|t| t.join().unwrap()).sum();
    assert_eq!(failed, 0, "40 concurrent security_init calls");
    sdk::cloud_pay_fini();
    let a = later_login(&sb, &dir);
    assert_eq!(check(&a).0, 0, "{}", errmsg());
    let leftovers: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .flatten()
        .filter(|e| e.file_name().to_string_lossy().contains(".tmp-"))
        .collect();
    assert!(leftovers.is_empty(), "no temporary file left behind");
    finish(sb, &dir);
}
