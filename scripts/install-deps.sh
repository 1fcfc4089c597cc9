#!/usr/bin/env bash
# Installs what the test legs need, and only what is missing, so a second run is quick:
#   bash scripts/install-deps.sh                 # everything scripts/test-all.sh runs
#   bash scripts/install-deps.sh python windows  # only what these legs need
#   bash scripts/install-deps.sh lint            # clippy, rustfmt and cargo-deny (.ci/run's checks)
# Debian packages come from apt-get when this runs as root or sudo works without a password;
# otherwise the missing ones are listed and the legs that need them print SKIPPED. Python
# packages come from pip, cargo tools from crates.io, toolchains and components from rustup.
# Every install is announced on a line starting "install-deps:"; a failed install is reported
# and does not stop the others (the leg that needs it then skips, which CI treats as a failure).
# CLOUDPAY_NO_INSTALL=1 installs nothing (a developer who manages the machine by hand).
set -uo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
cd "$ROOT" || exit 1

say() { echo "install-deps: $*"; }
if [[ "${CLOUDPAY_NO_INSTALL:-0}" == 1 ]]; then
    say "CLOUDPAY_NO_INSTALL=1: nothing installed"
    exit 0
fi

# The pinned nightly: it builds every shipped library (scripts/build-shipped.sh and the Windows
# leg, std from source), and the fuzz leg runs ASan with it.
NIGHTLY="$(tr -d '[:space:]' <"$ROOT/windows/nightly-toolchain")"
# cargo-fuzz is pinned: a new release of it must not change what CI runs unannounced.
CARGO_FUZZ_VERSION=0.13.2
CARGO_DENY_VERSION=0.20.2

