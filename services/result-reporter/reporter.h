/*
 * The result-reporter: folds the pipeline's events into the projections
 * step 5 reads, and publishes outcomes for subscribers.
 *
 * Consumes xw.packages (PackageCreated), xw.deploy (DeployStarted),
 * xw.results (ObjectResult) and xw.audit (AuditRecorded) as group
 * "result-reporter"; writes the keys of docs/design.md "Written by the
 * result-reporter"; produces PackageFinished and ObjectResult copies to
 * xw.outcomes.
 *
 * How a batch runs (handle() only queues, batch_end() does the work):
 *
 *   handle()     decodes one message and queues its Redis command (an
 *                EVALSHA of one of the scripts in scripts.c) into the
 *                batch's `main` list, in message order. Strings are
 *                copied into the batch arena (the decoded value is reused
 *                by the next message). ObjectResults are grouped by
 *                (package, attempt): the group's FOLD command takes the
 *                place of its first result in `main` and gets every result
 *                of the group in the batch (up to REP_FOLD_MAX, then a new
 *                group). The first result of each (package, attempt,
 *                object) in the batch is marked to be checked (`checkset`).
 *   batch_end()  1. copies (live mode): one HMGET per group, of the
 *                   per-attempt result hash and the objects of its marked
 *                   results, tells which results are new (no field); in
 *                   message order, their original bytes go to xw.outcomes
 *                   and the producer is flushed BEFORE the fold, so a
 *                   crash after the fold cannot lose a copy (a crash
 *                   before it re-sends the copy with the same event id:
 *                   subscribers dedupe).
 *                2. one pipeline (`pipe`, built from `main`): every queued
 *                   script in message order. Each is atomic and idempotent.
 *                   A FOLD decides for each of its results whether it is
 *                   new (absent from the attempt's hash), stores and counts
 *                   the new ones, then brings the summary up to date and
 *                   says whether the attempt is complete - after all of the
 *                   batch's results of that attempt, so completion
 *                   detection sees the whole batch. (Per result the
 *                   semantics are those of "HSETNX, then count"; grouping
 *                   them saves ~40% of Redis CPU: redis.call overhead.)
 *                3. outcomes.c: every attempt reported "finished" (all its
 *                   objects have a result and PackageFinished was not yet
 *                   delivered) gets its status from the rule module,
 *                   PackageFinished is produced and flushed (live mode),
 *                   then one FINALIZE script per attempt makes the summary
 *                   final and marks the attempt published.
 *                Any failure returns -1: the loop rewinds the batch and
 *                runs it again, which changes nothing twice.
 *
 * Rebuild mode (rebuild.c): deletes the reporter's keys, re-reads every
 * topic from the start with a fresh group until the high watermarks taken
 * at start are reached, publishes nothing, then exits.
 *
 * Threads: the consumer loop owns everything here (struct reporter,
 * reused from batch to batch). The webhook delivery pool (webhooks.h,
 * delivery.c) runs its own threads, which share nothing with it but
 * Redis and the metrics.
 */
#ifndef REP_REPORTER_H
#define REP_REPORTER_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "xw_avro.h"
#include "xw_kafka.h"
#include "xw_redis.h"
#include "xw_rules.h"
#include "xw_service.h"

#define REP_ID_MAX 128          /* package, object, workspace, event ids */
#define REP_ARENA_CAP (256u << 20) /* bound on one batch's queued bytes */
#define REP_FOLD_MAX 1000       /* results per FOLD call (Lua unpack bound) */

/* The Lua scripts (scripts.c). */
enum rep_script {
    REP_LUA_CREATED,   /* PackageCreated chunk -> summary, history zsets */
    REP_LUA_STARTED,   /* DeployStarted chunk -> attempt counters, summary */
    REP_LUA_FOLD,      /* ObjectResults of one attempt -> result hashes,
                          counters, summary; says whether finished */
    REP_LUA_FINALIZE,  /* final status -> counters, summary */
    REP_LUA_AUDIT,     /* AuditRecorded -> capped lists */
    REP_LUA_WH_ENQUEUE, /* one webhook delivery (webhooks.c) */
    REP_LUA_COUNT
};

