package cloudpay;

import cloudpay.CloudPay.Code;
import cloudpay.CloudPay.OrderCode;
import cloudpay.CloudPay.OrderState;
import cloudpay.CloudPay.RefundState;
import cloudpay.CloudPay.Result;
import com.google.gson.Gson;
import com.google.gson.GsonBuilder;
import com.google.gson.JsonElement;
import com.google.gson.JsonObject;
import com.google.gson.JsonParseException;
import com.google.gson.JsonParser;
import com.google.gson.JsonPrimitive;
import java.math.BigDecimal;
import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Executor;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.ThreadFactory;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Predicate;

/**
 * Typed requests and results over {@link CloudPay} (whose raw JSON calls stay as they are), the
 * Java counterpart of {@code bindings/python/cloudpay_typed.py}.
 *
 * <pre>{@code
 * PayResult pay = TypedCloudPay.microPay(new MicroPayRequest(no, code, 1234, "coffee"));
 * Order order = TypedCloudPay.waitForOrder(no);      // every WAIT_INTERVAL for up to WAIT_TIMEOUT
 * if (order.code == OrderCode.UNKNOWN) { ... }       // ask again later; NEVER charge again with a new number
 * }</pre>
 *
 * JSON is built and read with Gson (2.8.6 or later on the class path: the raw {@link CloudPay}
 * calls do not need it). Amounts are integers in fen ({@code long}: 1234 = 12.34 CNY);
 * {@link #fen(BigDecimal)} converts a price in yuan and refuses a fraction of a fen. The
 * {@code *Async} variants run the blocking call on a worker thread (by default a pool of daemon
 * threads named {@code cloudpay-worker-N}; never the common ForkJoinPool, whose few threads the
 * network waits would block); each call reads its errmsg on the thread that made it.
 */
public final class TypedCloudPay {
    private TypedCloudPay() {}

    /** How often waitForOrder / waitForRefund ask. The SDK also polls in the background and answers final states from memory. */
    public static final Duration WAIT_INTERVAL = Duration.ofSeconds(1);
    /** How long waitForOrder asks: the SDK's default polling window after micro_pay (25 × 6 s). */
    public static final Duration WAIT_TIMEOUT = Duration.ofSeconds(150);
    /** How long waitForRefund asks. */
    public static final Duration REFUND_WAIT_TIMEOUT = Duration.ofSeconds(60);

    private static final Gson GSON = new GsonBuilder().disableHtmlEscaping().create();

    /** {@code pay_platform}: 1 WeChat Pay, 2 Alipay. */
    public enum PayPlatform {
        WECHAT_PAY(1), ALIPAY(2);
        public final int value;
        PayPlatform(int v) { value = v; }
        static PayPlatform of(Long v) {
            for (PayPlatform p : values()) if (v != null && p.value == v) return p;
            return null;
        }
    }

    /** {@code trade_type} of an order: 1 payment code (micro pay), 2 scan code (Native QR). */
    public enum TradeType {
        MICRO_PAY(1), SCAN_CODE(2);
        public final int value;
        TradeType(int v) { value = v; }
    }

    /** A price in yuan as fen: {@code fen(new BigDecimal("12.34")) == 1234}; a fraction of a fen throws IllegalArgumentException. */
    public static long fen(BigDecimal yuan) {
        BigDecimal fen = yuan.movePointRight(2);
        if (fen.stripTrailingZeros().scale() > 0)
            throw new IllegalArgumentException("amounts are integers in fen (1234 = 12.34 CNY): " + yuan.toPlainString() + " CNY has a fraction of a fen");
        return fen.longValueExact();   // ArithmeticException beyond a long
    }

    /** {@link #fen(BigDecimal)} of a decimal text such as "12.34" (NumberFormatException for other text). */
    public static long fen(String yuan) { return fen(new BigDecimal(yuan)); }

    /** cloud_pay_micro_pay's request; null members are left out of the JSON. */
    public static final class MicroPayRequest {
        /** Order number with the merchant's prefix, unique per sale, never reused. */
        public String outTradeNo;
        /** The customer's payment code, as scanned. */
        public String authorCode;
        /** Amount in fen (1234 = 12.34 CNY); see {@link TypedCloudPay#fen(BigDecimal)}. */
        public long totalFee;
        public String body;
        /** The SDK uses CNY when null. */
        public String feeType;
        /** Inferred from the payment code when null. */
        public PayPlatform payPlatform;
        public String attach;
        public String goodsTag;
        /** Goods detail: {@code {"goods_detail":[…]}} or a bare goods array. */
        public JsonElement detail;

