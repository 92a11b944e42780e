/*
 * xw_avro_jtext - see xw_avro_jtext.h. One recursive pass over the text,
 * led by the value's schema; any doubt returns "declined" (-1 inside,
 * 0 outside) and the caller's jansson path decides.
 */
#include "xw_avro_jtext.h"

#include <stdint.h>
#include <string.h>

#include "xw_avro.h"

typedef struct jt {
    const char *p, *end;
    xw_avro_json_limits lim;
    int depth;
} jt;

/* What the next value is, from its first byte: the JSON type that
 * xw_avro_from_json's fits() looks at. */
enum jt_kind { JT_STRING, JT_INT, JT_BOOL, JT_NULL, JT_OBJECT, JT_ARRAY,
               JT_OTHER };

static avro_schema_t resolve(avro_schema_t s)
{
    while (s && is_avro_link(s))
        s = avro_schema_link_target(s);
    return s;
}

/* The whitespace jansson skips between tokens. */
static void skip_ws(jt *c)
{
    while (c->p < c->end && (*c->p == ' ' || *c->p == '\n' || *c->p == '\r'
                             || *c->p == '\t'))
        c->p++;
}

static enum jt_kind kind_at(const jt *c)
{
    if (c->p >= c->end)
        return JT_OTHER;
    switch (*c->p) {
    case '"': return JT_STRING;
    case '-': case '0': case '1': case '2': case '3': case '4':
    case '5': case '6': case '7': case '8': case '9': return JT_INT;
    case 't': case 'f': return JT_BOOL;
    case 'n': return JT_NULL;
    case '{': return JT_OBJECT;
    case '[': return JT_ARRAY;
    default: return JT_OTHER;
    }
}

/* Mirrors xw_avro_json.c's fits() for the kinds read here (an integer
 * token also fits float and double: taken there, declined later). */
static int fits(avro_type_t t, enum jt_kind k)
{
    switch (t) {
    case AVRO_STRING:
    case AVRO_BYTES:
    case AVRO_FIXED:
    case AVRO_ENUM:    return k == JT_STRING;
    case AVRO_INT32:
    case AVRO_INT64:
    case AVRO_FLOAT:
    case AVRO_DOUBLE:  return k == JT_INT;
    case AVRO_BOOLEAN: return k == JT_BOOL;
    case AVRO_NULL:    return k == JT_NULL;
    case AVRO_RECORD:
    case AVRO_MAP:     return k == JT_OBJECT;
    case AVRO_ARRAY:   return k == JT_ARRAY;
    default:           return 0;
    }
}

/* A string token without escapes: its bytes are its value. -1 for an
 * escape, a control byte or no closing quote. UTF-8 is checked by the
 * string setter (xw_avro_utf8_valid, as xw_avro_from_json checks it);
 * keys and enum symbols are ASCII names, so other bytes match none. */
static int read_string(jt *c, const char **s, size_t *n)
{
    const char *q;

    if (c->p >= c->end || *c->p != '"')
        return -1;
    q = ++c->p;
    while (q < c->end && *q != '"') {
        if (*q == '\\' || (unsigned char)*q < 0x20)
            return -1;
        q++;
    }
    if (q >= c->end)
        return -1;
    *s = c->p;
    *n = (size_t)(q - c->p);
    c->p = q + 1;
    return 0;
}

/* A literal (true, false, null); jansson reads a whole run of letters as
 * one token, so a letter right after it is declined. */
static int read_literal(jt *c, const char *lit, size_t n)
{
    if ((size_t)(c->end - c->p) < n || memcmp(c->p, lit, n) != 0)
        return -1;
    c->p += n;
    if (c->p < c->end && ((*c->p | 0x20) >= 'a' && (*c->p | 0x20) <= 'z'))
        return -1;
    return 0;
}

