/*
 * xw_avro: registry, round trip of every event schema, decoder robustness
 * (every truncation, every bit flip, crafted bad bodies), field access,
 * copy, and the no-allocation promise of the hot path.
 *
 * Fixtures: tests/fixtures/avro/examples/<Event>.json is a realistic event
 * in API JSON; <Event>.bin is the same event single-object encoded by an
 * independent implementation (python3-avro, generated once), so the
 * encoder is checked against bytes this code did not produce.
 */
#include <stdlib.h>
#include <string.h>

#include "xw_avro.h"
#include "xw_avro_json.h"
#include "xw_id.h"
#include "xw_test.h"

/* Counting allocator for the hot-path test (not under ASan, which owns
 * malloc). Interposes malloc for the whole test binary. */
#if defined(__SANITIZE_ADDRESS__)
#define XW_COUNT_ALLOCS 0
#else
#define XW_COUNT_ALLOCS 1
extern void *__libc_malloc(size_t n);
extern void *__libc_calloc(size_t n, size_t m);
extern void *__libc_realloc(void *p, size_t n);
extern void __libc_free(void *p);
static long allocs;
void *malloc(size_t n) { allocs++; return __libc_malloc(n); }
void *calloc(size_t n, size_t m) { allocs++; return __libc_calloc(n, m); }
void *realloc(void *p, size_t n) { allocs++; return __libc_realloc(p, n); }
void free(void *p) { __libc_free(p); }
#endif

#define FIX XW_SOURCE_DIR "/tests/fixtures/avro/examples/"

static xw_avro_registry *reg;

/* The 16 events and their fingerprints. A change here is a change of the
 * wire format: make it deliberately (old fingerprints stay decodable only
 * if their schema is still registered). */
static const struct {
    const char *name;
    uint64_t fp;
} events[] = {
    { "AuditRecorded",       UINT64_C(0xfbb0ec67bc9313a4) },
    { "BasketChanged",       UINT64_C(0x1e779c264aa5b669) },
    { "DeadLetter",          UINT64_C(0xb376046b5159bc9d) },
    { "DeployRequested",     UINT64_C(0x52f1f495821883fb) },
    { "DeployStarted",       UINT64_C(0x37402f2c035ea85d) },
    { "EnvironmentDeleted",  UINT64_C(0xbc356df4857f897f) },
    { "EnvironmentUpserted", UINT64_C(0x1b7a6374d0ad2cbc) },
    { "ObjectMapped",        UINT64_C(0x3aaeda004da08414) },
    { "ObjectResult",        UINT64_C(0xb7188f6954e4ebac) },
    { "ObjectTerminated",    UINT64_C(0x9f55f4dc12607520) },
    { "ObjectsSubmitted",    UINT64_C(0x45cddba6e8d70406) },
    { "PackageCreated",      UINT64_C(0x9700fc58289b97ea) },
    { "PackageFinished",     UINT64_C(0xc826a91f02c27d7b) },
    { "PackageRequested",    UINT64_C(0x7928818dc1c13d77) },
    { "Probe",               UINT64_C(0x56581fb35d44cbf3) },
    { "WorkspaceUpserted",   UINT64_C(0x8865e3369669ceb4) },
};
#define NEVENTS (sizeof events / sizeof events[0])

static char *slurp(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    char *buf = NULL;
    long n;

    if (!f)
        return NULL;
    if (fseek(f, 0, SEEK_END) == 0 && (n = ftell(f)) >= 0 &&
        fseek(f, 0, SEEK_SET) == 0 && (buf = malloc((size_t)n + 1)) &&
        fread(buf, 1, (size_t)n, f) == (size_t)n) {
        buf[n] = '\0';
        *len = (size_t)n;
    } else {
        free(buf);
        buf = NULL;
    }
    fclose(f);
    return buf;
}

static json_t *load_example(const char *name)
{
    char path[512];
    json_error_t jerr;
    json_t *j;

    snprintf(path, sizeof path, FIX "%s.json", name);
    j = json_load_file(path, 0, &jerr);
    if (!j)
        fprintf(stderr, "  %s: %s\n", path, jerr.text);
    return j;
}

static char *load_bin(const char *name, size_t *len)
{
    char path[512];

    snprintf(path, sizeof path, FIX "%s.bin", name);
    return slurp(path, len);
}

/* Fills v from the example JSON of its type. */
static int fill_example(xw_avro_value *v, const char *name)
{
    json_t *j = load_example(name);
    xw_avro_json_error jerr;
    int rc;

    if (!j)
        return -1;
    rc = xw_avro_from_json(&v->value, j, NULL, &jerr);
    if (rc < 0)
        fprintf(stderr, "  %s: %s (%s)\n", name, jerr.message, jerr.rule);
    json_decref(j);
    return rc;
}

static int json_same(const avro_value_t *v, const json_t *want)
{
    json_t *got = xw_avro_to_json(v);
    int same = got && json_equal(got, (json_t *)want);

    if (!same) {
        char *a = got ? json_dumps(got, JSON_COMPACT | JSON_SORT_KEYS) : NULL;
        char *b = json_dumps(want, JSON_COMPACT | JSON_SORT_KEYS);
        fprintf(stderr, "  got  %s\n  want %s\n", a ? a : "(null)", b);
        free(a);
        free(b);
    }
    json_decref(got);
    return same;
}

/* ------------------------------------------------------------------ */

static void test_registry_embedded(void)
{
    size_t i;

    ASSERT_EQ(xw_avro_registry_count(reg), NEVENTS);
    ASSERT_EQ(xw_avro_embedded_schemas_count, NEVENTS);
    for (i = 0; i < NEVENTS; i++) {
        const xw_avro_type *t = xw_avro_type_find(reg, events[i].name);
        char full[128];

        ASSERT(t != NULL);
        ASSERT_STR_EQ(t->short_name, events[i].name);
        snprintf(full, sizeof full, "xwdeploy.events.%s", events[i].name);
        ASSERT_STR_EQ(t->name, full);
        ASSERT(xw_avro_type_find(reg, full) == t);
        ASSERT_U64_EQ(t->fingerprint, events[i].fp);
        ASSERT(xw_avro_type_by_fingerprint(reg, events[i].fp) == t);
        ASSERT_U64_EQ(xw_avro_crc64(t->pcf, t->pcf_len), t->fingerprint);
        ASSERT(t->schema != NULL && t->iface != NULL);
        ASSERT_EQ(avro_typeof(t->schema), AVRO_RECORD);
    }
    ASSERT(xw_avro_type_find(reg, "NoSuchEvent") == NULL);
    ASSERT(xw_avro_type_by_fingerprint(reg, 42) == NULL);
    ASSERT(xw_avro_registry_type(reg, NEVENTS) == NULL);
}

static void test_registry_dir_matches_embedded(void)
{
    xw_avro_registry *r2 = NULL;
    char eb[256];
    size_t i;

    ASSERT_EQ(xw_avro_registry_open_dir(&r2, XW_SOURCE_DIR "/schemas", eb,
                                        sizeof eb), 0);
    ASSERT_EQ(xw_avro_registry_count(r2), xw_avro_registry_count(reg));
    for (i = 0; i < xw_avro_registry_count(reg); i++) {
        const xw_avro_type *a = xw_avro_registry_type(reg, i);
        const xw_avro_type *b = xw_avro_type_find(r2, a->name);
        ASSERT(b != NULL);
        ASSERT_U64_EQ(a->fingerprint, b->fingerprint);
        ASSERT_STR_EQ(a->json, b->json);
    }
    xw_avro_registry_free(r2);

    r2 = (xw_avro_registry *)1;
    ASSERT_EQ(xw_avro_registry_open_dir(&r2, "/nonexistent/xw", eb,
                                        sizeof eb), XW_AVRO_EIO);
    ASSERT(r2 == NULL);
    ASSERT(strstr(eb, "/nonexistent/xw") != NULL);
}

static void test_registry_add_rejects(void)
{
    static const struct {
        const char *json, *expect_name, *msg_part;
        int code;
    } bad[] = {
        { "{\"type\":\"record\",", NULL, "JSON line", XW_AVRO_ESCHEMA },
        { "\"int\"", NULL, "top level must be a record", XW_AVRO_ESCHEMA },
        { "{\"type\":\"enum\",\"name\":\"E\",\"symbols\":[\"A\"]}", NULL,
          "top level must be a record", XW_AVRO_ESCHEMA },
        { "{\"type\":\"record\",\"name\":\"R\",\"fields\":[{\"name\":\"a\","
          "\"type\":\"Nope\"}]}", NULL, "unknown type \"Nope\"",
          XW_AVRO_ESCHEMA },
        { "{\"type\":\"record\",\"name\":\"R\",\"fields\":[{\"name\":\"m\","
          "\"type\":{\"type\":\"map\",\"values\":\"string\"}}]}", NULL,
          "not supported", XW_AVRO_ESCHEMA },
        { "{\"type\":\"record\",\"name\":\"R\",\"fields\":[{\"name\":\"next\","
          "\"type\":[\"null\",\"R\"]}]}", NULL, "recursive", XW_AVRO_ESCHEMA },
        { "{\"type\":\"record\",\"name\":\"R\",\"fields\":[]}", "S",
          "named R", XW_AVRO_ESCHEMA },
        { "{\"type\":\"record\",\"name\":\"R\",\"fields\":[{\"name\":\"1a\","
          "\"type\":\"int\"}]}", NULL, "invalid field name", XW_AVRO_ESCHEMA },
        { "{\"type\":\"record\",\"name\":\"R\",\"fields\":[{\"name\":\"a\","
          "\"type\":\"int\"},{\"name\":\"a\",\"type\":\"int\"}]}", NULL,
          "appears twice", XW_AVRO_ESCHEMA },
    };
    const xw_avro_type *t;
    char eb[256];
    size_t i, before = xw_avro_registry_count(reg);

    for (i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        eb[0] = '\0';
        t = (const xw_avro_type *)1;
        ASSERT_EQ(xw_avro_registry_add(reg, bad[i].json, strlen(bad[i].json),
                                       bad[i].expect_name, &t, eb, sizeof eb),
                  bad[i].code);
        ASSERT(t == NULL);
        if (!strstr(eb, bad[i].msg_part))
            XW_FAIL_("case %zu: \"%s\" lacks \"%s\"", i, eb, bad[i].msg_part);
        ASSERT_EQ(xw_avro_registry_count(reg), before);
    }
    /* The same schema twice: same fingerprint. */
    t = xw_avro_type_find(reg, "Probe");
    ASSERT_EQ(xw_avro_registry_add(reg, t->json, strlen(t->json), NULL, NULL,
                                   eb, sizeof eb), XW_AVRO_EDUP);
    ASSERT(strstr(eb, "already registered") != NULL);
    ASSERT_EQ(xw_avro_registry_count(reg), before);
}

