#include "xw_buf.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

char xw_buf_empty_[1];

void xw_buf_init(xw_buf *b, size_t cap)
{
    b->data = xw_buf_empty_;
    b->len = 0;
    b->alloc = 0;
    b->cap = cap;
}

void xw_buf_release(xw_buf *b)
{
    if (b->alloc)
        free(b->data);
    xw_buf_init(b, b->cap);
}

char *xw_buf_detach(xw_buf *b, size_t *len)
{
    char *d = b->alloc ? b->data : calloc(1, 1);

    if (len)
        *len = b->len;
    xw_buf_init(b, b->cap);
    return d;
}

int xw_buf_grow(xw_buf *b, size_t extra)
{
    size_t want, n;
    char *p;

    if (extra > SIZE_MAX - b->len - 1)
        return -1;
    want = b->len + extra;
    if (b->cap && want > b->cap)
        return -1;
    if (want + 1 <= b->alloc)
        return 0;
    n = b->alloc ? b->alloc : 64;
    while (n < want + 1)
        n = n > SIZE_MAX / 2 ? want + 1 : n * 2;
    p = realloc(b->alloc ? b->data : NULL, n);
    if (!p)
        return -1;
    if (!b->alloc)
        p[0] = '\0';
    b->data = p;
    b->alloc = n;
    return 0;
}

int xw_buf_add_grow_(xw_buf *b, const void *data, size_t len)
{
    if (xw_buf_grow(b, len) < 0)
        return -1;
    if (len)
        memcpy(b->data + b->len, data, len);
    b->len += len;
    b->data[b->len] = '\0';
    return 0;
}

int xw_buf_adds(xw_buf *b, const char *s)
{
    return xw_buf_add(b, s, strlen(s));
}

int xw_buf_vaddf(xw_buf *b, const char *fmt, va_list ap)
{
    va_list cp;
    int n;

    va_copy(cp, ap);
    n = vsnprintf(b->alloc ? b->data + b->len : NULL,
                  b->alloc ? b->alloc - b->len : 0, fmt, cp);
    va_end(cp);
    if (n < 0)
        return -1;
    if (b->len + (size_t)n + 1 > b->alloc) {
        if (xw_buf_grow(b, (size_t)n) < 0) {
            if (b->alloc)
                b->data[b->len] = '\0';
            return -1;
        }
        n = vsnprintf(b->data + b->len, b->alloc - b->len, fmt, ap);
        if (n < 0)
            return -1;
    } else if (b->cap && b->len + (size_t)n > b->cap) {
        b->data[b->len] = '\0';
        return -1;
    }
    b->len += (size_t)n;
    return 0;
}

int xw_buf_addf(xw_buf *b, const char *fmt, ...)
{
    va_list ap;
    int rc;

    va_start(ap, fmt);
    rc = xw_buf_vaddf(b, fmt, ap);
    va_end(ap);
    return rc;
}

void xw_buf_setlen(xw_buf *b, size_t len)
{
    b->len = len;
    if (b->alloc)
        b->data[len] = '\0';
}
