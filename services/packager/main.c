/*
 * xw-packager - keeps each source workspace's state (workspaces,
 * environments, nodes to deploy, baskets) and freezes and starts
 * packages. Consumes xw.commands; emits xw.packages and xw.deploy.
 */
#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>

#include "packager.h"
#include "xw_log.h"

void pkg_register_metrics(void);

int main(void)
{
    static const enum xw_topic topics[] = { XW_TOPIC_COMMANDS };
    struct xw_service svc;
    struct packager p = { 0 };
    struct xw_kafka_handler h = { 0 };
    xw_kafka_consumer *consumer = NULL;
    char err[512];
    int rc = 1;

    /* As in the submit-listener (main.c there): few arenas, and fixed
     * thresholds so the MB-sized blocks of a 10,000-object command are
     * mmapped (given back on free) and a heap keeps at most 1 MiB of free
     * top; glibc's dynamic thresholds would follow the largest block
     * freed and keep such buffers in the heap. */
    mallopt(M_ARENA_MAX, 2);
    mallopt(M_MMAP_THRESHOLD, 256 * 1024);
    mallopt(M_TRIM_THRESHOLD, 1024 * 1024);
    if (xw_service_init(&svc, "packager", NULL, 0) < 0)
        return 1;
    pkg_register_metrics();
    p.svc = &svc;
    p.dedupe_ttl_s = xw_config_int(&svc.cfg, "XW_DEDUPE_TTL_S");
    xw_buf_init(&p.enc, 0);
    xw_buf_init(&p.spec, 0);
    if (!(p.seen = json_object())) {
        xw_error("INIT", "out of memory");
        goto out;
    }
    p.redis = xw_redis_connect(xw_config_str(&svc.cfg, "XW_REDIS_URL"), NULL,
                               err, sizeof err);
    if (!p.redis) {
        xw_error("INIT", "redis: %s", err);
        goto out;
    }
    if (xw_avro_decoder_new(&p.dec, svc.avro) < 0
        || xw_avro_value_init(&p.created,
                              xw_avro_type_find(svc.avro, "PackageCreated")) < 0
        || xw_avro_value_init(&p.started,
                              xw_avro_type_find(svc.avro, "DeployStarted")) < 0
        || xw_avro_value_init(&p.specs,
                              xw_avro_type_find(svc.avro, "ObjectsSubmitted"))
           < 0) {
        xw_error("INIT", "avro values");
        goto out;
    }
    consumer = xw_service_consumer(&svc, topics, 1);
    if (!consumer)
        goto out;
    h.batch_begin = pkg_seen_prefetch;
    h.handle = pkg_handle;
    h.batch_end = pkg_settle;
    h.batch_abort = pkg_abort;
    h.dead_letter = xw_service_dead_letter;
    h.ctx = &p;
    h.dead_letter_ctx = &svc;
    xw_info("INIT", "packager running");
    rc = xw_kafka_consumer_run(consumer, &h) < 0 ? 1 : 0;
    xw_info("INIT", "stopping");
out:
    xw_kafka_consumer_free(consumer);
    xw_avro_value_release(&p.created);
    xw_avro_value_release(&p.started);
    xw_avro_value_release(&p.specs);
    xw_avro_decoder_free(p.dec);
    xw_redis_free(p.redis);
    xw_buf_release(&p.enc);
    xw_buf_release(&p.spec);
    json_decref(p.seen);
    pkg_env_cache_free(p.envc);
    xw_service_release(&svc);
    return rc;
}
