#!/usr/bin/env bash
# Windows leg: the shipped DLLs, CloudPayAPI_SDK_CPP.dll for x86_64-win7-windows-gnu and
# i686-win7-windows-gnu (Windows 7 SP1 floor; tier-3 targets, so a pinned nightly with
# rust-src and -Z build-std, see windows/nightly-toolchain), linked with windows/*.def, import
# libraries made from the same .def (GNU .dll.a by dlltool, MSVC .lib by llvm-dlltool, link-
# tested with clang + lld-link /SAFESEH); checks that the .def files list exactly the
# header's exports, that each DLL exports exactly the .def's names (undecorated, plus the
# stdcall aliases of cloud_pay_order_stat on x86), imports no libgcc / winpthread DLL and no
# function missing from windows/win7-imports.txt; builds the C cashier and ABI checks with
# mingw for both, plus win_dll_checks (LoadLibrary/GetProcAddress, an ESP check around the
# x86 __stdcall export) and win_unload (FreeLibrary after fini, then reload), and runs them under wine64 (x64) and 32-bit wine (x86) against the
# sandbox; panic_check.exe against a --features testing DLL proves a panic comes back as -3. Where 32-bit wine cannot be installed, the x86 runs print "SKIPPED [wine32]: ..." (the
# x86 DLL is still built and checked); CI allows that one skip by name (.ci/run).
# Output: target/windows/<target>/ (DLL, unstripped DLL, .def, import libraries, test programs).
set -uo pipefail
source "$(dirname "$0")/../lib.sh"

TARGETS=(x86_64-win7-windows-gnu i686-win7-windows-gnu)
problem="$(shipped_toolchain_problem)"
[[ -z "$problem" ]] || skip "$problem"
for tool in x86_64-w64-mingw32-gcc i686-w64-mingw32-gcc x86_64-w64-mingw32-dlltool i686-w64-mingw32-dlltool \
    x86_64-w64-mingw32-objdump x86_64-w64-mingw32-strip i686-w64-mingw32-strip; do
    command -v "$tool" >/dev/null || skip "$tool is missing (apt-get install gcc-mingw-w64-x86-64 gcc-mingw-w64-i686)"
done

failed=0
fail() { echo "FAILED: $*"; failed=1; }

# Names a .def exports: the left side of each line after EXPORTS.
def_names() { sed -n '/^EXPORTS/,$p' "$1" | grep -vE '^EXPORTS|^\s*;|^\s*$' | awk '{print $1}'; }

echo "-- .def files = header exports"
want="$(header_exports | sort)"
for def in "$ROOT/windows/CloudPayAPI_SDK_CPP.def" "$ROOT/windows/CloudPayAPI_SDK_CPP-x86.def"; do
    plain="$(def_names "$def" | grep -v '@' | sort)"
    if [[ "$plain" != "$want" ]]; then
        fail "$(basename "$def") does not list exactly the exports of include/cloud_pay.h:"
        diff <(echo "$want") <(echo "$plain") | sed 's/^/    /'
    fi
done
x86_aliases="$(def_names "$ROOT/windows/CloudPayAPI_SDK_CPP-x86.def" | grep '@' | sort | tr '\n' ' ')"
if grep -qx cloud_pay_order_stat <<<"$want"; then
    [[ "$x86_aliases" == "_cloud_pay_order_stat@12 cloud_pay_order_stat@12 " ]] ||
        fail "x86 .def must alias cloud_pay_order_stat as _cloud_pay_order_stat@12 and cloud_pay_order_stat@12 (has: $x86_aliases)"
fi
[[ $failed == 0 ]] || exit 1

