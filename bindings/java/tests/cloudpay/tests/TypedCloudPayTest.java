package cloudpay.tests;

import cloudpay.CloudPay;
import cloudpay.CloudPay.Code;
import cloudpay.CloudPay.OrderCode;
import cloudpay.CloudPay.OrderState;
import cloudpay.CloudPay.RefundState;
import cloudpay.TypedCloudPay;
import cloudpay.TypedCloudPay.CallResult;
import cloudpay.TypedCloudPay.MicroPayRequest;
import cloudpay.TypedCloudPay.Order;
import cloudpay.TypedCloudPay.PayPlatform;
import cloudpay.TypedCloudPay.PayResult;
import cloudpay.TypedCloudPay.Refund;
import cloudpay.TypedCloudPay.RefundRequest;
import cloudpay.TypedCloudPay.ScanCodePayRequest;
import cloudpay.TypedCloudPay.TradeType;
import cloudpay.demo.DemoSupport;
import com.google.gson.JsonParser;
import java.math.BigDecimal;
import java.time.Duration;
import java.util.concurrent.CancellationException;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

/**
 * Tests of the typed layer (TypedCloudPay) against the real library and the sandbox: pay ->
 * wait -> paid, a failing customer's reason, unknown stays unknown (not charged, left open),
 * partial refund -> wait, scan-code pay, the CompletableFuture variants, amounts in fen.
 */
public final class TypedCloudPayTest {
    private static int checks, failures;
    private static final Duration FAST = Duration.ofMillis(200);
    private static final Duration LONG = Duration.ofSeconds(30);

    static void expect(boolean ok, String what) {
        checks++;
        if (!ok) { failures++; System.err.println("FAILED: " + what); }
    }

    static long chargeCount(String no) throws Exception {
        String reply = DemoSupport.controlReply("charge_count", "{\"out_trade_no\":\"" + no + "\"}");
        return JsonParser.parseString(reply).getAsJsonObject().get("charge_count").getAsLong();
    }

    /** The threads inside TypedCloudPay's wait loop, by name. */
    static String askingThreads() {
        StringBuilder names = new StringBuilder();
        for (java.util.Map.Entry<Thread, StackTraceElement[]> e : Thread.getAllStackTraces().entrySet())
            for (StackTraceElement f : e.getValue())
                if (f.getClassName().equals("cloudpay.TypedCloudPay") && f.getMethodName().equals("waitFor")) {
                    names.append(e.getKey().getName()).append(' ');
                    break;
                }
        return names.toString().trim();
    }

    /** Test cleanup: reverses an order left unknown, so that no unfinished order stays in the
     *  journal of the state dir the next program shares (its init would report it). */
    static void reverse(String no) {
        CloudPay.Result<Code> r = CloudPay.cancelOrder("{\"out_trade_no\":\"" + no + "\",\"trade_type\":1}");
        expect(r.code == Code.OK, "cleanup: reverse " + no + ": " + r);
    }

    static void schedule() {
        expect(TypedCloudPay.WAIT_INTERVAL.equals(Duration.ofSeconds(1)) && TypedCloudPay.WAIT_TIMEOUT.equals(Duration.ofSeconds(150))
            && TypedCloudPay.REFUND_WAIT_TIMEOUT.equals(Duration.ofSeconds(60)), "the schedule the README documents (1 s, 150 s, 60 s)");
    }

    static void requestJson() {
        String json = new MicroPayRequest("sz0100testJ1", "134567890123456789", 1234, "咖啡 \"coffee\" 😀 <b>").toJson();
        expect(json.equals("{\"out_trade_no\":\"sz0100testJ1\",\"author_code\":\"134567890123456789\",\"total_fee\":1234,\"body\":\"咖啡 \\\"coffee\\\" 😀 <b>\"}"),
            "micro_pay request JSON, null members left out: " + json);
        RefundRequest r = new RefundRequest("sz0100testJ1", 1234, 617);
        r.payPlatform = PayPlatform.ALIPAY;
        json = r.toJson();
        expect(json.equals("{\"out_trade_no\":\"sz0100testJ1\",\"total_fee\":1234,\"refund_fee\":617,\"pay_platform\":2}"), "refund request JSON, platform as its number: " + json);
    }

    static void resultsTolerateOddOutput() {
        Order o = Order.parse(OrderCode.PAID, "{\"state\":\"x\"}", "");
        expect(o.code == OrderCode.PAID && o.state == null && o.output.equals("{\"state\":\"x\"}"), "unparsable member: code kept, member null");
        o = Order.parse(OrderCode.UNKNOWN, "{\"state\":99,\"total_fee\":5}", "x");
        expect(o.state == null && Long.valueOf(5).equals(o.totalFee) && o.errmsg.equals("x"), "undocumented state: null");
        o = Order.parse(OrderCode.ERROR, "not json", "not initialised");
        expect(o.code == OrderCode.ERROR && o.outTradeNo == null && o.json.size() == 0, "output that is not JSON");
    }

