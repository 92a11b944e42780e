/*
 * The HTTP front: libmicrohttpd glue, body accumulation with a cap,
 * authentication, routing, and rendering of answers. Handlers live in
 * files named for the step they serve; they get a request with the caller
 * authenticated and the path parameters validated.
 */
#include "http.h"

#include <arpa/inet.h>
#include <errno.h>
#include <malloc.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "auth.h"
#include "notify.h"
#include "routes.h"
#include "xw_id.h"
#include "xw_log.h"
#include "xw_metrics.h"

XW_COUNTER(m_requests, "xw_api_requests_total", "HTTP requests answered");
XW_COUNTER(m_errors_4xx, "xw_api_client_errors_total", "answers with a 4xx status");
XW_COUNTER(m_errors_5xx, "xw_api_server_errors_total", "answers with a 5xx status");
XW_COUNTER(m_deferred, "xw_api_redis_deferred_reads_total",
           "replies of writes not waited for, read after the answer (each "
           "counted in xw_redis_round_trips_total too, but not waited for)");

static pthread_key_t worker_key;
static pthread_once_t worker_once = PTHREAD_ONCE_INIT;
/* Set when a large request's memory was (or is about to be) freed; the
 * main thread then returns free memory to the kernel (sl_http_trim). */
static atomic_int trim_wanted;

/* A thread keeps its request's body and answer buffers up to this size
 * for the next request (struct sl_worker): a 100-object step 2 body is
 * ~35 KB, a GET /v1/packages/{id} answer of 100 objects ~60 KB. Larger
 * ones are freed as before, so what the threads keep stays small next to
 * what 1,000-object requests free (a 350 KB body, a 660 KB answer). */
#define KEEP_BUFFER_BYTES (256u << 10)
/* ... and all threads together keep at most this much: what is kept
 * must not grow with the size of the pool (up to 512 KB a thread,
 * XW_API_THREADS threads). */
#define KEEP_TOTAL_BYTES (4u << 20)
/* A worker keeps its Avro values after a request body up to this size:
 * a 100-object step 2 (~35 KB), not a 1,000-object one (~350 KB) nor 10,000
 * ids (~170 KB). */
#define KEEP_VALUES_BODY_BYTES (64u << 10)
static atomic_size_t kept_bytes;

/* Requests begun and not completed, for the drain at a stop. */
static atomic_int in_flight;
#define DRAIN_MS 5000

/* Releases a worker's kept buffer and takes it off the total. */
static void kept_release(xw_buf *b)
{
    atomic_fetch_sub(&kept_bytes, b->alloc);
    xw_buf_release(b);
}

static void worker_free(void *p)
{
    struct sl_worker *w = p;

    if (!w)
        return;
    xw_redis_free(w->redis);
    for (int i = 0; i < SL_EVENT_TYPES; i++)
        xw_avro_value_release(&w->values[i]);
    xw_buf_release(&w->enc);
    xw_buf_release(&w->scratch);
    kept_release(&w->body);
    kept_release(&w->out);
    /* Its Avro values may hold a whole 10,000-object event. */
    if (w->served_large)
        atomic_store(&trim_wanted, 1);
    free(w);
}

static void worker_key_init(void)
{
    pthread_key_create(&worker_key, worker_free);
}

/* Reads the replies of the deferred writes (sl_redis_defer) of the
 * thread's last request. */
static void settle_deferred(struct sl_worker *w)
{
    xw_metrics_add(&m_deferred, 1);
    if (xw_redis_pipeline_exec(w->redis, NULL, w->deferred) < 0)
        xw_warn("HTTP", "redis, deferred write: %s", w->redis->errstr);
    w->deferred = 0;
}

/* The calling thread's worker, made on first use (not connected to
 * Redis: sl_worker_get does that); NULL when out of memory. */
static struct sl_worker *thread_worker(void)
{
    struct sl_worker *w;

    pthread_once(&worker_once, worker_key_init);
    if ((w = pthread_getspecific(worker_key)))
        return w;
    if (!(w = calloc(1, sizeof *w)))
        return NULL;
    xw_buf_init(&w->enc, 0);
    xw_buf_init(&w->scratch, 0);
    xw_buf_init(&w->body, 0);
    xw_buf_init(&w->out, 0);
    if (pthread_setspecific(worker_key, w) != 0) {
        worker_free(w);
        return NULL;
    }
    return w;
}

