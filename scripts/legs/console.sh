#!/usr/bin/env bash
# Console leg: the sandbox's web console in headless Chromium (scripts/test-console.sh: login
# QR code shown, Approve / Reject drive the login; the QA dashboard's Customer pays finishes a
# payment of the C cashier example, refund and fault buttons, a scan-code QR image).
set -uo pipefail
source "$(dirname "$0")/../lib.sh"

[ -x "${CHROMIUM_BIN:-/usr/bin/chromium}" ] || skip "no Chromium (apt-get install -y chromium chromium-driver)"
[ -x "${CHROMEDRIVER_BIN:-/usr/bin/chromedriver}" ] || skip "no chromedriver (apt-get install -y chromium-driver)"
python3 -c 'import selenium, pytest' 2>/dev/null || skip "selenium/pytest missing (pip install selenium pytest)"
bash "$ROOT/scripts/test-console.sh"
