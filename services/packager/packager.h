/*
 * The packager: the single writer of a source workspace's state. It
 * applies the commands of xw.commands (keyed by source workspace, so one
 * instance applies a workspace's commands in order) and emits
 * PackageCreated and DeployStarted.
 *
 * Idempotency (docs/design.md): each command's Redis effects and its
 * marker xw:seen:packager:{event_id} are written in one MULTI/EXEC. A
 * redelivered command whose marker exists is not applied again, but its
 * follow-up events are emitted again from the stored state, with the same
 * derived ids, so a crash between the write and the delivery loses
 * nothing and duplicates nothing downstream.
 *
 * Round trips. Each blocking round trip costs far more than the
 * packager's CPU under load (a loaded Redis and machine: wake-ups and
 * queueing, ~0.7 ms each measured at 24 packages in flight), and the
 * packager applies a workspace's commands one after the other, so it
 * reads what a command needs in as few round trips as the dependencies
 * allow, and waits for a transaction's answer only before emitting
 * follow-up events that describe what it writes (tx_commit_later below).
 * Per command:
 *   - ObjectsSubmitted, ObjectTerminated, BasketChanged, WorkspaceUpserted,
 *     EnvironmentDeleted: 0 (the transaction is sent; its answer comes
 *     back with the next round trip);
 *   - EnvironmentUpserted: 1 (its four reads);
 *   - PackageRequested: 2 with object ids (environment and workspaces in
 *     one read-only script, pipelined with the specs; the transaction),
 *     3 from the basket (its ids first); rejected: 1; redelivered: 2;
 *   - DeployRequested: 2 (package, request, summary and ids; the attempt
 *     script pipelined with the specs; its transaction is not waited
 *     for); rejected: 1; redelivered: 3;
 * and per consumer batch: one MGET of every command's marker at its start
 * (pkg_seen_prefetch), and the answers still unread at its end
 * (pkg_settle). Before, each command also made its own EXISTS, waited for
 * its transaction, and each read was a round trip of its own: 2 / 6 /
 * 6 (7) / 9, redelivered 4 and 5; the benchmark's 100-object package
 * (ObjectsSubmitted, PackageRequested, DeployRequested) went from 17 to
 * 4 plus its share of two per batch.
 */
#ifndef PKG_PACKAGER_H
#define PKG_PACKAGER_H

#include <jansson.h>

#include "xw_avro.h"
#include "xw_kafka.h"
#include "xw_redis.h"
#include "xw_service.h"
#include "xw_spec.h"

#define PKG_CHUNK 500   /* objects per PackageCreated / DeployStarted */

/* Every object spec is stored once, as Avro (xw_avro_encode_record of the
 * ObjectSpec): the packager freezes and deploys from those bytes, and the
 * submit-listener and the reporter write the JSON they show from them
 * (common/xw_spec.h). When and by whom a node to deploy was submitted is
 * not part of the spec: a small text next to it (xw_spec_submission_*).
 * The keys: XW_SPEC_NTD, XW_SPEC_NTD_BY. */

struct packager {
    struct xw_service *svc;
    xw_redis *redis;
    xw_avro_decoder *dec;
    xw_avro_value created;     /* PackageCreated being built */
    xw_avro_value started;     /* DeployStarted being built */
    xw_avro_value specs;       /* scratch ObjectsSubmitted: its `objects`
                                  hold the specs of the package being frozen
                                  or started, chunked from there */
    xw_buf enc;
    xw_buf spec;               /* scratch: one spec as Avro, or a
                                  submission text */
    long long dedupe_ttl_s;
    int ntx;                   /* commands queued in the open MULTI */
    size_t unread;             /* replies of transactions sent by
                                  tx_commit_later, read by the next
                                  pkg_exec */
    struct pkg_env_cache *envc; /* the last environment a freeze parsed
                                  (freeze.c); NULL until the first */
    json_t *seen;              /* event id -> true (applied) / false: the
                                  markers of the consumer batch's commands,
                                  read at its start and kept up to date as
                                  the batch is applied; emptied by the next
                                  batch or an abort */
};