# "dll function" per imported function of an `objdump -p` dump, the DLL name in lower case.
pe_imports() {
    awk '/DLL Name:/ { dll = tolower($3); next } /^\s*$/ { dll = "" }
         dll != "" && $1 ~ /^[0-9a-f]+$/ && $2 ~ /^[0-9]+$/ && NF >= 3 { print dll, $3 }'
}
allowed_imports() { grep -vE '^\s*(#|$)' "$ROOT/windows/win7-imports.txt" | awk '{print tolower($1), $2}'; }

# MSVC import library CloudPayAPI_SDK_CPP.lib from the same .def (llvm-dlltool: COFF short
# import objects, which MSVC's /SAFESEH accepts and GNU's .dll.a objects are not), then a link
# test as MSVC does it: clang for *-pc-windows-msvc + lld-link, /SAFESEH on x86. No MSVC C
# runtime exists here, so msvc_link_check.c uses kernel32 only (an import library made from
# three names) and an empty stdlib.h stands in for the one include/cloud_pay.h pulls in.
msvc_lib() { # target dist def
    local t="$1" dist="$2" def="$3" m ct k32 safeseh=()
    case "$t" in
        x86_64-*) m=i386:x86-64; ct=x86_64-pc-windows-msvc; k32=$'GetStdHandle\nWriteFile\nExitProcess' ;;
        i686-*) m=i386; ct=i686-pc-windows-msvc; k32=$'GetStdHandle@4\nWriteFile@20\nExitProcess@4'; safeseh=(/safeseh) ;;
    esac
    if ! command -v llvm-dlltool >/dev/null; then
        skip_part llvm "MSVC .lib: llvm-dlltool is missing (apt-get install llvm)"; return
    fi
    # -k on x86: the symbol _cloud_pay_order_stat@12 imports the DLL's undecorated name.
    llvm-dlltool -m "$m" -d "$def" -D CloudPayAPI_SDK_CPP.dll -l "$dist/CloudPayAPI_SDK_CPP.lib" "${kill_at[@]}" ||
        { fail "$t CloudPayAPI_SDK_CPP.lib"; return; }
    if ! command -v clang >/dev/null || ! command -v lld-link >/dev/null; then
        skip_part clang-lld "MSVC link test: clang / lld-link missing (apt-get install clang lld)"; return
    fi
    local w="$dist/msvc"
    mkdir -p "$w/include"
    : >"$w/include/stdlib.h"
    printf 'LIBRARY kernel32.dll\nEXPORTS\n%s\n' "$k32" >"$w/kernel32.def"
    llvm-dlltool -m "$m" -d "$w/kernel32.def" -l "$w/kernel32.lib" "${kill_at[@]}" || { fail "$t kernel32.lib"; return; }
    clang --target="$ct" -ffreestanding -fno-builtin -O1 -Wall -Wextra -Werror -I"$w/include" -I"$ROOT/include" \
        -c "$ROOT/examples-c/msvc_link_check.c" -o "$w/msvc_link_check.obj" || { fail "$t msvc_link_check.obj"; return; }
    lld-link /nologo "${safeseh[@]}" /subsystem:console /entry:mainCRTStartup /nodefaultlib "$w/msvc_link_check.obj" \
        "$dist/CloudPayAPI_SDK_CPP.lib" "$w/kernel32.lib" /out:"$dist/msvc_link_check.exe" ||
        { fail "$t: lld-link ${safeseh[*]} against CloudPayAPI_SDK_CPP.lib"; return; }
    echo "   MSVC-style link (lld-link ${safeseh[*]}) against CloudPayAPI_SDK_CPP.lib: ok"
    x86_64-w64-mingw32-objdump -p "$dist/msvc_link_check.exe" | grep -qE '\scloud_pay_order_stat$' ||
        fail "$t msvc_link_check.exe does not import cloud_pay_order_stat by its undecorated name"
}

HAVE=()
while read -r f; do HAVE+=("-DCLOUDPAY_HAVE_$f"); done < <(header_exports)

