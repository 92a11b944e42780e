/* Step 4: starting a deployment attempt (or a replay of the failed
 * objects) and handing its objects to the mapper in chunks. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "packager.h"
#include "xw_log.h"

/* Assigns the attempt number of one DeployRequested, once: a redelivery
 * gets the number it got the first time, and the object list of the
 * attempt is stored with it, in the same script. Returns {attempt, 1} when
 * it assigned the number now, {attempt, 0} when the request had one
 * already (then the list stored with it is the attempt's, not ARGV's). */
static const char *const ATTEMPT_LUA =
    "local a = redis.call('HGET', KEYS[1], ARGV[1])\n"
    "if a then return {tonumber(a), 0} end\n"
    "a = redis.call('HINCRBY', KEYS[1], 'attempt', 1)\n"
    "redis.call('HSET', KEYS[1], ARGV[1], a)\n"
    "local l = KEYS[1] .. ':att:' .. a\n"
    "redis.call('DEL', l)\n"
    "for i = 2, #ARGV, 1000 do\n"
    "  redis.call('RPUSH', l, unpack(ARGV, i, math.min(i + 999, #ARGV)))\n"
    "end\n"
    "return {a, 1}\n";

static struct pkg_script attempt_script = PKG_SCRIPT_INIT(ATTEMPT_LUA);

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

/* A replay runs "only its failed objects": keeps, of all (the HGETALL of
 * xw:res:{pkg}: id, latest result, ...), the ids whose result says
 * failed, in place (all becomes an array of ids). 0, or -1 (out of
 * memory, errstr set). */
static int failed_only(struct packager *p, redisReply *all)
{
    xw_avro_decoder *dec = NULL;
    size_t n = 0;

    /* Its own decoder: decoding into p->dec would end the life of the
     * command being applied (c->v). A replay is rare; this is cheap. */
    if (xw_avro_decoder_new(&dec, p->svc->avro) < 0) {
        snprintf(p->redis->errstr, sizeof p->redis->errstr,
                 "out of memory (decoder)");
        return -1;
    }
    /* The reply's own element array is reused (ids at even positions). */
    for (size_t i = 0; i + 1 < all->elements; i += 2) {
        if (result_failed(dec, all->element[i + 1])) {
            redisReply *tmp = all->element[n];

            all->element[n] = all->element[i];
            all->element[i] = tmp;
            n++;
        }
    }
    for (size_t i = n; i < all->elements; i++) {
        freeReplyObject(all->element[i]);
        all->element[i] = NULL;
    }
    all->elements = n;
    xw_avro_decoder_free(dec);
    return 0;
}

/* The frozen specs of ids[0..n) (specs: their HMGET of xw:pkg:{pkg}:avro),
 * each checked by decoding it into el (an ObjectSpec of DeployStarted, so
 * the check is against the record it goes into), as Avro bodies back to
 * back in items, the end of each in ends[0..*count). An id without a
 * frozen spec is left out (never expected); one that no longer reads
 * cannot be deployed: a retry will not fix it, but neither may it be
 * dropped. XW_HANDLE_OK, or RETRY with err filled. */
static enum xw_handle_result frozen_bodies(const char *pkg, const char **ids,
                                           size_t n, const redisReply *specs,
                                           avro_value_t *el, xw_buf *items,
                                           size_t *ends, size_t *count,
                                           struct xw_handle_error *err)
{
    *count = 0;
    for (size_t i = 0; i < n; i++) {
        const redisReply *a;
        int got = pkg_spec_read(el, specs, i, err);

        if (got < 0) {
            snprintf(err->reason + strlen(err->reason),
                     sizeof err->reason - strlen(err->reason),
                     " (package %s, object %s)", pkg, ids[i]);
            return XW_HANDLE_RETRY;
        }
        if (got == 0)
            continue;
        /* Read whole (pkg_spec_read): the body follows the record's
         * header, as xw_avro_encode_record wrote it. */
        a = specs->element[i];
        if (xw_buf_add(items, a->str + XW_AVRO_HEADER_LEN,
                       a->len - XW_AVRO_HEADER_LEN) < 0)
            return RETRY(err, "out of memory");
        ends[(*count)++] = items->len;
    }
    return XW_HANDLE_OK;
}

/* Hands attempt `attempt` of ids[0..n) (specs: their HMGET of
 * xw:pkg:{pkg}:avro, NULL when n is 0) to the mapper. The frozen specs go
 * out as they are stored (xw_avro_encode_items), after each was checked:
 * neither copied into the event's value nor encoded again. */
