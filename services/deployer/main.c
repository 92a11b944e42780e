/*
 * xw-deployer - writes each mapped object to the destination exactly once,
 * computes when it takes effect and emits its ObjectResult (consumer group
 * "deployer" on xw.mapped). See deployer.h for how a batch is worked,
 * write.h for the exactly-once record, target.h for the destinations.
 */
#include <malloc.h>
#include <stdio.h>
#include <string.h>

#include "deployer.h"
#include "target.h"
#include "xw_log.h"
#include "xw_service.h"

static const struct xw_config_def settings[] = {
    { "XW_DEPLOY_TARGET", XW_CFG_STR, "catalog", 4, 7, 0,
      "where objects go: catalog (Redis) or http" },
    { "XW_DEPLOY_HTTP_URL", XW_CFG_STR, NULL, 0, 2048, XW_CFG_SECRET,
      "http target: URL the objects are POSTed to (may carry credentials)" },
    { "XW_DEPLOY_HTTP_TIMEOUT_MS", XW_CFG_INT, "5000", 100, 600000, 0,
      "http target: time allowed for one request" },
    { "XW_DEPLOY_HTTP_RETRIES", XW_CFG_INT, "5", 1, 50, 0,
      "http target: attempts per object before it fails" },
    { "XW_DEPLOY_HTTP_BACKOFF_MS", XW_CFG_INT, "200", 1, 60000, 0,
      "http target: first pause between attempts (doubles, with jitter)" },
    { "XW_DEPLOY_LOCK_TTL_MS", XW_CFG_INT, "10000", 1000, 600000, 0,
      "package lock lifetime without an extension (a dead deployer's "
      "packages wait this long)" },
    { "XW_DEPLOY_LOCK_IDLE_MS", XW_CFG_INT, "3000", 100, 600000, 0,
      "a package lock unused for this long is released" },
    { "XW_DEPLOY_WS_CACHE_MS", XW_CFG_INT, "60000", 0, 86400000, 0,
      "how long a destination's time zone is cached" },
};

/* Every batch allocates and frees the same few megabytes: hiredis'
 * buffers holding the batch's catalog entries (formatted, then copied to
 * the output buffer), librdkafka's fetch buffers, the batch arena. By
 * default glibc hands memory freed at the top of the heap back to the
 * kernel beyond a threshold of about twice the largest block seen, and
 * serves large blocks with fresh mappings, so each batch took page faults
 * and brk/munmap calls to get the same memory back (13% of the deployer's
 * samples in a profile of a 10,000-object package). Keep it: up to this
 * much is kept free at the top of the heap, and blocks below the mmap
 * threshold come from the heap. The peak does not change (RSS stays near
 * it between batches instead of dropping). */
#define MALLOC_KEEP_BYTES (32 << 20)
#define MALLOC_MMAP_BYTES (8 << 20)

static void malloc_keep(void)
{
    /* Best effort: another allocator (the sanitizers') ignores it, and
     * that only costs time. */
    (void)mallopt(M_MMAP_THRESHOLD, MALLOC_MMAP_BYTES);
    (void)mallopt(M_TRIM_THRESHOLD, MALLOC_KEEP_BYTES);
}

static dp_target *target_new(const struct xw_config *cfg)
{
    const char *kind = xw_config_str(cfg, "XW_DEPLOY_TARGET");
    char err[512];
    dp_target *t;

    if (strcmp(kind, "catalog") == 0)
        return dp_target_catalog_new();
    if (strcmp(kind, "http") != 0) {
        xw_error("INIT", "XW_DEPLOY_TARGET must be catalog or http");
        return NULL;
    }
    t = dp_target_http_new(cfg, err, sizeof err);
    if (!t)
        xw_error("INIT", "http target: %s", err);
    else if (xw_config_int(cfg, "XW_DEPLOY_HTTP_RETRIES")
                 * xw_config_int(cfg, "XW_DEPLOY_HTTP_TIMEOUT_MS")
             >= xw_config_int(cfg, "XW_DEPLOY_LOCK_TTL_MS"))
        /* Not wrong, but a slow target then lets the lock lapse between
         * extensions, and another deployer may take the package over (its
         * fenced writes win; ours are refused and skipped). */
        xw_warn("INIT", "HTTP retries x timeout exceed XW_DEPLOY_LOCK_TTL_MS");
    return t;
}

int main(void)
{
    static const enum xw_topic topics[] = { XW_TOPIC_MAPPED };
    struct xw_service svc;
    struct dp_deployer dep = { 0 };
    struct xw_kafka_handler h;
    xw_kafka_consumer *consumer = NULL;
    xw_redis *redis = NULL;
    dp_target *target = NULL;
    char err[512];
    int rc = 1;

    malloc_keep();   /* before any thread starts */
    if (xw_service_init(&svc, "deployer", settings,
                        sizeof settings / sizeof settings[0]) < 0)
        return 1;
    dp_deployer_register_metrics();
    target = target_new(&svc.cfg);
    if (!target)
        goto out;
    redis = xw_redis_connect(xw_config_str(&svc.cfg, "XW_REDIS_URL"), NULL,
                             err, sizeof err);
    if (!redis) {
        xw_error("INIT", "redis: %s", err);
        goto out;
    }
    if (dp_deployer_init(&dep, &svc, redis, target) < 0)
        goto out;
    target = NULL;   /* owned by the deployer now */
    consumer = xw_service_consumer(&svc, topics, 1);
    if (!consumer)
        goto out;
    h = (struct xw_kafka_handler){ .handle = dp_handle,
                                   .batch_end = dp_batch_end,
                                   .batch_abort = dp_batch_abort,
                                   .dead_letter = xw_service_dead_letter,
                                   .dead_letter_ctx = &svc,
                                   .ctx = &dep };
    xw_info("INIT", "deploying to the %s target, state in redis %s",
            dep.target->name, xw_redis_describe(redis));
    /* The loop of xw_kafka_consumer_run, plus a tick between batches that
     * lets go of the locks of packages no longer being worked on. */
    while (!xw_kafka_stop) {
        if (xw_kafka_consumer_run_once(consumer, &h, 200) < 0) {
            atomic_store(&svc.unhealthy, 1);
            goto out;
        }
        xw_kafka_poll(svc.producer);
        dp_deployer_tick(&dep);
    }
    xw_info("INIT", "stopping");
    rc = 0;
out:
    xw_kafka_consumer_free(consumer);
    dp_deployer_release(&dep);   /* releases the package locks */
    dp_target_free(target);
    xw_redis_free(redis);
    xw_service_release(&svc);
    return rc;
}
