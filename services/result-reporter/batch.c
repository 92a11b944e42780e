/* The consumer callbacks (handle, batch_end, batch_abort, dead_letter),
 * the batch flow, metrics, and the reporter's life cycle. See reporter.h. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "reporter.h"
#include "webhooks.h"
#include "xw_id.h"
#include "xw_log.h"
#include "xw_metrics.h"

XW_COUNTER(m_folded, "xw_reporter_results_folded_total",
           "object results folded into package state (new)");
XW_COUNTER(m_dups, "xw_reporter_results_duplicate_total",
           "object results ignored as duplicates");
XW_COUNTER(m_finished, "xw_reporter_packages_finished_total",
           "deployment attempts finished (PackageFinished published)");
XW_COUNTER(m_copies, "xw_reporter_result_copies_total",
           "ObjectResult copies published to the outcomes topic");
XW_COUNTER(m_audit, "xw_reporter_audit_recorded_total",
           "audit records appended");
XW_COUNTER(m_audit_dups, "xw_reporter_audit_duplicate_total",
           "audit records ignored as duplicates");
XW_COUNTER(m_skipped, "xw_reporter_skipped_total",
           "unusable events skipped during a rebuild (not dead-lettered)");
XW_COUNTER(m_batches, "xw_reporter_batches_total",
           "consumer batches applied");

void rep_register_metrics(void)
{
    xw_metrics_register(&m_folded);
    xw_metrics_register(&m_dups);
    xw_metrics_register(&m_finished);
    xw_metrics_register(&m_copies);
    xw_metrics_register(&m_audit);
    xw_metrics_register(&m_audit_dups);
    xw_metrics_register(&m_skipped);
    xw_metrics_register(&m_batches);
}

void rep_metric_folded(uint64_t n) { xw_metrics_add(&m_folded, n); }
void rep_metric_duplicates(uint64_t n) { xw_metrics_add(&m_dups, n); }
void rep_metric_finished(uint64_t n) { xw_metrics_add(&m_finished, n); }
void rep_metric_copies(uint64_t n) { xw_metrics_add(&m_copies, n); }
void rep_metric_skipped(uint64_t n) { xw_metrics_add(&m_skipped, n); }
void rep_metric_audit(uint64_t recorded, uint64_t duplicates)
{
    xw_metrics_add(&m_audit, recorded);
    xw_metrics_add(&m_audit_dups, duplicates);
}

/* ---- errors ------------------------------------------------------------- */

static enum xw_handle_result retry_nomem(struct xw_handle_error *err)
{
    return xw_handle_fail(err, XW_HANDLE_RETRY, "no_memory",
                          "out of memory (or batch bigger than %u bytes) "
                          "queueing the batch",
                          REP_ARENA_CAP);
}

int rep_get_id(const avro_value_t *v, const char *field, const char **s,
               size_t *len, struct xw_handle_error *err)
{
    int rc = xw_avro_get_string(v, field, s, len);

    if (rc != 0) {
        xw_handle_fail(err, XW_HANDLE_POISON, "invalid_event", "field %s: %s",
                       field, rc > 0 ? "missing" : xw_avro_strerror(rc));
        return -1;
    }
    if (!xw_id_valid(*s, *len, REP_ID_MAX)) {
        xw_handle_fail(err, XW_HANDLE_POISON, "invalid_id",
                       "field %s is not an id (1..%d of [A-Za-z0-9._:@-])",
                       field, REP_ID_MAX);
        return -1;
    }
    return 0;
}

/* ---- the batch ---------------------------------------------------------- */

static void batch_reset(struct reporter *r)
{
    rep_wh_reset(r);
    rep_cmds_reset(&r->main);
    rep_cmds_reset(&r->pipe);
    rep_cmds_reset(&r->check);
    rep_cmds_reset(&r->fin);
    r->nresults = 0;
    r->ngroups = 0;
    rep_set_clear(&r->groupset);
    rep_set_clear(&r->checkset);
    rep_set_clear(&r->finset);
    for (size_t i = 0; i < r->nfins; i++)
        json_decref(r->fins[i].summary);
    r->nfins = 0;
    xw_buf_reset(&r->arena);
}

