/*
 * The deployer's texts and catalog entries (services/deployer/entry.c):
 *
 *   - the HTTP target's body, written straight from the Avro value, is
 *     byte for byte what the deployer wrote when it built a jansson tree
 *     (xw_avro_to_json, members set on it, dumped);
 *   - the catalog entry, now Avro (a CatalogEntry encoded from the
 *     object's Avro body, common/xw_catalog.h), written back as JSON
 *     (xw_avro_json_stored, what the API and xw-avrojson show) is byte for
 *     byte the JSON entry the deployer stored before (that tree with
 *     replaced_version and deployed_at set, dumped again): escapes, null
 *     and integer limits, parameters, empty arrays; its members read the
 *     same as the JSON entry's; CatalogEntry's first fields are, verbatim,
 *     ObjectMapped's DestinationObject (what lets its Avro body stand for
 *     them);
 *   - reading members back from JSON (older deployers' entries) without a
 *     tree gives exactly what json_loadb + json_object_get gives, for the
 *     writer's texts and for every truncation and single-byte change of
 *     them, plus hand-made cases (escapes, duplicates, integer limits,
 *     reals, depth, bad UTF-8); each text in a buffer of its own size, so
 *     the sanitizers see any read past it.
 *
 * entry.c is compiled in here (the test links only xwcommon).
 */
#include <stdlib.h>
#include <string.h>

#include "../../services/deployer/entry.c"
#include "xw_avro_json.h"
#include "xw_catalog.h"
#include "xw_json.h"
#include "xw_test.h"

#define FIX XW_SOURCE_DIR "/tests/fixtures/avro/"

static xw_avro_registry *reg;
static xw_avro_registry *state;      /* CatalogEntry */
static xw_avro_value made, back;     /* CatalogEntry values: encoded
                                        from / decoded into */

/* --- writing: against the jansson path it replaces --- */

/* The body and the entry as write.c made them before entry.c: a tree of
 * the object, members set on it, dumped, two more set, dumped again. */
static int jansson_texts(const avro_value_t *obj, const struct dp_item *it,
                         int64_t deployed_at, xw_buf *body, xw_buf *entry)
{
    json_t *o = xw_avro_to_json(obj);
    int rc = -1;

    if (!o
        || json_object_set_new(o, "package_id", json_string(it->package_id))
        || json_object_set_new(o, "attempt", json_integer(it->attempt))
        || json_object_set_new(o, "source_workspace",
                               json_string(it->source_ws))
        || json_object_set_new(o, "destination_workspace",
                               json_string(it->dest_ws))
        || json_object_set_new(o, "effective_at",
                               json_integer(it->effective_at))
        || json_object_set_new(o, "effective_date",
                               json_string(it->effective_date))
        || json_object_set_new(o, "timing_rule",
                               json_string(it->timing_rule))
        || xw_json_dump(o, body) < 0
        || json_object_set_new(o, "replaced_version",
                               it->has_replaced
                                   ? json_integer(it->replaced_version)
                                   : json_null())
        || json_object_set_new(o, "deployed_at", json_integer(deployed_at))
        || xw_json_dump(o, entry) < 0)
        goto out;
    rc = 0;
out:
    json_decref(o);
    return rc;
}

static size_t texts_compared;

/* Whether s is written with an escape (then the reader leaves it to
 * jansson). */
static int escaped(const char *s)
{
    for (; *s; s++)
        if (*s == '"' || *s == '\\' || (unsigned char)*s < 0x20)
            return 1;
    return 0;
}

static const char *const names[] = {
    "version", "compute_resource", "resource_group", "owner",
    "effective_date", "timing_rule", "effective_at", "replaced_version",
    "", "name", "id", "attempt", "kind", "scheduled_time", "deployed_at",
};
#define NNAMES (sizeof names / sizeof names[0])

/* dp_entry_members of the Avro entry reads what dp_json_members of the
 * JSON one reads (that one is held to jansson below); 0 when so. */
