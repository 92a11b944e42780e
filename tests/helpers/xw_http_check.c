/*
 * xw_http_check BASE_URL - checks common/xw_http against the loopback peer
 * tests/helpers/http_peer.py (BASE_URL like http://127.0.0.1:PORT).
 * Prints "N passed, N failed". Driven by tests/integration/http_client.sh.
 */
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include "xw_http.h"
#include "xw_log.h"
#include "xw_test.h"

static const char *base;
static xw_http_client *C;
static xw_http_resp resp = XW_HTTP_RESP_INIT;

static const char *u(const char *path)
{
    static char buf[8][512];
    static int i;

    i = (i + 1) % 8;
    snprintf(buf[i], sizeof buf[i], "%s%s", base, path);
    return buf[i];
}

static long long now_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static xw_http_req get(const char *path)
{
    xw_http_req r;

    memset(&r, 0, sizeof r);
    r.url = u(path);
    r.timeout_ms = 5000;
    return r;
}

/* A fast retry policy for tests. */
static xw_http_retry fast(int attempts)
{
    xw_http_retry p;

    memset(&p, 0, sizeof p);
    p.max_attempts = attempts;
    p.base_delay_ms = 10;
    p.max_delay_ms = 40;
    p.max_total_ms = 10000;
    return p;
}

/* Note: uses (and overwrites) the shared resp. */
static long hits(const char *key)
{
    char path[128];
    xw_http_req r;

    snprintf(path, sizeof path, "/hits/%s", key);
    r = get(path);
    if (xw_http_request(C, &r, &resp) < 0)
        return -1;
    return atol(resp.body.data);
}

static void test_ok_and_keepalive(void)
{
    xw_http_req r = get("/ok");

    ASSERT_EQ(xw_http_request(C, &r, &resp), 0);
    ASSERT_EQ(resp.status, 200);
    ASSERT_EQ(resp.kind, XW_HTTP_OK);
    ASSERT_STR_EQ(resp.body.data, "hello");
    ASSERT_STR_EQ(resp.errstr, "");
    ASSERT_EQ(xw_http_request(C, &r, &resp), 0);
    ASSERT_EQ(resp.new_connections, 0);     /* the connection was reused */
    ASSERT_STR_EQ(resp.body.data, "hello"); /* body reset, not appended */
}

static void test_methods_headers_body(void)
{
    static const char *const headers[] = { "X-Test: yes",
                                           "Content-Type: text/plain", NULL };
    xw_http_req r = get("/echo");
    json_t *j;

    r.method = "PUT";
    r.headers = headers;
    r.body = "payload";
    r.body_len = 7;
    ASSERT_EQ(xw_http_request(C, &r, &resp), 0);
    j = json_loads(resp.body.data, 0, NULL);
    ASSERT(j != NULL);
    ASSERT_STR_EQ(json_string_value(json_object_get(j, "method")), "PUT");
    ASSERT_STR_EQ(json_string_value(json_object_get(j, "body")), "payload");
    ASSERT_STR_EQ(json_string_value(json_object_get(j, "x_test")), "yes");
    json_decref(j);

    r.method = NULL;                        /* body given: POST */
    ASSERT_EQ(xw_http_request(C, &r, &resp), 0);
    j = json_loads(resp.body.data, 0, NULL);
    ASSERT(j != NULL);
    ASSERT_STR_EQ(json_string_value(json_object_get(j, "method")), "POST");
    json_decref(j);

    r.method = "DELETE";
    r.body = NULL;
    r.body_len = 0;
    ASSERT_EQ(xw_http_request(C, &r, &resp), 0);
    j = json_loads(resp.body.data, 0, NULL);
    ASSERT(j != NULL);
    ASSERT_STR_EQ(json_string_value(json_object_get(j, "method")), "DELETE");
    ASSERT_STR_EQ(json_string_value(json_object_get(j, "body")), "");
    json_decref(j);
}

/* A port nothing listens on. */
static int dead_port(void)
{
    struct sockaddr_in a;
    socklen_t len = sizeof a;
    int fd = socket(AF_INET, SOCK_STREAM, 0), port;

    memset(&a, 0, sizeof a);
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (fd < 0 || bind(fd, (struct sockaddr *)&a, sizeof a) < 0 ||
        getsockname(fd, (struct sockaddr *)&a, &len) < 0)
        return 1;
    port = ntohs(a.sin_port);
    close(fd);
    return port;
}

static void test_connection_refused_retriable(void)
{
    char url[64];
    xw_http_req r;
    xw_http_retry p = fast(3);
    int attempts = 0;

    memset(&r, 0, sizeof r);
    snprintf(url, sizeof url, "http://127.0.0.1:%d/x", dead_port());
    r.url = url;
    ASSERT_EQ(xw_http_request(C, &r, &resp), -1);
    ASSERT_EQ(resp.kind, XW_HTTP_ECONNECT);
    ASSERT_EQ(resp.retriable, 1);
    ASSERT_EQ(resp.status, 0);
    ASSERT_EQ(xw_http_request_retry(C, &r, &p, &resp, &attempts), -1);
    ASSERT_EQ(attempts, 3);
    ASSERT_EQ(resp.kind, XW_HTTP_ECONNECT);
}

