/*
 * xw-mapper - applies a package's deployment environment to each of its
 * objects (consumer group "mapper" on xw.deploy).
 *
 * For every DeployStarted chunk: the environment and both workspaces come
 * from Redis (cached per package and attempt, context.h), every object
 * goes through the rule module (map.h), and one event per object goes out:
 * ObjectMapped to the deployer, or ObjectResult(excluded | failed) to the
 * result-reporter. The mapper writes nothing to Redis, so offsets are
 * stored once the batch's events are delivered (xw_kafka's loop).
 */
#include <stdio.h>

#include "map.h"
#include "xw_log.h"
#include "xw_service.h"

static const struct xw_config_def settings[] = {
    { "XW_MAPPER_CACHE_SIZE", XW_CFG_INT, "64", 1, 4096, 0,
      "deployment attempts whose environment and workspaces stay in memory" },
};

int main(void)
{
    static const enum xw_topic topics[] = { XW_TOPIC_DEPLOY };
    struct xw_service svc;
    struct mp_mapper mapper = { 0 };
    struct xw_kafka_handler h;
    xw_kafka_consumer *consumer = NULL;
    xw_redis *redis = NULL;
    char err[512];
    int rc = 1;

    if (xw_service_init(&svc, "mapper", settings,
                        sizeof settings / sizeof settings[0]) < 0)
        return 1;
    mp_mapper_register_metrics();
    redis = xw_redis_connect(xw_config_str(&svc.cfg, "XW_REDIS_URL"), NULL,
                             err, sizeof err);
    if (!redis) {
        xw_error("INIT", "redis: %s", err);
        goto out;
    }
    if (mp_mapper_init(&mapper, &svc, redis,
                       (size_t)xw_config_int(&svc.cfg, "XW_MAPPER_CACHE_SIZE"))
        < 0)
        goto out;
    consumer = xw_service_consumer(&svc, topics, 1);
    if (!consumer)
        goto out;
    h = (struct xw_kafka_handler){ .handle = mp_mapper_handle,
                                   .dead_letter = xw_service_dead_letter,
                                   .dead_letter_ctx = &svc,
                                   .ctx = &mapper };
    xw_info("INIT", "mapping DeployStarted events from redis %s",
            xw_redis_describe(redis));
    if (xw_kafka_consumer_run(consumer, &h) < 0) {
        atomic_store(&svc.unhealthy, 1);
        goto out;
    }
    xw_info("INIT", "stopping");
    rc = 0;
out:
    xw_kafka_consumer_free(consumer);
    mp_mapper_release(&mapper);
    xw_redis_free(redis);
    xw_service_release(&svc);
    return rc;
}
