#include "context.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "xw_metrics.h"

XW_COUNTER(m_loads, "xw_mapper_context_loads_total",
           "environments and workspaces read from Redis (cache misses)");

struct mp_slot {
    int used;                       /* holds a context */
    char package_id[XW_ID_MAX + 1];
    int32_t attempt;
    uint64_t tick;                  /* last use, for LRU */
    struct mp_context cx;
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

static void slot_clear(struct mp_slot *s)
{
    xw_model_env_release(&s->cx.env);
    xw_model_ws_release(&s->cx.src);
    xw_model_ws_release(&s->cx.dst);
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

/* Fills slot->cx from Redis. -1 only when Redis could not be read. */
static int load(struct mp_slot *s, xw_redis *r, const struct mp_key *k,
                struct xw_handle_error *err)
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
    struct mp_context *cx = &s->cx;

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
    if (env_from_reply(cx, rep[0], k) == 0
        && ws_from_reply(cx, rep[1], "source", k->source_ws, &cx->src) == 0)
        ws_from_reply(cx, rep[2], "destination", k->dest_ws, &cx->dst);
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
            *out = &s->cx;
            return 0;
        }
        if (!s->used || (victim->used && s->tick < victim->tick))
            victim = s;
    }
    slot_clear(victim);
    if (load(victim, r, k, err) < 0) {
        slot_clear(victim);
        return -1;
    }
    xw_metrics_add(&m_loads, 1);
    victim->used = 1;
    victim->attempt = k->attempt;
    victim->tick = c->tick;
    snprintf(victim->package_id, sizeof victim->package_id, "%s",
             k->package_id);
    *out = &victim->cx;
    return 0;
}
