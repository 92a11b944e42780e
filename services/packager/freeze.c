/* Step 3: freezing a package — the chosen object versions, against one
 * environment, with objects on ignored compute resources left out. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "packager.h"
#include "xw_json.h"
#include "xw_log.h"
#include "xw_model.h"

/* The environment and its source and destination workspaces, in one round
 * trip: the destination is named inside the environment's JSON, which a
 * read would otherwise have to bring back first. KEYS[1] xw:env:{ws},
 * KEYS[2] xw:ws:{ws}, ARGV[1] the environment's name. Returns {environment,
 * source, destination}, each its stored JSON or nil (no destination when
 * the environment is missing, is not JSON or names none). It only reads;
 * the destination's key is built here rather than passed in KEYS, which a
 * standalone Redis allows (as xw_redis' fenced writes do). */
static const char *const ENV_LUA =
    "local env = redis.call('HGET', KEYS[1], ARGV[1])\n"
    "local dst = false\n"
    "if env then\n"
    "  local ok, e = pcall(cjson.decode, env)\n"
    "  if ok and type(e) == 'table'\n"
    "     and type(e.destination_workspace) == 'string' then\n"
    "    dst = redis.call('GET', 'xw:ws:' .. e.destination_workspace)\n"
    "  end\n"
    "end\n"
    "return {env, redis.call('GET', KEYS[2]), dst}\n";

static struct pkg_script env_script = PKG_SCRIPT_INIT(ENV_LUA);

/* Everything needed to decide inclusion, loaded once per package. */
struct freeze_ctx {
    json_t *env_json, *src_json, *dst_json;
    struct xw_model_env env;
    struct xw_model_ws src, dst;
};

static void freeze_ctx_release(struct freeze_ctx *f)
{
    xw_model_env_release(&f->env);
    xw_model_ws_release(&f->src);
    xw_model_ws_release(&f->dst);
    json_decref(f->env_json);
    json_decref(f->src_json);
    json_decref(f->dst_json);
    memset(f, 0, sizeof *f);
}

/* What the three documents say about freezing against them. */
enum env_state { ENV_MISSING, ENV_INVALID, ENV_USABLE };

/*
 * The last environment a freeze read, parsed. Successive packages of a
 * workspace are frozen against the same environment: when the script
 * answers the very bytes it answered last time, for the same workspace,
 * the parse (three JSON documents, then xw_model's conversion; a pure
 * function of those bytes and the workspace id) is not done again. The
 * bytes are still read every time, so an edit is seen by the next freeze
 * as before.
 */
struct pkg_env_cache {
    char *ws;
    xw_buf raw[3];             /* environment, source, destination */
    int present[3];            /* a string (else nil) */
    enum env_state state;
    struct freeze_ctx f;
};

void pkg_env_cache_free(struct pkg_env_cache *c)
{
    if (!c)
        return;
    freeze_ctx_release(&c->f);
    for (int i = 0; i < 3; i++)
        xw_buf_release(&c->raw[i]);
    free(c->ws);
    free(c);
}

static int env_cache_hit(const struct pkg_env_cache *c, const char *ws,
                         const redisReply *envs)
{
    if (!c->ws || strcmp(c->ws, ws) != 0)
        return 0;
    for (int i = 0; i < 3; i++) {
        const redisReply *e = envs->element[i];
        int present = e->type == REDIS_REPLY_STRING;

        if (present != c->present[i]
            || (present && (e->len != c->raw[i].len
                            || memcmp(e->str, c->raw[i].data, e->len) != 0)))
            return 0;
    }
    return 1;
}

/* The parsed environment of the script's answer envs (an array of 3) for
 * workspace ws: the cached one when the bytes are the same, else parsed
 * now (and cached). NULL when out of memory. */
static struct pkg_env_cache *env_context(struct packager *p, const char *ws,
                                         const redisReply *envs)
{
    struct pkg_env_cache *c = p->envc;
    struct freeze_ctx *f;
    xw_json_err e;

    if (c && env_cache_hit(c, ws, envs))
        return c;
    if (!c) {
        if (!(c = p->envc = calloc(1, sizeof *c)))
            return NULL;
        for (int i = 0; i < 3; i++)
            xw_buf_init(&c->raw[i], 0);
    }
    freeze_ctx_release(&c->f);
    free(c->ws);
    c->ws = NULL;               /* no hit until filled completely */
    for (int i = 0; i < 3; i++) {
        const redisReply *r = envs->element[i];

        xw_buf_reset(&c->raw[i]);
        c->present[i] = r->type == REDIS_REPLY_STRING;
        if (c->present[i] && xw_buf_add(&c->raw[i], r->str, r->len) < 0)
            return NULL;
    }
    f = &c->f;
    f->env_json = pkg_json(envs->element[0]);
    f->src_json = pkg_json(envs->element[1]);
    f->dst_json = pkg_json(envs->element[2]);
    if (!f->env_json || !f->src_json)
        c->state = ENV_MISSING;
    else if (!f->dst_json
             || xw_model_env_from_json(&f->env, f->env_json, ws, &e) < 0
             || xw_model_ws_from_json(&f->src, f->src_json, &e) < 0
             || xw_model_ws_from_json(&f->dst, f->dst_json, &e) < 0)
        c->state = ENV_INVALID;
    else
        c->state = ENV_USABLE;
    if (!(c->ws = strdup(ws)))
        return NULL;
    return c;
}

