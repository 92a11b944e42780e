/* Unit tests for the listener's row writer (services/submit-listener/
 * rows.c): every row and list item written from the stored text must be
 * byte for byte what the jansson way (the code it replaced) writes, for
 * what the packager and the reporter store and for anything else that
 * could be stored: escapes, Unicode, extra and colliding fields, missing
 * specs and results, excluded rows, malformed and non-canonical JSON. */
#include <stdlib.h>
#include <string.h>

#include "xw_avro.h"
#include "xw_avro_json.h"
#include "xw_test.h"
#include "xw_test_rand.h"

#include "../../services/submit-listener/rows.c"

struct text {
    const char *p;      /* NULL: absent */
    size_t len;
};

#define T(s) { s, sizeof(s) - 1 }
#define ABSENT { NULL, 0 }

/* What the packager stores for a spec, and the reporter for a result:
 * written by xw_avro_json_write from the events' own schemas. */
static char *spec_text, *result_text, *failed_text;

static char *avro_written(const xw_avro_registry *reg, const char *type,
                          const char *json, const char *element)
{
    xw_avro_value v = { 0 };
    xw_avro_json_error e;
    json_t *j = json_loads(json, 0, NULL);
    avro_value_t el;
    xw_buf b = XW_BUF_INIT;
    char *out = NULL;

    if (j && xw_avro_value_init(&v, xw_avro_type_find(reg, type)) == 0
        && xw_avro_from_json(&v.value, j, NULL, &e) == 0
        && (!element || xw_avro_array_get(&v.value, element, 0, &el) == 0)
        && xw_avro_json_write(element ? &el : &v.value, &b) == 0)
        out = xw_buf_detach(&b, NULL);
    if (!out)
        fprintf(stderr, "  building %s: %s\n", type, j ? e.message : "json");
    xw_buf_release(&b);
    xw_avro_value_release(&v);
    json_decref(j);
    return out;
}

static int make_stored(void)
{
    xw_avro_registry *reg = NULL;
    char err[256];

    if (xw_avro_registry_open(&reg, err, sizeof err) < 0)
        return -1;
    spec_text = avro_written(reg, "PackageCreated",
        "{\"event_id\":\"e\",\"occurred_at\":1,\"actor\":\"a\","
        "\"correlation_id\":\"c\",\"package_id\":\"p\",\"source_workspace\":"
        "\"dev\",\"destination_workspace\":\"prod\",\"environment\":\"e\","
        "\"creator\":\"dave\",\"chunk\":0,\"chunks\":1,\"excluded\":[],"
        "\"objects\":[{\"id\":\"n-daily-sales\",\"name\":\"daily \\\"sales\\\""
        " \\u00e9\\u2028\\ud83d\\ude00\\u0001\\t/\",\"kind\":\"node\","
        "\"version\":3,\"compute_resource\":\"mc_dev\",\"resource_group\":"
        "\"rg_sched_default\",\"data_sources\":[\"mysql_orders_dev\"],"
        "\"dependencies\":[{\"project\":\"shared_dim\",\"node\":\"dim_date\"}],"
        "\"parameters\":[{\"name\":\"bizdate\",\"value\":\"$bizdate\"}],"
        "\"owner\":\"dave\",\"generation_mode\":\"next_day\","
        "\"scheduled_time\":\"02:00\"}]}", "objects");
    result_text = avro_written(reg, "ObjectResult",
        "{\"event_id\":\"8c1e\",\"occurred_at\":1795658738000,\"actor\":"
        "\"deployer\",\"correlation_id\":\"c\",\"package_id\":\"pkg-1\","
        "\"attempt\":2,\"source_workspace\":\"dev\",\"destination_workspace\":"
        "\"prod\",\"total\":20,\"object_id\":\"n-daily-sales\",\"object_name\":"
        "\"daily_sales\",\"kind\":\"function\",\"version\":4,\"outcome\":"
        "\"deployed\",\"compute_resource\":\"mc_prod\",\"owner\":\"d\\u00e9\","
        "\"effective_at\":1795700000000,\"effective_date\":\"2026-11-27\","
        "\"timing_rule\":\"next_day\",\"replaced_version\":-2}", NULL);
    failed_text = avro_written(reg, "ObjectResult",
        "{\"event_id\":\"9\",\"occurred_at\":0,\"actor\":\"mapper\","
        "\"correlation_id\":\"c\",\"package_id\":\"pkg-1\",\"attempt\":1,"
        "\"source_workspace\":\"dev\",\"destination_workspace\":\"prod\","
        "\"total\":1,\"object_id\":\"n\",\"object_name\":\"n\",\"kind\":"
        "\"node\",\"version\":1,\"outcome\":\"failed\",\"reason_code\":"
        "\"unmapped\",\"reason\":\"line\\nbreak \\\\ \\\"q\\\"\"}", NULL);
    xw_avro_registry_free(reg);
    return spec_text && result_text && failed_text ? 0 : -1;
}

