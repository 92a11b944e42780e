/*
 * xw_spec: the nodes-to-deploy entry and spec JSON written from a stored
 * spec must be the bytes the packager stored when it kept them as JSON:
 * jansson's dump of xw_avro_to_json(spec), with "submitted_at" and
 * "submitted_by" set on it for an entry (the reference below).
 */
#include <stdlib.h>
#include <string.h>

#include "xw_avro.h"
#include "xw_avro_json.h"
#include "xw_json.h"
#include "xw_spec.h"
#include "xw_test.h"

#define FIX XW_SOURCE_DIR "/tests/fixtures/avro/examples/"

static xw_avro_registry *reg;

/* The specs of the example ObjectsSubmitted, plus one with strings that
 * need escapes, in v (an ObjectsSubmitted). 0 or -1. */
static int load_specs(xw_avro_value *v, size_t *n)
{
    json_error_t je;
    json_t *ex = json_load_file(FIX "ObjectsSubmitted.json", 0, &je);
    json_t *objs = json_object_get(ex, "objects"), *odd;
    xw_avro_json_error err;
    int rc = -1;

    if (!ex || json_array_size(objs) == 0
        || xw_avro_value_init(v, xw_avro_type_find(reg, "ObjectsSubmitted"))
               < 0)
        goto out;
    odd = json_deep_copy(json_array_get(objs, 0));
    json_object_set_new(odd, "id", json_string("n-\xc3\xb6/\"q\""));
    json_object_set_new(odd, "name", json_string("tab\there \\ \x7f"));
    json_object_set_new(odd, "resource_group", json_null());
    json_array_append_new(objs, odd);
    if (xw_avro_from_json(&v->value, ex, NULL, &err) < 0) {
        fprintf(stderr, "  %s: %s\n", err.field, err.message);
        goto out;
    }
    *n = json_array_size(objs);
    rc = 0;
out:
    json_decref(ex);
    return rc;
}

/* What the packager stored before: the jansson way. */
static void reference(const avro_value_t *spec, const char *by, int64_t at,
                      xw_buf *out)
{
    json_t *j = xw_avro_to_json(spec);

    if (by) {
        json_object_set_new(j, "submitted_at", json_integer(at));
        json_object_set_new(j, "submitted_by", json_string(by));
    }
    xw_buf_reset(out);
    xw_json_dump(j, out);
    json_decref(j);
}

static void test_submission(void)
{
    xw_buf b = XW_BUF_INIT;
    const char *by;
    size_t bylen;
    int64_t at = 0;

    ASSERT_EQ(xw_spec_submission_write(&b, 1764151200000LL, "olga"), 0);
    ASSERT_STR_EQ(b.data, "1764151200000 olga");
    ASSERT_EQ(xw_spec_submission_read(b.data, b.len, &at, &by, &bylen), 0);
    ASSERT_EQ(at, 1764151200000LL);
    ASSERT_EQ(bylen, 4);
    ASSERT_EQ(memcmp(by, "olga", 4), 0);
    /* the user is the rest, spaces and all; it may be empty */
    ASSERT_EQ(xw_spec_submission_read("0 a b", 5, &at, &by, &bylen), 0);
    ASSERT_EQ(at, 0);
    ASSERT_EQ(bylen, 3);
    ASSERT_EQ(xw_spec_submission_read("12 ", 3, &at, &by, &bylen), 0);
    ASSERT_EQ(bylen, 0);
    /* not a submission */
    ASSERT_EQ(xw_spec_submission_read("", 0, &at, &by, &bylen), -1);
    ASSERT_EQ(xw_spec_submission_read("12", 2, &at, &by, &bylen), -1);
    ASSERT_EQ(xw_spec_submission_read(" olga", 5, &at, &by, &bylen), -1);
    ASSERT_EQ(xw_spec_submission_read("-1 olga", 7, &at, &by, &bylen), -1);
    ASSERT_EQ(xw_spec_submission_read("{\"submitted_at\":1}", 18, &at, &by,
                                      &bylen), -1);
    ASSERT_EQ(xw_spec_submission_read("1234567890123456789 x", 21, &at, &by,
                                      &bylen), -1);
    ASSERT_EQ(xw_spec_submission_read("1 \xff", 3, &at, &by, &bylen), -1);
    xw_buf_release(&b);
}

