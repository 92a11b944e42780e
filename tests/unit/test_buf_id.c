/* xw_buf invariants and caps; ids: UUID shape, derivation, validation. */
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include "xw_buf.h"
#include "xw_id.h"
#include "xw_test.h"

static void test_buf_grows_and_terminates(void)
{
    xw_buf b = XW_BUF_INIT;

    ASSERT_EQ(b.len, 0);
    ASSERT_STR_EQ(b.data, "");
    for (int i = 0; i < 1000; i++)
        ASSERT_EQ(xw_buf_addf(&b, "%03d,", i), 0);
    ASSERT_EQ(b.len, 4000);
    ASSERT_EQ(b.data[b.len], '\0');
    ASSERT(strncmp(b.data + 3996, "999,", 4) == 0);
    xw_buf_reset(&b);
    ASSERT_EQ(b.len, 0);
    ASSERT_STR_EQ(b.data, "");
    xw_buf_release(&b);
}

static void test_buf_cap_leaves_buffer_unchanged(void)
{
    xw_buf b;

    xw_buf_init(&b, 8);
    ASSERT_EQ(xw_buf_adds(&b, "12345678"), 0);
    ASSERT_EQ(xw_buf_addch(&b, '9'), -1);
    ASSERT_EQ(b.len, 8);
    ASSERT_STR_EQ(b.data, "12345678");
    xw_buf_reset(&b);
    ASSERT_EQ(xw_buf_addf(&b, "%s", "abcdefghij"), -1);
    ASSERT_EQ(b.len, 0);
    ASSERT_STR_EQ(b.data, "");
    ASSERT_EQ(xw_buf_addf(&b, "%d", 1234), 0);
    ASSERT_EQ(xw_buf_addf(&b, "%d", 56789), -1);
    ASSERT_STR_EQ(b.data, "1234");
    xw_buf_release(&b);
}

static void test_buf_detach(void)
{
    xw_buf b = XW_BUF_INIT;
    size_t len;
    char *p;

    xw_buf_add(&b, "a\0b", 3);
    p = xw_buf_detach(&b, &len);
    ASSERT_EQ(len, 3);
    ASSERT(memcmp(p, "a\0b", 3) == 0);
    ASSERT_EQ(b.len, 0);
    free(p);
}

static void test_uuid(void)
{
    char a[XW_UUID_LEN + 1], b[XW_UUID_LEN + 1];

    ASSERT_EQ(xw_uuid_v4(a), 0);
    ASSERT_EQ(strlen(a), 36);
    ASSERT_EQ(a[14], '4');
    ASSERT(strchr("89ab", a[19]) != NULL);
    ASSERT_EQ(xw_uuid_v4(b), 0);
    ASSERT(strcmp(a, b) != 0);
}

static void test_uuid_derive(void)
{
    char a[XW_UUID_LEN + 1], b[XW_UUID_LEN + 1], c[XW_UUID_LEN + 1];
    char longname[2000];

    xw_uuid_derive("mapper", "evt-1", 0, a);
    xw_uuid_derive("mapper", "evt-1", 0, b);
    ASSERT_STR_EQ(a, b);
    ASSERT_EQ(a[14], '8');
    xw_uuid_derive("mapper", "evt-1", 1, c);
    ASSERT(strcmp(a, c) != 0);
    xw_uuid_derive("deployer", "evt-1", 0, c);
    ASSERT(strcmp(a, c) != 0);
    /* Boundaries between the parts matter: ("ab","c") != ("a","bc"). */
    xw_uuid_derive("ab", "c", 0, b);
    xw_uuid_derive("a", "bc", 0, c);
    ASSERT(strcmp(b, c) != 0);
    /* Long inputs take the other code path and stay deterministic. */
    memset(longname, 'x', sizeof longname - 1);
    longname[sizeof longname - 1] = '\0';
    xw_uuid_derive("s", longname, 7, b);
    xw_uuid_derive("s", longname, 7, c);
    ASSERT_STR_EQ(b, c);
    /* The ids are part of the log: they never change (SHA-256 of
     * scope NUL name NUL index, checked with Python's hashlib). */
    ASSERT_STR_EQ(a, "38e8fe51-c38a-8564-8b4b-99a8fee4e473");
    memset(longname, 'n', 600);
    longname[600] = '\0';
    xw_uuid_derive("x", longname, -7, b);
    ASSERT_STR_EQ(b, "22a49587-1ecb-871b-b93c-d01caa004786");
    /* The index's extremes, as "%ld" wrote them. */
    xw_uuid_derive("mapper", "evt-1", LONG_MIN, b);
    ASSERT_STR_EQ(b, "f01a8760-aa2e-83aa-a4e8-395ba068cc23");
    xw_uuid_derive("mapper", "evt-1", LONG_MAX, b);
    ASSERT_STR_EQ(b, "993d3289-47cb-8d88-a9b4-2fc14415e387");
}