/* Specs and results: the stored forms first, then everything else. */
static const struct text other_specs[] = {
    ABSENT,
    T("{\"id\":\"x\",\"name\":\"n\",\"kind\":\"node\",\"version\":1}"),
    T("{\"version\":7,\"kind\":\"resource\",\"name\":\"rev\",\"id\":\"y\"}"),
    T("{\"name\":\"only name\"}"),
    T("{\"kind\":\"node\",\"extra\":{\"a\":[1,2,{\"b\":null}]},\"version\":0}"),
    T("{\"id\":12,\"name\":null,\"kind\":true,\"version\":false}"),
    T("{\"name\":\"first\",\"name\":\"second\"}"),
    T("{}"),
    T("{\"name\":\"ctl \\u001F \\u0007 \\b\\f\\n\\r\\t del \x7f\"}"),
    T("{\"name\":\"\xe2\x80\xa8 \xf0\x9f\x98\x80 \xc3\xa9\"}"),
    T("{\"name\":{\"nested\":1}}"),
    T("{\"name\":[\"arr\"]}"),
    T("{\"name\":{\"a\":1,\"a\":2}}"),
    T("{\"x\":{\"a\":1,\"a\":2},\"name\":\"n\"}"),
    T("{\"name\":\"big\",\"version\":123456789012345678}"),
    T("{\"name\":\"bigger\",\"version\":1234567890123456789}"),
    T("{\"name\":\"huge\",\"version\":12345678901234567890}"),
    T("{\"name\":\"neg\",\"version\":-5}"),
    /* not in jansson's form, but valid: the jansson way must take them */
    T("{\"name\": \"spaced\"}"),
    T(" {\"name\":\"lead\"}"),
    T("{\"name\":\"trail\"}\n"),
    T("{\"name\":\"a\\/b\"}"),
    T("{\"name\":\"\\u007f \\u001b\"}"),
    T("{\"name\":\"\\u00e9\\u00E9\"}"),
    T("{\"name\":\"\\ud83d\\ude00\"}"),
    T("{\"name\":\"\\u001f\"}"),
    T("{\"name\":\"\\u000a\"}"),
    T("{\"name\":\"r\",\"version\":1.5}"),
    T("{\"name\":\"r\",\"version\":1e3}"),
    T("{\"name\":\"r\",\"version\":-0}"),
    T("{\"name\":\"r\",\"other\":0.1}"),
    T("{\"name\":\"deep\",\"x\":[[[[[[[[[[[[[[[[[[[[1]]]]]]]]]]]]]]]]]]]}"),
    /* malformed or refused by json_loadb */
    T(""),
    T("{"),
    T("{\"name\":\"cut"),
    T("{\"name\":\"x\"}garbage"),
    T("{\"name\":\"x\",}"),
    T("{,\"name\":\"x\"}"),
    T("{\"name\" \"x\"}"),
    T("{\"name\":\"x\"}}"),
    T("{\"name\":\"\xff\"}"),
    T("{\"name\":\"\xc0\xaf\"}"),
    T("{\"name\":\"\xed\xa0\x80\"}"),
    T("{\"name\":\"raw\ttab\"}"),
    T("{\"name\":\"nul\\u0000\"}"),
    T("{\"name\":\"nul\0raw\"}"),
    T("{\"na\\u0000me\":\"x\"}"),
    T("{\"name\":\"\\ud800\"}"),
    T("{\"name\":\"\\x\"}"),
    T("{\"name\":\"\\"),
    T("{\"name\":01}"),
    T("{\"name\":-}"),
    T("{\"name\":tru}"),
    T("{\"name\":nulll}"),
    T("[\"name\"]"),
    T("\"name\""),
    T("null"),
    T("{\"name\":\"x\"}\0"),
};

