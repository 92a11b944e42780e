/*
 * client.c - the xwdeploy API as the CLI sees it, on top of xw_http.
 *
 * What this file adds to a plain HTTP call:
 *  - the base URL, "Authorization: Bearer" (the token goes into that header
 *    and nowhere else), JSON content type;
 *  - the invocation's Idempotency-Key on every request that is not a GET.
 *    xw_http retries 5xx, 408, 429 and network failures; because the key
 *    is the same on every attempt, the server applies a retried POST once;
 *  - decoding of the answer (capped at CLI_MAX_RESPONSE, never trusted:
 *    a body that is not JSON is an unavailable server, not a crash);
 *  - the mapping of every failure to one exit code, and its message;
 *  - --wait: polling GET /v1/requests/{id}?wait_ms= and following a
 *    package to its final status.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"
#include "xw_id.h"
#include "xw_json.h"

#define CONNECT_TIMEOUT_MS 5000L
#define CALL_TIMEOUT_MS 60000L      /* one attempt of an ordinary call */
#define RETRY_ATTEMPTS 4
#define RETRY_BASE_MS 250L
#define RETRY_MAX_DELAY_MS 4000L
#define WAIT_MS_MAX 30000L          /* API: wait_ms <= 30000 */
#define POLL_MIN_MS 500L
#define POLL_MAX_MS 2000L
#define APPEAR_GRACE_MS 10000L      /* a just-deployed package may 404 */
#define FOLLOW_PROGRESS_MS 2000L    /* longest hold while showing progress */

void cli_answer_release(struct cli_answer *ans)
{
    xw_http_resp_release(&ans->resp);
    json_decref(ans->json);
    ans->json = NULL;
}

/* Sleeps ms in slices so that Ctrl-C is not kept waiting. */
static void nap(long ms)
{
    while (ms > 0 && !cli_stop) {
        long slice = ms > 100 ? 100 : ms;
        struct timespec ts = { 0, slice * 1000000L };

        nanosleep(&ts, NULL);
        ms -= slice;
    }
}

/* The one place that turns a failed call into an exit code. */
static int exit_for(const xw_http_resp *r)
{
    switch (r->kind) {
    case XW_HTTP_OK:
        return CLI_OK;
    case XW_HTTP_ESTATUS:
        switch (r->status) {
        case 401: case 403:
            return CLI_AUTH;
        case 404:
            return CLI_NOTFOUND;
        case 400: case 405: case 409: case 413: case 415: case 422:
            return CLI_INVALID;
        default:        /* 5xx, 408 and 429 after retries, 3xx */
            return CLI_UNAVAILABLE;
        }
    default:            /* connection, timeout, too big, other */
        return CLI_UNAVAILABLE;
    }
}

static int is_json_text(const xw_buf *b)
{
    json_t *j = json_loadb(b->data, b->len, 0, NULL);
    int ok = j != NULL;

    json_decref(j);
    return ok;
}

int cli_call(struct cli *c, const char *method, const char *path,
             const xw_buf *body, long timeout_ms, unsigned flags,
             struct cli_answer *ans)
{
    xw_buf url = XW_BUF_INIT, auth = XW_BUF_INIT, key = XW_BUF_INIT;
    const char *headers[6];
    size_t nh = 0;
    xw_http_req req;
    xw_http_retry policy;
    xw_json_err jerr;
    int rc = CLI_UNAVAILABLE, quiet = flags & CLI_CALL_SILENT;

    json_decref(ans->json);
    ans->json = NULL;
    memset(&req, 0, sizeof req);
    memset(&policy, 0, sizeof policy);

    if (xw_buf_adds(&url, c->url) < 0 || xw_buf_adds(&url, path) < 0)
        goto oom;
    headers[nh++] = "Accept: application/json";
    if (body)
        headers[nh++] = "Content-Type: application/json";
    if (c->token) {
        if (xw_buf_addf(&auth, "Authorization: Bearer %s", c->token) < 0)
            goto oom;
        headers[nh++] = auth.data;
    }
    if (strcmp(method, "GET") != 0) {
        if (xw_buf_addf(&key, "Idempotency-Key: %s",
                        c->key_override ? c->key_override : c->idem_key) < 0)
            goto oom;
        headers[nh++] = key.data;
    }
    headers[nh] = NULL;