/* An integer: '-'? then 0 or [1-9][0-9]*, at most 18 digits (so no
 * overflow and within json_int_t); a fraction or exponent (a real for
 * jansson) is declined. */
static int read_int(jt *c, int64_t *out)
{
    const char *q = c->p;
    int neg = 0, digits = 0;
    int64_t v = 0;

    if (q < c->end && *q == '-') {
        neg = 1;
        q++;
    }
    if (q >= c->end || *q < '0' || *q > '9')
        return -1;
    if (*q == '0' && q + 1 < c->end && q[1] >= '0' && q[1] <= '9')
        return -1;
    while (q < c->end && *q >= '0' && *q <= '9') {
        if (++digits > 18)
            return -1;
        v = v * 10 + (*q++ - '0');
    }
    if (q < c->end && (*q == '.' || *q == 'e' || *q == 'E'))
        return -1;
    *out = neg ? -v : v;
    c->p = q;
    return 0;
}

static int fill(jt *c, avro_value_t *dst);

/* The field of record schema `schema` named s[0..n), trying `hint` (the
 * one after the last member's: objects usually follow the schema order)
 * first. -1 when there is none. */
static int field_index(avro_schema_t schema, size_t nfields, size_t hint,
                       const char *s, size_t n)
{
    for (size_t k = 0; k < nfields; k++) {
        size_t i = (hint + k) % nfields;
        const char *name = avro_schema_record_field_name(schema, (int)i);

        if (strncmp(name, s, n) == 0 && name[n] == '\0')
            return (int)i;
    }
    return -1;
}

static int fill_record(jt *c, avro_value_t *dst)
{
    avro_schema_t schema = resolve(avro_value_get_schema(dst));
    size_t i, n = avro_schema_record_size(schema), hint = 0;
    uint64_t seen = 0;
    avro_value_t child;
    const char *key;
    size_t klen;
    int ix;

    if (n > 64)
        return -1;
    c->p++;                                     /* '{' */
    skip_ws(c);
    if (c->p < c->end && *c->p == '}') {
        c->p++;
    } else {
        for (;;) {
            skip_ws(c);
            if (read_string(c, &key, &klen) < 0
                || (ix = field_index(schema, n, hint, key, klen)) < 0
                || seen & (UINT64_C(1) << ix))
                return -1;
            seen |= UINT64_C(1) << ix;
            hint = (size_t)ix + 1;
            skip_ws(c);
            if (c->p >= c->end || *c->p != ':')
                return -1;
            c->p++;
            skip_ws(c);
            if (avro_value_get_by_index(dst, (size_t)ix, &child, NULL) != 0
                || fill(c, &child) < 0)
                return -1;
            skip_ws(c);
            if (c->p >= c->end)
                return -1;
            if (*c->p++ == '}')
                break;
            if (c->p[-1] != ',')
                return -1;
        }
    }
    /* Absent fields: only a null default is taken, filled as
     * xw_avro_from_json fills it (from the JSON null). */
    for (i = 0; i < n; i++) {
        static const char null_text[] = "null";
        jt null = { null_text, null_text + 4, c->lim, c->depth };
        const json_t *d;

        if (seen & (UINT64_C(1) << i))
            continue;
        if (!(d = xw_avro_field_default(dst, i)) || !json_is_null(d)
            || avro_value_get_by_index(dst, i, &child, NULL) != 0
            || fill(&null, &child) < 0)
            return -1;
    }
    return 0;
}

static int fill_array(jt *c, avro_value_t *dst)
{
    avro_value_t child;
    size_t count = 0;

    c->p++;                                     /* '[' */
    avro_value_reset(dst);
    skip_ws(c);
    if (c->p < c->end && *c->p == ']') {
        c->p++;
        return 0;
    }
    for (;;) {
        skip_ws(c);
        if ((c->lim.max_items && ++count > c->lim.max_items)
            || avro_value_append(dst, &child, NULL) != 0
            || fill(c, &child) < 0)
            return -1;
        skip_ws(c);
        if (c->p >= c->end)
            return -1;
        if (*c->p++ == ']')
            return 0;
        if (c->p[-1] != ',')
            return -1;
    }
}

