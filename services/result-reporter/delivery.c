/* Webhooks, the delivery pool (see webhooks.h): XW_WEBHOOK_WORKERS
 * threads, each with its own Redis connection and libcurl client.
 *
 * A worker's loop:
 *   CLAIM    the first due subscription (xw:wh:due score <= now) that is
 *            not paused and whose lease it can take (SET NX PX); the
 *            subscription's due time moves to the lease's end, so a worker
 *            that dies mid-turn only delays it by one lease.
 *   serve    reads URL and secret once, then up to TURN_MAX deliveries or
 *            TURN_MS: NEXT (the earliest due pending delivery), extend the
 *            lease, POST, RESULT. The first failure ends the turn: the
 *            delivery is retried at now + backoff, and the subscription is
 *            held (xw:wh:held) until then.
 *   RELEASE  drops the lease and makes the subscription due again at its
 *            earliest queued delivery (not before the hold), or takes it
 *            off the due set when its queue is empty.
 * So each subscription is served by one worker at a time, in due order,
 * and a slow endpoint ties up one worker for at most one timeout per
 * attempt while the others serve everybody else.
 *
 * Nothing here logs a URL beyond scheme://host:port/path (xw_http's
 * errstr) or ever logs a secret; the secret lives in a stack buffer wiped
 * after each turn.
 */
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "webhooks.h"
#include "xw_http.h"
#include "xw_id.h"
#include "xw_log.h"
#include "xw_metrics.h"
#include "xw_webhook.h"

#define TURN_MAX 100            /* deliveries per turn, then let others in */
#define TURN_MS 2000
#define SCAN_MAX 64             /* due subscriptions a CLAIM looks at */
#define HISTORY_MAX 10          /* attempts kept per delivery */
#define ERROR_MAX 200           /* bytes of last_error */
#define RESPONSE_MAX (64 * 1024) /* a receiver's answer body we read */
#define GAUGE_EVERY_MS 5000

XW_COUNTER(m_attempts, "xw_webhook_attempts_total",
           "webhook delivery attempts (HTTP requests sent)");
XW_COUNTER(m_delivered, "xw_webhook_delivered_total",
           "webhook deliveries answered 2xx");
XW_COUNTER(m_failed, "xw_webhook_failed_attempts_total",
           "webhook attempts that failed (non-2xx, timeout, network)");
XW_COUNTER(m_parked, "xw_webhook_parked_total",
           "webhook deliveries given up and parked as failed");
XW_GAUGE(m_depth, "xw_webhook_queue_depth",
         "webhook deliveries pending, all subscriptions");
XW_GAUGE(m_subs, "xw_webhook_subscriptions", "webhook subscriptions");

void rep_pool_metric_parked(uint64_t n)
{
    xw_metrics_add(&m_parked, n);
}

/* ---- scripts ------------------------------------------------------------ */

enum { DS_CLAIM, DS_NEXT, DS_RESULT, DS_RELEASE, DS_DEPTH, DS_N };

/* ARGV: now, token, lease ms, scan -> a subscription id, or false. */
static const char lua_claim[] =
    "local now, lease = tonumber(ARGV[1]), tonumber(ARGV[3])\n"
    "local ids = redis.call('ZRANGEBYSCORE', '" XW_WH_K_DUE "', '-inf', now,\n"
    "  'LIMIT', 0, tonumber(ARGV[4]))\n"
    "for _, id in ipairs(ids) do\n"
    "  local p = redis.call('HGET', '" XW_WH_K_SUB "' .. id, 'paused')\n"
    "  local lk = '" XW_WH_K_LEASE "' .. id\n"
    "  if not p or p == '1' then\n"
    "    redis.call('ZREM', '" XW_WH_K_DUE "', id)\n"
    "  elseif redis.call('SET', lk, ARGV[2], 'NX', 'PX', lease) then\n"
    "    redis.call('ZADD', '" XW_WH_K_DUE "', now + lease, id)\n"
    "    return id\n"
    "  else\n"
    "    local ttl = redis.call('PTTL', lk)\n"
    "    if ttl > 0 then\n"
    "      redis.call('ZADD', '" XW_WH_K_DUE "', now + ttl, id)\n"
    "    end\n"
    "  end\n"
    "end\n"
    "return false\n";

