# Shared helpers for scripts/test-all.sh and scripts/legs/*.sh (sourced, not run).
#
# A leg script exits 0 when it passed, 1 when it failed, and 77 after printing
# "SKIPPED: <reason>" when its toolchain is absent. A part of a leg that cannot run prints
# "SKIPPED [name]: <reason>" (skip_part) and the leg goes on. scripts/test-all.sh reads those
# lines: in strict mode (CI) every skip fails the run unless its name is listed in
# CLOUDPAY_ALLOW_SKIP.

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
TARGET_DIR="${CARGO_TARGET_DIR:-$ROOT/target}"
SKIP=77

skip() {
    echo "SKIPPED: $*"
    exit "$SKIP"
}

# A part of a leg that cannot run here: named, so that CI can allow it explicitly.
skip_part() { # name reason...
    local name="$1"; shift
    echo "SKIPPED [$name]: $*"
}

# Every shipped library (the Linux .so and both Windows DLLs) is built the same way
# (docs/architecture.md, "The shipped library"): by this pinned nightly, with std built from
# source with SHIPPED_STD_FEATURES (unwinding, since every export catches panics; size-optimised
# algorithms; no `backtrace`, which only symbolises backtraces nobody prints) and without panic
# locations (SHIPPED_RUSTFLAGS: the file, line and column of every possible panic, ~100 KB).
NIGHTLY="$(tr -d '[:space:]' <"$ROOT/windows/nightly-toolchain")"
SHIPPED_STD_FEATURES=panic-unwind,optimize_for_size
SHIPPED_RUSTFLAGS="-Z location-detail=none"
# The platform cargo builds for by default: the shipped Linux library's target.
HOST_TARGET="$(rustc -vV 2>/dev/null | sed -n 's/^host: //p')"

# Why the shipped libraries cannot be built here (the pinned nightly or its rust-src is
# missing, with the command that installs it); prints nothing when they can.
shipped_toolchain_problem() {
    if ! rustup run "$NIGHTLY" rustc --version >/dev/null 2>&1; then
        echo "toolchain $NIGHTLY is not installed (rustup toolchain install $NIGHTLY --component rust-src --profile minimal)"
    elif [[ ! -d "$(rustup run "$NIGHTLY" rustc --print sysroot)/lib/rustlib/src/rust/library" ]]; then
        echo "rust-src is missing for $NIGHTLY (rustup component add rust-src --toolchain $NIGHTLY)"
    fi
}

# cargo rustc of the shipped library for target $1 into target dir $2 (its own: the nightly's
# artifacts never invalidate the stable ones); the other arguments go to cargo rustc.
shipped_rustc() { # target target-dir args...
    local t="$1" dir="$2" tv
    shift 2
    tv="${t//-/_}"
    env "CARGO_TARGET_${tv^^}_RUSTFLAGS=$SHIPPED_RUSTFLAGS" CARGO_TARGET_DIR="$dir" \
        cargo "+$NIGHTLY" rustc -Z build-std=std,panic_unwind -Z build-std-features="$SHIPPED_STD_FEATURES" \
        --target "$t" -p cloud-pay-capi --lib "$@"
}

# The library under test: the shipped Linux build (scripts/build-shipped.sh, which
# scripts/test-all.sh runs once).
sdk_lib_dir() {
    echo "$TARGET_DIR/shipped/$HOST_TARGET/release"
}

require_sdk_lib() {
    if [[ ! -f "$(sdk_lib_dir)/libCloudPayAPI_SDK_CPP.so" ]]; then
        echo "missing $(sdk_lib_dir)/libCloudPayAPI_SDK_CPP.so: run bash scripts/build-shipped.sh" >&2
        exit 1
    fi
}

# The library built with `--features testing` (scripts/test-all.sh builds it beside the release
# one): the same SDK plus test-only exports such as cloud_pay_testing_panic, for the legs'
# panic checks only. A profile of its own keeps it apart from target/release (the shipped
# library) and from target/debug (cargo test); it inherits dev, the cheapest to build, without
# debug info (nothing reads it). Panics unwind in dev as in release.
TESTING_PROFILE=cloudpay-testing
testing_lib_dir() {
    echo "$TARGET_DIR/$TESTING_PROFILE"
}
build_testing_lib() {
    cargo build -p cloud-pay-capi --lib --features testing --profile "$TESTING_PROFILE" \
        --config "profile.$TESTING_PROFILE.inherits=\"dev\"" --config "profile.$TESTING_PROFILE.debug=0"
}
require_testing_lib() {
    if [[ ! -f "$(testing_lib_dir)/libCloudPayAPI_SDK_CPP.so" ]]; then
        echo "missing $(testing_lib_dir)/libCloudPayAPI_SDK_CPP.so: scripts/test-all.sh builds it" \
            "(or: source scripts/lib.sh; build_testing_lib)" >&2
        exit 1
    fi
}

