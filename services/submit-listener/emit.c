#include "emit.h"

#include <stdio.h>
#include <string.h>

#include "xw_avro_json.h"
#include "xw_avro_jtext.h"
#include "xw_id.h"
#include "xw_log.h"
#include "xw_metrics.h"

XW_COUNTER(m_accepted, "xw_api_commands_accepted_total",
           "commands acknowledged by the broker and answered 202");
XW_COUNTER(m_replayed, "xw_api_idempotent_replays_total",
           "writes answered from the Idempotency-Key store");

#define IDEM_TTL_TEXT "86400"  /* 24 h */
#define REQ_TTL_TEXT "604800"  /* 7 days */
#define IDEM_KEY_MAX 128

void sl_emit_register_metrics(void);
void sl_emit_register_metrics(void)
{
    xw_metrics_register(&m_accepted);
    xw_metrics_register(&m_replayed);
}

json_t *sl_body_object(struct sl_request *r)
{
    xw_json_err e;
    json_t *j;

    if (r->body.len == 0) {
        sl_reply_error(r, 400, "body", "required", "a JSON object is required");
        return NULL;
    }
    j = xw_json_parse(r->body.data, r->body.len, r->svc->max_body, &e);
    if (!j) {
        sl_reply_json_err(r, &e);
        return NULL;
    }
    if (!json_is_object(j)) {
        json_decref(j);
        sl_reply_error(r, 400, "body", "type", "the body must be a JSON object");
        return NULL;
    }
    return j;
}

/* {"request_id","status_url"}: the answer to an accepted write (NULL when
 * out of memory). */
static json_t *accepted_body(const struct sl_request *r)
{
    char status_url[96];

    snprintf(status_url, sizeof status_url, "/v1/requests/%s", r->request_id);
    return json_pack("{s:s, s:s}", "request_id", r->request_id, "status_url",
                     status_url);
}

/* The Idempotency-Key header (borrowed) or NULL; *bad when it is there
 * but not 1..IDEM_KEY_MAX characters. */
static const char *idem_header(struct sl_request *r, int *bad)
{
    const char *k = MHD_lookup_connection_value(r->conn, MHD_HEADER_KIND,
                                                "Idempotency-Key");

    *bad = k && (!*k || strlen(k) > IDEM_KEY_MAX);
    return k;
}

int sl_request_id(struct sl_request *r)
{
    int bad;
    const char *k = idem_header(r, &bad);

    if (r->request_id[0])
        return 0;
    if (bad) {
        sl_reply_error(r, 400, "Idempotency-Key", "max_length",
                       "must be 1..%d characters", IDEM_KEY_MAX);
        return -1;
    }
    if (!k) {
        if (xw_uuid_v4(r->request_id) < 0) {
            sl_reply_unavailable(r, "randomness");
            return -1;
        }
        return 0;
    }
    r->idem_key = k;
    /* Same user, same key: same request id, so even two racing requests
     * produce one event id and the packager applies it once. */
    xw_uuid_derive(r->user, k, 0, r->request_id);
    return 0;
}

/* The pending mark, before anything is on the log, so a status poll
 * right after the 202 never sees "unknown". HSETNX only: never overwrite
 * the packager's final status (it may already have applied a first
 * attempt of this request), nor the first attempt's actor and time. Safe
 * to send twice (a retry after a lost connection): nothing is on the log
 * yet. */
struct mark {
    char key[64], now[24];
    const char *argv[4][4];
};

static void mark_cmds(struct sl_request *r, struct mark *m,
                      xw_redis_cmd cmds[4])
{
    static const char *const field[3] = { "status", "actor", "created_at" };
    const char *value[3] = { "pending", r->user, m->now };

    snprintf(m->key, sizeof m->key, "xw:req:%s", r->request_id);
    snprintf(m->now, sizeof m->now, "%lld", (long long)xw_now_ms());
    for (int i = 0; i < 3; i++) {
        m->argv[i][0] = "HSETNX";
        m->argv[i][1] = m->key;
        m->argv[i][2] = field[i];
        m->argv[i][3] = value[i];
        cmds[i] = (xw_redis_cmd){ 4, m->argv[i], NULL };
    }
    m->argv[3][0] = "EXPIRE";
    m->argv[3][1] = m->key;
    m->argv[3][2] = REQ_TTL_TEXT;
    cmds[3] = (xw_redis_cmd){ 3, m->argv[3], NULL };
}

/* The one round trip of a write's reads: cmds[0..n) (the caller's, their
 * OWNED replies into reps), then the Idempotency-Key's two reads unless
 * done or there is no key (kept in r->idem for sl_request_begin), then
 * the pending mark if `mark` (which needs the request id). Nothing to
 * send, no round trip. 0, or -1 with the answer set and reps untouched. */