# For target $1: arch (the mingw prefix), def (its .def), kill_at (dlltool's -k on x86) and tv
# (the target as cargo spells it in variable names).
target_vars() {
    case "$1" in
        x86_64-*) arch=x86_64-w64-mingw32; def="$ROOT/windows/CloudPayAPI_SDK_CPP.def"; kill_at=() ;;
        i686-*) arch=i686-w64-mingw32; def="$ROOT/windows/CloudPayAPI_SDK_CPP-x86.def"; kill_at=(-k) ;;
    esac
    tv="${1//-/_}"
}
# cargo rustc of the DLL for target $1 (after target_vars): built as every shipped library is
# (scripts/lib.sh, shipped_rustc), with mingw's compiler and linker; the other arguments go to
# cargo rustc. Built unstripped (stripped by the caller): the unstripped copy is kept for crash
# analysis.
nightly_rustc() {
    local t="$1"
    shift
    (
        export "CC_$tv=$arch-gcc" "AR_$tv=$arch-ar" "CARGO_TARGET_${tv^^}_LINKER=$arch-gcc" CARGO_PROFILE_RELEASE_STRIP=none
        shipped_rustc "$t" "$TARGET_DIR/win7" "$@"
    )
}

for t in "${TARGETS[@]}"; do
    target_vars "$t"
    echo "-- $t: release build ($NIGHTLY, build-std)"
    start=$SECONDS
    # The .def is an extra linker input: rustc's own export list stays, the .def adds aliases.
    nightly_rustc "$t" --release -- -C link-arg="$def" || { fail "$t build"; continue; }
    echo "   built in $((SECONDS - start)) s"
    dist="$TARGET_DIR/windows/$t"
    rm -rf "$dist"
    mkdir -p "$dist/unstripped"
    cp "$TARGET_DIR/win7/$t/release/CloudPayAPI_SDK_CPP.dll" "$dist/unstripped/"
    "$arch-strip" --strip-all -o "$dist/CloudPayAPI_SDK_CPP.dll" "$dist/unstripped/CloudPayAPI_SDK_CPP.dll" ||
        { fail "$t strip"; continue; }
    cp "$def" "$dist/"
    echo "   size: $(stat -c %s "$dist/CloudPayAPI_SDK_CPP.dll") B (unstripped $(stat -c %s "$dist/unstripped/CloudPayAPI_SDK_CPP.dll") B)"
    # At most 3 MB stripped (BENCHMARKS.md, "Footprint").
    bash "$ROOT/scripts/check-size.sh" "$dist/CloudPayAPI_SDK_CPP.dll" "${CLOUDPAY_DLL_SIZE_LIMIT:-3000000}" || fail "$t size"
    # VERSIONINFO (windows/version.rc via build.rs): the strings are UTF-16 in .rsrc.
    ver="$(cargo metadata --no-deps --format-version 1 | python3 -c 'import json,sys; print([p["version"] for p in json.load(sys.stdin)["packages"] if p["name"]=="cloud-pay-sdk"][0])')"
    rsrc="$(strings -e l "$dist/CloudPayAPI_SDK_CPP.dll")"
    if grep -qx "$ver" <<<"$rsrc" && grep -qx 'CloudPayAPI_SDK_CPP.dll' <<<"$rsrc" && grep -qx 'Cloud Pay SDK' <<<"$rsrc"; then
        echo "   VERSIONINFO: Cloud Pay SDK $ver, CloudPayAPI_SDK_CPP.dll"
    else
        fail "$t DLL has no VERSIONINFO with version $ver"
    fi
    "$arch-dlltool" -d "$def" -D CloudPayAPI_SDK_CPP.dll -l "$dist/libCloudPayAPI_SDK_CPP.dll.a" "${kill_at[@]}" ||
        { fail "$t import library"; continue; }

    dump="$("$arch-objdump" -p "$dist/CloudPayAPI_SDK_CPP.dll")"
    exported="$(sed -n '/^\[Ordinal\/Name Pointer\] Table/,/^$/p' <<<"$dump" | sed -nE 's/^\s*\[ *[0-9]+\] (.*)$/\1/p' | sort)"
    expected="$(def_names "$def" | sort)"
    if [[ "$exported" == "$expected" ]]; then
        echo "   exports: exactly the $(wc -l <<<"$expected") names of $(basename "$def")"
    else
        fail "$t export table differs from $(basename "$def"):"
        diff <(echo "$expected") <(echo "$exported") | sed 's/^/    /'
    fi
    imports="$(grep 'DLL Name:' <<<"$dump" | awk '{print $3}' | tr '\n' ' ')"
    echo "   imports: $imports"
    if grep -qiE 'libgcc|winpthread|libstdc' <<<"$imports"; then fail "$t depends on a mingw runtime DLL: $imports"; fi
    # Windows 7 floor: LoadLibrary fails on a single missing import, so every imported
    # function must be on the reviewed list (Windows 7 SP1 has each of them).
    extra="$(comm -23 <(pe_imports <<<"$dump" | sort -u) <(allowed_imports | sort -u))"
    if [[ -n "$extra" ]]; then
        fail "$t imports functions not in windows/win7-imports.txt (newer than Windows 7?):"
        sed 's/^/    /' <<<"$extra"
    else
        echo "   imports: $(pe_imports <<<"$dump" | wc -l) functions, all in windows/win7-imports.txt"
    fi

    echo "-- $t: C cashier, ABI checks, DLL checks (mingw, C99, warnings are errors)"
    for prog in "cashier cashier.c demo_util.c qr.c" "abi_checks abi_checks.c demo_util.c" \
        "win_dll_checks win_dll_checks.c demo_util.c" "win_unload win_unload.c demo_util.c"; do
        set -- $prog
        name="$1"; shift
        srcs=()
        for s in "$@"; do srcs+=("$ROOT/examples-c/$s"); done
        "$arch-gcc" -std=c99 -Wall -Wextra -pedantic -Werror -O1 -I"$ROOT/include" "${HAVE[@]}" "${srcs[@]}" \
            -L"$dist" -lCloudPayAPI_SDK_CPP -lws2_32 -o "$dist/$name.exe" || fail "$t $name.exe build"
    done
    if [[ -f "$dist/cashier.exe" ]]; then
        dlls="$("$arch-objdump" -p "$dist/cashier.exe" | grep 'DLL Name:' | awk '{print $3}' | tr '\n' ' ')"
        grep -q 'CloudPayAPI_SDK_CPP.dll' <<<"$dlls" || fail "$t cashier.exe does not import CloudPayAPI_SDK_CPP.dll"
        if [[ "$t" == i686-* ]] && grep -qx cloud_pay_order_stat <<<"$want"; then
            # The __stdcall caller (_cloud_pay_order_stat@12) must import the undecorated name.
            imp="$("$arch-objdump" -p "$dist/abi_checks.exe" | grep -E '\s(_?cloud_pay_order_stat(@12)?)$' | awk '{print $NF}')"
            [[ "$imp" == cloud_pay_order_stat ]] && echo "   x86 stdcall caller imports cloud_pay_order_stat by its undecorated name" ||
                fail "x86 abi_checks.exe imports order_stat as '$imp'"
        fi
    fi
    msvc_lib "$t" "$dist" "$def"
