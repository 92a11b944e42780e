/* Object results into package state: the batch's results are grouped by
 * (package, attempt), and each group is folded by one FOLD script
 * (scripts.c: per result, "absent from the attempt's hash" decides new vs
 * duplicate; a new result becomes the latest - stored as the ObjectResult
 * message itself, Avro - and is counted; then the summary follows the
 * counters and the script says whether the attempt is complete). Also the
 * copies of new results for subscribers. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "reporter.h"
#include "webhooks.h"
#include "xw_avro_json.h"
#include "xw_log.h"

static int grow_array(void **p, size_t *cap, size_t n, size_t size)
{
    size_t c = *cap ? *cap * 2 : 64;
    void *q;

    if (n < *cap)
        return 0;
    q = realloc(*p, c * size);
    if (!q)
        return -1;
    *p = q;
    *cap = c;
    return 0;
}

/* A new group for (pkg, att), with its placeholder FOLD in `main`. */
static int group_new(struct reporter *r, const char *pkg, size_t pkg_len,
                     int att, size_t *out)
{
    struct rep_group *g;

    if (grow_array((void **)&r->groups, &r->groups_cap, r->ngroups,
                   sizeof *r->groups) < 0)
        return -1;
    g = &r->groups[r->ngroups];
    memset(g, 0, sizeof *g);
    g->att = att;
    g->first = g->last = SIZE_MAX;
    if (rep_str_add(r, pkg, pkg_len, &g->pkg) < 0
        || rep_str_addf(r, &g->keys[0], "xw:res:%s:%d", pkg, att) < 0
        || rep_str_addf(r, &g->keys[1], "xw:res:%s", pkg) < 0
        || rep_str_addf(r, &g->keys[2], "xw:cnt:%s:%d", pkg, att) < 0
        || rep_str_addf(r, &g->keys[3], "xw:cnt:%s:%d", pkg, att + 1) < 0
        || rep_str_addf(r, &g->keys[4], "xw:pkgsum:%s", pkg) < 0
        || rep_str_addf(r, &g->attstr, "%d", att) < 0
        || rep_cmd_begin(&r->main, REP_OP_FOLD) < 0)
        return -1;
    rep_cmd_last(&r->main)->group = r->ngroups;
    *out = r->ngroups++;
    return 0;
}

enum xw_handle_result rep_fold_queue(struct reporter *r,
                                     const rd_kafka_message_t *m,
                                     const avro_value_t *v,
                                     struct xw_handle_error *err)
{
    const char *pkg, *obj, *outcome;
    size_t pkg_len, obj_len, gi;
    struct rep_result *res;
    struct rep_group *g;
    struct rep_str key;
    int32_t att;
    int64_t at;
    int rc;

    if (rep_get_id(v, "package_id", &pkg, &pkg_len, err) < 0
        || rep_get_id(v, "object_id", &obj, &obj_len, err) < 0)
        return XW_HANDLE_POISON;
    if (xw_avro_get_int(v, "attempt", &att) != 0 || att < 1
        || att == INT32_MAX)
        return xw_handle_fail(err, XW_HANDLE_POISON, "invalid_event",
                              "attempt must be >= 1");
    if (xw_avro_get_long(v, "occurred_at", &at) != 0 || at < 0)
        return xw_handle_fail(err, XW_HANDLE_POISON, "invalid_event",
                              "occurred_at missing");
    if (xw_avro_get_enum(v, "outcome", &outcome) != 0)
        return xw_handle_fail(err, XW_HANDLE_POISON, "invalid_event",
                              "outcome missing");

    /* The group of (pkg, att): a new one at the first result, or when the
     * current one is full. */
    if (rep_str_addf(r, &key, "%s\n%d", pkg, (int)att) < 0)
        return XW_HANDLE_RETRY;
    rc = rep_set_add(r, &r->groupset, key, r->ngroups, &gi);
    if (rc < 0)
        return XW_HANDLE_RETRY;
    if (rc == 1 || r->groups[gi].n >= REP_FOLD_MAX) {
        if (group_new(r, pkg, pkg_len, (int)att, &gi) < 0)
            return XW_HANDLE_RETRY;
        if (rc == 0)
            rep_set_update(&r->groupset, r, key, gi);
    }

    if (grow_array((void **)&r->results, &r->results_cap, r->nresults,
                   sizeof *r->results) < 0)
        return XW_HANDLE_RETRY;
    res = &r->results[r->nresults];
    res->next = SIZE_MAX;
    res->m = m;
    res->check = res->copy = 0;
    /* Out of memory only: decoded strings are valid UTF-8. The latest
     * result is stored as the message's own bytes (they decoded without
     * error just now): a third of the JSON's size, and no JSON to write.
     * Readers decode it as the registry's ObjectResult, so a message of
     * another version of the schema is stored as its JSON instead, as
     * before (readers take JSON as it is). */
    if (rep_str_add(r, obj, obj_len, &res->obj) < 0
        || (xw_avro_value_type(v) == r->result_type
                ? rep_str_add(r, (const char *)m->payload, m->len,
                              &res->value)
                : rep_str_avro(r, v, &res->value)) < 0
        || rep_str_add(r, outcome, strlen(outcome), &res->outcome) < 0
        || rep_str_addf(r, &res->at, "%lld", (long long)at) < 0)
        return XW_HANDLE_RETRY;
    g = &r->groups[gi];
    if (g->last == SIZE_MAX)
        g->first = r->nresults;
    else
        r->results[g->last].next = r->nresults;
    g->last = r->nresults++;
    g->n++;

