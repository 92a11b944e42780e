/*
 * deploy_inject - produces DeployStarted events for the mapper/deployer
 * integration test, as the packager would.
 *
 *   deploy_inject FILE        FILE holds one DeployStarted or an array of
 *                             them in API JSON (xw_avro_json); each is
 *                             built with xw_avro, produced to the deploy
 *                             topic keyed by its package_id, and
 *                             acknowledged before the next one
 *   deploy_inject --raw TEXT  produces TEXT as it is (a poison message)
 *   deploy_inject --mapped    prints how many messages the mapped topic
 *                             holds (high watermarks summed over its
 *                             partitions): lets a test know that what the
 *                             mapper produced is on the broker, acknowledged
 *
 * Settings from the environment (XW_KAFKA_BROKERS, XW_TOPIC_PREFIX).
 * Prints "produced N" (--mapped: the count); exits 1 on any failure.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "xw_avro.h"
#include "xw_avro_json.h"
#include "xw_config.h"
#include "xw_kafka.h"
#include "xw_log.h"
#include "xw_topics.h"

static const char *env_get(const char *name) { return getenv(name); }

static int produce_event(xw_kafka_producer *p, xw_avro_value *ev,
                         const json_t *j, xw_buf *out, char *err,
                         size_t errlen)
{
    xw_avro_json_limits lim = { 0, 0 };
    xw_avro_json_error je;
    xw_avro_err ae;
    const char *pkg;

    if (xw_avro_from_json(&ev->value, j, &lim, &je) < 0) {
        snprintf(err, errlen, "DeployStarted.%s: %s", je.field, je.message);
        return -1;
    }
    if (xw_avro_encode(&ev->value, out, &ae) < 0) {
        snprintf(err, errlen, "encode: %s", ae.msg);
        return -1;
    }
    if (xw_avro_get_string(&ev->value, "package_id", &pkg, NULL) < 0) {
        snprintf(err, errlen, "no package_id");
        return -1;
    }
    return xw_kafka_produce_wait(p, XW_TOPIC_DEPLOY, pkg, strlen(pkg),
                                 out->data, out->len, err, errlen);
}

/* The messages ever produced to the mapped topic (a topic not created yet
 * holds none). 0 with *count, or -1 with err. */
static int mapped_count(xw_kafka_producer *p, const struct xw_config *cfg,
                        long long *count, char *err, size_t errlen)
{
    rd_kafka_t *rk = xw_kafka_producer_handle(p);
    const struct rd_kafka_metadata *md = NULL;
    rd_kafka_topic_t *rkt;
    rd_kafka_resp_err_t e;
    char name[256];
    int rc = -1;

    *count = 0;
    if (xw_topic_name(xw_config_str(cfg, "XW_TOPIC_PREFIX"), XW_TOPIC_MAPPED,
                      name, sizeof name) < 0) {
        snprintf(err, errlen, "topic name too long");
        return -1;
    }
    if (!(rkt = rd_kafka_topic_new(rk, name, NULL))) {
        snprintf(err, errlen, "%s: %s", name,
                 rd_kafka_err2str(rd_kafka_last_error()));
        return -1;
    }
    e = rd_kafka_metadata(rk, 0, rkt, &md, 5000);
    if (e) {
        snprintf(err, errlen, "metadata of %s: %s", name, rd_kafka_err2str(e));
        goto out;
    }
    if (md->topic_cnt == 1 && md->topics[0].err == 0) {
        for (int i = 0; i < md->topics[0].partition_cnt; i++) {
            int64_t lo, hi;

            e = rd_kafka_query_watermark_offsets(
                rk, name, md->topics[0].partitions[i].id, &lo, &hi, 5000);
            if (e) {
                snprintf(err, errlen, "watermarks of %s: %s", name,
                         rd_kafka_err2str(e));
                goto out;
            }
            *count += hi;
        }
    }
    rc = 0;
out:
    if (md)
        rd_kafka_metadata_destroy(md);
    rd_kafka_topic_destroy(rkt);
    return rc;
}

int main(int argc, char **argv)
{
    const struct xw_config_def *tables[] = { xw_config_common };
    size_t counts[] = { xw_config_common_count };
    struct xw_config cfg;
    xw_avro_registry *reg = NULL;
    xw_kafka_producer *p = NULL;
    xw_avro_value ev = { 0 };
    xw_buf out = XW_BUF_INIT;
    json_t *doc = NULL;
    json_error_t jerr;
    char err[512] = "";
    size_t n = 0;
    int rc = 1, mapped = argc == 2 && strcmp(argv[1], "--mapped") == 0;

    xw_log_init("deploy_inject", XW_WARN);
    if (argc < 2 || (strcmp(argv[1], "--raw") == 0 && argc != 3)
        || (strcmp(argv[1], "--mapped") == 0 && argc != 2)) {
        fprintf(stderr, "usage: deploy_inject FILE | --raw TEXT | --mapped\n");
        return 2;
    }
    if (xw_config_load(&cfg, tables, counts, 1, env_get, err, sizeof err) < 0
        || !(p = xw_kafka_producer_new(&cfg, "deploy_inject", err,
                                       sizeof err)))
        goto out;
    if (mapped) {
        long long count;

        if (mapped_count(p, &cfg, &count, err, sizeof err) < 0)
            goto out;
        printf("%lld\n", count);
        rc = 0;
        goto out;
    }
    if (strcmp(argv[1], "--raw") == 0) {
        if (xw_kafka_produce_wait(p, XW_TOPIC_DEPLOY, "raw", 3, argv[2],
                                  strlen(argv[2]), err, sizeof err) < 0)
            goto out;
        n = 1;
        rc = 0;
        goto out;
    }
    doc = json_load_file(argv[1], 0, &jerr);
    if (!doc) {
        snprintf(err, sizeof err, "%s:%d: %s", argv[1], jerr.line, jerr.text);
        goto out;
    }
    if (xw_avro_registry_open(&reg, err, sizeof err) < 0
        || xw_avro_value_init(&ev, xw_avro_type_find(reg, "DeployStarted")) < 0)
        goto out;
    if (json_is_array(doc)) {
        for (; n < json_array_size(doc); n++)
            if (produce_event(p, &ev, json_array_get(doc, n), &out, err,
                              sizeof err) < 0)
                goto out;
    } else if (produce_event(p, &ev, doc, &out, err, sizeof err) < 0) {
        goto out;
    } else {
        n = 1;
    }
    rc = 0;
out:
    if (rc != 0)
        fprintf(stderr, "deploy_inject: %s\n", err[0] ? err : "failed");
    else if (!mapped)
        printf("produced %zu\n", n);
    json_decref(doc);
    xw_avro_value_release(&ev);
    xw_avro_registry_free(reg);
    xw_kafka_producer_free(p);
    xw_buf_release(&out);
    return rc;
}
