/* Package timeout: a deployment attempt that makes no progress for
 * XW_PACKAGE_TIMEOUT_S seconds gets an ObjectResult(failed, "timeout") for
 * every object that still has no result, so the package reaches a final
 * state instead of staying "deploying" for ever (a deployer skipped an
 * object on a stale fence, a message was lost to a crash at the wrong
 * moment, a service is down for longer than anyone waits).
 *
 * Bookkeeping: the STARTED script keeps every attempt that is not final in
 * the zset xw:deploying (member "{pkg} {att}", score = the latest
 * occurred_at of its DeployStarted chunks). Progress is the latest
 * occurred_at of the attempt's results, which the FOLD script already
 * keeps in xw:cnt:{pkg}:{att} last_at. Between consumer batches,
 * rep_timeout_tick() looks at the members whose score is older than the
 * timeout:
 *   - final (xw:cnt status set): removed from the zset;
 *   - results since (last_at newer than the cut-off): the score moves up
 *     to last_at;
 *   - otherwise timed out: the attempt's objects (the packager's
 *     xw:pkg:{pkg}:att:{att}) without a result in xw:res:{pkg}:{att} get
 *     an ObjectResult(failed, timeout), produced to xw.results and flushed;
 *     then the score moves to now, so the same attempt is looked at again
 *     only after another full timeout.
 * The results go through the normal path: this reporter (or whichever
 * instance owns the package's partition) folds them like any other, so
 * the package finishes, PackageFinished and the result copies go out, and
 * a rebuild from the log ends in the same state. Their ids are derived
 * from (package, attempt, object), so a sweep repeated after a crash, or
 * run by two instances, emits the same events, and the fold's
 * first-result-wins rule makes the timeout and a late real result
 * mutually exclusive: whichever is folded first is the object's outcome in
 * that attempt. A write that happens after its object timed out is not
 * undone; a replay of the package finds it written and reports it
 * deployed without writing it again.
 *
 * One consumer thread: this state is the reporter's, touched only between
 * batches. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "reporter.h"
#include "xw_id.h"
#include "xw_log.h"
#include "xw_metrics.h"

XW_COUNTER(m_timed_out, "xw_reporter_objects_timed_out_total",
           "objects marked failed (timeout) because their attempt made no "
           "progress for XW_PACKAGE_TIMEOUT_S");

#define SWEEP_BATCH 64          /* attempts looked at per tick */
#define OPEN_KEY "xw:deploying"

static struct {
    long long timeout_ms;       /* 0: no timeout */
    int64_t every_ms;           /* sweep interval */
    int64_t next_ms;            /* monotonic time of the next sweep */
    xw_avro_value result;       /* ObjectResult being built */
    xw_avro_value specs;        /* an ObjectsSubmitted: its one object is
                                   the frozen spec being read (spec) */
    avro_value_t spec;
    xw_buf enc;
} sw;

int rep_timeout_init(struct reporter *r)
{
    const xw_avro_type *t = xw_avro_type_find(r->svc->avro, "ObjectResult");
    const xw_avro_type *ts = xw_avro_type_find(r->svc->avro,
                                               "ObjectsSubmitted");

    xw_metrics_register(&m_timed_out);
    xw_buf_init(&sw.enc, 0);
    sw.timeout_ms = xw_config_int(&r->svc->cfg, "XW_PACKAGE_TIMEOUT_S") * 1000;
    /* A fifth of the timeout, between 0.2 and 10 s: an attempt times out
     * at most that much late. */
    sw.every_ms = sw.timeout_ms / 5;
    if (sw.every_ms < 200)
        sw.every_ms = 200;
    if (sw.every_ms > 10000)
        sw.every_ms = 10000;
    sw.next_ms = xw_mono_ms() + sw.every_ms;
    if (!t || !ts || xw_avro_value_init(&sw.result, t) < 0
        || xw_avro_value_init(&sw.specs, ts) < 0
        || xw_avro_array_append(&sw.specs.value, "objects", &sw.spec) < 0) {
        xw_error("INIT", "avro: out of memory or ObjectResult / "
                 "ObjectsSubmitted missing");
        return -1;
    }
    if (sw.timeout_ms)
        xw_info("INIT", "an attempt without progress for %lld s times out",
                sw.timeout_ms / 1000);
    return 0;
}

