//! Process-level measures a Windows host cannot take for the SDK.

/// Called by `cloud_pay_init` and `cloud_pay_security_init`, never from `DllMain`.
///
/// On Windows it pins this DLL for the life of the process: a host may `FreeLibrary` right
/// after `cloud_pay_fini` while an SDK thread is still inside a network call (fini does not
/// wait for it), and unmapping the code under that thread crashes the host. Pinned, the
/// `FreeLibrary` only drops the host's reference and a later `LoadLibrary` gets the same,
/// still initialised module. A no-op elsewhere: `dlclose` of a Rust cdylib with thread-locals
/// is already a no-op on glibc.
pub fn install() {
    #[cfg(windows)]
    pin_module();
}

#[cfg(windows)]
fn pin_module() {
    use std::sync::Once;
    use windows_sys::Win32::System::LibraryLoader::{
        GET_MODULE_HANDLE_EX_FLAG_FROM_ADDRESS, GET_MODULE_HANDLE_EX_FLAG_PIN, GetModuleHandleExW,
    };
    static PIN: Once = Once::new();
    PIN.call_once(|| {
        let mut module = 0;
        // SAFETY: FROM_ADDRESS takes any address inside the module (this function's) in place
        // of a name; `module` is a valid out pointer. Failure leaves the DLL unpinned, as before.
        unsafe {
            GetModuleHandleExW(
                GET_MODULE_HANDLE_EX_FLAG_PIN | GET_MODULE_HANDLE_EX_FLAG_FROM_ADDRESS,
                pin_module as *const () as *const u16,
                &mut module,
            )
        };
    });
}
