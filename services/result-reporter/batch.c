/* The consumer callbacks and the batch machinery: arena, command lists,
 * per-batch sets, pipelines. See reporter.h for how a batch runs. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "reporter.h"
#include "xw_id.h"
#include "xw_log.h"
#include "xw_metrics.h"

XW_COUNTER(m_folded, "xw_reporter_results_folded_total",
           "object results folded into package state (new)");
XW_COUNTER(m_dups, "xw_reporter_results_duplicate_total",
           "object results ignored as duplicates");
XW_COUNTER(m_finished, "xw_reporter_packages_finished_total",
           "deployment attempts finished (PackageFinished published)");
XW_COUNTER(m_copies, "xw_reporter_result_copies_total",
           "ObjectResult copies published to the outcomes topic");
XW_COUNTER(m_audit, "xw_reporter_audit_recorded_total",
           "audit records appended");
XW_COUNTER(m_audit_dups, "xw_reporter_audit_duplicate_total",
           "audit records ignored as duplicates");
XW_COUNTER(m_skipped, "xw_reporter_skipped_total",
           "unusable events skipped during a rebuild (not dead-lettered)");
XW_COUNTER(m_batches, "xw_reporter_batches_total",
           "consumer batches applied");

void rep_register_metrics(void)
{
    xw_metrics_register(&m_folded);
    xw_metrics_register(&m_dups);
    xw_metrics_register(&m_finished);
    xw_metrics_register(&m_copies);
    xw_metrics_register(&m_audit);
    xw_metrics_register(&m_audit_dups);
    xw_metrics_register(&m_skipped);
    xw_metrics_register(&m_batches);
}

void rep_metric_folded(uint64_t n) { xw_metrics_add(&m_folded, n); }
void rep_metric_duplicates(uint64_t n) { xw_metrics_add(&m_dups, n); }
void rep_metric_finished(uint64_t n) { xw_metrics_add(&m_finished, n); }
void rep_metric_copies(uint64_t n) { xw_metrics_add(&m_copies, n); }
void rep_metric_skipped(uint64_t n) { xw_metrics_add(&m_skipped, n); }
void rep_metric_audit(uint64_t recorded, uint64_t duplicates)
{
    xw_metrics_add(&m_audit, recorded);
    xw_metrics_add(&m_audit_dups, duplicates);
}

/* ---- errors ------------------------------------------------------------- */

enum xw_handle_result rep_poison(struct xw_handle_error *err,
                                 const char *code, const char *fmt, ...)
{
    va_list ap;

    snprintf(err->code, sizeof err->code, "%s", code);
    va_start(ap, fmt);
    vsnprintf(err->reason, sizeof err->reason, fmt, ap);
    va_end(ap);
    return XW_HANDLE_POISON;
}

static enum xw_handle_result retry_nomem(struct xw_handle_error *err)
{
    snprintf(err->code, sizeof err->code, "no_memory");
    snprintf(err->reason, sizeof err->reason,
             "out of memory (or batch bigger than %u bytes) queueing the "
             "batch", REP_ARENA_CAP);
    return XW_HANDLE_RETRY;
}

int rep_get_id(const avro_value_t *v, const char *field, const char **s,
               size_t *len, struct xw_handle_error *err)
{
    int rc = xw_avro_get_string(v, field, s, len);

    if (rc != 0) {
        rep_poison(err, "invalid_event", "field %s: %s", field,
                   rc > 0 ? "missing" : xw_avro_strerror(rc));
        return -1;
    }
    if (!xw_id_valid(*s, *len, REP_ID_MAX)) {
        rep_poison(err, "invalid_id",
                   "field %s is not an id (1..%d of [A-Za-z0-9._:@-])",
                   field, REP_ID_MAX);
        return -1;
    }
    return 0;
}

/* ---- arena and command lists ------------------------------------------- */

