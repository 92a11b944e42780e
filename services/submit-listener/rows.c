/*
 * rows - the object rows of GET /v1/packages/{id} and the items of the
 * package list, written from stored JSON text.
 *
 * Why: a row merges two stored values (the frozen spec, kept by the
 * packager as Avro, and the latest result, kept by the reporter as JSON
 * or Avro); stored.c writes an Avro value as JSON text with
 * xw_avro_json_write, which prints exactly the form jansson's compact dump
 * prints, the form the stored JSON is in too. Parsing both into jansson trees, merging and
 * dumping cost ~22-28 us per row, the largest part of the listener's CPU;
 * copying costs ~1.5 us. A text in that form parses and dumps back to the
 * same bytes, so the answer can copy the values it shows. The summaries
 * of the list come from the reporter's Lua enc(): the same form, except
 * for strings that cjson escapes differently ("\/", "\u007f"), which the
 * check below sends the jansson way.
 *
 * The copy is exact only for text in that form, so it is checked first,
 * strictly and without trusting any length or bracket: every stored text
 * read here must be canonical as common/xw_jcanon.h defines it (the form
 * jansson's compact dump prints, integers only). Values that are copied
 * must also be scalars, and an object whose members are copied must not
 * name a key twice (json_loadb keeps one of them). Anything else -
 * malformed, or valid JSON in another form - is not copied: that row or
 * summary goes the jansson way (sl_row_json, the code this replaces, kept
 * as the reference), so the answer is the same bytes as before whatever
 * is stored, and a bad value can never be pasted into the answer.
 * tests/unit/test_rows.c holds both ways against each other.
 */
#include "rows.h"

#include <string.h>

#include "xw_avro.h"
#include "xw_avro_json.h"
#include "xw_jcanon.h"
#include "xw_json.h"

/* Members of a flat object taken as text: a result has 23, a summary 18. */
#define FLAT_MAX 48

static int is_scalar(const xw_jcanon_member *m)
{
    return m->kind != XW_JCANON_OBJECT && m->kind != XW_JCANON_ARRAY;
}

/* Canonical text has one spelling per value: the same bytes, the same
 * key. */
static int span_eq(const xw_jcanon_span *a, const xw_jcanon_span *b)
{
    /* Keys of the same length mostly differ early: no call for those. */
    return a->len == b->len && (a->len < 2 || a->p[1] == b->p[1])
        && memcmp(a->p, b->p, a->len) == 0;
}

/* The members of a canonical flat object (scalar values, no key twice):
 * their number (< max), or -1. */
static int scan_flat(const char *text, size_t len, xw_jcanon_member *m,
                     int max)
{
    xw_jcanon it;
    int n = 0, rc = 0;

    xw_jcanon_open(&it, text, len);
    while (n < max && (rc = xw_jcanon_next(&it, &m[n])) == 1) {
        if (!is_scalar(&m[n]))
            return -1;
        for (int i = 0; i < n; i++)
            if (span_eq(&m[i].key, &m[n].key))
                return -1;
        n++;
    }
    return n == max || rc < 0 ? -1 : n;
}

/* ---- rows ----------------------------------------------------------- */

/* The row's first members, in this order: from the spec, or from the
 * result where it has the same key. */
enum { HEAD_ID, HEAD_NAME, HEAD_KIND, HEAD_VERSION, HEAD_N };
static const xw_jcanon_span head_key[HEAD_N] = {
    { "\"id\"", 4 }, { "\"name\"", 6 }, { "\"kind\"", 6 },
    { "\"version\"", 9 },
};

static int head_index(const xw_jcanon_span *key)
{
    for (int h = 0; h < HEAD_N; h++)
        if (span_eq(key, &head_key[h]))
            return h;
    return -1;
}

/* The spec's id, name, kind and version (absent ones val.p NULL; a key
 * given twice: the last, as json_loadb) if the whole spec is canonical and
 * those are scalars. 0 or -1. */