static int write_trip(struct sl_request *r, const xw_redis_cmd *cmds,
                      size_t n, redisReply **reps, int mark)
{
    xw_redis_cmd all[SL_PREFETCH_MAX + 6];
    redisReply *got[SL_PREFETCH_MAX + 6] = { NULL };
    char idem_key[160], req_key[64];
    const char *get[2] = { "GET", idem_key };
    const char *hget[3] = { "HGET", req_key, "status" };
    struct mark m;
    size_t k = n, i;
    int idem = r->idem_key && !r->begun && !r->idem[0];

    if (n > SL_PREFETCH_MAX) {
        sl_reply_error(r, 500, "", "internal", "too many reads");
        return -1;
    }
    if (!r->w && !sl_worker_get(r))
        return -1;
    if (n)
        memcpy(all, cmds, n * sizeof *cmds);
    if (idem) {
        snprintf(idem_key, sizeof idem_key, "xw:idem:%s:%s", r->user,
                 r->request_id);
        snprintf(req_key, sizeof req_key, "xw:req:%s", r->request_id);
        all[k++] = (xw_redis_cmd){ 2, get, NULL };
        all[k++] = (xw_redis_cmd){ 3, hget, NULL };
    }
    if (mark) {
        mark_cmds(r, &m, all + k);
        k += 4;
    }
    if (k && xw_redis_pipeline(r->w->redis, all, k, got,
                               XW_REDIS_IDEMPOTENT) < 0) {
        sl_reply_unavailable(r, "state store");
        return -1;
    }
    for (i = 0; i < n; i++)
        reps[i] = got[i];
    if (idem) {
        r->idem[0] = got[n];
        r->idem[1] = got[n + 1];
    }
    if (mark) {
        r->marked = 1;
        r->mark_created = got[k - 4]->type == REDIS_REPLY_INTEGER
                          && got[k - 4]->integer == 1;
        xw_redis_replies_free(got + k - 4, 4);
    }
    return 0;
}

int sl_request_prefetch(struct sl_request *r, const xw_redis_cmd *cmds,
                        size_t n, redisReply **reps)
{
    int bad;

    /* A bad key is answered by sl_request_begin, in its place among the
     * caller's checks: the reads go without the key's then. */
    idem_header(r, &bad);
    if (!bad && sl_request_id(r) < 0)
        return -1;
    return write_trip(r, cmds, n, reps, 0);
}

/* An earlier attempt may have reached the log without a stored answer:
 * the listener died before answering, or the producer reported a failure
 * for a message the broker had in fact appended (after a fatal producer
 * error, every message in flight is reported failed). The packager
 * records the request's final status in the same transaction as its
 * effects, so a final status means the event is on the log and applied:
 * answer 202 with the same request id, as the first attempt would have
 * (the state checks that follow would otherwise refuse what that event
 * already did, e.g. "package is being deployed"). 1 answered, 0 go on,
 * -1 answered with an error. */
static int replayed(struct sl_request *r)
{
    const redisReply *answer = r->idem[0], *status = r->idem[1];
    json_error_t je;
    json_t *stored, *body;

    if (!answer)
        return 0;
    if (answer->type == REDIS_REPLY_STRING
        && (stored = json_loadb(answer->str, answer->len, 0, &je))) {
        xw_metrics_add(&m_replayed, 1);
        sl_reply(r, (unsigned)json_integer_value(json_object_get(stored,
                                                                 "status")),
                 json_incref(json_object_get(stored, "body")));
        json_decref(stored);
        return 1;
    }
    /* "pending" is only the listener's own mark: it proves nothing. */
    if (status->type != REDIS_REPLY_STRING
        || strcmp(status->str, "pending") == 0)
        return 0;
    if (!(body = accepted_body(r))) {
        sl_reply_unavailable(r, "memory");
        return -1;
    }
    xw_metrics_add(&m_replayed, 1);
    sl_reply_remembered(r, 202, body);
    return 1;
}

int sl_request_begin(struct sl_request *r)
{
    int rc;

    if (r->begun)
        return 0;
    if (sl_request_id(r) < 0 || write_trip(r, NULL, 0, NULL, 0) < 0)
        return -1;
    r->begun = 1;
    rc = replayed(r);
    xw_redis_replies_free(r->idem, 2);
    return rc;
}

/* Deletes the request's pending mark, without waiting for the answer. */
static void forget_mark(struct sl_request *r)
{
    const char *argv[2] = { "DEL", NULL };
    char key[64];

    snprintf(key, sizeof key, "xw:req:%s", r->request_id);
    argv[1] = key;
    sl_redis_defer(r, 2, argv, NULL);
}

