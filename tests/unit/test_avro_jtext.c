/*
 * xw_avro_jtext: the fast fill of an ObjectSpec from an item's JSON text
 * is held against jansson + xw_avro_from_json (xw_test_jtext_compare) on
 * valid items of every shape, their every prefix and byte substitution,
 * random edits and random strings; and step 2's streaming with the fast
 * path (xw_json_items_peek/skip, as h_prod_deploy) against streaming with
 * jansson only.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "xw_avro.h"
#include "xw_avro_json.h"
#include "xw_avro_jtext.h"
#include "xw_json.h"
#include "xw_test.h"
#include "xw_test_jtext.h"
#include "xw_test_rand.h"

static const xw_avro_json_limits lim = { 1024, 10000 };
static xw_avro_value ev_fast, ev_slow;
static avro_value_t fast, slow;
static unsigned long taken, declined;

/* One text through both paths; counts what the fast path took. */
static int same(const char *text, size_t len)
{
    int rc = xw_test_jtext_compare(&fast, &slow, text, len, &lim);

    if (rc < 0)
        fprintf(stderr, "differs: %.*s\n", (int)len, text);
    if (rc > 0)
        taken++;
    else
        declined++;
    return rc >= 0;
}

#define FULL                                                              \
    "{\"id\":\"orders.daily\",\"name\":\"Daily orders\",\"kind\":\"node\","  \
    "\"version\":42,\"compute_resource\":\"spark-1\","                      \
    "\"resource_group\":\"rg-a\",\"data_sources\":[\"pg.main\",\"s3.raw\"]," \
    "\"dependencies\":[{\"project\":\"p1\",\"node\":\"n1\"},"             \
    "{\"node\":\"n2\",\"project\":\"p2\"}],"                                \
    "\"parameters\":[{\"name\":\"bizdate\",\"value\":\"$[yyyymmdd-1]\"}],"  \
    "\"owner\":\"olga\",\"generation_mode\":\"immediate\","                 \
    "\"scheduled_time\":\"02:30\"}"

#define MIN_                                                              \
    "{\"id\":\"a\",\"name\":\"\",\"kind\":\"resource\",\"version\":0,"      \
    "\"compute_resource\":\"c\",\"data_sources\":[],\"dependencies\":[],"   \
    "\"parameters\":[],\"owner\":\"o\",\"generation_mode\":\"next_day\"}"

static const char *const valid[] = {
    FULL,
    MIN_,
    /* nulls for the optional fields, members out of schema order */
    "{\"scheduled_time\":null,\"owner\":\"o\",\"id\":\"b\",\"name\":\"n\","
    "\"kind\":\"function\",\"version\":-7,\"compute_resource\":\"c\","
    "\"resource_group\":null,\"data_sources\":[\"x\"],\"dependencies\":[],"
    "\"parameters\":[],\"generation_mode\":\"next_day\"}",
    /* whitespace of every kind, and text after the object */
    "{\n\t\"id\" : \"c\" ,\r\n \"name\":\"\xc3\xa9t\xc3\xa9 \xf0\x9f\x98\x80\","
    "\"kind\" :\"component\", \"version\": 999999999999999999 ,"
    "\"compute_resource\":\"c\",\"data_sources\":[ ],\"dependencies\":[ { "
    "\"project\" : \"p\" , \"node\" : \"n\" } ],\"parameters\":[],"
    "\"owner\":\"o\",\"generation_mode\":\"next_day\" } ,{\"id\":1}]}",
    "{\"id\":\"d\",\"name\":\"n\",\"kind\":\"node\","
    "\"version\":-999999999999999999,\"compute_resource\":\"c\","
    "\"data_sources\":[],\"dependencies\":[],\"parameters\":[],"
    "\"owner\":\"o\",\"generation_mode\":\"next_day\"}",
};

/* Each valid item is taken (the fast path is used for plain input), and
 * its every prefix and byte substitution agrees with the reference. */
static void test_variants(void)
{
    static const char subst[] = "{}[],:\" 0\\\n\xff\xc3\x80" "1-.eEtxnu";
    char buf[2048];

    for (size_t v = 0; v < sizeof valid / sizeof valid[0]; v++) {
        size_t n = strlen(valid[v]);

        ASSERT(n < sizeof buf);
        ASSERT_EQ(xw_test_jtext_compare(&fast, &slow, valid[v], n, &lim), 1);
        for (size_t k = 0; k <= n; k++)
            ASSERT(same(valid[v], k));
        for (size_t k = 0; k < n; k++)
            for (size_t j = 0; j < sizeof subst; j++) {
                memcpy(buf, valid[v], n);
                buf[k] = subst[j];          /* the last one is a NUL */
                ASSERT(same(buf, n));
            }
        for (int round = 0; round < 20000; round++) {
            size_t m = n;

            memcpy(buf, valid[v], n);
            for (int e = 1 + (int)xw_rnd(4); e && m; e--) {
                char tmp[2048];

                m = xw_damage(buf, m, tmp, subst);
                memcpy(buf, tmp, m);
            }
            ASSERT(same(buf, m));
        }
    }
}

