#include "xw_id.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include <openssl/evp.h>
#include <openssl/sha.h>
#include <pthread.h>
#include <sys/random.h>
#include <time.h>

int xw_random_bytes(void *buf, size_t n)
{
    unsigned char *p = buf;

    while (n) {
        ssize_t got = getrandom(p, n, 0);

        if (got < 0) {
            if (errno == EINTR)
                continue;
            return -1;
        }
        p += got;
        n -= (size_t)got;
    }
    return 0;
}

void xw_hex(const void *src, size_t n, char *out)
{
    static const char digits[] = "0123456789abcdef";
    const unsigned char *s = src;

    for (size_t i = 0; i < n; i++) {
        out[2 * i] = digits[s[i] >> 4];
        out[2 * i + 1] = digits[s[i] & 15];
    }
    out[2 * n] = '\0';
}

size_t xw_dec(int64_t v, char out[XW_DEC_MAX])
{
    /* The magnitude in unsigned arithmetic: -INT64_MIN overflows int64_t. */
    uint64_t u = v < 0 ? 0 - (uint64_t)v : (uint64_t)v;
    char rev[XW_DEC_MAX];
    size_t n = 0, len = 0;

    do {
        rev[n++] = (char)('0' + u % 10);
        u /= 10;
    } while (u);
    if (v < 0)
        out[len++] = '-';
    while (n)
        out[len++] = rev[--n];
    out[len] = '\0';
    return len;
}

static void uuid_format(unsigned char b[16], int version,
                        char out[XW_UUID_LEN + 1])
{
    char hex[33];
    int o = 0;

    b[6] = (unsigned char)((b[6] & 0x0f) | (version << 4));
    b[8] = (unsigned char)((b[8] & 0x3f) | 0x80);
    xw_hex(b, 16, hex);
    for (int i = 0; i < 32; i++) {
        if (i == 8 || i == 12 || i == 16 || i == 20)
            out[o++] = '-';
        out[o++] = hex[i];
    }
    out[o] = '\0';
}

int xw_uuid_v4(char out[XW_UUID_LEN + 1])
{
    unsigned char b[16];

    if (xw_random_bytes(b, sizeof b) < 0)
        return -1;
    uuid_format(b, 4, out);
    return 0;
}

/* SHA-256, fetched once. OpenSSL 3 looks an algorithm up by name on every
 * SHA256() / EVP_Q_digest call (a locked search of the provider store),
 * which was most of what a derived id cost the mapper (one per object);
 * an EVP_MD fetched once may be used by every thread at once. Never freed:
 * it lives as long as the process.
 *
 * A digest context per thread (the submit-listener derives ids from many
 * threads at once), kept for the thread's life and freed when it exits: a
 * context made and freed per id cost two allocations. OpenSSL 3.0 still
 * remakes the digest's state block on every EVP_DigestInit_ex, so one
 * remains. The low-level SHA256_* functions would need none (and run
 * twice as fast), but OpenSSL 3 deprecates them. */
static EVP_MD *sha256_md;
static pthread_key_t sha256_key;
static int sha256_key_ok;
static pthread_once_t sha256_once = PTHREAD_ONCE_INIT;

static void sha256_ctx_free(void *c)
{
    EVP_MD_CTX_free(c);
}

static void sha256_setup(void)
{
    sha256_md = EVP_MD_fetch(NULL, "SHA256", NULL);
    sha256_key_ok = pthread_key_create(&sha256_key, sha256_ctx_free) == 0;
}

/* This thread's context, or NULL (out of memory, no key): the caller then
 * uses one of its own for this call. */
static EVP_MD_CTX *sha256_ctx(void)
{
    EVP_MD_CTX *c;

    if (!sha256_key_ok)
        return NULL;
    if ((c = pthread_getspecific(sha256_key)))
        return c;
    if ((c = EVP_MD_CTX_new()) && pthread_setspecific(sha256_key, c) != 0) {
        EVP_MD_CTX_free(c);
        c = NULL;
    }
    return c;
}

void xw_uuid_derive(const char *scope, const char *name, long index,
                    char out[XW_UUID_LEN + 1])
{
    unsigned char md[SHA256_DIGEST_LENGTH];
    char idx[XW_DEC_MAX];
    size_t ls = strlen(scope) + 1, ln = strlen(name) + 1, li;
    EVP_MD_CTX *c, *own = NULL;

    pthread_once(&sha256_once, sha256_setup);
    if (!(c = sha256_ctx()))
        c = own = EVP_MD_CTX_new();
    li = xw_dec(index, idx);
    memset(md, 0, sizeof md);
    /* scope, NUL, name, NUL, decimal index: hashed piece by piece, so a
     * long name needs no copy. */
    if (c && EVP_DigestInit_ex(c, sha256_md ? sha256_md : EVP_sha256(), NULL)
        && EVP_DigestUpdate(c, scope, ls) && EVP_DigestUpdate(c, name, ln)
        && EVP_DigestUpdate(c, idx, li))
        EVP_DigestFinal_ex(c, md, NULL);
    EVP_MD_CTX_free(own);
    uuid_format(md, 8, out);
}

int xw_id_valid(const char *s, size_t len, size_t max)
{
    if (!s || len == 0 || len > max)
        return 0;
    if ((len == 1 && s[0] == '.') || (len == 2 && s[0] == '.' && s[1] == '.'))
        return 0;
    for (size_t i = 0; i < len; i++) {
        char c = s[i];

        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')
              || (c >= '0' && c <= '9') || c == '.' || c == '_' || c == '-'
              || c == ':' || c == '@'))
            return 0;
    }
    return 1;
}

int64_t xw_now_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int64_t xw_mono_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}
