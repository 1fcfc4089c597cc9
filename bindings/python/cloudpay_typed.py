"""Typed requests and results over ``cloudpay`` (the raw JSON calls stay available there).

    from cloudpay_typed import TypedCloudPay, MicroPayRequest, RefundRequest

    pay = TypedCloudPay(CloudPay())       # or TypedCloudPay() to load the library itself
    pay.init(conf)
    r = pay.micro_pay(MicroPayRequest(out_trade_no=no, author_code=code, total_fee=1234, body="coffee"))
    order = pay.wait_for_order(no)        # the documented schedule, see WAIT_INTERVAL / WAIT_TIMEOUT
    if order.code is OrderCode.UNKNOWN:   # still unknown after the window: ask again later,
        ...                               # NEVER charge again with a new order number

Requests are dataclasses turned into JSON with the standard ``json`` module; amounts are integers
in fen (1234 = 12.34 CNY) and a float is refused before anything is sent.
"""

from __future__ import annotations

import enum
import time
from dataclasses import dataclass, field, fields
from typing import Any, Dict, Optional

from cloudpay import CloudPay, Code, OrderCode, OrderState, RefundState, Result

__all__ = ["PayPlatform", "TradeType", "MicroPayRequest", "RefundRequest", "PayResult", "Order", "CallResult",
           "Refund", "TypedCloudPay", "WAIT_INTERVAL", "WAIT_TIMEOUT", "REFUND_WAIT_TIMEOUT"]

#: How often wait_for_order asks (seconds). The SDK also polls in the background and answers
#: final states from memory, so asking every second costs the network nothing once final.
WAIT_INTERVAL = 1.0
#: How long wait_for_order asks: the SDK's default polling window after micro_pay (25 × 6 s).
WAIT_TIMEOUT = 150.0
#: How long wait_for_refund asks.
REFUND_WAIT_TIMEOUT = 60.0


class PayPlatform(enum.IntEnum):
    WECHAT_PAY = 1
    ALIPAY = 2


class TradeType(enum.IntEnum):
    MICRO_PAY = 1
    SCAN_CODE = 2


def _amount(name: str, value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"{name}: amounts are integers in fen (1234 = 12.34 CNY), got {value!r}")
    return value


def _request(obj: Any) -> Dict[str, Any]:
    """The dataclass as a request dict: None members left out, enums as their numbers."""
    out = {}
    for f in fields(obj):
        v = getattr(obj, f.name)
        if v is not None:
            out[f.name] = int(v) if isinstance(v, enum.IntEnum) else v
    return out


@dataclass
class MicroPayRequest:
    out_trade_no: str
    author_code: str
    total_fee: int
    body: str
    fee_type: str = "CNY"
    pay_platform: Optional[PayPlatform] = None  # inferred from the payment code when None
    attach: Optional[str] = None
    goods_tag: Optional[str] = None
    detail: Optional[Dict[str, Any]] = None

    def to_json(self) -> Dict[str, Any]:
        _amount("total_fee", self.total_fee)
        return _request(self)


@dataclass
class RefundRequest:
    out_trade_no: str
    total_fee: int
    refund_fee: int
    out_refund_no: Optional[str] = None  # generated (and reused on a retry) when None
    pay_platform: Optional[PayPlatform] = None
    refund_reason: Optional[str] = None

    def to_json(self) -> Dict[str, Any]:
        _amount("total_fee", self.total_fee)
        _amount("refund_fee", self.refund_fee)
        return _request(self)


def _enum(enum_type, value):
    try:
        return enum_type(value)
    except (ValueError, TypeError):
        return None


@dataclass
class PayResult:
    """micro_pay: OK = accepted or outcome unknown (wait for the order); FAIL = not accepted
    (never cancel it); ``nothing_sent``: FAIL because no byte reached a server — fix the cause
    (errmsg) and pay again."""
    code: Code
    out_trade_no: Optional[str]
    pay_platform: Optional[PayPlatform]
    errmsg: str

    @property
    def nothing_sent(self) -> bool:
        return self.code == Code.FAIL and self.errmsg.startswith("nothing was sent")