done

# The panic check of the other legs, on Windows: a DLL built with --features testing (its
# export cloud_pay_testing_panic panics inside the export boundary; never shipped) and
# panic_check.exe against it, in target/windows/testing-<target>/. Unwinding differs per target
# (SEH on x64, DWARF tables on x86), so each is proven: -3, a redacted errmsg, the DLL still works.
for t in "${TARGETS[@]}"; do
    target_vars "$t"
    echo "-- $t: testing DLL (--features testing, profile $TESTING_PROFILE) and panic_check.exe"
    start=$SECONDS
    tdist="$TARGET_DIR/windows/testing-$t"
    rm -rf "$tdist"
    mkdir -p "$tdist"
    { cat "$def"; echo "    cloud_pay_testing_panic"; } >"$tdist/testing.def"
    nightly_rustc "$t" --features testing --profile "$TESTING_PROFILE" --config "profile.$TESTING_PROFILE.inherits=\"dev\"" \
        --config "profile.$TESTING_PROFILE.debug=0" -- -C link-arg="$tdist/testing.def" || { fail "$t testing DLL build"; continue; }
    cp "$TARGET_DIR/win7/$t/$TESTING_PROFILE/CloudPayAPI_SDK_CPP.dll" "$tdist/"
    "$arch-dlltool" -d "$tdist/testing.def" -D CloudPayAPI_SDK_CPP.dll -l "$tdist/libCloudPayAPI_SDK_CPP.dll.a" "${kill_at[@]}" ||
        { fail "$t testing import library"; continue; }
    "$arch-gcc" -std=c99 -Wall -Wextra -pedantic -Werror -O1 -I"$ROOT/include" "${HAVE[@]}" \
        "$ROOT/examples-c/panic_check.c" "$ROOT/examples-c/demo_util.c" -L"$tdist" -lCloudPayAPI_SDK_CPP -lws2_32 \
        -o "$tdist/panic_check.exe" || { fail "$t panic_check.exe build"; continue; }
    echo "   built in $((SECONDS - start)) s"
