/*
 * The submit-listener's shared types: the service context, one request,
 * and the per-thread worker (Redis connection, reusable Avro values).
 *
 * Threading: libmicrohttpd serves the connections on a fixed pool of
 * threads (XW_API_THREADS); a long-poll holds no thread while it waits
 * (its connection is suspended and parked, see http.c). Everything a
 * handler needs that is not thread-safe (a Redis connection, Avro values
 * being built, scratch buffers) lives in the calling thread's worker,
 * created on first use and freed when the thread ends. The Kafka producer
 * and the Avro registry are shared (both are thread-safe to use).
 */
#ifndef SL_API_H
#define SL_API_H

#include <jansson.h>
#include <microhttpd.h>

#include "xw_avro.h"
#include "xw_buf.h"
#include "xw_config.h"
#include "xw_json.h"
#include "xw_kafka.h"
#include "xw_model.h"
#include "xw_redis.h"
#include "xw_rules.h"

#include "notify.h"

#define SL_ID_MAX 64
#define SL_MAX_PARAMS 3

struct sl_auth;

struct sl_service {
    struct xw_config cfg;
    xw_kafka_producer *producer;
    xw_avro_registry *avro;
    xw_avro_registry *state;       /* CatalogEntry (xw_catalog.h) */
    struct sl_auth *auth;
    const char *redis_url;
    size_t max_body;
    unsigned threads;              /* the HTTP thread pool */
    int allow_fixed_deploy_time;   /* tests only: honour "deploy_at" */
};

#define SL_EVENT_TYPES 32

struct sl_worker {
    xw_redis *redis;
    xw_avro_value values[SL_EVENT_TYPES];  /* by registry index, lazily */
    xw_buf enc;                    /* encoded event */
    xw_buf scratch;
    int served_large;              /* a large request ran on this thread */
    size_t deferred;               /* writes sent, replies not read yet */
    /* Lent to the thread's request as its body and answer buffers and
     * taken back when it completes (http.c): a keep-alive connection
     * reuses them instead of allocating, growing and freeing both per
     * request. Not connected to Redis by itself (w->redis NULL until
     * sl_worker_get). */
    xw_buf body, out;
};

struct sl_request {
    struct sl_service *svc;
    struct sl_worker *w;
    struct MHD_Connection *conn;
    const char *method;
    const char *path;
    xw_buf body;
    int body_too_large;
    size_t body_read;              /* the body's length, kept when a
                                      handler drops it (sl_body_drop) */

    /* set by routing */
    const char *user;              /* borrowed from the auth table */
    int is_system_admin;
    char params[SL_MAX_PARAMS][SL_ID_MAX + 1];
    char request_id[40];
    const char *idem_key;          /* borrowed header value or NULL */

    /* a write's progress (emit.c) */
    int begun;                     /* sl_request_begin() has run */
    int marked;                    /* the pending mark is written */
    int mark_created;              /* ... and it created the status */
    redisReply *idem[2];           /* OWNED, read ahead for
                                      sl_request_begin(): the stored
                                      answer and the request's status */

    /* the answer */
    unsigned status;
    xw_buf out;
    json_t *reply;                 /* owned; rendered into out at the end */
    int out_is_answer;             /* out holds the rendered answer (large
                                      answers are written row by row) */
    size_t answer_len;             /* bytes sent, for the trim decision */
    int lent;                      /* body and out are the thread worker's */
    struct MHD_Response *stream;   /* owned: an answer sent as it is made
                                      (sl_reply_stream) */

    /* a long-poll (sl_wait_for): the request is handled again from the
     * start each time its parked connection is woken */
    int64_t wait_deadline_ms;      /* set by the first run, then kept */
    int wait_backoff_ms;           /* the backoff reached, 0 at first */
    int parked;                    /* this run suspended the connection */
    struct sl_notify_parked park;
};

/* Answers: each sets r->status and r->reply (stealing `body`). */
void sl_reply(struct sl_request *r, unsigned status, json_t *body);
void sl_reply_error(struct sl_request *r, unsigned status, const char *field,
                    const char *rule, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));
void sl_reply_json_err(struct sl_request *r, const xw_json_err *e);
/* 403 / 422: the first error finding in "error", all of them in
 * "error.findings". */
void sl_reply_forbidden(struct sl_request *r, const struct xw_findings *why);
void sl_reply_findings(struct sl_request *r, unsigned status,
                       const char *rule, const struct xw_findings *f);
void sl_reply_unavailable(struct sl_request *r, const char *what);
/* The answer is the JSON text the handler wrote into r->out (sent as is).
 * A later sl_reply*() still wins: an error found after part of the text
 * was written replaces it. */
void sl_reply_rendered(struct sl_request *r, unsigned status);

/* The answer is made while it is sent: resp is a callback response
 * (MHD_create_response_from_callback; STOLEN) whose reader may use r and
 * r->out until the request completes. A later sl_reply*() still wins. */
void sl_reply_stream(struct sl_request *r, unsigned status,
                     struct MHD_Response *resp);

/* Records the answered write r in the audit trail (no-op for reads and
 * unauthenticated requests). Never fails the request. */
void sl_audit(struct sl_request *r);

/* Query-string value (borrowed) or NULL. */
const char *sl_query(struct sl_request *r, const char *name);

/* Frees a large body once the handler has read all it needs of it, so
 * that what it builds next (a 10,000-object event is 3.5 MB, built in
 * two buffers) does not come on top of it. */
void sl_body_drop(struct sl_request *r);

/* The thread's worker; NULL with a 503 answered if Redis is unreachable. */
struct sl_worker *sl_worker_get(struct sl_request *r);

/* Sends a write whose outcome does not change the answer (the stored
 * Idempotency-Key answer, an undo) without waiting for its reply: the
 * reply is read after the answer has been sent (on_completed, http.c).
 * It must be the request's last Redis command: until then the worker's
 * connection refuses others. argv is read during the call only. A
 * failure is logged; Redis may or may not have run the write. */
void sl_redis_defer(struct sl_request *r, int argc, const char **argv,
                    const size_t *argvlen);

#endif
