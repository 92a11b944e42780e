/*
 * xw_avro_json: API JSON <-> Avro values. Invalid inputs are golden files,
 * one case per file, under tests/fixtures/avro/json-invalid/:
 *   { "event": "ObjectsSubmitted",        the event type
 *     "target": "environment",            optional: fill this nested record
 *     "limits": {"max_string": 16, ...},  optional: else the defaults
 *     "input": ...,                       the JSON given to from_json
 *     "field": "objects[3].compute_resource", "rule": "type" }  expected
 */
#include <dirent.h>
#include <stdlib.h>
#include <string.h>

#include "xw_avro.h"
#include "xw_avro_json.h"
#include "xw_json.h"
#include "xw_test.h"

#define FIX XW_SOURCE_DIR "/tests/fixtures/avro/"

static xw_avro_registry *reg;

static json_t *load(const char *path)
{
    json_error_t jerr;
    json_t *j = json_load_file(path, JSON_ALLOW_NUL, &jerr);

    if (!j)
        fprintf(stderr, "  %s: %s\n", path, jerr.text);
    return j;
}

static int json_filter(const struct dirent *d)
{
    size_t n = strlen(d->d_name);

    return n > 5 && strcmp(d->d_name + n - 5, ".json") == 0;
}

static void test_invalid_golden_files(void)
{
    static const char *const rules[] = {
        "required", "unknown_field", "type", "enum", "max_length",
        "max_items", "range", "utf8"
    };
    int seen[sizeof rules / sizeof rules[0]] = { 0 };
    struct dirent **list;
    int n, i;
    size_t r;

    n = scandir(FIX "json-invalid", &list, json_filter, alphasort);
    ASSERT_GE(n, 19);
    for (i = 0; i < n; i++) {
        char path[512];
        json_t *c, *lim;
        const xw_avro_type *t;
        const char *target, *want_field, *want_rule;
        xw_avro_value v, fresh;
        avro_value_t dst, fdst;
        xw_avro_json_limits limits = XW_AVRO_JSON_LIMITS_DEFAULT;
        xw_avro_json_error err;
        json_t *after, *empty;
        int rc;

        snprintf(path, sizeof path, FIX "json-invalid/%s", list[i]->d_name);
        c = load(path);
        ASSERT(c != NULL);
        t = xw_avro_type_find(reg, json_string_value(json_object_get(c,
                                                                     "event")));
        ASSERT(t != NULL);
        target = json_string_value(json_object_get(c, "target"));
        want_field = json_string_value(json_object_get(c, "field"));
        want_rule = json_string_value(json_object_get(c, "rule"));
        ASSERT(want_field && want_rule);
        if ((lim = json_object_get(c, "limits"))) {
            limits.max_string = (size_t)json_integer_value(
                json_object_get(lim, "max_string"));
            limits.max_items = (size_t)json_integer_value(
                json_object_get(lim, "max_items"));
        }
        ASSERT_EQ(xw_avro_value_init(&v, t), 0);
        ASSERT_EQ(xw_avro_value_init(&fresh, t), 0);
        dst = v.value;
        fdst = fresh.value;
        if (target) {
            ASSERT_EQ(xw_avro_set_record(&v.value, target, &dst), 0);
            ASSERT_EQ(xw_avro_set_record(&fresh.value, target, &fdst), 0);
        }
        /* something to be wiped by the failure */
        xw_avro_set_string(&v.value, "event_id", "stale");

        rc = xw_avro_from_json(&dst, json_object_get(c, "input"), &limits,
                               &err);
        if (rc != -1 || strcmp(err.field, want_field) != 0 ||
            strcmp(err.rule, want_rule) != 0)
            XW_FAIL_("%s: got rc %d field \"%s\" rule \"%s\" (%s), want "
                     "\"%s\" \"%s\"", list[i]->d_name, rc, err.field,
                     err.rule, err.message, want_field, want_rule);
        if (*want_field && strncmp(err.message, want_field,
                                   strlen(want_field)) != 0)
            XW_FAIL_("%s: message \"%s\" does not start with the field",
                     list[i]->d_name, err.message);
        /* the failure left nothing half-filled behind */
        after = xw_avro_to_json(&dst);
        empty = xw_avro_to_json(&fdst);
        ASSERT(after && empty && json_equal(after, empty));
        json_decref(after);
        json_decref(empty);
        for (r = 0; r < sizeof rules / sizeof rules[0]; r++)
            if (strcmp(rules[r], want_rule) == 0)
                seen[r]++;
        xw_avro_value_release(&v);
        xw_avro_value_release(&fresh);
        json_decref(c);
        free(list[i]);
    }
    free(list);
    for (r = 0; r < sizeof rules / sizeof rules[0]; r++)
        if (!seen[r])
            XW_FAIL_("no golden case for rule %s", rules[r]);
}