/* ARGV: sub, now -> {'go', delivery, body, type, created_at, requeued_at,
 * failures} or {'stop'} (paused or deleted) or {'empty'}. Entries whose
 * record is gone or no longer pending are dropped from the queue. */
static const char lua_next[] =
    "local p = redis.call('HGET', '" XW_WH_K_SUB "' .. ARGV[1], 'paused')\n"
    "if p ~= '0' then return {'stop'} end\n"
    "local q = '" XW_WH_K_QUEUE "' .. ARGV[1]\n"
    "for i = 1, 100 do\n"
    "  local ids = redis.call('ZRANGEBYSCORE', q, '-inf', ARGV[2],\n"
    "    'LIMIT', 0, 1)\n"
    "  if #ids == 0 then return {'empty'} end\n"
    "  local d = redis.call('HMGET', '" XW_WH_K_DELIVERY "' .. ids[1],\n"
    "    'status', 'body', 'type', 'created_at', 'requeued_at', 'failures')\n"
    "  if d[1] == 'pending' and d[2] then\n"
    "    return {'go', ids[1], d[2], d[3] or '', d[4] or '0', d[5] or '0',\n"
    "      d[6] or '0'}\n"
    "  end\n"
    "  redis.call('ZREM', q, ids[1])\n"
    "end\n"
    "return {'empty'}\n";

/* ARGV: sub, delivery, outcome (delivered | retry | failed | expired),
 * now, HTTP status, latency ms, error, next attempt / hold until, final
 * ttl s, history line, history cap -> 1 recorded, 0 gone. "expired" is
 * not an attempt: the delivery passed its retry window while waiting. */
static const char lua_result[] =
    "local sub, d, outcome = ARGV[1], ARGV[2], ARGV[3]\n"
    "local dk, q = '" XW_WH_K_DELIVERY "' .. d, '" XW_WH_K_QUEUE "' .. sub\n"
    "if redis.call('SISMEMBER', '" XW_WH_K_SUBS "', sub) == 0 then\n"
    "  redis.call('DEL', dk)\n"
    "  return 0\n"
    "end\n"
    "if redis.call('EXISTS', dk) == 0 then\n"
    "  redis.call('ZREM', q, d)\n"
    "  return 0\n"
    "end\n"
    "local lines = {}\n"
    "for l in string.gmatch(redis.call('HGET', dk, 'history') or '',\n"
    "    '[^\\n]+') do\n"
    "  lines[#lines + 1] = l\n"
    "end\n"
    "lines[#lines + 1] = ARGV[10]\n"
    "while #lines > tonumber(ARGV[11]) do table.remove(lines, 1) end\n"
    "if outcome == 'expired' then\n"
    "  redis.call('HSET', dk, 'status', 'failed', 'last_error', ARGV[7])\n"
    "  redis.call('HDEL', dk, 'next_attempt_at')\n"
    "  redis.call('ZREM', q, d)\n"
    "  redis.call('EXPIRE', dk, ARGV[9])\n"
    "  return 1\n"
    "end\n"
    "redis.call('HINCRBY', dk, 'attempts', 1)\n"
    "redis.call('HSET', dk, 'last_status', ARGV[5], 'last_latency_ms',\n"
    "  ARGV[6], 'last_error', ARGV[7], 'last_attempt_at', ARGV[4],\n"
    "  'history', table.concat(lines, '\\n'))\n"
    "if outcome == 'delivered' then\n"
    "  redis.call('HSET', dk, 'status', 'delivered', 'delivered_at', ARGV[4],\n"
    "    'failures', '0')\n"
    "  redis.call('HDEL', '" XW_WH_K_HELD "', sub)\n"
    "else\n"
    "  redis.call('HINCRBY', dk, 'failures', 1)\n"
    "  redis.call('HSET', '" XW_WH_K_HELD "', sub, ARGV[8])\n"
    "  if outcome == 'retry' then\n"
    "    redis.call('HSET', dk, 'next_attempt_at', ARGV[8])\n"
    "    redis.call('ZADD', q, ARGV[8], d)\n"
    "    return 1\n"
    "  end\n"
    "  redis.call('HSET', dk, 'status', 'failed')\n"
    "end\n"
    "redis.call('HDEL', dk, 'next_attempt_at')\n"
    "redis.call('ZREM', q, d)\n"
    "redis.call('EXPIRE', dk, ARGV[9])\n"
    "return 1\n";