static int same_members(const xw_buf *avro, const xw_buf *json)
{
    struct dp_json_member got[NNAMES], want[NNAMES];
    json_t *gtree, *wtree;
    int rc = 0;

    for (size_t i = 0; i < NNAMES; i++)
        got[i].name = want[i].name = names[i];
    dp_entry_members(&back.value, avro->data, avro->len, got, NNAMES, &gtree);
    dp_json_members(json->data, json->len, want, NNAMES, &wtree);
    for (size_t i = 0; i < NNAMES; i++) {
        /* An enum is a string in JSON; the deployer reads none. */
        int is_enum = !strcmp(names[i], "kind");

        if (got[i].type != (is_enum ? DP_JSON_NONE : want[i].type)
            || (!is_enum && want[i].type == DP_JSON_INT
                && got[i].integer != want[i].integer)
            || (!is_enum && want[i].type == DP_JSON_STR
                && (got[i].len != want[i].len
                    || memcmp(got[i].str, want[i].str, want[i].len)))) {
            fprintf(stderr, "  entry member \"%s\" differs\n", names[i]);
            rc = -1;
        }
    }
    if (gtree)
        rc = -1;          /* an Avro entry is never read by jansson */
    json_decref(wtree);
    return rc;
}

static size_t entry_bytes, json_bytes;

/* Both ways for the object and item: the body as jansson made it; the
 * Avro entry written back as JSON as jansson made the JSON entry, read
 * as it reads. The body also passes the reader (the writer's form: no
 * tree). */
static void expect_same_texts(const avro_value_t *obj, const struct dp_item *it,
                              int64_t deployed_at)
{
    xw_buf obj_json = XW_BUF_INIT, body = XW_BUF_INIT, avro = XW_BUF_INIT;
    xw_buf want_body = XW_BUF_INIT, want_entry = XW_BUF_INIT;
    xw_buf rec = XW_BUF_INIT, shown = XW_BUF_INIT;
    struct dp_json_member m[] = { { .name = "version" },
                                  { .name = "timing_rule" },
                                  { .name = "replaced_version" } };
    json_t *tree = NULL;
    xw_avro_err ae;

    ASSERT_EQ(jansson_texts(obj, it, deployed_at, &want_body, &want_entry), 0);
    ASSERT_EQ(xw_avro_json_write(obj, &obj_json), 0);
    ASSERT_EQ(xw_buf_adds(&body, "keep"), 0);          /* appends */
    ASSERT_EQ(dp_entry_body(&body, obj_json.data, obj_json.len, it), 0);
    ASSERT_STR_EQ(body.data + 4, want_body.data);
    ASSERT_EQ(body.len, want_body.len + 4);
    dp_json_members(body.data + 4, body.len - 4, m, 2, &tree);
    ASSERT(tree == NULL || escaped(it->timing_rule));
    ASSERT_EQ(m[0].type, DP_JSON_INT);
    ASSERT_EQ(m[1].type, DP_JSON_STR);
    ASSERT_EQ(m[1].len, strlen(it->timing_rule));
    ASSERT(memcmp(m[1].str, it->timing_rule, m[1].len) == 0);
    json_decref(tree);

    /* The entry as the deployer makes it: the object's Avro body (as
     * read_item keeps it), then the item's fields. */
    ASSERT_EQ(xw_avro_encode_body(obj, &avro, &ae), 0);
    ASSERT_EQ(xw_buf_adds(&rec, "gone"), 0);           /* replaces */
    ASSERT_EQ(dp_entry_encode(&rec, &made.value, avro.data, avro.len, it,
                              deployed_at), 0);
    ASSERT_EQ((unsigned char)rec.data[0], XW_AVRO_MARKER0);
    ASSERT_EQ(xw_buf_adds(&shown, "keep"), 0);         /* appends */
    ASSERT_EQ(xw_avro_json_stored(&back.value, rec.data, rec.len, &shown, &ae),
              0);
    ASSERT_STR_EQ(shown.data + 4, want_entry.data);
    ASSERT_EQ(shown.len, want_entry.len + 4);
    ASSERT_EQ(same_members(&rec, &want_entry), 0);
    dp_entry_members(&back.value, rec.data, rec.len, m, 3, &tree);
    ASSERT_EQ(m[2].type, it->has_replaced ? DP_JSON_INT : DP_JSON_NONE);
    /* An older deployer's JSON entry shows as it is. */
    xw_buf_reset(&shown);
    ASSERT_EQ(xw_avro_json_stored(&back.value, want_entry.data, want_entry.len,
                              &shown, &ae), 0);
    ASSERT_STR_EQ(shown.data, want_entry.data);
    ASSERT_LT(rec.len, want_entry.len);
    entry_bytes += rec.len;
    json_bytes += want_entry.len;
    texts_compared++;
    xw_buf_release(&obj_json);
    xw_buf_release(&body);
    xw_buf_release(&avro);
    xw_buf_release(&rec);
    xw_buf_release(&shown);
    xw_buf_release(&want_body);
    xw_buf_release(&want_entry);
}

