/*
 * Unit tests for common/xw_jcanon: the canonical-JSON member iterator
 * against jansson, which is what every caller falls back to.
 *
 * The oracle (check_text) holds for any text:
 *   - accepted (the iteration ends in 0) means json_loadb() reads an
 *     object with no real and at most XW_JCANON_DEPTH levels, whose
 *     compact dump is the text itself unless the text repeats a key; each
 *     member, the last of its key, is the value jansson reads for that key
 *     (its kind, its dump for a scalar or a container, its string through
 *     xw_jcanon_str_eq / xw_jcanon_str_raw, its integer);
 *   - refused (-1) only when that does not hold: an object jansson reads,
 *     without reals, within the depth and dumped back to the same bytes,
 *     is accepted;
 *   - 0 and -1 stick, and leave the member untouched.
 * Each text sits in a buffer of its own size, so the sanitizers see any
 * read past it (the scan reads eight bytes at a time).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "xw_jcanon.h"
#include "xw_test.h"
#include "xw_test_rand.h"

static size_t checked, accepted;

static int span_is(xw_jcanon_span s, const char *text)
{
    return text && s.len == strlen(text) && memcmp(s.p, text, s.len) == 0;
}

/* Nesting of v in containers (a scalar: 0); -1 if it holds a real. */
static int depth_of(const json_t *v)
{
    const char *k;
    json_t *e;
    size_t i;
    int d = 0, c;

    if (json_is_real(v))
        return -1;
    if (json_is_object(v)) {
        json_object_foreach((json_t *)v, k, e) {
            if ((c = depth_of(e)) < 0)
                return -1;
            d = c > d ? c : d;
        }
        return d + 1;
    }
    if (json_is_array(v)) {
        json_array_foreach(v, i, e) {
            if ((c = depth_of(e)) < 0)
                return -1;
            d = c > d ? c : d;
        }
        return d + 1;
    }
    return 0;
}

static int kind_matches(enum xw_jcanon_kind k, const json_t *v)
{
    switch (k) {
    case XW_JCANON_STRING: return json_is_string(v);
    case XW_JCANON_INT: return json_is_integer(v);
    case XW_JCANON_TRUE: return json_is_true(v);
    case XW_JCANON_FALSE: return json_is_false(v);
    case XW_JCANON_NULL: return json_is_null(v);
    case XW_JCANON_OBJECT: return json_is_object(v);
    case XW_JCANON_ARRAY: return json_is_array(v);
    }
    return 0;
}

/* Member m, the last of its key in an accepted text, against the tree.
 * dup: the text repeats a key somewhere (containers then dump shorter). */
static int member_agrees(const xw_jcanon_member *m, json_t *tree, int dup)
{
    const char *k, *raw;
    json_t *v = NULL, *e;
    char *dump;
    size_t len;
    int ok, found = 0;

    /* The key: exactly one of jansson's keys compares equal. */
    json_object_foreach(tree, k, e)
        if (xw_jcanon_str_eq(m->key, k)) {
            found++;
            v = e;
        }
    if (found != 1 || !kind_matches(m->kind, v))
        return 0;
    if (m->kind == XW_JCANON_OBJECT || m->kind == XW_JCANON_ARRAY) {
        if (dup)
            return 1;
    } else if (m->kind == XW_JCANON_STRING) {
        const char *s = json_string_value(v);
        size_t n = json_string_length(v);
        char *longer = malloc(n + 2);

        if (!longer)
            return 0;
        memcpy(longer, s, n);
        memcpy(longer + n, "x", 2);
        ok = xw_jcanon_str_eq(m->val, s) && !xw_jcanon_str_eq(m->val, longer)
            && (n == 0 || !xw_jcanon_str_eq(m->val, ""));
        free(longer);
        if (!ok)
            return 0;
        /* The raw bytes are handed out exactly when they are the value. */
        if (xw_jcanon_str_raw(m->val, &raw, &len) == 0) {
            if (len != n || memcmp(raw, s, n) != 0)
                return 0;
        } else if (!memchr(m->val.p, '\\', m->val.len)) {
            return 0;
        }
    } else if (m->kind == XW_JCANON_INT
               && xw_jcanon_int(m->val) != json_integer_value(v)) {
        return 0;
    }
    dump = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);
    ok = span_is(m->val, dump);
    free(dump);
    return ok;
}

