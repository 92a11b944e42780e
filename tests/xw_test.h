/*
 * xw_test.h - the smallest test harness that prints both sides.
 *
 * A test file defines functions `static void test_x(void)` and a main()
 * that calls XW_RUN(test_x) for each, then returns XW_REPORT(). A failed
 * assertion prints file:line, the expression and both values, marks the
 * current test failed and returns from it (the next test still runs).
 * XW_REPORT() prints "N passed, N failed" and gives the exit status.
 */
#ifndef XW_TEST_H
#define XW_TEST_H

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

static int xw_test_failed_now;
static int xw_test_passed_count;
static int xw_test_failed_count;

#define XW_FAIL_(...)                                                     \
    do {                                                                  \
        fprintf(stderr, "  FAIL %s:%d: ", __FILE__, __LINE__);            \
        fprintf(stderr, __VA_ARGS__);                                     \
        fputc('\n', stderr);                                              \
        xw_test_failed_now = 1;                                           \
        return;                                                           \
    } while (0)

#define ASSERT(cond)                                                      \
    do { if (!(cond)) XW_FAIL_("ASSERT(%s)", #cond); } while (0)

#define ASSERT_INT_OP_(a, op, b)                                          \
    do {                                                                  \
        long long xw_a_ = (long long)(a), xw_b_ = (long long)(b);         \
        if (!(xw_a_ op xw_b_))                                            \
            XW_FAIL_("%s %s %s: %lld vs %lld", #a, #op, #b, xw_a_, xw_b_); \
    } while (0)
#define ASSERT_EQ(a, b) ASSERT_INT_OP_(a, ==, b)
#define ASSERT_NE(a, b) ASSERT_INT_OP_(a, !=, b)
#define ASSERT_LT(a, b) ASSERT_INT_OP_(a, <, b)
#define ASSERT_LE(a, b) ASSERT_INT_OP_(a, <=, b)
#define ASSERT_GT(a, b) ASSERT_INT_OP_(a, >, b)
#define ASSERT_GE(a, b) ASSERT_INT_OP_(a, >=, b)

#define ASSERT_U64_EQ(a, b)                                               \
    do {                                                                  \
        uint64_t xw_a_ = (uint64_t)(a), xw_b_ = (uint64_t)(b);            \
        if (xw_a_ != xw_b_)                                               \
            XW_FAIL_("%s == %s: 0x%016" PRIx64 " vs 0x%016" PRIx64,       \
                     #a, #b, xw_a_, xw_b_);                               \
    } while (0)

#define ASSERT_STR_EQ(a, b)                                               \
    do {                                                                  \
        const char *xw_a_ = (a), *xw_b_ = (b);                            \
        if (!xw_a_ || !xw_b_ || strcmp(xw_a_, xw_b_) != 0)                \
            XW_FAIL_("%s == %s: \"%s\" vs \"%s\"", #a, #b,                \
                     xw_a_ ? xw_a_ : "(null)", xw_b_ ? xw_b_ : "(null)"); \
    } while (0)

#define XW_RUN(fn)                                                        \
    do {                                                                  \
        xw_test_failed_now = 0;                                           \
        fn();                                                             \
        if (xw_test_failed_now) {                                         \
            xw_test_failed_count++;                                       \
            fprintf(stderr, "not ok %s\n", #fn);                          \
        } else {                                                          \
            xw_test_passed_count++;                                       \
        }                                                                 \
    } while (0)

#define XW_REPORT()                                                       \
    (printf("%d passed, %d failed\n", xw_test_passed_count,               \
            xw_test_failed_count),                                        \
     xw_test_failed_count ? 1 : 0)

#endif
