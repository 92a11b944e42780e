/* Step 4: starting a deployment attempt (or a replay of the failed
 * objects) and handing its objects to the mapper in chunks. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "packager.h"
#include "xw_log.h"

/* Assigns the attempt number of one DeployRequested, once: a redelivery
 * gets the number it got the first time, and the object list of the
 * attempt is stored with it, in the same script. */
static const char *const ATTEMPT_LUA =
    "local a = redis.call('HGET', KEYS[1], ARGV[1])\n"
    "if a then return tonumber(a) end\n"
    "a = redis.call('HINCRBY', KEYS[1], 'attempt', 1)\n"
    "redis.call('HSET', KEYS[1], ARGV[1], a)\n"
    "local l = KEYS[1] .. ':att:' .. a\n"
    "redis.call('DEL', l)\n"
    "for i = 2, #ARGV, 1000 do\n"
    "  redis.call('RPUSH', l, unpack(ARGV, i, math.min(i + 999, #ARGV)))\n"
    "end\n"
    "return a\n";

/* 1 if a stored latest result (a value of xw:res:{pkg}) says failed, else
 * 0. The reporter stores the ObjectResult message itself (Avro
 * single-object encoding), older versions its JSON: a value without the
 * Avro marker is read as JSON. One that reads as neither is not failed
 * (as before). */
static int result_failed(xw_avro_decoder *dec, const redisReply *v)
{
    const xw_avro_type *t;
    avro_value_t *avro;
    xw_avro_err ae;
    json_error_t je;
    json_t *json;
    const char *o = NULL;
    int rc, failed;

    if (v->type != REDIS_REPLY_STRING)
        return 0;
    rc = xw_avro_decode(dec, v->str, v->len, &t, &avro, &ae);
    if (rc == 0)
        return strcmp(t->short_name, "ObjectResult") == 0
            && xw_avro_get_enum(avro, "outcome", &o) == 0
            && strcmp(o, "failed") == 0;
    if (rc != XW_AVRO_EMARKER)
        return 0;   /* broken Avro, or too short to be a failed result */
    json = json_loadb(v->str, v->len, 0, &je);
    o = json_string_value(json_object_get(json, "outcome"));
    failed = o && strcmp(o, "failed") == 0;
    json_decref(json);
    return failed;
}

/* The ids an attempt runs: every frozen object, or for a replay the ones
 * whose latest result is failed ("only its failed objects run again").
 * Returns a NEW reply array of ids (element strings), NULL on a Redis
 * failure (or out of memory). */
static redisReply *attempt_ids(struct packager *p, const char *pkg, int replay)
{
    xw_avro_decoder *dec = NULL;
    redisReply *all, *out;
    size_t n = 0;

    if (!replay) {
        if (!xw_redis_command_idem(p->redis, "HKEYS xw:pkg:%s:avro", pkg))
            return NULL;
        return xw_redis_reply_take(p->redis);
    }
    /* Its own decoder: decoding into p->dec would end the life of the
     * command being applied (c->v). A replay is rare; this is cheap. */
    if (xw_avro_decoder_new(&dec, p->svc->avro) < 0) {
        snprintf(p->redis->errstr, sizeof p->redis->errstr,
                 "out of memory (decoder)");
        return NULL;
    }
    if (!xw_redis_command_idem(p->redis, "HGETALL xw:res:%s", pkg)) {
        xw_avro_decoder_free(dec);
        return NULL;
    }
    all = xw_redis_reply_take(p->redis);
    /* Keep the ids whose result says failed; reuse the reply's own
     * element array (ids at even positions). */
    out = all;
    for (size_t i = 0; i + 1 < all->elements; i += 2) {
        if (result_failed(dec, all->element[i + 1])) {
            redisReply *tmp = out->element[n];

            out->element[n] = all->element[i];
            all->element[i] = tmp;
            n++;
        }
    }
    for (size_t i = n; i < all->elements; i++) {
        freeReplyObject(all->element[i]);
        all->element[i] = NULL;
    }
    out->elements = n;
    xw_avro_decoder_free(dec);
    return out;
}