        public MicroPayRequest(String outTradeNo, String authorCode, long totalFee, String body) {
            this.outTradeNo = outTradeNo; this.authorCode = authorCode; this.totalFee = totalFee; this.body = body;
        }

        public String toJson() {
            JsonObject o = new JsonObject();
            o.addProperty("out_trade_no", outTradeNo);
            o.addProperty("author_code", authorCode);
            o.addProperty("total_fee", totalFee);
            o.addProperty("body", body);
            o.addProperty("fee_type", feeType);
            o.addProperty("pay_platform", payPlatform == null ? null : payPlatform.value);
            o.addProperty("attach", attach);
            o.addProperty("goods_tag", goodsTag);
            o.add("detail", detail);
            return GSON.toJson(o);
        }
    }

    /** cloud_pay_scan_code_pay's request (the customer scans the till's QR code). */
    public static final class ScanCodePayRequest {
        public PayPlatform payPlatform;
        public String outTradeNo;
        /** Amount in fen. */
        public long totalFee;
        public String body;
        public String productId;
        public String feeType;
        public String attach;
        public String goodsTag;
        public JsonElement detail;
        /** Order expiry, Unix seconds. */
        public Long timeExpire;

        public ScanCodePayRequest(PayPlatform payPlatform, String outTradeNo, long totalFee, String body) {
            this.payPlatform = payPlatform; this.outTradeNo = outTradeNo; this.totalFee = totalFee; this.body = body;
        }

        public String toJson() {
            JsonObject o = new JsonObject();
            o.addProperty("pay_platform", payPlatform == null ? null : payPlatform.value);
            o.addProperty("out_trade_no", outTradeNo);
            o.addProperty("total_fee", totalFee);
            o.addProperty("body", body);
            o.addProperty("product_id", productId);
            o.addProperty("fee_type", feeType);
            o.addProperty("attach", attach);
            o.addProperty("goods_tag", goodsTag);
            o.add("detail", detail);
            o.addProperty("time_expire", timeExpire);
            return GSON.toJson(o);
        }
    }

    /** cloud_pay_refund's request. Amounts in fen. */
    public static final class RefundRequest {
        public String outTradeNo;
        /** Generated by the SDK (and reused on a retry) when null; find it with queryRefund. */
        public String outRefundNo;
        /** The order's amount in fen. */
        public long totalFee;
        /** The amount to give back in fen. */
        public long refundFee;
        public PayPlatform payPlatform;
        public String refundReason;

        public RefundRequest(String outTradeNo, long totalFee, long refundFee) {
            this.outTradeNo = outTradeNo; this.totalFee = totalFee; this.refundFee = refundFee;
        }

        public String toJson() {
            JsonObject o = new JsonObject();
            o.addProperty("out_trade_no", outTradeNo);
            o.addProperty("out_refund_no", outRefundNo);
            o.addProperty("total_fee", totalFee);
            o.addProperty("refund_fee", refundFee);
            o.addProperty("pay_platform", payPlatform == null ? null : payPlatform.value);
            o.addProperty("refund_reason", refundReason);
            return GSON.toJson(o);
        }
    }

    /**
     * micro_pay / scan_code_pay: OK = accepted or outcome unknown (wait for the order); FAIL = not
     * accepted (never cancel it); {@link #nothingSent()}: FAIL because no byte reached a server —
     * fix the cause (errmsg) and pay again.
     */
    public static final class PayResult {
        /** Null for an undocumented value, see {@link #raw}. */
        public final Code code;
        public final int raw;
        public final String outTradeNo;
        public final PayPlatform payPlatform;
        public final String errmsg;
        /** The output JSON as the SDK wrote it ("" for scan_code_pay). */
        public final String output;

        PayResult(Code code, int raw, String outTradeNo, PayPlatform payPlatform, String errmsg, String output) {
            this.code = code; this.raw = raw; this.outTradeNo = outTradeNo; this.payPlatform = payPlatform; this.errmsg = errmsg; this.output = output;
        }

        public boolean nothingSent() { return code == Code.FAIL && errmsg.startsWith("nothing was sent"); }

        @Override public String toString() { return code + "(" + raw + ") " + outTradeNo + (errmsg.isEmpty() ? "" : " [" + errmsg + "]"); }
    }

