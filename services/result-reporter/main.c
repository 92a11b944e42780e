/*
 * xw-result-reporter - folds object results into package state, keeps the
 * package history and the audit trail that step 5 reads, and publishes
 * outcomes (PackageFinished, ObjectResult copies) on xw.outcomes.
 *
 *   xw-result-reporter              run as group "result-reporter"
 *   xw-result-reporter --rebuild    rebuild the projections from the log,
 *                                   then exit 0 (also XW_REBUILD=true)
 *
 * See reporter.h for how a batch is applied, scripts.c for the Redis side.
 */
#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "reporter.h"
#include "webhooks.h"
#include "xw_log.h"

static const struct xw_config_def settings[] = {
    { "XW_REBUILD", XW_CFG_BOOL, "false", 0, 1, 0,
      "rebuild the reporter's projections from the topics, then exit" },
    { "XW_REBUILD_TIMEOUT_S", XW_CFG_INT, "1800", 10, 86400, 0,
      "a rebuild that has not caught up after this long fails" },
    { "XW_AUDIT_MAX", XW_CFG_INT, "100000", 100, 100000000, 0,
      "entries kept in xw:audit and in each xw:audit:{ws}" },
    { "XW_REPORTER_PUBLISH_RESULTS", XW_CFG_BOOL, "true", 0, 1, 0,
      "copy each new ObjectResult to the outcomes topic for subscribers" },
    { "XW_PACKAGE_TIMEOUT_S", XW_CFG_INT, "600", 0, 31536000, 0,
      "an attempt without a new result for this long: its objects still "
      "without one fail with reason_code timeout (timeout.c); 0: never" },
    { "XW_WEBHOOK_WORKERS", XW_CFG_INT, "4", 0, 256, 0,
      "webhook delivery threads (subscriptions served at once); 0: none" },
    { "XW_WEBHOOK_CONNECT_TIMEOUT_MS", XW_CFG_INT, "2000", 50, 60000, 0,
      "webhook connect timeout" },
    { "XW_WEBHOOK_TIMEOUT_MS", XW_CFG_INT, "10000", 100, 120000, 0,
      "webhook request timeout (whole attempt)" },
    { "XW_WEBHOOK_BACKOFF_MIN_MS", XW_CFG_INT, "10000", 10, 3600000, 0,
      "first retry delay cap (full jitter; doubles per failure)" },
    { "XW_WEBHOOK_BACKOFF_MAX_MS", XW_CFG_INT, "3600000", 10, 86400000, 0,
      "largest retry delay cap" },
    { "XW_WEBHOOK_MAX_AGE_S", XW_CFG_INT, "86400", 1, 2592000, 0,
      "a delivery not answered 2xx within this long is parked as failed" },
    { "XW_WEBHOOK_POLL_MS", XW_CFG_INT, "200", 10, 10000, 0,
      "how often an idle delivery worker looks for due subscriptions" },
    { "XW_WEBHOOK_LOG_MAX", XW_CFG_INT, "1000", 10, 1000000, 0,
      "deliveries kept in each subscription's delivery log" },
    { "XW_WEBHOOK_QUEUE_MAX", XW_CFG_INT, "100000", 10, 10000000, 0,
      "pending deliveries per subscription; more are parked at once" },
};

static const enum xw_topic topics[] = {
    XW_TOPIC_PACKAGES, XW_TOPIC_DEPLOY, XW_TOPIC_RESULTS, XW_TOPIC_AUDIT,
    XW_TOPIC_DLQ,
};

static void usage(FILE *f)
{
    fprintf(f, "usage: xw-result-reporter [--rebuild]\n"
               "Settings come from the environment (XW_*); see README.\n");
}

int main(int argc, char **argv)
{
    struct xw_service svc;
    struct reporter r;
    struct xw_kafka_handler h = { 0 };
    xw_kafka_consumer *consumer = NULL;
    struct rep_pool *pool = NULL;
    int rebuild = 0, rc = 1;

    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--rebuild") == 0) {
            rebuild = 1;
        } else if (strcmp(argv[i], "--help") == 0
                   || strcmp(argv[i], "-h") == 0) {
            usage(stdout);
            return 0;
        } else {
            usage(stderr);
            return 2;
        }
    }
    /* Each batch builds pipelines of a few hundred KB (hiredis' output
     * buffer, replies, JSON): keep that memory in the process instead of
     * giving it back and faulting it in again on every batch. */
    mallopt(M_MMAP_THRESHOLD, 64 << 20);
    mallopt(M_TRIM_THRESHOLD, 256 << 20);
    if (xw_service_init(&svc, "result-reporter", settings,
                        sizeof settings / sizeof settings[0]) < 0)
        return 1;
    rep_register_metrics();
    rebuild = rebuild || xw_config_bool(&svc.cfg, "XW_REBUILD");
    if (rep_init(&r, &svc, rebuild) < 0)
        goto out;
    if (rebuild) {
        xw_info("INIT", "rebuild mode: projections from the log, then exit");
        rc = rep_rebuild_run(&r, topics, sizeof topics / sizeof topics[0]) < 0
             ? 1 : 0;
        goto out;
    }
    /* Webhooks: the consumer enqueues, a pool of threads delivers. */
    if (rep_wh_init(&r) < 0 || rep_pool_start(&pool, &svc.cfg) < 0)
        goto out;
    consumer = xw_service_consumer(&svc, topics,
                                   sizeof topics / sizeof topics[0]);
    if (!consumer)
        goto out;
    h.handle = rep_handle;
    h.batch_end = rep_batch_end;
    h.batch_abort = rep_batch_abort;
    h.dead_letter = rep_dead_letter;
    h.ctx = &r;
    if (rep_timeout_init(&r) < 0)
        goto out;
    xw_info("INIT", "result-reporter running");
    /* The loop of xw_kafka_consumer_run, plus the timeout sweep between
     * batches (timeout.c). */
    while (!xw_kafka_stop) {
        if (xw_kafka_consumer_run_once(consumer, &h, 200) < 0) {
            atomic_store(&svc.unhealthy, 1);
            goto out;
        }
        xw_kafka_poll(svc.producer);
        rep_timeout_tick(&r);
    }
    xw_info("INIT", "stopping");
    rc = 0;
out:
    xw_kafka_consumer_free(consumer);
    rep_timeout_release();
    rep_pool_stop(pool);
    rep_wh_free(&r);
    rep_release(&r);
    xw_service_release(&svc);
    return rc;
}
