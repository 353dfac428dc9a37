/* A minimal test harness: CHECK records a failure and continues, so one run
 * reports every broken case; main returns non-zero if any check failed. */
#ifndef MR_TEST_CHECK_H
#define MR_TEST_CHECK_H

#include <stdio.h>
#include <string.h>

static int mr_test_failures;
static int mr_test_checks;

#define CHECK(cond)                                                                    \
    do {                                                                               \
        mr_test_checks++;                                                              \
        if (!(cond)) {                                                                 \
            mr_test_failures++;                                                        \
            fprintf(stderr, "%s:%d: CHECK failed: %s\n", __FILE__, __LINE__, #cond);   \
        }                                                                              \
    } while (0)

#define CHECK_STR(a, b)                                                                \
    do {                                                                               \
        const char *mr_a_ = (a), *mr_b_ = (b);                                         \
        mr_test_checks++;                                                              \
        if (mr_a_ == NULL || mr_b_ == NULL || strcmp(mr_a_, mr_b_) != 0) {             \
            mr_test_failures++;                                                        \
            fprintf(stderr, "%s:%d: expected \"%s\", got \"%s\"\n", __FILE__, __LINE__, \
                    mr_b_ ? mr_b_ : "(null)", mr_a_ ? mr_a_ : "(null)");               \
        }                                                                              \
    } while (0)

#define TEST_DONE()                                                                    \
    (printf("%d checks, %d failed\n", mr_test_checks, mr_test_failures),               \
     mr_test_failures ? 1 : 0)

#endif