/* Values at the edges: numbers, string lengths, enum symbols, escapes. */
static void test_edges(void)
{
    static const char *const versions[] = {
        "0", "-0", "1", "-1", "00", "01", "-01", "1.0", "1e3", "1E3", "-",
        "999999999999999999", "-999999999999999999", "1000000000000000000",
        "9223372036854775807", "-9223372036854775808", "9223372036854775808",
        "\"1\"", "true", "null", "[]", "{}", "1x", "truex",
    };
    static const char *const strings[] = {
        "\"\"", "\"a\\\"b\"", "\"\\u00e9\"", "\"\\u0000\"", "\"\\ud83d\\ude00\"",
        "\"\\ud800\"", "\"\\/\"", "\"\xed\xa0\x80\"", "\"\xc0\xaf\"",
        "\"\xf4\x90\x80\x80\"", "\"\xef\xbb\xbf\"", "\"\x7f\"", "\"\x01\"",
        "\"\xc3\"", "\"\xe2\x82\"", "null", "1", "\"node\"",
    };
    static const char *const kinds[] = {
        "\"node\"", "\"function\"", "\"resource\"", "\"component\"",
        "\"Node\"", "\"node \"", "\"\"", "\"no\\u0064e\"", "null", "0",
    };
    char big[1100], buf[4096];

    for (size_t i = 0; i < sizeof versions / sizeof versions[0]; i++) {
        snprintf(buf, sizeof buf, "{\"version\":%s,\"id\":\"a\",\"name\":\"\","
                 "\"kind\":\"node\",\"compute_resource\":\"c\",\"data_sources\""
                 ":[],\"dependencies\":[],\"parameters\":[],\"owner\":\"o\","
                 "\"generation_mode\":\"next_day\"}", versions[i]);
        ASSERT(same(buf, strlen(buf)));
    }
    for (size_t i = 0; i < sizeof strings / sizeof strings[0]; i++)
        for (int f = 0; f < 4; f++) {
            static const char *const where[] = {
                "\"name\":%s,\"resource_group\":null",
                "\"name\":\"\",\"resource_group\":%s",
                "\"name\":\"\",\"scheduled_time\":%s",
                "\"name\":\"\",\"data_sources\":[%s]",
            };
            char member[256];

            snprintf(member, sizeof member, where[f], strings[i]);
            snprintf(buf, sizeof buf, "{%s,\"id\":\"a\",\"kind\":\"node\","
                     "\"version\":1,\"compute_resource\":\"c\",%s"
                     "\"dependencies\":[],\"parameters\":[],\"owner\":\"o\","
                     "\"generation_mode\":\"next_day\"}", member,
                     f == 3 ? "" : "\"data_sources\":[],");
            ASSERT(same(buf, strlen(buf)));
        }
    for (size_t i = 0; i < sizeof kinds / sizeof kinds[0]; i++) {
        snprintf(buf, sizeof buf, "{\"kind\":%s,\"id\":\"a\",\"name\":\"\","
                 "\"version\":1,\"compute_resource\":\"c\",\"data_sources\""
                 ":[],\"dependencies\":[],\"parameters\":[],\"owner\":\"o\","
                 "\"generation_mode\":\"next_day\"}", kinds[i]);
        ASSERT(same(buf, strlen(buf)));
    }
    /* strings of 1023, 1024 and 1025 bytes: the last is over the cap */
    for (size_t len = 1023; len <= 1025; len++) {
        big[0] = '"';
        memset(big + 1, 'x', len);
        big[len + 1] = '"';
        big[len + 2] = '\0';
        snprintf(buf, sizeof buf, "{\"name\":%s,\"id\":\"a\",\"kind\":\"node\","
                 "\"version\":1,\"compute_resource\":\"c\",\"data_sources\""
                 ":[],\"dependencies\":[],\"parameters\":[],\"owner\":\"o\","
                 "\"generation_mode\":\"next_day\"}", big);
        ASSERT_EQ(xw_test_jtext_compare(&fast, &slow, buf, strlen(buf), &lim),
                  len <= 1024 ? 1 : 0);
    }
}

/* Items whose strings are random mixes of the troublesome pieces
 * (quotes, escapes, controls, UTF-8 of every length), dumped by jansson
 * with and without ensure_ascii. */
