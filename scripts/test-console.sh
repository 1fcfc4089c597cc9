#!/usr/bin/env bash
# End-to-end test of the sandbox web console in headless Chromium:
# sandbox/tests/console/test_console.py (pytest + selenium, Debian's chromium and chromium-driver).
#
# Needs: apt-get install -y chromium chromium-driver; pip install selenium pytest.
# Without them it prints "SKIPPED: <why>" and exits 0 (this script installs nothing).
# Builds the sandbox binary first (cargo build -p cloud-pay-sandbox; a no-op when up to date).
# Extra arguments go to pytest. Environment: CHROMIUM_BIN, CHROMEDRIVER_BIN, CONSOLE_SCREENSHOT.
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

echo "== console: cargo build -p cloud-pay-sandbox"
cargo build -p cloud-pay-sandbox

echo "== console: headless Chromium ($("$CHROMIUM_BIN" --version 2>/dev/null | head -n1))"
export CHROMIUM_BIN CHROMEDRIVER_BIN
export CLOUDPAY_SANDBOX_BIN="${CLOUDPAY_SANDBOX_BIN:-$PWD/target/debug/cloud-pay-sandbox}"
export PYTHONDONTWRITEBYTECODE=1 SE_OFFLINE=true
exec timeout 300 "$PYTHON" -m pytest -q -p no:cacheprovider sandbox/tests/console/test_console.py "$@"