/* A second version of an event (an added optional field) registers next
 * to the first; find() keeps returning the first; both decode. */
static void test_registry_second_version(void)
{
    static const char v2[] =
        "{\"type\":\"record\",\"name\":\"EnvironmentDeleted\",\"namespace\":"
        "\"xwdeploy.events\",\"fields\":["
        "{\"name\":\"event_id\",\"type\":\"string\"},"
        "{\"name\":\"occurred_at\",\"type\":\"long\"},"
        "{\"name\":\"actor\",\"type\":\"string\"},"
        "{\"name\":\"correlation_id\",\"type\":\"string\"},"
        "{\"name\":\"source_workspace\",\"type\":\"string\"},"
        "{\"name\":\"name\",\"type\":\"string\"},"
        "{\"name\":\"reason\",\"type\":[\"null\",\"string\"],"
        "\"default\":null}]}";
    xw_avro_registry *r2;
    const xw_avro_type *t2, *t1;
    xw_avro_decoder *dec;
    xw_avro_value v;
    xw_buf out = XW_BUF_INIT;
    xw_avro_err err;
    const xw_avro_type *dt;
    avro_value_t *dv;
    const char *s;
    char eb[256];

    ASSERT_EQ(xw_avro_registry_open(&r2, eb, sizeof eb), 0);
    t1 = xw_avro_type_find(r2, "EnvironmentDeleted");
    ASSERT_EQ(xw_avro_registry_add(r2, v2, sizeof v2 - 1, NULL, &t2, eb,
                                   sizeof eb), 0);
    ASSERT(t2 != t1);
    ASSERT(xw_avro_type_find(r2, "EnvironmentDeleted") == t1);
    ASSERT(xw_avro_type_by_fingerprint(r2, t2->fingerprint) == t2);

    ASSERT_EQ(xw_avro_value_init(&v, t2), 0);
    ASSERT_EQ(xw_avro_set_string(&v.value, "name", "to-prod"), 0);
    ASSERT_EQ(xw_avro_set_string(&v.value, "reason", "retired"), 0);
    ASSERT_EQ(xw_avro_encode(&v.value, &out, &err), 0);
    ASSERT_EQ(xw_avro_decoder_new(&dec, r2), 0);
    ASSERT_EQ(xw_avro_decode(dec, out.data, out.len, &dt, &dv, &err), 0);
    ASSERT(dt == t2);
    ASSERT_EQ(xw_avro_get_string(dv, "reason", &s, NULL), 0);
    ASSERT_STR_EQ(s, "retired");
    xw_avro_decoder_free(dec);
    xw_avro_value_release(&v);
    xw_buf_release(&out);
    xw_avro_registry_free(r2);
}

/* Avro C decodes our bytes into its own generic value: independent reader. */
static int avro_c_reads(const xw_avro_type *t, const char *body, size_t len,
                        const json_t *want)
{
    avro_value_iface_t *gi = avro_generic_class_from_schema(t->schema);
    avro_value_t gv;
    avro_reader_t r = avro_reader_memory(body, (int64_t)len);
    int ok = gi && avro_generic_value_new(gi, &gv) == 0;

    if (ok) {
        ok = avro_value_read(r, &gv) == 0 && json_same(&gv, want);
        avro_value_decref(&gv);
    }
    avro_reader_free(r);
    if (gi)
        avro_value_iface_decref(gi);
    return ok;
}

/* Avro C writes our value: independent writer. */
static int avro_c_writes(const avro_value_t *v, const char *body, size_t len)
{
    size_t size = 0;
    char *buf;
    avro_writer_t w;
    int ok;

    if (avro_value_sizeof((avro_value_t *)v, &size) != 0 || size != len)
        return 0;
    buf = malloc(size ? size : 1);
    w = avro_writer_memory(buf, (int64_t)size);
    ok = avro_value_write(w, (avro_value_t *)v) == 0 &&
         memcmp(buf, body, len) == 0;
    avro_writer_free(w);
    free(buf);
    return ok;
}

static void roundtrip_one(xw_avro_decoder *dec, const char *name,
                          int null_optionals)
{
    const xw_avro_type *t = xw_avro_type_find(reg, name), *dt;
    xw_avro_value v;
    xw_buf out = XW_BUF_INIT, again = XW_BUF_INIT;
    xw_avro_err err;
    avro_value_t *dv;
    json_t *want;
    size_t binlen = 0, i, n;
    char *bin;

    ASSERT(t != NULL);
    ASSERT_EQ(xw_avro_value_init(&v, t), 0);
    ASSERT(xw_avro_value_type(&v.value) == t);
    ASSERT_EQ(fill_example(&v, name), 0);
    if (null_optionals) {
        avro_value_get_size(&v.value, &n);
        for (i = 0; i < n; i++) {
            avro_value_t f;
            const char *fname;
            avro_value_get_by_index(&v.value, i, &f, &fname);
            if (avro_value_get_type(&f) == AVRO_UNION)
                ASSERT_EQ(xw_avro_set_null(&v.value, fname), 0);
        }
    }
    want = xw_avro_to_json(&v.value);
    ASSERT(want != NULL);
    if (!null_optionals) {
        json_t *ex = load_example(name);
        int same = json_equal(want, ex);
        json_decref(ex);
        if (!same)
            XW_FAIL_("%s: to_json differs from the example", name);
    }

    ASSERT_EQ(xw_avro_encode(&v.value, &out, &err), 0);
    ASSERT_GT(out.len, XW_AVRO_HEADER_LEN);
    ASSERT_EQ((unsigned char)out.data[0], 0xC3);
    ASSERT_EQ((unsigned char)out.data[1], 0x01);
    for (i = 0; i < 8; i++)
        ASSERT_EQ((unsigned char)out.data[2 + i],
                  (unsigned char)(t->fingerprint >> (8 * i)));
    if (!null_optionals) {
        bin = load_bin(name, &binlen);
        ASSERT(bin != NULL);
        if (binlen != out.len || memcmp(bin, out.data, binlen) != 0)
            XW_FAIL_("%s: encoding differs from python3-avro's (%zu vs %zu "
                     "bytes)", name, out.len, binlen);
        free(bin);
    }
    if (!avro_c_writes(&v.value, out.data + XW_AVRO_HEADER_LEN,
                       out.len - XW_AVRO_HEADER_LEN))
        XW_FAIL_("%s: Avro C writes other bytes", name);
    if (!avro_c_reads(t, out.data + XW_AVRO_HEADER_LEN,
                      out.len - XW_AVRO_HEADER_LEN, want))
        XW_FAIL_("%s: Avro C reads something else", name);

    ASSERT_EQ(xw_avro_decode(dec, out.data, out.len, &dt, &dv, &err), 0);
    ASSERT(dt == t);
    ASSERT(xw_avro_value_type(dv) == t);
    ASSERT(json_same(dv, want));
    ASSERT(avro_value_equal(&v.value, dv));
    ASSERT_EQ(xw_avro_encode(dv, &again, &err), 0);
    ASSERT_EQ(again.len, out.len);
    ASSERT(memcmp(again.data, out.data, out.len) == 0);

    json_decref(want);
    xw_buf_release(&out);
    xw_buf_release(&again);
    xw_avro_value_release(&v);
}

static void test_roundtrip_every_event(void)
{
    xw_avro_decoder *dec;
    size_t i;

    ASSERT_EQ(xw_avro_decoder_new(&dec, reg), 0);
    for (i = 0; i < NEVENTS; i++) {
        int before = xw_test_failed_now;
        roundtrip_one(dec, events[i].name, 0);
        if (xw_test_failed_now && !before)
            fprintf(stderr, "  (event %s, optionals present)\n",
                    events[i].name);
        roundtrip_one(dec, events[i].name, 1);
        if (xw_test_failed_now && !before)
            fprintf(stderr, "  (event %s, optionals null)\n", events[i].name);
    }
    xw_avro_decoder_free(dec);
}

