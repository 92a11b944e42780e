/*
 * Turning an accepted request into an event: request ids, idempotency,
 * the event envelope, and the produce-and-wait that makes "202 Accepted"
 * mean "on the log".
 */
#ifndef SL_EMIT_H
#define SL_EMIT_H

#include "api.h"
#include "xw_topics.h"

/* The calling thread's reusable value for event type `name`, reset (it
 * keeps its memory between requests). NULL with a 500 answered on
 * failure. */
xw_avro_value *sl_value(struct sl_request *r, const char *name);

/* The calling thread's reusable value for event type `name`, reset, with
 * the envelope filled (event_id = r->request_id, occurred_at = now, actor,
 * correlation_id). NULL with a 500 answered on failure. Call after
 * sl_request_begin(). */
avro_value_t *sl_event(struct sl_request *r, const char *name);

/* Fills the record `dst` (or a field of it when field != NULL) from JSON,
 * by schema: unknown fields, wrong types, missing required fields, bad enum
 * symbols and oversized strings/arrays are refused with a 400 naming the
 * field. 0, or -1 with the answer set. */
int sl_fill(struct sl_request *r, avro_value_t *dst, const char *field,
            const json_t *src);

/* Fills `item` (one element of the array `field`, e.g. an ObjectSpec) from
 * src, element `index` of that array in the request: as sl_fill fills each
 * element, errors named "field[index]..." (a src that is not an object:
 * "field[index]", rule "type"). For arrays read one element at a time
 * (xw_json_items). 0, or -1 with the answer set. */
int sl_fill_item(struct sl_request *r, avro_value_t *item, const char *field,
                 size_t index, const json_t *src);

/* The fast path of sl_fill_item: fills `item` from the text of one array
 * element, text[0..len) holding that element and whatever follows it in
 * the body, when the element is a plain object that sl_fill_item would
 * accept (xw_avro_jtext, same limits): 1 with the element's length in
 * *used and item as sl_fill_item would fill it. 0 when declined: nothing
 * is answered and item is undefined until sl_fill_item fills it from the
 * same element - which decides every error. */
int sl_fill_item_text(avro_value_t *item, const char *text, size_t len,
                      size_t *used);

/*
 * A write's Redis round trips (each is a blocking write, read and wake-up
 * of the thread: ~50-100 us of CPU here, more than most handlers' own
 * work). A write makes as few as its checks allow:
 *   - one, when nothing but the caller's roles can refuse it (the roles
 *     come from the cache, access.c): the Idempotency-Key's reads and the
 *     pending mark together (sl_request_begin_marked);
 *   - two, when it checks state first: the state it checks read together
 *     with the Idempotency-Key's reads (sl_request_prefetch), then the
 *     mark alone (sl_accept). The mark cannot join the reads: a request
 *     those checks refuse must never show as pending.
 * The stored answer is written without waiting (sl_reply_remembered).
 */

/* The request id: derived from (user, Idempotency-Key), or random without
 * a key. Done by the calls below; a handler that builds its event (whose
 * event_id is the request id) before them calls it first. 0, or -1 with
 * 400 (a bad key) or 503 answered. */
int sl_request_id(struct sl_request *r);

#define SL_PREFETCH_MAX 4

/* The write's first round trip: the caller's reads cmds[0..n) (n <=
 * SL_PREFETCH_MAX, read-only commands: they are re-sent once after a lost
 * connection) together with what sl_request_begin() will need, kept in r.
 * 0 with OWNED replies in reps[0..n) (xw_redis_replies_free), -1 with the
 * answer set and reps untouched. sl_request_begin() must still be called,
 * where the stored answer is to take precedence. */
int sl_request_prefetch(struct sl_request *r, const xw_redis_cmd *cmds,
                        size_t n, redisReply **reps);

/* Starts a write: the request id (sl_request_id) and, if the same user
 * already sent this Idempotency-Key, the stored answer (answered, returns
 * 1: the caller stops). A first attempt that reached the log without a
 * stored answer is answered 202 with its request id (1 too). 0 to go on,
 * -1 with the answer set. No round trip after sl_request_prefetch, nor
 * without a key. */
int sl_request_begin(struct sl_request *r);

/* sl_request_begin and the pending mark (xw:req:{id} status=pending,
 * before anything is on the log, so a status poll right after the 202
 * never sees "unknown") in one round trip, for a write that nothing but
 * the broker can refuse any more (every check done): then sl_accept
 * sends no mark. The mark never overwrites (the packager's final status,
 * a first attempt's), and one written for a request answered from the
 * store is removed again. After sl_request_begin, the mark alone. Returns
 * as sl_request_begin. */
int sl_request_begin_marked(struct sl_request *r);

/* Encodes `event`, marks the request pending (unless it is), produces it
 * to `topic` keyed by `key`, waits for the broker's acknowledgement, then
 * answers 202 with {"request_id","status_url"} plus the fields of `extra`
 * (stolen; may be NULL) and stores that answer under the Idempotency-Key.
 * 0, or -1 with the answer set (503 when the broker did not take it:
 * nothing was accepted). */
int sl_accept(struct sl_request *r, avro_value_t *event, enum xw_topic topic,
              const char *key, json_t *extra);

/* sl_accept of an event the caller encoded (single-object encoding in
 * event[0..len), borrowed; it may be r->w->enc): for events encoded item by
 * item (xw_avro_encode_items). The same marking, produce, answer and
 * Idempotency-Key record; `extra` is stolen. */
int sl_accept_encoded(struct sl_request *r, const void *event, size_t len,
                      enum xw_topic topic, const char *key, json_t *extra);

/* Answers 500 for an event that could not be encoded (ae says why). -1. */
int sl_encode_failed(struct sl_request *r, const xw_avro_err *ae);

/* Answers `status` with `body` (stolen) and, when the request carried an
 * Idempotency-Key, stores that answer for 24 h so a retry with the same
 * key gets it again (sl_request_begin). For writes that are done by the
 * time they answer (webhook subscriptions); sl_accept uses it too. The
 * store is sent without waiting (sl_redis_defer): the request's last
 * Redis command. */
void sl_reply_remembered(struct sl_request *r, unsigned status, json_t *body);

/* Encodes `event` and produces it, waiting for the broker's
 * acknowledgement, without answering (for a request that emits more than
 * one event: all but the last), the request marked pending first
 * (sl_request_begin_marked). 0, or -1 with the answer set. */
int sl_produce(struct sl_request *r, avro_value_t *event, enum xw_topic topic,
               const char *key);

/* Parses and bounds the request body as a JSON object. NULL with the
 * answer set. New reference. */
json_t *sl_body_object(struct sl_request *r);

#endif
