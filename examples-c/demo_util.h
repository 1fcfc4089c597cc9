/* Small helpers shared by the C examples: sleeping, the demo configuration, reading a field
 * from the SDK's JSON output, and the sandbox's control API (to play the customer). */
#ifndef CLOUDPAY_DEMO_UTIL_H
#define CLOUDPAY_DEMO_UTIL_H

#include <stddef.h>

void sleep_ms(int ms);
long long now_ms(void);

/* Builds the demo merchant's CloudPayConf (TEST-ONLY keys) for the sandbox named by the
 * environment (CLOUDPAY_SANDBOX_HTTPS + CLOUDPAY_SANDBOX_CA, CLOUDPAY_STATE_DIR). Returns 0,
 * or -1 (with a message on stderr) when the environment does not name a sandbox. */
int demo_conf(char *out, size_t size);

/* A unique order number with the demo merchant's prefix: sz0100test<tag><seconds><seq>. */
void demo_order_no(char *out, size_t size, const char *tag, int seq);

/* The number / string value of "key" in the top-level JSON object (a small scanner for the
 * demo, not a full parser). */
long long json_int(const char *json, const char *key, long long missing);
int json_str(const char *json, const char *key, char *out, size_t size);

/* POSTs `body` to the sandbox control API, e.g. sandbox_control("scan", "{...}").
 * Returns the HTTP status, or -1 when the sandbox cannot be reached. */
int sandbox_control(const char *action, const char *body);

#endif