/* Every proper prefix of every example fails with ESHORT or ETRUNCATED. */
static void test_decode_every_truncation(void)
{
    xw_avro_decoder *dec;
    size_t i, n, len;

    ASSERT_EQ(xw_avro_decoder_new(&dec, reg), 0);
    for (i = 0; i < NEVENTS; i++) {
        char *bin = load_bin(events[i].name, &len);
        ASSERT(bin != NULL);
        for (n = 0; n < len; n++) {
            const xw_avro_type *t = (const xw_avro_type *)1;
            avro_value_t *v = (avro_value_t *)1;
            xw_avro_err err;
            char *copy = malloc(n ? n : 1);   /* ASan sees every overread */
            int rc;

            memcpy(copy, bin, n);
            rc = xw_avro_decode(dec, copy, n, &t, &v, &err);
            free(copy);
            if (rc != (n < XW_AVRO_HEADER_LEN ? XW_AVRO_ESHORT
                                              : XW_AVRO_ETRUNCATED))
                XW_FAIL_("%s prefix %zu: rc %d (%s)", events[i].name, n, rc,
                         err.msg);
            ASSERT(t == NULL && v == NULL);
            ASSERT_EQ(err.code, rc);
        }
        free(bin);
    }
    xw_avro_decoder_free(dec);
}

/* Every bit of every byte flipped: OK or a decode error, never a crash,
 * an overread or a leak; what decodes re-encodes and converts to JSON. */
static void test_decode_every_bit_flip(void)
{
    xw_avro_decoder *dec;
    xw_buf out = XW_BUF_INIT;
    size_t i, k, len;
    int bit, ok = 0, failed = 0;

    ASSERT_EQ(xw_avro_decoder_new(&dec, reg), 0);
    for (i = 0; i < NEVENTS; i++) {
        char *bin = load_bin(events[i].name, &len);
        ASSERT(bin != NULL);
        for (k = 0; k < len; k++) {
            for (bit = 0; bit < 8; bit++) {
                const xw_avro_type *t;
                avro_value_t *v;
                xw_avro_err err;
                int rc;

                bin[k] ^= (char)(1 << bit);
                rc = xw_avro_decode(dec, bin, len, &t, &v, &err);
                bin[k] ^= (char)(1 << bit);
                if (rc == 0) {
                    ok++;
                    /* Only flips of bit 6 or 7 can turn text into invalid
                     * UTF-8; JSON conversion (slow) fails on such text. */
                    if (bit >= 6) {
                        json_t *j = xw_avro_to_json(v);
                        ASSERT(j != NULL);
                        json_decref(j);
                    }
                    ASSERT_EQ(xw_avro_encode(v, &out, &err), 0);
                } else {
                    failed++;
                    if (rc != XW_AVRO_EMARKER && rc != XW_AVRO_EUNKNOWN &&
                        rc != XW_AVRO_ETRUNCATED && rc != XW_AVRO_EGARBLED &&
                        rc != XW_AVRO_ETRAILING)
                        XW_FAIL_("%s byte %zu bit %d: rc %d", events[i].name,
                                 k, bit, rc);
                    ASSERT(t == NULL && v == NULL);
                }
            }
        }
        free(bin);
    }
    /* Both outcomes happen (string bytes flip into other valid text). */
    ASSERT_GT(ok, 0);
    ASSERT_GT(failed, 0);
    xw_buf_release(&out);
    xw_avro_decoder_free(dec);
}

/* --- crafted bodies: ObjectTerminated is 6 strings/longs then
 * version ["null","long"] --- */

static void put_long(xw_buf *b, int64_t v)
{
    uint64_t z = ((uint64_t)v << 1) ^ (uint64_t)(v >> 63);

    while (z >= 0x80) {
        xw_buf_addch(b, (char)(z | 0x80));
        z >>= 7;
    }
    xw_buf_addch(b, (char)z);
}

static void put_str(xw_buf *b, const char *s)
{
    put_long(b, (int64_t)strlen(s));
    xw_buf_adds(b, s);
}

static void put_header(xw_buf *b, const char *event)
{
    uint64_t fp = xw_avro_type_find(reg, event)->fingerprint;
    int i;

    xw_buf_reset(b);
    xw_buf_addch(b, (char)0xC3);
    xw_buf_addch(b, 0x01);
    for (i = 0; i < 8; i++)
        xw_buf_addch(b, (char)(fp >> (8 * i)));
}

/* Envelope + workspace_id + object_id of an ObjectTerminated. */
static void put_terminated_prefix(xw_buf *b)
{
    put_header(b, "ObjectTerminated");
    put_str(b, "e-1");
    put_long(b, 1764151200123);
    put_str(b, "alice");
    put_str(b, "c-1");
    put_str(b, "ws-dev");
    put_str(b, "n-1");
}

static int decode_buf(xw_avro_decoder *dec, const xw_buf *b, xw_avro_err *err)
{
    const xw_avro_type *t;
    avro_value_t *v;

    return xw_avro_decode(dec, b->data, b->len, &t, &v, err);
}

#define EXPECT_DECODE(dec, b, code, part)                                 \
    do {                                                                  \
        xw_avro_err e_;                                                   \
        int rc_ = decode_buf(dec, b, &e_);                                \
        if (rc_ != (code))                                                \
            XW_FAIL_("rc %d (%s), want %d", rc_, rc_ ? e_.msg : "", code); \
        const char *p_ = (part);                                          \
        if (p_ && !strstr(e_.msg, p_))                                    \
            XW_FAIL_("message \"%s\" lacks \"%s\"", e_.msg, p_);          \
    } while (0)

static void test_decode_crafted(void)
{
    xw_avro_decoder *dec;
    xw_buf b = XW_BUF_INIT;
    const xw_avro_type *t;
    avro_value_t *v;
    xw_avro_err err;
    int64_t ver;
    int i;

    ASSERT_EQ(xw_avro_decoder_new(&dec, reg), 0);

    /* valid, version present */
    put_terminated_prefix(&b);
    put_long(&b, 1);
    put_long(&b, 7);
    ASSERT_EQ(xw_avro_decode(dec, b.data, b.len, &t, &v, &err), 0);
    ASSERT_EQ(xw_avro_get_long(v, "version", &ver), 0);
    ASSERT_EQ(ver, 7);
    /* valid, version null */
    put_terminated_prefix(&b);
    put_long(&b, 0);
    ASSERT_EQ(xw_avro_decode(dec, b.data, b.len, &t, &v, &err), 0);
    ASSERT_EQ(xw_avro_get_long(v, "version", &ver), XW_AVRO_ABSENT);

    /* one byte too many */
    xw_buf_addch(&b, 0);
    EXPECT_DECODE(dec, &b, XW_AVRO_ETRAILING, "1 bytes after the event");

    /* union branch out of range */
    put_terminated_prefix(&b);
    put_long(&b, 2);
    EXPECT_DECODE(dec, &b, XW_AVRO_EGARBLED, "field version: union branch 2");
    put_terminated_prefix(&b);
    put_long(&b, -1);
    EXPECT_DECODE(dec, &b, XW_AVRO_EGARBLED, "union branch -1");

    /* string length beyond the input: no allocation of that size */
    put_header(&b, "ObjectTerminated");
    put_long(&b, INT64_C(1) << 60);
    EXPECT_DECODE(dec, &b, XW_AVRO_ETRUNCATED, "field event_id: string of");
    /* negative length */
    put_header(&b, "ObjectTerminated");
    put_long(&b, -5);
    EXPECT_DECODE(dec, &b, XW_AVRO_EGARBLED, "negative string length");
    /* varint longer than 10 bytes */
    put_header(&b, "ObjectTerminated");
    for (i = 0; i < 11; i++)
        xw_buf_addch(&b, (char)0xff);
    EXPECT_DECODE(dec, &b, XW_AVRO_EGARBLED, "overflows");
    /* varint that ends with the input */
    put_header(&b, "ObjectTerminated");
    xw_buf_addch(&b, (char)0x80);
    EXPECT_DECODE(dec, &b, XW_AVRO_ETRUNCATED, "inside a number");
    /* invalid UTF-8 (an overlong '/') */
    put_header(&b, "ObjectTerminated");
    put_long(&b, 2);
    xw_buf_add(&b, "\xc0\xaf", 2);
    EXPECT_DECODE(dec, &b, XW_AVRO_EGARBLED, "not valid UTF-8");

    /* int out of range: DeployRequested.attempt */
    put_header(&b, "DeployRequested");
    put_str(&b, "e");
    put_long(&b, 1);
    put_str(&b, "a");
    put_str(&b, "c");
    put_str(&b, "ws");
    put_str(&b, "p");
    put_long(&b, INT64_C(1) << 40);
    EXPECT_DECODE(dec, &b, XW_AVRO_EGARBLED, "field attempt: int");

    /* boolean byte 2: DeployRequested.replay */
    put_header(&b, "DeployRequested");
    put_str(&b, "e");
    put_long(&b, 1);
    put_str(&b, "a");
    put_str(&b, "c");
    put_str(&b, "ws");
    put_str(&b, "p");
    put_long(&b, 1);
    put_str(&b, "x");
    put_long(&b, 0);
    xw_buf_addch(&b, 2);
    EXPECT_DECODE(dec, &b, XW_AVRO_EGARBLED, "field replay: boolean byte 2");

    /* enum index out of range: BasketChanged.op */
    put_header(&b, "BasketChanged");
    put_str(&b, "e");
    put_long(&b, 1);
    put_str(&b, "a");
    put_str(&b, "c");
    put_str(&b, "ws");
    put_str(&b, "u");
    put_long(&b, 3);
    EXPECT_DECODE(dec, &b, XW_AVRO_EGARBLED, "field op: enum index 3");

    /* array count far beyond the input, positive and as a negative block */
    put_header(&b, "BasketChanged");
    put_str(&b, "e");
    put_long(&b, 1);
    put_str(&b, "a");
    put_str(&b, "c");
    put_str(&b, "ws");
    put_str(&b, "u");
    put_long(&b, 0);
    {
        size_t mark = b.len;
        put_long(&b, INT64_C(1) << 50);
        EXPECT_DECODE(dec, &b, XW_AVRO_ETRUNCATED, "field object_ids: ");
        xw_buf_setlen(&b, mark);
        put_long(&b, -2);       /* block of 2 items ... */
        put_long(&b, 4);        /* ... in 4 bytes */
        put_str(&b, "n1");
        put_str(&b, "n\xff");
        put_long(&b, 0);
        EXPECT_DECODE(dec, &b, XW_AVRO_EGARBLED,
                      "field object_ids[1]: string is not valid UTF-8");
        xw_buf_setlen(&b, mark);
        put_long(&b, -2);
        put_long(&b, 6);
        put_str(&b, "n1");
        put_str(&b, "n2");
        put_long(&b, 1);
        put_str(&b, "n3");
        put_long(&b, 0);
        ASSERT_EQ(xw_avro_decode(dec, b.data, b.len, &t, &v, &err), 0);
        {
            size_t n;
            const char *s;
            ASSERT_EQ(xw_avro_array_size(v, "object_ids", &n), 0);
            ASSERT_EQ(n, 3);
            ASSERT_EQ(xw_avro_array_get_string(v, "object_ids", 2, &s, NULL),
                      0);
            ASSERT_STR_EQ(s, "n3");
        }
    }

    /* header problems */
    put_terminated_prefix(&b);
    put_long(&b, 0);
    b.data[1] = 0x02;
    EXPECT_DECODE(dec, &b, XW_AVRO_EMARKER, "c3 01");
    b.data[1] = 0x01;
    b.data[5] ^= 0x40;
    EXPECT_DECODE(dec, &b, XW_AVRO_EUNKNOWN, "unknown schema fingerprint 0x");
    xw_buf_setlen(&b, 9);
    EXPECT_DECODE(dec, &b, XW_AVRO_ESHORT, "9 bytes");
    xw_buf_setlen(&b, 1);
    EXPECT_DECODE(dec, &b, XW_AVRO_ESHORT, "bytes is shorter");
    xw_buf_setlen(&b, 0);
    EXPECT_DECODE(dec, &b, XW_AVRO_ESHORT, "bytes is shorter");

    xw_buf_release(&b);
    xw_avro_decoder_free(dec);
}

