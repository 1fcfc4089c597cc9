package cloudpay.demo;

import cloudpay.CloudPay;
import cloudpay.CloudPay.Code;
import cloudpay.CloudPay.OrderCode;
import cloudpay.CloudPay.OrderState;
import cloudpay.CloudPay.RefundState;
import cloudpay.CloudPay.Result;

/**
 * Cashier demo in Java through the JNI binding, against the sandbox: init, micro_pay, wait for
 * the result, refund, query_refund, then a scan-code payment. Exit status 0 when all went as expected.
 */
public final class CashierDemo {
    private static int failures;

    static void expect(boolean ok, String what) {
        if (!ok) { failures++; System.err.println("FAILED: " + what + " | errmsg: " + CloudPay.errmsg()); }
    }

    public static void main(String[] args) throws Exception {
        System.out.println("[1] init (demo merchant, TEST-ONLY keys)");
        Result<Code> init = CloudPay.init(DemoSupport.conf());
        expect(init.code == Code.OK, "init " + init);

        String no = DemoSupport.orderNo("J");
        System.out.println("[2] microPay " + no + ", 12.34 CNY, WeChat payment code 139102... (pays after 2 s)");
        Result<Code> pay = CloudPay.microPay("{\"out_trade_no\":\"" + no + "\",\"author_code\":\"139102000000000000\","
            + "\"total_fee\":1234,\"fee_type\":\"CNY\",\"body\":\"Demo shop - 咖啡 coffee 😀\"}");
        System.out.println("    -> " + pay);
        expect(pay.code == Code.OK, "micro_pay accepted");

        System.out.println("[3] waitForOrder");
        Result<OrderCode> order = CloudPay.waitForOrder(no, 1, 30_000);
        expect(order.code == OrderCode.PAID, "paid " + order);
        expect(DemoSupport.integer(order.output, "state") == OrderState.SUCCESS.value, "state SUCCESS");
        System.out.println("    " + order.code + ": transaction_id " + DemoSupport.field(order.output, "transaction_id"));

        String rno = no + "R1";
        System.out.println("[4] refund 6.17 CNY as " + rno);
        Result<Code> refund = CloudPay.refund("{\"pay_platform\":1,\"out_trade_no\":\"" + no + "\",\"out_refund_no\":\"" + rno
            + "\",\"total_fee\":1234,\"refund_fee\":617,\"refund_reason\":\"returned one coffee\"}");
        expect(refund.code == Code.OK, "refund accepted " + refund);

        System.out.println("[5] queryRefund until final");
        Result<Code> q;
        long state;
        int tries = 0;
        do {
            q = CloudPay.queryRefund("{\"pay_platform\":1,\"out_trade_no\":\"" + no + "\",\"out_refund_no\":\"" + rno + "\"}");
            state = DemoSupport.integer(q.output, "state");
            if (q.code == Code.UNKNOWN || state == RefundState.PROCESSING.value) Thread.sleep(300);
        } while ((q.code == Code.UNKNOWN || state == RefundState.PROCESSING.value) && ++tries < 100);
        expect(q.code == Code.OK && state == RefundState.SUCCESS.value, "refund SUCCESS " + q);
        System.out.println("    refund state " + state + ", refund_fee " + DemoSupport.field(q.output, "refund_fee"));

        String sno = DemoSupport.orderNo("J");
        System.out.println("[6] scanCodePay " + sno + ", 8.88 CNY");
        expect(CloudPay.scanCodePay("{\"pay_platform\":1,\"out_trade_no\":\"" + sno + "\",\"total_fee\":888,\"body\":\"tea\",\"product_id\":\"tea01\"}").code == Code.OK, "scan_code_pay accepted");
        Result<OrderCode> pre = CloudPay.waitForOrder(sno, 2, 10_000);
        expect(pre.code == OrderCode.PREPAY, "prepay " + pre);
        System.out.println("    PREPAY: show " + DemoSupport.field(pre.output, "code_url") + " as a QR code");
        expect(DemoSupport.control("scan", "{\"out_trade_no\":\"" + sno + "\",\"action\":\"Pay\"}") == 200, "sandbox scan");
        Result<OrderCode> paid;
        tries = 0;
        do { paid = CloudPay.waitForOrder(sno, 2, 10_000); if (paid.code == OrderCode.PREPAY) Thread.sleep(300); }
        while (paid.code == OrderCode.PREPAY && ++tries < 50);
        expect(paid.code == OrderCode.PAID, "scan-code paid " + paid);
        System.out.println("    " + paid.code);

        expect(CloudPay.fini() == Code.OK, "fini");
        System.out.println(failures == 0 ? "Java cashier demo: OK" : "Java cashier demo: " + failures + " check(s) FAILED");
        System.exit(failures == 0 ? 0 : 1);
    }
}