groups=("$@")
[[ ${#groups[@]} == 0 ]] && groups=(c csharp java python windows packages console fuzz)
want() { local g; for g in "${groups[@]}"; do [[ "$g" == "$1" ]] && return 0; done; return 1; }
# The packages leg repacks what the windows, java, csharp and python legs build and run.
want packages && groups+=(windows java csharp python)

debs=()      # Debian packages still to install
pips=()      # PyPI packages still to install
need_deb() { # package check-command...: queues the package when the check fails
    local pkg="$1"; shift
    "$@" >/dev/null 2>&1 || debs+=("$pkg")
}
has() { command -v "$1"; }
exists() { [[ -e "$1" ]]; }
need_pip() { # module package
    python3 -c "import $1" >/dev/null 2>&1 || pips+=("$2")
}

# Every leg compiles or links C, and the C and Windows legs read export tables with binutils.
need_deb gcc has cc
need_deb g++ has c++
need_deb binutils has nm
if want c; then
    need_deb zbar-tools has zbarimg
fi
if want csharp; then
    need_deb mono-mcs has mcs
    need_deb libmono-system-runtime-serialization4.0-cil exists /usr/lib/mono/4.5/System.Runtime.Serialization.dll
fi
if want java; then
    need_deb openjdk-17-jdk-headless has javac
    need_deb libgoogle-gson-java exists /usr/share/java/gson.jar
fi
if want python; then
    need_pip pytest pytest
fi
if want windows; then
    need_deb gcc-mingw-w64-x86-64 has x86_64-w64-mingw32-gcc
    need_deb gcc-mingw-w64-i686 has i686-w64-mingw32-gcc
    need_deb wine64 exists /usr/lib/wine/wine64
    need_deb wine has wine
    need_deb osslsigncode has osslsigncode
    need_deb zip has zip
    need_deb unzip has unzip
    need_deb llvm has llvm-dlltool
    need_deb clang has clang
    need_deb lld has lld-link
fi
if want console; then
    need_deb chromium exists /usr/bin/chromium
    need_deb chromium-driver exists /usr/bin/chromedriver
    need_pip pytest pytest
    need_pip selenium selenium
fi

# Debian packages: as root, or through sudo when it asks no password.
APT=()
if [[ "$(id -u)" == 0 ]]; then
    APT=(env DEBIAN_FRONTEND=noninteractive apt-get)
elif command -v sudo >/dev/null && sudo -n true 2>/dev/null; then
    APT=(sudo env DEBIAN_FRONTEND=noninteractive apt-get)
fi
apt_updated=0
apt_update() {
    [[ $apt_updated == 1 ]] && return 0
    apt_updated=1
    "${APT[@]}" update -qq || say "apt-get update failed"
}
if [[ ${#debs[@]} -gt 0 ]]; then
    mapfile -t debs < <(printf '%s\n' "${debs[@]}" | awk '!seen[$0]++')
    if ! command -v apt-get >/dev/null; then
        say "no apt-get: install these by hand: ${debs[*]}"
    elif [[ ${#APT[@]} == 0 ]]; then
        say "not root and no password-less sudo: install these by hand: ${debs[*]}"
    else
        say "apt-get install ${debs[*]}"
        apt_update
        # One at a time after a failed batch: one missing package must not cost the others.
        if ! "${APT[@]}" install -y -qq --no-install-recommends "${debs[@]}" >/dev/null; then
            for d in "${debs[@]}"; do
                "${APT[@]}" install -y -qq --no-install-recommends "$d" >/dev/null || say "FAILED: apt-get install $d"
            done
        fi
    fi
fi

# 32-bit wine runs the x86 Windows programs. Last, apart: a second architecture must not disturb
# the installs above, and on some mirrors the i386 index is out of step with amd64 (a size
# mismatch), so this fails; then i386 is dropped again and the x86 runs are skipped (a named
# skip, "wine32", which CI allows only explicitly: see .ci/run).
if want windows && [[ ! -x /usr/lib/wine/wine ]] && [[ ${#APT[@]} -gt 0 ]] && command -v dpkg >/dev/null; then
    say "apt-get install wine32:i386 (adds the i386 architecture)"
    if ! { "${APT[@]/apt-get/dpkg}" --add-architecture i386 && "${APT[@]}" update -qq &&
        "${APT[@]}" install -y -qq --no-install-recommends wine32:i386 >/dev/null; }; then
        say "FAILED: wine32:i386 could not be installed; the i386 architecture is removed again"
        "${APT[@]/apt-get/dpkg}" --remove-architecture i386 2>/dev/null || true
    fi
fi

if [[ ${#pips[@]} -gt 0 ]]; then
    mapfile -t pips < <(printf '%s\n' "${pips[@]}" | awk '!seen[$0]++')
    say "pip install ${pips[*]}"
    python3 -m pip install --quiet "${pips[@]}" || say "FAILED: pip install ${pips[*]}"
fi

# Every test run builds the shipped library (scripts/test-all.sh); only the lint checks do not.
if [[ "${groups[*]}" != lint ]]; then
    if ! rustup run "$NIGHTLY" rustc --version >/dev/null 2>&1; then
        say "rustup toolchain install $NIGHTLY (profile minimal)"
        rustup toolchain install "$NIGHTLY" --profile minimal || say "FAILED: rustup toolchain install $NIGHTLY"
    fi
fi
if [[ "${groups[*]}" != lint ]] && rustup run "$NIGHTLY" rustc --version >/dev/null 2>&1 &&
    [[ ! -d "$(rustup run "$NIGHTLY" rustc --print sysroot)/lib/rustlib/src/rust/library" ]]; then
    say "rustup component add rust-src --toolchain $NIGHTLY (the shipped libraries build std)"
    rustup component add rust-src --toolchain "$NIGHTLY" || say "FAILED: rust-src for $NIGHTLY"
fi
if want fuzz && [[ "$(cargo fuzz --version 2>/dev/null)" != "cargo-fuzz $CARGO_FUZZ_VERSION" ]]; then
    say "cargo install cargo-fuzz $CARGO_FUZZ_VERSION"
    cargo install cargo-fuzz --version "$CARGO_FUZZ_VERSION" --locked --quiet || say "FAILED: cargo install cargo-fuzz"
fi
if want lint; then
    for component in clippy rustfmt; do
        if ! rustup component list --installed 2>/dev/null | grep -q "^$component"; then
            say "rustup component add $component"
            rustup component add "$component" || say "FAILED: rustup component add $component"
        fi
    done
    if [[ "$(cargo deny --version 2>/dev/null)" != "cargo-deny $CARGO_DENY_VERSION" ]]; then
        say "cargo install cargo-deny $CARGO_DENY_VERSION"
        cargo install cargo-deny --version "$CARGO_DENY_VERSION" --locked --quiet || say "FAILED: cargo install cargo-deny"
    fi
fi
say "done"
