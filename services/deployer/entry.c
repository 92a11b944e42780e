/*
 * entry - see entry.h: the HTTP body written from Avro, the catalog entry
 * encoded from the object's Avro body, entries read back by decoding (Avro)
 * or by xw_jcanon's strict one-pass scan with jansson behind it (JSON).
 */
#include "entry.h"

#include <string.h>

#include "xw_avro_json.h"
#include "xw_catalog.h"
#include "xw_id.h"
#include "xw_jcanon.h"

/* --- writing --- */

/* Appends ,"name": - every member follows another (reopen() takes only
 * objects with members). The names are ours, plain ASCII: nothing to
 * escape. */
static int key(xw_buf *out, const char *name)
{
    if (xw_buf_add(out, ",\"", 2) < 0 || xw_buf_adds(out, name) < 0
        || xw_buf_add(out, "\":", 2) < 0)
        return -1;
    return 0;
}

/* An integer as jansson dumps it ("%lld"), through xw_dec, not printf:
 * every object has a few. */
static int add_int(xw_buf *out, int64_t v)
{
    char b[XW_DEC_MAX];

    return xw_buf_add(out, b, xw_dec(v, b));
}

static int member_int(xw_buf *out, const char *name, int64_t v)
{
    if (key(out, name) < 0)
        return -1;
    return add_int(out, v);
}

static int member_str(xw_buf *out, const char *name, const char *s)
{
    if (key(out, name) < 0)
        return -1;
    return xw_avro_json_write_string(out, s, strlen(s));
}

/* Appends text[0..len), a compact object with at least one member (the
 * writer's), without its closing brace, ready for more members. */
static int reopen(xw_buf *out, const char *text, size_t len)
{
    if (len < 6 || text[0] != '{' || text[len - 1] != '}')
        return -1;
    return xw_buf_add(out, text, len - 1);
}

int dp_entry_body(xw_buf *out, const char *obj, size_t len,
                  const struct dp_item *it)
{
    size_t saved = out->len;

    if (reopen(out, obj, len) < 0
        || member_str(out, "package_id", it->package_id) < 0
        || member_int(out, "attempt", it->attempt) < 0
        || member_str(out, "source_workspace", it->source_ws) < 0
        || member_str(out, "destination_workspace", it->dest_ws) < 0
        || member_int(out, "effective_at", it->effective_at) < 0
        || member_str(out, "effective_date", it->effective_date) < 0
        || member_str(out, "timing_rule", it->timing_rule) < 0
        || xw_buf_addch(out, '}') < 0) {
        xw_buf_setlen(out, saved);
        return -1;
    }
    return 0;
}

int dp_entry_encode(xw_buf *out, avro_value_t *entry, const void *obj,
                    size_t len, const struct dp_item *it, int64_t deployed_at)
{
    xw_avro_err ae;

    if (xw_avro_set_string(entry, "package_id", it->package_id) < 0
        || xw_avro_set_int(entry, "attempt", it->attempt) < 0
        || xw_avro_set_string(entry, "source_workspace", it->source_ws) < 0
        || xw_avro_set_string(entry, "destination_workspace",
                              it->dest_ws) < 0
        || xw_avro_set_long(entry, "effective_at", it->effective_at) < 0
        || xw_avro_set_string(entry, "effective_date",
                              it->effective_date) < 0
        || xw_avro_set_string(entry, "timing_rule", it->timing_rule) < 0
        || (it->has_replaced
                ? xw_avro_set_long(entry, "replaced_version",
                                   it->replaced_version)
                : xw_avro_set_null(entry, "replaced_version")) < 0
        || xw_avro_set_long(entry, "deployed_at", deployed_at) < 0
        || xw_avro_encode_record_head(entry, XW_CATALOG_OBJECT_FIELDS, obj,
                                      len, out, &ae) < 0) {
        xw_buf_reset(out);
        return -1;
    }
    return 0;
}

/* --- reading --- */

