//! The C ABI shell: panic boundary, input reader, buffer writer, per-thread errmsg.
//! No business logic lives here: every export is one call of [`export`] over the typed core,
//! with its codes from [`codes`].

pub mod codes;
pub mod merchant;
pub mod security;
#[cfg(feature = "testing")]
pub mod testing;
pub mod trade;

use std::cell::RefCell;
use std::ffi::{CStr, CString, c_char, c_int};
use std::panic::{AssertUnwindSafe, catch_unwind};

use serde::de::DeserializeOwned;

use crate::error::SdkError;
use crate::runtime::{Runtime, Sdk};

/// The process slot: the library's one piece of process-wide state (the running runtime and
/// the security logins). Exports reach it through [`sdk`].
static SDK: std::sync::LazyLock<Sdk> = std::sync::LazyLock::new(Sdk::default);

pub(crate) fn sdk() -> &'static Sdk {
    &SDK
}

/// The running runtime (the crate's own tests and benchmarks look inside it; not C API).
#[doc(hidden)]
pub fn current() -> Result<std::sync::Arc<Runtime>, SdkError> {
    SDK.current()
}

/// Longest errmsg kept (the sibling C SDK's buffer size), cut on a UTF-8 boundary.
const ERRMSG_MAX: usize = 4096;

thread_local! {
    static ERRMSG: RefCell<CString> = RefCell::new(CString::default());
}

/// Records this thread's error text. Never panics: NUL bytes are replaced, long text is cut.
pub(crate) fn set_errmsg(msg: &str) {
    let mut end = msg.len().min(ERRMSG_MAX - 1);
    while !msg.is_char_boundary(end) {
        end -= 1;
    }
    let clean: Vec<u8> = msg.as_bytes()[..end].iter().map(|&b| if b == 0 { b' ' } else { b }).collect();
    let c = CString::new(clean).unwrap_or_default();
    let _ = ERRMSG.try_with(|e| {
        if let Ok(mut slot) = e.try_borrow_mut() {
            *slot = c;
        }
    });
}

fn clear_errmsg() {
    let _ = ERRMSG.try_with(|e| {
        if let Ok(mut slot) = e.try_borrow_mut() {
            *slot = CString::default();
        }
    });
}

/// Pointer to this thread's error text (empty when the last call succeeded).
pub(crate) fn errmsg_ptr() -> *const c_char {
    static EMPTY: &CStr = c"";
    ERRMSG.try_with(|e| e.try_borrow().map(|s| s.as_ptr()).unwrap_or(EMPTY.as_ptr())).unwrap_or(EMPTY.as_ptr())
}

thread_local! {
    /// How many exports this thread is inside (the panic hook's switch).
    static IN_EXPORT: std::cell::Cell<u32> = const { std::cell::Cell::new(0) };
}

/// A panic inside an export is reported on stderr without the digit runs of its message (a
/// payment code can be in it: the default hook prints it whole). Panics elsewhere in the
/// process go to the hook that was there before.
fn install_panic_hook() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        let previous = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            if IN_EXPORT.try_with(|n| n.get()).unwrap_or(0) == 0 {
                return previous(info);
            }
            let text = info
                .payload()
                .downcast_ref::<&str>()
                .map(|s| s.to_string())
                .or_else(|| info.payload().downcast_ref::<String>().cloned());
            // The shipped builds carry no panic locations (`-Z location-detail=none`): their line
            // is 0 and says nothing (docs/architecture.md, "The shipped library").
            let at = info
                .location()
                .filter(|l| l.line() != 0)
                .map(|l| format!(" at {}:{}", l.file(), l.line()))
                .unwrap_or_default();
            eprintln!(
                "CloudPay SDK internal error{at}: {}",
                crate::input::redact(text.as_deref().unwrap_or("unknown panic"))
            );
        }));
    });
}