/* Hostile messages that move one big string from slot to slot of an
 * array would make a cached value keep a big buffer in every slot; the
 * decoder frees a value that grew past its budget. */
static void test_decoder_bounded_retention(void)
{
    enum { SLOTS = 64, BIG = 64 * 1024 };
    xw_avro_decoder *dec;
    xw_buf b = XW_BUF_INIT;
    char *big = malloc(BIG + 1);
    size_t max_retained = 0;
    int k, j;

    ASSERT(big != NULL);
    memset(big, 'x', BIG);
    big[BIG] = '\0';
    ASSERT_EQ(xw_avro_decoder_new(&dec, reg), 0);
    xw_avro_decoder_set_retain_max(dec, (size_t)1 << 20);
    for (k = 0; k < SLOTS; k++) {
        const xw_avro_type *t;
        avro_value_t *v;
        xw_avro_err err;
        size_t len;
        const char *s;

        put_header(&b, "BasketChanged");
        put_str(&b, "e");
        put_long(&b, 1);
        put_str(&b, "a");
        put_str(&b, "c");
        put_str(&b, "ws");
        put_str(&b, "u");
        put_long(&b, 0);
        put_long(&b, SLOTS);
        for (j = 0; j < SLOTS; j++)
            put_str(&b, j == k ? big : "n");
        put_long(&b, 0);
        ASSERT_EQ(xw_avro_decode(dec, b.data, b.len, &t, &v, &err), 0);
        ASSERT_EQ(xw_avro_array_get_string(v, "object_ids", (size_t)k, &s,
                                           &len), 0);
        ASSERT_EQ(len, BIG);
        if (xw_avro_decoder_retained(dec) > max_retained)
            max_retained = xw_avro_decoder_retained(dec);
    }
    /* untrimmed it would be SLOTS * BIG = 4 MiB */
    ASSERT_GT(max_retained, (size_t)1 << 19);
    ASSERT_LE(max_retained, ((size_t)1 << 20) + 2 * BIG + 16 * 1024);
    xw_avro_decoder_free(dec);
    xw_buf_release(&b);
    free(big);
}

static void test_peek_and_decode_into(void)
{
    size_t len;
    char *bin = load_bin("ObjectResult", &len);
    char *other = NULL;
    size_t olen;
    const xw_avro_type *t;
    xw_avro_value v;
    xw_avro_err err;
    const char *s;

    ASSERT(bin != NULL);
    ASSERT_EQ(xw_avro_peek_type(reg, bin, len, &t, &err), 0);
    ASSERT_STR_EQ(t->short_name, "ObjectResult");
    ASSERT_EQ(xw_avro_value_init(&v, t), 0);
    ASSERT_EQ(xw_avro_decode_into(reg, &v, bin, len, &err), 0);
    ASSERT_EQ(xw_avro_get_string(&v.value, "object_id", &s, NULL), 0);
    ASSERT_STR_EQ(s, "n-1");
    {   /* the first field without decoding: the event id */
        const char *id, *peeked;
        size_t idlen;

        ASSERT_EQ(xw_avro_get_string(&v.value, "event_id", &id, NULL), 0);
        ASSERT_EQ(xw_avro_peek_string(bin, len, &peeked, &idlen, &err), 0);
        ASSERT_EQ(idlen, strlen(id));
        ASSERT(memcmp(peeked, id, idlen) == 0);
        ASSERT_EQ(xw_avro_peek_string(bin, 11, &peeked, &idlen, &err),
                  XW_AVRO_ETRUNCATED);
        ASSERT_EQ(xw_avro_peek_string(bin, 9, &peeked, &idlen, NULL),
                  XW_AVRO_ESHORT);
    }
    other = load_bin("Probe", &olen);
    ASSERT(other != NULL);
    ASSERT_EQ(xw_avro_decode_into(reg, &v, other, olen, &err), XW_AVRO_ETYPE);
    ASSERT(strstr(err.msg, "message is a Probe, expected ObjectResult") != NULL);
    ASSERT_EQ(xw_avro_get_string(&v.value, "object_id", &s, NULL), 0);
    ASSERT_STR_EQ(s, "");   /* reset on failure */
    bin[9] ^= 1;
    ASSERT_EQ(xw_avro_decode_into(reg, &v, bin, len, &err), XW_AVRO_EUNKNOWN);
    xw_avro_value_release(&v);
    xw_avro_value_release(&v);  /* twice is harmless */
    free(bin);
    free(other);
}

