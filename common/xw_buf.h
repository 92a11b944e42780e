/*
 * xw_buf - a growable byte buffer in the spirit of git's strbuf.
 *
 * Invariants: after xw_buf_init() (or XW_BUF_INIT) `data` is never NULL
 * and `data[len]` is always '\0', so a buffer can be used as a C string
 * whenever it holds text. `cap` bounds growth: an append that would make
 * `len` exceed `cap` fails with -1 and leaves the buffer as it was (bound
 * everything that comes from outside). cap 0 means "no bound".
 *
 * Ownership: the buffer owns `data`. xw_buf_release() frees it and leaves
 * an empty, reusable buffer; xw_buf_detach() hands `data` to the caller.
 * xw_buf_reset() keeps the memory for reuse on the next event (hot paths
 * reuse one buffer instead of allocating per event).
 */
#ifndef XW_BUF_H
#define XW_BUF_H

#include <stdarg.h>
#include <stddef.h>
#include <string.h>

typedef struct xw_buf {
    char *data;
    size_t len;
    size_t alloc;
    size_t cap;
} xw_buf;

extern char xw_buf_empty_[];
#define XW_BUF_INIT { xw_buf_empty_, 0, 0, 0 }

void xw_buf_init(xw_buf *b, size_t cap);
void xw_buf_release(xw_buf *b);
static inline void xw_buf_reset(xw_buf *b)
{
    b->len = 0;
    if (b->alloc)
        b->data[0] = '\0';
}
char *xw_buf_detach(xw_buf *b, size_t *len);

/* Make room for `extra` more bytes. 0 on success, -1 on allocation failure
 * or when the cap would be exceeded. */
int xw_buf_grow(xw_buf *b, size_t extra);
/* Appends len bytes (0, or -1 as xw_buf_grow, the buffer unchanged).
 * Inline when they fit without growing: appends of a few bytes are the
 * writers' inner loops (3% of the listener's samples as calls). */
int xw_buf_add_grow_(xw_buf *b, const void *data, size_t len);
static inline int xw_buf_add(xw_buf *b, const void *data, size_t len)
{
    if (len >= b->alloc - b->len || (b->cap && len > b->cap - b->len))
        return xw_buf_add_grow_(b, data, len);
    if (len)
        memcpy(b->data + b->len, data, len);
    b->len += len;
    b->data[b->len] = '\0';
    return 0;
}
int xw_buf_adds(xw_buf *b, const char *s);
static inline int xw_buf_addch(xw_buf *b, char c)
{
    return xw_buf_add(b, &c, 1);
}
int xw_buf_addf(xw_buf *b, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
int xw_buf_vaddf(xw_buf *b, const char *fmt, va_list ap);
/* Set len after writing directly into data[len..alloc). */
void xw_buf_setlen(xw_buf *b, size_t len);

#endif
