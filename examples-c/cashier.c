/*
 * A complete cashier in C, as an unchanged POS program would drive CloudPayAPI_SDK_CPP:
 *   1. cloud_pay_init
 *   2. the customer shows a payment code -> cloud_pay_micro_pay
 *   3. wait for the result with cloud_pay_query_order (-2 = not final yet, keep asking)
 *   4. cloud_pay_refund of part of it, 5. cloud_pay_query_refund until final
 *   6. a scan-code payment: cloud_pay_scan_code_pay, code_url printed as a QR code in the
 *      terminal, the (sandbox) customer scans and pays, the cashier waits for the result.
 * Run against the local sandbox (scripts/legs/c.sh starts it and sets the environment).
 * Exits 0 when every step gave the expected result, 1 otherwise.
 *
 * --wait-for-customer: only steps 1-3, with a payment code whose (sandbox) customer never
 * confirms by himself: the order stays "paying" until someone presses "Customer pays" (or
 * "Customer cancels") in the sandbox dashboard, /sandbox/console/. Waits up to
 * CLOUDPAY_WAIT_SECS (default 120) and exits 0 only if the order ends paid (query_order 0).
 * --no-qr: do not print the scan-code QR code in the terminal.
 */
#include "cloud_pay.h"
#include "demo_util.h"
#include "qr.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int failures = 0;

#define EXPECT(cond, what)                                                                          \
    do {                                                                                            \
        if (!(cond)) {                                                                              \
            failures++;                                                                             \
            fprintf(stderr, "FAILED: %s (line %d): %s | errmsg: %s\n", what, __LINE__, #cond,      \
                    cloud_pay_get_errmsg());                                                        \
        }                                                                                           \
    } while (0)

static char out[16384];

/* Asks for the order until its result is final; returns the last code. */
static int wait_for_order(const char *out_trade_no, int trade_type, int timeout_ms) {
    char req[256];
    long long start = now_ms();
    int rc;
    snprintf(req, sizeof req, "{\"out_trade_no\":\"%s\",\"trade_type\":%d}", out_trade_no, trade_type);
    for (;;) {
        rc = cloud_pay_query_order(req, out, (int)sizeof out);
        if (rc != CLOUD_PAY_ORDER_UNKNOWN || now_ms() - start > timeout_ms) return rc;
        printf("    %5.1fs  -2 not final yet (state %lld)\n", (double)(now_ms() - start) / 1000.0,
               json_int(out, "state", -1));
        sleep_ms(500);
    }
}

/* --wait-for-customer: a payment the tester finishes by hand in the sandbox dashboard. */
static int pay_and_wait_for_customer(void) {
    char out_trade_no[40], req[512];
    const char *secs = getenv("CLOUDPAY_WAIT_SECS");
    int timeout_ms = (secs && atoi(secs) > 0 ? atoi(secs) : 120) * 1000;
    int rc;

    /* Sandbox payment code 13 9 4 ...: WeChat, the customer never confirms by himself. */
    demo_order_no(out_trade_no, sizeof out_trade_no, "W", 1);
    printf("[2] cloud_pay_micro_pay %s, 12.34 CNY, WeChat payment code 139400...\n", out_trade_no);
    printf("    waiting for the customer: press \"Customer pays\" for order %s in the sandbox dashboard\n",
           out_trade_no);
    fflush(stdout); /* a test reads this line while micro_pay waits */
    snprintf(req, sizeof req,
             "{\"out_trade_no\":\"%s\",\"author_code\":\"139400000000000000\",\"total_fee\":1234,"
             "\"fee_type\":\"CNY\",\"body\":\"Demo shop - tea\"}",
             out_trade_no);
    rc = cloud_pay_micro_pay(req, out, (int)sizeof out);
    printf("    micro_pay -> %d\n", rc);
    printf("[3] waiting for the result with cloud_pay_query_order (up to %d s)\n", timeout_ms / 1000);
    fflush(stdout);
    rc = wait_for_order(out_trade_no, 1, timeout_ms);
    printf("    query_order -> code %d, state %lld\n", rc, json_int(out, "state", -1));
    EXPECT(rc == CLOUD_PAY_ORDER_PAID, "the customer paid");
    EXPECT(json_int(out, "state", -1) == CLOUD_PAY_STATE_SUCCESS, "state SUCCESS");
    EXPECT(cloud_pay_fini() == CLOUD_PAY_OK, "fini");
    if (failures) {
        printf("cashier: %d check(s) FAILED\n", failures);
        return 1;
    }
    printf("cashier: OK - the customer paid 12.34 (code %d)\n", rc);
    return 0;
}