void rep_timeout_release(void)
{
    xw_avro_value_release(&sw.result);
    xw_avro_value_release(&sw.specs);
    xw_buf_release(&sw.enc);
}

/* A string member of a JSON object, or def. */
static const char *jstr(const json_t *o, const char *k, const char *def)
{
    const char *s = json_string_value(json_object_get(o, k));

    return s && *s ? s : def;
}

/* A string or enum field of the spec (NULL: none), or def. */
static const char *sstr(const avro_value_t *spec, const char *k,
                        const char *def)
{
    const char *s = NULL;

    if (spec && xw_avro_get_string(spec, k, &s, NULL) != 0
        && xw_avro_get_enum(spec, k, &s) != 0)
        s = NULL;
    return s && *s ? s : def;
}

/* Produces the ObjectResult(failed, timeout) of one object. spec is its
 * frozen ObjectSpec (may be NULL: the id stands in for the name).
 * 0 or -1 (logged). */
static int emit_timeout(struct reporter *r, const char *pkg, int att,
                        const char *obj, const avro_value_t *spec,
                        const json_t *summary, long long total,
                        int64_t now)
{
    avro_value_t *v = &sw.result.value;
    const char *kind = sstr(spec, "kind", "node");
    char id[XW_UUID_LEN + 1], name[2 * REP_ID_MAX + 2], reason[300],
        err[512];
    int64_t version = 0;
    xw_avro_err ae;

    if (spec && xw_avro_get_long(spec, "version", &version) != 0)
        version = 0;

    /* Same (package, attempt, object), same id: a repeated sweep is a
     * duplicate every consumer drops. */
    snprintf(name, sizeof name, "%s %s", pkg, obj);
    xw_uuid_derive("reporter.timeout", name, att, id);
    snprintf(reason, sizeof reason, "no result: the deployment attempt "
             "made no progress for %lld s (XW_PACKAGE_TIMEOUT_S), so this "
             "object is marked failed and the package can finish; replay "
             "the package to run it again", sw.timeout_ms / 1000);
    xw_avro_value_reset(&sw.result);
    if (xw_avro_set_string(v, "event_id", id) < 0
        || xw_avro_set_long(v, "occurred_at", now) < 0
        || xw_avro_set_string(v, "actor", "result-reporter") < 0
        || xw_avro_set_string(v, "correlation_id", pkg) < 0
        || xw_avro_set_string(v, "package_id", pkg) < 0
        || xw_avro_set_int(v, "attempt", att) < 0
        || xw_avro_set_string(v, "source_workspace",
                              jstr(summary, "source_workspace", "-")) < 0
        || xw_avro_set_string(v, "destination_workspace",
                              jstr(summary, "destination_workspace", "-")) < 0
        || xw_avro_set_int(v, "total", (int32_t)total) < 0
        || xw_avro_set_string(v, "object_id", obj) < 0
        || xw_avro_set_string(v, "object_name", sstr(spec, "name", obj)) < 0
        || (xw_avro_set_enum(v, "kind", kind) < 0
            && xw_avro_set_enum(v, "kind", "node") < 0)
        || xw_avro_set_long(v, "version", version) < 0
        || xw_avro_set_enum(v, "outcome", "failed") < 0
        || xw_avro_set_string(v, "reason_code", "timeout") < 0
        || xw_avro_set_string(v, "reason", reason) < 0) {
        xw_error("TIME", "building the timeout result of %s/%d/%s", pkg, att,
                 obj);
        return -1;
    }
    if (xw_avro_encode(v, &sw.enc, &ae) < 0) {
        xw_error("TIME", "encoding the timeout result: %s", ae.msg);
        return -1;
    }
    if (xw_kafka_produce(r->svc->producer, XW_TOPIC_RESULTS, pkg, strlen(pkg),
                         sw.enc.data, sw.enc.len, err, sizeof err) < 0) {
        xw_warn("TIME", "timeout result of %s/%d/%s: %s", pkg, att, obj, err);
        return -1;
    }
    return 0;
}