static const struct text other_results[] = {
    ABSENT,
    T("{\"outcome\":\"deployed\",\"extra\":\"field\",\"n\":1}"),
    T("{\"id\":\"replaced\",\"outcome\":\"failed\"}"),
    T("{\"name\":\"from result\",\"outcome\":\"failed\"}"),
    T("{\"version\":9,\"x\":null,\"kind\":\"component\",\"name\":\"r\"}"),
    T("{}"),
    T("{\"outcome\":\"deployed\",\"outcome\":\"failed\"}"),
    T("{\"a\":1,\"b\":2,\"a\":3}"),
    T("{\"nested\":{\"a\":1}}"),
    T("{\"list\":[1]}"),
    T("{\"nested\":{\"a\":1,\"a\":2}}"),
    T("{\"real\":2.5}"),
    T("{\"esc\":\"\\u00e9\"}"),
    T("{\"outcome\": \"deployed\"}"),
    T("{\"ctl\":\"\\u001B\\\\\\\"\"}"),
    T("[1,2]"),
    T("\"deployed\""),
    T("{\"outcome\":\"cut"),
    T("{\"outcome\":\"x\"}x"),
    T("{\"bad\":\"\xfe\"}"),
    T("not json"),
};

static const char *const ids[] = {
    "n-daily-sales", "id \"quoted\" \\ \xc3\xa9", "bad \xff utf-8",
};

/* sl_row_write against the reference for one row: same rc, same bytes,
 * and the text way either declines cleanly or agrees. */
static int same_row(const char *id, const json_t *excluded, struct text spec,
                    struct text res, int *took_text)
{
    xw_buf a = XW_BUF_INIT, b = XW_BUF_INIT, t = XW_BUF_INIT;
    int ra, rb, rt, ok;

    xw_buf_adds(&a, "[");
    xw_buf_adds(&b, "[");
    xw_buf_adds(&t, "[");
    ra = sl_row_write(&a, id, excluded, spec.p, spec.len, res.p, res.len);
    rb = sl_row_json(&b, id, excluded, spec.p, spec.len, res.p, res.len);
    rt = excluded ? 1 : sl_row_text(&t, id, spec.p, spec.len, res.p, res.len);
    ok = ra == rb && strcmp(a.data, b.data) == 0
        && (rt == 1 ? strcmp(t.data, "[") == 0
            : rt == 0 && strcmp(t.data, b.data) == 0);
    if (ok && ra == 0) {
        /* Whatever was stored, the answer is JSON. */
        json_t *back;

        xw_buf_adds(&a, "]");
        back = json_loadb(a.data, a.len, JSON_REJECT_DUPLICATES, NULL);
        ok = back != NULL;
        json_decref(back);
    }
    if (!ok)
        fprintf(stderr, "  id %s spec %.*s res %.*s:\n    write %d %s\n"
                "    json  %d %s\n    text  %d %s\n", id, (int)spec.len,
                spec.p ? spec.p : "(absent)", (int)res.len,
                res.p ? res.p : "(absent)", ra, a.data, rb, b.data, rt,
                t.data);
    *took_text = rt == 0;
    xw_buf_release(&a);
    xw_buf_release(&b);
    xw_buf_release(&t);
    return ok;
}

static struct text text_of(const char *s)
{
    return (struct text){ s, strlen(s) };
}

/* What is stored today takes the text way, and gives the jansson row. */
static void test_stored_rows_copied(void)
{
    struct text specs[] = { text_of(spec_text), ABSENT };
    struct text results[] = { text_of(result_text), text_of(failed_text),
                              ABSENT };
    int took;

    for (size_t s = 0; s < 2; s++)
        for (size_t r = 0; r < 3; r++) {
            ASSERT(same_row("n-daily-sales", NULL, specs[s], results[r],
                            &took));
            ASSERT(took);
        }
}