static void test_texts_match_jansson(void)
{
    static const char *const strs[] = {
        "", "plain", "q\"uote", "back\\slash", "slash/ok", "tab\tnl\ncr\r",
        "\b\f\x01\x1f\x7f", "caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80",
        "{\"version\":9}", "\xe4\xb8\xad\xe6\x96\x87",
    };
    static const int64_t ints[] = { 0, 1, -1, 1764151320123, INT64_MAX,
                                    INT64_MIN };
    const xw_avro_type *t = xw_avro_type_find(reg, "ObjectMapped");
    xw_avro_value v;
    avro_value_t obj, el;
    xw_avro_json_error jerr;
    json_t *ex;
    json_error_t je;
    struct dp_item it;
    size_t i, k;

    ASSERT(t != NULL);
    ex = json_load_file(FIX "examples/ObjectMapped.json", 0, &je);
    ASSERT(ex != NULL);
    ASSERT_EQ(xw_avro_value_init(&v, t), 0);
    ASSERT_EQ(xw_avro_from_json(&v.value, ex, NULL, &jerr), 0);
    json_decref(ex);
    ASSERT_EQ(xw_avro_get_record(&v.value, "object", &obj), 0);

    memset(&it, 0, sizeof it);
    strcpy(it.package_id, "pkg-20251126-0001");
    strcpy(it.source_ws, "dev");
    strcpy(it.dest_ws, "prod");
    it.attempt = 1;
    it.effective_at = 1764201600000;
    strcpy(it.effective_date, "2025-11-27");
    strcpy(it.timing_rule, "next_day");
    expect_same_texts(&obj, &it, 1764151320999);
    it.has_replaced = 1;
    it.replaced_version = 3;
    expect_same_texts(&obj, &it, 1764151320999);

    /* Every string of the object, the item's strings and integers at
     * their limits, with and without a replaced version. */
    for (i = 0; i < sizeof strs / sizeof strs[0]; i++) {
        ASSERT_EQ(xw_avro_set_string(&obj, "name", strs[i]), 0);
        ASSERT_EQ(xw_avro_set_string(&obj, "owner", strs[i]), 0);
        ASSERT_EQ(xw_avro_set_string(&obj, "scheduled_time",
                                     i % 2 ? strs[i] : NULL), 0);
        ASSERT_EQ(xw_avro_array_append_string(&obj, "data_sources", strs[i]),
                  0);
        ASSERT_EQ(xw_avro_array_append(&obj, "parameters", &el), 0);
        ASSERT_EQ(xw_avro_set_string(&el, "name", strs[i]), 0);
        ASSERT_EQ(xw_avro_set_string(&el, "value", strs[i]), 0);
        snprintf(it.timing_rule, sizeof it.timing_rule, "%s", strs[i]);
        snprintf(it.effective_date, sizeof it.effective_date, "%s", strs[i]);
        for (k = 0; k < sizeof ints / sizeof ints[0]; k++) {
            ASSERT_EQ(xw_avro_set_long(&obj, "version", ints[k]), 0);
            it.attempt = (int32_t)(ints[k] % 1000);
            it.effective_at = ints[k];
            it.has_replaced = (int)(k % 2);
            it.replaced_version = ints[(k + 1) % 6];
            expect_same_texts(&obj, &it, ints[(k + 2) % 6]);
        }
    }
    /* The other enum symbols, empty arrays. */
    ASSERT_EQ(xw_avro_set_enum(&obj, "kind", "resource"), 0);
    ASSERT_EQ(xw_avro_set_enum(&obj, "generation_mode", "immediate"), 0);
    ASSERT_EQ(xw_avro_array_clear(&obj, "data_sources"), 0);
    ASSERT_EQ(xw_avro_array_clear(&obj, "dependencies"), 0);
    ASSERT_EQ(xw_avro_array_clear(&obj, "parameters"), 0);
    expect_same_texts(&obj, &it, 0);
    ASSERT_GE(texts_compared, 60);
    printf("entries: %zu compared, Avro %zu bytes, JSON %zu bytes\n",
           texts_compared, entry_bytes, json_bytes);
    xw_avro_value_release(&v);
}

