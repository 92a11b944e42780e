/*
 * Webhooks in the result-reporter: two halves that share only Redis.
 *
 * webhooks.c - the consumer thread's half. For every PackageFinished and
 *   ObjectResult copy the reporter publishes to xw.outcomes, one delivery
 *   per matching subscription is enqueued in Redis, after the event is
 *   flushed to Kafka and before the batch's fold or FINALIZE makes it a
 *   duplicate: so a batch that runs again enqueues again, and the ENQUEUE
 *   script, keyed by the delivery id xw_uuid_derive(subscription, event),
 *   makes that a no-op. This half only writes Redis (one pipeline per
 *   batch); it never waits for an endpoint.
 *
 * delivery.c - the pool of delivery threads (XW_WEBHOOK_WORKERS). Each
 *   worker claims one due subscription at a time under a lease
 *   (xw:wh:lease:{id}), sends that subscription's due deliveries in order,
 *   records every attempt, and on the first failure schedules a retry
 *   (exponential backoff, full jitter) and holds the whole subscription
 *   until then, so a dead endpoint costs one attempt per backoff period,
 *   not one per queued delivery. A slow endpoint occupies one worker at
 *   most; the others serve the other subscriptions.
 *
 * Keys and filter: common/xw_webhook.h; design: docs/design.md "Webhooks".
 */
#ifndef REP_WEBHOOKS_H
#define REP_WEBHOOKS_H

#include "reporter.h"

/* The ENQUEUE script (a REP_LUA_WH_ENQUEUE entry of scripts.c's table, so
 * rep_exec reloads it after a Redis restart like the others). */
extern const char rep_lua_wh_enqueue[];

/* ---- webhooks.c (consumer thread) --------------------------------------- */

/* Sets up r->wh (the subscription cache, a decoder for the copies, the
 * batch's ENQUEUE list) from the XW_WEBHOOK_* settings. Live mode only.
 * 0, or -1 (logged); rep_wh_free() cleans up either way. */
int rep_wh_init(struct reporter *r);
void rep_wh_free(struct reporter *r);

/* Reloads the subscription cache if xw:wh:version moved (one GET per
 * batch otherwise). 0, or -1 with r->redis->errstr (the batch retries). */
int rep_wh_refresh(struct reporter *r);

/* Queues the deliveries of one outgoing event: an event value (a
 * PackageFinished being built) or the encoded bytes of an ObjectResult
 * copy. Nothing is sent to Redis yet. No-op without subscriptions.
 * 0, or -1 (out of memory / undecodable; the batch retries). */
int rep_wh_note(struct reporter *r, const avro_value_t *event);
int rep_wh_note_bytes(struct reporter *r, const void *data, size_t len);

/* Sends what was noted since the last call as one pipeline. Call after
 * the events are flushed to Kafka. 0, or -1 (logged). */
int rep_wh_enqueue(struct reporter *r);

/* Drops what was noted (batch reset or abort). */
void rep_wh_reset(struct reporter *r);

/* ---- delivery.c (the pool) ---------------------------------------------- */

struct rep_pool;

/* Starts XW_WEBHOOK_WORKERS delivery threads (none: *out = NULL, 0).
 * Each has its own Redis connection and HTTP client. cfg is borrowed and
 * must outlive the pool. 0, or -1 (logged, nothing left running). */
int rep_pool_start(struct rep_pool **out, const struct xw_config *cfg);
/* Asks the workers to stop, joins them (an attempt in flight finishes,
 * bounded by XW_WEBHOOK_TIMEOUT_MS) and frees the pool. NULL is fine. */
void rep_pool_stop(struct rep_pool *p);

/* Counts deliveries parked at enqueue time (queue full), for the metric
 * the pool owns. */
void rep_pool_metric_parked(uint64_t n);

#endif
