/*
 * Test-only JNI native for cloudpay.tests.PanicCheck: calls cloud_pay_testing_panic, the export
 * that only the library built with `--features testing` has. Linked against that library;
 * loaded before the binding's own shim, so the binding's libCloudPayAPI_SDK_CPP.so dependency
 * resolves to this same copy and the binding's errmsg is the panic's.
 */
#include <jni.h>

#include "cloud_pay.h"

CLOUDPAYAPI_SDK_CPP_API int cloud_pay_testing_panic(void);

JNIEXPORT jint JNICALL Java_cloudpay_tests_PanicCheck_testingPanic(JNIEnv *env, jclass cls) {
    (void)env;
    (void)cls;
    return cloud_pay_testing_panic();
}
