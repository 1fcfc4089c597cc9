"""Fixtures: the real built library and the real sandbox over sockets.

scripts/legs/python.sh starts the sandbox and sets CLOUDPAY_SANDBOX_* and CLOUDPAY_SDK_LIB;
run standalone (`pytest bindings/python`), this starts target/{release,debug}/cloud-pay-sandbox
itself with a temporary --state-dir and kills it at the end.
With CLOUDPAY_TEST_INSTALLED=1 (scripts/legs/packages.sh) the tests use the installed wheel:
its `cloudpay` and the library inside it, not this folder's.
"""
import os
import pathlib
import subprocess
import sys
import tempfile
import time

import pytest

HERE = pathlib.Path(__file__).resolve().parent
ROOT = HERE.parents[2]
INSTALLED = os.environ.get("CLOUDPAY_TEST_INSTALLED") == "1"
if not INSTALLED:
    sys.path.insert(0, str(HERE.parent))

import cloudpay  # noqa: E402


@pytest.fixture(scope="session")
def sandbox():
    if os.environ.get("CLOUDPAY_SANDBOX_HTTPS"):
        yield {k: os.environ[k] for k in ("CLOUDPAY_SANDBOX_HTTP", "CLOUDPAY_SANDBOX_HTTPS", "CLOUDPAY_SANDBOX_CA")} | {
            "state_dir": os.environ.get("CLOUDPAY_STATE_DIR") or tempfile.mkdtemp()}
        return
    target = pathlib.Path(os.environ.get("CARGO_TARGET_DIR", ROOT / "target"))
    binary = next((p for p in (target / "release" / "cloud-pay-sandbox", target / "debug" / "cloud-pay-sandbox")
                   if p.exists()), None)
    if binary is None:
        pytest.fail("no cloud-pay-sandbox binary: run cargo build -p cloud-pay-sandbox")
    tmp = tempfile.TemporaryDirectory()
    proc = subprocess.Popen([str(binary), "--state-dir", tmp.name + "/sandbox", "--quiet"],
                            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    env = {}
    deadline = time.monotonic() + 10
    while len(env) < 3 and time.monotonic() < deadline:
        line = proc.stdout.readline()
        if not line:
            break
        key, _, value = line.strip().partition("=")
        env[key] = value
    try:
        assert len(env) == 3, f"sandbox printed {env}"
        yield env | {"state_dir": tmp.name}
    finally:
        proc.terminate()
        proc.wait(timeout=10)
        tmp.cleanup()


@pytest.fixture(scope="session")
def conf(sandbox):
    return {
        "common_conf": {
            "base_url": sandbox["CLOUDPAY_SANDBOX_HTTPS"], "ca_file": sandbox["CLOUDPAY_SANDBOX_CA"],
            "state_dir": sandbox["state_dir"], "micro_pay_query_order_interval": 0.5, "upload_monitor": 0,
        },
        "trade_conf": {  # the sandbox's demo merchant: TEST-ONLY keys from the test vectors
            "out_mch_id": "sz01TESTMCH000000001", "out_sub_mch_id": "sz01TESTSUBMCH000001",
            "out_shop_id": "sz01TESTSHOP00000001", "device_id": "dev01", "staff_id": "1001",
            "authen_type": 1, "authen_key": "TESTONLY0123456789ABCDEFGHIJKLMN", "sign_type": 1,
        },
    }


@pytest.fixture(scope="session")
def sdk(conf):
    if INSTALLED:
        assert "CLOUDPAY_SDK_LIB" not in os.environ, "the installed wheel must load its own library"
        assert HERE.parent not in pathlib.Path(cloudpay.__file__).resolve().parents, cloudpay.__file__
        lib = None
        bundled = pathlib.Path(cloudpay._default_library())
        assert bundled.parent == pathlib.Path(cloudpay.__file__).resolve().parent, bundled
    else:
        lib = os.environ.get("CLOUDPAY_SDK_LIB") or str(
            pathlib.Path(os.environ.get("CARGO_TARGET_DIR", ROOT / "target")) / "release" / "libCloudPayAPI_SDK_CPP.so")
    s = cloudpay.CloudPay(lib)
    r = s.init(conf)
    assert r.code == cloudpay.Code.OK, r.errmsg
    yield s
    s.fini()


_seq = [0]


@pytest.fixture
def order_no():
    def make(tag="P"):
        _seq[0] += 1
        return f"sz0100test{tag}{int(time.time())}{_seq[0]:03d}"
    return make
