/*
 * EXPECT for the Windows check programs (win_dll_checks.c, win_unload.c): counts checks and
 * failures and names the failed condition. Include it once per program (it defines the
 * counters). abi_checks.c keeps its own, which also prints the errmsg.
 */
#ifndef CLOUD_PAY_EXPECT_H
#define CLOUD_PAY_EXPECT_H

#include <stdio.h>

static int checks = 0, failures = 0;

#define EXPECT(cond, what)                                                                          \
    do {                                                                                            \
        checks++;                                                                                   \
        if (!(cond)) {                                                                              \
            failures++;                                                                             \
            fprintf(stderr, "FAILED: %s (line %d): %s\n", what, __LINE__, #cond);                  \
        }                                                                                           \
    } while (0)

#endif