/* CatalogEntry's first fields are ObjectMapped's DestinationObject,
 * verbatim: the object's Avro body can stand for them. */
static void test_entry_schema_starts_with_object(void)
{
    const xw_avro_type *om = xw_avro_type_find(reg, "ObjectMapped");
    const xw_avro_type *ce = xw_avro_type_find(state, XW_CATALOG_ENTRY);
    json_t *a = json_loads(om->json, 0, NULL);
    json_t *b = json_loads(ce->json, 0, NULL);
    json_t *obj = NULL, *of, *ef, *fields = json_object_get(a, "fields");
    size_t i;

    ASSERT(a != NULL && b != NULL);
    for (i = 0; i < json_array_size(fields); i++)
        if (!strcmp(json_string_value(json_object_get(
                        json_array_get(fields, i), "name")), "object"))
            obj = json_object_get(json_array_get(fields, i), "type");
    of = json_object_get(obj, "fields");
    ef = json_object_get(b, "fields");
    ASSERT_EQ(json_array_size(of), XW_CATALOG_OBJECT_FIELDS);
    ASSERT_GT(json_array_size(ef), XW_CATALOG_OBJECT_FIELDS);
    for (i = 0; i < XW_CATALOG_OBJECT_FIELDS; i++)
        ASSERT(json_equal(json_array_get(of, i), json_array_get(ef, i)));
    json_decref(a);
    json_decref(b);
}

/* An entry is a single-object encoded CatalogEntry: a registry that has
 * the state schemas (xw-avrojson's) decodes it as any event. Bytes that
 * are neither Avro nor JSON show nothing. */
static void test_entry_decodes_anywhere(void)
{
    xw_avro_registry *both = NULL;
    xw_avro_decoder *dec = NULL;
    const xw_avro_type *t;
    avro_value_t *v;
    xw_buf rec = XW_BUF_INIT, a = XW_BUF_INIT, b = XW_BUF_INIT;
    xw_avro_err ae;
    char eb[256];

    ASSERT_EQ(xw_avro_set_string(&made.value, "id", "n-1"), 0);
    ASSERT_EQ(xw_avro_set_string(&made.value, "owner", "u\"1"), 0);
    ASSERT_EQ(xw_avro_set_long(&made.value, "replaced_version", 7), 0);
    ASSERT_EQ(xw_avro_encode_record(&made.value, &rec, &ae), 0);
    ASSERT_EQ(xw_avro_registry_open(&both, eb, sizeof eb), 0);
    ASSERT_EQ(xw_catalog_register(both, eb, sizeof eb), 0);
    ASSERT_EQ(xw_avro_decoder_new(&dec, both), 0);
    ASSERT_EQ(xw_avro_decode(dec, rec.data, rec.len, &t, &v, &ae), 0);
    ASSERT_STR_EQ(t->short_name, XW_CATALOG_ENTRY);
    ASSERT_EQ(xw_avro_json_write(v, &a), 0);
    ASSERT_EQ(xw_avro_json_stored(&back.value, rec.data, rec.len, &b, &ae), 0);
    ASSERT_EQ(a.len, b.len);
    ASSERT(memcmp(a.data, b.data, a.len) == 0);
    ASSERT(strstr(b.data, "\"owner\":\"u\\\"1\"") != NULL);
    ASSERT(strstr(b.data, "\"replaced_version\":7,") != NULL);
    /* Truncated, or an Avro value of another type: an error, out as it
     * was. */
    xw_buf_reset(&b);
    ASSERT_EQ(xw_buf_adds(&b, "keep"), 0);
    ASSERT_EQ(xw_avro_json_stored(&back.value, rec.data, rec.len - 1, &b, &ae),
              -1);
    ASSERT_EQ(ae.code, XW_AVRO_ETRUNCATED);
    rec.data[2] ^= 1;                                   /* fingerprint */
    ASSERT_EQ(xw_avro_json_stored(&back.value, rec.data, rec.len, &b, &ae), -1);
    ASSERT_EQ(ae.code, XW_AVRO_ETYPE);
    ASSERT_EQ(b.len, 4);
    xw_avro_decoder_free(dec);
    xw_avro_registry_free(both);
    xw_buf_release(&rec);
    xw_buf_release(&a);
    xw_buf_release(&b);
}

