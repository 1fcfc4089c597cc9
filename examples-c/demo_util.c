#if !defined(_WIN32)
#define _POSIX_C_SOURCE 200112L
#endif
#include "demo_util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#if defined(_WIN32)
#include <winsock2.h>
#include <ws2tcpip.h>
#include <windows.h>
typedef SOCKET sock_t;
#define CLOSE_SOCKET closesocket
#else
#include <netdb.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>
typedef int sock_t;
#define INVALID_SOCKET (-1)
#define CLOSE_SOCKET close
#endif

void sleep_ms(int ms) {
#if defined(_WIN32)
    Sleep((DWORD)ms);
#else
    struct timespec ts;
    ts.tv_sec = ms / 1000;
    ts.tv_nsec = (long)(ms % 1000) * 1000000L;
    nanosleep(&ts, NULL);
#endif
}

long long now_ms(void) {
#if defined(_WIN32)
    return (long long)GetTickCount64();
#else
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
#endif
}

/* Appends `s` JSON-escaped; on Windows a Unix path (wine runs us from Linux) becomes Z:\... */
static void append_json_path(char *out, size_t size, const char *s) {
    size_t n = strlen(out);
#if defined(_WIN32)
    if (s[0] == '/' && n + 3 < size) {
        out[n++] = 'Z';
        out[n++] = ':';
    }
#endif
    for (; *s && n + 3 < size; s++) {
        char c = *s;
#if defined(_WIN32)
        if (c == '/') c = '\\';
#endif
        if (c == '\\' || c == '"') out[n++] = '\\';
        out[n++] = c;
    }
    out[n] = '\0';
}

int demo_conf(char *out, size_t size) {
    const char *url = getenv("CLOUDPAY_SANDBOX_HTTPS");
    const char *ca = getenv("CLOUDPAY_SANDBOX_CA");
    const char *state = getenv("CLOUDPAY_STATE_DIR");
    if (!url || !ca) {
        fprintf(stderr, "set CLOUDPAY_SANDBOX_HTTPS and CLOUDPAY_SANDBOX_CA to the lines printed by\n"
                        "`cargo run -p cloud-pay-sandbox` (scripts/legs/c.sh does it for you)\n");
        return -1;
    }
    snprintf(out, size, "{\"common_conf\":{\"base_url\":\"%s\",\"ca_file\":\"", url);
    append_json_path(out, size, ca);
    strncat(out, "\",\"micro_pay_query_order_interval\":0.5,\"upload_monitor\":0", size - strlen(out) - 1);
    if (state) {
        strncat(out, ",\"state_dir\":\"", size - strlen(out) - 1);
        append_json_path(out, size, state);
        strncat(out, "\"", size - strlen(out) - 1);
    }
    strncat(out,
            "},\"trade_conf\":{\"out_mch_id\":\"sz01TESTMCH000000001\",\"out_sub_mch_id\":\"sz01TESTSUBMCH000001\","
            "\"out_shop_id\":\"sz01TESTSHOP00000001\",\"device_id\":\"dev01\",\"staff_id\":\"1001\","
            "\"authen_type\":1,\"authen_key\":\"TESTONLY0123456789ABCDEFGHIJKLMN\",\"sign_type\":1}}",
            size - strlen(out) - 1);
    return 0;
}

void demo_order_no(char *out, size_t size, const char *tag, int seq) {
    snprintf(out, size, "sz0100test%s%lld%02d", tag, (long long)time(NULL), seq);
}

/* The value of "key" in the top-level object (nested objects and strings are skipped). */
static const char *find_value(const char *json, const char *key) {
    size_t klen = strlen(key);
    int depth = 0;
    const char *p;
    for (p = json; *p; p++) {
        if (*p == '"') {
            const char *start = p + 1;
            for (p++; *p && *p != '"'; p++)
                if (*p == '\\' && p[1]) p++;
            if (!*p) return NULL;
            if (depth == 1 && (size_t)(p - start) == klen && strncmp(start, key, klen) == 0) {
                const char *v = p + 1;
                while (*v == ' ') v++;
                if (*v == ':') {
                    for (v++; *v == ' '; v++) {
                    }
                    return v;
                }
            }
        } else if (*p == '{' || *p == '[') {
            depth++;
        } else if (*p == '}' || *p == ']') {
            depth--;
        }
    }
    return NULL;
}

long long json_int(const char *json, const char *key, long long missing) {
    const char *p = find_value(json, key);
    char *end;
    long long v;
    if (!p) return missing;
    if (*p == '"') p++; /* numeric strings */
    v = strtoll(p, &end, 10);
    return end == p ? missing : v;
}

int json_str(const char *json, const char *key, char *out, size_t size) {
    const char *p = find_value(json, key);
    size_t n = 0;
    if (!p || *p != '"' || size == 0) return -1;
    for (p++; *p && *p != '"' && n + 1 < size; p++) {
        if (*p == '\\' && p[1]) p++; /* the demo's values need no unescaping beyond this */
        out[n++] = *p;
    }
    out[n] = '\0';
    return 0;
}

int sandbox_control(const char *action, const char *body) {
    const char *url = getenv("CLOUDPAY_SANDBOX_HTTP");
    char host[64], port[8], request[1024], reply[512];
    const char *h, *colon, *slash;
    struct addrinfo hints, *res = NULL;
    sock_t s;
    int status = -1, got = 0, n;
    if (!url || strncmp(url, "http://", 7) != 0) return -1;
    h = url + 7;
    colon = strchr(h, ':');
    slash = strchr(h, '/');
    if (!colon || !slash || colon > slash || (size_t)(colon - h) >= sizeof host || (size_t)(slash - colon) > sizeof port) return -1;
    memcpy(host, h, (size_t)(colon - h));
    host[colon - h] = '\0';
    memcpy(port, colon + 1, (size_t)(slash - colon - 1));
    port[slash - colon - 1] = '\0';
#if defined(_WIN32)
    {
        WSADATA wsa;
        if (WSAStartup(MAKEWORD(2, 2), &wsa) != 0) return -1;
    }
#endif
    memset(&hints, 0, sizeof hints);
    hints.ai_family = AF_INET;
    hints.ai_socktype = SOCK_STREAM;
    if (getaddrinfo(host, port, &hints, &res) != 0) return -1;
    s = socket(res->ai_family, res->ai_socktype, res->ai_protocol);
    if (s == INVALID_SOCKET || connect(s, res->ai_addr, (int)res->ai_addrlen) != 0) {
        if (s != INVALID_SOCKET) CLOSE_SOCKET(s);
        freeaddrinfo(res);
        return -1;
    }
    freeaddrinfo(res);
    n = snprintf(request, sizeof request,
                 "POST /sandbox/%s HTTP/1.1\r\nHost: %s:%s\r\nContent-Type: application/json\r\n"
                 "Content-Length: %u\r\nConnection: close\r\n\r\n%s",
                 action, host, port, (unsigned)strlen(body), body);
    if (n > 0 && (size_t)n < sizeof request && send(s, request, n, 0) == n) {
        while (got + 1 < (int)sizeof reply && (n = (int)recv(s, reply + got, (int)sizeof reply - 1 - got, 0)) > 0) got += n;
        reply[got] = '\0';
        if (strncmp(reply, "HTTP/1.", 7) == 0 && got > 12) status = atoi(reply + 9);
    }
    CLOSE_SOCKET(s);
    return status;
}