/* ARGV: sub, token -> 1 due again, 0 queue empty (off the due set). */
static const char lua_release[] =
    "local sub = ARGV[1]\n"
    "local lk = '" XW_WH_K_LEASE "' .. sub\n"
    "if redis.call('GET', lk) == ARGV[2] then redis.call('DEL', lk) end\n"
    "local first = redis.call('ZRANGE', '" XW_WH_K_QUEUE "' .. sub, 0, 0,\n"
    "  'WITHSCORES')\n"
    "if #first == 0 or redis.call('HGET', '" XW_WH_K_SUB "' .. sub,\n"
    "    'paused') ~= '0' then\n"
    "  redis.call('ZREM', '" XW_WH_K_DUE "', sub)\n"
    "  return 0\n"
    "end\n"
    "local at = tonumber(first[2])\n"
    "local held = tonumber(redis.call('HGET', '" XW_WH_K_HELD "', sub))\n"
    "if held and held > at then at = held end\n"
    "redis.call('ZADD', '" XW_WH_K_DUE "', at, sub)\n"
    "return 1\n";

/* -> {deliveries pending, subscriptions} */
static const char lua_depth[] =
    "local n = 0\n"
    "local ids = redis.call('SMEMBERS', '" XW_WH_K_SUBS "')\n"
    "for _, id in ipairs(ids) do\n"
    "  n = n + redis.call('ZCARD', '" XW_WH_K_QUEUE "' .. id)\n"
    "end\n"
    "return {n, #ids}\n";

static const char *const ds_src[DS_N] = {
    [DS_CLAIM] = lua_claim, [DS_NEXT] = lua_next, [DS_RESULT] = lua_result,
    [DS_RELEASE] = lua_release, [DS_DEPTH] = lua_depth,
};

/* ---- the pool ----------------------------------------------------------- */

struct pool_cfg {
    const char *redis_url;        /* borrowed from the configuration */
    long connect_ms, timeout_ms, poll_ms;
    long long backoff_min_ms, backoff_max_ms, max_age_ms, final_ttl_s;
    int lease_ms;
};

struct worker {
    struct rep_pool *pool;
    int index;
    pthread_t thread;
    int started;
    xw_redis *redis;
    xw_http_client *http;
    char token[33];
    char sha[DS_N][41];
    xw_http_resp resp;
    xw_buf body;                  /* the delivery being sent */
};

struct rep_pool {
    struct pool_cfg cfg;
    atomic_int stop;
    size_t n;
    struct worker *w;
};

static int stopping(const struct rep_pool *p)
{
    return atomic_load(&p->stop) || xw_kafka_stop;
}

/* Sleeps ms in short slices, returning early on stop. */
static void nap(const struct rep_pool *p, long ms)
{
    while (ms > 0 && !stopping(p)) {
        long slice = ms < 50 ? ms : 50;

        nanosleep(&(struct timespec){ 0, slice * 1000000L }, NULL);
        ms -= slice;
    }
}

static int load_scripts(struct worker *w)
{
    for (int i = 0; i < DS_N; i++) {
        redisReply *rep = xw_redis_command_idem(w->redis, "SCRIPT LOAD %s",
                                                ds_src[i]);

        if (!rep || rep->type != REDIS_REPLY_STRING || rep->len != 40)
            return -1;
        memcpy(w->sha[i], rep->str, 41);
    }
    return 0;
}

/* EVALSHA script s with string arguments. A BORROWED reply (w->redis owns
 * it), or NULL (logged at debug: the caller backs off). Reloads the
 * scripts once if Redis lost them (restart). */
static redisReply *run(struct worker *w, int s, const char **args, int n,
                       int idempotent)
{
    const char *argv[16];
    redisReply *rep = NULL;

    argv[0] = "EVALSHA";
    argv[2] = "0";
    for (int i = 0; i < n && i < 13; i++)
        argv[3 + i] = args[i];
    for (int attempt = 0; attempt < 2; attempt++) {
        argv[1] = w->sha[s];
        rep = xw_redis_command_argv(w->redis, 3 + n, argv, NULL, idempotent);
        if (rep || attempt || w->redis->err != XW_REDIS_EREPLY
            || !strstr(w->redis->errstr, "NOSCRIPT") || load_scripts(w) < 0)
            break;
    }
    if (!rep)
        xw_debug("HOOK", "worker %d: %s", w->index, w->redis->errstr);
    return rep;
}