static int from_text(xw_avro_value *v, const char *event, const char *text,
                     xw_avro_json_error *err)
{
    json_t *j = json_loads(text, JSON_DECODE_ANY, NULL);
    int rc;

    if (xw_avro_value_init(v, xw_avro_type_find(reg, event)) < 0 || !j)
        return -2;
    rc = xw_avro_from_json(&v->value, j, NULL, err);
    json_decref(j);
    return rc;
}

#define ENVELOPE "\"event_id\":\"e-1\",\"occurred_at\":1,\"actor\":\"a\"," \
                 "\"correlation_id\":\"c\","

static void test_messages(void)
{
    static const struct {
        const char *event, *json, *message;
    } cases[] = {
        { "EnvironmentDeleted", "{" ENVELOPE "\"source_workspace\":\"ws\"}",
          "name: required field is missing" },
        { "EnvironmentDeleted", "{" ENVELOPE "\"source_workspace\":7,"
          "\"name\":\"n\"}", "source_workspace: expected a string, got an "
          "integer" },
        { "ObjectTerminated", "{" ENVELOPE "\"workspace_id\":\"ws\","
          "\"object_id\":\"n\",\"version\":\"4\"}",
          "version: expected null or an integer, got a string" },
        { "BasketChanged", "{" ENVELOPE "\"workspace_id\":\"ws\",\"user\":"
          "\"u\",\"op\":\"empty\",\"object_ids\":[]}",
          "op: \"empty\" is not one of: add, remove, clear" },
        { "BasketChanged", "{" ENVELOPE "\"workspace_id\":\"ws\",\"user\":"
          "\"u\",\"op\":\"add\",\"object_ids\":[\"a\",null]}",
          "object_ids[1]: expected a string, got null" },
        { "EnvironmentDeleted", "{" ENVELOPE "\"source_workspace\":\"ws\","
          "\"name\":\"n\",\"extra\":{}}", "extra: unknown field" },
        { "EnvironmentDeleted", "[]", "expected an object, got an array" },
    };
    size_t i;

    for (i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        xw_avro_value v;
        xw_avro_json_error err;

        ASSERT_EQ(from_text(&v, cases[i].event, cases[i].json, &err), -1);
        ASSERT_STR_EQ(err.message, cases[i].message);
        xw_avro_value_release(&v);
    }
}

