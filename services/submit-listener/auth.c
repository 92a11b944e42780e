#include "auth.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/sha.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api.h"
#include "xw_id.h"

#define MIN_TOKEN_LEN 16
#define MAX_TOKEN_LEN 512
#define MAX_USERS 4096

struct entry {
    unsigned char digest[SHA256_DIGEST_LENGTH];
    char user[SL_ID_MAX + 1];
    int system_admin;
};

struct sl_auth {
    struct entry *e;
    size_t n;
    /* Fetched once: SHA256() fetches the algorithm from the provider
     * store (a locked search) on every call, once per request here. May be
     * used by every thread at once. NULL: SHA256() is used. */
    EVP_MD *sha256;
};

/* SHA-256 of p[0..len) into d. */
static void digest(const struct sl_auth *a, const void *p, size_t len,
                   unsigned char d[SHA256_DIGEST_LENGTH])
{
    if (!a->sha256 || !EVP_Digest(p, len, d, NULL, a->sha256, NULL))
        SHA256(p, len, d);
}

static int add(struct sl_auth *a, const char *user, size_t ulen,
               const char *tok, size_t tlen, char *err, size_t errlen)
{
    struct entry *x;

    if (!xw_id_valid(user, ulen, SL_ID_MAX)) {
        snprintf(err, errlen, "token entry %zu: user name is not a valid id",
                 a->n + 1);
        return -1;
    }
    if (tlen < MIN_TOKEN_LEN || tlen > MAX_TOKEN_LEN) {
        snprintf(err, errlen, "token of user %.*s: must be %d..%d bytes",
                 (int)ulen, user, MIN_TOKEN_LEN, MAX_TOKEN_LEN);
        return -1;
    }
    if (a->n == MAX_USERS) {
        snprintf(err, errlen, "more than %d tokens", MAX_USERS);
        return -1;
    }
    x = &a->e[a->n++];
    memcpy(x->user, user, ulen);
    x->user[ulen] = '\0';
    digest(a, tok, tlen, x->digest);
    return 0;
}

/* Parses "user:token" items separated by ',' or whitespace / newlines
 * ("user token" lines when sep_space). */
static int parse_list(struct sl_auth *a, const char *s, int file_format,
                      char *err, size_t errlen)
{
    while (*s) {
        const char *line_end, *sep, *u, *t;
        size_t ul, tl;

        if (file_format) {
            line_end = strchr(s, '\n');
            if (!line_end)
                line_end = s + strlen(s);
        } else {
            line_end = s + strcspn(s, ",");
        }
        u = s;
        while (u < line_end && (*u == ' ' || *u == '\t' || *u == '\r'))
            u++;
        if (u == line_end || *u == '#')
            goto next;
        sep = u;
        while (sep < line_end && *sep != (file_format ? ' ' : ':')
               && !(file_format && *sep == '\t'))
            sep++;
        if (sep == line_end) {
            snprintf(err, errlen, "token entry %zu: expected %s", a->n + 1,
                     file_format ? "'user token'" : "'user:token'");
            return -1;
        }
        ul = (size_t)(sep - u);
        t = sep + 1;
        while (t < line_end && (*t == ' ' || *t == '\t'))
            t++;
        tl = (size_t)(line_end - t);
        while (tl && (t[tl - 1] == ' ' || t[tl - 1] == '\r' || t[tl - 1] == '\t'))
            tl--;
        if (add(a, u, ul, t, tl, err, errlen) < 0)
            return -1;
next:
        s = *line_end ? line_end + 1 : line_end;
    }
    return 0;
}

static int read_file(const char *path, char **out, char *err, size_t errlen)
{
    FILE *f = fopen(path, "r");
    char *buf = NULL;
    size_t n;

    if (!f) {
        snprintf(err, errlen, "XW_TOKENS_FILE %s: cannot open", path);
        return -1;
    }
    buf = malloc(1 << 20);
    if (!buf) {
        fclose(f);
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    n = fread(buf, 1, (1 << 20) - 1, f);
    fclose(f);
    buf[n] = '\0';
    *out = buf;
    return 0;
}

struct sl_auth *sl_auth_load(const char *tokens, const char *tokens_file,
                             const char *system_admins, char *err,
                             size_t errlen)
{
    struct sl_auth *a = calloc(1, sizeof *a);
    char *file = NULL;

    if (!a || !(a->e = calloc(MAX_USERS, sizeof *a->e))) {
        snprintf(err, errlen, "out of memory");
        goto fail;
    }
    a->sha256 = EVP_MD_fetch(NULL, "SHA256", NULL);
    if (tokens && parse_list(a, tokens, 0, err, errlen) < 0)
        goto fail;
    if (tokens_file) {
        if (read_file(tokens_file, &file, err, errlen) < 0
            || parse_list(a, file, 1, err, errlen) < 0)
            goto fail;
    }
    if (a->n == 0) {
        snprintf(err, errlen,
                 "no API tokens: set XW_TOKENS or XW_TOKENS_FILE");
        goto fail;
    }
    for (size_t i = 0; i < a->n; i++) {
        const char *s = system_admins ? system_admins : "";
        size_t ul = strlen(a->e[i].user);

        while (*s) {
            size_t l = strcspn(s, ", ");

            if (l == ul && strncmp(s, a->e[i].user, l) == 0)
                a->e[i].system_admin = 1;
            s += l;
            s += strspn(s, ", ");
        }
    }
    if (file) {
        OPENSSL_cleanse(file, strlen(file));
        free(file);
    }
    return a;
fail:
    if (file) {
        OPENSSL_cleanse(file, strlen(file));
        free(file);
    }
    sl_auth_free(a);
    return NULL;
}

void sl_auth_free(struct sl_auth *a)
{
    if (!a)
        return;
    free(a->e);
    EVP_MD_free(a->sha256);
    free(a);
}

size_t sl_auth_count(const struct sl_auth *a)
{
    return a->n;
}

static const struct entry *lookup(const struct sl_auth *a, const char *token,
                                  size_t len)
{
    unsigned char d[SHA256_DIGEST_LENGTH];
    const struct entry *found = NULL;

    if (len < MIN_TOKEN_LEN || len > MAX_TOKEN_LEN)
        return NULL;
    digest(a, token, len, d);
    /* Compare with every entry: the time taken does not depend on which
     * (if any) matched. */
    for (size_t i = 0; i < a->n; i++)
        if (CRYPTO_memcmp(d, a->e[i].digest, sizeof d) == 0)
            found = &a->e[i];
    return found;
}

const char *sl_auth_user(const struct sl_auth *a, const char *token,
                         size_t len)
{
    const struct entry *e = lookup(a, token, len);

    return e ? e->user : NULL;
}

int sl_auth_check(const struct sl_auth *a, struct sl_request *r)
{
    const char *h = MHD_lookup_connection_value(r->conn, MHD_HEADER_KIND,
                                                "Authorization");
    const struct entry *e;

    if (!h || strncasecmp(h, "Bearer ", 7) != 0) {
        sl_reply_error(r, 401, "Authorization", "required",
                       "send 'Authorization: Bearer <token>'");
        return -1;
    }
    h += 7;
    while (*h == ' ')
        h++;
    e = lookup(a, h, strlen(h));
    if (!e) {
        sl_reply_error(r, 401, "Authorization", "invalid_token",
                       "the token is not valid");
        return -1;
    }
    r->user = e->user;
    r->is_system_admin = e->system_admin;
    return 0;
}