struct sl_worker *sl_worker_get(struct sl_request *r)
{
    struct sl_worker *w;
    char err[256];

    if (!(w = thread_worker())) {
        sl_reply_unavailable(r, "out of memory");
        return NULL;
    }
    /* Normally read when the last request completed (on_completed). */
    if (w->deferred)
        settle_deferred(w);
    if (!w->redis) {
        xw_redis_opts o = XW_REDIS_OPTS_INIT;

        o.reconnect_attempts = 2;
        w->redis = xw_redis_connect(r->svc->redis_url, &o, err, sizeof err);
        if (!w->redis) {
            xw_warn("HTTP", "redis: %s", err);
            sl_reply_unavailable(r, "state store");
            return NULL;
        }
    }
    r->w = w;
    return w;
}

void sl_redis_defer(struct sl_request *r, int argc, const char **argv,
                    const size_t *argvlen)
{
    /* Written now, so Redis has it before the caller has the answer;
     * on_completed reads the reply (by then it has arrived: no wait). */
    if (xw_redis_append_argv(r->w->redis, argc, argv, argvlen) < 0
        || xw_redis_pipeline_flush(r->w->redis) < 0) {
        xw_warn("HTTP", "%s %s: redis %s: %s", r->method, r->path, argv[0],
                r->w->redis->errstr);
        r->w->deferred = 0;        /* the batch was discarded */
        return;
    }
    r->w->deferred++;
}

void sl_reply(struct sl_request *r, unsigned status, json_t *body)
{
    if (r->stream) {
        MHD_destroy_response(r->stream);
        r->stream = NULL;
    }
    json_decref(r->reply);
    r->status = status;
    r->reply = body;
}

void sl_reply_stream(struct sl_request *r, unsigned status,
                     struct MHD_Response *resp)
{
    json_decref(r->reply);
    r->reply = NULL;
    if (r->stream)
        MHD_destroy_response(r->stream);
    r->stream = resp;
    r->status = status;
    r->out_is_answer = 0;
}

void sl_reply_rendered(struct sl_request *r, unsigned status)
{
    json_decref(r->reply);
    r->reply = NULL;
    r->status = status;
    r->out_is_answer = 1;
}

static void reply_error_v(struct sl_request *r, unsigned status,
                          const char *field, const char *rule,
                          const char *fmt, va_list ap)
{
    xw_json_err e;
    char msg[256];

    vsnprintf(msg, sizeof msg, fmt, ap);
    xw_json_err_set(&e, (int)status, field, rule, "%s", msg);
    sl_reply(r, status, xw_json_err_to_json(&e));
}

void sl_reply_error(struct sl_request *r, unsigned status, const char *field,
                    const char *rule, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    reply_error_v(r, status, field, rule, fmt, ap);
    va_end(ap);
}

void sl_reply_json_err(struct sl_request *r, const xw_json_err *e)
{
    sl_reply(r, (unsigned)(e->http_status ? e->http_status : 400),
             xw_json_err_to_json(e));
}

void sl_reply_findings(struct sl_request *r, unsigned status,
                       const char *rule, const struct xw_findings *f)
{
    const struct xw_finding *first = NULL;
    json_t *body, *err;

    for (size_t i = 0; i < f->count && !first; i++)
        if (f->items[i].severity == XW_SEV_ERROR)
            first = &f->items[i];
    if (!first && f->count)
        first = &f->items[0];
    sl_reply_error(r, status, first ? first->path : "", rule, "%s",
                   first ? first->message : "refused");
    body = r->reply;
    err = body ? json_object_get(body, "error") : NULL;
    if (err) {
        if (first)
            json_object_set_new(err, "code", json_string(first->code));
        json_object_set_new(err, "findings", xw_model_findings_json(f));
    }
}

void sl_reply_forbidden(struct sl_request *r, const struct xw_findings *why)
{
    sl_reply_findings(r, 403, "permission", why);
}

