#!/usr/bin/env bash
# Python leg: the ctypes binding's pytest suite against the release library and the sandbox
# (test_panic.py: against the --features testing library, in a child process).
set -uo pipefail
source "$(dirname "$0")/../lib.sh"

PY="${PYTHON:-python3}"
command -v "$PY" >/dev/null || skip "no python3"
"$PY" -c 'import pytest' 2>/dev/null || skip "pytest is not installed (pip install pytest)"
require_sdk_lib
export CLOUDPAY_SDK_LIB="$(sdk_lib_dir)/libCloudPayAPI_SDK_CPP.so"
# test_panic.py loads the --features testing library in a child process.
require_testing_lib
CLOUDPAY_TESTING_LIB="$(testing_lib_dir)/libCloudPayAPI_SDK_CPP.so"
export CLOUDPAY_TESTING_LIB
start_sandbox || exit 1
"$PY" -m pytest -q -p no:cacheprovider "$ROOT/bindings/python/tests"