static void test_defaults(void)
{
    xw_avro_value v;
    xw_avro_json_error err;
    avro_value_t env, m;
    const char *s;
    size_t n;
    bool b;

    /* Environment.type defaults to cross_workspace, Mapping.target to null */
    ASSERT_EQ(from_text(&v, "EnvironmentUpserted", "{" ENVELOPE
                        "\"source_workspace\":\"ws-dev\",\"version\":1,"
                        "\"environment\":{\"name\":\"to-prod\","
                        "\"destination_workspace\":\"ws-prod\","
                        "\"owner_policy\":\"package_executor\","
                        "\"compute_mappings\":[{\"source\":\"mc\","
                        "\"ignore\":true}],\"resource_group_mappings\":[],"
                        "\"dependency_mappings\":[],\"data_source_mappings\":"
                        "[],\"parameter_mappings\":[]}}", &err), 0);
    ASSERT_EQ(xw_avro_get_record(&v.value, "environment", &env), 0);
    ASSERT_EQ(xw_avro_get_string(&env, "type", &s, NULL), 0);
    ASSERT_STR_EQ(s, "cross_workspace");
    ASSERT_EQ(xw_avro_array_get(&env, "compute_mappings", 0, &m), 0);
    ASSERT_EQ(xw_avro_is_null(&m, "target"), 1);
    xw_avro_value_release(&v);

    /* PackageRequested: object_ids [] and deploy_now false by default */
    ASSERT_EQ(from_text(&v, "PackageRequested", "{" ENVELOPE
                        "\"workspace_id\":\"ws\",\"package_id\":\"p\","
                        "\"environment\":\"to-prod\",\"creator\":\"d\"}",
                        &err), 0);
    ASSERT_EQ(xw_avro_array_size(&v.value, "object_ids", &n), 0);
    ASSERT_EQ(n, 0);
    ASSERT_EQ(xw_avro_get_bool(&v.value, "deploy_now", &b), 0);
    ASSERT_EQ(b, false);
    xw_avro_value_release(&v);

    /* DeployRequested: optionals absent, replay false */
    ASSERT_EQ(from_text(&v, "DeployRequested", "{" ENVELOPE
                        "\"workspace_id\":\"ws\",\"package_id\":\"p\","
                        "\"attempt\":1,\"executor\":\"o\"}", &err), 0);
    ASSERT_EQ(xw_avro_is_null(&v.value, "resource_group_override"), 1);
    ASSERT_EQ(xw_avro_is_null(&v.value, "deploy_at"), 1);
    ASSERT_EQ(xw_avro_get_bool(&v.value, "replay", &b), 0);
    ASSERT_EQ(b, false);
    xw_avro_value_release(&v);
}

static void test_invalid_utf8_and_limits(void)
{
    xw_avro_value v;
    xw_avro_json_error err;
    xw_avro_json_limits lim = { 3, 0 };
    json_t *j = json_loads("{" ENVELOPE "\"source_workspace\":\"ws\"}", 0,
                           NULL);

    ASSERT(j != NULL);
    ASSERT_EQ(xw_avro_value_init(&v, xw_avro_type_find(reg,
                                                       "EnvironmentDeleted")),
              0);
    json_object_set_new(j, "name", json_stringn_nocheck("\xff\xfe", 2));
    ASSERT_EQ(xw_avro_from_json(&v.value, j, NULL, &err), -1);
    ASSERT_STR_EQ(err.field, "name");
    ASSERT_STR_EQ(err.rule, "utf8");
    /* exactly at the cap passes, one over fails */
    json_object_set_new(j, "name", json_string("abc"));
    json_object_set_new(j, "actor", json_string("abc"));
    json_object_set_new(j, "event_id", json_string("e"));
    json_object_set_new(j, "correlation_id", json_string("c"));
    json_object_set_new(j, "source_workspace", json_string("w"));
    ASSERT_EQ(xw_avro_from_json(&v.value, j, &lim, &err), 0);
    json_object_set_new(j, "name", json_string("abcd"));
    ASSERT_EQ(xw_avro_from_json(&v.value, j, &lim, &err), -1);
    ASSERT_STR_EQ(err.rule, "max_length");
    ASSERT_STR_EQ(err.message, "name: string of 4 bytes is longer than the "
                  "limit of 3");
    json_decref(j);
    xw_avro_value_release(&v);
}

/* xw_avro_json_write gives exactly the bytes of a jansson dump of
 * xw_avro_to_json (stored JSON that other services read must not change). */
static void expect_write_same(const avro_value_t *v)
{
    xw_buf a = XW_BUF_INIT, b = XW_BUF_INIT;
    json_t *j = xw_avro_to_json(v);

    ASSERT(j != NULL);
    ASSERT_EQ(xw_json_dump(j, &a), 0);
    ASSERT_EQ(xw_buf_add(&b, "x", 1), 0);          /* appends */
    ASSERT_EQ(xw_avro_json_write(v, &b), 0);
    ASSERT_EQ(b.len, a.len + 1);
    ASSERT_STR_EQ(b.data + 1, a.data);
    json_decref(j);
    xw_buf_release(&a);
    xw_buf_release(&b);
}

