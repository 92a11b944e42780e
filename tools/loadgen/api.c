/*
 * api.c - the API calls of the load generator and the five steps of one
 * package.
 *
 * The users and their roles are those of scripts/demo-data: root registers
 * workspaces (XW_SYSTEM_ADMINS), alice administers both workspaces (the
 * environment), olga is O&M in both (production, deploy), dave develops in
 * the source (packages), vic is a visitor of the source (reads results).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "loadgen.h"
#include "xw_buf.h"
#include "xw_id.h"

#define CALL_TIMEOUT_MS 120000L
#define MAX_RESPONSE (512u << 20)   /* a 10,000-object package is ~5 MB */
#define WAIT_REQUEST_S 300

static const char *const USER_ADMIN = "root";
static const char *const USER_ENV = "alice";
static const char *const USER_OM = "olga";
static const char *const USER_DEV = "dave";
static const char *const USER_VIEW = "vic";

int64_t lg_now_ns(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

void lg_sleep_ns(int64_t ns)
{
    struct timespec ts;

    if (ns <= 0)
        return;
    ts.tv_sec = (time_t)(ns / 1000000000LL);
    ts.tv_nsec = (long)(ns % 1000000000LL);
    while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
        ;
}

const char *lg_token(const struct lg_config *cfg, const char *user)
{
    for (size_t i = 0; i < cfg->nusers; i++)
        if (strcmp(cfg->users[i].name, user) == 0)
            return cfg->users[i].token;
    return NULL;
}

int lg_client_init(struct lg_client *c, const struct lg_config *cfg)
{
    char err[256];

    memset(c, 0, sizeof *c);
    c->cfg = cfg;
    xw_http_resp_init(&c->resp);
    xw_buf_init(&c->body, 0);
    c->http = xw_http_client_new(err, sizeof err);
    if (!c->http) {
        fprintf(stderr, "xw-loadgen: http client: %s\n", err);
        return -1;
    }
    return 0;
}

void lg_client_release(struct lg_client *c)
{
    xw_http_client_free(c->http);
    c->http = NULL;
    xw_http_resp_release(&c->resp);
    xw_buf_release(&c->body);
}

long lg_call(struct lg_client *c, const char *user, const char *method,
             const char *path, const char *body, size_t body_len,
             json_t **out)
{
    char url[1024], auth[320];
    const char *headers[4];
    const char *token = lg_token(c->cfg, user);
    xw_http_req req;

    if (out)
        *out = NULL;
    if (!token) {
        fprintf(stderr, "xw-loadgen: no token for user %s (XW_TOKENS)\n",
                user);
        return 0;
    }
    snprintf(url, sizeof url, "%s%s", c->cfg->api, path);
    snprintf(auth, sizeof auth, "Authorization: Bearer %s", token);
    headers[0] = auth;
    headers[1] = "Accept: application/json";
    headers[2] = body ? "Content-Type: application/json" : NULL;
    headers[3] = NULL;
    memset(&req, 0, sizeof req);
    req.method = method;
    req.url = url;
    req.headers = headers;
    req.body = body;
    req.body_len = body_len;
    req.timeout_ms = CALL_TIMEOUT_MS;
    req.max_body = MAX_RESPONSE;
    c->requests++;
    xw_http_request(c->http, &req, &c->resp);
    if (c->resp.status == 0) {
        fprintf(stderr, "xw-loadgen: %s %s: %s\n", method, path,
                c->resp.errstr);
        return 0;
    }
    if (out && c->resp.body.len)
        *out = json_loadb(c->resp.body.data, c->resp.body.len, 0, NULL);
    return c->resp.status;
}

/* Prints an unexpected answer (status and the start of the body). */
static void say_unexpected(struct lg_client *c, const char *what, long st)
{
    fprintf(stderr, "xw-loadgen: %s: HTTP %ld: %.300s\n", what, st,
            c->resp.body.len ? c->resp.body.data : "");
}

int lg_wait_request(struct lg_client *c, const char *user,
                    const json_t *accepted, const char *what)
{
    const char *id = json_string_value(json_object_get(accepted,
                                                       "request_id"));
    char path[256];
    int64_t deadline = lg_now_ns() + (int64_t)WAIT_REQUEST_S * 1000000000LL;
    int rc = -1;

    if (!id) {
        fprintf(stderr, "xw-loadgen: %s: no request_id in the answer\n", what);
        return -1;
    }
    snprintf(path, sizeof path, "/v1/requests/%s?wait_ms=5000", id);
    while (lg_now_ns() < deadline) {
        json_t *r = NULL;
        long st = lg_call(c, user, "GET", path, NULL, 0, &r);
        const char *status = json_string_value(json_object_get(r, "status"));

        if (st != 200 || !status) {
            say_unexpected(c, what, st);
            json_decref(r);
            break;
        }
        if (strcmp(status, "pending") != 0) {
            if (strcmp(status, "done") == 0)
                rc = 0;
            else
                fprintf(stderr, "xw-loadgen: %s: %s: %.300s\n", what, status,
                        c->resp.body.data);
            json_decref(r);
            return rc;
        }
        json_decref(r);
    }
    if (lg_now_ns() >= deadline)
        fprintf(stderr, "xw-loadgen: %s: still pending after %d s\n", what,
                WAIT_REQUEST_S);
    return -1;
}

/* A write that must be accepted (202) and then applied. 0 / -1. On 0,
 * *accepted (may be NULL) gets the 202 answer (NEW reference). */
static int write_applied(struct lg_client *c, const char *user,
                         const char *method, const char *path,
                         const char *body, size_t len, const char *what,
                         json_t **accepted)
{
    json_t *a = NULL;
    long st = lg_call(c, user, method, path, body, len, &a);
    int rc = -1;

    if (accepted)
        *accepted = NULL;
    if (st != 202) {
        say_unexpected(c, what, st);
        goto out;
    }
    if (lg_wait_request(c, user, a, what) < 0)
        goto out;
    rc = 0;
    if (accepted) {
        *accepted = a;
        a = NULL;
    }
out:
    json_decref(a);
    return rc;
}

int lg_setup(struct lg_client *c, const json_t *ws_src, const json_t *ws_dst,
             const json_t *env)
{
    const json_t *ws[2] = { ws_src, ws_dst };
    char path[256], *body = NULL;
    int rc = -1;

    for (int i = 0; i < 2; i++) {
        snprintf(path, sizeof path, "/v1/workspaces/%s",
                 json_string_value(json_object_get(ws[i], "id")));
        body = json_dumps(ws[i], JSON_COMPACT);
        if (!body || write_applied(c, USER_ADMIN, "PUT", path, body,
                                   strlen(body), "register workspace",
                                   NULL) < 0)
            goto out;
        free(body);
        body = NULL;
    }
    body = json_dumps(env, JSON_COMPACT);
    if (!body)
        goto out;
    snprintf(path, sizeof path, "/v1/workspaces/%s/environments",
             c->cfg->src_ws);
    if (write_applied(c, USER_ENV, "POST", path, body, strlen(body),
                      "create environment", NULL) < 0) {
        /* A stack that ran the benchmark before has it: update it. */
        fprintf(stderr, "xw-loadgen: updating the environment instead\n");
        snprintf(path, sizeof path, "/v1/workspaces/%s/environments/%s",
                 c->cfg->src_ws, c->cfg->env);
        if (write_applied(c, USER_ENV, "PUT", path, body, strlen(body),
                          "update environment", NULL) < 0)
            goto out;
    }
    rc = 0;
out:
    free(body);
    return rc;
}

/* The end of the JSON array that starts at p ('['): the byte after its
 * closing ']', or NULL if it does not close before end. */
static const char *skip_array(const char *p, const char *end)
{
    int depth = 0, in_str = 0;

    for (; p < end; p++) {
        if (in_str) {
            if (*p == '\\')
                p++;
            else if (*p == '"')
                in_str = 0;
        } else if (*p == '"') {
            in_str = 1;
        } else if (*p == '[' || *p == '{') {
            depth++;
        } else if ((*p == ']' || *p == '}') && --depth == 0) {
            return p + 1;
        }
    }
    return NULL;
}

/* The summary of a GET /v1/packages/{id} answer without decoding its
 * object list (~500 bytes per object): the "objects" array is cut out
 * before decoding. Falls back to decoding everything. NEW reference or
 * NULL. */
static json_t *package_head(const xw_buf *b)
{
    static const char marker[] = "\"objects\":[";
    const char *end = b->data + b->len;
    const char *p = memmem(b->data, b->len, marker, sizeof marker - 1);
    const char *q = p ? skip_array(p + sizeof marker - 2, end) : NULL;
    json_t *j = NULL;

    if (q) {
        size_t n1 = (size_t)(p - b->data) + sizeof marker - 2;
        size_t n2 = (size_t)(end - q);
        char *head = malloc(n1 + 2 + n2 + 1);

        if (head) {
            memcpy(head, b->data, n1);
            memcpy(head + n1, "[]", 2);
            memcpy(head + n1 + 2, q, n2);
            head[n1 + 2 + n2] = '\0';
            j = json_loadb(head, n1 + 2 + n2, 0, NULL);
            free(head);
        }
    }
    if (!j)
        j = json_loadb(b->data, b->len, 0, NULL);
    return j;
}

/* Says why the first failed object of a package failed (full decode; only
 * on failure). */
static void say_first_failure(const xw_buf *b, const char *pkg)
{
    json_t *j = json_loadb(b->data, b->len, 0, NULL), *o;
    size_t i;

    json_array_foreach(json_object_get(j, "objects"), i, o) {
        const char *outcome = json_string_value(json_object_get(o, "outcome"));

        if (outcome && strcmp(outcome, "failed") == 0) {
            fprintf(stderr, "xw-loadgen: package %s: object %s failed: %s: "
                    "%s\n", pkg, json_string_value(json_object_get(o, "id")),
                    json_string_value(json_object_get(o, "reason_code")),
                    json_string_value(json_object_get(o, "reason")));
            break;
        }
    }
    json_decref(j);
}

/* The shortest wait between two polls of a package: the resolution of
 * the latency figures (a final status is seen on average half of it
 * late). Bigger packages cost the API more per poll (the answer lists
 * every object), so they are polled less often. */
static long poll_interval_ms(const struct lg_config *cfg, size_t size)
{
    long ms;

    if (cfg->poll_ms > 0)
        return cfg->poll_ms;
    ms = 20 + (long)(size / 100);
    return ms > 200 ? 200 : ms;
}

/* The wait before the next poll of a package: while objects progress,
 * half the predicted rest (at most 1 s); else the base interval. */
static int64_t next_poll_ns(const struct lg_pkg *p, const json_t *h,
                            long base_ms)
{
    int64_t wait = base_ms * 1000000LL, now = lg_now_ns();
    double total = (double)json_integer_value(json_object_get(h, "total"));
    double done = (double)(json_integer_value(json_object_get(h, "deployed"))
                           + json_integer_value(json_object_get(h, "failed"))
                           + json_integer_value(json_object_get(h,
                                                                "excluded")));

    if (done > 0 && total > done) {
        double rest = (total - done) * (double)(now - p->t_deploy) / done;

        if ((int64_t)(rest / 2) > wait)
            wait = (int64_t)(rest / 2);
    }
    return wait > 1000000000LL ? 1000000000LL : wait;
}

/* Records a final status seen by a poll; 1 if status is final, else 0. */
static int take_final(struct lg_pkg *p, const char *status)
{
    if (!status || (strcmp(status, "succeeded") != 0
                    && strcmp(status, "failed") != 0))
        return 0;
    p->t_final = lg_now_ns();
    p->done = 1;
    snprintf(p->status, sizeof p->status, "%s", status);
    return 1;
}

/* Step 5 without a watcher: polls GET /v1/packages/{id} until final.
 * --poll-packages 1: the full answer, every poll_interval_ms (what a
 * client without the long-poll had to do); 2: the summary form held by
 * the server until the package is final (?objects=false&wait_ms=), one
 * call per LONG_POLL_MS in the worst case and the final status seen as
 * soon as the reporter writes it. 0 / -1. */
#define LONG_POLL_MS 30000
static int poll_until_final(struct lg_client *c, struct lg_pkg *p,
                            size_t size, int64_t deadline)
{
    int longpoll = c->cfg->poll_packages == 2;
    long poll_ms = poll_interval_ms(c->cfg, size);
    int64_t wait = longpoll ? 0 : next_poll_ns(p, NULL, poll_ms);
    char path[200];

    if (longpoll)
        snprintf(path, sizeof path, "/v1/packages/%s?objects=false"
                 "&wait_ms=%d", p->id, LONG_POLL_MS);
    else
        snprintf(path, sizeof path, "/v1/packages/%s", p->id);
    for (;;) {
        json_t *h;
        int fin;
        long st;

        lg_sleep_ns(wait);
        c->polls++;
        st = lg_call(c, USER_VIEW, "GET", path, NULL, 0, NULL);
        if (st != 200) {
            say_unexpected(c, "package status", st);
            return -1;
        }
        h = package_head(&c->resp.body);
        fin = take_final(p, json_string_value(json_object_get(h, "status")));
        if (!fin && !longpoll)
            wait = next_poll_ns(p, h, poll_ms);
        json_decref(h);
        if (fin)
            return 0;
        if (lg_now_ns() > deadline)
            return -1;
    }
}

int lg_run_package(struct lg_client *c, size_t phase, size_t index,
                   size_t size, struct lg_pkg *p)
{
    const struct lg_config *cfg = c->cfg;
    xw_buf *b = &c->body;
    json_t *a = NULL;
    char path[256], prefix[48];
    const char *pkg, *status;
    json_t *h;
    long st;
    int64_t deadline;
    int rc = -1;

    snprintf(prefix, sizeof prefix, "b%zu-%05zu", phase, index);
    /* Step 2: the objects, with this run's version. */
    p->t_submit = lg_now_ns();
    xw_buf_reset(b);
    if (xw_buf_adds(b, "{\"objects\":[") < 0)
        goto oom;
    for (size_t i = 0; i < size; i++)
        if (xw_buf_addf(b, "%s{\"id\":\"%s-%05zu\",\"name\":\"node_%s_%05zu\","
                        "\"version\":%lld,%s", i ? "," : "", prefix, i,
                        prefix, i, cfg->version, cfg->object_rest) < 0)
            goto oom;
    if (xw_buf_adds(b, "]}") < 0)
        goto oom;
    snprintf(path, sizeof path, "/v1/workspaces/%s/production", cfg->src_ws);
    if (write_applied(c, USER_OM, "POST", path, b->data, b->len,
                      "submit objects", NULL) < 0)
        goto out;
    /* Step 3: a package of exactly these objects. */
    xw_buf_reset(b);
    if (xw_buf_addf(b, "{\"environment\":\"%s\",\"object_ids\":[",
                    cfg->env) < 0)
        goto oom;
    for (size_t i = 0; i < size; i++)
        if (xw_buf_addf(b, "%s\"%s-%05zu\"", i ? "," : "", prefix, i) < 0)
            goto oom;
    if (xw_buf_adds(b, "]}") < 0)
        goto oom;
    snprintf(path, sizeof path, "/v1/workspaces/%s/packages", cfg->src_ws);
    p->created_wall_ms = xw_now_ms();
    if (write_applied(c, USER_DEV, "POST", path, b->data, b->len,
                      "create package", &a) < 0)
        goto out;
    pkg = json_string_value(json_object_get(a, "package_id"));
    if (!pkg || strlen(pkg) >= sizeof p->id) {
        fprintf(stderr, "xw-loadgen: create package: no package_id\n");
        goto out;
    }
    snprintf(p->id, sizeof p->id, "%s", pkg);
    p->t_created = lg_now_ns();
    /* Step 4: deploy. */
    snprintf(path, sizeof path, "/v1/packages/%s/deploy", p->id);
    p->t_deploy = lg_now_ns();
    st = lg_call(c, USER_OM, "POST", path, "{}", 2, NULL);
    if (st != 202) {
        say_unexpected(c, "deploy", st);
        goto out;
    }
    /* Step 5: until the package is final, then its result once. */
    deadline = lg_now_ns() + (60000LL + (long long)size * 10) * 1000000LL;
    if (c->watch ? lg_watch_wait(c->watch, p, deadline)
                 : poll_until_final(c, p, size, deadline)) {
        if (!p->done)
            fprintf(stderr, "xw-loadgen: package %s not final after %lld s\n",
                    p->id, (long long)(60 + (long long)size / 100));
        goto out;
    }
    snprintf(path, sizeof path, "/v1/packages/%s", p->id);
    c->gets++;
    st = lg_call(c, USER_VIEW, "GET", path, NULL, 0, NULL);
    if (st != 200) {
        say_unexpected(c, "package result", st);
        goto out;
    }
    h = package_head(&c->resp.body);
    status = json_string_value(json_object_get(h, "status"));
    p->deployed = (long)json_integer_value(json_object_get(h, "deployed"));
    p->failed = (long)json_integer_value(json_object_get(h, "failed"));
    p->ok = status && strcmp(status, "succeeded") == 0
            && p->deployed == (long)size;
    if (!p->ok) {
        fprintf(stderr, "xw-loadgen: package %s: %s, %ld deployed, %ld "
                "failed of %zu\n", p->id, status ? status : "?", p->deployed,
                p->failed, size);
        say_first_failure(&c->resp.body, p->id);
    }
    json_decref(h);
    rc = 0;
    goto out;
oom:
    fprintf(stderr, "xw-loadgen: out of memory\n");
out:
    json_decref(a);
    return rc;
}