@dataclass
class Order:
    """query_order's answer, typed; ``raw`` holds every member of the output."""
    code: OrderCode
    out_trade_no: Optional[str]
    state: Optional[OrderState]
    total_fee: Optional[int]
    transaction_id: Optional[str]
    trade_state_desc: Optional[str]
    refunded_fee: Optional[int]
    refund_count: Optional[int]
    code_url: Optional[str]
    errmsg: str
    raw: Dict[str, Any] = field(default_factory=dict)

    @property
    def final(self) -> bool:
        return self.code not in (OrderCode.UNKNOWN, OrderCode.PREPAY)

    @classmethod
    def from_result(cls, r: Result) -> "Order":
        d = r.data if isinstance(r.data, dict) else {}
        return cls(code=r.code, out_trade_no=d.get("out_trade_no"), state=_enum(OrderState, d.get("state")),
                   total_fee=d.get("total_fee"), transaction_id=d.get("transaction_id"),
                   trade_state_desc=d.get("trade_state_desc"), refunded_fee=d.get("refunded_fee"),
                   refund_count=d.get("refund_count"), code_url=d.get("code_url"), errmsg=r.errmsg, raw=d)


@dataclass
class CallResult:
    """refund (and cancel): OK accepted, FAIL not accepted, UNKNOWN: retry with the same numbers."""
    code: Code
    errmsg: str


@dataclass
class Refund:
    """query_refund's answer for one refund, typed."""
    code: Code
    out_trade_no: Optional[str]
    out_refund_no: Optional[str]
    refund_fee: Optional[int]
    state: Optional[RefundState]
    errmsg: str
    raw: Dict[str, Any] = field(default_factory=dict)

    @classmethod
    def from_result(cls, r: Result) -> "Refund":
        d = r.data if isinstance(r.data, dict) else {}
        return cls(code=r.code, out_trade_no=d.get("out_trade_no"), out_refund_no=d.get("out_refund_no"),
                   refund_fee=d.get("refund_fee"), state=_enum(RefundState, d.get("state")), errmsg=r.errmsg, raw=d)


class TypedCloudPay:
    """The SDK's trade calls with typed requests and results."""

    def __init__(self, sdk: Optional[CloudPay] = None):
        self.sdk = sdk if sdk is not None else CloudPay()

    def init(self, conf: Any) -> CallResult:
        r = self.sdk.init(conf)
        return CallResult(r.code, r.errmsg)

    def micro_pay(self, req: MicroPayRequest) -> PayResult:
        r = self.sdk.micro_pay(req.to_json())
        d = r.data if isinstance(r.data, dict) else {}
        return PayResult(r.code, d.get("out_trade_no", req.out_trade_no), _enum(PayPlatform, d.get("pay_platform")),
                         r.errmsg)

    def query_order(self, out_trade_no: str, trade_type: TradeType = TradeType.MICRO_PAY) -> Order:
        return Order.from_result(self.sdk.query_order({"out_trade_no": out_trade_no, "trade_type": int(trade_type)}))

    def wait_for_order(self, out_trade_no: str, trade_type: TradeType = TradeType.MICRO_PAY,
                       interval: float = WAIT_INTERVAL, timeout: float = WAIT_TIMEOUT) -> Order:
        """Asks every ``interval`` seconds until the result is final or ``timeout`` passes, and
        returns the last answer. Still UNKNOWN then: the customer may yet pay — keep the order,
        ask again later; never charge again with a new number, never cancel after FAIL."""
        deadline = time.monotonic() + timeout
        while True:
            order = self.query_order(out_trade_no, trade_type)
            if order.final or time.monotonic() >= deadline:
                return order
            time.sleep(interval)

    def refund(self, req: RefundRequest) -> CallResult:
        r = self.sdk.refund(req.to_json())
        return CallResult(r.code, r.errmsg)

    def query_refund(self, out_trade_no: str, out_refund_no: Optional[str] = None) -> Refund:
        req = {"out_trade_no": out_trade_no}
        if out_refund_no:
            req["out_refund_no"] = out_refund_no
        return Refund.from_result(self.sdk.query_refund(req))

    def wait_for_refund(self, out_trade_no: str, out_refund_no: str, interval: float = WAIT_INTERVAL,
                        timeout: float = REFUND_WAIT_TIMEOUT) -> Refund:
        """Asks until the refund is SUCCESS or FAILED (or ``timeout``); an UNKNOWN or PROCESSING
        answer at the end means: ask again later, never refund again with a new number."""
        deadline = time.monotonic() + timeout
        while True:
            refund = self.query_refund(out_trade_no, out_refund_no)
            done = refund.code == Code.OK and refund.state in (RefundState.SUCCESS, RefundState.FAILED)
            if done or time.monotonic() >= deadline:
                return refund
            time.sleep(interval)