/* The event being applied, with its envelope read once. */
struct command {
    const avro_value_t *v;
    const char *event_id;
    const char *actor;
    const char *correlation_id;
    int64_t occurred_at;
    int seen;                  /* applied before: only re-emit */
};

enum xw_handle_result pkg_handle(void *ctx, const rd_kafka_message_t *m,
                                 struct xw_handle_error *err);

/* struct xw_kafka_handler's batch_end and batch_abort (ctx = struct
 * packager): the batch's unread transactions are read (a failed one fails
 * the batch end); an aborted batch also forgets its markers. */
int pkg_settle(void *ctx);
void pkg_abort(void *ctx);

/*
 * Applied-markers of a consumer batch (struct xw_kafka_handler's
 * batch_begin; ctx = struct packager).
 *
 * pkg_seen_prefetch reads the markers of every command of the batch with
 * one MGET: 0, or -1 (Redis; the batch is retried). The event ids are read
 * from the messages without decoding them (every command starts with its
 * event id); whatever a message holds there, p->seen only ever says what
 * Redis said about that very id, so a message whose id cannot be read
 * costs its own EXISTS, never a wrong answer. Only this consumer writes
 * the markers of its partitions' commands, so they stay valid for the
 * batch once pkg_seen_applied() records each command applied.
 * pkg_abort drops them (an aborted batch is read again).
 */
int pkg_seen_prefetch(void *ctx, rd_kafka_message_t *const *msgs, size_t n);
/* Whether event_id was applied before: from p->seen, else EXISTS. 0, or
 * -1 (Redis). */
int pkg_seen(struct packager *p, const char *event_id, int *seen);
/* After a command was handled OK: every applier's OK ends in a
 * transaction that set its marker (or found it set; sent with
 * tx_commit_later, it has run before anything sent after it, and if it
 * failed the batch is redone), so a redelivered copy later in the same
 * batch is seen. */
void pkg_seen_applied(struct packager *p, const char *event_id);

/* Transactions: tx_begin, then TX(p, fmt, ...) per command, then
 * tx_commit marks the event applied and runs it all in one round trip.
 *
 * tx_commit_later sends the same but does not wait for the answer: for a
 * command whose follow-up events (if any) do not describe what the
 * transaction writes (PackageCreated describes the frozen package, so a
 * freeze waits: its events go out only once its writes are known to have
 * run). Whatever the packager sends
 * next goes out after it on the same connection, so it sees its writes,
 * and the next pkg_exec reads its answer first: a transaction that failed
 * fails that round trip before its replies are used (the batch is then
 * retried, and the markers say what was applied). The consumer batch's
 * end reads whatever is still unread (pkg_settle), before the producer
 * flush and the offsets.
 *
 * Every Redis call of the packager is therefore pipelined: queue with
 * xw_redis_append*() (or TX), then pkg_exec(p, rep, n) reads the
 * unread transactions and the n replies (OWNED, rep[0..n); rep may be
 * NULL for n = 0): 0, or -1 (errstr says why; rep all NULL). On a
 * failure before the exec, pkg_discard() drops what is queued (and the
 * unread transactions: the batch is retried). */
int tx_begin(struct packager *p);
#define TX(p, ...) ((p)->ntx++, xw_redis_append((p)->redis, __VA_ARGS__))
int tx_commit(struct packager *p, const struct command *c);
int tx_commit_later(struct packager *p, const struct command *c);
int pkg_exec(struct packager *p, redisReply **rep, size_t n);
void pkg_discard(struct packager *p);
/* Queues the request's final status ("done" with result, or "rejected"
 * with an error) into the open transaction. Steals result / error. */
int tx_request_status(struct packager *p, const struct command *c,
                      const char *status, json_t *result, json_t *error);