done

# Runs the test programs under wine: x64 with wine64, x86 with 32-bit wine (wine32:i386).
WINE64="$(command -v wine64 || true)"
[[ -z "$WINE64" && -x /usr/lib/wine/wine64 ]] && WINE64=/usr/lib/wine/wine64
WINE32=""
[[ -x /usr/lib/wine/wine ]] && WINE32=/usr/lib/wine/wine
run_wine() { # wine-binary prefix-arch dist
    local wine="$1" warch="$2" dist="$3" prog
    [[ -f "$dist/cashier.exe" && -f "$dist/abi_checks.exe" && -f "$dist/win_dll_checks.exe" && -f "$dist/win_unload.exe" ]] ||
        return
    start=$SECONDS
    local progs=("cashier.exe --no-qr" abi_checks.exe win_dll_checks.exe win_unload.exe)
    [[ -f "$dist/msvc_link_check.exe" ]] && progs+=(msvc_link_check.exe)
    for prog in "${progs[@]}"; do
        echo "-- $warch wine: $prog"
        # shellcheck disable=SC2086
        (cd "$dist" && WINEPREFIX="$TARGET_DIR/windows/wineprefix-$warch" WINEARCH="$warch" timeout 300 "$wine" ./$prog) ||
            fail "$prog under $warch wine ($(basename "$dist"))"
    done
    local tdist
    tdist="$(dirname "$dist")/testing-$(basename "$dist")"
    echo "-- $warch wine: panic_check.exe (testing DLL)"
    if [[ -f "$tdist/panic_check.exe" ]]; then
        (cd "$tdist" && WINEPREFIX="$TARGET_DIR/windows/wineprefix-$warch" WINEARCH="$warch" timeout 300 "$wine" ./panic_check.exe) ||
            fail "panic_check.exe under $warch wine"
    else
        fail "no panic_check.exe for $warch"
    fi
    # No state_dir, started from another folder: the files must land beside the DLL, not in
    # the working directory (which moves on Windows).
    local before after
    before="$(ls -A "$dist")"
    (cd / && env -u CLOUDPAY_STATE_DIR WINEPREFIX="$TARGET_DIR/windows/wineprefix-$warch" WINEARCH="$warch" \
        timeout 300 "$wine" "$dist/win_dll_checks.exe" >/dev/null) || fail "win_dll_checks.exe without state_dir ($warch)"
    after="$(comm -13 <(echo "$before") <(ls -A "$dist"))"
    [[ -n "$after" ]] && echo "   default state_dir is the DLL's folder: $(echo $after)" ||
        fail "$warch: init without state_dir wrote nothing beside the DLL"
    echo "   $warch wine runs took $((SECONDS - start)) s"
}
# Real machine identity: run the cashier through windows/wire_identity.py (a recording proxy
# in front of the sandbox) and check the DLL sent a MAC wine got from one of this machine's
# adapters, not zeros, and a non-loopback IPv4.
wire_identity() { # wine-binary prefix-arch dist
    local wine="$1" warch="$2" dist="$3" rec="$LEG_TMP/wire-$2.txt" pout="$LEG_TMP/proxy-$2.out" pid i base mac ip rest
    [[ -f "$dist/cashier.exe" ]] || return
    command -v python3 >/dev/null || { skip_part python3 "identity check: python3 missing"; return; }
    python3 "$ROOT/windows/wire_identity.py" "$CLOUDPAY_SANDBOX_HTTP" "$rec" >"$pout" &
    pid=$!
    for i in $(seq 1 50); do grep -q '^PROXY=' "$pout" && break; sleep 0.1; done
    rest="${CLOUDPAY_SANDBOX_HTTPS#*://}"
    base="$(sed -n 's/^PROXY=//p' "$pout")/${rest#*/}"
    echo "-- $warch wine: cashier.exe through the recording proxy $base"
    (cd "$dist" && CLOUDPAY_SANDBOX_HTTPS="$base" WINEPREFIX="$TARGET_DIR/windows/wineprefix-$warch" WINEARCH="$warch" \
        timeout 300 "$wine" ./cashier.exe --no-qr >/dev/null) || fail "cashier.exe through the proxy ($warch)"
    kill "$pid" 2>/dev/null; wait "$pid" 2>/dev/null
    read -r mac ip < <(awk '$1 != "-" && $1 != "" {print; exit}' "$rec" 2>/dev/null)
    local host_macs
    host_macs="$(cat /sys/class/net/*/address 2>/dev/null | tr 'a-f:' 'A-F-')"
    echo "   the DLL sent machine_no ${mac:-none}, spbill_create_ip ${ip:-none}"
    if [[ -z "${mac:-}" || "$mac" == 00-00-00-00-00-00 ]]; then
        fail "$warch: machine_no on the wire is ${mac:-missing}"
    elif [[ -n "$host_macs" ]] && ! grep -qx "$mac" <<<"$host_macs"; then
        fail "$warch: machine_no $mac is none of this machine's MACs"
    fi
    [[ -n "${ip:-}" && "$ip" != 127.* && "$ip" != - ]] || fail "$warch: spbill_create_ip on the wire is ${ip:-missing}"
}
if [[ -z "$WINE64" && -z "$WINE32" ]]; then
    skip_part wine "run part: wine is not installed (apt-get install --no-install-recommends wine64 wine; wine32:i386)"