/* Producer-side API on ObjectResult, ObjectMapped and WorkspaceUpserted. */
static void test_setters_getters(void)
{
    xw_avro_value v;
    avro_value_t obj, e;
    const char *s, *sym;
    size_t len, n;
    int64_t l;
    int32_t i32;
    bool b;
    const void *p;

    ASSERT_EQ(xw_avro_value_init(&v, xw_avro_type_find(reg, "ObjectResult")),
              0);
    /* fresh value: zero values, optionals null */
    ASSERT_EQ(xw_avro_get_string(&v.value, "object_id", &s, &len), 0);
    ASSERT_STR_EQ(s, "");
    ASSERT_EQ(xw_avro_get_enum(&v.value, "outcome", &sym), 0);
    ASSERT_STR_EQ(sym, "deployed");
    ASSERT_EQ(xw_avro_is_null(&v.value, "reason"), 1);
    ASSERT_EQ(xw_avro_is_null(&v.value, "object_id"), 0);
    ASSERT_EQ(xw_avro_get_string(&v.value, "reason", &s, &len),
              XW_AVRO_ABSENT);
    ASSERT(s == NULL && len == 0);

    ASSERT_EQ(xw_avro_set_string(&v.value, "object_id", "n-1"), 0);
    ASSERT_EQ(xw_avro_set_string_len(&v.value, "object_name", "ods_x", 3), 0);
    ASSERT_EQ(xw_avro_set_int(&v.value, "attempt", 2), 0);
    ASSERT_EQ(xw_avro_set_long(&v.value, "version", 9000000000LL), 0);
    ASSERT_EQ(xw_avro_set_enum(&v.value, "outcome", "failed"), 0);
    ASSERT_EQ(xw_avro_set_enum(&v.value, "kind", "resource"), 0);
    ASSERT_EQ(xw_avro_set_string(&v.value, "reason", "no mapping"), 0);
    ASSERT_EQ(xw_avro_set_long(&v.value, "effective_at", 1764262800000LL), 0);

    ASSERT_EQ(xw_avro_get_string(&v.value, "object_id", &s, &len), 0);
    ASSERT_STR_EQ(s, "n-1");
    ASSERT_EQ(len, 3);
    ASSERT_EQ(xw_avro_get_string(&v.value, "object_name", &s, &len), 0);
    ASSERT_STR_EQ(s, "ods");
    ASSERT_EQ(xw_avro_get_int(&v.value, "attempt", &i32), 0);
    ASSERT_EQ(i32, 2);
    ASSERT_EQ(xw_avro_get_long(&v.value, "version", &l), 0);
    ASSERT_EQ(l, 9000000000LL);
    ASSERT_EQ(xw_avro_get_enum(&v.value, "outcome", &sym), 0);
    ASSERT_STR_EQ(sym, "failed");
    ASSERT_EQ(xw_avro_get_string(&v.value, "reason", &s, NULL), 0);
    ASSERT_STR_EQ(s, "no mapping");
    ASSERT_EQ(xw_avro_get_long(&v.value, "effective_at", &l), 0);
    ASSERT_EQ(l, 1764262800000LL);
    ASSERT_EQ(xw_avro_get_long(&v.value, "replaced_version", &l),
              XW_AVRO_ABSENT);

    /* clearing an optional; NULL string means null */
    ASSERT_EQ(xw_avro_set_null(&v.value, "effective_at"), 0);
    ASSERT_EQ(xw_avro_is_null(&v.value, "effective_at"), 1);
    ASSERT_EQ(xw_avro_set_string(&v.value, "reason", NULL), 0);
    ASSERT_EQ(xw_avro_is_null(&v.value, "reason"), 1);

    /* errors change nothing */
    ASSERT_EQ(xw_avro_set_string(&v.value, "no_such", "x"), XW_AVRO_ENOFIELD);
    ASSERT_EQ(xw_avro_set_long(&v.value, "attempt", 1), XW_AVRO_ETYPE);
    ASSERT_EQ(xw_avro_set_int(&v.value, "object_id", 1), XW_AVRO_ETYPE);
    ASSERT_EQ(xw_avro_set_enum(&v.value, "outcome", "exploded"),
              XW_AVRO_ESYMBOL);
    ASSERT_EQ(xw_avro_get_enum(&v.value, "outcome", &sym), 0);
    ASSERT_STR_EQ(sym, "failed");
    ASSERT_EQ(xw_avro_set_string(&v.value, "object_id", "bad\xff"),
              XW_AVRO_EVALUE);
    ASSERT_EQ(xw_avro_set_string(&v.value, "reason", "\xe2\x82"),
              XW_AVRO_EVALUE);
    ASSERT_EQ(xw_avro_is_null(&v.value, "reason"), 1);
    ASSERT_EQ(xw_avro_set_string(&v.value, "nope", "\xff"), XW_AVRO_ENOFIELD);
    ASSERT_EQ(xw_avro_set_null(&v.value, "object_id"), XW_AVRO_ETYPE);
    ASSERT_EQ(xw_avro_get_long(&v.value, "attempt", &l), XW_AVRO_ETYPE);
    ASSERT_EQ(xw_avro_get_bool(&v.value, "nope", &b), XW_AVRO_ENOFIELD);
    ASSERT_EQ(xw_avro_set_string(&v.value, "reason_code", "A"), 0);
    ASSERT_EQ(xw_avro_get_long(&v.value, "reason_code", &l), XW_AVRO_ETYPE);

    ASSERT_EQ(xw_avro_set_envelope(&v.value, "e-9", 5, "bob", "c-9"), 0);
    ASSERT_EQ(xw_avro_get_string(&v.value, "correlation_id", &s, NULL), 0);
    ASSERT_STR_EQ(s, "c-9");
    ASSERT_EQ(xw_avro_get_long(&v.value, "occurred_at", &l), 0);
    ASSERT_EQ(l, 5);

    /* reset: back to zero values and null optionals, memory kept */
    xw_avro_value_reset(&v);
    ASSERT_EQ(xw_avro_get_string(&v.value, "object_id", &s, NULL), 0);
    ASSERT_STR_EQ(s, "");
    ASSERT_EQ(xw_avro_is_null(&v.value, "reason_code"), 1);
    ASSERT_EQ(xw_avro_get_int(&v.value, "attempt", &i32), 0);
    ASSERT_EQ(i32, 0);
    xw_avro_value_release(&v);

    /* nested record, arrays of strings and of records */
    ASSERT_EQ(xw_avro_value_init(&v, xw_avro_type_find(reg, "ObjectMapped")),
              0);
    ASSERT_EQ(xw_avro_set_record(&v.value, "object", &obj), 0);
    ASSERT(xw_avro_value_type(&obj) == NULL);   /* not an event */
    ASSERT_EQ(xw_avro_set_string(&obj, "resource_group", "rg_prod"), 0);
    ASSERT_EQ(xw_avro_set_string(&obj, "scheduled_time", "02:30"), 0);
    ASSERT_EQ(xw_avro_array_append_string(&obj, "data_sources", "a"), 0);
    ASSERT_EQ(xw_avro_array_append_string(&obj, "data_sources", "b"), 0);
    ASSERT_EQ(xw_avro_array_append_string(&obj, "data_sources", "\xc3"),
              XW_AVRO_EVALUE);
    ASSERT_EQ(xw_avro_array_append(&obj, "parameters", &e), 0);
    ASSERT_EQ(xw_avro_set_string(&e, "name", "bizdate"), 0);
    ASSERT_EQ(xw_avro_set_string(&e, "value", "$bizdate"), 0);
    ASSERT_EQ(xw_avro_array_append_string(&obj, "parameters", "x"),
              XW_AVRO_ETYPE);
    ASSERT_EQ(xw_avro_get_record(&v.value, "object", &obj), 0);
    ASSERT_EQ(xw_avro_array_size(&obj, "data_sources", &n), 0);
    ASSERT_EQ(n, 2);
    ASSERT_EQ(xw_avro_array_get_string(&obj, "data_sources", 1, &s, &len), 0);
    ASSERT_STR_EQ(s, "b");
    ASSERT_EQ(xw_avro_array_get_string(&obj, "data_sources", 2, &s, &len),
              XW_AVRO_ERANGE);
    ASSERT_EQ(xw_avro_array_get(&obj, "parameters", 0, &e), 0);
    ASSERT_EQ(xw_avro_get_string(&e, "value", &s, NULL), 0);
    ASSERT_STR_EQ(s, "$bizdate");
    ASSERT_EQ(xw_avro_array_clear(&obj, "data_sources"), 0);
    ASSERT_EQ(xw_avro_array_size(&obj, "data_sources", &n), 0);
    ASSERT_EQ(n, 0);
    xw_avro_value_release(&v);

    /* array of enums; bytes */
    ASSERT_EQ(xw_avro_value_init(&v, xw_avro_type_find(reg,
                                                       "WorkspaceUpserted")),
              0);
    ASSERT_EQ(xw_avro_set_record(&v.value, "workspace", &obj), 0);
    ASSERT_EQ(xw_avro_array_append(&obj, "members", &e), 0);
    ASSERT_EQ(xw_avro_set_string(&e, "user", "u-1"), 0);
    ASSERT_EQ(xw_avro_array_append_enum(&e, "roles", "om"), 0);
    ASSERT_EQ(xw_avro_array_append_enum(&e, "roles", "deploy"), 0);
    ASSERT_EQ(xw_avro_array_append_enum(&e, "roles", "root"), XW_AVRO_ESYMBOL);
    ASSERT_EQ(xw_avro_array_get_enum(&e, "roles", 1, &sym), 0);
    ASSERT_STR_EQ(sym, "deploy");
    ASSERT_EQ(xw_avro_array_size(&e, "roles", &n), 0);
    ASSERT_EQ(n, 2);
    xw_avro_value_release(&v);

    ASSERT_EQ(xw_avro_value_init(&v, xw_avro_type_find(reg, "DeadLetter")), 0);
    ASSERT_EQ(xw_avro_set_envelope(&v.value, "e-1", 1, NULL, NULL), 0);
    ASSERT_EQ(xw_avro_set_envelope(&v.value, "e-1", 1, "x", NULL),
              XW_AVRO_ENOFIELD);
    ASSERT_EQ(xw_avro_set_bytes(&v.value, "payload", "\0\1\2", 3), 0);
    ASSERT_EQ(xw_avro_get_bytes(&v.value, "payload", &p, &len), 0);
    ASSERT_EQ(len, 3);
    ASSERT(memcmp(p, "\0\1\2", 3) == 0);
    ASSERT_EQ(xw_avro_get_bytes(&v.value, "key", &p, &len), XW_AVRO_ABSENT);
    ASSERT_EQ(xw_avro_set_bytes(&v.value, "key", "k", 1), 0);
    ASSERT_EQ(xw_avro_get_bytes(&v.value, "key", &p, &len), 0);
    ASSERT_EQ(len, 1);
    xw_avro_value_release(&v);
}