/*
 * Multi-field commands of the open transaction: one "HSET key f1 v1 f2 v2
 * ...", "ZREM key m1 m2 ..." or "ZADD key NX s1 m1 ..." per PKG_BATCH_ITEMS
 * items instead of one command per object (same effect: Redis applies the
 * items in order, a field given twice ends with its last value). Each item
 * is copied into the batch; when PKG_BATCH_ITEMS items (or
 * PKG_BATCH_BYTES bytes) are collected they are queued as one command
 * (counted in p->ntx) and written out to Redis at once
 * (xw_redis_pipeline_flush), so neither the batch nor hiredis' output
 * buffer ever holds more than one command's worth of a big request.
 * pkg_batch_flush() queues the rest (less than one command) without
 * writing it: it goes out with the transaction's end, in the same
 * write(2). Nothing runs before the transaction's EXEC.
 *
 *   struct pkg_batch b;
 *   pkg_batch_init(&b, "HSET", NULL, "xw:ntdavro:%s", ws);
 *   per object: pkg_batch_add(p, &b, 2, (const char *[]){ id, avro },
 *                             (size_t[]){ idlen, avrolen })
 *   pkg_batch_flush(p, &b) before tx_commit; pkg_batch_release(&b) always.
 *
 * Every call returns 0 or -1 (Redis or memory: discard the transaction,
 * see p->redis->errstr). init fails only when the key does not fit.
 */
#define PKG_BATCH_ITEMS 500
#define PKG_BATCH_BYTES ((size_t)1 << 20)

struct pkg_batch {
    const char *cmd;       /* command name (static string) */
    const char *opt;       /* an option after the key ("NX"), or NULL */
    char key[256];
    xw_buf data;           /* the queued items' arguments, back to back */
    size_t *len;           /* [0..nargs): each argument's length in data */
    const char **argv;     /* scratch for queueing, cap + 3 slots */
    size_t *argvlen;       /* same */
    size_t nargs, cap, items;
};

int pkg_batch_init(struct pkg_batch *b, const char *cmd, const char *opt,
                   const char *keyfmt, ...)
    __attribute__((format(printf, 4, 5)));
int pkg_batch_add(struct packager *p, struct pkg_batch *b, size_t nargs,
                  const char *const *args, const size_t *lens);
int pkg_batch_flush(struct packager *p, struct pkg_batch *b);
void pkg_batch_release(struct pkg_batch *b);

/* After handling a message of msg_len bytes: when it was big
 * (>= PKG_BIG_BYTES) or p->specs holds >= PKG_BIG specs, gives back what
 * the decoder, the scratch values and buffers kept for reuse (release
 * instead of reset) and trims the heap, so one big request does not stay
 * resident under the next one. The command's value must no longer be in
 * use. */
#define PKG_BIG 2000
#define PKG_BIG_BYTES ((size_t)256 << 10)
void pkg_release_big(struct packager *p, size_t msg_len);

/* Records a rejected command: request status + marker
 * (tx_commit_later). */
int pkg_reject(struct packager *p, const struct command *c, int http_status,
               const char *field, const char *code, const char *fmt, ...)
    __attribute__((format(printf, 6, 7)));

/* Frees p->envc (NULL is fine). */
void pkg_env_cache_free(struct pkg_env_cache *c);

/* Handlers, one per command type (commands.c, freeze.c, deploy.c). */
enum xw_handle_result apply_workspace(struct packager *p, struct command *c,
                                      struct xw_handle_error *err);
enum xw_handle_result apply_environment(struct packager *p, struct command *c,
                                        struct xw_handle_error *err);
enum xw_handle_result apply_environment_deleted(struct packager *p,
                                                struct command *c,
                                                struct xw_handle_error *err);
enum xw_handle_result apply_objects(struct packager *p, struct command *c,
                                    struct xw_handle_error *err);
enum xw_handle_result apply_terminate(struct packager *p, struct command *c,
                                      struct xw_handle_error *err);
enum xw_handle_result apply_basket(struct packager *p, struct command *c,
                                   struct xw_handle_error *err);
enum xw_handle_result apply_package(struct packager *p, struct command *c,
                                    struct xw_handle_error *err);
enum xw_handle_result apply_deploy(struct packager *p, struct command *c,
                                   struct xw_handle_error *err);

