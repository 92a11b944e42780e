/*
 * webhook_verify - xw_http_verify on a recorded delivery, for the webhook
 * tests (the third verifier next to examples/webhook-verify.sh and the
 * receiver's own check: all three must agree).
 *
 *   webhook_verify SECRET_FILE SIGNATURE BODY_FILE [TOLERANCE_S]
 *
 * Exit 0 valid, 1 not (reason on stderr), 2 usage or unreadable file.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "xw_buf.h"
#include "xw_http.h"

#define FILE_MAX (1u << 20)

/* Reads a whole file (at most FILE_MAX bytes) into b. 0 or -1. */
static int slurp(const char *path, xw_buf *b)
{
    char chunk[4096];
    FILE *f = fopen(path, "rb");
    size_t n;
    int rc = 0;

    if (!f)
        return -1;
    while ((n = fread(chunk, 1, sizeof chunk, f)) > 0)
        if (xw_buf_add(b, chunk, n) < 0) {
            rc = -1;
            break;
        }
    if (ferror(f))
        rc = -1;
    fclose(f);
    return rc;
}

int main(int argc, char **argv)
{
    xw_buf secret = XW_BUF_INIT, body = XW_BUF_INIT;
    char err[256];
    long tolerance = argc > 4 ? atol(argv[4]) : 300;
    int rc = 2;

    xw_buf_init(&secret, 4096);
    xw_buf_init(&body, FILE_MAX);
    if (argc < 4 || argc > 5) {
        fprintf(stderr, "usage: webhook_verify SECRET_FILE SIGNATURE "
                "BODY_FILE [TOLERANCE_S]\n");
        goto out;
    }
    if (slurp(argv[1], &secret) < 0 || slurp(argv[3], &body) < 0) {
        fprintf(stderr, "webhook_verify: cannot read the files\n");
        goto out;
    }
    while (secret.len && strchr(" \t\r\n", secret.data[secret.len - 1]))
        secret.data[--secret.len] = '\0';
    if (xw_http_verify(secret.data, argv[2], body.data, body.len,
                       (long long)time(NULL), tolerance, err,
                       sizeof err) == 0) {
        rc = 0;
    } else {
        fprintf(stderr, "webhook_verify: %s\n", err);
        rc = 1;
    }
out:
    if (secret.len)
        memset(secret.data, 0, secret.len);
    xw_buf_release(&secret);
    xw_buf_release(&body);
    return rc;
}