static void test_random_strings(void)
{
    json_t *o;
    char *s;

    for (int round = 0; round < 20000; round++) {
        json_error_t je;

        o = json_loads(MIN_, 0, &je);
        ASSERT(o != NULL);
        json_object_set_new(o, "name", xw_random_string(12));
        json_object_set_new(o, "owner", xw_random_string(6));
        json_object_set_new(o, "data_sources",
                            json_pack("[oo]", xw_random_string(8),
                                      xw_random_string(8)));
        if (xw_rnd(2))
            json_object_set_new(o, "scheduled_time", xw_random_string(4));
        s = json_dumps(o, JSON_COMPACT | (xw_rnd(2) ? JSON_ENSURE_ASCII : 0));
        ASSERT(s != NULL);
        ASSERT(same(s, strlen(s)));
        free(s);
        json_decref(o);
    }
}

/* A body streamed as h_prod_deploy streams it (peek, the fast fill or
 * next() and xw_avro_from_json) answers and encodes as next() alone. */
static int streams_alike(const char *d, size_t n)
{
    static xw_buf a = XW_BUF_INIT, b = XW_BUF_INIT;
    xw_json_items x, y;
    xw_json_err ex, ey;
    xw_avro_json_error e;
    xw_avro_err err;
    const char *text;
    json_t *item;
    size_t len, used;
    int rx, ry, ok = 1;

    xw_buf_reset(&a);
    xw_buf_reset(&b);
    xw_json_items_init(&x, d, n, "objects", 1, 3, 4096);
    xw_json_items_init(&y, d, n, "objects", 1, 3, 4096);
    for (;;) {
        if (xw_json_items_peek(&x, &text, &len)
            && xw_avro_jtext_fill(&fast, text, len, &lim, &used)) {
            xw_json_items_skip(&x, used);
            rx = 1;
            xw_avro_encode_body(&fast, &a, &err);
        } else if ((rx = xw_json_items_next(&x, &item, &ex)) == 1) {
            if (json_is_object(item)
                && xw_avro_from_json(&fast, item, &lim, &e) == 0)
                xw_avro_encode_body(&fast, &a, &err);
            json_decref(item);
        }
        if ((ry = xw_json_items_next(&y, &item, &ey)) == 1) {
            if (json_is_object(item)
                && xw_avro_from_json(&slow, item, &lim, &e) == 0)
                xw_avro_encode_body(&slow, &b, &err);
            json_decref(item);
        }
        if (rx != ry) {
            ok = 0;
            break;
        }
        if (rx != 1)
            break;
    }
    if (ok && rx < 0)
        ok = ex.http_status == ey.http_status && !strcmp(ex.field, ey.field)
             && !strcmp(ex.rule, ey.rule) && !strcmp(ex.message, ey.message);
    ok = ok && a.len == b.len && memcmp(a.data, b.data, a.len) == 0;
    xw_json_items_release(&x);
    xw_json_items_release(&y);
    if (!ok)
        fprintf(stderr, "streams differ: %.*s\n", (int)n, d);
    return ok;
}

static void test_streaming(void)
{
    static const char subst[] = "{}[],:\" 0\\\n\xff" "1-.eltx";
    char body[4096], buf[4096];
    size_t n;

    n = (size_t)snprintf(body, sizeof body,
                         " {\"objects\" : [ %s ,%s,\n%s, %s ] , \"x\":1}",
                         MIN_, FULL, valid[2], MIN_);
    ASSERT(n < sizeof body);
    for (size_t k = 0; k <= n; k++)
        ASSERT(streams_alike(body, k));
    for (size_t k = 0; k < n; k += 3) {
        memcpy(buf, body, n);
        buf[k] = subst[xw_rnd(sizeof subst)];
        ASSERT(streams_alike(buf, n));
    }
    for (int round = 0; round < 5000; round++) {
        size_t m = xw_damage(body, n, buf, subst);

        ASSERT(streams_alike(buf, m));
    }
}

int main(void)
{
    xw_avro_registry *reg;
    char eb[256];

    if (xw_avro_registry_open(&reg, eb, sizeof eb) != 0
        || xw_avro_value_init(&ev_fast, xw_avro_type_find(reg,
                                                          "ObjectsSubmitted"))
        || xw_avro_value_init(&ev_slow, xw_avro_type_find(reg,
                                                          "ObjectsSubmitted"))
        || xw_avro_array_append(&ev_fast.value, "objects", &fast) < 0
        || xw_avro_array_append(&ev_slow.value, "objects", &slow) < 0) {
        fprintf(stderr, "setup failed\n");
        return 1;
    }
    XW_RUN(test_variants);
    XW_RUN(test_edges);
    XW_RUN(test_random_strings);
    XW_RUN(test_streaming);
    printf("fast path: %lu items taken, %lu declined\n", taken, declined);
    xw_avro_value_release(&ev_fast);
    xw_avro_value_release(&ev_slow);
    xw_avro_registry_free(reg);
    return XW_REPORT();
}
