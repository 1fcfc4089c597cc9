"""ctypes binding of the Cloud Pay SDK (CloudPayAPI_SDK_CPP), the drop-in replacement of
Tencent Cloud Pay's Windows payment SDK.

JSON goes in and out as UTF-8 bytes; every return code is an IntEnum; output buffers grow by
themselves when the SDK says "buffer too small, need N bytes" (only for calls that are safe to
repeat, see ``_EXPORTS``); ``cloud_pay_get_errmsg`` is read as a pointer and never freed.

    sdk = CloudPay()                      # finds the library, see CloudPay.__init__
    sdk.init(conf)                        # dict or JSON text
    r = sdk.micro_pay({...})              # Result(code=Code.OK, data={...}, errmsg='')
"""

from __future__ import annotations

import ctypes
import enum
import json
import os
import re
import sys
import time
from dataclasses import dataclass, field
from typing import Any, Optional, Union

__all__ = ["Code", "OrderCode", "OrderState", "RefundState", "LoginCode", "LoginCheckCode", "Result", "CloudPay",
           "CloudPayError"]


class Code(enum.IntEnum):
    """Return codes of every export except query_order (CLOUD_PAY_*)."""
    OK = 0
    FAIL = -1
    UNKNOWN = -2
    INTERNAL = -3


class OrderCode(enum.IntEnum):
    """Return codes of cloud_pay_query_order (CLOUD_PAY_ORDER_*)."""
    PAID = 0
    FAILED = -1
    UNKNOWN = -2
    ERROR = -3
    CLOSED = -4
    PREPAY = -5
    REENTRY = -6
    NOT_EXIST = -7


class OrderState(enum.IntEnum):
    """`state` in query_order output (CLOUD_PAY_STATE_*)."""
    INIT = 1
    USER_PAYING = 2
    SUCCESS = 3
    FAIL = 4
    REVERSE = 5
    REFUND = 6
    CLOSED = 7
    REENTRY = 8
    UNKNOWN = 9
    PRE_ORDERED = 10


class RefundState(enum.IntEnum):
    """`state` in query_refund output (CLOUD_PAY_REFUND_*)."""
    PROCESSING = 1
    SUCCESS = 2
    FAILED = 3


class LoginCode(enum.IntEnum):
    """Return codes of cloud_pay_security_login (CLOUD_PAY_LOGIN_* where the name is login-specific)."""
    OK = 0
    NEED_IDS = 1
    UNKNOWN = -2
    INTERNAL = -3


class LoginCheckCode(enum.IntEnum):
    """Return codes of cloud_pay_security_login_check."""
    OK = 0
    NO_CONF = 1
    REJECTED = -1
    UNKNOWN = -2
    INTERNAL = -3
    EXPIRED = -4


class CloudPayError(Exception):
    """The library could not be loaded or an export is missing."""


@dataclass
class Result:
    """One call's outcome: the typed code, the output JSON (text and parsed) and errmsg. repr()
    leaves the output out: it can hold decrypted keys (security_login_check's conf)."""
    code: enum.IntEnum
    output: str = field(default="", repr=False)
    errmsg: str = ""

    @property
    def data(self) -> Any:
        """The output parsed as JSON, or None when there is none."""
        try:
            return json.loads(self.output) if self.output else None
        except ValueError:
            return None

    @property
    def ok(self) -> bool:
        return self.code == 0


# One row per export: name -> (argument shape, code enum, safe to repeat, initial capacity).
# Shapes: "in" (req), "in_out" (req, buf, length), "out" (buf, length).
# Adding an export is one line here (a stdcall one is also listed in _STDCALL).
_EXPORTS = {
    "cloud_pay_init": ("in", Code, False, 0),
    "cloud_pay_micro_pay": ("in_out", Code, False, 4096),          # never repeated: it submits a payment
    "cloud_pay_query_order": ("in_out", OrderCode, True, 4096),
    "cloud_pay_cancel_order": ("in", Code, False, 0),
    "cloud_pay_scan_code_pay": ("in", Code, False, 0),
    "cloud_pay_refund": ("in", Code, False, 0),
    "cloud_pay_query_refund": ("in_out", Code, True, 4096),
    "cloud_pay_query_shop_info": ("in_out", Code, True, 65536),
    "cloud_pay_set_shop_info": ("in_out", Code, False, 262144),     # changes shops: not repeated
    "cloud_pay_order_detail": ("in_out", Code, True, 65536),
    "cloud_pay_order_stat": ("in_out", Code, True, 65536),
    "cloud_pay_security_author_code_prefix": ("out", Code, True, 1024),
    "cloud_pay_security_login": ("in_out", LoginCode, False, 4096),        # starts a login: not repeated
    "cloud_pay_security_login_check": ("in_out", LoginCheckCode, True, 65536),
    "cloud_pay_security_init": ("in", Code, False, 0),
    "cloud_pay_security_identification": ("in_out", Code, False, 4096),  # starts a check: not repeated
    "cloud_pay_security_identification_check": ("in_out", Code, True, 8192),
}
# __stdcall on 32-bit Windows (docs/c-api.md, "Calling convention"); cdecl everywhere else.
_STDCALL = {"cloud_pay_order_stat"}

