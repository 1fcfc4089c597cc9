//! File utilities shared by the order journal and the security-login files.

use std::io::Write;
use std::path::{Path, PathBuf};

/// Writes a file atomically with owner-only permissions. The temporary file has a random
/// name and is created exclusively without following symlinks, so a file or link planted in a
/// shared folder can neither receive the bytes nor lend its permissions to the result.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let dir = path.parent().filter(|p| !p.as_os_str().is_empty()).unwrap_or(Path::new("."));
    std::fs::create_dir_all(dir)?;
    let mut rnd = [0u8; 8];
    getrandom::getrandom(&mut rnd).map_err(std::io::Error::other)?;
    let suffix: String = rnd.iter().map(|b| format!("{b:02x}")).collect();
    let tmp: PathBuf =
        dir.join(format!(".{}.tmp-{suffix}", path.file_name().and_then(|n| n.to_str()).unwrap_or("file")));
    let written = (|| {
        let mut opts = std::fs::OpenOptions::new();
        opts.write(true).create_new(true);
        #[cfg(unix)]
        {
            use std::os::unix::fs::OpenOptionsExt;
            opts.mode(0o600).custom_flags(libc::O_NOFOLLOW);
        }
        let mut f = opts.open(&tmp)?;
        #[cfg(unix)]
        {
            // The umask may have narrowed the mode, never widened it; make it exact anyway.
            use std::os::unix::fs::PermissionsExt;
            f.set_permissions(std::fs::Permissions::from_mode(0o600))?;
        }
        f.write_all(bytes)?;
        f.sync_all()
    })();
    if let Err(e) = written.and_then(|()| std::fs::rename(&tmp, path)) {
        let _ = std::fs::remove_file(&tmp);
        return Err(e);
    }
    #[cfg(unix)]
    if let Ok(d) = std::fs::File::open(dir) {
        let _ = d.sync_all();
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn atomic_write_is_owner_only() {
        let dir = std::env::temp_dir().join(format!("cps-files-{}", std::process::id()));
        let p = dir.join("state.json");
        write_atomic(&p, b"one").unwrap();
        write_atomic(&p, b"two").unwrap();
        assert_eq!(std::fs::read(&p).unwrap(), b"two");
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            assert_eq!(std::fs::metadata(&p).unwrap().permissions().mode() & 0o777, 0o600);
        }
        assert_eq!(std::fs::read_dir(&dir).unwrap().count(), 1, "no temporary file left behind");
        #[cfg(unix)]
        {
            // A world-readable file or a symlink planted in the folder changes nothing.
            use std::os::unix::fs::PermissionsExt;
            let victim = dir.join("victim");
            std::fs::write(&victim, b"victim").unwrap();
            std::os::unix::fs::symlink(&victim, dir.join(format!(".state.json.tmp-{}", std::process::id()))).unwrap();
            write_atomic(&p, b"three").unwrap();
            assert_eq!(std::fs::read(&victim).unwrap(), b"victim");
            assert_eq!(std::fs::metadata(&p).unwrap().permissions().mode() & 0o777, 0o600);
            assert!(!std::fs::symlink_metadata(&p).unwrap().file_type().is_symlink());
        }
        let _ = std::fs::remove_dir_all(&dir);
    }
}