/* The exact rows, spelled out: the result's kind and version keep the
 * spec's places; id, name from the spec. */
static void test_row_exact(void)
{
    const char *spec = "{\"id\":\"n-1\",\"name\":\"a\\\"b\",\"kind\":\"node\","
        "\"version\":3,\"owner\":\"o\"}";
    const char *res = "{\"object_id\":\"n-1\",\"kind\":\"function\","
        "\"version\":4,\"outcome\":\"deployed\",\"name\":\"r\"}";
    xw_buf b = XW_BUF_INIT;

    ASSERT_EQ(sl_row_text(&b, "n-1", spec, strlen(spec), res, strlen(res)), 0);
    ASSERT_STR_EQ(b.data, "{\"id\":\"n-1\",\"name\":\"r\","
                  "\"kind\":\"function\",\"version\":4,\"object_id\":\"n-1\","
                  "\"outcome\":\"deployed\"}");
    xw_buf_reset(&b);
    ASSERT_EQ(sl_row_text(&b, "n \xc3\xa9\n", NULL, 0, NULL, 0), 0);
    ASSERT_STR_EQ(b.data,
                  "{\"id\":\"n \xc3\xa9\\n\",\"outcome\":\"pending\"}");
    xw_buf_release(&b);
}

/* Every spec x result x id, and excluded rows. */
static void test_rows_match_reference(void)
{
    size_t nspec = sizeof other_specs / sizeof other_specs[0] + 1;
    size_t nres = sizeof other_results / sizeof other_results[0] + 2;
    json_t *ex[] = {
        json_pack("{s:s, s:s, s:s}", "object_id", "n", "reason_code",
                  "ignored", "reason", "compute resource \"x\" ignored"),
        json_pack("{s:s}", "object_id", "n"),
        json_pack("{s:s, s:i, s:n}", "object_id", "n", "reason_code", 3,
                  "reason"),
    };
    int took, copied = 0;

    for (size_t s = 0; s < nspec; s++)
        for (size_t r = 0; r < nres; r++)
            for (size_t i = 0; i < sizeof ids / sizeof ids[0]; i++) {
                struct text spec = s ? other_specs[s - 1] : text_of(spec_text);
                struct text res = r == 0 ? text_of(result_text)
                    : r == 1 ? text_of(failed_text) : other_results[r - 2];

                ASSERT(same_row(ids[i], NULL, spec, res, &took));
                copied += took;
            }
    for (size_t e = 0; e < sizeof ex / sizeof ex[0]; e++)
        for (size_t i = 0; i < sizeof ids / sizeof ids[0]; i++) {
            ASSERT(ex[e]);
            ASSERT(same_row(ids[i], ex[e], text_of(spec_text),
                            text_of(result_text), &took));
        }
    /* The text way is not only declining. */
    ASSERT_GT(copied, 200);
    for (size_t e = 0; e < sizeof ex / sizeof ex[0]; e++)
        json_decref(ex[e]);
}

/* Nesting deeper than json_loadb takes (2048): no spec, as before, and
 * no deep recursion in the checker. */
static void test_deep_spec(void)
{
    size_t depth = 5000, n = 0;
    char *spec = malloc(2 * depth + 64);
    int took;

    ASSERT(spec);
    n += (size_t)sprintf(spec, "{\"name\":\"deep\",\"x\":");
    for (size_t i = 0; i < depth; i++)
        spec[n++] = '[';
    for (size_t i = 0; i < depth; i++)
        spec[n++] = ']';
    spec[n++] = '}';
    if (!same_row("n", NULL, (struct text){ spec, n }, text_of(result_text),
                  &took)) {
        free(spec);
        ASSERT(!"deep spec");
    }
    free(spec);
    ASSERT(!took);
}

/* ---- generated rows: random objects in jansson's form, and damaged
 * copies of them ---------------------------------------------------------- */

