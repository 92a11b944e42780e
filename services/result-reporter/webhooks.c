/* Webhooks, the consumer thread's half (see webhooks.h): a cache of the
 * subscriptions, matching each outgoing event against their filters, and
 * one ENQUEUE script per (subscription, event) sent as a pipeline after
 * the event is on Kafka. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "webhooks.h"
#include "xw_avro_json.h"
#include "xw_log.h"
#include "xw_metrics.h"
#include "xw_webhook.h"

XW_COUNTER(m_enqueued, "xw_webhook_enqueued_total",
           "webhook deliveries enqueued (one per matching subscription and "
           "event)");

/* ARGV: delivery, sub, event_id, type, package_id, body, now, owner ('' =
 * scope all), source ws, destination ws, log cap, queue cap, final ttl.
 * -> 1 queued, 0 already there (a batch that ran again), 2 parked at once
 * (the subscription's queue is full), -1 subscription gone, -2 owner is
 * a member of neither workspace (membership is checked now, so losing it
 * stops the deliveries). */
const char rep_lua_wh_enqueue[] = XW_WH_LUA_DUE
    "local d, sub, now = ARGV[1], ARGV[2], tonumber(ARGV[7])\n"
    "local dk = '" XW_WH_K_DELIVERY "' .. d\n"
    "if redis.call('EXISTS', dk) == 1 then return 0 end\n"
    "if redis.call('SISMEMBER', '" XW_WH_K_SUBS "', sub) == 0 then\n"
    "  return -1\n"
    "end\n"
    "local owner = ARGV[8]\n"
    "if owner ~= '' then\n"
    "  local a = redis.call('HGET', 'xw:ws:' .. ARGV[9] .. ':roles', owner)\n"
    "  local b = redis.call('HGET', 'xw:ws:' .. ARGV[10] .. ':roles', owner)\n"
    "  if (not a or a == '') and (not b or b == '') then return -2 end\n"
    "end\n"
    "local q, l = '" XW_WH_K_QUEUE "' .. sub, '" XW_WH_K_LOG "' .. sub\n"
    "local full = redis.call('ZCARD', q) >= tonumber(ARGV[12])\n"
    "redis.call('HSET', dk, 'id', d, 'sub', sub, 'event_id', ARGV[3],\n"
    "  'type', ARGV[4], 'package_id', ARGV[5], 'body', ARGV[6],\n"
    "  'created_at', ARGV[7], 'attempts', '0', 'failures', '0')\n"
    "redis.call('LPUSH', l, d)\n"
    "redis.call('LTRIM', l, 0, tonumber(ARGV[11]) - 1)\n"
    "if full then\n"
    "  redis.call('HSET', dk, 'status', 'failed', 'last_error',\n"
    "    'parked: the subscription has ' .. ARGV[12] .. ' deliveries pending')\n"
    "  redis.call('EXPIRE', dk, ARGV[13])\n"
    "  return 2\n"
    "end\n"
    "redis.call('HSET', dk, 'status', 'pending', 'next_attempt_at', ARGV[7])\n"
    "redis.call('ZADD', q, now, d)\n"
    "local held = tonumber(redis.call('HGET', '" XW_WH_K_HELD "', sub))\n"
    "if held and held > now then now = held end\n"
    "wh_due(sub, now)\n"
    "return 1\n";

/* One cached subscription: what matching needs (never the URL or the
 * secret: those are read by the delivery workers when they send). */
struct rep_wh_sub {
    char id[REP_ID_MAX + 1];
    char owner[REP_ID_MAX + 1];
    int scope_all;
    struct xw_wh_filter filter;
};

struct rep_wh {
    long long version;            /* of the cache; -1: never loaded */
    struct rep_wh_sub *subs;
    size_t nsubs;
    xw_avro_decoder *dec;         /* for the copies' bytes */
    struct rep_cmds q;            /* ENQUEUE commands noted */
    long long log_max, queue_max, final_ttl_s;
};

int rep_wh_init(struct reporter *r)
{
    const struct xw_config *cfg = &r->svc->cfg;
    struct rep_wh *wh = calloc(1, sizeof *wh);

    if (!wh) {
        xw_error("HOOK", "out of memory");
        return -1;
    }
    r->wh = wh;
    wh->version = -1;
    wh->log_max = xw_config_int(cfg, "XW_WEBHOOK_LOG_MAX");
    wh->queue_max = xw_config_int(cfg, "XW_WEBHOOK_QUEUE_MAX");
    wh->final_ttl_s = xw_config_int(cfg, "XW_DEDUPE_TTL_S");
    xw_metrics_register(&m_enqueued);
    if (xw_avro_decoder_new(&wh->dec, r->svc->avro) < 0) {
        xw_error("HOOK", "avro decoder: out of memory");
        return -1;
    }
    return 0;
}

