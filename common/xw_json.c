#include "xw_json.h"

#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

/* Length of the valid UTF-8 sequence at s[0..n), or 0 if it is not one
 * (overlong forms, surrogates and code points above U+10FFFF are not). */
static size_t utf8_seq(const unsigned char *s, size_t n)
{
    unsigned cp;
    size_t len, i;

    if (s[0] < 0x80)
        return 1;
    if (s[0] >= 0xc2 && s[0] <= 0xdf) {
        len = 2;
        cp = s[0] & 0x1f;
    } else if (s[0] >= 0xe0 && s[0] <= 0xef) {
        len = 3;
        cp = s[0] & 0x0f;
    } else if (s[0] >= 0xf0 && s[0] <= 0xf4) {
        len = 4;
        cp = s[0] & 0x07;
    } else {
        return 0;
    }
    if (n < len)
        return 0;
    for (i = 1; i < len; i++) {
        if ((s[i] & 0xc0) != 0x80)
            return 0;
        cp = (cp << 6) | (s[i] & 0x3f);
    }
    if ((len == 3 && cp < 0x800) || (len == 4 && cp < 0x10000) ||
        cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
        return 0;
    return len;
}

/* Copies src into dst[0..dstlen) as valid UTF-8: invalid bytes become '?',
 * truncation never splits a character. */
static void copy_utf8(char *dst, size_t dstlen, const char *src)
{
    const unsigned char *s = (const unsigned char *)(src ? src : "");
    size_t n = strlen((const char *)s), i = 0, o = 0;

    if (!dstlen)
        return;
    while (i < n) {
        size_t k = utf8_seq(s + i, n - i);

        if (k == 0) {
            if (o + 1 >= dstlen)
                break;
            dst[o++] = '?';
            i++;
            continue;
        }
        if (o + k >= dstlen)
            break;
        memcpy(dst + o, s + i, k);
        o += k;
        i += k;
    }
    dst[o] = '\0';
}

static void verr_set(xw_json_err *e, int status, const char *field,
                     const char *rule, const char *fmt, va_list ap)
{
    char msg[sizeof e->message];

    vsnprintf(msg, sizeof msg, fmt, ap);
    e->http_status = status;
    copy_utf8(e->field, sizeof e->field, field);
    copy_utf8(e->rule, sizeof e->rule, rule);
    copy_utf8(e->message, sizeof e->message, msg);
}

void xw_json_err_set(xw_json_err *e, int http_status, const char *field,
                     const char *rule, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    verr_set(e, http_status, field, rule, fmt, ap);
    va_end(ap);
}

/* The getters' failures: always 400. */
static int bad(xw_json_err *e, const char *field, const char *rule,
               const char *fmt, ...) __attribute__((format(printf, 4, 5)));

static int bad(xw_json_err *e, const char *field, const char *rule,
               const char *fmt, ...)
{
    va_list ap;

    if (e) {
        va_start(ap, fmt);
        verr_set(e, 400, field, rule, fmt, ap);
        va_end(ap);
    }
    return -1;
}

void xw_json_err_clear(xw_json_err *e)
{
    memset(e, 0, sizeof *e);
}

void xw_json_err_prefix(xw_json_err *e, const char *prefix)
{
    char tmp[sizeof e->field * 2];

    snprintf(tmp, sizeof tmp, "%s%s%s", prefix,
             e->field[0] && e->field[0] != '[' ? "." : "", e->field);
    copy_utf8(e->field, sizeof e->field, tmp);
}

json_t *xw_json_err_to_json(const xw_json_err *e)
{
    return json_pack("{s:{s:i,s:s,s:s,s:s}}", "error",
                     "status", e->http_status, "field", e->field,
                     "rule", e->rule, "message", e->message);
}

int xw_json_err_render(const xw_json_err *e, xw_buf *out)
{
    json_t *j = xw_json_err_to_json(e);
    int rc = -1;

    if (!j)
        goto out;
    rc = xw_json_dump(j, out);
out:
    json_decref(j);
    return rc;
}

/* The body is not JSON: field "body", rule "json", where and why. */
static void syntax_err(xw_json_err *e, int line, int column, const char *what)
{
    xw_json_err_set(e, 400, "body", "json", "line %d column %d: %s", line,
                    column, what);
}

static void too_long(xw_json_err *e, size_t len, size_t max_len)
{
    xw_json_err_set(e, 413, "body", "max_length",
                    "body is %zu bytes, the limit is %zu", len, max_len);
}

json_t *xw_json_parse(const char *data, size_t len, size_t max_len,
                      xw_json_err *e)
{
    json_error_t jerr;
    json_t *j;

    if (max_len && len > max_len) {
        too_long(e, len, max_len);
        return NULL;
    }
    j = json_loadb(data, len, JSON_REJECT_DUPLICATES, &jerr);
    if (!j)
        syntax_err(e, jerr.line, jerr.column, jerr.text);
    return j;
}

static int dump_cb(const char *buf, size_t size, void *data)
{
    return xw_buf_add(data, buf, size);
}

int xw_json_dump(const json_t *j, xw_buf *out)
{
    size_t saved = out->len;

    if (json_dump_callback(j, dump_cb, out, JSON_COMPACT | JSON_ENCODE_ANY)
        == 0)
        return 0;
    xw_buf_setlen(out, saved);
    return -1;
}

/* The common first step: 1 = value found (*v), 0 = absent and optional,
 * -1 = error. */
static int lookup(const json_t *obj, const char *field, unsigned flags,
                  json_t **v, xw_json_err *e)
{
    if (!json_is_object(obj))
        return bad(e, "", "type", "must be an object");
    *v = json_object_get(obj, field);
    if (*v && !json_is_null(*v))
        return 1;
    if (flags & XW_JSON_REQUIRED)
        return bad(e, field, "required", "is required");
    return 0;
}

int xw_json_get_string(const json_t *obj, const char *field, size_t min_len,
                       size_t max_len, unsigned flags, const char **out,
                       size_t *len, xw_json_err *e)
{
    json_t *v = NULL;
    const char *s;
    size_t n;
    int rc = lookup(obj, field, flags, &v, e);

    if (rc <= 0)
        return rc;
    if (!json_is_string(v))
        return bad(e, field, "type", "must be a string");
    s = json_string_value(v);
    n = json_string_length(v);
    if (memchr(s, '\0', n))
        return bad(e, field, "nul", "must not contain U+0000");
    if (n < min_len)
        return bad(e, field, "min_length", "must be at least %zu bytes",
                   min_len);
    if (max_len && n > max_len)
        return bad(e, field, "max_length", "must be at most %zu bytes",
                   max_len);
    *out = s;
    if (len)
        *len = n;
    return 1;
}

int xw_json_get_int(const json_t *obj, const char *field, json_int_t min,
                    json_int_t max, unsigned flags, json_int_t *out,
                    xw_json_err *e)
{
    json_t *v = NULL;
    json_int_t n;
    int rc = lookup(obj, field, flags, &v, e);

    if (rc <= 0)
        return rc;
    if (!json_is_integer(v))
        return bad(e, field, "type", "must be an integer");
    n = json_integer_value(v);
    if (n < min)
        return bad(e, field, "min", "must be at least %" JSON_INTEGER_FORMAT,
                   min);
    if (n > max)
        return bad(e, field, "max", "must be at most %" JSON_INTEGER_FORMAT,
                   max);
    *out = n;
    return 1;
}

int xw_json_get_bool(const json_t *obj, const char *field, unsigned flags,
                     int *out, xw_json_err *e)
{
    json_t *v = NULL;
    int rc = lookup(obj, field, flags, &v, e);

    if (rc <= 0)
        return rc;
    if (!json_is_boolean(v))
        return bad(e, field, "type", "must be true or false");
    *out = json_is_true(v);
    return 1;
}

int xw_json_get_array(const json_t *obj, const char *field, size_t max_items,
                      unsigned flags, json_t **out, xw_json_err *e)
{
    json_t *v = NULL;
    int rc = lookup(obj, field, flags, &v, e);

    if (rc <= 0)
        return rc;
    if (!json_is_array(v))
        return bad(e, field, "type", "must be an array");
    if (max_items && json_array_size(v) > max_items)
        return bad(e, field, "max_items", "must have at most %zu items",
                   max_items);
    *out = v;
    return 1;
}

int xw_json_get_object(const json_t *obj, const char *field, unsigned flags,
                       json_t **out, xw_json_err *e)
{
    json_t *v = NULL;
    int rc = lookup(obj, field, flags, &v, e);

    if (rc <= 0)
        return rc;
    if (!json_is_object(v))
        return bad(e, field, "type", "must be an object");
    *out = v;
    return 1;
}

int xw_json_check_keys(const json_t *obj, const char *const *allowed,
                       xw_json_err *e)
{
    void *it;

    if (!json_is_object(obj))
        return bad(e, "", "type", "must be an object");
    for (it = json_object_iter((json_t *)obj); it;
         it = json_object_iter_next((json_t *)obj, it)) {
        const char *key = json_object_iter_key(it);
        const char *const *a;

        for (a = allowed; *a; a++)
            if (strcmp(*a, key) == 0)
                break;
        if (!*a)
            return bad(e, key, "unknown", "is not a known field");
    }
    return 0;
}

/* --- streaming the items of one array member --- */

enum {
    IT_START,           /* nothing read yet */
    IT_FIRST_KEY,       /* after '{' */
    IT_KEY,             /* after ',' between members */
    IT_FIRST_ITEM,      /* after the member's '[' */
    IT_ITEM,            /* after ',' between items */
    IT_AFTER_ITEM,      /* after an item */
    IT_AFTER_VALUE,     /* after a member's value */
    IT_END,             /* after the closing '}' */
    IT_GOOD,
    IT_REFUSED
};

enum { MEMBER_ABSENT, MEMBER_ARRAY, MEMBER_OTHER };

void xw_json_items_init(xw_json_items *it, const char *data, size_t len,
                        const char *member, size_t min_items,
                        size_t max_items, size_t max_len)
{
    memset(it, 0, sizeof *it);
    it->data = data;
    it->len = len;
    it->member = member;
    it->min_items = min_items;
    it->max_items = max_items;
    it->max_len = max_len;
}

void xw_json_items_release(xw_json_items *it)
{
    json_decref(it->keys);
    it->keys = NULL;
}

/* The next byte that is not JSON whitespace (moving past the whitespace),
 * or -1 at the end of the body. */
static int peek(xw_json_items *it)
{
    while (it->pos < it->len) {
        char c = it->data[it->pos];

        if (c != ' ' && c != '\t' && c != '\n' && c != '\r')
            return (unsigned char)c;
        it->pos++;
    }
    return -1;
}

/* A syntax error at byte `pos` of the body, with the line and column
 * jansson would give for that byte (columns count characters: every byte
 * but UTF-8 continuation bytes and bytes no sequence starts with), so an
 * error inside an item reads as xw_json_parse's of the whole body. -1. */
static int refuse_at(xw_json_items *it, size_t pos, const char *what)
{
    const unsigned char *d = (const unsigned char *)it->data;
    int line = 1, column = 0;

    for (size_t i = 0; i < pos && i < it->len; i++) {
        if (d[i] == '\n') {
            line++;
            column = 0;
        } else if (d[i] < 0x80 || (d[i] >= 0xc2 && d[i] <= 0xf4)) {
            column++;
        }
    }
    syntax_err(&it->err, line, column, what);
    return -1;
}

/* A syntax error between the values (at pos), worded as jansson words
 * them. -1. */
static int refuse_here(xw_json_items *it, const char *what)
{
    char msg[96];
    int c = it->pos < it->len ? (unsigned char)it->data[it->pos] : -1;

    if (c < 0)
        snprintf(msg, sizeof msg, "%s near end of file", what);
    else if (c >= 0x20 && c < 0x7f)
        snprintf(msg, sizeof msg, "%s near '%c'", what, c);
    else
        snprintf(msg, sizeof msg, "%s", what);
    return refuse_at(it, it->pos + 1, msg);
}

/* How deep jansson's parser counts v: a scalar or an empty container is
 * 1. Bounded by JSON_PARSER_MAX_DEPTH (jansson refused anything deeper). */
static size_t json_depth(json_t *v)
{
    size_t d = 0, dx, i;
    const char *k;
    json_t *x;

    if (json_is_array(v)) {
        json_array_foreach(v, i, x)
            if ((dx = json_depth(x)) > d)
                d = dx;
    } else if (json_is_object(v)) {
        json_object_foreach(v, k, x)
            if ((dx = json_depth(x)) > d)
                d = dx;
    }
    return d + 1;
}

/* How many bytes from p jansson read to parse a value it says took
 * `counted` bytes (json_error_t.position). They differ by the NUL bytes
 * among them: jansson puts the byte after a number or literal back, and
 * a NUL put back looks like "nothing buffered", so it is skipped without
 * being counted (and the parse goes on: "[1<NUL>]" is [1]). Every other
 * NUL is an error, so a parsed value's uncounted bytes are its NULs. */
static size_t read_length(const char *p, size_t counted)
{
    size_t n = 0;

    if (!memchr(p, '\0', counted))
        return counted;
    while (counted)
        if (p[n++] != '\0')
            counted--;
    return n;
}

/* Parses the one value at pos and moves past it. `depth` is how deep the
 * value sits (1: a member's value, 2: an item): parsed alone it may nest
 * that much deeper than the whole-body parse allows, so that limit is
 * checked here - only for values long enough to nest that deep at all
 * (2 bytes a level). NULL with it->err set. */
static json_t *value_at(xw_json_items *it, size_t depth, size_t flags)
{
    size_t start = it->pos, used;
    json_error_t je;
    json_t *v;

    v = json_loadb(it->data + start, it->len - start,
                   flags | JSON_DECODE_ANY | JSON_DISABLE_EOF_CHECK, &je);
    if (!v) {
        refuse_at(it, start + (size_t)(je.position > 0 ? je.position : 0),
                  je.text);
        return NULL;
    }
    used = read_length(it->data + start, (size_t)je.position);
    if (used >= 2 * (JSON_PARSER_MAX_DEPTH - depth)
        && json_depth(v) + depth > JSON_PARSER_MAX_DEPTH) {
        json_decref(v);
        refuse_at(it, start + 1, "maximum parsing depth reached");
        return NULL;
    }
    it->pos = start + used;
    /* The byte after a number or literal was read and put back; a NUL put
     * back is skipped by the whole-body parse (see read_length). */
    if (it->pos < it->len && it->data[it->pos] == '\0'
        && (json_is_number(v) || json_is_boolean(v) || json_is_null(v)))
        it->pos++;
    return v;
}

/* A member's key and its ':'. The key is jansson's string (escapes
 * decoded), a NEW reference. NULL with it->err set. */
static json_t *member_key(xw_json_items *it)
{
    size_t start;
    json_t *key;
    const char *k, *why = NULL;
    char msg[96];

    if (peek(it) != '"') {
        refuse_here(it, "string or '}' expected");
        return NULL;
    }
    start = it->pos;
    /* JSON_ALLOW_NUL: a NUL in a key has its own message, as in jansson. */
    if (!(key = value_at(it, 1, JSON_ALLOW_NUL)))
        return NULL;
    k = json_string_value(key);
    if (memchr(k, '\0', json_string_length(key)))
        why = "NUL byte in object key not supported";
    else if (it->keys && json_object_get(it->keys, k))
        why = "duplicate object key";
    if (why) {
        /* jansson quotes a token of up to 20 bytes */
        if (it->pos - start <= 20)
            snprintf(msg, sizeof msg, "%s near '%.*s'", why,
                     (int)(it->pos - start), it->data + start);
        else
            snprintf(msg, sizeof msg, "%s", why);
        refuse_at(it, it->pos, msg);
        goto fail;
    }
    if (!it->keys && !(it->keys = json_object())) {
        xw_json_err_set(&it->err, 500, "body", "internal", "out of memory");
        goto fail;
    }
    if (json_object_set_new(it->keys, k, json_null()) < 0) {
        xw_json_err_set(&it->err, 500, "body", "internal", "out of memory");
        goto fail;
    }
    if (peek(it) != ':') {
        refuse_here(it, "':' expected");
        goto fail;
    }
    it->pos++;
    return key;
fail:
    json_decref(key);
    return NULL;
}

/* A member: the array's '[' (its items follow), or any other value, read
 * and dropped. -1 with it->err set. */
static int member(xw_json_items *it)
{
    json_t *key = member_key(it), *v;
    int is_member;

    if (!key)
        return -1;
    is_member = strcmp(json_string_value(key), it->member) == 0;
    if (!is_member && !it->unknown) {
        it->unknown = 1;
        bad(&it->err, json_string_value(key), "unknown",
            "is not a known field");
    }
    json_decref(key);
    if (is_member && peek(it) == '[') {
        it->pos++;
        it->member_kind = MEMBER_ARRAY;
        it->state = IT_FIRST_ITEM;
        return 0;
    }
    if (!(v = value_at(it, 1, JSON_REJECT_DUPLICATES)))
        return -1;
    if (is_member && !json_is_null(v))
        it->member_kind = MEMBER_OTHER;
    json_decref(v);
    it->state = IT_AFTER_VALUE;
    return 0;
}

/* The body has been read and is JSON: judged in the whole-tree path's
 * order. 0, or -1 with it->err set. */
static int judge(xw_json_items *it)
{
    if (it->member_kind == MEMBER_ABSENT)
        return bad(&it->err, it->member, "required", "is required");
    if (it->member_kind == MEMBER_OTHER)
        return bad(&it->err, it->member, "type", "must be an array");
    if (it->max_items && it->count > it->max_items)
        return bad(&it->err, it->member, "max_items",
                   "must have at most %zu items", it->max_items);
    if (it->count < it->min_items)
        return bad(&it->err, it->member, "min_items",
                   "must have at least %zu item%s", it->min_items,
                   it->min_items == 1 ? "" : "s");
    return it->unknown ? -1 : 0;
}

/* Not an object at the top: the whole-tree path's answer, from a whole
 * parse (an array body or malformed JSON; refused either way). -1. */
static int not_an_object(xw_json_items *it)
{
    json_t *j = xw_json_parse(it->data, it->len, 0, &it->err);

    if (j)
        xw_json_err_set(&it->err, 400, "body", "type",
                        "the body must be a JSON object");
    json_decref(j);
    return -1;
}

/* One step of the scanner: 1 with *item, 0 to go on, -1 refused. */
static int step(xw_json_items *it, json_t **item)
{
    int c;

    switch (it->state) {
    case IT_START:
        if (it->len == 0) {
            xw_json_err_set(&it->err, 400, "body", "required",
                            "a JSON object is required");
            return -1;
        }
        if ((it->max_len && it->len > it->max_len) || it->len > INT_MAX) {
            too_long(&it->err, it->len, it->max_len ? it->max_len : INT_MAX);
            return -1;
        }
        if (peek(it) != '{')
            return not_an_object(it);
        it->pos++;
        it->state = IT_FIRST_KEY;
        return 0;
    case IT_FIRST_KEY:
        if (peek(it) == '}') {
            it->pos++;
            it->state = IT_END;
            return 0;
        }
        /* fall through */
    case IT_KEY:
        return member(it);
    case IT_FIRST_ITEM:
        if (peek(it) == ']') {
            it->pos++;
            it->state = IT_AFTER_VALUE;
            return 0;
        }
        /* fall through */
    case IT_ITEM:
        if (peek(it) == -1)
            return refuse_here(it, "']' expected");
        if (!(*item = value_at(it, 2, JSON_REJECT_DUPLICATES)))
            return -1;
        it->state = IT_AFTER_ITEM;
        it->count++;
        if (!it->max_items || it->count <= it->max_items)
            return 1;
        json_decref(*item);     /* refused later (max_items): syntax only */
        *item = NULL;
        return 0;
    case IT_AFTER_ITEM:
        c = peek(it);
        if (c != ',' && c != ']')
            return refuse_here(it, "']' expected");
        it->pos++;
        it->state = c == ',' ? IT_ITEM : IT_AFTER_VALUE;
        return 0;
    case IT_AFTER_VALUE:
        c = peek(it);
        if (c != ',' && c != '}')
            return refuse_here(it, "'}' expected");
        it->pos++;
        it->state = c == ',' ? IT_KEY : IT_END;
        return 0;
    case IT_END:
        if (peek(it) != -1)
            return refuse_here(it, "end of file expected");
        if (judge(it) < 0)
            return -1;
        it->state = IT_GOOD;
        return 0;
    default:
        return -1;
    }
}

int xw_json_items_next(xw_json_items *it, json_t **item, xw_json_err *e)
{
    int rc = 0;

    *item = NULL;
    while (it->state != IT_GOOD && it->state != IT_REFUSED) {
        if ((rc = step(it, item)) == 1)
            return 1;
        if (rc < 0)
            it->state = IT_REFUSED;
    }
    if (it->state == IT_GOOD)
        return 0;
    if (e)
        *e = it->err;
    return -1;
}

int xw_json_items_peek(xw_json_items *it, const char **text, size_t *len)
{
    json_t *item = NULL;

    while (it->state != IT_GOOD && it->state != IT_REFUSED) {
        if (it->state == IT_ITEM
            || (it->state == IT_FIRST_ITEM && peek(it) != ']')) {
            if (peek(it) != '{'
                || (it->max_items && it->count >= it->max_items))
                return 0;
            *text = it->data + it->pos;
            *len = it->len - it->pos;
            return 1;
        }
        /* Not at an item, so step() hands none out. */
        if (step(it, &item) < 0)
            it->state = IT_REFUSED;
    }
    return 0;
}

void xw_json_items_skip(xw_json_items *it, size_t used)
{
    it->pos += used;
    it->count++;
    it->state = IT_AFTER_ITEM;
}
