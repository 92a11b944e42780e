/* Unit tests for common/xw_json: request errors, bounded getters, dump. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "xw_json.h"
#include "xw_test.h"
#include "xw_test_whole_tree.h"

static json_t *load(const char *s)
{
    return json_loads(s, JSON_ALLOW_NUL, NULL);
}

/* 1 if s is valid UTF-8 (jansson checks it). */
static int valid_utf8(const char *s)
{
    json_t *j = json_string(s);
    int ok = j != NULL;

    json_decref(j);
    return ok;
}

static void test_err_render_exact(void)
{
    xw_json_err e;
    xw_buf b = XW_BUF_INIT;

    xw_json_err_set(&e, 400, "name", "max_length", "must be at most %d bytes",
                    64);
    ASSERT_EQ(xw_json_err_render(&e, &b), 0);
    ASSERT_STR_EQ(b.data, "{\"error\":{\"status\":400,\"field\":\"name\","
                  "\"rule\":\"max_length\",\"message\":\"must be at most 64 "
                  "bytes\"}}");
    xw_buf_release(&b);
}

static void test_err_render_escapes(void)
{
    xw_json_err e;
    xw_buf b = XW_BUF_INIT;
    json_t *back;

    xw_json_err_set(&e, 422, "a\"b", NULL, "quote \" backslash \\ nl \n tab \t");
    ASSERT_EQ(xw_json_err_render(&e, &b), 0);
    back = json_loads(b.data, 0, NULL);
    ASSERT(back != NULL);
    ASSERT_STR_EQ(json_string_value(json_object_get(
                      json_object_get(back, "error"), "message")),
                  "quote \" backslash \\ nl \n tab \t");
    ASSERT_STR_EQ(json_string_value(json_object_get(
                      json_object_get(back, "error"), "field")), "a\"b");
    ASSERT_STR_EQ(json_string_value(json_object_get(
                      json_object_get(back, "error"), "rule")), "");
    ASSERT_EQ(json_integer_value(json_object_get(
                  json_object_get(back, "error"), "status")), 422);
    json_decref(back);
    xw_buf_release(&b);
}

/* Bytes that are not UTF-8 (a caller echoing raw input) must not make the
 * body invalid JSON or the render fail. */
static void test_err_invalid_utf8_sanitized(void)
{
    xw_json_err e;
    xw_buf b = XW_BUF_INIT;
    json_t *back;

    xw_json_err_set(&e, 400, "id\xff", "format", "bad id '%s'",
                    "x\xc3\x28y\xed\xa0\x80z");   /* bad 2-byte, surrogate */
    ASSERT_STR_EQ(e.field, "id?");
    ASSERT_STR_EQ(e.message, "bad id 'x?(y???z'");
    ASSERT_EQ(xw_json_err_render(&e, &b), 0);
    back = json_loads(b.data, 0, NULL);
    ASSERT(back != NULL);
    json_decref(back);
    xw_buf_release(&b);
}

/* Truncation keeps whole characters: 'é' is 2 bytes. */
static void test_err_truncation_on_char_boundary(void)
{
    xw_json_err e;
    char longf[400];
    size_t i;

    for (i = 0; i + 2 < sizeof longf; i += 2) {
        longf[i] = (char)0xc3;
        longf[i + 1] = (char)0xa9;
    }
    longf[i] = '\0';
    xw_json_err_set(&e, 400, longf, "r", "m");
    ASSERT_EQ(strlen(e.field), 126);    /* 63 whole chars, 127 won't fit */
    ASSERT(valid_utf8(e.field));
}

static void test_err_prefix(void)
{
    xw_json_err e;

    xw_json_err_set(&e, 400, "source", "required", "is required");
    xw_json_err_prefix(&e, "[2]");
    xw_json_err_prefix(&e, "mappings.compute");
    ASSERT_STR_EQ(e.field, "mappings.compute[2].source");
    xw_json_err_set(&e, 400, "", "type", "must be an object");
    xw_json_err_prefix(&e, "environment");
    ASSERT_STR_EQ(e.field, "environment");
    xw_json_err_clear(&e);
    ASSERT_EQ(e.http_status, 0);
    ASSERT_STR_EQ(e.field, "");
}