    static void payWaitPartlyRefundWait() throws Exception {
        String no = DemoSupport.orderNo("TP");
        // 139101…: the customer pays after 1 s.
        PayResult pay = TypedCloudPay.microPay(new MicroPayRequest(no, "139101000000000000", 300, "tea 茶"));
        expect(pay.code == Code.OK && no.equals(pay.outTradeNo) && pay.payPlatform == PayPlatform.WECHAT_PAY && !pay.nothingSent(), "micro_pay accepted: " + pay);
        Order order = TypedCloudPay.waitForOrder(no, TradeType.MICRO_PAY, FAST, LONG);
        expect(order.code == OrderCode.PAID && order.state == OrderState.SUCCESS && order.isFinal(), "paid, state SUCCESS: " + order);
        expect(no.equals(order.outTradeNo) && Long.valueOf(300).equals(order.totalFee) && order.transactionId != null && !order.transactionId.isEmpty(),
            "order members: " + order.totalFee + " " + order.transactionId);
        expect(chargeCount(no) == 1, "charged once");

        String rno = no + "R1";
        RefundRequest req = new RefundRequest(no, 300, 100);
        req.outRefundNo = rno;
        req.refundReason = "one cup";
        CallResult refund = TypedCloudPay.refund(req);
        expect(refund.code == Code.OK, "refund accepted: " + refund);
        Refund done = TypedCloudPay.waitForRefund(no, rno, FAST, LONG);
        expect(done.code == Code.OK && done.state == RefundState.SUCCESS && Long.valueOf(100).equals(done.refundFee) && rno.equals(done.outRefundNo) && done.isFinal(),
            "refund SUCCESS: " + done);

        order = TypedCloudPay.queryOrder(no);
        expect(order.code == OrderCode.CLOSED && Long.valueOf(100).equals(order.refundedFee) && Long.valueOf(1).equals(order.refundCount),
            "partly refunded order: " + order + " " + order.refundedFee + "/" + order.refundCount);
        expect(order.errmsg.contains("partly refunded"), "errmsg says partly refunded: " + order.errmsg);
    }

    static void failedPaymentCarriesTheReason() throws Exception {
        String no = DemoSupport.orderNo("TF");
        // 139300 2…: insufficient balance after 0.2 s.
        expect(TypedCloudPay.microPay(new MicroPayRequest(no, "139300200000000000", 50, "tea")).code == Code.OK, "micro_pay accepted");
        Order order = TypedCloudPay.waitForOrder(no, TradeType.MICRO_PAY, FAST, LONG);
        expect(order.code == OrderCode.FAILED && order.isFinal() && order.errmsg.contains("insufficient balance"), "failed with the reason in errmsg: " + order);
        expect(order.tradeStateDesc != null && order.tradeStateDesc.contains("insufficient balance"), "trade_state_desc: " + order.tradeStateDesc);
    }

    static void unknownStaysUnknown() throws Exception {
        String no = DemoSupport.orderNo("TU");
        // 139400…: the customer never confirms.
        expect(TypedCloudPay.microPay(new MicroPayRequest(no, "139400000000000000", 70, "tea")).code == Code.OK, "micro_pay accepted");
        long t0 = System.nanoTime();
        Order order = TypedCloudPay.waitForOrder(no, TradeType.MICRO_PAY, FAST, Duration.ofSeconds(2));
        double s = (System.nanoTime() - t0) / 1e9;
        expect(order.code == OrderCode.UNKNOWN && !order.isFinal(), "still unknown after the window: " + order);
        expect(s >= 1.9 && s < 10, "asked until the deadline, then stopped: " + s + " s");
        expect(chargeCount(no) == 0, "nothing charged while the customer has not confirmed");
        expect(TypedCloudPay.queryOrder(no).code == OrderCode.UNKNOWN, "the order is left open: asked again later, still unknown");
        reverse(no);
    }

    static void scanCodePay() throws Exception {
        String no = DemoSupport.orderNo("TS");
        ScanCodePayRequest req = new ScanCodePayRequest(PayPlatform.WECHAT_PAY, no, 888, "tea");
        req.productId = "tea01";
        PayResult r = TypedCloudPay.scanCodePayAsync(req).get(30, TimeUnit.SECONDS);
        expect(r.code == Code.OK && r.payPlatform == PayPlatform.WECHAT_PAY, "scan_code_pay accepted: " + r);
        Order pre = TypedCloudPay.queryOrder(no, TradeType.SCAN_CODE);
        expect(pre.code == OrderCode.PREPAY && !pre.isFinal() && pre.codeUrl != null && !pre.codeUrl.isEmpty(), "prepay with code_url: " + pre);
        CompletableFuture<Order> paid = TypedCloudPay.waitForOrderAsync(no, TradeType.SCAN_CODE, FAST, LONG, TypedCloudPay.worker());
        DemoSupport.control("scan", "{\"out_trade_no\":\"" + no + "\",\"action\":\"Pay\"}");
        Order o = paid.get(60, TimeUnit.SECONDS);
        expect(o.code == OrderCode.PAID && Long.valueOf(888).equals(o.totalFee), "scan-code order paid once scanned: " + o);
    }