/// Runs an export body: clears errmsg, catches any panic and turns it into `panic_code`, and
/// hands the call's line (export, code, errmsg, elapsed time) to the SDK log when it is on.
pub(crate) fn boundary(
    export: &'static str,
    panic_code: c_int,
    panic_note: &str,
    body: impl FnOnce() -> c_int,
) -> c_int {
    let started = std::time::Instant::now();
    clear_errmsg();
    install_panic_hook();
    crate::sdklog::begin();
    let code = guarded(panic_code, panic_note, body);
    // The log never costs a call its code: a panic while logging is swallowed.
    if !crate::sdklog::enabled() {
        return code;
    }
    let _ = catch_unwind(|| {
        let msg = ERRMSG
            .try_with(|e| e.try_borrow().map(|s| s.to_string_lossy().into_owned()).unwrap_or_default())
            .unwrap_or_default();
        crate::sdklog::end(export, started, Some(code), &msg, None);
    });
    code
}

fn guarded(panic_code: c_int, panic_note: &str, body: impl FnOnce() -> c_int) -> c_int {
    let _ = IN_EXPORT.try_with(|n| n.set(n.get() + 1));
    let result = catch_unwind(AssertUnwindSafe(body));
    let _ = IN_EXPORT.try_with(|n| n.set(n.get().saturating_sub(1)));
    match result {
        Ok(code) => code,
        Err(payload) => {
            // Formatting the payload could itself panic (a Display impl); guard it too.
            let text = catch_unwind(AssertUnwindSafe(|| {
                payload
                    .downcast_ref::<&str>()
                    .map(|s| s.to_string())
                    .or_else(|| payload.downcast_ref::<String>().cloned())
                    .unwrap_or_else(|| "unknown panic".into())
            }))
            .unwrap_or_else(|_| "unprintable panic".into());
            // Redacted like every errmsg that may quote input (a payment code).
            set_errmsg(&format!("internal error: {}{panic_note}", crate::input::redact(&text)));
            panic_code
        }
    }
}

/// Reads a NUL-terminated UTF-8 argument.
///
/// # Safety
/// `ptr` is NULL or points to a NUL-terminated string that stays valid during the call.
pub(crate) unsafe fn read_str<'a>(ptr: *const c_char, name: &str) -> Result<&'a str, SdkError> {
    if ptr.is_null() {
        return Err(SdkError::BadInput(format!("{name} is NULL")));
    }
    // SAFETY: non-NULL and NUL-terminated per the caller's contract.
    let bytes = unsafe { CStr::from_ptr(ptr) }.to_bytes();
    std::str::from_utf8(bytes).map_err(|e| {
        SdkError::BadInput(format!(
            "{name} is not valid UTF-8 (invalid byte at offset {}; GBK or another legacy code page? convert the JSON to UTF-8)",
            e.valid_up_to()
        ))
    })
}

/// An output buffer, checked before any work is done.
pub(crate) struct OutBuf {
    ptr: *mut c_char,
    len: usize,
}

impl OutBuf {
    /// Checks pointer and length: NULL or `length <= 0` is bad input.
    pub(crate) fn new(ptr: *mut c_char, length: c_int, name: &str) -> Result<OutBuf, SdkError> {
        if ptr.is_null() {
            return Err(SdkError::BadInput(format!("{name} is NULL")));
        }
        if length <= 0 {
            return Err(SdkError::BadInput(format!("length must be positive, got {length}")));
        }
        Ok(OutBuf { ptr, len: length as usize })
    }

    /// Writes `text` + NUL if it fits. Otherwise writes an empty string and returns the
    /// errmsg ("buffer too small, need N bytes", N including the NUL). Never writes more
    /// than `length` bytes and never reads the buffer.
    ///
    /// # Safety
    /// The buffer has at least `length` writable bytes.
    pub(crate) unsafe fn write(&self, text: &str) -> Result<(), String> {
        let need = text.len() + 1;
        if need > self.len {
            // SAFETY: len >= 1 was checked in new().
            unsafe { *self.ptr = 0 };
            return Err(format!("buffer too small, need {need} bytes, have {}", self.len));
        }
        // SAFETY: need <= len bytes are writable; source and destination cannot overlap
        // (the text is our own allocation).
        unsafe {
            std::ptr::copy_nonoverlapping(text.as_ptr(), self.ptr.cast::<u8>(), text.len());
            *self.ptr.add(text.len()) = 0;
        }
        Ok(())
    }
}

