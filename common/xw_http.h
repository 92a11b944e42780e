/*
 * xw_http - an HTTP client on libcurl for the CLI, webhooks and the HTTP
 * deploy target, plus webhook signing.
 *
 * Client. One xw_http_client wraps one CURL easy handle. Requests made on
 * the same client reuse its connections (HTTP keep-alive), so keep one
 * client per thread and per peer-ish workload. Not thread-safe: one client
 * per thread. curl_global_init() runs once per process, thread-safely, the
 * first time a client is made (or call xw_http_global_init() early, before
 * threads start, as libcurl recommends).
 *
 * Only http:// and https:// are allowed; redirects are not followed (a
 * 3xx is a non-retriable failure: a webhook or deploy target must not
 * bounce us elsewhere). Nothing here logs a header, a body or URL
 * credentials; log lines carry scheme://host:port/path only.
 *
 * Errors and classification. xw_http_request() returns 0 for a 2xx answer
 * and -1 otherwise; resp->kind and resp->retriable say what happened:
 *
 *   kind               retriable  cause
 *   XW_HTTP_OK             -      2xx
 *   XW_HTTP_ECONNECT      yes     refused, unreachable, DNS failure
 *   XW_HTTP_ETIMEOUT      yes     connect or total timeout
 *   XW_HTTP_ENETWORK      yes     reset, empty reply, send/recv error
 *   XW_HTTP_ESTATUS    5xx, 408, 429: yes; other 4xx and 3xx: no
 *   XW_HTTP_ETOOBIG       no      response body over max_body
 *   XW_HTTP_EOTHER        no      bad URL, TLS verification, out of memory
 *
 * (408 and 429 are 4xx the server asks us to repeat, so they are retried.)
 */
#ifndef XW_HTTP_H
#define XW_HTTP_H

#include <signal.h>
#include <stddef.h>

#include "xw_buf.h"

/* Optional early call (before threads). 0 / -1. Idempotent. */
int xw_http_global_init(void);

typedef struct xw_http_client xw_http_client;

/* NULL on failure with the reason in errbuf (may be NULL). */
xw_http_client *xw_http_client_new(char *errbuf, size_t errlen);
/* Closes its connections. NULL is fine. */
void xw_http_client_free(xw_http_client *c);

typedef struct xw_http_req {
    const char *method;          /* NULL: GET, or POST if body_len > 0 */
    const char *url;
    const char *const *headers;  /* NULL-terminated "Name: value" list
                                    (borrowed, copied per request), or NULL */
    const void *body;            /* borrowed; sent as is */
    size_t body_len;
    long connect_timeout_ms;     /* 0: 2000 */
    long timeout_ms;             /* whole request; 0: 10000 */
    size_t max_body;             /* response body cap; 0: 1 MiB */
} xw_http_req;

enum xw_http_kind {
    XW_HTTP_OK = 0,
    XW_HTTP_ECONNECT,
    XW_HTTP_ETIMEOUT,
    XW_HTTP_ENETWORK,
    XW_HTTP_ESTATUS,
    XW_HTTP_ETOOBIG,
    XW_HTTP_EOTHER,
};

/* Filled by a request. Initialise with XW_HTTP_RESP_INIT (or
 * xw_http_resp_init()), release with xw_http_resp_release(); a response
 * can be reused across requests (the body is reset, its memory kept). */
typedef struct xw_http_resp {
    long status;          /* HTTP status, 0 if no response arrived */
    xw_buf body;          /* the body for any status (error bodies too) */
    enum xw_http_kind kind;
    int retriable;
    long new_connections; /* connections opened (0 = keep-alive reuse) */
    char errstr[256];     /* why it failed; "" on success */
} xw_http_resp;

#define XW_HTTP_RESP_INIT { 0, XW_BUF_INIT, XW_HTTP_OK, 0, 0, "" }
void xw_http_resp_init(xw_http_resp *resp);
void xw_http_resp_release(xw_http_resp *resp);

/* One attempt. 0 on 2xx; -1 otherwise (resp says why). */
int xw_http_request(xw_http_client *c, const xw_http_req *req,
                    xw_http_resp *resp);

/*
 * Retries a request while the failure is retriable, with exponential
 * backoff and full jitter: before attempt k+1 it sleeps a uniform random
 * time in [0, min(max_delay_ms, base_delay_ms * 2^k)]. It stops after
 * max_attempts, when the next sleep would pass max_total_ms since the
 * start (each attempt's timeout is also cut to what is left of that
 * budget), or when *stop becomes non-zero (a signal handler's flag;
 * NULL = none). Only retry requests that are safe to repeat (GET, PUT of a
 * whole object, or a POST carrying an Idempotency-Key the peer honours).
 * Returns like xw_http_request for the last attempt; *attempts (may be
 * NULL) gets the number of attempts made.
 */
typedef struct xw_http_retry {
    int max_attempts;       /* 0: 5 */
    long base_delay_ms;     /* 0: 100 */
    long max_delay_ms;      /* 0: 5000 */
    long max_total_ms;      /* 0: 30000 */
    volatile sig_atomic_t *stop;
} xw_http_retry;

int xw_http_request_retry(xw_http_client *c, const xw_http_req *req,
                          const xw_http_retry *policy, xw_http_resp *resp,
                          int *attempts);

/*
 * Webhook signatures (the Stripe scheme). The signed message is
 * "<ts>.<body>"; the header value is "t=<ts>,v1=<hex HMAC-SHA256>".
 * XW_HTTP_SIG_MAX bytes always suffice for `out`.
 *
 * xw_http_sign: 0, or -1 (out of memory, empty secret, out too small).
 * xw_http_verify: 0 if the header has a t= within tolerance_s of `now`
 * (either side) and a v1= equal to the expected signature (several v1=
 * entries are allowed, for secret rotation; the comparison is
 * CRYPTO_memcmp on the raw 32 bytes, constant time). -1 otherwise, with a
 * reason in errbuf (may be NULL) that never contains the secret.
 */
#define XW_HTTP_SIG_MAX 96
int xw_http_sign(const char *secret, long long ts, const void *body,
                 size_t body_len, char *out, size_t outlen);
int xw_http_verify(const char *secret, const char *header, const void *body,
                   size_t body_len, long long now, long tolerance_s,
                   char *errbuf, size_t errlen);
/* Constant-time equality of two n-byte buffers (CRYPTO_memcmp): 1 equal. */
int xw_http_ct_equal(const void *a, const void *b, size_t n);

#endif