/* The oracle (see the top) for text[0..len): 0 when it holds. */
static int check_text(const char *text, size_t len)
{
    xw_jcanon it;
    xw_jcanon_member *m = NULL, *grown, probe;
    size_t n = 0, cap = 0;
    char *copy = malloc(len ? len : 1), *dump = NULL;
    json_t *tree, *nodup;
    int rc, ok = 1, dup, depth;

    if (!copy)
        return -1;
    memcpy(copy, text, len);
    xw_jcanon_open(&it, copy, len);
    for (;;) {
        if (n == cap) {
            cap = cap ? 2 * cap : 8;
            if (!(grown = realloc(m, cap * sizeof *m))) {
                free(m);
                free(copy);
                return -1;
            }
            m = grown;
        }
        if ((rc = xw_jcanon_next(&it, &m[n])) != 1)
            break;
        n++;
    }
    /* Sticky, and *m untouched. */
    memset(&probe, 0x5a, sizeof probe);
    for (int i = 0; i < 2; i++) {
        xw_jcanon_member was = probe;

        ok &= xw_jcanon_next(&it, &probe) == rc
            && memcmp(&was, &probe, sizeof probe) == 0;
    }
    tree = json_loadb(copy, len, 0, NULL);
    depth = tree ? depth_of(tree) : -1;
    if (tree)
        dump = json_dumps(tree, JSON_COMPACT);
    nodup = json_loadb(copy, len, JSON_REJECT_DUPLICATES, NULL);
    dup = tree && !nodup;
    if (rc == 0) {
        ok &= json_is_object(tree) && depth >= 1 && depth <= XW_JCANON_DEPTH
            && (dup || (dump && strlen(dump) == len
                        && memcmp(dump, copy, len) == 0));
        for (size_t i = 0; ok && i < n; i++) {
            size_t j = i + 1;

            while (j < n && !(m[j].key.len == m[i].key.len
                              && memcmp(m[j].key.p, m[i].key.p,
                                        m[i].key.len) == 0))
                j++;
            if (j == n)
                ok &= member_agrees(&m[i], tree, dup);
        }
        accepted++;
    } else {
        ok &= rc == -1
            && !(json_is_object(tree) && depth >= 1
                 && depth <= XW_JCANON_DEPTH && dump && strlen(dump) == len
                 && memcmp(dump, copy, len) == 0);
    }
    if (!ok)
        fprintf(stderr, "  rc %d (%zu members) on [%.*s]\n", rc, n,
                (int)(len < 400 ? len : 400), text);
    checked++;
    free(dump);
    json_decref(tree);
    json_decref(nodup);
    free(m);
    free(copy);
    return ok ? 0 : -1;
}

static int check(const char *text)
{
    return check_text(text, strlen(text));
}

/* ---- hand-made texts ------------------------------------------------- */

/* Whether iterating over text ends in want (0 or -1): 0 if so. */
static int ends(const char *text, int want)
{
    xw_jcanon it;
    xw_jcanon_member m;
    int rc;

    xw_jcanon_open(&it, text, strlen(text));
    while ((rc = xw_jcanon_next(&it, &m)) == 1)
        ;
    if (rc != want)
        fprintf(stderr, "  %d, not %d, on [%s]\n", rc, want, text);
    return rc != want;
}

