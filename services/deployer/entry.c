/*
 * entry - see entry.h: the deployed object's JSON, written from Avro,
 * read back by a strict one-pass scan with jansson behind it.
 */
#include "entry.h"

#include <string.h>

#include "xw_avro.h"
#include "xw_avro_json.h"

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

/* An integer as jansson dumps it ("%lld"), without going through printf:
 * every object has a few. */
static int add_int(xw_buf *out, int64_t v)
{
    char b[24], *p = b + sizeof b;
    uint64_t u = v < 0 ? 0 - (uint64_t)v : (uint64_t)v;

    do
        *--p = (char)('0' + u % 10);
    while (u /= 10);
    if (v < 0)
        *--p = '-';
    return xw_buf_add(out, p, (size_t)(b + sizeof b - p));
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

/* replaced_version: the version the entry replaced, or null. */
static int member_replaced(xw_buf *out, const struct dp_item *it)
{
    if (key(out, "replaced_version") < 0)
        return -1;
    if (it->has_replaced)
        return add_int(out, it->replaced_version);
    return xw_buf_add(out, "null", 4);
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

int dp_entry_record(xw_buf *out, const char *body, size_t len,
                    const struct dp_item *it, int64_t deployed_at)
{
    size_t saved = out->len;

    if (reopen(out, body, len) < 0
        || member_replaced(out, it) < 0
        || member_int(out, "deployed_at", deployed_at) < 0
        || xw_buf_addch(out, '}') < 0) {
        xw_buf_setlen(out, saved);
        return -1;
    }
    return 0;
}

/* --- reading --- */

/* Deeper than this is not the writer's form (its deepest value is an
 * array of records: depth 3); jansson takes it. Bounds the recursion. */
#define SCAN_DEPTH 16

/* One pass over a text in the writer's form. Every scan_* returns 0, or
 * -1 when the text is not in that form, which says nothing about its
 * validity: the caller then asks jansson. */
struct scan {
    const unsigned char *p, *end;
    struct dp_json_member *m;
    size_t n;
};

static int is_digit(unsigned char c)
{
    return c >= '0' && c <= '9';
}

static int hex(unsigned char c)
{
    if (is_digit(c))
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

/* The escape at s->p (a backslash). \u0000 and surrogates are left to
 * jansson: it refuses the first and pairs the others. */
static int scan_escape(struct scan *s)
{
    const unsigned char *p = s->p;
    unsigned v = 0;

    if (s->end - p < 2)
        return -1;
    if (p[1] && strchr("\"\\/bfnrt", p[1])) {
        s->p += 2;
        return 0;
    }
    if (p[1] != 'u' || s->end - p < 6)
        return -1;
    for (int i = 2; i < 6; i++) {
        int h = hex(p[i]);

        if (h < 0)
            return -1;
        v = v << 4 | (unsigned)h;
    }
    if (v == 0 || (v >= 0xd800 && v <= 0xdfff))
        return -1;
    s->p += 6;
    return 0;
}

/* A string: *str / *len its raw bytes between the quotes, *escaped when
 * they hold an escape (then they are not the string's value). */
static int scan_string(struct scan *s, const char **str, size_t *len,
                       int *escaped)
{
    const unsigned char *start, *run;

    if (s->p == s->end || *s->p != '"')
        return -1;
    start = ++s->p;
    *escaped = 0;
    while (s->p < s->end && *s->p != '"') {
        if (*s->p == '\\') {
            if (scan_escape(s) < 0)
                return -1;
            *escaped = 1;
        } else if (*s->p >= 0x80) {
            /* A run of non-ASCII bytes is valid UTF-8 on its own or not
             * at all: no sequence has an ASCII byte inside. */
            for (run = s->p; s->p < s->end && *s->p >= 0x80; s->p++)
                ;
            if (!xw_avro_utf8_valid(run, (size_t)(s->p - run)))
                return -1;
        } else if (*s->p < 0x20) {
            return -1;
        } else {
            s->p++;
        }
    }
    if (s->p == s->end)
        return -1;
    *str = (const char *)start;
    *len = (size_t)(s->p - start);
    s->p++;
    return 0;
}

/* An integer that fits int64 (jansson's json_int_t); reals, leading
 * zeros and overflows are jansson's. */
static int scan_int(struct scan *s, int64_t *v)
{
    int neg = 0;
    uint64_t u = 0, max;

    if (s->p < s->end && *s->p == '-') {
        neg = 1;
        s->p++;
    }
    max = neg ? (uint64_t)INT64_MAX + 1 : (uint64_t)INT64_MAX;
    if (s->p == s->end || !is_digit(*s->p))
        return -1;
    if (*s->p == '0') {
        s->p++;
    } else {
        for (; s->p < s->end && is_digit(*s->p); s->p++) {
            unsigned d = (unsigned)(*s->p - '0');

            if (u > (max - d) / 10)
                return -1;
            u = u * 10 + d;
        }
    }
    if (s->p < s->end
        && (is_digit(*s->p) || *s->p == '.' || *s->p == 'e' || *s->p == 'E'))
        return -1;
    *v = neg ? (u == max ? INT64_MIN : -(int64_t)u) : (int64_t)u;
    return 0;
}

static int scan_word(struct scan *s, const char *w)
{
    size_t n = strlen(w);

    if ((size_t)(s->end - s->p) < n || memcmp(s->p, w, n) != 0)
        return -1;
    s->p += n;
    return 0;
}

static int scan_value(struct scan *s, int depth, struct dp_json_member *m);

/* The separator after an element: 1 another follows, 0 the container
 * ended (closer consumed). */
static int scan_next(struct scan *s, unsigned char closer)
{
    if (s->p == s->end)
        return -1;
    if (*s->p == ',') {
        s->p++;
        return 1;
    }
    if (*s->p != closer)
        return -1;
    s->p++;
    return 0;
}

/* An object; at depth 1 its members are the ones asked for. */
static int scan_object(struct scan *s, int depth)
{
    struct dp_json_member *m;
    const char *k;
    size_t klen, i;
    int esc, more;

    if (depth > SCAN_DEPTH)
        return -1;
    s->p++;
    if (s->p < s->end && *s->p == '}') {
        s->p++;
        return 0;
    }
    do {
        if (scan_string(s, &k, &klen, &esc) < 0
            || s->p == s->end || *s->p++ != ':')
            return -1;
        m = NULL;
        if (depth == 1) {
            /* An escaped key may decode to a name asked for. */
            if (esc)
                return -1;
            for (i = 0; i < s->n && !m; i++)
                if (strlen(s->m[i].name) == klen
                    && memcmp(s->m[i].name, k, klen) == 0)
                    m = &s->m[i];
        }
        if (scan_value(s, depth, m) < 0 || (more = scan_next(s, '}')) < 0)
            return -1;
    } while (more);
    return 0;
}

static int scan_array(struct scan *s, int depth)
{
    int more;

    if (depth > SCAN_DEPTH)
        return -1;
    s->p++;
    if (s->p < s->end && *s->p == ']') {
        s->p++;
        return 0;
    }
    do {
        if (scan_value(s, depth, NULL) < 0 || (more = scan_next(s, ']')) < 0)
            return -1;
    } while (more);
    return 0;
}

/* A value inside a container at `depth`; m: the member it is the value
 * of, when asked for (the last duplicate wins, as in jansson). */
static int scan_value(struct scan *s, int depth, struct dp_json_member *m)
{
    const char *str;
    size_t len;
    int64_t v;
    int esc;

    if (m)
        m->type = DP_JSON_NONE;
    if (s->p == s->end)
        return -1;
    switch (*s->p) {
    case '{':
        return scan_object(s, depth + 1);
    case '[':
        return scan_array(s, depth + 1);
    case '"':
        if (scan_string(s, &str, &len, &esc) < 0 || (m && esc))
            return -1;
        if (m)
            *m = (struct dp_json_member){ m->name, DP_JSON_STR, 0, str, len };
        return 0;
    case 't':
        return scan_word(s, "true");
    case 'f':
        return scan_word(s, "false");
    case 'n':
        return scan_word(s, "null");
    default:
        if (scan_int(s, &v) < 0)
            return -1;
        if (m)
            *m = (struct dp_json_member){ m->name, DP_JSON_INT, v, NULL, 0 };
        return 0;
    }
}

static void members_clear(struct dp_json_member *m, size_t n)
{
    for (size_t i = 0; i < n; i++)
        m[i] = (struct dp_json_member){ m[i].name, DP_JSON_NONE, 0, NULL, 0 };
}

void dp_json_members(const char *text, size_t len, struct dp_json_member *m,
                     size_t n, json_t **tree)
{
    struct scan s = { (const unsigned char *)text,
                      (const unsigned char *)text + len, m, n };
    json_error_t je;

    *tree = NULL;
    members_clear(m, n);
    if (len && text[0] == '{' && scan_object(&s, 1) == 0 && s.p == s.end)
        return;
    /* Not the writer's form: jansson decides, invalid text reads as no
     * member at all. */
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