static void test_timeout_retriable(void)
{
    xw_http_req r = get("/sleep/2000");
    xw_http_retry p = fast(2);
    long long t0 = now_ms();
    int attempts = 0;

    r.timeout_ms = 300;
    ASSERT_EQ(xw_http_request(C, &r, &resp), -1);
    ASSERT_EQ(resp.kind, XW_HTTP_ETIMEOUT);
    ASSERT_EQ(resp.retriable, 1);
    ASSERT_LT(now_ms() - t0, 1500);
    ASSERT_EQ(xw_http_request_retry(C, &r, &p, &resp, &attempts), -1);
    ASSERT_EQ(attempts, 2);
    ASSERT_EQ(resp.kind, XW_HTTP_ETIMEOUT);
    /* the client is still fine afterwards */
    r = get("/ok");
    ASSERT_EQ(xw_http_request(C, &r, &resp), 0);
}

static void test_500_then_200_retried(void)
{
    xw_http_req r = get("/flaky/k500/1/500");
    xw_http_retry p = fast(5);
    int attempts = 0;

    ASSERT_EQ(xw_http_request_retry(C, &r, &p, &resp, &attempts), 0);
    ASSERT_EQ(attempts, 2);
    ASSERT_EQ(resp.status, 200);
    ASSERT_STR_EQ(resp.body.data, "recovered");
    ASSERT_EQ(hits("k500"), 2);

    r = get("/flaky/k503/2/503");
    ASSERT_EQ(xw_http_request_retry(C, &r, &p, &resp, &attempts), 0);
    ASSERT_EQ(attempts, 3);
    ASSERT_EQ(hits("k503"), 3);
}

static void test_4xx_not_retried(void)
{
    xw_http_req r = get("/flaky/k400/5/400");
    xw_http_retry p = fast(5);
    int attempts = 0;

    ASSERT_EQ(xw_http_request_retry(C, &r, &p, &resp, &attempts), -1);
    ASSERT_EQ(attempts, 1);
    ASSERT_EQ(resp.status, 400);
    ASSERT_EQ(resp.kind, XW_HTTP_ESTATUS);
    ASSERT_EQ(resp.retriable, 0);
    ASSERT_STR_EQ(resp.body.data, "failing");   /* error body kept */
    ASSERT(strstr(resp.errstr, "HTTP 400") != NULL);
    ASSERT_EQ(hits("k400"), 1);

    r = get("/flaky/k404/5/404");
    ASSERT_EQ(xw_http_request_retry(C, &r, &p, &resp, &attempts), -1);
    ASSERT_EQ(attempts, 1);

    /* 429 Too Many Requests is the exception: retried */
    r = get("/flaky/k429/1/429");
    ASSERT_EQ(xw_http_request_retry(C, &r, &p, &resp, &attempts), 0);
    ASSERT_EQ(attempts, 2);
}

static void test_max_attempts_and_budget(void)
{
    xw_http_req r = get("/flaky/kmax/10/500");
    xw_http_retry p = fast(3);
    volatile sig_atomic_t stop = 1;
    long long t0;
    int attempts = 0;

    ASSERT_EQ(xw_http_request_retry(C, &r, &p, &resp, &attempts), -1);
    ASSERT_EQ(attempts, 3);
    ASSERT_EQ(resp.status, 500);
    ASSERT_EQ(resp.retriable, 1);
    ASSERT_EQ(hits("kmax"), 3);

    /* total time budget: many attempts allowed, 600 ms in all */
    r = get("/status/503");
    p = fast(1000);
    p.base_delay_ms = 50;
    p.max_delay_ms = 100;
    p.max_total_ms = 600;
    t0 = now_ms();
    ASSERT_EQ(xw_http_request_retry(C, &r, &p, &resp, &attempts), -1);
    ASSERT_LT(now_ms() - t0, 1000);
    ASSERT_GE(attempts, 2);
    ASSERT_LT(attempts, 1000);

    /* the budget also cuts a slow attempt short */
    r = get("/sleep/3000");
    p.max_total_ms = 400;
    t0 = now_ms();
    ASSERT_EQ(xw_http_request_retry(C, &r, &p, &resp, &attempts), -1);
    ASSERT_EQ(resp.kind, XW_HTTP_ETIMEOUT);
    ASSERT_LT(now_ms() - t0, 1200);

    /* a stop flag ends it after the current attempt */
    r = get("/status/503");
    p = fast(10);
    p.stop = &stop;
    ASSERT_EQ(xw_http_request_retry(C, &r, &p, &resp, &attempts), -1);
    ASSERT_EQ(attempts, 1);
}

