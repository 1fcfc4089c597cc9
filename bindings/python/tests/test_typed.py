"""The typed layer (cloudpay_typed) over the same library and sandbox as test_cashier."""
import pytest

from cloudpay import Code, OrderCode, OrderState, RefundState
from cloudpay_typed import (WAIT_INTERVAL, WAIT_TIMEOUT, MicroPayRequest, PayPlatform, RefundRequest, TradeType,
                            TypedCloudPay)


@pytest.fixture
def pay(sdk):
    return TypedCloudPay(sdk)


def test_pay_wait_partly_refund_wait(pay, order_no):
    assert (WAIT_INTERVAL, WAIT_TIMEOUT) == (1.0, 150.0), "the schedule the README documents"
    no = order_no("T")
    r = pay.micro_pay(MicroPayRequest(out_trade_no=no, author_code="139101000000000000", total_fee=300, body="tea"))
    assert r.code is Code.OK and r.pay_platform is PayPlatform.WECHAT_PAY and not r.nothing_sent, r
    order = pay.wait_for_order(no, TradeType.MICRO_PAY, interval=0.2, timeout=30)
    assert order.code is OrderCode.PAID and order.state is OrderState.SUCCESS, order
    assert order.total_fee == 300 and order.transaction_id

    rno = no + "R1"
    assert pay.refund(RefundRequest(out_trade_no=no, out_refund_no=rno, total_fee=300, refund_fee=100)).code is Code.OK
    refund = pay.wait_for_refund(no, rno, interval=0.2, timeout=30)
    assert refund.code is Code.OK and refund.state is RefundState.SUCCESS and refund.refund_fee == 100, refund

    order = pay.query_order(no)
    assert order.code is OrderCode.CLOSED and (order.refunded_fee, order.refund_count) == (100, 1), order
    assert "partly refunded" in order.errmsg


def test_a_failed_payment_carries_the_reason(pay, order_no):
    no = order_no("T")
    assert pay.micro_pay(MicroPayRequest(no, "139300200000000000", 50, "tea")).code is Code.OK
    order = pay.wait_for_order(no, interval=0.2, timeout=30)
    assert order.code is OrderCode.FAILED and "insufficient balance" in order.errmsg, order
    assert order.trade_state_desc and "insufficient balance" in order.trade_state_desc


def test_amounts_must_be_integers_in_fen(pay, order_no):
    with pytest.raises(TypeError, match=r"integers in fen \(1234 = 12.34 CNY\)"):
        pay.micro_pay(MicroPayRequest(order_no("T"), "134567890123456789", 12.34, "tea"))
    with pytest.raises(TypeError, match="refund_fee"):
        pay.refund(RefundRequest(order_no("T"), 100, 1.0))