static void test_forms(void)
{
    static const char *const good[] = {
        "{}", "{\"a\":1}",
        "{\"a\":-1,\"b\":0,\"c\":true,\"d\":false,\"e\":null}",
        "{\"a\":9223372036854775807,\"b\":-9223372036854775808}",
        "{\"s\":\"\\\"\\\\\\b\\f\\n\\r\\t\\u0001\\u001F\\u000B\"}",
        "{\"s\":\"/ \x7f \xc3\xa9 \xe2\x80\xa8 \xf0\x9f\x98\x80 "
        "\xef\xbf\xbf\"}",
        "{\"a\":{},\"b\":[],\"c\":[[],{}],"
        "\"d\":{\"e\":[1,\"x\",{\"f\":null}]}}",
        "{\"a\":1,\"a\":2}", "{\"a\":{\"b\":1,\"b\":[2]},\"a\":3}",
        "{\"\":\"\"}", "{\"a\\\"b\":\"\\u001Fx\"}",
    };
    static const char *const bad[] = {
        "", "{", "}", "[]", "[1]", "1", "\"a\"", "null", " {}", "{} ", "{ }",
        "{}x", "{}{}", "{\"a\" :1}", "{\"a\": 1}", "{\"a\":1 }", "{\"a\":1,}",
        "{,\"a\":1}", "{\"a\"}", "{\"a\":}", "{\"a\":1\"b\":2}", "{a:1}",
        "{\"a\":01}", "{\"a\":-0}", "{\"a\":-}", "{\"a\":+1}", "{\"a\":1.0}",
        "{\"a\":1e3}", "{\"a\":1E3}", "{\"a\":.5}",
        "{\"a\":9223372036854775808}", "{\"a\":-9223372036854775809}",
        "{\"a\":10000000000000000000}", "{\"a\":tru}", "{\"a\":nul}",
        "{\"a\":falsey}", "{\"a\":True}", "{\"a\":\"\\/\"}",
        "{\"a\":\"\\u0041\"}", "{\"a\":\"\\u001f\"}", "{\"a\":\"\\u000a\"}",
        "{\"a\":\"\\u0000\"}", "{\"a\":\"\\u00e9\"}",
        "{\"a\":\"\\ud83d\\ude00\"}",
        "{\"a\":\"\\u001\"}", "{\"a\":\"\\x\"}", "{\"a\":\"\\\"}",
        "{\"a\":\"\t\"}", "{\"a\":\"\xff\"}", "{\"a\":\"\xc0\xaf\"}",
        "{\"a\":\"\xed\xa0\x80\"}", "{\"a\":\"\xf4\x90\x80\x80\"}",
        "{\"a\":\"\xc3\"}", "{\"a\":\"cut", "{\"a\":[1,]}", "{\"a\":[,1]}",
        "{\"a\":[1}", "{\"a\":{\"b\"]}", "{\"a\":{\"b\":1]}", "{\"a\":[1]]}",
        "{\"\xff\":1}", "{\"a\\u0000\":1}",
    };
    int rc = 0;

    for (size_t i = 0; i < sizeof good / sizeof good[0]; i++)
        rc |= ends(good[i], 0) | check(good[i]);
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        rc |= ends(bad[i], -1) | check(bad[i]);
    /* A NUL byte, raw: refused, and no terminator is looked for. */
    rc |= check_text("{\"a\":\"x\0y\"}", 11);
    rc |= check_text("{\"a\":1}\0", 8);
    ASSERT_EQ(rc, 0);
}

/* The members, spans and values of one text, spelled out. */
static void test_members_exact(void)
{
    const char *t = "{\"id\":\"n-1\",\"q\\\"k\":-42,\"v\":[1,{\"a\":null}],"
                    "\"e\":\"a\\u001Fb\\\\c\\n\",\"t\":true,\"id\":{}}";
    xw_jcanon it;
    xw_jcanon_member m;
    const char *s;
    size_t len;

    xw_jcanon_open(&it, t, strlen(t));
    ASSERT_EQ(xw_jcanon_next(&it, &m), 1);
    ASSERT(span_is(m.key, "\"id\"") && span_is(m.val, "\"n-1\""));
    ASSERT_EQ(m.kind, XW_JCANON_STRING);
    ASSERT(xw_jcanon_str_eq(m.key, "id") && !xw_jcanon_str_eq(m.key, "i")
           && !xw_jcanon_str_eq(m.key, "idx"));
    ASSERT_EQ(xw_jcanon_str_raw(m.val, &s, &len), 0);
    ASSERT(len == 3 && memcmp(s, "n-1", 3) == 0);
    ASSERT_EQ(xw_jcanon_next(&it, &m), 1);
    ASSERT(span_is(m.key, "\"q\\\"k\"") && xw_jcanon_str_eq(m.key, "q\"k"));
    ASSERT(!xw_jcanon_str_eq(m.key, "q\\\"k"));
    ASSERT_EQ(m.kind, XW_JCANON_INT);
    ASSERT_EQ(xw_jcanon_int(m.val), -42);
    ASSERT_EQ(xw_jcanon_next(&it, &m), 1);
    ASSERT(span_is(m.val, "[1,{\"a\":null}]"));
    ASSERT_EQ(m.kind, XW_JCANON_ARRAY);
    ASSERT_EQ(xw_jcanon_next(&it, &m), 1);
    ASSERT_EQ(m.kind, XW_JCANON_STRING);
    ASSERT(xw_jcanon_str_eq(m.val, "a\x1f" "b\\c\n"));
    ASSERT(!xw_jcanon_str_eq(m.val, "a\x1f" "b\\c"));
    ASSERT(!xw_jcanon_str_eq(m.val, "a\\u001Fb\\\\c\\n"));
    s = NULL;
    ASSERT_EQ(xw_jcanon_str_raw(m.val, &s, &len), -1);
    ASSERT(s == NULL);
    ASSERT_EQ(xw_jcanon_next(&it, &m), 1);
    ASSERT_EQ(m.kind, XW_JCANON_TRUE);
    ASSERT_EQ(xw_jcanon_next(&it, &m), 1);    /* a key again: handed out */
    ASSERT(span_is(m.key, "\"id\"") && span_is(m.val, "{}"));
    ASSERT_EQ(m.kind, XW_JCANON_OBJECT);
    ASSERT_EQ(xw_jcanon_next(&it, &m), 0);
    ASSERT_EQ(xw_jcanon_next(&it, &m), 0);
}