static void test_base64_bytes(void)
{
    static const struct {
        const char *b64;
        size_t len;
    } ok[] = { { "", 0 }, { "QQ==", 1 }, { "QUI=", 2 }, { "QUJD", 3 },
               { "wwEAAQIDBAUGB/8=", 11 } };
    static const char *const bad[] = { "QQ=", "Q===", "QQ=A", "Q!==", "====" };
    xw_avro_value v;
    xw_avro_json_error err;
    json_t *j, *back;
    size_t i, len;
    const void *p;

    ASSERT_EQ(xw_avro_value_init(&v, xw_avro_type_find(reg, "DeadLetter")), 0);
    j = json_load_file(FIX "examples/DeadLetter.json", 0, NULL);
    ASSERT(j != NULL);
    for (i = 0; i < sizeof ok / sizeof ok[0]; i++) {
        json_object_set_new(j, "payload", json_string(ok[i].b64));
        ASSERT_EQ(xw_avro_from_json(&v.value, j, NULL, &err), 0);
        ASSERT_EQ(xw_avro_get_bytes(&v.value, "payload", &p, &len), 0);
        ASSERT_EQ(len, ok[i].len);
        back = xw_avro_to_json(&v.value);
        ASSERT_STR_EQ(json_string_value(json_object_get(back, "payload")),
                      ok[i].b64);
        json_decref(back);
    }
    ASSERT_EQ(xw_avro_get_bytes(&v.value, "payload", &p, &len), 0);
    ASSERT(memcmp(p, "\xc3\x01\x00\x01\x02\x03\x04\x05\x06\x07\xff", 11) == 0);
    /* json_write's base64 (straight into the buffer) is to_json's. */
    for (i = 0; i <= 11; i++) {
        ASSERT_EQ(xw_avro_set_bytes(&v.value, "payload",
                                    "\xfb\xff\x00\xbf?>\x01\x02\x03\x04\x05", i),
                  0);
        expect_write_same(&v.value);
    }
    for (i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        json_object_set_new(j, "payload", json_string(bad[i]));
        ASSERT_EQ(xw_avro_from_json(&v.value, j, NULL, &err), -1);
        ASSERT_STR_EQ(err.field, "payload");
        ASSERT_STR_EQ(err.rule, "type");
    }
    json_decref(j);
    xw_avro_value_release(&v);
}

/* Every example survives JSON -> value -> JSON, also after a second fill
 * with a smaller event (no stale array elements). */
static void test_to_json_roundtrip(void)
{
    size_t i;

    for (i = 0; i < xw_avro_registry_count(reg); i++) {
        const xw_avro_type *t = xw_avro_registry_type(reg, i);
        char path[512];
        json_t *ex, *back;
        xw_avro_value v;
        xw_avro_json_error err;

        snprintf(path, sizeof path, FIX "examples/%s.json", t->short_name);
        ex = load(path);
        ASSERT(ex != NULL);
        ASSERT_EQ(xw_avro_value_init(&v, t), 0);
        ASSERT_EQ(xw_avro_from_json(&v.value, ex, NULL, &err), 0);
        back = xw_avro_to_json(&v.value);
        ASSERT(back && json_equal(back, ex));
        json_decref(back);
        ASSERT_EQ(xw_avro_from_json(&v.value, ex, NULL, &err), 0);
        back = xw_avro_to_json(&v.value);
        ASSERT(back && json_equal(back, ex));
        json_decref(back);
        xw_avro_value_release(&v);
        json_decref(ex);
    }
    /* smaller refill */
    {
        xw_avro_value v;
        xw_avro_json_error err;
        json_t *ex = load(FIX "examples/ObjectsSubmitted.json"), *back;
        json_t *objs = json_object_get(ex, "objects");
        size_t n;

        ASSERT_EQ(xw_avro_value_init(&v, xw_avro_type_find(reg,
                                                           "ObjectsSubmitted")),
                  0);
        ASSERT_EQ(xw_avro_from_json(&v.value, ex, NULL, &err), 0);
        json_array_remove(objs, 2);
        json_array_remove(objs, 1);
        ASSERT_EQ(xw_avro_from_json(&v.value, ex, NULL, &err), 0);
        ASSERT_EQ(xw_avro_array_size(&v.value, "objects", &n), 0);
        ASSERT_EQ(n, 1);
        back = xw_avro_to_json(&v.value);
        ASSERT(back && json_equal(back, ex));
        json_decref(back);
        json_decref(ex);
        xw_avro_value_release(&v);
    }
}