enum xw_handle_result rep_handle(void *ctx, const rd_kafka_message_t *m,
                                 struct xw_handle_error *err)
{
    struct reporter *r = ctx;
    const xw_avro_type *t;
    avro_value_t *v;
    xw_avro_err ae;
    enum xw_handle_result res;

    if (r->rebuild)
        rep_progress_note(r, m);
    if (!m->payload
        || xw_avro_decode(r->dec, m->payload, m->len, &t, &v, &ae) < 0) {
        const char *topic = rd_kafka_topic_name(m->rkt);
        size_t tl = strlen(topic);

        /* A broken message on the dead-letter topic itself is skipped, not
         * dead-lettered again: that would loop forever. */
        if (tl >= 3 && strcmp(topic + tl - 3, "dlq") == 0) {
            xw_warn("DLQ", "skipping undecodable dead letter at %s [%d] @%lld",
                    topic, (int)m->partition, (long long)m->offset);
            return XW_HANDLE_OK;
        }
        return xw_handle_fail(err, XW_HANDLE_POISON, "undecodable", "%s",
                              m->payload ? ae.msg : "empty message");
    }
    if (strcmp(t->short_name, "ObjectResult") == 0)
        res = rep_fold_queue(r, m, v, err);
    else if (strcmp(t->short_name, "PackageCreated") == 0)
        res = rep_history_created(r, v, err);
    else if (strcmp(t->short_name, "DeployStarted") == 0)
        res = rep_history_started(r, v, err);
    else if (strcmp(t->short_name, "AuditRecorded") == 0)
        res = rep_audit_queue(r, v, err);
    else if (strcmp(t->short_name, "DeadLetter") == 0)
        res = rep_dlq_queue(r, v, err);
    else
        return xw_handle_fail(err, XW_HANDLE_POISON, "unexpected_event",
                              "%s is not an event the result-reporter reads",
                              t->short_name);
    if (res == XW_HANDLE_RETRY && !err->code[0])
        res = retry_nomem(err);
    return res;
}

/* `main` with each FOLD filled in with its group's results. */
static int build_pipe(struct reporter *r)
{
    for (size_t i = 0; i < r->main.n; i++) {
        const struct rep_op *op = &r->main.ops[i];
        struct rep_op *p;

        if (op->kind == REP_OP_FOLD) {
            if (rep_fold_build(r, &r->pipe, op->group) < 0)
                return -1;
            continue;
        }
        if (rep_cmd_begin(&r->pipe, op->kind) < 0)
            return -1;
        for (size_t k = 0; k < op->nargs; k++)
            if (rep_arg_str(&r->pipe, r->main.args[op->arg0 + k]) < 0)
                return -1;
        p = rep_cmd_last(&r->pipe);
        p->pkg = op->pkg;
        p->att = op->att;
    }
    return 0;
}

/* Replies of the pipeline: metrics, and attempts that finished. */
static int pipe_replies(struct reporter *r)
{
    uint64_t audit_new = 0, audit_dup = 0;

    for (size_t i = 0; i < r->pipe.n; i++) {
        const struct rep_op *op = &r->pipe.ops[i];
        const redisReply *rep = r->pipe.replies[i];

        switch (op->kind) {
        case REP_OP_FOLD:
            if (rep_fold_reply(r, op, rep) < 0)
                return -1;
            break;
        case REP_OP_STARTED:
            if (rep_outcome_note(r, op, rep) < 0)
                return -1;
            break;
        case REP_OP_AUDIT:
            if (rep->type == REDIS_REPLY_INTEGER && rep->integer == 1)
                audit_new++;
            else
                audit_dup++;
            break;
        default:
            break;
        }
    }
    rep_metric_audit(audit_new, audit_dup);
    return 0;
}

