/*
 * batch - the deployer's consumer callbacks: handle() collects, batch_end()
 * does the work (see deployer.h for the steps and why per batch).
 */
#include "deployer.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "locks.h"
#include "result.h"
#include "target.h"
#include "timing.h"
#include "write.h"
#include "xw_avro_json.h"
#include "xw_catalog.h"
#include "xw_id.h"
#include "xw_log.h"
#include "xw_metrics.h"
#include "xw_model.h"

XW_COUNTER(m_written, "xw_deployer_written_total",
           "objects written to the destination (exactly-once record set now)");
XW_COUNTER(m_already, "xw_deployer_already_written_total",
           "objects found written before (redelivery, replay): not rewritten");
XW_COUNTER(m_stale, "xw_deployer_stale_skipped_total",
           "objects skipped because a newer lock holder owns the package");
XW_COUNTER(m_failed, "xw_deployer_failed_total",
           "objects that could not be deployed (ObjectResult failed)");
XW_COUNTER(m_batches, "xw_deployer_batches_total",
           "batches of ObjectMapped events completed");
XW_GAUGE(m_locks, "xw_deployer_package_locks",
         "package locks this deployer holds");

void dp_deployer_register_metrics(void)
{
    xw_metrics_register(&m_written);
    xw_metrics_register(&m_already);
    xw_metrics_register(&m_stale);
    xw_metrics_register(&m_failed);
    xw_metrics_register(&m_batches);
    xw_metrics_register(&m_locks);
    dp_target_register_metrics();
}

void dp_item_fail(struct dp_item *it, const char *code, const char *fmt, ...)
{
    va_list ap;

    it->status = DP_FAILED;
    it->reason_code = code;
    va_start(ap, fmt);
    vsnprintf(it->reason, sizeof it->reason, fmt, ap);
    va_end(ap);
}

int dp_deployer_init(struct dp_deployer *d, struct xw_service *svc,
                     xw_redis *r, dp_target *target)
{
    const xw_avro_type *om = xw_avro_type_find(svc->avro, "ObjectMapped");
    const xw_avro_type *res = xw_avro_type_find(svc->avro, "ObjectResult");
    int ttl = (int)xw_config_int(&svc->cfg, "XW_DEPLOY_LOCK_TTL_MS");
    char err[256] = "out of memory";

    memset(d, 0, sizeof *d);
    d->svc = svc;
    d->redis = r;
    d->target = target;
    xw_buf_init(&d->out, 0);
    xw_buf_init(&d->body, 0);
    xw_buf_init(&d->rec, 0);
    xw_buf_init(&d->arena, 0);
    if (!om || !res) {
        xw_error("INIT", "schemas ObjectMapped and ObjectResult must be "
                 "registered");
        goto fail;
    }
    if (xw_catalog_registry_open(&d->state, err, sizeof err) < 0
        || xw_avro_value_init(&d->entry, xw_avro_type_find(d->state,
                                                           XW_CATALOG_ENTRY))
           < 0) {
        xw_error("INIT", "catalog entry schema: %s", err);
        goto fail;
    }
    d->locks = dp_locks_new(ttl, (int)xw_config_int(&svc->cfg,
                                                    "XW_DEPLOY_LOCK_IDLE_MS"));
    d->zones = dp_zones_new(xw_config_int(&svc->cfg, "XW_DEPLOY_WS_CACHE_MS"));
    d->writes = dp_writes_new();
    if (!d->locks || !d->zones || !d->writes
        || xw_avro_value_init(&d->in, om) < 0
        || xw_avro_value_init(&d->result, res) < 0) {
        xw_error("INIT", "out of memory");
        goto fail;
    }
    return 0;
fail:
    d->target = NULL;   /* still the caller's on failure */
    dp_deployer_release(d);
    return -1;
}

/* Forgets the batch (its items and arena), keeping the memory. */
static void batch_reset(struct dp_deployer *d)
{
    d->n = 0;
    xw_buf_reset(&d->arena);
    dp_write_reset(d);
}

void dp_deployer_release(struct dp_deployer *d)
{
    batch_reset(d);
    if (d->locks && d->redis)
        dp_locks_release_all(d->locks, d->redis);
    dp_locks_free(d->locks);
    dp_zones_free(d->zones);
    dp_writes_free(d->writes);
    dp_target_free(d->target);
    free(d->items);
    free(d->replies);
    xw_avro_value_release(&d->entry);
    xw_avro_registry_free(d->state);
    xw_avro_value_release(&d->in);
    xw_avro_value_release(&d->result);
    xw_buf_release(&d->out);
    xw_buf_release(&d->body);
    xw_buf_release(&d->rec);
    xw_buf_release(&d->arena);
    memset(d, 0, sizeof *d);
}

/* Copies a string field into dst (cap bytes with the NUL); with `id` set
 * it must also be a valid id (it becomes part of Redis keys). */