    req.method = method;
    req.url = url.data;
    req.headers = headers;
    req.body = body ? body->data : NULL;
    req.body_len = body ? body->len : 0;
    req.connect_timeout_ms = CONNECT_TIMEOUT_MS;
    req.timeout_ms = timeout_ms > 0 ? timeout_ms : CALL_TIMEOUT_MS;
    req.max_body = CLI_MAX_RESPONSE;
    policy.max_attempts = RETRY_ATTEMPTS;
    policy.base_delay_ms = RETRY_BASE_MS;
    policy.max_delay_ms = RETRY_MAX_DELAY_MS;
    /* Room for every attempt to run to its own timeout. */
    policy.max_total_ms = req.timeout_ms * RETRY_ATTEMPTS + 10000;
    policy.stop = &cli_stop;

    xw_http_request_retry(c->http, &req, &policy, &ans->resp, NULL);
    if (cli_stop) {
        rc = CLI_INTERRUPTED;
        goto out;
    }
    if (ans->resp.kind == XW_HTTP_OK) {
        const xw_buf *b = &ans->resp.body;

        /* 204 and empty 2xx bodies happen (DELETE); treat as {}. */
        ans->json = b->len ? xw_json_parse(b->data, b->len, 0, &jerr)
                           : json_object();
        if (!ans->json) {
            if (!quiet)
                fprintf(stderr, "error: the server answered %ld with "
                        "malformed JSON: %s\n", ans->resp.status,
                        b->len ? jerr.message : "out of memory");
            rc = CLI_UNAVAILABLE;
            goto out;
        }
        rc = CLI_OK;
        goto out;
    }
    rc = exit_for(&ans->resp);
    if (quiet)
        goto out;
    if (ans->resp.kind == XW_HTTP_ESTATUS) {
        if (c->json && is_json_text(&ans->resp.body))
            cli_print_raw(&ans->resp.body);
        cli_print_api_error(ans->resp.status, &ans->resp.body);
        if (ans->resp.status == 401 && !c->token)
            fprintf(stderr, "hint: no token given (--token, XW_TOKEN or "
                    "the config file; see xwdeploy --help)\n");
    } else {
        /* errstr carries method, scheme://host:port/path and the cause;
         * never a header, so never the token. */
        fprintf(stderr, "error: %s\n", ans->resp.errstr);
    }
    goto out;
oom:
    if (!quiet)
        fprintf(stderr, "error: out of memory\n");
out:
    /* The header buffer held the token. */
    if (auth.len)
        memset(auth.data, 0, auth.len);
    xw_buf_release(&auth);
    xw_buf_release(&key);
    xw_buf_release(&url);
    return rc;
}

/* ---- --wait ----------------------------------------------------------- */

static long left_ms(const struct cli *c)
{
    int64_t left = c->deadline_ms - xw_mono_ms();

    return left > 0 ? (long)left : 0;
}

/* Ids from the server go into our URLs as well: check them. */
static const char *server_id(const json_t *j, const char *path)
{
    const char *s = cli_str_at(j, path);

    return s && xw_id_valid(s, strlen(s), 128) ? s : NULL;
}

/* Renders the error a rejected request carries, like an HTTP error. */
static void print_rejected(const struct cli_answer *st)
{
    const json_t *err = cli_json_at(st->json, "error");
    xw_buf body = XW_BUF_INIT;
    json_t *wrap = json_is_object(err) ? json_pack("{sO}", "error", err)
                                       : NULL;

    if (wrap && xw_json_dump(wrap, &body) == 0)
        cli_print_api_error(cli_int_at(err, "status", 0), &body);
    else
        fprintf(stderr, "error: the request was rejected\n");
    json_decref(wrap);
    xw_buf_release(&body);
}

