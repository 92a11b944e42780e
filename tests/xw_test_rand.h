/*
 * xw_test_rand.h - generated inputs for tests that hold two ways of
 * reading JSON against each other (a text scan and jansson): a seeded
 * generator, so every run and machine sees the same inputs, strings of
 * the bytes JSON writers treat differently, and damaged copies of texts.
 * Header-only, like xw_test.h: one copy of the state per test program.
 */
#ifndef XW_TEST_RAND_H
#define XW_TEST_RAND_H

#include <string.h>

#include <jansson.h>

static unsigned long long xw_rng = 0x9e3779b97f4a7c15ull;

/* 0..n-1 (xorshift64). */
static unsigned xw_rnd(unsigned n)
{
    xw_rng ^= xw_rng << 13;
    xw_rng ^= xw_rng >> 7;
    xw_rng ^= xw_rng << 17;
    return (unsigned)(xw_rng % n);
}

/* A NEW string of fewer than max (<= 16) pieces: quotes, backslashes,
 * control characters with and without a short escape, DEL, UTF-8 of every
 * length, brackets, plain words. */
static json_t *xw_random_string(unsigned max)
{
    static const char *const pieces[] = {
        "a", "Z", "0", " ", "\"", "\\", "/", "\b", "\f", "\n", "\r", "\t",
        "\x01", "\x1f", "\x7f", "\xc3\xa9", "\xe2\x80\xa8", "\xef\xbf\xbf",
        "\xf0\x9f\x98\x80", "node", "{", "}", "[", ",", ":",
    };
    char buf[64];
    size_t n = 0;

    for (unsigned k = xw_rnd(max); k; k--) {
        const char *p = pieces[xw_rnd(sizeof pieces / sizeof pieces[0])];

        memcpy(buf + n, p, strlen(p));
        n += strlen(p);
    }
    return json_stringn(buf, n);
}

/* A damaged copy of s[0..n) in buf (n + 1 bytes at least, n > 0): one
 * byte changed to one of `bytes`, one byte removed, or the text cut. Its
 * length. */
static size_t xw_damage(const char *s, size_t n, char *buf, const char *bytes)
{
    size_t at = xw_rnd((unsigned)n);

    memcpy(buf, s, n);
    switch (xw_rnd(3)) {
    case 0:
        buf[at] = bytes[xw_rnd((unsigned)strlen(bytes))];
        return n;
    case 1:
        memmove(buf + at, buf + at + 1, n - at - 1);
        return n - 1;
    default:
        return at;
    }
}

#endif