    static void asyncVariants() throws Exception {
        String no = DemoSupport.orderNo("TA");
        PayResult pay = TypedCloudPay.microPayAsync(new MicroPayRequest(no, "139101000000000000", 200, "async")).get(30, TimeUnit.SECONDS);
        expect(pay.code == Code.OK, "microPayAsync accepted: " + pay);
        CompletableFuture<Order> wait = TypedCloudPay.waitForOrderAsync(no, TradeType.MICRO_PAY);
        expect(!wait.isDone(), "waitForOrderAsync returns before the customer has paid");
        Thread.sleep(100);
        String asking = askingThreads();
        expect(asking.startsWith("cloudpay-worker-"), "the wait runs on a cloudpay worker thread: '" + asking + "'");
        Order order = wait.get(60, TimeUnit.SECONDS);
        expect(order.code == OrderCode.PAID && Long.valueOf(200).equals(order.totalFee), "waitForOrderAsync: paid " + order);
        expect(TypedCloudPay.queryOrderAsync(no, TradeType.MICRO_PAY).get(30, TimeUnit.SECONDS).code == OrderCode.PAID, "queryOrderAsync");

        String rno = no + "R1";
        RefundRequest req = new RefundRequest(no, 200, 200);
        req.outRefundNo = rno;
        expect(TypedCloudPay.refundAsync(req).get(30, TimeUnit.SECONDS).code == Code.OK, "refundAsync accepted");
        Refund done = TypedCloudPay.waitForRefundAsync(no, rno).get(90, TimeUnit.SECONDS);
        expect(done.state == RefundState.SUCCESS && Long.valueOf(200).equals(done.refundFee), "waitForRefundAsync: " + done);
        expect(rno.equals(TypedCloudPay.queryRefundAsync(no, null).get(30, TimeUnit.SECONDS).outRefundNo), "queryRefundAsync, newest refund");
        Order full = TypedCloudPay.queryOrder(no);
        expect(full.code == OrderCode.CLOSED && full.errmsg.contains("fully refunded") && Long.valueOf(200).equals(full.refundedFee), "fully refunded: " + full);

        // A cancelled wait: the future is cancelled at once, and the worker stops asking.
        String never = DemoSupport.orderNo("TA");
        expect(TypedCloudPay.microPay(new MicroPayRequest(never, "139400000000000000", 70, "tea")).code == Code.OK, "micro_pay accepted");
        CompletableFuture<Order> cancelled = TypedCloudPay.waitForOrderAsync(never, TradeType.MICRO_PAY, FAST, LONG, TypedCloudPay.worker());
        Thread.sleep(500);
        expect(cancelled.cancel(true) && cancelled.isCancelled(), "cancel");
        boolean threw = false;
        try { cancelled.get(1, TimeUnit.SECONDS); } catch (CancellationException e) { threw = true; }
        expect(threw, "a cancelled wait throws CancellationException");
        Thread.sleep(3 * FAST.toMillis());
        expect(askingThreads().isEmpty(), "after cancel no thread is still asking: '" + askingThreads() + "'");
        reverse(never);
    }

    static void amountsAreIntegersInFen() throws Exception {
        expect(TypedCloudPay.fen(new BigDecimal("12.34")) == 1234 && TypedCloudPay.fen("12") == 1200 && TypedCloudPay.fen("0.01") == 1
            && TypedCloudPay.fen("12.340") == 1234, "fen(yuan)");
        String msg = "";
        try { TypedCloudPay.fen("12.345"); } catch (IllegalArgumentException e) { msg = e.getMessage(); }
        expect(msg.contains("amounts are integers in fen (1234 = 12.34 CNY)") && msg.contains("12.345"), "a fraction of a fen refused: " + msg);
        // The raw call with a decimal amount: the SDK's own words come through the binding.
        CloudPay.Result<Code> raw = CloudPay.microPay("{\"out_trade_no\":\"" + DemoSupport.orderNo("TD") + "\",\"author_code\":\"134567890123456789\",\"total_fee\":12.34,\"body\":\"tea\"}");
        expect(raw.code == Code.FAIL && raw.errmsg.contains("amounts are integers in fen (1234 = 12.34 CNY)"), "decimal total_fee refused by the SDK: " + raw);
        expect(MicroPayRequest.class.getField("totalFee").getType() == long.class && RefundRequest.class.getField("refundFee").getType() == long.class,
            "typed amounts are long fen (a double does not compile)");
    }

    public static void main(String[] args) throws Exception {
        schedule();
        requestJson();
        resultsTolerateOddOutput();
        CallResult init = TypedCloudPay.init(DemoSupport.conf());
        expect(init.code == Code.OK, "init: " + init);
        if (init.code != Code.OK) System.exit(1);
        payWaitPartlyRefundWait();
        failedPaymentCarriesTheReason();
        unknownStaysUnknown();
        scanCodePay();
        asyncVariants();
        amountsAreIntegersInFen();
        expect(CloudPay.fini() == Code.OK, "fini");
        System.out.println("Java typed binding tests: " + checks + " checks, " + failures + " failed");
        System.exit(failures == 0 ? 0 : 1);
    }
}