# Only the SDK's own sentence, whole: errmsg may carry server text ("need 99999999999 bytes").
_NEED = re.compile(r"buffer too small, need (\d{1,9}) bytes, have \d+")
# The most a repeat may ask for; no reply of this SDK comes near it.
MAX_OUTPUT = 16 * 1024 * 1024


def needed_bytes(errmsg: str) -> Optional[int]:
    """N from the SDK's exact "buffer too small, need N bytes, have M" errmsg, or None (any
    other text, or N above MAX_OUTPUT)."""
    m = _NEED.fullmatch(errmsg)
    n = int(m.group(1)) if m else 0
    return n if 0 < n <= MAX_OUTPUT else None


def _default_library() -> str:
    env = os.environ.get("CLOUDPAY_SDK_LIB")
    if env:
        return env
    if sys.platform == "win32":
        name = "CloudPayAPI_SDK_CPP.dll"
    elif sys.platform == "darwin":
        name = "libCloudPayAPI_SDK_CPP.dylib"
    else:
        name = "libCloudPayAPI_SDK_CPP.so"
    # The wheel (cloudpay-sdk) packs the library beside this file; a path, so the loader's
    # search path cannot substitute another copy.
    beside = os.path.join(os.path.dirname(os.path.abspath(__file__)), name)
    return beside if os.path.isfile(beside) else name


def _json_bytes(value: Union[str, bytes, dict, list, None]) -> Optional[bytes]:
    if value is None:
        return None                      # passes NULL (the SDK answers with an errmsg)
    if isinstance(value, bytes):
        data = value
    elif isinstance(value, str):
        data = value.encode("utf-8")
    else:
        return json.dumps(value, ensure_ascii=False).encode("utf-8")  # escapes NUL as \u0000
    if b"\0" in data:
        # C would read only up to it: refuse rather than send a silently cut request.
        raise ValueError("request text contains a NUL character")
    return data


