//! The committed C header is exactly what cbindgen generates from the exports, and it
//! compiles as strict C99 and C++17. `UPDATE_HEADER=1 cargo test --test header` rewrites it.

use std::path::{Path, PathBuf};
use std::process::Command;

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn generate() -> String {
    let cfg = cbindgen::Config::from_file(root().join("cbindgen.toml")).expect("cbindgen.toml");
    let mut out = Vec::new();
    cbindgen::Builder::new()
        .with_crate(root())
        .with_config(cfg)
        .generate()
        .expect("cbindgen generation")
        .write(&mut out);
    parenthesise_negative_constants(&String::from_utf8(out).unwrap())
}

/// `#define X -1` becomes `#define X (-1)`: unparenthesised, `a-X` reads as `a--1` and fails to
/// compile, and `y X` would subtract. cbindgen has no switch for it, so the header is its
/// output plus this one rule.
fn parenthesise_negative_constants(header: &str) -> String {
    let mut out = String::with_capacity(header.len() + 64);
    for line in header.split_inclusive('\n') {
        let body = line.trim_end_matches('\n');
        let mut words = body.split(' ');
        if let (Some("#define"), Some(name), Some(value), None) =
            (words.next(), words.next(), words.next(), words.next())
            && value.starts_with('-')
            && value.parse::<i64>().is_ok()
        {
            out.push_str(&format!("#define {name} ({value})"));
            out.push_str(&line[body.len()..]);
        } else {
            out.push_str(line);
        }
    }
    out
}

#[test]
fn committed_header_is_up_to_date() {
    let path = root().join("include/cloud_pay.h");
    let fresh = generate();
    if std::env::var_os("UPDATE_HEADER").is_some() {
        std::fs::write(&path, &fresh).unwrap();
    }
    let committed = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(committed == fresh, "include/cloud_pay.h is out of date: run `UPDATE_HEADER=1 cargo test --test header`");
}

#[test]
fn header_declares_every_export_with_the_vendor_macro() {
    let h = std::fs::read_to_string(root().join("include/cloud_pay.h")).unwrap();
    for f in [
        "int cloud_pay_init(const char *conf);",
        "int cloud_pay_fini(void);",
        "const char *cloud_pay_get_errmsg(void);",
        "int cloud_pay_micro_pay(const char *req, char *resp, int length);",
        "int cloud_pay_query_order(const char *req, char *order, int length);",
        "int cloud_pay_cancel_order(const char *req);",
        "int cloud_pay_scan_code_pay(const char *req);",
        "int cloud_pay_refund(const char *req);",
        "int cloud_pay_query_refund(const char *req, char *refund_order, int length);",
        "int cloud_pay_query_shop_info(const char *req, char *shop_info, int length);",
        "int cloud_pay_set_shop_info(const char *req, char *shop_info, int length);",
        "int cloud_pay_order_detail(const char *req, char *order_details, int length);",
        "int CLOUD_PAY_STDCALL cloud_pay_order_stat(const char *req, char *order_stat, int length);",
        "int cloud_pay_security_author_code_prefix(char *resp, int length);",
        "int cloud_pay_security_login(const char *req, char *resp, int length);",
        "int cloud_pay_security_login_check(const char *req_json, char *resp, int length);",
        "int cloud_pay_security_init(const char *conf_json_c);",
        "int cloud_pay_security_identification(const char *req_json, char *resp, int length);",
        "int cloud_pay_security_identification_check(const char *req_json, char *resp, int length);",
    ] {
        assert!(h.contains(&format!("CLOUDPAYAPI_SDK_CPP_API {f}")), "missing: {f}");
    }
    assert!(h.contains("#define CLOUD_PAY_ORDER_REENTRY (-6)"));
    assert_eq!(
        h.lines().filter(|l| l.starts_with("CLOUDPAYAPI_SDK_CPP_API ")).count(),
        19,
        "exactly the vendor's 19 exports"
    );
    // Every macro the header defines is the SDK's own: nothing internal leaks under a generic name.
    for line in h.lines().map(str::trim_start).filter(|l| l.starts_with('#') && l.contains("define ")) {
        let name = line.split_whitespace().skip_while(|w| !w.ends_with("define")).nth(1).unwrap_or("");
        assert!(
            name.starts_with("CLOUD_PAY_") || name == "CLOUDPAYAPI_SDK_CPP_API",
            "unexpected macro in the header: {line}"
        );
    }
    assert!(h.contains("#  define CLOUD_PAY_STDCALL __stdcall"), "order_stat is __stdcall on 32-bit Windows");
    // Every negative constant is parenthesised, so it can stand anywhere in an expression.
    for line in h.lines().filter(|l| l.starts_with("#define CLOUD_PAY_")) {
        let value = line.split(' ').nth(2).unwrap_or("");
        assert!(!value.starts_with('-'), "unparenthesised negative constant: {line}");
    }
    assert!(h.lines().filter(|l| l.starts_with("#define CLOUD_PAY_") && l.ends_with(')')).count() >= 10);
    let guard_end = h.rfind("#endif  /* CLOUD_PAY_H */").expect("include guard");
    assert!(h.find("cloud_pay_order_stat(").unwrap() < guard_end, "every prototype is inside the include guard");
    assert!(h.trim_end().ends_with("#endif  /* CLOUD_PAY_H */"));
}