static void test_get_string(void)
{
    json_t *o = load("{\"name\":\"prod\",\"n\":3,\"nul\":\"a\\u0000b\","
                     "\"empty\":\"\",\"none\":null}");
    xw_json_err e;
    const char *s = "default";
    size_t len = 0;

    ASSERT(o != NULL);
    ASSERT_EQ(xw_json_get_string(o, "name", 1, 64, XW_JSON_REQUIRED, &s, &len,
                                 &e), 1);
    ASSERT_STR_EQ(s, "prod");
    ASSERT_EQ(len, 4);

    s = "default";
    ASSERT_EQ(xw_json_get_string(o, "missing", 0, 64, 0, &s, NULL, &e), 0);
    ASSERT_STR_EQ(s, "default");
    ASSERT_EQ(xw_json_get_string(o, "none", 0, 64, 0, &s, NULL, &e), 0);
    ASSERT_STR_EQ(s, "default");

    ASSERT_EQ(xw_json_get_string(o, "missing", 0, 64, XW_JSON_REQUIRED, &s,
                                 NULL, &e), -1);
    ASSERT_EQ(e.http_status, 400);
    ASSERT_STR_EQ(e.field, "missing");
    ASSERT_STR_EQ(e.rule, "required");
    ASSERT_EQ(xw_json_get_string(o, "none", 0, 64, XW_JSON_REQUIRED, &s,
                                 NULL, &e), -1);
    ASSERT_STR_EQ(e.rule, "required");

    ASSERT_EQ(xw_json_get_string(o, "n", 0, 64, 0, &s, NULL, &e), -1);
    ASSERT_STR_EQ(e.field, "n");
    ASSERT_STR_EQ(e.rule, "type");

    ASSERT_EQ(xw_json_get_string(o, "name", 0, 3, 0, &s, NULL, &e), -1);
    ASSERT_STR_EQ(e.rule, "max_length");
    ASSERT_STR_EQ(e.message, "must be at most 3 bytes");
    ASSERT_EQ(xw_json_get_string(o, "name", 0, 4, 0, &s, NULL, &e), 1);

    ASSERT_EQ(xw_json_get_string(o, "empty", 1, 0, 0, &s, NULL, &e), -1);
    ASSERT_STR_EQ(e.rule, "min_length");

    ASSERT_EQ(xw_json_get_string(o, "nul", 0, 0, 0, &s, NULL, &e), -1);
    ASSERT_STR_EQ(e.rule, "nul");
    ASSERT_STR_EQ(s, "prod");           /* untouched on failure */
    json_decref(o);
}

static void test_get_int(void)
{
    json_t *o = load("{\"n\":10,\"neg\":-5,\"real\":1.0,\"str\":\"7\","
                     "\"big\":9223372036854775807}");
    xw_json_err e;
    json_int_t v = 42;

    ASSERT(o != NULL);
    ASSERT_EQ(xw_json_get_int(o, "n", 0, 10, XW_JSON_REQUIRED, &v, &e), 1);
    ASSERT_EQ(v, 10);
    ASSERT_EQ(xw_json_get_int(o, "n", 0, 9, 0, &v, &e), -1);
    ASSERT_STR_EQ(e.rule, "max");
    ASSERT_STR_EQ(e.message, "must be at most 9");
    ASSERT_EQ(xw_json_get_int(o, "neg", 0, 9, 0, &v, &e), -1);
    ASSERT_STR_EQ(e.rule, "min");
    ASSERT_STR_EQ(e.field, "neg");
    ASSERT_EQ(xw_json_get_int(o, "real", 0, 9, 0, &v, &e), -1);
    ASSERT_STR_EQ(e.rule, "type");
    ASSERT_EQ(xw_json_get_int(o, "str", 0, 9, 0, &v, &e), -1);
    ASSERT_STR_EQ(e.rule, "type");
    ASSERT_EQ(xw_json_get_int(o, "big", 0, 1000000, 0, &v, &e), -1);
    ASSERT_STR_EQ(e.rule, "max");
    v = 42;
    ASSERT_EQ(xw_json_get_int(o, "absent", 0, 9, 0, &v, &e), 0);
    ASSERT_EQ(v, 42);
    ASSERT_EQ(xw_json_get_int(o, "absent", 0, 9, XW_JSON_REQUIRED, &v, &e),
              -1);
    ASSERT_STR_EQ(e.rule, "required");
    json_decref(o);
}

