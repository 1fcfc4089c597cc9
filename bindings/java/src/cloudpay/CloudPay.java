package cloudpay;

import java.nio.charset.StandardCharsets;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The Cloud Pay SDK with typed codes. JSON in and out is UTF-8 (never JNI's modified UTF-8);
 * output buffers grow by themselves when the SDK answers "buffer too small, need N bytes",
 * for calls that are safe to repeat (micro_pay and set_shop_info are never repeated).
 * The SDK is process-global, so this is a static API.
 */
public final class CloudPay {
    private CloudPay() {}

    /** Return codes of every export except query_order (CLOUD_PAY_*). */
    public enum Code {
        OK(0), FAIL(-1), UNKNOWN(-2), INTERNAL(-3);
        public final int value;
        Code(int v) { value = v; }
    }

    /** Return codes of cloud_pay_query_order (CLOUD_PAY_ORDER_*). */
    public enum OrderCode {
        PAID(0), FAILED(-1), UNKNOWN(-2), ERROR(-3), CLOSED(-4), PREPAY(-5), REENTRY(-6), NOT_EXIST(-7);
        public final int value;
        OrderCode(int v) { value = v; }
    }

    /** {@code state} in query_order output (CLOUD_PAY_STATE_*). */
    public enum OrderState {
        INIT(1), USER_PAYING(2), SUCCESS(3), FAIL(4), REVERSE(5), REFUND(6), CLOSED(7), REENTRY(8), UNKNOWN(9), PRE_ORDERED(10);
        public final int value;
        OrderState(int v) { value = v; }
    }

    /** {@code state} in query_refund output (CLOUD_PAY_REFUND_*). */
    public enum RefundState {
        PROCESSING(1), SUCCESS(2), FAILED(3);
        public final int value;
        RefundState(int v) { value = v; }
    }

    /** Return codes of cloud_pay_security_login. */
    public enum LoginCode {
        OK(0), NEED_IDS(1), UNKNOWN(-2), INTERNAL(-3);
        public final int value;
        LoginCode(int v) { value = v; }
    }

    /** Return codes of cloud_pay_security_login_check. */
    public enum LoginCheckCode {
        OK(0), NO_CONF(1), REJECTED(-1), UNKNOWN(-2), INTERNAL(-3), EXPIRED(-4);
        public final int value;
        LoginCheckCode(int v) { value = v; }
    }

    /** One call's outcome: typed code (null for an undocumented value, see {@link #raw}), output JSON, errmsg. */
    public static final class Result<T extends Enum<T>> {
        public final T code;
        public final int raw;
        public final String output;
        public final String errmsg;
        Result(T code, int raw, String output, String errmsg) { this.code = code; this.raw = raw; this.output = output; this.errmsg = errmsg; }
        /** Leaves the output out: it can hold decrypted keys (securityLoginCheck's conf). */
        @Override public String toString() { return code + "(" + raw + ") <" + output.length() + " chars of output>" + (errmsg.isEmpty() ? "" : " [" + errmsg + "]"); }
    }

    interface InOut { int call(byte[] req, byte[] out, int length); }

    // Only the SDK's own sentence, whole: errmsg may carry server text ("need 99999999999 bytes").
    private static final Pattern NEED = Pattern.compile("buffer too small, need (\\d{1,9}) bytes, have \\d+");
    /** The most a repeat may ask for; no reply of this SDK comes near it. */
    public static final int MAX_OUTPUT = 16 * 1024 * 1024;

    /** N from the SDK's exact "buffer too small, need N bytes, have M" errmsg; 0 for any other text or N above MAX_OUTPUT. */
    public static int neededBytes(String errmsg) {
        Matcher m = NEED.matcher(errmsg == null ? "" : errmsg);
        if (!m.matches()) return 0;
        int n = Integer.parseInt(m.group(1)); // at most 9 digits: cannot overflow
        return n > 0 && n <= MAX_OUTPUT ? n : 0;
    }

    static byte[] utf8(String s) {
        if (s == null) return null;
        // C would read only up to it: refuse rather than send a silently cut request.
        if (s.indexOf('\0') >= 0) throw new IllegalArgumentException("request text contains a NUL character");
        return s.getBytes(StandardCharsets.UTF_8);
    }

    /** The text up to the first NUL of an output buffer. */
    static String text(byte[] buf) {
        int n = 0;
        while (n < buf.length && buf[n] != 0) n++;
        return new String(buf, 0, n, StandardCharsets.UTF_8);
    }

    /** This thread's errmsg (UTF-8, owned by the SDK). */
    public static String errmsg() { return new String(CloudPayNative.getErrmsg(), StandardCharsets.UTF_8); }

    private static Code code(int c) {
        for (Code v : Code.values()) if (v.value == c) return v;
        return null;
    }

    private static OrderCode orderCode(int c) {
        for (OrderCode v : OrderCode.values()) if (v.value == c) return v;
        return null;
    }

    private static LoginCode loginCode(int c) {
        for (LoginCode v : LoginCode.values()) if (v.value == c) return v;
        return null;
    }

    private static LoginCheckCode loginCheckCode(int c) {
        for (LoginCheckCode v : LoginCheckCode.values()) if (v.value == c) return v;
        return null;
    }

    // errmsg is read on success too: init's notice (unknown keys, a failed connectivity check)
    // comes with code 0.
    private static Result<Code> in(int c) { return new Result<>(code(c), c, "", errmsg()); }

    private static String[] out(InOut fn, String req, int capacity, boolean repeatable, int[] rc) {
        byte[] arg = utf8(req);
        for (int attempt = 0; ; attempt++) {
            byte[] buf = new byte[Math.max(capacity, 1)];
            rc[0] = fn.call(arg, buf, capacity);
            String msg = errmsg();
            int need = buf[0] == 0 ? neededBytes(msg) : 0;
            if (repeatable && attempt == 0 && need > capacity) {
                capacity = need;
                continue;
            }
            return new String[] {text(buf), msg};
        }
    }

    private static Result<Code> outCode(InOut fn, String req, int capacity, boolean repeatable) {
        int[] rc = new int[1];
        String[] r = out(fn, req, capacity, repeatable, rc);
        return new Result<>(code(rc[0]), rc[0], r[0], r[1]);
    }

    public static Result<Code> init(String confJson) { return in(CloudPayNative.init(utf8(confJson))); }
    public static Code fini() { return code(CloudPayNative.fini()); }

    /** Submits a payment; never repeated by the binding (it would submit again). */
    public static Result<Code> microPay(String req) { return microPay(req, 4096); }
    public static Result<Code> microPay(String req, int capacity) { return outCode(CloudPayNative::microPay, req, capacity, false); }

    public static Result<OrderCode> queryOrder(String req) { return queryOrder(req, 4096); }
    public static Result<OrderCode> queryOrder(String req, int capacity) {
        int[] rc = new int[1];
        String[] r = out(CloudPayNative::queryOrder, req, capacity, true, rc);
        return new Result<>(orderCode(rc[0]), rc[0], r[0], r[1]);
    }

    public static Result<Code> cancelOrder(String req) { return in(CloudPayNative.cancelOrder(utf8(req))); }
    public static Result<Code> scanCodePay(String req) { return in(CloudPayNative.scanCodePay(utf8(req))); }
    public static Result<Code> refund(String req) { return in(CloudPayNative.refund(utf8(req))); }
    public static Result<Code> queryRefund(String req) { return outCode(CloudPayNative::queryRefund, req, 4096, true); }
    public static Result<Code> queryRefund(String req, int capacity) { return outCode(CloudPayNative::queryRefund, req, capacity, true); }
    public static Result<Code> queryShopInfo(String req) { return queryShopInfo(req, 65536); }
    public static Result<Code> queryShopInfo(String req, int capacity) { return outCode(CloudPayNative::queryShopInfo, req, capacity, true); }
    /** Changes shops: never repeated by the binding, hence the large buffer. */
    public static Result<Code> setShopInfo(String req) { return outCode(CloudPayNative::setShopInfo, req, 262144, false); }
    public static Result<Code> orderDetail(String req) { return outCode(CloudPayNative::orderDetail, req, 65536, true); }
    public static Result<Code> orderStat(String req) { return outCode(CloudPayNative::orderStat, req, 65536, true); }
    public static Result<Code> securityAuthorCodePrefix() {
        return outCode((req, buf, len) -> CloudPayNative.securityAuthorCodePrefix(buf, len), null, 1024, true);
    }

    /** Starts a security (QR) login; never repeated by the binding. */
    public static Result<LoginCode> securityLogin(String req) {
        int[] rc = new int[1];
        String[] r = out(CloudPayNative::securityLogin, req, 4096, false, rc);
        return new Result<>(loginCode(rc[0]), rc[0], r[0], r[1]);
    }

    public static Result<LoginCheckCode> securityLoginCheck(String req) {
        int[] rc = new int[1];
        String[] r = out(CloudPayNative::securityLoginCheck, req, 65536, true, rc);
        return new Result<>(loginCheckCode(rc[0]), rc[0], r[0], r[1]);
    }

    public static Result<Code> securityInit(String confJson) { return in(CloudPayNative.securityInit(utf8(confJson))); }
    /** Starts an identity check; never repeated by the binding. */
    public static Result<Code> securityIdentification(String req) { return outCode(CloudPayNative::securityIdentification, req, 4096, false); }
    public static Result<Code> securityIdentificationCheck(String req) { return outCode(CloudPayNative::securityIdentificationCheck, req, 8192, true); }

    /**
     * Queries the order until its result is final (anything but -2) or the timeout passes.
     * -2 at the end means still unknown: ask again later, never charge again with a new number.
     */
    public static Result<OrderCode> waitForOrder(String outTradeNo, int tradeType, long timeoutMs) throws InterruptedException {
        String req = "{\"out_trade_no\":\"" + outTradeNo + "\",\"trade_type\":" + tradeType + "}";
        long deadline = System.nanoTime() + timeoutMs * 1_000_000L;
        while (true) {
            Result<OrderCode> r = queryOrder(req);
            if (r.code != OrderCode.UNKNOWN || System.nanoTime() >= deadline) return r;
            Thread.sleep(500);
        }
    }
}