int main(int argc, char **argv) {
    char conf[2048], out_trade_no[40], out_refund_no[48], req[1024], code_url[512];
    int rc, i;
    long long state, start;
    int show_qr = 1, wait_for_customer = 0;
    qr_code qr;

    for (i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--no-qr") == 0) {
            show_qr = 0;
        } else if (strcmp(argv[i], "--wait-for-customer") == 0) {
            wait_for_customer = 1;
        } else {
            fprintf(stderr, "usage: cashier [--no-qr] [--wait-for-customer]\n");
            return 2;
        }
    }
    if (demo_conf(conf, sizeof conf) != 0) return 2;

    printf("[1] cloud_pay_init (demo merchant, TEST-ONLY keys) against %s\n", getenv("CLOUDPAY_SANDBOX_HTTPS"));
    rc = cloud_pay_init(conf);
    EXPECT(rc == CLOUD_PAY_OK, "init");
    if (rc != CLOUD_PAY_OK) return 1;
    if (wait_for_customer) return pay_and_wait_for_customer();

    /* Sandbox payment code 13 9 1 020 ...: WeChat, the customer enters a password, pays after 2.0 s. */
    demo_order_no(out_trade_no, sizeof out_trade_no, "C", 1);
    printf("[2] cloud_pay_micro_pay %s, 12.34 CNY, WeChat payment code 139102...\n", out_trade_no);
    snprintf(req, sizeof req,
             "{\"out_trade_no\":\"%s\",\"author_code\":\"139102000000000000\",\"total_fee\":1234,"
             "\"fee_type\":\"CNY\",\"body\":\"Demo shop - \xE5\x92\x96\xE5\x95\xA1 coffee\","
             "\"detail\":{\"goods_detail\":[{\"goods_id\":\"c1\",\"goods_name\":\"coffee\",\"quantity\":2,\"price\":617}]}}",
             out_trade_no);
    rc = cloud_pay_micro_pay(req, out, (int)sizeof out);
    printf("    -> %d %s\n", rc, out);
    EXPECT(rc == CLOUD_PAY_OK, "micro_pay accepted");
    EXPECT(json_int(out, "pay_platform", 0) == 1, "micro_pay reports WeChat Pay");

    printf("[3] waiting for the result with cloud_pay_query_order\n");
    rc = wait_for_order(out_trade_no, 1, 30000);
    EXPECT(rc == CLOUD_PAY_ORDER_PAID, "order paid");
    state = json_int(out, "state", -1);
    EXPECT(state == CLOUD_PAY_STATE_SUCCESS, "state SUCCESS");
    EXPECT(json_int(out, "total_fee", 0) == 1234, "total_fee");
    {
        char txid[64] = "";
        EXPECT(json_str(out, "transaction_id", txid, sizeof txid) == 0 && txid[0], "transaction_id");
        printf("    0 PAID: transaction_id %s, state %lld\n", txid, state);
    }

    snprintf(out_refund_no, sizeof out_refund_no, "%sR1", out_trade_no);
    printf("[4] cloud_pay_refund 6.17 CNY as %s\n", out_refund_no);
    snprintf(req, sizeof req,
             "{\"pay_platform\":1,\"out_trade_no\":\"%s\",\"out_refund_no\":\"%s\",\"total_fee\":1234,"
             "\"refund_fee\":\"617\",\"refund_reason\":\"returned one coffee\"}",
             out_trade_no, out_refund_no);
    rc = cloud_pay_refund(req);
    EXPECT(rc == CLOUD_PAY_OK, "refund accepted");

    printf("[5] cloud_pay_query_refund until final\n");
    snprintf(req, sizeof req, "{\"pay_platform\":1,\"out_trade_no\":\"%s\",\"out_refund_no\":\"%s\"}", out_trade_no,
             out_refund_no);
    start = now_ms();
    do {
        rc = cloud_pay_query_refund(req, out, (int)sizeof out);
        state = json_int(out, "state", -1);
        if (rc == CLOUD_PAY_OK && state == CLOUD_PAY_REFUND_PROCESSING) {
            printf("    refund state 1 (processing)\n");
            sleep_ms(300);
        }
    } while ((rc == CLOUD_PAY_UNKNOWN || (rc == CLOUD_PAY_OK && state == CLOUD_PAY_REFUND_PROCESSING)) &&
             now_ms() - start < 30000);
    EXPECT(rc == CLOUD_PAY_OK, "query_refund");
    EXPECT(state == CLOUD_PAY_REFUND_SUCCESS, "refund state SUCCESS");
    EXPECT(json_int(out, "refund_fee", 0) == 617, "refund_fee");
    printf("    refund state %lld (SUCCESS), refund_fee %lld\n", state, json_int(out, "refund_fee", 0));

    demo_order_no(out_trade_no, sizeof out_trade_no, "C", 2);
    printf("[6] scan-code payment %s, 8.88 CNY: cloud_pay_scan_code_pay\n", out_trade_no);
    snprintf(req, sizeof req,
             "{\"pay_platform\":1,\"out_trade_no\":\"%s\",\"total_fee\":888,\"body\":\"Demo shop - tea\","
             "\"product_id\":\"tea01\"}",
             out_trade_no);
    rc = cloud_pay_scan_code_pay(req);
    EXPECT(rc == CLOUD_PAY_OK, "scan_code_pay accepted");
    rc = wait_for_order(out_trade_no, 2, 10000);
    EXPECT(rc == CLOUD_PAY_ORDER_PREPAY, "query_order -5 with code_url");
    code_url[0] = '\0';
    EXPECT(json_str(out, "code_url", code_url, sizeof code_url) == 0 && code_url[0], "code_url present");
    printf("    -5: show this QR code to the customer: %s\n", code_url);
    EXPECT(qr_encode((const unsigned char *)code_url, strlen(code_url), &qr) == 0, "QR encodes");
    if (show_qr) qr_print_utf8(&qr, 2, stdout);
    if (getenv("CLOUDPAY_QR_PBM")) { /* lets the test decode the symbol with a QR reader */
        EXPECT(qr_write_pbm(&qr, 4, getenv("CLOUDPAY_QR_PBM")) == 0, "write QR image");
    }

    printf("    (sandbox: the customer scans the code and pays)\n");
    snprintf(req, sizeof req, "{\"out_trade_no\":\"%s\",\"action\":\"Pay\"}", out_trade_no);
    EXPECT(sandbox_control("scan", req) == 200, "sandbox scan");
    start = now_ms();
    do {
        rc = wait_for_order(out_trade_no, 2, 10000);
        if (rc == CLOUD_PAY_ORDER_PREPAY) sleep_ms(300); /* still waiting for the customer */
    } while (rc == CLOUD_PAY_ORDER_PREPAY && now_ms() - start < 20000);
    EXPECT(rc == CLOUD_PAY_ORDER_PAID, "scan-code order paid");
    EXPECT(json_int(out, "state", -1) == CLOUD_PAY_STATE_SUCCESS, "scan-code state SUCCESS");
    printf("    0 PAID (state %lld)\n", json_int(out, "state", -1));

    EXPECT(cloud_pay_fini() == CLOUD_PAY_OK, "fini");
    if (failures) {
        printf("cashier: %d check(s) FAILED\n", failures);
        return 1;
    }
    printf("cashier: OK - paid 12.34, refunded 6.17, scan-code paid 8.88, every step through the C ABI\n");
    return 0;
}
