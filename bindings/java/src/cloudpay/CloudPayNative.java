package cloudpay;

/**
 * The SDK's exports as JNI natives (implemented by native/cloudpay_jni.c, which calls
 * CloudPayAPI_SDK_CPP). JSON is UTF-8 {@code byte[]} without a terminating NUL; output
 * arrays are written up to {@code length} bytes (at most their size). Prefer {@link CloudPay}.
 * A native whose export this library build lacks throws {@link UnsatisfiedLinkError}.
 */
public final class CloudPayNative {
    private CloudPayNative() {}

    static {
        NativeLibraries.load();   // property cloudpay.jni / cloudpay.native.dir, the jar's natives, java.library.path
    }

    public static native int init(byte[] conf);
    public static native int fini();
    public static native byte[] getErrmsg();
    public static native int microPay(byte[] req, byte[] resp, int length);
    public static native int queryOrder(byte[] req, byte[] order, int length);
    public static native int cancelOrder(byte[] req);
    public static native int scanCodePay(byte[] req);
    public static native int refund(byte[] req);
    public static native int queryRefund(byte[] req, byte[] refundOrder, int length);
    public static native int queryShopInfo(byte[] req, byte[] shopInfo, int length);
    public static native int setShopInfo(byte[] req, byte[] shopInfo, int length);
    public static native int orderDetail(byte[] req, byte[] orderDetails, int length);
    public static native int orderStat(byte[] req, byte[] orderStat, int length);
    public static native int securityAuthorCodePrefix(byte[] resp, int length);
    public static native int securityLogin(byte[] req, byte[] resp, int length);
    public static native int securityLoginCheck(byte[] req, byte[] resp, int length);
    public static native int securityInit(byte[] conf);
    public static native int securityIdentification(byte[] req, byte[] resp, int length);
    public static native int securityIdentificationCheck(byte[] req, byte[] resp, int length);
}
