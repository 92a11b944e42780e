#include "write.h"

#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "entry.h"
#include "locks.h"
#include "xw_id.h"
#include "xw_log.h"

#define KEY_MAX (XW_ID_MAX * 2 + 64)
#define QUEUE_MAX XW_REDIS_FENCED_MAX_WRITES

/* The keys of a destination workspace (see write.h), each spelt here
 * only. */
#define KEY_OBJECTS "xw:dest:%s:objects"
#define KEY_HISTORY "xw:dest:%s:history:%s"
#define KEY_WRITTEN "xw:written:%s"
#define KEY_WRITES "xw:writes:%s"

/* A queued record: its item, sort keys, its history key (filled by the
 * flush). */
struct dp_rec {
    size_t lock;                 /* the item's lock index */
    size_t dest;                 /* its destination in the batch */
    size_t item;                 /* index in d->items */
    char history[KEY_MAX];
};

/* The hashes of one fenced call (one destination). */
struct dp_call_keys {
    char written[KEY_MAX], objects[KEY_MAX], writes[KEY_MAX];
};

/* An item of the batch, for grouping by destination. */
struct dp_by_dest {
    const char *ws;
    size_t item;
};

struct dp_writes {
    struct dp_rec *recs;         /* the queue: n of cap (<= QUEUE_MAX) */
    xw_redis_once_write *w;      /* per record, for the flush */
    int *written;                /* per record, from the flush */
    xw_redis_fenced_call *calls; /* per record at most */
    struct dp_call_keys *keys;   /* per call */
    const xw_redis_fenced_call **of; /* per record: its call, NULL when
                                    its lock was stale before sending */
    size_t n, cap;
    size_t *follow;              /* open addressing: item index + 1 of the
                                    latest item per destination object */
    size_t follow_cap;           /* a power of two >= 2 x batch */
    struct dp_by_dest *order;    /* the batch by destination (pre-read) */
    const char **argv;           /* a pre-read HMGET: 2 + batch */
    size_t *argvlen;
    size_t order_cap;
};

dp_writes *dp_writes_new(void)
{
    return calloc(1, sizeof(dp_writes));
}

void dp_writes_free(dp_writes *w)
{
    if (!w)
        return;
    free(w->recs);
    free(w->w);
    free(w->written);
    free(w->calls);
    free(w->keys);
    free(w->of);
    free(w->follow);
    free(w->order);
    free(w->argv);
    free(w->argvlen);
    free(w);
}

void dp_write_reset(struct dp_deployer *d)
{
    if (d->writes)
        d->writes->n = 0;
}

/* An empty follow index with room for n items. 0, or -1 out of memory. */
static int follow_start(dp_writes *w, size_t n)
{
    size_t cap = 16;

    while (cap < 2 * n)
        cap *= 2;
    if (cap > w->follow_cap) {
        size_t *f = realloc(w->follow, cap * sizeof *f);

        if (!f)
            return -1;
        w->follow = f;
        w->follow_cap = cap;
    }
    memset(w->follow, 0, w->follow_cap * sizeof *w->follow);
    return 0;
}

/* Room to group n items and pre-read them. 0, or -1 out of memory. */
static int order_grow(dp_writes *w, size_t n)
{
    void *p;

    if (n <= w->order_cap)
        return 0;
    if (!(p = realloc(w->order, n * sizeof *w->order)))
        return -1;
    w->order = p;
    if (!(p = realloc(w->argv, (n + 2) * sizeof *w->argv)))
        return -1;
    w->argv = p;
    if (!(p = realloc(w->argvlen, (n + 2) * sizeof *w->argvlen)))
        return -1;
    w->argvlen = p;
    w->order_cap = n;
    return 0;
}

/* A key of fmt (KEY_*) and its length. Ids are bounded (XW_ID_MAX): they
 * always fit. */
