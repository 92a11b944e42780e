/*
 * xw_avro_json - see xw_avro_json.h. Two walkers over the avro_value_t
 * interface: from_json (checks every rule, names the failing field) and
 * to_json.
 */
#include "xw_avro_json.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "xw_avro.h"
#include "xw_id.h"

/* --- helpers --- */

static const char b64chars[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

static size_t b64_len(size_t n)
{
    return (n + 2) / 3 * 4;
}

/* Writes the b64_len(n) characters of the base64 of p[0..n) (no NUL). */
static void b64_encode(const unsigned char *p, size_t n, char *out)
{
    size_t i, o = 0;

    for (i = 0; i + 2 < n; i += 3) {
        uint32_t v = (uint32_t)p[i] << 16 | (uint32_t)p[i + 1] << 8 | p[i + 2];
        out[o++] = b64chars[v >> 18];
        out[o++] = b64chars[(v >> 12) & 63];
        out[o++] = b64chars[(v >> 6) & 63];
        out[o++] = b64chars[v & 63];
    }
    if (i < n) {
        uint32_t v = (uint32_t)p[i] << 16 | (i + 1 < n ? (uint32_t)p[i + 1] << 8 : 0);
        out[o++] = b64chars[v >> 18];
        out[o++] = b64chars[(v >> 12) & 63];
        out[o++] = i + 1 < n ? b64chars[(v >> 6) & 63] : '=';
        out[o++] = '=';
    }
}

/* A new JSON string with the base64 of p[0..n). */
static json_t *b64_json(const unsigned char *p, size_t n)
{
    size_t olen = b64_len(n);
    char *out = malloc(olen + 1);
    json_t *j;

    if (!out)
        return NULL;
    b64_encode(p, n, out);
    j = json_stringn(out, olen);
    free(out);
    return j;
}

static int b64_val(char c)
{
    const char *p = c ? strchr(b64chars, c) : NULL;

    return p ? (int)(p - b64chars) : -1;
}

/* Strict decode (length a multiple of 4, padding only at the end) into a
 * new buffer. -1 on bad input, -2 when out of memory. */
static int b64_decode(const char *s, size_t n, unsigned char **out,
                      size_t *olen)
{
    size_t i, o = 0, pad = 0;
    unsigned char *buf;

    *out = NULL;
    *olen = 0;
    if (n % 4)
        return -1;
    if (n && s[n - 1] == '=')
        pad = (n >= 2 && s[n - 2] == '=') ? 2 : 1;
    buf = malloc(n / 4 * 3 + 1);
    if (!buf)
        return -2;
    for (i = 0; i < n; i += 4) {
        int last = i + 4 == n;
        int a = b64_val(s[i]), b = b64_val(s[i + 1]);
        int c = (last && pad == 2) ? 0 : b64_val(s[i + 2]);
        int d = (last && pad >= 1) ? 0 : b64_val(s[i + 3]);

        if (a < 0 || b < 0 || c < 0 || d < 0) {
            free(buf);
            return -1;
        }
        buf[o++] = (unsigned char)(a << 2 | b >> 4);
        if (!(last && pad == 2))
            buf[o++] = (unsigned char)((b & 15) << 4 | c >> 2);
        if (!(last && pad >= 1))
            buf[o++] = (unsigned char)((c & 3) << 6 | d);
    }
    *out = buf;
    *olen = o;
    return 0;
}

static avro_schema_t resolve(avro_schema_t s)
{
    while (s && is_avro_link(s))
        s = avro_schema_link_target(s);
    return s;
}

/* --- from_json --- */

typedef struct fj {
    xw_avro_json_limits lim;
    xw_avro_json_error *err;
    char path[256];
    size_t plen;
} fj;

static int fj_fail(fj *c, const char *rule, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int fj_fail(fj *c, const char *rule, const char *fmt, ...)
{
    char what[200];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(what, sizeof what, fmt, ap);
    va_end(ap);
    snprintf(c->err->field, sizeof c->err->field, "%s", c->path);
    c->err->rule = rule;
    /* Truncation is acceptable: the message is for humans and the full
     * path is in err->field. */
    if (snprintf(c->err->message, sizeof c->err->message, "%s%s%s",
                 c->path, c->plen ? ": " : "", what) < 0)
        c->err->message[0] = '\0';
    return -1;
}

/* Appends s[0..n) to the path, cut where the path is full (as snprintf
 * would cut it). */
static void path_add(fj *c, const char *s, size_t n)
{
    size_t room = sizeof c->path - 1 - c->plen;

    if (n > room)
        n = room;
    memcpy(c->path + c->plen, s, n);
    c->plen += n;
    c->path[c->plen] = '\0';
}

/* Every field of every item is pushed, and the path is read only for an
 * error: copied, not formatted (snprintf here was 4% of a step 2 POST). */
static size_t push_name(fj *c, const char *name)
{
    size_t old = c->plen;

    if (old)
        path_add(c, ".", 1);
    path_add(c, name, strlen(name));
    return old;
}

static size_t push_index(fj *c, size_t i)
{
    size_t old = c->plen;
    int n = snprintf(c->path + old, sizeof c->path - old, "[%zu]", i);

    c->plen = n < 0 || (size_t)n >= sizeof c->path - old
        ? strlen(c->path) : old + (size_t)n;
    return old;
}

static void pop(fj *c, size_t old)
{
    c->plen = old;
    c->path[old] = '\0';
}

static const char *kind_words(avro_type_t t)
{
    switch (t) {
    case AVRO_STRING: return "a string";
    case AVRO_BYTES:
    case AVRO_FIXED:  return "a base64 string";
    case AVRO_INT32:
    case AVRO_INT64:  return "an integer";
    case AVRO_FLOAT:
    case AVRO_DOUBLE: return "a number";
    case AVRO_BOOLEAN: return "true or false";
    case AVRO_NULL:   return "null";
    case AVRO_ENUM:   return "a string (enum symbol)";
    case AVRO_RECORD:
    case AVRO_MAP:    return "an object";
    case AVRO_ARRAY:  return "an array";
    default:          return "a value";
    }
}

static const char *json_words(const json_t *j)
{
    switch (json_typeof(j)) {
    case JSON_OBJECT:  return "an object";
    case JSON_ARRAY:   return "an array";
    case JSON_STRING:  return "a string";
    case JSON_INTEGER: return "an integer";
    case JSON_REAL:    return "a number";
    case JSON_TRUE:
    case JSON_FALSE:   return "a boolean";
    case JSON_NULL:    return "null";
    }
    return "something else";
}

static int fits(avro_type_t t, const json_t *j)
{
    switch (t) {
    case AVRO_STRING:
    case AVRO_BYTES:
    case AVRO_FIXED:
    case AVRO_ENUM:    return json_is_string(j);
    case AVRO_INT32:
    case AVRO_INT64:   return json_is_integer(j);
    case AVRO_FLOAT:
    case AVRO_DOUBLE:  return json_is_number(j);
    case AVRO_BOOLEAN: return json_is_boolean(j);
    case AVRO_NULL:    return json_is_null(j);
    case AVRO_RECORD:
    case AVRO_MAP:     return json_is_object(j);
    case AVRO_ARRAY:   return json_is_array(j);
    default:           return 0;
    }
}

static int fill(fj *c, avro_value_t *dst, const json_t *src);

static int fill_record(fj *c, avro_value_t *dst, const json_t *src)
{
    avro_schema_t schema = resolve(avro_value_get_schema(dst));
    const char *key;
    json_t *val;
    size_t i, n, old;
    int rc;

    if (!json_is_object(src))
        return fj_fail(c, "type", "expected an object, got %s",
                       json_words(src));
    /* Unknown members first: a misspelt field is reported as such rather
     * than as the correct name being missing. */
    json_object_foreach((json_t *)src, key, val) {
        if (avro_schema_record_field_get_index(schema, key) < 0) {
            old = push_name(c, key);
            rc = fj_fail(c, "unknown_field", "unknown field");
            pop(c, old);
            return rc;
        }
    }
    n = avro_schema_record_size(schema);
    for (i = 0; i < n; i++) {
        const char *name = avro_schema_record_field_name(schema, (int)i);
        const json_t *v = json_object_get(src, name);
        avro_value_t child;

        if (avro_value_get_by_index(dst, i, &child, NULL) != 0)
            return fj_fail(c, "internal", "cannot reach field %s", name);
        old = push_name(c, name);
        if (v) {
            rc = fill(c, &child, v);
        } else {
            const json_t *d = xw_avro_field_default(dst, i);

            rc = d ? fill(c, &child, d)
                   : fj_fail(c, "required", "required field is missing");
            if (rc < 0 && d && strcmp(c->err->rule, "required") != 0 &&
                strcmp(c->err->rule, "internal") != 0)
                c->err->rule = "internal";  /* the schema's default is bad */
        }
        pop(c, old);
        if (rc < 0)
            return rc;
    }
    return 0;
}

static int fill_union(fj *c, avro_value_t *dst, const json_t *src)
{
    avro_schema_t schema = resolve(avro_value_get_schema(dst));
    size_t i, n = avro_schema_union_size(schema);
    char expected[160];
    size_t elen = 0;

    for (i = 0; i < n; i++) {
        avro_schema_t b = resolve(avro_schema_union_branch(schema, (int)i));
        avro_value_t branch;

        if (!fits(avro_typeof(b), src))
            continue;
        if (avro_value_set_branch(dst, (int)i, &branch) != 0)
            return fj_fail(c, "internal", "cannot select union branch");
        return fill(c, &branch, src);
    }
    expected[0] = '\0';
    for (i = 0; i < n && elen < sizeof expected; i++) {
        avro_schema_t b = resolve(avro_schema_union_branch(schema, (int)i));
        int w = snprintf(expected + elen, sizeof expected - elen, "%s%s",
                         i ? (i + 1 == n ? " or " : ", ") : "",
                         kind_words(avro_typeof(b)));
        if (w < 0)
            break;
        elen += (size_t)w;
    }
    return fj_fail(c, "type", "expected %s, got %s", expected,
                   json_words(src));
}

static int fill_string(fj *c, avro_value_t *dst, const json_t *src,
                       avro_type_t t)
{
    const char *s = json_string_value(src);
    size_t len = json_string_length(src);

    if (t == AVRO_STRING) {
        if (c->lim.max_string && len > c->lim.max_string)
            return fj_fail(c, "max_length", "string of %zu bytes is longer "
                           "than the limit of %zu", len, c->lim.max_string);
        if (memchr(s, '\0', len))
            return fj_fail(c, "utf8", "string contains a NUL character");
        if (!xw_avro_utf8_valid(s, len))
            return fj_fail(c, "utf8", "string is not valid UTF-8");
        if (avro_value_set_string_len(dst, s, len + 1) != 0)
            return fj_fail(c, "internal", "cannot store the string");
        return 0;
    }
    if (t == AVRO_ENUM) {
        avro_schema_t schema = resolve(avro_value_get_schema(dst));
        int ix = avro_schema_enum_get_by_name(schema, s);

        if (ix < 0) {
            char syms[160];
            size_t sl = 0;
            int i, ns = avro_schema_enum_number_of_symbols(schema);

            syms[0] = '\0';
            for (i = 0; i < ns && sl < sizeof syms; i++) {
                int w = snprintf(syms + sl, sizeof syms - sl, "%s%s",
                                 i ? ", " : "",
                                 avro_schema_enum_get(schema, i));
                if (w < 0)
                    break;
                sl += (size_t)w;
            }
            return fj_fail(c, "enum", "\"%.40s\" is not one of: %s", s, syms);
        }
        if (avro_value_set_enum(dst, ix) != 0)
            return fj_fail(c, "internal", "cannot store the enum");
        return 0;
    }
    /* bytes, fixed: base64 */
    {
        unsigned char *buf;
        size_t n;
        int rc = b64_decode(s, len, &buf, &n);

        if (rc == -2)
            return fj_fail(c, "internal", "out of memory");
        if (rc < 0)
            return fj_fail(c, "type", "expected a base64 string");
        if (t == AVRO_BYTES && c->lim.max_string && n > c->lim.max_string)
            rc = fj_fail(c, "max_length", "%zu bytes is longer than the "
                         "limit of %zu", n, c->lim.max_string);
        else if (t == AVRO_BYTES)
            rc = avro_value_set_bytes(dst, buf, n) != 0
                ? fj_fail(c, "internal", "cannot store the bytes") : 0;
        else if ((int64_t)n != avro_schema_fixed_size(
                     resolve(avro_value_get_schema(dst))))
            rc = fj_fail(c, "type", "expected %lld bytes, got %zu",
                         (long long)avro_schema_fixed_size(
                             resolve(avro_value_get_schema(dst))), n);
        else
            rc = avro_value_set_fixed(dst, buf, n) != 0
                ? fj_fail(c, "internal", "cannot store the bytes") : 0;
        free(buf);
        return rc;
    }
}

static int fill(fj *c, avro_value_t *dst, const json_t *src)
{
    avro_type_t t = avro_value_get_type(dst);
    size_t i, old;
    int rc;

    if (t == AVRO_UNION)
        return fill_union(c, dst, src);
    if (!fits(t, src))
        return fj_fail(c, "type", "expected %s, got %s", kind_words(t),
                       json_words(src));
    switch (t) {
    case AVRO_NULL:
        return avro_value_set_null(dst) != 0
            ? fj_fail(c, "internal", "cannot set null") : 0;
    case AVRO_BOOLEAN:
        return avro_value_set_boolean(dst, json_is_true(src)) != 0
            ? fj_fail(c, "internal", "cannot set boolean") : 0;
    case AVRO_INT32: {
        json_int_t v = json_integer_value(src);
        if (v < INT32_MIN || v > INT32_MAX)
            return fj_fail(c, "range", "%lld does not fit a 32-bit integer",
                           (long long)v);
        return avro_value_set_int(dst, (int32_t)v) != 0
            ? fj_fail(c, "internal", "cannot set int") : 0;
    }
    case AVRO_INT64:
        return avro_value_set_long(dst, (int64_t)json_integer_value(src)) != 0
            ? fj_fail(c, "internal", "cannot set long") : 0;
    case AVRO_FLOAT:
        return avro_value_set_float(dst, (float)json_number_value(src)) != 0
            ? fj_fail(c, "internal", "cannot set float") : 0;
    case AVRO_DOUBLE:
        return avro_value_set_double(dst, json_number_value(src)) != 0
            ? fj_fail(c, "internal", "cannot set double") : 0;
    case AVRO_STRING:
    case AVRO_BYTES:
    case AVRO_FIXED:
    case AVRO_ENUM:
        return fill_string(c, dst, src, t);
    case AVRO_RECORD:
        return fill_record(c, dst, src);
    case AVRO_ARRAY: {
        size_t n = json_array_size(src);

        if (c->lim.max_items && n > c->lim.max_items)
            return fj_fail(c, "max_items", "%zu items is more than the limit "
                           "of %zu", n, c->lim.max_items);
        avro_value_reset(dst);
        for (i = 0; i < n; i++) {
            avro_value_t child;

            if (avro_value_append(dst, &child, NULL) != 0)
                return fj_fail(c, "internal", "out of memory");
            old = push_index(c, i);
            rc = fill(c, &child, json_array_get(src, i));
            pop(c, old);
            if (rc < 0)
                return rc;
        }
        return 0;
    }
    case AVRO_MAP: {
        const char *key;
        json_t *val;

        if (c->lim.max_items && json_object_size(src) > c->lim.max_items)
            return fj_fail(c, "max_items", "%zu entries is more than the "
                           "limit of %zu", json_object_size(src),
                           c->lim.max_items);
        avro_value_reset(dst);
        json_object_foreach((json_t *)src, key, val) {
            avro_value_t child;

            old = push_name(c, key);
            if (c->lim.max_string && strlen(key) > c->lim.max_string)
                rc = fj_fail(c, "max_length", "key longer than the limit");
            else if (avro_value_add(dst, key, &child, NULL, NULL) != 0)
                rc = fj_fail(c, "internal", "cannot add a map entry");
            else
                rc = fill(c, &child, val);
            pop(c, old);
            if (rc < 0)
                return rc;
        }
        return 0;
    }
    default:
        return fj_fail(c, "internal", "unsupported Avro type");
    }
}

int xw_avro_from_json(avro_value_t *dst, const json_t *src,
                      const xw_avro_json_limits *limits,
                      xw_avro_json_error *err)
{
    static const xw_avro_json_limits dflt = XW_AVRO_JSON_LIMITS_DEFAULT;
    fj c;
    int rc;

    memset(err, 0, sizeof *err);
    err->rule = "";
    c.lim = limits ? *limits : dflt;
    c.err = err;
    c.path[0] = '\0';
    c.plen = 0;
    if (avro_value_get_type(dst) != AVRO_RECORD)
        return fj_fail(&c, "internal", "destination is not a record");
    avro_value_reset(dst);
    rc = fill(&c, dst, src);
    if (rc < 0)
        avro_value_reset(dst);
    return rc;
}

/* --- to_json --- */

json_t *xw_avro_to_json(const avro_value_t *v)
{
    avro_value_t *mv = (avro_value_t *)v;   /* Avro C getters are not const */
    json_t *j = NULL;
    size_t i, n;

    switch (avro_value_get_type(v)) {
    case AVRO_NULL:
        return json_null();
    case AVRO_BOOLEAN: {
        int b = 0;
        avro_value_get_boolean(mv, &b);
        return json_boolean(b);
    }
    case AVRO_INT32: {
        int32_t x = 0;
        avro_value_get_int(mv, &x);
        return json_integer(x);
    }
    case AVRO_INT64: {
        int64_t x = 0;
        avro_value_get_long(mv, &x);
        return json_integer((json_int_t)x);
    }
    case AVRO_FLOAT: {
        float x = 0;
        avro_value_get_float(mv, &x);
        return isfinite(x) ? json_real(x) : json_null();
    }
    case AVRO_DOUBLE: {
        double x = 0;
        avro_value_get_double(mv, &x);
        return isfinite(x) ? json_real(x) : json_null();
    }
    case AVRO_STRING: {
        const char *s = NULL;
        size_t size = 0;
        if (avro_value_get_string(mv, &s, &size) != 0 || !s)
            return NULL;
        return json_stringn(s, size ? size - 1 : 0);
    }
    case AVRO_BYTES: {
        const void *p = NULL;
        size_t size = 0;
        if (avro_value_get_bytes(mv, &p, &size) != 0)
            return NULL;
        return b64_json(p, size);
    }
    case AVRO_FIXED: {
        const void *p = NULL;
        size_t size = 0;
        if (avro_value_get_fixed(mv, &p, &size) != 0)
            return NULL;
        return b64_json(p, size);
    }
    case AVRO_ENUM: {
        int ix = 0;
        const char *sym;
        avro_value_get_enum(mv, &ix);
        sym = avro_schema_enum_get(resolve(avro_value_get_schema(mv)), ix);
        return sym ? json_string(sym) : NULL;
    }
    case AVRO_UNION: {
        avro_value_t branch;
        if (avro_value_get_current_branch(mv, &branch) != 0)
            return json_null();
        return xw_avro_to_json(&branch);
    }
    case AVRO_RECORD:
    case AVRO_MAP:
        if (avro_value_get_size(mv, &n) != 0 || !(j = json_object()))
            return NULL;
        for (i = 0; i < n; i++) {
            avro_value_t child;
            const char *name = NULL;
            json_t *cj;

            if (avro_value_get_by_index(mv, i, &child, &name) != 0 || !name ||
                !(cj = xw_avro_to_json(&child)) ||
                json_object_set_new(j, name, cj) < 0) {
                json_decref(j);
                return NULL;
            }
        }
        return j;
    case AVRO_ARRAY:
        if (avro_value_get_size(mv, &n) != 0 || !(j = json_array()))
            return NULL;
        for (i = 0; i < n; i++) {
            avro_value_t child;
            json_t *cj;

            if (avro_value_get_by_index(mv, i, &child, NULL) != 0 ||
                !(cj = xw_avro_to_json(&child)) ||
                json_array_append_new(j, cj) < 0) {
                json_decref(j);
                return NULL;
            }
        }
        return j;
    default:
        return NULL;
    }
}

/* --- write: the same JSON as xw_avro_to_json + a compact jansson dump,
 * without building the tree (per-object hot paths: the packager's
 * nodes-to-deploy entries, the reporter's result projections) --- */

/* A walk writes a few bytes many times per value: room is checked inline
 * and xw_buf_grow called only when the allocation is too small or out's
 * cap would be passed (xw_buf_grow's own rules). The walk leaves out
 * without its NUL; xw_avro_json_write and _write_string put it back. */
static inline int jw_room(xw_buf *out, size_t n)
{
    if (out->len + n < out->alloc && (!out->cap || out->len + n <= out->cap))
        return 0;
    return xw_buf_grow(out, n);
}

static inline int jw_put(xw_buf *out, const void *p, size_t n)
{
    if (jw_room(out, n) < 0)
        return -1;
    memcpy(out->data + out->len, p, n);
    out->len += n;
    return 0;
}

/* 1 if none of the 8 bytes at p needs an escape ('"', '\\', below 0x20):
 * the usual case, tested a word at a time (a byte below n sets its high
 * bit in (w - n) & ~w; bytes after a hit may too, which is harmless). */
static inline int jw_plain8(const char *p)
{
    const uint64_t ones = UINT64_C(0x0101010101010101);
    uint64_t w, q, b;

    memcpy(&w, p, 8);
    q = w ^ (ones * '"');
    b = w ^ (ones * '\\');
    return ((((w - ones * 0x20) & ~w) | ((q - ones) & ~q) | ((b - ones) & ~b))
            & (ones * 0x80)) == 0;
}

/* A string literal, escaped as jansson does. `check`: validate the UTF-8
 * first (jansson refuses to dump invalid UTF-8; so do we) - not needed for
 * strings of an xw_avro value, checked when they were stored. */
static int jw_string(xw_buf *out, const char *s, size_t len, int check)
{
    static const char hex[] = "0123456789ABCDEF";
    size_t i, run = 0;

    if ((check && !xw_avro_utf8_valid(s, len)) || jw_room(out, len + 2) < 0)
        return -1;
    out->data[out->len++] = '"';
    for (i = 0; i < len; i++) {
        unsigned char ch;
        char esc[6] = { '\\', 0, '0', '0', 0, 0 };
        size_t elen = 2;

        while (len - i >= 8 && jw_plain8(s + i))
            i += 8;
        if (i == len)
            break;
        ch = (unsigned char)s[i];
        if (ch != '"' && ch != '\\' && ch >= 0x20)
            continue;
        /* Escapes exactly as jansson's dump_string (no ENSURE_ASCII, no
         * ESCAPE_SLASH): the two mandatory ones, the short control
         * escapes, else \u00XX in upper-case hex. */
        switch (ch) {
        case '"': esc[1] = '"'; break;
        case '\\': esc[1] = '\\'; break;
        case '\b': esc[1] = 'b'; break;
        case '\f': esc[1] = 'f'; break;
        case '\n': esc[1] = 'n'; break;
        case '\r': esc[1] = 'r'; break;
        case '\t': esc[1] = 't'; break;
        default:
            esc[1] = 'u';
            esc[4] = hex[ch >> 4];
            esc[5] = hex[ch & 15];
            elen = 6;
        }
        if (jw_put(out, s + run, i - run) < 0 || jw_put(out, esc, elen) < 0)
            return -1;
        run = i + 1;
    }
    return jw_put(out, s + run, len - run) < 0 || jw_put(out, "\"", 1) < 0
        ? -1 : 0;
}

int xw_avro_json_write_string(xw_buf *out, const char *s, size_t len)
{
    size_t saved = out->len;

    if (jw_string(out, s, len, 1) == 0) {
        xw_buf_setlen(out, out->len);
        return 0;
    }
    xw_buf_setlen(out, saved);
    return -1;
}

/* A field name or an enum symbol. Those of an xw_avro value are Avro names
 * ([A-Za-z_][A-Za-z0-9_]*, checked by the registry): nothing to check or
 * escape. */
static int jw_name(xw_buf *out, const char *name, int trusted)
{
    size_t len = strlen(name);

    if (!trusted)
        return jw_string(out, name, len, 1);
    if (jw_room(out, len + 2) < 0)
        return -1;
    out->data[out->len++] = '"';
    memcpy(out->data + out->len, name, len);
    out->len += len;
    out->data[out->len++] = '"';
    return 0;
}

static int jw_int(xw_buf *out, int64_t x)
{
    char b[XW_DEC_MAX];

    return jw_put(out, b, xw_dec(x, b));
}

/* A real as jansson 2.14 dumps it (jsonp_dtostr, precision 17): "%.17g",
 * ".0" added when it would read back as an integer, the exponent without
 * '+' or leading zeros. Non-finite values are null (as in to_json). */
static int jw_real(xw_buf *out, double x)
{
    char b[64], *e, *from, *to;

    if (!isfinite(x))
        return jw_put(out, "null", 4);
    snprintf(b, sizeof b - 2, "%.17g", x);
    for (char *p = b; *p; p++)
        if (*p == ',')
            *p = '.';            /* a locale with a decimal comma */
    if (!strchr(b, '.') && !strchr(b, 'e'))
        strcat(b, ".0");
    if ((e = strchr(b, 'e'))) {
        to = e + 1;
        from = to + 1;
        if (*to == '-')
            to++;
        while (*from == '0')
            from++;
        if (from != to)
            memmove(to, from, strlen(from) + 1);
    }
    return jw_put(out, b, strlen(b));
}

/* Base64 needs no escapes: written straight into out, quoted. */
static int jw_base64(xw_buf *out, const void *p, size_t n)
{
    size_t olen = b64_len(n);

    if (jw_room(out, olen + 2) < 0)
        return -1;
    out->data[out->len] = '"';
    b64_encode(p, n, out->data + out->len + 1);
    out->data[out->len + 1 + olen] = '"';
    out->len += olen + 2;
    return 0;
}

/* `trusted`: v is an xw_avro value (so are all its parts), whose strings,
 * names and symbols need no checking. */
static int jw_value(const avro_value_t *v, xw_buf *out, int trusted)
{
    avro_value_t *mv = (avro_value_t *)v;   /* Avro C getters are not const */
    size_t i, n;

    switch (avro_value_get_type(v)) {
    case AVRO_NULL:
        return jw_put(out, "null", 4);
    case AVRO_BOOLEAN: {
        int b = 0;
        avro_value_get_boolean(mv, &b);
        return b ? jw_put(out, "true", 4) : jw_put(out, "false", 5);
    }
    case AVRO_INT32: {
        int32_t x = 0;
        avro_value_get_int(mv, &x);
        return jw_int(out, x);
    }
    case AVRO_INT64: {
        int64_t x = 0;
        avro_value_get_long(mv, &x);
        return jw_int(out, x);
    }
    case AVRO_FLOAT: {
        float x = 0;
        avro_value_get_float(mv, &x);
        return jw_real(out, x);
    }
    case AVRO_DOUBLE: {
        double x = 0;
        avro_value_get_double(mv, &x);
        return jw_real(out, x);
    }
    case AVRO_STRING: {
        const char *s = NULL;
        size_t size = 0;
        if (avro_value_get_string(mv, &s, &size) != 0 || !s)
            return -1;
        return jw_string(out, s, size ? size - 1 : 0, !trusted);
    }
    case AVRO_BYTES: {
        const void *p = NULL;
        size_t size = 0;
        if (avro_value_get_bytes(mv, &p, &size) != 0)
            return -1;
        return jw_base64(out, p, size);
    }
    case AVRO_FIXED: {
        const void *p = NULL;
        size_t size = 0;
        if (avro_value_get_fixed(mv, &p, &size) != 0)
            return -1;
        return jw_base64(out, p, size);
    }
    case AVRO_ENUM: {
        int ix = 0;
        const char *sym;
        avro_value_get_enum(mv, &ix);
        sym = avro_schema_enum_get(resolve(avro_value_get_schema(mv)), ix);
        return sym ? jw_name(out, sym, trusted) : -1;
    }
    case AVRO_UNION: {
        avro_value_t branch;
        if (avro_value_get_current_branch(mv, &branch) != 0)
            return jw_put(out, "null", 4);
        return jw_value(&branch, out, trusted);
    }
    case AVRO_RECORD:
    case AVRO_MAP:
        if (avro_value_get_size(mv, &n) != 0 || jw_put(out, "{", 1) < 0)
            return -1;
        for (i = 0; i < n; i++) {
            avro_value_t child;
            const char *name = NULL;

            if (avro_value_get_by_index(mv, i, &child, &name) != 0 || !name
                || (i && jw_put(out, ",", 1) < 0)
                || jw_name(out, name, trusted) < 0
                || jw_put(out, ":", 1) < 0
                || jw_value(&child, out, trusted) < 0)
                return -1;
        }
        return jw_put(out, "}", 1);
    case AVRO_ARRAY:
        if (avro_value_get_size(mv, &n) != 0 || jw_put(out, "[", 1) < 0)
            return -1;
        for (i = 0; i < n; i++) {
            avro_value_t child;

            if (avro_value_get_by_index(mv, i, &child, NULL) != 0
                || (i && jw_put(out, ",", 1) < 0)
                || jw_value(&child, out, trusted) < 0)
                return -1;
        }
        return jw_put(out, "]", 1);
    default:
        return -1;
    }
}

int xw_avro_json_write(const avro_value_t *value, xw_buf *out)
{
    size_t saved = out->len;

    if (jw_value(value, out, xw_avro_is_ours(value)) == 0) {
        xw_buf_setlen(out, out->len);
        return 0;
    }
    xw_buf_setlen(out, saved);
    return -1;
}

int xw_avro_json_stored(avro_value_t *rec, const void *data, size_t len,
                        xw_buf *out, xw_avro_err *err)
{
    int rc = xw_avro_decode_record(rec, data, len, err);

    if (rc == XW_AVRO_EMARKER)
        rc = xw_buf_add(out, data, len) < 0 ? XW_AVRO_ENOMEM : 0;
    else if (rc == 0 && xw_avro_json_write(rec, out) < 0)
        rc = XW_AVRO_ENOMEM;
    if (rc == XW_AVRO_ENOMEM) {
        err->code = rc;
        snprintf(err->msg, sizeof err->msg, "out of memory writing a stored "
                 "value as JSON");
    }
    return rc < 0 ? -1 : 0;
}