/* The bridge also works on Avro C's own generic values (no defaults). */
static void test_foreign_generic_value(void)
{
    const xw_avro_type *t = xw_avro_type_find(reg, "ObjectTerminated");
    avro_value_iface_t *gi = avro_generic_class_from_schema(t->schema);
    avro_value_t gv;
    xw_avro_json_error err;
    json_t *j = json_loads("{" ENVELOPE "\"workspace_id\":\"ws\","
                           "\"object_id\":\"n-1\",\"version\":null}", 0, NULL);
    json_t *back;

    ASSERT(gi && j);
    ASSERT_EQ(avro_generic_value_new(gi, &gv), 0);
    ASSERT_EQ(xw_avro_from_json(&gv, j, NULL, &err), 0);
    back = xw_avro_to_json(&gv);
    ASSERT(back && json_equal(back, j));
    json_decref(back);
    json_object_del(j, "version");
    ASSERT_EQ(xw_avro_from_json(&gv, j, NULL, &err), -1);
    ASSERT_STR_EQ(err.rule, "required");   /* no schema JSON, no default */
    json_decref(j);
    /* Avro C stores any bytes as a string: json_write checks the strings
     * of a value xw_avro did not make (it trusts only its own). */
    {
        avro_value_t f;
        xw_buf out = XW_BUF_INIT;

        ASSERT_EQ(xw_avro_is_ours(&gv), 0);
        ASSERT_EQ(avro_value_get_by_name(&gv, "object_id", &f, NULL), 0);
        ASSERT_EQ(avro_value_set_string(&f, "n-\xc3"), 0);
        ASSERT_EQ(xw_buf_adds(&out, "keep"), 0);
        ASSERT_EQ(xw_avro_json_write(&gv, &out), -1);
        ASSERT_STR_EQ(out.data, "keep");
        ASSERT_EQ(avro_value_set_string(&f, "n-\xc3\xa9"), 0);
        ASSERT_EQ(xw_avro_json_write(&gv, &out), 0);
        ASSERT(strstr(out.data, "\"object_id\":\"n-\xc3\xa9\"") != NULL);
        xw_buf_release(&out);
    }
    avro_value_decref(&gv);
    avro_value_iface_decref(gi);
}