static void update_gauges(struct worker *w)
{
    redisReply *rep = run(w, DS_DEPTH, NULL, 0, 1);

    if (rep && rep->type == REDIS_REPLY_ARRAY && rep->elements == 2) {
        xw_metrics_set(&m_depth, (uint64_t)rep->element[0]->integer);
        xw_metrics_set(&m_subs, (uint64_t)rep->element[1]->integer);
    }
}

/* 1 claimed (id in sub), 0 nothing due, -1 Redis failed. */
static int claim(struct worker *w, char *sub, size_t len)
{
    struct pool_cfg *c = &w->pool->cfg;
    char now[24], lease[16], scan[16];
    const char *args[4] = { now, w->token, lease, scan };
    redisReply *rep;

    snprintf(now, sizeof now, "%lld", (long long)xw_now_ms());
    snprintf(lease, sizeof lease, "%d", c->lease_ms);
    snprintf(scan, sizeof scan, "%d", SCAN_MAX);
    if (!(rep = run(w, DS_CLAIM, args, 4, 0)))
        return -1;
    if (rep->type != REDIS_REPLY_STRING || rep->len >= len)
        return 0;
    memcpy(sub, rep->str, rep->len + 1);
    return 1;
}

/* URL and secret of sub into the caller's buffers. 1, or 0 if the
 * subscription is gone (or Redis failed: the turn ends either way). */
static int load_target(struct worker *w, const char *sub, char *url,
                       char *secret)
{
    redisReply *reps[2] = { NULL, NULL };
    int ok;

    if (xw_redis_append(w->redis, "HGET " XW_WH_K_SUB "%s url", sub) < 0
        || xw_redis_append(w->redis, "GET " XW_WH_K_SECRET "%s", sub) < 0
        || xw_redis_pipeline_exec(w->redis, reps, 2) < 0)
        return 0;
    ok = reps[0]->type == REDIS_REPLY_STRING && reps[0]->len <= XW_WH_URL_MAX
         && reps[1]->type == REDIS_REPLY_STRING
         && reps[1]->len <= XW_WH_SECRET_MAX;
    if (ok) {
        memcpy(url, reps[0]->str, reps[0]->len + 1);
        memcpy(secret, reps[1]->str, reps[1]->len + 1);
        /* The reply held the secret too. */
        explicit_bzero(reps[1]->str, reps[1]->len);
    }
    xw_redis_replies_free(reps, 2);
    return ok;
}

/* One delivery taken by NEXT. */
struct pending {
    char id[XW_UUID_LEN + 1];
    char type[32];
    long long created_at, requeued_at;
    int failures;
};

/* 1 a delivery to send (its body in w->body), 0 none / stop, -1 failed. */
static int next(struct worker *w, const char *sub, struct pending *d)
{
    char now[24];
    const char *args[2] = { sub, now };
    redisReply *rep, *const *e;

    snprintf(now, sizeof now, "%lld", (long long)xw_now_ms());
    if (!(rep = run(w, DS_NEXT, args, 2, 1)))
        return -1;
    e = rep->element;
    if (rep->type != REDIS_REPLY_ARRAY || rep->elements != 7
        || strcmp(e[0]->str, "go") != 0)
        return 0;
    if (e[1]->len > XW_UUID_LEN || e[3]->len >= sizeof d->type)
        return -1;
    memcpy(d->id, e[1]->str, e[1]->len + 1);
    memcpy(d->type, e[3]->str, e[3]->len + 1);
    d->created_at = strtoll(e[4]->str, NULL, 10);
    d->requeued_at = strtoll(e[5]->str, NULL, 10);
    d->failures = atoi(e[6]->str);
    xw_buf_reset(&w->body);
    return xw_buf_add(&w->body, e[2]->str, e[2]->len) < 0 ? -1 : 1;
}