static int fill_union(jt *c, avro_value_t *dst)
{
    avro_schema_t schema = resolve(avro_value_get_schema(dst));
    size_t i, n = avro_schema_union_size(schema);
    enum jt_kind k = kind_at(c);
    avro_value_t branch;

    for (i = 0; i < n; i++) {
        avro_schema_t b = resolve(avro_schema_union_branch(schema, (int)i));

        if (!fits(avro_typeof(b), k))
            continue;
        if (avro_value_set_branch(dst, (int)i, &branch) != 0)
            return -1;
        return fill(c, &branch);
    }
    return -1;
}

static int fill(jt *c, avro_value_t *dst)
{
    avro_type_t t = avro_value_get_type(dst);
    enum jt_kind k = kind_at(c);
    const char *s;
    size_t n;
    int64_t v;
    int rc;

    if (t == AVRO_UNION)
        return fill_union(c, dst);
    if (!fits(t, k))
        return -1;
    switch (t) {
    case AVRO_NULL:
        return read_literal(c, "null", 4) < 0 || avro_value_set_null(dst) != 0
            ? -1 : 0;
    case AVRO_BOOLEAN:
        if (read_literal(c, "true", 4) == 0)
            return avro_value_set_boolean(dst, 1) != 0 ? -1 : 0;
        return read_literal(c, "false", 5) < 0
            || avro_value_set_boolean(dst, 0) != 0 ? -1 : 0;
    case AVRO_INT32:
        if (read_int(c, &v) < 0 || v < INT32_MIN || v > INT32_MAX)
            return -1;
        return avro_value_set_int(dst, (int32_t)v) != 0 ? -1 : 0;
    case AVRO_INT64:
        if (read_int(c, &v) < 0)
            return -1;
        return avro_value_set_long(dst, v) != 0 ? -1 : 0;
    case AVRO_STRING:
        if (read_string(c, &s, &n) < 0
            || (c->lim.max_string && n > c->lim.max_string))
            return -1;
        return avro_value_set_string_len(dst, s, n + 1) != 0 ? -1 : 0;
    case AVRO_ENUM: {
        /* avro_schema_enum_get_by_name wants a C string; a symbol is a
         * name ([A-Za-z_][A-Za-z0-9_]*), so a longer one is no symbol. */
        char sym[64];

        if (read_string(c, &s, &n) < 0 || n >= sizeof sym)
            return -1;
        memcpy(sym, s, n);
        sym[n] = '\0';
        rc = avro_schema_enum_get_by_name(
            resolve(avro_value_get_schema(dst)), sym);
        return rc < 0 || avro_value_set_enum(dst, rc) != 0 ? -1 : 0;
    }
    case AVRO_RECORD:
    case AVRO_ARRAY:
        if (++c->depth > XW_AVRO_JTEXT_DEPTH)
            return -1;
        rc = t == AVRO_RECORD ? fill_record(c, dst) : fill_array(c, dst);
        c->depth--;
        return rc;
    default:                    /* bytes, fixed, float, double, map */
        return -1;
    }
}

int xw_avro_jtext_fill(avro_value_t *dst, const char *text, size_t len,
                       const xw_avro_json_limits *limits, size_t *used)
{
    static const xw_avro_json_limits dflt = XW_AVRO_JSON_LIMITS_DEFAULT;
    jt c = { text, text + len, limits ? *limits : dflt, 0 };

    if (avro_value_get_type(dst) != AVRO_RECORD || kind_at(&c) != JT_OBJECT)
        return 0;
    avro_value_reset(dst);
    if (fill(&c, dst) < 0)
        return 0;
    *used = (size_t)(c.p - text);
    return 1;
}