static enum xw_handle_result emit_started(struct packager *p,
                                          struct command *c, const char *pkg,
                                          json_t *meta, long long attempt,
                                          const char **ids, size_t n,
                                          const redisReply *specs,
                                          struct xw_handle_error *err)
{
    avro_value_t *v = &p->started.value, el;
    const char *override = NULL;
    int64_t deploy_at = 0;
    size_t total = n, chunks, *ends = NULL;
    xw_buf items = XW_BUF_INIT;
    enum xw_handle_result r = XW_HANDLE_OK;

    if (xw_avro_get_long(c->v, "deploy_at", &deploy_at) != 0)
        deploy_at = c->occurred_at;     /* the instant the deploy was asked */
    if (xw_avro_get_string(c->v, "resource_group_override", &override, NULL)
        != 0)
        override = NULL;
    xw_avro_value_reset(&p->started);
    if (!(ends = calloc(n + 1, sizeof *ends))
        || xw_avro_array_append(v, "objects", &el) < 0) {
        r = RETRY(err, "out of memory");
        goto out;
    }
    if (n && (r = frozen_bodies(pkg, ids, n, specs, &el, &items, ends, &n,
                                err)) != XW_HANDLE_OK)
        goto out;
    /* total stays the attempt's list: an object without a frozen spec
     * (never expected) then times out as failed rather than vanishing. */
    chunks = n ? (n + PKG_CHUNK - 1) / PKG_CHUNK : 1;
    for (size_t k = 0; k < chunks && r == XW_HANDLE_OK; k++) {
        size_t from = k * PKG_CHUNK, cnt = n - from < PKG_CHUNK ? n - from
                                                                : PKG_CHUNK;
        size_t off = from ? ends[from - 1] : 0;

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
            || xw_avro_set_int(v, "total", (int32_t)total) < 0) {
            r = RETRY(err, "building DeployStarted");
            break;
        }
        r = pkg_emit_items(p, v, "objects", cnt, items.data + off,
                           cnt ? ends[from + cnt - 1] - off : 0,
                           XW_TOPIC_DEPLOY, pkg, err);
    }
out:
    free(ends);
    xw_buf_release(&items);
    return r;
}

/* The request's final status and the event's marker, in one transaction,
 * not waited for (tx_commit_later): DeployStarted describes the attempt,
 * which the attempt script stored before, not what this transaction
 * writes. If it fails, the batch is redone and finds the attempt started
 * but no marker (restart below). 0 or -1 (Redis). */
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
        || tx_commit_later(p, c) < 0)
        return -1;
    return 0;
}

/* A request whose attempt was started before (a redelivery, or another
 * delivery started it): the attempt's stored list to the mapper again.
 * Three round trips (list, specs, and the transaction below when needed):
 * rare enough. */
static enum xw_handle_result restart(struct packager *p, struct command *c,
                                     const char *pkg, json_t *meta,
                                     long long attempt, bool replay,
                                     struct xw_handle_error *err)
{
    char key[96];
    redisReply *list, *specs = NULL;
    const char **ids = NULL;
    size_t n;
    enum xw_handle_result r;

    if (xw_redis_append(p->redis, "LRANGE xw:pkg:%s:att:%lld 0 -1", pkg,
                        attempt) < 0
        || pkg_exec(p, &list, 1) < 0) {
        pkg_discard(p);
        return RETRY(err, "redis: %s", p->redis->errstr);
    }
    n = list->elements;
    if (!(ids = pkg_reply_strings(list))) {
        r = RETRY(err, "out of memory");
        goto out;
    }
    /* Without the marker, the delivery that started it died (or lost
     * Redis) between the attempt script and its transaction: finish that
     * now, or the request stays "pending" for ever. */
    snprintf(key, sizeof key, "xw:pkg:%s:avro", pkg);
    if ((!c->seen && commit_started(p, c, pkg, attempt, n, replay) < 0)
        || (n && pkg_specs_fetch(p, key, ids, n, &specs) < 0)) {
        r = RETRY(err, "redis: %s", p->redis->errstr);
        goto out;
    }
    r = emit_started(p, c, pkg, meta, attempt, ids, n, specs, err);
out:
    free(ids);
    if (specs)
        freeReplyObject(specs);
    freeReplyObject(list);
    return r;
}

/* A new attempt of ids[0..n) for request c, whose field in xw:pkg:{pkg} is
 * `field`: the attempt script and, in the same round trip, the ids' frozen
 * specs (they never change once frozen); then the request's status and
 * marker. */