static uint64_t rand64(void)
{
    uint64_t v = 0;

    if (xw_random_bytes(&v, sizeof v) < 0)
        v = (uint64_t)xw_mono_ms() * 6364136223846793005ULL;
    return v;
}

/* Records an attempt with the RESULT script. */
static void record(struct worker *w, const char *sub, const struct pending *d,
                   const char *outcome, long long now, long status,
                   long long latency, const char *error, long long next_at)
{
    struct pool_cfg *c = &w->pool->cfg;
    char snow[24], sstatus[16], slat[24], snext[24], sttl[24], shmax[8];
    const char *args[11];
    json_t *h;
    char *line;

    h = json_pack("{s:I, s:i, s:I, s:s}", "at", (json_int_t)now,
                  "status", (int)status, "latency_ms", (json_int_t)latency,
                  "error", error);
    line = h ? json_dumps(h, JSON_COMPACT) : NULL;
    json_decref(h);
    snprintf(snow, sizeof snow, "%lld", now);
    snprintf(sstatus, sizeof sstatus, "%ld", status);
    snprintf(slat, sizeof slat, "%lld", latency);
    snprintf(snext, sizeof snext, "%lld", next_at);
    snprintf(sttl, sizeof sttl, "%lld", c->final_ttl_s);
    snprintf(shmax, sizeof shmax, "%d", HISTORY_MAX);
    args[0] = sub;
    args[1] = d->id;
    args[2] = outcome;
    args[3] = snow;
    args[4] = sstatus;
    args[5] = slat;
    args[6] = error;
    args[7] = snext;
    args[8] = sttl;
    args[9] = line ? line : "{}";
    args[10] = shmax;
    if (!run(w, DS_RESULT, args, 11, 0))
        xw_warn("HOOK", "delivery %s of %s: attempt not recorded: %s", d->id,
                sub, w->redis->errstr);
    free(line);
}

/* The start of a delivery's retry window: its creation, or its manual
 * redelivery. */
static long long window_start(const struct pending *d)
{
    return d->requeued_at > d->created_at ? d->requeued_at : d->created_at;
}

/* A delivery still queued after its retry window (its subscription was
 * held by failures, or paused, all that time) is parked without another
 * attempt. 1 if it was. */
static int expire(struct worker *w, const char *sub, const struct pending *d)
{
    struct pool_cfg *c = &w->pool->cfg;
    long long now = xw_now_ms();

    if (now - window_start(d) <= c->max_age_ms)
        return 0;
    xw_metrics_add(&m_parked, 1);
    xw_warn("HOOK", "delivery %s of %s: not delivered within %lld s; parked "
            "as failed", d->id, sub, c->max_age_ms / 1000);
    record(w, sub, d, "expired", now, 0, 0, "expired: not delivered within "
           "XW_WEBHOOK_MAX_AGE_S", now);
    return 1;
}

/* Sends one delivery and records the attempt. 1 delivered, 0 failed
 * (retry scheduled or parked). */