static void test_ints(void)
{
    static const char *const v[] = { "0", "7", "-7", "1795658738000",
        "999999999999999999", "-999999999999999999", "1000000000000000000",
        "9223372036854775807", "-9223372036854775807",
        "-9223372036854775808" };
    char t[64];
    xw_jcanon it;
    xw_jcanon_member m;

    for (size_t i = 0; i < sizeof v / sizeof v[0]; i++) {
        snprintf(t, sizeof t, "{\"n\":%s}", v[i]);
        xw_jcanon_open(&it, t, strlen(t));
        ASSERT_EQ(xw_jcanon_next(&it, &m), 1);
        ASSERT_EQ(m.kind, XW_JCANON_INT);
        ASSERT(xw_jcanon_int(m.val) == strtoll(v[i], NULL, 10));
        ASSERT_EQ(xw_jcanon_next(&it, &m), 0);
    }
}

/* Depth: the top-level object and 15 more containers, not 16. */
static void test_depth(void)
{
    char t[20048];
    int rc = 0;

    for (size_t d = 1; d <= 10000; d = d < 20 ? d + 1 : d * 10) {
        for (int objects = 0; objects < 2; objects++) {
            size_t n = 0;
            xw_jcanon it;
            xw_jcanon_member m;
            int r;

            n += (size_t)sprintf(t, "{\"a\":");
            for (size_t i = 1; i < d; i++)
                n += (size_t)sprintf(t + n, "%s", objects ? "{\"k\":" : "[");
            t[n++] = '1';
            for (size_t i = 1; i < d; i++)
                t[n++] = objects ? '}' : ']';
            t[n++] = '}';
            xw_jcanon_open(&it, t, n);
            while ((r = xw_jcanon_next(&it, &m)) == 1)
                ;
            if (r != (d <= XW_JCANON_DEPTH ? 0 : -1))
                fprintf(stderr, "  depth %zu: %d\n", d, r);
            rc |= r != (d <= XW_JCANON_DEPTH ? 0 : -1);
            rc |= check_text(t, n);
        }
    }
    ASSERT_EQ(rc, 0);
}

/* Strings are read eight bytes at a time: every byte that matters at every
 * place around those eight, after plain ASCII and after UTF-8. */
static void test_string_bytes(void)
{
    static const char *const what[] = {
        "\"", "\\\"", "\\\\", "\\n", "\\u0001", "\\u001F", "\\u001f",
        "\\u0000", "\\/", "\\", "\x01", "\x1f", " ", "!", "#", "[", "\x7f",
        "\xc3\xa9", "\xe2\x80\xa8", "\xf0\x9f\x98\x80", "\xff", "\xc3",
        "\xed\xa0\x80", "\x80",
    };
    static const char *const before[] = { "a", "\xc3\xa9" };
    char t[128];
    int rc = 0;

    for (size_t w = 0; w < sizeof what / sizeof what[0]; w++)
        for (size_t b = 0; b < 2; b++)
            for (size_t k = 0; k < 20; k++)
                for (size_t j = 0; j < 12; j += 3) {
                    size_t n = (size_t)sprintf(t, "{\"s\":\"");

                    for (size_t i = 0; i < k; i++)
                        n += (size_t)sprintf(t + n, "%s",
                                             i % 4 == 3 ? before[b] : "a");
                    n += (size_t)sprintf(t + n, "%s", what[w]);
                    for (size_t i = 0; i < j; i++)
                        t[n++] = 'z';
                    n += (size_t)sprintf(t + n, "\",\"t\":1}");
                    rc |= check_text(t, n);
                    /* and cut at every length around the string's end */
                    for (size_t c = n > 12 ? n - 12 : 0; c < n; c++)
                        rc |= check_text(t, c);
                }
    ASSERT_EQ(rc, 0);
}

