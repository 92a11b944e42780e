/*
 * Roles, and the cache that saves reading them on every request.
 *
 * Every request of the five steps checks the caller's roles in one or two
 * workspaces: EXISTS xw:ws:{ws} and HGET xw:ws:{ws}:roles {user}, a
 * blocking round trip (and two for a source and a destination) before
 * anything else. Workspaces are registered rarely, so their answers are
 * kept in memory per (workspace, user) and dropped by Redis itself: the
 * notifier tracks the prefix xw:ws: and moves a generation on every
 * change of a key under it (notify.h, sl_notify_view). An answer is used
 * only with the generation it was read under and only while the notifier
 * confirms that tracking is on and no invalidation is waiting unread;
 * otherwise Redis is read as before, in one round trip for both
 * workspaces. Re-registering a workspace (the packager rewrites both keys
 * in one MULTI/EXEC) thus takes effect on the next request, a revoked
 * role included, and a lost or not yet confirmed tracking connection
 * turns the cache off and empties it.
 *
 * Bounded: ROLES_SLOTS entries, direct-mapped by (workspace, user); a
 * fill that collides replaces the entry. One mutex (a lookup is a hash
 * and two string compares under it).
 */
#include "access.h"

#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include "notify.h"
#include "xw_id.h"
#include "xw_metrics.h"

XW_COUNTER(m_roles_cached, "xw_api_role_cache_hits_total",
           "role checks answered from the listener's memory");
XW_COUNTER(m_roles_read, "xw_api_role_cache_misses_total",
           "role checks read from Redis");

#define ROLES_SLOTS 1024        /* ~140 KB, touched as it fills */

struct roles_entry {
    uint64_t gen;               /* sl_notify_view's; 0 = empty */
    unsigned roles;             /* enum xw_role bits */
    int exists;                 /* the workspace is registered */
    char ws[SL_ID_MAX + 1];
    char user[SL_ID_MAX + 1];
};

static struct {
    pthread_mutex_t lock;
    struct roles_entry e[ROLES_SLOTS];
} cache = { .lock = PTHREAD_MUTEX_INITIALIZER };

void sl_access_register_metrics(void)
{
    xw_metrics_register(&m_roles_cached);
    xw_metrics_register(&m_roles_read);
}

static struct roles_entry *slot_of(const char *ws, const char *user)
{
    uint64_t h = xw_fnv1a(ws, strlen(ws), XW_FNV1A_INIT);

    h = xw_fnv1a(user, strlen(user) + 1, h);    /* with its NUL */
    return &cache.e[h % ROLES_SLOTS];
}

/* 1 found (roles and existence set), 0 not cached under v. */
static int cache_get(const struct sl_notify_view *v, const char *ws,
                     const char *user, unsigned *roles, int *exists)
{
    struct roles_entry *e = slot_of(ws, user);
    int hit;

    pthread_mutex_lock(&cache.lock);
    hit = e->gen == v->gen && strcmp(e->ws, ws) == 0
          && strcmp(e->user, user) == 0;
    if (hit) {
        *roles = e->roles;
        *exists = e->exists;
    }
    pthread_mutex_unlock(&cache.lock);
    return hit;
}

/* Keeps an answer read after view v was taken (under v's generation: if
 * anything changed meanwhile, the generation has moved and the entry is
 * never used). */
static void cache_put(const struct sl_notify_view *v, const char *ws,
                      const char *user, unsigned roles, int exists)
{
    struct roles_entry *e = slot_of(ws, user);

    pthread_mutex_lock(&cache.lock);
    e->gen = v->gen;
    e->roles = roles;
    e->exists = exists;
    memcpy(e->ws, ws, strlen(ws) + 1);
    memcpy(e->user, user, strlen(user) + 1);
    pthread_mutex_unlock(&cache.lock);
}

/* "admin,om" -> role bits (unknown names are ignored). */
static unsigned parse_roles(const char *s, size_t len)
{
    unsigned roles = 0, bit;
    char buf[128], *save = NULL;

    snprintf(buf, sizeof buf, "%.*s", (int)len, s);
    for (char *t = strtok_r(buf, ",", &save); t;
         t = strtok_r(NULL, ",", &save))
        if (xw_rules_role_parse(t, &bit) == 0)
            roles |= bit;
    return roles;
}

/* The caller's roles in ws[0..n) (n <= 2) and whether each workspace
 * exists: from the cache, the rest read in one round trip. 0, or -1 with
 * a 503 answered. Leaves r->w set (handlers use it after sl_permit). */
