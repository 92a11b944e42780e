#include "xw_http.h"

#include <errno.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/types.h>
#include <time.h>

#include <curl/curl.h>
#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/params.h>

#include "xw_log.h"

#define TAG "HTTP"

#define DEF_CONNECT_MS 2000L
#define DEF_TIMEOUT_MS 10000L
#define DEF_MAX_BODY   (1024u * 1024u)

struct xw_http_client {
    CURL *h;
    char curl_err[CURL_ERROR_SIZE];
};

/* ---- global init ------------------------------------------------------ */

static pthread_once_t global_once = PTHREAD_ONCE_INIT;
static int global_rc = -1;

static void global_init(void)
{
    global_rc = curl_global_init(CURL_GLOBAL_DEFAULT) == CURLE_OK ? 0 : -1;
}

int xw_http_global_init(void)
{
    if (pthread_once(&global_once, global_init) != 0)
        return -1;
    return global_rc;
}

/* ---- client ----------------------------------------------------------- */

xw_http_client *xw_http_client_new(char *errbuf, size_t errlen)
{
    xw_http_client *c = NULL, *ret = NULL;

    if (errbuf && errlen)
        errbuf[0] = '\0';
    if (xw_http_global_init() < 0) {
        if (errbuf)
            snprintf(errbuf, errlen, "curl_global_init failed");
        goto out;
    }
    c = calloc(1, sizeof *c);
    if (!c || !(c->h = curl_easy_init())) {
        if (errbuf)
            snprintf(errbuf, errlen, "http client: out of memory");
        goto out;
    }
    ret = c;
    c = NULL;
out:
    xw_http_client_free(c);
    return ret;
}

void xw_http_client_free(xw_http_client *c)
{
    if (!c)
        return;
    if (c->h)
        curl_easy_cleanup(c->h);
    free(c);
}

void xw_http_resp_init(xw_http_resp *resp)
{
    memset(resp, 0, sizeof *resp);
    xw_buf_init(&resp->body, 0);
}

void xw_http_resp_release(xw_http_resp *resp)
{
    xw_buf_release(&resp->body);
    xw_http_resp_init(resp);
}

/* ---- one request ------------------------------------------------------ */

struct sink {
    xw_buf *body;
    int toobig;
};

static size_t write_cb(char *ptr, size_t size, size_t nmemb, void *data)
{
    struct sink *s = data;
    size_t n = size * nmemb;

    if (xw_buf_add(s->body, ptr, n) < 0) {
        if (s->body->cap && s->body->len + n > s->body->cap)
            s->toobig = 1;
        return 0;                   /* abort the transfer */
    }
    return n;
}

/* "scheme://host:port" of url, for messages. Credentials, path and query
 * stay out: webhook and deploy URLs often carry a token in the path
 * (".../hooks/T0/B0/secret"), and logs are read by more people than the
 * subscription's owner. */
static void redact_url(const char *url, char *out, size_t n)
{
    CURLU *u = curl_url();
    char *scheme = NULL, *host = NULL, *port = NULL;

    if (u && curl_url_set(u, CURLUPART_URL, url, 0) == CURLUE_OK &&
        curl_url_get(u, CURLUPART_SCHEME, &scheme, 0) == CURLUE_OK &&
        curl_url_get(u, CURLUPART_HOST, &host, 0) == CURLUE_OK) {
        (void)curl_url_get(u, CURLUPART_PORT, &port, CURLU_DEFAULT_PORT);
        snprintf(out, n, "%s://%s%s%s", scheme, host, port ? ":" : "",
                 port ? port : "");
    } else {
        snprintf(out, n, "(unparsable URL)");
    }
    curl_free(scheme);
    curl_free(host);
    curl_free(port);
    curl_url_cleanup(u);
}