/* Decides whether one spec goes into the package: 1 include, 0 exclude
 * (reason filled). The rule module decides: an object on an ignored
 * compute resource is EXCLUDED; every other outcome stays in the package
 * (a failure is reported when it is deployed). */
static int decide(const struct freeze_ctx *f, const avro_value_t *spec,
                  const char *creator, const char **code, char *reason,
                  size_t rlen)
{
    struct xw_mapped out;
    struct xw_model_obj obj;
    struct xw_map_request req = { creator, creator, NULL };
    xw_json_err e;
    enum xw_map_outcome o;

    if (xw_model_obj_from_avro(&obj, spec, &e) < 0) {
        *code = "spec_invalid";
        snprintf(reason, rlen, "%s: %s", e.field, e.message);
        return 0;
    }
    o = xw_rules_map_object(&f->env.env, &f->src.ws, &f->dst.ws, &obj.obj,
                            &req, &out, NULL);
    if (o == XW_MAP_EXCLUDED) {
        *code = out.code;
        snprintf(reason, rlen, "%s", out.reason);
    }
    xw_rules_mapped_release(&out);
    xw_model_obj_release(&obj);
    return o == XW_MAP_EXCLUDED ? 0 : 1;
}

/* Emits the package's PackageCreated chunks: its specs are in p->specs,
 * the rest in meta (as stored in xw:pkg:{pkg}). */
static enum xw_handle_result emit_created(struct packager *p,
                                          struct command *c, const char *pkg,
                                          const json_t *meta,
                                          struct xw_handle_error *err)
{
    avro_value_t *v = &p->created.value;
    json_t *ex = json_object_get(meta, "excluded_objects"), *x;
    size_t n = 0, chunks;
    enum xw_handle_result r = XW_HANDLE_OK;

    xw_avro_array_size(&p->specs.value, "objects", &n);
    chunks = n ? (n + PKG_CHUNK - 1) / PKG_CHUNK : 1;
    for (size_t k = 0; k < chunks && r == XW_HANDLE_OK; k++) {
        size_t from = k * PKG_CHUNK, cnt = n - from < PKG_CHUNK ? n - from
                                                                : PKG_CHUNK;
        size_t i;

        xw_avro_value_reset(&p->created);
        if (pkg_envelope(p, v, c, "packager.created", (long)k) < 0
            || xw_avro_set_string(v, "package_id", pkg) < 0
            || xw_avro_set_string(v, "source_workspace",
                json_string_value(json_object_get(meta, "source_workspace"))) < 0
            || xw_avro_set_string(v, "destination_workspace",
                json_string_value(json_object_get(meta,
                                                  "destination_workspace"))) < 0
            || xw_avro_set_string(v, "environment",
                json_string_value(json_object_get(meta, "environment"))) < 0
            || xw_avro_set_string(v, "creator",
                json_string_value(json_object_get(meta, "creator"))) < 0
            || xw_avro_set_int(v, "chunk", (int32_t)k) < 0
            || xw_avro_set_int(v, "chunks", (int32_t)chunks) < 0
            || pkg_copy_specs(p, v, from, cnt) < 0) {
            r = RETRY(err, "building PackageCreated");
            break;
        }
        /* The exclusions travel once, with the first chunk. */
        json_array_foreach(k == 0 ? ex : NULL, i, x) {
            avro_value_t el;

            if (xw_avro_array_append(v, "excluded", &el) < 0
                || xw_avro_set_string(&el, "object_id", json_string_value(
                       json_object_get(x, "object_id"))) < 0
                || xw_avro_set_string(&el, "reason_code", json_string_value(
                       json_object_get(x, "reason_code"))) < 0
                || xw_avro_set_string(&el, "reason", json_string_value(
                       json_object_get(x, "reason"))) < 0) {
                r = RETRY(err, "building PackageCreated exclusions");
                break;
            }
        }
        if (r == XW_HANDLE_OK)
            r = pkg_emit(p, v, XW_TOPIC_PACKAGES, pkg, err);
    }
    return r;
}

/* A redelivered PackageRequested: the chunks again, from the stored
 * package. */