static json_t *random_value(int depth)
{
    switch (xw_rnd(depth < 2 ? 9 : 7)) {
    case 0: return json_null();
    case 1: return json_true();
    case 2: return json_integer((json_int_t)xw_rnd(2000000) - 1000000);
    case 3: return json_integer(xw_rnd(2) ? INT64_MAX : INT64_MIN);
    case 4: return json_real(xw_rnd(1000) / 8.0 - 50);
    case 5:
    case 6: return xw_random_string(6);
    case 7: {
        json_t *a = json_array();

        for (unsigned k = xw_rnd(3); k; k--)
            json_array_append_new(a, random_value(depth + 1));
        return a;
    }
    default: {
        json_t *o = json_object();

        for (unsigned k = xw_rnd(3); k; k--)
            json_object_set_new(o, xw_rnd(2) ? "a" : "name",
                                random_value(depth + 1));
        return o;
    }
    }
}

static char *random_object(int scalars_mostly)
{
    static const char *const keys[] = { "id", "name", "kind", "version",
        "outcome", "object_id", "reason", "x", "\xc3\xa9", "q\"k" };
    json_t *o = json_object();
    char *s;

    for (unsigned k = xw_rnd(8); k; k--) {
        json_t *v = scalars_mostly && xw_rnd(4)
            ? (xw_rnd(2) ? xw_random_string(6) : json_integer(xw_rnd(100)))
            : random_value(0);

        json_object_set_new(o, keys[xw_rnd(sizeof keys / sizeof keys[0])], v);
    }
    s = json_dumps(o, JSON_COMPACT);
    json_decref(o);
    return s;
}

/* A damaged copy: one byte changed, removed or the text cut. */
static struct text damage(const char *s, char *buf, size_t cap)
{
    size_t n = strlen(s);

    if (n + 1 > cap || n == 0)
        return text_of(s);
    n = xw_damage(s, n, buf, "\"\\{}[],: 0-.eu\x01\x80\xff");
    return (struct text){ buf, n };
}

static void test_random_rows(void)
{
    char sbuf[2048], rbuf[2048];
    int took, copied = 0;

    for (int i = 0; i < 20000; i++) {
        char *spec = random_object(0), *res = random_object(1);
        struct text st = text_of(spec), rt = text_of(res);

        if (i % 2) {
            st = xw_rnd(2) ? damage(spec, sbuf, sizeof sbuf) : st;
            rt = xw_rnd(2) ? damage(res, rbuf, sizeof rbuf) : rt;
        }
        if (!same_row(ids[xw_rnd(2)], NULL, st, rt, &took)) {
            free(spec);
            free(res);
            ASSERT(!"generated row differs");
        }
        copied += took;
        free(spec);
        free(res);
    }
    ASSERT_GT(copied, 2000);
}

/* ---- list items ------------------------------------------------------ */

/* The old list's item: json_loadb, the filters, the dump. */
static int reference_item(xw_buf *out, const char *text, size_t len,
                          const struct sl_match *m, size_t n)
{
    json_t *s = json_loadb(text, len, 0, NULL);
    int keep = s != NULL;

    for (size_t k = 0; keep && k < n; k++) {
        const char *v = json_string_value(json_object_get(s, m[k].field));

        keep = !m[k].want || (v && strcmp(v, m[k].want) == 0);
    }
    if (keep)
        xw_json_dump(s, out);
    json_decref(s);
    return keep;
}

static int same_item(struct text t, const struct sl_match *m, size_t n)
{
    xw_buf a = XW_BUF_INIT, b = XW_BUF_INIT;
    int ra = sl_summary_item(&a, 0, t.p, t.len, m, n);
    int rn = sl_summary_item(NULL, 0, t.p, t.len, m, n);
    int rb = reference_item(&b, t.p, t.len, m, n);
    int ok = ra == rb && rn == rb && strcmp(a.data, b.data) == 0;

    if (!ok)
        fprintf(stderr, "  summary %.*s: %d %s / %d %s\n", (int)t.len, t.p,
                ra, a.data, rb, b.data);
    xw_buf_release(&a);
    xw_buf_release(&b);
    return ok;
}

