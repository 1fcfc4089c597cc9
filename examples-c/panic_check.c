/*
 * Panic check, against the library built with `--features testing` only: its test export
 * cloud_pay_testing_panic panics inside the SDK's panic boundary. The call must come back as
 * CLOUD_PAY_INTERNAL (-3) with errmsg "internal error: ..." (the digit run in the panic's
 * message redacted), and the library must go on working: init, a second panic, fini.
 * The shipped header does not declare the export, so it is declared here.
 */
#include <stdio.h>
#include <string.h>

#include "cloud_pay.h"
#include "demo_util.h"
#include "expect.h"

CLOUDPAYAPI_SDK_CPP_API int cloud_pay_testing_panic(void);

static int panics_into_internal(const char *when) {
    int code = cloud_pay_testing_panic();
    const char *msg = cloud_pay_get_errmsg();
    printf("cloud_pay_testing_panic (%s): %d, errmsg \"%s\"\n", when, code, msg);
    return code == CLOUD_PAY_INTERNAL && strncmp(msg, "internal error: ", 16) == 0 &&
           strstr(msg, "134567890123456789") == NULL;
}

int main(void) {
    char conf[4096];
    if (demo_conf(conf, sizeof conf) != 0) return 2;
    EXPECT(panics_into_internal("before init"), "a panic is -3 with a redacted internal-error errmsg");
    EXPECT(cloud_pay_init(conf) == CLOUD_PAY_OK, "init after the panic");
    EXPECT(panics_into_internal("after init"), "a second panic, the SDK initialised, is -3 too");
    EXPECT(cloud_pay_fini() == CLOUD_PAY_OK, "fini after the panics");
    printf("panic_check: %d checks, %d failed\n", checks, failures);
    return failures ? 1 : 0;
}
