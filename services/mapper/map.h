/*
 * map - the mapper's handler: one DeployStarted chunk in, one event per
 * object out.
 *
 *   MAPPED            -> ObjectMapped  on xw.mapped  (key: package id)
 *   EXCLUDED, FAILED  -> ObjectResult  on xw.results (key: package id)
 *
 * Every object goes through xw_rules_map_object (environment mappings,
 * owner policy, deploy-time resource group override); nothing here decides
 * a rule. Follow-up event ids are xw_uuid_derive("mapper", <DeployStarted
 * event_id>, <index in chunk>), so a redelivered chunk re-emits the same
 * ids and downstream dedupe makes it a no-op. The mapper writes nothing to
 * Redis; it only reads the environment and workspaces (context.h).
 *
 * Results of handle():
 *   XW_HANDLE_OK      every object's event is queued on the producer
 *   XW_HANDLE_RETRY   Redis unreachable or the producer refused: the batch
 *                     runs again (same ids)
 *   XW_HANDLE_POISON  not a DeployStarted, undecodable, or ids that cannot
 *                     be used: dead-lettered with the reason
 */
#ifndef MP_MAP_H
#define MP_MAP_H

#include "context.h"
#include "xw_service.h"

struct mp_mapper {
    struct xw_service *svc;  /* borrowed */
    xw_redis *redis;         /* borrowed */
    mp_cache *cache;         /* owned */
    xw_avro_value in;        /* DeployStarted, decoded in place */
    xw_avro_value mapped;    /* ObjectMapped being built (reused) */
    xw_avro_value result;    /* ObjectResult being built (reused) */
    xw_buf out;              /* encoded event (reused) */
};

/* 0, or -1 (logged) when out of memory or a schema is missing. On failure
 * nothing is left to release. */
int mp_mapper_init(struct mp_mapper *m, struct xw_service *svc, xw_redis *r,
                   size_t cache_size);
void mp_mapper_release(struct mp_mapper *m);

/* struct xw_kafka_handler's handle (ctx = struct mp_mapper). */
enum xw_handle_result mp_mapper_handle(void *ctx, const rd_kafka_message_t *msg,
                                       struct xw_handle_error *err);

/* Registers the mapper's counters with xw_metrics. */
void mp_mapper_register_metrics(void);

#endif