int rep_str_add(struct reporter *r, const char *s, size_t len,
                struct rep_str *out)
{
    out->off = r->arena.len;
    out->len = len;
    if (xw_buf_add(&r->arena, s, len) < 0 || xw_buf_addch(&r->arena, '\0') < 0)
        return -1;
    return 0;
}

int rep_str_addf(struct reporter *r, struct rep_str *out, const char *fmt,
                 ...)
{
    va_list ap;
    int rc;

    out->off = r->arena.len;
    va_start(ap, fmt);
    rc = xw_buf_vaddf(&r->arena, fmt, ap);
    va_end(ap);
    if (rc < 0)
        return -1;
    out->len = r->arena.len - out->off;
    return xw_buf_addch(&r->arena, '\0');
}

static int grow(void **p, size_t *cap, size_t need, size_t size)
{
    size_t n = *cap ? *cap : 64;
    void *q;

    if (need <= *cap)
        return 0;
    while (n < need)
        n *= 2;
    q = realloc(*p, n * size);
    if (!q)
        return -1;
    *p = q;
    *cap = n;
    return 0;
}

static int push_arg(struct rep_cmds *l, struct rep_str s)
{
    size_t cap = l->args_cap;

    if (grow((void **)&l->args, &cap, l->nargs + 1, sizeof *l->args) < 0)
        return -1;
    if (cap != l->args_cap) {
        const char **a = realloc(l->argv, cap * sizeof *a);
        size_t *b;

        if (!a)
            return -1;
        l->argv = a;
        b = realloc(l->argvlen, cap * sizeof *b);
        if (!b)
            return -1;
        l->argvlen = b;
        l->args_cap = cap;
    }
    l->args[l->nargs++] = s;
    l->ops[l->n - 1].nargs++;
    return 0;
}

int rep_arg(struct reporter *r, struct rep_cmds *l, const char *s, size_t len)
{
    struct rep_str t;

    return rep_str_add(r, s, len, &t) < 0 ? -1 : push_arg(l, t);
}

int rep_argf(struct reporter *r, struct rep_cmds *l, const char *fmt, ...)
{
    struct rep_str t;
    va_list ap;
    int rc;

    t.off = r->arena.len;
    va_start(ap, fmt);
    rc = xw_buf_vaddf(&r->arena, fmt, ap);
    va_end(ap);
    if (rc < 0)
        return -1;
    t.len = r->arena.len - t.off;
    if (xw_buf_addch(&r->arena, '\0') < 0)
        return -1;
    return push_arg(l, t);
}

static int dump_cb(const char *buf, size_t size, void *data)
{
    return xw_buf_add(data, buf, size);
}

int rep_arg_json(struct reporter *r, struct rep_cmds *l, const json_t *j)
{
    struct rep_str t;

    t.off = r->arena.len;
    if (json_dump_callback(j, dump_cb, &r->arena, JSON_COMPACT) < 0)
        return -1;
    t.len = r->arena.len - t.off;
    if (xw_buf_addch(&r->arena, '\0') < 0)
        return -1;
    return push_arg(l, t);
}

static int begin(struct rep_cmds *l, enum rep_op_kind kind)
{
    size_t cap = l->cap;

    if (grow((void **)&l->ops, &cap, l->n + 1, sizeof *l->ops) < 0)
        return -1;
    if (cap != l->cap) {
        xw_redis_cmd *c = realloc(l->cmds, cap * sizeof *c);
        redisReply **rp;

        if (!c)
            return -1;
        l->cmds = c;
        rp = realloc(l->replies, cap * sizeof *rp);
        if (!rp)
            return -1;
        memset(rp + l->cap, 0, (cap - l->cap) * sizeof *rp);
        l->replies = rp;
        l->cap = cap;
    }
    memset(&l->ops[l->n], 0, sizeof l->ops[l->n]);
    l->ops[l->n].kind = kind;
    l->ops[l->n].arg0 = l->nargs;
    l->n++;
    return 0;
}

