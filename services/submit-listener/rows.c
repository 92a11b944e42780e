/*
 * rows - the object rows of GET /v1/packages/{id} and the items of the
 * package list, written from the stored JSON text.
 *
 * Why: a row merges two stored texts (the frozen spec, written by the
 * packager, and the latest result, written by the reporter). Parsing both
 * into jansson trees, merging and dumping cost ~22-28 us per row, the
 * largest part of the listener's CPU; copying costs ~1.5 us. Both texts
 * are already in the form jansson's compact dump prints (the packager and
 * the reporter write them with xw_avro_json_write, which prints exactly
 * that), and a text in that form parses and dumps back to the same bytes,
 * so the answer can copy the values it shows. The summaries of the list
 * come from the reporter's Lua enc(): the same form, except for strings
 * that cjson escapes differently ("\/", "\u007f"), which the check below
 * sends the jansson way. (The spec's Avro copy, xw:pkg:{pkg}:avro, was
 * measured too: decoding it costs more than checking the JSON text.)
 *
 * The copy is exact only for text in that form, so it is checked first,
 * strictly and without trusting any length or bracket: "canonical" below
 * means
 *   - no whitespace between tokens;
 *   - strings: valid UTF-8, no raw control character, and only the
 *     escapes jansson writes: \" \\ \b \f \n \r \t, else \u00XX in
 *     upper-case hex for the other control characters, never \u0000
 *     (json_loadb refuses it);
 *   - numbers: integers only, no leading zero, no "-0", at most 18 digits
 *     (they fit json_int_t); a real is not taken (jansson may print it
 *     differently from the stored text);
 *   - at most SCAN_DEPTH levels of nesting, nothing after the value.
 * Values that are copied must also be scalars, and an object whose members
 * are copied must not name a key twice (json_loadb keeps one of them).
 * Anything else - malformed, or valid JSON in another form - is not
 * copied: that row or summary goes the jansson way (sl_row_json, the code
 * this replaces, kept as the reference), so the answer is the same bytes
 * as before whatever is stored, and a bad value can never be pasted into
 * the answer. tests/unit/test_rows.c holds both ways against each other.
 *
 * (The checker is a general "is this canonical jansson text" helper; it
 * lives here because only the listener needs it so far. It would belong
 * in common/xw_json if another service starts copying stored JSON.)
 */
#include "rows.h"

#include <string.h>

#include "xw_avro.h"
#include "xw_avro_json.h"
#include "xw_json.h"

/* Nesting the checker follows: a spec has two levels. */
#define SCAN_DEPTH 16
/* Members of a flat object taken as text: a result has 23, a summary 18. */
#define FLAT_MAX 48

struct scan {
    const char *p, *end;
};

/* A piece of the stored text; p NULL = absent. Keys keep their quotes, so
 * a key compares with the literal "\"id\"" and is copied as it is. */
struct span {
    const char *p;
    size_t len;
};

struct member {
    struct span key, val;
};

static int scan_value(struct scan *s, int depth);

static int is_upper_hex(char c)
{
    return (c >= '0' && c <= '9') || (c >= 'A' && c <= 'F');
}

/* q[0..4) of a \u escape as jansson writes one: a control character
 * without a short escape, and not NUL. */
static int control_escape(const char *q)
{
    int c;

    if (q[0] != '0' || q[1] != '0' || (q[2] != '0' && q[2] != '1')
        || !is_upper_hex(q[3]))
        return 0;
    c = (q[2] - '0') * 16 + (q[3] <= '9' ? q[3] - '0' : q[3] - 'A' + 10);
    return c != 0 && c != '\b' && c != '\f' && c != '\n' && c != '\r'
        && c != '\t';
}