static void test_json_as_before(void)
{
    static const struct {
        const char *by;
        int64_t at;
    } subs[] = {
        { NULL, 0 }, { "olga", 1764151200000LL }, { "", 0 },
        { "d\xc3\xa9j\xc3\xa0 \"vu\"/\\", 42 },
    };
    xw_avro_value v, back;
    xw_buf want = XW_BUF_INIT, got = XW_BUF_INIT, sub = XW_BUF_INIT,
        stored = XW_BUF_INIT;
    avro_value_t spec, el;
    xw_avro_err ae;
    size_t n = 0;

    ASSERT_EQ(load_specs(&v, &n), 0);
    ASSERT_EQ(xw_avro_value_init(&back, v.type), 0);
    ASSERT_EQ(xw_avro_array_append(&back.value, "objects", &el), 0);
    for (size_t i = 0; i < n; i++) {
        ASSERT_EQ(xw_avro_array_get(&v.value, "objects", i, &spec), 0);
        ASSERT_EQ(xw_avro_encode_record(&spec, &stored, &ae), 0);
        for (size_t k = 0; k < sizeof subs / sizeof subs[0]; k++) {
            if (subs[k].by)
                ASSERT_EQ(xw_spec_submission_write(&sub, subs[k].at,
                                                   subs[k].by), 0);
            reference(&spec, subs[k].by, subs[k].at, &want);
            /* from the value */
            xw_buf_reset(&got);
            ASSERT_EQ(xw_spec_json_write(&spec, subs[k].by ? sub.data : NULL,
                                         sub.len, &got), 0);
            ASSERT_STR_EQ(got.data, want.data);
            /* from the stored bytes, appended after what out holds */
            xw_buf_reset(&got);
            xw_buf_adds(&got, "[");
            ASSERT_EQ(xw_spec_decode_json(&el, stored.data, stored.len,
                                          subs[k].by ? sub.data : NULL,
                                          sub.len, &got, &ae), 0);
            ASSERT_EQ(got.data[0], '[');
            ASSERT_STR_EQ(got.data + 1, want.data);
        }
    }
    xw_avro_value_release(&v);
    xw_avro_value_release(&back);
    xw_buf_release(&want);
    xw_buf_release(&got);
    xw_buf_release(&sub);
    xw_buf_release(&stored);
}

static void test_failures(void)
{
    xw_avro_value v, back;
    xw_buf out = XW_BUF_INIT, stored = XW_BUF_INIT, want = XW_BUF_INIT;
    avro_value_t spec, el;
    xw_avro_err ae;
    size_t n = 0;

    ASSERT_EQ(load_specs(&v, &n), 0);
    ASSERT_EQ(xw_avro_value_init(&back, v.type), 0);
    ASSERT_EQ(xw_avro_array_append(&back.value, "objects", &el), 0);
    ASSERT_EQ(xw_avro_array_get(&v.value, "objects", 0, &spec), 0);
    ASSERT_EQ(xw_avro_encode_record(&spec, &stored, &ae), 0);

    /* a submission that does not read is left out, the spec still shows */
    reference(&spec, NULL, 0, &want);
    ASSERT_EQ(xw_spec_json_write(&spec, "olga", 4, &out), 0);
    ASSERT_STR_EQ(out.data, want.data);

    /* bytes that do not decode: -1, out as it was */
    xw_buf_reset(&out);
    xw_buf_adds(&out, "x");
    ASSERT_EQ(xw_spec_decode_json(&el, stored.data, stored.len - 1, NULL, 0,
                                  &out, &ae), -1);
    ASSERT_EQ(ae.code, XW_AVRO_ETRUNCATED);
    ASSERT_EQ(xw_spec_decode_json(&el, "{\"id\":1}", 8, NULL, 0, &out, &ae),
              -1);
    ASSERT_EQ(ae.code, XW_AVRO_EMARKER);
    ASSERT_STR_EQ(out.data, "x");

    /* out's cap: -1, out as it was, with or without a submission */
    xw_buf_release(&out);
    xw_buf_init(&out, want.len + 10);
    xw_buf_adds(&out, "ab");
    ASSERT_EQ(xw_spec_json_write(&spec, "1764151200000 olga", 18, &out), -1);
    ASSERT_STR_EQ(out.data, "ab");
    xw_buf_release(&out);
    xw_buf_init(&out, want.len - 1);
    ASSERT_EQ(xw_spec_decode_json(&el, stored.data, stored.len, NULL, 0, &out,
                                  &ae), -1);
    ASSERT_EQ(ae.code, XW_AVRO_ENOMEM);
    ASSERT_EQ(out.len, 0);

    xw_avro_value_release(&v);
    xw_avro_value_release(&back);
    xw_buf_release(&out);
    xw_buf_release(&stored);
    xw_buf_release(&want);
}

int main(void)
{
    char eb[256];

    if (xw_avro_registry_open(&reg, eb, sizeof eb) != 0) {
        fprintf(stderr, "registry: %s\n", eb);
        return 1;
    }
    XW_RUN(test_submission);
    XW_RUN(test_json_as_before);
    XW_RUN(test_failures);
    xw_avro_registry_free(reg);
    return XW_REPORT();
}