static void set_fail(xw_http_resp *resp, const xw_http_req *req,
                     const char *method, enum xw_http_kind kind,
                     int retriable, const char *why)
{
    char where[200];

    redact_url(req->url ? req->url : "", where, sizeof where);
    resp->kind = kind;
    resp->retriable = retriable;
    snprintf(resp->errstr, sizeof resp->errstr, "%s %s: %s", method, where,
             why);
}

static void classify(xw_http_resp *resp, const xw_http_req *req,
                     const char *method, CURLcode rc, const struct sink *s,
                     const char *curl_err)
{
    char why[CURL_ERROR_SIZE + 64];

    snprintf(why, sizeof why, "%s", curl_err[0] ? curl_err
                                                : curl_easy_strerror(rc));
    switch (rc) {
    case CURLE_OK:
        if (resp->status >= 200 && resp->status < 300) {
            resp->kind = XW_HTTP_OK;
            resp->retriable = 0;
            resp->errstr[0] = '\0';
            return;
        }
        snprintf(why, sizeof why, "HTTP %ld", resp->status);
        set_fail(resp, req, method, XW_HTTP_ESTATUS,
                 resp->status >= 500 || resp->status == 408 ||
                 resp->status == 429, why);
        return;
    case CURLE_COULDNT_RESOLVE_HOST:
    case CURLE_COULDNT_RESOLVE_PROXY:
    case CURLE_COULDNT_CONNECT:
        set_fail(resp, req, method, XW_HTTP_ECONNECT, 1, why);
        return;
    case CURLE_OPERATION_TIMEDOUT:
        set_fail(resp, req, method, XW_HTTP_ETIMEOUT, 1, why);
        return;
    case CURLE_SEND_ERROR:
    case CURLE_RECV_ERROR:
    case CURLE_GOT_NOTHING:
    case CURLE_PARTIAL_FILE:
    case CURLE_HTTP2:
    case CURLE_HTTP2_STREAM:
        set_fail(resp, req, method, XW_HTTP_ENETWORK, 1, why);
        return;
    case CURLE_FILESIZE_EXCEEDED:
        set_fail(resp, req, method, XW_HTTP_ETOOBIG, 0,
                 "response body over the cap");
        return;
    case CURLE_WRITE_ERROR:
        if (s->toobig) {
            set_fail(resp, req, method, XW_HTTP_ETOOBIG, 0,
                     "response body over the cap");
            return;
        }
        set_fail(resp, req, method, XW_HTTP_EOTHER, 0, "out of memory");
        return;
    default:
        set_fail(resp, req, method, XW_HTTP_EOTHER, 0, why);
        return;
    }
}

