/*
 * xw_service - what every service's main() does the same way: settings,
 * logging, signals, the health/metrics endpoint, the Avro registry, the
 * idempotent producer, and dead letters.
 *
 *   struct xw_service svc;
 *   if (xw_service_init(&svc, "packager", my_table, n) < 0) return 1;
 *   ... consumer loop ...
 *   xw_service_release(&svc);
 */
#ifndef XW_SERVICE_H
#define XW_SERVICE_H

#include <stdatomic.h>

#include "xw_admin.h"
#include "xw_avro.h"
#include "xw_config.h"
#include "xw_kafka.h"

struct xw_service {
    const char *name;            /* borrowed, static */
    struct xw_config cfg;
    xw_admin *admin;
    xw_avro_registry *avro;
    xw_kafka_producer *producer;
    xw_buf dlq_buf;              /* reused for dead-letter encoding */
    xw_avro_value dlq_event;
    _Atomic int unhealthy;       /* set on a fatal error: /health says 503 */
};

/* Loads xw_config_common plus `table` (may be NULL) from the environment,
 * sets up logging (XW_LOG_LEVEL), SIGINT/SIGTERM, the admin endpoint
 * (XW_ADMIN_PORT), the Avro registry and the producer. On failure prints
 * why to stderr, releases what it made and returns -1. */
int xw_service_init(struct xw_service *s, const char *name,
                    const struct xw_config_def *table, size_t n);

/* Flushes the producer and frees everything. */
void xw_service_release(struct xw_service *s);

/* Produces a DeadLetter event for message m (its bytes, topic, partition,
 * offset, key, the service and the reason) to the dead-letter topic. For
 * struct xw_kafka_handler's dead_letter callback (ctx = the service).
 * 0 or -1. */
int xw_service_dead_letter(void *svc, const rd_kafka_message_t *m,
                           const struct xw_handle_error *e);

/* Consumer for this service's group; NULL (logged) on failure. */
xw_kafka_consumer *xw_service_consumer(struct xw_service *s,
                                       const enum xw_topic *topics,
                                       size_t ntopics);

#endif