else
    start_sandbox || exit 1
    export WINEDEBUG=-all WINEDLLOVERRIDES="mscoree,mshtml="
    if [[ -n "$WINE64" ]]; then
        run_wine "$WINE64" win64 "$TARGET_DIR/windows/x86_64-win7-windows-gnu"
        wire_identity "$WINE64" win64 "$TARGET_DIR/windows/x86_64-win7-windows-gnu"
    else
        skip_part wine64 "x64 run part: wine64 is not installed"; fi
    if [[ -n "$WINE32" ]]; then
        run_wine "$WINE32" win32 "$TARGET_DIR/windows/i686-win7-windows-gnu"
        wire_identity "$WINE32" win32 "$TARGET_DIR/windows/i686-win7-windows-gnu"
    else
        skip_part wine32 "x86 run part: 32-bit wine is not installed (dpkg --add-architecture i386; apt-get install wine32:i386); the x86 DLL is still built and checked"; fi
fi

# The release bundle integrators receive (scripts/release.sh), checked by its contents.
echo "-- release bundle"
w86="$TARGET_DIR/windows/i686-win7-windows-gnu" w64="$TARGET_DIR/windows/x86_64-win7-windows-gnu"
if [[ -f "$w86/CloudPayAPI_SDK_CPP.lib" && -f "$w64/CloudPayAPI_SDK_CPP.lib" ]]; then
    if zip="$(bash "$ROOT/scripts/release.sh" --bundle-only | tail -n 1)" && [[ -f "$zip" ]]; then
        top="$(basename "$zip" .zip)"
        listing="$(unzip -Z1 "$zip")"
        for f in INTEGRATION.md include/cloud_pay.h examples/c/cashier.c examples/csharp/CashierDemo.cs \
            bindings/csharp/CloudPay.cs bindings/python/cloudpay.py bindings/java/README.md \
            {x86,x64}/{CloudPayAPI_SDK_CPP.dll,CloudPayAPI_SDK_CPP.lib,libCloudPayAPI_SDK_CPP.dll.a,CloudPayAPI_SDK_CPP.def,unstripped/CloudPayAPI_SDK_CPP.dll}; do
            grep -qx "$top/$f" <<<"$listing" || fail "release bundle lacks $f"
        done
        unz="$(mktemp -d)"
        unzip -q "$zip" -d "$unz"
        x86_64-w64-mingw32-objdump -f "$unz/$top/x86/CloudPayAPI_SDK_CPP.dll" | grep -q 'pei-i386' || fail "bundle x86/ DLL is not x86"
        x86_64-w64-mingw32-objdump -f "$unz/$top/x64/CloudPayAPI_SDK_CPP.dll" | grep -q 'pei-x86-64' || fail "bundle x64/ DLL is not x64"
        rm -rf "$unz"
        echo "   $(basename "$zip"): $(wc -l <<<"$listing") entries, $(stat -c %s "$zip") B"
    else
        fail "scripts/release.sh"
    fi