int cli_wait_request(struct cli *c, const char *rid, struct cli_answer *st)
{
    xw_buf path = XW_BUF_INIT;
    const char *s;
    int rc;

    for (;;) {
        long wait = left_ms(c) < WAIT_MS_MAX ? left_ms(c) : WAIT_MS_MAX;
        int64_t t0 = xw_mono_ms();

        xw_buf_reset(&path);
        if (xw_buf_addf(&path, "/v1/requests/%s?wait_ms=%ld", rid, wait) < 0) {
            fprintf(stderr, "error: out of memory\n");
            rc = CLI_UNAVAILABLE;
            goto out;
        }
        if ((rc = cli_call(c, "GET", path.data, NULL, wait + 15000, 0, st)))
            goto out;
        s = cli_str_at(st->json, "status");
        if (s && strcmp(s, "done") == 0) {
            rc = CLI_OK;
            goto out;
        }
        if (s && strcmp(s, "rejected") == 0) {
            if (c->json)
                cli_print_raw(&st->resp.body);
            print_rejected(st);
            rc = CLI_FAILED;
            goto out;
        }
        if (!s || strcmp(s, "pending") != 0) {
            fprintf(stderr, "error: request %s has an unknown status\n", rid);
            rc = CLI_UNAVAILABLE;
            goto out;
        }
        if (left_ms(c) == 0) {
            fprintf(stderr, "error: gave up waiting after %lds; request %s "
                    "is still pending (xwdeploy request %s --wait)\n",
                    c->timeout_s, rid, rid);
            rc = CLI_TIMEOUT;
            goto out;
        }
        /* A server that ignores wait_ms answers at once: do not spin. */
        if (xw_mono_ms() - t0 < POLL_MIN_MS)
            nap(POLL_MIN_MS);
        if (cli_stop) {
            rc = CLI_INTERRUPTED;
            goto out;
        }
    }
out:
    xw_buf_release(&path);
    return rc;
}

int cli_write(struct cli *c, const char *method, const char *path,
              const xw_buf *body, struct cli_answer *accepted,
              struct cli_answer *status)
{
    const char *rid;
    int rc = cli_call(c, method, path, body, 0, 0, accepted);

    if (rc == CLI_UNAVAILABLE && !c->quiet)
        /* We cannot know whether the server applied it. The key can. */
        fprintf(stderr, "hint: to repeat this safely (applied at most "
                "once), run it again with --idempotency-key %s\n",
                c->idem_key);
    if (rc != CLI_OK || !c->wait || !status)
        goto out;
    /* Synchronous answers (a dry run) have nothing to wait for. */
    if (!(rid = server_id(accepted->json, "request_id")))
        goto out;
    rc = cli_wait_request(c, rid, status);
out:
    return rc;
}

void cli_report_write(struct cli *c, const struct cli_answer *accepted,
                      const struct cli_answer *status, const char *what)
{
    int waited = status && status->json;
    const char *rid = server_id(accepted->json, "request_id");
    const char *pkg = server_id(accepted->json, "package_id");

    if (!pkg && waited)
        pkg = server_id(status->json, "result.package_id");
    if (c->json) {
        cli_print_raw(waited ? &status->resp.body : &accepted->resp.body);
        return;
    }
    if (c->quiet) {
        if (pkg || rid)
            puts(pkg ? pkg : rid);
        return;
    }
    if (!rid)
        printf("%s\n", what);
    else if (waited)
        printf("%s: done (request %s)\n", what, rid);
    else
        printf("%s: accepted (request %s; xwdeploy request %s --wait)\n",
               what, rid, rid);
    if (pkg)
        printf("package: %s\n", pkg);
    /* Accepted with warnings (an environment's Data Integration groups). */
    cli_print_findings(stderr, cli_json_at(accepted->json, "findings"), NULL);
}

/* The attempt a package answer describes, -1 if it does not say. */
static long long attempt_of(const json_t *pkg)
{
    const json_t *attempts = cli_json_at(pkg, "attempts");
    long long a = cli_int_at(pkg, "attempt|current_attempt", -1);

    if (a < 0 && json_is_array(attempts))
        a = (long long)json_array_size(attempts);
    else if (a < 0 && json_is_integer(attempts))
        a = (long long)json_integer_value(attempts);
    return a;
}

static int is_final(const json_t *pkg)
{
    const char *s = cli_str_at(pkg, "status");

    return s && (strcmp(s, "succeeded") == 0 || strcmp(s, "failed") == 0);
}

json_t *cli_package_peek(struct cli *c, const char *id)
{
    struct cli_answer ans = CLI_ANSWER_INIT;
    xw_buf path = XW_BUF_INIT;
    json_t *pkg = NULL;

    if (xw_buf_addf(&path, "/v1/packages/%s?objects=false", id) == 0 &&
        cli_call(c, "GET", path.data, NULL, 0, CLI_CALL_SILENT, &ans) == 0)
        pkg = json_incref(ans.json);
    cli_answer_release(&ans);
    xw_buf_release(&path);
    return pkg;
}