int xw_http_request(xw_http_client *c, const xw_http_req *req,
                    xw_http_resp *resp)
{
    struct curl_slist *hdrs = NULL, *tmp;
    struct sink sink;
    const char *method;
    const char *const *h;
    size_t max_body = req->max_body ? req->max_body : DEF_MAX_BODY;
    long connect_ms = req->connect_timeout_ms > 0 ? req->connect_timeout_ms
                                                  : DEF_CONNECT_MS;
    long total_ms = req->timeout_ms > 0 ? req->timeout_ms : DEF_TIMEOUT_MS;
    CURLcode rc;
    int ret = -1;

    resp->status = 0;
    resp->new_connections = 0;
    resp->errstr[0] = '\0';
    xw_buf_reset(&resp->body);
    resp->body.cap = max_body;
    sink.body = &resp->body;
    sink.toobig = 0;
    method = req->method ? req->method : req->body_len ? "POST" : "GET";

    if (!req->url) {
        set_fail(resp, req, method, XW_HTTP_EOTHER, 0, "no URL");
        goto out;
    }
    if (connect_ms > total_ms)
        connect_ms = total_ms;
    curl_easy_reset(c->h);      /* keeps the connection cache */
    c->curl_err[0] = '\0';
    if (curl_easy_setopt(c->h, CURLOPT_URL, req->url) != CURLE_OK ||
        curl_easy_setopt(c->h, CURLOPT_PROTOCOLS_STR, "http,https")
            != CURLE_OK) {
        set_fail(resp, req, method, XW_HTTP_EOTHER, 0, "bad URL");
        goto out;
    }
    curl_easy_setopt(c->h, CURLOPT_ERRORBUFFER, c->curl_err);
    curl_easy_setopt(c->h, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(c->h, CURLOPT_CONNECTTIMEOUT_MS, connect_ms);
    curl_easy_setopt(c->h, CURLOPT_TIMEOUT_MS, total_ms);
    curl_easy_setopt(c->h, CURLOPT_FOLLOWLOCATION, 0L);
    curl_easy_setopt(c->h, CURLOPT_TCP_KEEPALIVE, 1L);
    curl_easy_setopt(c->h, CURLOPT_USERAGENT, "xwdeploy/0.1");
    curl_easy_setopt(c->h, CURLOPT_WRITEFUNCTION, write_cb);
    curl_easy_setopt(c->h, CURLOPT_WRITEDATA, &sink);
    curl_easy_setopt(c->h, CURLOPT_MAXFILESIZE_LARGE, (curl_off_t)max_body);

    if (req->body_len || strcmp(method, "POST") == 0) {
        curl_easy_setopt(c->h, CURLOPT_POSTFIELDSIZE_LARGE,
                         (curl_off_t)req->body_len);
        curl_easy_setopt(c->h, CURLOPT_POSTFIELDS,
                         req->body_len ? (const char *)req->body : "");
        if (strcmp(method, "POST") != 0)
            curl_easy_setopt(c->h, CURLOPT_CUSTOMREQUEST, method);
    } else if (strcmp(method, "HEAD") == 0) {
        curl_easy_setopt(c->h, CURLOPT_NOBODY, 1L);
    } else if (strcmp(method, "GET") != 0) {
        curl_easy_setopt(c->h, CURLOPT_CUSTOMREQUEST, method);
    }

    /* "Expect:" turns off 100-continue: no extra round trip for bodies. */
    for (h = req->headers; h && *h; h++) {
        if (!(tmp = curl_slist_append(hdrs, *h)))
            goto oom;
        hdrs = tmp;
    }
    if (!(tmp = curl_slist_append(hdrs, "Expect:")))
        goto oom;
    hdrs = tmp;
    curl_easy_setopt(c->h, CURLOPT_HTTPHEADER, hdrs);

    rc = curl_easy_perform(c->h);
    curl_easy_getinfo(c->h, CURLINFO_RESPONSE_CODE, &resp->status);
    curl_easy_getinfo(c->h, CURLINFO_NUM_CONNECTS, &resp->new_connections);
    classify(resp, req, method, rc, &sink, c->curl_err);
    if (resp->kind == XW_HTTP_ETOOBIG)
        xw_buf_reset(&resp->body);
    ret = resp->kind == XW_HTTP_OK ? 0 : -1;
    goto out;
oom:
    set_fail(resp, req, method, XW_HTTP_EOTHER, 0, "out of memory");
out:
    if (c && c->h)
        curl_easy_setopt(c->h, CURLOPT_HTTPHEADER, NULL);
    curl_slist_free_all(hdrs);
    return ret;
}

/* ---- retries ---------------------------------------------------------- */

static long long now_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static uint64_t rand64(void)
{
    uint64_t v = 0;

    if (getrandom(&v, sizeof v, 0) != (ssize_t)sizeof v)
        v = (uint64_t)now_ms() * 6364136223846793005ULL;
    return v;
}

/* Sleeps ms, in slices, returning early when *stop is set. */
static void nap(long ms, volatile sig_atomic_t *stop)
{
    while (ms > 0 && !(stop && *stop)) {
        long slice = ms > 50 ? 50 : ms;
        struct timespec ts = { 0, slice * 1000000L };

        nanosleep(&ts, NULL);
        ms -= slice;
    }
}

int xw_http_request_retry(xw_http_client *c, const xw_http_req *req,
                          const xw_http_retry *policy, xw_http_resp *resp,
                          int *attempts)
{
    static const xw_http_retry def = { 5, 100, 5000, 30000, NULL };
    xw_http_retry p = policy ? *policy : def;
    xw_http_req r = *req;
    long long start = now_ms();
    long want_timeout = req->timeout_ms > 0 ? req->timeout_ms
                                            : DEF_TIMEOUT_MS;
    int k = 0, rc = -1;

    if (p.max_attempts <= 0)
        p.max_attempts = def.max_attempts;
    if (p.base_delay_ms <= 0)
        p.base_delay_ms = def.base_delay_ms;
    if (p.max_delay_ms <= 0)
        p.max_delay_ms = def.max_delay_ms;
    if (p.max_total_ms <= 0)
        p.max_total_ms = def.max_total_ms;

    for (;;) {
        long left = p.max_total_ms - (long)(now_ms() - start);
        long cap, wait;

        r.timeout_ms = want_timeout < left ? want_timeout : left;
        if (r.timeout_ms < 1)
            r.timeout_ms = 1;
        rc = xw_http_request(c, &r, resp);
        k++;
        if (rc == 0 || !resp->retriable || k >= p.max_attempts ||
            (p.stop && *p.stop))
            break;
        cap = p.base_delay_ms;
        for (int i = 1; i < k && cap < p.max_delay_ms; i++)
            cap *= 2;
        if (cap > p.max_delay_ms)
            cap = p.max_delay_ms;
        wait = (long)(rand64() % (uint64_t)(cap + 1));
        if ((long)(now_ms() - start) + wait >= p.max_total_ms)
            break;
        xw_warn(TAG, "%s; attempt %d/%d, retrying in %ld ms", resp->errstr,
                k, p.max_attempts, wait);
        nap(wait, p.stop);
        if (p.stop && *p.stop)
            break;
    }
    if (attempts)
        *attempts = k;
    return rc;
}

/* ---- webhook signatures ----------------------------------------------- */

static pthread_once_t mac_once = PTHREAD_ONCE_INIT;
static EVP_MAC *hmac_alg;

static void mac_init(void)
{
    hmac_alg = EVP_MAC_fetch(NULL, "HMAC", NULL);
}

/* HMAC-SHA256(secret, ts "." body) into md[32]. */
static int sig_mac(const char *secret, const char *ts, size_t ts_len,
                   const void *body, size_t body_len, unsigned char *md)
{
    EVP_MAC_CTX *ctx = NULL;
    OSSL_PARAM params[2];
    size_t mdlen = 0;
    int rc = -1;

    (void)pthread_once(&mac_once, mac_init);
    if (!hmac_alg || !(ctx = EVP_MAC_CTX_new(hmac_alg)))
        goto out;
    params[0] = OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST,
                                                 (char *)"SHA256", 0);
    params[1] = OSSL_PARAM_construct_end();
    if (EVP_MAC_init(ctx, (const unsigned char *)secret, strlen(secret),
                     params) != 1 ||
        EVP_MAC_update(ctx, (const unsigned char *)ts, ts_len) != 1 ||
        EVP_MAC_update(ctx, (const unsigned char *)".", 1) != 1 ||
        (body_len && EVP_MAC_update(ctx, body, body_len) != 1) ||
        EVP_MAC_final(ctx, md, &mdlen, 32) != 1 || mdlen != 32)
        goto out;
    rc = 0;
out:
    EVP_MAC_CTX_free(ctx);
    return rc;
}

