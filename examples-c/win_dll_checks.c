/*
 * Windows-only checks of CloudPayAPI_SDK_CPP.dll as a host that loads it at run time sees it
 * (C#, Delphi, VB6 and Java callers all use LoadLibrary + GetProcAddress): the exports resolve
 * by their vendor names and, on x86, by the stdcall aliases of cloud_pay_order_stat; on x86
 * the stack pointer is checked around one __stdcall export (the callee pops its 12 bytes) and
 * one cdecl export (the caller pops them), since a mismatch corrupts the caller's stack only
 * later and far from the cause. Needs the sandbox environment of demo_conf(). Exits 0 when
 * every check passed. Built and run under 32- and 64-bit wine by scripts/legs/windows.sh.
 */
#include <windows.h>

#include "cloud_pay.h"
#include "demo_util.h"

#include <stdio.h>
#include <string.h>

#include "expect.h"

typedef int (*init_fn)(const char *);
typedef int (*fini_fn)(void);
typedef const char *(*errmsg_fn)(void);
typedef int (*call3_fn)(const char *, char *, int);

#if defined(__i386__)
/* esp_probe_call(fn, const char *a, char *b, int c, int *popped): pushes a, b, c,
 * calls fn and stores how many of those 12 argument bytes fn removed from the stack (12 for
 * __stdcall, 0 for cdecl); the stack is restored either way. Written in assembly because a
 * compiler may itself adjust ESP around a call it thinks it understands. */
int esp_probe_call(void (*fn)(void), const char *a, char *b, int c, int *popped);
__asm__(".text\n"
        ".globl _esp_probe_call\n"
        "_esp_probe_call:\n"
        "    pushl %ebp\n"
        "    movl %esp, %ebp\n"
        "    pushl %esi\n"
        "    movl %esp, %esi\n"
        "    pushl 20(%ebp)\n"
        "    pushl 16(%ebp)\n"
        "    pushl 12(%ebp)\n"
        "    call *8(%ebp)\n"
        "    movl %esp, %ecx\n"
        "    subl %esi, %ecx\n"
        "    addl $12, %ecx\n"
        "    movl 24(%ebp), %edx\n"
        "    movl %ecx, (%edx)\n"
        "    movl %esi, %esp\n"
        "    popl %esi\n"
        "    popl %ebp\n"
        "    ret\n");
#endif

static const char *const EXPORTS[] = {
    "cloud_pay_init", "cloud_pay_fini", "cloud_pay_get_errmsg", "cloud_pay_micro_pay", "cloud_pay_query_order",
    "cloud_pay_cancel_order", "cloud_pay_refund", "cloud_pay_query_refund", "cloud_pay_order_detail",
    "cloud_pay_order_stat",
};

int main(void) {
    static char conf[2048], out[65536];
    HMODULE dll;
    FARPROC stat;
    size_t i;
    int rc;

    if (demo_conf(conf, sizeof conf) != 0) return 2;
    dll = LoadLibraryA("CloudPayAPI_SDK_CPP.dll");
    if (!dll) {
        fprintf(stderr, "FAILED: LoadLibrary(CloudPayAPI_SDK_CPP.dll): error %lu\n", GetLastError());
        return 1;
    }
    for (i = 0; i < sizeof EXPORTS / sizeof EXPORTS[0]; i++) {
        EXPECT(GetProcAddress(dll, EXPORTS[i]) != NULL, EXPORTS[i]);
    }
    stat = GetProcAddress(dll, "cloud_pay_order_stat");
#if defined(__i386__)
    EXPECT(GetProcAddress(dll, "_cloud_pay_order_stat@12") == stat, "_cloud_pay_order_stat@12 is order_stat");
    EXPECT(GetProcAddress(dll, "cloud_pay_order_stat@12") == stat, "cloud_pay_order_stat@12 is order_stat");
#endif
    rc = ((init_fn)(void (*)(void))GetProcAddress(dll, "cloud_pay_init"))(conf);
    EXPECT(rc == CLOUD_PAY_OK, "init");
    if (rc != CLOUD_PAY_OK) fprintf(stderr, "init: %s\n", ((errmsg_fn)(void (*)(void))GetProcAddress(dll, "cloud_pay_get_errmsg"))());

#if defined(__i386__)
    {
        int popped = -1;
        out[0] = 0;
        rc = esp_probe_call((void (*)(void))stat, "{\"page_num\":1,\"page_size\":10}", out, (int)sizeof out, &popped);
        printf("order_stat (__stdcall): rc %d, callee popped %d bytes\n", rc, popped);
        EXPECT(rc == CLOUD_PAY_OK && strstr(out, "total_count"), "order_stat through the probe");
        EXPECT(popped == 12, "order_stat pops its 12 argument bytes (__stdcall)");
        popped = -1;
        rc = esp_probe_call((void (*)(void))GetProcAddress(dll, "cloud_pay_order_detail"), "{}", out, (int)sizeof out, &popped);
        printf("order_detail (cdecl): rc %d, callee popped %d bytes\n", rc, popped);
        EXPECT(popped == 0, "order_detail leaves its arguments to the caller (cdecl)");
    }
#else
    rc = ((call3_fn)(void (*)(void))stat)("{\"page_num\":1,\"page_size\":10}", out, (int)sizeof out);
    EXPECT(rc == CLOUD_PAY_OK && strstr(out, "total_count"), "order_stat");
#endif
    EXPECT(((fini_fn)(void (*)(void))GetProcAddress(dll, "cloud_pay_fini"))() == CLOUD_PAY_OK, "fini");
    printf("win_dll_checks: %d checks, %d failed\n", checks, failures);
    return failures ? 1 : 0;
}