/* The follower's next call: the summary form, held by the server until
 * the package's state (status and attempt) differs from `from` (NULL: is
 * final) or `wait_ms` pass. */
static int follow_path(xw_buf *path, const char *id, const json_t *from,
                       long wait_ms)
{
    const char *s = from ? cli_str_at(from, "status") : NULL;
    long long att = from ? attempt_of(from) : -1;

    xw_buf_reset(path);
    if (xw_buf_addf(path, "/v1/packages/%s?objects=false&wait_ms=%ld", id,
                    wait_ms) < 0)
        return -1;
    if (s && xw_buf_addf(path, att >= 0 ? "&changed_from=%s:%lld"
                         : "&changed_from=%s", s, att) < 0)
        return -1;
    return 0;
}

int cli_follow_package(struct cli *c, const char *id, const json_t *before,
                       struct cli_answer *final)
{
    xw_buf path = XW_BUF_INIT;
    int64_t start = xw_mono_ms();
    long interval = POLL_MIN_MS;
    /* After a replay the package still reads "failed" (the last attempt)
     * until the new attempt starts: that state is stale. */
    int stale_possible = before && is_final(before);
    long long before_attempt = before ? attempt_of(before) : -1;
    int ran = 0, rc;
    json_t *last = json_incref((json_t *)before);

    for (;;) {
        long long att;
        int fin, stale, grace = !before &&
                         xw_mono_ms() - start < APPEAR_GRACE_MS;
        /* Progress on stderr wants the counts now and then; quiet, one
         * call per WAIT_MS_MAX is enough. */
        long wait = c->quiet ? WAIT_MS_MAX : FOLLOW_PROGRESS_MS;
        int64_t t0 = xw_mono_ms();

        if (wait > left_ms(c))
            wait = left_ms(c);
        /* Wait for a change from the last state seen: from a final one
         * (stale after a replay) or a running one (its end). */
        if (follow_path(&path, id, last && !is_final(last) ? last
                        : stale_possible && !ran ? last : NULL, wait) < 0) {
            fprintf(stderr, "error: out of memory\n");
            rc = CLI_UNAVAILABLE;
            goto out;
        }
        cli_answer_release(final);
        /* Just after a create --deploy-now the package may not be
         * readable yet: a 404 then means "not yet", briefly. */
        rc = cli_call(c, "GET", path.data, NULL, wait + 15000,
                      grace ? CLI_CALL_SILENT : 0, final);
        if (rc == CLI_NOTFOUND && grace)
            goto next;
        if (rc)
            goto out;
        json_decref(last);
        last = json_incref(final->json);
        att = attempt_of(final->json);
        fin = is_final(final->json);
        stale = fin && stale_possible && !ran &&
                (att < 0 || before_attempt < 0 || att <= before_attempt);
        if (!fin)
            ran = 1;
        if (stale)
            fin = 0;
        else if (!c->quiet)      /* a stale state is not progress */
            cli_progress(id, final->json, fin);
        if (fin) {
            rc = strcmp(cli_str_at(final->json, "status"), "succeeded") == 0
                     ? CLI_OK : CLI_FAILED;
            goto out;
        }
next:
        if (left_ms(c) == 0) {
            if (!c->quiet && final->json)
                cli_progress(id, final->json, 1);
            fprintf(stderr, "error: gave up waiting after %lds; package %s "
                    "is not finished (xwdeploy package show %s --wait)\n",
                    c->timeout_s, id, id);
            rc = CLI_TIMEOUT;
            goto out;
        }
        /* Not held (a 404 during the grace, or a server without the
         * long-poll): pace the calls as the polling used to. */
        if (xw_mono_ms() - t0 < POLL_MIN_MS) {
            nap(interval < left_ms(c) ? interval : left_ms(c));
            if (interval < POLL_MAX_MS)
                interval = interval * 3 / 2;
        }
        if (cli_stop) {
            rc = CLI_INTERRUPTED;
            goto out;
        }
    }
out:
    json_decref(last);
    xw_buf_release(&path);
    return rc;
}

/* ---- requests and bodies ---------------------------------------------- */