int rep_batch_end(void *ctx)
{
    struct reporter *r = ctx;
    int rc = -1;

    if (!r->rebuild && rep_wh_refresh(r) < 0) {
        xw_warn("REDIS", "batch not applied: %s", r->redis->errstr);
        goto out;
    }
    if (!r->rebuild && r->publish_results && rep_fold_copies(r) < 0)
        goto out;
    if (build_pipe(r) < 0) {
        xw_warn("PKG", "batch not applied: out of memory");
        goto out;
    }
    if (rep_exec(r, &r->pipe) < 0) {
        xw_warn("REDIS", "batch not applied: %s", r->redis->errstr);
        goto out;
    }
    if (pipe_replies(r) < 0 || rep_outcomes_finish(r) < 0)
        goto out;
    xw_metrics_add(&m_batches, 1);
    rc = 0;
out:
    if (r->rebuild)
        rep_progress_commit(r, rc == 0);
    batch_reset(r);
    return rc;
}

void rep_batch_abort(void *ctx)
{
    struct reporter *r = ctx;

    if (r->rebuild)
        rep_progress_commit(r, 0);
    batch_reset(r);
}

int rep_dead_letter(void *ctx, const rd_kafka_message_t *m,
                    const struct xw_handle_error *e)
{
    struct reporter *r = ctx;

    if (r->rebuild) {
        /* The live run dead-lettered it already (same deterministic
         * id); a rebuild only rebuilds projections. */
        rep_metric_skipped(1);
        return 0;
    }
    return xw_service_dead_letter(r->svc, m, e);
}

/* ---- life cycle --------------------------------------------------------- */

int rep_init(struct reporter *r, struct xw_service *svc, int rebuild)
{
    char err[512];
    const xw_avro_type *t;

    memset(r, 0, sizeof *r);
    r->svc = svc;
    r->rebuild = rebuild;
    r->publish_results = xw_config_bool(&svc->cfg, "XW_REPORTER_PUBLISH_RESULTS");
    r->dedupe_ttl_s = xw_config_int(&svc->cfg, "XW_DEDUPE_TTL_S");
    r->audit_max = xw_config_int(&svc->cfg, "XW_AUDIT_MAX");
    xw_buf_init(&r->arena, REP_ARENA_CAP);
    xw_buf_init(&r->enc, 0);
    r->redis = xw_redis_connect(xw_config_str(&svc->cfg, "XW_REDIS_URL"), NULL,
                                err, sizeof err);
    if (!r->redis) {
        xw_error("INIT", "redis: %s", err);
        return -1;
    }
    if (rep_scripts_load(r) < 0) {
        xw_error("INIT", "redis scripts: %s", r->redis->errstr);
        return -1;
    }
    t = xw_avro_type_find(svc->avro, "PackageFinished");
    r->result_type = xw_avro_type_find(svc->avro, "ObjectResult");
    if (xw_avro_decoder_new(&r->dec, svc->avro) < 0 || !t || !r->result_type
        || xw_avro_value_init(&r->finished, t) < 0) {
        xw_error("INIT", "avro: out of memory, or PackageFinished or "
                 "ObjectResult missing");
        return -1;
    }
    return 0;
}

void rep_release(struct reporter *r)
{
    batch_reset(r);
    rep_cmds_free(&r->main);
    rep_cmds_free(&r->pipe);
    rep_cmds_free(&r->check);
    rep_cmds_free(&r->fin);
    free(r->results);
    free(r->groups);
    rep_set_free(&r->groupset);
    rep_set_free(&r->checkset);
    rep_set_free(&r->finset);
    free(r->fins);
    free(r->states);
    free(r->progress);
    xw_avro_value_release(&r->finished);
    xw_avro_decoder_free(r->dec);
    xw_redis_free(r->redis);
    xw_buf_release(&r->arena);
    xw_buf_release(&r->enc);
    memset(r, 0, sizeof *r);
}