/* The Probe every service forwards: decode, append a hop, encode. */
static void test_probe_forwarding(void)
{
    xw_avro_decoder *dec;
    xw_buf msg = XW_BUF_INIT;
    const xw_avro_type *t;
    avro_value_t *v, hop;
    xw_avro_err err;
    size_t len, n;
    char *bin = load_bin("Probe", &len);
    const char *svc;

    ASSERT(bin != NULL);
    ASSERT_EQ(xw_avro_decoder_new(&dec, reg), 0);
    xw_buf_add(&msg, bin, len);
    for (int i = 0; i < 3; i++) {
        ASSERT_EQ(xw_avro_decode(dec, msg.data, msg.len, &t, &v, &err), 0);
        ASSERT_EQ(xw_avro_array_append(v, "hops", &hop), 0);
        ASSERT_EQ(xw_avro_set_string(&hop, "service", i ? "deployer"
                                                        : "mapper"), 0);
        ASSERT_EQ(xw_avro_set_long(&hop, "at", 1764151200200LL + i), 0);
        ASSERT_EQ(xw_avro_encode(v, &msg, &err), 0);
    }
    ASSERT_EQ(xw_avro_decode(dec, msg.data, msg.len, &t, &v, &err), 0);
    ASSERT_EQ(xw_avro_array_size(v, "hops", &n), 0);
    ASSERT_EQ(n, 5);
    ASSERT_EQ(xw_avro_array_get(v, "hops", 4, &hop), 0);
    ASSERT_EQ(xw_avro_get_string(&hop, "service", &svc, NULL), 0);
    ASSERT_STR_EQ(svc, "deployer");
    xw_avro_decoder_free(dec);
    xw_buf_release(&msg);
    free(bin);
}

/* ObjectSpec from a decoded PackageCreated into a DeployStarted. */
static void test_copy_between_events(void)
{
    xw_avro_value pc, ds, om;
    avro_value_t src, dst, dobj;
    json_t *a, *b;

    ASSERT_EQ(xw_avro_value_init(&pc, xw_avro_type_find(reg,
                                                        "PackageCreated")), 0);
    ASSERT_EQ(xw_avro_value_init(&ds, xw_avro_type_find(reg,
                                                        "DeployStarted")), 0);
    ASSERT_EQ(xw_avro_value_init(&om, xw_avro_type_find(reg,
                                                        "ObjectMapped")), 0);
    ASSERT_EQ(fill_example(&pc, "PackageCreated"), 0);
    for (size_t i = 0; i < 2; i++) {
        ASSERT_EQ(xw_avro_array_get(&pc.value, "objects", i, &src), 0);
        ASSERT_EQ(xw_avro_array_append(&ds.value, "objects", &dst), 0);
        ASSERT_EQ(xw_avro_copy(&dst, &src), 0);
    }
    a = xw_avro_to_json(&src);
    b = xw_avro_to_json(&dst);
    ASSERT(a && b && json_equal(a, b));
    json_decref(a);
    json_decref(b);
    /* DestinationObject.resource_group is not optional: structure differs */
    ASSERT_EQ(xw_avro_set_record(&om.value, "object", &dobj), 0);
    ASSERT_EQ(xw_avro_set_string(&dobj, "id", "keep?"), 0);
    ASSERT_EQ(xw_avro_copy(&dobj, &src), XW_AVRO_ETYPE);
    {
        const char *s;
        xw_avro_get_string(&dobj, "id", &s, NULL);
        ASSERT_STR_EQ(s, "");   /* reset on failure */
    }
    /* whole events */
    ASSERT_EQ(xw_avro_copy(&ds.value, &pc.value), XW_AVRO_ETYPE);
    xw_avro_value_release(&pc);
    xw_avro_value_release(&ds);
    xw_avro_value_release(&om);
}

/* A nested record stored on its own: an ObjectSpec encoded from one event
 * reads back into another event's ObjectSpec; the header names the record,
 * so a record of another schema (or a damaged copy) is refused. */
static void test_record_encoding(void)
{
    xw_avro_value pc, ds, om;
    avro_value_t src, dst, dobj;
    xw_buf a = XW_BUF_INIT, b = XW_BUF_INIT;
    xw_avro_err err;
    json_t *j;

    ASSERT_EQ(xw_avro_value_init(&pc, xw_avro_type_find(reg,
                                                        "PackageCreated")), 0);
    ASSERT_EQ(xw_avro_value_init(&ds, xw_avro_type_find(reg,
                                                        "DeployStarted")), 0);
    ASSERT_EQ(xw_avro_value_init(&om, xw_avro_type_find(reg,
                                                        "ObjectMapped")), 0);
    ASSERT_EQ(fill_example(&pc, "PackageCreated"), 0);
    ASSERT_EQ(xw_avro_array_get(&pc.value, "objects", 1, &src), 0);
    ASSERT_EQ(xw_avro_encode_record(&src, &a, &err), 0);
    ASSERT_GT(a.len, XW_AVRO_HEADER_LEN);
    ASSERT_EQ(xw_avro_array_append(&ds.value, "objects", &dst), 0);
    ASSERT_EQ(xw_avro_set_string(&dst, "id", "overwritten"), 0);
    ASSERT_EQ(xw_avro_decode_record(&dst, a.data, a.len, &err), 0);
    j = xw_avro_to_json(&src);
    ASSERT(json_same(&dst, j));
    json_decref(j);
    ASSERT_EQ(xw_avro_encode_record(&dst, &b, &err), 0);
    ASSERT_EQ(a.len, b.len);
    ASSERT_EQ(memcmp(a.data, b.data, a.len), 0);
    /* A top-level record's own fingerprint is its type's: same bytes as
     * the single-object encoding. */
    ASSERT_EQ(xw_avro_encode_record(&pc.value, &b, &err), 0);
    {
        xw_buf c = XW_BUF_INIT;

        ASSERT_EQ(xw_avro_encode(&pc.value, &c, &err), 0);
        ASSERT_EQ(b.len, c.len);
        ASSERT_EQ(memcmp(b.data, c.data, c.len), 0);
        xw_buf_release(&c);
    }
    /* Refused: another record (DestinationObject), a damaged header, a
     * truncated body, trailing bytes; the target is reset each time. */
    ASSERT_EQ(xw_avro_set_record(&om.value, "object", &dobj), 0);
    ASSERT_EQ(xw_avro_decode_record(&dobj, a.data, a.len, &err),
              XW_AVRO_ETYPE);
    ASSERT_EQ(xw_avro_decode_record(&dst, a.data, a.len - 1, &err),
              XW_AVRO_ETRUNCATED);
    {
        const char *id;

        ASSERT_EQ(xw_avro_get_string(&dst, "id", &id, NULL), 0);
        ASSERT_STR_EQ(id, "");
    }
    ASSERT_EQ(xw_avro_decode_record(&dst, a.data, 5, &err), XW_AVRO_ESHORT);
    ASSERT_EQ(xw_buf_addch(&a, 0), 0);
    ASSERT_EQ(xw_avro_decode_record(&dst, a.data, a.len, &err),
              XW_AVRO_ETRAILING);
    a.data[0] = 0;
    ASSERT_EQ(xw_avro_decode_record(&dst, a.data, a.len - 1, &err),
              XW_AVRO_EMARKER);
    a.data[0] = (char)XW_AVRO_MARKER0;
    a.data[5] ^= 1;
    ASSERT_EQ(xw_avro_decode_record(&dst, a.data, a.len - 1, &err),
              XW_AVRO_ETYPE);
    xw_buf_release(&a);
    xw_buf_release(&b);
    xw_avro_value_release(&pc);
    xw_avro_value_release(&ds);
    xw_avro_value_release(&om);
}

/* Dropping the last appended elements; the next append gets a reset one. */
static void test_array_truncate(void)
{
    xw_avro_value ds;
    avro_value_t el;
    const char *id;
    size_t n;

    ASSERT_EQ(xw_avro_value_init(&ds, xw_avro_type_find(reg,
                                                        "DeployStarted")), 0);
    for (int i = 0; i < 3; i++) {
        ASSERT_EQ(xw_avro_array_append(&ds.value, "objects", &el), 0);
        ASSERT_EQ(xw_avro_set_string(&el, "id", "x"), 0);
    }
    ASSERT_EQ(xw_avro_array_truncate(&ds.value, "objects", 4), XW_AVRO_ERANGE);
    ASSERT_EQ(xw_avro_array_truncate(&ds.value, "objects", 1), 0);
    ASSERT_EQ(xw_avro_array_size(&ds.value, "objects", &n), 0);
    ASSERT_EQ(n, 1);
    ASSERT_EQ(xw_avro_array_append(&ds.value, "objects", &el), 0);
    ASSERT_EQ(xw_avro_get_string(&el, "id", &id, NULL), 0);
    ASSERT_STR_EQ(id, "");
    ASSERT_EQ(xw_avro_array_truncate(&ds.value, "chunk", 0), XW_AVRO_ETYPE);
    xw_avro_value_release(&ds);
}

/* Object i of a request made of the example's objects, ids n-<i>. */
static int fill_object(avro_value_t *spec, const json_t *objs, size_t i)
{
    xw_avro_json_error jerr;
    char id[24];

    snprintf(id, sizeof id, "n-%zu", i);
    if (xw_avro_from_json(spec, json_array_get(objs, i % json_array_size(objs)),
                          NULL, &jerr) < 0)
        return -1;
    return xw_avro_set_string(spec, "id", id);
}

/* An event encoded item by item (xw_avro_encode_body of one reused
 * element, then xw_avro_encode_items) is byte for byte the event encoded
 * whole: with the example's objects, with none, and with 300 (a two-byte
 * block count), as step 2 of the submit-listener streams them. */
