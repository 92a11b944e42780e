/*
 * command_inject - produces commands to xw.commands for the packager's
 * integration tests, as the submit-listener would.
 *
 *   command_inject FILE   FILE holds an array of {"type": T, "event": E}:
 *                         each E (API JSON, xw_avro_json) is built as an
 *                         Avro T, produced to the commands topic keyed by
 *                         its workspace_id; all are queued, in order,
 *                         then flushed together: one workspace's commands
 *                         go to one partition in order (idempotent
 *                         producer) and, within the producer's linger, in
 *                         one message set, which a consumer started
 *                         afterwards takes as one batch
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
#include "xw_topics.h"

static const char *env_get(const char *name) { return getenv(name); }

static int produce_command(xw_kafka_producer *p, const xw_avro_registry *reg,
                           const json_t *item, xw_buf *out, char *err,
                           size_t errlen)
{
    const char *type = json_string_value(json_object_get(item, "type"));
    const json_t *event = json_object_get(item, "event");
    const char *ws = json_string_value(json_object_get(event, "workspace_id"));
    const xw_avro_type *t = type ? xw_avro_type_find(reg, type) : NULL;
    xw_avro_json_limits lim = { 0, 0 };
    xw_avro_json_error je;
    xw_avro_value ev = { 0 };
    xw_avro_err ae;
    int rc = -1;

    if (!t || !ws) {
        snprintf(err, errlen, "each item needs a known type and an event "
                 "with a workspace_id");
        return -1;
    }
    if (xw_avro_value_init(&ev, t) < 0) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    if (xw_avro_from_json(&ev.value, event, &lim, &je) < 0) {
        snprintf(err, errlen, "%s.%s: %s", type, je.field, je.message);
        goto out;
    }
    if (xw_avro_encode(&ev.value, out, &ae) < 0) {
        snprintf(err, errlen, "encode: %s", ae.msg);
        goto out;
    }
    rc = xw_kafka_produce(p, XW_TOPIC_COMMANDS, ws, strlen(ws), out->data,
                          out->len, err, errlen);
out:
    xw_avro_value_release(&ev);
    return rc;
}

int main(int argc, char **argv)
{
    const struct xw_config_def *tables[] = { xw_config_common };
    size_t counts[] = { xw_config_common_count };
    struct xw_config cfg;
    xw_avro_registry *reg = NULL;
    xw_kafka_producer *p = NULL;
    xw_buf out = XW_BUF_INIT;
    json_t *doc = NULL;
    json_error_t jerr;
    char err[512] = "";
    size_t n = 0;
    int rc = 1;

    xw_log_init("command_inject", XW_WARN);
    if (argc != 2) {
        fprintf(stderr, "usage: command_inject FILE\n");
        return 2;
    }
    if (xw_config_load(&cfg, tables, counts, 1, env_get, err, sizeof err) < 0
        || !(p = xw_kafka_producer_new(&cfg, "command_inject", err,
                                       sizeof err)))
        goto out;
    if (!(doc = json_load_file(argv[1], 0, &jerr))) {
        snprintf(err, sizeof err, "%s:%d: %s", argv[1], jerr.line, jerr.text);
        goto out;
    }
    if (!json_is_array(doc)) {
        snprintf(err, sizeof err, "%s: not an array", argv[1]);
        goto out;
    }
    if (xw_avro_registry_open(&reg, err, sizeof err) < 0)
        goto out;
    for (; n < json_array_size(doc); n++)
        if (produce_command(p, reg, json_array_get(doc, n), &out, err,
                            sizeof err) < 0)
            goto out;
    if (xw_kafka_flush(p, 30000, err, sizeof err) < 0)
        goto out;
    rc = 0;
out:
    if (rc != 0)
        fprintf(stderr, "command_inject: %s\n", err[0] ? err : "failed");
    else
        printf("produced %zu\n", n);
    json_decref(doc);
    xw_avro_registry_free(reg);
    xw_kafka_producer_free(p);
    xw_buf_release(&out);
    return rc;
}