/* Each thread keeps a digest context of its own: threads deriving at once
 * (the submit-listener's) get the ids one thread gets. */
#define DERIVE_THREADS 4
#define DERIVE_IDS 300

static char derived[DERIVE_THREADS + 1][DERIVE_IDS][XW_UUID_LEN + 1];

static void *derive_all(void *arg)
{
    char (*out)[XW_UUID_LEN + 1] = arg;

    for (long i = 0; i < DERIVE_IDS; i++)
        xw_uuid_derive("listener", i % 2 ? "evt-odd" : "evt-even", i, out[i]);
    return NULL;
}

static void test_uuid_derive_threads(void)
{
    pthread_t th[DERIVE_THREADS];
    int t;

    derive_all(derived[DERIVE_THREADS]);
    for (t = 0; t < DERIVE_THREADS; t++)
        ASSERT_EQ(pthread_create(&th[t], NULL, derive_all, derived[t]), 0);
    for (t = 0; t < DERIVE_THREADS; t++)
        ASSERT_EQ(pthread_join(th[t], NULL), 0);
    for (t = 0; t < DERIVE_THREADS; t++)
        ASSERT(memcmp(derived[t], derived[DERIVE_THREADS],
                      sizeof derived[t]) == 0);
    ASSERT(strcmp(derived[0][0], derived[0][1]) != 0);
}

static void test_dec(void)
{
    static const int64_t cases[] = {
        0, 1, -1, 9, 10, -10, 99, 100, 1764151200134LL, -1764151200134LL,
        INT32_MAX, INT32_MIN, (int64_t)INT32_MAX + 1, (int64_t)INT32_MIN - 1,
        INT64_MAX, INT64_MIN, INT64_MAX - 1, INT64_MIN + 1,
    };
    char got[XW_DEC_MAX], want[32];

    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        int n = snprintf(want, sizeof want, "%lld", (long long)cases[i]);

        ASSERT_EQ(xw_dec(cases[i], got), (size_t)n);
        ASSERT_STR_EQ(got, want);
    }
}

static void test_id_valid(void)
{
    ASSERT_EQ(xw_id_valid("ws-dev_1.a:b@c", 14, 64), 1);
    ASSERT_EQ(xw_id_valid("", 0, 64), 0);
    ASSERT_EQ(xw_id_valid(".", 1, 64), 0);
    ASSERT_EQ(xw_id_valid("..", 2, 64), 0);
    ASSERT_EQ(xw_id_valid("../etc", 6, 64), 0);
    ASSERT_EQ(xw_id_valid("a b", 3, 64), 0);
    ASSERT_EQ(xw_id_valid("a%2f", 4, 64), 0);
    ASSERT_EQ(xw_id_valid("abcd", 4, 3), 0);
    ASSERT_EQ(xw_id_valid("\xc3\xa9", 2, 64), 0);
}

int main(void)
{
    XW_RUN(test_buf_grows_and_terminates);
    XW_RUN(test_buf_cap_leaves_buffer_unchanged);
    XW_RUN(test_buf_detach);
    XW_RUN(test_uuid);
    XW_RUN(test_uuid_derive);
    XW_RUN(test_uuid_derive_threads);
    XW_RUN(test_dec);
    XW_RUN(test_id_valid);
    return XW_REPORT();
}
