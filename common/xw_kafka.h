/*
 * xw_kafka - the producer and the consumer loop every service uses.
 *
 * Producer: idempotent (enable.idempotence=true), batched (linger), topic
 * handles cached per topic. xw_kafka_produce() copies key and value, so
 * the caller's buffers can be reused at once. Delivery reports are counted;
 * xw_kafka_flush() waits for every queued message and says whether all of
 * them were delivered since the previous flush.
 *
 * Consumer loop, in the shape of librdkafka's examples/consumer.c, but per
 * batch: poll up to XW_BATCH_MAX messages, hand them all to batch_begin()
 * (where a service may read what the whole batch needs in one round
 * trip), call handle() for each, then
 * batch_end() (where a service flushes its pipelined Redis writes), then
 * flush the producer (follow-up events delivered), and only then store the
 * batch's offsets (enable.auto.offset.store=false; the stored offsets are
 * committed by auto-commit). If any of these fails with a retriable error,
 * every partition of the batch is rewound to its first message of the
 * batch and the batch runs again after a backoff: effects are idempotent
 * (deterministic event ids, dedupe in Redis), so running a batch twice
 * changes nothing twice, and nothing is skipped.
 *
 * A message the handler cannot use (undecodable, breaks a rule) is poison:
 * handle() returns XW_HANDLE_POISON with a reason, the loop hands it to
 * dead_letter() (which produces it to the dead-letter topic) and moves on.
 *
 * Shutdown: xw_kafka_install_signals() makes SIGINT/SIGTERM flip
 * xw_kafka_stop; the loop then finishes its batch, and xw_kafka_consumer_
 * free() closes the consumer (leaving the group cleanly) and destroys it.
 *
 * Errors: functions return 0 / -1 with a message in the caller's buffer.
 */
#ifndef XW_KAFKA_H
#define XW_KAFKA_H

#include <signal.h>
#include <stddef.h>
#include <stdint.h>

#include <librdkafka/rdkafka.h>

#include "xw_config.h"
#include "xw_topics.h"

extern volatile sig_atomic_t xw_kafka_stop;
void xw_kafka_install_signals(void);

/* Builds a librdkafka configuration from the common settings: bootstrap
 * servers, then every XW_RDKAFKA_* pass-through property (so TLS/SASL and
 * any tuning work against a real cluster). Secret values are never
 * logged. Returns a new conf (caller owns) or NULL with err set. */
rd_kafka_conf_t *xw_kafka_conf_new(const struct xw_config *cfg, char *err,
                                   size_t errlen);

/* Sets one property; 0 or -1 with err set. */
int xw_kafka_conf_set(rd_kafka_conf_t *conf, const char *key,
                      const char *value, char *err, size_t errlen);

typedef struct xw_kafka_producer xw_kafka_producer;

/* Creates an idempotent producer. `client_id` is borrowed for the call. */
xw_kafka_producer *xw_kafka_producer_new(const struct xw_config *cfg,
                                         const char *client_id, char *err,
                                         size_t errlen);
/* Flushes (up to 10 s), reports what is still queued, destroys. */
void xw_kafka_producer_free(xw_kafka_producer *p);
rd_kafka_t *xw_kafka_producer_handle(xw_kafka_producer *p);

/* Queues one message to `topic` (an xw topic, name built from the prefix).
 * Copies key and value. Waits (serving delivery reports) while the local
 * queue is full. 0 on success, -1 with err set on a fatal error. */
int xw_kafka_produce(xw_kafka_producer *p, enum xw_topic topic,
                     const void *key, size_t keylen, const void *value,
                     size_t len, char *err, size_t errlen);
/* The same for a topic given by name (tests, tools, dead-letter replay). */
int xw_kafka_produce_to(xw_kafka_producer *p, const char *topic,
                        const void *key, size_t keylen, const void *value,
                        size_t len, char *err, size_t errlen);

/* Produces one message and waits for the broker's acknowledgement (or
 * failure) of that message only; other threads may produce and wait on
 * the same producer at the same time. The wait is bounded by the
 * producer's message.timeout.ms (XW_PRODUCE_TIMEOUT_MS for producers made
 * with xw_kafka_producer_new). value is BORROWED until the call returns
 * (librdkafka reads it in place, no copy). 0 when acknowledged, -1 with
 * err set. */
int xw_kafka_produce_wait(xw_kafka_producer *p, enum xw_topic topic,
                          const void *key, size_t keylen, const void *value,
                          size_t len, char *err, size_t errlen);

