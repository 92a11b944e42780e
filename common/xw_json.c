#include "xw_json.h"

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

json_t *xw_json_parse(const char *data, size_t len, size_t max_len,
                      xw_json_err *e)
{
    json_error_t jerr;
    json_t *j;

    if (max_len && len > max_len) {
        xw_json_err_set(e, 413, "body", "max_length",
                        "body is %zu bytes, the limit is %zu", len, max_len);
        return NULL;
    }
    j = json_loadb(data, len, JSON_REJECT_DUPLICATES, &jerr);
    if (!j)
        xw_json_err_set(e, 400, "body", "json", "line %d column %d: %s",
                        jerr.line, jerr.column, jerr.text);
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