/* A canonical string, s->p at its opening quote. */
static int scan_string(struct scan *s)
{
    const char *p = s->p + 1, *start = p;
    unsigned high = 0;

    for (;;) {
        unsigned char c;

        if (p == s->end)
            return -1;
        c = (unsigned char)*p;
        if (c == '"')
            break;
        if (c < 0x20)
            return -1;
        if (c != '\\') {
            high |= c;
            p++;
            continue;
        }
        if (s->end - p < 2)
            return -1;
        switch (p[1]) {
        case '"': case '\\': case 'b': case 'f': case 'n': case 'r': case 't':
            p += 2;
            break;
        case 'u':
            if (s->end - p < 6 || !control_escape(p + 2))
                return -1;
            p += 6;
            break;
        default:
            return -1;
        }
    }
    /* Escapes are ASCII: the span is checked as it stands. */
    if ((high & 0x80) && !xw_avro_utf8_valid(start, (size_t)(p - start)))
        return -1;
    s->p = p + 1;
    return 0;
}

/* A canonical integer (see the top of the file). A fraction or an
 * exponent is refused by the caller, which wants ',' or a bracket next. */
static int scan_number(struct scan *s)
{
    const char *p = s->p, *digits;
    size_t n;

    if (*p == '-')
        p++;
    digits = p;
    while (p < s->end && *p >= '0' && *p <= '9')
        p++;
    n = (size_t)(p - digits);
    if (n == 0 || n > 18 || (*digits == '0' && (n > 1 || digits != s->p)))
        return -1;
    s->p = p;
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

/* Steps to the next member of an object (key not NULL) or element of an
 * array (key NULL) whose opening bracket is behind s->p; *first is 1
 * before the first one. 1 with its spans, 0 past the closing bracket, -1
 * not canonical. depth: the container's own. */
static int scan_next(struct scan *s, char close, int *first,
                     struct span *key, struct span *val, int depth)
{
    if (s->p == s->end)
        return -1;
    if (*s->p == close) {
        s->p++;
        return 0;
    }
    if (!*first && *s->p++ != ',')
        return -1;
    *first = 0;
    if (key) {
        key->p = s->p;
        if (s->p == s->end || *s->p != '"' || scan_string(s) < 0)
            return -1;
        key->len = (size_t)(s->p - key->p);
        if (s->p == s->end || *s->p++ != ':')
            return -1;
    }
    val->p = s->p;
    if (scan_value(s, depth + 1) < 0)
        return -1;
    val->len = (size_t)(s->p - val->p);
    return 1;
}

/* An object or array, s->p at its opening bracket. */
static int scan_container(struct scan *s, int depth)
{
    int object = *s->p == '{', first = 1, rc;
    struct span key, val;

    if (depth >= SCAN_DEPTH)
        return -1;
    s->p++;
    while ((rc = scan_next(s, object ? '}' : ']', &first,
                           object ? &key : NULL, &val, depth)) == 1)
        ;
    return rc;
}

static int scan_value(struct scan *s, int depth)
{
    if (s->p == s->end)
        return -1;
    switch (*s->p) {
    case '"':
        return scan_string(s);
    case '{':
    case '[':
        return scan_container(s, depth);
    case 't':
        return scan_word(s, "true");
    case 'f':
        return scan_word(s, "false");
    case 'n':
        return scan_word(s, "null");
    default:
        return scan_number(s);
    }
}

/* Starts on a stored text that must be one object. */
static int scan_open(struct scan *s, const char *text, size_t len)
{
    s->p = text;
    s->end = text + len;
    if (!len || *text != '{')
        return -1;
    s->p++;
    return 0;
}

static int is_scalar(const struct span *v)
{
    return *v->p != '{' && *v->p != '[';
}

static int span_eq(const struct span *a, const struct span *b)
{
    return a->len == b->len && memcmp(a->p, b->p, a->len) == 0;
}

/* The members of a canonical flat object (scalar values, no key twice):
 * their number (<= max), or -1. */
static int scan_flat(const char *text, size_t len, struct member *m, int max)
{
    struct scan s;
    int n = 0, first = 1, rc;

    if (scan_open(&s, text, len) < 0)
        return -1;
    for (;;) {
        if (n == max)
            return -1;
        rc = scan_next(&s, '}', &first, &m[n].key, &m[n].val, 0);
        if (rc <= 0)
            break;
        if (!is_scalar(&m[n].val))
            return -1;
        for (int i = 0; i < n; i++)
            if (span_eq(&m[i].key, &m[n].key))
                return -1;
        n++;
    }
    return rc < 0 || s.p != s.end ? -1 : n;
}

/* ---- rows ----------------------------------------------------------- */

/* The row's first members, in this order: from the spec, or from the
 * result where it has the same key. */
enum { HEAD_ID, HEAD_NAME, HEAD_KIND, HEAD_VERSION, HEAD_N };
static const struct span head_key[HEAD_N] = {
    { "\"id\"", 4 }, { "\"name\"", 6 }, { "\"kind\"", 6 },
    { "\"version\"", 9 },
};

static int head_index(const struct span *key)
{
    for (int h = 0; h < HEAD_N; h++)
        if (span_eq(key, &head_key[h]))
            return h;
    return -1;
}

/* The spec's id, name, kind and version (absent ones p NULL; a key given
 * twice: the last, as json_loadb) if the whole spec is canonical and those
 * are scalars. 0 or -1. */
static int spec_head(const char *text, size_t len, struct span head[HEAD_N])
{
    struct scan s;
    struct span key, val;
    int first = 1, rc, h;

    if (scan_open(&s, text, len) < 0)
        return -1;
    while ((rc = scan_next(&s, '}', &first, &key, &val, 0)) == 1)
        if ((h = head_index(&key)) >= 0)
            head[h] = val;
    if (rc < 0 || s.p != s.end)
        return -1;
    for (h = 0; h < HEAD_N; h++)
        if (head[h].p && !is_scalar(&head[h]))
            return -1;
    return 0;
}

static int add_member(xw_buf *out, const struct span *key,
                      const struct span *val)
{
    return xw_buf_addch(out, ',') < 0 || xw_buf_add(out, key->p, key->len) < 0
        || xw_buf_addch(out, ':') < 0 || xw_buf_add(out, val->p, val->len) < 0
        ? -1 : 0;
}

int sl_row_text(xw_buf *out, const char *id, const char *spec,
                size_t spec_len, const char *res, size_t res_len)
{
    struct span head[HEAD_N] = { { NULL, 0 } };
    struct member m[FLAT_MAX];
    signed char taken[FLAT_MAX];    /* head slot member i fills, or -1 */
    size_t saved = out->len, idlen = strlen(id);
    int n = 0, h;

    /* jansson refuses to make a string of an id that is not UTF-8 (the
     * reference then fails the row), even where the spec's id replaces
     * it. */
    if (!xw_avro_utf8_valid(id, idlen)
        || (spec && spec_head(spec, spec_len, head) < 0)
        || (res && (n = scan_flat(res, res_len, m, FLAT_MAX)) < 0))
        return 1;
    /* A result member whose key the row already has (id always, name, kind
     * and version when the spec has them) takes that place, as
     * json_object_update does. */
    for (int i = 0; i < n; i++) {
        h = head_index(&m[i].key);
        taken[i] = (signed char)(h >= 0 && (h == HEAD_ID || head[h].p) ? h
                                 : -1);
        if (taken[i] >= 0)
            head[h] = m[i].val;
    }
    if (xw_buf_adds(out, "{\"id\":") < 0)
        goto nomem;
    if (head[HEAD_ID].p ? xw_buf_add(out, head[HEAD_ID].p, head[HEAD_ID].len)
        : xw_avro_json_write_string(out, id, idlen))
        goto nomem;
    for (h = HEAD_ID + 1; h < HEAD_N; h++)
        if (head[h].p && add_member(out, &head_key[h], &head[h]) < 0)
            goto nomem;
    for (int i = 0; i < n; i++)
        if (taken[i] < 0 && add_member(out, &m[i].key, &m[i].val) < 0)
            goto nomem;
    if (!res && xw_buf_adds(out, ",\"outcome\":\"pending\"") < 0)
        goto nomem;
    if (xw_buf_addch(out, '}') < 0)
        goto nomem;
    return 0;
nomem:
    xw_buf_setlen(out, saved);
    return -1;
}

/* The row as a tree, from whatever is stored (what sl_row_text copies
 * must match this). NEW reference, NULL on memory or an id that is not
 * UTF-8. */
static json_t *row_tree(const char *id, const json_t *excluded,
                        const char *spec, size_t spec_len, const char *res,
                        size_t res_len)
{
    static const char *const from_spec[] = { "id", "name", "kind", "version" };
    json_t *out = json_object(), *sj = NULL, *rj = NULL;
    json_error_t je;

    if (!out || json_object_set_new(out, "id", json_string(id)) < 0) {
        json_decref(out);
        return NULL;
    }
    if (excluded) {
        json_object_set_new(out, "outcome", json_string("excluded"));
        json_object_set(out, "reason_code",
                        json_object_get(excluded, "reason_code"));
        json_object_set(out, "reason", json_object_get(excluded, "reason"));
        return out;
    }
    if (spec && (sj = json_loadb(spec, spec_len, 0, &je)))
        for (size_t i = 0; i < sizeof from_spec / sizeof from_spec[0]; i++)
            json_object_set(out, from_spec[i],
                            json_object_get(sj, from_spec[i]));
    if (res && (rj = json_loadb(res, res_len, 0, &je)))
        json_object_update(out, rj);
    else
        json_object_set_new(out, "outcome", json_string("pending"));
    json_decref(sj);
    json_decref(rj);
    return out;
}

int sl_row_json(xw_buf *out, const char *id, const json_t *excluded,
                const char *spec, size_t spec_len, const char *res,
                size_t res_len)
{
    json_t *row = row_tree(id, excluded, spec, spec_len, res, res_len);
    int rc = row ? xw_json_dump(row, out) : -1;

    json_decref(row);
    return rc;
}

int sl_row_write(xw_buf *out, const char *id, const json_t *excluded,
                 const char *spec, size_t spec_len, const char *res,
                 size_t res_len)
{
    /* Excluded rows read nothing stored: few, and the tree is cheap. */
    int rc = excluded ? 1 : sl_row_text(out, id, spec, spec_len, res,
                                        res_len);

    if (rc == 1)
        rc = sl_row_json(out, id, excluded, spec, spec_len, res, res_len);
    return rc;
}

/* ---- package summaries ------------------------------------------------ */

/* Whether the flat object m[0..n) matches the filters: 1 yes, 0 no, -1
 * cannot tell from the text (a compared value with an escape: its text is
 * not its value). As json_string_value(json_object_get(s, field)). */
static int text_matches(const struct member *m, int n,
                        const struct sl_match *f, size_t nf)
{
    for (size_t k = 0; k < nf; k++) {
        size_t flen = strlen(f[k].field), wlen;
        const struct span *v = NULL;

        if (!f[k].want)
            continue;
        for (int i = 0; i < n && !v; i++)
            if (m[i].key.len == flen + 2
                && memcmp(m[i].key.p + 1, f[k].field, flen) == 0)
                v = &m[i].val;
        if (!v || *v->p != '"')
            return 0;
        if (memchr(v->p, '\\', v->len))
            return -1;
        wlen = strlen(f[k].want);
        if (v->len != wlen + 2 || memcmp(v->p + 1, f[k].want, wlen) != 0)
            return 0;
    }
    return 1;
}

static int tree_matches(const json_t *s, const struct sl_match *f, size_t nf)
{
    for (size_t k = 0; k < nf; k++) {
        const char *v;

        if (!f[k].want)
            continue;
        v = json_string_value(json_object_get(s, f[k].field));
        if (!v || strcmp(v, f[k].want) != 0)
            return 0;
    }
    return 1;
}

int sl_summary_item(xw_buf *out, char sep, const char *text, size_t len,
                    const struct sl_match *f, size_t nf)
{
    struct member m[FLAT_MAX];
    int n = scan_flat(text, len, m, FLAT_MAX), rc = -1;
    json_t *s = NULL;
    json_error_t je;
    size_t saved;

    if (n >= 0)
        rc = text_matches(m, n, f, nf);
    if (rc < 0) {
        /* Not canonical: parsed, as before (unreadable: left out), and
         * dumped. */
        if (!(s = json_loadb(text, len, 0, &je)))
            return 0;
        rc = tree_matches(s, f, nf);
    }
    if (!rc || !out)
        goto out;
    saved = out->len;
    if ((sep && xw_buf_addch(out, sep) < 0)
        || (s ? xw_json_dump(s, out) : xw_buf_add(out, text, len)) < 0) {
        xw_buf_setlen(out, saved);
        rc = -1;
    }
out:
    json_decref(s);
    return rc;
}