void rep_wh_free(struct reporter *r)
{
    struct rep_wh *wh = r->wh;

    if (!wh)
        return;
    rep_cmds_free(&wh->q);
    xw_avro_decoder_free(wh->dec);
    free(wh->subs);
    free(wh);
    r->wh = NULL;
}

void rep_wh_reset(struct reporter *r)
{
    if (r->wh)
        rep_cmds_reset(&r->wh->q);
}

/* One HMGET reply (id owner scope filter) into s; 0, or -1 to skip it (a
 * subscription deleted meanwhile, or a filter that no longer parses). */
static int sub_from_reply(const redisReply *rep, struct rep_wh_sub *s)
{
    redisReply *const *e = rep->element;
    xw_json_err je;
    json_error_t pe;
    json_t *f;
    int rc;

    if (rep->type != REDIS_REPLY_ARRAY || rep->elements != 4)
        return -1;
    for (int i = 0; i < 4; i++)
        if (e[i]->type != REDIS_REPLY_STRING)
            return -1;
    if (e[0]->len > REP_ID_MAX || e[1]->len > REP_ID_MAX)
        return -1;
    memcpy(s->id, e[0]->str, e[0]->len + 1);
    memcpy(s->owner, e[1]->str, e[1]->len + 1);
    s->scope_all = strcmp(e[2]->str, "all") == 0;
    f = json_loadb(e[3]->str, e[3]->len, 0, &pe);
    rc = f ? xw_wh_filter_from_json(&s->filter, f, &je) : -1;
    json_decref(f);
    return rc;
}

int rep_wh_refresh(struct reporter *r)
{
    struct rep_wh *wh = r->wh;
    struct rep_wh_sub *subs = NULL;
    redisReply *rep, *ids = NULL, **reps = NULL;
    long long version;
    size_t n = 0, k = 0;
    int rc = -1;

    if (!wh)
        return 0;
    if (!(rep = xw_redis_command_idem(r->redis, "GET " XW_WH_K_VERSION)))
        return -1;
    version = rep->type == REDIS_REPLY_STRING ? strtoll(rep->str, NULL, 10)
                                              : 0;
    if (version == wh->version)
        return 0;
    /* The version is read first: a change racing with the reload makes
     * the next batch reload again, never the other way round. */
    if (!xw_redis_command_idem(r->redis, "SMEMBERS " XW_WH_K_SUBS)
        || !(ids = xw_redis_reply_take(r->redis)))
        goto out;
    n = ids->type == REDIS_REPLY_ARRAY ? ids->elements : 0;
    if (n && (!(reps = calloc(n, sizeof *reps))
              || !(subs = calloc(n, sizeof *subs)))) {
        snprintf(r->redis->errstr, sizeof r->redis->errstr, "out of memory");
        goto out;
    }
    for (size_t i = 0; i < n; i++)
        if (xw_redis_append(r->redis, "HMGET " XW_WH_K_SUB "%s id owner "
                            "scope filter", ids->element[i]->str) < 0)
            goto out;
    if (n && xw_redis_pipeline_exec(r->redis, reps, n) < 0)
        goto out;
    for (size_t i = 0; i < n; i++)
        if (sub_from_reply(reps[i], &subs[k]) == 0)
            k++;
    free(wh->subs);
    wh->subs = subs;
    subs = NULL;
    wh->nsubs = k;
    wh->version = version;
    xw_info("HOOK", "%zu webhook subscription(s) (version %lld)", k, version);
    rc = 0;
out:
    if (reps)
        xw_redis_replies_free(reps, n);
    free(reps);
    free(subs);
    freeReplyObject(ids);
    return rc;
}

/* The event's string field copied into out (NUL-terminated), "" if it is
 * missing or longer than REP_ID_MAX. */
static void field(const avro_value_t *v, const char *name,
                  char out[REP_ID_MAX + 1])
{
    const char *s;
    size_t len;

    out[0] = '\0';
    if (xw_avro_get_string(v, name, &s, &len) == 0 && len <= REP_ID_MAX) {
        memcpy(out, s, len);
        out[len] = '\0';
    }
}

/* The body: {"type": ..., then every field of the event}, stored once in
 * the arena for all the subscriptions it goes to. (Webhook events have no
 * field of their own named "type".) */
static int body_str(struct reporter *r, const avro_value_t *v,
                    const char *type, struct rep_str *out)
{
    xw_buf *a = &r->arena;
    size_t at;

    out->off = a->len;
    if (xw_buf_adds(a, "{\"type\":") < 0
        || xw_avro_json_write_string(a, type, strlen(type)) < 0)
        goto fail;
    at = a->len;
    if (xw_avro_json_write(v, a) < 0)
        goto fail;
    /* The event's object continues the body's: its '{' becomes ','. */
    if (a->len - at > 2)
        a->data[at] = ',';
    else
        xw_buf_setlen(a, at);
    if (a->len == at && xw_buf_addch(a, '}') < 0)
        goto fail;
    out->len = a->len - out->off;
    return xw_buf_addch(a, '\0');
fail:
    xw_buf_setlen(a, out->off);
    return -1;
}

