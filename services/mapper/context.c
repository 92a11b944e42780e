#include "context.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "xw_buf.h"
#include "xw_metrics.h"

XW_COUNTER(m_loads, "xw_mapper_context_loads_total",
           "environments and workspaces read from Redis (cache misses)");
XW_COUNTER(m_parses, "xw_mapper_context_parses_total",
           "contexts parsed (loads that read other bytes than every cached "
           "context was parsed from)");

/* A context as loaded, shared by every slot whose load read the very
 * same documents for the same key fields (a workspace's packages are
 * mapped against the same environment, one after the other): the three
 * JSON parses and xw_model's conversion - a pure function of the bytes
 * and of the key's workspaces and environment name, which the failure
 * sentences quote - are done once, not per package. */
struct mp_shared {
    int refs;
    int shareable;                  /* loaded from the bytes below */
    char source_ws[XW_ID_MAX + 1];
    char dest_ws[XW_ID_MAX + 1];
    char environment[XW_NAME_MAX + 1];
    size_t environment_len;
    xw_buf raw[3];                  /* environment, source, destination */
    int present[3];                 /* a string (else nil) */
    struct mp_context cx;
};

struct mp_slot {
    int used;                       /* holds a context */
    char package_id[XW_ID_MAX + 1];
    int32_t attempt;
    uint64_t tick;                  /* last use, for LRU */
    struct mp_shared *sh;           /* a reference */
};

struct mp_cache {
    struct mp_slot *slots;
    size_t cap;
    uint64_t tick;
};

mp_cache *mp_cache_new(size_t cap)
{
    mp_cache *c = calloc(1, sizeof *c);

    if (!c)
        return NULL;
    c->slots = calloc(cap, sizeof *c->slots);
    if (!c->slots) {
        free(c);
        return NULL;
    }
    c->cap = cap;
    return c;
}

static void shared_unref(struct mp_shared *sh)
{
    if (!sh || --sh->refs > 0)
        return;
    xw_model_env_release(&sh->cx.env);
    xw_model_ws_release(&sh->cx.src);
    xw_model_ws_release(&sh->cx.dst);
    for (int i = 0; i < 3; i++)
        xw_buf_release(&sh->raw[i]);
    free(sh);
}

static void slot_clear(struct mp_slot *s)
{
    shared_unref(s->sh);
    memset(s, 0, sizeof *s);
}

void mp_cache_free(mp_cache *c)
{
    if (!c)
        return;
    for (size_t i = 0; i < c->cap; i++)
        slot_clear(&c->slots[i]);
    free(c->slots);
    free(c);
}

void mp_cache_register_metrics(void)
{
    xw_metrics_register(&m_loads);
    xw_metrics_register(&m_parses);
}

static void fail(struct mp_context *cx, const char *code, const char *fmt,
                 ...) __attribute__((format(printf, 3, 4)));
static void fail(struct mp_context *cx, const char *code, const char *fmt,
                 ...)
{
    va_list ap;

    cx->fail_code = code;
    va_start(ap, fmt);
    vsnprintf(cx->fail_reason, sizeof cx->fail_reason, fmt, ap);
    va_end(ap);
}

/* Parses a stored workspace; on failure marks the context. 0 or -1. */
static int ws_from_reply(struct mp_context *cx, const redisReply *rep,
                         const char *role, const char *id,
                         struct xw_model_ws *out)
{
    json_error_t je;
    xw_json_err e;
    json_t *j;
    int rc;

    if (rep->type != REDIS_REPLY_STRING) {
        fail(cx, MP_WORKSPACE_MISSING,
             "the %s workspace '%s' is not registered", role, id);
        return -1;
    }
    j = json_loadb(rep->str, rep->len, 0, &je);
    if (!j) {
        fail(cx, MP_WORKSPACE_INVALID,
             "the stored %s workspace '%s' is not valid JSON", role, id);
        return -1;
    }
    rc = xw_model_ws_from_json(out, j, &e);
    json_decref(j);
    if (rc < 0) {
        fail(cx, MP_WORKSPACE_INVALID,
             "the stored %s workspace '%s' is unusable: %s: %s", role, id,
             e.field, e.message);
        return -1;
    }
    return 0;
}