static int cmp_elem(const void *a, const void *b)
{
    const redisReply *x = *(redisReply *const *)a, *y = *(redisReply *const *)b;
    size_t n = x->len < y->len ? x->len : y->len;
    int c = memcmp(x->str, y->str, n);

    return c ? c : (x->len > y->len) - (x->len < y->len);
}

/* Is `id` among the strings of a reply sorted with cmp_elem? */
static int has_key(const redisReply *sorted, const redisReply *id)
{
    return sorted->elements
           && bsearch(&id, sorted->element, sorted->elements,
                      sizeof *sorted->element, cmp_elem) != NULL;
}

/* Moves the member's score to `at` (it stays in the zset). 0 or -1. */
static int touch(struct reporter *r, const char *member, int64_t at)
{
    return xw_redis_command_idem(r->redis, "ZADD " OPEN_KEY " XX %lld %s",
                                 (long long)at, member) ? 0 : -1;
}

/* Times out attempt (pkg, att): results for its objects without one.
 * Returns how many were emitted, or -1 (Redis or Kafka; logged). */
static long time_out(struct reporter *r, const char *pkg, int att,
                     long long total, int64_t now)
{
    redisReply *ids = NULL, *have = NULL, *specs = NULL;
    const redisReply *s;
    const char **argv = NULL;
    json_t *summary = NULL;
    char key[2 * REP_ID_MAX + 32], err[512];
    size_t nmiss = 0;
    long rc = -1;

    if (!xw_redis_command_idem(r->redis, "LRANGE xw:pkg:%s:att:%d 0 -1", pkg,
                               att))
        goto redis;
    ids = xw_redis_reply_take(r->redis);
    if (!xw_redis_command_idem(r->redis, "HKEYS xw:res:%s:%d", pkg, att))
        goto redis;
    have = xw_redis_reply_take(r->redis);
    /* Ours now: sorted for the lookups below. */
    if (have->elements)
        qsort(have->element, have->elements, sizeof *have->element, cmp_elem);
    if (!(s = xw_redis_command_idem(r->redis, "GET xw:pkgsum:%s", pkg)))
        goto redis;
    if (s->type == REDIS_REPLY_STRING) {
        json_error_t je;

        summary = json_loadb(s->str, s->len, 0, &je);
    }
    /* The objects without a result, as HMGET arguments for their specs. */
    argv = calloc(ids->elements + 2, sizeof *argv);
    if (!argv) {
        xw_error("TIME", "out of memory");
        goto out;
    }
    snprintf(key, sizeof key, "xw:pkg:%s:avro", pkg);
    argv[0] = "HMGET";
    argv[1] = key;
    for (size_t i = 0; i < ids->elements; i++)
        if (ids->element[i]->type == REDIS_REPLY_STRING
            && !has_key(have, ids->element[i]))
            argv[2 + nmiss++] = ids->element[i]->str;
    if (nmiss == 0) {
        /* Every object has a result (the attempt is about to be made
         * final), or the attempt's object list is unknown: nothing to do
         * now; looked at again after another timeout. */
        if (ids->elements == 0)
            xw_warn("TIME", "package %s attempt %d made no progress for %lld "
                    "s, but its object list xw:pkg:%s:att:%d is missing",
                    pkg, att, sw.timeout_ms / 1000, pkg, att);
        rc = 0;
        goto out;
    }
    if (!xw_redis_command_argv(r->redis, (int)nmiss + 2, argv, NULL, 1))
        goto redis;
    specs = xw_redis_reply_take(r->redis);
    for (size_t i = 0; i < nmiss; i++) {
        const avro_value_t *spec = NULL;
        xw_avro_err ae;

        s = i < specs->elements ? specs->element[i] : NULL;
        if (s && s->type == REDIS_REPLY_STRING
            && xw_avro_decode_record(&sw.spec, s->str, s->len, &ae) == 0)
            spec = &sw.spec;
        if (emit_timeout(r, pkg, att, argv[2 + i], spec, summary, total,
                         now) < 0)
            goto out;
    }
    /* Delivered before the attempt is marked as looked at. */
    if (xw_kafka_flush(r->svc->producer, 30000, err, sizeof err) < 0) {
        xw_warn("TIME", "timeout results of %s attempt %d: %s", pkg, att, err);
        goto out;
    }
    xw_warn("TIME", "package %s attempt %d made no progress for %lld s: %zu "
            "object(s) without a result marked failed (timeout)", pkg, att,
            sw.timeout_ms / 1000, nmiss);
    xw_metrics_add(&m_timed_out, nmiss);
    rc = (long)nmiss;
    goto out;
redis:
    xw_warn("TIME", "package %s attempt %d: %s", pkg, att, r->redis->errstr);
out:
    free(argv);
    json_decref(summary);
    if (ids)
        freeReplyObject(ids);
    if (have)
        freeReplyObject(have);
    if (specs)
        freeReplyObject(specs);
    return rc;
}

