/*
 * context - what the mapper needs to map the objects of one deployment
 * attempt: the environment and both workspaces, read from the packager's
 * projections (xw:env:{ws}, xw:ws:{ws}) and converted once with xw_model.
 *
 * Why a cache per (package, attempt): a package of 10,000 objects arrives
 * as 20 DeployStarted chunks; reading and converting three JSON documents
 * per chunk would dominate the mapper's work, and every chunk of one
 * attempt should be mapped against the same environment even if it is
 * edited meanwhile (a new attempt - a replay - reads it again).
 *
 * A context that cannot be used (environment or workspace missing or
 * unreadable) is cached too, with the code and sentence every object of
 * the attempt fails with: a clear reason, never a stuck package.
 *
 * Every new (package, attempt) reads the three documents again (an edit
 * is seen by the next package), but converts them only when their bytes
 * differ from those a cached context was made from (for the same
 * workspaces and environment name): a workspace's packages, mapped one
 * after the other against one environment, share one parsed context
 * (xw_mapper_context_parses_total counts the conversions).
 *
 * Not thread-safe: one cache per consumer thread.
 */
#ifndef MP_CONTEXT_H
#define MP_CONTEXT_H

#include <stddef.h>
#include <stdint.h>

#include "xw_kafka.h"
#include "xw_model.h"
#include "xw_redis.h"

/* Reason codes of a context that cannot be used (not rule codes: the
 * rules never saw the object). */
#define MP_ENVIRONMENT_MISSING "environment_missing"
#define MP_ENVIRONMENT_INVALID "environment_invalid"
#define MP_ENVIRONMENT_CHANGED "environment_destination_changed"
#define MP_WORKSPACE_MISSING "workspace_missing"
#define MP_WORKSPACE_INVALID "workspace_invalid"

/* What identifies a context, all borrowed from the DeployStarted being
 * handled. Workspace ids must already be valid ids (they become keys). */
struct mp_key {
    const char *package_id;
    int32_t attempt;
    const char *source_ws;
    const char *dest_ws;
    const char *environment;  /* a name: any bytes, sent with its length */
    size_t environment_len;
};

struct mp_context {
    /* NULL when the context is usable; otherwise the code (static string)
     * every object of the attempt fails with, and the sentence. */
    const char *fail_code;
    char fail_reason[XW_FINDING_MSG_MAX];
    struct xw_model_env env;
    struct xw_model_ws src;
    struct xw_model_ws dst;
};

typedef struct mp_cache mp_cache;

/* A cache of at most `cap` contexts (least recently used is dropped).
 * NULL when out of memory. */
mp_cache *mp_cache_new(size_t cap);
/* Releases every context. NULL is fine. */
void mp_cache_free(mp_cache *c);

/* The context for k: cached, or loaded from Redis (one pipelined round
 * trip for the three documents). On success *out is borrowed from the
 * cache and valid until the next mp_cache_get(). Returns -1 only when
 * Redis could not be read (err says why; the caller retries the batch);
 * missing or broken documents are a context with fail_code set. */
int mp_cache_get(mp_cache *c, xw_redis *r, const struct mp_key *k,
                 const struct mp_context **out, struct xw_handle_error *err);

/* Registers the cache's counters with xw_metrics. */
void mp_cache_register_metrics(void);

#endif
