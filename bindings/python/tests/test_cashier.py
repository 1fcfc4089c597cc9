"""The cashier flow and the ABI rules, through the ctypes binding, against the sandbox."""
import json
import pathlib
import re
import urllib.request

import pytest

import cloudpay
from cloudpay import Code, LoginCheckCode, LoginCode, OrderCode, OrderState, RefundState

ROOT = pathlib.Path(__file__).resolve().parents[3]


def control(sandbox, action, body):
    base = sandbox["CLOUDPAY_SANDBOX_HTTP"].split("/cpay/")[0]
    req = urllib.request.Request(f"{base}/sandbox/{action}", data=json.dumps(body).encode(),
                                 headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=10) as resp:
        return json.loads(resp.read() or b"null")


def test_codes_match_the_header():
    """Every typed code equals the header's #define, and every #define has a typed code."""
    header = (ROOT / "include" / "cloud_pay.h").read_text(encoding="utf-8")
    defines = {m[0]: int(m[1]) for m in re.findall(r"#define (CLOUD_PAY_[A-Z_]+) \(?(-?\d+)\)?", header)}
    groups = {"CLOUD_PAY_ORDER_": OrderCode, "CLOUD_PAY_STATE_": OrderState, "CLOUD_PAY_REFUND_": RefundState}
    seen = set()
    for prefix, enum_type in groups.items():
        for m in enum_type:
            assert defines[prefix + m.name] == m.value, m
            seen.add(prefix + m.name)
    for m in Code:
        assert defines["CLOUD_PAY_" + m.name] == m.value, m
        seen.add("CLOUD_PAY_" + m.name)
    for enum_type in (LoginCode, LoginCheckCode):  # login-specific names, else the common ones
        for m in enum_type:
            name = "CLOUD_PAY_LOGIN_" + m.name if "CLOUD_PAY_LOGIN_" + m.name in defines else "CLOUD_PAY_" + m.name
            assert defines[name] == m.value, m
            seen.add(name)
    assert set(defines) - seen == set(), "constants without a typed code in the binding"


def test_not_initialised_and_bad_config(sdk, conf):
    sdk.fini()
    r = sdk.query_order({"out_trade_no": "sz0100testX1"})
    assert r.code == OrderCode.ERROR and "not initialised" in r.errmsg
    r = sdk.micro_pay({"out_trade_no": "sz0100testX1", "author_code": "134567890123456789", "total_fee": 1, "body": "x"})
    assert r.code == Code.FAIL and "not initialised" in r.errmsg
    assert sdk.init("{not json").code == Code.FAIL
    r = sdk.init({"common_conf": {}, "trade_conf": {}})
    assert r.code == Code.FAIL and "trade_conf." in r.errmsg
    typo = {**conf, "common_conf": {**conf["common_conf"], "base_ur1": "https://example.invalid/"}}
    r = sdk.init(typo)
    assert r.code == Code.OK and "base_ur1" in r.errmsg, "init's notice reaches the caller"
    assert sdk.init(conf).code == Code.OK
    assert sdk.errmsg() == ""


def test_bad_input(sdk):
    r = sdk.micro_pay(None)
    assert r.code == Code.FAIL and "NULL" in r.errmsg
    r = sdk.micro_pay("[1,2")
    assert r.code == Code.FAIL and r.errmsg and r.output == ""
    r = sdk.micro_pay({"out_trade_no": "sz0100testX2"})
    assert r.code == Code.FAIL and "author_code" in r.errmsg
    r = sdk.micro_pay('{"body":"商品"}'.encode("gbk"))
    assert r.code == Code.FAIL and "UTF-8" in r.errmsg
    assert sdk.refund(None).code == Code.INTERNAL
    assert sdk.cancel_order("nope").code == Code.INTERNAL
    assert sdk.scan_code_pay({}).code == Code.FAIL
    assert sdk.query_refund(None).code == Code.INTERNAL