void sl_reply_unavailable(struct sl_request *r, const char *what)
{
    sl_reply_error(r, 503, "", "unavailable",
                   "%s is unavailable; nothing was accepted, retry with the "
                   "same Idempotency-Key", what);
}

const char *sl_query(struct sl_request *r, const char *name)
{
    return MHD_lookup_connection_value(r->conn, MHD_GET_ARGUMENT_KIND, name);
}

/* The answer in r->reply or r->out as a response (NULL when out of
 * memory). */
static struct MHD_Response *buffer_response(struct sl_request *r)
{
    struct MHD_Response *resp;
    size_t len;
    char *data;

    if (!r->reply && !r->out_is_answer)
        sl_reply_error(r, 500, "", "internal", "no answer");
    if (r->reply) {
        xw_buf_reset(&r->out);
        if (xw_json_dump(r->reply, &r->out) < 0)
            return NULL;
    }
    if (xw_buf_addch(&r->out, '\n') < 0)
        return NULL;
    /* A lent buffer stays the request's until on_completed, which comes
     * after MHD has sent the answer (or given up on the connection); the
     * worker holds none meanwhile, so the thread's other connections'
     * requests get buffers of their own. */
    if (r->lent) {
        len = r->out.len;
        resp = MHD_create_response_from_buffer(len, r->out.data,
                                               MHD_RESPMEM_PERSISTENT);
    } else {
        data = xw_buf_detach(&r->out, &len);
        resp = MHD_create_response_from_buffer(len, data,
                                               MHD_RESPMEM_MUST_FREE);
        if (!resp)
            free(data);
    }
    r->answer_len = len;
    return resp;
}

static enum MHD_Result send_reply(struct sl_request *r)
{
    struct MHD_Response *resp;
    enum MHD_Result ret;

    if (r->stream) {
        resp = r->stream;          /* its reader counts answer_len */
        r->stream = NULL;
    } else if (!(resp = buffer_response(r))) {
        return MHD_NO;
    }
    MHD_add_response_header(resp, "Content-Type", "application/json");
    if (r->request_id[0])
        MHD_add_response_header(resp, "X-Request-Id", r->request_id);
    if (r->status == 401)
        MHD_add_response_header(resp, "WWW-Authenticate", "Bearer");
    ret = MHD_queue_response(r->conn, r->status, resp);
    MHD_destroy_response(resp);
    sl_audit(r);
    xw_metrics_add(&m_requests, 1);
    if (r->status >= 500)
        xw_metrics_add(&m_errors_5xx, 1);
    else if (r->status >= 400)
        xw_metrics_add(&m_errors_4xx, 1);
    xw_debug("HTTP", "%s %s -> %u user=%s", r->method, r->path, r->status,
             r->user ? r->user : "-");
    return ret;
}

static void request_free(struct sl_request *r)
{
    if (!r)
        return;
    xw_redis_replies_free(r->idem, 2);
    xw_buf_release(&r->body);
    xw_buf_release(&r->out);
    json_decref(r->reply);
    if (r->stream)
        MHD_destroy_response(r->stream);
    free(r);
}

/* A request or answer from this size is large: a 10,000-object body is
 * 3.5 MB and its answer 6.6 MB. Not the 1,000-object ones (0.35 and 0.66
 * MB): trimming after each of them gave the pages back only for the next
 * request to fault them in again (main.c: that costs more than the
 * memory is worth here). */
#define TRIM_AFTER_BYTES (2u << 20)

/* Lends the thread worker's buffers to r (own buffers if there is no
 * worker: out of memory). */
static void buffers_lend(struct sl_request *r)
{
    struct sl_worker *w = thread_worker();

    if (!w) {
        xw_buf_init(&r->body, r->svc->max_body);
        xw_buf_init(&r->out, 0);
        return;
    }
    atomic_fetch_sub(&kept_bytes, w->body.alloc + w->out.alloc);
    r->body = w->body;
    r->out = w->out;
    xw_buf_init(&w->body, 0);
    xw_buf_init(&w->out, 0);
    xw_buf_reset(&r->body);
    xw_buf_reset(&r->out);
    r->body.cap = r->svc->max_body;
    r->out.cap = 0;
    r->lent = 1;
}

