/*
 * xw_kafka_tool - drives the common Kafka and Avro modules from
 * integration tests: the messages are Avro Probe events (single-object
 * encoding), probe_id "m-<i>", produced by one process and decoded by
 * another through a consumer group.
 *
 *   xw_kafka_tool produce N [FIRST]    N messages "m-<i>" to the commands topic
 *   xw_kafka_tool consume GROUP N S    consume until N distinct messages were
 *                                      seen or S seconds passed; prints the
 *                                      count of distinct and of total seen
 *   xw_kafka_tool flaky GROUP N S K    like consume, but the handler asks
 *                                      for a retry on every K-th message once,
 *                                      and the first batch begin fails
 *
 * Every message handled must have been handed to the batch begin of its
 * batch first; one that was not is counted and fails the run.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "xw_avro.h"
#include "xw_config.h"
#include "xw_id.h"
#include "xw_kafka.h"
#include "xw_log.h"

static const char *env_get(const char *name) { return getenv(name); }

struct seen {
    unsigned char *bits;
    long n, distinct, total, fail_every, failed_once_upto;
    long begins, unannounced;
    rd_kafka_message_t *const *batch;   /* of the last batch begin */
    size_t nbatch;
    xw_avro_decoder *dec;
};

static int batch_begin(void *ctx, rd_kafka_message_t *const *msgs, size_t n)
{
    struct seen *s = ctx;

    s->batch = msgs;
    s->nbatch = n;
    /* A failed begin must retry the batch without handling any of it. */
    return s->fail_every && s->begins++ == 0 ? -1 : 0;
}

static int announced(const struct seen *s, const rd_kafka_message_t *m)
{
    for (size_t i = 0; i < s->nbatch; i++)
        if (s->batch[i] == m)
            return 1;
    return 0;
}

static enum xw_handle_result handle(void *ctx, const rd_kafka_message_t *m,
                                    struct xw_handle_error *err)
{
    struct seen *s = ctx;
    const xw_avro_type *type;
    const char *probe;
    avro_value_t *v;
    xw_avro_err ae;
    long i;

    if (xw_avro_decode(s->dec, m->payload, m->len, &type, &v, &ae) < 0
        || strcmp(type->short_name, "Probe") != 0
        || xw_avro_get_string(v, "probe_id", &probe, NULL) != 0
        || strncmp(probe, "m-", 2) != 0) {
        snprintf(err->code, sizeof err->code, "not_a_probe");
        snprintf(err->reason, sizeof err->reason, "%s", ae.msg);
        return XW_HANDLE_POISON;
    }
    if (!announced(s, m))
        s->unannounced++;
    i = strtol(probe + 2, NULL, 10);
    if (i < 0 || i >= s->n)
        return XW_HANDLE_OK;
    if (s->fail_every && i % s->fail_every == 0 && i >= s->failed_once_upto) {
        s->failed_once_upto = i + 1;
        snprintf(err->code, sizeof err->code, "injected");
        return XW_HANDLE_RETRY;
    }
    s->total++;
    if (!(s->bits[i / 8] & (1u << (i % 8)))) {
        s->bits[i / 8] |= (unsigned char)(1u << (i % 8));
        s->distinct++;
    }
    return XW_HANDLE_OK;
}

int main(int argc, char **argv)
{
    const struct xw_config_def *tables[] = { xw_config_common };
    size_t counts[] = { xw_config_common_count };
    struct xw_config cfg;
    xw_avro_registry *reg = NULL;
    char err[512];
    int rc = 1;

    xw_log_init("xw_kafka_tool", XW_WARN);
    if (argc < 3 || xw_config_load(&cfg, tables, counts, 1, env_get, err,
                                   sizeof err) < 0) {
        fprintf(stderr, "usage: xw_kafka_tool produce N | consume GROUP N S\n%s\n",
                argc < 3 ? "" : err);
        return 2;
    }
    if (xw_avro_registry_open(&reg, err, sizeof err) < 0)
        goto fail;
    if (strcmp(argv[1], "produce") == 0) {
        xw_kafka_producer *p = xw_kafka_producer_new(&cfg, "tool", err, sizeof err);
        long n = atol(argv[2]), first = argc > 3 ? atol(argv[3]) : 0;
        xw_avro_value ev = { 0 };
        xw_buf out = XW_BUF_INIT;
        xw_avro_err ae;
        avro_value_t hop;
        char msg[32];

        if (!p || xw_avro_value_init(&ev, xw_avro_type_find(reg, "Probe")) < 0)
            goto fail;
        for (long i = first; i < first + n; i++) {
            int len = snprintf(msg, sizeof msg, "m-%ld", i);

            xw_avro_value_reset(&ev);
            if (xw_avro_set_envelope(&ev.value, msg, xw_now_ms(), "tool", msg) < 0
                || xw_avro_set_string(&ev.value, "probe_id", msg) < 0
                || xw_avro_array_append(&ev.value, "hops", &hop) < 0
                || xw_avro_set_string(&hop, "service", "xw_kafka_tool") < 0
                || xw_avro_encode(&ev.value, &out, &ae) < 0) {
                snprintf(err, sizeof err, "encoding a Probe");
                goto fail;
            }
            if (xw_kafka_produce(p, XW_TOPIC_COMMANDS, msg, (size_t)len,
                                 out.data, out.len, err, sizeof err) < 0)
                goto fail;
        }
        xw_avro_value_release(&ev);
        xw_buf_release(&out);
        if (xw_kafka_flush(p, 30000, err, sizeof err) < 0)
            goto fail;
        xw_kafka_producer_free(p);
        xw_avro_registry_free(reg);
        printf("produced %ld\n", n);
        return 0;
    }
    if ((strcmp(argv[1], "consume") == 0 && argc == 5)
        || (strcmp(argv[1], "flaky") == 0 && argc == 6)) {
        enum xw_topic topics[] = { XW_TOPIC_COMMANDS };
        struct seen s = { 0 };
        struct xw_kafka_handler h = { .handle = handle, .ctx = &s,
                                      .batch_begin = batch_begin };
        xw_kafka_consumer *c;
        int64_t deadline = xw_mono_ms() + atol(argv[4]) * 1000;

        s.n = atol(argv[3]);
        s.bits = calloc((size_t)s.n / 8 + 1, 1);
        s.fail_every = argc == 6 ? atol(argv[5]) : 0;
        if (xw_avro_decoder_new(&s.dec, reg) < 0)
            goto fail;
        c = xw_kafka_consumer_new(&cfg, argv[2], topics, 1, NULL, err, sizeof err);
        if (!c || !s.bits)
            goto fail;
        xw_kafka_install_signals();
        while (s.distinct < s.n && xw_mono_ms() < deadline && !xw_kafka_stop)
            if (xw_kafka_consumer_run_once(c, &h, 100) < 0)
                break;
        xw_kafka_consumer_free(c);
        printf("distinct %ld total %ld\n", s.distinct, s.total);
        if (s.unannounced)
            fprintf(stderr, "%ld message(s) handled without a batch begin\n",
                    s.unannounced);
        rc = s.distinct == s.n && !s.unannounced ? 0 : 1;
        free(s.bits);
        xw_avro_decoder_free(s.dec);
        xw_avro_registry_free(reg);
        return rc;
    }
    fprintf(stderr, "unknown mode %s\n", argv[1]);
    return 2;
fail:
    fprintf(stderr, "xw_kafka_tool: %s\n", err);
    return 1;
}