static enum xw_handle_result start(struct packager *p, struct command *c,
                                   const char *pkg, const char *field,
                                   json_t *meta, const char **ids, size_t n,
                                   bool replay, struct xw_handle_error *err)
{
    char key[96], akey[96];
    const char **eval, **hmget;
    redisReply *rep[2] = { NULL }, *a;
    long long attempt;
    int rc;
    enum xw_handle_result r;

    snprintf(key, sizeof key, "xw:pkg:%s", pkg);
    snprintf(akey, sizeof akey, "xw:pkg:%s:avro", pkg);
    eval = pkg_argv((const char *[]){ pkg_script_cmd(&attempt_script),
                                      pkg_script_arg(&attempt_script), "1",
                                      key, field }, 5, ids, n);
    hmget = pkg_argv((const char *[]){ "HMGET", akey }, 2, ids, n);
    if (!eval || !hmget) {
        r = RETRY(err, "out of memory");
        goto out;
    }
    if (xw_redis_append_argv(p->redis, (int)n + 5, eval, NULL) < 0
        || (n && xw_redis_append_argv(p->redis, (int)n + 2, hmget, NULL) < 0))
        goto redis;
    rc = pkg_exec(p, rep, n ? 2 : 1);
    pkg_script_answered(&attempt_script, rc, p->redis);
    if (rc < 0)
        goto redis;
    a = rep[0];
    if (a->type != REDIS_REPLY_ARRAY || a->elements != 2
        || a->element[0]->type != REDIS_REPLY_INTEGER
        || a->element[1]->type != REDIS_REPLY_INTEGER) {
        r = RETRY(err, "attempt script: unexpected reply");
        goto out;
    }
    attempt = a->element[0]->integer;
    if (!a->element[1]->integer) {
        /* Started meanwhile by another delivery: its list counts. */
        r = restart(p, c, pkg, meta, attempt, replay, err);
        goto out;
    }
    if (commit_started(p, c, pkg, attempt, n, replay) < 0)
        goto redis;
    xw_info("DEPL", "package %s attempt %lld started by %s: %zu object(s)%s",
            pkg, attempt, pkg_str(c->v, "executor"), n,
            replay ? " (replay of the failed ones)" : "");
    r = emit_started(p, c, pkg, meta, attempt, ids, n, rep[1], err);
    goto out;
redis:
    pkg_discard(p);
    r = RETRY(err, "redis: %s", p->redis->errstr);
out:
    free(eval);
    free(hmget);
    xw_redis_replies_free(rep, 2);
    return r;
}

enum xw_handle_result apply_deploy(struct packager *p, struct command *c,
                                   struct xw_handle_error *err)
{
    const char *pkg = pkg_str(c->v, "package_id");
    redisReply *rep[3] = { NULL }, *known;
    const char **ids = NULL;
    json_t *meta = NULL, *sum = NULL;
    char field[64];
    bool replay = false;
    size_t nread = c->seen ? 1 : 3;
    enum xw_handle_result r = XW_HANDLE_OK;

    xw_avro_get_bool(c->v, "replay", &replay);
    snprintf(field, sizeof field, "deploy:%s", c->event_id);
    /* One round trip for everything a first delivery decides on: the
     * package, whether this request started an attempt already, the
     * package's summary and the ids a new attempt would run. A redelivery
     * (marker set) can only re-emit: the first read is enough. */
    if (xw_redis_append(p->redis, "HMGET xw:pkg:%s meta %s", pkg, field) < 0
        || (nread > 1
            && (xw_redis_append(p->redis, "GET xw:pkgsum:%s", pkg) < 0
                || (replay
                        ? xw_redis_append(p->redis, "HGETALL xw:res:%s", pkg)
                        : xw_redis_append(p->redis, "HKEYS xw:pkg:%s:avro",
                                          pkg)) < 0))
        || pkg_exec(p, rep, nread) < 0)
        goto redis;
    known = rep[0];     /* HMGET: always as many elements as fields */
    meta = pkg_json(known->element[0]);
    if (!meta) {
        if (pkg_reject(p, c, 404, "package", "not_found",
                       "package '%s' does not exist", pkg) < 0)
            goto redis;
        goto out;
    }
    if (known->element[1]->type == REDIS_REPLY_STRING) {
        /* Started before: only hand the attempt to the mapper again. */
        r = restart(p, c, pkg, meta, strtoll(known->element[1]->str, NULL, 10),
                    replay, err);
        goto out;
    }
    if (c->seen)
        goto out; /* rejected before: nothing to re-emit */
    sum = pkg_json(rep[1]);
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
    /* The ids: every frozen object, or for a replay the failed ones. */
    if (replay && failed_only(p, rep[2]) < 0)
        goto redis;
    if (!(ids = pkg_reply_strings(rep[2]))) {
        r = RETRY(err, "out of memory");
        goto out;
    }
    r = start(p, c, pkg, field, meta, ids, rep[2]->elements, replay, err);
    goto out;
redis:
    pkg_discard(p);
    r = RETRY(err, "redis: %s", p->redis->errstr);
out:
    free(ids);
    xw_redis_replies_free(rep, 3);
    json_decref(meta);
    json_decref(sum);
    return r;
}
