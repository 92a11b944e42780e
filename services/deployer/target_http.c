#include "target.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "xw_http.h"
#include "xw_log.h"
#include "xw_metrics.h"

XW_COUNTER(m_http_delivered, "xw_deployer_http_delivered_total",
           "objects the HTTP target accepted (2xx)");
XW_COUNTER(m_http_rejected, "xw_deployer_http_rejected_total",
           "objects the HTTP target refused (4xx)");
XW_COUNTER(m_http_unavailable, "xw_deployer_http_unavailable_total",
           "objects not delivered after every retry (5xx, timeout, refused)");
XW_COUNTER(m_http_attempts, "xw_deployer_http_attempts_total",
           "HTTP requests made to the target, retries included");

void dp_target_register_metrics(void)
{
    xw_metrics_register(&m_http_delivered);
    xw_metrics_register(&m_http_rejected);
    xw_metrics_register(&m_http_unavailable);
    xw_metrics_register(&m_http_attempts);
}

#define EXCERPT_MAX 200  /* bytes of a refusal's body kept in the reason */

struct http_target {
    dp_target base;          /* first: the interface */
    xw_http_client *client;
    const char *url;         /* borrowed from the configuration */
    long timeout_ms;
    xw_http_retry retry;
    xw_http_resp resp;       /* reused */
    char idem[XW_ID_MAX * 2 + 64];
};

/* The start of a body as one printable line (no control bytes, so a
 * hostile peer cannot forge log lines or break the reason's JSON). */
static void excerpt(const xw_buf *b, char *out, size_t len)
{
    size_t i, n = b->len < EXCERPT_MAX ? b->len : EXCERPT_MAX;

    if (len == 0)
        return;
    if (n >= len)
        n = len - 1;
    for (i = 0; i < n; i++) {
        unsigned char c = (unsigned char)b->data[i];

        out[i] = c >= 0x20 && c < 0x7f ? (char)c : ' ';
    }
    out[i] = '\0';
}

/* What went wrong, without the URL: its path may carry a credential (a
 * webhook-style token), and this text ends up in results and logs. */
static const char *failure(const xw_http_resp *r, char *buf, size_t len)
{
    switch (r->kind) {
    case XW_HTTP_ESTATUS:
        snprintf(buf, len, "HTTP %ld", r->status);
        return buf;
    case XW_HTTP_ETIMEOUT:
        return "timed out";
    case XW_HTTP_ECONNECT:
        return "could not connect";
    case XW_HTTP_ENETWORK:
        return "connection broken";
    case XW_HTTP_ETOOBIG:
        return "answer too large";
    default:
        return "request failed";
    }
}

static enum dp_delivery http_deliver(dp_target *t, struct dp_item *it,
                                     const char *body, size_t len)
{
    struct http_target *h = (struct http_target *)t;
    const char *headers[] = { "Content-Type: application/json", h->idem,
                              NULL };
    xw_http_req req = {
        .method = "POST",
        .url = h->url,
        .headers = headers,
        .body = body,
        .body_len = len,
        .timeout_ms = h->timeout_ms,
    };
    char text[EXCERPT_MAX + 1], buf[32];
    const char *what;
    int attempts = 0, rc;

    /* Same key for every delivery of this version to this destination:
     * the peer applies it once however often we repeat it. */
    snprintf(h->idem, sizeof h->idem, "Idempotency-Key: %s:%s:%lld",
             it->dest_ws, it->obj_id, (long long)it->version);
    rc = xw_http_request_retry(h->client, &req, &h->retry, &h->resp,
                               &attempts);
    xw_metrics_add(&m_http_attempts, (uint64_t)attempts);
    if (rc == 0) {
        xw_metrics_add(&m_http_delivered, 1);
        return DP_DELIVERED;
    }
    /* Interrupted by shutdown: not the object's fault; the next owner of
     * the partition delivers it. */
    if (xw_kafka_stop)
        return DP_UNDECIDED;
    if (h->resp.kind == XW_HTTP_ESTATUS && !h->resp.retriable
        && h->resp.status >= 400 && h->resp.status < 500) {
        excerpt(&h->resp.body, text, sizeof text);
        xw_metrics_add(&m_http_rejected, 1);
        dp_item_fail(it, "target_rejected", "the destination refused the "
                     "object: HTTP %ld: %s", h->resp.status, text);
        return DP_REFUSED;
    }
    xw_metrics_add(&m_http_unavailable, 1);
    /* The returned text, not buf: buf is only filled for an HTTP status
     * (a timeout or a refused connection used to put uninitialised bytes
     * into the reason; not UTF-8, the result could not be encoded and the
     * batch was retried for ever: the package never finished). */
    what = failure(&h->resp, buf, sizeof buf);
    xw_warn("HTTP", "%s %s v%lld not delivered after %d attempt(s): %s",
            it->dest_ws, it->obj_id, (long long)it->version, attempts, what);
    dp_item_fail(it, "target_unavailable", "the destination did not accept "
                 "the object after %d attempt(s): %s", attempts, what);
    return DP_REFUSED;
}

static void http_free(dp_target *t)
{
    struct http_target *h = (struct http_target *)t;

    xw_http_client_free(h->client);
    xw_http_resp_release(&h->resp);
    free(h);
}

dp_target *dp_target_http_new(const struct xw_config *cfg, char *err,
                              size_t errlen)
{
    const char *url = xw_config_str(cfg, "XW_DEPLOY_HTTP_URL");
    struct http_target *h;
    long base;

    if (!url || !*url) {
        snprintf(err, errlen, "XW_DEPLOY_TARGET=http needs XW_DEPLOY_HTTP_URL");
        return NULL;
    }
    if (strncmp(url, "http://", 7) != 0 && strncmp(url, "https://", 8) != 0) {
        snprintf(err, errlen, "XW_DEPLOY_HTTP_URL must be http:// or https://");
        return NULL;
    }
    h = calloc(1, sizeof *h);
    if (!h) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    h->base = (dp_target){ "http", http_deliver, http_free, 1 };
    xw_http_resp_init(&h->resp);
    h->client = xw_http_client_new(err, errlen);
    if (!h->client) {
        http_free(&h->base);
        return NULL;
    }
    h->url = url;
    h->timeout_ms = (long)xw_config_int(cfg, "XW_DEPLOY_HTTP_TIMEOUT_MS");
    base = (long)xw_config_int(cfg, "XW_DEPLOY_HTTP_BACKOFF_MS");
    h->retry.max_attempts = (int)xw_config_int(cfg, "XW_DEPLOY_HTTP_RETRIES");
    h->retry.base_delay_ms = base;
    h->retry.max_delay_ms = base * 16;
    /* Room for every attempt and every pause: the attempt count, not the
     * budget, is what the operator set. */
    h->retry.max_total_ms = h->retry.max_attempts
                            * (h->timeout_ms + h->retry.max_delay_ms);
    h->retry.stop = &xw_kafka_stop;
    return &h->base;
}