/* Gives a lent buffer back to the worker, or frees it when large or
 * when the threads keep enough already. */
static void buffer_return(xw_buf *mine, xw_buf *lent)
{
    size_t n = lent->alloc;

    if (n && n <= KEEP_BUFFER_BYTES
        && atomic_fetch_add(&kept_bytes, n) + n <= KEEP_TOTAL_BYTES) {
        kept_release(mine);
        *mine = *lent;
        xw_buf_init(lent, 0);
    } else if (n && n <= KEEP_BUFFER_BYTES) {
        atomic_fetch_sub(&kept_bytes, n);
    }
    xw_buf_release(lent);
}

/* The calling thread's worker keeps its buffers and Avro values between
 * requests (a keep-alive connection reuses them, and a reset value keeps
 * every array slot it ever had); not after a request larger than it
 * keeps them for, whose values would stay sized for it while the pool's
 * thread lives, i.e. as long as the process: a step 3 of 10,000 ids is a
 * 170 KB body and left its thread holding ~3 MB. Values are created again
 * on use. `large`: the request could fill a whole 10,000-object event
 * (see on_completed). */
static void worker_shrink(int large)
{
    struct sl_worker *w;

    pthread_once(&worker_once, worker_key_init);
    if (!(w = pthread_getspecific(worker_key)))
        return;
    if (large)
        w->served_large = 1;
    for (int i = 0; i < SL_EVENT_TYPES; i++)
        xw_avro_value_release(&w->values[i]);
    if (w->enc.alloc > KEEP_BUFFER_BYTES) {
        xw_buf_release(&w->enc);
        xw_buf_init(&w->enc, 0);
    }
    if (w->scratch.alloc > KEEP_BUFFER_BYTES) {
        xw_buf_release(&w->scratch);
        xw_buf_init(&w->scratch, 0);
    }
}

/* A request or answer of this size leaves tens of MB of freed jansson
 * trees, Avro values, Redis replies and buffers in the malloc arenas, and
 * glibc keeps them resident (it only returns the top of a heap by
 * itself). Not all of it is free yet here: MHD frees the answer after
 * this callback and the thread's worker goes when the connection closes,
 * so the trim itself is left to the main thread (sl_http_trim). */
static void on_completed(void *cls, struct MHD_Connection *conn,
                         void **con_cls, enum MHD_RequestTerminationCode code)
{
    struct sl_request *r = *con_cls;
    struct sl_worker *w;
    size_t body = r ? (r->body.len > r->body_read ? r->body.len
                                                  : r->body_read) : 0;
    size_t size = r && r->answer_len > body ? r->answer_len : body;
    int big = r && (size >= TRIM_AFTER_BYTES || r->body_too_large);
    int shrink = big || size > KEEP_BUFFER_BYTES
                 || body > KEEP_VALUES_BODY_BYTES;

    (void)cls; (void)conn; (void)code;
    /* After the answer, in the thread that served the request (MHD keeps
     * a connection on one pool thread): the replies of its worker's
     * deferred writes. */
    pthread_once(&worker_once, worker_key_init);
    if ((w = pthread_getspecific(worker_key)) && w->deferred)
        settle_deferred(w);
    if (r && r->lent && w) {
        buffer_return(&w->body, &r->body);
        buffer_return(&w->out, &r->out);
    }
    if (r)
        atomic_fetch_sub(&in_flight, 1);
    request_free(r);
    *con_cls = NULL;
    if (shrink)
        worker_shrink(big);
    if (big)
        atomic_store(&trim_wanted, 1);
}

void sl_http_trim(void)
{
    /* Measured with tests/integration/big_package.sh (10,000 objects):
     * 43 MB resident after the run without it, 28 MB with it (17 MB with
     * main()'s fixed thresholds too); a few ms, once per large request. */
    if (atomic_exchange(&trim_wanted, 0))
        malloc_trim(0);
}

