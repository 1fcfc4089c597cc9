#!/usr/bin/env bash
# C leg: builds examples-c with -std=c99 -Wall -Wextra -pedantic -Werror against the release
# library, runs the cashier and the ABI checks against a fresh sandbox, then the same two
# programs built with -fsanitize=address,undefined. Decodes the printed QR code when zbarimg
# is installed. Checks that the release library exports exactly the header's functions (no
# test-only export) and, against the --features testing library, that a panic inside an
# export comes back as CLOUD_PAY_INTERNAL with an "internal error: " errmsg (panic_check.c).
set -uo pipefail
source "$(dirname "$0")/../lib.sh"

CC="${CC:-cc}"
command -v "$CC" >/dev/null || skip "no C compiler ($CC)"
require_sdk_lib
LIB="$(sdk_lib_dir)"
OUT="$TARGET_DIR/examples-c"
mkdir -p "$OUT"

# -DCLOUDPAY_HAVE_<export> for each export the header declares, so the checks use only those.
HAVE=()
while read -r f; do HAVE+=("-DCLOUDPAY_HAVE_$f"); done < <(header_exports)

CFLAGS=(-std=c99 -Wall -Wextra -pedantic -Werror -O1 -g -I"$ROOT/include" "${HAVE[@]}")
LDFLAGS=(-L"$LIB" -lCloudPayAPI_SDK_CPP -Wl,-rpath,"$LIB")
SRC="$ROOT/examples-c"

build() { # name extra-flags... -- sources...
    local name="$1"; shift
    local flags=()
    while [[ "$1" != "--" ]]; do flags+=("$1"); shift; done; shift
    local srcs=()
    for s in "$@"; do srcs+=("$SRC/$s"); done
    "$CC" "${CFLAGS[@]}" "${flags[@]}" "${srcs[@]}" "${LDFLAGS[@]}" -o "$OUT/$name"
}

echo "-- export table of libCloudPayAPI_SDK_CPP.so = the header's exports (no test-only symbol)"
if command -v nm >/dev/null; then
    exported="$(nm -D --defined-only "$LIB/libCloudPayAPI_SDK_CPP.so" | awk '{print $3}' | sort)"
    if [[ "$exported" != "$(header_exports | sort)" ]]; then
        echo "FAILED: the library's dynamic symbols differ from the header's exports:"
        diff <(header_exports | sort) <(echo "$exported") | sed 's/^/    /'
        exit 1
    fi
    echo "   $(wc -l <<<"$exported") exports, exactly the header's"
    # Named as well: the panic export of --features testing must never reach the shipped library.
    if grep -qx cloud_pay_testing_panic <<<"$exported"; then
        echo "FAILED: the release library exports cloud_pay_testing_panic (a --features testing build?)"
        exit 1
    fi
    echo "   cloud_pay_testing_panic is not exported (it exists only with --features testing)"
else
    echo "FAILED: nm is missing (binutils): the export table cannot be checked"
    exit 1
fi

echo "-- build (C99, warnings are errors)"
build cashier -- cashier.c demo_util.c qr.c || exit 1
build abi_checks -- abi_checks.c demo_util.c || exit 1
# Against the --features testing library: its rpath points there, not at the release one.
require_testing_lib
TLIB="$(testing_lib_dir)"
"$CC" "${CFLAGS[@]}" "$SRC/panic_check.c" "$SRC/demo_util.c" -L"$TLIB" -lCloudPayAPI_SDK_CPP -Wl,-rpath,"$TLIB" \
    -o "$OUT/panic_check" || exit 1
# The header also compiles as C++17 with the same strictness.
if command -v "${CXX:-c++}" >/dev/null; then
    echo '#include "cloud_pay.h"
int main() { return cloud_pay_fini(); }' >"$OUT/header_cpp.cpp"
    "${CXX:-c++}" -std=c++17 -Wall -Wextra -pedantic -Werror -I"$ROOT/include" "$OUT/header_cpp.cpp" \
        "${LDFLAGS[@]}" -o "$OUT/header_cpp" || exit 1
fi

start_sandbox || exit 1
failed=0
cd "$OUT"

echo "-- cashier"
CLOUDPAY_QR_PBM="$OUT/qr.pbm" ./cashier | tee "$OUT/cashier.log" || failed=1
if command -v zbarimg >/dev/null; then
    want="$(sed -n 's/.*show this QR code to the customer: //p' "$OUT/cashier.log")"
    got="$(zbarimg -q --raw "$OUT/qr.pbm" 2>/dev/null)"
    if [[ -n "$want" && "$got" == "$want" ]]; then
        echo "QR code decodes to the code_url (zbarimg)"
    else
        echo "FAILED: QR code decodes to '$got', want '$want'"; failed=1
    fi
else
    skip_part zbar "zbarimg is not installed (apt-get install zbar-tools): QR decoding not checked"
fi

echo "-- abi_checks"
./abi_checks || failed=1

echo "-- panic_check (library built with --features testing)"
./panic_check || { echo "FAILED: panic_check"; failed=1; }

# AddressSanitizer + UBSan, when this compiler has them. The Rust library is not instrumented;
# the sanitizers watch the C side and every byte the library writes into C buffers.
echo 'int main(void) { return 0; }' >"$OUT/asan_probe.c"
if "$CC" -fsanitize=address,undefined "$OUT/asan_probe.c" -o "$OUT/asan_probe" 2>/dev/null && "$OUT/asan_probe"; then
    echo "-- cashier + abi_checks under -fsanitize=address,undefined"
    SAN=(-fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=all)
    build cashier-asan "${SAN[@]}" -- cashier.c demo_util.c qr.c || exit 1
    build abi_checks-asan "${SAN[@]}" -- abi_checks.c demo_util.c || exit 1
    export ASAN_OPTIONS="detect_leaks=1:abort_on_error=0:exitcode=23"
    export UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1"
    ./cashier-asan --no-qr >/dev/null || { echo "FAILED: cashier under ASan/UBSan"; failed=1; }
    ./abi_checks-asan || { echo "FAILED: abi_checks under ASan/UBSan"; failed=1; }
else
    skip_part c-sanitizers "this compiler has no -fsanitize=address,undefined: sanitizer run skipped"
fi

exit $failed