static int attempt(struct worker *w, const char *sub, const char *url,
                   const char *secret, const struct pending *d)
{
    struct pool_cfg *c = &w->pool->cfg;
    char sig[XW_HTTP_SIG_MAX], h_dlv[80], h_evt[64], h_sig[160];
    char error[ERROR_MAX + 1] = "";
    const char *headers[] = { "Content-Type: application/json", h_dlv, h_evt,
                              h_sig, NULL };
    xw_http_req req = { "POST", url, headers, w->body.data, w->body.len,
                        c->connect_ms, c->timeout_ms, RESPONSE_MAX };
    long long t0, latency, now, next_at = 0;
    const char *outcome;
    int ok = 0;

    snprintf(h_dlv, sizeof h_dlv, "X-Xwdeploy-Delivery: %s", d->id);
    snprintf(h_evt, sizeof h_evt, "X-Xwdeploy-Event: %s", d->type);
    t0 = xw_mono_ms();
    if (xw_http_sign(secret, xw_now_ms() / 1000, w->body.data, w->body.len,
                     sig, sizeof sig) < 0) {
        snprintf(error, sizeof error, "signing failed");
        w->resp.status = 0;
    } else {
        snprintf(h_sig, sizeof h_sig, "X-Xwdeploy-Signature: %s", sig);
        xw_metrics_add(&m_attempts, 1);
        /* 2xx is delivered, even with an answer body over our cap. */
        ok = xw_http_request(w->http, &req, &w->resp) == 0
             || (w->resp.status >= 200 && w->resp.status < 300);
        if (!ok)
            snprintf(error, sizeof error, "%s", w->resp.errstr);
    }
    latency = xw_mono_ms() - t0;
    now = xw_now_ms();
    if (ok) {
        outcome = "delivered";
        xw_metrics_add(&m_delivered, 1);
        xw_debug("HOOK", "delivery %s of %s: %ld in %lld ms", d->id, sub,
                 w->resp.status, latency);
    } else {
        /* Retry after the backoff, unless that is past the delivery's
         * retry window (from its creation, or its manual redelivery). */
        next_at = now + xw_wh_backoff_ms(d->failures + 1, c->backoff_min_ms,
                                         c->backoff_max_ms, rand64());
        outcome = next_at - window_start(d) > c->max_age_ms ? "failed"
                                                           : "retry";
        xw_metrics_add(&m_failed, 1);
        if (outcome[0] == 'f')
            xw_metrics_add(&m_parked, 1);
        xw_warn("HOOK", "delivery %s of %s: attempt %d failed (%s, %lld ms)"
                "; %s", d->id, sub, d->failures + 1, error, latency,
                outcome[0] == 'f' ? "parked as failed" : "will retry");
    }
    record(w, sub, d, outcome, now, w->resp.status, latency, error,
           ok ? now : next_at);
    return ok;
}

static void release(struct worker *w, const char *sub)
{
    const char *args[2] = { sub, w->token };

    run(w, DS_RELEASE, args, 2, 1);
}

static void serve(struct worker *w, const char *sub)
{
    struct pool_cfg *c = &w->pool->cfg;
    char url[XW_WH_URL_MAX + 1], secret[XW_WH_SECRET_MAX + 1];
    int64_t until = xw_mono_ms() + TURN_MS;
    xw_redis_lock lk;
    struct pending d;

    memset(&lk, 0, sizeof lk);
    snprintf(lk.key, sizeof lk.key, XW_WH_K_LEASE "%s", sub);
    memcpy(lk.token, w->token, sizeof lk.token);
    lk.ttl_ms = c->lease_ms;
    if (load_target(w, sub, url, secret)) {
        for (int n = 0; n < TURN_MAX && !stopping(w->pool)
             && xw_mono_ms() < until; n++) {
            if (next(w, sub, &d) <= 0
                || xw_redis_lock_extend(w->redis, &lk, c->lease_ms) != 1)
                break;
            if (!expire(w, sub, &d) && !attempt(w, sub, url, secret, &d))
                break;
        }
    }
    explicit_bzero(secret, sizeof secret);
    release(w, sub);
}

static void *worker_main(void *arg)
{
    struct worker *w = arg;
    struct rep_pool *p = w->pool;
    char sub[REP_ID_MAX + 1], err[256];
    int64_t next_gauge = 0;

    while (!stopping(p) && !w->redis) {
        w->redis = xw_redis_connect(p->cfg.redis_url, NULL, err, sizeof err);
        if (!w->redis || load_scripts(w) < 0) {
            xw_warn("HOOK", "worker %d: redis: %s", w->index,
                    w->redis ? w->redis->errstr : err);
            xw_redis_free(w->redis);
            w->redis = NULL;
            nap(p, 1000);
        }
    }
    while (!stopping(p)) {
        if (w->index == 0 && xw_mono_ms() >= next_gauge) {
            update_gauges(w);
            next_gauge = xw_mono_ms() + GAUGE_EVERY_MS;
        }
        if (claim(w, sub, sizeof sub) == 1)
            serve(w, sub);
        else
            nap(p, p->cfg.poll_ms);
    }
    return NULL;
}

static void pool_free(struct rep_pool *p)
{
    for (size_t i = 0; i < p->n; i++) {
        xw_redis_free(p->w[i].redis);
        xw_http_client_free(p->w[i].http);
        xw_http_resp_release(&p->w[i].resp);
        xw_buf_release(&p->w[i].body);
    }
    free(p->w);
    free(p);
}

