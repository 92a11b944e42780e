#include "xw_service.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "xw_id.h"
#include "xw_log.h"
#include "xw_metrics.h"

XW_COUNTER(m_dead_letters, "xw_dead_letters_total",
           "events sent to the dead-letter topic");

static const char *env_get(const char *name)
{
    return getenv(name);
}

static int health(void *ctx, char *reason, size_t len)
{
    struct xw_service *s = ctx;

    if (atomic_load(&s->unhealthy)) {
        snprintf(reason, len, "fatal error, see the log");
        return -1;
    }
    return 0;
}

int xw_service_init(struct xw_service *s, const char *name,
                    const struct xw_config_def *table, size_t n)
{
    const struct xw_config_def *tables[] = { xw_config_common, table };
    size_t counts[] = { xw_config_common_count, n };
    char err[512];
    int lvl;

    memset(s, 0, sizeof *s);
    s->name = name;
    xw_buf_init(&s->dlq_buf, 0);
    if (xw_config_load(&s->cfg, tables, counts, table ? 2 : 1, env_get, err,
                       sizeof err) < 0) {
        fprintf(stderr, "xw-%s: configuration: %s\n", name, err);
        return -1;
    }
    lvl = xw_log_level_parse(xw_config_str(&s->cfg, "XW_LOG_LEVEL"));
    if (lvl < 0) {
        fprintf(stderr, "xw-%s: XW_LOG_LEVEL must be debug, info, warn or "
                "error\n", name);
        return -1;
    }
    xw_log_init(name, (enum xw_log_level)lvl);
    xw_kafka_install_signals();
    xw_config_log(&s->cfg);
    xw_metrics_register(&m_dead_letters);
    if (xw_avro_registry_open(&s->avro, err, sizeof err) < 0) {
        xw_error("INIT", "schemas: %s", err);
        goto fail;
    }
    s->producer = xw_kafka_producer_new(&s->cfg, name, err, sizeof err);
    if (!s->producer) {
        xw_error("INIT", "producer: %s", err);
        goto fail;
    }
    s->admin = xw_admin_start(name, (int)xw_config_int(&s->cfg,
                                                       "XW_ADMIN_PORT"),
                              health, s, err, sizeof err);
    if (!s->admin) {
        xw_error("INIT", "admin endpoint: %s", err);
        goto fail;
    }
    return 0;
fail:
    xw_service_release(s);
    return -1;
}

void xw_service_release(struct xw_service *s)
{
    xw_admin_stop(s->admin);
    s->admin = NULL;
    xw_kafka_producer_free(s->producer);
    s->producer = NULL;
    xw_avro_value_release(&s->dlq_event);
    xw_avro_registry_free(s->avro);
    s->avro = NULL;
    xw_buf_release(&s->dlq_buf);
}

xw_kafka_consumer *xw_service_consumer(struct xw_service *s,
                                       const enum xw_topic *topics,
                                       size_t ntopics)
{
    char err[512];
    xw_kafka_consumer *c = xw_kafka_consumer_new(&s->cfg, s->name, topics,
                                                 ntopics, s->producer, err,
                                                 sizeof err);
    if (!c)
        xw_error("INIT", "consumer: %s", err);
    return c;
}

int xw_service_dead_letter(void *ctx, const rd_kafka_message_t *m,
                           const struct xw_handle_error *e)
{
    struct xw_service *s = ctx;
    const xw_avro_type *t;
    char id[XW_UUID_LEN + 1], name[160], err[256];
    avro_value_t *v;
    xw_avro_err ae;

    if (!s->dlq_event.type) {
        t = xw_avro_type_find(s->avro, "DeadLetter");
        if (!t || xw_avro_value_init(&s->dlq_event, t) < 0)
            return -1;
    } else {
        xw_avro_value_reset(&s->dlq_event);
    }
    v = &s->dlq_event.value;
    /* Deterministic id: a redelivered poison message is one dead letter. */
    snprintf(name, sizeof name, "%s/%d/%lld", rd_kafka_topic_name(m->rkt),
             (int)m->partition, (long long)m->offset);
    xw_uuid_derive(s->name, name, 0, id);
    if (xw_avro_set_string(v, "event_id", id) < 0
        || xw_avro_set_long(v, "occurred_at", xw_now_ms()) < 0
        || xw_avro_set_string(v, "service", s->name) < 0
        || xw_avro_set_string(v, "source_topic", rd_kafka_topic_name(m->rkt)) < 0
        || xw_avro_set_int(v, "partition", m->partition) < 0
        || xw_avro_set_long(v, "offset", m->offset) < 0
        || (m->key && xw_avro_set_bytes(v, "key", m->key, m->key_len) < 0)
        || xw_avro_set_bytes(v, "payload", m->payload ? m->payload : "",
                             m->len) < 0
        || xw_avro_set_string(v, "error_code", e->code[0] ? e->code
                                                          : "unknown") < 0
        || xw_avro_set_string(v, "reason", e->reason) < 0)
        return -1;
    if (xw_avro_encode(v, &s->dlq_buf, &ae) < 0) {
        xw_error("DLQ", "encode: %s", ae.msg);
        return -1;
    }
    if (xw_kafka_produce(s->producer, XW_TOPIC_DLQ, m->key, m->key_len,
                         s->dlq_buf.data, s->dlq_buf.len, err, sizeof err) < 0) {
        xw_error("DLQ", "%s", err);
        return -1;
    }
    xw_metrics_add(&m_dead_letters, 1);
    return 0;
}
