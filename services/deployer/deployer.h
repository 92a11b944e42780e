/*
 * deployer - writes each mapped object to the destination exactly once,
 * computes when it takes effect, and emits its ObjectResult
 * (consumer group "deployer" on xw.mapped; docs/design.md, "Exactly-once
 * destination write").
 *
 * Work is done per consumer batch, not per event, so that Redis sees a few
 * pipelined round trips per batch instead of several per object:
 *
 *   handle()     decodes an ObjectMapped into the next slot of the batch
 *                (struct dp_item); bad input is dead-lettered.
 *   batch_end()  1. holds the package lock of every package in the batch
 *                   (locks.c: acquire once, extend while working, release
 *                   when idle);
 *                2. resolves destination time zones (timing.c, cached) and
 *                   reads, in one pipeline, each object's current catalog
 *                   entry and whether its exactly-once record exists: two
 *                   HMGETs per destination (write.c);
 *                3. per object: already written -> deployed; otherwise the
 *                   effective time, the target's delivery (target.h), and
 *                   its fenced exactly-once catalog record is queued;
 *                4. writes the queued records: one round trip, one fenced
 *                   script call per package lock, a few commands each
 *                   (write.c);
 *                5. queues the ObjectResults (result.c).
 *                Any Redis failure returns -1: the loop rewinds the batch
 *                and runs it again, which the exactly-once records make
 *                safe.
 *   batch_abort() forgets the batch.
 *
 * Not thread-safe: one deployer per consumer thread.
 */
#ifndef DP_DEPLOYER_H
#define DP_DEPLOYER_H

#include <stddef.h>
#include <stdint.h>

#include "xw_redis.h"
#include "xw_rules.h"
#include "xw_service.h"
#include "xw_timing.h"

#define DP_STR_MAX 128  /* event and correlation ids, actors */

enum dp_status {
    DP_PENDING = 0,  /* not decided yet */
    DP_QUEUED,       /* delivered; its catalog record waits for the batch's
                        fenced write (write.c), which makes it WRITTEN,
                        ALREADY or STALE */
    DP_WRITTEN,      /* written to the destination by this batch */
    DP_ALREADY,      /* its exactly-once record existed: written before */
    DP_FAILED,       /* cannot be deployed: reason_code / reason */
    DP_STALE,        /* our fence is stale: a newer lock holder owns the
                        package; skipped without a result */
};

/* One ObjectMapped of the batch, copied out of the decoder, and what the
 * batch found out about it. */
struct dp_item {
    char event_id[DP_STR_MAX + 1];
    char correlation_id[DP_STR_MAX + 1];
    char actor[DP_STR_MAX + 1];
    char package_id[XW_ID_MAX + 1];
    char source_ws[XW_ID_MAX + 1];
    char dest_ws[XW_ID_MAX + 1];
    int32_t attempt;
    int32_t total;
    int64_t deploy_at;
    char obj_id[XW_ID_MAX + 1];
    char obj_name[XW_NAME_MAX + 1];
    const char *kind;              /* enum symbol, owned by the registry */
    int64_t version;
    char compute[XW_NAME_MAX + 1];
    char rgroup[XW_NAME_MAX + 1];
    char owner[XW_ID_MAX + 1];
    enum xw_gen_mode mode;
    int sched_hour, sched_minute, sched_second;
    size_t obj_off, obj_len;       /* the DestinationObject's Avro body,
                                      in the batch arena: the head of its
                                      catalog entry (entry.h) */
    size_t json_off, json_len;     /* its JSON, in the arena, when the
                                      target takes a body (len 0: not
                                      written); entry.h's body extends it */

    size_t lock;                   /* index in the lock table (locks.c) */
    char zone[XW_TZ_NAME_MAX + 1]; /* destination zone, "" if unknown */
    int zone_known;                /* zone was looked up (timing.c) */
    char once_field[XW_ID_MAX + 24]; /* "{obj}:{version}": its exactly-
                                      once record (write.h) */
    size_t dest;                   /* its destination's index in the
                                      batch (write.c's pre-read) */
    int once_exists;               /* exactly-once record existed before */
    size_t prev_off, prev_len;     /* catalog entry before this item, in
                                      the batch arena (len 0: none), as
                                      stored: Avro, or an older JSON */
    size_t cur_off, cur_len;       /* catalog entry after it */
    size_t same_prev;              /* the previous item of the batch on the
                                      same destination object, index + 1
                                      (0: none); write.c's follow chain */

    enum dp_status status;
    const char *reason_code;       /* static string */
    char reason[XW_FINDING_MSG_MAX];
    int has_effective;
    int64_t effective_at;
    char effective_date[16];       /* YYYY-MM-DD */
    char timing_rule[32];          /* XW_TIMING_* rule code */
    int has_replaced;
    int64_t replaced_version;
};

typedef struct dp_locks dp_locks;
typedef struct dp_zones dp_zones;
typedef struct dp_target dp_target;
typedef struct dp_writes dp_writes;

struct dp_deployer {
    struct xw_service *svc;   /* borrowed */
    xw_redis *redis;          /* borrowed */
    dp_target *target;        /* owned */
    dp_locks *locks;          /* owned */
    dp_zones *zones;          /* owned */
    dp_writes *writes;        /* owned: queued records, follow index */

    xw_avro_registry *state;  /* owned: CatalogEntry (xw_catalog.h) */
    xw_avro_value entry;      /* CatalogEntry: stored entries are decoded
                                 into it, new ones encoded from it */
    xw_avro_value in;         /* ObjectMapped, decoded in place */
    xw_avro_value result;     /* ObjectResult being built */
    xw_buf out;               /* encoded result */
    xw_buf body;              /* JSON of the object being delivered */
    xw_buf rec;               /* the catalog entry being queued */
    xw_buf arena;             /* the batch's texts: mapped objects (Avro
                                 body, JSON for a target that takes it),
                                 catalog entries before and after each
                                 item (offsets: it moves as it grows) */

    struct dp_item *items;    /* the batch: n used of cap (grows) */
    size_t n, cap;
    redisReply **replies;     /* pre-read replies, 2 per destination (room
                                 for 2 per item) */
};

/* batch.c: the handler (ctx = struct dp_deployer). */
int dp_deployer_init(struct dp_deployer *d, struct xw_service *svc,
                     xw_redis *r, dp_target *target);
void dp_deployer_release(struct dp_deployer *d);
enum xw_handle_result dp_handle(void *ctx, const rd_kafka_message_t *msg,
                                struct xw_handle_error *err);
int dp_batch_end(void *ctx);
void dp_batch_abort(void *ctx);
/* Between batches: releases the locks of packages no longer worked on. */
void dp_deployer_tick(struct dp_deployer *d);
void dp_deployer_register_metrics(void);

/* The arena text at off (not NUL-terminated; its len is the item's). */
static inline const char *dp_arena_at(const struct dp_deployer *d, size_t off)
{
    return d->arena.data + off;
}

/* Marks it failed with a code (static string) and a sentence. */
void dp_item_fail(struct dp_item *it, const char *code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

#endif
