/* PackageFinished: when every object of an attempt has a result, the rule
 * module decides the status, the event goes to xw.outcomes (live mode),
 * and only after it is delivered does the FINALIZE script make the summary
 * final and mark the attempt published. A crash in between leaves the
 * attempt complete but unpublished: the redelivered batch finds it again
 * and re-emits the event with the same id (derived from package and
 * attempt), so subscribers, who dedupe by event id, see it once. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "reporter.h"
#include "webhooks.h"
#include "xw_id.h"
#include "xw_log.h"

int rep_status_from_counts(struct reporter *r, long long total,
                           long long deployed, long long failed,
                           long long excluded, struct xw_pkg_summary *out)
{
    long long done = deployed + failed + excluded;
    size_t n, k = 0;

    if (total < 0 || deployed < 0 || failed < 0 || excluded < 0)
        return -1;
    n = (size_t)(done > total ? done : total);
    if (n > r->states_cap) {
        enum xw_obj_state *s = realloc(r->states, n * sizeof *s);

        if (!s)
            return -1;
        r->states = s;
        r->states_cap = n;
    }
    for (long long i = 0; i < deployed; i++)
        r->states[k++] = XW_OBJ_DEPLOYED;
    for (long long i = 0; i < failed; i++)
        r->states[k++] = XW_OBJ_FAILED;
    for (long long i = 0; i < excluded; i++)
        r->states[k++] = XW_OBJ_EXCLUDED;
    while (k < n)
        r->states[k++] = XW_OBJ_PENDING;
    return xw_rules_package_status(r->states, n, out, NULL);
}

static int reply_num(const redisReply *e, long long *out)
{
    char buf[32], *end;

    if (e->type != REDIS_REPLY_STRING || e->len >= sizeof buf)
        return -1;
    if (e->len == 0) {
        *out = 0;
        return 0;
    }
    memcpy(buf, e->str, e->len);
    buf[e->len] = '\0';
    *out = strtoll(buf, &end, 10);
    return *end ? -1 : 0;
}

int rep_outcome_note(struct reporter *r, const struct rep_op *op,
                     const redisReply *rep)
{
    const redisReply *const *e;
    struct rep_fin f = { 0 };
    struct rep_str key;
    char pkg[REP_ID_MAX + 1];
    size_t old;
    int rc;

    if (rep->type != REDIS_REPLY_ARRAY || rep->elements < 1
        || rep->element[0]->type != REDIS_REPLY_STRING)
        goto bad;
    e = (const redisReply *const *)rep->element;
    if (strcmp(e[0]->str, "finished") != 0)
        return 0;
    if (rep->elements != 9 || reply_num(e[1], &f.total) < 0
        || reply_num(e[2], &f.deployed) < 0 || reply_num(e[3], &f.failed) < 0
        || reply_num(e[4], &f.excluded) < 0
        || reply_num(e[5], &f.started_at) < 0
        || reply_num(e[6], &f.last_at) < 0
        || e[7]->type != REDIS_REPLY_STRING || e[8]->type != REDIS_REPLY_STRING)
        goto bad;
    f.pkg = op->pkg;
    f.att = op->att;
    if (rep_str_add(r, e[7]->str, e[7]->len, &f.executor) < 0)
        return -1;
    if (e[8]->len) {
        json_error_t je;

        f.summary = json_loadb(e[8]->str, e[8]->len, 0, &je);
    }
    /* Never format an arena string into the arena: it may move. */
    snprintf(pkg, sizeof pkg, "%s", rep_s(r, op->pkg));
    if (rep_str_addf(r, &key, "%s\n%d", pkg, op->att) < 0)
        goto nomem;
    rc = rep_set_add(r, &r->finset, key, r->nfins, &old);
    if (rc < 0)
        goto nomem;
    if (rc == 0) {
        /* Seen finished earlier in this batch: the later reply wins. */
        json_decref(r->fins[old].summary);
        r->fins[old] = f;
        return 0;
    }
    if (r->nfins == r->fins_cap) {
        size_t cap = r->fins_cap ? r->fins_cap * 2 : 16;
        struct rep_fin *p = realloc(r->fins, cap * sizeof *p);

        if (!p)
            goto nomem;
        r->fins = p;
        r->fins_cap = cap;
    }
    r->fins[r->nfins++] = f;
    return 0;
bad:
    xw_error("PKG", "unexpected reply from the reporter's script for %s "
             "attempt %d", rep_s(r, op->pkg), op->att);
    return -1;
nomem:
    json_decref(f.summary);
    return -1;
}

static const char *sum_str(const json_t *summary, const char *field)
{
    const char *s = json_string_value(json_object_get(summary, field));

    return s ? s : "";
}

static int32_t clamp32(long long v)
{
    return v > INT32_MAX ? INT32_MAX : v < 0 ? 0 : (int32_t)v;
}

