/*
 * The jar's Windows JNI shim, loaded as a JVM loads it, without a Windows JRE (none runs
 * here): LoadLibrary of CloudPayAPI_SDK_CPP.dll then cloudpay_jni.dll from the folder in
 * argv[1] (as cloudpay.NativeLibraries does), GetProcAddress of every native named in
 * argv[2..] (undecorated, as HotSpot looks them up), then one payment through the shim
 * against the sandbox (CLOUDPAY_SANDBOX_*) with a minimal JNIEnv that knows byte arrays only.
 * Built with mingw by scripts/legs/packages.sh and run under wine.
 */
#include <windows.h>
#include <jni.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "demo_util.h"

typedef struct {
    jsize len;
    jbyte *data;
} fake_array;

static jsize JNICALL get_len(JNIEnv *env, jarray a) {
    (void)env;
    return ((fake_array *)a)->len;
}
static void JNICALL get_region(JNIEnv *env, jbyteArray a, jsize start, jsize len, jbyte *buf) {
    (void)env;
    memcpy(buf, ((fake_array *)a)->data + start, (size_t)len);
}
static jbyte *JNICALL get_elems(JNIEnv *env, jbyteArray a, jboolean *is_copy) {
    (void)env;
    if (is_copy) *is_copy = JNI_FALSE;
    return ((fake_array *)a)->data;
}
static void JNICALL release_elems(JNIEnv *env, jbyteArray a, jbyte *elems, jint mode) {
    (void)env;
    (void)a;
    (void)elems;
    (void)mode;
}
static jbyteArray JNICALL new_array(JNIEnv *env, jsize len) {
    fake_array *a = (fake_array *)calloc(1, sizeof *a);
    (void)env;
    a->len = len;
    a->data = (jbyte *)calloc((size_t)len + 1, 1);
    return (jbyteArray)a;
}
static void JNICALL set_region(JNIEnv *env, jbyteArray a, jsize start, jsize len, const jbyte *buf) {
    (void)env;
    memcpy(((fake_array *)a)->data + start, buf, (size_t)len);
}
static jclass JNICALL find_class(JNIEnv *env, const char *name) {
    (void)env;
    fprintf(stderr, "FAIL: the shim threw %s\n", name);
    exit(1);
}

static fake_array bytes(const char *s) {
    fake_array a;
    a.len = (jsize)strlen(s);
    a.data = (jbyte *)s;
    return a;
}

typedef jint(JNICALL *in_fn)(JNIEnv *, jclass, jbyteArray);
typedef jint(JNICALL *in_out_fn)(JNIEnv *, jclass, jbyteArray, jbyteArray, jint);
typedef jbyteArray(JNICALL *errmsg_fn)(JNIEnv *, jclass);
typedef jint(JNICALL *fini_fn)(JNIEnv *, jclass);

/* void (*)(void): the one function pointer type any other may be cast to and from. */
typedef void (*any_fn)(void);

static any_fn need(HMODULE m, const char *name) {
    FARPROC p = GetProcAddress(m, name);
    if (p == NULL) {
        fprintf(stderr, "FAIL: cloudpay_jni.dll does not export %s\n", name);
        exit(1);
    }
    return (any_fn)p;
}

int main(int argc, char **argv) {
    struct JNINativeInterface_ fns;
    JNIEnv env = &fns;
    char path[MAX_PATH], conf[2048], no[40], req[512];
    static jbyte out_buf[8192];
    fake_array conf_a, req_a, out_a;
    HMODULE sdk, shim;
    jint rc;
    long long start;
    int i;
    fake_array *err;

    if (argc < 2) {
        fprintf(stderr, "usage: jni_shim_check FOLDER [Java_... names]\n");
        return 2;
    }
    snprintf(path, sizeof path, "%s\\CloudPayAPI_SDK_CPP.dll", argv[1]);
    sdk = LoadLibraryA(path);
    snprintf(path, sizeof path, "%s\\cloudpay_jni.dll", argv[1]);
    shim = sdk ? LoadLibraryA(path) : NULL;
    if (shim == NULL) {
        fprintf(stderr, "FAIL: LoadLibrary %s: error %lu\n", path, (unsigned long)GetLastError());
        return 1;
    }
    for (i = 2; i < argc; i++) need(shim, argv[i]);
    printf("loaded cloudpay_jni.dll, %d natives found\n", argc - 2);

    memset(&fns, 0, sizeof fns);
    fns.GetArrayLength = get_len;
    fns.GetByteArrayRegion = get_region;
    fns.GetByteArrayElements = get_elems;
    fns.ReleaseByteArrayElements = release_elems;
    fns.NewByteArray = new_array;
    fns.SetByteArrayRegion = set_region;
    fns.FindClass = find_class;

    if (demo_conf(conf, sizeof conf) != 0) return 2;
    conf_a = bytes(conf);
    rc = ((in_fn)need(shim, "Java_cloudpay_CloudPayNative_init"))(&env, NULL, (jbyteArray)&conf_a);
    if (rc != 0) {
        err = (fake_array *)((errmsg_fn)need(shim, "Java_cloudpay_CloudPayNative_getErrmsg"))(&env, NULL);
        fprintf(stderr, "FAIL: init through the shim: %ld %s\n", (long)rc, (char *)err->data);
        return 1;
    }
    demo_order_no(no, sizeof no, "J", 1);
    snprintf(req, sizeof req, "{\"out_trade_no\":\"%s\",\"author_code\":\"139102000000000000\",\"total_fee\":1234,\"body\":\"jni shim check\"}", no);
    req_a = bytes(req);
    out_a.len = (jsize)sizeof out_buf - 1;
    out_a.data = out_buf;
    rc = ((in_out_fn)need(shim, "Java_cloudpay_CloudPayNative_microPay"))(&env, NULL, (jbyteArray)&req_a, (jbyteArray)&out_a, out_a.len);
    printf("microPay %s -> %ld %s\n", no, (long)rc, (char *)out_buf);
    if (rc != 0) return 1;
    snprintf(req, sizeof req, "{\"out_trade_no\":\"%s\",\"trade_type\":1}", no);
    req_a = bytes(req);
    start = now_ms();
    do {
        sleep_ms(500);
        memset(out_buf, 0, sizeof out_buf);
        rc = ((in_out_fn)need(shim, "Java_cloudpay_CloudPayNative_queryOrder"))(&env, NULL, (jbyteArray)&req_a, (jbyteArray)&out_a, out_a.len);
    } while (rc == -2 && now_ms() - start < 30000);
    printf("queryOrder -> %ld (state %lld)\n", (long)rc, json_int((char *)out_buf, "state", -1));
    ((fini_fn)need(shim, "Java_cloudpay_CloudPayNative_fini"))(&env, NULL);
    if (rc != 0) {
        fprintf(stderr, "FAIL: the order is not paid\n");
        return 1;
    }
    printf("OK: paid through the Windows JNI shim\n");
    return 0;
}
