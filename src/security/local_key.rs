//! The key of the login-identity file: random, made once per user account, kept where other
//! local users cannot read it — never derived from anything they can see (a MAC address).
//!
//! Where: `$CLOUDPAY_KEY_DIR`, else `$XDG_CONFIG_HOME/cloud-pay-sdk`, else
//! `~/.config/cloud-pay-sdk` (on Windows `%LOCALAPPDATA%\cloud-pay-sdk`), in
//! [`KEY_FILE_NAME`]. On Unix the folder is 0700 and the file 0600, both owned by this user,
//! and anything looser is refused. On Windows the file holds the key wrapped by DPAPI
//! (`CryptProtectData`, current user), so a copy is useless to another account or machine.

use std::path::PathBuf;

use super::store::{Key, StoreError};

/// Environment variable naming the folder of the key (tests, services with their own home).
pub const KEY_DIR_ENV: &str = "CLOUDPAY_KEY_DIR";
/// The key's file name in that folder.
pub const KEY_FILE_NAME: &str = "login-identity.key";
/// Highest generation written per state folder and merchant, beside the key: whoever can
/// only write the state folder cannot lower it, so restoring an older *pair* of files shows.
const GENERATIONS_FILE: &str = "generations";

/// The folder the key lives in.
pub fn key_dir() -> Result<PathBuf, StoreError> {
    let env = |name: &str| std::env::var_os(name).filter(|v| !v.is_empty()).map(PathBuf::from);
    if let Some(d) = env(KEY_DIR_ENV) {
        return Ok(d);
    }
    #[cfg(windows)]
    let base = env("LOCALAPPDATA");
    #[cfg(not(windows))]
    let base = env("XDG_CONFIG_HOME").or_else(|| env("HOME").map(|h| h.join(".config")));
    base.map(|b| b.join("cloud-pay-sdk"))
        .ok_or_else(|| StoreError(format!("no folder for the login key: set {KEY_DIR_ENV}")))
}

/// The login-identity key, created on first use.
pub fn login_key() -> Result<Key, StoreError> {
    let dir = key_dir()?;
    let err = |what: &str, e: std::io::Error| StoreError(format!("login key {}: {what}: {e}", dir.display()));
    make_private_dir(&dir).map_err(|e| err("folder", e))?;
    let path = dir.join(KEY_FILE_NAME);
    match read_key(&path) {
        Ok(k) => return Ok(k),
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => return Err(err(KEY_FILE_NAME, e)),
        Err(_) => {}
    }
    let mut raw = [0u8; 16];
    getrandom::getrandom(&mut raw).map_err(|e| StoreError(format!("OS random source: {e}")))?;
    let mut stored = protect(&raw).map_err(|e| err("protect", e))?;
    // Exclusive creation: of two processes creating the key at once, one wins and the other
    // reads the winner's key, so both seal with the same one.
    let created = create_exclusive(&path, &stored);
    crate::secret::zeroize(&mut stored);
    match created {
        Ok(()) => Ok(Key::new(raw)),
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => read_key(&path).map_err(|e| err(KEY_FILE_NAME, e)),
        Err(e) => Err(err(KEY_FILE_NAME, e)),
    }
    .inspect(|_| crate::secret::zeroize(&mut raw))
}

/// One line per state folder and merchant: a digest of both, then the generation.
fn generation_slot(state_dir: &std::path::Path, out_sub_mch_id: &str) -> String {
    use sha2::{Digest, Sha256};
    let dir = std::fs::canonicalize(state_dir).unwrap_or_else(|_| state_dir.to_path_buf());
    let d = Sha256::new()
        .chain_update(dir.to_string_lossy().as_bytes())
        .chain_update([0])
        .chain_update(out_sub_mch_id.as_bytes())
        .finalize();
    d[..16].iter().map(|b| format!("{b:02x}")).collect()
}

fn read_generations(path: &std::path::Path) -> Vec<(String, u64)> {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    text.lines()
        .filter_map(|l| l.split_once(' ').and_then(|(k, n)| Some((k.to_owned(), n.trim().parse().ok()?))))
        .collect()
}

/// The highest generation written for this state folder and merchant (0: none recorded).
pub fn high_water(state_dir: &std::path::Path, out_sub_mch_id: &str) -> Result<u64, StoreError> {
    let slot = generation_slot(state_dir, out_sub_mch_id);
    Ok(read_generations(&key_dir()?.join(GENERATIONS_FILE)).into_iter().find(|(k, _)| *k == slot).map_or(0, |(_, n)| n))
}

/// Records `generation` as the highest written for this state folder and merchant.
pub fn set_high_water(state_dir: &std::path::Path, out_sub_mch_id: &str, generation: u64) -> Result<(), StoreError> {
    let dir = key_dir()?;
    make_private_dir(&dir).map_err(|e| StoreError(format!("login key {}: folder: {e}", dir.display())))?;
    let path = dir.join(GENERATIONS_FILE);
    let slot = generation_slot(state_dir, out_sub_mch_id);
    let mut all = read_generations(&path);
    all.retain(|(k, _)| *k != slot);
    all.push((slot, generation));
    let text: String = all.iter().map(|(k, n)| format!("{k} {n}\n")).collect();
    crate::files::write_atomic(&path, text.as_bytes()).map_err(|e| StoreError(format!("{}: {e}", path.display())))
}