static int roles_of(struct sl_request *r, const char *const *ws, size_t n,
                    unsigned *roles, int *exists)
{
    redisReply *reps[4] = { NULL, NULL, NULL, NULL };
    struct sl_notify_view v;
    size_t miss[2], m = 0, i;
    int viewed, rc = -1;

    if (!r->w && !sl_worker_get(r))
        return -1;
    viewed = sl_notify_view(&v);
    for (i = 0; i < n; i++) {
        /* Longer ids come only from stored JSON: read, never kept. */
        if (viewed && strlen(ws[i]) <= SL_ID_MAX
            && cache_get(&v, ws[i], r->user, &roles[i], &exists[i]))
            continue;
        miss[m++] = i;
    }
    xw_metrics_add(&m_roles_cached, n - m);
    if (!m)
        return 0;
    xw_metrics_add(&m_roles_read, m);
    for (i = 0; i < m; i++)
        if (xw_redis_append(r->w->redis, "EXISTS xw:ws:%s", ws[miss[i]]) < 0
            || xw_redis_append(r->w->redis, "HGET xw:ws:%s:roles %s",
                               ws[miss[i]], r->user) < 0)
            goto out;
    if (xw_redis_pipeline_exec(r->w->redis, reps, 2 * m) < 0)
        goto out;
    for (i = 0; i < m; i++) {
        const redisReply *e = reps[2 * i], *h = reps[2 * i + 1];
        size_t k = miss[i];

        exists[k] = e->type == REDIS_REPLY_INTEGER && e->integer == 1;
        roles[k] = h->type == REDIS_REPLY_STRING ? parse_roles(h->str, h->len)
                                                 : 0;
        if (viewed && strlen(ws[k]) <= SL_ID_MAX)
            cache_put(&v, ws[k], r->user, roles[k], exists[k]);
    }
    rc = 0;
out:
    xw_redis_replies_free(reps, 4);
    if (rc < 0)
        sl_reply_unavailable(r, "state store");
    return rc;
}

int sl_roles(struct sl_request *r, const char *ws, unsigned *roles)
{
    int exists;

    *roles = 0;
    if (roles_of(r, &ws, 1, roles, &exists) < 0)
        return -1;
    return exists;
}

int sl_permit(struct sl_request *r, enum xw_op op, const char *src,
              const char *dst)
{
    struct xw_findings why = XW_FINDINGS_INIT;
    const char *ws[2] = { src, dst };
    unsigned roles[2] = { 0, 0 };
    int exists[2] = { 0, 0 };

    if (roles_of(r, ws, dst ? 2 : 1, roles, exists) < 0)
        return -1;
    if (!exists[0]) {
        sl_reply_error(r, 404, "workspace", "not_found",
                       "workspace '%s' is not registered", src);
        return -1;
    }
    if (dst && !exists[1]) {
        sl_reply_error(r, 404, "destination_workspace", "not_found",
                       "destination workspace '%s' is not registered", dst);
        return -1;
    }
    if (xw_rules_permit(op, roles[0], roles[1], &why) == 0) {
        xw_findings_release(&why);
        return 0;
    }
    sl_reply_forbidden(r, &why);
    xw_findings_release(&why);
    return -1;
}

json_t *sl_json_reply(struct sl_request *r, const redisReply *rep,
                      const char *what)
{
    json_error_t je;
    json_t *j;

    if (!rep) {
        sl_reply_unavailable(r, "state store");
        return NULL;
    }
    if (rep->type != REDIS_REPLY_STRING) {
        sl_reply_error(r, 404, "", "not_found", "%s not found", what);
        return NULL;
    }
    j = json_loadb(rep->str, rep->len, 0, &je);
    if (!j)
        sl_reply_error(r, 500, "", "internal", "stored %s is not JSON", what);
    return j;
}

json_t *sl_load_workspace(struct sl_request *r, const char *ws)
{
    char what[96];

    if (!r->w && !sl_worker_get(r))
        return NULL;
    snprintf(what, sizeof what, "workspace '%s'", ws);
    return sl_json_reply(r, xw_redis_command_idem(r->w->redis, "GET xw:ws:%s",
                                                ws), what);
}

json_t *sl_load_hash_json(struct sl_request *r, const char *key,
                          const char *field, const char *what)
{
    if (!r->w && !sl_worker_get(r))
        return NULL;
    return sl_json_reply(r, xw_redis_command_idem(r->w->redis, "HGET %s %s",
                                                key, field), what);
}
