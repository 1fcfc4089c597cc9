/*
 * JNI shim between cloudpay.CloudPayNative and the Cloud Pay SDK's C exports.
 * It only moves bytes: Java byte[] (UTF-8 JSON, no NUL) -> NUL-terminated char*, and the
 * caller's output byte[] <-> char* buffer with an explicit length. No JSON, no policy.
 * Each export is one line below (IN / IN_OUT / OUT); exports that not every library build
 * has yet are guarded by CLOUDPAY_HAVE_<name>, which the build derives from the header.
 */
#include <jni.h>
#include <stdlib.h>
#include <string.h>

#include "cloud_pay.h"

/* A NUL-terminated copy of a Java byte[] (NULL for null); *oom set when allocation failed. */
static char *in_copy(JNIEnv *env, jbyteArray arr, int *oom) {
    jsize n;
    char *s;
    *oom = 0;
    if (arr == NULL) return NULL;
    n = (*env)->GetArrayLength(env, arr);
    s = (char *)malloc((size_t)n + 1);
    if (s == NULL) {
        *oom = 1;
        return NULL;
    }
    (*env)->GetByteArrayRegion(env, arr, 0, n, (jbyte *)s);
    s[n] = '\0';
    return s;
}

static void throw_java(JNIEnv *env, const char *cls, const char *msg) {
    jclass c = (*env)->FindClass(env, cls);
    if (c != NULL) (*env)->ThrowNew(env, c, msg);
}

/* Calls fn(req, out, length) with `out` pinned or copied, and copies the buffer back. */
#define IN_OUT(jname, cname)                                                                       \
    JNIEXPORT jint JNICALL Java_cloudpay_CloudPayNative_##jname(JNIEnv *env, jclass cls, jbyteArray req, \
                                                                jbyteArray out, jint length) {     \
        int oom;                                                                                   \
        char *r;                                                                                   \
        jbyte *o = NULL;                                                                           \
        jint rc;                                                                                   \
        (void)cls;                                                                                 \
        if (out != NULL && length > (*env)->GetArrayLength(env, out)) {                            \
            throw_java(env, "java/lang/IllegalArgumentException", "length exceeds the array");     \
            return 0;                                                                              \
        }                                                                                          \
        r = in_copy(env, req, &oom);                                                               \
        if (oom) { throw_java(env, "java/lang/OutOfMemoryError", "cloudpay_jni"); return 0; }     \
        if (out != NULL) o = (*env)->GetByteArrayElements(env, out, NULL);                         \
        if (out != NULL && o == NULL) { free(r); return 0; }                                       \
        rc = cname(r, (char *)o, length);                                                          \
        if (o != NULL) (*env)->ReleaseByteArrayElements(env, out, o, 0);                           \
        free(r);                                                                                   \
        return rc;                                                                                 \
    }

#define IN(jname, cname)                                                                           \
    JNIEXPORT jint JNICALL Java_cloudpay_CloudPayNative_##jname(JNIEnv *env, jclass cls, jbyteArray req) { \
        int oom;                                                                                   \
        char *r = in_copy(env, req, &oom);                                                         \
        jint rc;                                                                                   \
        (void)cls;                                                                                 \
        if (oom) { throw_java(env, "java/lang/OutOfMemoryError", "cloudpay_jni"); return 0; }     \
        rc = cname(r);                                                                             \
        free(r);                                                                                   \
        return rc;                                                                                 \
    }

#define OUT(jname, cname)                                                                          \
    JNIEXPORT jint JNICALL Java_cloudpay_CloudPayNative_##jname(JNIEnv *env, jclass cls, jbyteArray out, \
                                                                jint length) {                     \
        jbyte *o = NULL;                                                                           \
        jint rc;                                                                                   \
        (void)cls;                                                                                 \
        if (out != NULL && length > (*env)->GetArrayLength(env, out)) {                            \
            throw_java(env, "java/lang/IllegalArgumentException", "length exceeds the array");     \
            return 0;                                                                              \
        }                                                                                          \
        if (out != NULL) o = (*env)->GetByteArrayElements(env, out, NULL);                         \
        if (out != NULL && o == NULL) return 0;                                                    \
        rc = cname((char *)o, length);                                                             \
        if (o != NULL) (*env)->ReleaseByteArrayElements(env, out, o, 0);                           \
        return rc;                                                                                 \
    }

JNIEXPORT jint JNICALL Java_cloudpay_CloudPayNative_fini(JNIEnv *env, jclass cls) {
    (void)env;
    (void)cls;
    return cloud_pay_fini();
}

/* errmsg as UTF-8 bytes (never through NewStringUTF: that is modified UTF-8). */
JNIEXPORT jbyteArray JNICALL Java_cloudpay_CloudPayNative_getErrmsg(JNIEnv *env, jclass cls) {
    const char *m = cloud_pay_get_errmsg();
    jsize n = m ? (jsize)strlen(m) : 0;
    jbyteArray a = (*env)->NewByteArray(env, n);
    (void)cls;
    if (a != NULL && n > 0) (*env)->SetByteArrayRegion(env, a, 0, n, (const jbyte *)m);
    return a;
}

IN(init, cloud_pay_init)
IN_OUT(microPay, cloud_pay_micro_pay)
IN_OUT(queryOrder, cloud_pay_query_order)
IN(cancelOrder, cloud_pay_cancel_order)
IN(scanCodePay, cloud_pay_scan_code_pay)
IN(refund, cloud_pay_refund)
IN_OUT(queryRefund, cloud_pay_query_refund)
#ifdef CLOUDPAY_HAVE_cloud_pay_query_shop_info
IN_OUT(queryShopInfo, cloud_pay_query_shop_info)
#endif
#ifdef CLOUDPAY_HAVE_cloud_pay_set_shop_info
IN_OUT(setShopInfo, cloud_pay_set_shop_info)
#endif
#ifdef CLOUDPAY_HAVE_cloud_pay_order_detail
IN_OUT(orderDetail, cloud_pay_order_detail)
#endif
#ifdef CLOUDPAY_HAVE_cloud_pay_order_stat
IN_OUT(orderStat, cloud_pay_order_stat)
#endif
#ifdef CLOUDPAY_HAVE_cloud_pay_security_author_code_prefix
OUT(securityAuthorCodePrefix, cloud_pay_security_author_code_prefix)
#endif
#ifdef CLOUDPAY_HAVE_cloud_pay_security_login
IN_OUT(securityLogin, cloud_pay_security_login)
#endif
#ifdef CLOUDPAY_HAVE_cloud_pay_security_login_check
IN_OUT(securityLoginCheck, cloud_pay_security_login_check)
#endif
#ifdef CLOUDPAY_HAVE_cloud_pay_security_init
IN(securityInit, cloud_pay_security_init)
#endif
#ifdef CLOUDPAY_HAVE_cloud_pay_security_identification
IN_OUT(securityIdentification, cloud_pay_security_identification)
#endif
#ifdef CLOUDPAY_HAVE_cloud_pay_security_identification_check
IN_OUT(securityIdentificationCheck, cloud_pay_security_identification_check)
#endif