/* One member of xw:deploying whose score is older than the cut-off. */
static void sweep_one(struct reporter *r, const char *member, int64_t cutoff,
                      int64_t now)
{
    char pkg[REP_ID_MAX + 1];
    const redisReply *c;
    long long last_at = 0, total = 0;
    int att = 0, n = 0;

    if (sscanf(member, "%128s %d%n", pkg, &att, &n) != 2 || member[n]
        || att < 1) {
        xw_warn("TIME", "dropping malformed member '%s' of " OPEN_KEY,
                member);
        xw_redis_command_idem(r->redis, "ZREM " OPEN_KEY " %s", member);
        return;
    }
    c = xw_redis_command_idem(r->redis, "HMGET xw:cnt:%s:%d status last_at "
                              "total", pkg, att);
    if (!c || c->type != REDIS_REPLY_ARRAY || c->elements != 3) {
        xw_warn("TIME", "package %s attempt %d: %s", pkg, att,
                c ? "unexpected reply" : r->redis->errstr);
        return;
    }
    if (c->element[0]->type == REDIS_REPLY_STRING) {
        /* Final: no longer deploying. */
        xw_redis_command_idem(r->redis, "ZREM " OPEN_KEY " %s", member);
        return;
    }
    if (c->element[1]->type == REDIS_REPLY_STRING)
        last_at = strtoll(c->element[1]->str, NULL, 10);
    if (c->element[2]->type == REDIS_REPLY_STRING)
        total = strtoll(c->element[2]->str, NULL, 10);
    if (last_at > cutoff) {
        /* Results came in since: progress; wait from the latest. */
        touch(r, member, last_at);
        return;
    }
    if (time_out(r, pkg, att, total, now) >= 0)
        touch(r, member, now);
}

void rep_timeout_tick(struct reporter *r)
{
    redisReply *due;
    int64_t now, cutoff;

    if (!sw.timeout_ms || xw_mono_ms() < sw.next_ms)
        return;
    sw.next_ms = xw_mono_ms() + sw.every_ms;
    now = xw_now_ms();
    cutoff = now - sw.timeout_ms;
    if (!xw_redis_command_idem(r->redis, "ZRANGEBYSCORE " OPEN_KEY
                               " -inf %lld LIMIT 0 %d", (long long)cutoff,
                               SWEEP_BATCH)) {
        xw_debug("TIME", "sweep: %s", r->redis->errstr);
        return;
    }
    due = xw_redis_reply_take(r->redis);
    for (size_t i = 0; i < due->elements && !xw_kafka_stop; i++)
        if (due->element[i]->type == REDIS_REPLY_STRING)
            sweep_one(r, due->element[i]->str, cutoff, now);
    freeReplyObject(due);
}
