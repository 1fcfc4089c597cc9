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

/// Where the SDK keeps its files when `common_conf.state_dir` is not given.
///
/// Elsewhere the working directory, as before. On Windows the working directory moves (file
/// dialogs, shortcuts), so: the DLL's own folder when it is writable and not under Program
/// Files (whose writes UAC silently redirects to a per-user VirtualStore for 32-bit programs),
/// else `%LOCALAPPDATA%\CloudPaySDK`, else the working directory.
pub fn default_state_dir() -> Result<std::path::PathBuf, String> {
    #[cfg(windows)]
    if let Some(dir) = windows_state_dir() {
        return Ok(dir);
    }
    std::env::current_dir().map_err(|e| format!("current directory: {e}"))
}

#[cfg(windows)]
fn windows_state_dir() -> Option<std::path::PathBuf> {
    if let Some(dir) = module_dir().filter(|d| !under_program_files(d) && writable(d)) {
        return Some(dir);
    }
    let dir = std::path::PathBuf::from(std::env::var_os("LOCALAPPDATA")?).join("CloudPaySDK");
    std::fs::create_dir_all(&dir).ok()?;
    Some(dir)
}

/// The folder this DLL was loaded from.
#[cfg(windows)]
fn module_dir() -> Option<std::path::PathBuf> {
    use std::os::windows::ffi::OsStringExt;
    use windows_sys::Win32::System::LibraryLoader::{
        GET_MODULE_HANDLE_EX_FLAG_FROM_ADDRESS, GET_MODULE_HANDLE_EX_FLAG_UNCHANGED_REFCOUNT, GetModuleFileNameW,
        GetModuleHandleExW,
    };
    let mut module = 0;
    // SAFETY: as in pin_module; UNCHANGED_REFCOUNT takes no reference that would need freeing.
    let ok = unsafe {
        GetModuleHandleExW(
            GET_MODULE_HANDLE_EX_FLAG_FROM_ADDRESS | GET_MODULE_HANDLE_EX_FLAG_UNCHANGED_REFCOUNT,
            module_dir as *const () as *const u16,
            &mut module,
        )
    };
    if ok == 0 {
        return None;
    }
    let mut buf = vec![0u16; 32_768]; // the longest path Windows has
    // SAFETY: `buf` has `buf.len()` writable u16s; the return value is how many were written.
    let n = unsafe { GetModuleFileNameW(module, buf.as_mut_ptr(), buf.len() as u32) } as usize;
    if n == 0 || n >= buf.len() {
        return None;
    }
    std::path::PathBuf::from(std::ffi::OsString::from_wide(&buf[..n])).parent().map(|p| p.to_path_buf())
}

#[cfg(windows)]
fn under_program_files(dir: &std::path::Path) -> bool {
    let dir = dir.to_string_lossy().to_lowercase();
    ["ProgramFiles", "ProgramFiles(x86)", "ProgramW6432"].iter().filter_map(std::env::var_os).any(|pf| {
        let pf = pf.to_string_lossy().to_lowercase();
        !pf.is_empty() && dir.starts_with(pf.trim_end_matches('\\'))
    })
}

#[cfg(windows)]
fn writable(dir: &std::path::Path) -> bool {
    let probe = dir.join(format!(".cloudpay-write-test-{}", std::process::id()));
    let ok = std::fs::OpenOptions::new().write(true).create_new(true).open(&probe).is_ok();
    let _ = std::fs::remove_file(&probe);
    ok
}
