#include "locks.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "xw_id.h"
#include "xw_log.h"

struct dp_lock {
    xw_redis_lock lk;
    int64_t extended_ms;   /* monotonic time of acquire / last extend */
    int64_t used_ms;       /* last batch that needed it */
    int stale;
};

struct dp_locks {
    struct dp_lock *v;
    size_t n, cap;
    int ttl_ms;
    int idle_ms;
};

dp_locks *dp_locks_new(int ttl_ms, int idle_ms)
{
    dp_locks *l = calloc(1, sizeof *l);

    if (!l)
        return NULL;
    l->ttl_ms = ttl_ms;
    l->idle_ms = idle_ms;
    return l;
}

void dp_locks_free(dp_locks *l)
{
    if (!l)
        return;
    free(l->v);
    free(l);
}

size_t dp_locks_count(const dp_locks *l)
{
    return l->n;
}

/* (Re)acquires entry e's lock, with a new fence. 1 acquired, 0 held by
 * another owner, -1 Redis failure; on 0 / -1 the entry is stale (it keeps
 * its key for lookups and is forgotten by the next release_idle). */
static int acquire(dp_locks *l, xw_redis *r, struct dp_lock *e, char *err,
                   size_t errlen)
{
    char key[XW_REDIS_KEY_MAX + 1];
    int rc;

    snprintf(key, sizeof key, "%s", e->lk.key);
    rc = xw_redis_lock_acquire(r, key, l->ttl_ms, &e->lk);
    if (rc == 1) {
        e->stale = 0;
        e->extended_ms = xw_mono_ms();
        xw_debug("LOCK", "acquired %s, fence %lld", key, e->lk.fence);
        return 1;
    }
    /* A failed acquire zeroed the lock. */
    snprintf(e->lk.key, sizeof e->lk.key, "%s", key);
    e->stale = 1;
    if (rc < 0)
        snprintf(err, errlen, "lock %s: %s", key, r->errstr);
    else
        snprintf(err, errlen, "%s is held by another deployer; waiting for "
                 "it to finish or expire", key);
    return rc;
}

/* Extends an entry we hold. 1 still ours, 0 lost (marked stale), -1 Redis
 * failure. */
static int extend(dp_locks *l, xw_redis *r, struct dp_lock *e, char *err,
                  size_t errlen)
{
    int rc = xw_redis_lock_extend(r, &e->lk, l->ttl_ms);

    if (rc < 0) {
        snprintf(err, errlen, "lock %s: %s", e->lk.key, r->errstr);
        return -1;
    }
    if (rc == 0) {
        xw_warn("LOCK", "lost %s (fence %lld): it expired or was taken over",
                e->lk.key, e->lk.fence);
        e->stale = 1;
        return 0;
    }
    e->extended_ms = xw_mono_ms();
    return 1;
}

/* The entry for `key`, appending an empty one (lk.fence 0) if there is
 * none. Entries never move while a batch holds indexes into the table:
 * only release_where() removes any, between batches. -1 out of memory. */
static long entry(dp_locks *l, const char *key)
{
    for (size_t i = 0; i < l->n; i++)
        if (strcmp(l->v[i].lk.key, key) == 0)
            return (long)i;
    if (l->n == l->cap) {
        size_t cap = l->cap ? l->cap * 2 : 16;
        struct dp_lock *v = realloc(l->v, cap * sizeof *v);

        if (!v)
            return -1;
        l->v = v;
        l->cap = cap;
    }
    memset(&l->v[l->n], 0, sizeof l->v[l->n]);
    snprintf(l->v[l->n].lk.key, sizeof l->v[l->n].lk.key, "%s", key);
    return (long)l->n++;
}

/* Makes entry idx a lock we hold and recently extended: extended when a
 * third of the TTL has passed, acquired afresh (new fence) when new or
 * lost. 1 held, 0 held by another owner (entry stale), -1 Redis failure;
 * err says why when not 1. */
static int hold_one(dp_locks *l, xw_redis *r, size_t idx, char *err,
                    size_t errlen)
{
    struct dp_lock *e = &l->v[idx];
    int rc;

    if (e->lk.fence > 0 && !e->stale
        && xw_mono_ms() - e->extended_ms >= l->ttl_ms / 3
        && extend(l, r, e, err, errlen) < 0)
        return -1;
    if (e->lk.fence == 0 || e->stale) {
        rc = acquire(l, r, e, err, errlen);
        if (rc <= 0)
            return rc;
    }
    return 1;
}

int dp_locks_hold(dp_locks *l, xw_redis *r, struct dp_item *items, size_t n,
                  char *err, size_t errlen)
{
    char key[XW_REDIS_KEY_MAX + 1];
    int64_t now = xw_mono_ms();
    long idx;

    for (size_t i = 0; i < n; i++) {
        /* Consecutive events usually belong to the same package. */
        if (i > 0 && strcmp(items[i].package_id, items[i - 1].package_id) == 0) {
            items[i].lock = items[i - 1].lock;
            continue;
        }
        if (snprintf(key, sizeof key, "xw:lock:pkg:%s", items[i].package_id)
            >= (int)sizeof key) {
            snprintf(err, errlen, "package id too long for a lock key");
            return -1;
        }
        idx = entry(l, key);
        if (idx < 0) {
            snprintf(err, errlen, "out of memory");
            return -1;
        }
        /* Held by another owner: wait for it (retry the batch) rather
         * than race it; it releases when idle or expires when dead. */
        if (hold_one(l, r, (size_t)idx, err, errlen) <= 0)
            return -1;
        l->v[idx].used_ms = now;
        items[i].lock = (size_t)idx;
    }
    return 0;
}

const xw_redis_lock *dp_locks_get(dp_locks *l, size_t idx)
{
    return idx < l->n && !l->v[idx].stale ? &l->v[idx].lk : NULL;
}

int dp_locks_refresh(dp_locks *l, xw_redis *r, size_t idx)
{
    char err[256];
    int rc;

    if (idx >= l->n || l->v[idx].stale)
        return 0;
    /* Lost mid-batch: taken again if free (it only expired); if someone
     * else holds it now, that newer owner handles the package and the
     * entry stays stale. */
    rc = hold_one(l, r, idx, err, sizeof err);
    if (rc <= 0)
        xw_warn("LOCK", "%s", err);
    return rc < 0 ? -1 : 0;
}

void dp_locks_mark_stale(dp_locks *l, size_t idx)
{
    if (idx < l->n)
        l->v[idx].stale = 1;
}

static void release_where(dp_locks *l, xw_redis *r, int64_t idle_before)
{
    size_t i = 0;

    while (i < l->n) {
        struct dp_lock *e = &l->v[i];

        if (!e->stale && e->used_ms > idle_before) {
            i++;
            continue;
        }
        if (!e->stale && xw_redis_lock_release(r, &e->lk) < 0)
            xw_warn("LOCK", "release %s: %s (it expires by itself)",
                    e->lk.key, r->errstr);
        xw_debug("LOCK", "released %s", e->lk.key);
        *e = l->v[--l->n];
    }
}

void dp_locks_release_idle(dp_locks *l, xw_redis *r)
{
    release_where(l, r, xw_mono_ms() - l->idle_ms);
}

void dp_locks_release_all(dp_locks *l, xw_redis *r)
{
    release_where(l, r, INT64_MAX);
}
