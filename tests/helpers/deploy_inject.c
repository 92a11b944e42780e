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
 *
 * Settings from the environment (XW_KAFKA_BROKERS, XW_TOPIC_PREFIX).
 * Prints "produced N"; exits 1 on any failure.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "xw_avro.h"
#include "xw_avro_json.h"
#include "xw_config.h"
#include "xw_kafka.h"
#include "xw_log.h"

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
    int rc = 1;

    xw_log_init("deploy_inject", XW_WARN);
    if (argc < 2 || (strcmp(argv[1], "--raw") == 0 && argc != 3)) {
        fprintf(stderr, "usage: deploy_inject FILE | --raw TEXT\n");
        return 2;
    }
    if (xw_config_load(&cfg, tables, counts, 1, env_get, err, sizeof err) < 0
        || !(p = xw_kafka_producer_new(&cfg, "deploy_inject", err,
                                       sizeof err)))
        goto out;
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
    if (rc == 0)
        printf("produced %zu\n", n);
    else
        fprintf(stderr, "deploy_inject: %s\n", err[0] ? err : "failed");
    json_decref(doc);
    xw_avro_value_release(&ev);
    xw_avro_registry_free(reg);
    xw_kafka_producer_free(p);
    xw_buf_release(&out);
    return rc;
}