/* A string in the batch arena: offset and length (NUL-terminated there).
 * Offsets, not pointers, because the arena grows while a batch is queued. */
struct rep_str {
    size_t off, len;
};

enum rep_op_kind {
    REP_OP_CREATED, REP_OP_STARTED, REP_OP_FOLD, REP_OP_AUDIT,
    REP_OP_CHECK, REP_OP_FINALIZE, REP_OP_WEBHOOK
};

/* One queued Redis command. */
struct rep_op {
    enum rep_op_kind kind;
    size_t arg0, nargs;           /* its arguments: args[arg0 .. +nargs) */
    struct rep_str pkg;           /* package id (not for AUDIT) */
    int att;                      /* attempt (STARTED, FOLD, FINALIZE) */
    size_t group;                 /* FOLD in `main`, CHECK: its group */
};

/* One ObjectResult queued for its group's FOLD. `value` is what
 * xw:res:{pkg} stores: the message's own bytes (see rep_fold_queue). */
struct rep_result {
    struct rep_str obj, value, outcome, at;
    size_t next;                  /* next result of the group, or SIZE_MAX */
    const rd_kafka_message_t *m;  /* the message, for its copy; borrowed,
                                     valid until batch end */
    unsigned check : 1;           /* first of its object in the batch:
                                     in its group's HMGET (live mode) */
    unsigned copy : 1;            /* checked and new: copied */
};

/* The results of one (package, attempt) in the batch. */
struct rep_group {
    struct rep_str pkg;
    int att;
    struct rep_str keys[5];       /* the FOLD's KEYS, then ARGV[1] = att */
    struct rep_str attstr;
    size_t first, last, n;        /* its results (linked through next) */
    size_t nchecks;               /* of which marked `check` */
};

/* The commands of one pipeline, and the scratch to send them. */
struct rep_cmds {
    struct rep_op *ops;
    size_t n, cap;
    struct rep_str *args;
    size_t nargs, args_cap;
    xw_redis_cmd *cmds;           /* scratch, cap entries */
    const char **argv;            /* scratch, args_cap entries */
    size_t *argvlen;
    redisReply **replies;         /* OWNED after rep_exec, cap entries */
    size_t nreplies;
};

/* A set of arena strings (per batch), each with a value. */
struct rep_set {
    struct rep_str *keys;
    uint64_t *hashes;             /* 0 = empty slot */
    size_t *vals;
    size_t cap, n;
};

/* An attempt found finished in this batch. */
struct rep_fin {
    struct rep_str pkg;
    int att;
    long long total, deployed, failed, excluded, started_at, last_at;
    struct rep_str executor;
    json_t *summary;              /* NEW reference or NULL */
};

/* Rebuild progress of one partition. */
struct rep_progress {
    char topic[128];
    int32_t partition;
    int64_t hi;                   /* high watermark at start */
    int64_t done;                 /* next offset after what is applied */
    int64_t pending;              /* same, for the running batch */
};

struct reporter {
    struct xw_service *svc;       /* borrowed */
    xw_redis *redis;
    xw_avro_decoder *dec;
    const xw_avro_type *result_type; /* the registry's ObjectResult: the
                                        version readers decode (borrowed) */
    int rebuild;                  /* rebuild mode: publish nothing */
    int publish_results;          /* copy new ObjectResults to outcomes */
    long long dedupe_ttl_s;
    long long audit_max;
    char sha[REP_LUA_COUNT][41];

    xw_buf arena;                 /* the batch's strings */
    struct rep_cmds main;         /* per message, in order */
    struct rep_cmds pipe;         /* main with the FOLDs filled in */
    struct rep_cmds check;        /* HMGET per group with checks */
    struct rep_cmds fin;          /* per finished attempt */
    struct rep_set groupset, checkset, finset;
    struct rep_result *results;
    size_t nresults, results_cap;
    struct rep_group *groups;
    size_t ngroups, groups_cap;
    struct rep_fin *fins;
    size_t nfins, fins_cap;

