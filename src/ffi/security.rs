//! Exports of security-login mode (docs/c-api.md, "Security-login mode").

use std::ffi::{c_char, c_int};

use super::codes::*;
use super::{current, export, sdk};

/// Runs `f` with the running configuration, if any: a login for its merchant verifies
/// replies with its key.
fn with_running<R>(f: impl FnOnce(Option<&crate::config::Config>) -> R) -> R {
    let rt = current().ok();
    f(rt.as_ref().map(|r| &r.config))
}

/// The caller's buffer size: an approval counts as handed out only when its output fits.
fn capacity(length: c_int) -> usize {
    usize::try_from(length).unwrap_or(0)
}

/// Starts a security (QR) login. First run: `{"pay_platform","mch_id","sub_mch_id","shop_id"}`
/// (platform merchant numbers); later runs: `{}` (the stored identity is used). Optional
/// extensions: `state_dir` (where the encrypted files are; default as in `cloud_pay_init`),
/// `base_url`, `ca_file`, `proxy` (as in `cloud_pay_init`; never stored: pass them on every
/// login — the login file holds ids only, so it cannot choose the server), and
/// `allow_insecure_http` (1: accept a plain http base_url outside loopback; refused otherwise),
/// `use_system_roots` (1: verify the server against the system's trust store, as in `cloud_pay_init`).
/// Writes `{"activator","qr_code_url","ttl"}`: show qr_code_url as a QR code for a staff member
/// to scan. Returns CLOUD_PAY_OK (0), CLOUD_PAY_LOGIN_NEED_IDS (1: first
/// run, supply the ids), CLOUD_PAY_UNKNOWN (-2), CLOUD_PAY_INTERNAL (-3, other failures).
///
/// # Safety
/// `req` NUL-terminated; `resp` has `length` writable bytes.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn cloud_pay_security_login(req: *const c_char, resp: *mut c_char, length: c_int) -> c_int {
    // SAFETY: the caller's contract, as documented above.
    unsafe {
        export(&SECURITY_LOGIN, Some(req), Some((resp, length, "resp")), |t| {
            Ok(security(with_running(|c| sdk().security.login(t, c))?, login))
        })
    }
}

/// Polls the login: `{"activator"?}` (default: the latest). Returns CLOUD_PAY_OK (0: logged in;
/// writes staff_id, cloud_cashier_id / order_unique_id, identity, manager_types, out ids and the
/// decrypted `conf`, handed out once — a later poll of that activator gets -3, unless the
/// buffer was too small, when the one repeat with the size asked for still gets it — call
/// cloud_pay_security_init), CLOUD_PAY_LOGIN_NO_CONF (1: logged in, no
/// stored configuration yet — collect it, then cloud_pay_security_init), CLOUD_PAY_UNKNOWN (-2:
/// not scanned yet, poll again), CLOUD_PAY_LOGIN_REJECTED (-1), CLOUD_PAY_LOGIN_EXPIRED (-4: the
/// QR code's ttl ran out), CLOUD_PAY_INTERNAL (-3: e.g. the stored file cannot be decrypted —
/// wrong key, tampered, another merchant's; nothing is changed).
///
/// # Safety
/// `req_json` NUL-terminated; `resp` has `length` writable bytes.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn cloud_pay_security_login_check(
    req_json: *const c_char,
    resp: *mut c_char,
    length: c_int,
) -> c_int {
    // SAFETY: the caller's contract, as documented above.
    unsafe {
        export(&SECURITY_LOGIN_CHECK, Some(req_json), Some((resp, length, "resp")), |t| {
            Ok(security(sdk().security.login_check(t, capacity(length))?, login_check))
        })
    }
}

/// Initialises after a successful login check, exactly like cloud_pay_init, and stores the
/// configuration AES-128-GCM-encrypted with the login's key (`cloud_pay_security_key.encrpyt`)
/// and the identity for the next login (`cloud_pay_security_login.encrpyt`: ids only, sealed
/// with a per-user key from `$CLOUDPAY_KEY_DIR`, else `$XDG_CONFIG_HOME/cloud-pay-sdk` or
/// `~/.config/cloud-pay-sdk`, DPAPI-protected on Windows) in
/// `common_conf.state_dir` (default: where the login looked). Returns CLOUD_PAY_OK (0),
/// CLOUD_PAY_FAIL (-1: bad configuration, no login, another sub-merchant), CLOUD_PAY_INTERNAL (-3).
///
/// # Safety
/// `conf_json_c` NUL-terminated.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn cloud_pay_security_init(conf_json_c: *const c_char) -> c_int {
    // SAFETY: the caller's contract, as documented above.
    unsafe {
        export(&SECURITY_INIT, Some(conf_json_c), None, |text| {
            crate::platform::install(); // before any SDK thread can start
            // Files and runtime change as one step with respect to init and fini.
            let installing = sdk().install_lock();
            sdk().install_held(sdk().security.security_init(text)?, &installing).map(|_| done(None))
        })
    }
}

/// Starts an identity check (e.g. to authorise a refund) after login or init: `{}`. Writes
/// `{"activator","qr_code_url","ttl"}`. Returns CLOUD_PAY_OK (0), CLOUD_PAY_FAIL (-1),
/// CLOUD_PAY_UNKNOWN (-2), CLOUD_PAY_INTERNAL (-3).
///
/// # Safety
/// `req_json` NUL-terminated; `resp` has `length` writable bytes.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn cloud_pay_security_identification(
    req_json: *const c_char,
    resp: *mut c_char,
    length: c_int,
) -> c_int {
    // SAFETY: the caller's contract, as documented above.
    unsafe {
        export(&SECURITY_IDENTIFICATION, Some(req_json), Some((resp, length, "resp")), |t| {
            Ok(security(with_running(|c| sdk().security.identification(t, c))?, identification))
        })
    }
}

/// Polls an identity check: `{"activator"?}` (default: the latest *started* one; after a
/// start that failed there is none). Writes `{"staff_id","identity","manager_types",
/// "manager_entities"}` once confirmed. An approval counts once, only for an identification
/// (never a login QR code; a too-small buffer does not use it up), and only within the QR
/// code's ttl. Returns CLOUD_PAY_OK (0:
/// verified), CLOUD_PAY_FAIL (-1: rejected, expired, or already used), CLOUD_PAY_UNKNOWN (-2:
/// poll again — also when a reply lacks the HMAC of the running configuration's authen_key),
/// CLOUD_PAY_INTERNAL (-3).
///
/// # Safety
/// `req_json` NUL-terminated; `resp` has `length` writable bytes.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn cloud_pay_security_identification_check(
    req_json: *const c_char,
    resp: *mut c_char,
    length: c_int,
) -> c_int {
    // SAFETY: the caller's contract, as documented above.
    unsafe {
        export(&SECURITY_IDENTIFICATION_CHECK, Some(req_json), Some((resp, length, "resp")), |t| {
            Ok(security(sdk().security.identification_check(t, capacity(length))?, identification))
        })
    }
}