static enum xw_handle_result emit_started(struct packager *p,
                                          struct command *c, const char *pkg,
                                          json_t *meta, long long attempt,
                                          struct xw_handle_error *err)
{
    avro_value_t *v = &p->started.value;
    redisReply *ids = NULL;
    const char **argv = NULL;
    const char *override = NULL;
    int64_t deploy_at = 0;
    size_t n, total, chunks;
    enum xw_handle_result r = XW_HANDLE_OK;

    if (xw_avro_get_long(c->v, "deploy_at", &deploy_at) != 0)
        deploy_at = c->occurred_at;     /* the instant the deploy was asked */
    if (xw_avro_get_string(c->v, "resource_group_override", &override, NULL)
        != 0)
        override = NULL;
    if (!xw_redis_command_idem(p->redis, "LRANGE xw:pkg:%s:att:%lld 0 -1", pkg,
                               attempt))
        return RETRY(err, "redis: %s", p->redis->errstr);
    ids = xw_redis_reply_take(p->redis);
    n = total = ids->elements;
    if (!(argv = calloc(n + 1, sizeof *argv))) {
        r = RETRY(err, "out of memory");
        goto out;
    }
    for (size_t i = 0; i < n; i++)
        argv[i] = ids->element[i]->str;
    if ((r = pkg_load_frozen(p, pkg, argv, n, err)) != XW_HANDLE_OK)
        goto out;
    /* total stays the attempt's list: an object without a frozen spec
     * (never expected) then times out as failed rather than vanishing. */
    xw_avro_array_size(&p->specs.value, "objects", &n);
    chunks = n ? (n + PKG_CHUNK - 1) / PKG_CHUNK : 1;
    for (size_t k = 0; k < chunks && r == XW_HANDLE_OK; k++) {
        size_t from = k * PKG_CHUNK, cnt = n - from < PKG_CHUNK ? n - from
                                                                : PKG_CHUNK;

        xw_avro_value_reset(&p->started);
        if (pkg_envelope(p, v, c, "packager.started", (long)k) < 0
            || xw_avro_set_string(v, "package_id", pkg) < 0
            || xw_avro_set_int(v, "attempt", (int32_t)attempt) < 0
            || xw_avro_set_string(v, "source_workspace", json_string_value(
                   json_object_get(meta, "source_workspace"))) < 0
            || xw_avro_set_string(v, "destination_workspace", json_string_value(
                   json_object_get(meta, "destination_workspace"))) < 0
            || xw_avro_set_string(v, "environment", json_string_value(
                   json_object_get(meta, "environment"))) < 0
            || xw_avro_set_string(v, "creator", json_string_value(
                   json_object_get(meta, "creator"))) < 0
            || xw_avro_set_string(v, "executor", pkg_str(c->v, "executor")) < 0
            || xw_avro_set_string(v, "resource_group_override", override) < 0
            || xw_avro_set_long(v, "deploy_at", deploy_at) < 0
            || xw_avro_set_int(v, "chunk", (int32_t)k) < 0
            || xw_avro_set_int(v, "chunks", (int32_t)chunks) < 0
            || xw_avro_set_int(v, "total", (int32_t)total) < 0
            || pkg_copy_specs(p, v, from, cnt) < 0) {
            r = RETRY(err, "building DeployStarted");
            break;
        }
        r = pkg_emit(p, v, XW_TOPIC_DEPLOY, pkg, err);
    }
out:
    free(argv);
    if (ids)
        freeReplyObject(ids);
    return r;
}

/* The request's final status and the event's marker, in one transaction.
 * 0 or -1 (Redis). */
static int commit_started(struct packager *p, const struct command *c,
                          const char *pkg, long long attempt, size_t objects,
                          bool replay)
{
    if (tx_begin(p) < 0
        || tx_request_status(p, c, "done",
                             json_pack("{s:s, s:I, s:I, s:b}", "package_id",
                                       pkg, "attempt", (json_int_t)attempt,
                                       "objects", (json_int_t)objects,
                                       "replay", replay), NULL) < 0
        || tx_commit(p, c) < 0)
        return -1;
    return 0;
}

