/*
 * Unit tests for the webhook signature helpers of common/xw_http.
 *
 * Known answers were computed independently of this code:
 *   printf '%s' '1700000000.{"event":"object_deployed","id":"e-1"}' \
 *     | openssl dgst -sha256 -hmac 'whsec_test_secret'
 *   printf '%s' '1700000000.' | openssl dgst -sha256 -hmac 'whsec_test_secret'
 */
#include <dlfcn.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#include "xw_http.h"
#include "xw_test.h"

#define SECRET "whsec_test_secret"
#define BODY "{\"event\":\"object_deployed\",\"id\":\"e-1\"}"
#define TS 1700000000LL
#define KAT_BODY "d20c0bae4e02b2cf446ca9e8b1664963e77f56207fc4eb509ab428511de31662"
#define KAT_EMPTY "316b9ab98c15bfa039d243f3196acee619cf29749a91a634e6a8154e2f7b6727"

/*
 * Interpose CRYPTO_memcmp: the executable's definition wins over
 * libcrypto's for the reference in xw_http.o, so this counts the calls the
 * verifier makes and forwards them to the real function. It proves the
 * comparison goes through the constant-time primitive.
 */
static int memcmp_calls;

int CRYPTO_memcmp(const void *a, const void *b, size_t len)
{
    static int (*real)(const void *, const void *, size_t);

    memcmp_calls++;
    if (!real)
        *(void **)&real = dlsym(RTLD_NEXT, "CRYPTO_memcmp");
    if (!real) {
        const unsigned char *x = a, *y = b;
        unsigned char d = 0;
        size_t i;

        for (i = 0; i < len; i++)
            d |= x[i] ^ y[i];
        return d != 0;
    }
    return real(a, b, len);
}

static int verify(const char *header, const char *body, long long now,
                  char *err, size_t errlen)
{
    return xw_http_verify(SECRET, header, body, strlen(body), now, 300, err,
                          errlen);
}

static void test_sign_known_answer(void)
{
    char sig[XW_HTTP_SIG_MAX];

    ASSERT_EQ(xw_http_sign(SECRET, TS, BODY, strlen(BODY), sig, sizeof sig),
              0);
    ASSERT_STR_EQ(sig, "t=1700000000,v1=" KAT_BODY);
    ASSERT_EQ(xw_http_sign(SECRET, TS, NULL, 0, sig, sizeof sig), 0);
    ASSERT_STR_EQ(sig, "t=1700000000,v1=" KAT_EMPTY);
}

static void test_sign_refuses_bad_input(void)
{
    char sig[XW_HTTP_SIG_MAX], small[40];

    ASSERT_EQ(xw_http_sign("", TS, BODY, strlen(BODY), sig, sizeof sig), -1);
    ASSERT_EQ(xw_http_sign(NULL, TS, BODY, strlen(BODY), sig, sizeof sig),
              -1);
    ASSERT_EQ(xw_http_sign(SECRET, -1, BODY, strlen(BODY), sig, sizeof sig),
              -1);
    ASSERT_EQ(xw_http_sign(SECRET, TS, BODY, strlen(BODY), small,
                           sizeof small), -1);
}

static void test_verify_accepts_own_and_known(void)
{
    char sig[XW_HTTP_SIG_MAX], err[128];

    ASSERT_EQ(xw_http_sign(SECRET, TS, BODY, strlen(BODY), sig, sizeof sig),
              0);
    ASSERT_EQ(verify(sig, BODY, TS, err, sizeof err), 0);
    ASSERT_STR_EQ(err, "");
    ASSERT_EQ(verify("t=1700000000,v1=" KAT_BODY, BODY, TS + 10, err,
                     sizeof err), 0);
    /* spaces after commas, upper-case hex, unknown schemes ignored */
    ASSERT_EQ(verify("t=1700000000, v0=abc, v1=D20C0BAE4E02B2CF446CA9E8B16649"
                     "63E77F56207FC4EB509AB428511DE31662", BODY, TS, err,
                     sizeof err), 0);
}

static void test_verify_tampered_body_fails(void)
{
    char err[128];

    ASSERT_EQ(verify("t=1700000000,v1=" KAT_BODY,
                     "{\"event\":\"object_deployed\",\"id\":\"e-2\"}", TS, err,
                     sizeof err), -1);
    ASSERT_STR_EQ(err, "signature mismatch");
    ASSERT_EQ(verify("t=1700000000,v1=" KAT_BODY, BODY " ", TS, err,
                     sizeof err), -1);
    /* same body, timestamp changed in the header: the MAC covers it */
    ASSERT_EQ(verify("t=1700000001,v1=" KAT_BODY, BODY, TS, err, sizeof err),
              -1);
    ASSERT_STR_EQ(err, "signature mismatch");
}

static void test_verify_wrong_secret_fails(void)
{
    char err[128];

    ASSERT_EQ(xw_http_verify("other_secret", "t=1700000000,v1=" KAT_BODY,
                             BODY, strlen(BODY), TS, 300, err, sizeof err),
              -1);
    ASSERT_STR_EQ(err, "signature mismatch");
    ASSERT_EQ(xw_http_verify("", "t=1700000000,v1=" KAT_BODY, BODY,
                             strlen(BODY), TS, 300, err, sizeof err), -1);
}