/* ---- long-polls -----------------------------------------------------------
 *
 * A wait holds no thread: the handler's connection is suspended and
 * parked (notify.c), the thread serves its other connections, and when
 * the watched key may have changed (or the wait's re-read time comes)
 * the connection is resumed and MHD calls on_request again: the request
 * is handled again from the start (its caller checked again, which the
 * role cache makes cheap), with the deadline and backoff of the first
 * run. MHD requires a connection to be suspended before anything may
 * resume it: hence the order below (ready? suspend, then park).
 */

static void on_wake(struct sl_notify_parked *p)
{
    struct sl_request *r = (struct sl_request *)
        ((char *)p - offsetof(struct sl_request, park));

    MHD_resume_connection(r->conn);
}

int64_t sl_wait_deadline(struct sl_request *r, long wait_ms)
{
    if (!r->wait_deadline_ms)
        r->wait_deadline_ms = xw_mono_ms() + wait_ms;
    return r->wait_deadline_ms;
}

int sl_wait_for(struct sl_request *r, struct sl_notify_wait *w,
                int64_t deadline_ms,
                int (*check)(struct sl_request *r, void *arg), void *arg)
{
    int rc;

    if (r->wait_backoff_ms)
        w->backoff_ms = r->wait_backoff_ms;
    while (xw_mono_ms() < deadline_ms) {
        if ((rc = sl_notify_park_ready(w)) < 0)
            return 0;              /* shutting down: answer what was read */
        if (rc > 0) {
            MHD_suspend_connection(r->conn);
            r->park.wake = on_wake;
            rc = sl_notify_park(w, &r->park, deadline_ms);
            r->wait_backoff_ms = w->backoff_ms;
            if (rc <= 0)           /* changed or closed meanwhile: rare */
                MHD_resume_connection(r->conn);
            r->parked = 1;
            return -1;
        }
        sl_notify_arm(w);
        if ((rc = check(r, arg)) != 0)
            return rc;
    }
    return 0;
}

static void handle(struct sl_request *r)
{
    const char *ct;

    if (r->body_too_large) {
        sl_reply_error(r, 413, "body", "max_length",
                       "request body is larger than %zu bytes",
                       r->svc->max_body);
        return;
    }
    if (strcmp(r->path, "/health") == 0 && strcmp(r->method, "GET") == 0) {
        sl_reply(r, 200, json_pack("{s:s, s:s}", "service", "submit-listener",
                                   "status", "ok"));
        return;
    }
    if (sl_auth_check(r->svc->auth, r) < 0)
        return; /* 401 answered */
    if (r->body.len) {
        ct = MHD_lookup_connection_value(r->conn, MHD_HEADER_KIND,
                                         "Content-Type");
        if (ct && strncmp(ct, "application/json", 16) != 0) {
            sl_reply_error(r, 415, "Content-Type", "media_type",
                           "send application/json");
            return;
        }
    }
    sl_route(r);
}

void sl_body_drop(struct sl_request *r)
{
    if (r->body.len > r->body_read)
        r->body_read = r->body.len;
    if (r->body.alloc <= KEEP_BUFFER_BYTES)
        return;                    /* small: kept for the next request */
    xw_buf_release(&r->body);
    xw_buf_init(&r->body, 0);
}

/* Room for the whole body at once when the client announced its length:
 * a large body is then not copied at each doubling of its buffer. Only
 * up to the body limit (a longer body is refused anyway); and a large
 * reservation is an mmap (M_MMAP_THRESHOLD, main.c) whose pages take no
 * memory until the body fills them, so an announced length that never
 * comes costs nothing. Best effort: without it the buffer grows. */