static void test_get_bool_array_object(void)
{
    json_t *o = load("{\"yes\":true,\"no\":false,\"one\":1,"
                     "\"arr\":[1,2,3],\"obj\":{\"a\":1}}");
    xw_json_err e;
    json_t *v = NULL;
    int b = -1;

    ASSERT(o != NULL);
    ASSERT_EQ(xw_json_get_bool(o, "yes", 0, &b, &e), 1);
    ASSERT_EQ(b, 1);
    ASSERT_EQ(xw_json_get_bool(o, "no", 0, &b, &e), 1);
    ASSERT_EQ(b, 0);
    ASSERT_EQ(xw_json_get_bool(o, "one", 0, &b, &e), -1);
    ASSERT_STR_EQ(e.rule, "type");
    ASSERT_STR_EQ(e.field, "one");

    ASSERT_EQ(xw_json_get_array(o, "arr", 3, 0, &v, &e), 1);
    ASSERT_EQ(json_array_size(v), 3);
    ASSERT_EQ(xw_json_get_array(o, "arr", 2, 0, &v, &e), -1);
    ASSERT_STR_EQ(e.rule, "max_items");
    ASSERT_EQ(xw_json_get_array(o, "obj", 0, 0, &v, &e), -1);
    ASSERT_STR_EQ(e.rule, "type");

    ASSERT_EQ(xw_json_get_object(o, "obj", XW_JSON_REQUIRED, &v, &e), 1);
    ASSERT(json_is_object(v));
    ASSERT_EQ(xw_json_get_object(o, "arr", 0, &v, &e), -1);
    ASSERT_STR_EQ(e.rule, "type");

    /* the container itself must be an object */
    ASSERT_EQ(xw_json_get_bool(json_object_get(o, "arr"), "x", 0, &b, &e),
              -1);
    ASSERT_STR_EQ(e.rule, "type");
    json_decref(o);
}

static void test_check_keys(void)
{
    static const char *const allowed[] = { "name", "destination", NULL };
    json_t *ok = load("{\"name\":\"a\",\"destination\":\"b\"}");
    json_t *bad = load("{\"name\":\"a\",\"destinaton\":\"b\"}");
    xw_json_err e;

    ASSERT(ok && bad);
    ASSERT_EQ(xw_json_check_keys(ok, allowed, &e), 0);
    ASSERT_EQ(xw_json_check_keys(bad, allowed, &e), -1);
    ASSERT_STR_EQ(e.field, "destinaton");
    ASSERT_STR_EQ(e.rule, "unknown");
    ASSERT_EQ(e.http_status, 400);
    json_decref(ok);
    json_decref(bad);
}

static void test_parse(void)
{
    xw_json_err e;
    json_t *j;
    const char *good = "{\"a\":[1,2]}";

    j = xw_json_parse(good, strlen(good), 1024, &e);
    ASSERT(j != NULL);
    json_decref(j);

    j = xw_json_parse("{\"a\":", 5, 1024, &e);
    ASSERT(j == NULL);
    ASSERT_EQ(e.http_status, 400);
    ASSERT_STR_EQ(e.field, "body");
    ASSERT_STR_EQ(e.rule, "json");
    ASSERT(strstr(e.message, "line 1") != NULL);

    j = xw_json_parse("{\"a\":1,\"a\":2}", 13, 1024, &e);
    ASSERT(j == NULL);
    ASSERT_STR_EQ(e.rule, "json");

    j = xw_json_parse("42", 2, 1024, &e);     /* top level must be a container */
    ASSERT(j == NULL);

    j = xw_json_parse(good, strlen(good), 5, &e);
    ASSERT(j == NULL);
    ASSERT_EQ(e.http_status, 413);
    ASSERT_STR_EQ(e.rule, "max_length");

    j = xw_json_parse("{\"a\":\"\xff\"}", 8, 1024, &e);   /* bad UTF-8 */
    ASSERT(j == NULL);
    ASSERT_STR_EQ(e.rule, "json");
    ASSERT(valid_utf8(e.message));
}

static void test_dump(void)
{
    json_t *j = json_pack("{s:s,s:i,s:[b,n]}", "k", "v\"", "n", 5, "a", 1);
    xw_buf b = XW_BUF_INIT;
    xw_buf small;

    ASSERT(j != NULL);
    ASSERT_EQ(xw_buf_adds(&b, "prefix:"), 0);
    ASSERT_EQ(xw_json_dump(j, &b), 0);
    ASSERT_STR_EQ(b.data, "prefix:{\"k\":\"v\\\"\",\"n\":5,\"a\":[true,null]}");
    ASSERT_EQ(b.len, strlen(b.data));

    /* a cap that the dump would exceed leaves the buffer as it was */
    xw_buf_init(&small, 10);
    ASSERT_EQ(xw_buf_adds(&small, "abc"), 0);
    ASSERT_EQ(xw_json_dump(j, &small), -1);
    ASSERT_EQ(small.len, 3);
    ASSERT_STR_EQ(small.data, "abc");

    /* any value, not only containers */
    xw_buf_reset(&b);
    json_decref(j);
    j = json_string("x");
    ASSERT_EQ(xw_json_dump(j, &b), 0);
    ASSERT_STR_EQ(b.data, "\"x\"");
    json_decref(j);
    xw_buf_release(&b);
    xw_buf_release(&small);
}