/// What sets one export apart at the boundary; the values live in [`codes`], one per export.
pub(crate) struct Export {
    /// The exported name (the SDK log's line).
    pub name: &'static str,
    /// The name of the input argument in errmsg ("req is NULL").
    pub input: &'static str,
    /// The code a panic becomes, and what errmsg adds to it.
    pub panic: (c_int, &'static str),
    /// What the output is, and so what a buffer too small for it means.
    pub output: Output,
    /// The code of bad input (NULL, invalid UTF-8, a bad buffer) and of an error of the core.
    pub error: fn(&SdkError) -> c_int,
}

/// What an export's output is, for the boundary's write.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum Output {
    /// Shop, listing, prefix and security outputs: a short buffer is CLOUD_PAY_INTERNAL, and the
    /// written text is wiped (it can hold a configuration).
    Plain,
    /// A money state: the code stays the real one when the output does not fit (a paid order
    /// reported as an error could be charged twice).
    Money,
    /// A payment's acceptance: as Money, and errmsg after a 0 says first that the payment was
    /// accepted, or a till that treats any errmsg as failure charges the customer again.
    Payment,
}

/// What a core call answered, as the boundary writes it.
pub(crate) struct Reply {
    /// The export's code.
    pub code: c_int,
    /// The output text, for an export with an output buffer.
    pub output: Option<String>,
    /// errmsg (after a 0 it is a notice).
    pub message: Option<String>,
}

/// The caller's output buffer: pointer, `length` and the argument's name.
pub(crate) type Buffer<'a> = (*mut c_char, c_int, &'a str);

/// The one shape of every export: the panic boundary, then the buffer check, the input text
/// (`None`: the export takes none), the core call and the write, each failure becoming the
/// export's code with a precise errmsg and an empty string in the buffer.
///
/// # Safety
/// `req` is NULL or NUL-terminated and valid during the call; `out`'s pointer has `length`
/// writable bytes.
pub(crate) unsafe fn export(
    spec: &Export,
    req: Option<*const c_char>,
    out: Option<Buffer>,
    core: impl FnOnce(&str) -> Result<Reply, SdkError>,
) -> c_int {
    boundary(spec.name, spec.panic.0, spec.panic.1, || {
        let out = match out.map(|(p, length, name)| OutBuf::new(p, length, name)).transpose() {
            Ok(o) => o,
            Err(e) => return fail((spec.error)(&e), &e),
        };
        let text = match req {
            // SAFETY: the export's caller contract covers `req`.
            Some(p) => match unsafe { read_str(p, spec.input) } {
                Ok(t) => t,
                Err(e) => return fail_out(out.as_ref(), (spec.error)(&e), &e),
            },
            None => "{}",
        };
        crate::sdklog::note_request(text);
        let reply = match core(text) {
            Ok(r) => r,
            Err(e) => return fail_out(out.as_ref(), (spec.error)(&e), &e),
        };
        let Some(out) = out else {
            if let Some(m) = reply.message {
                set_errmsg(&m);
            }
            return reply.code;
        };
        let mut body = reply.output.unwrap_or_default();
        // SAFETY: OutBuf checked the caller's pointer and length.
        let written = unsafe { out.write(&body) };
        if spec.output == Output::Plain {
            crate::secret::wipe_string(&mut body);
        }
        match (written, reply.message) {
            (Ok(()), Some(m)) => set_errmsg(&m),
            (Ok(()), None) => {}
            (Err(small), _) if spec.output == Output::Plain => {
                set_errmsg(&small);
                return codes::CLOUD_PAY_INTERNAL;
            }
            (Err(small), m) if spec.output == Output::Payment && reply.code == codes::CLOUD_PAY_OK => {
                let unknown = m.map(|m| format!(" (or outcome unknown: {m})")).unwrap_or_default();
                set_errmsg(&format!(
                    "payment accepted{unknown}; only the output did not fit: {small}; get the result with cloud_pay_query_order"
                ));
            }
            (Err(small), Some(m)) => set_errmsg(&format!("{small}; {m}")),
            (Err(small), None) => set_errmsg(&small),
        }
        reply.code
    })
}

/// Parses an export's JSON request into its typed form.
pub(crate) fn parse<T: DeserializeOwned>(text: &str) -> Result<T, SdkError> {
    crate::input::parse_json(text, "req")
}

