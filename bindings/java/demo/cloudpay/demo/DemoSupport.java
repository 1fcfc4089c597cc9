package cloudpay.demo;

import java.io.OutputStream;
import java.net.HttpURLConnection;
import java.net.URL;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.atomic.AtomicInteger;

/** The sandbox's demo merchant configuration, a top-level JSON field reader, the control API. */
public final class DemoSupport {
    private DemoSupport() {}

    static String env(String name) {
        String v = System.getenv(name);
        if (v == null || v.isEmpty())
            throw new IllegalStateException(name + " is not set: start the sandbox (cargo run -p cloud-pay-sandbox) and export its lines");
        return v;
    }

    static String quote(String s) { return "\"" + s.replace("\\", "\\\\").replace("\"", "\\\"") + "\""; }

    /** CloudPayConf of the sandbox's demo merchant (TEST-ONLY keys). */
    public static String conf() {
        String state = System.getenv("CLOUDPAY_STATE_DIR");
        return "{\"common_conf\":{\"base_url\":" + quote(env("CLOUDPAY_SANDBOX_HTTPS")) + ",\"ca_file\":" + quote(env("CLOUDPAY_SANDBOX_CA"))
            + (state == null || state.isEmpty() ? "" : ",\"state_dir\":" + quote(state))
            + ",\"micro_pay_query_order_interval\":0.5,\"upload_monitor\":0},"
            + "\"trade_conf\":{\"out_mch_id\":\"sz01TESTMCH000000001\",\"out_sub_mch_id\":\"sz01TESTSUBMCH000001\","
            + "\"out_shop_id\":\"sz01TESTSHOP00000001\",\"device_id\":\"dev01\",\"staff_id\":\"1001\","
            + "\"authen_type\":1,\"authen_key\":\"TESTONLY0123456789ABCDEFGHIJKLMN\",\"sign_type\":1}}";
    }

    private static final AtomicInteger SEQ = new AtomicInteger();

    public static String orderNo(String tag) {
        return "sz0100test" + tag + (System.currentTimeMillis() / 1000) + String.format("%03d", SEQ.incrementAndGet());
    }

    /** The raw value of a top-level field, or null (a small scanner; use a JSON library in a POS). */
    public static String field(String json, String key) {
        int depth = 0;
        for (int i = 0; i < json.length(); i++) {
            char c = json.charAt(i);
            if (c == '"') {
                int start = ++i;
                while (i < json.length() && json.charAt(i) != '"') { if (json.charAt(i) == '\\') i++; i++; }
                if (depth == 1 && json.substring(start, i).equals(key) && i + 1 < json.length() && json.charAt(i + 1) == ':') {
                    int v = i + 2;
                    if (json.charAt(v) == '"') return json.substring(v + 1, json.indexOf('"', v + 1));
                    int e = v;
                    while (e < json.length() && json.charAt(e) != ',' && json.charAt(e) != '}') e++;
                    return json.substring(v, e);
                }
            } else if (c == '{' || c == '[') depth++;
            else if (c == '}' || c == ']') depth--;
        }
        return null;
    }

    public static long integer(String json, String key) {
        String v = field(json, key);
        try { return v == null ? Long.MIN_VALUE : Long.parseLong(v); } catch (NumberFormatException e) { return Long.MIN_VALUE; }
    }

    /** POST /sandbox/&lt;action&gt;: plays the customer. Returns the HTTP status. */
    public static int control(String action, String body) throws java.io.IOException {
        return controlCall(action, body).status;
    }

    /** POST /sandbox/&lt;action&gt; and the reply's JSON text ("charge_count" -> {"charge_count":1}). */
    public static String controlReply(String action, String body) throws java.io.IOException {
        return controlCall(action, body).text;
    }

    private static final class Reply {
        final int status;
        final String text;
        Reply(int status, String text) { this.status = status; this.text = text; }
    }

    private static Reply controlCall(String action, String body) throws java.io.IOException {
        String http = env("CLOUDPAY_SANDBOX_HTTP");
        URL url = new URL(http.substring(0, http.indexOf("/cpay/")) + "/sandbox/" + action);
        HttpURLConnection c = (HttpURLConnection) url.openConnection(java.net.Proxy.NO_PROXY);
        c.setRequestMethod("POST");
        c.setDoOutput(true);
        c.setRequestProperty("Content-Type", "application/json");
        try (OutputStream o = c.getOutputStream()) { o.write(body.getBytes(StandardCharsets.UTF_8)); }
        int status = c.getResponseCode();
        return new Reply(status, new String(c.getInputStream().readAllBytes(), StandardCharsets.UTF_8));
    }
}