static void test_json_write_matches_jansson(void)
{
    static const char *const strs[] = {
        "", "plain", "q\"uote", "back\\slash", "slash/ok", "tab\tnl\ncr\r",
        "\b\f\x01\x1f\x7f", "caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80",
    };
    static const double reals[] = { 0.0, -0.0, 1.0, 0.1, -2.5, 1e300, 1e-7,
                                    5e-324, 123456789012345678.0, 1e21 };
    static const int64_t longs[] = {
        0, 1, -1, 7, -7, 9, 10, -10, 99, 100, 1000000, -1000001,
        1764151200134LL, INT32_MAX, INT32_MIN, (int64_t)INT32_MAX + 1,
        (int64_t)INT32_MIN - 1, INT64_MAX, INT64_MIN, INT64_MAX - 1,
        INT64_MIN + 1, 999999999999999999LL, -1000000000000000000LL,
    };
    static const char escs[] = { '"', '\\', '\n', '\x01', '\x1f', '\0',
                                 '\x7f', ' ', '/' };
    const xw_avro_type *rt = xw_avro_type_find(reg, "ObjectResult");
    xw_avro_value v;
    xw_buf out = XW_BUF_INIT;
    size_t i;

    for (i = 0; i < xw_avro_registry_count(reg); i++) {
        const xw_avro_type *t = xw_avro_registry_type(reg, i);
        char path[512];
        json_t *ex;
        xw_avro_json_error err;

        snprintf(path, sizeof path, FIX "examples/%s.json", t->short_name);
        ASSERT((ex = load(path)) != NULL);
        ASSERT_EQ(xw_avro_value_init(&v, t), 0);
        ASSERT_EQ(xw_avro_from_json(&v.value, ex, NULL, &err), 0);
        expect_write_same(&v.value);
        xw_avro_value_release(&v);
        json_decref(ex);
    }
    /* Escapes and UTF-8, in a string field and an optional one (also a NUL
     * byte inside a string). */
    ASSERT_EQ(xw_avro_value_init(&v, rt), 0);
    for (i = 0; i < sizeof strs / sizeof strs[0]; i++) {
        ASSERT_EQ(xw_avro_set_string(&v.value, "object_name", strs[i]), 0);
        ASSERT_EQ(xw_avro_set_string(&v.value, "reason", strs[i]), 0);
        expect_write_same(&v.value);
    }
    ASSERT_EQ(xw_avro_set_string_len(&v.value, "reason", "a\0b", 3), 0);
    expect_write_same(&v.value);
    /* Integers (written without printf): extremes, signs, zero, powers of
     * ten, in a long, an int and an optional long. */
    for (i = 0; i < sizeof longs / sizeof longs[0]; i++) {
        ASSERT_EQ(xw_avro_set_long(&v.value, "version", longs[i]), 0);
        ASSERT_EQ(xw_avro_set_long(&v.value, "effective_at", longs[i]), 0);
        ASSERT_EQ(xw_avro_set_int(&v.value, "attempt",
                                  (int32_t)(longs[i] % 2 ? INT32_MIN
                                            : INT32_MAX)), 0);
        ASSERT_EQ(xw_avro_set_int(&v.value, "total", (int32_t)(longs[i] % 1000)),
                  0);
        expect_write_same(&v.value);
    }
    /* Escapes are found a word at a time: each escaped byte at every
     * offset of strings around the word size, next to multi-byte UTF-8. */
    for (i = 0; i < sizeof escs / sizeof escs[0]; i++) {
        for (size_t len = 1; len <= 19; len++) {
            for (size_t at = 0; at < len; at++) {
                char str[20];
                size_t mb = len >= 4 ? (at + 2) % (len - 1) : at;

                memset(str, 'a', len);
                if (mb > at || mb + 1 < at)
                    memcpy(str + mb, "\xc3\xa9", 2);
                str[at] = escs[i];
                ASSERT_EQ(xw_avro_set_string_len(&v.value, "object_name", str,
                                                 len), 0);
                expect_write_same(&v.value);
            }
        }
    }
    xw_avro_value_release(&v);
    /* Reals as jansson formats them (%.17g, ".0", short exponents). */
    {
        avro_schema_t ds = avro_schema_double();
        avro_value_iface_t *di = avro_generic_class_from_schema(ds);
        avro_value_t dv;

        ASSERT(di != NULL);
        ASSERT_EQ(avro_generic_value_new(di, &dv), 0);
        for (i = 0; i < sizeof reals / sizeof reals[0]; i++) {
            json_t *j = json_real(reals[i]);

            xw_buf_reset(&out);
            ASSERT_EQ(avro_value_set_double(&dv, reals[i]), 0);
            ASSERT_EQ(xw_avro_json_write(&dv, &out), 0);
            {
                char *want = json_dumps(j, JSON_ENCODE_ANY | JSON_COMPACT);

                ASSERT_STR_EQ(out.data, want);
                free(want);
            }
            json_decref(j);
        }
        avro_value_decref(&dv);
        avro_value_iface_decref(di);
        avro_schema_decref(ds);
    }
    /* Invalid UTF-8 fails and leaves the buffer as it was. */
    xw_buf_reset(&out);
    ASSERT_EQ(xw_buf_adds(&out, "keep"), 0);
    ASSERT_EQ(xw_avro_json_write_string(&out, "bad\xc3", 4), -1);
    ASSERT_STR_EQ(out.data, "keep");
    ASSERT_EQ(xw_avro_json_write_string(&out, "\"", 1), 0);
    ASSERT_STR_EQ(out.data, "keep\"\\\"\"");
    xw_buf_release(&out);
}

int main(void)
{
    char eb[256];

    if (xw_avro_registry_open(&reg, eb, sizeof eb) != 0) {
        fprintf(stderr, "registry: %s\n", eb);
        return 1;
    }
    XW_RUN(test_invalid_golden_files);
    XW_RUN(test_messages);
    XW_RUN(test_defaults);
    XW_RUN(test_invalid_utf8_and_limits);
    XW_RUN(test_base64_bytes);
    XW_RUN(test_to_json_roundtrip);
    XW_RUN(test_foreign_generic_value);
    XW_RUN(test_json_write_matches_jansson);
    xw_avro_registry_free(reg);
    return XW_REPORT();
}