static enum xw_handle_result emit_created_again(struct packager *p,
                                                struct command *c,
                                                const char *pkg,
                                                struct xw_handle_error *err)
{
    redisReply *rep[2] = { NULL }, *ids;
    const char **argv = NULL;
    json_t *meta = NULL;
    enum xw_handle_result r;

    if (xw_redis_append(p->redis, "HGET xw:pkg:%s meta", pkg) < 0
        || xw_redis_append(p->redis, "HKEYS xw:pkg:%s:avro", pkg) < 0
        || pkg_exec(p, rep, 2) < 0) {
        pkg_discard(p);
        return RETRY(err, "redis: %s", p->redis->errstr);
    }
    if (!(meta = pkg_json(rep[0]))) {
        r = RETRY(err, "package %s has no meta", pkg);
        goto out;
    }
    ids = rep[1];
    if (!(argv = pkg_reply_strings(ids))) {
        r = RETRY(err, "out of memory");
        goto out;
    }
    r = pkg_load_frozen(p, pkg, argv, ids->elements, err);
    if (r == XW_HANDLE_OK)
        r = emit_created(p, c, pkg, meta, err);
out:
    free(argv);
    xw_redis_replies_free(rep, 2);
    json_decref(meta);
    return r;
}

enum xw_handle_result apply_package(struct packager *p, struct command *c,
                                    struct xw_handle_error *err)
{
    const char *ws = pkg_str(c->v, "workspace_id"), *pkg = pkg_str(c->v, "package_id");
    const char *envname = pkg_str(c->v, "environment");
    const char *creator = pkg_str(c->v, "creator");
    const struct freeze_ctx *f;
    struct pkg_env_cache *ec;
    redisReply *rep[2] = { NULL }, *envs, *avro = NULL;
    const char **argv = NULL, **hmget = NULL;
    json_t *meta = NULL, *excluded = NULL, *seen = NULL;
    xw_buf buf = XW_BUF_INIT;
    struct pkg_batch ha, zb;     /* frozen specs (Avro), basket ZREM */
    char akey[96];
    size_t n = 0, included = 0, nspecs = 0;
    int from_basket, bad, rc;
    enum xw_handle_result r = XW_HANDLE_OK;

