//! Windows targets only: compiles windows/version.rc (VERSIONINFO, version from Cargo.toml)
//! with mingw's windres and links it into the DLL. Other targets build nothing here.
use std::{env, fs, path::PathBuf, process::Command};

fn main() {
    println!("cargo:rerun-if-changed=../windows/version.rc");
    println!("cargo:rerun-if-env-changed=WINDRES");
    if env::var("CARGO_CFG_TARGET_OS").as_deref() != Ok("windows") {
        return;
    }
    let windres = env::var("WINDRES").unwrap_or_else(|_| match env::var("CARGO_CFG_TARGET_ARCH").as_deref() {
        Ok("x86") => "i686-w64-mingw32-windres".into(),
        _ => "x86_64-w64-mingw32-windres".into(),
    });
    let version = env::var("CARGO_PKG_VERSION").unwrap_or_default();
    let mut parts = version.split(['.', '-']).map(|p| p.parse::<u16>().unwrap_or(0));
    let (major, minor, patch) = (parts.next().unwrap_or(0), parts.next().unwrap_or(0), parts.next().unwrap_or(0));
    let out = PathBuf::from(env::var("OUT_DIR").expect("cargo sets OUT_DIR"));
    let header = format!(
        "#define VER_MAJOR {major}\n#define VER_MINOR {minor}\n#define VER_PATCH {patch}\n#define VER_STR \"{version}\"\n"
    );
    fs::write(out.join("version.h"), header).expect("write version.h");
    let obj = out.join("version.o");
    let status = Command::new(&windres)
        .args(["-O", "coff", "-i", "../windows/version.rc", "-o"])
        .arg(&obj)
        .arg("-I")
        .arg(&out)
        .status();
    match status {
        // A DLL without VERSIONINFO still works; the leg checks the shipped ones have it.
        Ok(s) if s.success() => println!("cargo:rustc-link-arg-cdylib={}", obj.display()),
        _ => println!("cargo:warning={windres} failed or is missing: the DLL has no VERSIONINFO"),
    }
}