    /** query_order's answer, typed; {@link #json} holds every member of the output. */
    public static final class Order {
        /** Null for an undocumented value, see {@link #raw}. */
        public final OrderCode code;
        public final int raw;
        public final String outTradeNo;
        /** CLOUD_PAY_STATE_*; null when absent or not a documented value. */
        public final OrderState state;
        public final Long totalFee;
        public final String transactionId;
        /** The platform's words for the state (a failed payment's reason). */
        public final String tradeStateDesc;
        /** Refunded so far (refunds not failed), for a (partly) refunded order. */
        public final Long refundedFee;
        public final Long refundCount;
        /** The QR code to show for a scan-code order (PREPAY). */
        public final String codeUrl;
        public final String errmsg;
        public final String output;
        public final JsonObject json;

        private Order(OrderCode code, int raw, String output, String errmsg) {
            JsonObject o = object(output);
            this.code = code; this.raw = raw; this.output = output; this.errmsg = errmsg; this.json = o;
            outTradeNo = string(o, "out_trade_no");
            Long s = integer(o, "state");
            OrderState st = null;
            for (OrderState v : OrderState.values()) if (s != null && v.value == s) st = v;
            state = st;
            totalFee = integer(o, "total_fee");
            transactionId = string(o, "transaction_id");
            tradeStateDesc = string(o, "trade_state_desc");
            refundedFee = integer(o, "refunded_fee");
            refundCount = integer(o, "refund_count");
            codeUrl = string(o, "code_url");
        }

        /** Types a raw queryOrder result. An output that does not parse leaves the members null; the code is the SDK's either way. */
        public static Order fromResult(Result<OrderCode> r) { return new Order(r.code, r.raw, r.output, r.errmsg); }

        /** The same from its parts (code, output JSON, errmsg). */
        public static Order parse(OrderCode code, String output, String errmsg) { return new Order(code, code == null ? 0 : code.value, output, errmsg); }

        /** Not UNKNOWN and not PREPAY: asking again will not change the answer. */
        public boolean isFinal() { return code != OrderCode.UNKNOWN && code != OrderCode.PREPAY; }

        @Override public String toString() { return code + "(" + raw + ") " + outTradeNo + " state " + state + (errmsg.isEmpty() ? "" : " [" + errmsg + "]"); }
    }

    /** refund (and init): OK accepted, FAIL not accepted, UNKNOWN: retry with the same numbers. */
    public static final class CallResult {
        public final Code code;
        public final int raw;
        public final String errmsg;
        CallResult(Result<Code> r) { code = r.code; raw = r.raw; errmsg = r.errmsg; }
        @Override public String toString() { return code + "(" + raw + ")" + (errmsg.isEmpty() ? "" : " [" + errmsg + "]"); }
    }

    /** query_refund's answer for one refund, typed. */
    public static final class Refund {
        public final Code code;
        public final int raw;
        public final String outTradeNo;
        public final String outRefundNo;
        public final Long refundFee;
        public final RefundState state;
        public final String errmsg;
        public final String output;
        public final JsonObject json;

        private Refund(Result<Code> r) {
            JsonObject o = object(r.output);
            code = r.code; raw = r.raw; errmsg = r.errmsg; output = r.output; json = o;
            outTradeNo = string(o, "out_trade_no");
            outRefundNo = string(o, "out_refund_no");
            refundFee = integer(o, "refund_fee");
            Long s = integer(o, "state");
            RefundState st = null;
            for (RefundState v : RefundState.values()) if (s != null && v.value == s) st = v;
            state = st;
        }

        public static Refund fromResult(Result<Code> r) { return new Refund(r); }

        /** OK and SUCCESS or FAILED. */
        public boolean isFinal() { return code == Code.OK && (state == RefundState.SUCCESS || state == RefundState.FAILED); }

        @Override public String toString() { return code + "(" + raw + ") " + outRefundNo + " state " + state + (errmsg.isEmpty() ? "" : " [" + errmsg + "]"); }
    }

    public static CallResult init(String confJson) { return new CallResult(CloudPay.init(confJson)); }

    /** Submits a payment (never repeated by the binding). OK: wait for the order. */
    public static PayResult microPay(MicroPayRequest req) {
        Result<Code> r = CloudPay.microPay(req.toJson());
        JsonObject o = object(r.output);
        String no = string(o, "out_trade_no");
        PayPlatform p = PayPlatform.of(integer(o, "pay_platform"));
        return new PayResult(r.code, r.raw, no != null ? no : req.outTradeNo, p != null ? p : req.payPlatform, r.errmsg, r.output);
    }

    /** Creates a scan-code order. OK: queryOrder / waitForOrder with SCAN_CODE (PREPAY gives codeUrl to show, PAID once paid). */
    public static PayResult scanCodePay(ScanCodePayRequest req) {
        Result<Code> r = CloudPay.scanCodePay(req.toJson());
        return new PayResult(r.code, r.raw, req.outTradeNo, req.payPlatform, r.errmsg, r.output);
    }

