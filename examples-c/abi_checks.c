/*
 * ABI edge checks from C, against the sandbox: calls before init, bad input (NULL, bad JSON,
 * GBK bytes, length <= 0), the buffer rule (never a byte past `length`, empty string and
 * "need N bytes" when short, money-state code kept), errmsg lifetime, and the exports of the
 * other families when the header has them (the build passes -DCLOUDPAY_HAVE_<export>).
 * Exits 0 when every check passed, 1 otherwise. Built with warnings as errors and run under
 * AddressSanitizer + UBSan by scripts/legs/c.sh.
 */
#include "cloud_pay.h"
#include "demo_util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int checks = 0, failures = 0;

#define EXPECT(cond, what)                                                                          \
    do {                                                                                            \
        checks++;                                                                                   \
        if (!(cond)) {                                                                              \
            failures++;                                                                             \
            fprintf(stderr, "FAILED: %s (line %d): %s | errmsg: %s\n", what, __LINE__, #cond,      \
                    cloud_pay_get_errmsg());                                                        \
        }                                                                                           \
    } while (0)

#define CANARY 0x5A

static int errmsg_has(const char *needle) {
    return strstr(cloud_pay_get_errmsg(), needle) != NULL;
}

/* Parses "need N bytes" out of errmsg; 0 when absent. */
static int errmsg_need(void) {
    const char *p = strstr(cloud_pay_get_errmsg(), "need ");
    return p ? atoi(p + 5) : 0;
}

