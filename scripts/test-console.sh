#!/usr/bin/env bash
# End-to-end test of the sandbox web console in headless Chromium:
# sandbox/tests/console/test_console.py (pytest + selenium, Debian's chromium and chromium-driver).
#
# Needs: apt-get install -y chromium chromium-driver; pip install selenium pytest; a C compiler.
# Without them it prints "SKIPPED: <why>" and exits 0 (this script installs nothing).
# Builds first (no-ops when up to date): the sandbox binary, the SDK's cdylib (debug) and the C
# cashier example linked against it (target/debug/examples-c/cashier), which the dashboard test
# runs with --wait-for-customer.
# Extra arguments go to pytest. Environment: CHROMIUM_BIN, CHROMEDRIVER_BIN, CONSOLE_SCREENSHOT,
# SCREENSHOT_DIR (dashboard screenshots cloud-pay-console-dashboard-*.png; default the temp dir), CC.
set -euo pipefail
cd "$(dirname "$0")/.."

CHROMIUM_BIN="${CHROMIUM_BIN:-/usr/bin/chromium}"
CHROMEDRIVER_BIN="${CHROMEDRIVER_BIN:-/usr/bin/chromedriver}"
PYTHON="${PYTHON:-python3}"

skip() {
    echo "SKIPPED: $*"
    exit 0
}

[ -x "$CHROMIUM_BIN" ] || skip "no Chromium at $CHROMIUM_BIN (apt-get install -y chromium chromium-driver)"
[ -x "$CHROMEDRIVER_BIN" ] || skip "no chromedriver at $CHROMEDRIVER_BIN (apt-get install -y chromium-driver)"
command -v "$PYTHON" >/dev/null 2>&1 || skip "no $PYTHON"
"$PYTHON" -c 'import selenium, pytest' >/dev/null 2>&1 || skip "Python modules selenium/pytest missing (pip install selenium pytest)"
CC="${CC:-cc}"
command -v "$CC" >/dev/null 2>&1 || skip "no C compiler ($CC) for the cashier example"

echo "== console: cargo build -p cloud-pay-sandbox, cargo build -p cloud-pay-capi --lib"
cargo build -p cloud-pay-sandbox
cargo build -p cloud-pay-capi --lib
LIB="$PWD/target/debug"
mkdir -p "$LIB/examples-c"
# -DCLOUDPAY_HAVE_<export> for each export the header declares (as scripts/legs/c.sh does).
HAVE=()
while read -r f; do HAVE+=("-DCLOUDPAY_HAVE_$f"); done < <(
    grep -E '^CLOUDPAYAPI_SDK_CPP_API .*cloud_pay_[a-z_]+ *\(' include/cloud_pay.h |
        sed -E 's/^[^(]*[^a-z_](cloud_pay_[a-z_]+) *\(.*/\1/')
echo "== console: build examples-c/cashier against $LIB/libCloudPayAPI_SDK_CPP.so"
"$CC" -std=c99 -Wall -Wextra -pedantic -Werror -O1 -g -Iinclude "${HAVE[@]}" \
    examples-c/cashier.c examples-c/demo_util.c examples-c/qr.c \
    -L"$LIB" -lCloudPayAPI_SDK_CPP -Wl,-rpath,"$LIB" -o "$LIB/examples-c/cashier"

echo "== console: headless Chromium ($("$CHROMIUM_BIN" --version 2>/dev/null | head -n1))"
export CHROMIUM_BIN CHROMEDRIVER_BIN
export CLOUDPAY_SANDBOX_BIN="${CLOUDPAY_SANDBOX_BIN:-$PWD/target/debug/cloud-pay-sandbox}"
export CASHIER_BIN="${CASHIER_BIN:-$LIB/examples-c/cashier}"
export PYTHONDONTWRITEBYTECODE=1 SE_OFFLINE=true
exec timeout 300 "$PYTHON" -m pytest -q -p no:cacheprovider sandbox/tests/console/test_console.py "$@"
