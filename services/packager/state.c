/* The packager's Redis side: transactions with the applied-marker,
 * request status, and small shared helpers. */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "packager.h"
#include "xw_avro_json.h"
#include "xw_id.h"
#include "xw_json.h"
#include "xw_log.h"

#define REQ_TTL_S (7 * 86400)

int tx_begin(struct packager *p)
{
    p->ntx = 0;
    return TX(p, "MULTI");
}

int tx_commit(struct packager *p, const struct command *c)
{
    redisReply **replies = NULL;
    size_t n;
    int rc = -1;

    if (TX(p, "SET xw:seen:packager:%s 1 EX %lld", c->event_id,
           p->dedupe_ttl_s) < 0
        || TX(p, "EXEC") < 0)
        goto out;
    n = (size_t)p->ntx;
    replies = calloc(n, sizeof *replies);
    if (!replies) {
        xw_redis_pipeline_discard(p->redis);
        goto out;
    }
    if (xw_redis_pipeline_exec(p->redis, replies, n) < 0) {
        xw_warn("TX", "event %s: %s", c->event_id, p->redis->errstr);
        goto out;
    }
    /* EXEC answers nil when the transaction was aborted. */
    rc = replies[n - 1]->type == REDIS_REPLY_ARRAY ? 0 : -1;
out:
    if (replies)
        xw_redis_replies_free(replies, n);
    free(replies);
    p->ntx = 0;
    return rc;
}

int tx_request_status(struct packager *p, const struct command *c,
                      const char *status, json_t *result, json_t *error)
{
    xw_buf r = XW_BUF_INIT, e = XW_BUF_INIT;
    int rc;

    if (result)
        xw_json_dump(result, &r);
    if (error)
        xw_json_dump(error, &e);
    rc = TX(p, "HSET xw:req:%s status %s result %b error %b updated_at %lld",
            c->event_id, status, r.data, r.len, e.data, e.len,
            (long long)xw_now_ms());
    if (rc == 0)
        rc = TX(p, "EXPIRE xw:req:%s %d", c->event_id, REQ_TTL_S);
    xw_buf_release(&r);
    xw_buf_release(&e);
    json_decref(result);
    json_decref(error);
    return rc;
}

int pkg_reject(struct packager *p, const struct command *c, int http_status,
               const char *field, const char *code, const char *fmt, ...)
{
    char msg[400];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    xw_info("CMD", "rejected %s: %s", c->event_id, msg);
    if (tx_begin(p) < 0
        || tx_request_status(p, c, "rejected", NULL,
                             json_pack("{s:i, s:s, s:s, s:s}", "status",
                                       http_status, "field", field, "rule",
                                       code, "message", msg)) < 0
        || tx_commit(p, c) < 0)
        return -1;
    return 0;
}

json_t *pkg_load_json(struct packager *p, const char *fmt, const char *a,
                      const char *b, int *failed)
{
    redisReply *rep = b ? xw_redis_command_idem(p->redis, fmt, a, b)
                        : xw_redis_command_idem(p->redis, fmt, a);
    json_error_t je;

    *failed = 0;
    if (!rep) {
        *failed = 1;
        return NULL;
    }
    if (rep->type != REDIS_REPLY_STRING)
        return NULL;
    return json_loadb(rep->str, rep->len, 0, &je);
}

const char *pkg_str(const avro_value_t *v, const char *field)
{
    const char *s = NULL;

    if (xw_avro_get_string(v, field, &s, NULL) != 0 || !s)
        return "";
    return s;
}

int pkg_envelope(struct packager *p, avro_value_t *v, const struct command *c,
                 const char *scope, long index)
{
    char id[XW_UUID_LEN + 1];

    (void)p;
    xw_uuid_derive(scope, c->event_id, index, id);
    if (xw_avro_set_string(v, "event_id", id) < 0
        || xw_avro_set_long(v, "occurred_at", xw_now_ms()) < 0
        || xw_avro_set_string(v, "actor", c->actor) < 0
        || xw_avro_set_string(v, "correlation_id", c->correlation_id) < 0)
        return -1;
    return 0;
}

int pkg_fill_specs(avro_value_t *v, const char *field, redisReply **specs,
                   size_t n, struct xw_handle_error *err)
{
    xw_avro_json_error je;

    if (xw_avro_array_clear(v, field) < 0)
        return -1;
    for (size_t i = 0; i < n; i++) {
        json_error_t pe;
        json_t *j;
        avro_value_t el;
        int rc;

        if (!specs[i] || specs[i]->type != REDIS_REPLY_STRING)
            continue;
        j = json_loadb(specs[i]->str, specs[i]->len, 0, &pe);
        if (!j)
            continue;
        rc = xw_avro_array_append(v, field, &el) < 0
             || xw_avro_from_json(&el, j, NULL, &je) < 0 ? -1 : 0;
        json_decref(j);
        if (rc < 0) {
            snprintf(err->code, sizeof err->code, "stored_spec_invalid");
            snprintf(err->reason, sizeof err->reason,
                     "a stored object spec no longer fits ObjectSpec: %s",
                     je.message);
            return -1;
        }
    }
    return 0;
}

enum xw_handle_result pkg_emit(struct packager *p, avro_value_t *v,
                               enum xw_topic topic, const char *key,
                               struct xw_handle_error *err)
{
    xw_avro_err ae;

    if (xw_avro_encode(v, &p->enc, &ae) < 0) {
        snprintf(err->code, sizeof err->code, "encode");
        snprintf(err->reason, sizeof err->reason, "%s", ae.msg);
        return XW_HANDLE_RETRY;
    }
    if (xw_kafka_produce(p->svc->producer, topic, key, strlen(key),
                         p->enc.data, p->enc.len, err->reason,
                         sizeof err->reason) < 0) {
        snprintf(err->code, sizeof err->code, "produce");
        return XW_HANDLE_RETRY;
    }
    return XW_HANDLE_OK;
}