    enum xw_obj_state *states;    /* scratch for the status rule */
    size_t states_cap;
    xw_avro_value finished;       /* PackageFinished being built */
    xw_buf enc;

    struct rep_progress *progress;
    size_t nprogress;

    struct rep_wh *wh;            /* webhooks.h; NULL in rebuild mode */
};

/* ---- batch.c: the consumer callbacks and the batch flow ----------------- */

enum xw_handle_result rep_handle(void *ctx, const rd_kafka_message_t *m,
                                 struct xw_handle_error *err);
int rep_batch_end(void *ctx);
void rep_batch_abort(void *ctx);
/* Dead letters: produced in live mode, skipped (counted) in rebuild. */
int rep_dead_letter(void *ctx, const rd_kafka_message_t *m,
                    const struct xw_handle_error *e);

/* Connects to Redis, loads the scripts, makes the Avro decoder and the
 * PackageFinished value. 0, or -1 (logged; rep_release() cleans up). */
int rep_init(struct reporter *r, struct xw_service *svc, int rebuild);
void rep_release(struct reporter *r);
/* Reads an id field, checked with xw_id_valid; 0, or -1 with err filled
 * (a poison reason). */
int rep_get_id(const avro_value_t *v, const char *field, const char **s,
               size_t *len, struct xw_handle_error *err);

/* ---- queue.c: arena, command lists, sets, pipelines -------------------- */

/* Queue building. A command is begun with rep_cmd_script / rep_cmd_plain
 * and gets its arguments from the rep_arg* calls that follow. All return
 * 0 or -1 (out of memory or the arena cap); a failure leaves the batch to
 * be aborted. */
int rep_cmd_script(struct reporter *r, struct rep_cmds *l,
                   enum rep_op_kind kind, enum rep_script s, int nkeys);
int rep_cmd_plain(struct reporter *r, struct rep_cmds *l,
                  enum rep_op_kind kind, const char *name);
struct rep_op *rep_cmd_last(struct rep_cmds *l);
int rep_arg(struct reporter *r, struct rep_cmds *l, const char *s,
            size_t len);