fn read_key(path: &std::path::Path) -> std::io::Result<Key> {
    let mut opts = std::fs::OpenOptions::new();
    opts.read(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::custom_flags(&mut opts, libc::O_NOFOLLOW);
    let mut f = opts.open(path)?;
    #[cfg(unix)]
    check_private(&f.metadata()?, 0o600)?;
    let mut bytes = Vec::new();
    std::io::Read::read_to_end(&mut f, &mut bytes)?;
    let plain = unprotect(&bytes);
    crate::secret::zeroize(&mut bytes);
    let mut plain = plain?;
    let key =
        <[u8; 16]>::try_from(plain.as_slice()).map(Key::new).map_err(|_| std::io::Error::other("not a 16-byte key"));
    crate::secret::zeroize(&mut plain);
    key
}

fn create_exclusive(path: &std::path::Path, bytes: &[u8]) -> std::io::Result<()> {
    use std::io::Write;
    let mut opts = std::fs::OpenOptions::new();
    opts.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        opts.mode(0o600).custom_flags(libc::O_NOFOLLOW);
    }
    let mut f = opts.open(path)?;
    f.write_all(bytes)?;
    f.sync_all()
}

fn make_private_dir(dir: &std::path::Path) -> std::io::Result<()> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::DirBuilderExt;
        match std::fs::DirBuilder::new().recursive(true).mode(0o700).create(dir) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {}
            Err(e) => return Err(e),
        }
        // symlink_metadata: a link planted in place of the folder is refused, not followed.
        check_private(&std::fs::symlink_metadata(dir)?, 0o700)
    }
    #[cfg(not(unix))]
    std::fs::create_dir_all(dir)
}

/// Owned by this user, not a symlink, and no access for group or others.
#[cfg(unix)]
fn check_private(meta: &std::fs::Metadata, expected: u32) -> std::io::Result<()> {
    use std::os::unix::fs::MetadataExt;
    // SAFETY: geteuid has no preconditions.
    let me = unsafe { libc::geteuid() };
    if meta.file_type().is_symlink() || meta.uid() != me {
        return Err(std::io::Error::other("not owned by this user (or a symlink): refused"));
    }
    if meta.mode() & 0o077 != 0 {
        return Err(std::io::Error::other(format!(
            "mode {:o} lets other users in: must be {expected:o}",
            meta.mode() & 0o777
        )));
    }
    Ok(())
}

#[cfg(not(windows))]
fn protect(raw: &[u8; 16]) -> std::io::Result<Vec<u8>> {
    Ok(raw.to_vec())
}

#[cfg(not(windows))]
fn unprotect(stored: &[u8]) -> std::io::Result<Vec<u8>> {
    Ok(stored.to_vec())
}

#[cfg(windows)]
fn protect(raw: &[u8; 16]) -> std::io::Result<Vec<u8>> {
    dpapi(raw, true)
}

#[cfg(windows)]
fn unprotect(stored: &[u8]) -> std::io::Result<Vec<u8>> {
    dpapi(stored, false)
}

/// DPAPI for the current user: wraps (`protect`) or unwraps the key.
#[cfg(windows)]
fn dpapi(input: &[u8], protect: bool) -> std::io::Result<Vec<u8>> {
    use windows_sys::Win32::Foundation::LocalFree;
    use windows_sys::Win32::Security::Cryptography::{
        CRYPT_INTEGER_BLOB, CRYPTPROTECT_UI_FORBIDDEN, CryptProtectData, CryptUnprotectData,
    };
    let len = u32::try_from(input.len()).map_err(|_| std::io::Error::other("key file too large"))?;
    let blob_in = CRYPT_INTEGER_BLOB { cbData: len, pbData: input.as_ptr() as *mut u8 };
    let mut out = CRYPT_INTEGER_BLOB { cbData: 0, pbData: std::ptr::null_mut() };
    // SAFETY: valid input blob for the call; DPAPI allocates `out` with LocalAlloc.
    let ok = unsafe {
        if protect {
            CryptProtectData(
                &blob_in,
                std::ptr::null(),
                std::ptr::null(),
                std::ptr::null(),
                std::ptr::null(),
                CRYPTPROTECT_UI_FORBIDDEN,
                &mut out,
            )
        } else {
            CryptUnprotectData(
                &blob_in,
                std::ptr::null_mut(),
                std::ptr::null(),
                std::ptr::null(),
                std::ptr::null(),
                CRYPTPROTECT_UI_FORBIDDEN,
                &mut out,
            )
        }
    };
    if ok == 0 {
        return Err(std::io::Error::last_os_error());
    }
    // SAFETY: DPAPI returned `cbData` bytes at `pbData`; wiped and freed exactly once here.
    unsafe {
        let bytes = std::slice::from_raw_parts_mut(out.pbData, out.cbData as usize);
        let v = bytes.to_vec();
        crate::secret::zeroize(bytes);
        LocalFree(out.pbData as _);
        Ok(v)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_created_key_reads_back_and_a_symlink_is_not_followed() {
        let dir = std::env::temp_dir().join(format!("cps-localkey-{}", std::process::id()));
        make_private_dir(&dir).unwrap();
        let path = dir.join(KEY_FILE_NAME);
        let mut stored = protect(&[9; 16]).unwrap();
        create_exclusive(&path, &stored).unwrap();
        crate::secret::zeroize(&mut stored);
        assert!(create_exclusive(&path, b"again").is_err(), "exclusive creation");
        assert!(read_key(&path).is_ok());
        #[cfg(unix)]
        {
            let link = dir.join("link");
            std::os::unix::fs::symlink(&path, &link).unwrap();
            assert!(read_key(&link).is_err(), "O_NOFOLLOW");
        }
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[cfg(windows)]
    #[test]
    fn dpapi_round_trip_and_the_blob_is_not_the_key() {
        let blob = protect(&[7; 16]).unwrap();
        assert!(!blob.windows(16).any(|w| w == [7; 16]));
        assert_eq!(unprotect(&blob).unwrap(), vec![7; 16]);
    }
}