/* --- streaming the items of one array member --- */

/* Streams d[0..n) and compares with xw_test_whole_tree: the same status, field and
 * rule, or the same items. 1 if they agree, else 0 with the difference
 * printed. */
static int streams_as_whole_tree(const char *d, size_t n, size_t max_items)
{
    xw_json_err we, se;
    xw_json_items it;
    json_t *body = NULL, *item, *a;
    size_t i = 0;
    int wrc, src, same = 1;

    wrc = xw_test_whole_tree(d, n, max_items, 4096, &body, &a, &we);
    xw_json_items_init(&it, d, n, "objects", 1, max_items, 4096);
    while ((src = xw_json_items_next(&it, &item, &se)) == 1) {
        /* items are handed out in order whatever the outcome */
        if (a && !json_equal(item, json_array_get(a, i)))
            same = 0;
        if (max_items && i >= max_items)
            same = 0;
        json_decref(item);
        i++;
    }
    xw_json_items_release(&it);
    if (src != wrc || (wrc == 0 && i != json_array_size(a)))
        same = 0;
    if (wrc < 0 && src < 0
        && (we.http_status != se.http_status || strcmp(we.field, se.field)
            || strcmp(we.rule, se.rule)))
        same = 0;
    if (!same)
        fprintf(stderr, "  body %.*s\n  whole tree %d %d %s %s (%s)\n"
                "  streamed   %d %d %s %s (%s), %zu items\n", (int)n, d,
                wrc, wrc ? we.http_status : 0, wrc ? we.field : "",
                wrc ? we.rule : "", wrc ? we.message : "", src,
                src ? se.http_status : 0, src ? se.field : "",
                src ? se.rule : "", src ? se.message : "", i);
    json_decref(body);
    return same;
}