static void test_write_refuses(void)
{
    struct dp_item it;
    xw_buf out = XW_BUF_INIT;

    memset(&it, 0, sizeof it);
    strcpy(it.timing_rule, "bad\xc3");   /* not UTF-8: jansson refused too */
    ASSERT_EQ(xw_buf_adds(&out, "keep"), 0);
    ASSERT_EQ(dp_entry_body(&out, "{\"a\":1}", 7, &it), -1);
    ASSERT_STR_EQ(out.data, "keep");
    strcpy(it.timing_rule, "ok");
    ASSERT_EQ(dp_entry_body(&out, "{}", 2, &it), -1);       /* no member */
    ASSERT_EQ(dp_entry_body(&out, "[1,2,3]", 7, &it), -1);
    ASSERT_STR_EQ(out.data, "keep");
    /* An entry too: the record keeps only valid UTF-8. */
    strcpy(it.timing_rule, "bad\xc3");
    ASSERT_EQ(dp_entry_encode(&out, &made.value, "", 0, &it, 1), -1);
    ASSERT_EQ(out.len, 0);
    xw_buf_release(&out);
}

/* --- reading: against json_loadb + json_object_get --- */

/* Texts read, and the valid ones read by the scan / by jansson. */
static size_t read_cases, read_fast, read_slow;

/* Reads text[0..len) (copied into a buffer of exactly that size) both
 * ways; 0 when they agree. */
static int read_both(const char *text, size_t len)
{
    struct dp_json_member got[NNAMES], want[NNAMES];
    char *copy = malloc(len ? len : 1);
    json_error_t je;
    json_t *tree, *ref;
    int rc = 0;
    size_t i;

    if (!copy)
        return -1;
    memcpy(copy, text, len);
    for (i = 0; i < NNAMES; i++)
        got[i].name = names[i];
    dp_json_members(copy, len, got, NNAMES, &tree);
    ref = json_loadb(copy, len, 0, &je);
    read_cases++;
    read_fast += ref && !tree;
    read_slow += ref && tree;
    for (i = 0; i < NNAMES; i++) {
        json_t *v = json_object_get(ref, names[i]);

        want[i] = (struct dp_json_member){ names[i], DP_JSON_NONE, 0, NULL,
                                           0 };
        if (json_is_integer(v))
            want[i].type = DP_JSON_INT, want[i].integer = json_integer_value(v);
        else if (json_is_string(v))
            want[i].type = DP_JSON_STR, want[i].str = json_string_value(v),
            want[i].len = json_string_length(v);
        if (got[i].type != want[i].type
            || (want[i].type == DP_JSON_INT
                && got[i].integer != want[i].integer)
            || (want[i].type == DP_JSON_STR
                && (got[i].len != want[i].len
                    || memcmp(got[i].str, want[i].str, want[i].len) != 0))) {
            fprintf(stderr, "  reader differs on \"%s\" of [%.*s]\n",
                    names[i], (int)(len < 300 ? len : 300), text);
            rc = -1;
        }
    }
    json_decref(ref);
    json_decref(tree);
    free(copy);
    return rc;
}

/* The text, every prefix of it, every byte of it changed to each of a
 * set of bytes that matter to JSON, and a space or a quote inserted at
 * every position. */
static int read_mutations(const char *text, size_t len)
{
    static const char bytes[] = " \"\\{}[],:0-1.eEntu\x00\x01\x1f\x7f\x80\xbf\xc0"
                                "\xc3\xe2\xed\xf0\xf5\xff";
    char *b = malloc(len + 1);
    int rc = 0;
    size_t i, k;

    if (!b)
        return -1;
    rc |= read_both(text, len);
    for (i = 0; i < len; i++)
        rc |= read_both(text, i);
    for (i = 0; i < len; i++) {
        memcpy(b, text, len);
        for (k = 0; k < sizeof bytes - 1; k++) {
            b[i] = bytes[k];
            rc |= read_both(b, len);
        }
    }
    for (i = 0; i <= len; i++) {
        for (k = 0; k < 2; k++) {
            memcpy(b, text, i);
            b[i] = k ? '"' : ' ';
            memcpy(b + i + 1, text + i, len - i);
            rc |= read_both(b, len + 1);
        }
    }
    free(b);
    return rc;
}