static int copy(const avro_value_t *rec, const char *field, char *dst,
                size_t cap, int id, struct xw_handle_error *err)
{
    const char *s;
    size_t len;

    if (xw_avro_get_string(rec, field, &s, &len) != 0 || len >= cap
        || (id && !xw_id_valid(s, len, XW_ID_MAX))) {
        xw_handle_fail(err, XW_HANDLE_POISON,
                       id ? "invalid_id" : "bad_event",
                       "ObjectMapped.%s is missing, too long or not a valid %s",
                       field, id ? "id" : "string");
        return -1;
    }
    memcpy(dst, s, len + 1);
    return 0;
}

/* Copies what the batch needs out of the decoded event (the value is
 * decoded into again by the next one); the object's Avro body goes to the
 * arena, and its JSON when the target takes a body. */
static enum xw_handle_result read_item(const avro_value_t *ev,
                                       struct dp_item *it, xw_buf *arena,
                                       int json, struct xw_handle_error *err)
{
    avro_value_t obj;
    const char *mode, *sched;
    size_t start;
    xw_avro_err ae;
    int rc;

    if (copy(ev, "event_id", it->event_id, sizeof it->event_id, 0, err) < 0
        || copy(ev, "correlation_id", it->correlation_id,
                sizeof it->correlation_id, 0, err) < 0
        || copy(ev, "actor", it->actor, sizeof it->actor, 0, err) < 0
        || copy(ev, "package_id", it->package_id, sizeof it->package_id, 1,
                err) < 0
        || copy(ev, "source_workspace", it->source_ws, sizeof it->source_ws,
                1, err) < 0
        || copy(ev, "destination_workspace", it->dest_ws, sizeof it->dest_ws,
                1, err) < 0)
        return XW_HANDLE_POISON;
    if (xw_avro_get_int(ev, "attempt", &it->attempt) < 0
        || xw_avro_get_int(ev, "total", &it->total) < 0
        || xw_avro_get_long(ev, "deploy_at", &it->deploy_at) < 0
        || xw_avro_get_record(ev, "object", &obj) < 0)
        return xw_handle_fail(err, XW_HANDLE_POISON, "bad_event",
                              "ObjectMapped is missing a field");
    if (copy(&obj, "id", it->obj_id, sizeof it->obj_id, 1, err) < 0
        || copy(&obj, "name", it->obj_name, sizeof it->obj_name, 0, err) < 0
        || copy(&obj, "compute_resource", it->compute, sizeof it->compute, 0,
                err) < 0
        || copy(&obj, "resource_group", it->rgroup, sizeof it->rgroup, 0,
                err) < 0
        || copy(&obj, "owner", it->owner, sizeof it->owner, 0, err) < 0)
        return XW_HANDLE_POISON;
    if (xw_avro_get_enum(&obj, "kind", &it->kind) < 0
        || xw_avro_get_long(&obj, "version", &it->version) < 0
        || xw_avro_get_enum(&obj, "generation_mode", &mode) < 0
        || (rc = xw_avro_get_string(&obj, "scheduled_time", &sched, NULL)) < 0)
        return xw_handle_fail(err, XW_HANDLE_POISON, "bad_event",
                              "ObjectMapped.object is missing a field");
    it->mode = strcmp(mode, "immediate") == 0 ? XW_GEN_IMMEDIATE
                                              : XW_GEN_NEXT_DAY;
    if (rc == 0 && xw_model_parse_hms(sched, &it->sched_hour,
                                      &it->sched_minute,
                                      &it->sched_second) < 0)
        return xw_handle_fail(err, XW_HANDLE_POISON, "bad_event",
                              "ObjectMapped.object.scheduled_time is not "
                              "HH:MM[:SS]");
    /* Last: a poisoned event must leave nothing in the arena. */
    start = it->obj_off = arena->len;
    if (xw_avro_encode_body(&obj, arena, &ae) < 0)
        goto nomem;
    it->obj_len = arena->len - it->obj_off;
    it->json_off = arena->len;
    if (json && xw_avro_json_write(&obj, arena) < 0)
        goto nomem;
    it->json_len = arena->len - it->json_off;
    return XW_HANDLE_OK;
nomem:
    xw_buf_setlen(arena, start);
    return xw_handle_fail(err, XW_HANDLE_RETRY, "out_of_memory",
                          "object as Avro and JSON");
}

/* Room for one more item (and its two pre-read replies). The batch grows
 * to the largest the loop hands over and stays that size: no allocation
 * per event once warm, and no XW_BATCH_MAX-sized block up front. */
static int grow(struct dp_deployer *d)
{
    size_t cap = d->cap ? d->cap * 2 : 64;
    struct dp_item *items = realloc(d->items, cap * sizeof *items);
    redisReply **replies;

    if (!items)
        return -1;
    d->items = items;
    replies = realloc(d->replies, 2 * cap * sizeof *replies);
    if (!replies)
        return -1;
    d->replies = replies;
    d->cap = cap;
    return 0;
}

