/*
 * deployer_results - follows the results topic for the mapper/deployer
 * integration test.
 *
 *   deployer_results GROUP TIMEOUT_S
 *
 * Consumes the results topic from the start in consumer group GROUP and
 * prints every ObjectResult it receives - redeliveries and re-emissions
 * too, so the test can count duplicates - as one JSON line
 * (xw_avro_to_json), flushed at once, until TIMEOUT_S passed or SIGTERM.
 * Run it in the background once: joining a group takes seconds on the
 * local broker, so one follower is much cheaper than one reader per check.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "xw_avro.h"
#include "xw_avro_json.h"
#include "xw_config.h"
#include "xw_id.h"
#include "xw_kafka.h"
#include "xw_log.h"

static const char *env_get(const char *name) { return getenv(name); }

static enum xw_handle_result handle(void *ctx, const rd_kafka_message_t *m,
                                    struct xw_handle_error *err)
{
    xw_avro_decoder *dec = ctx;
    const xw_avro_type *t;
    avro_value_t *v;
    xw_avro_err ae;
    json_t *j;
    char *line;

    if (xw_avro_decode(dec, m->payload, m->len, &t, &v, &ae) < 0
        || strcmp(t->short_name, "ObjectResult") != 0) {
        printf("{\"undecodable\":true}\n");
        fflush(stdout);
        return XW_HANDLE_OK;
    }
    j = xw_avro_to_json(v);
    line = j ? json_dumps(j, JSON_COMPACT) : NULL;
    json_decref(j);
    if (!line) {
        snprintf(err->code, sizeof err->code, "out_of_memory");
        return XW_HANDLE_RETRY;
    }
    printf("%s\n", line);
    fflush(stdout);
    free(line);
    return XW_HANDLE_OK;
}

int main(int argc, char **argv)
{
    const struct xw_config_def *tables[] = { xw_config_common };
    size_t counts[] = { xw_config_common_count };
    static const enum xw_topic topics[] = { XW_TOPIC_RESULTS };
    struct xw_config cfg;
    struct xw_kafka_handler h = { .handle = handle };
    xw_avro_registry *reg = NULL;
    xw_avro_decoder *dec = NULL;
    xw_kafka_consumer *c = NULL;
    char err[512] = "";
    int64_t deadline;
    int rc = 1;

    xw_log_init("deployer_results", XW_ERROR);
    if (argc != 3) {
        fprintf(stderr, "usage: deployer_results GROUP TIMEOUT_S\n");
        return 2;
    }
    deadline = xw_mono_ms() + atol(argv[2]) * 1000;
    xw_kafka_install_signals();
    if (xw_config_load(&cfg, tables, counts, 1, env_get, err, sizeof err) < 0
        || xw_avro_registry_open(&reg, err, sizeof err) < 0
        || xw_avro_decoder_new(&dec, reg) < 0
        || !(c = xw_kafka_consumer_new(&cfg, argv[1], topics, 1, NULL, err,
                                       sizeof err)))
        goto out;
    h.ctx = dec;
    while (!xw_kafka_stop && xw_mono_ms() < deadline)
        if (xw_kafka_consumer_run_once(c, &h, 100) < 0)
            goto out;
    rc = 0;
out:
    if (rc != 0)
        fprintf(stderr, "deployer_results: %s\n", err[0] ? err : "failed");
    xw_kafka_consumer_free(c);
    xw_avro_decoder_free(dec);
    xw_avro_registry_free(reg);
    return rc;
}