def test_unknown_order(sdk, order_no):
    r = sdk.query_order({"out_trade_no": order_no("N"), "trade_type": 1, "pay_platform": 1})
    assert r.code == OrderCode.NOT_EXIST, r


def test_pay_wait_refund(sdk, order_no):
    no = order_no()
    r = sdk.micro_pay({"out_trade_no": no, "author_code": "139102000000000000", "total_fee": 1234,
                       "fee_type": "CNY", "body": "Demo shop - 咖啡 coffee",
                       "detail": {"goods_detail": [{"goods_id": "c1", "goods_name": "咖啡", "quantity": 2, "price": 617}]}})
    assert r.code == Code.OK, r.errmsg
    assert r.data == {"pay_platform": 1, "out_trade_no": no}
    first = sdk.query_order({"out_trade_no": no, "trade_type": 1})
    assert first.code == OrderCode.UNKNOWN, "the customer is still entering the password"
    r = sdk.wait_for_order(no, timeout=30)
    assert r.code == OrderCode.PAID, r
    assert r.data["state"] == OrderState.SUCCESS and r.data["total_fee"] == 1234 and r.data["transaction_id"]

    rno = no + "R1"
    r = sdk.refund({"pay_platform": 1, "out_trade_no": no, "out_refund_no": rno, "total_fee": 1234,
                    "refund_fee": "617", "refund_reason": "returned one coffee"})
    assert r.code == Code.OK, r.errmsg
    for _ in range(100):
        r = sdk.query_refund({"pay_platform": 1, "out_trade_no": no, "out_refund_no": rno})
        assert r.code in (Code.OK, Code.UNKNOWN), r
        if r.code == Code.OK and r.data["state"] != RefundState.PROCESSING:
            break
        __import__("time").sleep(0.2)
    assert r.data["state"] == RefundState.SUCCESS and r.data["refund_fee"] == 617 and r.data["out_refund_no"] == rno

    # Refunding more than what is left is refused by the server.
    r = sdk.refund({"pay_platform": 1, "out_trade_no": no, "out_refund_no": no + "R2", "total_fee": 1234, "refund_fee": 1000})
    assert r.code == Code.FAIL and r.errmsg


def test_scan_code_pay(sdk, sandbox, order_no):
    no = order_no("S")
    r = sdk.scan_code_pay({"pay_platform": 1, "out_trade_no": no, "total_fee": 888, "body": "tea", "product_id": "tea01"})
    assert r.code == Code.OK, r.errmsg
    r = sdk.wait_for_order(no, trade_type=2, timeout=10)
    assert r.code == OrderCode.PREPAY and r.data["code_url"].startswith("weixin://"), r
    control(sandbox, "scan", {"out_trade_no": no, "action": "Pay"})
    for _ in range(50):
        r = sdk.wait_for_order(no, trade_type=2, timeout=10)
        if r.code != OrderCode.PREPAY:
            break
        __import__("time").sleep(0.2)
    assert r.code == OrderCode.PAID and r.data["state"] == OrderState.SUCCESS
    assert control(sandbox, "charge_count", {"out_trade_no": no})["charge_count"] == 1


def test_short_buffer_grows_and_keeps_the_code(sdk, order_no):
    no = order_no("B")
    # micro_pay is never repeated: with a short buffer the code is still the real one.
    r = sdk.call("cloud_pay_micro_pay", {"out_trade_no": no, "author_code": "134567890123456789",
                                         "total_fee": 100, "body": "buffer"}, capacity=8)
    assert r.code == Code.OK and r.output == "" and "buffer too small, need" in r.errmsg
    assert sdk.wait_for_order(no, timeout=20).code == OrderCode.PAID
    full = sdk.query_order({"out_trade_no": no, "trade_type": 1})
    need = len(full.output.encode()) + 1
    # The raw rule, one call: paid stays 0, empty output, errmsg says N.
    fn = sdk._fn("cloud_pay_query_order")
    import ctypes
    buf = ctypes.create_string_buffer(b"\x5a" * 64, 64)
    assert fn(json.dumps({"out_trade_no": no}).encode(), buf, 16) == OrderCode.PAID
    assert buf.raw[0] == 0 and buf.raw[16:] == b"\x5a" * 48, "nothing written past length"
    assert f"need {need} bytes" in sdk.errmsg()
    # The binding repeats a query with the size asked for.
    r = sdk.query_order({"out_trade_no": no, "trade_type": 1}, capacity=16)
    assert r.code == OrderCode.PAID and r.output == full.output and r.errmsg == ""
    r = sdk.query_order({"out_trade_no": no, "trade_type": 1}, capacity=need)
    assert r.code == OrderCode.PAID and r.output == full.output