static void test_items_answers(void)
{
    static const struct {
        const char *body;
        int rc;
        const char *field, *rule;
        size_t items;
    } cases[] = {
        { "{\"objects\":[{\"id\":\"a\"},{\"id\":\"b\"}]}", 0, "", "", 2 },
        { " \r\n\t{ \"objects\" : [ null , [ ] , { } ] } \n", 0, "", "", 3 },
        { "{\"objects\":[1,\"x\",-2.5e1]}", 0, "", "", 3 },
        { "{\"obj\\u0065cts\":[true]}", 0, "", "", 1 },
        { "", -1, "body", "required", 0 },
        { "   ", -1, "body", "json", 0 },
        { "[1,2]", -1, "body", "type", 0 },
        { "[1,2", -1, "body", "json", 0 },
        { "42", -1, "body", "json", 0 },
        { "{\"objects\": [", -1, "body", "json", 0 },
        { "{\"objects\":[{}]", -1, "body", "json", 1 },
        { "{\"objects\":[{}]}x", -1, "body", "json", 1 },
        { "{\"objects\":[{}],}", -1, "body", "json", 1 },
        { "{\"objects\":[{},]}", -1, "body", "json", 1 },
        { "{\"objects\":[{} {}]}", -1, "body", "json", 1 },
        { "{\"objects\" [{}]}", -1, "body", "json", 0 },
        { "{objects:[{}]}", -1, "body", "json", 0 },
        { "{\"objects\":[{\"a\":1,\"a\":2}]}", -1, "body", "json", 0 },
        { "{\"objects\":[{}],\"objects\":[{}]}", -1, "body", "json", 1 },
        { "{\"x\":1,\"objects\":[{}],\"x\":2}", -1, "body", "json", 1 },
        { "{\"ob\\u0000\":1,\"objects\":[{}]}", -1, "body", "json", 0 },
        { "{\"objects\":[{\"id\":\"\xff\"}]}", -1, "body", "json", 0 },
        { "{}", -1, "objects", "required", 0 },
        { "{\"objects\":null}", -1, "objects", "required", 0 },
        { "{\"objects\":\"many\"}", -1, "objects", "type", 0 },
        { "{\"objects\":{\"a\":[1]}}", -1, "objects", "type", 0 },
        { "{\"objects\":[]}", -1, "objects", "min_items", 0 },
        { "{\"objects\":[1,2,3,4]}", -1, "objects", "max_items", 3 },
        { "{\"colour\":1,\"objects\":[{}]}", -1, "colour", "unknown", 1 },
        { "{\"objects\":[{}],\"a\":1,\"b\":2}", -1, "a", "unknown", 1 },
        /* precedence: whatever comes first in the body */
        { "{\"colour\":1,\"objects\":[]}", -1, "objects", "min_items", 0 },
        { "{\"colour\":1,\"objects\":7}", -1, "objects", "type", 0 },
        { "{\"colour\":1}", -1, "objects", "required", 0 },
        { "{\"objects\":[1,2,3,4],\"colour\":1}", -1, "objects", "max_items",
          3 },
        { "{\"colour\":1,\"objects\":[{}],\"x\":tru}", -1, "body", "json", 1 },
        { "{\"objects\":[1,2,3,4,5,{]}", -1, "body", "json", 3 },
    };
    /* syntax errors inside a value, and some between them: the
     * whole-body parse's message */
    static const char *const inside[] = {
        "{\"objects\": [",
        "{\"objects\": [{},\n ",
        "{\"objects\":[{} {}]}",
        "{\"objects\":[{}],\"objects\":[{}]}",
        "{\"x\":1,\n\"objects\":[{}], \"x\":2}",
        "{\"objects\":[{}]}\n}",
        "{\"objects\" [{}]}",
        "{\"objects\": [\n  {\"id\": \"a\"},\n  {\"id\" \"b\"}\n]}",
        "{\"objects\":[{\"a\":[1,2}]}",
        "{\"x\":{\"\u00e9\u00e9\":\"\u00e9\", \"b\":1 2},\"objects\":[{}]}",
        "{\"objects\":[\"\xc3\xa9\xc3\xa9\",\n\"ab\xff" "cd\"]}",
        "{\"objects\":[{\"a\":\"\\q\"}]}",
        "{\"objects\":[{\"k\":1},\n{\"k\":\n  1, \"k\": 2}]}",
        "{\"objects\":[99999999999999999999999]}",
    };
    xw_json_items it;
    xw_json_err e;
    json_t *item;

    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        size_t n = 0;
        int rc;

        xw_json_items_init(&it, cases[c].body, strlen(cases[c].body),
                           "objects", 1, 3, 4096);
        while ((rc = xw_json_items_next(&it, &item, &e)) == 1) {
            json_decref(item);
            n++;
        }
        if (rc != cases[c].rc || n != cases[c].items
            || (rc < 0 && (strcmp(e.field, cases[c].field)
                           || strcmp(e.rule, cases[c].rule))))
            XW_FAIL_("%s: %d %s %s (%s), %zu items", cases[c].body, rc,
                     rc ? e.field : "", rc ? e.rule : "",
                     rc ? e.message : "", n);
        /* once done, it stays done */
        ASSERT_EQ(xw_json_items_next(&it, &item, &e), rc == 1 ? 0 : rc);
        ASSERT(item == NULL);
        xw_json_items_release(&it);
        xw_json_items_release(&it);
        ASSERT(streams_as_whole_tree(cases[c].body, strlen(cases[c].body), 3));
    }

    /* the body limit, and the message of an error inside an item */
    xw_json_items_init(&it, "{\"objects\":[{}]}", 16, "objects", 1, 3, 15);
    ASSERT_EQ(xw_json_items_next(&it, &item, &e), -1);
    ASSERT_EQ(e.http_status, 413);
    ASSERT_STR_EQ(e.rule, "max_length");
    xw_json_items_release(&it);
    for (size_t c = 0; c < sizeof inside / sizeof inside[0]; c++) {
        const char *b = inside[c];
        xw_json_err we;
        json_t *body, *objs;

        ASSERT_EQ(xw_test_whole_tree(b, strlen(b), 3, 0, &body, &objs, &we),
                  -1);
        xw_json_items_init(&it, b, strlen(b), "objects", 1, 3, 0);
        while (xw_json_items_next(&it, &item, &e) == 1)
            json_decref(item);
        xw_json_items_release(&it);
        ASSERT_STR_EQ(e.message, we.message);
    }
}

/* Nesting: an item parsed alone may nest two levels deeper than the whole
 * body allows; the limit is still the whole body's. */