/*
 * The packager's Lua scripts (the environment read of a freeze, the
 * attempt of a deploy). Sent as EVALSHA once the server has them: EVAL
 * makes Redis hash the whole body on every call and sends it along. The
 * first call is an EVAL, which loads the script into Redis' cache; every
 * answered call after that is an EVALSHA. A server that lost its cache
 * (restarted, SCRIPT FLUSH) answers NOSCRIPT: that round trip fails like
 * any other error reply (the command is retried with its batch; a
 * NOSCRIPT call ran nothing) and the next call is an EVAL again.
 *
 *   static struct pkg_script s = PKG_SCRIPT_INIT(LUA);
 *   xw_redis_append(r, "%s %s 1 key", pkg_script_cmd(&s), pkg_script_arg(&s))
 *   after pkg_exec: pkg_script_answered(&s, rc, p->redis)
 *
 * Not thread-safe (the packager has one consumer thread).
 */
struct pkg_script {
    const char *body;
    char sha[41];              /* hex SHA-1 of body, "" until computed or
                                  when the digest is unavailable */
    int cached;                /* the server answered a call of it */
};

#define PKG_SCRIPT_INIT(body) { (body), "", 0 }

/* "EVALSHA" when the server has the script, else "EVAL"; and its
 * argument: the SHA-1 or the body. */
const char *pkg_script_cmd(struct pkg_script *s);
const char *pkg_script_arg(const struct pkg_script *s);
/* After the round trip of a call: rc its pkg_exec's. 0 -> EVALSHA from
 * now on; -1 with NOSCRIPT in r->errstr -> EVAL next time. */
void pkg_script_answered(struct pkg_script *s, int rc, const xw_redis *r);

/* Small shared helpers. */
/* The JSON of a stored value (a string reply): NEW, or NULL when the
 * reply is nil or not JSON. */
json_t *pkg_json(const redisReply *r);
/* The strings of an array reply (ids): NEW array of pointers into it
 * (free() it; the strings stay the reply's), NULL when out of memory. */
const char **pkg_reply_strings(const redisReply *a);
/* A command's argv: the nhead words of head, then ids[0..n). NEW array
 * (free() it; the strings stay borrowed), NULL when out of memory. */
const char **pkg_argv(const char *const *head, size_t nhead,
                      const char *const *ids, size_t n);
/* A string field of the command (borrowed; "" if absent). */
const char *pkg_str(const avro_value_t *v, const char *field);
/* Sets the envelope of an emitted event: derived id, now, actor, corr. */
int pkg_envelope(struct packager *p, avro_value_t *v, const struct command *c,
                 const char *scope, long index);
/* The stored specs of ids[0..n): HMGET of the Avro hash `key`. NEW reply
 * in *avro (the caller frees it); 0, or -1 (Redis; *avro NULL). */
int pkg_specs_fetch(struct packager *p, const char *key, const char **ids,
                    size_t n, redisReply **avro);
/* Reads spec i of a fetched reply into el (a reset ObjectSpec record):
 * 1 read, 0 none stored, -1 stored but unreadable (err says why; el is
 * reset). */
int pkg_spec_read(avro_value_t *el, const redisReply *avro, size_t i,
                  struct xw_handle_error *err);
/* Fills p->specs with the frozen specs of package pkg for ids[0..n), in
 * that order, leaving out ids without a spec (reads their HMGET of
 * xw:pkg:{pkg}:avro first). XW_HANDLE_OK, or RETRY with err filled. */
enum xw_handle_result pkg_load_frozen(struct packager *p, const char *pkg,
                                      const char **ids, size_t n,
                                      struct xw_handle_error *err);
/* Replaces the ObjectSpec array "objects" of v with p->specs' specs
 * [from, from + n). 0 or -1 (memory). */
int pkg_copy_specs(struct packager *p, avro_value_t *v, size_t from, size_t n);
/* Encodes v and queues it to topic, keyed by key. */
enum xw_handle_result pkg_emit(struct packager *p, avro_value_t *v,
                               enum xw_topic topic, const char *key,
                               struct xw_handle_error *err);
/* pkg_emit of v with its last field, the array `field`, replaced by
 * count items already encoded: items[0..len), Avro bodies back to back
 * (xw_avro_encode_items). */
enum xw_handle_result pkg_emit_items(struct packager *p, avro_value_t *v,
                                     const char *field, size_t count,
                                     const void *items, size_t len,
                                     enum xw_topic topic, const char *key,
                                     struct xw_handle_error *err);

#define RETRY(err, ...) \
    xw_handle_fail(err, XW_HANDLE_RETRY, "state_store", __VA_ARGS__)

#endif