    public static Order queryOrder(String outTradeNo) { return queryOrder(outTradeNo, TradeType.MICRO_PAY); }

    public static Order queryOrder(String outTradeNo, TradeType tradeType) {
        JsonObject q = new JsonObject();
        q.addProperty("out_trade_no", outTradeNo);
        q.addProperty("trade_type", tradeType.value);
        return Order.fromResult(CloudPay.queryOrder(GSON.toJson(q)));
    }

    public static Order waitForOrder(String outTradeNo) throws InterruptedException {
        return waitForOrder(outTradeNo, TradeType.MICRO_PAY, WAIT_INTERVAL, WAIT_TIMEOUT);
    }

    public static Order waitForOrder(String outTradeNo, TradeType tradeType) throws InterruptedException {
        return waitForOrder(outTradeNo, tradeType, WAIT_INTERVAL, WAIT_TIMEOUT);
    }

    /**
     * Asks every {@code interval} until the order is final or {@code timeout} has passed, and
     * returns the last answer. Still UNKNOWN then: the customer may yet pay — keep the order, ask
     * again later; never charge again with a new number, never cancel after FAIL.
     */
    public static Order waitForOrder(String outTradeNo, TradeType tradeType, Duration interval, Duration timeout) throws InterruptedException {
        return waitFor(() -> queryOrder(outTradeNo, tradeType), Order::isFinal, interval, timeout, null);
    }

    /** Applies for a refund. UNKNOWN: retry with the same outRefundNo, or query. */
    public static CallResult refund(RefundRequest req) { return new CallResult(CloudPay.refund(req.toJson())); }

    /** The refund {@code outRefundNo} of the order, or its newest refund when null. */
    public static Refund queryRefund(String outTradeNo, String outRefundNo) {
        JsonObject q = new JsonObject();
        q.addProperty("out_trade_no", outTradeNo);
        q.addProperty("out_refund_no", outRefundNo);
        return Refund.fromResult(CloudPay.queryRefund(GSON.toJson(q)));
    }

    public static Refund waitForRefund(String outTradeNo, String outRefundNo) throws InterruptedException {
        return waitForRefund(outTradeNo, outRefundNo, WAIT_INTERVAL, REFUND_WAIT_TIMEOUT);
    }

    /**
     * Asks until the refund is SUCCESS or FAILED, or {@code timeout} passes. UNKNOWN or PROCESSING
     * at the end: ask again later, never refund again with a new number.
     */
    public static Refund waitForRefund(String outTradeNo, String outRefundNo, Duration interval, Duration timeout) throws InterruptedException {
        return waitFor(() -> queryRefund(outTradeNo, outRefundNo), Refund::isFinal, interval, timeout, null);
    }

    // ---- CompletableFuture variants: the blocking call on a worker ----

    private static final AtomicInteger WORKERS = new AtomicInteger();
    private static final ThreadFactory DAEMONS = r -> {
        Thread t = new Thread(r, "cloudpay-worker-" + WORKERS.incrementAndGet());
        t.setDaemon(true);
        return t;
    };
    private static final ExecutorService WORKER = Executors.newCachedThreadPool(DAEMONS);

    /** The default executor of the *Async variants: a cached pool of daemon threads. */
    public static Executor worker() { return WORKER; }

    public static CompletableFuture<PayResult> microPayAsync(MicroPayRequest req) { return microPayAsync(req, WORKER); }
    public static CompletableFuture<PayResult> microPayAsync(MicroPayRequest req, Executor executor) {
        return CompletableFuture.supplyAsync(() -> microPay(req), executor);
    }

    public static CompletableFuture<PayResult> scanCodePayAsync(ScanCodePayRequest req) { return scanCodePayAsync(req, WORKER); }
    public static CompletableFuture<PayResult> scanCodePayAsync(ScanCodePayRequest req, Executor executor) {
        return CompletableFuture.supplyAsync(() -> scanCodePay(req), executor);
    }

    public static CompletableFuture<Order> queryOrderAsync(String outTradeNo, TradeType tradeType) { return queryOrderAsync(outTradeNo, tradeType, WORKER); }
    public static CompletableFuture<Order> queryOrderAsync(String outTradeNo, TradeType tradeType, Executor executor) {
        return CompletableFuture.supplyAsync(() -> queryOrder(outTradeNo, tradeType), executor);
    }

