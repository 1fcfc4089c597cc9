//! Test-only exports, compiled in only with `--features testing`: the foreign-language test
//! legs call them to prove what a panic inside an export looks like from their side. The
//! shipped library never has them (scripts/legs/c.sh checks its export table).

use std::ffi::c_int;

use super::boundary;
use super::codes::CLOUD_PAY_INTERNAL;

/// Panics inside the same panic boundary every real export runs its body in, so the caller
/// sees what a bug in the SDK would give it: `CLOUD_PAY_INTERNAL` (-3) and an errmsg starting
/// `internal error: `. The message carries a long digit run, as a payment code in a panic
/// message would, so a caller can also check that errmsg redacts it.
///
/// cbindgen:ignore
#[unsafe(no_mangle)]
pub extern "C" fn cloud_pay_testing_panic() -> c_int {
    boundary("cloud_pay_testing_panic", CLOUD_PAY_INTERNAL, "", || {
        panic!("testing panic with payment code 134567890123456789")
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::ffi::CStr;

    #[test]
    fn the_testing_export_panics_into_the_internal_code_with_a_redacted_errmsg() {
        assert_eq!(cloud_pay_testing_panic(), CLOUD_PAY_INTERNAL);
        // SAFETY: errmsg_ptr returns this thread's NUL-terminated text, valid until the next call.
        let msg = unsafe { CStr::from_ptr(super::super::errmsg_ptr()) }.to_string_lossy().into_owned();
        assert!(msg.starts_with("internal error: testing panic"), "{msg}");
        assert!(!msg.contains("134567890123456789"), "{msg}");
    }
}