int sl_request_begin_marked(struct sl_request *r)
{
    int rc;

    if (sl_request_id(r) < 0
        || (!r->marked && write_trip(r, NULL, 0, NULL, 1) < 0))
        return -1;
    rc = sl_request_begin(r);
    /* A stored answer without a request behind it (its key was reused
     * for a write that stores its answer without an event, or the status
     * expired first): the mark just written would stay pending for a
     * week. */
    if (rc != 0 && r->mark_created)
        forget_mark(r);
    return rc;
}

static int type_index(const xw_avro_registry *reg, const char *name)
{
    size_t n = xw_avro_registry_count(reg);

    for (size_t i = 0; i < n && i < SL_EVENT_TYPES; i++)
        if (strcmp(xw_avro_registry_type(reg, i)->short_name, name) == 0)
            return (int)i;
    return -1;
}

xw_avro_value *sl_value(struct sl_request *r, const char *name)
{
    int i = type_index(r->svc->avro, name);
    xw_avro_value *v;

    if (i < 0 || (!r->w && !sl_worker_get(r))) {
        if (i < 0)
            sl_reply_error(r, 500, "", "internal", "no schema for %s", name);
        return NULL;
    }
    v = &r->w->values[i];
    if (!v->type) {
        if (xw_avro_value_init(v, xw_avro_registry_type(r->svc->avro,
                                                        (size_t)i)) < 0) {
            sl_reply_unavailable(r, "memory");
            return NULL;
        }
    } else {
        xw_avro_value_reset(v);
    }
    return v;
}

avro_value_t *sl_event(struct sl_request *r, const char *name)
{
    xw_avro_value *v = sl_value(r, name);
    const char *corr;

    if (!v)
        return NULL;
    corr = MHD_lookup_connection_value(r->conn, MHD_HEADER_KIND,
                                       "X-Correlation-Id");
    if (!corr || !xw_id_valid(corr, strlen(corr), SL_ID_MAX))
        corr = r->request_id;
    if (xw_avro_set_string(&v->value, "event_id", r->request_id) < 0
        || xw_avro_set_long(&v->value, "occurred_at", xw_now_ms()) < 0
        || xw_avro_set_string(&v->value, "actor", r->user) < 0
        || xw_avro_set_string(&v->value, "correlation_id", corr) < 0) {
        sl_reply_error(r, 500, "", "internal", "envelope of %s", name);
        return NULL;
    }
    return &v->value;
}

/* Prefixes a bridge error's path with the event field (and index). */
static void fill_error(struct sl_request *r, const char *field, long index,
                       const xw_avro_json_error *e)
{
    char path[320];

    if (index >= 0)
        snprintf(path, sizeof path, "%s[%ld]%s%s", field, index,
                 e->field[0] ? "." : "", e->field);
    else if (field)
        snprintf(path, sizeof path, "%s%s%s", field, e->field[0] ? "." : "",
                 e->field);
    else
        snprintf(path, sizeof path, "%s", e->field);
    sl_reply_error(r, 400, path, e->rule, "%s", e->message);
}

static const xw_avro_json_limits fill_limits = { 1024, 10000 };

int sl_fill_item(struct sl_request *r, avro_value_t *item, const char *field,
                 size_t index, const json_t *src)
{
    xw_avro_json_error e;

    if (!json_is_object(src)) {
        char path[96];

        snprintf(path, sizeof path, "%s[%zu]", field, index);
        sl_reply_error(r, 400, path, "type", "must be an object");
        return -1;
    }
    if (xw_avro_from_json(item, src, &fill_limits, &e) < 0) {
        fill_error(r, field, (long)index, &e);
        return -1;
    }
    return 0;
}

int sl_fill_item_text(avro_value_t *item, const char *text, size_t len,
                      size_t *used)
{
    return xw_avro_jtext_fill(item, text, len, &fill_limits, used);
}

