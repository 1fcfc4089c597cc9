/*
 * A host that unloads the SDK: LoadLibrary -> init -> pay -> fini -> FreeLibrary while the
 * SDK may still have a thread inside a network call, then LoadLibrary again -> init -> query
 * the same order -> fini -> FreeLibrary, and live on for a few seconds (a thread running in
 * unmapped code would crash the process now). The SDK pins itself at init, so the module must
 * still be mapped after FreeLibrary. Needs the sandbox environment of demo_conf(). Exits 0
 * when every check passed. Built and run under wine by scripts/legs/windows.sh.
 */
#include <windows.h>

#include "cloud_pay.h"
#include "demo_util.h"

#include <stdio.h>
#include <string.h>

#include "expect.h"

typedef int (*init_fn)(const char *);
typedef int (*fini_fn)(void);
typedef int (*call3_fn)(const char *, char *, int);

#define SDK(dll, name) GetProcAddress(dll, name)

int main(void) {
    static char conf[2048], req[512], out[4096];
    char order_no[40];
    HMODULE dll;
    int rc;

    if (demo_conf(conf, sizeof conf) != 0) return 2;
    demo_order_no(order_no, sizeof order_no, "U", 1);

    dll = LoadLibraryA("CloudPayAPI_SDK_CPP.dll");
    EXPECT(dll != NULL, "first LoadLibrary");
    if (!dll) return 1;
    EXPECT(((init_fn)(void (*)(void))SDK(dll, "cloud_pay_init"))(conf) == CLOUD_PAY_OK, "init");
    /* Sandbox code 139102...: the customer types a password and pays after 2 s, so the SDK is
     * still polling the order when the host tears it down. */
    snprintf(req, sizeof req,
             "{\"out_trade_no\":\"%s\",\"author_code\":\"139102000000000000\",\"total_fee\":100,\"body\":\"unload\"}",
             order_no);
    rc = ((call3_fn)(void (*)(void))SDK(dll, "cloud_pay_micro_pay"))(req, out, (int)sizeof out);
    EXPECT(rc == CLOUD_PAY_OK, "micro_pay accepted");
    EXPECT(((fini_fn)(void (*)(void))SDK(dll, "cloud_pay_fini"))() == CLOUD_PAY_OK, "fini");
    EXPECT(FreeLibrary(dll), "FreeLibrary");
    EXPECT(GetModuleHandleA("CloudPayAPI_SDK_CPP.dll") != NULL, "module pinned: still mapped after FreeLibrary");
    printf("unloaded once after a payment; loading again\n");

    dll = LoadLibraryA("CloudPayAPI_SDK_CPP.dll");
    EXPECT(dll != NULL, "second LoadLibrary");
    if (!dll) return 1;
    EXPECT(((init_fn)(void (*)(void))SDK(dll, "cloud_pay_init"))(conf) == CLOUD_PAY_OK, "init again");
    snprintf(req, sizeof req, "{\"out_trade_no\":\"%s\",\"trade_type\":1}", order_no);
    {
        long long start = now_ms();
        do {
            rc = ((call3_fn)(void (*)(void))SDK(dll, "cloud_pay_query_order"))(req, out, (int)sizeof out);
            if (rc == CLOUD_PAY_ORDER_PAID) break;
            sleep_ms(500);
        } while (now_ms() - start < 30000);
    }
    EXPECT(rc == CLOUD_PAY_ORDER_PAID, "the order paid before the unload is found paid after the reload");
    EXPECT(((fini_fn)(void (*)(void))SDK(dll, "cloud_pay_fini"))() == CLOUD_PAY_OK, "fini again");
    EXPECT(FreeLibrary(dll), "second FreeLibrary");
    sleep_ms(3000); /* any SDK thread still running now runs where the DLL was */
    printf("win_unload: %s\n", failures ? "FAILED" : "OK - load, pay, fini, FreeLibrary, reload, query, unload");
    return failures ? 1 : 0;
}