int rep_cmd_script(struct reporter *r, struct rep_cmds *l,
                   enum rep_op_kind kind, enum rep_script s, int nkeys)
{
    if (begin(l, kind) < 0 || rep_arg(r, l, "EVALSHA", 7) < 0
        || rep_arg(r, l, r->sha[s], 40) < 0 || rep_argf(r, l, "%d", nkeys) < 0)
        return -1;
    return 0;
}

int rep_cmd_plain(struct reporter *r, struct rep_cmds *l,
                  enum rep_op_kind kind, const char *name)
{
    if (begin(l, kind) < 0 || rep_arg(r, l, name, strlen(name)) < 0)
        return -1;
    return 0;
}

struct rep_op *rep_cmd_last(struct rep_cmds *l)
{
    return l->n ? &l->ops[l->n - 1] : NULL;
}

static void cmds_reset(struct rep_cmds *l)
{
    xw_redis_replies_free(l->replies, l->nreplies);
    l->nreplies = 0;
    l->n = 0;
    l->nargs = 0;
}

static void cmds_free(struct rep_cmds *l)
{
    cmds_reset(l);
    free(l->ops);
    free(l->args);
    free(l->cmds);
    free(l->argv);
    free(l->argvlen);
    free(l->replies);
    memset(l, 0, sizeof *l);
}

/* ---- per-batch sets ---------------------------------------------------- */

static uint64_t hash(const char *s, size_t n)
{
    uint64_t h = 1469598103934665603ULL;   /* FNV-1a */

    for (size_t i = 0; i < n; i++)
        h = (h ^ (unsigned char)s[i]) * 1099511628211ULL;
    return h ? h : 1;
}

static int set_resize(struct rep_set *s, size_t cap)
{
    struct rep_set t = { 0 };

    t.keys = malloc(cap * sizeof *t.keys);
    t.hashes = calloc(cap, sizeof *t.hashes);
    t.vals = malloc(cap * sizeof *t.vals);
    if (!t.keys || !t.hashes || !t.vals) {
        free(t.keys);
        free(t.hashes);
        free(t.vals);
        return -1;
    }
    t.cap = cap;
    for (size_t i = 0; i < s->cap; i++) {
        size_t j;

        if (!s->hashes[i])
            continue;
        for (j = s->hashes[i] & (cap - 1); t.hashes[j]; j = (j + 1) & (cap - 1))
            ;
        t.hashes[j] = s->hashes[i];
        t.keys[j] = s->keys[i];
        t.vals[j] = s->vals[i];
        t.n++;
    }
    free(s->keys);
    free(s->hashes);
    free(s->vals);
    *s = t;
    return 0;
}

int rep_set_add(struct reporter *r, struct rep_set *s, struct rep_str key,
                size_t val, size_t *old)
{
    const char *k = rep_s(r, key);
    uint64_t h = hash(k, key.len);
    size_t j;

    if ((s->n + 1) * 2 > s->cap && set_resize(s, s->cap ? s->cap * 2 : 64) < 0)
        return -1;
    for (j = h & (s->cap - 1); s->hashes[j]; j = (j + 1) & (s->cap - 1))
        if (s->hashes[j] == h && s->keys[j].len == key.len
            && memcmp(rep_s(r, s->keys[j]), k, key.len) == 0) {
            if (old)
                *old = s->vals[j];
            return 0;
        }
    s->hashes[j] = h;
    s->keys[j] = key;
    s->vals[j] = val;
    s->n++;
    return 1;
}

static void set_clear(struct rep_set *s)
{
    if (s->n && s->hashes)
        memset(s->hashes, 0, s->cap * sizeof *s->hashes);
    s->n = 0;
}

static void set_free(struct rep_set *s)
{
    free(s->keys);
    free(s->hashes);
    free(s->vals);
    memset(s, 0, sizeof *s);
}

/* ---- pipelines ---------------------------------------------------------- */