/// Records an SdkError as errmsg and returns `code`.
pub(crate) fn fail(code: c_int, e: &SdkError) -> c_int {
    set_errmsg(&e.to_string());
    code
}

/// As [`fail`], and leaves an empty string in the output buffer (if any) so the caller never
/// reads stale or uninitialised bytes as JSON.
fn fail_out(out: Option<&OutBuf>, code: c_int, e: &SdkError) -> c_int {
    if let Some(out) = out {
        // SAFETY: OutBuf was checked against the caller's pointer and length (>= 1).
        unsafe { *out.ptr = 0 };
    }
    fail(code, e)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn written(len: c_int, text: &str) -> (Result<(), String>, Vec<u8>) {
        let mut buf = vec![0xAAu8; 16];
        let out = OutBuf::new(buf.as_mut_ptr().cast(), len, "out").unwrap();
        let r = unsafe { out.write(text) };
        (r, buf)
    }

    #[test]
    fn writer_edges() {
        let (r, b) = written(1, "");
        assert!(r.is_ok());
        assert_eq!(&b[..2], &[0, 0xAA]);
        let (r, b) = written(3, "ab");
        assert!(r.is_ok(), "exact fit");
        assert_eq!(&b[..4], b"ab\0\xAA");
        let (r, b) = written(2, "ab");
        assert_eq!(r.unwrap_err(), "buffer too small, need 3 bytes, have 2");
        assert_eq!(&b[..3], &[0, 0xAA, 0xAA], "one byte short: empty string, nothing past length");
        let (r, b) = written(3, "¥");
        assert!(r.is_ok(), "2-byte character + NUL fits in 3");
        assert_eq!(&b[..4], &[0xC2, 0xA5, 0, 0xAA]);
        let (r, _) = written(2, "¥");
        assert!(r.is_err());
        assert!(OutBuf::new(std::ptr::null_mut(), 10, "out").is_err());
        let mut one = [0u8; 1];
        assert!(OutBuf::new(one.as_mut_ptr().cast(), 0, "out").is_err());
        assert!(OutBuf::new(one.as_mut_ptr().cast(), -5, "out").is_err());
    }

    #[test]
    fn errmsg_survives_nul_and_overlong_text() {
        set_errmsg("a\0b");
        let s = unsafe { CStr::from_ptr(errmsg_ptr()) }.to_str().unwrap().to_owned();
        assert_eq!(s, "a b");
        let long = "货".repeat(3000);
        set_errmsg(&long);
        let s = unsafe { CStr::from_ptr(errmsg_ptr()) }.to_str().unwrap().to_owned();
        assert!(s.len() < ERRMSG_MAX && s.chars().all(|c| c == '货'));
    }

    #[test]
    fn reader_rejects_null_and_gbk() {
        assert!(
            matches!(unsafe { read_str(std::ptr::null(), "req") }, Err(SdkError::BadInput(m)) if m == "req is NULL")
        );
        let gbk = b"{\"body\":\"\xc9\xcc\xc6\xb7\"}\0"; // "商品" in GBK
        let e = unsafe { read_str(gbk.as_ptr().cast(), "req") }.unwrap_err();
        assert!(e.to_string().contains("not valid UTF-8") && e.to_string().contains("GBK"), "{e}");
    }

    #[test]
    fn boundary_turns_a_panic_into_the_code() {
        let code = boundary("test", -3, "", || panic!("boom"));
        assert_eq!(code, -3);
        let s = unsafe { CStr::from_ptr(errmsg_ptr()) }.to_str().unwrap().to_owned();
        assert_eq!(s, "internal error: boom");
    }
}

#[cfg(test)]
mod boundary_tests {
    use super::*;

    #[test]
    fn a_panic_in_an_export_is_a_code_and_its_errmsg_holds_no_payment_code() {
        let code = boundary("test", -3, " (report it)", || panic!("slice of 134567890123456789 out of range"));
        assert_eq!(code, -3);
        let msg = unsafe { CStr::from_ptr(errmsg_ptr()) }.to_string_lossy().into_owned();
        assert_eq!(msg, "internal error: slice of <redacted> out of range (report it)");
        // The hook's switch is back to "outside an export".
        assert_eq!(IN_EXPORT.with(|n| n.get()), 0);
    }
}