static int env_from_reply(struct mp_context *cx, const redisReply *rep,
                          const struct mp_key *k)
{
    json_error_t je;
    xw_json_err e;
    json_t *j;
    int rc;

    if (rep->type != REDIS_REPLY_STRING) {
        fail(cx, MP_ENVIRONMENT_MISSING,
             "the deployment environment '%.*s' of workspace '%s' does not "
             "exist (deleted after the package was created?)",
             (int)k->environment_len, k->environment, k->source_ws);
        return -1;
    }
    j = json_loadb(rep->str, rep->len, 0, &je);
    if (!j) {
        fail(cx, MP_ENVIRONMENT_INVALID,
             "the stored environment of workspace '%s' is not valid JSON",
             k->source_ws);
        return -1;
    }
    rc = xw_model_env_from_json(&cx->env, j, k->source_ws, &e);
    json_decref(j);
    if (rc < 0) {
        fail(cx, MP_ENVIRONMENT_INVALID,
             "the stored environment of workspace '%s' is unusable: %s: %s",
             k->source_ws, e.field, e.message);
        return -1;
    }
    /* The package was frozen against the environment's destination; an
     * environment edited to point elsewhere has mappings for another
     * workspace, so nothing of this attempt can be mapped with it. */
    if (strcmp(cx->env.env.dest_ws, k->dest_ws) != 0) {
        fail(cx, MP_ENVIRONMENT_CHANGED,
             "the environment now deploys to '%s', not to the package's "
             "destination '%s'", cx->env.env.dest_ws, k->dest_ws);
        return -1;
    }
    return 0;
}

/* Whether sh was loaded from the replies rep[0..3) for key k. */
static int shared_matches(const struct mp_shared *sh, const struct mp_key *k,
                          redisReply *const *rep)
{
    if (!sh->shareable || strcmp(sh->source_ws, k->source_ws) != 0
        || strcmp(sh->dest_ws, k->dest_ws) != 0
        || sh->environment_len != k->environment_len
        || memcmp(sh->environment, k->environment, k->environment_len) != 0)
        return 0;
    for (int i = 0; i < 3; i++) {
        int present = rep[i]->type == REDIS_REPLY_STRING;

        if (present != sh->present[i]
            || (present && (rep[i]->len != sh->raw[i].len
                            || memcmp(rep[i]->str, sh->raw[i].data,
                                      rep[i]->len) != 0)))
            return 0;
    }
    return 1;
}

/* Remembers what sh was loaded from, so later loads can share it. Out of
 * memory only leaves it unshared. */
static void shared_remember(struct mp_shared *sh, const struct mp_key *k,
                            redisReply *const *rep)
{
    if (strlen(k->source_ws) > XW_ID_MAX || strlen(k->dest_ws) > XW_ID_MAX
        || k->environment_len > XW_NAME_MAX)
        return;
    for (int i = 0; i < 3; i++) {
        sh->present[i] = rep[i]->type == REDIS_REPLY_STRING;
        if (sh->present[i]
            && xw_buf_add(&sh->raw[i], rep[i]->str, rep[i]->len) < 0)
            return;
    }
    memcpy(sh->source_ws, k->source_ws, strlen(k->source_ws) + 1);
    memcpy(sh->dest_ws, k->dest_ws, strlen(k->dest_ws) + 1);
    memcpy(sh->environment, k->environment, k->environment_len);
    sh->environment_len = k->environment_len;
    sh->shareable = 1;
}

/* Fills slot s (cleared) from Redis: a context another slot loaded from
 * the same bytes, or a new one. -1 only when Redis could not be read (or
 * out of memory). */