/* Builds and queues the PackageFinished of f. 0 or -1 (logged). */
static int emit_finished(struct reporter *r, const struct rep_fin *f,
                         const char *status, long long finished_at,
                         long long duration)
{
    avro_value_t *v = &r->finished.value;
    const char *pkg = rep_s(r, f->pkg);
    char id[XW_UUID_LEN + 1], err[512];
    xw_avro_err ae;

    xw_avro_value_reset(&r->finished);
    xw_uuid_derive("reporter", pkg, f->att, id);
    if (xw_avro_set_string(v, "event_id", id) < 0
        || xw_avro_set_long(v, "occurred_at", finished_at) < 0
        || xw_avro_set_string(v, "actor", "result-reporter") < 0
        || xw_avro_set_string(v, "correlation_id", pkg) < 0
        || xw_avro_set_string(v, "package_id", pkg) < 0
        || xw_avro_set_int(v, "attempt", f->att) < 0
        || xw_avro_set_enum(v, "status", status) < 0
        || xw_avro_set_int(v, "total", clamp32(f->total)) < 0
        || xw_avro_set_int(v, "deployed", clamp32(f->deployed)) < 0
        || xw_avro_set_int(v, "failed", clamp32(f->failed)) < 0
        || xw_avro_set_int(v, "excluded", clamp32(f->excluded)) < 0
        || xw_avro_set_string(v, "source_workspace",
                              sum_str(f->summary, "source_workspace")) < 0
        || xw_avro_set_string(v, "destination_workspace",
                              sum_str(f->summary, "destination_workspace")) < 0
        || xw_avro_set_string(v, "environment",
                              sum_str(f->summary, "environment")) < 0
        || xw_avro_set_string(v, "creator", sum_str(f->summary, "creator")) < 0
        || xw_avro_set_string(v, "executor", rep_s(r, f->executor)) < 0
        || xw_avro_set_long(v, "started_at", f->started_at) < 0
        || xw_avro_set_long(v, "finished_at", finished_at) < 0
        || xw_avro_set_long(v, "duration_ms", duration) < 0) {
        xw_error("PKG", "building PackageFinished for %s attempt %d", pkg,
                 f->att);
        return -1;
    }
    if (xw_avro_encode(v, &r->enc, &ae) < 0) {
        xw_error("PKG", "encoding PackageFinished: %s", ae.msg);
        return -1;
    }
    if (xw_kafka_produce(r->svc->producer, XW_TOPIC_OUTCOMES, pkg,
                         f->pkg.len, r->enc.data, r->enc.len, err,
                         sizeof err) < 0) {
        xw_warn("KAFK", "PackageFinished: %s", err);
        return -1;
    }
    /* Last: it grows the arena, which may move `pkg`. */
    return rep_wh_note(r, v);
}

int rep_outcomes_finish(struct reporter *r)
{
    struct rep_cmds *l = &r->fin;
    int live = !r->rebuild;
    char err[512];

    if (!r->nfins)
        return 0;
    for (size_t i = 0; i < r->nfins; i++) {
        const struct rep_fin *f = &r->fins[i];
        struct xw_pkg_summary s;
        char pkg[REP_ID_MAX + 1];
        const char *status;
        long long finished_at, duration;

        if (rep_status_from_counts(r, f->total, f->deployed, f->failed,
                                   f->excluded, &s) < 0)
            return -1;
        status = xw_rules_pkg_status_name(s.status);
        /* The latest result of the attempt: the same whichever order the
         * topics were read in (an empty attempt ends when it starts). */
        finished_at = f->last_at > 0 ? f->last_at : f->started_at;
        duration = finished_at > f->started_at ? finished_at - f->started_at
                                               : 0;
        if (live && emit_finished(r, f, status, finished_at, duration) < 0)
            return -1;
        /* A copy: the arena may move while the command is queued. */
        snprintf(pkg, sizeof pkg, "%s", rep_s(r, f->pkg));
        if (rep_cmd_script(r, l, REP_OP_FINALIZE, REP_LUA_FINALIZE, 2) < 0
            || rep_argf(r, l, "xw:cnt:%s:%d", pkg, f->att) < 0
            || rep_argf(r, l, "xw:pkgsum:%s", pkg) < 0
            || rep_argf(r, l, "%d", f->att) < 0
            || rep_arg(r, l, status, strlen(status)) < 0
            || rep_argf(r, l, "%lld", finished_at) < 0
            || rep_arg(r, l, live ? "1" : "0", 1) < 0)
            return -1;
    }
    /* Subscribers have it before the summary says final. */
    if (live && xw_kafka_flush(r->svc->producer, 30000, err, sizeof err) < 0) {
        xw_warn("KAFK", "PackageFinished: %s", err);
        return -1;
    }
    if (live && rep_wh_enqueue(r) < 0)
        return -1;
    if (rep_exec(r, l) < 0) {
        xw_warn("REDIS", "batch not applied: %s", r->redis->errstr);
        return -1;
    }
    rep_metric_finished(r->nfins);
    for (size_t i = 0; i < r->nfins && live; i++) {
        const struct rep_fin *f = &r->fins[i];

        xw_info("PKG", "package %s attempt %d finished: %lld deployed, %lld "
                "failed, %lld excluded of %lld", rep_s(r, f->pkg), f->att,
                f->deployed, f->failed, f->excluded, f->total);
    }
    return 0;
}