# Makes sure FILE exists, installing the Debian PACKAGE that ships it when it does not and
# this runs as root with apt-get (as CI does); returns 1 when it is still missing.
ensure_deb_file() { # file package
    [[ -e "$1" ]] && return 0
    if [[ "$(id -u)" == 0 ]] && command -v apt-get >/dev/null; then
        echo "installing $2 (for $1)"
        DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "$2" >/dev/null 2>&1 ||
            { apt-get update >/dev/null 2>&1 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "$2" >/dev/null 2>&1; }
    fi
    [[ -e "$1" ]]
}

# The typed layers' JSON libraries: Gson for Java (CLOUDPAY_GSON_JAR overrides Debian's jar),
# System.Runtime.Serialization for C# (DataContractJsonSerializer; mono ships it apart).
GSON_JAR="${CLOUDPAY_GSON_JAR:-/usr/share/java/gson.jar}"
ensure_gson() {
    ensure_deb_file "$GSON_JAR" libgoogle-gson-java
}
ensure_mono_serialization() {
    ensure_deb_file /usr/lib/mono/4.5/System.Runtime.Serialization.dll libmono-system-runtime-serialization4.0-cil
}

# Exports declared in include/cloud_pay.h, one per line, in header order.
header_exports() {
    grep -E '^CLOUDPAYAPI_SDK_CPP_API .*cloud_pay_[a-z_]+ *\(' "$ROOT/include/cloud_pay.h" |
        sed -E 's/^[^(]*[^a-z_](cloud_pay_[a-z_]+) *\(.*/\1/'
}

# Starts the sandbox binary with a fresh state dir and exports
# CLOUDPAY_SANDBOX_HTTP, CLOUDPAY_SANDBOX_HTTPS, CLOUDPAY_SANDBOX_CA and
# CLOUDPAY_STATE_DIR (an empty dir for the SDK's own files). Stops it on exit.
start_sandbox() {
    local bin=""
    for b in "$TARGET_DIR/release/cloud-pay-sandbox" "$TARGET_DIR/debug/cloud-pay-sandbox"; do
        if [[ -x "$b" ]]; then bin="$b"; break; fi
    done
    if [[ -z "$bin" ]]; then
        echo "no cloud-pay-sandbox binary: run cargo build -p cloud-pay-sandbox" >&2
        return 1
    fi
    LEG_TMP="$(mktemp -d "${TMPDIR:-/tmp}/cloudpay-leg.XXXXXX")"
    mkdir -p "$LEG_TMP/sandbox" "$LEG_TMP/sdk"
    "$bin" --state-dir "$LEG_TMP/sandbox" --quiet >"$LEG_TMP/sandbox.out" 2>"$LEG_TMP/sandbox.err" &
    SANDBOX_PID=$!
    trap stop_sandbox EXIT
    local i
    for i in $(seq 1 100); do
        if [[ "$(grep -c '^CLOUDPAY_SANDBOX_' "$LEG_TMP/sandbox.out" 2>/dev/null)" == 3 ]]; then break; fi
        if ! kill -0 "$SANDBOX_PID" 2>/dev/null; then
            echo "sandbox exited early:" >&2; cat "$LEG_TMP/sandbox.err" >&2; return 1
        fi
        sleep 0.1
    done
    CLOUDPAY_SANDBOX_HTTP="$(sed -n 's/^CLOUDPAY_SANDBOX_HTTP=//p' "$LEG_TMP/sandbox.out")"
    CLOUDPAY_SANDBOX_HTTPS="$(sed -n 's/^CLOUDPAY_SANDBOX_HTTPS=//p' "$LEG_TMP/sandbox.out")"
    CLOUDPAY_SANDBOX_CA="$(sed -n 's/^CLOUDPAY_SANDBOX_CA=//p' "$LEG_TMP/sandbox.out")"
    if [[ -z "$CLOUDPAY_SANDBOX_HTTPS" || -z "$CLOUDPAY_SANDBOX_CA" ]]; then
        echo "sandbox did not print its URLs" >&2; return 1
    fi
    CLOUDPAY_STATE_DIR="$LEG_TMP/sdk"
    export CLOUDPAY_SANDBOX_HTTP CLOUDPAY_SANDBOX_HTTPS CLOUDPAY_SANDBOX_CA CLOUDPAY_STATE_DIR
    echo "sandbox (pid $SANDBOX_PID, $(basename "$(dirname "$bin")")): $CLOUDPAY_SANDBOX_HTTPS"
}

stop_sandbox() {
    if [[ -n "${SANDBOX_PID:-}" ]]; then
        kill "$SANDBOX_PID" 2>/dev/null
        wait "$SANDBOX_PID" 2>/dev/null
        SANDBOX_PID=""
    fi
    if [[ -n "${LEG_TMP:-}" && -d "$LEG_TMP" ]]; then rm -rf "$LEG_TMP"; fi
}

# The SDK's version (Cargo.toml's workspace version), for package names.
sdk_version() {
    sed -n '/^\[workspace.package\]/,/^\[/s/^version *= *"\([^"]*\)".*/\1/p' "$ROOT/Cargo.toml"
}