static int load(mp_cache *c, struct mp_slot *s, xw_redis *r,
                const struct mp_key *k, struct xw_handle_error *err)
{
    char env_key[XW_ID_MAX + 16], src_key[XW_ID_MAX + 16],
        dst_key[XW_ID_MAX + 16];
    const char *env_argv[] = { "HGET", env_key, k->environment };
    size_t env_len[] = { 4, 0, k->environment_len };
    const char *src_argv[] = { "GET", src_key };
    const char *dst_argv[] = { "GET", dst_key };
    xw_redis_cmd cmds[3] = {
        { 3, env_argv, env_len }, { 2, src_argv, NULL }, { 2, dst_argv, NULL },
    };
    redisReply *rep[3] = { NULL, NULL, NULL };
    struct mp_shared *sh;
    struct mp_context *cx;

    if (!(sh = calloc(1, sizeof *sh))) {
        snprintf(err->code, sizeof err->code, "out_of_memory");
        snprintf(err->reason, sizeof err->reason, "mapper context");
        return -1;
    }
    sh->refs = 1;
    for (int i = 0; i < 3; i++)
        xw_buf_init(&sh->raw[i], 0);
    s->sh = sh;
    cx = &sh->cx;
    snprintf(env_key, sizeof env_key, "xw:env:%s", k->source_ws);
    snprintf(src_key, sizeof src_key, "xw:ws:%s", k->source_ws);
    snprintf(dst_key, sizeof dst_key, "xw:ws:%s", k->dest_ws);
    env_len[1] = strlen(env_key);
    if (xw_redis_pipeline(r, cmds, 3, rep, XW_REDIS_IDEMPOTENT) < 0) {
        /* WRONGTYPE (something else lives at the key) will not go away by
         * retrying: it is a broken projection. Any other error reply is
         * Redis' state, not the package's - LOADING while a restarted
         * Redis reads its AOF, BUSY, READONLY, OOM, ... -: retry. (Every
         * error reply used to fail the whole package, for good, with
         * environment_invalid when the mapper met a restarting Redis.) */
        if (r->err == XW_REDIS_EREPLY && strstr(r->errstr, "WRONGTYPE")) {
            fail(cx, MP_ENVIRONMENT_INVALID,
                 "the stored state of workspace '%s' cannot be read: %s",
                 k->source_ws, r->errstr);
            return 0;
        }
        snprintf(err->code, sizeof err->code, "redis_unavailable");
        snprintf(err->reason, sizeof err->reason, "%s", r->errstr);
        return -1;
    }
    for (size_t i = 0; i < c->cap; i++) {
        struct mp_shared *o = c->slots[i].sh;

        if (c->slots[i].used && o && shared_matches(o, k, rep)) {
            shared_unref(sh);
            o->refs++;
            s->sh = o;
            xw_redis_replies_free(rep, 3);
            return 0;
        }
    }
    xw_metrics_add(&m_parses, 1);
    if (env_from_reply(cx, rep[0], k) == 0
        && ws_from_reply(cx, rep[1], "source", k->source_ws, &cx->src) == 0)
        ws_from_reply(cx, rep[2], "destination", k->dest_ws, &cx->dst);
    shared_remember(sh, k, rep);
    xw_redis_replies_free(rep, 3);
    return 0;
}

int mp_cache_get(mp_cache *c, xw_redis *r, const struct mp_key *k,
                 const struct mp_context **out, struct xw_handle_error *err)
{
    struct mp_slot *victim = &c->slots[0];

    c->tick++;
    for (size_t i = 0; i < c->cap; i++) {
        struct mp_slot *s = &c->slots[i];

        if (s->used && s->attempt == k->attempt
            && strcmp(s->package_id, k->package_id) == 0) {
            s->tick = c->tick;
            *out = &s->sh->cx;
            return 0;
        }
        if (!s->used || (victim->used && s->tick < victim->tick))
            victim = s;
    }
    slot_clear(victim);
    if (load(c, victim, r, k, err) < 0) {
        slot_clear(victim);
        return -1;
    }
    xw_metrics_add(&m_loads, 1);
    victim->used = 1;
    victim->attempt = k->attempt;
    victim->tick = c->tick;
    snprintf(victim->package_id, sizeof victim->package_id, "%s",
             k->package_id);
    *out = &victim->sh->cx;
    return 0;
}