static int spec_head(const char *text, size_t len,
                     xw_jcanon_member head[HEAD_N])
{
    xw_jcanon it;
    xw_jcanon_member m;
    int rc, h;

    xw_jcanon_open(&it, text, len);
    while ((rc = xw_jcanon_next(&it, &m)) == 1)
        if ((h = head_index(&m.key)) >= 0)
            head[h] = m;
    if (rc < 0)
        return -1;
    for (h = 0; h < HEAD_N; h++)
        if (head[h].val.p && !is_scalar(&head[h]))
            return -1;
    return 0;
}

static int add_member(xw_buf *out, const xw_jcanon_span *key,
                      const xw_jcanon_span *val)
{
    return xw_buf_addch(out, ',') < 0 || xw_buf_add(out, key->p, key->len) < 0
        || xw_buf_addch(out, ':') < 0 || xw_buf_add(out, val->p, val->len) < 0
        ? -1 : 0;
}

int sl_row_text(xw_buf *out, const char *id, const char *spec,
                size_t spec_len, const char *res, size_t res_len)
{
    xw_jcanon_member head[HEAD_N] = { { { NULL, 0 }, { NULL, 0 }, 0 } };
    xw_jcanon_member m[FLAT_MAX];
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
        taken[i] = (signed char)(h >= 0 && (h == HEAD_ID || head[h].val.p)
                                 ? h : -1);
        if (taken[i] >= 0)
            head[h] = m[i];
    }
    if (xw_buf_adds(out, "{\"id\":") < 0)
        goto nomem;
    if (head[HEAD_ID].val.p
        ? xw_buf_add(out, head[HEAD_ID].val.p, head[HEAD_ID].val.len)
        : xw_avro_json_write_string(out, id, idlen))
        goto nomem;
    for (h = HEAD_ID + 1; h < HEAD_N; h++)
        if (head[h].val.p && add_member(out, &head_key[h], &head[h].val) < 0)
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

int sl_spec_head_write(const avro_value_t *spec, xw_buf *out)
{
    size_t saved = out->len;
    int first = 1;

    if (xw_buf_addch(out, '{') < 0)
        goto nomem;
    for (int h = 0; h < HEAD_N; h++) {
        /* The key without its quotes, as the schema names the field. */
        char name[16];
        avro_value_t child;

        memcpy(name, head_key[h].p + 1, head_key[h].len - 2);
        name[head_key[h].len - 2] = '\0';
        if (avro_value_get_by_name((avro_value_t *)spec, name, &child,
                                   NULL) != 0)
            continue;
        if ((!first && xw_buf_addch(out, ',') < 0)
            || xw_buf_add(out, head_key[h].p, head_key[h].len) < 0
            || xw_buf_addch(out, ':') < 0
            || xw_avro_json_write(&child, out) < 0)
            goto nomem;
        first = 0;
    }
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

/* Whether the flat object m[0..n) matches the filters: 1 or 0, as
 * json_string_value(json_object_get(s, field)) compared with want. */
static int text_matches(const xw_jcanon_member *m, int n,
                        const struct sl_match *f, size_t nf)
{
    for (size_t k = 0; k < nf; k++) {
        const xw_jcanon_member *v = NULL;

        if (!f[k].want)
            continue;
        for (int i = 0; i < n && !v; i++)
            if (xw_jcanon_str_eq(m[i].key, f[k].field))
                v = &m[i];
        if (!v || v->kind != XW_JCANON_STRING
            || !xw_jcanon_str_eq(v->val, f[k].want))
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
    xw_jcanon_member m[FLAT_MAX];
    int n = scan_flat(text, len, m, FLAT_MAX), rc;
    json_t *s = NULL;
    json_error_t je;
    size_t saved;

    if (n >= 0) {
        rc = text_matches(m, n, f, nf);
    } else {
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