int cli_query_add(xw_buf *url, const char *name, const char *value)
{
    static const char hex[] = "0123456789ABCDEF";

    if (!value)
        return 0;
    if (xw_buf_addch(url, strchr(url->data, '?') ? '&' : '?') < 0 ||
        xw_buf_adds(url, name) < 0 || xw_buf_addch(url, '=') < 0)
        return -1;
    for (const unsigned char *p = (const unsigned char *)value; *p; p++) {
        int ok = (*p >= 'A' && *p <= 'Z') || (*p >= 'a' && *p <= 'z') ||
                 (*p >= '0' && *p <= '9') || strchr("-._~", *p);

        if (ok ? xw_buf_addch(url, (char)*p) < 0
               : xw_buf_addf(url, "%%%c%c", hex[*p >> 4], hex[*p & 15]) < 0)
            return -1;
    }
    return 0;
}

int cli_query_filters(xw_buf *url, const struct cli_args *a)
{
    /* Only options the command accepts reach here (main.c checks them
     * against its usage string), so every one given is meant for the
     * query. */
    static const struct { int opt; const char *name; } q[] = {
        { OPT_KIND, "kind" },       { OPT_OWNER, "owner" },
        { OPT_SEARCH, "q" },        { OPT_STATUS, "status" },
        { OPT_CREATOR, "creator" }, { OPT_EXECUTOR, "executor" },
        { OPT_ENV, "environment" }, { OPT_SINCE, "since" },
        { OPT_UNTIL, "until" },     { OPT_OFFSET, "offset" },
        { OPT_LIMIT, "limit" },       { OPT_WORKSPACE, "workspace" },
    };

    char ms[32];

    for (size_t i = 0; i < sizeof q / sizeof q[0]; i++) {
        const char *v = a->val[q[i].opt];
        long long t;

        /* The API takes epoch milliseconds; people type dates. main.c
         * has checked that these parse. */
        if (v && (q[i].opt == OPT_SINCE || q[i].opt == OPT_UNTIL) &&
            cli_parse_time(v, &t) == 0) {
            snprintf(ms, sizeof ms, "%lld", t);
            v = ms;
        }
        if (cli_query_add(url, q[i].name, v) < 0)
            return -1;
    }
    return 0;
}

json_t *cli_read_json(const char *file, int *rc)
{
    xw_buf data = XW_BUF_INIT;
    xw_json_err e;
    json_t *j = NULL;
    char shown[256];
    int fd = -1;
    ssize_t got;

    cli_sanitize(strcmp(file, "-") == 0 ? "(stdin)" : file, shown,
                 sizeof shown);
    *rc = CLI_USAGE;
    /* Reads come in 64 KiB steps that must fit under the cap. */
    xw_buf_init(&data, CLI_MAX_INPUT + 65536);
    fd = strcmp(file, "-") == 0 ? STDIN_FILENO
                                : open(file, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        cli_err("cannot read %s: %s", shown, strerror(errno));
        goto out;
    }
    for (;;) {
        if (data.len > CLI_MAX_INPUT || xw_buf_grow(&data, 65536) < 0) {
            cli_err("%s is larger than %u MiB", shown,
                    CLI_MAX_INPUT / (1024 * 1024));
            goto out;
        }
        got = read(fd, data.data + data.len, 65536);
        if (got < 0 && errno == EINTR)
            continue;
        if (got < 0) {
            cli_err("cannot read %s: %s", shown, strerror(errno));
            goto out;
        }
        if (got == 0)
            break;
        xw_buf_setlen(&data, data.len + (size_t)got);
    }
    if (!(j = xw_json_parse(data.data, data.len, CLI_MAX_INPUT, &e))) {
        cli_err("%s is not JSON: %s", shown, e.message);
        *rc = CLI_INVALID;
        goto out;
    }
    *rc = CLI_OK;
out:
    if (fd > STDIN_FILENO)
        close(fd);
    xw_buf_release(&data);
    return j;
}