static void test_verify_timestamp_tolerance(void)
{
    char err[128];
    const char *h = "t=1700000000,v1=" KAT_BODY;

    ASSERT_EQ(verify(h, BODY, TS + 300, err, sizeof err), 0);
    ASSERT_EQ(verify(h, BODY, TS - 300, err, sizeof err), 0);
    ASSERT_EQ(verify(h, BODY, TS + 301, err, sizeof err), -1);  /* old */
    ASSERT(strstr(err, "tolerance") != NULL);
    ASSERT_EQ(verify(h, BODY, TS + 86400, err, sizeof err), -1);
    ASSERT_EQ(verify(h, BODY, TS - 301, err, sizeof err), -1);  /* future */
    ASSERT(strstr(err, "tolerance") != NULL);
}

static void test_verify_malformed_headers(void)
{
    static const char *const bad[] = {
        "",
        "v1=" KAT_BODY,                                 /* no t */
        "t=1700000000",                                 /* no v1 */
        "t=1700000000,v1=",                             /* empty v1 */
        "t=1700000000,v1=d20c",                         /* short */
        "t=1700000000,v1=" KAT_BODY "00",               /* long */
        "t=1700000000,v1=z20c0bae4e02b2cf446ca9e8b1664963e77f56207fc4eb509ab4"
        "28511de31662",                                 /* not hex */
        "t=17000x0000,v1=" KAT_BODY,                    /* t not digits */
        "t=-1700000000,v1=" KAT_BODY,
        "t=1700000000,t=1700000000,v1=" KAT_BODY,       /* two t */
        "t=99999999999999999999999,v1=" KAT_BODY,       /* overflow */
    };
    char err[128];
    size_t i;

    for (i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        if (verify(bad[i], BODY, TS, err, sizeof err) != -1) {
            fprintf(stderr, "  accepted malformed header #%zu: %s\n", i,
                    bad[i]);
            ASSERT(0);
        }
        ASSERT(strstr(err, SECRET) == NULL);
    }
    ASSERT_EQ(xw_http_verify(SECRET, NULL, BODY, strlen(BODY), TS, 300, err,
                             sizeof err), -1);
    ASSERT_EQ(xw_http_verify(SECRET, NULL, BODY, strlen(BODY), TS, 300, NULL,
                             0), -1);
}

/* Secret rotation: any one of several v1 values may match. */
static void test_verify_rotation(void)
{
    char err[128];

    ASSERT_EQ(verify("t=1700000000,v1=" KAT_EMPTY ",v1=" KAT_BODY, BODY, TS,
                     err, sizeof err), 0);
    ASSERT_EQ(verify("t=1700000000,v1=" KAT_EMPTY ",v1=" KAT_EMPTY, BODY, TS,
                     err, sizeof err), -1);
}

/* A signature wrong in its first byte and one wrong in its last are both
 * refused, and both go through CRYPTO_memcmp the same number of times. */
static void test_verify_uses_constant_time_compare(void)
{
    char first[128], last[128], err[128];
    int calls_first, calls_last, calls_ok;

    snprintf(first, sizeof first, "t=1700000000,v1=%s", KAT_BODY);
    snprintf(last, sizeof last, "t=1700000000,v1=%s", KAT_BODY);
    first[16] = first[16] == '0' ? '1' : '0';
    last[strlen(last) - 1] = last[strlen(last) - 1] == '0' ? '1' : '0';

    memcmp_calls = 0;
    ASSERT_EQ(verify(first, BODY, TS, err, sizeof err), -1);
    calls_first = memcmp_calls;
    memcmp_calls = 0;
    ASSERT_EQ(verify(last, BODY, TS, err, sizeof err), -1);
    calls_last = memcmp_calls;
    memcmp_calls = 0;
    ASSERT_EQ(verify("t=1700000000,v1=" KAT_BODY, BODY, TS, err, sizeof err),
              0);
    calls_ok = memcmp_calls;
    ASSERT_GE(calls_first, 1);
    ASSERT_EQ(calls_first, calls_last);
    ASSERT_EQ(calls_ok, calls_first);
}

static void test_ct_equal(void)
{
    unsigned char a[32], b[32];

    memset(a, 7, sizeof a);
    memcpy(b, a, sizeof b);
    ASSERT_EQ(xw_http_ct_equal(a, b, sizeof a), 1);
    b[0] ^= 1;
    ASSERT_EQ(xw_http_ct_equal(a, b, sizeof a), 0);
    b[0] ^= 1;
    b[31] ^= 0x80;
    ASSERT_EQ(xw_http_ct_equal(a, b, sizeof a), 0);
    ASSERT_EQ(xw_http_ct_equal(a, b, 0), 1);
}

int main(void)
{
    XW_RUN(test_sign_known_answer);
    XW_RUN(test_sign_refuses_bad_input);
    XW_RUN(test_verify_accepts_own_and_known);
    XW_RUN(test_verify_tampered_body_fails);
    XW_RUN(test_verify_wrong_secret_fails);
    XW_RUN(test_verify_timestamp_tolerance);
    XW_RUN(test_verify_malformed_headers);
    XW_RUN(test_verify_rotation);
    XW_RUN(test_verify_uses_constant_time_compare);
    XW_RUN(test_ct_equal);
    return XW_REPORT();
}
