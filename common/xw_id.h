/*
 * xw_id - identifiers: random UUIDs (v4) for event ids, and the checks
 * every id that comes from outside must pass.
 */
#ifndef XW_ID_H
#define XW_ID_H

#include <stddef.h>
#include <stdint.h>

#define XW_UUID_LEN 36

/* Writes a lower-case v4 UUID and a NUL into out[37]. Uses getrandom();
 * returns 0, or -1 if the kernel gives no randomness. */
int xw_uuid_v4(char out[XW_UUID_LEN + 1]);

/* A UUID derived from a name: the same (scope, name, index) always gives
 * the same id (SHA-256, formatted as a version-8 UUID). Used for event ids
 * of follow-up events, so that redoing a batch re-emits events with the
 * ids they had the first time and every consumer's dedupe catches them. */
void xw_uuid_derive(const char *scope, const char *name, long index,
                    char out[XW_UUID_LEN + 1]);

/* Fills buf with n random bytes; 0 or -1. */
int xw_random_bytes(void *buf, size_t n);

/* Writes 2*n lower-case hex digits of src and a NUL into out. */
void xw_hex(const void *src, size_t n, char *out);

/* FNV-1a (64-bit) of p[0..n), continuing from h (XW_FNV1A_INIT to
 * start): for in-memory hash tables keyed by ids, where a short, fast,
 * well-spread hash is all that is needed (not for anything from outside
 * that could be chosen to collide at scale, nor for anything stored). */
#define XW_FNV1A_INIT 14695981039346656037ULL
static inline uint64_t xw_fnv1a(const void *p, size_t n, uint64_t h)
{
    const unsigned char *s = p;

    while (n--)
        h = (h ^ *s++) * 1099511628211ULL;
    return h;
}

/* Writes v in decimal ("%lld") and a NUL into out; returns the length.
 * For integers formatted per event (JSON numbers, derived ids), where
 * printf's format parsing cost more than the digits. */
#define XW_DEC_MAX 21   /* "-9223372036854775808" and the NUL */
size_t xw_dec(int64_t v, char out[XW_DEC_MAX]);

/* An id from outside (workspace, package, object, user, environment name)
 * is 1..max bytes of [A-Za-z0-9._:@-], not "." or "..", so it is safe in a
 * URL path, a Redis key and a log line. Returns 1 if valid. */
int xw_id_valid(const char *s, size_t len, size_t max);

/* Milliseconds since the epoch (CLOCK_REALTIME) and a monotonic clock. */
int64_t xw_now_ms(void);
int64_t xw_mono_ms(void);

#endif