static void test_items_depth(void)
{
    xw_buf b = XW_BUF_INIT;

    for (int extra = -1; extra <= 1; extra++) {
        int depth = JSON_PARSER_MAX_DEPTH - 2 + extra;   /* of the item */

        xw_buf_reset(&b);
        ASSERT_EQ(xw_buf_adds(&b, "{\"objects\":["), 0);
        for (int i = 0; i < depth - 1; i++)
            ASSERT_EQ(xw_buf_addch(&b, '['), 0);
        ASSERT_EQ(xw_buf_addch(&b, '1'), 0);
        for (int i = 0; i < depth - 1; i++)
            ASSERT_EQ(xw_buf_addch(&b, ']'), 0);
        ASSERT_EQ(xw_buf_adds(&b, "]}"), 0);
        ASSERT(streams_as_whole_tree(b.data, b.len, 3));
        /* the same depth as an unknown member's value (one level less) */
        memcpy(b.data + 2, "zzzzzzz", 7);
        ASSERT(streams_as_whole_tree(b.data, b.len, 3));
    }
    xw_buf_release(&b);
}

static uint32_t lcg(uint32_t *seed)
{
    *seed = *seed * 1103515245u + 12345u;
    return *seed >> 8;
}

/* Every prefix of some bodies, and every byte of them replaced by a few
 * troublemakers: the streamed answer is always the whole tree's. */
static void test_items_like_whole_tree(void)
{
    static const char *const bodies[] = {
        "{\"objects\":[{\"id\":\"a\",\"n\":[1,{\"x\":null}]},\"s\",2.5e3,"
        "-0,true,[],{}]}",
        "{\"zz\":{\"a\":[1,2]},\"objects\":[{\"k\":\"\\u00e9\\n\"},[[]]],"
        "\"y\":\"\xc3\xa9\"}",
        " { \"objects\" : [ { } , { \"a\" : 1 } , 3 , 4 ] , \"q\" : null } ",
        "{\"objects\":[null,false,{\"t\":true},1e5],\"o\":-1.5}",
    };
    static const char subst[] = "{}[],:\" 0\\\n\xff" "1-.eltx";
    uint32_t seed = 7;
    char buf[256];

    for (size_t b = 0; b < sizeof bodies / sizeof bodies[0]; b++) {
        size_t n = strlen(bodies[b]);

        ASSERT(n < sizeof buf);
        for (size_t k = 0; k <= n; k++)
            ASSERT(streams_as_whole_tree(bodies[b], k, 3));
        for (size_t k = 0; k < n; k++) {
            for (size_t j = 0; j < sizeof subst; j++) {
                memcpy(buf, bodies[b], n);
                buf[k] = subst[j];          /* the last one is a NUL */
                ASSERT(streams_as_whole_tree(buf, n, 3));
                ASSERT(streams_as_whole_tree(buf, n, 0));
            }
        }
        /* and 5,000 bodies with 1-4 random edits (a fixed seed) */
        for (int round = 0; round < 5000; round++) {
            size_t m = n;

            memcpy(buf, bodies[b], n);
            for (int edits = 1 + (int)(lcg(&seed) % 4); edits; edits--) {
                size_t at = m ? lcg(&seed) % m : 0;
                char c = subst[lcg(&seed) % sizeof subst];

                switch (lcg(&seed) % 3) {
                case 0:
                    if (m)
                        buf[at] = c;
                    break;
                case 1:
                    if (m + 1 < sizeof buf) {
                        memmove(buf + at + 1, buf + at, m - at);
                        buf[at] = c;
                        m++;
                    }
                    break;
                default:
                    if (m) {
                        memmove(buf + at, buf + at + 1, m - at - 1);
                        m--;
                    }
                }
            }
            ASSERT(streams_as_whole_tree(buf, m, 3));
        }
    }
}

int main(void)
{
    XW_RUN(test_err_render_exact);
    XW_RUN(test_err_render_escapes);
    XW_RUN(test_err_invalid_utf8_sanitized);
    XW_RUN(test_err_truncation_on_char_boundary);
    XW_RUN(test_err_prefix);
    XW_RUN(test_get_string);
    XW_RUN(test_get_int);
    XW_RUN(test_get_bool_array_object);
    XW_RUN(test_check_keys);
    XW_RUN(test_parse);
    XW_RUN(test_dump);
    XW_RUN(test_items_answers);
    XW_RUN(test_items_depth);
    XW_RUN(test_items_like_whole_tree);
    return XW_REPORT();
}