    public static CompletableFuture<Order> waitForOrderAsync(String outTradeNo, TradeType tradeType) {
        return waitForOrderAsync(outTradeNo, tradeType, WAIT_INTERVAL, WAIT_TIMEOUT, WORKER);
    }

    /**
     * {@link #waitForOrder(String, TradeType, Duration, Duration)} on {@code executor}. Cancelling
     * the future stops the asking before the next question (the order's outcome is then just as unknown).
     */
    public static CompletableFuture<Order> waitForOrderAsync(String outTradeNo, TradeType tradeType, Duration interval, Duration timeout, Executor executor) {
        return waitAsync(f -> waitFor(() -> queryOrder(outTradeNo, tradeType), Order::isFinal, interval, timeout, f), executor);
    }

    public static CompletableFuture<CallResult> refundAsync(RefundRequest req) { return refundAsync(req, WORKER); }
    public static CompletableFuture<CallResult> refundAsync(RefundRequest req, Executor executor) {
        return CompletableFuture.supplyAsync(() -> refund(req), executor);
    }

    public static CompletableFuture<Refund> queryRefundAsync(String outTradeNo, String outRefundNo) { return queryRefundAsync(outTradeNo, outRefundNo, WORKER); }
    public static CompletableFuture<Refund> queryRefundAsync(String outTradeNo, String outRefundNo, Executor executor) {
        return CompletableFuture.supplyAsync(() -> queryRefund(outTradeNo, outRefundNo), executor);
    }

    public static CompletableFuture<Refund> waitForRefundAsync(String outTradeNo, String outRefundNo) {
        return waitForRefundAsync(outTradeNo, outRefundNo, WAIT_INTERVAL, REFUND_WAIT_TIMEOUT, WORKER);
    }

    /** {@link #waitForRefund(String, String, Duration, Duration)} on {@code executor}; cancelling stops the asking. */
    public static CompletableFuture<Refund> waitForRefundAsync(String outTradeNo, String outRefundNo, Duration interval, Duration timeout, Executor executor) {
        return waitAsync(f -> waitFor(() -> queryRefund(outTradeNo, outRefundNo), Refund::isFinal, interval, timeout, f), executor);
    }

    // ---- helpers ----

    private interface Ask<T> { T ask(); }
    private interface Waiting<T> { T run(CompletableFuture<T> self) throws InterruptedException; }

    private static <T> CompletableFuture<T> waitAsync(Waiting<T> body, Executor executor) {
        CompletableFuture<T> f = new CompletableFuture<>();
        executor.execute(() -> {
            try {
                T t = body.run(f);
                if (t != null) f.complete(t);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                f.completeExceptionally(e);
            } catch (RuntimeException | Error e) {
                f.completeExceptionally(e);
            }
        });
        return f;
    }

    /** Asks until done or the deadline; the last question comes at the deadline. Returns null once {@code future} is done (cancelled). */
    private static <T> T waitFor(Ask<T> ask, Predicate<T> done, Duration interval, Duration timeout, CompletableFuture<T> future) throws InterruptedException {
        if (interval.isNegative() || interval.isZero()) throw new IllegalArgumentException("interval must be positive");
        long deadline = System.nanoTime() + timeout.toNanos();
        while (true) {
            if (future != null && future.isDone()) return null;
            T answer = ask.ask();
            long left = deadline - System.nanoTime();
            if (done.test(answer) || left <= 0) return answer;
            long pause = Math.min(interval.toNanos(), left);
            Thread.sleep(pause / 1_000_000L, (int) (pause % 1_000_000L));
        }
    }

    static JsonObject object(String text) {
        if (text == null || text.isEmpty()) return new JsonObject();
        try {
            JsonElement e = JsonParser.parseString(text);
            return e.isJsonObject() ? e.getAsJsonObject() : new JsonObject();
        } catch (JsonParseException e) {
            return new JsonObject();
        }
    }

    static String string(JsonObject o, String key) {
        JsonElement e = o.get(key);
        return e != null && e.isJsonPrimitive() && e.getAsJsonPrimitive().isString() ? e.getAsString() : null;
    }

    /** An integral number member, else null. */
    static Long integer(JsonObject o, String key) {
        JsonElement e = o.get(key);
        if (e == null || !e.isJsonPrimitive()) return null;
        JsonPrimitive p = e.getAsJsonPrimitive();
        if (!p.isNumber()) return null;
        try {
            return p.getAsBigDecimal().longValueExact();
        } catch (ArithmeticException | NumberFormatException x) {
            return null;
        }
    }
}