    if (c->seen)
        return emit_created_again(p, c, pkg, err);
    bad = pkg_batch_init(&ha, "HSET", NULL, "xw:pkg:%s:avro", pkg) < 0;
    bad |= pkg_batch_init(&zb, "ZREM", NULL, "xw:basket:%s:%s", ws,
                          creator) < 0;
    if (bad)
        goto redis;
    /* The objects: listed in the command, or the creator's basket. */
    snprintf(akey, sizeof akey, XW_SPEC_NTD ":%s", ws);
    xw_avro_array_size(c->v, "object_ids", &n);
    from_basket = n == 0;
    argv = calloc(n + 1, sizeof *argv);
    if (!argv)
        goto nomem;
    for (size_t i = 0; i < n; i++)
        xw_avro_array_get_string(c->v, "object_ids", i, &argv[i], NULL);
    if (!from_basket
        && !(hmget = pkg_argv((const char *[]){ "HMGET", akey }, 2, argv, n)))
        goto nomem;
    /* One round trip: the environment with its workspaces, and the listed
     * objects' specs (or the basket's ids: their specs take a second). */
    if (xw_redis_append(p->redis, "%s %s 2 xw:env:%s xw:ws:%s %s",
                        pkg_script_cmd(&env_script),
                        pkg_script_arg(&env_script), ws, ws, envname) < 0
        || (from_basket
                ? xw_redis_append(p->redis, "ZRANGE xw:basket:%s:%s 0 -1", ws,
                                  creator)
                : xw_redis_append_argv(p->redis, (int)n + 2, hmget, NULL)) < 0)
        goto redis;
    rc = pkg_exec(p, rep, 2);
    pkg_script_answered(&env_script, rc, p->redis);
    if (rc < 0)
        goto redis;
    envs = rep[0];
    if (envs->type != REDIS_REPLY_ARRAY || envs->elements != 3) {
        r = RETRY(err, "environment script: unexpected reply");
        goto out;
    }
    if (!(ec = env_context(p, ws, envs)))
        goto nomem;
    f = &ec->f;
    if (ec->state == ENV_MISSING) {
        if (pkg_reject(p, c, 422, "environment", "environment_missing",
                       "environment '%s' of workspace '%s' does not exist",
                       envname, ws) < 0)
            goto redis;
        goto out;
    }
    if (ec->state == ENV_INVALID) {
        if (pkg_reject(p, c, 422, "environment", "environment_invalid",
                       "environment '%s' or one of its workspaces can no "
                       "longer be read", envname) < 0)
            goto redis;
        goto out;
    }
    if (from_basket) {
        const redisReply *ids = rep[1];

        n = ids->elements;
        if (n == 0) {
            if (pkg_reject(p, c, 422, "object_ids", "empty",
                           "nothing to package: the basket is empty") < 0)
                goto redis;
            goto out;
        }
        free(argv);
        if (!(argv = pkg_reply_strings(ids)))
            goto nomem;
        if (pkg_specs_fetch(p, akey, argv, n, &avro) < 0)
            goto redis;
    } else {
        avro = rep[1];
        rep[1] = NULL;
    }
    excluded = json_array();
    seen = json_object();
    xw_avro_value_reset(&p->specs);
    if (tx_begin(p) < 0)
        goto redis;
    for (size_t i = 0; i < n; i++) {
        const char *id = argv[i], *code = NULL;
        char reason[400];
        avro_value_t el;
        int d;

        /* Read straight into the package's spec list; an object left out
         * is dropped from it again. */
        if (xw_avro_array_append(&p->specs.value, "objects", &el) < 0) {
            pkg_discard(p);
            r = RETRY(err, "out of memory");
            goto out;
        }
        d = pkg_spec_read(&el, avro, i, err);
        if (d == 0) {
            code = "not_in_nodes_to_deploy";
            snprintf(reason, sizeof reason, "the object is no longer in the "
                     "nodes-to-deploy list (terminated)");
        } else if (d < 0) {
            code = "spec_invalid";
            snprintf(reason, sizeof reason, "stored spec is invalid: %s",
                     err->reason);
        } else {
            d = decide(f, &el, creator, &code, reason, sizeof reason);
        }
        if (d <= 0) {
            if (xw_avro_array_truncate(&p->specs.value, "objects", nspecs) < 0
                || json_array_append_new(excluded, json_pack(
                       "{s:s, s:s, s:s}", "object_id", id, "reason_code", code,
                       "reason", reason)) < 0) {
                pkg_discard(p);
                r = RETRY(err, "out of memory");
                goto out;
            }
        } else {
            /* Frozen as stored: the bytes just decoded (pkg_spec_read
             * checked all of them), so there is nothing to encode. */
            const redisReply *a = avro->element[i];

            if (pkg_batch_add(p, &ha, 2, (const char *[]){ id, a->str },
                              (size_t[]){ strlen(id), a->len }) < 0)
                goto redis;
            included++;
            /* An id listed twice counts twice (object_count always did)
             * but is frozen, and sent on, once. `seen` is a hash set. */
            if (json_object_get(seen, id)) {
                if (xw_avro_array_truncate(&p->specs.value, "objects",
                                           nspecs) < 0)
                    goto redis;
            } else if (json_object_set_new(seen, id, json_true()) < 0) {
                goto redis;
            } else {
                nspecs++;
            }
        }
        if (from_basket
            && pkg_batch_add(p, &zb, 1, (const char *[]){ id },
                             (size_t[]){ strlen(id) }) < 0)
            goto redis;
    }
    if (pkg_batch_flush(p, &ha) < 0 || pkg_batch_flush(p, &zb) < 0)
        goto redis;
    meta = json_pack("{s:s, s:s, s:s, s:s, s:s, s:I, s:s, s:I, s:O}",
                     "package_id", pkg, "source_workspace", ws,
                     "destination_workspace",
                     json_string_value(json_object_get(f->env_json,
                                                       "destination_workspace")),
                     "environment", envname, "creator", creator, "created_at",
                     (json_int_t)c->occurred_at, "request_id", c->event_id,
                     "object_count", (json_int_t)included, "excluded_objects", excluded);
    xw_buf_reset(&buf);
    if (!meta || xw_json_dump(meta, &buf) < 0
        || TX(p, "HSET xw:pkg:%s meta %b attempt 0", pkg, buf.data, buf.len) < 0
        || tx_request_status(p, c, "done",
                             json_pack("{s:s, s:I, s:I}", "package_id", pkg,
                                       "objects", (json_int_t)included,
                                       "excluded",
                                       (json_int_t)json_array_size(excluded)),
                             NULL) < 0
        || tx_commit(p, c) < 0)
        goto redis;
    xw_info("PKG", "package %s frozen: %zu object(s), %zu excluded", pkg,
            included, json_array_size(excluded));
    r = emit_created(p, c, pkg, meta, err);
    goto out;
nomem:
    r = RETRY(err, "out of memory");
    goto out;
redis:
    pkg_discard(p);
    r = RETRY(err, "redis: %s", p->redis->errstr);
out:
    pkg_batch_release(&ha);
    pkg_batch_release(&zb);
    xw_buf_release(&buf);
    free(argv);
    free(hmget);
    xw_redis_replies_free(rep, 2);
    if (avro)
        freeReplyObject(avro);
    json_decref(meta);
    json_decref(excluded);
    json_decref(seen);
    return r;
}