/// The hand-written order_stat prototype must match the Rust export's arguments.
#[test]
fn hand_written_order_stat_prototype_matches_the_rust_signature() {
    let src = std::fs::read_to_string(root().join("src/ffi/merchant.rs")).unwrap();
    // On one line whatever the formatting: the signature as tokens, without a trailing comma.
    let flat = src.split_whitespace().collect::<Vec<_>>().join(" ").replace("( ", "(").replace(", )", ")");
    assert!(flat.contains(r#"pub unsafe extern "system" fn cloud_pay_order_stat(req: *const c_char, order_stat: *mut c_char, length: c_int) -> c_int"#));
    // And the export has the C type the header says (a compile-time check).
    let _f: unsafe extern "system" fn(
        *const std::ffi::c_char,
        *mut std::ffi::c_char,
        std::ffi::c_int,
    ) -> std::ffi::c_int = cloud_pay_sdk::cloud_pay_order_stat;
}

fn compiles(compiler: &str, args: &[&str], src: &Path) {
    let Ok(out) =
        Command::new(compiler).args(args).arg("-I").arg(root().join("include")).arg("-fsyntax-only").arg(src).output()
    else {
        eprintln!("{compiler} not found: skipping");
        return;
    };
    assert!(out.status.success(), "{compiler} {args:?}:\n{}", String::from_utf8_lossy(&out.stderr));
}

#[test]
fn header_compiles_as_strict_c99_and_cpp17() {
    let dir = std::env::temp_dir().join(format!("cloud-pay-header-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let c = dir.join("t.c");
    std::fs::write(&c, "#include \"cloud_pay.h\"\n#include \"cloud_pay.h\"\nint main(void) { char b[8]; (void)cloud_pay_order_stat(\"{}\", b, 8); return cloud_pay_fini() == CLOUD_PAY_OK ? 0 : 1; }\n").unwrap();
    let cpp = dir.join("t.cpp");
    std::fs::write(&cpp, "#include \"cloud_pay.h\"\nint main() { return cloud_pay_fini() == CLOUD_PAY_OK ? 0 : 1; }\n")
        .unwrap();
    compiles("cc", &["-std=c99", "-Wall", "-Wextra", "-pedantic", "-Werror"], &c);
    compiles("c++", &["-std=c++17", "-Wall", "-Wextra", "-pedantic", "-Werror"], &cpp);
    let _ = std::fs::remove_dir_all(&dir);
}