static void test_summary_items(void)
{
    static const struct text sums[] = {
        T("{\"package_id\":\"pkg-1\",\"source_workspace\":\"dev\","
          "\"destination_workspace\":\"prod\",\"environment\":\"to-prod\","
          "\"creator\":\"dave\",\"executor\":\"olga\",\"status\":\"succeeded\","
          "\"attempt\":1,\"objects\":3,\"total\":3,\"deployed\":3,\"failed\":0,"
          "\"excluded\":0,\"pending\":0,\"created_at\":1795658738000,"
          "\"started_at\":null,\"finished_at\":null,\"duration_ms\":null}"),
        T("{\"status\":\"failed\",\"creator\":\"d\\\"ave\"}"),
        T("{\"status\":\"failed\",\"creator\":\"a\\/b\"}"),
        T("{\"status\":\"failed\",\"creator\":\"\\u007f\"}"),
        T("{\"status\":\"failed\",\"creator\":\"\xc3\xa9\"}"),
        T("{\"status\":\"failed\",\"status\":\"succeeded\"}"),
        T("{\"status\":null,\"creator\":7}"),
        T("{\"status\":\"succeeded\",\"n\":1.5}"),
        T("{\"status\": \"succeeded\"}"),
        T("{\"status\":\"succeeded\",\"x\":{\"a\":1,\"a\":2}}"),
        T("[\"status\"]"),
        T("{}"),
        T("{\"status\":\"succ"),
        T("{\"status\":\"\xff\"}"),
        T("garbage"),
    };
    const char *status[] = { NULL, "succeeded", "failed", "" };
    const char *creator[] = { NULL, "dave", "d\"ave", "a/b", "\xc3\xa9",
                              "\xff" };

    for (size_t i = 0; i < sizeof sums / sizeof sums[0]; i++)
        for (size_t s = 0; s < sizeof status / sizeof status[0]; s++)
            for (size_t c = 0; c < sizeof creator / sizeof creator[0]; c++) {
                struct sl_match m[] = { { "status", status[s] },
                                        { "creator", creator[c] },
                                        { "executor", NULL } };

                ASSERT(same_item(sums[i], m, 3));
            }
}

static void test_summary_separator(void)
{
    struct sl_match m[] = { { "status", "failed" } };
    xw_buf b = XW_BUF_INIT;

    xw_buf_adds(&b, "[");
    ASSERT_EQ(sl_summary_item(&b, ',', "{\"status\":\"ok\"}", 15, m, 1), 0);
    ASSERT_STR_EQ(b.data, "[");
    ASSERT_EQ(sl_summary_item(&b, ',', "{\"status\":\"failed\"}", 19, m, 1),
              1);
    ASSERT_STR_EQ(b.data, "[,{\"status\":\"failed\"}");
    xw_buf_release(&b);
}

/* sl_spec_head_write: a row built from the spec's head (what the
 * listener writes for GET /v1/packages/{id}) is the row built from the
 * whole spec's JSON (what it wrote before), for decoded specs of every
 * kind, with awkward strings and versions, against every result. */
