/*
 * xw_avro - see xw_avro.h. Layout of this file:
 *   1. codes, CRC-64-AVRO
 *   2. Parsing Canonical Form (a walk of the schema JSON with jansson)
 *   3. value classes: xw_avro's implementation of avro_value_iface_t
 *   4. registry
 *   5. encoder and bounded decoder (own walkers over the classes)
 *   6. field access by name, copy
 */
#include "xw_avro.h"

#include <dirent.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* =====================================================================
 * 1. codes, CRC-64-AVRO
 */

const char *xw_avro_strerror(int code)
{
    switch (code) {
    case XW_AVRO_OK:         return "ok";
    case XW_AVRO_ABSENT:     return "absent (null)";
    case XW_AVRO_ENOMEM:     return "out of memory";
    case XW_AVRO_ESHORT:     return "message too short";
    case XW_AVRO_EMARKER:    return "not single-object encoded (bad marker)";
    case XW_AVRO_EUNKNOWN:   return "unknown schema fingerprint";
    case XW_AVRO_ETRUNCATED: return "truncated body";
    case XW_AVRO_EGARBLED:   return "garbled body";
    case XW_AVRO_ETRAILING:  return "trailing bytes after the body";
    case XW_AVRO_ENOFIELD:   return "no such field";
    case XW_AVRO_ETYPE:      return "wrong type";
    case XW_AVRO_ESYMBOL:    return "no such enum symbol";
    case XW_AVRO_ERANGE:     return "index out of range";
    case XW_AVRO_EVALUE:     return "invalid value";
    case XW_AVRO_EUNSET:     return "union has no branch selected";
    case XW_AVRO_ESCHEMA:    return "invalid or unsupported schema";
    case XW_AVRO_EDUP:       return "schema already registered";
    case XW_AVRO_ELIMIT:     return "output buffer cap exceeded";
    case XW_AVRO_EIO:        return "cannot read schema file";
    }
    return "unknown error";
}

static int set_err(xw_avro_err *err, int code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int set_err(xw_avro_err *err, int code, const char *fmt, ...)
{
    va_list ap;

    if (err) {
        err->code = code;
        va_start(ap, fmt);
        vsnprintf(err->msg, sizeof err->msg, fmt, ap);
        va_end(ap);
    }
    return code;
}

#define XW_CRC64_EMPTY UINT64_C(0xc15d213aa4d7a795)

uint64_t xw_avro_crc64(const void *data, size_t len)
{
    /* Table built on the stack: fingerprints are computed once per schema,
     * never per event, so there is no shared state to initialise. */
    uint64_t table[256], fp;
    const unsigned char *p = data;
    size_t i;
    int j;

    for (i = 0; i < 256; i++) {
        fp = i;
        for (j = 0; j < 8; j++)
            fp = (fp >> 1) ^ (XW_CRC64_EMPTY & (0 - (fp & 1)));
        table[i] = fp;
    }
    fp = XW_CRC64_EMPTY;
    for (i = 0; i < len; i++)
        fp = (fp >> 8) ^ table[(fp ^ p[i]) & 0xff];
    return fp;
}

int xw_avro_utf8_valid(const void *p, size_t n)
{
    const unsigned char *s = p;
    size_t i = 0;

    while (i < n) {
        unsigned c = s[i];
        size_t k;
        uint32_t cp;

        if (c < 0x80) {
            uint64_t w;

            /* Ids, names and timestamps are ASCII: skip them eight bytes
             * at a time (every string of every event passes here). */
            i++;
            while (n - i >= 8) {
                memcpy(&w, s + i, 8);
                if (w & UINT64_C(0x8080808080808080))
                    break;
                i += 8;
            }
            continue;
        }
        if (c >= 0xc2 && c <= 0xdf) {
            k = 1;
            cp = c & 0x1f;
        } else if (c >= 0xe0 && c <= 0xef) {
            k = 2;
            cp = c & 0x0f;
        } else if (c >= 0xf0 && c <= 0xf4) {
            k = 3;
            cp = c & 0x07;
        } else {
            return 0;
        }
        if (n - i - 1 < k)
            return 0;
        for (size_t m = 1; m <= k; m++) {
            if ((s[i + m] & 0xc0) != 0x80)
                return 0;
            cp = (cp << 6) | (s[i + m] & 0x3f);
        }
        if ((k == 2 && cp < 0x800) || (k == 3 && cp < 0x10000) ||
            cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
            return 0;
        i += k + 1;
    }
    return 1;
}

/* =====================================================================
 * 2. Parsing Canonical Form
 *
 * One recursive walk over the schema JSON that writes the canonical form:
 * primitives as bare strings, every named type's name as its full name
 * (namespace resolved), only name/type/fields/symbols/items/values/size
 * kept, in that order, no whitespace. Named definitions are recorded in
 * `named` (full name -> JSON object) so that later references resolve and
 * the registry can find a record's field defaults.
 */

#define PCF_MAX_DEPTH 48
#define PCF_NAME_MAX 256

typedef struct pcf_ctx {
    xw_buf *out;
    json_t *named;
    xw_avro_err *err;
    int depth;
} pcf_ctx;

static const char *const primitives[] = {
    "null", "boolean", "int", "long", "float", "double", "bytes", "string"
};

static int is_primitive(const char *s)
{
    for (size_t i = 0; i < sizeof primitives / sizeof primitives[0]; i++)
        if (strcmp(s, primitives[i]) == 0)
            return 1;
    return 0;
}

/* [A-Za-z_][A-Za-z0-9_]* */
static int valid_name(const char *s, size_t n)
{
    if (n == 0 || !((s[0] >= 'A' && s[0] <= 'Z') ||
                    (s[0] >= 'a' && s[0] <= 'z') || s[0] == '_'))
        return 0;
    for (size_t i = 1; i < n; i++) {
        char c = s[i];
        if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
              (c >= '0' && c <= '9') || c == '_'))
            return 0;
    }
    return 1;
}

/* Dot-separated names; "" (the null namespace) is valid if allow_empty. */
static int valid_fullname(const char *s, int allow_empty)
{
    const char *dot;

    if (*s == '\0')
        return allow_empty;
    for (;;) {
        dot = strchr(s, '.');
        if (!valid_name(s, dot ? (size_t)(dot - s) : strlen(s)))
            return 0;
        if (!dot)
            return 1;
        s = dot + 1;
    }
}