static void test_encode_items(void)
{
    const xw_avro_type *t = xw_avro_type_find(reg, "ObjectsSubmitted");
    json_t *ex = load_example("ObjectsSubmitted"), *objs;
    xw_avro_value whole, streamed;
    xw_buf a = XW_BUF_INIT, b = XW_BUF_INIT, items = XW_BUF_INIT, small;
    xw_avro_json_error jerr;
    xw_avro_err err;
    avro_value_t el, spec, *dv;
    xw_avro_decoder *dec;
    const xw_avro_type *dt;
    size_t n, i;

    ASSERT(ex != NULL);
    ASSERT_EQ(xw_avro_value_init(&whole, t), 0);
    ASSERT_EQ(xw_avro_value_init(&streamed, t), 0);
    ASSERT_EQ(xw_avro_decoder_new(&dec, reg), 0);
    objs = json_object_get(ex, "objects");
    for (int round = 0; round < 3; round++) {
        size_t want = round == 0 ? json_array_size(objs) : round == 1 ? 0 : 300;

        /* the whole event */
        ASSERT_EQ(xw_avro_from_json(&whole.value, ex, NULL, &jerr), 0);
        ASSERT_EQ(xw_avro_array_clear(&whole.value, "objects"), 0);
        for (i = 0; i < want; i++) {
            ASSERT_EQ(xw_avro_array_append(&whole.value, "objects", &el), 0);
            ASSERT_EQ(fill_object(&el, objs, i), 0);
        }
        ASSERT_EQ(xw_avro_encode(&whole.value, &a, &err), 0);

        /* streamed: the envelope, one element reused, the items' bytes */
        xw_avro_value_reset(&streamed);
        ASSERT_EQ(xw_avro_set_envelope(&streamed.value,
                                       json_string_value(json_object_get(ex, "event_id")),
                                       json_integer_value(json_object_get(ex, "occurred_at")),
                                       json_string_value(json_object_get(ex, "actor")),
                                       json_string_value(json_object_get(ex, "correlation_id"))),
                  0);
        ASSERT_EQ(xw_avro_set_string(&streamed.value, "workspace_id",
                                     json_string_value(json_object_get(ex, "workspace_id"))),
                  0);
        ASSERT_EQ(xw_avro_array_append(&streamed.value, "objects", &spec), 0);
        xw_buf_reset(&items);
        for (i = 0; i < want; i++) {
            ASSERT_EQ(fill_object(&spec, objs, i), 0);
            ASSERT_EQ(xw_avro_encode_body(&spec, &items, &err), 0);
        }
        ASSERT_EQ(xw_avro_encode_items(&streamed.value, "objects", want,
                                       items.data, items.len, &b, &err), 0);
        ASSERT_EQ(a.len, b.len);
        ASSERT_EQ(memcmp(a.data, b.data, a.len), 0);
        ASSERT_EQ(xw_avro_decode(dec, b.data, b.len, &dt, &dv, &err), 0);
        ASSERT(dt == t);
        ASSERT_EQ(xw_avro_array_size(dv, "objects", &n), 0);
        ASSERT_EQ(n, want);
    }

    /* refused: not the last field, not an event, bytes without a count */
    ASSERT_EQ(xw_avro_encode_items(&streamed.value, "workspace_id", 1,
                                   items.data, items.len, &b, &err),
              XW_AVRO_ENOFIELD);
    ASSERT_EQ(b.len, 0);
    ASSERT_EQ(xw_avro_encode_items(&spec, "objects", 1, items.data,
                                   items.len, &b, &err), XW_AVRO_ETYPE);
    ASSERT_EQ(xw_avro_encode_items(&streamed.value, "objects", 0, "x", 1,
                                   &b, &err), XW_AVRO_EVALUE);
    /* a body that does not fit leaves the buffer as it was */
    xw_buf_init(&small, 8);
    ASSERT_EQ(xw_buf_adds(&small, "abc"), 0);
    ASSERT_EQ(xw_avro_encode_body(&spec, &small, &err), XW_AVRO_ELIMIT);
    ASSERT_EQ(small.len, 3);
    ASSERT_STR_EQ(small.data, "abc");
    xw_buf_release(&small);

    xw_avro_decoder_free(dec);
    xw_avro_value_release(&whole);
    xw_avro_value_release(&streamed);
    xw_buf_release(&a);
    xw_buf_release(&b);
    xw_buf_release(&items);
    json_decref(ex);
}

static void test_utf8(void)
{
    static const struct {
        const char *s;
        int ok;
    } cases[] = {
        { "", 1 }, { "plain", 1 }, { "caf\xc3\xa9", 1 },
        { "\xe6\x97\xa5\xe6\x9c\xac", 1 }, { "\xf0\x9f\x9a\x80", 1 },
        { "\xf4\x8f\xbf\xbf", 1 },                 /* U+10FFFF */
        { "\xc3", 0 }, { "\xc0\xaf", 0 }, { "\xe0\x80\xaf", 0 },
        { "\xed\xa0\x80", 0 },                       /* surrogate */
        { "\xf4\x90\x80\x80", 0 },                  /* > U+10FFFF */
        { "\xf8\x88\x80\x80\x80", 0 }, { "\x80", 0 }, { "a\xff" "b", 0 },
        { "\xe2\x82", 0 },
    };
    size_t i;

    char buf[48];

    for (i = 0; i < sizeof cases / sizeof cases[0]; i++)
        if (xw_avro_utf8_valid(cases[i].s, strlen(cases[i].s)) != cases[i].ok)
            XW_FAIL_("case %zu", i);
    ASSERT_EQ(xw_avro_utf8_valid("a\0b", 3), 1);
    /* ASCII is skipped a word at a time: a bad byte, a good sequence and a
     * sequence cut by the end are seen at every offset of every length. */
    for (size_t len = 1; len <= 40; len++) {
        for (size_t at = 0; at < len; at++) {
            memset(buf, 'a', sizeof buf);
            buf[at] = (char)0xff;
            ASSERT_EQ(xw_avro_utf8_valid(buf, len), 0);
            buf[at] = '\0';
            ASSERT_EQ(xw_avro_utf8_valid(buf, len), 1);
            if (at + 2 <= len) {
                memcpy(buf + at, "\xc3\xa9", 2);
                ASSERT_EQ(xw_avro_utf8_valid(buf, len), 1);
                ASSERT_EQ(xw_avro_utf8_valid(buf, at + 1), 0);
            }
        }
    }
}

/* Name lookups (fields, enum symbols) agree with a linear search, for
 * every field of every event, nested ones included, and for near misses
 * (a name one letter short or long, another case, empty). */
static long linear_index(avro_value_t *rec, const char *name)
{
    size_t n = 0, i;

    avro_value_get_size(rec, &n);
    for (i = 0; i < n; i++) {
        avro_value_t c;
        const char *fname = NULL;

        if (avro_value_get_by_index(rec, i, &c, &fname) == 0 && fname
            && strcmp(fname, name) == 0)
            return (long)i;
    }
    return -1;
}

static void check_symbols(avro_value_t *rec, const char *field,
                          avro_schema_t es)
{
    int k, nsym = avro_schema_enum_number_of_symbols(es);
    const char *got;
    char miss[128];

    for (k = 0; k < nsym; k++) {
        const char *sym = avro_schema_enum_get(es, k);

        ASSERT_EQ(xw_avro_set_enum(rec, field, sym), 0);
        ASSERT_EQ(xw_avro_get_enum(rec, field, &got), 0);
        ASSERT_STR_EQ(got, sym);
        snprintf(miss, sizeof miss, "%sx", sym);
        ASSERT_EQ(xw_avro_set_enum(rec, field, miss), XW_AVRO_ESYMBOL);
        snprintf(miss, sizeof miss, "%.*s", (int)strlen(sym) - 1, sym);
        if (avro_schema_enum_get_by_name(es, miss) < 0)
            ASSERT_EQ(xw_avro_set_enum(rec, field, miss), XW_AVRO_ESYMBOL);
    }
    ASSERT_EQ(xw_avro_set_enum(rec, field, ""), XW_AVRO_ESYMBOL);
    ASSERT_EQ(xw_avro_set_enum(rec, field, NULL), XW_AVRO_ESYMBOL);
}