def test_merchant_exports(sdk, order_no):
    if not sdk.has("cloud_pay_query_shop_info"):
        pytest.skip("this library build has no shop exports yet")
    r = sdk.query_shop_info({"page_num": 1, "page_size": 100})
    assert r.code == Code.OK and any(s.get("out_shop_id") == "sz01TESTSHOP00000001" for s in r.data["shop_infos"]), r
    r = sdk.query_shop_info({"page_num": 1, "page_size": 100}, capacity=4)
    assert r.code == Code.OK and r.data["total_count"] >= 1, "grown to the size asked for"
    assert sdk.query_shop_info(None).code == Code.INTERNAL
    r = sdk.order_detail({"page_num": 1, "page_size": 10})
    assert r.code == Code.OK and r.data["total_count"] >= 1, r
    r = sdk.order_stat({"page_num": 1, "page_size": 10})
    assert r.code == Code.OK and "total_count" in r.data, r
    r = sdk.security_author_code_prefix()
    assert r.code == Code.OK and "10" in r.data["wx_author_code_prefix"], r


def test_security_login_start(sdk, sandbox, tmp_path):
    if not sdk.has("cloud_pay_security_login"):
        pytest.skip("this library build has no security-login exports yet")
    base = {"state_dir": str(tmp_path), "base_url": sandbox["CLOUDPAY_SANDBOX_HTTPS"], "ca_file": sandbox["CLOUDPAY_SANDBOX_CA"]}
    r = sdk.security_login(base)
    assert r.code == LoginCode.NEED_IDS, r
    r = sdk.security_login(base | {"pay_platform": 1, "mch_id": "1900000109", "sub_mch_id": "1900000110", "shop_id": "shop01"})
    assert r.code == LoginCode.OK and r.data["activator"] and r.data["qr_code_url"], r
    r = sdk.security_login_check({"activator": r.data["activator"]})
    assert r.code == LoginCheckCode.UNKNOWN, "nobody scanned the login QR code yet"


def test_embedded_nul_is_an_error_not_a_silent_cut(sdk):
    with pytest.raises(ValueError):
        sdk.query_order('{"out_trade_no": "x"}\0{"junk": 1}')
    with pytest.raises(ValueError):
        sdk.query_order(b'{"out_trade_no": "x"}\0')


def test_need_bytes_only_from_the_sdk_own_sentence_and_capped():
    assert cloudpay.needed_bytes("buffer too small, need 812 bytes, have 4") == 812
    # Server text inside errmsg, a huge N, or a near-miss: never a reason to allocate.
    assert cloudpay.needed_bytes("query_order: status 3, buffer too small, need 99 bytes, have 4") is None
    assert cloudpay.needed_bytes("buffer too small, need 99999999999 bytes, have 4") is None
    assert cloudpay.needed_bytes("buffer too small, need 16777217 bytes, have 4") is None
    assert cloudpay.needed_bytes("buffer too small, need 812 bytes") is None


def test_result_repr_never_prints_the_output():
    r = cloudpay.Result(LoginCheckCode.OK, '{"conf":{"trade_conf":{"authen_key":"TESTONLY-SECRET"}}}', "")
    assert "TESTONLY-SECRET" not in repr(r) and "TESTONLY-SECRET" not in str(r)
    assert r.data["conf"]["trade_conf"]["authen_key"] == "TESTONLY-SECRET"
