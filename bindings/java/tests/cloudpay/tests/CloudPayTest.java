package cloudpay.tests;

import cloudpay.CloudPay;
import cloudpay.CloudPay.Code;
import cloudpay.CloudPay.LoginCheckCode;
import cloudpay.CloudPay.LoginCode;
import cloudpay.CloudPay.OrderCode;
import cloudpay.CloudPay.OrderState;
import cloudpay.CloudPay.RefundState;
import cloudpay.CloudPay.Result;
import cloudpay.CloudPayNative;
import cloudpay.demo.DemoSupport;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.HashMap;
import java.util.HashSet;
import java.util.Map;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Tests of the JNI binding against the real library and the sandbox (plain Java, no framework):
 * typed codes = header constants, not-initialised, bad input, UTF-8 beyond the BMP, the buffer
 * rule and buffer growth, and the newer exports when the library has them. Args: header path.
 */
public final class CloudPayTest {
    private static int checks, failures;

    static void expect(boolean ok, String what) {
        checks++;
        if (!ok) { failures++; System.err.println("FAILED: " + what + " | errmsg: " + CloudPay.errmsg()); }
    }

    static void codesMatchHeader(Path header) throws Exception {
        Map<String, Integer> defines = new HashMap<>();
        Matcher m = Pattern.compile("#define (CLOUD_PAY_[A-Z_]+) \\(?(-?\\d+)\\)?").matcher(Files.readString(header));
        while (m.find()) defines.put(m.group(1), Integer.parseInt(m.group(2)));
        Set<String> seen = new HashSet<>();
        for (Code c : Code.values()) { seen.add("CLOUD_PAY_" + c); expect(Integer.valueOf(c.value).equals(defines.get("CLOUD_PAY_" + c)), "header CLOUD_PAY_" + c); }
        for (OrderCode c : OrderCode.values()) { seen.add("CLOUD_PAY_ORDER_" + c); expect(Integer.valueOf(c.value).equals(defines.get("CLOUD_PAY_ORDER_" + c)), "header CLOUD_PAY_ORDER_" + c); }
        for (OrderState c : OrderState.values()) { seen.add("CLOUD_PAY_STATE_" + c); expect(Integer.valueOf(c.value).equals(defines.get("CLOUD_PAY_STATE_" + c)), "header CLOUD_PAY_STATE_" + c); }
        for (RefundState c : RefundState.values()) { seen.add("CLOUD_PAY_REFUND_" + c); expect(Integer.valueOf(c.value).equals(defines.get("CLOUD_PAY_REFUND_" + c)), "header CLOUD_PAY_REFUND_" + c); }
        for (LoginCode c : LoginCode.values()) { String n = login(defines, c.name()); seen.add(n); expect(Integer.valueOf(c.value).equals(defines.get(n)), "header " + n); }
        for (LoginCheckCode c : LoginCheckCode.values()) { String n = login(defines, c.name()); seen.add(n); expect(Integer.valueOf(c.value).equals(defines.get(n)), "header " + n); }
        for (String d : defines.keySet()) expect(seen.contains(d), d + " has a typed code in the binding");
    }

    /** Login codes use CLOUD_PAY_LOGIN_<name> where the header has it, else the common CLOUD_PAY_<name>. */
    static String login(Map<String, Integer> defines, String name) {
        return defines.containsKey("CLOUD_PAY_LOGIN_" + name) ? "CLOUD_PAY_LOGIN_" + name : "CLOUD_PAY_" + name;
    }