/* ---- generated texts ------------------------------------------------- */

static json_t *random_value(int depth)
{
    static const json_int_t ints[] = { 0, 1, -1, 42, 1795658738000,
        INT64_MAX, INT64_MIN, INT64_MAX - 1, INT64_MIN + 1 };

    switch (xw_rnd(depth < 17 ? 10 : 7)) {
    case 0: return json_null();
    case 1: return xw_rnd(2) ? json_true() : json_false();
    case 2: return json_integer(ints[xw_rnd(sizeof ints / sizeof ints[0])]);
    case 3:
        return xw_rnd(8) ? json_integer((json_int_t)xw_rnd(2000000) - 1000000)
                         : json_real(xw_rnd(1000) / 8.0 - 50);
    case 4:
    case 5:
    case 6: return xw_random_string(16);
    case 7:
    case 8: {
        json_t *a = json_array();

        for (unsigned k = xw_rnd(4); k; k--)
            json_array_append_new(a, random_value(depth + 1));
        return a;
    }
    default: {
        static const char *const keys[] = { "id", "name", "a", "",
            "q\"k", "\xc3\xa9", "t\tab", "\x01", "version" };
        json_t *o = json_object();

        for (unsigned k = xw_rnd(4); k; k--)
            json_object_set_new(o, keys[xw_rnd(sizeof keys / sizeof keys[0])],
                                random_value(depth + 1));
        return o;
    }
    }
}

static char *random_text(size_t *len)
{
    json_t *o = json_object();
    char *s;

    for (unsigned k = xw_rnd(10); k; k--) {
        char key[8];

        snprintf(key, sizeof key, "k%u", xw_rnd(12));
        json_object_set_new(o, xw_rnd(4) ? key : "q\"\x01",
                            random_value(xw_rnd(3) ? 1 : 12));
    }
    /* Mostly the compact form; the others are valid JSON, not canonical
     * (unless nothing in them is written differently). */
    s = json_dumps(o, xw_rnd(8) ? JSON_COMPACT
                   : xw_rnd(2) ? JSON_COMPACT | JSON_ESCAPE_SLASH
                   : xw_rnd(2) ? JSON_COMPACT | JSON_ENSURE_ASCII
                   : JSON_INDENT(1));
    json_decref(o);
    *len = strlen(s);
    return s;
}

static void test_random_texts(void)
{
    static const char bytes[] =
        "\"\\{}[],: 0-.eEu1a\x01\x1f\x7f\x80\xc3\xff";
    int rc = 0;

    for (int i = 0; i < 5000 && !rc; i++) {
        size_t len, at;
        char *t = random_text(&len), *b = malloc(len + 1);

        rc |= !b || check_text(t, len);
        for (int k = 0; k < 4 && len && !rc; k++) {
            rc |= check_text(b, xw_damage(t, len, b, bytes));
            /* and a byte inserted */
            at = xw_rnd((unsigned)len + 1);
            memcpy(b, t, at);
            b[at] = bytes[xw_rnd(sizeof bytes - 1)];
            memcpy(b + at + 1, t + at, len - at);
            rc |= check_text(b, len + 1);
        }
        free(b);
        free(t);
    }
    ASSERT_EQ(rc, 0);
}

int main(void)
{
    XW_RUN(test_forms);
    XW_RUN(test_members_exact);
    XW_RUN(test_ints);
    XW_RUN(test_depth);
    XW_RUN(test_string_bytes);
    XW_RUN(test_random_texts);
    printf("xw_jcanon: %zu texts checked against jansson, %zu canonical\n",
           checked, accepted);
    return XW_REPORT();
}