class CloudPay:
    """The SDK's exports with typed codes. One per process is enough (the SDK is global)."""

    def __init__(self, library: Optional[str] = None):
        """`library`: a path or a name for the dynamic loader; default $CLOUDPAY_SDK_LIB, else
        libCloudPayAPI_SDK_CPP.so / CloudPayAPI_SDK_CPP.dll beside this file (as the wheel
        installs it), else that name on the loader's path."""
        path = library or _default_library()
        try:
            self._cdecl = ctypes.CDLL(path)
            self._stdcall = ctypes.WinDLL(path) if sys.platform == "win32" else self._cdecl  # type: ignore[attr-defined]
        except OSError as e:
            raise CloudPayError(f"cannot load the Cloud Pay SDK library {path!r}: {e}") from e
        self._errmsg = self._cdecl.cloud_pay_get_errmsg
        self._errmsg.argtypes = []
        self._errmsg.restype = ctypes.c_void_p   # a pointer: read, never freed by ctypes
        self._fini = self._cdecl.cloud_pay_fini
        self._fini.argtypes = []
        self._fini.restype = ctypes.c_int

    def _fn(self, name: str):
        lib = self._stdcall if name in _STDCALL else self._cdecl
        try:
            fn = getattr(lib, name)
        except AttributeError as e:
            raise CloudPayError(f"{name} is not exported by this library version") from e
        shape = _EXPORTS[name][0]
        fn.argtypes = {
            "in": [ctypes.c_char_p],
            "in_out": [ctypes.c_char_p, ctypes.c_char_p, ctypes.c_int],
            "out": [ctypes.c_char_p, ctypes.c_int],
        }[shape]
        fn.restype = ctypes.c_int
        return fn

    def has(self, name: str) -> bool:
        """Whether this library build exports `name` (e.g. before newer exports landed)."""
        return hasattr(self._cdecl, name)

    def errmsg(self) -> str:
        """This thread's errmsg (UTF-8, owned by the SDK)."""
        p = self._errmsg()
        return ctypes.string_at(p).decode("utf-8", "replace") if p else ""

    def call(self, name: str, req: Any = None, capacity: Optional[int] = None) -> Result:
        """Calls export `name`. `capacity` overrides the initial output buffer size; a call that
        is safe to repeat is repeated once with the size the SDK asks for when it was too small."""
        shape, enum_type, repeatable, default_cap = _EXPORTS[name]
        fn = self._fn(name)
        arg = _json_bytes(req)
        if shape == "in":
            code = fn(arg)
            # errmsg is read on success too: init's notice (unknown keys, a failed connectivity
            # check) comes with code 0.
            return Result(_typed(enum_type, code), "", self.errmsg())
        size = capacity if capacity is not None else default_cap
        for _ in range(2):
            buf = ctypes.create_string_buffer(max(size, 1))
            code = fn(arg, buf, size) if shape == "in_out" else fn(buf, size)
            msg = self.errmsg()
            need = needed_bytes(msg) if not buf.value else None
            if need and repeatable and need > size:
                size = need
                continue
            return Result(_typed(enum_type, code), buf.value.decode("utf-8", "replace"), msg)
        return Result(_typed(enum_type, code), buf.value.decode("utf-8", "replace"), msg)

    # The exports, typed. Requests are dicts (or JSON text / UTF-8 bytes).
    def init(self, conf: Any) -> Result:
        return self.call("cloud_pay_init", conf)

    def fini(self) -> Code:
        return Code(self._fini())

    def micro_pay(self, req: Any) -> Result:
        return self.call("cloud_pay_micro_pay", req)

    def query_order(self, req: Any, capacity: Optional[int] = None) -> Result:
        return self.call("cloud_pay_query_order", req, capacity)

    def cancel_order(self, req: Any) -> Result:
        return self.call("cloud_pay_cancel_order", req)

    def scan_code_pay(self, req: Any) -> Result:
        return self.call("cloud_pay_scan_code_pay", req)

    def refund(self, req: Any) -> Result:
        return self.call("cloud_pay_refund", req)

    def query_refund(self, req: Any, capacity: Optional[int] = None) -> Result:
        return self.call("cloud_pay_query_refund", req, capacity)

    def query_shop_info(self, req: Any, capacity: Optional[int] = None) -> Result:
        return self.call("cloud_pay_query_shop_info", req, capacity)

    def set_shop_info(self, req: Any) -> Result:
        return self.call("cloud_pay_set_shop_info", req)

    def order_detail(self, req: Any, capacity: Optional[int] = None) -> Result:
        return self.call("cloud_pay_order_detail", req, capacity)

    def order_stat(self, req: Any, capacity: Optional[int] = None) -> Result:
        return self.call("cloud_pay_order_stat", req, capacity)

    def security_author_code_prefix(self, capacity: Optional[int] = None) -> Result:
        return self.call("cloud_pay_security_author_code_prefix", None, capacity)

    def security_login(self, req: Any) -> Result:
        return self.call("cloud_pay_security_login", req)

    def security_login_check(self, req: Any, capacity: Optional[int] = None) -> Result:
        return self.call("cloud_pay_security_login_check", req, capacity)

    def security_init(self, conf: Any) -> Result:
        return self.call("cloud_pay_security_init", conf)

    def security_identification(self, req: Any) -> Result:
        return self.call("cloud_pay_security_identification", req)

    def security_identification_check(self, req: Any, capacity: Optional[int] = None) -> Result:
        return self.call("cloud_pay_security_identification_check", req, capacity)

    def wait_for_order(self, out_trade_no: str, trade_type: int = 1, timeout: float = 60.0,
                       interval: float = 0.5) -> Result:
        """Queries the order until its result is final (anything but -2 UNKNOWN) or `timeout`
        passes; then returns the last answer (-2 means: still unknown, keep asking later —
        never charge the customer again with a new order number)."""
        deadline = time.monotonic() + timeout
        while True:
            r = self.query_order({"out_trade_no": out_trade_no, "trade_type": trade_type})
            if r.code != OrderCode.UNKNOWN or time.monotonic() >= deadline:
                return r
            time.sleep(interval)


def _typed(enum_type, code: int):
    try:
        return enum_type(code)
    except ValueError:
        return code  # an undocumented code is passed through as a plain int