int rep_wh_note(struct reporter *r, const avro_value_t *v)
{
    struct rep_wh *wh = r->wh;
    const xw_avro_type *t;
    char event_id[REP_ID_MAX + 1], pkg[REP_ID_MAX + 1];
    char src[REP_ID_MAX + 1], dst[REP_ID_MAX + 1];
    char id[XW_UUID_LEN + 1], now[24];
    const char *status = NULL, *type;
    struct xw_wh_match ev;
    struct rep_str body = { 0, 0 };
    int have_body = 0;

    if (!wh || !wh->nsubs || !(t = xw_avro_value_type(v)))
        return 0;
    ev.type = xw_wh_event_of_schema(t->short_name);
    if (!ev.type)
        return 0;
    type = xw_wh_event_name(ev.type);
    field(v, "event_id", event_id);
    field(v, "package_id", pkg);
    field(v, "source_workspace", src);
    field(v, "destination_workspace", dst);
    if (xw_avro_get_enum(v, ev.type == XW_WH_OBJECT_RESULT ? "outcome"
                                                          : "status",
                         &status) != 0)
        status = NULL;
    ev.source = src;
    ev.destination = dst;
    ev.status = status;
    snprintf(now, sizeof now, "%lld", (long long)xw_now_ms());
    for (size_t i = 0; i < wh->nsubs; i++) {
        const struct rep_wh_sub *s = &wh->subs[i];
        struct rep_cmds *l = &wh->q;

        if (!event_id[0] || !xw_wh_filter_match(&s->filter, &ev))
            continue;
        if (!have_body && body_str(r, v, type, &body) < 0)
            return -1;
        have_body = 1;
        xw_wh_delivery_id(s->id, event_id, id);
        if (rep_cmd_script(r, l, REP_OP_WEBHOOK, REP_LUA_WH_ENQUEUE, 0) < 0
            || rep_arg(r, l, id, strlen(id)) < 0
            || rep_arg(r, l, s->id, strlen(s->id)) < 0
            || rep_arg(r, l, event_id, strlen(event_id)) < 0
            || rep_arg(r, l, type, strlen(type)) < 0
            || rep_arg(r, l, pkg, strlen(pkg)) < 0
            || rep_arg_str(l, body) < 0
            || rep_arg(r, l, now, strlen(now)) < 0
            || rep_arg(r, l, s->scope_all ? "" : s->owner,
                       s->scope_all ? 0 : strlen(s->owner)) < 0
            || rep_arg(r, l, src, strlen(src)) < 0
            || rep_arg(r, l, dst, strlen(dst)) < 0
            || rep_argf(r, l, "%lld", wh->log_max) < 0
            || rep_argf(r, l, "%lld", wh->queue_max) < 0
            || rep_argf(r, l, "%lld", wh->final_ttl_s) < 0)
            return -1;
    }
    return 0;
}

int rep_wh_note_bytes(struct reporter *r, const void *data, size_t len)
{
    const xw_avro_type *t;
    avro_value_t *v;
    xw_avro_err ae;

    if (!r->wh || !r->wh->nsubs)
        return 0;
    if (xw_avro_decode(r->wh->dec, data, len, &t, &v, &ae) < 0) {
        xw_warn("HOOK", "copy not decodable for webhooks: %s", ae.msg);
        return -1;
    }
    return rep_wh_note(r, v);
}

int rep_wh_enqueue(struct reporter *r)
{
    struct rep_wh *wh = r->wh;
    uint64_t queued = 0, parked = 0;

    if (!wh || !wh->q.n)
        return 0;
    if (rep_exec(r, &wh->q) < 0) {
        xw_warn("REDIS", "webhook deliveries not enqueued: %s",
                r->redis->errstr);
        return -1;
    }
    for (size_t i = 0; i < wh->q.nreplies; i++) {
        const redisReply *rep = wh->q.replies[i];

        if (rep->type != REDIS_REPLY_INTEGER)
            continue;
        queued += rep->integer == 1;
        parked += rep->integer == 2;
    }
    xw_metrics_add(&m_enqueued, queued);
    rep_pool_metric_parked(parked);
    if (queued || parked)
        xw_debug("HOOK", "%llu delivery(ies) enqueued, %llu parked",
                 (unsigned long long)queued, (unsigned long long)parked);
    rep_cmds_reset(&wh->q);
    return 0;
}