static void test_body_cap(void)
{
    xw_http_req r = get("/big/100000");

    r.max_body = 1000;
    ASSERT_EQ(xw_http_request(C, &r, &resp), -1);
    ASSERT_EQ(resp.kind, XW_HTTP_ETOOBIG);
    ASSERT_EQ(resp.retriable, 0);
    ASSERT_EQ(resp.body.len, 0);

    r = get("/chunked/100000");            /* no Content-Length */
    r.max_body = 1000;
    ASSERT_EQ(xw_http_request(C, &r, &resp), -1);
    ASSERT_EQ(resp.kind, XW_HTTP_ETOOBIG);
    ASSERT_EQ(resp.body.len, 0);

    r = get("/big/1000");                  /* exactly at the cap */
    r.max_body = 1000;
    ASSERT_EQ(xw_http_request(C, &r, &resp), 0);
    ASSERT_EQ(resp.body.len, 1000);

    r = get("/chunked/5000");
    r.max_body = 5000;
    ASSERT_EQ(xw_http_request(C, &r, &resp), 0);
    ASSERT_EQ(resp.body.len, 5000);

    r = get("/ok");                        /* and the client still works */
    ASSERT_EQ(xw_http_request(C, &r, &resp), 0);
}

static void test_redirect_and_scheme_refused(void)
{
    xw_http_req r = get("/redirect");
    xw_http_retry p = fast(3);
    int attempts = 0;

    ASSERT_EQ(xw_http_request_retry(C, &r, &p, &resp, &attempts), -1);
    ASSERT_EQ(attempts, 1);
    ASSERT_EQ(resp.status, 302);
    ASSERT_EQ(resp.kind, XW_HTTP_ESTATUS);
    ASSERT_EQ(resp.retriable, 0);

    memset(&r, 0, sizeof r);
    r.url = "file:///etc/passwd";
    ASSERT_EQ(xw_http_request(C, &r, &resp), -1);
    ASSERT_EQ(resp.kind, XW_HTTP_EOTHER);
    ASSERT_EQ(resp.retriable, 0);
    ASSERT_EQ(resp.body.len, 0);

    r.url = "not a url";
    ASSERT_EQ(xw_http_request(C, &r, &resp), -1);
    ASSERT_EQ(resp.retriable, 0);
}

/* Messages name scheme://host:port only: no credentials, no path (chat
 * webhooks carry their secret in it), no query. */
static void test_errstr_redacts_url(void)
{
    char url[512];
    xw_http_req r;

    memset(&r, 0, sizeof r);
    snprintf(url, sizeof url, "http://admin:hunter2@%s/status/500?token=tok3n",
             base + strlen("http://"));
    r.url = url;
    ASSERT_EQ(xw_http_request(C, &r, &resp), -1);
    ASSERT_EQ(resp.status, 500);
    ASSERT(strstr(resp.errstr, base) != NULL);
    ASSERT(strstr(resp.errstr, "/status") == NULL);
    ASSERT(strstr(resp.errstr, "hunter2") == NULL);
    ASSERT(strstr(resp.errstr, "admin") == NULL);
    ASSERT(strstr(resp.errstr, "tok3n") == NULL);
}

/* Our signature verified by an independent implementation (Python hmac). */
static void test_webhook_signature_verified_by_peer(void)
{
    const char *body = "{\"event\":\"package_finished\",\"id\":\"e-9\"}";
    char sig[XW_HTTP_SIG_MAX], hdr[160];
    const char *headers[2] = { hdr, NULL };
    xw_http_req r = get("/webhook");

    ASSERT_EQ(xw_http_sign("whsec_peer", (long long)time(NULL), body,
                           strlen(body), sig, sizeof sig), 0);
    snprintf(hdr, sizeof hdr, "X-Xw-Signature: %s", sig);
    r.method = "POST";
    r.headers = headers;
    r.body = body;
    r.body_len = strlen(body);
    ASSERT_EQ(xw_http_request(C, &r, &resp), 0);
    ASSERT_STR_EQ(resp.body.data, "ok");

    r.body_len--;                           /* tampered */
    ASSERT_EQ(xw_http_request(C, &r, &resp), -1);
    ASSERT_EQ(resp.status, 401);
}

int main(int argc, char **argv)
{
    char err[256];
    int rc;

    if (argc != 2) {
        fprintf(stderr, "usage: xw_http_check http://127.0.0.1:PORT\n");
        return 2;
    }
    base = argv[1];
    xw_log_init("xw_http_check", XW_ERROR);
    if (xw_http_global_init() < 0 || !(C = xw_http_client_new(err, sizeof err))) {
        fprintf(stderr, "client: %s\n", err);
        return 2;
    }
    XW_RUN(test_ok_and_keepalive);
    XW_RUN(test_methods_headers_body);
    XW_RUN(test_connection_refused_retriable);
    XW_RUN(test_timeout_retriable);
    XW_RUN(test_500_then_200_retried);
    XW_RUN(test_4xx_not_retried);
    XW_RUN(test_max_attempts_and_budget);
    XW_RUN(test_body_cap);
    XW_RUN(test_redirect_and_scheme_refused);
    XW_RUN(test_errstr_redacts_url);
    XW_RUN(test_webhook_signature_verified_by_peer);
    xw_http_resp_release(&resp);
    xw_http_client_free(C);
    rc = XW_REPORT();
    return rc;
}