int xw_http_sign(const char *secret, long long ts, const void *body,
                 size_t body_len, char *out, size_t outlen)
{
    static const char digits[] = "0123456789abcdef";
    unsigned char md[32];
    char t[24];
    int n, i, rc = -1;

    if (!secret || !secret[0] || ts < 0 || outlen < XW_HTTP_SIG_MAX)
        goto out;
    n = snprintf(t, sizeof t, "%lld", ts);
    if (sig_mac(secret, t, (size_t)n, body, body_len, md) < 0)
        goto out;
    n = snprintf(out, outlen, "t=%s,v1=", t);
    for (i = 0; i < 32; i++) {
        out[n + 2 * i] = digits[md[i] >> 4];
        out[n + 2 * i + 1] = digits[md[i] & 15];
    }
    out[n + 64] = '\0';
    rc = 0;
out:
    OPENSSL_cleanse(md, sizeof md);
    return rc;
}

int xw_http_ct_equal(const void *a, const void *b, size_t n)
{
    return CRYPTO_memcmp(a, b, n) == 0;
}

static int unhex32(const char *s, size_t n, unsigned char *out)
{
    size_t i;

    if (n != 64)
        return -1;
    for (i = 0; i < 64; i++) {
        int ch = (unsigned char)s[i], v;

        if (ch >= '0' && ch <= '9')
            v = ch - '0';
        else if (ch >= 'a' && ch <= 'f')
            v = ch - 'a' + 10;
        else if (ch >= 'A' && ch <= 'F')
            v = ch - 'A' + 10;
        else
            return -1;
        if (i % 2 == 0)
            out[i / 2] = (unsigned char)(v << 4);
        else
            out[i / 2] |= (unsigned char)v;
    }
    return 0;
}