else
    skip_part llvm "release bundle: no MSVC .lib was made (llvm-dlltool missing)"
fi

# Authenticode: a release is signed with the shop's certificate (windows/INTEGRATION.md). Here
# a throw-away TEST-ONLY certificate, made now and deleted after, proves the signing and
# verifying commands on the x64 DLL; it is never committed nor shipped.
echo "-- Authenticode signing (throw-away TEST-ONLY certificate)"
if command -v osslsigncode >/dev/null && command -v openssl >/dev/null && [[ -f "$w64/CloudPayAPI_SDK_CPP.dll" ]]; then
    sig="$(mktemp -d)"
    if openssl req -x509 -newkey rsa:2048 -nodes -keyout "$sig/key.pem" -out "$sig/cert.pem" -days 1 \
            -subj "/CN=Cloud Pay SDK TEST-ONLY signer" -addext extendedKeyUsage=codeSigning 2>/dev/null &&
        osslsigncode sign -certs "$sig/cert.pem" -key "$sig/key.pem" -n "Cloud Pay SDK" -h sha256 \
            -in "$w64/CloudPayAPI_SDK_CPP.dll" -out "$sig/signed.dll" >/dev/null &&
        osslsigncode verify -CAfile "$sig/cert.pem" -in "$sig/signed.dll" >"$sig/verify.txt" 2>&1 &&
        grep -q 'Signature verification: ok' "$sig/verify.txt"; then
        echo "   signed and verified a copy of the x64 DLL"
    else
        cat "$sig/verify.txt" 2>/dev/null | tail -n 5
        fail "Authenticode sign/verify with osslsigncode"
    fi
    rm -rf "$sig"
else
    skip_part osslsigncode "signing: osslsigncode / openssl missing (apt-get install osslsigncode)"
fi
exit $failed
