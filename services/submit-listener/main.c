/*
 * xw-submit-listener - the HTTP front door of xwdeploy.
 *
 * Authenticates callers, checks roles with the rule module, validates, and
 * turns every write of the five steps into an Avro event on Kafka; serves
 * reads from the Redis projections. See docs/api.md.
 */
#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "access.h"
#include "auth.h"
#include "http.h"
#include "notify.h"
#include "xw_catalog.h"
#include "xw_log.h"
#include "xw_service.h"

static const struct xw_config_def settings[] = {
    { "XW_API_ADDR", XW_CFG_STR, "127.0.0.1", 7, 15, 0,
      "IPv4 address the API listens on" },
    { "XW_API_PORT", XW_CFG_INT, "8080", 1, 65535, 0, "API port" },
    { "XW_API_MAX_BODY", XW_CFG_INT, "8388608", 1024, 268435456, 0,
      "largest request body in bytes" },
    { "XW_API_THREADS", XW_CFG_INT, "16", 1, 256, 0,
      "HTTP threads (long-polls hold none; writes hold one until the "
      "broker acknowledges)" },
    { "XW_TOKENS", XW_CFG_STR, NULL, 0, 1048576, XW_CFG_SECRET,
      "API tokens: user:token[,user:token...]" },
    { "XW_TOKENS_FILE", XW_CFG_STR, NULL, 0, 4096, 0,
      "file of 'user token' lines" },
    { "XW_SYSTEM_ADMINS", XW_CFG_STR, "", 0, 4096, 0,
      "users who may register workspaces (comma-separated)" },
    { "XW_ALLOW_FIXED_DEPLOY_TIME", XW_CFG_BOOL, "false", 0, 1, 0,
      "tests only: accept deploy_at to fix the deploy instant" },
};

void sl_emit_register_metrics(void);

int main(void)
{
    struct xw_service svc;
    struct sl_service sl = { 0 };
    struct MHD_Daemon *d = NULL;
    char err[512];
    int rc = 1;

    /* Before any thread starts: glibc gives every thread that allocates
     * under contention an arena of its own (up to 8 per core), and a
     * multi-threaded server ends up with many arenas each keeping
     * the freed memory of the largest request it served. One is enough
     * (the work per request is Redis and Kafka round trips, not
     * allocation; see below). Measured with big_package.sh (a
     * 10,000-object request): resident after the run 63 MB before issue
     * 7, 17 MB with these settings and sl_http_trim.
     * Fixed thresholds, because glibc's dynamic ones follow the largest
     * block freed: after a 10,000-object request they reach 32 MB (mmap)
     * and 64 MB (trim), so buffers of several MB stay in the heaps and a
     * thread arena's free top (which malloc_trim does not touch) is never
     * given back - measured: 57 MB free in one arena after big_package.
     * Blocks from 2 MiB are mmapped (given back on free), and a heap
     * keeps at most 4 MiB of free top.
     * Not lower: memory given back is faulted in again by the next
     * request, and on this (virtualised) machine a first touch costs far
     * more than the copy that follows it. With 256 KiB / 1 MiB every
     * 1,000-object request (a 350 KB body, a 660 KB answer) mapped,
     * faulted and unmapped its buffers, and malloc_trim gave back the
     * heaps' free pages after each: one GET /v1/packages/{id} of 1,000
     * objects cost 7.2-8.7 ms of listener CPU, 4.1-4.3 ms with these and
     * TRIM_AFTER_BYTES (http.c); a 1,000-object step 3 POST 2.7-3.6 ms,
     * 1.5-1.7 with them. Resident after ten 1,000-object packages the
     * same (16.6 MB); after three of 10,000, 19 MB (15-17 before), peak
     * 27 MB (25 before). */
    /* One arena since session 5: with two, each kept up to the trim
     * threshold of free memory after big requests, and sat-10k after
     * sat-1k (8 threads of 1,000-object requests) peaked at 28.9-30.1
     * MB; with one, 26.9 MB, listener CPU per object unchanged (12.5 us
     * in sat-1k): its threads mostly wait on Redis and Kafka. */
    mallopt(M_ARENA_MAX, 1);
    mallopt(M_MMAP_THRESHOLD, 2 * 1024 * 1024);
    mallopt(M_TRIM_THRESHOLD, 4 * 1024 * 1024);
    if (xw_service_init(&svc, "submit-listener", settings,
                        sizeof settings / sizeof settings[0]) < 0)
        return 1;
    sl.cfg = svc.cfg;
    sl.producer = svc.producer;
    sl.avro = svc.avro;
    if (xw_catalog_registry_open(&sl.state, err, sizeof err) < 0) {
        xw_error("INIT", "catalog entry schema: %s", err);
        goto out;
    }
    sl.redis_url = xw_config_str(&svc.cfg, "XW_REDIS_URL");
    sl.max_body = (size_t)xw_config_int(&svc.cfg, "XW_API_MAX_BODY");
    sl.threads = (unsigned)xw_config_int(&svc.cfg, "XW_API_THREADS");
    sl.allow_fixed_deploy_time = xw_config_bool(&svc.cfg,
                                                "XW_ALLOW_FIXED_DEPLOY_TIME");
    if (sl.allow_fixed_deploy_time)
        xw_warn("INIT", "XW_ALLOW_FIXED_DEPLOY_TIME is on: for tests only");
    sl.auth = sl_auth_load(xw_config_str(&svc.cfg, "XW_TOKENS"),
                           xw_config_str(&svc.cfg, "XW_TOKENS_FILE"),
                           xw_config_str(&svc.cfg, "XW_SYSTEM_ADMINS"), err,
                           sizeof err);
    if (!sl.auth) {
        xw_error("INIT", "tokens: %s", err);
        goto out;
    }
    sl_emit_register_metrics();
    sl_access_register_metrics();
    if (sl_notify_start(sl.redis_url, err, sizeof err) < 0)
        xw_warn("INIT", "%s: waits poll with backoff", err);
    d = sl_http_start(&sl, xw_config_str(&svc.cfg, "XW_API_ADDR"),
                      (int)xw_config_int(&svc.cfg, "XW_API_PORT"), err,
                      sizeof err);
    if (!d) {
        xw_error("INIT", "%s", err);
        goto out;
    }
    xw_info("INIT", "API on %s:%lld, %zu user token(s)",
            xw_config_str(&svc.cfg, "XW_API_ADDR"),
            xw_config_int(&svc.cfg, "XW_API_PORT"), sl_auth_count(sl.auth));
    /* The HTTP threads do the work; this one serves delivery reports and
     * stops the process on a fatal producer error (requests meanwhile get
     * 503 from sl_produce, nothing is acknowledged that was not written). */
    while (!xw_kafka_stop) {
        rd_kafka_poll(xw_kafka_producer_handle(svc.producer), 200);
        sl_http_trim();
        if (xw_kafka_producer_fatal(svc.producer, err, sizeof err)) {
            xw_error("KAFK", "%s: stopping", err);
            atomic_store(&svc.unhealthy, 1);
            goto out;
        }
    }
    xw_info("INIT", "stopping");
    rc = 0;
out:
    sl_http_stop(d);
    sl_notify_stop();
    sl_auth_free(sl.auth);
    xw_avro_registry_free(sl.state);
    xw_service_release(&svc);
    return rc;
}