#define SIG_MAX_V1 8

int xw_http_verify(const char *secret, const char *header, const void *body,
                   size_t body_len, long long now, long tolerance_s,
                   char *errbuf, size_t errlen)
{
    unsigned char got[SIG_MAX_V1][32], want[32];
    const char *p, *t = NULL;
    size_t t_len = 0;
    long long ts = 0;
    int nv1 = 0, i, match = 0, rc = -1;
    char dummy[1];

    if (!errbuf) {
        errbuf = dummy;
        errlen = sizeof dummy;
    }
    if (errlen)
        errbuf[0] = '\0';
    if (!secret || !secret[0]) {
        snprintf(errbuf, errlen, "no secret configured");
        goto out;
    }
    if (!header || strlen(header) > 1024) {
        snprintf(errbuf, errlen, "signature header missing or too long");
        goto out;
    }
    for (p = header; *p;) {
        const char *end = strchr(p, ',');
        size_t len;

        while (*p == ' ')
            p++;
        len = end ? (size_t)(end - p) : strlen(p);
        if (len > 2 && strncmp(p, "t=", 2) == 0) {
            if (t || len - 2 > 18)
                goto malformed;
            t = p + 2;
            t_len = len - 2;
            for (size_t j = 0; j < t_len; j++) {
                if (t[j] < '0' || t[j] > '9')
                    goto malformed;
                ts = ts * 10 + (t[j] - '0');
            }
        } else if (len > 3 && strncmp(p, "v1=", 3) == 0) {
            if (nv1 == SIG_MAX_V1 || unhex32(p + 3, len - 3, got[nv1]) < 0)
                goto malformed;
            nv1++;
        }
        /* other schemes (v0=...) are ignored */
        if (!end)
            break;
        p = end + 1;
    }
    if (!t || !nv1)
        goto malformed;
    if (ts > now + tolerance_s || ts < now - tolerance_s) {
        snprintf(errbuf, errlen, "signature timestamp outside the %ld s "
                 "tolerance", tolerance_s);
        goto out;
    }
    if (sig_mac(secret, t, t_len, body, body_len, want) < 0) {
        snprintf(errbuf, errlen, "HMAC failed");
        goto out;
    }
    for (i = 0; i < nv1; i++)
        match |= xw_http_ct_equal(got[i], want, sizeof want);
    if (!match) {
        snprintf(errbuf, errlen, "signature mismatch");
        goto out;
    }
    rc = 0;
    goto out;
malformed:
    snprintf(errbuf, errlen, "malformed signature header (want "
             "t=<unix seconds>,v1=<64 hex>)");
out:
    OPENSSL_cleanse(want, sizeof want);
    return rc;
}
