"""A panic inside the SDK comes back through ctypes as the documented code.

Runs against the library built with `--features testing` (scripts/test-all.sh builds it into
target/cloudpay-testing; scripts/legs/python.sh passes it as CLOUDPAY_TESTING_LIB): its test
export cloud_pay_testing_panic panics inside the same panic boundary as every real export. In
a child process, so that this second copy of the SDK never shares a process with the release
library the other tests use.
"""
import json
import os
import pathlib
import subprocess
import sys

import pytest

HERE = pathlib.Path(__file__).resolve().parent
ROOT = HERE.parents[2]

CHILD = r"""
import ctypes, json, sys
sys.path.insert(0, sys.argv[1])
import cloudpay
s = cloudpay.CloudPay(sys.argv[2])
conf = json.loads(sys.argv[3])
panic = s._cdecl.cloud_pay_testing_panic
panic.argtypes = []
panic.restype = ctypes.c_int
out = {"first": [panic(), s.errmsg()]}
r = s.init(conf)
out["init"] = [int(r.code), r.errmsg]
out["second"] = [panic(), s.errmsg()]
out["fini"] = int(s.fini())
print(json.dumps(out))
"""


def _testing_lib():
    env = os.environ.get("CLOUDPAY_TESTING_LIB")
    if env:
        return env
    lib = pathlib.Path(os.environ.get("CARGO_TARGET_DIR", ROOT / "target")) / "cloudpay-testing" / "libCloudPayAPI_SDK_CPP.so"
    if not lib.exists():
        pytest.skip("no --features testing library (scripts/test-all.sh builds it)")
    return str(lib)


@pytest.mark.skipif(os.environ.get("CLOUDPAY_TEST_INSTALLED") == "1", reason="the wheel ships no testing library")
def test_a_panic_is_internal_with_an_errmsg_and_the_sdk_goes_on(conf, tmp_path):
    child_conf = json.loads(json.dumps(conf))
    child_conf["common_conf"]["state_dir"] = str(tmp_path)  # its own: the session's SDK holds the other
    done = subprocess.run([sys.executable, "-c", CHILD, str(HERE.parent), _testing_lib(), json.dumps(child_conf)],
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    out = json.loads(done.stdout)
    for when in ("first", "second"):
        code, msg = out[when]
        assert code == -3, out  # CLOUD_PAY_INTERNAL, docs/c-api.md "Panics"
        assert msg.startswith("internal error: "), out
        assert "134567890123456789" not in msg, out  # the digit run in the panic message is redacted
    assert out["init"][0] == 0, out
    assert out["fini"] == 0, out
    # The panic hook names the export's failure on stderr, without the digit run.
    assert "CloudPay SDK internal error" in done.stderr and "134567890123456789" not in done.stderr, done.stderr