    /* The copy for subscribers: checked once per object and attempt (a
     * later chunk of the same attempt is another group, so the set is the
     * batch's, not the group's). */
    if (r->rebuild || !r->publish_results)
        return XW_HANDLE_OK;
    if (rep_str_addf(r, &key, "%s\n%d\n%s", pkg, (int)att, obj) < 0)
        return XW_HANDLE_RETRY;
    rc = rep_set_add(r, &r->checkset, key, 0, NULL);
    if (rc < 0)
        return XW_HANDLE_RETRY;
    if (rc == 1) {
        res->check = 1;
        g->nchecks++;
    }
    return XW_HANDLE_OK;
}

int rep_fold_build(struct reporter *r, struct rep_cmds *l, size_t gi)
{
    const struct rep_group *g = &r->groups[gi];
    struct rep_op *op;

    if (rep_cmd_script(r, l, REP_OP_FOLD, REP_LUA_FOLD, 5) < 0)
        return -1;
    for (int k = 0; k < 5; k++)
        if (rep_arg_str(l, g->keys[k]) < 0)
            return -1;
    if (rep_arg_str(l, g->attstr) < 0)
        return -1;
    for (size_t i = g->first; i != SIZE_MAX; i = r->results[i].next) {
        const struct rep_result *res = &r->results[i];

        if (rep_arg_str(l, res->obj) < 0 || rep_arg_str(l, res->value) < 0
            || rep_arg_str(l, res->outcome) < 0 || rep_arg_str(l, res->at) < 0)
            return -1;
    }
    op = rep_cmd_last(l);
    op->pkg = g->pkg;
    op->att = g->att;
    op->group = gi;
    return 0;
}

int rep_fold_reply(struct reporter *r, const struct rep_op *op,
                   const redisReply *rep)
{
    const redisReply *flags;
    uint64_t n_new = 0, n_dup = 0;

    if (rep->type != REDIS_REPLY_ARRAY || rep->elements != 2
        || rep->element[1]->type != REDIS_REPLY_ARRAY) {
        xw_error("PKG", "unexpected FOLD reply for %s attempt %d",
                 rep_s(r, op->pkg), op->att);
        return -1;
    }
    flags = rep->element[1];
    for (size_t i = 0; i < flags->elements; i++)
        if (flags->element[i]->type == REDIS_REPLY_INTEGER
            && flags->element[i]->integer == 1)
            n_new++;
        else
            n_dup++;
    rep_metric_folded(n_new);
    rep_metric_duplicates(n_dup);
    return rep_outcome_note(r, op, rep->element[0]);
}

/* The HMGET of group g: its hash and the objects of its checked results,
 * in the group's order (check_reply reads the reply in the same order).
 * Nothing for a group without any. */
static int check_build(struct reporter *r, size_t gi)
{
    const struct rep_group *g = &r->groups[gi];
    struct rep_cmds *c = &r->check;

    if (!g->nchecks)
        return 0;
    if (rep_cmd_plain(r, c, REP_OP_CHECK, "HMGET") < 0
        || rep_arg_str(c, g->keys[0]) < 0)
        return -1;
    for (size_t i = g->first; i != SIZE_MAX; i = r->results[i].next)
        if (r->results[i].check && rep_arg_str(c, r->results[i].obj) < 0)
            return -1;
    rep_cmd_last(c)->group = gi;
    return 0;
}

/* Marks the checked results of op's group that are new: no field yet. */
static int check_reply(struct reporter *r, const struct rep_op *op,
                       const redisReply *rep)
{
    const struct rep_group *g = &r->groups[op->group];
    size_t k = 0;

    if (rep->type != REDIS_REPLY_ARRAY || rep->elements != g->nchecks) {
        xw_error("PKG", "unexpected HMGET reply for %s attempt %d",
                 rep_s(r, g->pkg), g->att);
        return -1;
    }
    for (size_t i = g->first; i != SIZE_MAX; i = r->results[i].next) {
        struct rep_result *res = &r->results[i];

        if (res->check)
            res->copy = rep->element[k++]->type == REDIS_REPLY_NIL;
    }
    return 0;
}

int rep_fold_copies(struct reporter *r)
{
    char err[512];
    uint64_t n = 0;

    for (size_t g = 0; g < r->ngroups; g++)
        if (check_build(r, g) < 0) {
            xw_warn("PKG", "batch not applied: out of memory");
            return -1;
        }
    if (!r->check.n)
        return 0;
    if (rep_exec(r, &r->check) < 0) {
        xw_warn("REDIS", "batch not applied: %s", r->redis->errstr);
        return -1;
    }
    for (size_t i = 0; i < r->check.n; i++)
        if (check_reply(r, &r->check.ops[i], r->check.replies[i]) < 0)
            return -1;
    /* In message order, as the results came. */
    for (size_t i = 0; i < r->nresults; i++) {
        const rd_kafka_message_t *m = r->results[i].m;

        if (!r->results[i].copy)
            continue;   /* folded before: its copy went out then */
        /* The original bytes: same event id, same schema. */
        if (xw_kafka_produce(r->svc->producer, XW_TOPIC_OUTCOMES, m->key,
                             m->key_len, m->payload, m->len, err,
                             sizeof err) < 0) {
            xw_warn("KAFK", "result copy: %s", err);
            return -1;
        }
        if (rep_wh_note_bytes(r, m->payload, m->len) < 0)
            return -1;
        n++;
    }
    /* Delivered (and their webhooks enqueued) before the fold makes them
     * duplicates. */
    if (n && xw_kafka_flush(r->svc->producer, 30000, err, sizeof err) < 0) {
        xw_warn("KAFK", "result copies: %s", err);
        return -1;
    }
    if (rep_wh_enqueue(r) < 0)
        return -1;
    rep_metric_copies(n);
    return 0;
}