static size_t key_make(char *key, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static size_t key_make(char *key, const char *fmt, ...)
{
    va_list ap;
    int n;

    va_start(ap, fmt);
    n = vsnprintf(key, KEY_MAX, fmt, ap);
    va_end(ap);
    return n < 0 ? 0 : (size_t)n < KEY_MAX ? (size_t)n : KEY_MAX - 1;
}

static int by_dest_cmp(const void *a, const void *b)
{
    const struct dp_by_dest *x = a, *y = b;
    int c = strcmp(x->ws, y->ws);

    if (c)
        return c;
    return x->item < y->item ? -1 : x->item > y->item;
}

/* The end of the destination group that starts at order[start]. */
static size_t dest_end(const dp_writes *w, size_t start, size_t n)
{
    size_t end = start + 1;

    while (end < n && strcmp(w->order[end].ws, w->order[start].ws) == 0)
        end++;
    return end;
}

/* Queues HMGET key field... of the group order[start..end): field
 * obj_id, or once_field with `once`. In argv form: no printf parsing,
 * one allocation per command in hiredis. */
static int preread_append(struct dp_deployer *d, const char *key,
                          size_t start, size_t end, int once)
{
    dp_writes *w = d->writes;
    size_t k;

    w->argv[0] = "HMGET";
    w->argvlen[0] = 5;
    w->argv[1] = key;
    w->argvlen[1] = strlen(key);
    for (k = start; k < end; k++) {
        const struct dp_item *it = &d->items[w->order[k].item];

        w->argv[2 + k - start] = once ? it->once_field : it->obj_id;
        w->argvlen[2 + k - start] = strlen(w->argv[2 + k - start]);
    }
    return xw_redis_append_argv(d->redis, (int)(2 + end - start), w->argv,
                                w->argvlen);
}

static int is_array(const redisReply *rep, size_t n)
{
    return rep->type == REDIS_REPLY_ARRAY && rep->elements == n;
}

int dp_write_preread(struct dp_deployer *d, char *err, size_t errlen)
{
    dp_writes *w = d->writes;
    size_t n = d->n, ndest = 0, g, i, start, end;
    char key[KEY_MAX];
    int rc = -1;

    dp_write_reset(d);
    if (follow_start(w, n) < 0 || order_grow(w, n) < 0) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    for (i = 0; i < n; i++) {
        struct dp_item *it = &d->items[i];

        snprintf(it->once_field, sizeof it->once_field, "%s:%lld",
                 it->obj_id, (long long)it->version);
        w->order[i] = (struct dp_by_dest){ it->dest_ws, i };
    }
    /* Per destination: its catalog entries, its exactly-once records. */
    qsort(w->order, n, sizeof *w->order, by_dest_cmp);
    for (start = 0; start < n; start = end, ndest++) {
        const char *ws = w->order[start].ws;

        end = dest_end(w, start, n);
        for (i = start; i < end; i++)
            d->items[w->order[i].item].dest = ndest;
        key_make(key, KEY_OBJECTS, ws);
        if (preread_append(d, key, start, end, 0) < 0)
            goto redis_failed;
        key_make(key, KEY_WRITTEN, ws);
        if (preread_append(d, key, start, end, 1) < 0)
            goto redis_failed;
    }
    if (xw_redis_pipeline_exec(d->redis, d->replies, 2 * ndest) < 0)
        goto redis_failed; /* a failed append or exec leaves no replies */
    for (start = 0, g = 0; start < n; start = end, g++) {
        const redisReply *cur = d->replies[2 * g];
        const redisReply *once = d->replies[2 * g + 1];

        end = dest_end(w, start, n);
        if (!is_array(cur, end - start) || !is_array(once, end - start)) {
            snprintf(err, errlen, "redis: unexpected reply to HMGET");
            goto out;
        }
        for (i = start; i < end; i++) {
            struct dp_item *it = &d->items[w->order[i].item];
            const redisReply *e = cur->element[i - start];

            it->prev_off = d->arena.len;
            it->prev_len = 0;
            if (e->type == REDIS_REPLY_STRING) {
                if (xw_buf_add(&d->arena, e->str, e->len) < 0) {
                    snprintf(err, errlen, "out of memory");
                    goto out;
                }
                it->prev_len = e->len;
            }
            it->once_exists =
                once->element[i - start]->type == REDIS_REPLY_STRING;
        }
    }
    rc = 0;
out:
    xw_redis_replies_free(d->replies, 2 * ndest);
    return rc;
redis_failed:
    snprintf(err, errlen, "redis: %s", d->redis->errstr);
    return -1;
}

static int same_object(const struct dp_item *a, const struct dp_item *b)
{
    return strcmp(a->obj_id, b->obj_id) == 0
           && strcmp(a->dest_ws, b->dest_ws) == 0;
}

/* FNV-1a of destination and object id. */
static size_t object_hash(const struct dp_item *it)
{
    static const unsigned char sep = 0xff;  /* no id byte: a separator */
    uint64_t h = xw_fnv1a(it->dest_ws, strlen(it->dest_ws), XW_FNV1A_INIT);

    h = xw_fnv1a(&sep, 1, h);
    return (size_t)xw_fnv1a(it->obj_id, strlen(it->obj_id), h);
}

int dp_write_follow(struct dp_deployer *d, size_t i, char *err,
                    size_t errlen)
{
    dp_writes *w = d->writes;
    struct dp_item *it = &d->items[i];
    size_t mask = w->follow_cap - 1, h = object_hash(it) & mask, j;

    /* The slot of this object: it now heads the object's chain. */
    while (w->follow[h] && !same_object(&d->items[w->follow[h] - 1], it))
        h = (h + 1) & mask;
    it->same_prev = w->follow[h];
    w->follow[h] = i + 1;

    for (j = it->same_prev; j; j = d->items[j - 1].same_prev) {
        const struct dp_item *e = &d->items[j - 1];

        if (e->status == DP_QUEUED && dp_write_flush(d, err, errlen) < 0)
            return -1;
        if (e->status != DP_WRITTEN && e->status != DP_ALREADY)
            continue;
        it->prev_off = e->cur_off;
        it->prev_len = e->cur_len;
        if (e->version == it->version)
            it->once_exists = 1;
        break;
    }
    return 0;
}

/* The "version" of a catalog entry; 0 when it has none or is unreadable. */
static int entry_version(struct dp_deployer *d, const char *data, size_t len,
                         int64_t *v)
{
    struct dp_json_member m = { .name = "version" };
    json_t *tree;

    if (len == 0)
        return 0;
    dp_entry_members(&d->entry.value, data, len, &m, 1, &tree);
    json_decref(tree);
    if (m.type != DP_JSON_INT)
        return 0;
    *v = m.integer;
    return 1;
}

int dp_write_body(struct dp_deployer *d, struct dp_item *it)
{
    xw_buf_reset(&d->body);
    return dp_entry_body(&d->body, dp_arena_at(d, it->json_off),
                         it->json_len, it);
}

/* After the script said "already written" although the pre-read did not:
 * someone wrote it in between; read what the catalog holds now. */
static int reread(struct dp_deployer *d, struct dp_item *it, char *err,
                  size_t errlen)
{
    char key[KEY_MAX];
    const char *argv[] = { "HGET", key, it->obj_id };
    size_t len[] = { 4, key_make(key, KEY_OBJECTS, it->dest_ws),
                     strlen(it->obj_id) };
    redisReply *rep = xw_redis_command_argv(d->redis, 3, argv, len, 1);

    if (!rep) {
        snprintf(err, errlen, "redis: %s", d->redis->errstr);
        return -1;
    }
    it->cur_off = d->arena.len;
    it->cur_len = 0;
    if (rep->type == REDIS_REPLY_STRING) {
        if (xw_buf_add(&d->arena, rep->str, rep->len) < 0) {
            snprintf(err, errlen, "out of memory");
            return -1;
        }
        it->cur_len = rep->len;
    }
    return 0;
}

/* Room for one more record. 0, or -1 out of memory. */
static int queue_grow(dp_writes *w)
{
    size_t cap = w->cap ? w->cap * 2 : 64;
    void *p;

    if (cap > QUEUE_MAX)
        cap = QUEUE_MAX;
    if (!(p = realloc(w->recs, cap * sizeof *w->recs)))
        return -1;
    w->recs = p;
    if (!(p = realloc(w->w, cap * sizeof *w->w)))
        return -1;
    w->w = p;
    if (!(p = realloc(w->written, cap * sizeof *w->written)))
        return -1;
    w->written = p;
    if (!(p = realloc(w->calls, cap * sizeof *w->calls)))
        return -1;
    w->calls = p;
    if (!(p = realloc(w->keys, cap * sizeof *w->keys)))
        return -1;
    w->keys = p;
    if (!(p = realloc(w->of, cap * sizeof *w->of)))
        return -1;
    w->of = p;
    w->cap = cap;
    return 0;
}

int dp_write_queue(struct dp_deployer *d, struct dp_item *it, char *err,
                   size_t errlen)
{
    dp_writes *w = d->writes;
    int64_t replaced;

    if (w->n == QUEUE_MAX && dp_write_flush(d, err, errlen) < 0)
        return -1;
    if (w->n == w->cap && queue_grow(w) < 0)
        goto nomem;
    it->has_replaced = entry_version(d, dp_arena_at(d, it->prev_off),
                                     it->prev_len, &replaced);
    it->replaced_version = it->has_replaced ? replaced : 0;
    /* Encoded aside, then copied: the head is in the arena, which may
     * move as it grows. */
    if (dp_entry_encode(&d->rec, &d->entry.value,
                        dp_arena_at(d, it->obj_off), it->obj_len, it,
                        xw_now_ms()) < 0)
        goto nomem;
    it->cur_off = d->arena.len;
    if (xw_buf_add(&d->arena, d->rec.data, d->rec.len) < 0)
        goto nomem;
    it->cur_len = d->rec.len;
    w->recs[w->n].lock = it->lock;
    w->recs[w->n].dest = it->dest;
    w->recs[w->n].item = (size_t)(it - d->items);
    w->n++;
    it->status = DP_QUEUED;
    return 0;
nomem:
    snprintf(err, errlen, "out of memory");
    return -1;
}

/* The write of record r: the new entry, its exactly-once record, and the
 * entry it replaces pushed to the history (when there is one). Pointers
 * into the arena are taken only here: every dump that could move it is
 * done. */
static void rec_build(struct dp_deployer *d, struct dp_rec *r,
                      xw_redis_once_write *out)
{
    const struct dp_item *it = &d->items[r->item];

    *out = (xw_redis_once_write){ it->once_field, it->obj_id,
                                  dp_arena_at(d, it->cur_off), it->cur_len,
                                  NULL, NULL, 0 };
    if (it->prev_len) {
        key_make(r->history, KEY_HISTORY, it->dest_ws, it->obj_id);
        out->push_key = r->history;
        out->push_value = dp_arena_at(d, it->prev_off);
        out->push_len = it->prev_len;
    }
}

/* The call of records w[0..n) of destination ws under lock lk. */
static void call_build(struct dp_call_keys *keys, const char *ws,
                       const xw_redis_lock *lk, const xw_redis_once_write *w,
                       size_t n, int *written, xw_redis_fenced_call *call)
{
    key_make(keys->written, KEY_WRITTEN, ws);
    key_make(keys->objects, KEY_OBJECTS, ws);
    key_make(keys->writes, KEY_WRITES, ws);
    *call = (xw_redis_fenced_call){ lk->fence_key, lk->fence, keys->written,
                                    keys->objects, keys->writes, w, n,
                                    written, 0 };
}

static int rec_cmp(const void *a, const void *b)
{
    const struct dp_rec *x = a, *y = b;

    if (x->lock != y->lock)
        return x->lock < y->lock ? -1 : 1;
    if (x->dest != y->dest)
        return x->dest < y->dest ? -1 : 1;
    return x->item < y->item ? -1 : x->item > y->item;
}

/* What the flush learnt about record k: 1 written, 0 already, -1 stale
 * (no call: its lock was stale before anything was sent). */
static int rec_outcome(const dp_writes *w, size_t k)
{
    if (!w->of[k] || w->of[k]->stale)
        return -1;
    return w->written[k];
}

int dp_write_flush(struct dp_deployer *d, char *err, size_t errlen)
{
    dp_writes *w = d->writes;
    size_t k, start, ncalls = 0;

    if (w->n == 0)
        return 0;
    /* One call per lock and destination (a package has one destination:
     * one call per lock): records grouped by both (their order within a
     * round trip does not matter: none depends on another, see write.h). */
    qsort(w->recs, w->n, sizeof *w->recs, rec_cmp);
    for (start = 0; start < w->n; start = k) {
        const struct dp_rec *first = &w->recs[start];
        const xw_redis_lock *lk = dp_locks_get(d->locks, first->lock);
        xw_redis_fenced_call *call = lk ? &w->calls[ncalls] : NULL;

        for (k = start; k < w->n && w->recs[k].lock == first->lock
                        && w->recs[k].dest == first->dest; k++) {
            rec_build(d, &w->recs[k], &w->w[k]);
            w->of[k] = call;
        }
        if (call)
            call_build(&w->keys[ncalls++], d->items[first->item].dest_ws, lk,
                       &w->w[start], k - start, &w->written[start], call);
    }
    if (xw_redis_fenced_write_batch(d->redis, w->calls, ncalls) < 0) {
        snprintf(err, errlen, "redis: %s", d->redis->errstr);
        return -1;
    }
    for (k = 0; k < w->n; k++) {
        struct dp_item *it = &d->items[w->recs[k].item];

        switch (rec_outcome(w, k)) {
        case 1:
            it->status = DP_WRITTEN;
            break;
        case 0:
            /* Someone wrote it since the pre-read: what is there now. */
            if (reread(d, it, err, errlen) < 0)
                return -1;
            it->has_replaced = 0;
            dp_write_recall(d, it);
            it->status = DP_ALREADY;
            break;
        default:
            it->status = DP_STALE;
            dp_locks_mark_stale(d->locks, it->lock);
            break;
        }
    }
    w->n = 0;
    return 0;
}

/* Copies a string member into dst (cap bytes with the NUL) when it is one
 * and fits; leaves dst alone otherwise. */
static void copy_str(const struct dp_json_member *m, char *dst, size_t cap)
{
    if (m->type == DP_JSON_STR && m->len < cap) {
        memcpy(dst, m->str, m->len);
        dst[m->len] = '\0';
    }
}

void dp_write_recall(struct dp_deployer *d, struct dp_item *it)
{
    enum { VERSION, COMPUTE, RGROUP, OWNER, DATE, RULE, EFFECTIVE, REPLACED,
           NMEMBERS };
    struct dp_json_member m[NMEMBERS] = {
        [VERSION] = { .name = "version" },
        [COMPUTE] = { .name = "compute_resource" },
        [RGROUP] = { .name = "resource_group" },
        [OWNER] = { .name = "owner" },
        [DATE] = { .name = "effective_date" },
        [RULE] = { .name = "timing_rule" },
        [EFFECTIVE] = { .name = "effective_at" },
        [REPLACED] = { .name = "replaced_version" },
    };
    json_t *tree;

    if (it->cur_len == 0)
        return;
    dp_entry_members(&d->entry.value, dp_arena_at(d, it->cur_off),
                     it->cur_len, m, NMEMBERS, &tree);
    /* The catalog moved on to another version since: the event's own
     * fields still say what was deployed; only replaced_version is lost. */
    if (m[VERSION].type != DP_JSON_INT || m[VERSION].integer != it->version)
        goto out;
    copy_str(&m[COMPUTE], it->compute, sizeof it->compute);
    copy_str(&m[RGROUP], it->rgroup, sizeof it->rgroup);
    copy_str(&m[OWNER], it->owner, sizeof it->owner);
    copy_str(&m[DATE], it->effective_date, sizeof it->effective_date);
    copy_str(&m[RULE], it->timing_rule, sizeof it->timing_rule);
    if (m[EFFECTIVE].type == DP_JSON_INT) {
        it->has_effective = 1;
        it->effective_at = m[EFFECTIVE].integer;
    }
    if (m[REPLACED].type == DP_JSON_INT) {
        it->has_replaced = 1;
        it->replaced_version = m[REPLACED].integer;
    }
out:
    json_decref(tree);
}