enum xw_handle_result dp_handle(void *ctx, const rd_kafka_message_t *msg,
                                struct xw_handle_error *err)
{
    struct dp_deployer *d = ctx;
    struct dp_item *it;
    xw_avro_err ae;
    enum xw_handle_result r;

    if (d->n == d->cap && grow(d) < 0) {
        return xw_handle_fail(err, XW_HANDLE_RETRY, "out_of_memory",
                              "batch of %zu", d->n);
    }
    if (xw_avro_decode_into(d->svc->avro, &d->in, msg->payload, msg->len,
                            &ae) < 0)
        return xw_handle_fail(err, XW_HANDLE_POISON,
                              ae.code == XW_AVRO_ETYPE ? "wrong_type"
                                                       : "undecodable",
                              "not an ObjectMapped: %s", ae.msg);
    it = &d->items[d->n];
    memset(it, 0, sizeof *it);
    r = read_item(&d->in.value, it, &d->arena, d->target->takes_body, err);
    if (r == XW_HANDLE_OK)
        d->n++;
    return r;
}

/* Decides item it (step 3 of deployer.h). 0, or -1 with err: retry. */
static int deploy_one(struct dp_deployer *d, struct dp_item *it, char *err,
                      size_t errlen)
{
    if (it->once_exists) {
        /* Written before: deployed; the catalog entry says how. */
        it->cur_off = it->prev_off;
        it->cur_len = it->prev_len;
        dp_write_recall(d, it);
        if (!it->has_effective && it->zone[0])
            dp_timing_compute(d->zones, it);
        it->status = DP_ALREADY;
        it->reason_code = NULL;
        return 0;
    }
    if (dp_timing_compute(d->zones, it) < 0)
        return 0;
    if (dp_locks_refresh(d->locks, d->redis, it->lock) < 0) {
        snprintf(err, errlen, "redis: %s", d->redis->errstr);
        return -1;
    }
    if (!dp_locks_get(d->locks, it->lock)) {
        it->status = DP_STALE;
        return 0;
    }
    if (d->target->takes_body && dp_write_body(d, it) < 0) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    switch (d->target->deliver(d->target, it, d->body.data, d->body.len)) {
    case DP_REFUSED:
        return 0;
    case DP_UNDECIDED:
        snprintf(err, errlen, "delivery interrupted");
        return -1;
    case DP_DELIVERED:
        break;
    }
    return dp_write_queue(d, it, err, errlen);
}

static void count(const struct dp_item *it)
{
    switch (it->status) {
    case DP_WRITTEN:
        xw_metrics_add(&m_written, 1);
        break;
    case DP_ALREADY:
        xw_metrics_add(&m_already, 1);
        break;
    case DP_FAILED:
        xw_metrics_add(&m_failed, 1);
        break;
    case DP_STALE:
        xw_metrics_add(&m_stale, 1);
        break;
    case DP_PENDING:
    case DP_QUEUED:
        break;
    }
}

int dp_batch_end(void *ctx)
{
    struct dp_deployer *d = ctx;
    char err[512];
    size_t i, stale = 0;
    int64_t now;
    int rc = -1;

    if (d->n == 0)
        return 0;
    if (dp_locks_hold(d->locks, d->redis, d->items, d->n, err, sizeof err) < 0
        || dp_zones_resolve(d->zones, d->redis, d->items, d->n, err,
                            sizeof err) < 0
        || dp_write_preread(d, err, sizeof err) < 0)
        goto out;
    for (i = 0; i < d->n; i++) {
        if (dp_write_follow(d, i, err, sizeof err) < 0
            || deploy_one(d, &d->items[i], err, sizeof err) < 0)
            goto out;
    }
    if (dp_write_flush(d, err, sizeof err) < 0)
        goto out;
    now = xw_now_ms();
    for (i = 0; i < d->n; i++) {
        const struct dp_item *it = &d->items[i];

        if (it->status == DP_STALE)
            stale++;
        else if (dp_result_emit(d, it, now, err, sizeof err) < 0)
            goto out;
        count(it);
    }
    if (stale)
        xw_warn("LOCK", "skipped %zu object(s): a newer deployer holds their "
                "package's lock (stale fence) and handles them", stale);
    xw_metrics_add(&m_batches, 1);
    xw_debug("DEPL", "batch of %zu object(s) done", d->n);
    rc = 0;
out:
    if (rc < 0)
        xw_warn("DEPL", "batch of %zu object(s) will be retried: %s", d->n,
                err);
    xw_metrics_set(&m_locks, dp_locks_count(d->locks));
    batch_reset(d);
    return rc;
}

void dp_batch_abort(void *ctx)
{
    batch_reset(ctx);
}

void dp_deployer_tick(struct dp_deployer *d)
{
    dp_locks_release_idle(d->locks, d->redis);
    xw_metrics_set(&m_locks, dp_locks_count(d->locks));
}