int cli_write_chunked(struct cli *c, const char *path, const json_t *base,
                      const char *key, const json_t *items,
                      size_t max_bytes, const char *what)
{
    struct cli_answer acc = CLI_ANSWER_INIT, st = CLI_ANSWER_INIT;
    size_t n = json_array_size(items), i = 0, first;
    xw_buf body = XW_BUF_INIT;
    char derived[XW_UUID_LEN + 1], label[256];
    json_t *req = NULL, *slice;
    long chunk = 0;
    int rc = CLI_OK, many = 0;

    while (i < n) {
        size_t bytes = 0;

        json_decref(req);
        req = json_copy((json_t *)base);
        slice = json_array();
        if (!req || !slice || json_object_set_new(req, key, slice) < 0) {
            cli_err("out of memory");
            rc = CLI_UNAVAILABLE;
            goto out;
        }
        /* Under the API's array limit and well under its body cap. */
        for (first = i; i < n && json_array_size(slice) < CLI_MAX_ITEMS;
             i++) {
            json_t *it = json_array_get(items, i);
            size_t sz = json_dumpb(it, NULL, 0, JSON_COMPACT) + 1;

            if (i > first && bytes + sz > max_bytes)
                break;
            json_array_append(slice, it);
            bytes += sz;
        }
        if (i < n)
            many = 1;
        /* Chunk 0 keeps the invocation's key; the others get keys derived
         * from it, stable across runs with the same --idempotency-key. */
        if (chunk > 0) {
            xw_uuid_derive("xwdeploy.cli.chunk", c->idem_key, chunk, derived);
            c->key_override = derived;
        }
        xw_buf_reset(&body);
        if (xw_json_dump(req, &body) < 0) {
            cli_err("out of memory");
            rc = CLI_UNAVAILABLE;
            goto out;
        }
        rc = cli_write(c, "POST", path, &body, &acc, &st);
        if (rc) {
            if (first > 0)
                cli_err("items 1-%zu of %zu were accepted, %zu-%zu were "
                        "not", first, n, first + 1, n);
            goto out;
        }
        if (many && c->json) {
            /* Several answers: one JSON document per line. */
            char *line = json_dumps(st.json ? st.json : acc.json,
                                    JSON_COMPACT);

            if (line)
                puts(line);
            free(line);
        } else {
            if (many)
                snprintf(label, sizeof label, "objects %zu-%zu of %zu %s",
                         first + 1, i, n, what);
            else
                snprintf(label, sizeof label, "%zu object%s %s", n,
                         n == 1 ? "" : "s", what);
            cli_report_write(c, &acc, &st, label);
        }
        cli_answer_release(&acc);
        cli_answer_release(&st);
        chunk++;
    }
out:
    c->key_override = NULL;
    json_decref(req);
    xw_buf_release(&body);
    cli_answer_release(&acc);
    cli_answer_release(&st);
    return rc;
}

/* ---- the shape every command shares ------------------------------------ */

int cli_show(struct cli *c, const struct cli_view *view,
             const struct cli_args *a, const char *fmt, ...)
{
    struct cli_answer ans = CLI_ANSWER_INIT;
    xw_buf path = XW_BUF_INIT;
    va_list ap;
    int rc, bad;

    va_start(ap, fmt);
    bad = xw_buf_vaddf(&path, fmt, ap) < 0;
    va_end(ap);
    if (bad || (a && cli_query_filters(&path, a) < 0)) {
        cli_err("out of memory");
        rc = CLI_UNAVAILABLE;
        goto out;
    }
    if ((rc = cli_call(c, "GET", path.data, NULL, 0, 0, &ans)))
        goto out;
    if (c->json)
        cli_print_raw(&ans.resp.body);
    else if (view->render)
        rc = view->render(c, ans.json);
    else
        rc = cli_print_list(c, ans.json, view->items_key, view->cols,
                            view->ncols);
out:
    cli_answer_release(&ans);
    xw_buf_release(&path);
    return rc;
}

int cli_send(struct cli *c, const char *method, const json_t *body,
             const char *what, const char *fmt, ...)
{
    struct cli_answer acc = CLI_ANSWER_INIT, st = CLI_ANSWER_INIT;
    xw_buf path = XW_BUF_INIT, data = XW_BUF_INIT;
    va_list ap;
    int rc, bad;

    va_start(ap, fmt);
    bad = xw_buf_vaddf(&path, fmt, ap) < 0;
    va_end(ap);
    if (bad || (body && xw_json_dump(body, &data) < 0)) {
        cli_err("out of memory");
        rc = CLI_UNAVAILABLE;
        goto out;
    }
    rc = cli_write(c, method, path.data, body ? &data : NULL, &acc, &st);
    if (rc == CLI_OK)
        cli_report_write(c, &acc, &st, what);
out:
    cli_answer_release(&acc);
    cli_answer_release(&st);
    xw_buf_release(&path);
    xw_buf_release(&data);
    return rc;
}
