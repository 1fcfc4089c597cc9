#!/usr/bin/env bash
# C# leg: compiles the P/Invoke binding, the demo and the tests with mono's mcs and runs them
# with mono against the release library and the sandbox; PanicCheck.exe against the
# --features testing library (a panic in an export is Code.Internal through P/Invoke).
set -uo pipefail
source "$(dirname "$0")/../lib.sh"

command -v mcs >/dev/null || skip "mono's mcs is not installed (apt-get install -y mono-mcs)"
command -v mono >/dev/null || skip "mono is not installed"
ensure_mono_serialization || skip "mono's System.Runtime.Serialization is not installed (apt-get install -y libmono-system-runtime-serialization4.0-cil)"
require_sdk_lib
OUT="$TARGET_DIR/csharp"
mkdir -p "$OUT"
MCS=(mcs -nologo -warnaserror -langversion:7 -r:System.dll -r:System.Runtime.Serialization.dll)
B="$ROOT/bindings/csharp"
"${MCS[@]}" -out:"$OUT/CashierDemo.exe" "$ROOT/examples-csharp/CashierDemo.cs" "$ROOT/examples-csharp/DemoSupport.cs" \
    "$B/CloudPay.cs" || exit 1
"${MCS[@]}" -out:"$OUT/CloudPayTests.exe" "$B/tests/CloudPayTests.cs" "$ROOT/examples-csharp/DemoSupport.cs" "$B/CloudPay.cs" || exit 1
"${MCS[@]}" -out:"$OUT/TypedTests.exe" "$B/tests/TypedTests.cs" "$ROOT/examples-csharp/DemoSupport.cs" \
    "$B/CloudPay.cs" "$B/CloudPayTyped.cs" || exit 1
"${MCS[@]}" -out:"$OUT/PanicCheck.exe" "$B/tests/PanicCheck.cs" "$ROOT/examples-csharp/DemoSupport.cs" "$B/CloudPay.cs" || exit 1
require_testing_lib
export LD_LIBRARY_PATH="$(sdk_lib_dir)${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
start_sandbox || exit 1
failed=0
echo "-- CashierDemo.exe"
mono "$OUT/CashierDemo.exe" || failed=1
echo "-- CloudPayTests.exe"
mono "$OUT/CloudPayTests.exe" "$ROOT/include/cloud_pay.h" || failed=1
echo "-- TypedTests.exe"
mono "$OUT/TypedTests.exe" || failed=1
echo "-- PanicCheck.exe (library built with --features testing)"
LD_LIBRARY_PATH="$(testing_lib_dir):$LD_LIBRARY_PATH" mono "$OUT/PanicCheck.exe" || failed=1
exit $failed
