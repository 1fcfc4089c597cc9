package cloudpay.tests;

import cloudpay.CloudPay;
import cloudpay.CloudPay.Code;
import cloudpay.demo.DemoSupport;

/**
 * Panic check of the Java binding, against the library built with {@code --features testing}:
 * its test export cloud_pay_testing_panic panics inside the SDK's panic boundary. Through JNI
 * the call must come back as {@link Code#INTERNAL} (-3) with errmsg "internal error: ..." (the
 * digit run of the panic message redacted), and the same library must go on working: init, a
 * second panic, fini. Run with -Dcloudpay.panic.jni=/path/to/libcloudpay_panic_jni.so
 * (scripts/legs/java.sh builds it from tests/native/panic_jni.c).
 */
public final class PanicCheck {
    static {
        // First: it brings in the testing library, which the binding's shim then shares.
        System.load(System.getProperty("cloudpay.panic.jni"));
    }

    static native int testingPanic();

    private static int checks, failures;

    static void expect(boolean ok, String what) {
        checks++;
        if (!ok) {
            failures++;
            System.err.println("FAILED: " + what + " | errmsg: " + CloudPay.errmsg());
        }
    }

    static void panics(String when) {
        int code = testingPanic();
        String msg = CloudPay.errmsg();
        System.out.println("cloud_pay_testing_panic (" + when + "): " + code + ", errmsg \"" + msg + "\"");
        expect(code == Code.INTERNAL.value, when + ": a panic is Code.INTERNAL (-3)");
        expect(msg.startsWith("internal error: "), when + ": errmsg starts \"internal error: \"");
        expect(!msg.contains("134567890123456789"), when + ": errmsg redacts the digit run");
    }

    public static void main(String[] args) {
        panics("before init");
        expect(CloudPay.init(DemoSupport.conf()).code == Code.OK, "init after the panic");
        panics("after init");
        expect(CloudPay.fini() == Code.OK, "fini after the panics");
        System.out.println("PanicCheck: " + checks + " checks, " + failures + " failed");
        System.exit(failures == 0 ? 0 : 1);
    }
}