int sl_fill(struct sl_request *r, avro_value_t *dst, const char *field,
            const json_t *src)
{
    xw_avro_json_error e = { "", "internal", "out of memory" };
    avro_value_t sub;
    size_t i;
    json_t *item;

    if (!field) {
        if (xw_avro_from_json(dst, src, &fill_limits, &e) < 0) {
            fill_error(r, NULL, -1, &e);
            return -1;
        }
        return 0;
    }
    if (!json_is_array(src)) {
        if (xw_avro_set_record(dst, field, &sub) < 0) {
            sl_reply_error(r, 500, field, "internal", "no such record field");
            return -1;
        }
        if (!json_is_object(src)) {
            sl_reply_error(r, 400, field, "type", "must be an object");
            return -1;
        }
        if (xw_avro_from_json(&sub, src, &fill_limits, &e) < 0) {
            fill_error(r, field, -1, &e);
            return -1;
        }
        return 0;
    }
    /* An array of records: one element at a time, so errors name it. */
    if (json_array_size(src) > fill_limits.max_items) {
        sl_reply_error(r, 400, field, "max_items", "more than %zu items",
                       fill_limits.max_items);
        return -1;
    }
    if (xw_avro_array_clear(dst, field) < 0) {
        sl_reply_error(r, 500, field, "internal", "no such array field");
        return -1;
    }
    json_array_foreach(src, i, item) {
        if (xw_avro_array_append(dst, field, &sub) < 0) {
            fill_error(r, field, (long)i, &e);
            return -1;
        }
        if (sl_fill_item(r, &sub, field, i, item) < 0)
            return -1;
    }
    return 0;
}

int sl_encode_failed(struct sl_request *r, const xw_avro_err *ae)
{
    sl_reply_error(r, 500, "", "internal", "encoding failed: %s", ae->msg);
    return -1;
}

/* Encodes `event` into the worker's buffer. -1 with 500 answered. */
static int encode_event(struct sl_request *r, const avro_value_t *event)
{
    xw_avro_err ae;

    if (xw_avro_encode(event, &r->w->enc, &ae) < 0)
        return sl_encode_failed(r, &ae);
    return 0;
}

/* Produces one encoded event and waits for the broker. -1 with 503
 * answered (the reason logged). */
static int produce_event(struct sl_request *r, const void *event, size_t len,
                         enum xw_topic topic, const char *key)
{
    char err[256];

    if (xw_kafka_produce_wait(r->svc->producer, topic, key, strlen(key),
                              event, len, err, sizeof err) < 0) {
        xw_warn("EMIT", "request %s: %s", r->request_id, err);
        sl_reply_unavailable(r, "the event log (Kafka)");
        return -1;
    }
    return 0;
}

int sl_produce(struct sl_request *r, avro_value_t *event, enum xw_topic topic,
               const char *key)
{
    if (sl_request_begin_marked(r) != 0 || encode_event(r, event) < 0)
        return -1;
    return produce_event(r, r->w->enc.data, r->w->enc.len, topic, key);
}

int sl_accept(struct sl_request *r, avro_value_t *event, enum xw_topic topic,
              const char *key, json_t *extra)
{
    if (encode_event(r, event) < 0) {
        json_decref(extra);
        return -1;
    }
    return sl_accept_encoded(r, r->w->enc.data, r->w->enc.len, topic, key,
                             extra);
}

int sl_accept_encoded(struct sl_request *r, const void *event, size_t len,
                      enum xw_topic topic, const char *key, json_t *extra)
{
    json_t *body = NULL;
    int rc = -1;

    if (sl_request_begin_marked(r) != 0)
        goto out;
    if (produce_event(r, event, len, topic, key) < 0) {
        forget_mark(r);     /* nothing was accepted: no pending request */
        goto out;
    }
    xw_metrics_add(&m_accepted, 1);
    if (!(body = accepted_body(r)))
        goto out;
    if (extra)
        json_object_update(body, extra);
    sl_reply_remembered(r, 202, body);
    body = NULL;
    rc = 0;
out:
    json_decref(extra);
    json_decref(body);
    return rc;
}

void sl_reply_remembered(struct sl_request *r, unsigned status, json_t *body)
{
    const char *argv[5] = { "SET", NULL, NULL, "EX", IDEM_TTL_TEXT };
    size_t len[5] = { 3, 0, 0, 2, sizeof IDEM_TTL_TEXT - 1 };
    char key[160];
    json_t *stored;

    /* Not waited for (sl_redis_defer): the answer does not depend on it,
     * and a retry that comes before it is stored, or after it was lost,
     * is answered from the request's status (replayed()) or sends the
     * same event id again, which the packager applies once. */
    if (r->idem_key && r->w && body) {
        stored = json_pack("{s:i, s:O}", "status", (int)status, "body", body);
        xw_buf_reset(&r->w->scratch);
        if (stored && xw_json_dump(stored, &r->w->scratch) == 0) {
            len[1] = (size_t)snprintf(key, sizeof key, "xw:idem:%s:%s",
                                      r->user, r->request_id);
            argv[1] = key;
            argv[2] = r->w->scratch.data;
            len[2] = r->w->scratch.len;
            sl_redis_defer(r, 5, argv, len);
        }
        json_decref(stored);
    }
    sl_reply(r, status, body);
}