int main(void) {
    char conf[2048], out_trade_no[40], req[512];
    static char big[65536];
    char small[64];
    int rc, need, i;

    if (demo_conf(conf, sizeof conf) != 0) return 2;

    /* Before init. */
    rc = cloud_pay_query_order("{\"out_trade_no\":\"sz0100testX1\"}", big, (int)sizeof big);
    EXPECT(rc == CLOUD_PAY_ORDER_ERROR && errmsg_has("not initialised"), "query_order before init: -3");
    rc = cloud_pay_micro_pay("{\"out_trade_no\":\"sz0100testX1\",\"author_code\":\"134567890123456789\","
                             "\"total_fee\":1,\"body\":\"x\"}",
                             big, (int)sizeof big);
    EXPECT(rc == CLOUD_PAY_FAIL && errmsg_has("not initialised"), "micro_pay before init: -1");
    EXPECT(cloud_pay_fini() == CLOUD_PAY_OK, "fini before init is harmless");

    /* Bad configuration. */
    EXPECT(cloud_pay_init(NULL) == CLOUD_PAY_FAIL && cloud_pay_get_errmsg()[0], "init(NULL): -1 + errmsg");
    EXPECT(cloud_pay_init("{not json") == CLOUD_PAY_FAIL && cloud_pay_get_errmsg()[0], "init(bad JSON): -1");
    EXPECT(cloud_pay_init("{\"common_conf\":{},\"trade_conf\":{}}") == CLOUD_PAY_FAIL && errmsg_has("trade_conf."),
           "init without keys: -1 naming the field");

    EXPECT(cloud_pay_init(conf) == CLOUD_PAY_OK, "init");
    EXPECT(cloud_pay_get_errmsg() != NULL && cloud_pay_get_errmsg()[0] == '\0', "errmsg empty after success");

    /* Bad input: nothing is sent. */
    EXPECT(cloud_pay_micro_pay(NULL, big, (int)sizeof big) == CLOUD_PAY_FAIL && errmsg_has("NULL"), "micro_pay(NULL)");
    EXPECT(cloud_pay_micro_pay("[1,2", big, (int)sizeof big) == CLOUD_PAY_FAIL && big[0] == '\0',
           "micro_pay(bad JSON): -1 and an empty output");
    EXPECT(cloud_pay_micro_pay("{\"out_trade_no\":\"sz0100testX2\"}", big, (int)sizeof big) == CLOUD_PAY_FAIL &&
               errmsg_has("author_code"),
           "micro_pay without author_code names the field");
    EXPECT(cloud_pay_micro_pay("{\"body\":\"\xC9\xCC\xC6\xB7\"}", big, (int)sizeof big) == CLOUD_PAY_FAIL &&
               errmsg_has("UTF-8"),
           "GBK bytes are refused with a UTF-8 hint");
    EXPECT(cloud_pay_micro_pay("{}", big, 0) == CLOUD_PAY_FAIL && errmsg_has("length"), "micro_pay length 0");
    EXPECT(cloud_pay_query_order("{\"out_trade_no\":\"sz0100testX3\"}", NULL, 100) == CLOUD_PAY_ORDER_ERROR,
           "query_order(out NULL): -3");
    EXPECT(cloud_pay_refund(NULL) == CLOUD_PAY_INTERNAL, "refund(NULL): -3");
    EXPECT(cloud_pay_cancel_order("nope") == CLOUD_PAY_INTERNAL, "cancel_order(bad JSON): -3");
    EXPECT(cloud_pay_scan_code_pay("{}") == CLOUD_PAY_FAIL, "scan_code_pay(missing fields): -1");
    EXPECT(cloud_pay_query_refund(NULL, big, (int)sizeof big) == CLOUD_PAY_INTERNAL, "query_refund(NULL): -3");

    /* An order that does not exist. */
    demo_order_no(out_trade_no, sizeof out_trade_no, "N", 1);
    snprintf(req, sizeof req, "{\"out_trade_no\":\"%s\",\"trade_type\":1,\"pay_platform\":1}", out_trade_no);
    rc = cloud_pay_query_order(req, big, (int)sizeof big);
    EXPECT(rc == CLOUD_PAY_ORDER_NOT_EXIST, "unknown order: -7");

    /* A paid order (sandbox code 134567890123456789 pays at once), then the buffer rule. */
    demo_order_no(out_trade_no, sizeof out_trade_no, "B", 1);
    snprintf(req, sizeof req,
             "{\"out_trade_no\":\"%s\",\"author_code\":\"134567890123456789\",\"total_fee\":\"100\",\"body\":\"buffer\"}",
             out_trade_no);
    memset(small, CANARY, sizeof small);
    rc = cloud_pay_micro_pay(req, small, 8);
    EXPECT(rc == CLOUD_PAY_OK, "micro_pay with a short resp keeps its real code 0");
    EXPECT(small[0] == '\0', "short resp: empty string");
    for (i = 1; i < (int)sizeof small; i++)
        if ((unsigned char)small[i] != CANARY) break;
    EXPECT(i == (int)sizeof small, "short resp: nothing written past the NUL");
    need = errmsg_need();
    EXPECT(need > 8 && errmsg_has("buffer too small"), "short resp: errmsg says how many bytes");

    snprintf(req, sizeof req, "{\"out_trade_no\":\"%s\",\"trade_type\":1}", out_trade_no);
    {
        long long start = now_ms();
        do {
            rc = cloud_pay_query_order(req, big, (int)sizeof big);
            if (rc == CLOUD_PAY_ORDER_UNKNOWN) sleep_ms(200);
        } while (rc == CLOUD_PAY_ORDER_UNKNOWN && now_ms() - start < 20000);
    }
    EXPECT(rc == CLOUD_PAY_ORDER_PAID, "paid");
    need = (int)strlen(big) + 1;

    memset(small, CANARY, sizeof small);
    rc = cloud_pay_query_order(req, small, 16);
    EXPECT(rc == CLOUD_PAY_ORDER_PAID, "short order buffer: still 0 (paid), never an error");
    EXPECT(small[0] == '\0', "short order buffer: empty string");
    for (i = 16; i < (int)sizeof small; i++)
        if ((unsigned char)small[i] != CANARY) break;
    EXPECT(i == (int)sizeof small, "short order buffer: canary past length intact");
    EXPECT(errmsg_need() == need, "errmsg need N = strlen(output) + 1");
    {
        char *exact = (char *)malloc((size_t)need + 1);
        if (exact) {
            exact[need] = (char)CANARY;
            rc = cloud_pay_query_order(req, exact, need);
            EXPECT(rc == CLOUD_PAY_ORDER_PAID && (int)strlen(exact) == need - 1, "exact fit");
            EXPECT((unsigned char)exact[need] == CANARY, "exact fit: nothing past length");
            EXPECT(cloud_pay_get_errmsg()[0] == '\0', "exact fit: errmsg empty");
            rc = cloud_pay_query_order(req, exact, need - 1);
            EXPECT(rc == CLOUD_PAY_ORDER_PAID && exact[0] == '\0' && errmsg_need() == need, "one byte short");
            free(exact);
        }
    }

#ifdef CLOUDPAY_HAVE_cloud_pay_query_shop_info
    rc = cloud_pay_query_shop_info("{\"page_num\":1,\"page_size\":100}", big, (int)sizeof big);
    EXPECT(rc == CLOUD_PAY_OK && strstr(big, "sz01TESTSHOP00000001"), "query_shop_info lists the demo shop");
    rc = cloud_pay_query_shop_info("{\"page_num\":1,\"page_size\":100}", small, 4);
    EXPECT(rc == CLOUD_PAY_INTERNAL && small[0] == '\0' && errmsg_need() > 4, "query_shop_info short buffer: -3");
    EXPECT(cloud_pay_query_shop_info(NULL, big, (int)sizeof big) == CLOUD_PAY_INTERNAL, "query_shop_info(NULL)");
#endif
#ifdef CLOUDPAY_HAVE_cloud_pay_order_detail
    rc = cloud_pay_order_detail("{\"page_num\":1,\"page_size\":10}", big, (int)sizeof big);
    EXPECT(rc == CLOUD_PAY_OK && strstr(big, out_trade_no), "order_detail lists the paid order");
#endif
#ifdef CLOUDPAY_HAVE_cloud_pay_order_stat
    rc = cloud_pay_order_stat("{\"page_num\":1,\"page_size\":10}", big, (int)sizeof big);
    EXPECT(rc == CLOUD_PAY_OK && strstr(big, "total_count"), "order_stat");
#endif
#ifdef CLOUDPAY_HAVE_cloud_pay_security_author_code_prefix
    rc = cloud_pay_security_author_code_prefix(big, (int)sizeof big);
    EXPECT(rc == CLOUD_PAY_OK && strstr(big, "wx_author_code_prefix"), "security_author_code_prefix");
#endif
#ifdef CLOUDPAY_HAVE_cloud_pay_security_login
    {
        /* First run (no stored identity in a fresh directory): the ids are needed. */
        char login_req[1024];
        const char *dir = getenv("CLOUDPAY_STATE_DIR");
        snprintf(login_req, sizeof login_req, "{\"state_dir\":\"%s/login-c\"}", dir ? dir : ".");
        rc = cloud_pay_security_login(login_req, big, (int)sizeof big);
        EXPECT(rc == CLOUD_PAY_LOGIN_NEED_IDS, "security_login first run: 1 (need ids)");
    }
#endif

    EXPECT(cloud_pay_fini() == CLOUD_PAY_OK, "fini");
    EXPECT(cloud_pay_query_order(req, big, (int)sizeof big) == CLOUD_PAY_ORDER_ERROR && errmsg_has("not initialised"),
           "after fini: not initialised");
    printf("abi_checks: %d checks, %d failed\n", checks, failures);
    return failures ? 1 : 0;
}