int rep_exec(struct reporter *r, struct rep_cmds *l)
{
    int attempt;

    xw_redis_replies_free(l->replies, l->nreplies);
    l->nreplies = 0;
    if (!l->n)
        return 0;
    /* The arena is complete now: turn offsets into pointers. */
    for (size_t i = 0; i < l->nargs; i++) {
        l->argv[i] = rep_s(r, l->args[i]);
        l->argvlen[i] = l->args[i].len;
    }
    for (size_t i = 0; i < l->n; i++) {
        l->cmds[i].argc = (int)l->ops[i].nargs;
        l->cmds[i].argv = l->argv + l->ops[i].arg0;
        l->cmds[i].argvlen = l->argvlen + l->ops[i].arg0;
    }
    for (attempt = 0; attempt < 2; attempt++) {
        /* Every command is idempotent: after a lost connection the whole
         * pipeline may be sent again. */
        if (xw_redis_pipeline(r->redis, l->cmds, l->n, l->replies,
                              XW_REDIS_IDEMPOTENT) == 0) {
            l->nreplies = l->n;
            return 0;
        }
        /* A restarted Redis has an empty script cache: load and resend
         * (the scripts are idempotent, so what ran is not changed). */
        if (attempt || r->redis->err != XW_REDIS_EREPLY
            || !strstr(r->redis->errstr, "NOSCRIPT"))
            break;
        xw_info("REDIS", "script cache empty (Redis restarted?): reloading");
        if (rep_scripts_load(r) < 0)
            break;
    }
    return -1;
}

/* ---- the batch ---------------------------------------------------------- */

static void batch_reset(struct reporter *r)
{
    cmds_reset(&r->main);
    cmds_reset(&r->sync);
    cmds_reset(&r->check);
    cmds_reset(&r->fin);
    set_clear(&r->syncset);
    set_clear(&r->checkset);
    set_clear(&r->finset);
    for (size_t i = 0; i < r->nfins; i++)
        json_decref(r->fins[i].summary);
    r->nfins = 0;
    xw_buf_reset(&r->arena);
}

enum xw_handle_result rep_handle(void *ctx, const rd_kafka_message_t *m,
                                 struct xw_handle_error *err)
{
    struct reporter *r = ctx;
    const xw_avro_type *t;
    avro_value_t *v;
    xw_avro_err ae;
    enum xw_handle_result res;

    if (r->rebuild)
        rep_progress_note(r, m);
    if (!m->payload
        || xw_avro_decode(r->dec, m->payload, m->len, &t, &v, &ae) < 0)
        return rep_poison(err, "undecodable", "%s",
                          m->payload ? ae.msg : "empty message");
    if (strcmp(t->short_name, "ObjectResult") == 0)
        res = rep_fold_queue(r, m, v, err);
    else if (strcmp(t->short_name, "PackageCreated") == 0)
        res = rep_history_created(r, v, err);
    else if (strcmp(t->short_name, "DeployStarted") == 0)
        res = rep_history_started(r, v, err);
    else if (strcmp(t->short_name, "AuditRecorded") == 0)
        res = rep_audit_queue(r, v, err);
    else
        return rep_poison(err, "unexpected_event",
                          "%s is not an event the result-reporter reads",
                          t->short_name);
    if (res == XW_HANDLE_RETRY && !err->code[0])
        res = retry_nomem(err);
    return res;
}

/* Replies of the main pipeline: metrics, and attempts that finished. */
static int main_replies(struct reporter *r)
{
    uint64_t audit_new = 0, audit_dup = 0;

    for (size_t i = 0; i < r->main.n; i++) {
        const struct rep_op *op = &r->main.ops[i];
        const redisReply *rep = r->main.replies[i];

        switch (op->kind) {
        case REP_OP_RESULT:
            rep_fold_count(rep);
            break;
        case REP_OP_STARTED:
            if (rep_outcome_note(r, op, rep) < 0)
                return -1;
            break;
        case REP_OP_AUDIT:
            if (rep->type == REDIS_REPLY_INTEGER && rep->integer == 1)
                audit_new++;
            else
                audit_dup++;
            break;
        default:
            break;
        }
    }
    rep_metric_audit(audit_new, audit_dup);
    return 0;
}