enum xw_handle_result apply_deploy(struct packager *p, struct command *c,
                                   struct xw_handle_error *err)
{
    const char *pkg = pkg_str(c->v, "package_id");
    redisReply *rep, *ids = NULL;
    const char **argv = NULL;
    json_t *meta = NULL, *sum = NULL;
    char key[96], field[64];
    long long attempt = 0;
    bool replay = false;
    int failed = 0;
    enum xw_handle_result r = XW_HANDLE_OK;

    xw_avro_get_bool(c->v, "replay", &replay);
    meta = pkg_load_json(p, "HGET xw:pkg:%s meta", pkg, NULL, &failed);
    if (failed)
        goto redis;
    if (!meta) {
        if (pkg_reject(p, c, 404, "package", "not_found",
                       "package '%s' does not exist", pkg) < 0)
            goto redis;
        goto out;
    }
    snprintf(field, sizeof field, "deploy:%s", c->event_id);
    rep = xw_redis_command_idem(p->redis, "HGET xw:pkg:%s %s", pkg, field);
    if (!rep)
        goto redis;
    if (rep->type == REDIS_REPLY_STRING) {
        /* Started before: only hand the attempt to the mapper again. */
        attempt = strtoll(rep->str, NULL, 10);
        /* Without the marker, the delivery that started it died (or lost
         * Redis) between the attempt script and the transaction below:
         * finish that now, or the request stays "pending" for ever. */
        if (!c->seen) {
            if (!(rep = xw_redis_command_idem(p->redis,
                                              "LLEN xw:pkg:%s:att:%lld", pkg,
                                              attempt))
                || commit_started(p, c, pkg, attempt, (size_t)rep->integer,
                                  replay) < 0)
                goto redis;
        }
        r = emit_started(p, c, pkg, meta, attempt, err);
        goto out;
    }
    if (c->seen)
        goto out; /* rejected before: nothing to re-emit */
    sum = pkg_load_json(p, "GET xw:pkgsum:%s", pkg, NULL, &failed);
    if (failed)
        goto redis;
    {
        const char *st = json_string_value(json_object_get(sum, "status"));

        if (st && strcmp(st, "deploying") == 0) {
            if (pkg_reject(p, c, 409, "package", "state",
                           "package '%s' is being deployed", pkg) < 0)
                goto redis;
            goto out;
        }
        if (replay && (!st || strcmp(st, "failed") != 0)) {
            if (pkg_reject(p, c, 409, "package", "state",
                           "only a failed package can be replayed; '%s' is %s",
                           pkg, st ? st : "pending") < 0)
                goto redis;
            goto out;
        }
    }
    if (!(ids = attempt_ids(p, pkg, replay)))
        goto redis;
    argv = calloc(ids->elements + 5, sizeof *argv);
    if (!argv)
        goto redis;
    snprintf(key, sizeof key, "xw:pkg:%s", pkg);
    argv[0] = "EVAL";
    argv[1] = ATTEMPT_LUA;
    argv[2] = "1";
    argv[3] = key;
    argv[4] = field;
    for (size_t i = 0; i < ids->elements; i++)
        argv[i + 5] = ids->element[i]->str;
    rep = xw_redis_command_argv(p->redis, (int)ids->elements + 5, argv, NULL, 1);
    if (!rep || rep->type != REDIS_REPLY_INTEGER)
        goto redis;
    attempt = rep->integer;
    if (commit_started(p, c, pkg, attempt, ids->elements, replay) < 0)
        goto redis;
    xw_info("DEPL", "package %s attempt %lld started by %s: %zu object(s)%s",
            pkg, attempt, pkg_str(c->v, "executor"), ids->elements,
            replay ? " (replay of the failed ones)" : "");
    r = emit_started(p, c, pkg, meta, attempt, err);
    goto out;
redis:
    xw_redis_pipeline_discard(p->redis);
    r = RETRY(err, "redis: %s", p->redis->errstr);
out:
    free(argv);
    if (ids)
        freeReplyObject(ids);
    json_decref(meta);
    json_decref(sum);
    return r;
}