static void check_names(avro_value_t *rec, int depth)
{
    size_t n, i, ix;

    ASSERT_LT(depth, 8);
    ASSERT_EQ(avro_value_get_size(rec, &n), 0);
    for (i = 0; i < n; i++) {
        avro_value_t c, byname, el;
        const char *name;
        char miss[128];
        size_t len;

        ASSERT_EQ(avro_value_get_by_index(rec, i, &c, &name), 0);
        ASSERT_EQ(avro_value_get_by_name(rec, name, &byname, &ix), 0);
        ASSERT_EQ(ix, i);
        ASSERT(byname.self == c.self);
        len = strlen(name);
        snprintf(miss, sizeof miss, "%s_", name);
        ASSERT_EQ(xw_avro_is_null(rec, miss) == XW_AVRO_ENOFIELD,
                  linear_index(rec, miss) < 0);
        snprintf(miss, sizeof miss, "%.*s", (int)len - 1, name);
        ASSERT_EQ(xw_avro_is_null(rec, miss) == XW_AVRO_ENOFIELD,
                  linear_index(rec, miss) < 0);
        snprintf(miss, sizeof miss, "%s", name);
        miss[0] = (char)(miss[0] ^ 0x20);
        ASSERT_EQ(xw_avro_is_null(rec, miss), XW_AVRO_ENOFIELD);
        if (avro_value_get_type(&c) == AVRO_UNION) {
            avro_value_t b;
            avro_schema_t us = avro_value_get_schema(&c);

            /* Optional records and enums: look inside the non-null
             * branch. */
            for (int k = 0; k < (int)avro_schema_union_size(us); k++)
                if (avro_typeof(avro_schema_union_branch(us, k)) != AVRO_NULL)
                    ASSERT_EQ(avro_value_set_branch(&c, k, &b), 0);
            if (avro_value_get_current_branch(&c, &b) == 0)
                c = b;
        }
        switch (avro_value_get_type(&c)) {
        case AVRO_RECORD:
            check_names(&c, depth + 1);
            break;
        case AVRO_ENUM:
            check_symbols(rec, name, avro_value_get_schema(&c));
            break;
        case AVRO_ARRAY:
            ASSERT_EQ(avro_value_append(&c, &el, NULL), 0);
            if (avro_value_get_type(&el) == AVRO_RECORD) {
                check_names(&el, depth + 1);
            } else if (avro_value_get_type(&el) == AVRO_ENUM) {
                avro_schema_t es = avro_value_get_schema(&el);
                const char *got;

                for (int k = 0; k < avro_schema_enum_number_of_symbols(es);
                     k++) {
                    const char *sym = avro_schema_enum_get(es, k);

                    ASSERT_EQ(xw_avro_array_append_enum(rec, name, sym), 0);
                    ASSERT_EQ(xw_avro_array_get_enum(rec, name, (size_t)k + 1,
                                                     &got), 0);
                    ASSERT_STR_EQ(got, sym);
                    snprintf(miss, sizeof miss, "%sx", sym);
                    ASSERT_EQ(xw_avro_array_append_enum(rec, name, miss),
                              XW_AVRO_ESYMBOL);
                }
            }
            break;
        default:
            break;
        }
    }
    ASSERT_EQ(xw_avro_is_null(rec, ""), XW_AVRO_ENOFIELD);
    ASSERT_EQ(xw_avro_is_null(rec, NULL), XW_AVRO_ENOFIELD);
}

static void test_name_lookup(void)
{
    for (size_t i = 0; i < xw_avro_registry_count(reg); i++) {
        xw_avro_value v;

        ASSERT_EQ(xw_avro_value_init(&v, xw_avro_registry_type(reg, i)), 0);
        check_names(&v.value, 0);
        xw_avro_value_release(&v);
    }
}

static void test_encode_errors(void)
{
    xw_avro_value v;
    avro_value_t obj;
    xw_buf out;
    xw_avro_err err;

    ASSERT_EQ(xw_avro_value_init(&v, xw_avro_type_find(reg, "ObjectMapped")),
              0);
    ASSERT_EQ(xw_avro_set_record(&v.value, "object", &obj), 0);
    xw_buf_init(&out, 0);
    ASSERT_EQ(xw_avro_encode(&obj, &out, &err), XW_AVRO_ETYPE);
    ASSERT_EQ(out.len, 0);
    ASSERT_EQ(xw_avro_encode(&v.value, &out, &err), 0);
    xw_buf_release(&out);
    xw_buf_init(&out, 40);
    ASSERT_EQ(xw_avro_encode(&v.value, &out, &err), 0);  /* ~30 bytes */
    ASSERT_EQ(xw_avro_set_string(&v.value, "package_id",
                                 "pkg-0000000000000000000000"), 0);
    ASSERT_EQ(xw_avro_encode(&v.value, &out, &err), XW_AVRO_ELIMIT);
    ASSERT_EQ(err.code, XW_AVRO_ELIMIT);
    ASSERT_EQ(out.len, 0);
    xw_buf_release(&out);
    xw_avro_value_release(&v);
    ASSERT_EQ(xw_avro_value_init(&v, xw_avro_type_find(reg, "Nope")),
              XW_AVRO_ETYPE);
    ASSERT(v.type == NULL);
    xw_avro_value_release(&v);
    ASSERT_STR_EQ(xw_avro_strerror(XW_AVRO_ETRUNCATED), "truncated body");
    ASSERT_STR_EQ(xw_avro_strerror(12345), "unknown error");
}

/* After warm-up, building, encoding and decoding allocate nothing:
 * strings, array slots and union branches are reused. Nor does the JSON of
 * a decoded value. A derived event id keeps its digest context per thread;
 * OpenSSL 3.0 still remakes the digest's state block on every init, so an
 * id costs one allocation (it cost two, with a context per call). */
static void test_hot_path_allocates_nothing(void)
{
#if XW_COUNT_ALLOCS
    const xw_avro_type *rt = xw_avro_type_find(reg, "ObjectResult");
    xw_avro_value v, pc;
    xw_avro_decoder *dec;
    xw_buf out = XW_BUF_INIT, js = XW_BUF_INIT;
    json_t *pcj = load_example("PackageCreated");
    xw_avro_json_error jerr;
    xw_avro_err err;
    const xw_avro_type *t;
    avro_value_t *dv, e;
    const char *s;
    char id[XW_UUID_LEN + 1];
    long before = 0, derive = 0, id_allocs = 0;
    int round;

    ASSERT(pcj != NULL);
    ASSERT_GT(allocs, 0);   /* the counter is live */
    ASSERT_EQ(xw_avro_value_init(&v, rt), 0);
    ASSERT_EQ(xw_avro_value_init(&pc, xw_avro_type_find(reg,
                                                        "PackageCreated")), 0);
    ASSERT_EQ(xw_avro_decoder_new(&dec, reg), 0);
    for (round = 0; round < 103; round++) {
        if (round == 3) {
            before = allocs;
            id_allocs = 0;
        }
        xw_avro_value_reset(&v);
        derive = allocs;
        xw_uuid_derive("deployer", "0b9f3c1e-6a43-4d7e-9a51-2f7c8d1e4b60",
                       round, id);
        id_allocs += allocs - derive;
        ASSERT_EQ(xw_avro_set_string(&v.value, "event_id", id), 0);
        ASSERT_EQ(xw_avro_set_long(&v.value, "occurred_at",
                                   1764151200123LL + round), 0);
        ASSERT_EQ(xw_avro_set_string(&v.value, "object_id", "n-1"), 0);
        ASSERT_EQ(xw_avro_set_enum(&v.value, "outcome",
                                   round % 2 ? "failed" : "deployed"), 0);
        if (round % 2) {
            ASSERT_EQ(xw_avro_set_string(&v.value, "reason_code",
                                         "NO_MAPPING"), 0);
            ASSERT_EQ(xw_avro_set_string(&v.value, "reason",
                                         "compute resource x is not mapped"),
                      0);
        } else {
            ASSERT_EQ(xw_avro_set_long(&v.value, "effective_at",
                                       1764262800000LL), 0);
        }
        ASSERT_EQ(xw_avro_encode(&v.value, &out, &err), 0);
        ASSERT_EQ(xw_avro_decode(dec, out.data, out.len, &t, &dv, &err), 0);
        ASSERT_EQ(xw_avro_get_string(dv, "object_id", &s, NULL), 0);
        xw_buf_reset(&js);
        ASSERT_EQ(xw_avro_json_write(dv, &js), 0);

        /* an event with arrays of records of strings */
        ASSERT_EQ(xw_avro_from_json(&pc.value, pcj, NULL, &jerr), 0);
        ASSERT_EQ(xw_avro_array_append(&pc.value, "excluded", &e), 0);
        ASSERT_EQ(xw_avro_set_string(&e, "object_id", "n-9"), 0);
        ASSERT_EQ(xw_avro_encode(&pc.value, &out, &err), 0);
        ASSERT_EQ(xw_avro_decode(dec, out.data, out.len, &t, &dv, &err), 0);
        ASSERT_EQ(xw_avro_array_get(dv, "objects", 1, &e), 0);
        ASSERT_EQ(xw_avro_get_string(&e, "owner", &s, NULL), 0);
    }
    ASSERT_EQ(allocs - before - id_allocs, 0);
    ASSERT_LE(id_allocs, 100);
    xw_avro_decoder_free(dec);
    xw_avro_value_release(&v);
    xw_avro_value_release(&pc);
    xw_buf_release(&out);
    xw_buf_release(&js);
    json_decref(pcj);
#else
    fprintf(stderr, "  (allocation count skipped under AddressSanitizer)\n");
#endif
}

int main(void)
{
    char eb[256];

    if (xw_avro_registry_open(&reg, eb, sizeof eb) != 0) {
        fprintf(stderr, "registry: %s\n", eb);
        return 1;
    }
    XW_RUN(test_registry_embedded);
    XW_RUN(test_registry_dir_matches_embedded);
    XW_RUN(test_registry_add_rejects);
    XW_RUN(test_registry_second_version);
    XW_RUN(test_roundtrip_every_event);
    XW_RUN(test_decode_every_truncation);
    XW_RUN(test_decode_every_bit_flip);
    XW_RUN(test_decode_crafted);
    XW_RUN(test_decoder_bounded_retention);
    XW_RUN(test_peek_and_decode_into);
    XW_RUN(test_setters_getters);
    XW_RUN(test_probe_forwarding);
    XW_RUN(test_copy_between_events);
    XW_RUN(test_record_encoding);
    XW_RUN(test_array_truncate);
    XW_RUN(test_encode_items);
    XW_RUN(test_utf8);
    XW_RUN(test_name_lookup);
    XW_RUN(test_encode_errors);
    XW_RUN(test_hot_path_allocates_nothing);
    xw_avro_registry_free(reg);
    return XW_REPORT();
}
