/*
 * Links against CloudPayAPI_SDK_CPP.lib the way an MSVC project does (COFF objects, lld-link,
 * /SAFESEH on x86, which refuses GNU's .dll.a) and calls three exports through the import
 * library, one of them the __stdcall cloud_pay_order_stat. No MSVC C runtime exists on the
 * build machine, so this program uses kernel32 only and brings its own entry point.
 * Exits 0 when every check passed. Built and run under wine by scripts/legs/windows.sh.
 */
#include "cloud_pay.h"

typedef void *HANDLE;
__declspec(dllimport) HANDLE __stdcall GetStdHandle(unsigned long);
__declspec(dllimport) int __stdcall WriteFile(HANDLE, const void *, unsigned long, unsigned long *, void *);
__declspec(dllimport) void __stdcall ExitProcess(unsigned int);

static void say(const char *s) {
    unsigned long n = 0, len = 0;
    while (s[len]) len++;
    WriteFile(GetStdHandle((unsigned long)-11), s, len, &n, 0);
}

static int failures = 0;

static void expect(int ok, const char *what) {
    say(ok ? "ok: " : "FAILED: ");
    say(what);
    say("\n");
    if (!ok) failures++;
}

static int contains(const char *hay, const char *needle) {
    int i, j;
    for (i = 0; hay[i]; i++) {
        for (j = 0; needle[j] && hay[i + j] == needle[j]; j++) {}
        if (!needle[j]) return 1;
    }
    return 0;
}

void mainCRTStartup(void) {
    static char out[256];
    int rc = cloud_pay_init("{\"common_conf\":{},\"trade_conf\":{}}");
    expect(rc == CLOUD_PAY_FAIL, "cloud_pay_init refuses an empty trade_conf");
    expect(contains(cloud_pay_get_errmsg(), "trade_conf."), "cloud_pay_get_errmsg names the missing field");
    rc = cloud_pay_order_stat("{\"page_num\":1,\"page_size\":10}", out, (int)sizeof out);
    expect(rc != CLOUD_PAY_OK && contains(cloud_pay_get_errmsg(), "not initialised"),
           "cloud_pay_order_stat (__stdcall on x86) answers before init");
    expect(cloud_pay_fini() == CLOUD_PAY_OK, "cloud_pay_fini");
    ExitProcess(failures ? 1 : 0);
}