static void test_read_matches_jansson(void)
{
    static const char *const cases[] = {
        "{\"version\":3,\"version\":\"x\"}",
        "{\"version\":3,\"version\":4}",
        "{\"version\":\"x\",\"version\":[1]}",
        "{\"versio\\u006e\":5}",
        "{\"version\":9223372036854775807}",
        "{\"version\":9223372036854775808}",
        "{\"version\":-9223372036854775808}",
        "{\"version\":-9223372036854775809}",
        "{\"version\":99999999999999999999999}",
        "{\"version\":1.0}", "{\"version\":1e3}", "{\"version\":-1E-3}",
        "{\"version\":01}", "{\"version\":-0}", "{\"version\":-}",
        "{\"version\":3} ", " {\"version\":3}", "{\"version\" : 3}",
        "{\"version\":3}x", "{\"version\":3}{}", "[{\"version\":3}]",
        "{\"owner\":\"a\\\"b\",\"version\":1}",
        "{\"owner\":\"a\\/b\\b\\f\\n\\r\\t\\\\\"}",
        "{\"owner\":\"\\u0000\"}", "{\"owner\":\"\\u0041\"}",
        "{\"x\":\"\\u0000\",\"version\":1}", "{\"x\":\"\\udc00\",\"version\":1}",
        "{\"x\":\"\\ud83d\\ude00\",\"version\":1}", "{\"x\":\"\x1f\",\"version\":1}",
        "{\"v\\u0065rsion\":1,\"version\":2}", "{\"version\":2,\"v\\u0065rsion\":1}",
        "{\"owner\":\"\\ud83d\\ude00\"}", "{\"owner\":\"\\udc00\"}",
        "{\"owner\":\"\\ud83d\"}", "{\"owner\":\"\\u12\"}",
        "{\"owner\":\"\\x41\"}",
        "{\"owner\":\"caf\xc3\xa9\",\"version\":2}",
        "{\"owner\":\"\xc0\xaf\"}", "{\"owner\":\"\xed\xa0\x80\"}",
        "{\"owner\":\"\xf4\x90\x80\x80\"}", "{\"owner\":\"\xc3\"}",
        "{\"owner\":\"\xf0\x9f\x98\x80\"}", "{\"owner\":\"tab\there\"}",
        "{\"version\":3,}", "{,\"version\":3}", "{\"version\"3}",
        "{\"version\":3", "{\"version\":", "{\"version", "{", "", "{}",
        "[]", "3", "\"version\"", "null",
        "{\"version\":true}", "{\"version\":null}", "{\"version\":false}",
        "{\"version\":tru}", "{\"version\":nul}", "{\"version\":nullx}",
        "{\"a\":{\"version\":7}}", "{\"a\":[{\"version\":7}],\"version\":8}",
        "{\"a\":[],\"b\":{},\"c\":[[],{}],\"version\":8}",
        "{\"a\":[1,],\"version\":8}", "{\"a\":[,1],\"version\":8}",
        "{\"\":1,\"version\":2}", "{\"version\":2,\"\":\"e\"}",
        "{\"a\":\"\\u00e9\",\"version\":2}",
    };
    char deep[32768];
    size_t i, d;
    int rc = 0;

    for (i = 0; i < sizeof cases / sizeof cases[0]; i++)
        rc |= read_both(cases[i], strlen(cases[i]));
    /* Nesting, of arrays and of objects: the scan's depth, past it, and
     * past jansson's. */
    for (d = 10; d <= 5000; d = d < 20 ? d + 1 : d * 3) {
        for (int objects = 0; objects < 2; objects++) {
            size_t n = (size_t)snprintf(deep, sizeof deep, "{\"a\":");

            for (i = 0; i < d; i++)
                n += (size_t)snprintf(deep + n, sizeof deep - n, "%s",
                                      objects ? "{\"k\":" : "[");
            deep[n++] = '1';
            for (i = 0; i < d; i++)
                deep[n++] = objects ? '}' : ']';
            n += (size_t)snprintf(deep + n, sizeof deep - n,
                                  ",\"version\":5}");
            rc |= read_both(deep, n);
        }
    }
    ASSERT_EQ(rc, 0);
}