static void reserve_body(struct sl_request *r)
{
    const char *cl = MHD_lookup_connection_value(r->conn, MHD_HEADER_KIND,
                                                 MHD_HTTP_HEADER_CONTENT_LENGTH);
    unsigned long long n;
    char *end;

    if (!cl || *cl < '0' || *cl > '9')
        return;
    errno = 0;
    n = strtoull(cl, &end, 10);
    if (errno || *end || n > r->svc->max_body)
        return;
    /* A large body comes with a large event (its Avro value, its
     * encoding): give the heap's free pages back first, or the request's
     * mapped buffers come on top of them (sat-10k after sat-1k peaked at
     * ~30 MB with ~8 MB free in the heap). Milliseconds, once per
     * 10,000-object request. */
    if (n >= TRIM_AFTER_BYTES)
        malloc_trim(0);
    xw_buf_grow(&r->body, (size_t)n);
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *conn,
                                  const char *url, const char *method,
                                  const char *version, const char *upload,
                                  size_t *upload_size, void **con_cls)
{
    struct sl_service *svc = cls;
    struct sl_request *r = *con_cls;

    (void)version;
    if (!r) {
        r = calloc(1, sizeof *r);
        if (!r)
            return MHD_NO;
        r->svc = svc;
        r->conn = conn;
        r->method = method;
        r->path = url;
        buffers_lend(r);
        atomic_fetch_add(&in_flight, 1);
        *con_cls = r;
        return MHD_YES;
    }
    if (*upload_size) {
        if (!r->body.len && !r->body_too_large)
            reserve_body(r);
        /* Keep reading past the cap (so the client gets an answer rather
         * than a reset) but keep nothing more. */
        if (!r->body_too_large
            && xw_buf_add(&r->body, upload, *upload_size) < 0) {
            r->body_too_large = 1;
            xw_buf_release(&r->body);
        }
        *upload_size = 0;
        return MHD_YES;
    }
    handle(r);
    if (r->parked) {
        r->parked = 0;
        return MHD_YES;            /* handled again when woken */
    }
    return send_reply(r);
}

struct MHD_Daemon *sl_http_start(struct sl_service *svc, const char *addr,
                                 int port, char *err, size_t errlen)
{
    struct sockaddr_in sa;
    struct MHD_Daemon *d;

    xw_metrics_register(&m_requests);
    xw_metrics_register(&m_errors_4xx);
    xw_metrics_register(&m_errors_5xx);
    xw_metrics_register(&m_deferred);
    memset(&sa, 0, sizeof sa);
    sa.sin_family = AF_INET;
    sa.sin_port = htons((uint16_t)port);
    if (inet_pton(AF_INET, addr, &sa.sin_addr) != 1) {
        snprintf(err, errlen, "XW_API_ADDR: '%s' is not an IPv4 address", addr);
        return NULL;
    }
    /* A fixed pool of threads, not one per connection: memory stays
     * bounded by the pool whatever the number of clients (a thread with
     * its worker - Redis connection, Avro values, kept buffers - took
     * ~180 KB per connection, 29.7 MB for the benchmark's 64). Handlers
     * still block a pool thread on Redis and on the broker's
     * acknowledgement (the thread's other connections wait meanwhile),
     * but never through a long-poll: those are parked (above). */
    d = MHD_start_daemon(MHD_USE_AUTO | MHD_USE_INTERNAL_POLLING_THREAD
                             | MHD_ALLOW_SUSPEND_RESUME | MHD_USE_ERROR_LOG,
                         (uint16_t)port, NULL, NULL, on_request, svc,
                         MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&sa,
                         MHD_OPTION_THREAD_POOL_SIZE, svc->threads,
                         MHD_OPTION_NOTIFY_COMPLETED, on_completed, NULL,
                         MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)(16u << 10),
                         MHD_OPTION_CONNECTION_LIMIT, 512u,
                         MHD_OPTION_CONNECTION_TIMEOUT, 60u,
                         MHD_OPTION_END);
    if (!d)
        snprintf(err, errlen, "cannot listen on %s:%d", addr, port);
    return d;
}

void sl_http_stop(struct MHD_Daemon *d)
{
    MHD_socket listen_fd = MHD_INVALID_SOCKET;
    int64_t until = xw_mono_ms() + DRAIN_MS;

    if (d)
        listen_fd = MHD_quiesce_daemon(d);     /* no new connections */
    sl_notify_park_close();
    /* MHD_stop_daemon drops the requests it still has: let them finish
     * (the woken long-polls answer, writes get their acknowledgement). */
    while (d && atomic_load(&in_flight) > 0 && xw_mono_ms() < until)
        nanosleep(&(struct timespec){ 0, 10 * 1000000L }, NULL);
    if (d)
        MHD_stop_daemon(d);
    if (listen_fd != MHD_INVALID_SOCKET)
        close(listen_fd);
}
