/* Object results into package state: one FOLD script per ObjectResult
 * (scripts.c: HSETNX decides new vs duplicate; a new result becomes the
 * latest and is counted), one SYNC per (package, attempt) per batch after
 * all folds (summary counts, completion), and the copies for subscribers. */
#include <stdio.h>
#include <string.h>

#include "reporter.h"
#include "xw_avro_json.h"
#include "xw_log.h"

enum xw_handle_result rep_fold_queue(struct reporter *r,
                                     const rd_kafka_message_t *m,
                                     const avro_value_t *v,
                                     struct xw_handle_error *err)
{
    struct rep_cmds *l = &r->main;
    const char *pkg, *obj, *outcome;
    size_t pkg_len, obj_len;
    int32_t att;
    int64_t at;
    json_t *j;
    struct rep_str key;
    struct rep_op *op;
    size_t old;
    int rc;

    if (rep_get_id(v, "package_id", &pkg, &pkg_len, err) < 0
        || rep_get_id(v, "object_id", &obj, &obj_len, err) < 0)
        return XW_HANDLE_POISON;
    if (xw_avro_get_int(v, "attempt", &att) != 0 || att < 1)
        return rep_poison(err, "invalid_event", "attempt must be >= 1");
    if (xw_avro_get_long(v, "occurred_at", &at) != 0 || at < 0)
        return rep_poison(err, "invalid_event", "occurred_at missing");
    if (xw_avro_get_enum(v, "outcome", &outcome) != 0)
        return rep_poison(err, "invalid_event", "outcome missing");
    if (!(j = xw_avro_to_json(v)))
        return XW_HANDLE_RETRY;     /* out of memory (decoded UTF-8 is valid) */

    /* FOLD, in message order. */
    rc = rep_cmd_script(r, l, REP_OP_RESULT, REP_LUA_FOLD, 3) < 0
         || rep_argf(r, l, "xw:res:%s:%d", pkg, (int)att) < 0
         || rep_argf(r, l, "xw:res:%s", pkg) < 0
         || rep_argf(r, l, "xw:cnt:%s:%d", pkg, (int)att) < 0
         || rep_arg(r, l, obj, obj_len) < 0
         || rep_arg_json(r, l, j) < 0
         || rep_arg(r, l, outcome, strlen(outcome)) < 0
         || rep_argf(r, l, "%lld", (long long)at) < 0
         || rep_argf(r, l, "%d", (int)att) < 0;
    json_decref(j);
    if (rc)
        return XW_HANDLE_RETRY;
    op = rep_cmd_last(l);
    op->att = (int)att;
    if (rep_str_add(r, pkg, pkg_len, &op->pkg) < 0)
        return XW_HANDLE_RETRY;

    /* SYNC once per (package, attempt), after every fold of the batch. */
    if (rep_str_addf(r, &key, "%s\n%d", pkg, (int)att) < 0)
        return XW_HANDLE_RETRY;
    rc = rep_set_add(r, &r->syncset, key, r->sync.n, &old);
    if (rc < 0)
        return XW_HANDLE_RETRY;
    if (rc == 1) {
        struct rep_cmds *s = &r->sync;

        if (rep_cmd_script(r, s, REP_OP_SYNC, REP_LUA_SYNC, 2) < 0
            || rep_argf(r, s, "xw:cnt:%s:%d", pkg, (int)att) < 0
            || rep_argf(r, s, "xw:pkgsum:%s", pkg) < 0
            || rep_argf(r, s, "%d", (int)att) < 0)
            return XW_HANDLE_RETRY;
        op = rep_cmd_last(s);
        op->att = (int)att;
        if (rep_str_add(r, pkg, pkg_len, &op->pkg) < 0)
            return XW_HANDLE_RETRY;
    }

    /* The copy for subscribers: checked once per object and attempt. */
    if (r->rebuild || !r->publish_results)
        return XW_HANDLE_OK;
    if (rep_str_addf(r, &key, "%s\n%d\n%s", pkg, (int)att, obj) < 0)
        return XW_HANDLE_RETRY;
    rc = rep_set_add(r, &r->checkset, key, r->check.n, &old);
    if (rc < 0)
        return XW_HANDLE_RETRY;
    if (rc == 1) {
        struct rep_cmds *c = &r->check;

        if (rep_cmd_plain(r, c, REP_OP_CHECK, "HEXISTS") < 0
            || rep_argf(r, c, "xw:res:%s:%d", pkg, (int)att) < 0
            || rep_arg(r, c, obj, obj_len) < 0)
            return XW_HANDLE_RETRY;
        rep_cmd_last(c)->m = m;
    }
    return XW_HANDLE_OK;
}

int rep_fold_copies(struct reporter *r)
{
    char err[512];
    uint64_t n = 0;

    if (!r->check.n)
        return 0;
    if (rep_exec(r, &r->check) < 0) {
        xw_warn("REDIS", "batch not applied: %s", r->redis->errstr);
        return -1;
    }
    for (size_t i = 0; i < r->check.n; i++) {
        const redisReply *rep = r->check.replies[i];
        const rd_kafka_message_t *m = r->check.ops[i].m;

        if (rep->type == REDIS_REPLY_INTEGER && rep->integer != 0)
            continue;   /* folded before: its copy went out then */
        /* The original bytes: same event id, same schema. */
        if (xw_kafka_produce(r->svc->producer, XW_TOPIC_OUTCOMES, m->key,
                             m->key_len, m->payload, m->len, err,
                             sizeof err) < 0) {
            xw_warn("KAFK", "result copy: %s", err);
            return -1;
        }
        n++;
    }
    /* Delivered before the fold makes them duplicates. */
    if (n && xw_kafka_flush(r->svc->producer, 30000, err, sizeof err) < 0) {
        xw_warn("KAFK", "result copies: %s", err);
        return -1;
    }
    rep_metric_copies(n);
    return 0;
}

void rep_fold_count(const redisReply *rep)
{
    if (rep->type == REDIS_REPLY_INTEGER && rep->integer == 1)
        rep_metric_folded(1);
    else
        rep_metric_duplicates(1);
}