/* The writer's own entries, and every mutation of them. */
static void test_read_entries_and_mutations(void)
{
    static const char *const entries[] = {
        "{\"id\":\"n-1\",\"name\":\"ods_orders_1\",\"kind\":\"function\","
        "\"version\":4,\"compute_resource\":\"maxcompute_prod\","
        "\"resource_group\":\"rg_prod\",\"data_sources\":[],"
        "\"dependencies\":[{\"project\":\"ods_shared_prod\",\"node\":"
        "\"ods_users\"}],\"parameters\":[{\"name\":\"bizdate\",\"value\":"
        "\"$bizdate\"}],\"owner\":\"u-2001\",\"generation_mode\":"
        "\"next_day\",\"scheduled_time\":null,\"package_id\":\"p-1\","
        "\"attempt\":1,\"source_workspace\":\"dev\","
        "\"destination_workspace\":\"prod\",\"effective_at\":1764201600000,"
        "\"effective_date\":\"2025-11-27\",\"timing_rule\":\"next_day\","
        "\"replaced_version\":3,\"deployed_at\":1764151320999}",
        "{\"id\":\"n\",\"name\":\"q\\\"\\\\\\n\\u001F\xc3\xa9\",\"version\":-7,"
        "\"owner\":\"\xe4\xb8\xad\",\"replaced_version\":null}",
    };
    int rc = 0;

    for (size_t i = 0; i < sizeof entries / sizeof entries[0]; i++)
        rc |= read_mutations(entries[i], strlen(entries[i]));
    ASSERT_EQ(rc, 0);
    /* Both ways were exercised on valid texts. */
    printf("reader: %zu texts, valid ones read by the scan %zu, by jansson "
           "%zu\n", read_cases, read_fast, read_slow);
    ASSERT_GT(read_fast, 1000);
    ASSERT_GT(read_slow, 500);
}

/* What the deployer reads, by value: duplicates, limits, strings. */
static void test_read_values(void)
{
    struct dp_json_member m[] = { { .name = "version" },
                                  { .name = "owner" } };
    json_t *tree;

    const char *t1 = "{\"version\":3,\"owner\":\"u\",\"version\":4}";
    const char *t2 = "{\"version\":-9223372036854775808,\"owner\":\"a\\\"b\"}";
    const char *t3 = "{\"version\":3,\"owner\":\"u\"";

    dp_json_members(t1, strlen(t1), m, 2, &tree);
    ASSERT(tree == NULL);
    ASSERT_EQ(m[0].type, DP_JSON_INT);
    ASSERT_EQ(m[0].integer, 4);
    ASSERT_EQ(m[1].type, DP_JSON_STR);
    ASSERT_EQ(m[1].len, 1);
    ASSERT_EQ(m[1].str[0], 'u');
    dp_json_members(t2, strlen(t2), m, 2, &tree);
    ASSERT(tree != NULL);                     /* the escape: jansson's */
    ASSERT_EQ(m[0].type, DP_JSON_INT);
    ASSERT(m[0].integer == INT64_MIN);
    ASSERT_EQ(m[1].type, DP_JSON_STR);
    ASSERT_EQ(m[1].len, 3);
    ASSERT(memcmp(m[1].str, "a\"b", 3) == 0);
    json_decref(tree);
    dp_json_members(t3, strlen(t3), m, 2, &tree);
    ASSERT_EQ(m[0].type, DP_JSON_NONE);       /* truncated: nothing */
    ASSERT_EQ(m[1].type, DP_JSON_NONE);
    json_decref(tree);
}

int main(void)
{
    char eb[256];

    if (xw_avro_registry_open(&reg, eb, sizeof eb) != 0
        || xw_avro_registry_new(&state) != 0
        || xw_catalog_register(state, eb, sizeof eb) != 0
        || xw_avro_value_init(&made, xw_avro_type_find(state,
                                                        XW_CATALOG_ENTRY))
        || xw_avro_value_init(&back, xw_avro_type_find(state,
                                                       XW_CATALOG_ENTRY))) {
        fprintf(stderr, "registry: %s\n", eb);
        return 1;
    }
    XW_RUN(test_entry_schema_starts_with_object);
    XW_RUN(test_texts_match_jansson);
    XW_RUN(test_entry_decodes_anywhere);
    XW_RUN(test_write_refuses);
    XW_RUN(test_read_matches_jansson);
    XW_RUN(test_read_entries_and_mutations);
    XW_RUN(test_read_values);
    xw_avro_value_release(&made);
    xw_avro_value_release(&back);
    xw_avro_registry_free(state);
    xw_avro_registry_free(reg);
    return XW_REPORT();
}