int rep_batch_end(void *ctx)
{
    struct reporter *r = ctx;
    int rc = -1;

    if (!r->rebuild && r->publish_results && rep_fold_copies(r) < 0)
        goto out;
    if (rep_exec(r, &r->main) < 0 || main_replies(r) < 0)
        goto redis;
    if (rep_exec(r, &r->sync) < 0)
        goto redis;
    for (size_t i = 0; i < r->sync.n; i++)
        if (rep_outcome_note(r, &r->sync.ops[i], r->sync.replies[i]) < 0)
            goto out;
    if (rep_outcomes_finish(r) < 0)
        goto out;
    xw_metrics_add(&m_batches, 1);
    rc = 0;
    goto out;
redis:
    xw_warn("REDIS", "batch not applied: %s", r->redis->errstr);
out:
    if (r->rebuild)
        rep_progress_commit(r, rc == 0);
    batch_reset(r);
    return rc;
}

void rep_batch_abort(void *ctx)
{
    struct reporter *r = ctx;

    if (r->rebuild)
        rep_progress_commit(r, 0);
    batch_reset(r);
}

int rep_dead_letter(void *ctx, const rd_kafka_message_t *m,
                    const struct xw_handle_error *e)
{
    struct reporter *r = ctx;

    if (r->rebuild) {
        /* The live run dead-lettered it already (same deterministic
         * id); a rebuild only rebuilds projections. */
        rep_metric_skipped(1);
        return 0;
    }
    return xw_service_dead_letter(r->svc, m, e);
}

/* ---- life cycle --------------------------------------------------------- */

int rep_init(struct reporter *r, struct xw_service *svc, int rebuild)
{
    char err[512];
    const xw_avro_type *t;

    memset(r, 0, sizeof *r);
    r->svc = svc;
    r->rebuild = rebuild;
    r->publish_results = xw_config_bool(&svc->cfg, "XW_REPORTER_PUBLISH_RESULTS");
    r->dedupe_ttl_s = xw_config_int(&svc->cfg, "XW_DEDUPE_TTL_S");
    r->audit_max = xw_config_int(&svc->cfg, "XW_AUDIT_MAX");
    xw_buf_init(&r->arena, REP_ARENA_CAP);
    xw_buf_init(&r->enc, 0);
    r->redis = xw_redis_connect(xw_config_str(&svc->cfg, "XW_REDIS_URL"), NULL,
                                err, sizeof err);
    if (!r->redis) {
        xw_error("INIT", "redis: %s", err);
        return -1;
    }
    if (rep_scripts_load(r) < 0) {
        xw_error("INIT", "redis scripts: %s", r->redis->errstr);
        return -1;
    }
    t = xw_avro_type_find(svc->avro, "PackageFinished");
    if (xw_avro_decoder_new(&r->dec, svc->avro) < 0 || !t
        || xw_avro_value_init(&r->finished, t) < 0) {
        xw_error("INIT", "avro: out of memory or PackageFinished missing");
        return -1;
    }
    return 0;
}

void rep_release(struct reporter *r)
{
    batch_reset(r);
    cmds_free(&r->main);
    cmds_free(&r->sync);
    cmds_free(&r->check);
    cmds_free(&r->fin);
    set_free(&r->syncset);
    set_free(&r->checkset);
    set_free(&r->finset);
    free(r->fins);
    free(r->states);
    free(r->progress);
    xw_avro_value_release(&r->finished);
    xw_avro_decoder_free(r->dec);
    xw_redis_free(r->redis);
    xw_buf_release(&r->arena);
    xw_buf_release(&r->enc);
    memset(r, 0, sizeof *r);
}