    public static void main(String[] args) throws Exception {
        codesMatchHeader(Path.of(args[0]));

        Result<OrderCode> r0 = CloudPay.queryOrder("{\"out_trade_no\":\"sz0100testX1\"}");
        expect(r0.code == OrderCode.ERROR && r0.errmsg.contains("not initialised"), "before init: -3 not initialised");
        expect(CloudPay.init(null).code == Code.FAIL, "init(null): -1");
        Result<Code> bad = CloudPay.init("{\"common_conf\":{},\"trade_conf\":{}}");
        expect(bad.code == Code.FAIL && bad.errmsg.contains("trade_conf."), "init without keys names the field");
        Result<Code> typo = CloudPay.init(DemoSupport.conf().replace("{\"common_conf\":{", "{\"common_conf\":{\"base_ur1\":\"x\","));
        expect(typo.code == Code.OK && typo.errmsg.contains("base_ur1"), "init's notice (unknown key) reaches the caller");
        expect(CloudPay.init(DemoSupport.conf()).code == Code.OK, "init");
        expect(CloudPay.errmsg().isEmpty(), "errmsg empty after success");

        Result<Code> r = CloudPay.microPay(null);
        expect(r.code == Code.FAIL && r.errmsg.contains("NULL"), "micro_pay(null): -1");
        r = CloudPay.microPay("{\"out_trade_no\":\"sz0100testX2\"}");
        expect(r.code == Code.FAIL && r.errmsg.contains("author_code") && r.output.isEmpty(), "micro_pay names the missing field");
        expect(CloudPay.refund("nope").code == Code.INTERNAL, "refund(bad JSON): -3");
        expect(CloudPay.cancelOrder(null).code == Code.INTERNAL, "cancel_order(null): -3");
        byte[] gbk = "{\"body\":\"商品\"}".getBytes("GBK");
        expect(CloudPayNative.microPay(gbk, new byte[256], 256) == -1 && CloudPay.errmsg().contains("UTF-8"), "GBK refused with a UTF-8 hint");
        expect(CloudPay.queryOrder("{\"out_trade_no\":\"" + DemoSupport.orderNo("N") + "\",\"trade_type\":1,\"pay_platform\":1}").code == OrderCode.NOT_EXIST, "unknown order: -7");

        // A paid order whose body has characters outside the BMP (JNI's modified UTF-8 would break them).
        String no = DemoSupport.orderNo("JB");
        r = CloudPay.microPay("{\"out_trade_no\":\"" + no + "\",\"author_code\":\"134567890123456789\",\"total_fee\":100,\"body\":\"短 buffer 😀\"}", 8);
        expect(r.code == Code.OK && r.output.isEmpty() && r.errmsg.contains("buffer too small, need"), "micro_pay short resp: real code 0, not repeated");
        Result<OrderCode> paid = CloudPay.waitForOrder(no, 1, 20_000);
        expect(paid.code == OrderCode.PAID, "paid " + paid);
        expect(DemoSupport.integer(paid.output, "state") == OrderState.SUCCESS.value, "state SUCCESS");
        int need = paid.output.getBytes(StandardCharsets.UTF_8).length + 1;
        String q = "{\"out_trade_no\":\"" + no + "\",\"trade_type\":1}";
        byte[] buf = new byte[64];
        Arrays.fill(buf, (byte) 0x5A);
        int code = CloudPayNative.queryOrder(q.getBytes(StandardCharsets.UTF_8), buf, 16);
        boolean canary = true;
        for (int i = 16; i < buf.length; i++) canary &= buf[i] == 0x5A;
        expect(code == 0 && buf[0] == 0 && canary, "raw short buffer: code 0, empty string, nothing past length");
        expect(CloudPay.errmsg().contains("need " + need + " bytes"), "errmsg says need " + need);
        Result<OrderCode> grown = CloudPay.queryOrder(q, 16);
        expect(grown.code == OrderCode.PAID && grown.output.equals(paid.output) && grown.errmsg.isEmpty(), "binding grows the buffer");
        expect(CloudPay.queryOrder(q, need).output.equals(paid.output), "exact fit");
        try {
            CloudPayNative.queryOrder(q.getBytes(StandardCharsets.UTF_8), new byte[4], 5);
            expect(false, "length larger than the array must throw");
        } catch (IllegalArgumentException expected) {
            expect(true, "length larger than the array throws");
        }

        try {
            Result<Code> shops = CloudPay.queryShopInfo("{\"page_num\":1,\"page_size\":100}", 4);
            expect(shops.code == Code.OK && shops.output.contains("sz01TESTSHOP00000001"), "query_shop_info (grown from 4 bytes)");
            expect(CloudPay.orderDetail("{\"page_num\":1,\"page_size\":10}").output.contains(no), "order_detail lists the order");
            Result<Code> stat = CloudPay.orderStat("{\"page_num\":1,\"page_size\":10}");
            expect(stat.code == Code.OK && stat.output.contains("total_count"), "order_stat");
            Result<Code> prefix = CloudPay.securityAuthorCodePrefix();
            expect(prefix.code == Code.OK && prefix.output.contains("wx_author_code_prefix"), "security_author_code_prefix");
            expect(!prefix.toString().contains("wx_author_code_prefix"), "toString never prints the output (it can hold keys)");
        } catch (UnsatisfiedLinkError e) {
            System.out.println("(shop/listing exports not in this library build: " + e.getMessage() + ")");
        }

        try {
            Path dir = Files.createTempDirectory("cloudpay-java-login");
            Result<LoginCode> login = CloudPay.securityLogin("{\"state_dir\":\"" + dir.toString().replace("\\", "\\\\") + "\"}");
            expect(login.code == LoginCode.NEED_IDS, "security_login first run: NEED_IDS " + login);
        } catch (UnsatisfiedLinkError e) {
            System.out.println("(security-login exports not in this library build: " + e.getMessage() + ")");
        }

        boolean nulRefused = false;
        try { CloudPay.queryOrder("{\"out_trade_no\":\"x\"}\0junk"); } catch (IllegalArgumentException e) { nulRefused = true; }
        expect(nulRefused, "an embedded NUL is an error, not a silent cut");
        // "need N bytes" only from the SDK's exact sentence, capped; toString hides the output.
        expect(CloudPay.neededBytes("buffer too small, need 812 bytes, have 4") == 812, "need N: the SDK's sentence");
        expect(CloudPay.neededBytes("buffer too small, need 99999999999 bytes, have 4") == 0, "need N: overflow ignored, no exception");
        expect(CloudPay.neededBytes("status 3, buffer too small, need 99 bytes, have 4") == 0, "need N: server text ignored");
        expect(CloudPay.neededBytes("buffer too small, need 16777217 bytes, have 4") == 0, "need N: capped at 16 MiB");
        expect(CloudPay.fini() == Code.OK, "fini");
        System.out.println("Java binding tests: " + checks + " checks, " + failures + " failed");
        System.exit(failures == 0 ? 0 : 1);
    }
}