/* Serves delivery reports without blocking. */
void xw_kafka_poll(xw_kafka_producer *p);

/* Waits up to timeout_ms for every queued message. Returns 0 if the queue
 * drained and every message since the previous flush was delivered, -1
 * otherwise (err says how many failed or are still queued, and why). */
int xw_kafka_flush(xw_kafka_producer *p, int timeout_ms, char *err,
                   size_t errlen);

/* 1 (err set) if the producer hit a fatal error: with idempotence on, a
 * broken sequence means it can never deliver again, so the process must
 * stop (and be restarted) rather than retry forever while looking healthy.
 * 0 otherwise. */
int xw_kafka_producer_fatal(xw_kafka_producer *p, char *err, size_t errlen);

/* Counters, for metrics. */
uint64_t xw_kafka_produced(const xw_kafka_producer *p);
uint64_t xw_kafka_delivery_failures(const xw_kafka_producer *p);

enum xw_handle_result {
    XW_HANDLE_OK = 0,   /* effects queued; go on */
    XW_HANDLE_RETRY,    /* transient failure: rewind the batch, back off */
    XW_HANDLE_POISON,   /* unusable: dead-letter it with the reason, go on */
};

struct xw_handle_error {
    char code[48];      /* stable machine-readable code */
    char reason[400];   /* a sentence for the operator */
};

/* Fills err with code and a printf-style reason and returns r: the one
 * way a handler says why an event is retried or dead-lettered, e.g.
 * `return xw_handle_fail(err, XW_HANDLE_POISON, "bad_event", "...");`. */
enum xw_handle_result xw_handle_fail(struct xw_handle_error *err,
                                     enum xw_handle_result r,
                                     const char *code, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

struct xw_kafka_handler {
    enum xw_handle_result (*handle)(void *ctx, const rd_kafka_message_t *m,
                                    struct xw_handle_error *err);
    /* After the batch's handle() calls; 0 or -1 (retry the batch). May be
     * NULL. */
    int (*batch_end)(void *ctx);
    /* After a batch was rewound: drop whatever batch-local state handle()
     * queued. May be NULL. */
    void (*batch_abort)(void *ctx);
    /* Produces a poison message to the dead-letter topic; 0 or -1 (then
     * the batch is retried, so nothing is dropped silently). */
    int (*dead_letter)(void *ctx, const rd_kafka_message_t *m,
                       const struct xw_handle_error *err);
    void *ctx;
    /* ctx for dead_letter (e.g. the struct xw_service of
     * xw_service_dead_letter); NULL = ctx. */
    void *dead_letter_ctx;
    /* Before the batch's handle() calls, with every message of the batch
     * (msgs[0..n), borrowed for the call; skip those with m->err set):
     * to prefetch what handle() will need, in one round trip instead of
     * one per message. Whatever it reads is only valid until the batch
     * ends or is aborted: handle() of an earlier message may change it.
     * 0, or -1 (retry the batch: nothing is handled). May be NULL. Its
     * time counts as handler time. */
    int (*batch_begin)(void *ctx, rd_kafka_message_t *const *msgs, size_t n);
};

typedef struct xw_kafka_consumer xw_kafka_consumer;

/* Creates a consumer in group XW_GROUP_PREFIX + group, subscribed to the
 * given topics; offsets stored by the loop only, reset to earliest. The
 * producer is the one whose deliveries gate offset storage (may be NULL
 * for a consumer that produces nothing). */
xw_kafka_consumer *xw_kafka_consumer_new(const struct xw_config *cfg,
                                         const char *group,
                                         const enum xw_topic *topics,
                                         size_t ntopics,
                                         xw_kafka_producer *producer,
                                         char *err, size_t errlen);

/* Runs batches until xw_kafka_stop is set or a fatal error. Returns 0 on
 * a clean stop, -1 on a fatal error (logged). */
int xw_kafka_consumer_run(xw_kafka_consumer *c,
                          const struct xw_kafka_handler *h);

/* One batch (with a poll timeout), for tools and tests that drive the loop
 * themselves. Returns the number of messages handled, or -1 on a fatal
 * error; a retried batch returns 0. */
int xw_kafka_consumer_run_once(xw_kafka_consumer *c,
                               const struct xw_kafka_handler *h,
                               int timeout_ms);

/* Leaves the group (commits stored offsets) and destroys the consumer. */
void xw_kafka_consumer_free(xw_kafka_consumer *c);
rd_kafka_t *xw_kafka_consumer_handle(xw_kafka_consumer *c);

#endif