static void test_spec_head_rows(void)
{
    static const char *const specs[] = {
        "{\"id\":\"n-1\",\"name\":\"daily\",\"kind\":\"node\",\"version\":3,"
        "\"compute_resource\":\"mc\",\"data_sources\":[\"a\",\"b\"],"
        "\"dependencies\":[{\"project\":\"p\",\"node\":\"q\"}],"
        "\"parameters\":[{\"name\":\"bizdate\",\"value\":\"$bizdate\"}],"
        "\"owner\":\"dave\",\"generation_mode\":\"next_day\","
        "\"scheduled_time\":\"02:00\"}",
        "{\"id\":\"id \\\"q\\\" \\u00e9\",\"name\":\"n \\\"x\\\" \\u2028 \\ud83d"
        "\\ude00 \\u0001 \\u007f / \\\\\",\"kind\":\"function\",\"version\":-5,"
        "\"compute_resource\":\"\",\"data_sources\":[],\"dependencies\":[],"
        "\"parameters\":[],\"owner\":\"\",\"generation_mode\":\"immediate\"}",
        "{\"id\":\"r\",\"name\":\"\",\"kind\":\"resource\","
        "\"version\":9223372036854775807,\"compute_resource\":\"c\","
        "\"data_sources\":[],\"dependencies\":[],\"parameters\":[],"
        "\"owner\":\"o\",\"resource_group\":\"rg\",\"generation_mode\":\"next_day\"}",
        "{\"id\":\"c\",\"name\":\"c\",\"kind\":\"component\","
        "\"version\":-9223372036854775808,\"compute_resource\":\"c\","
        "\"data_sources\":[],\"dependencies\":[],\"parameters\":[],"
        "\"owner\":\"o\",\"generation_mode\":\"next_day\"}",
    };
    xw_avro_registry *reg = NULL;
    char err[256];
    int took;

    ASSERT_EQ(xw_avro_registry_open(&reg, err, sizeof err), 0);
    for (size_t s = 0; s < sizeof specs / sizeof specs[0]; s++) {
        xw_avro_value v = { 0 };
        xw_avro_json_error e;
        avro_value_t spec;
        xw_buf whole = XW_BUF_INIT, head = XW_BUF_INIT;
        json_t *j = json_loads(specs[s], 0, NULL);
        json_t *ev = json_pack("{s:s, s:i, s:s, s:s, s:s, s:[O]}", "event_id",
                               "e", "occurred_at", 1, "actor", "a",
                               "correlation_id", "c", "workspace_id", "dev",
                               "objects", j);

        ASSERT(j && ev);
        ASSERT_EQ(xw_avro_value_init(&v, xw_avro_type_find(
                      reg, "ObjectsSubmitted")), 0);
        if (xw_avro_from_json(&v.value, ev, NULL, &e) != 0)
            fprintf(stderr, "  spec %zu: %s %s\n", s, e.field, e.message);
        ASSERT_EQ(xw_avro_array_get(&v.value, "objects", 0, &spec), 0);
        ASSERT_EQ(xw_avro_json_write(&spec, &whole), 0);
        xw_buf_adds(&head, "prefix");
        ASSERT_EQ(sl_spec_head_write(&spec, &head), 0);
        ASSERT_EQ(strncmp(head.data, "prefix{\"id\":", 12), 0);
        for (size_t r = 0; r < sizeof other_results / sizeof other_results[0]
                               + 2; r++)
            for (size_t i = 0; i < sizeof ids / sizeof ids[0]; i++) {
                struct text res = r == 0 ? text_of(result_text)
                    : r == 1 ? text_of(failed_text) : other_results[r - 2];
                xw_buf a = XW_BUF_INIT, b = XW_BUF_INIT;
                int ra = sl_row_write(&a, ids[i], NULL, whole.data,
                                      whole.len, res.p, res.len);
                int rb = sl_row_write(&b, ids[i], NULL, head.data + 6,
                                      head.len - 6, res.p, res.len);

                ASSERT_EQ(ra, rb);
                ASSERT_STR_EQ(a.data, b.data);
                /* and both ways of each agree with the reference */
                ASSERT(same_row(ids[i], NULL, (struct text){ head.data + 6,
                                head.len - 6 }, res, &took));
                xw_buf_release(&a);
                xw_buf_release(&b);
            }
        xw_buf_release(&whole);
        xw_buf_release(&head);
        xw_avro_value_release(&v);
        json_decref(j);
        json_decref(ev);
    }
    xw_avro_registry_free(reg);
}

int main(void)
{
    if (make_stored() < 0) {
        fprintf(stderr, "cannot build the stored forms\n");
        return 1;
    }
    XW_RUN(test_stored_rows_copied);
    XW_RUN(test_row_exact);
    XW_RUN(test_rows_match_reference);
    XW_RUN(test_deep_spec);
    XW_RUN(test_spec_head_rows);
    XW_RUN(test_random_rows);
    XW_RUN(test_summary_items);
    XW_RUN(test_summary_separator);
    free(spec_text);
    free(result_text);
    free(failed_text);
    return XW_REPORT();
}