void rep_pool_stop(struct rep_pool *p)
{
    if (!p)
        return;
    atomic_store(&p->stop, 1);
    for (size_t i = 0; i < p->n; i++)
        if (p->w[i].started)
            pthread_join(p->w[i].thread, NULL);
    pool_free(p);
}

int rep_pool_start(struct rep_pool **out, const struct xw_config *cfg)
{
    long long n = xw_config_int(cfg, "XW_WEBHOOK_WORKERS");
    struct rep_pool *p;
    char err[256];
    unsigned char rnd[16];

    *out = NULL;
    xw_metrics_register(&m_attempts);
    xw_metrics_register(&m_delivered);
    xw_metrics_register(&m_failed);
    xw_metrics_register(&m_parked);
    xw_metrics_register(&m_depth);
    xw_metrics_register(&m_subs);
    if (n <= 0) {
        xw_info("HOOK", "XW_WEBHOOK_WORKERS=0: no webhook delivery here");
        return 0;
    }
    if (xw_http_global_init() < 0) {
        xw_error("HOOK", "libcurl initialisation failed");
        return -1;
    }
    if (!(p = calloc(1, sizeof *p)) || !(p->w = calloc((size_t)n,
                                                       sizeof *p->w))) {
        free(p);
        xw_error("HOOK", "out of memory");
        return -1;
    }
    p->cfg.redis_url = xw_config_str(cfg, "XW_REDIS_URL");
    p->cfg.connect_ms = (long)xw_config_int(cfg,
                                            "XW_WEBHOOK_CONNECT_TIMEOUT_MS");
    p->cfg.timeout_ms = (long)xw_config_int(cfg, "XW_WEBHOOK_TIMEOUT_MS");
    p->cfg.poll_ms = (long)xw_config_int(cfg, "XW_WEBHOOK_POLL_MS");
    p->cfg.backoff_min_ms = xw_config_int(cfg, "XW_WEBHOOK_BACKOFF_MIN_MS");
    p->cfg.backoff_max_ms = xw_config_int(cfg, "XW_WEBHOOK_BACKOFF_MAX_MS");
    p->cfg.max_age_ms = xw_config_int(cfg, "XW_WEBHOOK_MAX_AGE_S") * 1000;
    p->cfg.final_ttl_s = xw_config_int(cfg, "XW_DEDUPE_TTL_S");
    /* A lease outlives a whole turn plus one attempt. */
    p->cfg.lease_ms = (int)(p->cfg.timeout_ms + TURN_MS + 5000);
    if (p->cfg.backoff_min_ms > p->cfg.backoff_max_ms) {
        xw_error("INIT", "XW_WEBHOOK_BACKOFF_MIN_MS (%lld) is above "
                 "XW_WEBHOOK_BACKOFF_MAX_MS (%lld)", p->cfg.backoff_min_ms,
                 p->cfg.backoff_max_ms);
        goto fail;
    }
    p->n = (size_t)n;
    for (size_t i = 0; i < p->n; i++) {
        struct worker *w = &p->w[i];

        w->pool = p;
        w->index = (int)i;
        xw_http_resp_init(&w->resp);
        xw_buf_init(&w->body, 0);
        if (xw_random_bytes(rnd, sizeof rnd) < 0
            || !(w->http = xw_http_client_new(err, sizeof err))) {
            xw_error("HOOK", "worker %zu: %s", i, w->http ? "no randomness"
                                                          : err);
            goto fail;
        }
        xw_hex(rnd, sizeof rnd, w->token);
    }
    for (size_t i = 0; i < p->n; i++) {
        if (pthread_create(&p->w[i].thread, NULL, worker_main, &p->w[i])) {
            xw_error("HOOK", "cannot start delivery thread %zu", i);
            goto fail;
        }
        p->w[i].started = 1;
    }
    xw_info("HOOK", "%zu webhook delivery worker(s), timeout %ld ms, backoff "
            "%lld..%lld ms, give up after %lld s", p->n, p->cfg.timeout_ms,
            p->cfg.backoff_min_ms, p->cfg.backoff_max_ms,
            p->cfg.max_age_ms / 1000);
    *out = p;
    return 0;
fail:
    rep_pool_stop(p);
    return -1;
}