/* A string already in the arena as the next argument. */
int rep_arg_str(struct rep_cmds *l, struct rep_str s);
/* Starts a command of `kind` without arguments. */
int rep_cmd_begin(struct rep_cmds *l, enum rep_op_kind kind);
int rep_argf(struct reporter *r, struct rep_cmds *l, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* The JSON of an event (xw_avro_json_write: what jansson made of
 * xw_avro_to_json, without the tree) as one argument, or only stored. */
int rep_arg_avro(struct reporter *r, struct rep_cmds *l, const avro_value_t *v);
int rep_str_avro(struct reporter *r, const avro_value_t *v,
                 struct rep_str *out);
/* The same strings, stored without making an argument. */
int rep_str_add(struct reporter *r, const char *s, size_t len,
                struct rep_str *out);
int rep_str_addf(struct reporter *r, struct rep_str *out, const char *fmt,
                 ...) __attribute__((format(printf, 3, 4)));
/* A stored string (valid until the arena grows: use right away). */
static inline const char *rep_s(const struct reporter *r, struct rep_str s)
{
    return r->arena.data + s.off;
}

/* Adds key to set; 1 = new (val stored), 0 = present (*old = its val),
 * -1 = out of memory. */
int rep_set_add(struct reporter *r, struct rep_set *s, struct rep_str key,
                size_t val, size_t *old);
/* Replaces the value of a key that is in the set. */
void rep_set_update(struct rep_set *s, const struct reporter *r,
                    struct rep_str key, size_t val);

/* Sends l as one pipeline (scripts reloaded once on NOSCRIPT); the
 * replies are left in l->replies (owned, freed by the batch reset).
 * 0, or -1 with r->redis->errstr. */
int rep_exec(struct reporter *r, struct rep_cmds *l);

/* Per-batch reset (memory kept) and final release of lists and sets. */
void rep_cmds_reset(struct rep_cmds *l);
void rep_cmds_free(struct rep_cmds *l);
void rep_set_clear(struct rep_set *s);
void rep_set_free(struct rep_set *s);

/* ---- scripts.c --------------------------------------------------------- */

/* SCRIPT LOADs every script and keeps its SHA-1. 0 or -1. */
int rep_scripts_load(struct reporter *r);

/* ---- history.c: PackageCreated, DeployStarted -------------------------- */

enum xw_handle_result rep_history_created(struct reporter *r,
                                          const avro_value_t *v,
                                          struct xw_handle_error *err);
enum xw_handle_result rep_history_started(struct reporter *r,
                                          const avro_value_t *v,
                                          struct xw_handle_error *err);

/* ---- fold.c: ObjectResult ---------------------------------------------- */

enum xw_handle_result rep_fold_queue(struct reporter *r,
                                     const rd_kafka_message_t *m,
                                     const avro_value_t *v,
                                     struct xw_handle_error *err);
/* Step 1 of batch_end: copies of the batch's new results, flushed. */
int rep_fold_copies(struct reporter *r);
/* Appends the FOLD of group g to l (at batch end). 0 or -1. */
int rep_fold_build(struct reporter *r, struct rep_cmds *l, size_t g);
/* Looks at a FOLD reply: metrics, and the attempt's state. 0 or -1. */
int rep_fold_reply(struct reporter *r, const struct rep_op *op,
                   const redisReply *rep);

/* ---- outcomes.c: PackageFinished --------------------------------------- */

/* Looks at the attempt state a STARTED or FOLD script returns; records a finished attempt once per
 * batch. 0 or -1 (malformed reply, out of memory). */
int rep_outcome_note(struct reporter *r, const struct rep_op *op,
                     const redisReply *rep);
/* Step 3 of batch_end: status, PackageFinished, flush, FINALIZE. */
int rep_outcomes_finish(struct reporter *r);
/* The status rule on counts (xw_rules_package_status). 0 or -1. */
int rep_status_from_counts(struct reporter *r, long long total,
                           long long deployed, long long failed,
                           long long excluded, struct xw_pkg_summary *out);

/* ---- audit.c ------------------------------------------------------------ */

enum xw_handle_result rep_dlq_queue(struct reporter *r, const avro_value_t *v,
                                    struct xw_handle_error *err);
enum xw_handle_result rep_audit_queue(struct reporter *r,
                                      const avro_value_t *v,
                                      struct xw_handle_error *err);

/* ---- timeout.c: attempts without progress ------------------------------ */

/* Reads XW_PACKAGE_TIMEOUT_S, registers the metric. 0 or -1 (logged). */
int rep_timeout_init(struct reporter *r);
/* Between batches: every so often, attempts of xw:deploying without a new
 * result for the timeout get ObjectResult(failed, timeout) for their
 * objects still without one. Failures are logged and tried again later. */
void rep_timeout_tick(struct reporter *r);
void rep_timeout_release(void);

/* ---- rebuild.c ---------------------------------------------------------- */

/* Deletes the reporter's keys, then consumes `topics` from the start in a
 * fresh group until caught up with the high watermarks. 0 or -1 (logged). */
int rep_rebuild_run(struct reporter *r, const enum xw_topic *topics,
                    size_t ntopics);
/* Progress bookkeeping called by handle / batch_end / batch_abort. */
void rep_progress_note(struct reporter *r, const rd_kafka_message_t *m);
void rep_progress_commit(struct reporter *r, int ok);

/* ---- metrics (batch.c) ------------------------------------------------- */

void rep_register_metrics(void);
void rep_metric_folded(uint64_t n);
void rep_metric_duplicates(uint64_t n);
void rep_metric_finished(uint64_t n);
void rep_metric_copies(uint64_t n);
void rep_metric_audit(uint64_t recorded, uint64_t duplicates);
void rep_metric_skipped(uint64_t n);

#endif