static int pcf_fail(pcf_ctx *c, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static int pcf_fail(pcf_ctx *c, const char *fmt, ...)
{
    va_list ap;

    if (c->err) {
        c->err->code = XW_AVRO_ESCHEMA;
        va_start(ap, fmt);
        vsnprintf(c->err->msg, sizeof c->err->msg, fmt, ap);
        va_end(ap);
    }
    return XW_AVRO_ESCHEMA;
}

static int pcf_put(pcf_ctx *c, const char *s)
{
    return xw_buf_adds(c->out, s) < 0 ? set_err(c->err, XW_AVRO_ENOMEM,
                                                "out of memory") : 0;
}

static int pcf_putq(pcf_ctx *c, const char *s)
{
    /* Names and symbols are validated before they get here, so they
     * never need escaping (STRINGS rule holds trivially). */
    if (xw_buf_addch(c->out, '"') < 0 || xw_buf_adds(c->out, s) < 0 ||
        xw_buf_addch(c->out, '"') < 0)
        return set_err(c->err, XW_AVRO_ENOMEM, "out of memory");
    return 0;
}

static int pcf_schema(pcf_ctx *c, const json_t *s, const char *ns);

/* Resolves a reference to a named type: full name as written, else the
 * enclosing namespace, else the null namespace. */
static int pcf_ref(pcf_ctx *c, const char *name, const char *ns)
{
    char full[PCF_NAME_MAX];

    if (!valid_fullname(name, 0))
        return pcf_fail(c, "\"%s\" is not a valid type name", name);
    if (!strchr(name, '.') && *ns) {
        if ((size_t)snprintf(full, sizeof full, "%s.%s", ns, name) >=
            sizeof full)
            return pcf_fail(c, "type name %s.%s too long", ns, name);
        if (json_object_get(c->named, full))
            return pcf_putq(c, full);
    }
    if (json_object_get(c->named, name))
        return pcf_putq(c, name);
    return pcf_fail(c, "unknown type \"%s\" (undefined or used before its "
                    "definition)", name);
}

static int pcf_named(pcf_ctx *c, const json_t *s, const char *type,
                     const char *ns)
{
    const json_t *jname = json_object_get(s, "name");
    const json_t *jns = json_object_get(s, "namespace");
    const char *name, *space, *dot;
    char full[PCF_NAME_MAX], inner[PCF_NAME_MAX];
    int rc;

    if (!json_is_string(jname))
        return pcf_fail(c, "a %s needs a string \"name\"", type);
    name = json_string_value(jname);
    if (!valid_fullname(name, 0))
        return pcf_fail(c, "\"%s\" is not a valid %s name", name, type);
    if (strchr(name, '.')) {
        space = NULL;
        snprintf(full, sizeof full, "%s", name);
    } else {
        if (jns && !json_is_string(jns))
            return pcf_fail(c, "%s %s: \"namespace\" must be a string",
                            type, name);
        space = jns ? json_string_value(jns) : ns;
        if (!valid_fullname(space, 1))
            return pcf_fail(c, "%s %s: invalid namespace \"%s\"", type, name,
                            space);
        if ((size_t)snprintf(full, sizeof full, "%s%s%s", space,
                             *space ? "." : "", name) >= sizeof full)
            return pcf_fail(c, "name %s too long", name);
    }
    if (strlen(full) >= sizeof full - 1)
        return pcf_fail(c, "name %s too long", name);
    if (is_primitive(full))
        return pcf_fail(c, "%s cannot be named after a primitive", full);
    if (json_object_get(c->named, full))
        return pcf_fail(c, "type %s is defined twice", full);
    /* Registered before the body so a record can refer to itself. */
    if (json_object_set(c->named, full, (json_t *)s) < 0)
        return set_err(c->err, XW_AVRO_ENOMEM, "out of memory");
    dot = strrchr(full, '.');
    snprintf(inner, sizeof inner, "%.*s", dot ? (int)(dot - full) : 0, full);

    if ((rc = pcf_put(c, "{\"name\":")) < 0 || (rc = pcf_putq(c, full)) < 0 ||
        (rc = pcf_put(c, ",\"type\":")) < 0 || (rc = pcf_putq(c, type)) < 0)
        return rc;

    if (strcmp(type, "record") == 0) {
        const json_t *fields = json_object_get(s, "fields");
        size_t i, j;

        if (!json_is_array(fields))
            return pcf_fail(c, "record %s needs a \"fields\" array", full);
        if ((rc = pcf_put(c, ",\"fields\":[")) < 0)
            return rc;
        for (i = 0; i < json_array_size(fields); i++) {
            const json_t *f = json_array_get(fields, i);
            const json_t *fn = json_object_get(f, "name");
            const json_t *ft = json_object_get(f, "type");
            const char *fname;

            if (!json_is_object(f) || !json_is_string(fn) || !ft)
                return pcf_fail(c, "record %s: field %zu needs \"name\" and "
                                "\"type\"", full, i);
            fname = json_string_value(fn);
            if (!valid_name(fname, strlen(fname)))
                return pcf_fail(c, "record %s: invalid field name \"%s\"",
                                full, fname);
            for (j = 0; j < i; j++)
                if (strcmp(fname, json_string_value(json_object_get(
                                      json_array_get(fields, j), "name"))) == 0)
                    return pcf_fail(c, "record %s: field %s appears twice",
                                    full, fname);
            if ((rc = pcf_put(c, i ? ",{\"name\":" : "{\"name\":")) < 0 ||
                (rc = pcf_putq(c, fname)) < 0 ||
                (rc = pcf_put(c, ",\"type\":")) < 0 ||
                (rc = pcf_schema(c, ft, inner)) < 0 ||
                (rc = pcf_put(c, "}")) < 0)
                return rc;
        }
        return pcf_put(c, "]}");
    }
    if (strcmp(type, "enum") == 0) {
        const json_t *syms = json_object_get(s, "symbols");
        size_t i, j;

        if (!json_is_array(syms) || json_array_size(syms) == 0)
            return pcf_fail(c, "enum %s needs a non-empty \"symbols\" array",
                            full);
        if ((rc = pcf_put(c, ",\"symbols\":[")) < 0)
            return rc;
        for (i = 0; i < json_array_size(syms); i++) {
            const json_t *sym = json_array_get(syms, i);
            const char *v = json_string_value(sym);

            if (!v || !valid_name(v, strlen(v)))
                return pcf_fail(c, "enum %s: invalid symbol", full);
            for (j = 0; j < i; j++)
                if (strcmp(v, json_string_value(json_array_get(syms, j))) == 0)
                    return pcf_fail(c, "enum %s: symbol %s appears twice",
                                    full, v);
            if ((i && (rc = pcf_put(c, ",")) < 0) ||
                (rc = pcf_putq(c, v)) < 0)
                return rc;
        }
        return pcf_put(c, "]}");
    }
    /* fixed */
    {
        const json_t *size = json_object_get(s, "size");
        char num[32];

        if (!json_is_integer(size) || json_integer_value(size) < 0)
            return pcf_fail(c, "fixed %s needs a non-negative integer "
                            "\"size\"", full);
        snprintf(num, sizeof num, "%lld", (long long)json_integer_value(size));
        if ((rc = pcf_put(c, ",\"size\":")) < 0 || (rc = pcf_put(c, num)) < 0)
            return rc;
        return pcf_put(c, "}");
    }
}

static int pcf_schema(pcf_ctx *c, const json_t *s, const char *ns)
{
    const char *type;
    int rc;

    if (++c->depth > PCF_MAX_DEPTH) {
        c->depth--;
        return pcf_fail(c, "schema nested deeper than %d", PCF_MAX_DEPTH);
    }
    if (json_is_string(s)) {
        type = json_string_value(s);
        rc = is_primitive(type) ? pcf_putq(c, type) : pcf_ref(c, type, ns);
    } else if (json_is_array(s)) {
        size_t i;

        /* An empty union has a canonical form ("[]") even though no
         * value can have that type; the registry refuses it later. */
        rc = pcf_put(c, "[");
        for (i = 0; rc == 0 && i < json_array_size(s); i++) {
            if (i)
                rc = pcf_put(c, ",");
            if (rc == 0)
                rc = pcf_schema(c, json_array_get(s, i), ns);
        }
        if (rc == 0)
            rc = pcf_put(c, "]");
    } else if (json_is_object(s)) {
        const json_t *jt = json_object_get(s, "type");

        type = json_string_value(jt);
        if (!type) {
            rc = pcf_fail(c, "a schema object needs a string \"type\"");
        } else if (is_primitive(type)) {
            rc = pcf_putq(c, type);      /* {"type":"long",...} -> "long" */
        } else if (strcmp(type, "record") == 0 || strcmp(type, "enum") == 0 ||
                   strcmp(type, "fixed") == 0) {
            rc = pcf_named(c, s, type, ns);
        } else if (strcmp(type, "array") == 0 || strcmp(type, "map") == 0) {
            int arr = type[0] == 'a';
            const json_t *sub = json_object_get(s, arr ? "items" : "values");

            if (!sub)
                rc = pcf_fail(c, "%s needs \"%s\"", type,
                              arr ? "items" : "values");
            else if ((rc = pcf_put(c, arr ? "{\"type\":\"array\",\"items\":"
                                          : "{\"type\":\"map\",\"values\":"))
                     == 0 && (rc = pcf_schema(c, sub, ns)) == 0)
                rc = pcf_put(c, "}");
        } else {
            rc = pcf_ref(c, type, ns);   /* {"type":"SomeRecord"} */
        }
    } else {
        rc = pcf_fail(c, "a schema must be a string, an array or an object");
    }
    c->depth--;
    return rc;
}

/* Canonical form of a parsed schema into out (replaced); named gets every
 * named definition. */
static int pcf_compute(const json_t *root, xw_buf *out, json_t *named,
                       xw_avro_err *err)
{
    pcf_ctx c = { out, named, err, 0 };
    int rc;

    xw_buf_reset(out);
    rc = pcf_schema(&c, root, "");
    if (rc < 0)
        xw_buf_reset(out);
    return rc;
}

int xw_avro_fingerprint(const char *schema_json, uint64_t *fp,
                        xw_buf *pcf_out, xw_avro_err *err)
{
    json_error_t jerr;
    json_t *root, *named;
    xw_buf tmp = XW_BUF_INIT, *out = pcf_out ? pcf_out : &tmp;
    int rc;

    if (pcf_out)
        xw_buf_reset(pcf_out);
    root = json_loads(schema_json, JSON_DECODE_ANY | JSON_REJECT_DUPLICATES,
                      &jerr);
    if (!root)
        return set_err(err, XW_AVRO_ESCHEMA, "schema JSON line %d column %d: "
                       "%s", jerr.line, jerr.column, jerr.text);
    named = json_object();
    if (!named) {
        json_decref(root);
        return set_err(err, XW_AVRO_ENOMEM, "out of memory");
    }
    rc = pcf_compute(root, out, named, err);
    if (rc == 0)
        *fp = xw_avro_crc64(out->data, out->len);
    json_decref(named);
    json_decref(root);
    xw_buf_release(&tmp);
    return rc;
}

/* =====================================================================
 * 3. value classes
 *
 * One xw_cls per schema node of a type (named types once). Instances are
 * plain memory laid out by the class:
 *   null/boolean/int/long/float/double/enum  8 bytes
 *   string/bytes  xw_str (heap buffer reused across events)
 *   fixed         the bytes inline
 *   record        the fields inline, each at a multiple of 8
 *   union         int32 discriminant, then every branch inline (so
 *                 switching branches allocates nothing)
 *   array         xw_arr: elements in one heap block; `live` elements stay
 *                 initialised after a reset and are reused by append
 * An instance is valid once zeroed and cls_init()ed; cls_done() frees what
 * it points to.
 */

typedef struct xw_str {
    char *buf;      /* NULL or cap bytes, NUL-terminated at len */
    size_t len;
    size_t cap;
} xw_str;

typedef struct xw_arr {
    char *items;
    size_t count;   /* elements in the value */
    size_t live;    /* elements initialised (>= count) */
    size_t cap;     /* elements allocated */
} xw_arr;

typedef struct xw_cls xw_cls;

/* A record's field names or an enum's symbols, found by name through an
 * open-addressing table made with the class. Callers name fields on every
 * get and set, per event; Avro C's lookup (a generic st_table hashing the
 * whole name through function pointers) was a large part of what a
 * setter cost. Read-only once built, so any number of threads may look
 * up at once. */
typedef struct xw_names {
    const char **name;      /* by index, borrowed from the Avro C schema */
    size_t *len;
    uint32_t *slot;         /* mask + 1 entries: index + 1, 0 = empty */
    uint32_t mask;
} xw_names;

typedef struct xw_field {
    const char *name;       /* borrowed from the Avro C schema */
    xw_cls *cls;
    size_t off;
    const json_t *dflt;     /* borrowed from the type's JSON, or NULL */
} xw_field;

struct xw_cls {
    avro_value_iface_t iface;   /* first: values carry &cls->iface */
    avro_type_t kind;
    avro_schema_t schema;       /* link-resolved; the type holds the ref */
    size_t size;                /* instance size, multiple of 8 */
    size_t min_wire;            /* smallest binary encoding in bytes */
    xw_cls *next;               /* every class of one type, for freeing */
    const xw_avro_type *root_type; /* set on the event record's class */
    int done;                   /* built (recursion guard) */
    /* record */
    size_t nfields;
    xw_field *fields;
    uint64_t rec_fp;            /* fingerprint of the record alone ... */
    int rec_fp_ok;              /* ... if it has one (xw_avro_encode_record) */
    /* union */
    size_t nbranches;
    xw_cls **branches;
    size_t *boff;
    int null_branch;            /* index of the null branch or -1 */
    /* array */
    xw_cls *items;
    /* enum */
    int nsymbols;
    /* record: field names; enum: symbols */
    xw_names names;
    /* fixed */
    size_t fixed_size;
};

#define CLS(i) ((const xw_cls *)(const void *)(i))
#define AT(self, off) ((void *)((char *)(self) + (off)))
#define ROUND8(n) (((n) + 7) & ~(size_t)7)

static char xw_empty_str[1];

/* Names differ mostly in length and in their first, middle and last
 * letters; hashing only those (after one strlen) costs the same for every
 * name. Collisions only cost a probe: a hit is confirmed by memcmp. */
static uint32_t name_hash(const char *s, size_t len)
{
    uint32_t h = (uint32_t)len * 0x9e3779b1u;

    if (len) {
        h ^= (unsigned char)s[0] * 0x85ebca77u;
        h ^= (unsigned char)s[len / 2] * 0xc2b2ae3du;
        h ^= (unsigned char)s[len - 1] * 0x27d4eb2fu;
    }
    return h ^ (h >> 15);
}

/* Index of `s` in t, or -1. */
static int names_find(const xw_names *t, const char *s)
{
    size_t len = strlen(s);
    uint32_t i = name_hash(s, len) & t->mask, ix;

    /* The table is at most half full: there is always an empty slot. */
    for (; (ix = t->slot[i]) != 0; i = (i + 1) & t->mask)
        if (t->len[ix - 1] == len && memcmp(t->name[ix - 1], s, len) == 0)
            return (int)(ix - 1);
    return -1;
}

static void names_free(xw_names *t)
{
    free(t->name);
    free(t->len);
    free(t->slot);
    memset(t, 0, sizeof *t);
}

/* Builds t from the field names of a record schema or the symbols of an
 * enum schema (validated and unique: see pcf_named). -1 on ENOMEM. */
static int names_build(xw_names *t, avro_schema_t s)
{
    int record = avro_typeof(s) == AVRO_RECORD;
    int count = record ? (int)avro_schema_record_size(s)
                       : avro_schema_enum_number_of_symbols(s);
    size_t size = 1, n = count > 0 ? (size_t)count : 0;

    while (size < 2 * n)
        size *= 2;
    t->name = malloc((n ? n : 1) * sizeof *t->name);
    t->len = malloc((n ? n : 1) * sizeof *t->len);
    t->slot = calloc(size, sizeof *t->slot);
    t->mask = (uint32_t)(size - 1);
    if (!t->name || !t->len || !t->slot) {
        names_free(t);
        return -1;
    }
    for (size_t k = 0; k < n; k++) {
        const char *name = record ? avro_schema_record_field_name(s, (int)k)
                                  : avro_schema_enum_get(s, (int)k);
        uint32_t i;

        if (!name) {
            names_free(t);
            return -1;
        }
        t->name[k] = name;
        t->len[k] = strlen(name);
        i = name_hash(name, t->len[k]) & t->mask;
        while (t->slot[i])
            i = (i + 1) & t->mask;
        t->slot[i] = (uint32_t)k + 1;
    }
    return 0;
}

static void cls_init(const xw_cls *c, void *self);
static void cls_reset(const xw_cls *c, void *self);
static void cls_done(const xw_cls *c, void *self);

static int str_set(xw_str *s, const void *p, size_t n)
{
    if (n >= s->cap) {
        size_t cap = s->cap ? s->cap : 16;
        char *b;

        while (cap <= n)
            cap = cap > SIZE_MAX / 2 ? n + 1 : cap * 2;
        b = realloc(s->buf, cap);
        if (!b)
            return XW_AVRO_ENOMEM;
        s->buf = b;
        s->cap = cap;
    }
    if (n)
        memcpy(s->buf, p, n);
    s->buf[n] = '\0';
    s->len = n;
    return 0;
}

static void *arr_at(const xw_cls *c, const xw_arr *a, size_t i)
{
    return a->items + i * c->items->size;
}

/* Makes room for n more elements in one realloc, when the caller knows
 * how many come (a decoded block's count, a copy's source): growing by
 * doubling would copy a 10,000-object array's elements many times over
 * and touch fresh pages each time. -1 on ENOMEM (a is unchanged). */
static int arr_reserve(const xw_cls *c, xw_arr *a, size_t n)
{
    size_t sz = c->items->size, cap;
    char *p;

    if (n <= a->cap - a->count)
        return 0;
    if (n > SIZE_MAX / sz - a->count)
        return -1;
    cap = a->count + n;
    p = realloc(a->items, cap * sz);
    if (!p)
        return -1;
    a->items = p;
    a->cap = cap;
    return 0;
}

/* Appends an element (reset if reused, fresh otherwise); NULL on ENOMEM. */
static void *arr_append(const xw_cls *c, xw_arr *a)
{
    size_t sz = c->items->size;
    void *e;

    if (a->count == a->cap
        && arr_reserve(c, a, a->cap ? a->cap : 4) < 0)
        return NULL;
    e = a->items + a->count * sz;
    if (a->count < a->live) {
        cls_reset(c->items, e);
    } else {
        memset(e, 0, sz);
        cls_init(c->items, e);
        a->live++;
    }
    a->count++;
    return e;
}

static int *union_disc(void *self)
{
    return (int *)self;
}

static void union_select(const xw_cls *c, void *self, int b)
{
    if (*union_disc(self) != b) {
        cls_reset(c->branches[b], AT(self, c->boff[b]));
        *union_disc(self) = b;
    }
}

static void cls_init(const xw_cls *c, void *self)
{
    size_t i;

    switch (c->kind) {
    case AVRO_RECORD:
        for (i = 0; i < c->nfields; i++)
            cls_init(c->fields[i].cls, AT(self, c->fields[i].off));
        break;
    case AVRO_UNION:
        for (i = 0; i < c->nbranches; i++)
            cls_init(c->branches[i], AT(self, c->boff[i]));
        *union_disc(self) = c->null_branch;
        break;
    default:
        break;      /* zero bytes are a valid empty value */
    }
}

static void cls_reset(const xw_cls *c, void *self)
{
    size_t i;

    switch (c->kind) {
    case AVRO_STRING:
    case AVRO_BYTES: {
        xw_str *s = self;
        s->len = 0;
        if (s->buf)
            s->buf[0] = '\0';
        break;
    }
    case AVRO_FIXED:
        memset(self, 0, c->fixed_size);
        break;
    case AVRO_RECORD:
        for (i = 0; i < c->nfields; i++)
            cls_reset(c->fields[i].cls, AT(self, c->fields[i].off));
        break;
    case AVRO_UNION: {
        int d = *union_disc(self);
        if (d >= 0)
            cls_reset(c->branches[d], AT(self, c->boff[d]));
        *union_disc(self) = c->null_branch;
        break;
    }
    case AVRO_ARRAY:
        ((xw_arr *)self)->count = 0;   /* elements reset when reused */
        break;
    default:
        memset(self, 0, 8);
        break;
    }
}

static void cls_done(const xw_cls *c, void *self)
{
    size_t i;

    switch (c->kind) {
    case AVRO_STRING:
    case AVRO_BYTES:
        free(((xw_str *)self)->buf);
        break;
    case AVRO_RECORD:
        for (i = 0; i < c->nfields; i++)
            cls_done(c->fields[i].cls, AT(self, c->fields[i].off));
        break;
    case AVRO_UNION:
        for (i = 0; i < c->nbranches; i++)
            cls_done(c->branches[i], AT(self, c->boff[i]));
        break;
    case AVRO_ARRAY: {
        xw_arr *a = self;
        for (i = 0; i < a->live; i++)
            cls_done(c->items, arr_at(c, a, i));
        free(a->items);
        break;
    }
    default:
        break;
    }
    memset(self, 0, c->size);
}

/* --- the avro_value_iface_t methods (one table for every kind) --- */

static avro_type_t xv_get_type(const avro_value_iface_t *i, const void *self)
{
    return CLS(i)->kind;
}

static int is_ours(const avro_value_t *v)
{
    return v && v->iface && v->self && v->iface->get_type == xv_get_type;
}

static int xv_reset(const avro_value_iface_t *i, void *self)
{
    cls_reset(CLS(i), self);
    return 0;
}

static avro_schema_t xv_get_schema(const avro_value_iface_t *i,
                                   const void *self)
{
    return CLS(i)->schema;
}

#define KIND_OR_EINVAL(i, k) \
    do { if (CLS(i)->kind != (k)) return EINVAL; } while (0)

static int xv_get_boolean(const avro_value_iface_t *i, const void *self,
                          int *out)
{
    KIND_OR_EINVAL(i, AVRO_BOOLEAN);
    *out = *(const int32_t *)self;
    return 0;
}

static int xv_get_bytes(const avro_value_iface_t *i, const void *self,
                        const void **buf, size_t *size)
{
    const xw_str *s = self;

    KIND_OR_EINVAL(i, AVRO_BYTES);
    if (buf)
        *buf = s->buf ? s->buf : xw_empty_str;
    if (size)
        *size = s->len;
    return 0;
}

static int xv_grab_bytes(const avro_value_iface_t *i, const void *self,
                         avro_wrapped_buffer_t *dest)
{
    const xw_str *s = self;

    KIND_OR_EINVAL(i, AVRO_BYTES);
    return avro_wrapped_buffer_new_copy(dest, s->buf ? s->buf : xw_empty_str,
                                        s->len);
}

static int xv_get_double(const avro_value_iface_t *i, const void *self,
                         double *out)
{
    KIND_OR_EINVAL(i, AVRO_DOUBLE);
    *out = *(const double *)self;
    return 0;
}

static int xv_get_float(const avro_value_iface_t *i, const void *self,
                        float *out)
{
    KIND_OR_EINVAL(i, AVRO_FLOAT);
    *out = *(const float *)self;
    return 0;
}

static int xv_get_int(const avro_value_iface_t *i, const void *self,
                      int32_t *out)
{
    KIND_OR_EINVAL(i, AVRO_INT32);
    *out = *(const int32_t *)self;
    return 0;
}

static int xv_get_long(const avro_value_iface_t *i, const void *self,
                       int64_t *out)
{
    KIND_OR_EINVAL(i, AVRO_INT64);
    *out = *(const int64_t *)self;
    return 0;
}

static int xv_get_null(const avro_value_iface_t *i, const void *self)
{
    KIND_OR_EINVAL(i, AVRO_NULL);
    return 0;
}

static int xv_get_string(const avro_value_iface_t *i, const void *self,
                         const char **str, size_t *size)
{
    const xw_str *s = self;

    KIND_OR_EINVAL(i, AVRO_STRING);
    if (str)
        *str = s->buf ? s->buf : xw_empty_str;
    if (size)
        *size = s->len + 1;     /* Avro C counts the NUL */
    return 0;
}

static int xv_grab_string(const avro_value_iface_t *i, const void *self,
                          avro_wrapped_buffer_t *dest)
{
    const xw_str *s = self;

    KIND_OR_EINVAL(i, AVRO_STRING);
    return avro_wrapped_buffer_new_copy(dest, s->buf ? s->buf : xw_empty_str,
                                        s->len + 1);
}

static int xv_get_enum(const avro_value_iface_t *i, const void *self,
                       int *out)
{
    KIND_OR_EINVAL(i, AVRO_ENUM);
    *out = *(const int32_t *)self;
    return 0;
}

static int xv_get_fixed(const avro_value_iface_t *i, const void *self,
                        const void **buf, size_t *size)
{
    KIND_OR_EINVAL(i, AVRO_FIXED);
    if (buf)
        *buf = self;
    if (size)
        *size = CLS(i)->fixed_size;
    return 0;
}

static int xv_grab_fixed(const avro_value_iface_t *i, const void *self,
                         avro_wrapped_buffer_t *dest)
{
    KIND_OR_EINVAL(i, AVRO_FIXED);
    return avro_wrapped_buffer_new_copy(dest, self, CLS(i)->fixed_size);
}

static int xv_set_boolean(const avro_value_iface_t *i, void *self, int val)
{
    KIND_OR_EINVAL(i, AVRO_BOOLEAN);
    *(int32_t *)self = val ? 1 : 0;
    return 0;
}

static int xv_set_bytes(const avro_value_iface_t *i, void *self, void *buf,
                        size_t size)
{
    KIND_OR_EINVAL(i, AVRO_BYTES);
    if (!buf && size)
        return EINVAL;
    return str_set(self, buf, size) < 0 ? ENOMEM : 0;
}

static int xv_give_bytes(const avro_value_iface_t *i, void *self,
                         avro_wrapped_buffer_t *buf)
{
    int rc;

    KIND_OR_EINVAL(i, AVRO_BYTES);
    rc = str_set(self, buf->buf, buf->size) < 0 ? ENOMEM : 0;
    avro_wrapped_buffer_free(buf);
    return rc;
}

static int xv_set_double(const avro_value_iface_t *i, void *self, double val)
{
    KIND_OR_EINVAL(i, AVRO_DOUBLE);
    *(double *)self = val;
    return 0;
}

static int xv_set_float(const avro_value_iface_t *i, void *self, float val)
{
    KIND_OR_EINVAL(i, AVRO_FLOAT);
    *(float *)self = val;
    return 0;
}

static int xv_set_int(const avro_value_iface_t *i, void *self, int32_t val)
{
    KIND_OR_EINVAL(i, AVRO_INT32);
    *(int32_t *)self = val;
    return 0;
}

static int xv_set_long(const avro_value_iface_t *i, void *self, int64_t val)
{
    KIND_OR_EINVAL(i, AVRO_INT64);
    *(int64_t *)self = val;
    return 0;
}

static int xv_set_null(const avro_value_iface_t *i, void *self)
{
    KIND_OR_EINVAL(i, AVRO_NULL);
    return 0;
}

/* Content is len bytes (no NUL needed at p[len]); must be UTF-8. */
static int str_set_utf8(xw_str *s, const char *p, size_t len)
{
    if (!xw_avro_utf8_valid(p, len))
        return XW_AVRO_EVALUE;
    return str_set(s, p, len);
}

static int xv_set_string_len(const avro_value_iface_t *i, void *self,
                             const char *str, size_t size)
{
    int rc;

    KIND_OR_EINVAL(i, AVRO_STRING);
    if (!str || size == 0)       /* size counts the NUL */
        return EINVAL;
    rc = str_set_utf8(self, str, size - 1);
    return rc == XW_AVRO_ENOMEM ? ENOMEM : rc < 0 ? EINVAL : 0;
}

static int xv_set_string(const avro_value_iface_t *i, void *self,
                         const char *str)
{
    if (!str)
        return EINVAL;
    return xv_set_string_len(i, self, str, strlen(str) + 1);
}

static int xv_give_string_len(const avro_value_iface_t *i, void *self,
                              avro_wrapped_buffer_t *buf)
{
    int rc = xv_set_string_len(i, self, buf->buf, buf->size);

    avro_wrapped_buffer_free(buf);
    return rc;
}

static int xv_set_enum(const avro_value_iface_t *i, void *self, int val)
{
    KIND_OR_EINVAL(i, AVRO_ENUM);
    if (val < 0 || val >= CLS(i)->nsymbols)
        return EINVAL;
    *(int32_t *)self = val;
    return 0;
}

static int xv_set_fixed(const avro_value_iface_t *i, void *self, void *buf,
                        size_t size)
{
    KIND_OR_EINVAL(i, AVRO_FIXED);
    if (size != CLS(i)->fixed_size || (!buf && size))
        return EINVAL;
    if (size)
        memcpy(self, buf, size);
    return 0;
}

static int xv_give_fixed(const avro_value_iface_t *i, void *self,
                         avro_wrapped_buffer_t *buf)
{
    int rc = xv_set_fixed(i, self, (void *)buf->buf, buf->size);

    avro_wrapped_buffer_free(buf);
    return rc;
}

static int xv_get_size(const avro_value_iface_t *i, const void *self,
                       size_t *size)
{
    if (CLS(i)->kind == AVRO_RECORD)
        *size = CLS(i)->nfields;
    else if (CLS(i)->kind == AVRO_ARRAY)
        *size = ((const xw_arr *)self)->count;
    else
        return EINVAL;
    return 0;
}

static int xv_get_by_index(const avro_value_iface_t *i, const void *self,
                           size_t index, avro_value_t *child,
                           const char **name)
{
    const xw_cls *c = CLS(i);

    if (c->kind == AVRO_RECORD) {
        if (index >= c->nfields)
            return EINVAL;
        child->iface = &c->fields[index].cls->iface;
        child->self = AT(self, c->fields[index].off);
        if (name)
            *name = c->fields[index].name;
        return 0;
    }
    if (c->kind == AVRO_ARRAY) {
        const xw_arr *a = self;
        if (index >= a->count)
            return EINVAL;
        child->iface = &c->items->iface;
        child->self = arr_at(c, a, index);
        if (name)
            *name = NULL;
        return 0;
    }
    return EINVAL;
}

static int xv_get_by_name(const avro_value_iface_t *i, const void *self,
                          const char *name, avro_value_t *child,
                          size_t *index)
{
    const xw_cls *c = CLS(i);
    int ix;

    if (c->kind != AVRO_RECORD || !name)
        return EINVAL;
    if ((ix = names_find(&c->names, name)) < 0)
        return EINVAL;
    if (index)
        *index = (size_t)ix;
    return xv_get_by_index(i, self, (size_t)ix, child, NULL);
}

static int xv_get_discriminant(const avro_value_iface_t *i, const void *self,
                               int *out)
{
    KIND_OR_EINVAL(i, AVRO_UNION);
    *out = *union_disc((void *)self);
    return 0;
}

static int xv_get_current_branch(const avro_value_iface_t *i,
                                 const void *self, avro_value_t *branch)
{
    const xw_cls *c = CLS(i);
    int d;

    KIND_OR_EINVAL(i, AVRO_UNION);
    d = *union_disc((void *)self);
    if (d < 0)
        return EINVAL;
    branch->iface = &c->branches[d]->iface;
    branch->self = AT(self, c->boff[d]);
    return 0;
}

static int xv_append(const avro_value_iface_t *i, void *self,
                     avro_value_t *child, size_t *new_index)
{
    const xw_cls *c = CLS(i);
    void *e;

    KIND_OR_EINVAL(i, AVRO_ARRAY);
    e = arr_append(c, self);
    if (!e)
        return ENOMEM;
    child->iface = &c->items->iface;
    child->self = e;
    if (new_index)
        *new_index = ((xw_arr *)self)->count - 1;
    return 0;
}

static int xv_set_branch(const avro_value_iface_t *i, void *self,
                         int discriminant, avro_value_t *branch)
{
    const xw_cls *c = CLS(i);

    KIND_OR_EINVAL(i, AVRO_UNION);
    if (discriminant < 0 || (size_t)discriminant >= c->nbranches)
        return EINVAL;
    union_select(c, self, discriminant);
    if (branch) {
        branch->iface = &c->branches[discriminant]->iface;
        branch->self = AT(self, c->boff[discriminant]);
    }
    return 0;
}

static const avro_value_iface_t xv_iface_template = {
    /* incref_iface/decref_iface: classes are owned by the registry;
     * incref/decref: values are owned, never reference counted. */
    .reset = xv_reset,
    .get_type = xv_get_type,
    .get_schema = xv_get_schema,
    .get_boolean = xv_get_boolean,
    .get_bytes = xv_get_bytes,
    .grab_bytes = xv_grab_bytes,
    .get_double = xv_get_double,
    .get_float = xv_get_float,
    .get_int = xv_get_int,
    .get_long = xv_get_long,
    .get_null = xv_get_null,
    .get_string = xv_get_string,
    .grab_string = xv_grab_string,
    .get_enum = xv_get_enum,
    .get_fixed = xv_get_fixed,
    .grab_fixed = xv_grab_fixed,
    .set_boolean = xv_set_boolean,
    .set_bytes = xv_set_bytes,
    .give_bytes = xv_give_bytes,
    .set_double = xv_set_double,
    .set_float = xv_set_float,
    .set_int = xv_set_int,
    .set_long = xv_set_long,
    .set_null = xv_set_null,
    .set_string = xv_set_string,
    .set_string_len = xv_set_string_len,
    .give_string_len = xv_give_string_len,
    .set_enum = xv_set_enum,
    .set_fixed = xv_set_fixed,
    .give_fixed = xv_give_fixed,
    .get_size = xv_get_size,
    .get_by_index = xv_get_by_index,
    .get_by_name = xv_get_by_name,
    .get_discriminant = xv_get_discriminant,
    .get_current_branch = xv_get_current_branch,
    .append = xv_append,
    .add = NULL,            /* maps are not supported */
    .set_branch = xv_set_branch,
};

/* --- building the classes of one type --- */

typedef struct build_ctx {
    xw_cls *list;           /* every class made, newest first */
    const json_t *named;    /* full name -> JSON definition */
    xw_avro_err *err;
} build_ctx;

static void cls_free_list(xw_cls *c)
{
    while (c) {
        xw_cls *next = c->next;
        free(c->fields);
        names_free(&c->names);
        free(c->branches);
        free(c->boff);
        free(c);
        c = next;
    }
}

static int fullname_of(avro_schema_t s, char *buf, size_t cap)
{
    const char *ns = avro_schema_namespace(s), *name = avro_schema_name(s);

    return (size_t)snprintf(buf, cap, "%s%s%s", ns && *ns ? ns : "",
                            ns && *ns ? "." : "", name ? name : "") < cap
        ? 0 : -1;
}

/* The fingerprint of a record as if it were a top-level schema: its
 * Parsing Canonical Form with the namespace it has where it is defined.
 * A record that refers to a named type defined outside it has none. */
static void record_fingerprint(xw_cls *c, const json_t *def, const char *ns)
{
    xw_buf out = XW_BUF_INIT;
    pcf_ctx pc = { &out, json_object(), NULL, 0 };

    if (pc.named && pcf_schema(&pc, def, ns ? ns : "") == 0) {
        c->rec_fp = xw_avro_crc64(out.data, out.len);
        c->rec_fp_ok = 1;
    }
    json_decref(pc.named);
    xw_buf_release(&out);
}

static xw_cls *cls_build(build_ctx *b, avro_schema_t s)
{
    xw_cls *c;
    size_t i;
    char full[PCF_NAME_MAX];

    while (is_avro_link(s))
        s = avro_schema_link_target(s);
    for (c = b->list; c; c = c->next) {
        if (c->schema == s) {
            if (!c->done) {
                set_err(b->err, XW_AVRO_ESCHEMA, "recursive type %s is not "
                        "supported", avro_schema_type_name(s));
                return NULL;
            }
            return c;
        }
    }
    c = calloc(1, sizeof *c);
    if (!c) {
        set_err(b->err, XW_AVRO_ENOMEM, "out of memory");
        return NULL;
    }
    c->iface = xv_iface_template;
    c->schema = s;
    c->kind = avro_typeof(s);
    c->null_branch = -1;
    c->next = b->list;
    b->list = c;
    c->size = 8;
    switch (c->kind) {
    case AVRO_NULL:
        c->min_wire = 0;
        break;
    case AVRO_BOOLEAN:
    case AVRO_INT32:
    case AVRO_INT64:
        c->min_wire = 1;
        break;
    case AVRO_FLOAT:
        c->min_wire = 4;
        break;
    case AVRO_DOUBLE:
        c->min_wire = 8;
        break;
    case AVRO_STRING:
    case AVRO_BYTES:
        c->size = ROUND8(sizeof(xw_str));
        c->min_wire = 1;
        break;
    case AVRO_ENUM:
        c->nsymbols = avro_schema_enum_number_of_symbols(s);
        c->min_wire = 1;
        if (names_build(&c->names, s) < 0) {
            set_err(b->err, XW_AVRO_ENOMEM, "out of memory");
            return NULL;
        }
        break;
    case AVRO_FIXED: {
        int64_t n = avro_schema_fixed_size(s);
        if (n < 0 || n > (1 << 20)) {
            set_err(b->err, XW_AVRO_ESCHEMA, "fixed size %lld unsupported",
                    (long long)n);
            return NULL;
        }
        c->fixed_size = (size_t)n;
        c->size = ROUND8(n ? (size_t)n : 1);
        c->min_wire = (size_t)n;
        break;
    }
    case AVRO_RECORD: {
        const json_t *def, *jfields;

        if (fullname_of(s, full, sizeof full) < 0 ||
            !(def = json_object_get(b->named, full)) ||
            !json_is_array(jfields = json_object_get(def, "fields")) ||
            json_array_size(jfields) != avro_schema_record_size(s)) {
            set_err(b->err, XW_AVRO_ESCHEMA, "record %s: Avro C and the "
                    "schema JSON disagree", avro_schema_name(s));
            return NULL;
        }
        c->nfields = avro_schema_record_size(s);
        c->fields = calloc(c->nfields ? c->nfields : 1, sizeof *c->fields);
        if (!c->fields) {
            set_err(b->err, XW_AVRO_ENOMEM, "out of memory");
            return NULL;
        }
        c->size = 0;
        c->min_wire = 0;
        for (i = 0; i < c->nfields; i++) {
            xw_field *f = &c->fields[i];
            const json_t *jf = json_array_get(jfields, i);

            f->name = avro_schema_record_field_name(s, (int)i);
            if (!f->name || strcmp(f->name, json_string_value(
                                   json_object_get(jf, "name"))) != 0) {
                set_err(b->err, XW_AVRO_ESCHEMA, "record %s: field %zu: Avro "
                        "C and the schema JSON disagree", full, i);
                return NULL;
            }
            f->dflt = json_object_get(jf, "default");
            f->cls = cls_build(b, avro_schema_record_field_get_by_index(
                                      s, (int)i));
            if (!f->cls)
                return NULL;
            f->off = c->size;
            c->size += f->cls->size;
            c->min_wire += f->cls->min_wire;
        }
        if (c->size == 0)
            c->size = 8;
        if (names_build(&c->names, s) < 0) {
            set_err(b->err, XW_AVRO_ENOMEM, "out of memory");
            return NULL;
        }
        record_fingerprint(c, def, avro_schema_namespace(s));
        break;
    }
    case AVRO_UNION: {
        size_t minb = SIZE_MAX;

        c->nbranches = avro_schema_union_size(s);
        c->branches = calloc(c->nbranches ? c->nbranches : 1,
                             sizeof *c->branches);
        c->boff = calloc(c->nbranches ? c->nbranches : 1, sizeof *c->boff);
        if (!c->branches || !c->boff) {
            set_err(b->err, XW_AVRO_ENOMEM, "out of memory");
            return NULL;
        }
        if (c->nbranches == 0) {
            set_err(b->err, XW_AVRO_ESCHEMA, "empty union");
            return NULL;
        }
        c->size = 8;
        for (i = 0; i < c->nbranches; i++) {
            c->branches[i] = cls_build(b, avro_schema_union_branch(s, (int)i));
            if (!c->branches[i])
                return NULL;
            if (c->branches[i]->kind == AVRO_NULL && c->null_branch < 0)
                c->null_branch = (int)i;
            c->boff[i] = c->size;
            c->size += c->branches[i]->size;
            if (c->branches[i]->min_wire < minb)
                minb = c->branches[i]->min_wire;
        }
        c->min_wire = 1 + minb;
        break;
    }
    case AVRO_ARRAY:
        c->items = cls_build(b, avro_schema_array_items(s));
        if (!c->items)
            return NULL;
        c->size = ROUND8(sizeof(xw_arr));
        c->min_wire = 1;
        break;
    default:
        set_err(b->err, XW_AVRO_ESCHEMA, "%s schemas are not supported",
                avro_schema_type_name(s));
        return NULL;
    }
    c->done = 1;
    return c;
}

/* =====================================================================
 * 4. registry
 */

typedef struct xw_type_int {
    xw_avro_type pub;       /* first: handed out as const xw_avro_type * */
    size_t index;           /* position in the registry */
    json_t *root;           /* parsed schema (field defaults live here) */
    json_t *named;          /* full name -> definition */
    xw_cls *classes;
    xw_cls *root_cls;
    char *name_buf;
    char *pcf_buf;
    char *json_buf;
} xw_type_int;

struct xw_avro_registry {
    xw_type_int **types;    /* insertion order */
    xw_type_int **by_fp;    /* sorted by fingerprint */
    size_t n, cap;
};

static void type_free(xw_type_int *t)
{
    if (!t)
        return;
    cls_free_list(t->classes);
    if (t->pub.schema)
        avro_schema_decref(t->pub.schema);
    json_decref(t->named);
    json_decref(t->root);
    free(t->name_buf);
    free(t->pcf_buf);
    free(t->json_buf);
    free(t);
}

static void errbuf_set(char *errbuf, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void errbuf_set(char *errbuf, size_t errlen, const char *fmt, ...)
{
    va_list ap;

    if (!errbuf || !errlen)
        return;
    va_start(ap, fmt);
    vsnprintf(errbuf, errlen, fmt, ap);
    va_end(ap);
}

int xw_avro_registry_new(xw_avro_registry **out)
{
    *out = calloc(1, sizeof **out);
    return *out ? 0 : XW_AVRO_ENOMEM;
}

void xw_avro_registry_free(xw_avro_registry *reg)
{
    size_t i;

    if (!reg)
        return;
    for (i = 0; i < reg->n; i++)
        type_free(reg->types[i]);
    free(reg->types);
    free(reg->by_fp);
    free(reg);
}

size_t xw_avro_registry_count(const xw_avro_registry *reg)
{
    return reg->n;
}

const xw_avro_type *xw_avro_registry_type(const xw_avro_registry *reg,
                                          size_t i)
{
    return i < reg->n ? &reg->types[i]->pub : NULL;
}

const xw_avro_type *xw_avro_type_find(const xw_avro_registry *reg,
                                      const char *name)
{
    size_t i;

    for (i = 0; i < reg->n; i++)
        if (strcmp(reg->types[i]->pub.name, name) == 0 ||
            strcmp(reg->types[i]->pub.short_name, name) == 0)
            return &reg->types[i]->pub;
    return NULL;
}

static size_t fp_lower_bound(const xw_avro_registry *reg, uint64_t fp)
{
    size_t lo = 0, hi = reg->n;

    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (reg->by_fp[mid]->pub.fingerprint < fp)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

const xw_avro_type *xw_avro_type_by_fingerprint(const xw_avro_registry *reg,
                                                uint64_t fp)
{
    size_t i = fp_lower_bound(reg, fp);

    return i < reg->n && reg->by_fp[i]->pub.fingerprint == fp
        ? &reg->by_fp[i]->pub : NULL;
}

int xw_avro_registry_add(xw_avro_registry *reg, const char *json, size_t len,
                         const char *expect_name,
                         const xw_avro_type **type_out,
                         char *errbuf, size_t errlen)
{
    xw_type_int *t;
    json_error_t jerr;
    xw_avro_err err = { 0, "" };
    xw_buf pcf = XW_BUF_INIT;
    build_ctx b;
    const char *what = expect_name ? expect_name : "schema";
    char full[PCF_NAME_MAX];
    size_t pos;
    int rc;

    if (type_out)
        *type_out = NULL;
    t = calloc(1, sizeof *t);
    if (!t || !(t->json_buf = malloc(len + 1))) {
        free(t);
        errbuf_set(errbuf, errlen, "%s: out of memory", what);
        return XW_AVRO_ENOMEM;
    }
    memcpy(t->json_buf, json, len);
    t->json_buf[len] = '\0';
    t->pub.json = t->json_buf;

    t->root = json_loadb(json, len, JSON_DECODE_ANY | JSON_REJECT_DUPLICATES,
                         &jerr);
    if (!t->root) {
        errbuf_set(errbuf, errlen, "%s: JSON line %d column %d: %s", what,
                   jerr.line, jerr.column, jerr.text);
        rc = XW_AVRO_ESCHEMA;
        goto fail;
    }
    if (!json_is_object(t->root) ||
        !json_is_string(json_object_get(t->root, "type")) ||
        strcmp(json_string_value(json_object_get(t->root, "type")),
               "record") != 0) {
        errbuf_set(errbuf, errlen, "%s: the top level must be a record",
                   what);
        rc = XW_AVRO_ESCHEMA;
        goto fail;
    }
    t->named = json_object();
    if (!t->named) {
        rc = XW_AVRO_ENOMEM;
        errbuf_set(errbuf, errlen, "%s: out of memory", what);
        goto fail;
    }
    rc = pcf_compute(t->root, &pcf, t->named, &err);
    if (rc < 0) {
        errbuf_set(errbuf, errlen, "%s: %s", what, err.msg);
        goto fail;
    }
    t->pub.fingerprint = xw_avro_crc64(pcf.data, pcf.len);
    t->pub.pcf_len = pcf.len;
    t->pcf_buf = xw_buf_detach(&pcf, NULL);
    t->pub.pcf = t->pcf_buf;

    if (avro_schema_from_json_length(t->json_buf, len, &t->pub.schema) != 0) {
        t->pub.schema = NULL;
        errbuf_set(errbuf, errlen, "%s: Avro C rejects it: %s", what,
                   avro_strerror());
        rc = XW_AVRO_ESCHEMA;
        goto fail;
    }
    if (avro_typeof(t->pub.schema) != AVRO_RECORD ||
        fullname_of(t->pub.schema, full, sizeof full) < 0 ||
        !json_object_get(t->named, full)) {
        errbuf_set(errbuf, errlen, "%s: Avro C and the schema JSON disagree "
                   "on the record's name", what);
        rc = XW_AVRO_ESCHEMA;
        goto fail;
    }
    if (expect_name && strcmp(avro_schema_name(t->pub.schema),
                              expect_name) != 0) {
        errbuf_set(errbuf, errlen, "%s: the record is named %s (file name "
                   "and record name must match)", what,
                   avro_schema_name(t->pub.schema));
        rc = XW_AVRO_ESCHEMA;
        goto fail;
    }
    if (!(t->name_buf = strdup(full))) {
        rc = XW_AVRO_ENOMEM;
        errbuf_set(errbuf, errlen, "%s: out of memory", what);
        goto fail;
    }
    t->pub.name = t->name_buf;
    t->pub.short_name = strrchr(t->name_buf, '.')
        ? strrchr(t->name_buf, '.') + 1 : t->name_buf;
    if (xw_avro_type_by_fingerprint(reg, t->pub.fingerprint)) {
        errbuf_set(errbuf, errlen, "%s: fingerprint 0x%016llx is already "
                   "registered (%s)", what,
                   (unsigned long long)t->pub.fingerprint,
                   xw_avro_type_by_fingerprint(reg, t->pub.fingerprint)->name);
        rc = XW_AVRO_EDUP;
        goto fail;
    }

    b.list = NULL;
    b.named = t->named;
    b.err = &err;
    t->root_cls = cls_build(&b, t->pub.schema);
    t->classes = b.list;
    if (!t->root_cls) {
        errbuf_set(errbuf, errlen, "%s: %s", what, err.msg);
        rc = err.code ? err.code : XW_AVRO_ESCHEMA;
        goto fail;
    }
    t->root_cls->root_type = &t->pub;
    t->pub.iface = &t->root_cls->iface;

    if (reg->n == reg->cap) {
        size_t cap = reg->cap ? reg->cap * 2 : 16;
        xw_type_int **a = realloc(reg->types, cap * sizeof *a);
        if (a)
            reg->types = a;
        xw_type_int **f = a ? realloc(reg->by_fp, cap * sizeof *f) : NULL;
        if (f)
            reg->by_fp = f;
        if (!a || !f) {
            errbuf_set(errbuf, errlen, "%s: out of memory", what);
            rc = XW_AVRO_ENOMEM;
            goto fail;
        }
        reg->cap = cap;
    }
    t->index = reg->n;
    reg->types[reg->n] = t;
    pos = fp_lower_bound(reg, t->pub.fingerprint);
    memmove(reg->by_fp + pos + 1, reg->by_fp + pos,
            (reg->n - pos) * sizeof *reg->by_fp);
    reg->by_fp[pos] = t;
    reg->n++;
    if (type_out)
        *type_out = &t->pub;
    return 0;

fail:
    xw_buf_release(&pcf);
    type_free(t);
    return rc;
}

int xw_avro_registry_open(xw_avro_registry **out, char *errbuf,
                          size_t errlen)
{
    xw_avro_registry *reg;
    size_t i;
    int rc;

    *out = NULL;
    if (xw_avro_registry_new(&reg) < 0) {
        errbuf_set(errbuf, errlen, "out of memory");
        return XW_AVRO_ENOMEM;
    }
    for (i = 0; i < xw_avro_embedded_schemas_count; i++) {
        const xw_avro_schema_text *s = &xw_avro_embedded_schemas[i];

        rc = xw_avro_registry_add(reg, s->json, s->len, s->name, NULL,
                                  errbuf, errlen);
        if (rc < 0) {
            xw_avro_registry_free(reg);
            return rc;
        }
    }
    *out = reg;
    return 0;
}

static int avsc_filter(const struct dirent *d)
{
    size_t n = strlen(d->d_name);

    return n > 5 && d->d_name[0] != '.' &&
           strcmp(d->d_name + n - 5, ".avsc") == 0;
}

#define XW_AVSC_MAX (1u << 20)

int xw_avro_registry_open_dir(xw_avro_registry **out, const char *dir,
                              char *errbuf, size_t errlen)
{
    xw_avro_registry *reg = NULL;
    struct dirent **list = NULL;
    xw_buf text = XW_BUF_INIT;
    int n, i, rc = 0;

    *out = NULL;
    n = scandir(dir, &list, avsc_filter, alphasort);
    if (n < 0) {
        errbuf_set(errbuf, errlen, "%s: %s", dir, strerror(errno));
        return XW_AVRO_EIO;
    }
    if (xw_avro_registry_new(&reg) < 0) {
        errbuf_set(errbuf, errlen, "out of memory");
        rc = XW_AVRO_ENOMEM;
    }
    xw_buf_init(&text, XW_AVSC_MAX);
    for (i = 0; i < n && rc == 0; i++) {
        char path[4096], stem[256];
        FILE *f;
        size_t got;

        snprintf(path, sizeof path, "%s/%s", dir, list[i]->d_name);
        snprintf(stem, sizeof stem, "%.*s",
                 (int)(strlen(list[i]->d_name) - 5), list[i]->d_name);
        xw_buf_reset(&text);
        f = fopen(path, "rb");
        if (!f) {
            errbuf_set(errbuf, errlen, "%s: %s", path, strerror(errno));
            rc = XW_AVRO_EIO;
            break;
        }
        for (;;) {
            if (xw_buf_grow(&text, 4096) < 0) {
                errbuf_set(errbuf, errlen, "%s: larger than %u bytes", path,
                           XW_AVSC_MAX);
                rc = XW_AVRO_EIO;
                break;
            }
            got = fread(text.data + text.len, 1, 4096, f);
            xw_buf_setlen(&text, text.len + got);
            if (got < 4096)
                break;
        }
        if (rc == 0 && ferror(f)) {
            errbuf_set(errbuf, errlen, "%s: read error", path);
            rc = XW_AVRO_EIO;
        }
        fclose(f);
        if (rc == 0) {
            char sub[256];
            rc = xw_avro_registry_add(reg, text.data, text.len, stem, NULL,
                                      sub, sizeof sub);
            if (rc < 0)
                errbuf_set(errbuf, errlen, "%s: %s", path, sub);
        }
    }
    for (i = 0; i < n; i++)
        free(list[i]);
    free(list);
    xw_buf_release(&text);
    if (rc < 0) {
        xw_avro_registry_free(reg);
        return rc;
    }
    *out = reg;
    return 0;
}

/* The fingerprint of a single-object header (events and records alike). */
static int header_read(const void *data, size_t len, uint64_t *fp,
                       xw_avro_err *err)
{
    const unsigned char *p = data;

    if (len >= 2 && (p[0] != XW_AVRO_MARKER0 || p[1] != XW_AVRO_MARKER1))
        return set_err(err, XW_AVRO_EMARKER, "message starts with %02x %02x, "
                       "not the single-object marker c3 01", p[0], p[1]);
    if (len < XW_AVRO_HEADER_LEN)
        return set_err(err, XW_AVRO_ESHORT, "message of %zu bytes is shorter "
                       "than the %d-byte header", len, XW_AVRO_HEADER_LEN);
    *fp = 0;
    for (int i = 7; i >= 0; i--)
        *fp = (*fp << 8) | p[2 + i];
    return 0;
}

int xw_avro_peek_type(const xw_avro_registry *reg, const void *data,
                      size_t len, const xw_avro_type **type,
                      xw_avro_err *err)
{
    uint64_t fp = 0;
    int rc;

    *type = NULL;
    if ((rc = header_read(data, len, &fp, err)) < 0)
        return rc;
    *type = xw_avro_type_by_fingerprint(reg, fp);
    if (!*type)
        return set_err(err, XW_AVRO_EUNKNOWN, "unknown schema fingerprint "
                       "0x%016llx", (unsigned long long)fp);
    return 0;
}

/* =====================================================================
 * 5. encoder and decoder
 */

#define PATH_MAX_DEPTH 32

typedef struct xw_path {
    int depth;
    struct { const char *name; size_t index; } e[PATH_MAX_DEPTH];
} xw_path;

static void path_push(xw_path *p, const char *name, size_t index)
{
    if (p->depth < PATH_MAX_DEPTH) {
        p->e[p->depth].name = name;
        p->e[p->depth].index = index;
    }
    p->depth++;
}

static void path_format(const xw_path *p, char *buf, size_t cap)
{
    size_t n = 0;
    int i;

    buf[0] = '\0';
    for (i = 0; i < p->depth && i < PATH_MAX_DEPTH && n < cap; i++) {
        int w = p->e[i].name
            ? snprintf(buf + n, cap - n, "%s%s", i ? "." : "", p->e[i].name)
            : snprintf(buf + n, cap - n, "[%zu]", p->e[i].index);
        if (w < 0)
            break;
        n += (size_t)w;
    }
}

/* --- encoder --- */

typedef struct wr {
    xw_buf *out;
    xw_path path;
    xw_avro_err *err;
} wr;

static int wr_fail(wr *w, int code, const char *what)
{
    char path[160];

    path_format(&w->path, path, sizeof path);
    return set_err(w->err, code, "%s%s%s", *path ? path : "",
                   *path ? ": " : "", what);
}

static int wr_raw(wr *w, const void *p, size_t n)
{
    if (xw_buf_add(w->out, p, n) < 0)
        return wr_fail(w, (w->out->cap && w->out->len + n > w->out->cap)
                       ? XW_AVRO_ELIMIT : XW_AVRO_ENOMEM,
                       (w->out->cap && w->out->len + n > w->out->cap)
                       ? "event larger than the output buffer cap"
                       : "out of memory");
    return 0;
}

static int wr_long(wr *w, int64_t v)
{
    uint64_t z = ((uint64_t)v << 1) ^ (uint64_t)(v >> 63);
    unsigned char b[10];
    size_t n = 0;

    while (z >= 0x80) {
        b[n++] = (unsigned char)(z | 0x80);
        z >>= 7;
    }
    b[n++] = (unsigned char)z;
    return wr_raw(w, b, n);
}

static int wr_value(wr *w, const xw_cls *c, const void *self);

/* The first n fields of the record self, in order. */
/* Fields [from, to) of a record. */
static int wr_fields(wr *w, const xw_cls *c, const void *self, size_t from,
                     size_t to)
{
    int rc;

    for (size_t i = from; i < to; i++) {
        path_push(&w->path, c->fields[i].name, 0);
        rc = wr_value(w, c->fields[i].cls, AT(self, c->fields[i].off));
        w->path.depth--;
        if (rc < 0)
            return rc;
    }
    return 0;
}

static int wr_value(wr *w, const xw_cls *c, const void *self)
{
    unsigned char b[8];
    size_t i;
    int rc;

    switch (c->kind) {
    case AVRO_NULL:
        return 0;
    case AVRO_BOOLEAN:
        b[0] = *(const int32_t *)self ? 1 : 0;
        return wr_raw(w, b, 1);
    case AVRO_INT32:
        return wr_long(w, *(const int32_t *)self);
    case AVRO_INT64:
    case AVRO_ENUM:
        return wr_long(w, c->kind == AVRO_ENUM ? *(const int32_t *)self
                                               : *(const int64_t *)self);
    case AVRO_FLOAT: {
        uint32_t u;
        memcpy(&u, self, 4);
        for (i = 0; i < 4; i++)
            b[i] = (unsigned char)(u >> (8 * i));
        return wr_raw(w, b, 4);
    }
    case AVRO_DOUBLE: {
        uint64_t u;
        memcpy(&u, self, 8);
        for (i = 0; i < 8; i++)
            b[i] = (unsigned char)(u >> (8 * i));
        return wr_raw(w, b, 8);
    }
    case AVRO_STRING:
    case AVRO_BYTES: {
        const xw_str *s = self;
        if ((rc = wr_long(w, (int64_t)s->len)) < 0)
            return rc;
        return s->len ? wr_raw(w, s->buf, s->len) : 0;
    }
    case AVRO_FIXED:
        return wr_raw(w, self, c->fixed_size);
    case AVRO_RECORD:
        return wr_fields(w, c, self, 0, c->nfields);
    case AVRO_UNION: {
        int d = *union_disc((void *)self);
        if (d < 0)
            return wr_fail(w, XW_AVRO_EUNSET, "union has no branch selected");
        if ((rc = wr_long(w, d)) < 0)
            return rc;
        return wr_value(w, c->branches[d], AT(self, c->boff[d]));
    }
    case AVRO_ARRAY: {
        const xw_arr *a = self;
        if (a->count) {
            if ((rc = wr_long(w, (int64_t)a->count)) < 0)
                return rc;
            for (i = 0; i < a->count; i++) {
                path_push(&w->path, NULL, i);
                rc = wr_value(w, c->items, arr_at(c, a, i));
                w->path.depth--;
                if (rc < 0)
                    return rc;
            }
        }
        return wr_long(w, 0);
    }
    default:
        return wr_fail(w, XW_AVRO_ETYPE, "unsupported type");
    }
}

static void wr_init(wr *w, xw_buf *out, xw_avro_err *err)
{
    w->out = out;
    w->path.depth = 0;
    w->err = err;
}

/* The single-object header: marker and fingerprint. */
static int wr_header(wr *w, uint64_t fp)
{
    unsigned char hdr[XW_AVRO_HEADER_LEN];

    hdr[0] = XW_AVRO_MARKER0;
    hdr[1] = XW_AVRO_MARKER1;
    for (int i = 0; i < 8; i++)
        hdr[2 + i] = (unsigned char)(fp >> (8 * i));
    return wr_raw(w, hdr, sizeof hdr);
}

/* Header with fingerprint fp, then the body of the value self of class c,
 * replacing out's contents (left empty on failure). */
static int encode_as(const xw_cls *c, const void *self, uint64_t fp,
                     xw_buf *out, xw_avro_err *err)
{
    wr w;
    int rc;

    wr_init(&w, out, err);
    rc = wr_header(&w, fp);
    if (rc == 0)
        rc = wr_value(&w, c, self);
    if (rc < 0)
        xw_buf_reset(out);
    return rc;
}

/* The class of an event value, or NULL with err set. */
static const xw_cls *event_cls(const avro_value_t *event, xw_avro_err *err)
{
    if (!is_ours(event) || !CLS(event->iface)->root_type) {
        set_err(err, XW_AVRO_ETYPE, "not an event value (use one from "
                "xw_avro_value_init or xw_avro_decode)");
        return NULL;
    }
    return CLS(event->iface);
}

int xw_avro_encode(const avro_value_t *event, xw_buf *out, xw_avro_err *err)
{
    const xw_cls *c;

    xw_buf_reset(out);
    if (!(c = event_cls(event, err)))
        return XW_AVRO_ETYPE;
    return encode_as(c, event->self, c->root_type->fingerprint, out, err);
}

int xw_avro_encode_body(const avro_value_t *v, xw_buf *out, xw_avro_err *err)
{
    size_t saved = out->len;
    wr w;
    int rc;

    if (!is_ours(v))
        return set_err(err, XW_AVRO_ETYPE, "not an xw_avro value");
    wr_init(&w, out, err);
    if ((rc = wr_value(&w, CLS(v->iface), v->self)) < 0)
        xw_buf_setlen(out, saved);
    return rc;
}

int xw_avro_encode_items(const avro_value_t *event, const char *field,
                         size_t count, const void *items, size_t len,
                         xw_buf *out, xw_avro_err *err)
{
    const xw_field *last;
    const xw_cls *c;
    wr w;
    int rc;

    xw_buf_reset(out);
    if (!(c = event_cls(event, err)))
        return XW_AVRO_ETYPE;
    last = c->nfields ? &c->fields[c->nfields - 1] : NULL;
    if (!last || strcmp(last->name, field) != 0)
        return set_err(err, XW_AVRO_ENOFIELD, "%s is not the last field of "
                       "%s", field, c->root_type->name);
    if (last->cls->kind != AVRO_ARRAY)
        return set_err(err, XW_AVRO_ETYPE, "%s is not an array", field);
    if (!count && len)
        return set_err(err, XW_AVRO_EVALUE, "%s: %zu bytes of no items",
                       field, len);
    /* As wr_value writes an array: one block of count items, then 0. */
    wr_init(&w, out, err);
    rc = wr_header(&w, c->root_type->fingerprint);
    if (rc == 0)
        rc = wr_fields(&w, c, event->self, 0, c->nfields - 1);
    if (rc == 0 && count) {
        path_push(&w.path, field, 0);
        rc = wr_long(&w, (int64_t)count);
        if (rc == 0)
            rc = wr_raw(&w, items, len);
        w.path.depth--;
    }
    if (rc == 0)
        rc = wr_long(&w, 0);
    if (rc < 0)
        xw_buf_reset(out);
    return rc;
}

int xw_avro_encode_record(const avro_value_t *rec, xw_buf *out,
                          xw_avro_err *err)
{
    return xw_avro_encode_record_head(rec, 0, NULL, 0, out, err);
}

int xw_avro_encode_record_head(const avro_value_t *rec, size_t n,
                               const void *head, size_t len, xw_buf *out,
                               xw_avro_err *err)
{
    const xw_cls *c;
    wr w;
    int rc;

    xw_buf_reset(out);
    if (!is_ours(rec) || (c = CLS(rec->iface))->kind != AVRO_RECORD)
        return set_err(err, XW_AVRO_ETYPE, "not an xw_avro record value");
    if (!c->rec_fp_ok)
        return set_err(err, XW_AVRO_ESCHEMA, "record %s uses a type defined "
                       "outside it: it has no fingerprint of its own",
                       avro_schema_name(c->schema));
    if (n > c->nfields || (n == 0 && len))
        return set_err(err, XW_AVRO_ERANGE, "%zu head bytes for %zu of the "
                       "%zu fields of %s", len, n, c->nfields,
                       avro_schema_name(c->schema));
    wr_init(&w, out, err);
    rc = wr_header(&w, c->rec_fp);
    if (rc == 0 && len)
        rc = wr_raw(&w, head, len);
    if (rc == 0)
        rc = wr_fields(&w, c, rec->self, n, c->nfields);
    if (rc < 0)
        xw_buf_reset(out);
    return rc;
}

/* --- decoder --- */

/* Arrays of items that take no bytes (array<null>) cannot be bounded by
 * the input length; they get this many items per message at most. */
#define XW_ZERO_SIZE_ITEMS_MAX (1u << 16)

typedef struct rd {
    const unsigned char *start, *p, *end;
    xw_path path;
    xw_avro_err *err;
    size_t zero_items;
    size_t grown;           /* heap bytes the value grew by */
} rd;

static int rd_fail(rd *r, int code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int rd_fail(rd *r, int code, const char *fmt, ...)
{
    char what[128], path[128];
    va_list ap;

    if (!r->err)
        return code;
    va_start(ap, fmt);
    vsnprintf(what, sizeof what, fmt, ap);
    va_end(ap);
    path_format(&r->path, path, sizeof path);
    return set_err(r->err, code, "byte %zu%s%s: %s", (size_t)(r->p - r->start),
                   *path ? ", field " : "", path, what);
}

static size_t rd_left(const rd *r)
{
    return (size_t)(r->end - r->p);
}

static int rd_long(rd *r, int64_t *out)
{
    uint64_t v = 0;
    int i;

    for (i = 0; i < 10; i++) {
        unsigned b;

        if (r->p >= r->end)
            return rd_fail(r, XW_AVRO_ETRUNCATED, "input ends inside a number");
        b = *r->p++;
        if (i == 9 && (b & 0xfe))
            return rd_fail(r, XW_AVRO_EGARBLED, "number overflows 64 bits");
        v |= (uint64_t)(b & 0x7f) << (7 * i);
        if (!(b & 0x80)) {
            *out = (int64_t)(v >> 1) ^ -(int64_t)(v & 1);
            return 0;
        }
    }
    return rd_fail(r, XW_AVRO_EGARBLED, "number overflows 64 bits");
}

static int rd_len(rd *r, size_t *out, const char *what)
{
    int64_t n;
    int rc = rd_long(r, &n);

    if (rc < 0)
        return rc;
    if (n < 0)
        return rd_fail(r, XW_AVRO_EGARBLED, "negative %s length %lld", what,
                       (long long)n);
    if ((uint64_t)n > rd_left(r))
        return rd_fail(r, XW_AVRO_ETRUNCATED, "%s of %lld bytes but %zu left",
                       what, (long long)n, rd_left(r));
    *out = (size_t)n;
    return 0;
}

int xw_avro_peek_string(const void *data, size_t len, const char **s,
                        size_t *slen, xw_avro_err *err)
{
    uint64_t fp;
    rd r;
    int rc;

    if ((rc = header_read(data, len, &fp, err)) < 0)
        return rc;
    memset(&r, 0, sizeof r);
    r.start = data;
    r.p = r.start + XW_AVRO_HEADER_LEN;
    r.end = r.start + len;
    r.err = err;
    if ((rc = rd_len(&r, slen, "string")) < 0)
        return rc;
    *s = (const char *)r.p;
    return 0;
}

static int rd_value(rd *r, const xw_cls *c, void *self)
{
    int64_t v;
    size_t i, n = 0;
    int rc;

    switch (c->kind) {
    case AVRO_NULL:
        return 0;
    case AVRO_BOOLEAN:
        if (r->p >= r->end)
            return rd_fail(r, XW_AVRO_ETRUNCATED, "input ends before a "
                           "boolean");
        if (*r->p > 1)
            return rd_fail(r, XW_AVRO_EGARBLED, "boolean byte %u", *r->p);
        *(int32_t *)self = *r->p++;
        return 0;
    case AVRO_INT32:
        if ((rc = rd_long(r, &v)) < 0)
            return rc;
        if (v < INT32_MIN || v > INT32_MAX)
            return rd_fail(r, XW_AVRO_EGARBLED, "int %lld out of range",
                           (long long)v);
        *(int32_t *)self = (int32_t)v;
        return 0;
    case AVRO_INT64:
        return rd_long(r, (int64_t *)self);
    case AVRO_FLOAT:
    case AVRO_DOUBLE: {
        size_t w = c->kind == AVRO_FLOAT ? 4 : 8;
        uint64_t u = 0;
        if (rd_left(r) < w)
            return rd_fail(r, XW_AVRO_ETRUNCATED, "input ends inside a %s",
                           w == 4 ? "float" : "double");
        for (i = 0; i < w; i++)
            u |= (uint64_t)r->p[i] << (8 * i);
        r->p += w;
        if (w == 4) {
            uint32_t u32 = (uint32_t)u;
            memcpy(self, &u32, 4);
        } else {
            memcpy(self, &u, 8);
        }
        return 0;
    }
    case AVRO_STRING:
    case AVRO_BYTES:
        if ((rc = rd_len(r, &n, c->kind == AVRO_STRING ? "string"
                                                       : "bytes")) < 0)
            return rc;
        if (c->kind == AVRO_STRING && !xw_avro_utf8_valid(r->p, n))
            return rd_fail(r, XW_AVRO_EGARBLED, "string is not valid UTF-8");
        i = ((xw_str *)self)->cap;
        if (str_set(self, r->p, n) < 0)
            return rd_fail(r, XW_AVRO_ENOMEM, "out of memory");
        r->grown += ((xw_str *)self)->cap - i;
        r->p += n;
        return 0;
    case AVRO_ENUM:
        if ((rc = rd_long(r, &v)) < 0)
            return rc;
        if (v < 0 || v >= c->nsymbols)
            return rd_fail(r, XW_AVRO_EGARBLED, "enum index %lld out of "
                           "range (%d symbols)", (long long)v, c->nsymbols);
        *(int32_t *)self = (int32_t)v;
        return 0;
    case AVRO_FIXED:
        if (rd_left(r) < c->fixed_size)
            return rd_fail(r, XW_AVRO_ETRUNCATED, "input ends inside a fixed");
        memcpy(self, r->p, c->fixed_size);
        r->p += c->fixed_size;
        return 0;
    case AVRO_RECORD:
        for (i = 0; i < c->nfields; i++) {
            path_push(&r->path, c->fields[i].name, 0);
            rc = rd_value(r, c->fields[i].cls, AT(self, c->fields[i].off));
            if (rc < 0)
                return rc;      /* keep the path for the message */
            r->path.depth--;
        }
        return 0;
    case AVRO_UNION:
        if ((rc = rd_long(r, &v)) < 0)
            return rc;
        if (v < 0 || (uint64_t)v >= c->nbranches)
            return rd_fail(r, XW_AVRO_EGARBLED, "union branch %lld out of "
                           "range (%zu branches)", (long long)v, c->nbranches);
        *union_disc(self) = (int)v;
        return rd_value(r, c->branches[v], AT(self, c->boff[v]));
    case AVRO_ARRAY: {
        xw_arr *a = self;

        a->count = 0;
        for (;;) {
            if ((rc = rd_long(r, &v)) < 0)
                return rc;
            if (v == 0)
                return 0;
            if (v < 0) {
                int64_t bytes;
                if (v == INT64_MIN)
                    return rd_fail(r, XW_AVRO_EGARBLED, "bad block count");
                v = -v;
                if ((rc = rd_long(r, &bytes)) < 0)
                    return rc;
                if (bytes < 0)
                    return rd_fail(r, XW_AVRO_EGARBLED, "negative block size");
                if ((uint64_t)bytes > rd_left(r))
                    return rd_fail(r, XW_AVRO_ETRUNCATED, "block of %lld bytes "
                                   "but %zu left", (long long)bytes,
                                   rd_left(r));
            }
            /* Bound the count by what the input can hold before any
             * element is made. */
            if (c->items->min_wire) {
                if ((uint64_t)v > rd_left(r) / c->items->min_wire)
                    return rd_fail(r, XW_AVRO_ETRUNCATED, "%lld items cannot "
                                   "fit in the %zu bytes left", (long long)v,
                                   rd_left(r));
            } else if ((uint64_t)v > XW_ZERO_SIZE_ITEMS_MAX - r->zero_items) {
                return rd_fail(r, XW_AVRO_EGARBLED, "more than %u zero-size "
                               "items", XW_ZERO_SIZE_ITEMS_MAX);
            } else {
                r->zero_items += (size_t)v;
            }
            /* v is bounded above by what the input can hold. */
            {
                size_t cap = a->cap;

                if (arr_reserve(c, a, (size_t)v) < 0)
                    return rd_fail(r, XW_AVRO_ENOMEM, "out of memory");
                r->grown += (a->cap - cap) * c->items->size;
            }
            for (; v > 0; v--) {
                size_t cap = a->cap;
                void *e = arr_append(c, a);
                if (!e)
                    return rd_fail(r, XW_AVRO_ENOMEM, "out of memory");
                r->grown += (a->cap - cap) * c->items->size;
                path_push(&r->path, NULL, a->count - 1);
                rc = rd_value(r, c->items, e);
                if (rc < 0)
                    return rc;
                r->path.depth--;
            }
        }
    }
    default:
        return rd_fail(r, XW_AVRO_EGARBLED, "unsupported type");
    }
}

static int decode_body(const xw_cls *c, void *self, const void *data,
                       size_t len, size_t *grown, xw_avro_err *err)
{
    rd r;
    int rc;

    r.start = data;
    r.p = r.start + XW_AVRO_HEADER_LEN;
    r.end = r.start + len;
    r.path.depth = 0;
    r.err = err;
    r.zero_items = 0;
    r.grown = 0;
    rc = rd_value(&r, c, self);
    if (grown)
        *grown = r.grown;
    if (rc == 0 && r.p != r.end) {
        r.path.depth = 0;
        rc = rd_fail(&r, XW_AVRO_ETRAILING, "%zu bytes after the event",
                     rd_left(&r));
    }
    return rc;
}

/* A cached value keeps the capacity of the largest strings and arrays it
 * ever held, slot by slot, so hostile input could make it keep far more
 * than any one message needs. Past this much growth it is freed and made
 * again on the next decode of its type. */
#define XW_DECODER_RETAIN_MAX ((size_t)16 << 20)

typedef struct dec_slot {
    xw_avro_value v;
    size_t retained;        /* heap growth since made */
} dec_slot;

struct xw_avro_decoder {
    const xw_avro_registry *reg;
    dec_slot *slots;        /* by type index, value made on first use */
    size_t nslots;
    size_t retain_max;
};

int xw_avro_decoder_new(xw_avro_decoder **out, const xw_avro_registry *reg)
{
    *out = calloc(1, sizeof **out);
    if (!*out)
        return XW_AVRO_ENOMEM;
    (*out)->reg = reg;
    (*out)->retain_max = XW_DECODER_RETAIN_MAX;
    return 0;
}

void xw_avro_decoder_free(xw_avro_decoder *dec)
{
    size_t i;

    if (!dec)
        return;
    for (i = 0; i < dec->nslots; i++)
        xw_avro_value_release(&dec->slots[i].v);
    free(dec->slots);
    free(dec);
}

int xw_avro_decode(xw_avro_decoder *dec, const void *data, size_t len,
                   const xw_avro_type **type, avro_value_t **value,
                   xw_avro_err *err)
{
    const xw_avro_type *t;
    const xw_type_int *ti;
    dec_slot *s;
    size_t grown = 0;
    int rc;

    *type = NULL;
    *value = NULL;
    if ((rc = xw_avro_peek_type(dec->reg, data, len, &t, err)) < 0)
        return rc;
    ti = (const xw_type_int *)(const void *)t;
    if (ti->index >= dec->nslots) {
        size_t n = dec->reg->n;
        dec_slot *ns = realloc(dec->slots, n * sizeof *ns);

        if (!ns)
            return set_err(err, XW_AVRO_ENOMEM, "out of memory");
        memset(ns + dec->nslots, 0, (n - dec->nslots) * sizeof *ns);
        dec->slots = ns;
        dec->nslots = n;
    }
    s = &dec->slots[ti->index];
    if (s->v.type && s->retained > dec->retain_max) {
        xw_avro_value_release(&s->v);
        s->retained = 0;
    }
    if (!s->v.type && xw_avro_value_init(&s->v, t) < 0)
        return set_err(err, XW_AVRO_ENOMEM, "out of memory");
    rc = decode_body(ti->root_cls, s->v.value.self, data, len, &grown, err);
    s->retained += grown;
    if (rc < 0)
        return rc;
    *type = t;
    *value = &s->v.value;
    return 0;
}

void xw_avro_decoder_set_retain_max(xw_avro_decoder *dec, size_t bytes)
{
    dec->retain_max = bytes;
}

size_t xw_avro_decoder_retained(const xw_avro_decoder *dec)
{
    size_t i, n = 0;

    for (i = 0; i < dec->nslots; i++)
        n += dec->slots[i].retained;
    return n;
}

int xw_avro_decode_into(const xw_avro_registry *reg, xw_avro_value *v,
                        const void *data, size_t len, xw_avro_err *err)
{
    const xw_avro_type *t;
    int rc = xw_avro_peek_type(reg, data, len, &t, err);

    if (rc == 0 && t != v->type) {
        rc = set_err(err, XW_AVRO_ETYPE, "message is a %s, expected %s",
                     t->short_name, v->type->short_name);
    }
    if (rc == 0)
        rc = decode_body(CLS(v->value.iface), v->value.self, data, len, NULL,
                         err);
    if (rc < 0)
        xw_avro_value_reset(v);
    return rc;
}

int xw_avro_decode_record(avro_value_t *rec, const void *data, size_t len,
                          xw_avro_err *err)
{
    const xw_cls *c;
    uint64_t fp = 0;
    int rc;

    if (!is_ours(rec) || (c = CLS(rec->iface))->kind != AVRO_RECORD)
        return set_err(err, XW_AVRO_ETYPE, "not an xw_avro record value");
    cls_reset(c, rec->self);
    if ((rc = header_read(data, len, &fp, err)) < 0)
        return rc;
    if (!c->rec_fp_ok || fp != c->rec_fp)
        return set_err(err, XW_AVRO_ETYPE, "fingerprint 0x%016llx is not "
                       "that of record %s", (unsigned long long)fp,
                       avro_schema_name(c->schema));
    rc = decode_body(c, rec->self, data, len, NULL, err);
    if (rc < 0)
        cls_reset(c, rec->self);
    return rc;
}

/* =====================================================================
 * 6. values, field access by name, copy
 */

int xw_avro_value_init(xw_avro_value *v, const xw_avro_type *type)
{
    void *self;

    memset(v, 0, sizeof *v);
    if (!type)      /* e.g. xw_avro_type_find() found nothing */
        return XW_AVRO_ETYPE;
    self = calloc(1, CLS(type->iface)->size);
    if (!self)
        return XW_AVRO_ENOMEM;
    cls_init(CLS(type->iface), self);
    v->type = type;
    v->value.iface = type->iface;
    v->value.self = self;
    return 0;
}

void xw_avro_value_reset(xw_avro_value *v)
{
    if (v->type)
        cls_reset(CLS(v->value.iface), v->value.self);
}

void xw_avro_value_release(xw_avro_value *v)
{
    if (v->type) {
        cls_done(CLS(v->value.iface), v->value.self);
        free(v->value.self);
    }
    memset(v, 0, sizeof *v);
}

const xw_avro_type *xw_avro_value_type(const avro_value_t *v)
{
    return is_ours(v) ? CLS(v->iface)->root_type : NULL;
}

int xw_avro_is_ours(const avro_value_t *v)
{
    return is_ours(v);
}

const json_t *xw_avro_field_default(const avro_value_t *rec, size_t index)
{
    const xw_cls *c;

    if (!is_ours(rec) || (c = CLS(rec->iface))->kind != AVRO_RECORD ||
        index >= c->nfields)
        return NULL;
    return c->fields[index].dflt;
}

/* The class and instance of field `field` of record rec. */
static int field_of(const avro_value_t *rec, const char *field,
                    const xw_cls **fc, void **fself)
{
    const xw_cls *c;
    int ix;

    if (!is_ours(rec) || (c = CLS(rec->iface))->kind != AVRO_RECORD)
        return XW_AVRO_ETYPE;
    if (!field || (ix = names_find(&c->names, field)) < 0)
        return XW_AVRO_ENOFIELD;
    *fc = c->fields[ix].cls;
    *fself = AT(rec->self, c->fields[ix].off);
    return 0;
}

/* For writing: narrows a field's class and instance to the slot of `kind`,
 * selecting the branch of an optional. */
static int slot_select(avro_type_t kind, const xw_cls **c, void **self)
{
    size_t b;

    if ((*c)->kind == kind)
        return 0;
    if ((*c)->kind != AVRO_UNION)
        return XW_AVRO_ETYPE;
    for (b = 0; b < (*c)->nbranches; b++) {
        if ((*c)->branches[b]->kind == kind) {
            union_select(*c, *self, (int)b);
            *self = AT(*self, (*c)->boff[b]);
            *c = (*c)->branches[b];
            return 0;
        }
    }
    return XW_AVRO_ETYPE;
}

static int slot_set(const avro_value_t *rec, const char *field,
                    avro_type_t kind, const xw_cls **c, void **self)
{
    int rc = field_of(rec, field, c, self);

    return rc < 0 ? rc : slot_select(kind, c, self);
}

/* For reading: the slot of `kind`, or XW_AVRO_ABSENT for a null optional. */
static int slot_get(const avro_value_t *rec, const char *field,
                    avro_type_t kind, const xw_cls **c, void **self)
{
    int rc = field_of(rec, field, c, self);
    int d;

    if (rc < 0)
        return rc;
    if ((*c)->kind == kind)
        return 0;
    if ((*c)->kind != AVRO_UNION)
        return XW_AVRO_ETYPE;
    d = *union_disc(*self);
    if (d < 0 || d == (*c)->null_branch)
        return XW_AVRO_ABSENT;
    if ((*c)->branches[d]->kind != kind)
        return XW_AVRO_ETYPE;
    *self = AT(*self, (*c)->boff[d]);
    *c = (*c)->branches[d];
    return 0;
}

int xw_avro_set_string_len(avro_value_t *rec, const char *field,
                           const char *s, size_t len)
{
    const xw_cls *c;
    void *self;
    int rc;

    if (!s)
        return xw_avro_set_null(rec, field);
    /* Checked before a branch is selected: a refused value changes
     * nothing. */
    if (!xw_avro_utf8_valid(s, len)) {
        rc = field_of(rec, field, &c, &self);
        return rc < 0 ? rc : XW_AVRO_EVALUE;
    }
    if ((rc = slot_set(rec, field, AVRO_STRING, &c, &self)) < 0)
        return rc;
    return str_set(self, s, len);
}

int xw_avro_set_string(avro_value_t *rec, const char *field, const char *s)
{
    return xw_avro_set_string_len(rec, field, s, s ? strlen(s) : 0);
}

int xw_avro_set_bytes(avro_value_t *rec, const char *field, const void *p,
                      size_t len)
{
    const xw_cls *c;
    void *self;
    int rc;

    if (!p && len)
        return XW_AVRO_EVALUE;
    if ((rc = slot_set(rec, field, AVRO_BYTES, &c, &self)) < 0)
        return rc;
    return str_set(self, p, len);
}

#define SETTER(fn, ctype, kind, store)                                    \
    int fn(avro_value_t *rec, const char *field, ctype v)                 \
    {                                                                     \
        const xw_cls *c;                                                  \
        void *self;                                                       \
        int rc = slot_set(rec, field, kind, &c, &self);                   \
        if (rc < 0)                                                       \
            return rc;                                                    \
        store;                                                            \
        return 0;                                                         \
    }

SETTER(xw_avro_set_long, int64_t, AVRO_INT64, *(int64_t *)self = v)
SETTER(xw_avro_set_int, int32_t, AVRO_INT32, *(int32_t *)self = v)
SETTER(xw_avro_set_bool, bool, AVRO_BOOLEAN, *(int32_t *)self = v ? 1 : 0)

int xw_avro_set_enum(avro_value_t *rec, const char *field, const char *symbol)
{
    const xw_cls *c;
    void *self;
    int rc, ix;

    if ((rc = field_of(rec, field, &c, &self)) < 0)
        return rc;
    /* Check the symbol before selecting a branch: a failure changes
     * nothing. */
    if (c->kind == AVRO_UNION) {
        size_t b;
        for (b = 0; b < c->nbranches && c->branches[b]->kind != AVRO_ENUM; b++)
            ;
        if (b == c->nbranches)
            return XW_AVRO_ETYPE;
        ix = symbol ? names_find(&c->branches[b]->names, symbol) : -1;
    } else if (c->kind == AVRO_ENUM) {
        ix = symbol ? names_find(&c->names, symbol) : -1;
    } else {
        return XW_AVRO_ETYPE;
    }
    if (ix < 0)
        return XW_AVRO_ESYMBOL;
    if ((rc = slot_select(AVRO_ENUM, &c, &self)) < 0)
        return rc;
    *(int32_t *)self = ix;
    return 0;
}

int xw_avro_set_null(avro_value_t *rec, const char *field)
{
    const xw_cls *c;
    void *self;
    int rc = field_of(rec, field, &c, &self);

    if (rc < 0)
        return rc;
    if (c->kind != AVRO_UNION || c->null_branch < 0)
        return XW_AVRO_ETYPE;
    union_select(c, self, c->null_branch);
    return 0;
}

int xw_avro_set_record(avro_value_t *rec, const char *field,
                       avro_value_t *out)
{
    const xw_cls *c;
    void *self;
    int rc = slot_set(rec, field, AVRO_RECORD, &c, &self);

    if (rc < 0)
        return rc;
    out->iface = (avro_value_iface_t *)&c->iface;
    out->self = self;
    return 0;
}

int xw_avro_set_envelope(avro_value_t *event, const char *event_id,
                         int64_t occurred_at_ms, const char *actor,
                         const char *correlation_id)
{
    int rc;

    if (!event_id)
        return XW_AVRO_EVALUE;
    if ((rc = xw_avro_set_string(event, "event_id", event_id)) < 0 ||
        (rc = xw_avro_set_long(event, "occurred_at", occurred_at_ms)) < 0 ||
        (actor && (rc = xw_avro_set_string(event, "actor", actor)) < 0) ||
        (correlation_id && (rc = xw_avro_set_string(event, "correlation_id",
                                                    correlation_id)) < 0))
        return rc;
    return 0;
}

int xw_avro_array_clear(avro_value_t *rec, const char *field)
{
    const xw_cls *c;
    void *self;
    int rc = slot_set(rec, field, AVRO_ARRAY, &c, &self);

    if (rc < 0)
        return rc;
    ((xw_arr *)self)->count = 0;
    return 0;
}

int xw_avro_array_truncate(avro_value_t *rec, const char *field, size_t n)
{
    const xw_cls *c;
    void *self;
    int rc = slot_set(rec, field, AVRO_ARRAY, &c, &self);

    if (rc < 0)
        return rc;
    if (n > ((xw_arr *)self)->count)
        return XW_AVRO_ERANGE;
    /* The elements past n stay initialised (live) for the next appends. */
    ((xw_arr *)self)->count = n;
    return 0;
}

int xw_avro_array_append(avro_value_t *rec, const char *field,
                         avro_value_t *elem)
{
    const xw_cls *c;
    void *self, *e;
    int rc = slot_set(rec, field, AVRO_ARRAY, &c, &self);

    if (rc < 0)
        return rc;
    if (!(e = arr_append(c, self)))
        return XW_AVRO_ENOMEM;
    elem->iface = (avro_value_iface_t *)&c->items->iface;
    elem->self = e;
    return 0;
}

int xw_avro_array_append_string(avro_value_t *rec, const char *field,
                                const char *s)
{
    const xw_cls *c;
    void *self, *e;
    size_t len = s ? strlen(s) : 0;
    int rc = slot_set(rec, field, AVRO_ARRAY, &c, &self);

    if (rc < 0)
        return rc;
    if (c->items->kind != AVRO_STRING)
        return XW_AVRO_ETYPE;
    if (!s || !xw_avro_utf8_valid(s, len))
        return XW_AVRO_EVALUE;
    if (!(e = arr_append(c, self)))
        return XW_AVRO_ENOMEM;
    if ((rc = str_set(e, s, len)) < 0)
        ((xw_arr *)self)->count--;
    return rc;
}

int xw_avro_array_append_enum(avro_value_t *rec, const char *field,
                              const char *symbol)
{
    const xw_cls *c;
    void *self, *e;
    int ix, rc = slot_set(rec, field, AVRO_ARRAY, &c, &self);

    if (rc < 0)
        return rc;
    if (c->items->kind != AVRO_ENUM)
        return XW_AVRO_ETYPE;
    ix = symbol ? names_find(&c->items->names, symbol) : -1;
    if (ix < 0)
        return XW_AVRO_ESYMBOL;
    if (!(e = arr_append(c, self)))
        return XW_AVRO_ENOMEM;
    *(int32_t *)e = ix;
    return 0;
}

int xw_avro_get_string(const avro_value_t *rec, const char *field,
                       const char **s, size_t *len)
{
    const xw_cls *c;
    void *self;
    int rc = slot_get(rec, field, AVRO_STRING, &c, &self);

    *s = NULL;
    if (len)
        *len = 0;
    if (rc != 0)
        return rc;
    *s = ((xw_str *)self)->buf ? ((xw_str *)self)->buf : xw_empty_str;
    if (len)
        *len = ((xw_str *)self)->len;
    return 0;
}

int xw_avro_get_bytes(const avro_value_t *rec, const char *field,
                      const void **p, size_t *len)
{
    const xw_cls *c;
    void *self;
    int rc = slot_get(rec, field, AVRO_BYTES, &c, &self);

    *p = NULL;
    if (len)
        *len = 0;
    if (rc != 0)
        return rc;
    *p = ((xw_str *)self)->buf ? ((xw_str *)self)->buf : xw_empty_str;
    if (len)
        *len = ((xw_str *)self)->len;
    return 0;
}

#define GETTER(fn, ctype, kind, load)                                     \
    int fn(const avro_value_t *rec, const char *field, ctype *v)          \
    {                                                                     \
        const xw_cls *c;                                                  \
        void *self;                                                       \
        int rc = slot_get(rec, field, kind, &c, &self);                   \
        *v = 0;                                                           \
        if (rc != 0)                                                      \
            return rc;                                                    \
        *v = load;                                                        \
        return 0;                                                         \
    }

GETTER(xw_avro_get_long, int64_t, AVRO_INT64, *(const int64_t *)self)
GETTER(xw_avro_get_int, int32_t, AVRO_INT32, *(const int32_t *)self)
GETTER(xw_avro_get_bool, bool, AVRO_BOOLEAN, *(const int32_t *)self != 0)

int xw_avro_get_enum(const avro_value_t *rec, const char *field,
                     const char **symbol)
{
    const xw_cls *c;
    void *self;
    int rc = slot_get(rec, field, AVRO_ENUM, &c, &self);

    *symbol = NULL;
    if (rc != 0)
        return rc;
    *symbol = avro_schema_enum_get(c->schema, *(const int32_t *)self);
    return 0;
}

int xw_avro_is_null(const avro_value_t *rec, const char *field)
{
    const xw_cls *c;
    void *self;
    int rc = field_of(rec, field, &c, &self);

    if (rc < 0)
        return rc;
    return c->kind == AVRO_UNION && *union_disc(self) == c->null_branch;
}

int xw_avro_get_record(const avro_value_t *rec, const char *field,
                       avro_value_t *out)
{
    const xw_cls *c;
    void *self;
    int rc = slot_get(rec, field, AVRO_RECORD, &c, &self);

    out->iface = NULL;
    out->self = NULL;
    if (rc != 0)
        return rc;
    out->iface = (avro_value_iface_t *)&c->iface;
    out->self = self;
    return 0;
}

int xw_avro_array_size(const avro_value_t *rec, const char *field, size_t *n)
{
    const xw_cls *c;
    void *self;
    int rc = slot_get(rec, field, AVRO_ARRAY, &c, &self);

    *n = 0;
    if (rc != 0)
        return rc;
    *n = ((xw_arr *)self)->count;
    return 0;
}

int xw_avro_array_get(const avro_value_t *rec, const char *field, size_t i,
                      avro_value_t *elem)
{
    const xw_cls *c;
    void *self;
    int rc = slot_get(rec, field, AVRO_ARRAY, &c, &self);

    elem->iface = NULL;
    elem->self = NULL;
    if (rc != 0)
        return rc;
    if (i >= ((xw_arr *)self)->count)
        return XW_AVRO_ERANGE;
    elem->iface = (avro_value_iface_t *)&c->items->iface;
    elem->self = arr_at(c, self, i);
    return 0;
}

int xw_avro_array_get_string(const avro_value_t *rec, const char *field,
                             size_t i, const char **s, size_t *len)
{
    avro_value_t e;
    const xw_str *str;
    int rc = xw_avro_array_get(rec, field, i, &e);

    *s = NULL;
    if (len)
        *len = 0;
    if (rc != 0)
        return rc;
    if (CLS(e.iface)->kind != AVRO_STRING)
        return XW_AVRO_ETYPE;
    str = e.self;
    *s = str->buf ? str->buf : xw_empty_str;
    if (len)
        *len = str->len;
    return 0;
}

int xw_avro_array_get_enum(const avro_value_t *rec, const char *field,
                           size_t i, const char **symbol)
{
    avro_value_t e;
    int rc = xw_avro_array_get(rec, field, i, &e);

    *symbol = NULL;
    if (rc != 0)
        return rc;
    if (CLS(e.iface)->kind != AVRO_ENUM)
        return XW_AVRO_ETYPE;
    *symbol = avro_schema_enum_get(CLS(e.iface)->schema, *(int32_t *)e.self);
    return 0;
}

/* Structural copy; classes may differ if their structure is the same. */
static int cp_value(const xw_cls *dc, void *d, const xw_cls *sc,
                    const void *s)
{
    size_t i;
    int rc;

    if (dc->kind != sc->kind)
        return XW_AVRO_ETYPE;
    switch (dc->kind) {
    case AVRO_STRING:
    case AVRO_BYTES:
        return str_set(d, ((const xw_str *)s)->buf, ((const xw_str *)s)->len);
    case AVRO_FIXED:
        if (dc->fixed_size != sc->fixed_size)
            return XW_AVRO_ETYPE;
        memcpy(d, s, dc->fixed_size);
        return 0;
    case AVRO_ENUM:
        if (dc != sc) {
            if (dc->nsymbols != sc->nsymbols)
                return XW_AVRO_ETYPE;
            for (i = 0; i < (size_t)dc->nsymbols; i++)
                if (strcmp(avro_schema_enum_get(dc->schema, (int)i),
                           avro_schema_enum_get(sc->schema, (int)i)) != 0)
                    return XW_AVRO_ETYPE;
        }
        memcpy(d, s, 8);
        return 0;
    case AVRO_RECORD:
        if (dc->nfields != sc->nfields)
            return XW_AVRO_ETYPE;
        for (i = 0; i < dc->nfields; i++) {
            if (dc != sc && strcmp(dc->fields[i].name, sc->fields[i].name))
                return XW_AVRO_ETYPE;
            rc = cp_value(dc->fields[i].cls, AT(d, dc->fields[i].off),
                          sc->fields[i].cls,
                          AT((void *)s, sc->fields[i].off));
            if (rc < 0)
                return rc;
        }
        return 0;
    case AVRO_UNION: {
        int b = *union_disc((void *)s);
        if (dc->nbranches != sc->nbranches)
            return XW_AVRO_ETYPE;
        if (b < 0) {
            cls_reset(dc, d);
            *union_disc(d) = -1;
            return 0;
        }
        union_select(dc, d, b);
        return cp_value(dc->branches[b], AT(d, dc->boff[b]), sc->branches[b],
                        AT((void *)s, sc->boff[b]));
    }
    case AVRO_ARRAY: {
        const xw_arr *sa = s;
        xw_arr *da = d;
        da->count = 0;
        if (arr_reserve(dc, da, sa->count) < 0)
            return XW_AVRO_ENOMEM;
        for (i = 0; i < sa->count; i++) {
            void *e = arr_append(dc, da);
            if (!e)
                return XW_AVRO_ENOMEM;
            rc = cp_value(dc->items, e, sc->items, arr_at(sc, sa, i));
            if (rc < 0)
                return rc;
        }
        return 0;
    }
    default:
        memcpy(d, s, 8);
        return 0;
    }
}

int xw_avro_copy(avro_value_t *dst, const avro_value_t *src)
{
    int rc;

    if (!is_ours(dst) || !is_ours(src))
        return XW_AVRO_ETYPE;
    if (dst->self == src->self)
        return 0;
    rc = cp_value(CLS(dst->iface), dst->self, CLS(src->iface), src->self);
    if (rc < 0)
        cls_reset(CLS(dst->iface), dst->self);
    return rc;
}