/* m takes the value of member v (called for each member of its name, so
 * the last one wins, as in jansson): 0, or -1 when the text does not hold
 * it (a string with an escape) and jansson must read it. */
static int member_take(struct dp_json_member *m, const xw_jcanon_member *v)
{
    const char *s;
    size_t len;

    switch (v->kind) {
    case XW_JCANON_INT:
        *m = (struct dp_json_member){ m->name, DP_JSON_INT,
                                      xw_jcanon_int(v->val), NULL, 0 };
        return 0;
    case XW_JCANON_STRING:
        if (xw_jcanon_str_raw(v->val, &s, &len) < 0)
            return -1;
        *m = (struct dp_json_member){ m->name, DP_JSON_STR, 0, s, len };
        return 0;
    default:
        *m = (struct dp_json_member){ m->name, DP_JSON_NONE, 0, NULL, 0 };
        return 0;
    }
}

/* m[0..n) from a canonical text: 0, or -1 when jansson must read it (not
 * canonical, or see member_take). */
static int members_scan(const char *text, size_t len,
                        struct dp_json_member *m, size_t n)
{
    xw_jcanon it;
    xw_jcanon_member v;
    int rc;

    xw_jcanon_open(&it, text, len);
    while ((rc = xw_jcanon_next(&it, &v)) == 1)
        for (size_t i = 0; i < n; i++)
            if (xw_jcanon_str_eq(v.key, m[i].name)
                && member_take(&m[i], &v) < 0)
                return -1;
    return rc;
}

static void members_clear(struct dp_json_member *m, size_t n)
{
    for (size_t i = 0; i < n; i++)
        m[i] = (struct dp_json_member){ m[i].name, DP_JSON_NONE, 0, NULL, 0 };
}

void dp_json_members(const char *text, size_t len, struct dp_json_member *m,
                     size_t n, json_t **tree)
{
    json_error_t je;

    *tree = NULL;
    members_clear(m, n);
    if (members_scan(text, len, m, n) == 0)
        return;
    /* Not canonical: jansson decides, invalid text reads as no member at
     * all. */
    members_clear(m, n);
    *tree = json_loadb(text, len, 0, &je);
    for (size_t i = 0; i < n; i++) {
        json_t *v = json_object_get(*tree, m[i].name);

        if (json_is_integer(v)) {
            m[i].type = DP_JSON_INT;
            m[i].integer = json_integer_value(v);
        } else if (json_is_string(v)) {
            m[i].type = DP_JSON_STR;
            m[i].str = json_string_value(v);
            m[i].len = json_string_length(v);
        }
    }
}

/* m from field m->name of a decoded entry, as its JSON reads: long and
 * int are integers, strings strings (but for one holding a NUL, which
 * jansson refuses as \u0000, and which m could not carry); null and the
 * enums (no caller reads one) none. */
static void avro_member(const avro_value_t *entry, struct dp_json_member *m)
{
    int32_t i;

    if (xw_avro_get_long(entry, m->name, &m->integer) == 0) {
        m->type = DP_JSON_INT;
    } else if (xw_avro_get_int(entry, m->name, &i) == 0) {
        m->type = DP_JSON_INT;
        m->integer = i;
    } else if (xw_avro_get_string(entry, m->name, &m->str, &m->len) == 0
               && !memchr(m->str, '\0', m->len)) {
        m->type = DP_JSON_STR;
    } else {
        members_clear(m, 1);
    }
}

void dp_entry_members(avro_value_t *entry, const char *data, size_t len,
                      struct dp_json_member *m, size_t n, json_t **tree)
{
    xw_avro_err ae;
    int rc = xw_avro_decode_record(entry, data, len, &ae);

    if (rc == XW_AVRO_EMARKER) {
        dp_json_members(data, len, m, n, tree);
        return;
    }
    *tree = NULL;
    members_clear(m, n);
    for (size_t i = 0; rc == 0 && i < n; i++)
        avro_member(entry, &m[i]);
}
